// Layers: finite-difference gradient checks of every backward pass, BatchNorm's train/eval
// statistics, Dropout's scaling and reproducibility, shape and mode errors, parameter naming, and
// bit-identical results at 1 and 2 threads. (Steady-state allocation: layers_alloc_test.cc.)
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <simdnn/core/activation.h>
#include <simdnn/core/elementwise.h>
#include <simdnn/core/initializers.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/pairwise_sum.h>
#include <simdnn/core/random.h>
#include <simdnn/core/reference/elementwise_reference.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/conv2d.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dense_block.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/layer.h>
#include <simdnn/layers/pooling.h>
#include <simdnn/layers/residual.h>
#include <simdnn/layers/sequential.h>
#include "tests/gradient_check.h"
#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::check_gradients;
using testing::GradCheckOptions;

Tensor random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed, float stddev = 1.0f,
                     float mean = 0.0f) {
  Tensor t(rows, cols);
  fill_normal(t.view(), mean, stddev, seed, 7);
  return t;
}

Tensor copy_of(ConstMatrixView v) {
  Tensor t(v.rows, v.cols);
  for (std::size_t r = 0; r < v.rows; ++r) {
    for (std::size_t c = 0; c < v.cols; ++c) t(r, c) = v(r, c);
  }
  return t;
}

// Whether f has a kink (a jump in f' or f'') at 0.
bool has_kink(Activation kind) {
  return kind == Activation::relu || kind == Activation::leaky_relu || kind == Activation::elu ||
         kind == Activation::selu;
}

// Restores the thread count a test changed.
class ThreadCount {
 public:
  ThreadCount() : saved_(num_threads()) {}
  ~ThreadCount() { set_num_threads(saved_); }

 private:
  int saved_;
};

// ---- Dense --------------------------------------------------------------------------------

std::vector<ActivationSpec> activations_to_test() {
  std::vector<ActivationSpec> specs;
  for (Activation kind : kAllActivations) specs.push_back(ActivationSpec::of(kind));
  // Parameters for which f' is not a function of y, so Dense keeps z.
  specs.push_back(ActivationSpec::leaky_relu(-0.2f));
  specs.push_back(ActivationSpec::elu(0.0f));
  specs.push_back(ActivationSpec::elu(2.0f));
  return specs;
}

std::string spec_name(ActivationSpec a) {
  std::string s = activation_name(a.kind);
  if (a.kind == Activation::leaky_relu || a.kind == Activation::elu) {
    s += a.alpha < 0 ? "_minus" : "_";
    s += std::to_string(static_cast<int>(std::abs(a.alpha) * 100));
  }
  return s;
}

class DenseActivations : public ::testing::TestWithParam<ActivationSpec> {};

INSTANTIATE_TEST_SUITE_P(All, DenseActivations, ::testing::ValuesIn(activations_to_test()),
                         [](const auto& info) { return spec_name(info.param); });

// Inputs whose pre-activations z = x·W + b all lie at least `margin` away from 0, so that no
// central difference with step h (which moves z by at most h·max(|x|, |W|, 1) < margin) straddles
// a kink: the x of the first seed that qualifies.
Tensor input_away_from_kinks(Dense& d, std::size_t rows, double margin) {
  for (std::uint64_t seed = 100;; ++seed) {
    Tensor x = random_matrix(rows, d.input_width(), seed);
    double min_abs = 1e30;
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t j = 0; j < d.output_width(); ++j) {
        double z = d.has_bias() ? d.bias()(0, j) : 0.0;
        for (std::size_t k = 0; k < d.input_width(); ++k) {
          z += static_cast<double>(x(r, k)) * d.weight()(k, j);
        }
        min_abs = std::min(min_abs, std::abs(z));
      }
    }
    if (min_abs >= margin) return x;
  }
}

TEST_P(DenseActivations, GradientsMatchFiniteDifferences) {
  const ActivationSpec act = GetParam();
  for (bool bias : {true, false}) {
    SCOPED_TRACE(bias ? "with bias" : "without bias");
    Dense d(7, 6, {.activation = act, .weight_init = InitSpec::xavier_normal(1.5f), .seed = 3,
                   .stream = 1, .bias = bias});
    d.set_name("fc");
    if (bias) fill_normal(d.bias().view(), 0.0f, 0.5f, 9, 9);
    const Tensor x = input_away_from_kinks(d, 5, has_kink(act.kind) ? 0.05 : 0.0);
    check_gradients(d, x, {.input_ld_padding = bias ? 0u : 3u});
  }
}

TEST_P(DenseActivations, ForwardMatchesDoubleReference) {
  const ActivationSpec act = GetParam();
  Dense d(13, 9, {.activation = act, .seed = 5});
  fill_normal(d.bias().view(), 0.0f, 0.5f, 4, 4);
  const Tensor x = random_matrix(11, 13, 8);
  for (Mode mode : {Mode::train, Mode::eval}) {
    const ConstMatrixView y = d.forward(x.cview(), mode);
    for (std::size_t r = 0; r < 11; ++r) {
      for (std::size_t j = 0; j < 9; ++j) {
        double z = d.bias()(0, j);
        for (std::size_t k = 0; k < 13; ++k) z += static_cast<double>(x(r, k)) * d.weight()(k, j);
        const double expected = reference::activation_value(act, z);
        EXPECT_NEAR(y(r, j), expected, 1e-5 * (1.0 + std::abs(expected)))
            << "row " << r << " col " << j;
      }
    }
  }
}

TEST(Dense, WeightsComeFromTheInitializerAndBiasIsZero) {
  const InitSpec spec = InitSpec::he_uniform();
  Dense d(10, 4, {.weight_init = spec, .seed = 77, .stream = 5});
  Tensor w(10, 4);
  initialize(w.view(), spec, 77, 5);
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_EQ(d.weight().data()[i], w.data()[i]);
  for (std::size_t j = 0; j < 4; ++j) EXPECT_EQ(d.bias()(0, j), 0.0f);
  const auto params = d.parameters();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].name, "weight");
  EXPECT_TRUE(params[0].regularize);
  EXPECT_EQ(params[1].name, "bias");
  EXPECT_FALSE(params[1].regularize);
  EXPECT_EQ(Dense(3, 2, {.bias = false}).parameters().size(), 1u);
}

TEST(Dense, BackwardAddsToGradients) {
  Dense d(6, 5, {.activation = ActivationSpec::of(Activation::tanh), .seed = 1});
  const Tensor x = random_matrix(4, 6, 2);
  const Tensor dy = random_matrix(4, 5, 3);
  d.forward(x.cview(), Mode::train);
  d.backward(dy.cview());
  const Tensor w1 = d.weight_grad().clone();
  const Tensor b1 = d.bias_grad().clone();
  d.backward(dy.cview());  // the same forward again: the gradients double
  for (std::size_t i = 0; i < w1.size(); ++i) {
    EXPECT_FLOAT_EQ(d.weight_grad().data()[i], 2.0f * w1.data()[i]);
  }
  for (std::size_t i = 0; i < b1.size(); ++i) {
    EXPECT_FLOAT_EQ(d.bias_grad().data()[i], 2.0f * b1.data()[i]);
  }
  zero_grad(d);
  for (std::size_t i = 0; i < w1.size(); ++i) EXPECT_EQ(d.weight_grad().data()[i], 0.0f);
  for (std::size_t i = 0; i < b1.size(); ++i) EXPECT_EQ(d.bias_grad().data()[i], 0.0f);
}

