#include "experiments/report.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace simdnn::repro {

void Table::add_row(std::vector<std::string> cells) {
  if (cells.size() != columns_.size()) {
    throw std::invalid_argument("Table::add_row: expected " + std::to_string(columns_.size()) + " cells, got " +
                                std::to_string(cells.size()));
  }
  rows_.push_back(std::move(cells));
}

std::string Table::markdown() const {
  std::ostringstream out;
  out << "|";
  for (const auto& c : columns_) out << " " << c << " |";
  out << "\n|";
  for (std::size_t i = 0; i < columns_.size(); ++i) out << (i == 0 ? " --- |" : " ---: |");
  out << "\n";
  for (const auto& row : rows_) {
    out << "|";
    for (const auto& cell : row) out << " " << cell << " |";
    out << "\n";
  }
  return out.str();
}

namespace {
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

std::string Table::csv() const {
  std::ostringstream out;
  for (std::size_t i = 0; i < columns_.size(); ++i) out << (i ? "," : "") << csv_cell(columns_[i]);
  out << "\n";
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << csv_cell(row[i]);
    out << "\n";
  }
  return out.str();
}

std::string fmt(double value, int digits) {
  if (std::isnan(value)) return "–";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, value);
  return buffer;
}

std::string sci(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "NaN" : (value > 0 ? "inf" : "-inf");
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.2e", value);
  return buffer;
}

std::string mean_std(const std::vector<double>& values, int digits) {
  double mean = 0.0, var = 0.0;
  for (double x : values) mean += x;
  mean /= static_cast<double>(values.size());
  if (values.size() < 2) return fmt(mean, digits);
  for (double x : values) var += (x - mean) * (x - mean);
  return fmt(mean, digits) + " ± " + fmt(std::sqrt(var / static_cast<double>(values.size() - 1)), digits);
}

Panel line_panel(std::string title, std::string xlabel, std::string ylabel, bool log_y) {
  Panel p;
  p.title = std::move(title);
  p.xlabel = std::move(xlabel);
  p.ylabel = std::move(ylabel);
  p.log_y = log_y;
  return p;
}

Experiment::Experiment(const RunOptions& options, std::string name, std::string title, std::vector<Setting> declared)
    : options_(options), settings_(std::move(declared), options.settings, options.quick), name_(std::move(name)) {
  std::filesystem::create_directories(options_.out_dir);
  const std::string changed = settings_.changed_text();
  std::string command = "bazel run //experiments:repro -- " + name_;
  if (options_.quick) command += " --quick";
  if (options_.seed != RunOptions{}.seed) command += " --seed " + std::to_string(options_.seed);
  if (!changed.empty()) command += " " + changed;
  section_ = "## " + title + "\n\nSource: `experiments/" + name_ + ".cc`. Regenerate this section alone (into " +
             name_ + ".md): `" + command + "`.\n\n";
  if (!changed.empty()) {
    section_ += "**Settings changed from the defaults:** `" + changed +
                "`. The explanations below were written for the defaults: the numbers they quote are this "
                "run's, but a claim they make may not hold for other settings.\n\n";
  }
}

std::filesystem::path Experiment::path(const std::string& stem, const char* extension) {
  const std::string file = name_ + "_" + stem + extension;
  files_.push_back(file);
  return options_.out_dir / file;
}

void Experiment::write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("repro: cannot write " + file.string());
}

void Experiment::table(const std::string& stem, const std::string& caption, const Table& t) {
  const std::string md = "**" + caption + "**\n\n" + t.markdown();
  write(path(stem, ".md"), md);
  write(path(stem, ".csv"), t.csv());
  section_ += md + "\n[" + name_ + "_" + stem + ".csv](" + name_ + "_" + stem + ".csv)\n\n";
}

void Experiment::csv(const std::string& stem, const std::vector<std::string>& columns,
                     const std::vector<std::vector<double>>& rows) {
  std::ostringstream out;
  for (std::size_t i = 0; i < columns.size(); ++i) out << (i ? "," : "") << columns[i];
  out << "\n";
  out.precision(9);
  for (const auto& row : rows) {
    if (row.size() != columns.size()) {
      throw std::invalid_argument("Experiment::csv(" + stem + "): a row has " + std::to_string(row.size()) +
                                  " values for " + std::to_string(columns.size()) + " columns");
    }
    for (std::size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << row[i];
    out << "\n";
  }
  write(path(stem, ".csv"), out.str());
}

void Experiment::figure(const std::string& stem, const Figure& f) {
  using nlohmann::json;
  json spec;
  spec["title"] = f.title;
  spec["rows"] = f.rows;
  spec["cols"] = f.cols;
  spec["png"] = name_ + "_" + stem + ".png";
  spec["panels"] = json::array();
  for (const Panel& p : f.panels) {
    json panel = {{"title", p.title}, {"xlabel", p.xlabel}, {"ylabel", p.ylabel}, {"log_y", p.log_y}};
    if (!p.image_csv.empty()) panel["image_csv"] = name_ + "_" + p.image_csv + ".csv";
    if (!p.image_style.empty()) panel["image_style"] = p.image_style;
    panel["series"] = json::array();
    for (const Series& s : p.series) {
      panel["series"].push_back({{"csv", name_ + "_" + s.csv + ".csv"}, {"x", s.x}, {"y", s.y}, {"label", s.label}});
    }
    spec["panels"].push_back(panel);
  }
  write(path(stem, ".plot.json"), spec.dump(2));
  const std::string png = name_ + "_" + stem + ".png";
  section_ += "![" + f.title + "](" + png + ")\n\n";
}

void Experiment::note(const std::string& markdown) { section_ += markdown + "\n\n"; }

void Experiment::progress(const std::string& message) const {
  std::cout << "[" << name_ << "] " << message << std::endl;
}

namespace {
std::multimap<int, ExperimentInfo>& registry() {
  static std::multimap<int, ExperimentInfo> r;
  return r;
}
}  // namespace

bool register_experiment(int order, ExperimentInfo info) {
  registry().emplace(order, std::move(info));
  return true;
}

std::vector<ExperimentInfo> registered_experiments() {
  std::vector<ExperimentInfo> out;
  for (const auto& [order, info] : registry()) out.push_back(info);
  return out;
}

}  // namespace simdnn::repro
