// libFuzzer target for the file layer of the readers (data/readers.h): read_file_bytes and the
// read_* functions on a real file, so gzip decoding (members, trailing bytes, corruption), the
// read limit and the IDX header-first reading are reached, which the in-memory fuzzers cannot.
// The first byte picks the reader; the rest is written to a temporary file (under $TEST_TMPDIR
// or the system's temporary directory) and read with a read limit of 1 MiB. Any input must
// either read into consistent data or throw DataFileError; anything else is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <simdnn/data/readers.h>

namespace {

const std::string& temp_file() {
  static const std::string path = [] {
    const char* dir = std::getenv("TEST_TMPDIR");
    const std::filesystem::path base =
        dir != nullptr ? std::filesystem::path(dir) : std::filesystem::temp_directory_path();
    return (base / ("simdnn-file-fuzzer-" + std::to_string(::getpid()))).string();
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string& path = temp_file();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) std::abort();
    if (size > 1 && std::fwrite(data + 1, 1, size - 1, f) != size - 1) std::abort();
    if (std::fclose(f) != 0) std::abort();
  }
  constexpr std::uint64_t kCap = std::uint64_t{1} << 20;
  const simdnn::ReadLimits limits{.max_bytes = kCap};
  const bool gzip = size >= 3 && data[1] == 0x1f && data[2] == 0x8b;
  try {
    switch (selector & 3) {
      case 0: {
        const auto bytes = simdnn::read_file_bytes(path, limits);
        if (bytes.size() > kCap) std::abort();
        // A file that is not gzip is read as it is.
        if (!gzip && (bytes.size() != size - 1 ||
                      (size > 1 && std::memcmp(bytes.data(), data + 1, size - 1) != 0))) {
          std::abort();
        }
        break;
      }
      case 1: {
        const simdnn::LabeledData d =
            simdnn::read_csv(path, {.labels = simdnn::CsvLabels::automatic}, limits);
        if (d.features.rows() != d.labels.size() || d.labels.empty()) std::abort();
        break;
      }
      case 2: {
        const simdnn::IdxImages images = simdnn::read_idx_images(path, 1.0f, limits);
        if (images.pixels.rows() == 0 || images.pixels.cols() != images.height * images.width) {
          std::abort();
        }
        break;
      }
      default: {
        const auto labels = simdnn::read_idx_labels(path, 10, limits);
        if (labels.empty()) std::abort();
        for (const std::int32_t y : labels) {
          if (y < 0 || y >= 10) std::abort();
        }
        break;
      }
    }
  } catch (const simdnn::DataFileError&) {
  }
  return 0;
}
