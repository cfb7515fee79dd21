// Model files: a saved model loads alone and predicts bit for bit as before, for every family;
// optimizer state is optional; every bad file gives a TensorFileError naming the file, and leaves
// the model as it was.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/models/predictor.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/optimizer.h>

namespace simdnn {
namespace {

const char* const kSpecs[] = {
    R"({"type": "mlp", "inputs": 6, "hidden": [20, 10], "outputs": 3, "batch_norm": true, "dropout": 0.2, "seed": 1})",
    R"({"type": "mlp", "inputs": 6, "hidden": [8], "outputs": 1, "seed": 2})",
    R"({"type": "resnet", "inputs": 6, "width": 12, "blocks": 2, "outputs": 3, "seed": 3})",
    R"({"type": "densenet", "inputs": 6, "width": 8, "blocks": 2, "layers_per_block": 2, "growth_rate": 4, "outputs": 3, "seed": 4})",
    R"({"type": "densenet", "inputs": 6, "width": 8, "blocks": 1, "growth_rate": 4, "transition_batchnorm": false, "seed": 5})",
    R"({"type": "cnn", "input": [3, 2, 1], "channels": [2, 3], "outputs": 3, "seed": 6})",  // 3x2 images
    R"({"type": "cnn", "input": [2, 3, 1], "channels": [2], "residual": false, "seed": 7})",
};

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

Tensor inputs(std::size_t rows, std::uint64_t stream) {
  Tensor x(rows, 6);
  fill_normal(x.view(), 0.0f, 2.0f, 9, stream);
  return x;
}

// A model whose weights and statistics differ from a fresh build of its spec.
Model trained_model(const char* spec) {
  Model model = Model::from_spec(spec);
  const Tensor x = inputs(16, 1);
  for (int i = 0; i < 3; ++i) model.network->forward(x.cview(), Mode::train);
  for (const Parameter& p : all_parameters(*model.network)) {
    for (std::size_t i = 0; i < p.value->size(); ++i) p.value->data()[i] += 0.01f * static_cast<float>(i % 7);
  }
  return model;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Replaces the trailing CRC-32 so that a hand-edited file passes the integrity check.
std::string with_crc(std::string bytes) {
  bytes.resize(bytes.size() - 4);
  const auto crc = static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()),
                                                    static_cast<uInt>(bytes.size())));
  bytes.append(reinterpret_cast<const char*>(&crc), 4);
  return bytes;
}

TEST(ModelFile, RoundTripPredictsBitForBitForEveryFamily) {
  const Tensor x = inputs(25, 2);
  for (const char* spec : kSpecs) {
    Model model = trained_model(spec);
    StandardScaler scaler;
    scaler.fit(x.cview());
    model.scaler = scaler;
    if (model.num_classes() == 3) model.class_names = {"a", "b", "c"};
    const std::string path = temp_path("roundtrip.simdnn");
    save_model(path, model);
    const Model loaded = load_model(path);
    EXPECT_TRUE(same_bits(predict(loaded, x.cview()), predict(model, x.cview()))) << spec;
    EXPECT_EQ(loaded.class_names, model.class_names);
    EXPECT_EQ(loaded.output, model.output);
    ASSERT_TRUE(loaded.scaler.has_value());
    EXPECT_EQ(loaded.scaler->mean(), scaler.mean());  // doubles survive JSON exactly
    EXPECT_EQ(loaded.scaler->scale(), scaler.scale());
  }
}

TEST(ModelFile, OptimizerStateIsOptional) {
  Model model = trained_model(kSpecs[0]);
  Adam adam(all_parameters(*model.network), {.lr = 0.01});
  for (const Parameter& p : all_parameters(*model.network)) {
    for (std::size_t i = 0; i < p.grad->size(); ++i) p.grad->data()[i] = 0.5f;
  }
  adam.step();
  adam.step();
  const std::string with = temp_path("with_optimizer.simdnn");
  save_model(with, model, &adam);
  // For inference the optimizer state is ignored...
  const Model loaded = load_model(with);
  const Tensor x = inputs(5, 3);
  EXPECT_TRUE(same_bits(predict(loaded, x.cview()), predict(model, x.cview())));
  // ...and for resuming it is restored.
  Model resumed = Model::from_spec(kSpecs[0]);
  Adam adam2(all_parameters(*resumed.network), {.lr = 0.01});
  load_model(with, resumed, &adam2);
  EXPECT_EQ(adam2.step_count(), 2u);
  const OptimizerState a = adam.state(), b = adam2.state();
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) EXPECT_TRUE(same_bits(*a.tensors[i].value, *b.tensors[i].value));
  // A file without optimizer state cannot resume an optimizer.
  const std::string without = temp_path("without_optimizer.simdnn");
  save_model(without, model);
  Adam adam3(all_parameters(*resumed.network), {.lr = 0.01});
  try {
    load_model(without, resumed, &adam3);
    FAIL() << "no error";
  } catch (const TensorFileError& e) {
    EXPECT_NE(std::string(e.what()).find("holds no state for this optimizer"), std::string::npos) << e.what();
  }
}

