// Runs `repro all --quick` and checks that every promised file exists and is well formed: each
// experiment's section is in REPORT.md, every Markdown table has its header, a separator and
// rows of the header's width (and its CSV the same shape), and every figure spec names CSV files
// and columns that exist.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/report.h"

namespace simdnn::repro {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::size_t markdown_cells(const std::string& row) {
  std::size_t bars = 0;
  for (char c : row) bars += c == '|';
  return bars == 0 ? 0 : bars - 1;
}

// A CSV's header and row count (cells are simple in repro's CSVs except quoted text).
std::vector<std::string> csv_header(const fs::path& p, std::size_t* rows) {
  const std::vector<std::string> lines = lines_of(slurp(p));
  *rows = lines.empty() ? 0 : lines.size() - 1;
  std::vector<std::string> header;
  if (lines.empty()) return header;
  // RFC 4180 cells: a quoted cell may hold commas and doubled quotes.
  std::string cell;
  bool quoted = false;
  const std::string& line = lines[0];
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      header.push_back(cell);
      cell.clear();
    } else {
      cell += c;
    }
  }
  header.push_back(cell);
  return header;
}

class ReproSmoke : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    out_ = fs::path(tmp != nullptr ? tmp : "/tmp") / "repro_smoke";
    fs::remove_all(out_);
    const std::string command = "experiments/repro all --quick --threads 2 --out '" + out_.string() + "' > '" +
                                (out_.string() + ".log") + "' 2>&1";
    status_ = std::system(command.c_str());
  }
  static fs::path out_;
  static int status_;
};
fs::path ReproSmoke::out_;
int ReproSmoke::status_ = -1;

TEST_F(ReproSmoke, RunsAndWritesEverySection) {
  ASSERT_EQ(status_, 0) << slurp(out_.string() + ".log");
  const std::string report = slurp(out_ / "REPORT.md");
  ASSERT_FALSE(report.empty());
  for (const ExperimentInfo& e : registered_experiments()) {
    EXPECT_NE(report.find("## " + e.title), std::string::npos) << "REPORT.md lacks " << e.title;
    bool has_table = false;
    for (const auto& entry : fs::directory_iterator(out_)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(e.name + "_", 0) == 0 && entry.path().extension() == ".md") has_table = true;
    }
    EXPECT_TRUE(has_table) << e.name << " wrote no table";
  }
  for (const char* field : {"Machine:", "threads", "Seed:", "Run time:"}) {
    EXPECT_NE(report.find(field), std::string::npos) << field;
  }
}

TEST_F(ReproSmoke, TablesAreWellFormedAndMatchTheirCsv) {
  ASSERT_EQ(status_, 0);
  std::size_t tables = 0;
  for (const auto& entry : fs::directory_iterator(out_)) {
    if (entry.path().extension() != ".md" || entry.path().filename() == "REPORT.md") continue;
    ++tables;
    const std::vector<std::string> lines = lines_of(slurp(entry.path()));
    std::vector<std::string> rows;
    for (const std::string& l : lines) {
      if (!l.empty() && l[0] == '|') rows.push_back(l);
    }
    ASSERT_GE(rows.size(), 3u) << entry.path() << ": header, separator and at least one row";
    const std::size_t width = markdown_cells(rows[0]);
    EXPECT_NE(rows[1].find("---"), std::string::npos) << entry.path();
    for (const std::string& r : rows) EXPECT_EQ(markdown_cells(r), width) << entry.path() << ": " << r;
    fs::path csv = entry.path();
    csv.replace_extension(".csv");
    ASSERT_TRUE(fs::exists(csv)) << csv;
    std::size_t csv_rows = 0;
    EXPECT_EQ(csv_header(csv, &csv_rows).size(), width) << csv;
    EXPECT_EQ(csv_rows, rows.size() - 2) << csv;
  }
  EXPECT_GE(tables, registered_experiments().size());
}

// The tables `repro all --quick` writes, with their data rows and columns. Fashion-MNIST's only
// exist where Debian's dataset-fashion-mnist is installed.
struct ExpectedTable {
  const char* file;
  std::size_t rows, cols;
  bool optional;
};
constexpr ExpectedTable kExpectedTables[] = {
    {"activations_ranges.md", 9, 6, false},          {"vanishing_notebook_values.md", 3, 4, false},
    {"vanishing_true_gradient.md", 6, 8, false},     {"exploding_growth.md", 3, 8, false},
    {"init_accuracy.md", 12, 7, false},               {"regularization_results.md", 10, 14, false},
    {"regularization_seeds.md", 10, 6, false},        {"dropout_expectation.md", 3, 7, false},
    {"dropout_clipping_summary.md", 6, 6, false},     {"optimizers_comparison.md", 7, 10, false},
    {"optimizers_lr_sweep.md", 7, 9, false},          {"depth_test_accuracy.md", 2, 9, false},
    {"depth_results_sgdm.md", 8, 11, false},          {"depth_results_adam.md", 8, 11, false},
    {"schedules_results.md", 9, 10, false},           {"digits_accuracy.md", 2, 7, false},
    {"digits_confusion_table.md", 10, 11, false},     {"digits_per_class.md", 10, 9, false},
    {"digits_mixup.md", 4, 7, false},                 {"digits_fashion_accuracy.md", 2, 7, true},
    {"digits_fashion_confusion_table.md", 10, 11, true}, {"digits_fashion_per_class.md", 10, 9, true},
    {"digits_fashion_mixup.md", 4, 7, true},
};

TEST_F(ReproSmoke, EveryTableHasItsRowsAndColumns) {
  ASSERT_EQ(status_, 0);
  for (const ExpectedTable& t : kExpectedTables) {
    const fs::path path = out_ / t.file;
    if (t.optional && !fs::exists(path)) continue;
    ASSERT_TRUE(fs::exists(path)) << t.file;
    std::vector<std::string> rows;
    for (const std::string& l : lines_of(slurp(path))) {
      if (!l.empty() && l[0] == '|') rows.push_back(l);
    }
    ASSERT_GE(rows.size(), 2u) << t.file;
    EXPECT_EQ(rows.size() - 2, t.rows) << t.file << ": data rows";
    EXPECT_EQ(markdown_cells(rows[0]), t.cols) << t.file << ": columns";
  }
}

TEST_F(ReproSmoke, FigureSpecsReferToExistingColumns) {
  ASSERT_EQ(status_, 0);
  for (const auto& entry : fs::directory_iterator(out_)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 10 || name.substr(name.size() - 10) != ".plot.json") continue;
    const nlohmann::json spec = nlohmann::json::parse(slurp(entry.path()));
    ASSERT_FALSE(spec["panels"].empty()) << name;
    for (const auto& panel : spec["panels"]) {
      if (panel.contains("image_csv")) EXPECT_TRUE(fs::exists(out_ / panel["image_csv"].get<std::string>())) << name;
      for (const auto& s : panel["series"]) {
        const fs::path csv = out_ / s["csv"].get<std::string>();
        ASSERT_TRUE(fs::exists(csv)) << name << " -> " << csv;
        std::size_t rows = 0;
        const std::vector<std::string> header = csv_header(csv, &rows);
        for (const char* column : {"x", "y"}) {
          const std::string c = s[column].get<std::string>();
          EXPECT_NE(std::find(header.begin(), header.end(), c), header.end()) << name << ": no column " << c << " in " << csv;
        }
        EXPECT_GT(rows, 0u) << csv;
      }
    }
  }
}

}  // namespace
}  // namespace simdnn::repro
