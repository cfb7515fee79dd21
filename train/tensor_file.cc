#include <simdnn/train/tensor_file.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace simdnn {
namespace {

constexpr char kMagic[8] = {'S', 'I', 'M', 'D', 'N', 'N', '\0', 'T'};

std::uint32_t crc32_of(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large buffers in pieces.
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const uInt piece = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(p), piece);
    p += piece;
    left -= piece;
  }
  return static_cast<std::uint32_t>(crc);
}

template <class T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// Bounds-checked little-endian reader over the file's bytes.
class Reader {
 public:
  Reader(const std::string& path, const std::string& bytes, std::size_t end)
      : path_(path), bytes_(bytes), end_(end) {}
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }
  std::string get_string(std::size_t length, const char* what) {
    need(length, what);
    std::string s = bytes_.substr(offset_, length);
    offset_ += length;
    return s;
  }
  const char* get_bytes(std::size_t length, const char* what) {
    need(length, what);
    const char* p = bytes_.data() + offset_;
    offset_ += length;
    return p;
  }
  std::size_t offset() const { return offset_; }
  [[noreturn]] void fail(const std::string& message) const {
    throw TensorFileError(path_ + ": at byte " + std::to_string(offset_) + ": " + message);
  }

 private:
  void need(std::size_t length, const char* what) const {
    if (length > end_ - offset_) {
      fail(std::string("file ends before ") + what + " (" + std::to_string(length) + " bytes needed, " +
           std::to_string(end_ - offset_) + " left)");
    }
  }
  const std::string& path_;
  const std::string& bytes_;
  std::size_t end_;
  std::size_t offset_ = 0;
};

[[noreturn]] void fail_errno(const std::string& path, const char* what) {
  throw TensorFileError(path + ": " + what + ": " + std::strerror(errno));
}

// Removes "<path>.tmp.<pid>.*" files whose writer process no longer exists: what a save killed
// mid-write (SIGKILL, a crash, a power cut) left behind. A live process's file, this one's
// included, is never touched. Best effort: errors are ignored, the save goes on.
void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::size_t dot = name.find('.', prefix.size());
    if (dot == std::string::npos || dot == prefix.size()) continue;
    const std::string digits = name.substr(prefix.size(), dot - prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const auto pid = static_cast<pid_t>(std::stol(digits));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(it->path(), ec);
  }
}

// Writes all of `bytes`; false with errno set on failure. SIGXFSZ is blocked in this thread
// meanwhile, so a file-size limit (ulimit -f) makes write() fail with EFBIG instead of killing the
// process; the pending signal that write raised is then consumed, so it is never delivered.
bool write_all(int fd, const std::string& bytes) {
  sigset_t xfsz, previous;
  sigemptyset(&xfsz);
  sigaddset(&xfsz, SIGXFSZ);
  pthread_sigmask(SIG_BLOCK, &xfsz, &previous);
  std::size_t done = 0;
  bool ok = true;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  const int saved = errno;
  if (!ok && !sigismember(&previous, SIGXFSZ)) {
    const timespec zero{0, 0};
    while (sigtimedwait(&xfsz, nullptr, &zero) == SIGXFSZ) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = ok ? 0 : (saved != 0 ? saved : EIO);
  return ok;
}

}  // namespace

void write_tensor_file(const std::string& path, const std::vector<NamedTensor>& tensors,
                       std::string_view metadata) {
  std::string out;
  out.append(kMagic, sizeof(kMagic));
  put<std::uint32_t>(out, kTensorFileVersion);
  put<std::uint64_t>(out, metadata.size());
  out.append(metadata);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(tensors.size()));
  for (const NamedTensor& t : tensors) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.name.size()));
    out += t.name;
    put<std::uint64_t>(out, t.tensor->rows());
    put<std::uint64_t>(out, t.tensor->cols());
    out.append(reinterpret_cast<const char*>(t.tensor->data()), t.tensor->size() * sizeof(float));
  }
  put<std::uint32_t>(out, crc32_of(out));

  remove_stale_temporaries(path);
  // A fresh, unpredictable name beside the target (rename() is atomic only within one file
  // system): no other writer, thread or planted link can share it. The pid in it lets a later
  // save tell a dead writer's leftover from a live one's file in progress.
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + ".XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) fail_errno(path, "cannot create a temporary file beside it");
  ::fchmod(fd, 0644);  // mkstemp's 0600 would make saved models private to their writer
  const bool written = write_all(fd, out);
  const int write_error = errno;
  const bool synced = written && ::fsync(fd) == 0;
  const int sync_error = errno;
  const bool closed = ::close(fd) == 0;  // always, even when a write or fsync failed
  if (!written || !synced || !closed) {
    const int saved = !written ? write_error : !synced ? sync_error : errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail_errno(tmp, !written ? "cannot write" : "cannot flush");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail_errno(path, "cannot replace");
  }
  // Make the rename itself durable.
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::size_t TensorFileContents::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return i;
  }
  return names.size();
}

