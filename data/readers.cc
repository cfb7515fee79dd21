#include <simdnn/data/readers.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <unordered_map>

namespace simdnn {
namespace {

// ---- files ----

struct GzClose {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

std::string gz_message(gzFile f) {
  int code = Z_OK;
  const char* message = gzerror(f, &code);
  if (code == Z_ERRNO) return std::strerror(errno);
  return message != nullptr ? message : "unknown zlib error";
}

// ---- messages ----

// A cell or value for an error message: at most 32 bytes, unprintable bytes as \xNN.
std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 32;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "\"";
}

[[noreturn]] void csv_error(const std::string& name, std::size_t line, std::size_t column,
                            const std::string& what) {
  std::string where = name + ", line " + std::to_string(line);
  if (column != 0) where += ", column " + std::to_string(column);
  throw DataFileError("read_csv: " + where + ": " + what);
}

[[noreturn]] void idx_error(const std::string& name, std::size_t offset, const std::string& what) {
  throw DataFileError("read_idx: " + name + ", byte offset " + std::to_string(offset) + ": " +
                      what);
}

std::string hex32(std::uint32_t v) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out += kHex[(v >> shift) & 15];
  return out;
}

// ---- CSV ----

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void split_cells(std::string_view line, char delimiter, std::vector<std::string_view>& cells) {
  cells.clear();
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = line.find(delimiter, start);
    if (end == std::string_view::npos) {
      cells.push_back(trim(line.substr(start)));
      return;
    }
    cells.push_back(trim(line.substr(start, end - start)));
    start = end + 1;
  }
}

// Parses a whole cell as a finite number of type T. Returns an empty string on success, else why
// it is not one.
template <class T>
std::string parse_number(std::string_view cell, T& value) {
  if (cell.empty()) return "empty cell, expected a number";
  std::string_view digits = cell;
  if (digits.size() > 1 && digits.front() == '+' && digits[1] != '-' && digits[1] != '+') {
    digits.remove_prefix(1);
  }
  const char* first = digits.data();
  const char* last = first + digits.size();
  const auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) return quoted(cell) + " is out of range";
  if (ec != std::errc() || ptr != last) return quoted(cell) + " is not a number";
  if (!std::isfinite(value)) return quoted(cell) + " is not a finite number";
  return {};
}

// ---- IDX ----

std::uint32_t read_be32(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return (std::uint32_t{bytes[offset]} << 24) | (std::uint32_t{bytes[offset + 1]} << 16) |
         (std::uint32_t{bytes[offset + 2]} << 8) | std::uint32_t{bytes[offset + 3]};
}

struct IdxHeader {
  std::vector<std::uint32_t> dims;
  std::size_t data_offset = 0;  // where the values start
  std::size_t count = 0;        // number of values the dimensions call for
};

std::string idx_kind(std::uint32_t magic) {
  return magic == kIdxLabelsMagic ? "IDX labels (unsigned bytes, 1 dimension)"
                                  : "IDX images (unsigned bytes, 3 dimensions)";
}