// Without the input gradient, backward returns an empty view and the same parameter gradients;
// a Sequential passes the setting to its first child only.
TEST(Dense, SkipsTheInputGradientWhenNobodyReadsIt) {
  const Tensor x = random_matrix(7, 6, 2);
  const Tensor dy = random_matrix(7, 5, 3);
  Dense with(6, 5, {.activation = ActivationSpec::of(Activation::tanh), .seed = 1});
  Dense without(6, 5, {.activation = ActivationSpec::of(Activation::tanh), .seed = 1});
  EXPECT_TRUE(without.input_gradient());
  without.set_input_gradient(false);
  with.forward(x.cview(), Mode::train);
  without.forward(x.cview(), Mode::train);
  EXPECT_EQ(with.backward(dy.cview()).rows, 7u);
  const ConstMatrixView none = without.backward(dy.cview());
  EXPECT_EQ(none.data, nullptr);
  EXPECT_EQ(none.rows, 0u);
  testing::expect_same_values(with.weight_grad(), without.weight_grad(), "weight gradient");
  testing::expect_same_values(with.bias_grad(), without.bias_grad(), "bias gradient");

  Sequential net;
  net.emplace<Dense>(6, 4, DenseOptions{.seed = 2});
  net.emplace<Dense>(4, 5, DenseOptions{.seed = 3});
  net.set_input_gradient(false);
  net.forward(x.cview(), Mode::train);
  EXPECT_EQ(net.backward(dy.cview()).data, nullptr);
  EXPECT_FALSE(net.at(0).input_gradient());
  EXPECT_TRUE(net.at(1).input_gradient());
  net.set_input_gradient(true);
  EXPECT_EQ(net.backward(dy.cview()).rows, 7u);
  EXPECT_TRUE(net.at(0).input_gradient());
}

TEST(Dense, ASmallerBatchReusesTheOutputBuffer) {
  Dense d(8, 8, {.activation = ActivationSpec::of(Activation::gelu)});
  const Tensor big = random_matrix(32, 8, 1);
  const Tensor small = random_matrix(7, 8, 2);
  const float* first = d.forward(big.cview(), Mode::train).data;
  const ConstMatrixView y = d.forward(small.cview(), Mode::train);
  EXPECT_EQ(y.data, first);
  EXPECT_EQ(y.rows, 7u);
  const ConstMatrixView dx = d.backward(random_matrix(7, 8, 3).cview());
  EXPECT_EQ(dx.rows, 7u);
  EXPECT_EQ(dx.ld, dx.cols);
}

// ---- Activation layer -----------------------------------------------------------------------

class ActivationLayerTest : public ::testing::TestWithParam<ActivationSpec> {};

INSTANTIATE_TEST_SUITE_P(All, ActivationLayerTest, ::testing::ValuesIn(activations_to_test()),
                         [](const auto& info) { return spec_name(info.param); });

TEST_P(ActivationLayerTest, GradientsMatchFiniteDifferences) {
  ActivationLayer a(9, GetParam());
  Tensor x = random_matrix(4, 9, 21, 2.0f);
  // Nudged away from the kinks at 0 by more than the step h = 1e-2.
  for (std::size_t i = 0; i < x.size(); ++i) {
    float& v = x.data()[i];
    if (std::abs(v) < 0.1f) v += v < 0 ? -0.1f : 0.1f;
  }
  check_gradients(a, x, {.input_ld_padding = 2});
}

// ---- BatchNorm ------------------------------------------------------------------------------

// x(r, j) ~ N(mean_j, std_j²) with column-dependent mean_j = j − 2 and std_j = 0.5 + 0.25·j.
Tensor feature_data(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  Tensor x = random_matrix(rows, cols, seed);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < cols; ++j) {
      x(r, j) = static_cast<float>(j) - 2.0f + (0.5f + 0.25f * static_cast<float>(j)) * x(r, j);
    }
  }
  return x;
}

TEST(BatchNorm, TrainGradientsMatchFiniteDifferences) {
  BatchNorm bn(6);
  bn.set_name("bn");
  fill_normal(bn.gamma().view(), 1.0f, 0.5f, 1, 1);
  fill_normal(bn.beta().view(), 0.0f, 0.5f, 2, 2);
  const Tensor x = feature_data(8, 6, 3);
  check_gradients(bn, x, {.input_ld_padding = 5});
}

TEST(BatchNorm, TrainNormalizesWithBatchStatisticsAndUpdatesRunningStats) {
  BatchNorm bn(5);
  fill_normal(bn.gamma().view(), 1.0f, 0.5f, 1, 1);
  fill_normal(bn.beta().view(), 0.0f, 0.5f, 2, 2);
  const std::size_t m = 16;
  const Tensor x = feature_data(m, 5, 4);
  const ConstMatrixView y = bn.forward(x.cview(), Mode::train);
  for (std::size_t j = 0; j < 5; ++j) {
    double mean = 0, ss = 0;
    for (std::size_t r = 0; r < m; ++r) mean += x(r, j);
    mean /= m;
    for (std::size_t r = 0; r < m; ++r) ss += (x(r, j) - mean) * (x(r, j) - mean);
    const double var = ss / m;
    for (std::size_t r = 0; r < m; ++r) {
      const double expected =
          bn.gamma()(0, j) * (x(r, j) - mean) / std::sqrt(var + 1e-5) + bn.beta()(0, j);
      EXPECT_NEAR(y(r, j), expected, 1e-5 * (1 + std::abs(expected)));
    }
    // PyTorch: momentum 0.1 on the new value, unbiased variance for running_var.
    EXPECT_NEAR(bn.running_mean()(0, j), 0.1 * mean, 1e-6 * (1 + std::abs(mean)));
    EXPECT_NEAR(bn.running_var()(0, j), 0.9 + 0.1 * ss / (m - 1), 1e-6 * (1 + ss));
  }
}

TEST(BatchNorm, EvalUsesRunningStatistics) {
  BatchNorm bn(4, {.momentum = 0.3f, .eps = 1e-3f});
  for (std::size_t j = 0; j < 4; ++j) {
    bn.running_mean()(0, j) = 0.5f * static_cast<float>(j);
    bn.running_var()(0, j) = 1.0f + static_cast<float>(j);
    bn.gamma()(0, j) = 2.0f - 0.3f * static_cast<float>(j);
    bn.beta()(0, j) = 0.1f * static_cast<float>(j);
  }
  const Tensor before_mean = bn.running_mean().clone();
  const Tensor x = random_matrix(3, 4, 5);
  const ConstMatrixView y = bn.forward(x.cview(), Mode::eval);
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t j = 0; j < 4; ++j) {
      const double expected = bn.gamma()(0, j) * (x(r, j) - bn.running_mean()(0, j)) /
                                  std::sqrt(bn.running_var()(0, j) + 1e-3) +
                              bn.beta()(0, j);
      EXPECT_NEAR(y(r, j), expected, 1e-5 * (1 + std::abs(expected)));
    }
  }
  for (std::size_t j = 0; j < 4; ++j) EXPECT_EQ(bn.running_mean()(0, j), before_mean(0, j));
  // One row is fine in eval mode, not in train mode.
  EXPECT_NO_THROW(bn.forward(ConstMatrixView{x.data(), 1, 4, 4}, Mode::eval));
  EXPECT_THROW(bn.forward(ConstMatrixView{x.data(), 1, 4, 4}, Mode::train), ShapeError);
}

