#include <simdnn/data/readers.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
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

// ---- messages ----

// A file name for a message: at most 4096 bytes (PATH_MAX), then "...".
std::string shown(const std::string& name) {
  constexpr std::size_t kMax = 4096;
  return name.size() <= kMax ? name : name.substr(0, kMax) + "...";
}

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
  std::string where = shown(name) + ", line " + std::to_string(line);
  if (column != 0) where += ", column " + std::to_string(column);
  throw DataFileError("read_csv: " + where + ": " + what);
}

[[noreturn]] void idx_error(const std::string& name, std::size_t offset, const std::string& what) {
  throw DataFileError("read_idx: " + shown(name) + ", byte offset " + std::to_string(offset) + ": " +
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

std::string dims_text(const std::vector<std::uint32_t>& dims) {
  std::string out;
  for (std::size_t d = 0; d < dims.size(); ++d) out += (d ? " x " : "") + std::to_string(dims[d]);
  return out;
}

// Checks the header alone, without looking at the data: the magic, that no count is 0, and that
// the data the dimensions call for (after the header) fit in `max_bytes` bytes in all.
IdxHeader check_idx_header(std::span<const std::uint8_t> bytes, const std::string& name,
                           std::uint32_t expected_magic, std::uint64_t max_bytes) {
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
  if (header.dims[0] == 0) {
    idx_error(name, 4,
              std::string("the file holds 0 ") +
                  (expected_magic == kIdxLabelsMagic ? "labels" : "images") +
                  " (dimensions " + dims_text(header.dims) + "); the count must be > 0");
  }
  if (ndims == 3 && (header.dims[1] == 0 || header.dims[2] == 0)) {
    idx_error(name, header.dims[1] == 0 ? 8 : 12,
              "image size is " + std::to_string(header.dims[1]) + " x " +
                  std::to_string(header.dims[2]) + ", both dimensions must be > 0");
  }
  if (overflow) {
    idx_error(name, 4,
              "dimensions " + dims_text(header.dims) +
                  " call for more than 2^64 bytes of data from byte offset " +
                  std::to_string(header.data_offset));
  }
  if (count > max_bytes || header.data_offset + count > max_bytes) {
    idx_error(name, 4,
              "dimensions " + dims_text(header.dims) + " call for " + std::to_string(count) +
                  " bytes of data from byte offset " + std::to_string(header.data_offset) +
                  ", more than the read limit of " + std::to_string(max_bytes) +
                  " bytes (ReadLimits::max_bytes)");
  }
  header.count = count;
  return header;
}

[[noreturn]] void idx_trailing(const std::string& name, const IdxHeader& header,
                               std::uint64_t extra) {
  idx_error(name, header.data_offset + header.count,
            std::to_string(extra) + " trailing bytes after the " + std::to_string(header.count) +
                " bytes of data the dimensions call for");
}

// Checks the header, then the data length against it.
IdxHeader parse_idx_header(std::span<const std::uint8_t> bytes, const std::string& name,
                           std::uint32_t expected_magic) {
  IdxHeader header =
      check_idx_header(bytes, name, expected_magic, std::numeric_limits<std::uint64_t>::max());
  const std::size_t available = bytes.size() - header.data_offset;
  if (header.count > available) {
    idx_error(name, bytes.size(),
              "truncated: dimensions " + dims_text(header.dims) + " call for " +
                  std::to_string(header.count) + " bytes of data from byte offset " +
                  std::to_string(header.data_offset) + ", the file has " +
                  std::to_string(available));
  }
  if (header.count < available) idx_trailing(name, header, available - header.count);
  return header;
}

// ---- files ----

std::string file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A regular file opened for reading, whose data come out decompressed if it is gzip (it starts
// with 1f 8b). Concatenated gzip members are read one after the other; anything else after a
// member is an error. read() gives fewer bytes than asked only at the end of the data, after
// the end was checked.
class FileSource {
 public:
  explicit FileSource(const std::string& path) : path_(path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) cannot_open(errno);
    if (!S_ISREG(st.st_mode)) not_regular(st.st_mode);
    do {
      fd_.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    } while (fd_.fd < 0 && errno == EINTR);
    if (fd_.fd < 0) cannot_open(errno);
    // Checked again on what was opened: the path may have changed in between.
    if (::fstat(fd_.fd, &st) != 0) cannot_open(errno);
    if (!S_ISREG(st.st_mode)) not_regular(st.st_mode);
    const int flags = ::fcntl(fd_.fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd_.fd, F_SETFL, flags & ~O_NONBLOCK);
    file_size_ = static_cast<std::uint64_t>(st.st_size);
    in_.resize(std::size_t{1} << 16);
    while (avail_ < 2 && fill() > 0) {
    }
    gzip_ = avail_ >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
    if (gzip_) {
      if (inflateInit2(&strm_, 15 + 16) != Z_OK) {  // 16: gzip wrapper only
        throw DataFileError("read: " + shown(path_) + ": cannot start zlib (out of memory)");
      }
      inflating_ = true;
    }
  }
  ~FileSource() {
    if (inflating_) inflateEnd(&strm_);
  }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  bool gzip() const { return gzip_; }
  std::uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }

  std::size_t read(std::uint8_t* out, std::size_t n) {
    return gzip_ ? read_gzip(out, n) : read_plain(out, n);
  }

 private:
  [[noreturn]] void cannot_open(int error) const {
    throw DataFileError("read: " + shown(path_) + ": cannot open (" + std::strerror(error) + ")");
  }
  [[noreturn]] void not_regular(mode_t mode) const {
    throw DataFileError("read: " + shown(path_) + ": not a regular file (" + file_type(mode) +
                        "); only regular files are read");
  }
  [[noreturn]] void cannot_read(int error) const {
    throw DataFileError("read: " + shown(path_) + ", byte offset " + std::to_string(raw_offset()) +
                        " of the file: cannot read (" + std::strerror(error) + ")");
  }
  [[noreturn]] void gzip_error(const std::string& what) const {
    throw DataFileError("read: " + shown(path_) + ", byte offset " + std::to_string(delivered_) +
                        " (decompressed), byte offset " + std::to_string(raw_offset()) +
                        " of the file: " + what);
  }

  // The offset in the file of the next byte not yet consumed.
  std::uint64_t raw_offset() const { return raw_read_ - avail_; }

  // Reads more of the file after the unconsumed bytes; returns how many (0 at its end).
  std::size_t fill() {
    if (pos_ > 0) {
      std::memmove(in_.data(), in_.data() + pos_, avail_);
      pos_ = 0;
    }
    const std::size_t got = raw_read(in_.data() + avail_, in_.size() - avail_);
    avail_ += got;
    return got;
  }

  std::size_t raw_read(std::uint8_t* out, std::size_t n) {
    if (n == 0) return 0;
    ssize_t got = 0;
    do {
      got = ::read(fd_.fd, out, n);
    } while (got < 0 && errno == EINTR);
    if (got < 0) cannot_read(errno);
    raw_read_ += static_cast<std::uint64_t>(got);
    return static_cast<std::size_t>(got);
  }

  std::size_t read_plain(std::uint8_t* out, std::size_t n) {
    std::size_t done = std::min(avail_, n);
    std::memcpy(out, in_.data() + pos_, done);
    pos_ += done;
    avail_ -= done;
    while (done < n) {
      const std::size_t got = raw_read(out + done, n - done);
      if (got == 0) break;
      done += got;
    }
    delivered_ += done;
    return done;
  }

  std::size_t read_gzip(std::uint8_t* out, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      if (member_ended_) {
        while (avail_ < 2 && fill() > 0) {
        }
        if (avail_ == 0) break;  // the end of the last member is the end of the file
        if (avail_ < 2 || in_[pos_] != 0x1f || in_[pos_ + 1] != 0x8b) {
          const std::uint64_t rest = file_size_ > raw_offset() ? file_size_ - raw_offset() : avail_;
          throw DataFileError("read: " + shown(path_) + ", byte offset " +
                              std::to_string(raw_offset()) + " of the file: " +
                              std::to_string(rest) +
                              " trailing bytes after the gzip data are not a gzip member (at "
                              "byte offset " + std::to_string(delivered_) + " of the decompressed "
                              "data)");
        }
        if (inflateReset(&strm_) != Z_OK) gzip_error("cannot restart zlib");
        member_ended_ = false;
      }
      if (avail_ == 0 && fill() == 0) {
        gzip_error("unexpected end of file: the gzip data are truncated");
      }
      const std::size_t want = std::min<std::size_t>(n - done, 1u << 30);
      strm_.next_in = in_.data() + pos_;
      strm_.avail_in = static_cast<uInt>(avail_);
      strm_.next_out = out + done;
      strm_.avail_out = static_cast<uInt>(want);
      const int ret = inflate(&strm_, Z_NO_FLUSH);
      const std::size_t produced = want - strm_.avail_out;
      done += produced;
      delivered_ += produced;
      pos_ = static_cast<std::size_t>(strm_.next_in - in_.data());
      avail_ = strm_.avail_in;
      if (ret == Z_STREAM_END) {
        member_ended_ = true;
      } else if (ret != Z_OK) {
        gzip_error(std::string("corrupt gzip data (") +
                   (strm_.msg != nullptr ? strm_.msg : "zlib error " + std::to_string(ret)) + ")");
      }
    }
    return done;
  }

  std::string path_;
  Fd fd_;
  std::uint64_t file_size_ = 0;
  std::vector<std::uint8_t> in_;  // read from the file, not yet consumed: [pos_, pos_ + avail_)
  std::size_t pos_ = 0;
  std::size_t avail_ = 0;
  std::uint64_t raw_read_ = 0;   // bytes read from the file
  std::uint64_t delivered_ = 0;  // bytes given out by read()
  bool gzip_ = false;
  bool inflating_ = false;
  bool member_ended_ = false;
  z_stream strm_{};
};