// Checks the magic, reads the dimensions and checks the data length against them.
IdxHeader parse_idx_header(std::span<const std::uint8_t> bytes, const std::string& name,
                           std::uint32_t expected_magic) {
  const std::size_t ndims = expected_magic & 0xff;
  if (bytes.size() < 4) {
    idx_error(name, bytes.size(),
              "truncated: the file has " + std::to_string(bytes.size()) +
                  " bytes, the 4-byte magic number does not fit");
  }
  const std::uint32_t magic = read_be32(bytes, 0);
  if (magic != expected_magic) {
    idx_error(name, 0,
              "wrong magic number " + hex32(magic) + ", expected " + hex32(expected_magic) +
                  " for " + idx_kind(expected_magic));
  }
  IdxHeader header;
  header.data_offset = 4 + 4 * ndims;
  if (bytes.size() < header.data_offset) {
    idx_error(name, bytes.size(),
              "truncated in the header: " + std::to_string(ndims) +
                  " dimensions need bytes 4.." + std::to_string(header.data_offset - 1) +
                  " but the file has " + std::to_string(bytes.size()) + " bytes");
  }
  std::uint64_t count = 1;
  bool overflow = false;
  for (std::size_t d = 0; d < ndims; ++d) {
    const std::uint32_t dim = read_be32(bytes, 4 + 4 * d);
    header.dims.push_back(dim);
    overflow = overflow || __builtin_mul_overflow(count, std::uint64_t{dim}, &count);
  }
  const std::size_t available = bytes.size() - header.data_offset;
  if (overflow || count > available) {
    std::string dims;
    for (std::size_t d = 0; d < ndims; ++d) {
      dims += (d ? " x " : "") + std::to_string(header.dims[d]);
    }
    idx_error(name, bytes.size(),
              "truncated: dimensions " + dims + " call for " +
                  (overflow ? std::string("more than 2^64") : std::to_string(count)) +
                  " bytes of data from byte offset " + std::to_string(header.data_offset) +
                  ", the file has " + std::to_string(available));
  }
  if (count < available) {
    idx_error(name, header.data_offset + count,
              std::to_string(available - count) + " trailing bytes after the " +
                  std::to_string(count) + " bytes of data the dimensions call for");
  }
  header.count = count;
  return header;
}

}  // namespace

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  errno = 0;
  std::unique_ptr<gzFile_s, GzClose> file(gzopen(path.c_str(), "rb"));
  if (!file) {
    throw DataFileError("read: " + path + ": cannot open (" +
                        (errno ? std::strerror(errno) : "out of memory") + ")");
  }
  gzbuffer(file.get(), 1 << 17);
  std::vector<std::uint8_t> bytes;
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  for (;;) {
    const std::size_t old_size = bytes.size();
    bytes.resize(old_size + kChunk);
    const int got = gzread(file.get(), bytes.data() + old_size, static_cast<unsigned>(kChunk));
    if (got < 0) {
      throw DataFileError("read: " + path + ", byte offset " + std::to_string(old_size) +
                          " (decompressed): " + gz_message(file.get()));
    }
    bytes.resize(old_size + static_cast<std::size_t>(got));
    if (got == 0) break;
  }
  int code = Z_OK;
  gzerror(file.get(), &code);
  if (code != Z_OK) {
    throw DataFileError("read: " + path + ", byte offset " + std::to_string(bytes.size()) +
                        " (decompressed): " + gz_message(file.get()));
  }
  return bytes;
}

namespace {

// Checks the options that do not depend on the text; throws std::invalid_argument.
void check_csv_options(const CsvOptions& options) {
  if (options.label_column < -1) {
    throw std::invalid_argument("read_csv: label_column must be >= 0 or -1 (the last), got " +
                                std::to_string(options.label_column));
  }
  if (options.num_classes < 0) {
    throw std::invalid_argument("read_csv: num_classes must be >= 0, got " +
                                std::to_string(options.num_classes));
  }
  if (options.delimiter == '\n' || options.delimiter == '\r' || options.delimiter == '\0') {
    throw std::invalid_argument("read_csv: delimiter must not be a line end or NUL");
  }
  if (!options.label_name.empty() && !options.header) {
    throw std::invalid_argument("read_csv: label_name \"" + options.label_name +
                                "\" needs a header (header = true)");
  }
  if (options.num_classes > 0 && options.labels != CsvLabels::numeric) {
    throw std::invalid_argument("read_csv: num_classes applies to numeric labels only");
  }
  const bool given = options.labels == CsvLabels::given;
  if (given && options.class_names.empty()) {
    throw std::invalid_argument("read_csv: CsvLabels::given needs class_names");
  }
  if (!given && !options.class_names.empty()) {
    throw std::invalid_argument("read_csv: class_names are for CsvLabels::given only");
  }
  std::set<std::string_view> seen;
  for (const std::string& c : options.class_names) {
    if (c.empty()) throw std::invalid_argument("read_csv: class_names holds an empty name");
    if (!seen.insert(c).second) {
      throw std::invalid_argument("read_csv: class_names holds \"" + c + "\" twice");
    }
  }
}

// The header's cells as a list for messages: "a, b, c" (at most 16, then "...").
std::string list_cells(const std::vector<std::string_view>& cells) {
  std::string out;
  for (std::size_t i = 0; i < cells.size() && i < 16; ++i) out += (i ? ", " : "") + quoted(cells[i]);
  return cells.size() > 16 ? out + ", ..." : out;
}

// One pass over a CSV text, for parse_csv (with a label column) and parse_csv_features (without).
// Numeric and given labels are resolved row by row, so their errors come in file order; learned
// (and automatic) labels keep their cell text, a view into `text`, until the classes are known.
class CsvParser {
 public:
  CsvParser(std::string_view text, const std::string& name, const CsvOptions& options,
            bool with_label)
      : text_(text), name_(name), options_(options), with_label_(with_label) {
    for (std::size_t c = 0; c < options.class_names.size(); ++c) {
      given_.emplace(options.class_names[c], static_cast<std::int32_t>(c));
    }
  }