TEST(BatchNorm, RunningStatisticsConvergeToTheDataMeanAndVariance) {
  const std::size_t n = 4096, batch = 64, width = 6;
  const Tensor data = feature_data(n, width, 6);
  BatchNorm bn(width);
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (std::size_t b = 0; b < n; b += batch) {
      bn.forward(ConstMatrixView{data.data() + b * width, batch, width, width}, Mode::train);
    }
  }
  // With momentum 0.1 the running values average the last ~20 batches: their standard errors
  // are about 0.03·σ (mean) and 0.04·σ² (variance); the bounds below are ~5 of those.
  for (std::size_t j = 0; j < width; ++j) {
    double mean = 0, ss = 0;
    for (std::size_t r = 0; r < n; ++r) mean += data(r, j);
    mean /= n;
    for (std::size_t r = 0; r < n; ++r) ss += (data(r, j) - mean) * (data(r, j) - mean);
    const double var = ss / n;
    EXPECT_NEAR(bn.running_mean()(0, j), mean, 0.15 * std::sqrt(var)) << "feature " << j;
    EXPECT_NEAR(bn.running_var()(0, j), var, 0.2 * var) << "feature " << j;
  }
  // So eval mode now standardizes the whole data set (γ = 1, β = 0).
  const ConstMatrixView y = bn.forward(data.cview(), Mode::eval);
  for (std::size_t j = 0; j < width; ++j) {
    double mean = 0, ss = 0;
    for (std::size_t r = 0; r < n; ++r) mean += y(r, j);
    mean /= n;
    for (std::size_t r = 0; r < n; ++r) ss += (y(r, j) - mean) * (y(r, j) - mean);
    EXPECT_NEAR(mean, 0.0, 0.15);
    EXPECT_NEAR(ss / n, 1.0, 0.2);
  }
}

TEST(BatchNorm, EvalDiffersFromTrainUntilRunningStatsMatch) {
  BatchNorm bn(3, {.momentum = 1.0f});  // running stats := the last batch's
  const Tensor x = feature_data(10, 3, 8);
  const Tensor train = copy_of(bn.forward(x.cview(), Mode::train));
  // running_var holds the unbiased variance, train mode used the biased one: scale it back.
  for (std::size_t j = 0; j < 3; ++j) bn.running_var()(0, j) *= 9.0f / 10.0f;
  const ConstMatrixView eval = bn.forward(x.cview(), Mode::eval);
  for (std::size_t r = 0; r < 10; ++r) {
    for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(eval(r, j), train(r, j), 2e-5);
  }
}

// ---- Dropout --------------------------------------------------------------------------------

TEST(Dropout, GradientsMatchFiniteDifferencesWithAFixedMask) {
  Dropout drop(7, 0.4f);
  Tensor keep(5, 7);
  fill_bernoulli(keep.view(), 0.6f, 3, 3);
  drop.set_mask_for_testing(keep);
  check_gradients(drop, random_matrix(5, 7, 4), {.input_ld_padding = 1});
  // The same through the seeded masks, rewound before every forward.
  Dropout seeded(7, 0.4f, {.seed = 5, .stream = 2});
  check_gradients(seeded, random_matrix(5, 7, 4), {.before_forward = [&] { seeded.set_step(0); }});
}

// A fixed mask is the whole batch's: a slice (as a chunked or data-parallel step runs) takes its
// rows of it, as the drawn masks do, and a slice past its end is refused.
TEST(Dropout, SlicesTakeTheirRowsOfAFixedMask) {
  Dropout whole(6, 0.5f), sliced(6, 0.5f);
  Tensor keep(5, 6);
  fill_bernoulli(keep.view(), 0.5f, 8, 1);
  whole.set_mask_for_testing(keep);
  sliced.set_mask_for_testing(keep);
  const Tensor x = random_matrix(5, 6, 2);
  const Tensor want = copy_of(whole.forward(x.cview(), Mode::train));
  sliced.begin_slice(2);
  const ConstMatrixView got = sliced.forward(ConstMatrixView{x.data() + 2 * 6, 3, 6, 6}, Mode::train);
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t c = 0; c < 6; ++c) EXPECT_EQ(got(r, c), want(r + 2, c)) << r << ", " << c;
  }
  sliced.begin_slice(3);
  testing::expect_throw_with("a slice past the mask",
                             [&] { sliced.forward(ConstMatrixView{x.data() + 2 * 6, 3, 6, 6}, Mode::train); },
                             {"dropout", "3x6 from batch row 3", "test mask is 5x6"});
  sliced.end_step();
  testing::expect_throw_with("a whole batch of other rows", [&] { sliced.forward(ConstMatrixView{x.data(), 4, 6, 6}, Mode::train); },
                             {"input is 4x6", "test mask is 5x6"});
}

TEST(Dropout, MaskScalesSurvivorsAndMatchesTheBernoulliFill) {
  const float p = 0.3f;
  Dropout drop(50, p, {.seed = 11, .stream = 4});
  const Tensor x = random_matrix(20, 50, 1);
  drop.set_step(6);
  const ConstMatrixView y = drop.forward(x.cview(), Mode::train);
  EXPECT_EQ(drop.step(), 7u);
  Tensor keep(20, 50);
  fill_bernoulli(keep.view(), 1.0f - p, 11, substream(4, 6));
  const float scale = 1.0f / (1.0f - p);
  const Tensor mask = drop.mask();
  for (std::size_t r = 0; r < 20; ++r) {
    for (std::size_t c = 0; c < 50; ++c) {
      EXPECT_EQ(y(r, c), keep(r, c) != 0.0f ? x(r, c) * scale : 0.0f);
      EXPECT_EQ(mask(r, c), keep(r, c) != 0.0f ? scale : 0.0f);
    }
  }
  const Tensor dy = random_matrix(20, 50, 2);
  const ConstMatrixView dx = drop.backward(dy.cview());
  for (std::size_t r = 0; r < 20; ++r) {
    for (std::size_t c = 0; c < 50; ++c) EXPECT_EQ(dx(r, c), dy(r, c) * mask(r, c));
  }
}

TEST(Dropout, KeepFrequencyAndExpectationOverManyElements) {
  for (float p : {0.1f, 0.5f, 0.8f}) {
    SCOPED_TRACE(p);
    const std::size_t rows = 1000, cols = 1000;
    Dropout drop(cols, p, {.seed = 2, .stream = 1});
    Tensor ones(rows, cols);
    std::fill(ones.data(), ones.data() + ones.size(), 1.0f);
    const ConstMatrixView y = drop.forward(ones.cview(), Mode::train);
    double kept = 0, sum = 0;
    for (std::size_t i = 0; i < rows * cols; ++i) {
      kept += y.data[i] != 0.0f;
      sum += y.data[i];
    }
    const double n = rows * cols;
    // Binomial: the standard deviation of the kept fraction is √(p(1−p)/n) <= 5e-4; 6 of them.
    EXPECT_NEAR(kept / n, 1.0 - p, 3e-3);
    // E[y] = x = 1: the mean is the kept fraction over 1 − p, so 6σ / (1 − p).
    EXPECT_NEAR(sum / n, 1.0, 3e-3 / (1.0 - p));
  }
}

TEST(Dropout, MasksDifferPerStepAndAreReproducible) {
  Dropout a(64, 0.5f, {.seed = 9, .stream = 3});
  Dropout b(64, 0.5f, {.seed = 9, .stream = 3});
  Dropout other_stream(64, 0.5f, {.seed = 9, .stream = 4});
  const Tensor x = random_matrix(16, 64, 1);
  const Tensor a0 = copy_of(a.forward(x.cview(), Mode::train));
  const Tensor a1 = copy_of(a.forward(x.cview(), Mode::train));
  const Tensor b0 = copy_of(b.forward(x.cview(), Mode::train));
  const Tensor c0 = copy_of(other_stream.forward(x.cview(), Mode::train));
  a.set_step(0);
  const Tensor a0_again = copy_of(a.forward(x.cview(), Mode::train));
  std::size_t differ_step = 0, differ_stream = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    differ_step += a0.data()[i] != a1.data()[i];
    differ_stream += a0.data()[i] != c0.data()[i];
    EXPECT_EQ(a0.data()[i], b0.data()[i]);
    EXPECT_EQ(a0.data()[i], a0_again.data()[i]);
  }
  EXPECT_GT(differ_step, x.size() / 4);
  EXPECT_GT(differ_stream, x.size() / 4);
}

