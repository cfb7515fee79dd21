// The subcommands of the simdnn tool: their arguments, how each is declared to CLI11, and what
// each does. Every run_* returns the exit code and throws CliError (or a library exception) for
// bad input; simdnn_main.cc turns exceptions into one line on stderr and an exit code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <simdnn/models/model.h>

#include "tools/cli/data_args.h"

namespace CLI {
class App;
}

namespace simdnn::cli {

struct TrainArgs {
  std::string spec;  // --model: the JSON spec file
  DataArgs data;
  std::string val;         // --val: a validation file
  std::string val_labels;  // --val-labels: its IDX labels
  std::optional<double> val_split;  // --val-split
  std::string optimizer = "adam";
  std::optional<double> lr;  // unset: the optimizer's own default
  long long epochs = 100;
  long long batch = 32;
  long long early_stopping = 0;  // patience; 0 = off
  std::string out;
  std::uint64_t seed = 0;
  bool scale = true;
  bool quiet = false;
  bool with_optimizer = false;
};

struct EvaluateArgs {
  std::string model;
  DataArgs data;
  bool json = false;
};

struct PredictArgs {
  std::string model;
  DataArgs data;
  std::string out;  // empty: stdout
};

struct InfoArgs {
  std::string model;
};

// Declares each subcommand on `app`, its options bound to `args`.
CLI::App* add_train_command(CLI::App& app, TrainArgs& args);
CLI::App* add_evaluate_command(CLI::App& app, EvaluateArgs& args);
CLI::App* add_predict_command(CLI::App& app, PredictArgs& args);
CLI::App* add_info_command(CLI::App& app, InfoArgs& args);

int run_train(const TrainArgs& args);
int run_evaluate(const EvaluateArgs& args);
int run_predict(const PredictArgs& args);
int run_info(const InfoArgs& args);

// The model file of --model (or info's argument), loaded and checked. Throws CliError naming
// `option` and the file.
Model load_model_file(const std::string& path, const std::string& option);

// The model's class names, or "0", "1", ... when it has none.
std::vector<std::string> display_names(const Model& model);

}  // namespace simdnn::cli
