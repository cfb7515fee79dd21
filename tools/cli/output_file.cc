#include "tools/cli/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "tools/cli/cli_error.h"

namespace simdnn::cli {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& option, const std::string& path, const std::string& what, int error) {
  throw CliError(option + " " + path + ": " + what + " (" + std::strerror(error) + ")");
}

// Writes all of `text` to `fd`, retrying short writes.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view text, const std::string& option) {
  const fs::path target(path);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  // A hidden name in the same folder: rename() is atomic only within one file system.
  std::string temp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) fail(option, path, "cannot create a temporary file beside it", errno);
  temp = name.data();
  ::fchmod(fd, 0644);  // mkstemp creates 0600; an output file is an ordinary file
  const bool written = write_all(fd, text) && ::fsync(fd) == 0;
  const int error = errno;
  if (::close(fd) != 0 || !written) {
    ::unlink(temp.c_str());
    fail(option, path, "cannot write", written ? errno : error);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int rename_error = errno;
    ::unlink(temp.c_str());
    fail(option, path, "cannot rename the temporary file to it", rename_error);
  }
}

void check_output_path(const std::string& path, const std::string& option) {
  const fs::path target(path);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw CliError(option + " " + path + ": the folder " + dir.string() + " does not exist");
  }
  if (fs::is_directory(target, ec)) throw CliError(option + " " + path + ": is a folder, expected a file name");
}

std::string read_text_file(const std::string& path, const std::string& option) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw CliError(option + " " + path + ": is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(option, path, "cannot open", errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(option, path, "cannot read", errno);
  return text.str();
}

}  // namespace simdnn::cli