[[noreturn]] void over_limit(const std::string& path, std::uint64_t max_bytes) {
  throw DataFileError("read: " + shown(path) + ", byte offset " + std::to_string(max_bytes) +
                      " (decompressed): the data go on past the read limit of " +
                      std::to_string(max_bytes) + " bytes (ReadLimits::max_bytes)");
}

// A plain file larger than the limit is refused before it is read.
void check_plain_size(const FileSource& src, std::uint64_t max_bytes) {
  if (!src.gzip() && src.file_size() > max_bytes) {
    throw DataFileError("read: " + shown(src.path()) + ": the file has " +
                        std::to_string(src.file_size()) + " bytes, more than the read limit of " +
                        std::to_string(max_bytes) + " bytes (ReadLimits::max_bytes)");
  }
}

// Appends data from `src` to `bytes` until it holds `target` bytes or the data end. The buffer
// grows geometrically, never past `target` (nor, for a plain file, past its size).
void read_into(FileSource& src, std::vector<std::uint8_t>& bytes, std::size_t target) {
  if (!src.gzip() && bytes.capacity() < target) {
    const std::uint64_t wanted = std::min<std::uint64_t>(src.file_size() + 1, target);
    bytes.reserve(std::max<std::size_t>(bytes.size(), static_cast<std::size_t>(wanted)));
  }
  while (bytes.size() < target) {
    if (bytes.size() == bytes.capacity()) {
      const std::size_t cap = bytes.capacity();
      const std::size_t grown = cap > target / 2 ? target : std::max<std::size_t>(2 * cap, 1 << 16);
      bytes.reserve(std::min(grown, target));
    }
    const std::size_t old = bytes.size();
    const std::size_t room = std::min(bytes.capacity(), target) - old;
    bytes.resize(old + room);
    const std::size_t got = src.read(bytes.data() + old, room);
    bytes.resize(old + got);
    if (got < room) return;
  }
}

