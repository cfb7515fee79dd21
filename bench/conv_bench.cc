// Conv2D forward and backward of simdnn against oneDNN's convolution, in one binary so that every
// ratio comes from one run on one machine, at the shapes of repro mnist's ResNet (batch 64,
// 3×3 kernels, padding 1; 28×28 and 14×14 images and smaller, 1 to 64 channels), at 1 and 2
// threads (SIMDNN_BENCH_THREADS, bench/thread_counts.h, sets others).
//
// Both run NHWC activations. oneDNN chooses its own weight layout (format any) and its best
// implementation (its name goes into the benchmark's label); its weights are left as allocated,
// which does not change its speed. "backward" is the gradient of the input and of the weights
// (and, for simdnn, the bias-free Conv2D's backward as the layer runs it: dW, dcol, col2im).
// Counter GFLOP/s: 2·N·H_out·W_out·k²·C_in·C_out per forward, twice that per backward.
// simdnn_maxpool: MaxPool2D(2) forward (train mode, with its argmax) and backward on the stem's
// output of repro mnist's plain CNN (batch 64, 28×28×16), and each pass alone
// (simdnn_maxpool_forward, simdnn_maxpool_backward); Gelem/s counts input elements.
// simdnn_stem_forward: the ResNet stem's BatchNorm2D → ReLU → MaxPool2D forward (train mode, same
// shape) as Sequential runs it, one pass per image (BatchNorm2D::forward_relu_max_pool), and
// simdnn_stem_forward_two_passes: the pair's pass (forward_relu) then the pooling's, as before.
// simdnn_stem_infer and simdnn_stem_infer_three_passes: Sequential::infer of the same stem (one
// pass, BatchNorm2D::infer_relu_max_pool), and the three layers' infer() one after the other.
// simdnn_resnet_step: one training step (Trainer::train_on_batch: forward, softmax cross-entropy,
// backward, Adam) of repro mnist's convolutional ResNet (CnnConfig: 28×28×1, stages of 16, 32 and
// 64 channels, one block each, the stem pooled) at batch 64; its normal inputs and labels cycle
// through 4 batches. The whole step, where the conv rows time one layer; counter images/s.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <string>
#include <utility>
#include <vector>

#include "bench/thread_counts.h"
#include <simdnn/core/random.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/conv2d.h>
#include <simdnn/layers/pooling.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model_config.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/trainer.h>