TEST(Dropout, EvalAndZeroRateAreTheIdentity) {
  const Tensor x = random_matrix(6, 10, 3);
  Dropout drop(10, 0.5f);
  const ConstMatrixView eval = drop.forward(x.cview(), Mode::eval);
  EXPECT_EQ(drop.step(), 0u);  // eval draws no mask
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(eval.data[i], x.data()[i]);
  Dropout none(10, 0.0f);
  const ConstMatrixView y = none.forward(x.cview(), Mode::train);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y.data[i], x.data()[i]);
  const Tensor dy = random_matrix(6, 10, 4);
  const ConstMatrixView dx = none.backward(dy.cview());
  for (std::size_t i = 0; i < dy.size(); ++i) EXPECT_EQ(dx.data[i], dy.data()[i]);
}

TEST(Dropout, RejectsRatesOutsideZeroToOne) {
  EXPECT_THROW(Dropout(4, -0.1f), std::invalid_argument);
  EXPECT_THROW(Dropout(4, 1.0f), std::invalid_argument);
  EXPECT_THROW(Dropout(4, std::nanf("")), std::invalid_argument);
  EXPECT_NO_THROW(Dropout(4, 0.0f));
  EXPECT_NO_THROW(Dropout(4, 0.99f));
}

// ---- Residual block -------------------------------------------------------------------------

