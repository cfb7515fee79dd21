// End to end: whole training runs, timed the same way in simdnn (here), PyTorch
// (tools/torch_baseline.py) and plain numpy in float64 (tools/numpy_baseline.py);
// tools/bench_report runs all three and reports the ratios from one session.
//
//  - notebook/<experiment>: the notebook's four regularization experiments (basic; dropout 0.3;
//    L2 0.01; dropout 0.3 + L2 0.01 + BatchNorm) — 20-64-32-16-1 ReLU, He normal init, logits with
//    binary cross-entropy, SGD lr 0.01, batch 32, kNotebookEpochs epochs on the notebook's data
//    (make_classification(1000, 20, 15 informative, 5 redundant), 600 training and 200 validation
//    samples, standard scaling); each epoch shuffles, trains, then evaluates the whole training
//    and validation sets, as the notebook does. L2 is λ/2·‖W‖² (PyTorch's weight_decay on the
//    weights only). 1 thread.
//  - deep_mlp/batch:B/threads:T: one epoch of 20 hidden layers of width 256 (input 256, one logit
//    output, ReLU, He normal init, SGD lr 0.001) over 10,000 samples in consecutive batches of B
//    (the last one smaller); GFLOP/s counts 6 × parameters × 10,000 (2 for the forward product, 4
//    for the two backward ones). B = 256 at 1 and 2 threads; B = 1024 at every thread count from
//    1 to the hardware's, for thread scaling.
//
//   end_to_end_bench --dump_data=DIR   writes the data sets as .npy files (float32) for the
//                                      Python baselines and exits; any other flags go to
//                                      Google Benchmark.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/core/threading.h>
#include <simdnn/data/notebook.h>
#include <simdnn/data/preprocessing.h>
#include <simdnn/data/synthetic.h>
#include <simdnn/models/model_config.h>
#include <simdnn/train/regularizer.h>
#include <simdnn/train/trainer.h>

namespace simdnn {
namespace {

constexpr std::size_t kNotebookEpochs = 100;
constexpr std::size_t kDeepWidth = 256, kDeepDepth = 20, kDeepSamples = 10000;
constexpr double kDeepLr = 0.001;

// The notebook's data set (data/notebook.h), built once.
const NotebookData& notebook_sets() {
  static const NotebookData data = load_notebook_data(42);
  return data;
}

// Normal features; binary targets from a fixed linear rule, so the task is learnable.
struct DeepSet {
  Tensor x, y;
};
const DeepSet& deep_set() {
  static const DeepSet set = [] {
    DeepSet s{Tensor(kDeepSamples, kDeepWidth), Tensor(kDeepSamples, 1)};
    fill_normal(s.x.view(), 0.0f, 1.0f, 7, 0);
    for (std::size_t i = 0; i < kDeepSamples; ++i) {
      float sum = 0.0f;
      for (std::size_t j = 0; j < kDeepWidth; ++j) sum += (j % 3 == 0 ? 1.0f : -0.5f) * s.x(i, j);
      s.y(i, 0) = sum > 0.0f ? 1.0f : 0.0f;
    }
    return s;
  }();
  return set;
}

struct Experiment {
  const char* name;
  float dropout;
  double l2;
  bool batch_norm;
};
constexpr Experiment kExperiments[] = {
    {"basic", 0.0f, 0.0, false},
    {"dropout", 0.3f, 0.0, false},
    {"l2", 0.0f, 0.01, false},
    {"dropout_l2_batchnorm", 0.3f, 0.01, true},
};

void notebook(benchmark::State& state, Experiment e) {
  set_num_threads(1);
  const NotebookData& d = notebook_sets();
  double accuracy = 0.0;
  std::uint64_t seed = 0;
  for (auto _ : state) {
    MlpConfig config;
    config.inputs = 20;
    config.hidden = {64, 32, 16};
    config.outputs = 1;
    config.activation = ActivationSpec::relu();
    config.init = InitSpec::he_normal();
    config.dropout = e.dropout;
    config.batch_norm = e.batch_norm;
    config.seed = seed;
    std::unique_ptr<Sequential> model = make_mlp(config);
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.01});
    L2Regularizer l2(e.l2);
    TrainerOptions options;
    options.epochs = kNotebookEpochs;
    options.batch_size = 32;
    options.seed = seed++;
    options.record_grad_norms = false;
    if (e.l2 > 0.0) options.regularizer = &l2;
    Trainer trainer(*model, loss, sgd, options);
    const History& h = trainer.fit(d.x_train.cview(), d.y_train.cview(), d.x_val.cview(), d.y_val.cview());
    accuracy = h.epochs.back().validation.accuracy;
  }
  state.counters["val_accuracy"] = accuracy;
  state.counters["epochs"] = static_cast<double>(kNotebookEpochs);
}

