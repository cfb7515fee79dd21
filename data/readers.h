// Readers for numeric CSV files and IDX files (the MNIST format), plain or gzip-compressed.
//
// Every reader comes in two forms: read_*(path) reads a file and parse_*(bytes, name) parses a
// buffer already in memory, `name` standing in for the file name in messages. The read_* forms
// only read the bytes (read_file_bytes) and call parse_*, so the fuzzers (data/fuzz/) and the
// unit tests exercise the same parsing code; the IDX readers check the header first.
//
// Files (read_file_bytes and every read_* built on it):
//  - Only regular files are read (symbolic links to them are followed). A directory, FIFO,
//    socket or device (/dev/zero, /dev/stdin, ...) is refused by name ("not a regular file")
//    before anything is read: nothing blocks on a FIFO without a writer, nothing reads forever.
//  - A file starting with the gzip magic bytes 1f 8b is gzip and read decompressed; any other
//    file is read as it is. Concatenated gzip members (`gzip -c a b`, or `cat a.gz b.gz`) are
//    valid gzip, as RFC 1952 and gzip(1) say, and read as the concatenation of their data.
//    Anything after the last member that is not another gzip member (garbage, zero padding) is
//    an error naming its byte offset in the file; so is a corrupt or truncated member.
//  - Size cap: at most ReadLimits::max_bytes bytes of data (decompressed, for gzip) are read
//    from one file; a file whose data go on past the cap is a DataFileError naming the file and
//    the cap, raised before memory grows past the cap (a plain file larger than the cap is
//    refused before it is read; a gzip bomb is refused after inflating just past the cap). The
//    default is kDefaultMaxReadBytes (4 GiB); pass a ReadLimits to read_* to change it.
//
// Errors: a file that cannot be read or does not parse throws DataFileError, and only that
// (bad arguments, not bad files, throw std::invalid_argument). Its message names the file and the
// place: "line L, column C" (both counted from 1) for CSV, "byte offset B" for IDX. For a .gz
// file, byte offsets count bytes of the decompressed data, except for a gzip error, which also
// gives the offset in the file. Messages are bounded: a cell, label or name from the input is
// quoted with at most 32 bytes (unprintable bytes as \xNN), a header list with at most 16
// cells, and a file name with at most 4096 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <simdnn/core/tensor.h>
#include <simdnn/data/labeled_data.h>

