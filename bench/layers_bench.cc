// Per-layer cost: one forward (Mode::train) plus one backward per iteration, at the MLP shapes of
// bench/layer_shapes.txt (rows "name batch width"; SIMDNN_LAYER_SHAPES overrides the path), on
// one thread.
//  - dense_relu: Dense(width -> width) with the fused ReLU epilogue; GFLOP/s counts
//    6·batch·width² per iteration (2 for x·W, 4 for the two backward products).
//  - batchnorm, batchnorm_relu (the pair BatchNorm → ReLU in one pass each way, as the residual
//    and dense blocks run it), dropout_0.5 and act_<name> for every activation (ActivationLayer):
//    Gelem/s counts batch·width elements per iteration (forward and backward together).
//  - copy: a memcpy of the batch·width floats, Gelem/s: the memory bandwidth the elementwise
//    layers are measured against (issue target: BatchNorm and Dropout at >= 50% of it).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/table_file.h"
#include <simdnn/core/activation.h>
#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>

namespace {

using namespace simdnn;

struct Shape {
  std::string name;
  std::size_t batch, width;
};

std::vector<Shape> read_shapes(const std::string& path) {
  return bench::read_table<Shape>(path, "'name batch width'", [](std::istringstream& fields, Shape& s) {
    return static_cast<bool>(fields >> s.name >> s.batch >> s.width) && s.batch > 0 && s.width > 0;
  });
}

// Runs forward(train) + backward of `layer` per iteration on normal inputs and gradients.
void run_layer(benchmark::State& state, Layer& layer, const Shape& s) {
  set_num_threads(1);
  Tensor x(s.batch, s.width), dy(s.batch, layer.output_width());
  fill_normal(x.view(), 0.0f, 1.0f, 11, 0);
  fill_normal(dy.view(), 0.0f, 1.0f, 11, 1);
  for (auto _ : state) {
    ConstMatrixView y = layer.forward(x.cview(), Mode::train);
    benchmark::DoNotOptimize(y.data);
    ConstMatrixView dx = layer.backward(dy.cview());
    benchmark::DoNotOptimize(dx.data);
    benchmark::ClobberMemory();
  }
}

void set_elements(benchmark::State& state, const Shape& s) {
  state.counters["Gelem/s"] = benchmark::Counter(static_cast<double>(s.batch * s.width) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void bm_dense(benchmark::State& state, Shape s) {
  DenseOptions o;
  o.activation = ActivationSpec::relu();
  o.weight_init = InitSpec::he_normal();
  Dense layer(s.width, s.width, o);
  run_layer(state, layer, s);
  state.counters["GFLOP/s"] = benchmark::Counter(
      6.0 * static_cast<double>(s.batch) * static_cast<double>(s.width * s.width) * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate);
}

void bm_copy(benchmark::State& state, Shape s) {
  Tensor x(s.batch, s.width), y(s.batch, s.width);
  fill_normal(x.view(), 0.0f, 1.0f, 11, 0);
  for (auto _ : state) {
    std::memcpy(y.data(), x.data(), x.size() * sizeof(float));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_elements(state, s);
}

void bm_batchnorm(benchmark::State& state, Shape s) {
  BatchNorm layer(s.width);
  run_layer(state, layer, s);
  set_elements(state, s);
}

// BatchNorm → ReLU as the blocks and Sequential run the pair: forward_relu, then backward through
// both.
void bm_batchnorm_relu(benchmark::State& state, Shape s) {
  set_num_threads(1);
  BatchNorm layer(s.width);
  Tensor x(s.batch, s.width), dy(s.batch, s.width);
  fill_normal(x.view(), 0.0f, 1.0f, 11, 0);
  fill_normal(dy.view(), 0.0f, 1.0f, 11, 1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(layer.forward_relu(x.cview(), Mode::train).data);
    benchmark::DoNotOptimize(layer.backward(dy.cview()).data);
    benchmark::ClobberMemory();
  }
  set_elements(state, s);
}

void bm_dropout(benchmark::State& state, Shape s) {
  Dropout layer(s.width, 0.5f);
  run_layer(state, layer, s);
  set_elements(state, s);
}

void bm_activation(benchmark::State& state, Shape s, Activation a) {
  ActivationLayer layer(s.width, ActivationSpec::of(a));
  run_layer(state, layer, s);
  set_elements(state, s);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::vector<Shape> shapes = read_shapes(bench::table_path("SIMDNN_LAYER_SHAPES", "bench/layer_shapes.txt"));
  for (const Shape& s : shapes) {
    const std::string suffix = "/" + s.name;
    benchmark::RegisterBenchmark(("dense_relu" + suffix).c_str(), bm_dense, s)->UseRealTime();
    benchmark::RegisterBenchmark(("copy" + suffix).c_str(), bm_copy, s)->UseRealTime();
    benchmark::RegisterBenchmark(("batchnorm" + suffix).c_str(), bm_batchnorm, s)->UseRealTime();
    benchmark::RegisterBenchmark(("batchnorm_relu" + suffix).c_str(), bm_batchnorm_relu, s)->UseRealTime();
    benchmark::RegisterBenchmark(("dropout_0.5" + suffix).c_str(), bm_dropout, s)->UseRealTime();
    for (Activation a : kAllActivations) {
      if (a == Activation::identity) continue;
      benchmark::RegisterBenchmark((std::string("act_") + activation_name(a) + suffix).c_str(), bm_activation, s, a)
          ->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
