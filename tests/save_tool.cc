// A helper process for tests/save_fault_test.cc: saves tensor files the way a training run does,
// so that the test can kill it or limit it from outside.
//   save_tool loop PATH          saves version 1, 2, 3, ... of a 3 MB file to PATH until killed
//   save_tool limit PATH BYTES   sets RLIMIT_FSIZE to BYTES, then saves a 3 MB file to PATH;
//                                exits 3 if the save failed with TensorFileError, 0 if it worked
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <simdnn/train/tensor_file.h>

namespace {

// Every value of version v is v, so a reader can tell which whole version it got.
void save_version(const std::string& path, float version) {
  simdnn::Tensor t(768, 1024);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = version;
  simdnn::write_tensor_file(path, {{"values", &t}}, "{\"version\": " + std::to_string(version) + "}");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[1] : "";
  if (mode == "loop") {
    for (int v = 1;; ++v) save_version(argv[2], static_cast<float>(v));
  }
  if (mode == "limit" && argc == 4) {
    const rlimit limit{std::strtoull(argv[3], nullptr, 10), RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return 4;
    try {
      save_version(argv[2], 99.0f);
      return 0;
    } catch (const simdnn::TensorFileError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 3;
    }
  }
  std::fprintf(stderr, "usage: save_tool loop PATH | save_tool limit PATH BYTES\n");
  return 2;
}