bool same_bits(const float* a, const float* b, std::size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

// Internal ReLUs follow BatchNorms, whose outputs may land near 0; see gradient_check.h.
// A smaller step makes crossing a kink rarer; its rounding noise is still far below the tolerance
// for these few outputs.
constexpr double kReluKinkFraction = 0.05;
constexpr double kReluStep = 1e-3;

TEST(ResidualBlock, GradientsMatchFiniteDifferencesEqualWidths) {
  ResidualBlock block(6, 5, 6, {.activation = ActivationSpec::of(Activation::tanh), .seed = 1, .stream = 2});
  block.set_name("res");
  check_gradients(block, random_matrix(8, 6, 3), {.input_ld_padding = 2});
}

TEST(ResidualBlock, GradientsMatchFiniteDifferencesWithProjection) {
  ResidualBlock block(7, 5, 4, {.activation = ActivationSpec::of(Activation::gelu), .seed = 4, .stream = 1});
  ASSERT_NE(block.projection(), nullptr);
  EXPECT_EQ(block.projection()->has_bias(), false);
  check_gradients(block, random_matrix(8, 7, 5));
}

TEST(ResidualBlock, GradientsMatchFiniteDifferencesWithReluAndDropout) {
  for (std::size_t out : {6u, 3u}) {
    SCOPED_TRACE(out);
    ResidualBlock block(6, 8, out, {.dropout = 0.25f, .seed = 7, .stream = 3});
    ASSERT_NE(block.dropout(), nullptr);
    Dropout& drop = *block.dropout();
    check_gradients(block, random_matrix(10, 6, 9),
                    {.h = kReluStep,
                     .max_kink_fraction = kReluKinkFraction,
                     .before_forward = [&] { drop.set_step(0); }});
  }
}

TEST(ResidualBlock, MatchesTheNotebookComposition) {
  // y = relu(BN2(Dense2(relu(BN1(Dense1(x))))) + x), built from the sub-layers by hand; so are
  // the gradients (the block runs BN1 and its ReLU as one pass each way: the same bits).
  ResidualBlock block(5, 4, 5, {.seed = 3});
  const Tensor x = random_matrix(6, 5, 1);
  const Tensor y = copy_of(block.forward(x.cview(), Mode::train));
  Dense d1(5, 4, {.weight_init = InitSpec::he_normal(), .seed = 3, .stream = substream(0, 0)});
  Dense d2(4, 5, {.weight_init = InitSpec::he_normal(), .seed = 3, .stream = substream(0, 1)});
  BatchNorm bn1(4), bn2(5);
  ActivationLayer relu1(4, ActivationSpec::relu()), relu_out(5, ActivationSpec::relu());
  ConstMatrixView h = d1.forward(x.cview(), Mode::train);
  h = relu1.forward(bn1.forward(h, Mode::train), Mode::train);
  h = bn2.forward(d2.forward(h, Mode::train), Mode::train);
  Tensor sum(6, 5);
  for (std::size_t r = 0; r < 6; ++r) {
    for (std::size_t j = 0; j < 5; ++j) sum(r, j) = h(r, j) + x(r, j);
  }
  const ConstMatrixView want_y = relu_out.forward(sum.cview(), Mode::train);
  ASSERT_TRUE(same_bits(y.data(), want_y.data, y.size())) << "y";
  const Tensor dy = random_matrix(6, 5, 2);
  const ConstMatrixView dx = block.backward(dy.cview());
  const ConstMatrixView ds = relu_out.backward(dy.cview());
  const ConstMatrixView g = d1.backward(bn1.backward(relu1.backward(d2.backward(bn2.backward(ds)))));
  for (std::size_t r = 0; r < 6; ++r) {
    for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(dx(r, j), g(r, j) + ds(r, j)) << r << ", " << j;
  }
  EXPECT_TRUE(same_bits(block.bn1().gamma_grad().data(), bn1.gamma_grad().data(), 4)) << "bn1 gamma";
  EXPECT_TRUE(same_bits(block.dense1().weight_grad().data(), d1.weight_grad().data(), 20)) << "dense1 weights";
}

// ---- Dense block ----------------------------------------------------------------------------

TEST(DenseBlock, GradientsMatchFiniteDifferences) {
  DenseBlock block(4, 3, 3, {.activation = ActivationSpec::of(Activation::tanh), .seed = 2, .stream = 5});
  EXPECT_EQ(block.output_width(), 4u + 3u * 3u);
  check_gradients(block, random_matrix(6, 4, 1), {.input_ld_padding = 3});
}

TEST(DenseBlock, GradientsMatchFiniteDifferencesWithRelu) {
  DenseBlock block(5, 2, 4, {.seed = 8});
  check_gradients(block, random_matrix(8, 5, 2), {.h = kReluStep, .max_kink_fraction = kReluKinkFraction});
}

TEST(DenseBlock, OutputConcatenatesInputAndEveryLayer) {
  DenseBlock block(3, 2, 2, {.seed = 1});
  const Tensor x = random_matrix(5, 3, 4);
  const ConstMatrixView y = block.forward(x.cview(), Mode::train);
  ASSERT_EQ(y.cols, 7u);
  // Layer 1 sees [x, out_0]; recompute it from columns 0..4 of the output.
  BatchNorm& bn1 = block.bn(1);
  const ConstMatrixView first5{y.data, 5, 5, y.ld};
  const Tensor y_copy = copy_of(y);
  BatchNorm bn(5);
  ActivationLayer relu(5, ActivationSpec::relu());
  Dense d(5, 2, {.weight_init = InitSpec::he_normal(), .seed = 1, .stream = substream(0, 1)});
  const ConstMatrixView out1 =
      d.forward(relu.forward(bn.forward(first5, Mode::train), Mode::train), Mode::train);
  for (std::size_t r = 0; r < 5; ++r) {
    for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(y_copy(r, c), x(r, c));
    for (std::size_t c = 0; c < 2; ++c) EXPECT_EQ(y_copy(r, 5 + c), out1(r, c));
  }
  EXPECT_EQ(bn1.input_width(), 5u);
}

// ---- Sequential -----------------------------------------------------------------------------

std::unique_ptr<Sequential> small_network(std::uint64_t seed) {
  auto net = std::make_unique<Sequential>();
  net->set_name("net");
  net->emplace<Dense>(5, 8, DenseOptions{.activation = ActivationSpec::elu(), .seed = seed,
                                         .stream = 0});
  net->emplace<BatchNorm>(8);
  net->emplace<ActivationLayer>(8, ActivationSpec::of(Activation::tanh));
  net->emplace<Dropout>(8, 0.3f, DropoutOptions{.seed = seed, .stream = 1});
  net->emplace<ResidualBlock>(8, 6, 8, ResidualOptions{.activation = ActivationSpec::of(Activation::swish),
                                                       .seed = seed, .stream = 2});
  net->emplace<DenseBlock>(8, 2, 2, DenseBlockOptions{.activation = ActivationSpec::of(Activation::softplus),
                                                      .seed = seed, .stream = 3});
  net->emplace<Dense>(12, 3, DenseOptions{.activation = ActivationSpec::of(Activation::sigmoid), .seed = seed,
                                          .stream = 4});
  return net;
}

// Run once per ISA (SequentialPerIsa/sse2, /avx2, /avx512; skipped where the CPU lacks it).
class SequentialPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(SequentialPerIsa);

TEST_P(SequentialPerIsa, GradientsMatchFiniteDifferencesOnEveryIsa) {
  const Isa isa = GetParam();
  SCOPED_TRACE(isa_name(isa));
  auto net = small_network(1);
  Dropout& drop = dynamic_cast<Dropout&>(net->at(3));
  check_gradients(*net, random_matrix(7, 5, 2), {.before_forward = [&] { drop.set_step(0); }});
}

// Layer::set_gradient_chunks on Dense and Conv2D: one backward of the whole batch adds the bits
// of the chunks' backward()s (each into zeroed grads) summed in PairwiseSum's order; the whole
// batch's forward and dx are, row for row, the chunks'.
class GradientChunksPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(GradientChunksPerIsa);

template <class L>  // Dense or Conv2D
void expect_sums_chunks(L& layer, const Tensor& x, const Tensor& dy, const std::vector<std::size_t>& ends) {
  SCOPED_TRACE(std::string(layer.kind()) + ", " + std::to_string(x.rows()) + " rows in " +
               std::to_string(ends.size()) + " chunks, " + (layer.has_bias() ? "bias" : "no bias"));
  std::vector<Tensor*> grads = {&layer.weight_grad()};
  if (layer.has_bias()) grads.push_back(&layer.bias_grad());
  internal::PairwiseSum<Tensor> tree;
  tree.reset();
  Tensor dx_chunks(x.rows(), x.cols()), y_chunks(dy.rows(), dy.cols());
  for (std::size_t c = 0, begin = 0; c < ends.size(); begin = ends[c++]) {
    const std::size_t rows = ends[c] - begin;
    const ConstMatrixView y = layer.forward(ConstMatrixView{x.data() + begin * x.cols(), rows, x.cols(), x.cols()}, Mode::train);
    std::copy(y.data, y.data + rows * dy.cols(), y_chunks.data() + begin * dy.cols());
    zero_grad(layer);
    const ConstMatrixView dx = layer.backward(ConstMatrixView{dy.data() + begin * dy.cols(), rows, dy.cols(), dy.cols()});
    std::copy(dx.data, dx.data + rows * x.cols(), dx_chunks.data() + begin * x.cols());
    std::vector<Tensor> parts;
    for (Tensor* g : grads) parts.push_back(g->clone());
    std::vector<Tensor*> pointers;
    for (Tensor& t : parts) pointers.push_back(&t);
    tree.push(pointers);
  }
  const std::vector<Tensor>& want = tree.result();
  const ConstMatrixView y = layer.forward(x.cview(), Mode::train);
  EXPECT_TRUE(same_bits(y.data, y_chunks.data(), y_chunks.size())) << "y";
  zero_grad(layer);
  layer.set_gradient_chunks(ends);
  const ConstMatrixView dx = layer.backward(dy.cview());
  layer.set_gradient_chunks({});
  for (std::size_t i = 0; i < grads.size(); ++i) {
    EXPECT_TRUE(same_bits(grads[i]->data(), want[i].data(), want[i].size())) << "parameter " << i;
  }
  EXPECT_TRUE(same_bits(dx.data, dx_chunks.data(), dx_chunks.size())) << "dx";
}

// Shapes below and above the GEMM's packing threshold (256 x 128 -> 160 packs, its 64-row chunks
// do not), 1 to 4 chunks, uneven ones, and a chunk deeper than any kc (600 rows).
TEST_P(GradientChunksPerIsa, DenseSumsItsChunksGradientsInTreeOrder) {
  struct Case {
    std::size_t rows, fan_in, fan_out;
    std::vector<std::size_t> ends;
  };
  const std::vector<Case> cases = {
      {13, 37, 19, {13}}, {13, 37, 19, {6, 13}}, {13, 37, 19, {4, 9, 13}}, {13, 37, 19, {3, 7, 8, 13}},
      {256, 128, 160, {64, 128, 192, 256}}, {203, 12, 33, {50, 101, 152, 203}}, {1000, 9, 20, {600, 1000}}};
  for (const Case& c : cases) {
    for (bool bias : {true, false}) {
      // ReLU is fused into the GEMM; GELU keeps z and runs after it.
      const ActivationSpec activation = bias ? ActivationSpec::relu() : ActivationSpec::of(Activation::gelu);
      Dense dense(c.fan_in, c.fan_out,
                  DenseOptions{.activation = activation, .weight_init = InitSpec::he_normal(), .seed = 4, .bias = bias});
      expect_sums_chunks(dense, random_matrix(c.rows, c.fan_in, 5), random_matrix(c.rows, c.fan_out, 6), c.ends);
    }
  }
}

// Every kind of convolution kernel: 3x3 at stride 1 (on 16 channels the Winograd form on SSE2 and
// AVX2, the row tile on AVX-512; the generic tile on 3), at stride 2, and 1x1 (a GEMM over the
// pixels); 7 images in 1 to 3 chunks.
TEST_P(GradientChunksPerIsa, Conv2DSumsItsChunksGradientsInTreeOrder) {
  struct Case {
    ImageShape input;
    std::size_t out_channels, kernel, stride, padding;
  };
  const std::vector<Case> cases = {{{8, 8, 16}, 16, 3, 1, 1}, {{6, 5, 3}, 8, 3, 1, 1}, {{9, 9, 4}, 8, 3, 2, 1},
                                   {{5, 5, 8}, 12, 1, 1, 0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.kernel) + "x" + std::to_string(c.kernel) + " stride " + std::to_string(c.stride) +
                 " on " + std::to_string(c.input.channels) + " channels");
    for (bool bias : {true, false}) {
      Conv2D conv(c.input, c.out_channels, c.kernel,
                  Conv2DOptions{.stride = c.stride, .padding = c.padding, .bias = bias, .seed = 7});
      for (const std::vector<std::size_t>& ends : {std::vector<std::size_t>{7}, {3, 7}, {2, 5, 7}}) {
        expect_sums_chunks(conv, random_matrix(7, conv.input_width(), 8), random_matrix(7, conv.output_width(), 9), ends);
      }
    }
  }
}