std::unique_ptr<Sequential> deep_model() {
  MlpConfig config;
  config.inputs = kDeepWidth;
  config.hidden.assign(kDeepDepth, kDeepWidth);
  config.outputs = 1;
  config.activation = ActivationSpec::relu();
  config.init = InitSpec::he_normal();
  config.seed = 1;
  return make_mlp(config);
}

void deep_mlp(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  set_num_threads(threads);
  const DeepSet& d = deep_set();
  std::unique_ptr<Sequential> model = deep_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = kDeepLr});
  TrainerOptions options;
  options.record_grad_norms = false;
  Trainer trainer(*model, loss, sgd, options);
  std::size_t params = 0;
  for (const Parameter& p : all_parameters(*model)) params += p.value->size();
  double last_loss = 0.0;
  for (auto _ : state) {
    for (std::size_t begin = 0; begin < kDeepSamples; begin += batch) {
      const std::size_t rows = std::min(batch, kDeepSamples - begin);
      const ConstMatrixView x = d.x.cview(), y = d.y.cview();
      last_loss = trainer.train_on_batch(ConstMatrixView{x.row(begin), rows, x.cols, x.ld},
                                         ConstMatrixView{y.row(begin), rows, y.cols, y.ld});
    }
  }
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * static_cast<double>(params) * kDeepSamples * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s/core"] = benchmark::Counter(
      6.0 * static_cast<double>(params) * kDeepSamples * 1e-9 / threads, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["params"] = static_cast<double>(params);
  state.counters["loss"] = last_loss;
}

void register_all() {
  for (const Experiment& e : kExperiments) {
    benchmark::RegisterBenchmark((std::string("notebook/") + e.name).c_str(), notebook, e)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  auto* b = benchmark::RegisterBenchmark("deep_mlp", deep_mlp);
  b->ArgNames({"batch", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
  b->Args({256, 1})->Args({256, 2});
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int t = 1; t <= hw; t = (t < 4 || t == hw) ? t + 1 : std::min(t * 2, hw)) b->Args({1024, t});
}

// .npy version 1.0, little-endian float32, C order.
void write_npy(const std::filesystem::path& path, const Tensor& t) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(t.rows()) + ", " +
                       std::to_string(t.cols()) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (std::size_t r = 0; r < t.rows(); ++r) {
    for (std::size_t c = 0; c < t.cols(); ++c) {
      const float v = t(r, c);
      out.write(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void dump_data(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const NotebookData& n = notebook_sets();
  write_npy(dir / "notebook_x_train.npy", n.x_train);
  write_npy(dir / "notebook_y_train.npy", n.y_train);
  write_npy(dir / "notebook_x_val.npy", n.x_val);
  write_npy(dir / "notebook_y_val.npy", n.y_val);
  const DeepSet& d = deep_set();
  write_npy(dir / "deep_x.npy", d.x);
  write_npy(dir / "deep_y.npy", d.y);
  std::printf("wrote the data sets to %s\n", dir.string().c_str());
}

}  // namespace
}  // namespace simdnn

int main(int argc, char** argv) {
  constexpr const char kDump[] = "--dump_data=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], kDump, sizeof kDump - 1) == 0) {
      simdnn::dump_data(argv[i] + sizeof kDump - 1);
      return 0;
    }
  }
  simdnn::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
