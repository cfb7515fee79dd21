// simdnn train: a model from a JSON spec, trained on a CSV or IDX data set, saved to a file.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <simdnn/data/preprocessing.h>
#include <simdnn/models/model.h>
#include <simdnn/train/callbacks.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/trainer.h>

#include "tools/cli/cli_error.h"
#include "tools/cli/commands.h"
#include "tools/cli/output_file.h"

namespace simdnn::cli {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Everything that can be checked without reading a file, so that a bad option fails at once
// rather than after the data is read (or, for --out, after training).
void check_train_args(const TrainArgs& a) {
  const std::vector<std::string>& optimizers = optimizer_names();
  if (std::find(optimizers.begin(), optimizers.end(), a.optimizer) == optimizers.end()) {
    throw CliError("--optimizer " + a.optimizer + ": unknown, expected one of " + join_names(optimizers));
  }
  if (a.lr && !(std::isfinite(*a.lr) && *a.lr > 0)) throw CliError("--lr " + number(*a.lr) + ": must be a positive number");
  if (a.epochs < 1) throw CliError("--epochs " + std::to_string(a.epochs) + ": must be at least 1");
  if (a.batch < 1) throw CliError("--batch " + std::to_string(a.batch) + ": must be at least 1");
  if (a.early_stopping < 0) throw CliError("--early-stopping " + std::to_string(a.early_stopping) + ": must be >= 0 (0: off)");
  if (a.val_split && !(*a.val_split > 0 && *a.val_split < 1)) {
    throw CliError("--val-split " + number(*a.val_split) + ": must be in (0, 1)");
  }
  if (a.early_stopping > 0 && a.val.empty() && !a.val_split) {
    throw CliError("--early-stopping " + std::to_string(a.early_stopping) +
                   ": needs a validation set (--val FILE or --val-split FRACTION)");
  }
  if (!a.val_labels.empty() && a.val.empty()) throw CliError("--val-labels " + a.val_labels + ": needs --val");
  check_output_path(a.out, "--out");
}

Model load_spec(const std::string& path) {
  const std::string text = read_text_file(path, "--model");
  try {
    return Model::from_spec(text);
  } catch (const std::invalid_argument& e) {  // ModelSpecError, ShapeError
    throw CliError("--model " + path + ": " + e.what());
  }
}

struct TrainingSets {
  LabeledData train;
  LabeledData val;
  bool has_val = false;
  std::vector<std::string> classes;  // of text labels; empty for numeric ones
};

// Text labels must name exactly the model's classes (their count; which is which is learned).
void check_classes(const std::vector<std::string>& classes, const Model& model, const TrainArgs& a) {
  if (classes.empty() || classes.size() == model.num_classes()) return;
  throw CliError("--data " + a.data.data + ": the labels hold " + std::to_string(classes.size()) + " classes (" +
                 join_names(classes) + "), but the model of --model " + a.spec + " has " +
                 std::to_string(model.num_classes()) + " classes (\"outputs\": " +
                 std::to_string(model.output_width()) + ")");
}

// The validation set: --val's file (its text labels must be the training classes), or a
// stratified, seeded split of the training file.
void add_validation(TrainingSets& sets, LabeledData all, const Model& model, const TrainArgs& a) {
  if (!a.val.empty()) {
    const LabelRule rule{.classes = sets.classes, .num_classes = model.num_classes(), .input_width = model.input_width()};
    sets.val = load_labeled(a.data, a.val, a.val_labels, "--val", rule);
    check_width(sets.val.features.cview(), model.input_width(), "--val", a.val);
    sets.train = std::move(all);
  } else {
    TrainTestSplit split;
    try {
      split = train_test_split(all, {.test_fraction = *a.val_split, .stratify = true, .seed = a.seed});
    } catch (const std::invalid_argument& e) {
      throw CliError("--val-split " + number(*a.val_split) + ": " + e.what());
    }
    sets.train = std::move(split.train);
    sets.val = std::move(split.test);
  }
  sets.has_val = true;
}

TrainingSets load_training_sets(const TrainArgs& a, const Model& model) {
  const LabelRule rule{.num_classes = model.num_classes(), .learn = true, .input_width = model.input_width()};
  LabeledData all = load_labeled(a.data, a.data.data, a.data.labels, "--data", rule);
  check_width(all.features.cview(), model.input_width(), "--data", a.data.data);
  check_classes(all.class_names, model, a);
  TrainingSets sets;
  sets.classes = all.class_names;  // subset() (the split) keeps only features and labels
  if (!a.val.empty() || a.val_split) {
    add_validation(sets, std::move(all), model, a);
  } else {
    sets.train = std::move(all);
  }
  return sets;
}

// Fits the scaler on the training split only (the validation set must not leak into it) and
// scales both sets with it; the model applies it to every input from then on.
std::optional<StandardScaler> fit_scaler(TrainingSets& sets, bool scale) {
  if (!scale) return std::nullopt;
  StandardScaler scaler;
  scaler.fit(sets.train.features.cview());
  sets.train.features = scaler.transform(sets.train.features.cview());
  if (sets.has_val) sets.val.features = scaler.transform(sets.val.features.cview());
  return scaler;
}

struct Outcome {
  std::size_t epochs = 0;
  std::optional<std::size_t> best;  // the restored epoch (early stopping), 0-based
  EpochRecord kept;                 // the record of the weights saved
};

Outcome fit(Model& model, const TrainingSets& sets, const TrainArgs& a, Optimizer& optimizer) {
  std::unique_ptr<Loss> loss;
  if (model.output == OutputKind::binary_logit) {
    loss = std::make_unique<BinaryCrossEntropyWithLogits>();  // labels become 0/1 targets
  } else {
    loss = std::make_unique<SoftmaxCrossEntropy>();  // labels become index targets
  }
  TrainerOptions options;
  options.epochs = static_cast<std::size_t>(a.epochs);
  options.batch_size = static_cast<std::size_t>(a.batch);
  options.seed = a.seed;
  Trainer trainer(*model.network, *loss, optimizer, options);
  trainer.add_callback<ProgressBar>(a.quiet);
  trainer.add_callback<NonFiniteGuard>();  // never save a diverged model
  EarlyStopping* stopping = nullptr;
  if (a.early_stopping > 0 && sets.has_val) {
    stopping = &trainer.add_callback<EarlyStopping>(Monitor::validation_loss,
                                                    static_cast<std::size_t>(a.early_stopping), 0.0, true);
  }
  const History& history = trainer.fit(sets.train, sets.has_val ? &sets.val : nullptr);
  Outcome out;
  out.epochs = history.epochs.size();
  if (stopping != nullptr) out.best = stopping->best_epoch();
  out.kept = history.epochs.at(out.best.value_or(out.epochs - 1));
  return out;
}

std::string metric(const char* name, double v) {
  if (std::isnan(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, " %s %.4f", name, v);
  return buf;
}

void print_summary(const TrainArgs& a, const Model& model, const TrainingSets& sets, const Outcome& o) {
  std::string line = "simdnn train: wrote " + a.out + ": " + std::to_string(model.num_classes()) + " classes";
  if (!model.class_names.empty()) line += " (" + join_names(model.class_names) + ")";
  line += ", " + std::to_string(sets.train.size()) + " training and " + std::to_string(sets.has_val ? sets.val.size() : 0) +
          " validation samples, " + std::to_string(o.epochs) + " epochs";
  if (o.best) line += ", weights of epoch " + std::to_string(*o.best + 1);
  line += ":" + metric("loss", o.kept.train.loss) + metric("acc", o.kept.train.accuracy) +
          metric("val_loss", o.kept.validation.loss) + metric("val_acc", o.kept.validation.accuracy);
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace

CLI::App* add_train_command(CLI::App& app, TrainArgs& a) {
  CLI::App* c = app.add_subcommand("train", "train a model from a JSON spec and save it");
  c->add_option("--model", a.spec, "the model's JSON spec file (models/model_spec.h)")->required()->type_name("SPEC.json");
  add_data_options(*c, a.data, "training data: a CSV file (label: text or class index) or IDX images");
  c->add_option("--val", a.val, "validation data, read like --data")->type_name("FILE");
  c->add_option("--val-labels", a.val_labels, "the IDX label file of IDX images given as --val")->type_name("FILE");
  c->add_option("--val-split", a.val_split, "hold out this fraction of --data for validation (stratified, seeded)")
      ->type_name("FRACTION")->excludes("--val");
  c->add_option("--optimizer", a.optimizer, "sgd, momentum, nesterov, rmsprop, adam, adamw or adagrad")->capture_default_str();
  c->add_option("--lr", a.lr, "learning rate (default: the optimizer's own: 1e-3 for sgd, adam, adamw; 1e-2 for the others)");
  c->add_option("--epochs", a.epochs, "training epochs (at most, with early stopping)")->capture_default_str();
  c->add_option("--batch", a.batch, "mini-batch size")->capture_default_str();
  c->add_option("--early-stopping", a.early_stopping,
                "stop after this many epochs without a lower validation loss and keep the best weights (0: off)")
      ->type_name("PATIENCE")->capture_default_str();
  c->add_option("--out", a.out, "the model file to write")->required()->type_name("MODEL");
  c->add_option("--seed", a.seed, "seed of the shuffling and the validation split")->capture_default_str();
  // Two plain flags rather than CLI11's "--scale,!--no-scale", whose help shows a confusing "{false}".
  CLI::Option* scale = c->add_flag_callback("--scale", [&a] { a.scale = true; },
                                            "standardize the inputs with a StandardScaler fitted on the training "
                                            "split and saved in the model (the default)");
  c->add_flag_callback("--no-scale", [&a] { a.scale = false; }, "train on the inputs as they are")->excludes(scale);
  c->add_flag("--with-optimizer", a.with_optimizer, "also save the optimizer's state, to resume training");
  c->add_flag("-q,--quiet", a.quiet, "no progress lines on stderr");
  return c;
}

int run_train(const TrainArgs& a) {
  check_train_args(a);
  Model model = load_spec(a.spec);
  TrainingSets sets = load_training_sets(a, model);
  model.class_names = sets.classes;
  model.scaler = fit_scaler(sets, a.scale);
  std::unique_ptr<Optimizer> optimizer = make_optimizer(a.optimizer, all_parameters(*model.network), a.lr);
  const Outcome outcome = fit(model, sets, a, *optimizer);
  save_model(a.out, model, a.with_optimizer ? optimizer.get() : nullptr);  // atomic: all or nothing
  if (!a.quiet) print_summary(a, model, sets, outcome);
  return kExitOk;
}

}  // namespace simdnn::cli
