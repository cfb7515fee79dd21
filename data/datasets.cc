#include <simdnn/data/datasets.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <simdnn/data/readers.h>

namespace simdnn {
namespace {

constexpr const char* kDigitsRelative = "data/digits/digits.csv.gz";
constexpr const char* kDigitsDebian =
    "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::vector<std::string> digits_candidates() {
  std::vector<std::string> out;
  // Runfiles: the repository is named "simdnn" both as the main workspace and as @simdnn.
  const std::string in_runfiles = std::string("simdnn/") + kDigitsRelative;
  for (const char* var : {"TEST_SRCDIR", "RUNFILES_DIR"}) {
    const std::string dir = env(var);
    if (!dir.empty()) out.push_back(dir + "/" + in_runfiles);
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back(exe.string() + ".runfiles/" + in_runfiles);
  const std::string workspace = env("BUILD_WORKSPACE_DIRECTORY");
  if (!workspace.empty()) out.push_back(workspace + "/" + kDigitsRelative);
  out.push_back(kDigitsRelative);
#ifdef SIMDNN_INSTALLED_DIGITS_PATH  // CMake: <prefix>/share/simdnn/digits/digits.csv.gz
  out.push_back(SIMDNN_INSTALLED_DIGITS_PATH);
#endif
  out.push_back(kDigitsDebian);
  return out;
}

// NAME.gz if it exists, else NAME if it exists, else "".
std::string idx_file(const std::string& dir, const std::string& name) {
  for (const std::string& path : {dir + "/" + name + ".gz", dir + "/" + name}) {
    if (is_file(path)) return path;
  }
  return "";
}

constexpr const char* kFashionFiles[4] = {
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
};

}  // namespace

std::string find_digits_file() {
  const std::string explicit_path = env("SIMDNN_DIGITS_PATH");
  if (!explicit_path.empty()) return explicit_path;
  const std::vector<std::string> candidates = digits_candidates();
  std::string tried;
  for (const std::string& path : candidates) {
    if (is_file(path)) return path;
    tried += "\n  " + path;
  }
  throw DataFileError("load_digits: digits.csv.gz not found; tried:" + tried +
                      "\n(depend on //data so that the file is in the runfiles, run from the "
                      "workspace root, or set SIMDNN_DIGITS_PATH)");
}

LabeledData load_digits(const std::string& path) {
  const std::string file = path.empty() ? find_digits_file() : path;
  LabeledData digits = read_csv(file, CsvOptions{.num_classes = 10});
  if (digits.features.cols() != 64) {
    throw DataFileError("load_digits: " + file + " has " +
                        std::to_string(digits.features.cols()) +
                        " feature columns, expected 64 (8x8 pixels) then the label");
  }
  return digits;
}

bool fashion_mnist_available(const std::string& dir) {
  for (const char* name : kFashionFiles) {
    if (idx_file(dir, name).empty()) return false;
  }
  return true;
}

FashionMnist load_fashion_mnist(const std::string& dir) {
  std::string paths[4];
  std::string missing;
  for (int i = 0; i < 4; ++i) {
    paths[i] = idx_file(dir, kFashionFiles[i]);
    if (paths[i].empty()) missing += std::string(missing.empty() ? "" : ", ") + kFashionFiles[i];
  }
  if (!missing.empty()) {
    std::error_code ec;
    const bool dir_exists = std::filesystem::is_directory(dir, ec);
    throw DatasetNotInstalledError(
        "load_fashion_mnist: Fashion-MNIST is not installed: " +
        (dir_exists ? dir + " lacks " + missing + " (as .gz or plain)"
                    : dir + " does not exist") +
        "; install the Debian package dataset-fashion-mnist (apt-get install "
        "dataset-fashion-mnist) or pass the directory holding the IDX files");
  }
  constexpr float kScale = 1.0f / 255.0f;
  FashionMnist out;
  out.train = read_idx(paths[0], paths[1], 10, kScale);
  out.test = read_idx(paths[2], paths[3], 10, kScale);
  for (const LabeledData* part : {&out.train, &out.test}) {
    if (part->features.cols() != 784) {
      throw DataFileError("load_fashion_mnist: images in " + dir + " have " +
                          std::to_string(part->features.cols()) +
                          " pixels, expected 784 (28 x 28)");
    }
  }
  return out;
}

}  // namespace simdnn
