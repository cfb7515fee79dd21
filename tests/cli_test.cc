// The simdnn command-line tool (//tools/cli:simdnn) end to end: train → evaluate (text and JSON)
// → predict → info on a small CSV with text labels, the numeric-label and IDX paths, and every
// kind of bad input, each of which must exit 2 with exactly one line on stderr and leave no
// output file. Files are written under $TEST_TMPDIR.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const char* const kSpecies[] = {"setosa", "versicolor", "virginica"};

fs::path tmp_dir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return fs::path(dir != nullptr ? dir : "/tmp") / "cli_test";
}

std::string path_of(const std::string& name) { return (tmp_dir() / name).string(); }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> split(const std::string& line, char sep = ',') {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string cell; std::getline(in, cell, sep);) out.push_back(cell);
  return out;
}

// Three well-separated Gaussian blobs in 3-D, one per species, `n` rows in class order 0, 1, 2, ...
std::string blobs_csv(std::size_t n, unsigned seed) {
  const double centers[3][3] = {{0, 0, 0}, {5, 5, 0}, {0, 5, 5}};
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.7);
  std::ostringstream csv;
  csv << "x1,x2,x3,species\n";
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = i % 3;
    for (std::size_t j = 0; j < 3; ++j) csv << centers[c][j] + noise(rng) << ",";
    csv << kSpecies[c] << "\n";
  }
  return csv.str();
}

struct Result {
  int code = -1;
  std::string out, err;
};

// Runs the tool (Bazel puts it at this path below the test's working directory, as
// repro_smoke_test finds //experiments:repro) with `args`, capturing stdout and stderr.
Result run(const std::string& args) {
  const std::string out = path_of("stdout.txt"), err = path_of("stderr.txt");
  const std::string command = "SIMDNN_NUM_THREADS=2 tools/cli/simdnn " + args + " > '" + out + "' 2> '" + err + "'";
  const int status = std::system(command.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string q(const std::string& name) { return "'" + path_of(name) + "'"; }

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(tmp_dir());
    fs::create_directories(tmp_dir());
    write_file(path_of("train.csv"), blobs_csv(150, 1));
    write_file(path_of("test.csv"), blobs_csv(60, 2));
    write_file(path_of("spec.json"), R"({"type": "mlp", "inputs": 3, "hidden": [16], "outputs": 3, "seed": 7})");
    train_ = run("train --model " + q("spec.json") + " --data " + q("train.csv") +
                 " --val-split 0.2 --optimizer adam --lr 0.01 --epochs 60 --batch 16 --early-stopping 10"
                 " --seed 3 --out " + q("model.simdnn"));
  }
  static Result train_;
};
Result Cli::train_;

