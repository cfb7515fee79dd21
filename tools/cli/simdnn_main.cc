// simdnn: train, evaluate and apply simdnn models from the command line.
//
//   simdnn train --model spec.json --data train.csv --val-split 0.2 --out model.simdnn
//   simdnn evaluate --model model.simdnn --data test.csv [--json]
//   simdnn predict --model model.simdnn --data new.csv [--out predictions.csv]
//   simdnn info model.simdnn
//
// Exit status: 0 success; 2 bad input or usage, with one line on stderr and no output file; 1
// anything else (cli_error.h).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include <simdnn/data/readers.h>
#include <simdnn/train/callbacks.h>
#include <simdnn/train/tensor_file.h>

#include "tools/cli/cli_error.h"
#include "tools/cli/commands.h"

namespace simdnn::cli {
namespace {

constexpr const char* kCommands[] = {"train", "evaluate", "predict", "info"};

void print_error(const std::string& who, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", who.c_str(), one_line(message).c_str());
}

// The command line's subcommand for messages: "simdnn train", or "simdnn" before one is known.
std::string who(const CLI::App& app) {
  const auto selected = app.get_subcommands();
  return selected.empty() ? std::string("simdnn") : "simdnn " + selected.front()->get_name();
}

// Parses the command line. Returns -1 to go on, else the exit code: 0 after --help (printed on
// stdout), 2 for a usage error. CLI11's own exit codes (106, 109, ...) are not used: every usage
// error is bad input, exit 2, on one line.
int parse_command_line(CLI::App& app, int argc, char** argv) {
  if (argc == 1) {
    print_error("simdnn", "a command is required: train, evaluate, predict or info (see simdnn --help)");
    return kExitBadInput;
  }
  if (argc > 1 && argv[1][0] != '-' && std::none_of(std::begin(kCommands), std::end(kCommands), [&](const char* c) {
        return std::strcmp(c, argv[1]) == 0;
      })) {
    // CLI11 would only say "A subcommand is required".
    print_error("simdnn", std::string("unknown command \"") + argv[1] +
                              "\", expected train, evaluate, predict or info (see simdnn --help)");
    return kExitBadInput;
  }
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
    print_error(who(app), std::string(e.what()) + " (see " + who(app) + " --help)");
    return kExitBadInput;
  }
}

// Under `bazel run` the program starts in its runfiles folder; the user's relative paths are
// relative to where bazel was run.
void enter_working_directory() {
  const char* dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (dir != nullptr && *dir != '\0' && ::chdir(dir) != 0) {
    throw CliError(std::string("cannot enter BUILD_WORKING_DIRECTORY ") + dir + " (" + std::strerror(errno) + ")");
  }
}

// Runs a command; every exception becomes one line on stderr and an exit code.
int run_command(const std::string& name, const std::function<int()>& command) {
  try {
    enter_working_directory();
    return command();
  } catch (const CliError& e) {
    print_error(name, e.what());
  } catch (const DataFileError& e) {
    print_error(name, e.what());
  } catch (const TensorFileError& e) {
    print_error(name, e.what());
  } catch (const std::invalid_argument& e) {  // options the library refused, a spec, shapes
    print_error(name, e.what());
  } catch (const nlohmann::json::exception& e) {
    print_error(name, e.what());
  } catch (const NonFiniteError& e) {
    print_error(name, std::string("training diverged, nothing saved (try a smaller --lr): ") + e.what());
    return kExitFailure;
  } catch (const std::exception& e) {
    print_error(name, std::string("internal error: ") + e.what());
    return kExitFailure;
  }
  return kExitBadInput;
}

}  // namespace
}  // namespace simdnn::cli

int main(int argc, char** argv) {
  using namespace simdnn::cli;
  CLI::App app{"simdnn: train, evaluate and apply simdnn models (CPU deep learning) from the command line", "simdnn"};
  app.footer(
      "Data: a CSV with a header line (or --no-header), the label in the last column or --label's; text labels "
      "become classes (sorted). Or IDX images with --labels (MNIST format); any file may be gzipped.\n"
      "Exit status: 0 success; 2 bad input or usage (one line on stderr, no output file written); 1 other "
      "failures (e.g. training diverged).");
  app.require_subcommand(1, 1);
  TrainArgs train;
  EvaluateArgs evaluate;
  PredictArgs predict;
  InfoArgs info;
  CLI::App* train_cmd = add_train_command(app, train);
  CLI::App* evaluate_cmd = add_evaluate_command(app, evaluate);
  CLI::App* predict_cmd = add_predict_command(app, predict);
  add_info_command(app, info);
  if (const int code = parse_command_line(app, argc, argv); code >= 0) return code;
  if (train_cmd->parsed()) return run_command("simdnn train", [&] { return run_train(train); });
  if (evaluate_cmd->parsed()) return run_command("simdnn evaluate", [&] { return run_evaluate(evaluate); });
  if (predict_cmd->parsed()) return run_command("simdnn predict", [&] { return run_predict(predict); });
  return run_command("simdnn info", [&] { return run_info(info); });
}