// Every bad file: the error names the file and the cause, and the model keeps its weights.
class BadModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = temp_path("bad.simdnn");
    Model model = trained_model(kSpecs[0]);
    save_model(path_, model);
    good_ = read_bytes(path_);
    target_ = Model::from_spec(kSpecs[0]);
    before_ = predict(target_, inputs(4, 5).cview());
  }
  // Loading alone and (unless the error is in the architecture, which loading into an existing
  // model does not read) into target_.
  void expect_error(const std::string& bytes, const std::string& needle, bool into_existing_too = true) {
    write_bytes(path_, bytes);
    for (int into_existing = 0; into_existing < (into_existing_too ? 2 : 1); ++into_existing) {
      try {
        if (into_existing) {
          load_model(path_, target_);
        } else {
          load_model(path_);
        }
        ADD_FAILURE() << "no error; expected \"" << needle << "\"";
      } catch (const TensorFileError& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
      }
    }
    EXPECT_TRUE(same_bits(predict(target_, inputs(4, 5).cview()), before_)) << "the model changed";
  }
  // The file with the first occurrence of `from` replaced by `to` (same length), CRC fixed.
  std::string edited(const std::string& from, const std::string& to) const {
    std::string bytes = good_;
    const std::size_t at = bytes.find(from);
    EXPECT_NE(at, std::string::npos);
    bytes.replace(at, from.size(), to);
    return with_crc(bytes);
  }

  std::string path_, good_;
  Model target_;
  Tensor before_;
};

