// The simdnn tensor file: how models (parameters, BatchNorm running statistics, the architecture
// and preprocessing) and optionally optimizer state are saved and loaded. Version 2,
// little-endian:
//
//   offset  size  field
//   0       8     magic "SIMDNN\0T"
//   8       4     format version (uint32) = 2
//   12      8     metadata length J (uint64)
//   20      J     metadata: UTF-8 text (train/model_io.h stores a JSON object there)
//   20+J    4     entry count N (uint32)
//   24+J    ...   N entries, each:
//                   uint32 name length L, then L bytes of UTF-8 name (e.g. "dense1/weight")
//                   uint64 rows, uint64 cols
//                   rows·cols float32 values, row-major
//   end−4   4     CRC-32 (zlib's) of every byte before it
//
// Version 1 is the same without the metadata length and metadata; it is still read (with empty
// metadata). Any other version is refused with an error naming it.
//
// Writes are atomic: the file is written beside the target under a temporary name
// ("<path>.tmp.<pid>.XXXXXX"), flushed to disk (fsync) and renamed over the target, so a crash
// leaves either the old file or the new one (tests/save_fault_test.cc kills writers at 60
// points). A failed write (a full disk, a file-size limit: SIGXFSZ is held off during the write,
// so the process is not killed) removes its temporary file and leaves the old file as it was; a
// save also removes temporary files left by writer processes that no longer exist.
// Reading is all-or-nothing: the whole file is checked (size, magic, version, CRC, every entry's
// name and shape against what the caller expects) before any tensor is touched, so a bad file
// leaves the caller's tensors exactly as they were.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
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

// The version written; versions 1 and 2 are read.
inline constexpr std::uint32_t kTensorFileVersion = 2;

// A whole file, checked (structure, CRC) and copied into memory.
struct TensorFileContents {
  std::uint32_t version = kTensorFileVersion;
  std::string metadata;                     // empty in version 1 files
  std::vector<std::string> names;           // in file order
  std::vector<Tensor> tensors;              // tensors[i] is called names[i]
  std::vector<std::uint64_t> offsets;       // where entry i starts, for messages

  // The index of the tensor called `name`, or names.size() when there is none.
  std::size_t index_of(std::string_view name) const;
};

// Writes `tensors` and `metadata` to `path` atomically. Throws TensorFileError (nothing is left
// behind).
void write_tensor_file(const std::string& path, const std::vector<NamedTensor>& tensors,
                       std::string_view metadata = {});

// Reads and checks the whole of `path` (a regular file): magic, version, structure, CRC. Throws
// TensorFileError naming the file and the byte offset of the first problem.
TensorFileContents read_tensor_file(const std::string& path);

// Reads `path` into `tensors`: the file must hold exactly these names, in this order, with these
// shapes. Throws TensorFileError and changes nothing unless the whole file is valid.
void read_tensor_file(const std::string& path, const std::vector<NamedTensor>& tensors);

}  // namespace simdnn