  LabeledData run() {
    if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);
    bool header_pending = options_.header;
    std::size_t pos = 0;
    while (pos < text_.size()) {
      std::size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(pos, end - pos);
      pos = end + 1;
      ++line_number_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (trim(line).empty()) continue;
      last_line_ = line_number_;
      split_cells(line, options_.delimiter, cells_);
      if (header_pending) {
        header_pending = false;
        set_width(cells_.size());
        if (!options_.label_name.empty()) find_label_name();
        continue;
      }
      read_row();
    }
    return finish();
  }

 private:
  // The first row (or the header) sets the width and, by index, the label column.
  void set_width(std::size_t n) {
    columns_ = n;
    width_line_ = line_number_;
    if (!with_label_) return;
    if (columns_ < 2) {
      csv_error(name_, line_number_, 0,
                "1 column; need at least one feature column and a label column");
    }
    label_column_ = options_.label_column < 0 ? columns_ - 1
                                              : static_cast<std::size_t>(options_.label_column);
    if (options_.label_name.empty() && label_column_ >= columns_) {
      csv_error(name_, line_number_, 0,
                "label_column is " + std::to_string(options_.label_column) + " but the row has " +
                    std::to_string(columns_) + " columns");
    }
  }

  // The label column by its header name: exactly one header cell must hold it.
  void find_label_name() {
    if (!with_label_) return;
    std::size_t found = columns_;
    for (std::size_t c = 0; c < cells_.size(); ++c) {
      if (cells_[c] != options_.label_name) continue;
      if (found != columns_) {
        csv_error(name_, line_number_, c + 1,
                  "the label name " + quoted(options_.label_name) +
                      " names two columns of the header (columns " + std::to_string(found + 1) +
                      " and " + std::to_string(c + 1) + ")");
      }
      found = c;
    }
    if (found == columns_) {
      csv_error(name_, line_number_, 0,
                "no column named " + quoted(options_.label_name) +
                    " in the header (columns: " + list_cells(cells_) + ")");
    }
    label_column_ = found;
  }

  void check_row_width() {
    if (cells_.size() == columns_) return;
    const std::string counts = "the row has " + std::to_string(cells_.size()) +
                               " columns, expected " + std::to_string(columns_) +
                               " (as on line " + std::to_string(width_line_) + ")";
    if (cells_.size() < columns_) {
      csv_error(name_, line_number_, cells_.size() + 1, "missing cell: " + counts);
    }
    csv_error(name_, line_number_, columns_ + 1, "extra cell: " + counts);
  }

  void read_row() {
    if (columns_ == 0) {
      set_width(cells_.size());
    } else {
      check_row_width();
    }
    for (std::size_t c = 0; c < columns_; ++c) {
      if (with_label_ && c == label_column_) {
        read_label(cells_[c], c + 1);
        continue;
      }
      float value = 0;
      std::string why = parse_number(cells_[c], value);
      if (!why.empty()) csv_error(name_, line_number_, c + 1, why);
      features_.push_back(value);
    }
    ++rows_;
  }

