// depth: the notebook's §9 (Residual Networks) and exercise 4 — a plain deep MLP against a
// ResNet (and a DenseNet) of the same depth, trained on the notebook's data at depths 5 to 100.
// The notebook defines a ResNet but cannot train it (docs/NOTEBOOK.md, defect 8: forward only,
// BatchNorm without backward); here every model trains, and the first layer's gradient shows why
// the plain network stops learning as it gets deeper while the residual one does not.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/core/elementwise.h>
#include "experiments/notebook_data.h"
#include "experiments/report.h"
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/residual.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model_config.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/trainer.h>

namespace simdnn::repro {
namespace {

// densenet_plain_transition: the DenseNet without BatchNorm in its transitions (simdnn's only
// DenseNet before 27 November 2026), to show what that BatchNorm does at depth.
enum class Family { plain, plain_bn, resnet, densenet, densenet_plain_transition };
constexpr Family kFamilies[] = {Family::plain, Family::plain_bn, Family::resnet, Family::densenet,
                                Family::densenet_plain_transition};

const char* family_name(Family f) {
  switch (f) {
    case Family::plain: return "plain";
    case Family::plain_bn: return "plain_bn";
    case Family::resnet: return "resnet";
    case Family::densenet: return "densenet";
    case Family::densenet_plain_transition: return "densenet_plain_transition";
  }
  return "?";
}

// The depths of the sweep, without and with --quick; --depth cuts them short (or extends them).
const std::vector<std::size_t> kDepths = {5, 10, 20, 50, 100}, kQuickDepths = {5, 10};

// The settings (repro depth --help).
const std::vector<Setting> kSettings = {
    {.name = "epochs", .kind = Setting::Kind::count, .help = "training epochs of every run", .value = 30, .quick_value = 2},
    {.name = "batch", .kind = Setting::Kind::count, .help = "mini-batch size", .value = 32},
    {.name = "width", .kind = Setting::Kind::count,
     .help = "units per hidden layer (a DenseNet's growth rate is a quarter of it, at least 1)", .value = 32},
    {.name = "depth", .kind = Setting::Kind::count,
     .help = "the deepest network of the sweep (hidden Dense layers): the sweep is 5, 10, 20, 50, 100 (5, 10 with "
             "--quick) up to it, then it",
     .value = static_cast<double>(kDepths.back()), .quick_value = static_cast<double>(kQuickDepths.back())},
};
constexpr std::size_t kDenseLayersPerBlock = 3;  // DenseNet: Dense layers per block (+1 transition)

std::unique_ptr<Sequential> build(Family f, std::size_t depth, std::size_t width, std::uint64_t seed) {
  switch (f) {
    case Family::plain:
    case Family::plain_bn: {
      MlpConfig c;
      c.inputs = 20;
      c.hidden.assign(depth, width);
      c.outputs = 1;
      c.batch_norm = f == Family::plain_bn;
      c.seed = seed;
      return make_mlp(c);
    }
    case Family::resnet: {
      ResNetConfig c;
      c.inputs = 20;
      c.width = width;
      c.blocks = std::max<std::size_t>(1, depth / 2);
      c.outputs = 1;
      c.seed = seed;
      return make_resnet(c);
    }
    case Family::densenet:
    case Family::densenet_plain_transition: {
      DenseNetConfig c;
      c.transition_batchnorm = f == Family::densenet;
      c.inputs = 20;
      c.width = width;
      c.layers_per_block = kDenseLayersPerBlock;
      c.growth_rate = std::max<std::size_t>(1, width / 4);
      // 1 stem + blocks·(layers + transition) hidden Dense layers ≈ depth.
      const double blocks = std::round(static_cast<double>(depth - 1) / (kDenseLayersPerBlock + 1));
      c.blocks = std::max<std::size_t>(1, static_cast<std::size_t>(blocks));
      c.outputs = 1;
      c.seed = seed;
      return make_densenet(c);
    }
  }
  return nullptr;
}

// The Frobenius norm of dL/dW of every Dense weight (model order; the head is last), for the
// whole set x as one batch, in train mode. The model's parameters, gradients and BatchNorm
// running statistics are left as they were.
std::vector<double> weight_grad_norms(Sequential& model, Loss& loss, ConstMatrixView x, ConstMatrixView y) {
  std::vector<Tensor> saved;
  const std::vector<StateTensor> state = all_state(model);
  for (const StateTensor& s : state) saved.push_back(s.value->clone());
  zero_grad(model);
  loss.forward_backward(model.forward(x, Mode::train), y);
  model.backward(loss.gradient());
  std::vector<double> norms;
  for (const Parameter& p : all_parameters(model)) {
    const std::string suffix = "/weight";
    if (p.name.size() > suffix.size() && p.name.compare(p.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      norms.push_back(std::sqrt(sum_of_squares(p.grad->data(), p.grad->size())));
    }
  }
  zero_grad(model);
  for (std::size_t i = 0; i < state.size(); ++i) {
    std::copy(saved[i].data(), saved[i].data() + saved[i].size(), state[i].value->data());
  }
  return norms;
}

// A number of any magnitude with 3 significant digits ("1.9e+07", "0.0109"); NaN as fmt's "–".
std::string sci(double v) {
  if (std::isnan(v)) return fmt(v);
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3g", v);
  return buffer;
}

enum class Opt { sgd_momentum, adam };
constexpr Opt kOpts[] = {Opt::sgd_momentum, Opt::adam};
const char* opt_name(Opt o) { return o == Opt::adam ? "adam" : "sgdm"; }
constexpr double kSgdLr = 0.01, kMomentum = 0.9, kAdamLr = 1e-3;

// One trained model (one optimizer, family, depth and seed).
struct Run {
  double train_accuracy = 0, test_accuracy = 0;
  double grad_first_init = 0, grad_first_end = 0;  // grad_first_end is NaN when training diverged
  double seconds_per_epoch = 0;
  bool diverged = false;
  std::vector<double> layer_grads_init;  // every Dense weight, at initialization
  std::vector<double> val_curve;         // validation accuracy per epoch
};

Run train_one(const NotebookData& d, Family f, std::size_t depth, std::size_t width, Opt opt, std::uint64_t seed,
              std::size_t epochs, std::size_t batch, std::size_t* dense_layers, std::size_t* parameter_count) {
  Run r;
  std::unique_ptr<Sequential> model = build(f, depth, width, seed);
  const std::vector<Parameter> params = all_parameters(*model);
  *dense_layers = 0;
  *parameter_count = 0;
  for (const Parameter& p : params) {
    *parameter_count += p.value->size();
    if (p.name.ends_with("/weight")) ++*dense_layers;
  }
  --*dense_layers;  // the output layer
  BinaryCrossEntropyWithLogits loss;
  r.layer_grads_init = weight_grad_norms(*model, loss, d.x_train.cview(), d.y_train.cview());
  r.grad_first_init = r.layer_grads_init.front();
  std::unique_ptr<Optimizer> optimizer;
  if (opt == Opt::adam) {
    AdamOptions o;
    o.lr = kAdamLr;
    optimizer = std::make_unique<Adam>(params, o);
  } else {
    MomentumOptions o;
    o.lr = kSgdLr;
    o.momentum = kMomentum;
    optimizer = std::make_unique<Momentum>(params, o);
  }
  TrainerOptions to;
  to.epochs = epochs;
  to.batch_size = batch;
  to.seed = seed;
  to.record_grad_norms = false;
  Trainer trainer(*model, loss, *optimizer, to);
  const History& h = trainer.fit(d.x_train.cview(), d.y_train.cview(), d.x_val.cview(), d.y_val.cview());
  for (const EpochRecord& rec : h.epochs) {
    r.seconds_per_epoch += rec.seconds;
    r.val_curve.push_back(rec.validation.accuracy);
  }
  r.seconds_per_epoch /= static_cast<double>(h.epochs.size());
  r.train_accuracy = h.epochs.back().train.accuracy;
  const Evaluation test = trainer.evaluate(d.x_test.cview(), d.y_test.cview());
  r.test_accuracy = test.accuracy;
  r.diverged = !std::isfinite(h.epochs.back().train.loss) || !std::isfinite(test.loss);
  r.grad_first_end = weight_grad_norms(*model, loss, d.x_train.cview(), d.y_train.cview()).front();
  if (!std::isfinite(r.grad_first_end)) {
    r.diverged = true;
    r.grad_first_end = NAN;
  }
  return r;
}

// Over the seeds of one (optimizer, family, depth).
struct Cell {
  Opt opt = Opt::sgd_momentum;
  Family family = Family::plain;
  std::size_t depth = 0;
  std::size_t dense_layers = 0, parameters = 0;
  std::vector<Run> runs;

  double mean(double Run::*field, bool skip_diverged = false) const {
    double sum = 0;
    std::size_t n = 0;
    for (const Run& r : runs) {
      if (skip_diverged && r.diverged) continue;
      sum += r.*field;
      ++n;
    }
    return n == 0 ? NAN : sum / static_cast<double>(n);
  }
  double sd(double Run::*field) const {
    if (runs.size() < 2) return NAN;
    const double m = mean(field);
    double ss = 0;
    for (const Run& r : runs) ss += (r.*field - m) * (r.*field - m);
    return std::sqrt(ss / static_cast<double>(runs.size() - 1));
  }
  std::size_t diverged() const {
    std::size_t n = 0;
    for (const Run& r : runs) n += r.diverged;
    return n;
  }
};

// Characters on screen of UTF-8 text: every byte but continuation bytes (10xxxxxx).
std::size_t columns_of(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string repeat(const std::string& piece, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

std::string layer_label(Layer& layer) {
  const std::string kind = layer.kind();
  if (kind == "dense") return "Dense " + std::to_string(layer.input_width()) + "→" + std::to_string(layer.output_width());
  if (kind == "batchnorm") return "BatchNorm";
  if (kind == "activation") return activation_name(static_cast<ActivationLayer&>(layer).activation().kind);
  if (kind == "dropout") return "Dropout";
  return kind;
}

// The notebook's drawing of a residual block (its §9), from the block as built: the branch's
// layers in order, the skip (identity, or the projection when the widths differ), the sum, and
// the activation after it.
std::string residual_block_diagram(ResidualBlock& block) {
  std::vector<Layer*> layers = block.children();
  Layer* after_sum = layers.back();
  std::string branch;
  for (Layer* l : layers) {
    if (l != after_sum && l != block.projection()) branch += (branch.empty() ? "" : " → ") + layer_label(*l);
  }
  const std::string skip = block.projection() ? layer_label(*block.projection()) + " (projection)" : "identity";
  const std::string prefix = "x (" + std::to_string(block.input_width()) + ") ";
  const std::string top = prefix + "─┬─> " + branch + " ─┐";
  const std::string bottom_start = std::string(columns_of(prefix), ' ') + " └─> " + skip + " ";
  const std::size_t fill = columns_of(top) >= columns_of(bottom_start) + 2 ? columns_of(top) - columns_of(bottom_start) - 2 : 0;
  return "```\n" + top + "\n" + bottom_start + repeat("─", fill) + "(+) → " + layer_label(*after_sum) + " → y (" +
         std::to_string(block.output_width()) + ")\n```";
}

// The depths of the sweep: kDepths (kQuickDepths with --quick) up to --depth, then --depth itself
// when the list lacks it.
std::vector<std::size_t> sweep_depths(const Experiment& e) {
  const std::size_t deepest = e.settings().count("depth");
  std::vector<std::size_t> depths;
  for (std::size_t depth : e.quick() ? kQuickDepths : kDepths) {
    if (depth <= deepest) depths.push_back(depth);
  }
  if (depths.empty() || depths.back() != deepest) depths.push_back(deepest);
  return depths;
}

// This run's values of kSettings, the depths of the sweep and the number of seeds.
struct Hyper {
  std::vector<std::size_t> depths;  // ascending; the last is --depth
  std::size_t epochs, batch, width, seeds;

  explicit Hyper(const Experiment& e)
      : depths(sweep_depths(e)),
        epochs(e.settings().count("epochs")),
        batch(e.settings().count("batch")),
        width(e.settings().count("width")),
        seeds(e.scaled(3, 1)) {}
};

// Every (optimizer, family, depth) of the sweep, trained over the seeds.
struct Sweep {
  std::vector<Cell> cells;

  const Cell& at(Opt opt, Family f, std::size_t depth) const {
    for (const Cell& c : cells) {
      if (c.opt == opt && c.family == f && c.depth == depth) return c;
    }
    throw std::logic_error("depth: missing cell");
  }
};

// Trains every optimizer, depth and family over the seeds, reporting each cell's progress.
Sweep train_sweep(Experiment& e, const NotebookData& d, const Hyper& hp) {
  Sweep sweep;
  for (Opt opt : kOpts) {
    for (std::size_t depth : hp.depths) {
      for (Family f : kFamilies) {
        Cell c;
        c.opt = opt;
        c.family = f;
        c.depth = depth;
        for (std::size_t s = 0; s < hp.seeds; ++s) {
          c.runs.push_back(
              train_one(d, f, depth, hp.width, opt, e.seed() + s, hp.epochs, hp.batch, &c.dense_layers, &c.parameters));
        }
        e.progress(std::string(opt_name(opt)) + " " + family_name(f) + " depth " + std::to_string(depth) +
                   ": test accuracy " + fmt(c.mean(&Run::test_accuracy), 3) + ", " +
                   fmt(c.mean(&Run::seconds_per_epoch) * 1000.0, 1) + " ms/epoch");
        sweep.cells.push_back(std::move(c));
      }
    }
  }
  return sweep;
}

// The training setup, for the tables' captions.
std::string setup_text(const Hyper& hp) {
  return std::to_string(hp.width) + " units per layer, batch " + std::to_string(hp.batch) + ", " +
         std::to_string(hp.epochs) + " epochs, mean over " + std::to_string(hp.seeds) + " seed" +
         (hp.seeds == 1 ? "" : "s");
}

// The headline: test accuracy by depth, one column per model and optimizer.
void accuracy_table(Experiment& e, const Sweep& sweep, const Hyper& hp) {
  std::vector<std::string> pivot_columns = {"depth"};
  for (Opt opt : kOpts) {
    for (Family f : kFamilies) pivot_columns.push_back(std::string(family_name(f)) + "_" + opt_name(opt));
  }
  Table pivot(pivot_columns);
  for (std::size_t depth : hp.depths) {
    std::vector<std::string> row = {std::to_string(depth)};
    for (Opt opt : kOpts) {
      for (Family f : kFamilies) {
        const Cell& c = sweep.at(opt, f, depth);
        row.push_back(fmt(c.mean(&Run::test_accuracy), 3) + (c.diverged() ? " (diverged " + std::to_string(c.diverged()) + ")" : ""));
      }
    }
    pivot.add_row(row);
  }
  e.table("test_accuracy", "Test accuracy by depth (sgdm = SGD with momentum 0.9, lr " + fmt(kSgdLr, 2) +
                               "; adam = Adam, lr " + fmt(kAdamLr, 3) + "; " + setup_text(hp) + ")",
          pivot);
}

// One table per optimizer: every model and depth, with its size, accuracies, gradients and time.
void details_tables(Experiment& e, const Sweep& sweep, const Hyper& hp) {
  for (Opt opt : kOpts) {
    Table table({"model", "depth", "hidden_dense_layers", "parameters", "train_acc", "test_acc", "test_acc_sd",
                 "diverged_runs", "grad_W1_init", "grad_W1_end", "ms_per_epoch"});
    for (std::size_t depth : hp.depths) {
      for (Family f : kFamilies) {
        const Cell& c = sweep.at(opt, f, depth);
        table.add_row({family_name(f), std::to_string(depth), std::to_string(c.dense_layers),
                       std::to_string(c.parameters), fmt(c.mean(&Run::train_accuracy)),
                       fmt(c.mean(&Run::test_accuracy)), fmt(c.sd(&Run::test_accuracy)),
                       std::to_string(c.diverged()) + "/" + std::to_string(c.runs.size()),
                       sci(c.mean(&Run::grad_first_init)), sci(c.mean(&Run::grad_first_end, true)),
                       fmt(c.mean(&Run::seconds_per_epoch) * 1000.0, 2)});
      }
    }
    e.table(std::string("results_") + opt_name(opt),
            std::string("Details, ") + (opt == Opt::adam ? "Adam" : "SGD with momentum") + " (" + setup_text(hp) +
                "; grad_W1 = ‖∂L/∂W₁‖ on the whole training set before the first and after the last step, "
                "the latter over the runs that did not diverge)",
            table);
  }
}

// One row per depth, one column per model, optimizer and quantity: the data behind the figures.
void by_depth_csv(Experiment& e, const Sweep& sweep, const Hyper& hp) {
  std::vector<std::string> columns = {"depth"};
  for (Family f : kFamilies) columns.push_back(std::string(family_name(f)) + "_grad_init");
  for (Opt opt : kOpts) {
    for (Family f : kFamilies) {
      const std::string n = std::string(family_name(f)) + "_" + opt_name(opt);
      for (const char* q : {"_test_acc", "_grad_end", "_ms_per_epoch"}) columns.push_back(n + q);
    }
  }
  std::vector<std::vector<double>> rows;
  for (std::size_t depth : hp.depths) {
    std::vector<double> row = {static_cast<double>(depth)};
    for (Family f : kFamilies) row.push_back(sweep.at(kOpts[0], f, depth).mean(&Run::grad_first_init));
    for (Opt opt : kOpts) {
      for (Family f : kFamilies) {
        const Cell& c = sweep.at(opt, f, depth);
        row.insert(row.end(), {c.mean(&Run::test_accuracy), c.mean(&Run::grad_first_end, true),
                               c.mean(&Run::seconds_per_epoch) * 1000.0});
      }
    }
    rows.push_back(row);
  }
  e.csv("by_depth", columns, rows);
}

// The figures of by_depth.csv: test accuracy, the first-layer gradient and the time against depth.
void by_depth_figures(Experiment& e) {
  Panel grad_init = line_panel("At initialization", "depth (hidden Dense layers)", "‖∂L/∂W₁‖", true);
  Panel time = line_panel("Time per epoch (SGD with momentum)", "depth", "ms", true);
  std::vector<Panel> acc_panels, end_panels;
  for (Opt opt : kOpts) {
    const std::string o = opt == Opt::adam ? "Adam" : "SGD with momentum";
    acc_panels.push_back(line_panel("Test accuracy, " + o, "depth (hidden Dense layers)", "accuracy"));
    end_panels.push_back(line_panel("After training, " + o, "depth", "‖∂L/∂W₁‖", true));
  }
  for (Family f : kFamilies) {
    const std::string n = family_name(f);
    grad_init.series.push_back({"by_depth", "depth", n + "_grad_init", n});
    time.series.push_back({"by_depth", "depth", n + "_sgdm_ms_per_epoch", n});
    for (std::size_t i = 0; i < std::size(kOpts); ++i) {
      const std::string c = n + "_" + opt_name(kOpts[i]);
      acc_panels[i].series.push_back({"by_depth", "depth", c + "_test_acc", n});
      end_panels[i].series.push_back({"by_depth", "depth", c + "_grad_end", n});
    }
  }
  e.figure("accuracy", Figure{"Test accuracy vs depth", 1, 2, acc_panels});
  e.figure("gradients", Figure{"First-layer gradient norm vs depth (log scale)", 1, 3,
                               {grad_init, end_panels[0], end_panels[1]}});
  e.figure("time", Figure{"Training time per epoch vs depth", 1, 1, {time}});
}

// At the deepest depth (first seed): the gradient norm of every Dense layer at initialization,
// from the input to the output, and the validation accuracy during training.
void deepest_csvs(Experiment& e, const Sweep& sweep, const Hyper& hp) {
  const std::size_t deepest = hp.depths.back();
  std::vector<std::string> layer_columns = {"layer"};
  std::vector<std::string> curve_columns = {"epoch"};
  for (Family f : kFamilies) layer_columns.push_back(std::string(family_name(f)) + "_grad");
  for (Opt opt : kOpts) {
    for (Family f : kFamilies) curve_columns.push_back(std::string(family_name(f)) + "_" + opt_name(opt) + "_val_acc");
  }
  std::size_t max_layers = 0;
  for (Family f : kFamilies) max_layers = std::max(max_layers, sweep.at(kOpts[0], f, deepest).runs[0].layer_grads_init.size());
  std::vector<std::vector<double>> layer_rows, curve_rows;
  for (std::size_t l = 0; l < max_layers; ++l) {
    std::vector<double> row = {static_cast<double>(l + 1)};
    for (Family f : kFamilies) {
      const std::vector<double>& g = sweep.at(kOpts[0], f, deepest).runs[0].layer_grads_init;
      row.push_back(l < g.size() ? g[l] : NAN);
    }
    layer_rows.push_back(row);
  }
  for (std::size_t ep = 0; ep < hp.epochs; ++ep) {
    std::vector<double> row = {static_cast<double>(ep + 1)};
    for (Opt opt : kOpts) {
      for (Family f : kFamilies) row.push_back(sweep.at(opt, f, deepest).runs[0].val_curve[ep]);
    }
    curve_rows.push_back(row);
  }
  e.csv("layer_grads_deepest", layer_columns, layer_rows);
  e.csv("curves_deepest", curve_columns, curve_rows);
}

// The figure of deepest_csvs' files.
void deepest_figure(Experiment& e, const Hyper& hp) {
  Panel per_layer = line_panel("‖∂L/∂W‖ per Dense layer at init", "Dense layer (input → output)", "‖∂L/∂W‖", true);
  std::vector<Panel> curve_panels;
  for (Opt opt : kOpts) {
    Panel p = line_panel(std::string("Validation accuracy, ") + (opt == Opt::adam ? "Adam" : "SGD with momentum"),
                         "epoch", "accuracy");
    for (Family f : kFamilies) {
      const std::string n = family_name(f);
      p.series.push_back({"curves_deepest", "epoch", n + "_" + opt_name(opt) + "_val_acc", n});
    }
    curve_panels.push_back(p);
  }
  for (Family f : kFamilies) {
    const std::string n = family_name(f);
    per_layer.series.push_back({"layer_grads_deepest", "layer", n + "_grad", n});
  }
  e.figure("deepest", Figure{"Depth " + std::to_string(hp.depths.back()) + " (first seed)", 1, 3,
                             {per_layer, curve_panels[0], curve_panels[1]}});
}

// The residual block of the shallowest ResNet, drawn as built.
void explain_block(Experiment& e, const Hyper& hp) {
  std::unique_ptr<Sequential> resnet = build(Family::resnet, hp.depths.front(), hp.width, e.seed());
  auto* block = dynamic_cast<ResidualBlock*>(resnet->children().at(1));
  if (block == nullptr) throw std::logic_error("depth: the ResNet's second layer is not a residual block");
  e.note("Each residual block of the `resnet` models of this section, drawn from the block as built (the notebook's "
         "figure in §9):\n\n" + residual_block_diagram(*block));
}

// What was trained and how, and what the columns mean.
void explain_setup(Experiment& e, const Hyper& hp) {
  e.note(
      "Setup: " + std::to_string(hp.width) + " units per hidden layer, ReLU, He-normal init, batch " +
      std::to_string(hp.batch) + ", " + std::to_string(hp.epochs) + " epochs, no early stopping (the test accuracy is the "
      "last epoch's), binary cross-entropy on the logit (docs/NOTEBOOK.md, defect 1: no extra σ′ factor). Two optimizers: SGD "
      "with momentum 0.9 and lr " + fmt(kSgdLr, 2) + " (the notebook's optimizer is plain SGD with lr 0.01; with momentum "
      "a few dozen epochs suffice), and Adam with lr " + fmt(kAdamLr, 3) + ". The data (one draw for seed " +
      std::to_string(e.seed()) + ") is the same for every run; the seeds (" + std::to_string(hp.seeds) +
      ") change the initial weights and the batch order. *depth* is the number of hidden Dense layers: `plain` is the "
      "notebook's DeepNeuralNetwork (Dense → ReLU), `plain_bn` the same with BatchNorm (Dense → BN → ReLU); "
      "`resnet` is the notebook's ResNet — an input Dense layer, then depth/2 residual blocks of two Dense layers "
      "with BatchNorm (so depth + 1 hidden Dense layers for even depths); `densenet` has blocks of " +
      std::to_string(kDenseLayersPerBlock) + " BN → ReLU → Dense layers (growth rate " + std::to_string(std::max<std::size_t>(1, hp.width / 4)) +
      "), each followed by a transition BN → ReLU → Dense (the DenseNet paper's order), with as many blocks as "
      "come closest to the depth (hidden_dense_layers gives the count built); `densenet_plain_transition` is the same "
      "with the transition Dense → ReLU, without BatchNorm. grad_W1 is ‖∂L/∂W₁‖ (Frobenius) of the first Dense layer for "
      "the whole training set as one batch. A run *diverged* when its loss became NaN/inf; its test accuracy (0: rows with NaN outputs count as "
      "wrong, train/trainer.h) is still averaged in. Time per epoch includes evaluating the training and validation sets, and is "
      "noisy at these sizes (well under a millisecond per layer).");
}

// The sweep's numbers at its shallowest and deepest depth, as the findings quote them.
struct Reading {
  const Sweep& sweep;
  std::size_t shallow, deepest;

  // Mean test accuracy at the deepest depth, with the diverged runs if any: "0.512 (1/3 diverged)".
  std::string acc_text(Opt o, Family f) const {
    const Cell& c = sweep.at(o, f, deepest);
    return fmt(c.mean(&Run::test_accuracy), 3) +
           (c.diverged() ? " (" + std::to_string(c.diverged()) + "/" + std::to_string(c.runs.size()) + " diverged)" : "");
  }
  double acc(Opt o, Family f, std::size_t depth) const { return sweep.at(o, f, depth).mean(&Run::test_accuracy); }
  // The first-layer gradient at initialization.
  double g0(Family f, std::size_t depth) const { return sweep.at(kOpts[0], f, depth).mean(&Run::grad_first_init); }
  // Its geometric-mean growth per layer from the shallowest to the deepest depth.
  double rate(Family f) const {
    return std::pow(g0(f, deepest) / g0(f, shallow), 1.0 / static_cast<double>(deepest - shallow));
  }
};

constexpr double kTrains = 0.75;  // test accuracy that counts as "trained" (chance is 0.5)

// The accuracies at the deepest depth, and which families train at every depth with both optimizers.
std::string accuracy_findings(const Reading& r, const std::vector<std::size_t>& depths) {
  std::string text = "**What it shows** (this run). At depth " + std::to_string(r.deepest) +
                     " with SGD + momentum the ResNet reaches " + r.acc_text(Opt::sgd_momentum, Family::resnet) +
                     " test accuracy, the plain network " + r.acc_text(Opt::sgd_momentum, Family::plain) +
                     ", plain + BN " + r.acc_text(Opt::sgd_momentum, Family::plain_bn) + " and the DenseNet " +
                     r.acc_text(Opt::sgd_momentum, Family::densenet) + " (0.5 is chance); with Adam: ResNet " +
                     r.acc_text(Opt::adam, Family::resnet) + ", plain " + r.acc_text(Opt::adam, Family::plain) +
                     ", plain + BN " + r.acc_text(Opt::adam, Family::plain_bn) + ", DenseNet " +
                     r.acc_text(Opt::adam, Family::densenet) + ". At depth " + std::to_string(r.shallow) +
                     " all of them are within a few points of each other: the problem is easy and 600 samples are few. ";
  // Which families train (test accuracy >= kTrains) at every depth with both optimizers.
  std::vector<std::string> robust;
  for (Family f : kFamilies) {
    bool all = true;
    for (Opt o : kOpts) {
      for (std::size_t depth : depths) all = all && r.acc(o, f, depth) >= kTrains;
    }
    if (all) robust.push_back(family_name(f));
  }
  if (robust.size() == 1) {
    text += "Only `" + robust[0] + "` reaches " + fmt(kTrains, 2) +
            " at every depth with both optimizers. ";
  }
  return text;
}

// How the first-layer gradient at initialization changes with depth: plain, plain + BN, DenseNet.
std::string gradient_findings(const Reading& r) {
  std::string text = "The first-layer gradient at initialization explains most of it. In the plain ReLU stack with He init "
                     "it " + std::string(r.rate(Family::plain) < 1.0 ? "shrinks" : "grows") + " with depth, by ×" +
                     fmt(r.rate(Family::plain), 3) + " per layer (" + sci(r.g0(Family::plain, r.shallow)) + " at depth " +
                     std::to_string(r.shallow) + ", " + sci(r.g0(Family::plain, r.deepest)) + " at " +
                     std::to_string(r.deepest) + ")";
  const Cell& deep_plain = r.sweep.at(Opt::sgd_momentum, Family::plain, r.deepest);
  const double plain_end = deep_plain.mean(&Run::grad_first_end, true);
  if (plain_end < 1e-6 && deep_plain.mean(&Run::test_accuracy) < 0.6) {
    text += "; after SGD the depth-" + std::to_string(r.deepest) + " plain network's first-layer gradient is " +
            sci(plain_end) + ": its ReLUs are dead and it predicts one class";
  }
  text += ". ";
  if (r.rate(Family::plain_bn) > 1.05) {
    text += "With BatchNorm after every layer and no skip connection it *explodes*, by about ×" +
            fmt(r.rate(Family::plain_bn), 2) + " per layer (" + sci(r.g0(Family::plain_bn, r.shallow)) + " → " +
            sci(r.g0(Family::plain_bn, r.deepest)) + "): the gradient explosion that Yang et al. (2019, \"A Mean "
            "Field Theory of Batch Normalization\") prove for BN networks without skip connections (simdnn's "
            "BatchNorm backward pass is checked against finite differences in the tests: this is the "
            "mathematics, not a bug). ";
  }
  if (r.rate(Family::densenet) > 1.02) {
    text += "The DenseNet's BN → ReLU → Dense units grow it too (" + sci(r.g0(Family::densenet, r.shallow)) + " → " +
            sci(r.g0(Family::densenet, r.deepest)) + ")";
    text += r.sweep.at(Opt::sgd_momentum, Family::densenet, r.deepest).diverged() > 0
                ? ", and with SGD its deepest variant diverges. "
                : ". ";
  }
  return text;
}

// What BatchNorm in the DenseNet's transitions does, and why the ResNet and Adam cope with depth.
std::string remedy_findings(const Reading& r) {
  const Cell& with = r.sweep.at(Opt::sgd_momentum, Family::densenet, r.deepest);
  const Cell& without = r.sweep.at(Opt::sgd_momentum, Family::densenet_plain_transition, r.deepest);
  const bool helps = with.diverged() < without.diverged() ||
                     with.mean(&Run::test_accuracy) > without.mean(&Run::test_accuracy) + 0.05;
  std::string text = std::string("BatchNorm in the DenseNet's transitions ") +
                     (helps ? "is what keeps the deep DenseNet training" : "makes little difference here") +
                     ": at depth " + std::to_string(r.deepest) + " with SGD + momentum it reaches " +
                     r.acc_text(Opt::sgd_momentum, Family::densenet) + " with it and " +
                     r.acc_text(Opt::sgd_momentum, Family::densenet_plain_transition) +
                     " without (each transition then feeds the next block unnormalized features whose scale compounds). ";
  text += "The ResNet's gradient stays moderate (" + sci(r.g0(Family::resnet, r.shallow)) + " → " +
          sci(r.g0(Family::resnet, r.deepest)) + "): the identity path of every block carries it past the BN "
          "layers. Adam scales every parameter's step by that parameter's own gradient RMS, so the size of the "
          "gradient matters less to it than to SGD";
  text += r.acc(Opt::adam, Family::plain, r.deepest) > r.acc(Opt::sgd_momentum, Family::plain, r.deepest) + 0.05
              ? " (its depth-" + std::to_string(r.deepest) + " plain network does better than SGD's)"
              : "";
  text += r.acc(Opt::adam, Family::plain_bn, r.deepest) < kTrains ? "; it does not rescue the BN explosion." : ".";
  return text;
}

// "5", "5 and 10", "5, 10 and 20".
std::string depth_list(const std::vector<std::size_t>& depths) {
  std::string text;
  for (std::size_t i = 0; i < depths.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == depths.size() ? " and " : ", ") + std::to_string(depths[i]);
  }
  return text;
}

// What the tables show, with this run's numbers; each claim only where the numbers bear it out.
void explain_findings(Experiment& e, const Sweep& sweep, const Hyper& hp) {
  const std::vector<std::size_t>& depths = hp.depths;
  if (e.quick()) {
    // Without --quick the sweep would go up to --depth if given, else to kDepths' deepest.
    const std::size_t full_deepest = e.settings().changed("depth") ? depths.back() : kDepths.back();
    e.note("**Quick run:** depth" + std::string(depths.size() == 1 ? " " : "s ") + depth_list(depths) + ", " +
           std::to_string(hp.epochs) + " epochs, one seed — too shallow and too short to show the effect of depth; "
           "run without --quick for depths up to " + std::to_string(full_deepest) + ".");
  } else if (depths.size() == 1) {
    e.note("**One depth only** (" + std::to_string(depths.back()) + "): the effect of depth needs at least two; "
           "give a larger --depth.");
  } else {
    const Reading r{sweep, depths.front(), depths.back()};
    e.note(accuracy_findings(r, depths) + gradient_findings(r) + remedy_findings(r));
  }
}

// Why the notebook has no numbers for its ResNet.
void explain_notebook(Experiment& e) {
  e.note(
      "The notebook's ResNet (docs/NOTEBOOK.md, defect 8) cannot be trained at all: its residual blocks have only a forward "
      "pass, its BatchNorm has no backward pass (defect 2) and `forward` runs in training mode by default, so the "
      "notebook never reports a number for it. simdnn's ResidualBlock has a full backward pass (checked against "
      "finite differences in tests/layers_test.cc and tests/models_test.cc), so here the ResNet is trained and "
      "compared with plain networks of the same depth, as exercise 4 asks. The notebook's data come from "
      "scikit-learn with random_state=42; simdnn's make_classification draws the same distribution from another "
      "generator, so the points, and the accuracies, differ somewhat.");
}

void run(Experiment& e) {
  const Hyper hp(e);
  const NotebookData d = load_notebook_data(e.seed());
  const Sweep sweep = train_sweep(e, d, hp);
  accuracy_table(e, sweep, hp);
  details_tables(e, sweep, hp);
  by_depth_csv(e, sweep, hp);
  by_depth_figures(e);
  deepest_csvs(e, sweep, hp);
  deepest_figure(e, hp);
  explain_block(e, hp);
  explain_setup(e, hp);
  explain_findings(e, sweep, hp);
  explain_notebook(e);
}

const bool registered = register_experiment(
    80, {"depth", "8. Depth: plain MLP vs ResNet vs DenseNet",
         "plain MLP, MLP+BN, ResNet and DenseNet at depths 5-100: accuracy, first-layer gradient, time", run,
         kSettings});

}  // namespace
}  // namespace simdnn::repro
