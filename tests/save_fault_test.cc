// Saves under faults: a writer killed with SIGKILL at 60 points during its saves always leaves a
// whole file (the old or a new one) at the final path; a file-size limit (a full disk) gives a
// TensorFileError, not a SIGXFSZ death, and leaves the old file; leftover temporary files of
// dead writers are removed by the next save. The writer is tests/save_tool, a separate process.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <simdnn/train/tensor_file.h>

extern char** environ;

namespace simdnn {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return fs::path(dir != nullptr ? dir : "/tmp");
}

pid_t spawn(std::vector<std::string> args) {
  args.insert(args.begin(), "tests/save_tool");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0) << "cannot run " << argv[0];
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::vector<fs::path> temporaries_of(const fs::path& file) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(file.parent_path())) {
    if (entry.path().filename().string().rfind(file.filename().string() + ".tmp.", 0) == 0) out.push_back(entry.path());
  }
  return out;
}

// The file's one tensor holds its version in every value, and the metadata names the same one.
float whole_version(const fs::path& file) {
  const TensorFileContents contents = read_tensor_file(file.string());  // throws if torn
  EXPECT_EQ(contents.tensors.size(), 1u);
  const Tensor& t = contents.tensors.at(0);
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t.data()[i] != t.data()[0]) {
      ADD_FAILURE() << file << ": mixed versions at value " << i;
      break;
    }
  }
  EXPECT_NE(contents.metadata.find(std::to_string(t.data()[0])), std::string::npos) << contents.metadata;
  return t.data()[0];
}

void save_version(const fs::path& file, float version) {
  Tensor t(768, 1024);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = version;
  write_tensor_file(file.string(), {{"values", &t}}, "{\"version\": " + std::to_string(version) + "}");
}

TEST(SaveFaults, WritersKilledAtSixtyPointsLeaveAWholeFile) {
  const fs::path file = temp_dir() / "killed.simdnn";
  save_version(file, 0.0f);
  int newer = 0;
  for (int point = 0; point < 60; ++point) {
    const pid_t pid = spawn({"loop", file.string()});
    // Kill points spread over the first ~30 ms of the writer's life: before its first save,
    // inside a write, between the write and the rename, after it.
    usleep(static_cast<useconds_t>(200 + (point * 4099) % 30000));
    kill(pid, SIGKILL);
    const int status = wait_for(pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writer ended otherwise at point " << point;
    const float version = whole_version(file);
    if (version != 0.0f) ++newer;
  }
  // (How many kills fell after a completed save depends on timing; that each left a whole file
  // does not.)
  std::printf("kill points: 60, of which %d after at least one completed save\n", newer);
  save_version(file, 7.0f);  // a later save cleans up what the killed writers left
  EXPECT_TRUE(temporaries_of(file).empty()) << temporaries_of(file).size() << " temporary files left";
  EXPECT_EQ(whole_version(file), 7.0f);
}

TEST(SaveFaults, FileSizeLimitGivesAnErrorAndKeepsTheOldFile) {
  const fs::path file = temp_dir() / "limited.simdnn";
  save_version(file, 5.0f);
  const int status = wait_for(spawn({"limit", file.string(), "1000000"}));
  ASSERT_TRUE(WIFEXITED(status)) << "the writer died of signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 3) << "expected a TensorFileError";
  EXPECT_EQ(whole_version(file), 5.0f);
  EXPECT_TRUE(temporaries_of(file).empty());
}

TEST(SaveFaults, LiveWritersTemporariesAreLeftAlone) {
  const fs::path file = temp_dir() / "live.simdnn";
  const fs::path mine = temp_dir() / ("live.simdnn.tmp." + std::to_string(getpid()) + ".abcdef");
  std::FILE* f = std::fopen(mine.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  save_version(file, 1.0f);
  EXPECT_TRUE(fs::exists(mine)) << "a live process's temporary file was removed";
  fs::remove(mine);
}

}  // namespace
}  // namespace simdnn