  // A numeric label, or why the cell is not one (empty on success).
  std::string numeric_label(std::string_view cell, std::int32_t& label) const {
    double value = 0;
    std::string why = parse_number(cell, value);
    if (!why.empty()) return "label: " + why;
    if (value != std::floor(value)) return "label " + quoted(cell) + " is not an integer";
    const bool limited = options_.num_classes > 0;
    const double limit = limited ? static_cast<double>(options_.num_classes)
                                 : static_cast<double>(std::numeric_limits<std::int32_t>::max()) + 1.0;
    if (value < 0 || value >= limit) {
      return "label " + quoted(cell) + " is outside [0, " +
             (limited ? std::to_string(options_.num_classes) : std::string("2^31")) + ")";
    }
    label = static_cast<std::int32_t>(value);
    return {};
  }

  void read_label(std::string_view cell, std::size_t column) {
    const CsvLabels mode = options_.labels;
    if (mode != CsvLabels::numeric && cell.empty()) {
      csv_error(name_, line_number_, column, "empty label");
    }
    std::int32_t label = 0;
    if (mode == CsvLabels::numeric) {
      const std::string why = numeric_label(cell, label);
      if (!why.empty()) csv_error(name_, line_number_, column, why);
    } else if (mode == CsvLabels::given) {
      const auto it = given_.find(cell);
      if (it == given_.end()) {
        csv_error(name_, line_number_, column,
                  "label " + quoted(cell) + " is not one of the " +
                      std::to_string(options_.class_names.size()) + " classes (" +
                      list_cells(std::vector<std::string_view>(options_.class_names.begin(),
                                                               options_.class_names.end())) +
                      ")");
      }
      label = it->second;
    } else {
      texts_.push_back(cell);
      // automatic: numeric as long as every label so far is one.
      if (mode == CsvLabels::learn || !numeric_ || !numeric_label(cell, label).empty()) {
        numeric_ = false;
        return;
      }
    }
    labels_.push_back(label);
  }

  // learn, or automatic with a text label: classes are the distinct texts, sorted.
  void learn_classes(LabeledData& out) {
    std::map<std::string_view, std::int32_t> classes;
    for (std::string_view t : texts_) classes.emplace(t, 0);
    std::int32_t next = 0;
    for (auto& [text, index] : classes) {
      index = next++;
      out.class_names.emplace_back(text);
    }
    out.labels.reserve(texts_.size());
    for (std::string_view t : texts_) out.labels.push_back(classes.at(t));
  }

  LabeledData finish() {
    if (rows_ == 0) {
      if (columns_ != 0) csv_error(name_, last_line_, 0, "empty file: only a header, no data rows");
      throw DataFileError("read_csv: " + name_ + ", line " + std::to_string(line_number_) +
                          ": empty file: no data rows");
    }
    LabeledData out;
    out.features = Tensor(rows_, with_label_ ? columns_ - 1 : columns_);
    std::copy(features_.begin(), features_.end(), out.features.data());
    if (!with_label_) return out;
    const CsvLabels mode = options_.labels;
    if (mode == CsvLabels::learn || (mode == CsvLabels::automatic && !numeric_)) {
      learn_classes(out);
    } else {
      out.labels = std::move(labels_);
      if (mode == CsvLabels::given) out.class_names = options_.class_names;
    }
    return out;
  }

  std::string_view text_;
  const std::string& name_;
  const CsvOptions& options_;
  const bool with_label_;
  std::unordered_map<std::string_view, std::int32_t> given_;
  std::size_t columns_ = 0;     // 0 until the first row (or header) sets it
  std::size_t width_line_ = 0;  // the line that set it
  std::size_t label_column_ = 0;
  std::size_t line_number_ = 0;
  std::size_t last_line_ = 0;
  std::size_t rows_ = 0;
  std::vector<std::string_view> cells_;
  std::vector<float> features_;
  std::vector<std::int32_t> labels_;
  std::vector<std::string_view> texts_;  // learn / automatic: every label cell
  bool numeric_ = true;                  // automatic: every label so far was numeric
};

