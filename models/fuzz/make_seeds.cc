// Writes the seed corpora of the model fuzzers: DIR/spec/* (valid specs of every family and the
// hostile specs of tests/models_test.cc, sized down where they ran to megabytes) and
// DIR/model_file/* (small saved models of every family, with and without optimizer state,
// scaler and class names, a version 1 file, and truncated, bit-flipped and hand-edited variants
// with the CRC fixed, as in tests/model_file_test.cc). The committed corpora were written with
//   bazel run //models/fuzz:make_seeds -- $PWD/models/fuzz/corpus
// The weights are deterministic (seeded), so a rerun rewrites the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

#include <simdnn/data/preprocessing.h>
#include <simdnn/layers/layer.h>
#include <simdnn/models/model.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/optimizer.h>

namespace {

namespace fs = std::filesystem;
using simdnn::Model;

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::vector<std::pair<std::string, std::string>> specs() {
  const std::string big(40000, 'x');
  std::string accents = "x";
  for (int i = 0; i < 1000; ++i) accents += "\xc3\xa9";
  std::string array = "[";
  for (int i = 0; i < 5000; ++i) array += std::to_string(i) + ",";
  array.back() = ']';
  return {
      // Valid: every family, defaults and every field.
      {"mlp_minimal", R"({"type": "mlp", "inputs": 4, "hidden": [8]})"},
      {"mlp_full", R"({"type": "mlp", "inputs": 20, "hidden": [64, 32, 16], "outputs": 1, "activation": "leaky_relu", "alpha": 0.01, "init": "he_normal", "dropout": 0.3, "batch_norm": true, "seed": 42})"},
      {"mlp_classes_elu", R"({"type": "mlp", "inputs": 6, "hidden": [20, 11], "outputs": 3, "activation": "elu", "alpha": 0.5, "init": "xavier_uniform", "batch_norm": true, "dropout": 0.2})"},
      {"mlp_no_hidden", R"({"type": "mlp", "inputs": 3, "hidden": [], "outputs": 2, "activation": "tanh"})"},
      {"resnet_minimal", R"({"type": "resnet", "inputs": 5})"},
      {"resnet_full", R"({"type": "resnet", "inputs": 20, "width": 64, "blocks": 10, "outputs": 1, "activation": "relu", "init": "he_uniform", "dropout": 0.1, "seed": 3})"},
      {"densenet_minimal", R"({"type": "densenet", "inputs": 5})"},
      {"densenet_full", R"({"type": "densenet", "inputs": 20, "width": 64, "blocks": 2, "layers_per_block": 3, "growth_rate": 16, "outputs": 4, "activation": "swish", "init": "lecun_normal", "seed": 9})"},
      {"densenet_plain_transitions", R"({"type": "densenet", "inputs": 6, "blocks": 3, "transition_batchnorm": false})"},
      {"at_limit_weights", R"({"type":"mlp","inputs":32767,"hidden":[65536]})"},
      {"at_limit_width", R"({"type":"mlp","inputs":1,"hidden":[16777216]})"},
      {"at_limit_blocks", R"({"type":"resnet","inputs":1,"width":1,"blocks":100000})"},
      {"alpha_min_float", R"({"type":"mlp","inputs":2,"hidden":[4],"alpha":-3.4e38})"},
      {"dropout_just_below_1", R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":0.9999999})"},
      // Nesting (docs/RELIABILITY.md: beyond 64 refused before parsing).
      {"nesting_10000", R"({"type":"mlp","inputs":)" + nested(10000) + R"(,"hidden":[16]})"},
      {"nesting_open_10000", R"({"type":"mlp","inputs":)" + std::string(10000, '{')},
      {"nesting_63", R"({"type":"mlp","inputs":)" + nested(63) + "}"},
      {"nesting_64", R"({"type":"mlp","inputs":)" + nested(64) + "}"},
      {"brackets_in_strings", R"({"type":"mlp","inputs":2,"hidden":[4],"note \"[":")" + std::string(1000, '[') + R"("})"},
      // Long strings (10 MB in models_test; 40 kB here, to keep each seed under 50 kB).
      {"long_value", R"({"type":"mlp","inputs":")" + big + R"(","hidden":[4]})"},
      {"long_field_name", R"({"type":"mlp","inputs":2,"hidden":[4],")" + big + R"(":1})"},
      {"long_type", R"({"type":")" + big + R"("})"},
      {"long_activation", R"({"type":"mlp","inputs":2,"hidden":[4],"activation":")" + big + R"("})"},
      {"long_unterminated", R"({"type":"mlp","inputs":")" + big},
      {"accents", R"({"type":")" + accents + R"("})"},
      {"long_array", R"({"type":"mlp","inputs":)" + array + "}"},
      {"nested_object_value", R"({"type":"mlp","inputs":{"a":[[[[{"b":1}]]]],"c":2}})"},
      // Sizes.
      {"blocks_1e12", R"({"type":"resnet","inputs":4,"width":1,"blocks":1000000000000})"},
      {"width_1e12", R"({"type":"resnet","inputs":4,"width":1000000000000})"},
      {"hidden_1e12", R"({"type":"mlp","inputs":4,"hidden":[8,1000000000000]})"},
      {"outputs_2p24_plus_1", R"({"type":"mlp","inputs":4,"hidden":[8],"outputs":16777217})"},
      {"inputs_2p64_minus_1", R"({"type":"mlp","inputs":18446744073709551615,"hidden":[8]})"},
      {"inputs_2p64", R"({"type":"mlp","inputs":18446744073709551616,"hidden":[8]})"},
      {"weights_65536_squared", R"({"type":"mlp","inputs":65536,"hidden":[65536]})"},
      {"weights_over_limit_by_head", R"({"type":"mlp","inputs":32767,"hidden":[65536],"outputs":2})"},
      {"resnet_widest_deepest", R"({"type":"resnet","inputs":4,"width":16777216,"blocks":100000})"},
      {"densenet_layers_1e12", R"({"type":"densenet","inputs":4,"width":8,"layers_per_block":1000000000000})"},
      {"densenet_400x251", R"({"type":"densenet","inputs":4,"width":8,"blocks":400,"layers_per_block":251,"growth_rate":1})"},
      {"densenet_block_width", R"({"type":"densenet","inputs":4,"width":16777200,"layers_per_block":2,"growth_rate":16})"},
      {"densenet_weights", R"({"type":"densenet","inputs":4,"width":1000,"blocks":1,"layers_per_block":100000,"growth_rate":100})"},
      {"resnet_blocks_100001", R"({"type":"resnet","inputs":2,"blocks":100001})"},
      // Floats.
      {"alpha_1e39", R"({"type":"mlp","inputs":2,"hidden":[4],"activation":"elu","alpha":1e39})"},
      {"alpha_minus_3.5e38", R"({"type":"resnet","inputs":2,"activation":"leaky_relu","alpha":-3.5e38})"},
      {"alpha_1e400", R"({"type":"mlp","inputs":2,"hidden":[4],"alpha":1e400})"},
      {"alpha_string", R"({"type":"mlp","inputs":2,"hidden":[4],"alpha":"1"})"},
      {"dropout_rounds_to_1", R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":0.99999999})"},
      {"dropout_resnet_rounds_to_1", R"({"type":"resnet","inputs":2,"dropout":0.99999999})"},
      {"dropout_tiny_negative", R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":-1e-300})"},
      {"dropout_1e400", R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":1e400})"},
      {"dropout_minus_zero", R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":-0.0,"alpha":1e-50,"x":1})"},
      // Everything else of ModelSpecHostile.EveryErrorIsABoundedModelSpecError.
      {"empty", ""},
      {"space", " "},
      {"null", "null"},
      {"number", "1"},
      {"string", "\"mlp\""},
      {"array", "[]"},
      {"open_brace", "{"},
      {"close_brace", "}"},
      {"bom_utf16", "\xff\xfe"},
      {"type_with_nul", R"({"type":"mlp\u0000"})"},
      {"duplicate_type", R"({"type":"mlp","inputs":2,"hidden":[4],"type":"resnet"})"},
      {"type_null", R"({"type":null})"},
      {"type_array", R"({"type":["mlp"]})"},
      {"no_type", "{}"},
      {"inputs_int64_min", R"({"type":"mlp","inputs":-9223372036854775808,"hidden":[4]})"},
      {"inputs_float", R"({"type":"mlp","inputs":2.0,"hidden":[4]})"},
      {"hidden_null", R"({"type":"mlp","inputs":2,"hidden":null})"},
      {"hidden_zero", R"({"type":"mlp","inputs":2,"hidden":[0]})"},
      {"seed_negative", R"({"type":"mlp","inputs":2,"hidden":[4],"seed":-1})"},
      {"seed_float", R"({"type":"mlp","inputs":2,"hidden":[4],"seed":1.5})"},
      {"seed_2p64", R"({"type":"mlp","inputs":2,"hidden":[4],"seed":18446744073709551616})"},
      {"batch_norm_int", R"({"type":"mlp","inputs":2,"hidden":[4],"batch_norm":1})"},
      {"densenet_blocks_negative", R"({"type":"densenet","inputs":2,"blocks":-1})"},
      {"densenet_growth_zero", R"({"type":"densenet","inputs":2,"growth_rate":0})"},
      {"densenet_transition_string", R"({"type":"densenet","inputs":2,"transition_batchnorm":"yes"})"},
  };
}

