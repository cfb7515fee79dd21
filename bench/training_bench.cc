// End-to-end training speed.
//  - notebook_500_epochs: the notebook's network 20-64-32-16-1 (ReLU, He init, SGD lr 0.01,
//    batch 32) for 500 epochs on 600 samples, evaluating the whole training and validation
//    (200) sets after every epoch, as the notebook does. Target: <= 0.1 s on one core.
//  - deep_mlp_step/threads:T/batch:B: one training step (forward, backward, SGD update) of 20
//    hidden layers of width 256 at batch 256 and 1024, at the thread counts of
//    bench/thread_counts.h (SIMDNN_BENCH_THREADS; 1 and 2 by default); GFLOP/s counts
//    6 × parameters × batch per step (2 for the forward product, 4 for the two backward products).
//    Target: >= 100 GFLOP/s per core. chunks:K runs the step as K gradient chunks
//    (TrainerOptions::gradient_chunks, the canonical order of data-parallel training): chunks:1
//    against chunks:2 to 16 is what that order costs a process alone; side_by_side:0 and 1 run
//    those chunks within_kernels and side_by_side (TrainerOptions::chunk_parallelism, the same
//    bits).
//  - vanishing_experiment/flush_denormals:{0,1}: the gradient measurement of repro's vanishing
//    experiment (one forward and backward of its six 20-layer, width-64 MLPs on 600 samples,
//    1 thread) with IEEE subnormals and with flush-to-zero (core/denormals.h). Counter
//    subnormal_pct: the share of the weight gradients that are subnormal under IEEE.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include <simdnn/core/denormals.h>
#include <simdnn/core/random.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model_config.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/trainer.h>

#include "bench/thread_counts.h"

namespace simdnn {
namespace {

std::unique_ptr<Sequential> mlp(std::size_t inputs, std::size_t width, std::size_t depth, std::size_t outputs,
                                const std::size_t* widths = nullptr) {
  auto model = std::make_unique<Sequential>();
  DenseOptions hidden;
  hidden.activation = ActivationSpec::relu();
  hidden.weight_init = InitSpec::he_normal();
  std::size_t in = inputs;
  for (std::size_t l = 0; l < depth; ++l) {
    const std::size_t out = widths != nullptr ? widths[l] : width;
    hidden.stream = l;
    model->emplace<Dense>(in, out, hidden);
    in = out;
  }
  DenseOptions head;
  head.weight_init = InitSpec::he_normal();
  head.stream = depth;
  model->emplace<Dense>(in, outputs, head);
  return model;
}

// Binary targets from a random linear rule, so the task is learnable.
void make_data(Tensor& x, Tensor& y, std::uint64_t seed) {
  fill_normal(x.view(), 0.0f, 1.0f, seed, 0);
  for (std::size_t i = 0; i < x.rows(); ++i) {
    float s = 0.0f;
    for (std::size_t j = 0; j < x.cols(); ++j) s += (j % 3 == 0 ? 1.0f : -0.5f) * x(i, j);
    y(i, 0) = s > 0.0f ? 1.0f : 0.0f;
  }
}

void notebook_500_epochs(benchmark::State& state) {
  set_num_threads(1);
  Tensor x(600, 20), y(600, 1), xv(200, 20), yv(200, 1);
  make_data(x, y, 1);
  make_data(xv, yv, 2);
  const std::size_t widths[] = {64, 32, 16};
  double accuracy = 0.0;
  for (auto _ : state) {
    auto model = mlp(20, 0, 3, 1, widths);
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.01});
    TrainerOptions options;
    options.epochs = 500;
    options.batch_size = 32;
    options.record_grad_norms = false;
    Trainer trainer(*model, loss, sgd, options);
    const History& h = trainer.fit(x.cview(), y.cview(), xv.cview(), yv.cview());
    accuracy = h.epochs.back().validation.accuracy;
  }
  state.counters["val_accuracy"] = accuracy;
}
BENCHMARK(notebook_500_epochs)->Unit(benchmark::kMillisecond)->UseRealTime();