namespace {

struct ConvShape {
  std::string name;
  std::size_t n, h, w, cin, cout, stride;
};

const std::vector<ConvShape> kShapes = {
    {"28x28x1_to_16", 64, 28, 28, 1, 16, 1},   // a stem on MNIST
    {"28x28x16_to_16", 64, 28, 28, 16, 16, 1},
    {"14x14x16_to_16", 64, 14, 14, 16, 16, 1},  // stage 1 after the stem's pooling
    {"14x14x16_to_32_s2", 64, 14, 14, 16, 32, 2},
    {"7x7x32_to_32", 64, 7, 7, 32, 32, 1},
    {"7x7x32_to_64_s2", 64, 7, 7, 32, 64, 2},
    {"4x4x64_to_64", 64, 4, 4, 64, 64, 1},
};

double forward_flops(const ConvShape& s) {
  const double oh = static_cast<double>((s.h + 2 - 3) / s.stride + 1), ow = static_cast<double>((s.w + 2 - 3) / s.stride + 1);
  return 2.0 * static_cast<double>(s.n) * oh * ow * 9.0 * static_cast<double>(s.cin * s.cout);
}

void set_rate(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * static_cast<double>(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

void bm_simdnn(benchmark::State& state, ConvShape s, int threads, bool backward) {
  simdnn::set_num_threads(threads);
  simdnn::Conv2D conv({s.h, s.w, s.cin}, s.cout, 3, {.stride = s.stride, .padding = 1, .bias = false, .seed = 1});
  simdnn::Tensor x(s.n, conv.input_width()), dy(s.n, conv.output_width());
  simdnn::fill_normal(x.view(), 0.0f, 1.0f, 2, 0);
  simdnn::fill_normal(dy.view(), 0.0f, 1.0f, 3, 0);
  conv.forward(x.cview(), simdnn::Mode::train);
  for (auto _ : state) {
    if (backward) {
      benchmark::DoNotOptimize(conv.backward(dy.cview()).data);
    } else {
      benchmark::DoNotOptimize(conv.forward(x.cview(), simdnn::Mode::train).data);
    }
    benchmark::ClobberMemory();
  }
  set_rate(state, (backward ? 2.0 : 1.0) * forward_flops(s));
}

enum class Pass { both, forward, backward };

void bm_maxpool(benchmark::State& state, int threads, Pass pass) {
  simdnn::set_num_threads(threads);
  simdnn::MaxPool2D pool({28, 28, 16}, 2);
  simdnn::Tensor x(64, pool.input_width()), dy(64, pool.output_width());
  simdnn::fill_normal(x.view(), 0.0f, 1.0f, 2, 0);
  simdnn::fill_normal(dy.view(), 0.0f, 1.0f, 3, 0);
  pool.forward(x.cview(), simdnn::Mode::train);
  for (auto _ : state) {
    if (pass != Pass::backward) benchmark::DoNotOptimize(pool.forward(x.cview(), simdnn::Mode::train).data);
    if (pass != Pass::forward) benchmark::DoNotOptimize(pool.backward(dy.cview()).data);
    benchmark::ClobberMemory();
  }
  state.counters["Gelem/s"] = benchmark::Counter(static_cast<double>(x.size()) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void bm_stem(benchmark::State& state, int threads, bool one_pass, bool infer) {
  simdnn::set_num_threads(threads);
  const simdnn::ImageShape image{28, 28, 16};
  simdnn::Sequential stem;
  auto& norm = stem.emplace<simdnn::BatchNorm2D>(image);
  auto& relu = stem.emplace<simdnn::ActivationLayer>(image.size(), simdnn::ActivationSpec::relu());
  auto& pool = stem.emplace<simdnn::MaxPool2D>(image, 2);
  simdnn::Tensor x(64, image.size());
  simdnn::fill_normal(x.view(), 0.0f, 1.0f, 2, 0);
  simdnn::InferenceBuffers buffers;
  const auto run = [&] {
    buffers.rewind();
    if (infer && one_pass) return stem.infer(x.cview(), buffers).data;
    if (infer) return pool.infer(relu.infer(norm.infer(x.cview(), buffers), buffers), buffers).data;
    if (one_pass) return stem.forward(x.cview(), simdnn::Mode::train).data;
    return pool.forward(norm.forward_relu(x.cview(), simdnn::Mode::train), simdnn::Mode::train).data;
  };
  for (auto _ : state) {
    benchmark::DoNotOptimize(run());
    benchmark::ClobberMemory();
  }
  state.counters["Gelem/s"] = benchmark::Counter(static_cast<double>(x.size()) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void bm_resnet_step(benchmark::State& state, int threads) {
  simdnn::set_num_threads(threads);
  constexpr std::size_t kBatch = 64, kBatches = 4;
  simdnn::CnnConfig config;
  config.input = {28, 28, 1};
  config.stem_pool = true;
  const auto model = simdnn::make_cnn(config);
  simdnn::Tensor x(kBatches * kBatch, model->input_width()), y(kBatches * kBatch, 1);
  simdnn::fill_normal(x.view(), 0.0f, 1.0f, 2, 0);
  for (std::size_t i = 0; i < y.rows(); ++i) y(i, 0) = static_cast<float>(i * 7 % config.outputs);
  simdnn::SoftmaxCrossEntropy loss;
  simdnn::Adam adam(simdnn::all_parameters(*model));
  simdnn::TrainerOptions options;
  options.record_grad_norms = false;
  simdnn::Trainer trainer(*model, loss, adam, options);
  const auto batch = [](const simdnn::Tensor& t, std::size_t b) {
    return simdnn::ConstMatrixView{t.data() + b * kBatch * t.cols(), kBatch, t.cols(), t.cols()};
  };
  std::size_t b = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(trainer.train_on_batch(batch(x, b), batch(y, b)));
    b = (b + 1) % kBatches;
  }
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

// oneDNN's forward (training), backward-data and backward-weights primitives for one shape.
struct OneDnnConv {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights backward_weights;
  dnnl::memory src, weights, dst, diff_src, diff_weights, diff_dst;
  std::string implementation;

  explicit OneDnnConv(const ConvShape& s) {
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const auto n = static_cast<dnnl::memory::dim>(s.n);
    const auto oh = static_cast<dnnl::memory::dim>((s.h + 2 - 3) / s.stride + 1);
    const auto ow = static_cast<dnnl::memory::dim>((s.w + 2 - 3) / s.stride + 1);
    const auto ci = static_cast<dnnl::memory::dim>(s.cin), co = static_cast<dnnl::memory::dim>(s.cout);
    const dnnl::memory::desc src_md({n, ci, static_cast<dnnl::memory::dim>(s.h), static_cast<dnnl::memory::dim>(s.w)},
                                    dt::f32, tag::nhwc);
    const dnnl::memory::desc dst_md({n, co, oh, ow}, dt::f32, tag::nhwc);
    const dnnl::memory::desc any_weights({co, ci, 3, 3}, dt::f32, tag::any);
    const dnnl::memory::dims strides = {static_cast<dnnl::memory::dim>(s.stride), static_cast<dnnl::memory::dim>(s.stride)};
    const dnnl::memory::dims padding = {1, 1};
    const auto algo = dnnl::algorithm::convolution_direct;
    const dnnl::convolution_forward::primitive_desc fwd_pd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, src_md, any_weights, dst_md, strides,
                                        padding, padding),
        engine);
    const dnnl::convolution_backward_data::primitive_desc bwd_data_pd(
        dnnl::convolution_backward_data::desc(algo, src_md, any_weights, dst_md, strides, padding, padding), engine,
        fwd_pd);
    const dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd(
        dnnl::convolution_backward_weights::desc(algo, src_md, any_weights, dst_md, strides, padding, padding), engine,
        fwd_pd);
    forward = dnnl::convolution_forward(fwd_pd);
    backward_data = dnnl::convolution_backward_data(bwd_data_pd);
    backward_weights = dnnl::convolution_backward_weights(bwd_weights_pd);
    src = dnnl::memory(src_md, engine);
    dst = dnnl::memory(dst_md, engine);
    diff_src = dnnl::memory(src_md, engine);
    diff_dst = dnnl::memory(dst_md, engine);
    weights = dnnl::memory(fwd_pd.weights_desc(), engine);
    diff_weights = dnnl::memory(bwd_weights_pd.diff_weights_desc(), engine);
    fill(src);
    fill(diff_dst);
    fill(weights);
    implementation = std::string(fwd_pd.impl_info_str()) + " / " + bwd_data_pd.impl_info_str() + " / " +
                     bwd_weights_pd.impl_info_str();
  }

  static void fill(dnnl::memory& m) {
    auto* p = static_cast<float*>(m.get_data_handle());
    const std::size_t count = m.get_desc().get_size() / sizeof(float);
    for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<float>((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  }

  void run_forward() {
    forward.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
    stream.wait();
  }
  void run_backward() {
    backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, diff_src}});
    backward_weights.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, diff_weights}});
    stream.wait();
  }
};

void bm_onednn(benchmark::State& state, ConvShape s, int threads, bool backward) {
  omp_set_num_threads(threads);
  OneDnnConv conv(s);
  state.SetLabel(conv.implementation);
  for (auto _ : state) {
    if (backward) {
      conv.run_backward();
    } else {
      conv.run_forward();
    }
    benchmark::ClobberMemory();
  }
  set_rate(state, (backward ? 2.0 : 1.0) * forward_flops(s));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (const ConvShape& s : kShapes) {
    for (int threads : simdnn::bench::thread_counts()) {
      for (const bool backward : {false, true}) {
        const std::string suffix =
            std::string(backward ? "backward" : "forward") + "/" + s.name + "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(("simdnn_" + suffix).c_str(), bm_simdnn, s, threads, backward)->UseRealTime();
        benchmark::RegisterBenchmark(("onednn_" + suffix).c_str(), bm_onednn, s, threads, backward)->UseRealTime();
      }
    }
  }
  for (int threads : simdnn::bench::thread_counts()) {
    for (const auto& [name, pass] : {std::pair{"simdnn_maxpool", Pass::both},
                                     {"simdnn_maxpool_forward", Pass::forward},
                                     {"simdnn_maxpool_backward", Pass::backward}}) {
      benchmark::RegisterBenchmark((std::string(name) + "/28x28x16/threads:" + std::to_string(threads)).c_str(),
                                   bm_maxpool, threads, pass)
          ->UseRealTime();
    }
    for (const bool infer : {false, true}) {
      for (const bool one_pass : {true, false}) {
        const std::string name = std::string(infer ? "simdnn_stem_infer" : "simdnn_stem_forward") +
                                 (one_pass ? "" : infer ? "_three_passes" : "_two_passes") +
                                 "/28x28x16/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), bm_stem, threads, one_pass, infer)->UseRealTime();
      }
    }
    benchmark::RegisterBenchmark(("simdnn_resnet_step/mnist/threads:" + std::to_string(threads)).c_str(),
                                 bm_resnet_step, threads)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