TEST(GradientChunks, BadEndsAreNamed) {
  Dense dense(3, 2);
  dense.set_name("fc");
  const std::vector<std::size_t> zero = {0, 4}, repeated = {2, 2}, short_of_batch = {2, 3};
  testing::expect_throw_with("a zero end", [&] { dense.set_gradient_chunks(zero); }, {"dense \"fc\"", "end 0 is 0"});
  testing::expect_throw_with("a repeated end", [&] { dense.set_gradient_chunks(repeated); }, {"end 1 is 2", "more than 2"});
  dense.set_gradient_chunks(short_of_batch);
  const Tensor x = random_matrix(4, 3, 1), dy = random_matrix(4, 2, 2);
  dense.forward(x.cview(), Mode::train);
  testing::expect_throw_with("ends short of the batch", [&] { dense.backward(dy.cview()); }, {"dense \"fc\"", "end at row 3", "4 rows"});
  dense.set_gradient_chunks({});
  EXPECT_NO_THROW(dense.backward(dy.cview()));
}

// Sequential runs a BatchNorm (or BatchNorm2D) followed by a ReLU as one pass each way
// (BatchNorm::forward_relu): the same bits as the two layers run one after the other, in train
// and eval mode, for the output, the input gradient and γ's and β's gradients (and the
// activation after the pair runs on its own).
TEST_P(SequentialPerIsa, BatchNormThenReluEqualsTheTwoLayers) {
  const ImageShape image{1, 2, 16};  // 16 channels, 32 features: whole vectors (BatchNorm's held parameters)
  for (const bool images : {false, true}) {
    SCOPED_TRACE(images ? "BatchNorm2D" : "BatchNorm");
    const std::size_t width = image.size();
    auto norm = [&]() -> std::unique_ptr<Layer> {
      if (images) return std::make_unique<BatchNorm2D>(image);
      return std::make_unique<BatchNorm>(width);
    };
    auto params = [](Layer& l) { return l.parameters(); };
    Sequential net;
    net.add(norm());
    net.emplace<ActivationLayer>(width, ActivationSpec::relu());
    net.emplace<ActivationLayer>(width, ActivationSpec::of(Activation::tanh));  // its own pass
    std::unique_ptr<Layer> alone = norm();
    ActivationLayer relu1(width, ActivationSpec::relu()), tanh(width, ActivationSpec::of(Activation::tanh));
    for (std::size_t p = 0; p < 2; ++p) {  // the same γ and β, away from 1 and 0
      fill_normal(params(net.at(0))[p].value->view(), 0.5f, 0.5f, 3, p);
      fill_normal(params(*alone)[p].value->view(), 0.5f, 0.5f, 3, p);
    }
    const Tensor x = feature_data(6, width, 5);
    Tensor dy(6, width);
    fill_normal(dy.view(), 0.0f, 1.0f, 6, 0);
    for (const Mode mode : {Mode::train, Mode::eval, Mode::train}) {  // train last: backward follows
      const ConstMatrixView y = net.forward(x.cview(), mode);
      const ConstMatrixView want = tanh.forward(relu1.forward(alone->forward(x.cview(), mode), mode), mode);
      ASSERT_TRUE(same_bits(y.data, want.data, 6 * width)) << "y";
    }
    InferenceBuffers net_buffers, alone_buffers;  // infer() fuses the pair too
    const ConstMatrixView inferred = net.infer(x.cview(), net_buffers);
    const ConstMatrixView want_inferred =
        tanh.infer(relu1.infer(alone->infer(x.cview(), alone_buffers), alone_buffers), alone_buffers);
    ASSERT_TRUE(same_bits(inferred.data, want_inferred.data, 6 * width)) << "infer";
    zero_grad(net);
    zero_grad(*alone);
    const ConstMatrixView dx = net.backward(dy.cview());
    const ConstMatrixView want_dx = alone->backward(relu1.backward(tanh.backward(dy.cview())));
    EXPECT_TRUE(same_bits(dx.data, want_dx.data, 6 * width)) << "dx";
    for (std::size_t p = 0; p < 2; ++p) {
      const Tensor& got = *params(net.at(0))[p].grad;
      EXPECT_TRUE(same_bits(got.data(), params(*alone)[p].grad->data(), got.size())) << "parameter " << p;
    }
  }
}

// Sequential runs BatchNorm2D → ReLU → MaxPool2D as one forward pass
// (BatchNorm2D::forward_relu_max_pool, the normalized images never stored): the same bits as the
// three layers one after the other, in train and eval mode, for the output, the input gradient
// and γ's and β's gradients. Channels in whole vectors and not; windows that tile the image,
// overlap across the padding, or skip pixels; a strided input view (copied first). Pooling over
// another shape of the same size is not fused, and refused when called directly.
TEST_P(SequentialPerIsa, BatchNorm2DReluMaxPoolEqualsTheThreeLayers) {
  using Window = std::array<std::size_t, 3>;  // kernel, stride, padding
  const std::pair<ImageShape, Window> cases[] = {{{6, 4, 16}, {2, 2, 0}}, {{5, 5, 9}, {3, 2, 1}},
                                                 {{5, 7, 3}, {2, 3, 0}}, {{4, 4, 4}, {2, 2, 0}}};
  for (std::size_t c = 0; c < std::size(cases); ++c) {
    const auto& [image, window] = cases[c];
    const auto& [kernel, stride, padding] = window;
    const bool other_shape = c == 3;  // the pooling sees 4x8x2: not the pair's images
    const ImageShape pooled_shape = other_shape ? ImageShape{4, 8, 2} : image;
    SCOPED_TRACE(to_string(image) + " pooled as " + to_string(pooled_shape) + ", kernel " + std::to_string(kernel));
    const std::size_t width = image.size(), batch = 3;
    Sequential net;
    net.emplace<BatchNorm2D>(image);
    net.emplace<ActivationLayer>(width, ActivationSpec::relu());
    auto& pool = net.emplace<MaxPool2D>(pooled_shape, kernel, stride, padding);
    BatchNorm2D norm(image), fused_norm(image);  // the layers one by one; the pair called directly
    ActivationLayer relu(width, ActivationSpec::relu());
    MaxPool2D pool_alone(pooled_shape, kernel, stride, padding), fused_pool(image, kernel, stride, padding);
    for (std::size_t p = 0; p < 2; ++p) {  // the same γ and β, some γ negative
      for (Layer* l : {&net.at(0), static_cast<Layer*>(&norm), static_cast<Layer*>(&fused_norm)}) {
        fill_normal(l->parameters()[p].value->view(), 0.3f, 0.7f, 3, p);
      }
    }
    const Tensor wide = feature_data(batch, width + 5, 5 + c);  // rows of x with 5 columns to spare
    const ConstMatrixView x{wide.data(), batch, width, wide.cols()};
    Tensor dy(batch, pool.output_width());
    fill_normal(dy.view(), 0.0f, 1.0f, 6, c);
    for (const Mode mode : {Mode::train, Mode::eval, Mode::train}) {  // train last: backward follows
      const ConstMatrixView y = net.forward(x, mode);
      const ConstMatrixView want = pool_alone.forward(relu.forward(norm.forward(x, mode), mode), mode);
      ASSERT_TRUE(same_bits(y.data, want.data, batch * pool.output_width())) << "y";
      if (!other_shape) {
        const ConstMatrixView direct = fused_norm.forward_relu_max_pool(x, mode, fused_pool);
        ASSERT_TRUE(same_bits(direct.data, want.data, batch * pool.output_width())) << "y, called directly";
      }
    }
    InferenceBuffers net_buffers, alone_buffers;  // infer() fuses the triple too
    const ConstMatrixView inferred = net.infer(x, net_buffers);
    const ConstMatrixView want_inferred =
        pool_alone.infer(relu.infer(norm.infer(x, alone_buffers), alone_buffers), alone_buffers);
    ASSERT_TRUE(same_bits(inferred.data, want_inferred.data, batch * pool.output_width())) << "infer";
    zero_grad(net);
    zero_grad(norm);
    const ConstMatrixView dx = net.backward(dy.cview());
    const ConstMatrixView want_dx = norm.backward(relu.backward(pool_alone.backward(dy.cview())));
    EXPECT_TRUE(same_bits(dx.data, want_dx.data, batch * width)) << "dx";
    for (std::size_t p = 0; p < 2; ++p) {
      const Tensor& got = *net.at(0).parameters()[p].grad;
      EXPECT_TRUE(same_bits(got.data(), norm.parameters()[p].grad->data(), got.size())) << "parameter " << p;
    }
    if (other_shape) {
      testing::expect_throw_with("another shape", [&] { norm.forward_relu_max_pool(x, Mode::train, pool_alone); },
                                 {"forward_relu_max_pool", "4x4x4", "4x8x2"});
      testing::expect_throw_with("another shape", [&] { norm.infer_relu_max_pool(x, alone_buffers, pool_alone); },
                                 {"infer_relu_max_pool", "4x4x4", "4x8x2"});
    }
  }
}

