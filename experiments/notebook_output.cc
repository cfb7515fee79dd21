#include "experiments/notebook_output.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

namespace simdnn::repro {

const NotebookNumber& NotebookOutput::at(const std::string& key) const {
  const auto it = numbers.find(key);
  if (it == numbers.end()) throw std::out_of_range("experiments/notebook_output.json: no number \"" + key + "\"");
  return it->second;
}

std::filesystem::path find_shipped_file(const std::string& relative) {
  std::vector<std::filesystem::path> candidates;
  for (const char* env : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = std::getenv(env)) candidates.push_back(std::filesystem::path(dir) / "simdnn" / relative);
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(std::filesystem::path(exe.string() + ".runfiles") / "simdnn" / relative);
  candidates.push_back(relative);
  for (const auto& c : candidates) {
    if (std::filesystem::is_regular_file(c, ec)) return c;
  }
  return {};
}

namespace {

NotebookOutput read_notebook_output() {
  constexpr const char* kRelative = "experiments/notebook_output.json";
  const std::filesystem::path path = find_shipped_file(kRelative);
  if (path.empty()) {
    throw std::runtime_error(std::string(kRelative) + " not found (depend on //experiments:notebook_output)");
  }
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error(path.string() + ": not a JSON object");
  NotebookOutput out;
  try {
    out.recorded = j.at("recorded").get<std::string>();
    for (const auto& [name, version] : j.at("versions").items()) {
      out.versions += (out.versions.empty() ? "" : ", ") + name + " " + version.get<std::string>();
    }
    for (const auto& [key, number] : j.at("numbers").items()) {
      out.numbers[key] = {number.at("value").get<double>(), number.at("printed").get<std::string>()};
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  return out;
}

}  // namespace

const NotebookOutput& notebook_output() {
  static const NotebookOutput output = read_notebook_output();
  return output;
}

void BesideTable::add(const std::string& key, std::string quantity, std::string procedure, std::string corrected,
                      std::string why) {
  table_.add_row({std::move(quantity), notebook_output().at(key).printed, std::move(procedure), std::move(corrected),
                  why.empty() ? "as above" : std::move(why)});
}

void BesideTable::write(Experiment& e) const {
  const NotebookOutput& nb = notebook_output();
  e.table("notebook",
          "The notebook beside simdnn: what the notebook's own code prints (run by tools/notebook_run.py on " +
              nb.recorded + " with " + nb.versions + "; recorded in experiments/notebook_output.json), simdnn "
              "running the notebook's procedure, and simdnn's corrected result",
          table_);
}

}  // namespace simdnn::repro
