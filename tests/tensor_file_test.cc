// The tensor file: round trip, and every kind of bad file gives its own error and changes nothing.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <simdnn/train/tensor_file.h>

namespace simdnn {
namespace {

class TensorFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    path_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/model.simdnn";
    w_ = Tensor(3, 4);
    b_ = Tensor(1, 4);
    for (std::size_t i = 0; i < w_.size(); ++i) w_.data()[i] = 0.5f * static_cast<float>(i) - 1.0f;
    for (std::size_t i = 0; i < b_.size(); ++i) b_.data()[i] = static_cast<float>(i) + 0.25f;
    write_tensor_file(path_, {{"dense/weight", &w_}, {"dense/bias", &b_}});
  }

  std::string read_bytes() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void write_bytes(const std::string& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  // Loads into fresh tensors holding a sentinel and expects an error containing `needle`, with
  // the tensors left untouched.
  void expect_error(const std::string& needle, std::size_t w_rows = 3) {
    Tensor w(w_rows, 4), b(1, 4);
    for (std::size_t i = 0; i < w.size(); ++i) w.data()[i] = 7.0f;
    for (std::size_t i = 0; i < b.size(); ++i) b.data()[i] = 7.0f;
    try {
      read_tensor_file(path_, {{"dense/weight", &w}, {"dense/bias", &b}});
      FAIL() << "no error; expected one containing \"" << needle << "\"";
    } catch (const TensorFileError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << "message must name the file";
    }
    for (std::size_t i = 0; i < w.size(); ++i) ASSERT_EQ(w.data()[i], 7.0f) << "weight changed";
    for (std::size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b.data()[i], 7.0f) << "bias changed";
  }

  std::string path_;
  Tensor w_, b_;
};

TEST_F(TensorFileTest, RoundTrip) {
  Tensor w(3, 4), b(1, 4);
  read_tensor_file(path_, {{"dense/weight", &w}, {"dense/bias", &b}});
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_EQ(w.data()[i], w_.data()[i]);
  for (std::size_t i = 0; i < b.size(); ++i) EXPECT_EQ(b.data()[i], b_.data()[i]);
}

TEST_F(TensorFileTest, TruncatedFile) {
  const std::string bytes = read_bytes();
  write_bytes(bytes.substr(0, bytes.size() - 9));
  expect_error("file ends before");
  write_bytes(bytes.substr(0, 10));
  expect_error("too short");
}

TEST_F(TensorFileTest, BitFlipIsCaughtByCrc) {
  std::string bytes = read_bytes();
  bytes[bytes.size() - 10] ^= 0x10;  // inside the bias values
  write_bytes(bytes);
  expect_error("CRC-32 mismatch");
}

TEST_F(TensorFileTest, WrongMagicAndVersion) {
  std::string bytes = read_bytes();
  bytes[0] = 'X';
  write_bytes(bytes);
  expect_error("bad magic");
  bytes = read_bytes();
  bytes[0] = 'S';
  bytes[8] = 3;  // version 3
  write_bytes(bytes);
  expect_error("format version 3");
}

TEST_F(TensorFileTest, WrongShapeNamesBothShapes) { expect_error("is 3x4, expected 5x4", 5); }

TEST_F(TensorFileTest, MissingFile) {
  std::remove(path_.c_str());
  expect_error("cannot open");
}

TEST_F(TensorFileTest, WriteLeavesNoTemporaryAndReplacesAtomically) {
  Tensor w(3, 4);
  write_tensor_file(path_, {{"dense/weight", &w_}, {"dense/bias", &b_}});
  const std::filesystem::path file(path_);
  for (const auto& entry : std::filesystem::directory_iterator(file.parent_path())) {
    EXPECT_EQ(entry.path().filename().string().find(file.filename().string() + ".tmp."), std::string::npos)
        << "left behind: " << entry.path();
  }
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u) << "a saved model is readable by others, as any file written with 0644";
  EXPECT_THROW(write_tensor_file("/nonexistent-dir/x.simdnn", {{"w", &w}}), TensorFileError);
}

}  // namespace
}  // namespace simdnn