namespace simdnn {

// A data file that cannot be opened, read or parsed. The message names the file and the line and
// column (CSV) or the byte offset (IDX) where the problem is.
class DataFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The most data (in bytes, decompressed) a reader takes from one file by default: 4 GiB.
inline constexpr std::uint64_t kDefaultMaxReadBytes = std::uint64_t{4} << 30;

// Limits on what a read_* function reads from one file.
struct ReadLimits {
  // Data beyond this many bytes (after decompression) is a DataFileError ("read limit"); any
  // value is valid (0: only empty files).
  std::uint64_t max_bytes = kDefaultMaxReadBytes;
};

// The whole file, decompressed if it is gzip (see "Files" above). Throws DataFileError if it
// is not a regular file, cannot be opened or read, holds more than limits.max_bytes bytes of
// data, or if a gzip member is corrupt, ends early or is followed by bytes that are not gzip
// (the message gives the decompressed offset and, for gzip errors, the offset in the file).
std::vector<std::uint8_t> read_file_bytes(const std::string& path, const ReadLimits& limits = {});

// ---- CSV ----

// How the label cells become class indices (LabeledData::labels).
enum class CsvLabels {
  // Non-negative integers (the default): the cell is the class index; class_names stays empty.
  numeric,
  // Text: each distinct label text is a class, and the classes are the distinct texts sorted
  // byte-wise (std::string's operator<, so "10" < "2" and "Zebra" < "apple"): class c is
  // class_names[c] of the result. The same file always gives the same classes.
  learn,
  // Text: class c is CsvOptions::class_names[c]; a label that is none of them is an error
  // naming the file, line, column and the label. The result's class_names are those given.
  given,
  // numeric when every label cell is a valid numeric label (a non-negative integer < 2^31), else
  // learn (so "0"/"1" stay classes 0 and 1, while "-1"/"1" or "cat"/"dog" become text classes).
  automatic,
};

struct CsvOptions {
  // Skip the first non-blank line. Its number of cells still sets the expected row width.
  bool header = false;
  // 0-based column of the label; -1 = the last column. Ignored when label_name is set.
  int label_column = -1;
  // The label column by its name in the header (needs header = true; matched after trimming
  // spaces and tabs, case-sensitively). Empty: use label_column.
  std::string label_name;
  char delimiter = ',';
  // Numeric labels only (must be 0 with the other CsvLabels): > 0: labels must be
  // < num_classes. 0: any non-negative integer up to INT32_MAX.
  int num_classes = 0;
  CsvLabels labels = CsvLabels::numeric;
  // The classes for CsvLabels::given, in class order: non-empty, distinct, none empty. Must be
  // empty with the other modes.
  std::vector<std::string> class_names;
};

// Features (n x (columns − 1)) and labels of a CSV text; class_names as CsvOptions::labels says.
// Throws DataFileError naming `name`, the line and the column; std::invalid_argument for bad
// options.
LabeledData parse_csv(std::string_view text, const std::string& name,
                      const CsvOptions& options = {});
// parse_csv of the (possibly gzipped) file at `path`, read with read_file_bytes(path, limits).
LabeledData read_csv(const std::string& path, const CsvOptions& options = {},
                     const ReadLimits& limits = {});

// A CSV text without a label column: every column is a feature (n x columns). The same parser
// and rules as parse_csv (header, delimiter); the label options are not used, but must be
// valid (as for parse_csv: std::invalid_argument otherwise).
Tensor parse_csv_features(std::string_view text, const std::string& name,
                          const CsvOptions& options = {});
Tensor read_csv_features(const std::string& path, const CsvOptions& options = {},
                         const ReadLimits& limits = {});

// The number of cells of the first non-blank line (the header, when there is one), as parse_csv
// counts them (after a UTF-8 byte-order mark); 0 for a text with no non-blank line. Lets a caller
// decide whether a file has a label column before parsing it.
std::size_t csv_width(std::string_view text, char delimiter = ',');

// ---- IDX ----

inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;
inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;

struct IdxImages {
  Tensor pixels;  // n x (height·width), each byte value times `scale`
  std::size_t height = 0;
  std::size_t width = 0;
};

// Images of an IDX image buffer, pixel values multiplied by `scale` (1/255.0f gives [0, 1]).
// Throws DataFileError (wrong magic, zero count, height or width, truncated, trailing bytes).
IdxImages parse_idx_images(std::span<const std::uint8_t> bytes, const std::string& name,
                           float scale = 1.0f);
// Labels of an IDX label buffer; each must be < num_classes (1..256). Throws DataFileError
// (wrong magic, zero count, truncated, trailing bytes, label out of range: the message gives
// its offset).
std::vector<std::int32_t> parse_idx_labels(std::span<const std::uint8_t> bytes,
                                           const std::string& name, int num_classes);

// The file at `path` (plain or gzip): the header is read and checked first (magic, counts, and
// the size the dimensions imply, which must not exceed limits.max_bytes), then at most that
// many bytes of body are read; a longer file is "trailing bytes", counted without keeping them.
IdxImages read_idx_images(const std::string& path, float scale = 1.0f,
                          const ReadLimits& limits = {});
std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes,
                                          const ReadLimits& limits = {});

// An image file and its label file together. Throws DataFileError naming both files if their
// counts (the first dimension, at byte offset 4 of each) differ.
LabeledData read_idx(const std::string& images_path, const std::string& labels_path,
                     int num_classes, float scale = 1.0f, const ReadLimits& limits = {});

}  // namespace simdnn