TensorFileContents read_tensor_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail_errno(path, "cannot open");
  if (!S_ISREG(st.st_mode)) throw TensorFileError(path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_errno(path, "cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail_errno(path, "cannot read");

  constexpr std::size_t kHeader = sizeof(kMagic) + 2 * sizeof(std::uint32_t);
  if (bytes.size() < kHeader + sizeof(std::uint32_t)) {
    throw TensorFileError(path + ": " + std::to_string(bytes.size()) +
                          " bytes is too short for a simdnn tensor file (at least " +
                          std::to_string(kHeader + 4) + ")");
  }
  const std::size_t body = bytes.size() - sizeof(std::uint32_t);
  Reader r(path, bytes, body);
  if (std::memcmp(r.get_bytes(sizeof(kMagic), "the magic"), kMagic, sizeof(kMagic)) != 0) {
    throw TensorFileError(path + ": at byte 0: not a simdnn tensor file (bad magic)");
  }
  TensorFileContents file;
  file.version = r.get<std::uint32_t>("the version");
  if (file.version != 1 && file.version != 2) {
    throw TensorFileError(path + ": at byte 8: format version " + std::to_string(file.version) +
                          ", this build reads versions 1 and 2");
  }
  // 1. Structure: a truncated file fails here, naming the offset where it ends.
  if (file.version >= 2) {
    const auto length = r.get<std::uint64_t>("the metadata length");
    if (length > body - r.offset()) {
      r.fail("file ends before the " + std::to_string(length) + " bytes of metadata (truncated or corrupt)");
    }
    file.metadata = r.get_string(static_cast<std::size_t>(length), "the metadata");
  }
  struct Entry {
    std::uint64_t rows, cols;
    const char* data;
  };
  const auto count = r.get<std::uint32_t>("the entry count");
  std::vector<Entry> entries;
  for (std::uint32_t i = 0; i < count; ++i) {
    file.offsets.push_back(r.offset());
    const auto name_length = r.get<std::uint32_t>("a tensor name's length");
    std::string name = r.get_string(name_length, "a tensor name");
    Entry e;
    e.rows = r.get<std::uint64_t>("a tensor's row count");
    e.cols = r.get<std::uint64_t>("a tensor's column count");
    if (e.cols != 0 && e.rows > (body - r.offset()) / sizeof(float) / e.cols) {
      r.fail("file ends before the " + shape_string(e.rows, e.cols) + " values of tensor \"" + name +
             "\" (truncated or corrupt)");
    }
    e.data = r.get_bytes(e.rows * e.cols * sizeof(float), "a tensor's values");
    file.names.push_back(std::move(name));
    entries.push_back(e);
  }
  if (r.offset() != body) r.fail(std::to_string(body - r.offset()) + " unexpected bytes after the last tensor");
  // 2. Integrity.
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + body, sizeof(stored_crc));
  const std::uint32_t crc = crc32_of(bytes.substr(0, body));
  if (crc != stored_crc) {
    throw TensorFileError(path + ": at byte " + std::to_string(body) +
                          ": CRC-32 mismatch (file says " + std::to_string(stored_crc) +
                          ", contents give " + std::to_string(crc) + "): the file is corrupt");
  }
  for (const Entry& e : entries) {
    Tensor& t = file.tensors.emplace_back(e.rows, e.cols);
    if (t.size() != 0) std::memcpy(t.data(), e.data, t.size() * sizeof(float));
  }
  return file;
}

void read_tensor_file(const std::string& path, const std::vector<NamedTensor>& tensors) {
  TensorFileContents file = read_tensor_file(path);
  // Does it match what the caller holds?
  if (file.names.size() != tensors.size()) {
    throw TensorFileError(path + ": the file holds " + std::to_string(file.names.size()) +
                          " tensors, expected " + std::to_string(tensors.size()));
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& have = file.tensors[i];
    const NamedTensor& want = tensors[i];
    const std::string where = path + ": at byte " + std::to_string(file.offsets[i]) + ": ";
    if (file.names[i] != want.name) {
      throw TensorFileError(where + "tensor " + std::to_string(i) + " is \"" + file.names[i] +
                            "\", expected \"" + want.name + "\"");
    }
    if (have.rows() != want.tensor->rows() || have.cols() != want.tensor->cols()) {
      throw TensorFileError(where + "tensor \"" + want.name + "\" is " +
                            shape_string(have.rows(), have.cols()) + ", expected " +
                            shape_string(want.tensor->rows(), want.tensor->cols()));
    }
  }
  // Everything checked: only now touch the caller's tensors.
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (file.tensors[i].size() != 0) {
      std::memcpy(tensors[i].tensor->data(), file.tensors[i].data(), file.tensors[i].size() * sizeof(float));
    }
  }
}

}  // namespace simdnn
