// libFuzzer target for model files (train/model_io.h, train/tensor_file.h): the bytes are written
// to a temporary file (under $TEST_TMPDIR or the system's temporary directory) and read with
// read_model_metadata(path), load_model(path) and, into a network built here,
// load_model(path, network) and load_model(path, model, &adam). Each must either succeed or throw
// TensorFileError (the header's promise for any missing, truncated, corrupt, foreign or
// mismatched file); anything else — a crash, a sanitizer report, another exception type — ends
// the run. Build and run: tools/fuzz.sh.
//
// The file ends in a CRC-32 of everything before it, which random mutations almost never keep
// right; so each input is tried twice: as it is, and (when it is 4 bytes or longer and the CRC
// does not already match) with its last 4 bytes replaced by the right CRC, which lets the fuzzer
// reach the structure, metadata, spec and shape checks behind the integrity check.
//
// On success: a model loaded from the file passes Model::validate() and runs on two rows of
// zeros, and its metadata was readable and not empty. A file's spec is checked against the
// weights it holds before anything is built (model_io.cc), so a file of at most -max_len bytes
// cannot make the loader build a large model; no cap is needed here.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <zlib.h>

#include <simdnn/layers/layer.h>
#include <simdnn/models/model.h>
#include <simdnn/models/predictor.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/tensor_file.h>

namespace {

// The architecture of most seed files in corpus/model_file (written by make_seeds.cc), so that
// loading into a network built by the caller, with and without an optimizer, is reached too.
constexpr const char* kSeedSpec =
    R"({"type": "mlp", "inputs": 3, "hidden": [4], "outputs": 2, "batch_norm": true, "dropout": 0.25, "seed": 7})";

const std::string& temp_file() {
  static const std::string path = [] {
    const char* dir = std::getenv("TEST_TMPDIR");
    const std::filesystem::path base =
        dir != nullptr ? std::filesystem::path(dir) : std::filesystem::temp_directory_path();
    return (base / ("simdnn-model-file-fuzzer-" + std::to_string(::getpid()) + ".simdnn")).string();
  }();
  return path;
}

template <class F>
bool file_ok(F&& f) {
  try {
    f();
    return true;
  } catch (const simdnn::TensorFileError&) {
    return false;
  }
}

void run_on_zeros(const simdnn::Model& model) {
  model.validate();
  simdnn::Tensor x(2, model.input_width());
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = 0.0f;
  const simdnn::Tensor y = simdnn::predict(model, x.cview());
  if (y.rows() != 2 || y.cols() != model.output_width()) std::abort();
}

void check_file(const std::uint8_t* data, std::size_t size) {
  const std::string& path = temp_file();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    if (std::fclose(f) != 0) std::abort();
  }

  std::optional<std::string> metadata;
  file_ok([&] { metadata = simdnn::read_model_metadata(path); });

  std::optional<simdnn::Model> loaded;
  file_ok([&] { loaded = simdnn::load_model(path); });
  if (loaded) {
    if (!metadata || metadata->empty()) std::abort();  // load_model(path) needs the metadata's spec
    run_on_zeros(*loaded);
  }

  // Into networks built by the caller: the fixed seed architecture, alone and as a Model with
  // an optimizer (a file holding another architecture is a TensorFileError). Failed loads must
  // leave them usable.
  simdnn::Model model = simdnn::Model::from_spec(kSeedSpec);
  const bool into_network = file_ok([&] { simdnn::load_model(path, *model.network); });
  if (into_network && !metadata) std::abort();
  run_on_zeros(model);
  simdnn::Adam adam(simdnn::all_parameters(*model.network));
  file_ok([&] { simdnn::load_model(path, model, &adam); });
  run_on_zeros(model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_file(data, size);
  if (size < 4) return 0;
  const auto crc = static_cast<std::uint32_t>(crc32(0L, data, static_cast<uInt>(size - 4)));
  std::uint8_t stored[4];
  std::memcpy(stored, data + size - 4, 4);
  std::uint8_t right[4];
  for (int i = 0; i < 4; ++i) right[i] = static_cast<std::uint8_t>(crc >> (8 * i));  // little-endian
  if (std::memcmp(stored, right, 4) == 0) return 0;
  std::vector<std::uint8_t> fixed(data, data + size);
  std::memcpy(fixed.data() + size - 4, right, 4);
  check_file(fixed.data(), fixed.size());
  return 0;
}
