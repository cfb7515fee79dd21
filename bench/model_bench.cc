// Model-level comparisons, from the configurations of bench/model_configs.txt (the format is
// described there; SIMDNN_MODEL_CONFIGS overrides the path). Every time is one training step
// (forward, loss, backward, SGD update) per iteration.
//  - activation/ACT: the notebook's MLP 20-64-32-16-1 (He normal) on the notebook's data, SGD
//    lr 0.01, batch 32, 1 thread. Counters: us_per_step; val_accuracy after EPOCHS epochs of
//    Trainer::fit (seed 0), computed once per configuration outside the timed loop.
//  - init/INIT/ACT: the same network with INIT; counters us_per_step, epochs_to_target (the
//    first epoch, counted from 1, whose validation accuracy reaches TARGET; -1 if none within
//    MAX_EPOCHS), final_val_accuracy, grad_norm_first_layer (the Frobenius norm of dL/dW of the
//    first Dense layer for the whole training set before any update).
//  - depth/MODEL/DEPTH: mlp / resnet / densenet of DEPTH hidden Dense layers (as built: counter
//    dense_layers) of width WIDTH at batch BATCH, 1 thread. Counters us_per_step, samples/s,
//    GFLOP/s (6 · weight count · batch per step).
//  - threads/MODEL/DEPTH/threads:N: the same at N = 1 .. hardware_concurrency threads.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/table_file.h"
#include <simdnn/core/activation.h>
#include <simdnn/core/initializers.h>
#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include <simdnn/data/notebook.h>
#include <simdnn/data/preprocessing.h>
#include <simdnn/data/synthetic.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model_config.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/trainer.h>

namespace {

using namespace simdnn;

struct Config {
  std::string suite;       // activation, init, depth, threads
  std::string model;       // depth/threads: mlp, resnet, densenet
  Activation activation = Activation::relu;
  Init init = Init::he_normal;
  std::size_t epochs = 0;  // activation: epochs; init: max epochs
  double target = 0.0;     // init
  std::size_t depth = 0, width = 0, batch = 0;
};

std::vector<Config> read_configs(const std::string& path) {
  return bench::read_table<Config>(
      path, "a configuration line (see the format at the top of the file)",
      [](std::istringstream& fields, Config& c) {
        if (!(fields >> c.suite)) return false;
        std::string a, i;
        if (c.suite == "activation") {
          if (!(fields >> a >> c.epochs) || c.epochs == 0) return false;
          c.activation = parse_activation(a);
          return true;
        }
        if (c.suite == "init") {
          if (!(fields >> i >> a >> c.epochs >> c.target) || c.epochs == 0) return false;
          c.init = parse_init(i);
          c.activation = parse_activation(a);
          return true;
        }
        if (c.suite == "depth" || c.suite == "threads") {
          return static_cast<bool>(fields >> c.model >> c.depth >> c.width >> c.batch) &&
                 (c.model == "mlp" || c.model == "resnet" || c.model == "densenet") && c.depth > 0 &&
                 c.width > 0 && c.batch > 0;
        }
        return false;
      });
}

// The notebook's data set (data/notebook.h), built once.
const NotebookData& notebook_data() {
  static const NotebookData data = load_notebook_data(42);
  return data;
}

std::unique_ptr<Sequential> notebook_mlp(Activation activation, Init init) {
  MlpConfig c;
  c.inputs = 20;
  c.hidden = {64, 32, 16};
  c.activation = ActivationSpec::of(activation);
  c.init = InitSpec{.kind = init};
  return make_mlp(c);
}

ConstMatrixView rows(const Tensor& t, std::size_t begin, std::size_t count) {
  return {t.data() + begin * t.cols(), count, t.cols(), t.cols()};
}

// Times train_on_batch over consecutive batches of the training set (wrapping around).
void time_steps(benchmark::State& state, Layer& model, const Tensor& x, const Tensor& y, std::size_t batch) {
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(model), SgdOptions{.lr = 0.01});
  TrainerOptions options;
  options.record_grad_norms = false;
  Trainer trainer(model, loss, sgd, options);
  const std::size_t batches = x.rows() / batch;
  std::size_t b = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(trainer.train_on_batch(rows(x, b * batch, batch), rows(y, b * batch, batch)));
    b = b + 1 == batches ? 0 : b + 1;
  }
  state.counters["us_per_step"] = benchmark::Counter(1e-6, benchmark::Counter::kIsIterationInvariantRate |
                                                               benchmark::Counter::kInvert);
}

const History& fit_history(std::unique_ptr<Sequential>& model, std::size_t epochs, std::vector<History>& keep) {
  const NotebookData& d = notebook_data();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.01});
  TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = 32;
  options.record_grad_norms = false;
  Trainer trainer(*model, loss, sgd, options);
  keep.push_back(trainer.fit(d.x_train.cview(), d.y_train.cview(), d.x_val.cview(), d.y_val.cview()));
  return keep.back();
}

void bm_activation(benchmark::State& state, Config c) {
  set_num_threads(1);
  const NotebookData& d = notebook_data();
  static std::map<int, double> accuracy;  // computed once per activation (the function is re-entered)
  const int key = static_cast<int>(c.activation) * 100000 + static_cast<int>(c.epochs);
  if (!accuracy.count(key)) {
    auto model = notebook_mlp(c.activation, Init::he_normal);
    std::vector<History> keep;
    accuracy[key] = fit_history(model, c.epochs, keep).epochs.back().validation.accuracy;
  }
  auto model = notebook_mlp(c.activation, Init::he_normal);
  time_steps(state, *model, d.x_train, d.y_train, 32);
  state.counters["val_accuracy"] = accuracy[key];
  state.counters["epochs"] = static_cast<double>(c.epochs);
}

