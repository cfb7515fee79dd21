// The configuration tables the benchmarks read (bench/*.txt): one entry per line, fields
// separated by spaces, '#' starting a comment that runs to the end of the line.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace simdnn::bench {

// The path in environment variable `env` if it is set, else `fallback`.
inline std::string table_path(const char* env, const char* fallback) {
  const char* path = std::getenv(env);
  return path != nullptr && *path != '\0' ? path : fallback;
}

// Calls parse(fields, row) for every line that holds anything but a comment; parse returns false
// for a malformed line (or throws std::invalid_argument), which becomes a std::runtime_error
// "PATH:LINE: expected FORMAT, got 'LINE'". Throws if the file cannot be opened.
template <class Row, class Parse>
std::vector<Row> read_table(const std::string& path, const std::string& format, Parse parse) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open the table " + path);
  std::vector<Row> rows;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string content = line.substr(0, line.find('#'));
    if (content.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream fields(content);
    Row row{};
    bool ok = false;
    std::string why;
    try {
      ok = parse(fields, row);
    } catch (const std::invalid_argument& e) {
      why = std::string(" (") + e.what() + ")";
    }
    if (!ok) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": expected " + format + ", got '" +
                               line + "'" + why);
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace simdnn::bench