// Reads the rest of the data without keeping it; returns how many bytes there were. Throws
// when `already` + those go past `max_bytes`.
std::uint64_t count_rest(FileSource& src, std::uint64_t already, std::uint64_t max_bytes) {
  std::vector<std::uint8_t> scratch(std::size_t{1} << 16);
  std::uint64_t extra = 0;
  for (;;) {
    const std::size_t got = src.read(scratch.data(), scratch.size());
    extra += got;
    if (already + extra > max_bytes) over_limit(src.path(), max_bytes);
    if (got < scratch.size()) return extra;
  }
}

std::size_t size_limit(std::uint64_t max_bytes) {
  return static_cast<std::size_t>(
      std::min<std::uint64_t>(max_bytes, std::numeric_limits<std::size_t>::max() - 1));
}

// The bytes of an IDX file with the given magic, its header checked before the body is read and
// at most as much body read as the header calls for. A short file comes back short (parse_idx_*
// report it as truncated); a longer one is an error here.
std::vector<std::uint8_t> read_idx_file(const std::string& path, std::uint32_t magic,
                                        const ReadLimits& limits) {
  FileSource src(path);
  check_plain_size(src, limits.max_bytes);
  std::vector<std::uint8_t> bytes;
  const std::size_t header_size = 4 + 4 * (magic & 0xff);
  read_into(src, bytes, header_size);
  if (bytes.size() > limits.max_bytes) over_limit(path, limits.max_bytes);
  if (bytes.size() < header_size) return bytes;
  const IdxHeader header = check_idx_header(bytes, path, magic, limits.max_bytes);
  const std::size_t total = header.data_offset + header.count;  // <= max_bytes
  read_into(src, bytes, total);
  if (bytes.size() == total) {
    const std::uint64_t extra = count_rest(src, total, limits.max_bytes);
    if (extra > 0) idx_trailing(path, header, extra);
  }
  return bytes;
}

}  // namespace

