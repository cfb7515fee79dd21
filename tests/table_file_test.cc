// The benchmarks' configuration-table reader: comments, blank lines, errors naming file and line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "bench/table_file.h"

namespace simdnn::bench {
namespace {

struct Row {
  std::string name;
  int value = 0;
};

std::vector<Row> read(const std::string& path) {
  return read_table<Row>(path, "'name value'", [](std::istringstream& f, Row& r) {
    if (!(f >> r.name >> r.value)) return false;
    if (r.value < 0) throw std::invalid_argument("value must be >= 0");
    return true;
  });
}

std::string write(const std::string& text) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/table.txt";
  std::ofstream(path) << text;
  return path;
}

TEST(TableFile, SkipsCommentsAndBlankLines) {
  const std::vector<Row> rows = read(write("# header\n\n  \na 1  # trailing comment\nb 2\n"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "a");
  EXPECT_EQ(rows[1].value, 2);
}

TEST(TableFile, ErrorsNameTheFileTheLineAndTheFormat) {
  const std::string path = write("a 1\nb x\n");
  try {
    read(path);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: expected 'name value', got 'b x'");
  }
  try {
    read(write("c -4\n"));
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(":1: expected 'name value', got 'c -4' (value must be >= 0)"),
              std::string::npos) << e.what();
  }
  EXPECT_THROW(read("/nonexistent/table.txt"), std::runtime_error);
}

TEST(TableFile, EnvironmentOverridesThePath) {
  ::setenv("SIMDNN_TEST_TABLE", "/x.txt", 1);
  EXPECT_EQ(table_path("SIMDNN_TEST_TABLE", "default.txt"), "/x.txt");
  ::unsetenv("SIMDNN_TEST_TABLE");
  EXPECT_EQ(table_path("SIMDNN_TEST_TABLE", "default.txt"), "default.txt");
}

}  // namespace
}  // namespace simdnn::bench
