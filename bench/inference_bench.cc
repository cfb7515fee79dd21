// Inference overhead: Predictor::predict on the deep MLP (256 inputs, 20 hidden layers of width
// 256 with ReLU, 10 outputs) at batch 1 and 256, against the same GEMMs alone (one fused
// bias + activation GEMM per Dense layer into buffers allocated once) in the same iteration.
// Each iteration times both, interleaved; the iteration time is predict's, and the counters give
//   gemm_us            the GEMMs alone, per call
//   beyond_gemms_pct   100·(predict − GEMMs)/predict: what scaling, batching, the layer walk
//                      and the output copy cost on top of the arithmetic (target ≤ 10%)
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include <simdnn/core/gemm.h>
#include <simdnn/core/random.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/dense.h>
#include <simdnn/models/model.h>
#include <simdnn/models/predictor.h>

namespace simdnn {
namespace {

std::string deep_mlp_spec() {
  std::string hidden;
  for (int i = 0; i < 20; ++i) hidden += (i ? ", " : "") + std::string("256");
  return R"({"type": "mlp", "inputs": 256, "outputs": 10, "activation": "relu", "hidden": [)" + hidden + "]}";
}

// The network's GEMMs, run on their own: y_l = act(y_{l-1}·W_l + b_l).
class GemmsOnly {
 public:
  GemmsOnly(Sequential& network, std::size_t rows) {
    for (std::size_t i = 0; i < network.size(); ++i) {
      auto& dense = dynamic_cast<Dense&>(network.at(i));
      layers_.push_back(&dense);
      outputs_.emplace_back(rows, dense.output_width());
    }
  }
  void run(ConstMatrixView x) {
    ConstMatrixView in = x;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      Dense& d = *layers_[l];
      gemm(Trans::no, Trans::no, 1.0f, in, d.weight().cview(), 0.0f, outputs_[l].view(),
           {d.bias().data(), d.activation()});
      in = outputs_[l].cview();
    }
  }

 private:
  std::vector<Dense*> layers_;
  std::vector<Tensor> outputs_;
};

void predict_deep_mlp(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(1)));
  const auto rows = static_cast<std::size_t>(state.range(0));
  Model model = Model::from_spec(deep_mlp_spec());
  Tensor x(rows, 256);
  fill_normal(x.view(), 0.0f, 1.0f, 1, 1);
  Predictor predictor(model, 256);
  GemmsOnly gemms(*model.network, rows);
  predictor.predict(x.cview());  // warm: buffers grown, packing buffers allocated
  gemms.run(x.cview());
  using clock = std::chrono::steady_clock;
  double predict_s = 0.0, gemm_s = 0.0;
  for (auto _ : state) {
    const auto t0 = clock::now();
    benchmark::DoNotOptimize(predictor.predict(x.cview()).data);
    const auto t1 = clock::now();
    gemms.run(x.cview());
    const auto t2 = clock::now();
    const double p = std::chrono::duration<double>(t1 - t0).count();
    predict_s += p;
    gemm_s += std::chrono::duration<double>(t2 - t1).count();
    state.SetIterationTime(p);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["gemm_us"] = 1e6 * gemm_s / n;
  state.counters["beyond_gemms_pct"] = 100.0 * (predict_s - gemm_s) / predict_s;
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(predict_deep_mlp)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{1, 256}, {1, 2}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace simdnn

BENCHMARK_MAIN();