// The bytes of a model file with its trailing CRC-32 recomputed.
std::string with_crc(std::string bytes) {
  bytes.resize(bytes.size() - 4);
  const auto crc = static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(crc >> (8 * i)));
  return bytes;
}

std::uint64_t metadata_length(const std::string& bytes) {
  std::uint64_t length;
  std::memcpy(&length, &bytes[12], 8);
  return length;
}

// `bytes` with its metadata replaced (length field updated, CRC fixed).
std::string with_metadata(std::string bytes, const std::string& metadata) {
  bytes.replace(20, metadata_length(bytes), metadata);
  const std::uint64_t length = metadata.size();
  std::memcpy(&bytes[12], &length, 8);
  return with_crc(bytes);
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  if (at == std::string::npos) {
    std::fprintf(stderr, "make_seeds: \"%s\" not found\n", from.c_str());
    std::exit(1);
  }
  return s.replace(at, from.size(), to);
}

// Where the values of the first entry called `name` start.
std::size_t values_of(const std::string& bytes, const std::string& name) {
  const std::size_t at = bytes.find(name);
  if (at == std::string::npos) {
    std::fprintf(stderr, "make_seeds: no entry %s\n", name.c_str());
    std::exit(1);
  }
  return at + name.size() + 16;
}

constexpr const char* kSeedSpec =  // as in model_file_fuzzer.cc
    R"({"type": "mlp", "inputs": 3, "hidden": [4], "outputs": 2, "batch_norm": true, "dropout": 0.25, "seed": 7})";

