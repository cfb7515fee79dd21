#include <simdnn/data/readers.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <system_error>

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

LabeledData parse_csv(std::string_view text, const std::string& name, const CsvOptions& options) {
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
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  bool header_pending = options.header;
  std::size_t columns = 0;     // 0 until the first row (or header) sets it
  std::size_t width_line = 0;  // the line that set it
  std::size_t label_column = 0;
  std::size_t line_number = 0;
  std::size_t last_line = 0;
  std::vector<std::string_view> cells;
  std::vector<float> features;
  std::vector<std::int32_t> labels;

  const auto set_width = [&](std::size_t n) {
    columns = n;
    width_line = line_number;
    if (columns < 2) {
      csv_error(name, line_number, 0,
                "1 column; need at least one feature column and a label column");
    }
    label_column = options.label_column < 0 ? columns - 1
                                            : static_cast<std::size_t>(options.label_column);
    if (label_column >= columns) {
      csv_error(name, line_number, 0,
                "label_column is " + std::to_string(options.label_column) + " but the row has " +
                    std::to_string(columns) + " columns");
    }
  };

  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    last_line = line_number;
    split_cells(line, options.delimiter, cells);
    if (header_pending) {
      header_pending = false;
      set_width(cells.size());
      continue;
    }
    if (columns == 0) {
      set_width(cells.size());
    } else if (cells.size() != columns) {
      const std::string counts = "the row has " + std::to_string(cells.size()) +
                                 " columns, expected " + std::to_string(columns) + " (as on line " +
                                 std::to_string(width_line) + ")";
      if (cells.size() < columns) {
        csv_error(name, line_number, cells.size() + 1, "missing cell: " + counts);
      }
      csv_error(name, line_number, columns + 1, "extra cell: " + counts);
    }
    for (std::size_t c = 0; c < columns; ++c) {
      if (c == label_column) {
        double value = 0;
        std::string why = parse_number(cells[c], value);
        if (!why.empty()) csv_error(name, line_number, c + 1, "label: " + why);
        if (value != std::floor(value)) {
          csv_error(name, line_number, c + 1,
                    "label " + quoted(cells[c]) + " is not an integer");
        }
        const double limit = options.num_classes > 0
                                 ? static_cast<double>(options.num_classes)
                                 : static_cast<double>(std::numeric_limits<std::int32_t>::max()) +
                                       1.0;
        if (value < 0 || value >= limit) {
          csv_error(name, line_number, c + 1,
                    "label " + quoted(cells[c]) + " is outside [0, " +
                        (options.num_classes > 0 ? std::to_string(options.num_classes)
                                                 : std::string("2^31")) +
                        ")");
        }
        labels.push_back(static_cast<std::int32_t>(value));
      } else {
        float value = 0;
        std::string why = parse_number(cells[c], value);
        if (!why.empty()) csv_error(name, line_number, c + 1, why);
        features.push_back(value);
      }
    }
  }
  if (labels.empty()) {
    if (columns != 0) {
      csv_error(name, last_line, 0, "empty file: only a header, no data rows");
    }
    throw DataFileError("read_csv: " + name + ", line " + std::to_string(line_number) +
                        ": empty file: no data rows");
  }

  LabeledData out;
  out.features = Tensor(labels.size(), columns - 1);
  std::copy(features.begin(), features.end(), out.features.data());
  out.labels = std::move(labels);
  return out;
}

LabeledData read_csv(const std::string& path, const CsvOptions& options) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  return parse_csv(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path, options);
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
