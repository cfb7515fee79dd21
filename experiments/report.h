// What every repro experiment writes: Markdown tables, CSV files and figure specs, collected into
// one output folder and summarized in REPORT.md.
//
// A figure is a JSON spec (<stem>.plot.json) naming CSV files and how to draw them; after all
// experiments ran, experiments/plot.py renders every spec to <stem>.png with matplotlib. Tables
// and CSVs never depend on Python.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "experiments/settings.h"

namespace simdnn::repro {

// A table: written as Markdown (for REPORT.md) and CSV.
class Table {
 public:
  explicit Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}
  // Throws std::invalid_argument if the row's length differs from the column count.
  void add_row(std::vector<std::string> cells);
  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<std::vector<std::string>>& rows() const { return rows_; }
  std::string markdown() const;
  std::string csv() const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// Number formatting used in every table: fixed with `digits` decimals; NaN as "–".
std::string fmt(double value, int digits = 4);
// Scientific notation with 2 decimals ("1.23e-05"); non-finite values as "NaN", "inf", "-inf"
// (in these tables they mean a run diverged).
std::string sci(double value);
// "mean ± sample standard deviation" with `digits` decimals; the mean alone for one value.
std::string mean_std(const std::vector<double>& values, int digits);

// One line of a figure: column `y` against column `x` of a CSV file written by this experiment.
struct Series {
  std::string csv;  // stem of the CSV file (without .csv)
  std::string x;
  std::string y;
  std::string label;
};

struct Panel {
  std::string title;
  std::string xlabel;
  std::string ylabel;
  std::vector<Series> series;
  bool log_y = false;
  // Instead of lines: draw the CSV `image_csv` (all columns numeric) as an image/heatmap, in
  // `image_style`: "" a sequential colormap; "counts" the same with each cell's value written in
  // it (confusion matrices); "signed" a diverging colormap centred on 0, on one scale shared by
  // every signed panel of the figure (weights); "binary" two colours, one per value present
  // (masks); "gray" grey levels without a colour bar (pixel images).
  std::string image_csv;
  std::string image_style;
};

// A panel of lines, to be filled with series.
Panel line_panel(std::string title, std::string xlabel, std::string ylabel, bool log_y = false);

struct Figure {
  std::string title;
  int rows = 1, cols = 1;  // grid of panels, filled row by row
  std::vector<Panel> panels;
};

struct RunOptions {
  std::filesystem::path out_dir = "repro_out";
  std::uint64_t seed = 42;
  bool quick = false;  // reduced epochs/sizes (the smoke test and a first look)
  // The experiment's settings given on the command line (name without "--" → value as typed).
  std::map<std::string, std::string> settings;
};

// The outputs of one experiment; passed to its run function. Its REPORT.md section opens with
// the experiment's source file and the command that regenerates it, and, when settings were
// changed, which ones (the explanations are written for the defaults).
class Experiment {
 public:
  // Throws std::invalid_argument for a setting in options.settings that `declared` lacks or
  // whose value it refuses.
  Experiment(const RunOptions& options, std::string name, std::string title, std::vector<Setting> declared = {});

  const RunOptions& options() const { return options_; }
  const std::string& name() const { return name_; }
  std::uint64_t seed() const { return options_.seed; }
  bool quick() const { return options_.quick; }
  // `full` normally, `reduced` with --quick.
  std::size_t scaled(std::size_t full, std::size_t reduced) const { return options_.quick ? reduced : full; }
  const Settings& settings() const { return settings_; }

  // <name>_<stem>.md and .csv; the Markdown also goes into REPORT.md under `caption`.
  void table(const std::string& stem, const std::string& caption, const Table& t);
  // <name>_<stem>.csv with numeric columns (the data behind figures).
  void csv(const std::string& stem, const std::vector<std::string>& columns,
           const std::vector<std::vector<double>>& rows);
  // <name>_<stem>.plot.json; rendered to <name>_<stem>.png by plot.py.
  void figure(const std::string& stem, const Figure& f);
  // A paragraph for REPORT.md (Markdown), e.g. why a number differs from the notebook's.
  void note(const std::string& markdown);
  // Progress on stdout: "[name] message".
  void progress(const std::string& message) const;

  // The REPORT.md section this experiment produced.
  const std::string& section() const { return section_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  std::filesystem::path path(const std::string& stem, const char* extension);
  void write(const std::filesystem::path& file, const std::string& text);

  RunOptions options_;
  Settings settings_;
  std::string name_;
  std::string section_;
  std::vector<std::string> files_;
};

// A repro subcommand.
struct ExperimentInfo {
  std::string name;         // the subcommand
  std::string title;        // REPORT.md heading
  std::string description;  // --help text
  std::function<void(Experiment&)> run;
  std::vector<Setting> settings = {};  // what `repro NAME --SETTING VALUE` may change
};

// Experiments register themselves at start-up, in the order of their `order` key.
bool register_experiment(int order, ExperimentInfo info);
std::vector<ExperimentInfo> registered_experiments();

}  // namespace simdnn::repro