void model_files(const fs::path& dir) {
  const fs::path tmp = dir / "tmp.simdnn";
  auto saved = [&](const Model& model, simdnn::Optimizer* optimizer = nullptr) {
    simdnn::save_model(tmp.string(), model, optimizer);
    std::string bytes = read(tmp);
    fs::remove(tmp);
    return bytes;
  };
  // The seed architecture, with everything a file can hold.
  Model full = Model::from_spec(kSeedSpec);
  full.scaler = simdnn::StandardScaler({0.5, -1.0, 2.0}, {1.0, 0.25, 3.0});
  full.class_names = {"no", "yes"};
  simdnn::Adam adam(simdnn::all_parameters(*full.network));
  for (const simdnn::Parameter& p : simdnn::all_parameters(*full.network)) {
    for (std::size_t i = 0; i < p.grad->size(); ++i) p.grad->data()[i] = 0.5f;
  }
  adam.step();
  write(dir / "mlp_adam_scaler_classes", saved(full, &adam));
  const Model plain = Model::from_spec(kSeedSpec);
  const std::string good = saved(plain);
  write(dir / "mlp_plain", good);
  simdnn::save_model(tmp.string(), *plain.network);  // "spec": null
  const std::string network_only = read(tmp);
  fs::remove(tmp);
  write(dir / "network_only", network_only);
  // Version 1: no metadata length, no metadata.
  std::string v1 = network_only;
  v1.erase(12, 8 + metadata_length(network_only));
  const std::uint32_t one = 1;
  std::memcpy(&v1[8], &one, 4);
  write(dir / "version1", with_crc(v1));
  write(dir / "resnet", saved(Model::from_spec(R"({"type": "resnet", "inputs": 3, "width": 4, "blocks": 1, "outputs": 1, "activation": "elu", "dropout": 0.1})")));
  write(dir / "densenet", saved(Model::from_spec(R"({"type": "densenet", "inputs": 3, "width": 4, "blocks": 1, "layers_per_block": 2, "growth_rate": 2, "outputs": 3})")));
  Model values = Model::from_spec(R"({"type": "mlp", "inputs": 2, "hidden": [3], "outputs": 2, "activation": "gelu"})");
  values.output = simdnn::OutputKind::values;
  write(dir / "values_output", saved(values));

  // Hostile variants of mlp_plain (tests/model_file_test.cc, BadModelFile).
  write(dir / "bad_empty", "");
  write(dir / "bad_too_short", good.substr(0, 10));
  write(dir / "bad_truncated_end", good.substr(0, good.size() - 100));
  write(dir / "bad_truncated_half", good.substr(0, good.size() / 2));
  write(dir / "bad_truncated_in_metadata", good.substr(0, 40));
  std::string flipped = good;
  flipped[flipped.size() - 40] ^= 0x04;
  write(dir / "bad_bit_flip", flipped);
  std::string flipped_header = good;
  flipped_header[13] ^= 0x01;  // the metadata length
  write(dir / "bad_bit_flip_length", flipped_header);
  write(dir / "bad_trailing_bytes", with_crc(good + "garbage!"));
  write(dir / "bad_foreign", "PK\x03\x04 this is a zip file, not a model at all");
  std::string version3 = good;
  version3[8] = 3;
  write(dir / "bad_version3", with_crc(version3));
  write(dir / "bad_renamed_entry", with_crc(replaced(good, "param/", "pAram/")));
  const std::string metadata = good.substr(20, metadata_length(good));
  write(dir / "bad_not_a_model", with_metadata(good, replaced(metadata, "simdnn-model", "simdnn-other")));
  write(dir / "bad_json", with_metadata(good, replaced(metadata, "\"format\"", "\"format[")));
  write(dir / "bad_spec_type", with_metadata(good, replaced(metadata, "\"mlp\"", "\"mlq\"")));
  write(dir / "bad_spec_larger_than_file", with_metadata(good, replaced(metadata, "[4]", "[99999]")));
  write(dir / "bad_spec_at_weight_limit",
        with_metadata(good, replaced(replaced(metadata, "[4]", "[65536]"), ":3", ":32767")));
  write(dir / "bad_nested_metadata", with_metadata(good, nested(10000)));
  write(dir / "bad_metadata_not_object", with_metadata(good, "[1,2,3]"));
  write(dir / "bad_classes", with_metadata(good, replaced(metadata, "\"output\"", "\"classes\":[\"a\",\"a\"],\"output\"")));
  std::string overflow = good;
  const std::uint64_t huge = std::uint64_t{1} << 62;
  std::memcpy(&overflow[values_of(good, "param/") - 16], &huge, 8);
  write(dir / "bad_header_dims_overflow", with_crc(overflow));
  for (const auto& [name, value] : {std::pair{"bad_nan_weight", std::numeric_limits<float>::quiet_NaN()},
                                    std::pair{"bad_inf_weight", std::numeric_limits<float>::infinity()}}) {
    std::string bytes = good;
    std::memcpy(&bytes[values_of(good, "param/") + 2 * 4], &value, 4);
    write(dir / name, with_crc(bytes));
  }
  std::string count = good;
  count[20 + metadata_length(good)] += 1;  // one entry more than the file holds
  write(dir / "bad_entry_count", with_crc(count));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR   (writes DIR/spec/* and DIR/model_file/*)\n");
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir / "spec");
  fs::create_directories(dir / "model_file");
  for (const auto& [name, text] : specs()) write(dir / "spec" / name, text);
  model_files(dir / "model_file");
  std::printf("make_seeds: wrote %s/spec and %s/model_file\n", dir.c_str(), dir.c_str());
  return 0;
}
