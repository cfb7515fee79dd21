// Readers for numeric CSV files and IDX files (the MNIST format), plain or gzip-compressed.
//
// Every reader comes in two forms: read_*(path) reads a file (through zlib's gzopen/gzread, which
// reads a gzip file decompressed and any other file as it is), and parse_*(bytes, name) parses a
// buffer already in memory, `name` standing in for the file name in messages. The read_* forms
// only read the bytes and call parse_*, so the fuzzers (data/fuzz/) and the unit tests exercise
// the same parsing code.
//
// Errors: a file that cannot be read or does not parse throws DataFileError. Its message names the
// file and the place: "line L, column C" (both counted from 1) for CSV, "byte offset B" for IDX.
// For a .gz file, byte offsets count bytes of the decompressed data. Bad arguments (not bad
// files) throw std::invalid_argument.
//
// CSV: one sample per line, cells separated by `delimiter`, blank lines skipped, an optional
// header line, a UTF-8 byte-order mark and CRLF line ends accepted, spaces and tabs around a cell
// ignored. Every feature cell is a decimal number (std::from_chars syntax plus an optional leading
// '+'; no quotes, no NaN or infinity). One column holds the label, chosen by index
// (CsvOptions::label_column) or by its header name (label_name); the others are the features, in
// file order. Labels are non-negative integers by default; with CsvOptions::labels they may be
// text, each distinct text a class (see CsvLabels). Rejected: a feature cell that is not a finite
// number, a row with more or fewer cells than the first row (or the header), a numeric label that
// is not an integer in range, an empty label, a text label outside the given classes, a label
// name the header lacks (or holds twice), and a file without data rows.
//
// IDX (http://yann.lecun.com/exdb/mnist/): a 4-byte magic 0x000008DD (0x08 = unsigned bytes,
// DD = number of dimensions), then each dimension as a big-endian uint32, then the values.
// Labels: magic 0x00000801, dims {n}. Images: magic 0x00000803, dims {n, height, width}; image i
// becomes row i of an n x (height·width) matrix, row-major. The data must be exactly as long as
// the dimensions say: shorter is "truncated", longer is "trailing bytes".
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

// The whole file, decompressed if it is gzip. Throws DataFileError if it cannot be opened or
// read, or if a gzip stream is corrupt or ends early (the message gives the decompressed offset).
std::vector<std::uint8_t> read_file_bytes(const std::string& path);

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
// parse_csv of the (possibly gzipped) file at `path`.
LabeledData read_csv(const std::string& path, const CsvOptions& options = {});

// A CSV text without a label column: every column is a feature (n x columns). The same parser
// and rules as parse_csv (header, delimiter); the label options are not used, but must be
// valid (as for parse_csv: std::invalid_argument otherwise).
Tensor parse_csv_features(std::string_view text, const std::string& name,
                          const CsvOptions& options = {});
Tensor read_csv_features(const std::string& path, const CsvOptions& options = {});

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
// Throws DataFileError (wrong magic, zero height or width, truncated, trailing bytes).
IdxImages parse_idx_images(std::span<const std::uint8_t> bytes, const std::string& name,
                           float scale = 1.0f);
// Labels of an IDX label buffer; each must be < num_classes (1..256). Throws DataFileError
// (wrong magic, truncated, trailing bytes, label out of range: the message gives its offset).
std::vector<std::int32_t> parse_idx_labels(std::span<const std::uint8_t> bytes,
                                           const std::string& name, int num_classes);

IdxImages read_idx_images(const std::string& path, float scale = 1.0f);
std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes);

// An image file and its label file together. Throws DataFileError naming both files if their
// counts (the first dimension, at byte offset 4 of each) differ.
LabeledData read_idx(const std::string& images_path, const std::string& labels_path,
                     int num_classes, float scale = 1.0f);

}  // namespace simdnn
