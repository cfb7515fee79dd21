// The simdnn tensor file: how models (parameters, BatchNorm running statistics) and optionally
// optimizer state are saved and loaded. Version 1, little-endian:
//
//   offset  size  field
//   0       8     magic "SIMDNN\0T"
//   8       4     format version (uint32) = 1
//   12      4     entry count N (uint32)
//   16      ...   N entries, each:
//                   uint32 name length L, then L bytes of UTF-8 name (e.g. "dense1/weight")
//                   uint64 rows, uint64 cols
//                   rows·cols float32 values, row-major
//   end−4   4     CRC-32 (zlib's) of every byte before it
//
// Writes are atomic: the file is written beside the target under a temporary name, flushed to
// disk (fsync) and renamed over the target, so a crash leaves either the old file or the new one.
// Reading is all-or-nothing: the whole file is checked (size, magic, version, CRC, every entry's
// name and shape against what the caller expects) before any tensor is touched, so a bad file
// leaves the caller's tensors exactly as they were.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/core/tensor.h>

namespace simdnn {

// A file that cannot be read or written, or that does not match; the message names the file
// and, where it applies, the byte offset and what was expected.
class TensorFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NamedTensor {
  std::string name;
  Tensor* tensor = nullptr;
};

inline constexpr std::uint32_t kTensorFileVersion = 1;

// Writes `tensors` to `path` atomically. Throws TensorFileError (nothing is left behind).
void write_tensor_file(const std::string& path, const std::vector<NamedTensor>& tensors);

// Reads `path` into `tensors`: the file must hold exactly these names, in this order, with these
// shapes. Throws TensorFileError and changes nothing unless the whole file is valid.
void read_tensor_file(const std::string& path, const std::vector<NamedTensor>& tensors);

}  // namespace simdnn