// Sequential::backward fuses each ReLU Dense's backward into the next Dense's dx product
// (Dense::set_gate_input_gradient): the same dx and gradients as the children's own backward
// passes run one by one (which leave the fusion off), at 1 and 2 threads, where some of the
// ReLU's outputs are 0 and one is NaN; a Dense after an ActivationLayer is not fused.
TEST(Sequential, DenseReluPairsGiveTheUnfusedBits) {
  static constexpr std::size_t kBatch = 37, kIn = 9;
  auto make = [] {
    Sequential net;
    net.emplace<Dense>(kIn, 24, DenseOptions{.activation = ActivationSpec::relu(), .seed = 1, .stream = 1});
    net.emplace<Dense>(24, 17, DenseOptions{.activation = ActivationSpec::relu(), .seed = 1, .stream = 2});
    net.emplace<Dense>(17, 11, DenseOptions{.activation = ActivationSpec::relu(), .seed = 1, .stream = 3});
    net.emplace<ActivationLayer>(11, ActivationSpec::of(Activation::tanh));
    net.emplace<Dense>(11, 5, DenseOptions{.seed = 1, .stream = 4});
    return net;
  };
  Tensor x(kBatch, kIn), dy(kBatch, 5);
  fill_normal(x.view(), 0.0f, 1.0f, 3, 0);
  fill_normal(dy.view(), 0.0f, 1.0f, 3, 1);
  x(5, 2) = NAN;  // a NaN through every ReLU of row 5
  for (int threads : {1, 2}) {
    testing::ScopedThreads scoped(threads);
    Sequential fused = make(), alone = make();
    fused.forward(x.cview(), Mode::train);
    alone.forward(x.cview(), Mode::train);
    zero_grad(fused);
    zero_grad(alone);
    const ConstMatrixView dx = fused.backward(dy.cview());
    ConstMatrixView g = dy.cview();
    for (std::size_t i = alone.size(); i-- > 0;) g = alone.at(i).backward(g);
    EXPECT_TRUE(same_bits(dx.data, g.data, kBatch * kIn)) << threads << " threads";
    const std::vector<Parameter> got = all_parameters(fused), want = all_parameters(alone);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t p = 0; p < got.size(); ++p) {
      EXPECT_TRUE(same_bits(got[p].grad->data(), want[p].grad->data(), got[p].grad->size()))
          << "parameter " << p << ", " << threads << " threads";
    }
  }
}

TEST(Sequential, ChecksThatWidthsChainAndNamesChildren) {
  Sequential net;
  net.set_name("model");
  net.emplace<Dense>(4, 6);
  EXPECT_EQ(net.at(0).name(), "dense0");
  net.emplace<BatchNorm>(6).set_name("norm");
  EXPECT_EQ(net.at(1).name(), "norm");
  try {
    net.emplace<Dense>(5, 2);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model"), std::string::npos) << what;
    EXPECT_NE(what.find("input width 5"), std::string::npos) << what;
    EXPECT_NE(what.find("output width 6"), std::string::npos) << what;
  }
  auto dup = std::make_unique<Dense>(6, 2);
  dup->set_name("norm");
  EXPECT_THROW(net.add(std::move(dup)), std::invalid_argument);
  EXPECT_THROW(net.add(nullptr), std::invalid_argument);
  EXPECT_EQ(net.size(), 2u);
  Sequential empty;
  const Tensor x(2, 3);
  EXPECT_THROW(empty.forward(x.cview(), Mode::train), std::logic_error);
}

// add() keeps a hash of the names: duplicates are still refused, whether given at construction,
// set right after emplace(), or taken by an automatic name; a child renamed after it was added
// frees its old name. 100,000 children build in linear time (quadratic took 31 s for 80,000).
TEST(Sequential, DuplicateNamesAreRefusedInLargeNetworks) {
  Sequential net;
  constexpr std::size_t kLayers = 100000;
  for (std::size_t i = 0; i < kLayers; ++i) net.emplace<ActivationLayer>(1, ActivationSpec::relu());
  ASSERT_EQ(net.size(), kLayers);
  EXPECT_EQ(net.at(0).name(), "activation0");
  EXPECT_EQ(net.at(kLayers - 1).name(), "activation" + std::to_string(kLayers - 1));
  auto named = [](const std::string& name) {
    auto l = std::make_unique<ActivationLayer>(1, ActivationSpec::relu());
    l->set_name(name);
    return l;
  };
  EXPECT_THROW(net.add(named("activation0")), std::invalid_argument);
  EXPECT_THROW(net.add(named("activation77777")), std::invalid_argument);
  EXPECT_EQ(net.size(), kLayers);
  // Named right after emplace: the new name is taken, the automatic one freed.
  net.emplace<ActivationLayer>(1, ActivationSpec::relu()).set_name("last");
  EXPECT_THROW(net.add(named("last")), std::invalid_argument);
  net.add(named("activation" + std::to_string(kLayers)));
  // An automatic name that is taken gets a suffix.
  net.add(named("activation" + std::to_string(kLayers + 3)));
  net.emplace<ActivationLayer>(1, ActivationSpec::relu());
  EXPECT_EQ(net.at(kLayers + 3).name(), "activation" + std::to_string(kLayers + 3) + "_1");
  // A child renamed through at() frees its old name.
  net.at(5).set_name("five");
  net.add(named("activation5"));
  EXPECT_EQ(net.size(), kLayers + 5);
}

