// Elementwise throughput: every activation's forward pass in simdnn, Eigen's vectorized array
// functions and a plain std:: loop, at 2^14 elements (in cache) and 2^24 (streaming from memory),
// plus memcpy at the same sizes as the memory-bound ceiling. One binary, so each ratio comes from
// one run on one machine. Everything runs on one thread. Counter Gelem/s = 10^9 elements/second.
//
// Names are impl/op/n (impl: simdnn_<isa>, eigen, std, memcpy), as tools/bench_report expects.
// Inputs are uniform in [-5, 5], the range of typical pre-activations (and inside Eigen's fast
// path for logistic(), which switches to exp() below -9).
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>

#include "bench/elementwise_peers.h"
#include <simdnn/core/activation.h>
#include <simdnn/core/elementwise.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>

namespace {

using simdnn::ActivationSpec;

constexpr std::size_t kSizes[] = {std::size_t{1} << 14, std::size_t{1} << 24};

// 64-byte aligned, as simdnn's Tensors are (a misaligned output costs every implementation
// split-cache-line stores).
struct Buffers {
  simdnn::Tensor x, y;
  explicit Buffers(std::size_t n) : x(1, n), y(1, n) {
    std::mt19937 gen(42);
    std::uniform_real_distribution<float> dist(-5.0f, 5.0f);
    for (std::size_t i = 0; i < n; ++i) x.data()[i] = dist(gen);
  }
};

Buffers& buffers(std::size_t n) {
  static Buffers small(kSizes[0]);
  static Buffers large(kSizes[1]);
  return n == kSizes[0] ? small : large;
}

template <class F>
void run(benchmark::State& state, std::size_t n, F f) {
  Buffers& b = buffers(n);
  for (auto _ : state) {
    f(b.x.data(), b.y.data(), n);
    benchmark::DoNotOptimize(b.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["Gelem/s"] = benchmark::Counter(static_cast<double>(n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
  simdnn::set_num_threads(1);
  const std::string isa = std::string("simdnn_") + simdnn::isa_name();
  for (std::size_t n : kSizes) {
    const std::string size = "/" + std::to_string(n);
    for (simdnn::Activation kind : simdnn::kAllActivations) {
      const ActivationSpec act = ActivationSpec::of(kind);
      const std::string op = std::string("/") + simdnn::activation_name(kind);
      benchmark::RegisterBenchmark((isa + op + size).c_str(), [=](benchmark::State& s) {
        run(s, n, [act](const float* x, float* y, std::size_t m) {
          simdnn::activation_forward(act, x, y, m);
        });
      })->UseRealTime();
      benchmark::RegisterBenchmark(("eigen" + op + size).c_str(), [=](benchmark::State& s) {
        run(s, n, [act](const float* x, float* y, std::size_t m) {
          simdnn::bench::eigen_activation(act, x, y, m);
        });
      })->UseRealTime();
      benchmark::RegisterBenchmark(("std" + op + size).c_str(), [=](benchmark::State& s) {
        run(s, n, [act](const float* x, float* y, std::size_t m) {
          simdnn::bench::std_activation(act, x, y, m);
        });
      })->UseRealTime();
    }
    benchmark::RegisterBenchmark(("memcpy/copy" + size).c_str(), [=](benchmark::State& s) {
      run(s, n,
          [](const float* x, float* y, std::size_t m) { std::memcpy(y, x, m * sizeof(float)); });
    })->UseRealTime();
  }
  return true;
}();

}  // namespace
