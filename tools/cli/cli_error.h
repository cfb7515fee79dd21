// Errors and exit codes of the simdnn command-line tool.
//
// Every failure ends the program with ONE line on stderr ("simdnn <command>: <message>") and
// an exit code a script can test: 2 for bad input (a file that cannot be read or does not parse,
// a spec, model or data set that does not fit, an option value out of range, a usage error),
// 1 for anything else (training that diverged, an internal error). Outputs are written
// atomically, so a failing command leaves no partial file behind.
#pragma once

#include <stdexcept>
#include <string>

namespace simdnn::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Bad input found by the tool itself; the message names the option and, where there is one, the
// file ("--data train.csv: 4 feature columns, the model takes 3 inputs").
class CliError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `message` on one line: line breaks (a multi-line library message) become "; ".
std::string one_line(std::string message);

}  // namespace simdnn::cli