std::vector<std::uint8_t> read_file_bytes(const std::string& path, const ReadLimits& limits) {
  FileSource src(path);
  check_plain_size(src, limits.max_bytes);
  std::vector<std::uint8_t> bytes;
  read_into(src, bytes, size_limit(limits.max_bytes));
  if (bytes.size() == limits.max_bytes) {
    std::uint8_t probe = 0;
    if (src.read(&probe, 1) != 0) over_limit(path, limits.max_bytes);
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
    throw std::invalid_argument("read_csv: label_name " + quoted(options.label_name) +
                                " needs a header (header = true)");
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
      throw std::invalid_argument("read_csv: class_names holds " + quoted(c) + " twice");
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
      throw DataFileError("read_csv: " + shown(name_) + ", line " + std::to_string(line_number_) +
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

LabeledData read_csv(const std::string& path, const CsvOptions& options,
                     const ReadLimits& limits) {
  check_csv_options(options);  // before reading a file the options could never parse
  return parse_csv(as_text(read_file_bytes(path, limits)), path, options);
}

Tensor parse_csv_features(std::string_view text, const std::string& name,
                          const CsvOptions& options) {
  check_csv_options(options);
  return CsvParser(text, name, options, false).run().features;
}

Tensor read_csv_features(const std::string& path, const CsvOptions& options,
                         const ReadLimits& limits) {
  check_csv_options(options);
  return parse_csv_features(as_text(read_file_bytes(path, limits)), path, options);
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

IdxImages read_idx_images(const std::string& path, float scale, const ReadLimits& limits) {
  if (!std::isfinite(scale)) {
    throw std::invalid_argument("read_idx_images: scale must be finite, got " +
                                std::to_string(scale));
  }
  return parse_idx_images(read_idx_file(path, kIdxImagesMagic, limits), path, scale);
}

std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes,
                                          const ReadLimits& limits) {
  if (num_classes < 1 || num_classes > 256) {
    throw std::invalid_argument("read_idx_labels: num_classes must be in [1, 256], got " +
                                std::to_string(num_classes));
  }
  return parse_idx_labels(read_idx_file(path, kIdxLabelsMagic, limits), path, num_classes);
}

LabeledData read_idx(const std::string& images_path, const std::string& labels_path,
                     int num_classes, float scale, const ReadLimits& limits) {
  IdxImages images = read_idx_images(images_path, scale, limits);
  std::vector<std::int32_t> labels = read_idx_labels(labels_path, num_classes, limits);
  if (images.pixels.rows() != labels.size()) {
    throw DataFileError("read_idx: inconsistent counts: " + shown(images_path) +
                        ", byte offset 4: " + std::to_string(images.pixels.rows()) +
                        " images, but " + shown(labels_path) +
                        ", byte offset 4: " + std::to_string(labels.size()) + " labels");
  }
  return {std::move(images.pixels), std::move(labels)};
}

}  // namespace simdnn