std::string_view as_text(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

LabeledData parse_csv(std::string_view text, const std::string& name, const CsvOptions& options) {
  check_csv_options(options);
  return CsvParser(text, name, options, true).run();
}

LabeledData read_csv(const std::string& path, const CsvOptions& options) {
  check_csv_options(options);  // before reading a file the options could never parse
  return parse_csv(as_text(read_file_bytes(path)), path, options);
}

Tensor parse_csv_features(std::string_view text, const std::string& name,
                          const CsvOptions& options) {
  check_csv_options(options);
  return CsvParser(text, name, options, false).run().features;
}

Tensor read_csv_features(const std::string& path, const CsvOptions& options) {
  check_csv_options(options);
  return parse_csv_features(as_text(read_file_bytes(path)), path, options);
}

std::size_t csv_width(std::string_view text, char delimiter) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    return static_cast<std::size_t>(std::count(line.begin(), line.end(), delimiter)) + 1;
  }
  return 0;
}

IdxImages parse_idx_images(std::span<const std::uint8_t> bytes, const std::string& name,
                           float scale) {
  if (!std::isfinite(scale)) {
    throw std::invalid_argument("read_idx_images: scale must be finite, got " +
                                std::to_string(scale));
  }
  const IdxHeader header = parse_idx_header(bytes, name, kIdxImagesMagic);
  const std::size_t n = header.dims[0];
  IdxImages out;
  out.height = header.dims[1];
  out.width = header.dims[2];
  if (out.height == 0 || out.width == 0) {
    idx_error(name, out.height == 0 ? 8 : 12,
              "image size is " + std::to_string(out.height) + " x " + std::to_string(out.width) +
                  ", both dimensions must be > 0");
  }
  out.pixels = Tensor(n, out.height * out.width);
  const std::uint8_t* src = bytes.data() + header.data_offset;
  float* dst = out.pixels.data();
  for (std::size_t i = 0; i < header.count; ++i) dst[i] = static_cast<float>(src[i]) * scale;
  return out;
}

std::vector<std::int32_t> parse_idx_labels(std::span<const std::uint8_t> bytes,
                                           const std::string& name, int num_classes) {
  if (num_classes < 1 || num_classes > 256) {
    throw std::invalid_argument("read_idx_labels: num_classes must be in [1, 256], got " +
                                std::to_string(num_classes));
  }
  const IdxHeader header = parse_idx_header(bytes, name, kIdxLabelsMagic);
  std::vector<std::int32_t> labels(header.count);
  for (std::size_t i = 0; i < header.count; ++i) {
    const std::uint8_t label = bytes[header.data_offset + i];
    if (label >= num_classes) {
      idx_error(name, header.data_offset + i,
                "label " + std::to_string(label) + " of item " + std::to_string(i) +
                    " is outside [0, " + std::to_string(num_classes) + ")");
    }
    labels[i] = label;
  }
  return labels;
}

IdxImages read_idx_images(const std::string& path, float scale) {
  return parse_idx_images(read_file_bytes(path), path, scale);
}

std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes) {
  return parse_idx_labels(read_file_bytes(path), path, num_classes);
}

LabeledData read_idx(const std::string& images_path, const std::string& labels_path,
                     int num_classes, float scale) {
  IdxImages images = read_idx_images(images_path, scale);
  std::vector<std::int32_t> labels = read_idx_labels(labels_path, num_classes);
  if (images.pixels.rows() != labels.size()) {
    throw DataFileError("read_idx: inconsistent counts: " + images_path + ", byte offset 4: " +
                        std::to_string(images.pixels.rows()) + " images, but " + labels_path +
                        ", byte offset 4: " + std::to_string(labels.size()) + " labels");
  }
  return {std::move(images.pixels), std::move(labels)};
}

}  // namespace simdnn