void deep_mlp_step(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const auto kBatch = static_cast<std::size_t>(state.range(1));
  const auto chunks = static_cast<std::size_t>(state.range(2));
  const bool side_by_side = state.range(3) != 0;
  set_num_threads(threads);
  constexpr std::size_t kWidth = 256, kDepth = 20;
  auto model = mlp(kWidth, kWidth, kDepth, 1);
  Tensor x(kBatch, kWidth), y(kBatch, 1);
  make_data(x, y, 3);
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.001});
  TrainerOptions options;
  options.record_grad_norms = false;
  options.gradient_chunks = chunks;
  options.chunk_parallelism = side_by_side ? ChunkParallelism::side_by_side : ChunkParallelism::within_kernels;
  Trainer trainer(*model, loss, sgd, options);
  std::size_t params = 0;
  for (const Parameter& p : all_parameters(*model)) params += p.value->size();
  for (auto _ : state) benchmark::DoNotOptimize(trainer.train_on_batch(x.cview(), y.cview()));
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * static_cast<double>(params) * kBatch * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s/core"] = benchmark::Counter(6.0 * static_cast<double>(params) * kBatch * 1e-9 / threads,
                                                      benchmark::Counter::kIsIterationInvariantRate);
}

void vanishing_experiment(benchmark::State& state) {
  set_num_threads(1);
  const ScopedFlushDenormals policy(state.range(0) != 0);
  Tensor x(600, 20), y(600, 1);
  make_data(x, y, 3);
  const std::pair<Activation, InitSpec> configs[] = {
      {Activation::sigmoid, InitSpec::xavier_normal()}, {Activation::tanh, InitSpec::xavier_normal()},
      {Activation::relu, InitSpec::he_normal()},        {Activation::sigmoid, InitSpec::he_normal()},
      {Activation::tanh, InitSpec::he_normal()},        {Activation::relu, InitSpec::xavier_normal()}};
  std::vector<std::unique_ptr<Sequential>> models;
  for (const auto& [activation, init] : configs) {
    MlpConfig config;
    config.inputs = 20;
    config.hidden.assign(20, 64);
    config.activation = ActivationSpec::of(activation);
    config.init = init;
    config.seed = 7;
    models.push_back(make_mlp(config));
  }
  BinaryCrossEntropyWithLogits loss;
  auto step = [&](Sequential& model) {
    loss.forward_backward(model.forward(x.cview(), Mode::train), y.cview());
    zero_grad(model);
    model.backward(loss.gradient());
  };
  for (auto _ : state) {
    for (auto& model : models) step(*model);
  }
  std::size_t subnormal = 0, total = 0;
  {
    const ScopedFlushDenormals ieee(false);
    for (auto& model : models) {
      step(*model);
      for (const Parameter& p : all_parameters(*model)) {
        for (std::size_t i = 0; i < p.grad->size(); ++i) subnormal += std::fpclassify(p.grad->data()[i]) == FP_SUBNORMAL;
        total += p.grad->size();
      }
    }
  }
  state.counters["subnormal_pct"] = 100.0 * static_cast<double>(subnormal) / static_cast<double>(total);
}
BENCHMARK(vanishing_experiment)->ArgName("flush_denormals")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace simdnn

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<int> threads;
  try {
    threads = simdnn::bench::thread_counts();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "training_bench: %s\n", e.what());
    return 2;
  }
  auto* deep = benchmark::RegisterBenchmark("deep_mlp_step", simdnn::deep_mlp_step);
  deep->ArgNames({"threads", "batch", "chunks", "side_by_side"})->UseRealTime();
  for (int t : threads) {
    for (int batch : {256, 1024}) {
      deep->Args({t, batch, 1, 0});
      for (int chunks : {2, 4, 8, 16}) {
        for (int side_by_side : {0, 1}) deep->Args({t, batch, chunks, side_by_side});
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