TEST_F(Cli, TrainWritesTheModelAndOneLinePerEpoch) {
  ASSERT_EQ(train_.code, 0) << train_.err;
  EXPECT_TRUE(fs::exists(path_of("model.simdnn")));
  EXPECT_TRUE(train_.out.empty());
  const std::vector<std::string> lines = lines_of(train_.err);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("epoch 1/60 loss ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(" val_loss "), std::string::npos) << lines[0];
  EXPECT_NE(lines.back().find("setosa, versicolor, virginica"), std::string::npos) << lines.back();
  // No temporary file is left beside the model.
  for (const auto& entry : fs::directory_iterator(tmp_dir())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST_F(Cli, EvaluatePrintsAccuracyAndTables) {
  ASSERT_EQ(train_.code, 0) << train_.err;
  const Result r = run("evaluate --model " + q("model.simdnn") + " --data " + q("test.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  double accuracy = -1;
  for (const std::string& line : lines_of(r.out)) {
    if (line.rfind("accuracy: ", 0) == 0) accuracy = std::stod(line.substr(10));
  }
  EXPECT_GE(accuracy, 0.9) << r.out;
  EXPECT_NE(r.out.find("log_loss: "), std::string::npos);
  EXPECT_NE(r.out.find("true\\pred"), std::string::npos);  // the confusion matrix
  EXPECT_NE(r.out.find("precision    recall  f1-score   support"), std::string::npos);
  EXPECT_NE(r.out.find("versicolor"), std::string::npos);
}

TEST_F(Cli, EvaluateJsonIsOneObject) {
  ASSERT_EQ(train_.code, 0) << train_.err;
  const Result r = run("evaluate --model " + q("model.simdnn") + " --data " + q("test.csv") + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(lines_of(r.out).size(), 1u) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_GE(j.at("accuracy").get<double>(), 0.9);
  EXPECT_GE(j.at("log_loss").get<double>(), 0.0);
  EXPECT_LT(j.at("log_loss").get<double>(), 0.5);
  EXPECT_EQ(j.at("samples").get<int>(), 60);
  EXPECT_EQ(j.at("classes"), nlohmann::json({"setosa", "versicolor", "virginica"}));
  std::size_t total = 0;
  for (const auto& row : j.at("confusion_matrix")) {
    for (const auto& count : row) total += count.get<std::size_t>();
  }
  EXPECT_EQ(total, 60u);
  ASSERT_EQ(j.at("per_class").size(), 3u);
  EXPECT_EQ(j.at("per_class")[1].at("class"), "versicolor");
  EXPECT_EQ(j.at("per_class")[1].at("support").get<int>(), 20);
}

void expect_predictions(const std::string& csv, std::size_t rows) {
  const std::vector<std::string> lines = lines_of(csv);
  ASSERT_EQ(lines.size(), rows + 1) << csv;
  EXPECT_EQ(lines[0], "class,p_setosa,p_versicolor,p_virginica");
  std::size_t right = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> cells = split(lines[i]);
    ASSERT_EQ(cells.size(), 4u) << lines[i];
    EXPECT_TRUE(cells[0] == "setosa" || cells[0] == "versicolor" || cells[0] == "virginica") << cells[0];
    right += cells[0] == kSpecies[(i - 1) % 3];
    double sum = 0;
    for (std::size_t c = 1; c < 4; ++c) sum += std::stod(cells[c]);
    EXPECT_NEAR(sum, 1.0, 1e-5) << lines[i];
  }
  EXPECT_GE(static_cast<double>(right), 0.9 * static_cast<double>(rows));
}

TEST_F(Cli, PredictWritesClassNamesAndProbabilities) {
  ASSERT_EQ(train_.code, 0) << train_.err;
  // The file has a label column (one more than the model's inputs): it is read past.
  Result r = run("predict --model " + q("model.simdnn") + " --data " + q("test.csv") + " --out " + q("pred.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  expect_predictions(slurp(path_of("pred.csv")), 60);
  // Without a label column, to stdout.
  std::string features = "x1,x2,x3\n";
  for (const std::string& line : lines_of(slurp(path_of("test.csv")))) {
    if (line.rfind("x1", 0) != 0) features += line.substr(0, line.rfind(',')) + "\n";
  }
  write_file(path_of("features.csv"), features);
  r = run("predict --model " + q("model.simdnn") + " --data " + q("features.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  expect_predictions(r.out, 60);
  EXPECT_EQ(r.out, slurp(path_of("pred.csv")));
}

TEST_F(Cli, InfoDescribesTheModel) {
  ASSERT_EQ(train_.code, 0) << train_.err;
  const Result r = run("info " + q("model.simdnn"));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* part : {"architecture: {", "\"hidden\":[16]", "input width: 3", "outputs: 3",
                           "output kind: class_logits", "classes: setosa, versicolor, virginica",
                           "scaler: yes", "parameters: 115 in 4 tensors", "optimizer state: no"}) {
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  }
}

TEST_F(Cli, HelpExitsZero) {
  Result r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("train"), std::string::npos);
  r = run("train --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--val-split"), std::string::npos);
}

// Numeric labels in the first column, no header, a binary model; --with-optimizer.
TEST_F(Cli, NumericLabelsWithoutHeaderBinary) {
  std::string csv;
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 0.5);
  for (int i = 0; i < 80; ++i) csv += std::to_string(i % 2) + "," + std::to_string((i % 2) * 4 + noise(rng)) + "," + std::to_string(noise(rng)) + "\n";
  write_file(path_of("binary.csv"), csv);
  write_file(path_of("binary.json"), R"({"type": "mlp", "inputs": 2, "hidden": [8], "outputs": 1})");
  Result r = run("train --quiet --model " + q("binary.json") + " --data " + q("binary.csv") +
                 " --no-header --label 0 --optimizer sgd --lr 0.1 --epochs 30 --with-optimizer --out " + q("binary.simdnn"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;  // --quiet
  r = run("evaluate --json --model " + q("binary.simdnn") + " --data " + q("binary.csv") + " --no-header --label 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GE(nlohmann::json::parse(r.out).at("accuracy").get<double>(), 0.9);
  r = run("predict --model " + q("binary.simdnn") + " --data " + q("binary.csv") + " --no-header --label 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).at(0), "class,p_0,p_1");
  EXPECT_EQ(lines_of(r.out).size(), 81u);
  r = run("info " + q("binary.simdnn"));
  EXPECT_NE(r.out.find("output kind: binary_logit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("optimizer state: yes (sgd"), std::string::npos) << r.out;
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

// IDX images (gzipped) and labels: 2x2 images, class 1 bright on the left, class 0 on the right.
TEST_F(Cli, IdxImagesAndLabels) {
  constexpr std::uint32_t kN = 60;
  std::string images = be32(0x803) + be32(kN) + be32(2) + be32(2), labels = be32(0x801) + be32(kN);
  for (std::uint32_t i = 0; i < kN; ++i) {
    const bool left = i % 2 == 1;
    const char bright = static_cast<char>(200 + i % 50), dark = static_cast<char>(i % 40);
    images += std::string{left ? bright : dark, left ? dark : bright, left ? bright : dark, left ? dark : bright};
    labels += static_cast<char>(i % 2);
  }
  write_gz(path_of("images.idx.gz"), images);
  write_file(path_of("labels.idx"), labels);
  write_file(path_of("idx.json"), R"({"type": "mlp", "inputs": 4, "hidden": [8], "outputs": 2})");
  Result r = run("train --quiet --model " + q("idx.json") + " --data " + q("images.idx.gz") + " --labels " +
                 q("labels.idx") + " --lr 0.05 --epochs 40 --out " + q("idx.simdnn"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("evaluate --json --model " + q("idx.simdnn") + " --data " + q("images.idx.gz") + " --labels " + q("labels.idx"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GE(nlohmann::json::parse(r.out).at("accuracy").get<double>(), 0.9);
  r = run("predict --model " + q("idx.simdnn") + " --data " + q("images.idx.gz"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).size(), kN + 1);
  // IDX images without their labels.
  r = run("evaluate --model " + q("idx.simdnn") + " --data " + q("images.idx.gz"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--labels"), std::string::npos) << r.err;
}

// ---- bad input: exit 2, one line on stderr naming the file or option, no output file ----

struct BadCase {
  const char* name;
  std::string args;
  std::string output;    // the file the command would write ("" for none)
  std::string mentions;  // a part the message must contain
};

void expect_bad_input(const BadCase& c) {
  if (!c.output.empty()) fs::remove(path_of(c.output));
  const Result r = run(c.args);
  EXPECT_EQ(r.code, 2) << c.name << ": " << r.err;
  const std::vector<std::string> lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << c.name << ": stderr is\n" << r.err;
  EXPECT_EQ(r.err.back(), '\n') << c.name;
  EXPECT_EQ(lines[0].rfind("simdnn", 0), 0u) << c.name << ": " << lines[0];
  EXPECT_NE(lines[0].find(c.mentions), std::string::npos) << c.name << ": \"" << lines[0] << "\" lacks \"" << c.mentions << "\"";
  EXPECT_TRUE(r.out.empty()) << c.name << ": stdout is\n" << r.out;
  if (!c.output.empty()) {
    EXPECT_FALSE(fs::exists(path_of(c.output))) << c.name << " left " << c.output;
  }
  for (const auto& entry : fs::directory_iterator(tmp_dir())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << c.name << " left " << entry.path();
  }
}

TEST_F(Cli, BadTrainingInputExitsTwoWithOneLineAndNoFile) {
  write_file(path_of("bad.json"), R"({"type": "mlp", "inputs": 3, "hidden": [16], "outputs": )");
  write_file(path_of("wide.json"), R"({"type": "mlp", "inputs": 5, "hidden": [16], "outputs": 3})");
  write_file(path_of("two.json"), R"({"type": "mlp", "inputs": 3, "hidden": [16], "outputs": 2})");
  fs::create_directories(tmp_dir() / "folder.json");
  const std::string base = "train --model " + q("spec.json") + " --data " + q("train.csv") + " --out " + q("bad.simdnn");
  const std::string with_data = " --data " + q("train.csv") + " --out " + q("bad.simdnn");
  const BadCase cases[] = {
      {"missing data file", "train --model " + q("spec.json") + " --data " + q("missing.csv") + " --out " + q("bad.simdnn"),
       "bad.simdnn", "missing.csv: cannot open"},
      {"missing spec", "train --model " + q("missing.json") + with_data, "bad.simdnn", "--model"},
      {"spec is a folder", "train --model " + q("folder.json") + with_data, "bad.simdnn", "folder.json"},
      {"bad JSON spec", "train --model " + q("bad.json") + with_data, "bad.simdnn", "bad.json: model spec: not valid JSON"},
      {"data width", "train --model " + q("wide.json") + with_data, "bad.simdnn", "train.csv: 4 columns, the model takes 5 inputs"},
      {"classes", "train --model " + q("two.json") + with_data, "bad.simdnn", "3 classes (setosa, versicolor, virginica)"},
      {"negative lr", base + " --lr -0.01", "bad.simdnn", "--lr -0.01"},
      {"zero lr", base + " --lr=0", "bad.simdnn", "--lr 0"},
      {"unknown optimizer", base + " --optimizer lbfgs", "bad.simdnn", "--optimizer lbfgs"},
      {"val-split 0", base + " --val-split 0", "bad.simdnn", "--val-split 0"},
      {"val-split 1", base + " --val-split 1", "bad.simdnn", "--val-split 1"},
      {"val-split negative", base + " --val-split=-0.5", "bad.simdnn", "--val-split -0.5"},
      {"val and val-split", base + " --val " + q("test.csv") + " --val-split 0.2", "bad.simdnn", "--val"},
      {"epochs 0", base + " --epochs 0", "bad.simdnn", "--epochs"},
      {"epochs not a number", base + " --epochs many", "bad.simdnn", "--epochs"},
      {"early stopping without validation", base + " --early-stopping 5", "bad.simdnn", "--early-stopping"},
      {"missing --data", "train --model " + q("spec.json") + " --out " + q("bad.simdnn"), "bad.simdnn", "--data"},
      {"missing --out", "train --model " + q("spec.json") + " --data " + q("train.csv"), "", "--out"},
      {"unknown label column", base + " --label kind", "bad.simdnn", "no column named \"kind\""},
      {"label name without header", base + " --label species --no-header", "bad.simdnn", "--label species"},
      {"out folder missing", "train --model " + q("spec.json") + " --data " + q("train.csv") + " --out " + q("nowhere/m.simdnn"),
       "", "nowhere"},
      {"unknown option", base + " --colour red", "bad.simdnn", "--colour"},
  };
  for (const BadCase& c : cases) expect_bad_input(c);
}

TEST_F(Cli, BadEvaluatePredictInfoInputExitsTwo) {
  ASSERT_EQ(train_.code, 0) << train_.err;
  std::string unknown = slurp(path_of("test.csv"));
  unknown.replace(unknown.rfind("virginica"), 9, "daisy");
  write_file(path_of("unknown.csv"), unknown);
  write_file(path_of("narrow.csv"), "x1,x2\n1,2\n3,4\n");
  write_file(path_of("corrupt.simdnn"), slurp(path_of("model.simdnn")).substr(0, 100));
  std::string flipped = slurp(path_of("model.simdnn"));
  flipped[flipped.size() / 2] ^= 0x40;
  write_file(path_of("flipped.simdnn"), flipped);
  const std::string model = " --model " + q("model.simdnn");
  const BadCase cases[] = {
      {"unknown label", "evaluate" + model + " --data " + q("unknown.csv"), "", "label \"daisy\" is not one of the 3 classes"},
      {"evaluate width", "evaluate" + model + " --data " + q("narrow.csv"), "", "narrow.csv: 2 columns"},
      {"predict width", "predict" + model + " --data " + q("narrow.csv") + " --out " + q("bad.csv"), "bad.csv", "narrow.csv: 2 columns"},
      {"predict missing data", "predict" + model + " --data " + q("missing.csv") + " --out " + q("bad.csv"), "bad.csv", "missing.csv"},
      {"corrupt model (evaluate)", "evaluate --model " + q("corrupt.simdnn") + " --data " + q("test.csv"), "", "corrupt.simdnn"},
      {"corrupt model (predict)", "predict --model " + q("corrupt.simdnn") + " --data " + q("test.csv") + " --out " + q("bad.csv"),
       "bad.csv", "corrupt.simdnn"},
      {"corrupt model (info)", "info " + q("corrupt.simdnn"), "", "corrupt.simdnn"},
      {"flipped byte", "info " + q("flipped.simdnn"), "", "flipped.simdnn"},
      {"spec given as model", "evaluate --model " + q("spec.json") + " --data " + q("test.csv"), "", "spec.json"},
      {"missing model", "info " + q("missing.simdnn"), "", "missing.simdnn"},
      {"info without model", "info", "", "model"},
      {"evaluate without --model", "evaluate --data " + q("test.csv"), "", "--model"},
      {"unknown subcommand", "frobnicate --data x", "", "frobnicate"},
      {"no subcommand", "", "", "command"},
  };
  for (const BadCase& c : cases) expect_bad_input(c);
}

// A failed predict leaves an existing output file as it was.
TEST_F(Cli, FailedPredictKeepsTheOldFile) {
  ASSERT_EQ(train_.code, 0) << train_.err;
  write_file(path_of("keep.csv"), "old\n");
  const Result r = run("predict --model " + q("model.simdnn") + " --data " + q("missing.csv") + " --out " + q("keep.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(slurp(path_of("keep.csv")), "old\n");
}

}  // namespace