struct InitResult {
  double epochs_to_target, final_accuracy, grad_norm;
};

double first_layer_grad_norm(Sequential& model) {
  const NotebookData& d = notebook_data();
  BinaryCrossEntropyWithLogits loss;
  zero_grad(model);
  ConstMatrixView out = model.forward(d.x_train.cview(), Mode::train);
  loss.forward_backward(out, d.y_train.cview());
  model.backward(loss.gradient());
  for (const Parameter& p : all_parameters(model)) {
    if (p.name.find("weight") == std::string::npos) continue;
    double s = 0.0;
    const Tensor& g = *p.grad;
    for (std::size_t i = 0; i < g.size(); ++i) s += static_cast<double>(g.data()[i]) * g.data()[i];
    return std::sqrt(s);
  }
  return -1.0;
}

void bm_init(benchmark::State& state, Config c) {
  set_num_threads(1);
  const NotebookData& d = notebook_data();
  static std::map<std::string, InitResult> results;
  const std::string key = std::string(init_name(c.init)) + "/" + activation_name(c.activation) + "/" +
                          std::to_string(c.epochs) + "/" + std::to_string(c.target);
  if (!results.count(key)) {
    auto model = notebook_mlp(c.activation, c.init);
    InitResult r{-1.0, 0.0, first_layer_grad_norm(*model)};
    auto fresh = notebook_mlp(c.activation, c.init);
    std::vector<History> keep;
    const History& h = fit_history(fresh, c.epochs, keep);
    for (const EpochRecord& e : h.epochs) {
      if (e.validation.accuracy >= c.target) {
        r.epochs_to_target = static_cast<double>(e.epoch + 1);
        break;
      }
    }
    r.final_accuracy = h.epochs.back().validation.accuracy;
    results[key] = r;
  }
  auto model = notebook_mlp(c.activation, c.init);
  time_steps(state, *model, d.x_train, d.y_train, 32);
  const InitResult& r = results[key];
  state.counters["epochs_to_target"] = r.epochs_to_target;
  state.counters["final_val_accuracy"] = r.final_accuracy;
  state.counters["grad_norm_first_layer"] = r.grad_norm;
  state.counters["target"] = c.target;
  state.counters["max_epochs"] = static_cast<double>(c.epochs);
}

std::unique_ptr<Sequential> deep_model(const Config& c, std::size_t inputs) {
  if (c.model == "mlp") {
    MlpConfig m;
    m.inputs = inputs;
    m.hidden.assign(c.depth, c.width);
    return make_mlp(m);
  }
  if (c.model == "resnet") {
    ResNetConfig r;
    r.inputs = inputs;
    r.width = c.width;
    r.blocks = std::max<std::size_t>(1, c.depth / 2);
    return make_resnet(r);
  }
  DenseNetConfig n;
  n.inputs = inputs;
  n.width = c.width;
  n.blocks = std::max<std::size_t>(1, c.depth / 4);
  return make_densenet(n);
}

std::size_t count_dense(Layer& layer) {
  std::size_t n = std::string(layer.kind()) == "dense" ? 1 : 0;
  for (Layer* child : layer.children()) n += count_dense(*child);
  return n;
}

void bm_deep(benchmark::State& state, Config c, int threads) {
  set_num_threads(threads);
  constexpr std::size_t kInputs = 20;
  auto model = deep_model(c, kInputs);
  // Batches of normal inputs with labels from a fixed linear rule; 4 batches, cycled.
  Tensor x(4 * c.batch, kInputs), y(4 * c.batch, 1);
  fill_normal(x.view(), 0.0f, 1.0f, 5, 0);
  for (std::size_t i = 0; i < x.rows(); ++i) y(i, 0) = x(i, 0) - 0.5f * x(i, 1) + x(i, 2) > 0.0f ? 1.0f : 0.0f;
  std::size_t weights = 0;
  for (const Parameter& p : all_parameters(*model)) {
    if (p.name.find("weight") != std::string::npos) weights += p.value->size();
  }
  time_steps(state, *model, x, y, c.batch);
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(c.batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * static_cast<double>(weights) * static_cast<double>(c.batch) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["dense_layers"] = static_cast<double>(count_dense(*model));
  state.counters["threads"] = threads;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::vector<Config> configs =
      read_configs(bench::table_path("SIMDNN_MODEL_CONFIGS", "bench/model_configs.txt"));
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  for (const Config& c : configs) {
    if (c.suite == "activation") {
      benchmark::RegisterBenchmark((std::string("activation/") + activation_name(c.activation)).c_str(), bm_activation, c)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    } else if (c.suite == "init") {
      benchmark::RegisterBenchmark(
          (std::string("init/") + init_name(c.init) + "/" + activation_name(c.activation)).c_str(), bm_init, c)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    } else if (c.suite == "depth") {
      benchmark::RegisterBenchmark(("depth/" + c.model + "/" + std::to_string(c.depth)).c_str(), bm_deep, c, 1)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    } else {
      for (int t = 1; t <= cores; ++t) {
        benchmark::RegisterBenchmark(
            ("threads/" + c.model + "/" + std::to_string(c.depth) + "/threads:" + std::to_string(t)).c_str(), bm_deep, c, t)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