TEST(Layers, ParameterAndStatePathsAndZeroGrad) {
  auto net = small_network(3);
  const std::vector<Parameter> params = all_parameters(*net);
  std::vector<std::string> names;
  for (const Parameter& p : params) names.push_back(p.name);
  const std::vector<std::string> expected = {
      "dense0/weight", "dense0/bias", "batchnorm1/gamma", "batchnorm1/beta",
      "residual4/dense1/weight", "residual4/dense1/bias", "residual4/bn1/gamma",
      "residual4/bn1/beta", "residual4/dense2/weight", "residual4/dense2/bias",
      "residual4/bn2/gamma", "residual4/bn2/beta", "dense_block5/bn0/gamma",
      "dense_block5/bn0/beta", "dense_block5/dense0/weight", "dense_block5/dense0/bias",
      "dense_block5/bn1/gamma", "dense_block5/bn1/beta", "dense_block5/dense1/weight",
      "dense_block5/dense1/bias", "dense6/weight", "dense6/bias"};
  EXPECT_EQ(names, expected);
  std::vector<std::string> state;
  for (const StateTensor& s : all_state(*net)) state.push_back(s.name);
  EXPECT_EQ(state.size(), 11u);  // 4 BatchNorms x (mean, var) + the dropout step
  EXPECT_EQ(state.front(), "batchnorm1/running_mean");
  EXPECT_NE(std::find(state.begin(), state.end(), "dropout3/step"), state.end());
  EXPECT_EQ(state.back(), "dense_block5/bn1/running_var");

  const Tensor x = random_matrix(4, 5, 1);  // must outlive backward (layer.h)
  net->forward(x.cview(), Mode::train);
  net->backward(random_matrix(4, 3, 2).cview());
  double total = 0;
  for (const Parameter& p : params) total += sum_of_squares(p.grad->data(), p.grad->size());
  EXPECT_GT(total, 0.0);
  zero_grad(*net);
  for (const Parameter& p : params) EXPECT_EQ(sum_of_squares(p.grad->data(), p.grad->size()), 0.0);
}

// ---- errors ---------------------------------------------------------------------------------

struct Named {
  std::unique_ptr<Layer> layer;
  std::string name;
};

std::vector<Named> every_layer_kind() {
  std::vector<Named> v;
  auto add = [&](std::unique_ptr<Layer> l, std::string name) {
    l->set_name(name);
    v.push_back({std::move(l), name});
  };
  add(std::make_unique<Dense>(8, 4), "my_dense");
  add(std::make_unique<ActivationLayer>(8, ActivationSpec::relu()), "my_act");
  add(std::make_unique<BatchNorm>(8), "my_bn");
  add(std::make_unique<Dropout>(8, 0.5f), "my_dropout");
  add(std::make_unique<ResidualBlock>(8, 4, 8), "my_res");
  add(std::make_unique<ResidualBlock>(8, 4, 6), "my_res_proj");
  add(std::make_unique<DenseBlock>(8, 2, 2), "my_block");
  auto seq = std::make_unique<Sequential>();
  seq->emplace<Dense>(8, 3);
  add(std::move(seq), "my_seq");
  return v;
}

TEST(Layers, WrongInputWidthThrowsShapeErrorNamingLayerAndShapes) {
  for (Named& n : every_layer_kind()) {
    SCOPED_TRACE(n.name);
    const Tensor x(5, 7);
    try {
      n.layer->forward(x.cview(), Mode::train);
      ADD_FAILURE() << "no ShapeError";
    } catch (const ShapeError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(n.name), std::string::npos) << what;
      EXPECT_NE(what.find(n.layer->kind()), std::string::npos) << what;
      EXPECT_NE(what.find("5x7"), std::string::npos) << what;
      EXPECT_NE(what.find("5x8"), std::string::npos) << what;
    }
  }
}

TEST(Layers, WrongGradientShapeThrowsShapeError) {
  for (Named& n : every_layer_kind()) {
    SCOPED_TRACE(n.name);
    const Tensor x = random_matrix(5, 8, 1);
    n.layer->forward(x.cview(), Mode::train);
    const std::size_t out = n.layer->output_width();
    const Tensor dy(4, out);
    try {
      n.layer->backward(dy.cview());
      ADD_FAILURE() << "no ShapeError";
    } catch (const ShapeError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(n.name), std::string::npos) << what;
      EXPECT_NE(what.find(shape_string(4, out)), std::string::npos) << what;
      EXPECT_NE(what.find(shape_string(5, out)), std::string::npos) << what;
    }
  }
}

TEST(Layers, BackwardWithoutTrainForwardThrowsLogicError) {
  for (Named& n : every_layer_kind()) {
    SCOPED_TRACE(n.name);
    const Tensor x = random_matrix(5, 8, 1);
    const Tensor dy(5, n.layer->output_width());
    EXPECT_THROW(n.layer->backward(dy.cview()), std::logic_error);
    n.layer->forward(x.cview(), Mode::eval);
    try {
      n.layer->backward(dy.cview());
      ADD_FAILURE() << "no logic_error after an eval forward";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find(n.name), std::string::npos) << e.what();
    }
    n.layer->forward(x.cview(), Mode::train);
    EXPECT_NO_THROW(n.layer->backward(dy.cview()));
  }
}

// ---- threads --------------------------------------------------------------------------------

struct RunResult {
  Tensor y, dx, eval;
  std::vector<Tensor> grads, state;
};

// A network large enough that the GEMMs take the packed path, and the elementwise, random and
// column kernels split into parallel chunks.
RunResult run_big_network(int threads) {
  set_num_threads(threads);
  Sequential net;
  net.emplace<Dense>(300, 512, DenseOptions{.activation = ActivationSpec::relu(),
                                            .weight_init = InitSpec::he_normal(), .seed = 5});
  net.emplace<BatchNorm>(512);
  net.emplace<Dropout>(512, 0.3f, DropoutOptions{.seed = 5, .stream = 1});
  net.emplace<ResidualBlock>(512, 256, 384,
                             ResidualOptions{.dropout = 0.1f, .seed = 5, .stream = 2});
  net.emplace<DenseBlock>(384, 32, 3, DenseBlockOptions{.seed = 5, .stream = 3});
  net.emplace<Dense>(480, 10, DenseOptions{.activation = ActivationSpec::of(Activation::gelu), .seed = 5,
                                           .stream = 4});
  const Tensor x = random_matrix(256, 300, 11);
  const Tensor dy = random_matrix(256, 10, 12);
  RunResult result;
  for (int step = 0; step < 2; ++step) {
    result.y = copy_of(net.forward(x.cview(), Mode::train));
    result.dx = copy_of(net.backward(dy.cview()));
  }
  result.eval = copy_of(net.forward(x.cview(), Mode::eval));
  for (const Parameter& p : all_parameters(net)) result.grads.push_back(p.grad->clone());
  for (const StateTensor& s : all_state(net)) result.state.push_back(s.value->clone());
  return result;
}

void expect_bit_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.rows(), b.rows()) << what;
  ASSERT_EQ(a.cols(), b.cols()) << what;
  std::size_t differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    differ += std::memcmp(a.data() + i, b.data() + i, sizeof(float)) != 0;
  }
  EXPECT_EQ(differ, 0u) << what << ": " << differ << " of " << a.size() << " elements differ";
}

TEST(Layers, BitIdenticalAtOneAndTwoThreads) {
  ThreadCount restore;
  const RunResult one = run_big_network(1);
  const RunResult two = run_big_network(2);
  expect_bit_identical(one.y, two.y, "train output");
  expect_bit_identical(one.dx, two.dx, "input gradient");
  expect_bit_identical(one.eval, two.eval, "eval output");
  ASSERT_EQ(one.grads.size(), two.grads.size());
  for (std::size_t i = 0; i < one.grads.size(); ++i) {
    expect_bit_identical(one.grads[i], two.grads[i], "gradient " + std::to_string(i));
  }
  ASSERT_EQ(one.state.size(), two.state.size());
  for (std::size_t i = 0; i < one.state.size(); ++i) {
    expect_bit_identical(one.state[i], two.state[i], "state " + std::to_string(i));
  }
}

}  // namespace
}  // namespace simdnn
