// What the notebook's own code prints, recorded by tools/notebook_run.py in
// experiments/notebook_output.json, and the tables that set those numbers beside simdnn's.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "experiments/report.h"

namespace simdnn::repro {

struct NotebookNumber {
  double value = 0.0;
  std::string printed;  // as the notebook printed it ("0.2247043481", "9.77e+13")
};

struct NotebookOutput {
  std::string recorded;  // the date of the recording
  std::string versions;  // "numpy 1.24.2, scikit-learn 1.2.1, ..."
  std::map<std::string, NotebookNumber> numbers;
  // Throws std::out_of_range naming the key if the record lacks it.
  const NotebookNumber& at(const std::string& key) const;
};

// A file shipped with repro (Bazel runfiles: RUNFILES_DIR, TEST_SRCDIR, <executable>.runfiles),
// or else the path relative to the current folder (the source tree); empty if none exists.
std::filesystem::path find_shipped_file(const std::string& relative);

// experiments/notebook_output.json, read once. Throws std::runtime_error if it is missing or
// malformed (naming the file and the field).
const NotebookOutput& notebook_output();

// The table "the notebook beside simdnn": for each number the notebook's code prints, that
// number, simdnn running the notebook's procedure (its defects emulated where that is
// meaningful), simdnn's corrected result, and why they differ.
class BesideTable {
 public:
  // `key` names the notebook's number in notebook_output() (std::out_of_range if absent); an
  // empty `why` reads "as above".
  void add(const std::string& key, std::string quantity, std::string procedure, std::string corrected,
           std::string why);
  // Writes it as <experiment>_notebook.md / .csv, captioned with the recording's date and versions.
  void write(Experiment& e) const;

 private:
  Table table_{{"quantity", "notebook's code prints", "simdnn, the notebook's procedure", "simdnn, corrected",
                "why they differ"}};
};

}  // namespace simdnn::repro
