// Steady-state training allocates nothing: once a network has run one step at a batch size, the
// next forward + backward at that size (or a smaller last batch), and eval forwards, make no heap
// allocation. Counted by replacing the global operator new / delete in this binary only
// (tests/alloc_counter.h; which is why this is a test of its own).
//
// It runs at one thread: the GEMM keeps its packing buffers per thread (thread_local, grown once),
// and with several threads which worker first meets which tile is up to the scheduler, so a
// worker's first packing buffer could be allocated in any later step.
#include <gtest/gtest.h>

#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/conv2d.h>
#include <simdnn/layers/conv_residual.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dense_block.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/pooling.h>
#include <simdnn/layers/residual.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model.h>
#include <simdnn/models/predictor.h>

#include "tests/alloc_counter.h"
#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::allocations_during;
using testing::ScopedThreads;

TEST(LayersAllocation, CounterSeesTensorAllocations) {
  EXPECT_EQ(allocations_during([] { Tensor t(3, 3); }), 1);
}

// The ends of `chunks` gradient chunks of `rows` rows, as the trainer cuts them.
std::vector<std::size_t> chunk_ends(std::size_t rows, std::size_t chunks) {
  std::vector<std::size_t> ends;
  for (std::size_t c = 1; c <= chunks; ++c) ends.push_back(c * rows / chunks);
  return ends;
}

// After one warm-up step at `batch` rows (which sizes every buffer), a second train step, a
// smaller last batch of `last` rows and an eval forward allocate nothing. Normal inputs and
// output gradients. With `chunks`, every backward sums that many gradient chunks
// (Layer::set_gradient_chunks), as the trainer's one-pass step has it.
void expect_steady_state_allocates_nothing(Layer& net, std::size_t batch, std::size_t last, std::size_t chunks = 0) {
  Tensor x(batch, net.input_width()), dy(batch, net.output_width());
  fill_normal(x.view(), 0.0f, 1.0f, 1, 1);
  fill_normal(dy.view(), 0.0f, 1.0f, 1, 2);
  const ConstMatrixView last_x{x.data(), last, x.cols(), x.cols()};
  const ConstMatrixView last_dy{dy.data(), last, dy.cols(), dy.cols()};
  const std::vector<Layer*> layers = all_layers(net);
  const std::vector<std::size_t> batch_ends = chunk_ends(batch, chunks), last_ends = chunk_ends(last, chunks);
  auto set_chunks = [&](const std::vector<std::size_t>& ends) {
    for (Layer* l : layers) l->set_gradient_chunks(ends);
  };

  set_chunks(batch_ends);
  net.forward(x.cview(), Mode::train);
  net.backward(dy.cview());
  net.forward(x.cview(), Mode::eval);

  EXPECT_EQ(allocations_during([&] {
              net.forward(x.cview(), Mode::train);
              net.backward(dy.cview());
            }),
            0)
      << "second train step at the same batch size";
  EXPECT_EQ(allocations_during([&] {
              set_chunks(last_ends);
              net.forward(last_x, Mode::train);
              net.backward(last_dy);
            }),
            0)
      << "a smaller last batch";
  EXPECT_EQ(allocations_during([&] { net.forward(x.cview(), Mode::eval); }), 0) << "eval";
  set_chunks({});
}

TEST(LayersAllocation, SteadyStateStepAllocatesNothing) {
  ScopedThreads one_thread(1);
  Sequential net;
  net.emplace<Dense>(20, 64, DenseOptions{.activation = ActivationSpec::relu(), .seed = 1});
  net.emplace<BatchNorm>(64);
  net.emplace<ActivationLayer>(64, ActivationSpec::of(Activation::tanh));
  net.emplace<Dropout>(64, 0.3f, DropoutOptions{.seed = 1, .stream = 1});
  net.emplace<ResidualBlock>(64, 32, 64, ResidualOptions{.dropout = 0.2f, .seed = 1, .stream = 2});
  net.emplace<ResidualBlock>(64, 32, 48, ResidualOptions{.seed = 1, .stream = 3});
  net.emplace<DenseBlock>(48, 8, 3, DenseBlockOptions{.seed = 1, .stream = 4});
  net.emplace<Dense>(72, 10, DenseOptions{.activation = ActivationSpec::of(Activation::gelu), .seed = 1,
                                          .stream = 5});
  expect_steady_state_allocates_nothing(net, 32, 20);
  expect_steady_state_allocates_nothing(net, 32, 20, 4);
  // Chunks deeper than half of any ISA's kc (at most 768): gemm_depth_chunks' full products.
  expect_steady_state_allocates_nothing(net, 1600, 1000, 2);
}

// The same for a convolutional network: convolutions (im2col, 1x1 and strided), BatchNorm2D,
// pooling and residual blocks with a projection.
TEST(LayersAllocation, SteadyStateConvolutionalStepAllocatesNothing) {
  ScopedThreads one_thread(1);
  Sequential net;
  const ImageShape image{8, 8, 3};
  net.emplace<Conv2D>(image, 8, 3, Conv2DOptions{.padding = 1, .seed = 1});
  net.emplace<BatchNorm2D>(ImageShape{8, 8, 8});
  net.emplace<ConvResidualBlock>(ImageShape{8, 8, 8}, 16, 2);
  net.emplace<MaxPool2D>(ImageShape{4, 4, 16}, 2);
  net.emplace<Conv2D>(ImageShape{2, 2, 16}, 8, 1, Conv2DOptions{.seed = 2});
  net.emplace<GlobalAvgPool2D>(ImageShape{2, 2, 8});
  expect_steady_state_allocates_nothing(net, 6, 4);
  expect_steady_state_allocates_nothing(net, 6, 4, 2);
  // A ResNet's stem, BatchNorm2D → ReLU → MaxPool2D, which Sequential runs as one pass.
  Sequential stem;
  stem.emplace<Conv2D>(image, 8, 3, Conv2DOptions{.padding = 1, .seed = 1});
  stem.emplace<BatchNorm2D>(ImageShape{8, 8, 8});
  stem.emplace<ActivationLayer>(8 * 8 * 8, ActivationSpec::relu());
  stem.emplace<MaxPool2D>(ImageShape{8, 8, 8}, 2);
  expect_steady_state_allocates_nothing(stem, 6, 4);
}

// Inference: a Predictor's first call grows its buffers; later calls, over many batches and a
// smaller input, allocate nothing (the spec has BatchNorm and Dropout; the scaler runs too).
TEST(LayersAllocation, PredictAllocatesOnlyOnFirstCall) {
  ScopedThreads one_thread(1);
  Model model = Model::from_spec(
      R"({"type": "mlp", "inputs": 20, "hidden": [64, 32], "outputs": 4, "batch_norm": true, "dropout": 0.2})");
  Tensor x(200, 20);
  fill_normal(x.view(), 0.0f, 1.0f, 1, 3);
  StandardScaler scaler;
  scaler.fit(x.cview());
  model.scaler = scaler;
  Predictor predictor(model, 32);
  predictor.predict_proba(x.cview());
  predictor.predict_classes(x.cview());
  EXPECT_EQ(allocations_during([&] { predictor.predict(x.cview()); }), 0) << "7 batches of <= 32 rows";
  EXPECT_EQ(allocations_during([&] { predictor.predict_proba(x.cview()); }), 0) << "probabilities";
  EXPECT_EQ(allocations_during([&] { predictor.predict_classes(ConstMatrixView{x.data(), 5, 20, 20}); }), 0)
      << "a smaller input";
}

}  // namespace
}  // namespace simdnn