TEST_F(BadModelFile, Truncated) { expect_error(good_.substr(0, good_.size() - 100), "file ends before"); }
TEST_F(BadModelFile, TooShort) { expect_error(good_.substr(0, 10), "too short"); }
TEST_F(BadModelFile, BitFlip) {
  std::string bytes = good_;
  bytes[bytes.size() - 40] ^= 0x04;
  expect_error(bytes, "CRC-32 mismatch");
}
TEST_F(BadModelFile, TrailingBytes) { expect_error(with_crc(good_ + "garbage!"), "unexpected bytes"); }
TEST_F(BadModelFile, Foreign) { expect_error("PK\x03\x04 this is a zip file, not a model at all", "bad magic"); }
TEST_F(BadModelFile, RenamedEntry) { expect_error(edited("param/dense0/weight", "param/dense0/wEight"), "has no tensor"); }
TEST_F(BadModelFile, NotAModelsMetadata) { expect_error(edited("simdnn-model", "simdnn-other"), "does not describe a simdnn model"); }
TEST_F(BadModelFile, BadJson) { expect_error(edited("\"format\"", "\"format["), "not valid JSON"); }
TEST_F(BadModelFile, BadSpec) { expect_error(edited("\"mlp\"", "\"mlq\""), "\"spec\"", false); }
// A spec whose model would need far more weights than the file holds is refused before anything
// is allocated (else a 300-byte file could ask for 80 GB; the edit keeps the metadata's length).
TEST_F(BadModelFile, SpecLargerThanTheFile) {
  expect_error(edited("\"hidden\":[20,10]", "\"hidden\":[99999]"), "at least 899991 weights", false);
}
TEST_F(BadModelFile, HeaderDimensionsOverflow) {
  // The first tensor's row count becomes 2^62: rows·cols·4 overflows 64 bits.
  std::string bytes = good_;
  const std::size_t name = bytes.find("param/dense0/weight");
  const std::uint64_t huge = std::uint64_t{1} << 62;
  std::memcpy(&bytes[name + std::strlen("param/dense0/weight")], &huge, 8);
  expect_error(with_crc(bytes), "file ends before");
}
TEST_F(BadModelFile, DeeplyNestedMetadata) {
  // Replace the metadata with 100,000 nested arrays (its length field and the CRC follow).
  std::string bytes = good_;
  std::uint64_t length;
  std::memcpy(&length, &bytes[12], 8);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  bytes.replace(20, length, deep);
  const std::uint64_t new_length = deep.size();
  std::memcpy(&bytes[12], &new_length, 8);
  expect_error(with_crc(bytes), "nested deeper than 64 levels");
}
TEST_F(BadModelFile, NonFiniteWeight) {
  std::string bytes = good_;
  const std::size_t name = bytes.find("param/dense0/weight");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // The name, then rows and cols (8 bytes each), then the values: overwrite the third value.
  std::memcpy(&bytes[name + std::strlen("param/dense0/weight") + 16 + 2 * 4], &nan, 4);
  expect_error(with_crc(bytes), "holds nan at index 2, expected finite weights");
}
TEST_F(BadModelFile, AnotherArchitecture) {
  save_model(path_, Model::from_spec(R"({"type": "mlp", "inputs": 6, "hidden": [20, 11], "outputs": 3, "batch_norm": true, "dropout": 0.2})"));
  const std::string other = read_bytes(path_);
  write_bytes(path_, other);
  try {
    load_model(path_, target_);
    FAIL() << "no error";
  } catch (const TensorFileError& e) {
    EXPECT_NE(std::string(e.what()).find("is 20x11, expected 20x10"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(same_bits(predict(target_, inputs(4, 5).cview()), before_));
}
TEST_F(BadModelFile, MissingFileAndDirectory) {
  EXPECT_THROW(load_model(temp_path("no-such-file.simdnn")), TensorFileError);
  try {
    load_model(std::getenv("TEST_TMPDIR") != nullptr ? std::getenv("TEST_TMPDIR") : "/tmp");
    FAIL() << "no error";
  } catch (const TensorFileError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

TEST(ModelFile, NetworkWithoutSpecNeedsItsArchitecture) {
  Model model = trained_model(kSpecs[1]);
  const std::string path = temp_path("network_only.simdnn");
  save_model(path, *model.network);
  try {
    load_model(path);
    FAIL() << "no error";
  } catch (const TensorFileError& e) {
    EXPECT_NE(std::string(e.what()).find("holds no architecture"), std::string::npos) << e.what();
  }
  Model rebuilt = Model::from_spec(kSpecs[1]);
  load_model(path, *rebuilt.network);
  const Tensor x = inputs(7, 6);
  EXPECT_TRUE(same_bits(predict(rebuilt, x.cview()), predict(model, x.cview())));
}

// A version 1 file (weights only, no metadata), as simdnn wrote before model files held their
// architecture, still loads into the network it was saved from.
TEST(ModelFile, VersionOneFilesStillLoad) {
  Model model = trained_model(kSpecs[2]);
  const std::string path = temp_path("v1.simdnn");
  save_model(path, *model.network);
  std::string bytes = read_bytes(path);
  // Version 2 → 1: drop the 8-byte metadata length and the metadata, set the version.
  std::uint64_t length;
  std::memcpy(&length, &bytes[12], 8);
  bytes.erase(12, 8 + length);
  bytes[8] = 1;
  write_bytes(path, with_crc(bytes));
  Model rebuilt = Model::from_spec(kSpecs[2]);
  load_model(path, *rebuilt.network);
  const Tensor x = inputs(7, 7);
  EXPECT_TRUE(same_bits(predict(rebuilt, x.cview()), predict(model, x.cview())));
  EXPECT_EQ(read_model_metadata(path), "");
}

TEST(ModelFile, MetadataDescribesTheModel) {
  Model model = trained_model(kSpecs[0]);
  model.class_names = {"x", "y", "z"};
  const std::string path = temp_path("meta.simdnn");
  save_model(path, model);
  const std::string meta = read_model_metadata(path);
  for (const char* part : {"\"format\": \"simdnn-model\"", "\"type\": \"mlp\"", "\"output\": \"class_logits\"", "\"z\""}) {
    EXPECT_NE(meta.find(part), std::string::npos) << meta;
  }
}

}  // namespace
}  // namespace simdnn
