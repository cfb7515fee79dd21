// Convolutional layers (Conv2D, BatchNorm2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D) and the
// image kernels under them (core/image.h): against direct double-precision formulas over many
// shapes on every ISA, against finite differences, bit-identical across thread counts, and their
// errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <simdnn/core/conv.h>
#include <simdnn/core/elementwise.h>
#include <simdnn/core/image.h>
#include <simdnn/core/random.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/conv2d.h>
#include <simdnn/layers/conv_residual.h>
#include <simdnn/layers/pooling.h>
#include <simdnn/layers/sequential.h>
#include "tests/gradient_check.h"
#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::check_gradients;

Tensor random_images(std::size_t n, const ImageShape& s, std::uint64_t seed) {
  Tensor x(n, s.size());
  fill_normal(x.view(), 0.0f, 1.0f, seed, 0);
  return x;
}

Tensor copy(ConstMatrixView v) {
  Tensor t(v.rows, v.cols);
  for (std::size_t r = 0; r < v.rows; ++r) std::copy_n(v.row(r), v.cols, t.view().row(r));
  return t;
}

// x[n, h, w, c] of an NHWC batch, 0 in the padding.
double pixel(const Tensor& x, const ImageShape& s, std::size_t n, long h, long w, std::size_t c) {
  if (h < 0 || w < 0 || h >= static_cast<long>(s.height) || w >= static_cast<long>(s.width)) return 0.0;
  return x(n, (static_cast<std::size_t>(h) * s.width + static_cast<std::size_t>(w)) * s.channels + c);
}

// The convolution by its definition (conv2d.h), in double.
std::vector<double> direct_conv(Conv2D& conv, const Tensor& x) {
  const WindowGeometry& g = conv.geometry();
  const ImageShape in = g.input, out = conv.output_shape();
  std::vector<double> y(x.rows() * out.size());
  for (std::size_t n = 0; n < x.rows(); ++n) {
    for (std::size_t oh = 0; oh < out.height; ++oh) {
      for (std::size_t ow = 0; ow < out.width; ++ow) {
        for (std::size_t co = 0; co < out.channels; ++co) {
          double sum = conv.has_bias() ? conv.bias()(0, co) : 0.0;
          for (std::size_t kh = 0; kh < g.kernel; ++kh) {
            for (std::size_t kw = 0; kw < g.kernel; ++kw) {
              const long h = static_cast<long>(oh * g.stride + kh) - static_cast<long>(g.padding);
              const long w = static_cast<long>(ow * g.stride + kw) - static_cast<long>(g.padding);
              for (std::size_t ci = 0; ci < in.channels; ++ci) {
                sum += pixel(x, in, n, h, w, ci) * conv.weight()((kh * g.kernel + kw) * in.channels + ci, co);
              }
            }
          }
          y[n * out.size() + (oh * out.width + ow) * out.channels + co] = sum;
        }
      }
    }
  }
  return y;
}

struct ConvCase {
  std::size_t height, width, in_channels, out_channels, kernel, stride, padding, batch;

  std::string name() const {
    return std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(in_channels) + " -> " +
           std::to_string(out_channels) + ", k" + std::to_string(kernel) + " s" + std::to_string(stride) + " p" +
           std::to_string(padding);
  }
  Conv2D layer() const {
    return Conv2D({height, width, in_channels}, out_channels, kernel, {.stride = stride, .padding = padding, .seed = 5});
  }
};

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> cases;
  for (std::size_t kernel : {1, 2, 3, 5}) {
    for (std::size_t stride : {1, 2, 3}) {
      for (std::size_t padding = 0; padding < std::min<std::size_t>(kernel, 3); ++padding) {
        cases.push_back({7, 6, 3, 4, kernel, stride, padding, 2});
      }
    }
  }
  cases.push_back({1, 1, 1, 1, 1, 1, 0, 1});
  cases.push_back({5, 9, 1, 17, 3, 1, 1, 3});   // one input channel (a first layer), many outputs
  cases.push_back({4, 4, 33, 5, 1, 1, 0, 2});   // pointwise, channels over a vector width
  cases.push_back({9, 9, 16, 16, 3, 2, 1, 2});  // a downsampling block
  cases.push_back({3, 3, 2, 3, 3, 1, 0, 4});    // one output pixel
  // Direct kernels: outputs over two AVX-512 vectors, more inputs than outputs, wide padding.
  cases.push_back({6, 7, 5, 40, 3, 1, 1, 3});
  cases.push_back({5, 5, 20, 3, 3, 1, 2, 2});
  cases.push_back({8, 8, 1, 16, 3, 1, 1, 5});   // a stem: one input channel, 16 outputs
  // Few outputs and whole-vector window rows: the dot-product kernel (for dx too, as in the stem).
  cases.push_back({6, 6, 8, 2, 3, 1, 1, 3});
  cases.push_back({5, 6, 16, 3, 3, 2, 1, 2});
  cases.push_back({7, 7, 20, 8, 3, 2, 1, 3});   // strided, input channels over a vector
  // 3x3 over 16 channels (AVX-512's transposed weight-gradient tile): output channels past a
  // block of 8.
  cases.push_back({6, 6, 16, 21, 3, 1, 1, 2});
  // 3x3 at stride 1 and padding 1 over 16 and 32 channels, output rows of 28 and 14 (16
  // channels) and 14 and 7 pixels (32): AVX-512's row tile, for dx too where C_out == C_in;
  // outputs a partial vector; a single output row (no window row inside the image on both sides).
  cases.push_back({3, 28, 16, 16, 3, 1, 1, 2});
  cases.push_back({2, 14, 16, 11, 3, 1, 1, 1});
  cases.push_back({1, 14, 16, 16, 3, 1, 1, 2});
  cases.push_back({7, 7, 32, 32, 3, 1, 1, 1});
  cases.push_back({2, 14, 32, 20, 3, 1, 1, 1});
  // 64 channels on images 4 pixels wide: 4 rows per tile (dx too in the first), 2 tiles per image
  // and outputs a partial vector in the second.
  cases.push_back({4, 4, 64, 64, 3, 1, 1, 1});
  cases.push_back({8, 4, 64, 50, 3, 1, 1, 1});
  // ... and the stride-2 form of the 16-channel case, 16 channels to 17–32 on an even width:
  // rows of 7 and 14 outputs.
  cases.push_back({6, 14, 16, 20, 3, 2, 1, 1});
  cases.push_back({4, 28, 16, 32, 3, 2, 1, 1});
  // ... and from 32 channels to 49–64 on rows of 4 outputs, odd and even widths and heights; the
  // gather form of dx on rows of 14 (16 channels) and 7 or 8 (32), and in a second chunk of images
  // (17 images of 16 pixels, 7 of 49).
  cases.push_back({7, 7, 32, 64, 3, 2, 1, 17});
  cases.push_back({8, 8, 32, 56, 3, 2, 1, 1});
  cases.push_back({14, 14, 16, 32, 3, 2, 1, 7});
  cases.push_back({6, 7, 32, 50, 3, 2, 1, 1});
  cases.push_back({5, 8, 32, 64, 3, 2, 1, 1});
  cases.push_back({5, 14, 16, 32, 3, 2, 1, 2});
  // The Winograd form (SSE2, AVX2: 3x3, stride 1, padding 1, 16 or more channels each way, whole
  // vectors): odd heights and widths (tiles half outside), unequal channel counts both ways,
  // images smaller than a tile, and batches of several blocks of tiles and several chunks.
  cases.push_back({5, 9, 16, 32, 3, 1, 1, 3});
  cases.push_back({9, 5, 32, 16, 3, 1, 1, 2});
  cases.push_back({1, 1, 16, 16, 3, 1, 1, 3});
  cases.push_back({2, 3, 16, 48, 3, 1, 1, 2});
  cases.push_back({14, 14, 16, 16, 3, 1, 1, 5});
  cases.push_back({6, 7, 24, 40, 3, 1, 1, 2});  // a single vector of channels after pairs (AVX2)
  return cases;
}

class ConvPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(ConvPerIsa);

TEST_P(ConvPerIsa, ForwardMatchesTheDefinitionOverManyShapes) {
  for (const ConvCase& c : conv_cases()) {
    SCOPED_TRACE(c.name());
    Conv2D conv = c.layer();
    fill_normal(conv.bias().view(), 0.0f, 1.0f, 6, 0);
    const Tensor x = random_images(c.batch, conv.input_shape(), 7);
    const std::vector<double> expected = direct_conv(conv, x);
    for (Mode mode : {Mode::train, Mode::eval}) {
      const ConstMatrixView y = conv.forward(x.cview(), mode);
      ASSERT_EQ(y.cols, conv.output_width());
      for (std::size_t n = 0; n < c.batch; ++n) {
        for (std::size_t i = 0; i < y.cols; ++i) {
          const double e = expected[n * y.cols + i];
          EXPECT_NEAR(y(n, i), e, 1e-5 * (1.0 + std::abs(e) * 10)) << "n " << n << " i " << i;
        }
      }
    }
    InferenceBuffers buffers;
    const ConstMatrixView inferred = conv.infer(x.cview(), buffers);
    const ConstMatrixView trained = conv.forward(x.cview(), Mode::eval);
    for (std::size_t n = 0; n < c.batch; ++n) {
      for (std::size_t i = 0; i < inferred.cols; ++i) ASSERT_EQ(inferred(n, i), trained(n, i));
    }
  }
}

// The backward pass by its definition, in double: dx[n, ih, iw, ci] and dw[(kh·k + kw)·C_in + ci, co]
// collect dy[n, oh, ow, co] times w or x over every window position that reads (ih, iw). The
// tolerance also allows 4 float ulps of each element's sum of |terms|: the Winograd form's weight
// gradient sums transformed values over the tiles, and where the terms cancel its error is a few
// ulps of their magnitude, not of the result.
TEST_P(ConvPerIsa, BackwardMatchesTheDefinitionOverManyShapes) {
  for (const ConvCase& c : conv_cases()) {
    SCOPED_TRACE(c.name());
    Conv2D conv = c.layer();
    const WindowGeometry& g = conv.geometry();
    const ImageShape in = g.input, out = conv.output_shape();
    const Tensor x = random_images(c.batch, in, 7);
    Tensor dy(c.batch, out.size());
    fill_normal(dy.view(), 0.0f, 1.0f, 8, 0);
    std::vector<double> dx(x.size()), dw(conv.weight().size()), dx_abs(x.size()), dw_abs(conv.weight().size());
    for (std::size_t n = 0; n < c.batch; ++n) {
      for (std::size_t oh = 0; oh < out.height; ++oh) {
        for (std::size_t ow = 0; ow < out.width; ++ow) {
          for (std::size_t kh = 0; kh < g.kernel; ++kh) {
            for (std::size_t kw = 0; kw < g.kernel; ++kw) {
              const long h = static_cast<long>(oh * g.stride + kh) - static_cast<long>(g.padding);
              const long w = static_cast<long>(ow * g.stride + kw) - static_cast<long>(g.padding);
              if (h < 0 || w < 0 || h >= static_cast<long>(in.height) || w >= static_cast<long>(in.width)) continue;
              const std::size_t pix = static_cast<std::size_t>(h) * in.width + static_cast<std::size_t>(w);
              for (std::size_t ci = 0; ci < in.channels; ++ci) {
                const std::size_t row = (kh * g.kernel + kw) * in.channels + ci;
                for (std::size_t co = 0; co < out.channels; ++co) {
                  const double d = dy(n, (oh * out.width + ow) * out.channels + co);
                  const double wd = d * conv.weight()(row, co), xd = d * x(n, pix * in.channels + ci);
                  dx[n * in.size() + pix * in.channels + ci] += wd;
                  dx_abs[n * in.size() + pix * in.channels + ci] += std::abs(wd);
                  dw[row * out.channels + co] += xd;
                  dw_abs[row * out.channels + co] += std::abs(xd);
                }
              }
            }
          }
        }
      }
    }
    conv.forward(x.cview(), Mode::train);
    zero_grad(conv);
    const ConstMatrixView got = conv.backward(dy.cview());
    const auto tolerance = [](double e, double magnitude) {
      return 1e-5 * (1.0 + std::abs(e) * 10) + 4.0 * std::numeric_limits<float>::epsilon() * magnitude;
    };
    for (std::size_t i = 0; i < dx.size(); ++i) {
      ASSERT_NEAR(got.data[i], dx[i], tolerance(dx[i], dx_abs[i])) << "dx element " << i;
    }
    for (std::size_t i = 0; i < dw.size(); ++i) {
      ASSERT_NEAR(conv.weight_grad().data()[i], dw[i], tolerance(dw[i], dw_abs[i])) << "dw element " << i;
    }
  }
}

// The Winograd form runs exactly where conv_runs_winograd says (SSE2 and AVX2 offer it, AVX-512
// does not), and its forward, dx and dW give the same bits at 1, 2 and 3 threads: the ResNet's
// square layers (several blocks of tiles at 14x14x16, several chunks at 4x4x64) and unequal
// channel counts.
TEST_P(ConvPerIsa, WinogradFormRunsWhereOfferedWithTheSameBitsAtAnyThreadCount) {
  const bool offered = GetParam() != Isa::avx512;
  for (const ConvCase& c : {ConvCase{14, 14, 16, 16, 3, 1, 1, 5}, ConvCase{7, 7, 32, 32, 3, 1, 1, 3},
                            ConvCase{4, 4, 64, 64, 3, 1, 1, 40}, ConvCase{5, 6, 16, 32, 3, 1, 1, 3}}) {
    SCOPED_TRACE(c.name());
    Conv2D conv = c.layer();
    EXPECT_EQ(conv_runs_winograd(conv.geometry(), c.out_channels), offered);
    const Tensor x = random_images(c.batch, conv.input_shape(), 6);
    Tensor dy(c.batch, conv.output_width());
    fill_normal(dy.view(), 0.0f, 1.0f, 7, 0);
    std::vector<std::vector<float>> runs;
    for (int threads : {1, 2, 3}) {
      testing::ScopedThreads scoped(threads);
      const ConstMatrixView y = conv.forward(x.cview(), Mode::train);
      std::vector<float> bits(y.data, y.data + y.rows * y.cols);
      zero_grad(conv);
      const ConstMatrixView dx = conv.backward(dy.cview());
      bits.insert(bits.end(), dx.data, dx.data + dx.rows * dx.cols);
      bits.insert(bits.end(), conv.weight_grad().data(), conv.weight_grad().data() + conv.weight_grad().size());
      runs.push_back(std::move(bits));
    }
    EXPECT_EQ(runs[0], runs[1]);
    EXPECT_EQ(runs[0], runs[2]);
  }
  // Beside them, shapes the form does not take: stride 2, padding 0, channels past 64 or not
  // whole vectors, fewer than 16.
  for (const ConvCase& c : {ConvCase{8, 8, 16, 16, 3, 2, 1, 1}, ConvCase{8, 8, 16, 16, 3, 1, 0, 1},
                            ConvCase{4, 4, 16, 80, 3, 1, 1, 1}, ConvCase{4, 4, 18, 16, 3, 1, 1, 1},
                            ConvCase{4, 4, 8, 16, 3, 1, 1, 1}}) {
    const Conv2D conv = c.layer();
    EXPECT_FALSE(conv_runs_winograd(conv.geometry(), c.out_channels)) << c.name();
  }
}

TEST_P(ConvPerIsa, GradientsMatchFiniteDifferences) {
  for (const ConvCase& c : {ConvCase{5, 4, 2, 3, 3, 1, 1, 2}, ConvCase{6, 5, 3, 2, 3, 2, 0, 2},
                            ConvCase{3, 3, 4, 3, 1, 1, 0, 3}, ConvCase{4, 5, 2, 2, 2, 2, 1, 1}}) {
    Conv2D conv({c.height, c.width, c.in_channels}, c.out_channels, c.kernel,
                {.stride = c.stride, .padding = c.padding, .seed = 9});
    check_gradients(conv, random_images(c.batch, conv.input_shape(), 10));
    check_gradients(conv, random_images(c.batch, conv.input_shape(), 11), {.input_ld_padding = 3});
  }
}

TEST_P(ConvPerIsa, PoolingAndChannelNormGradientsMatchFiniteDifferences) {
  const ImageShape s{6, 5, 3};
  MaxPool2D max(s, 2);
  // Distinct values spaced far more than the step h apart: no window has a near-tie.
  Tensor x(2, s.size());
  Rng rng(3, 0);
  const std::vector<std::size_t> order = rng.permutation(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = 0.1f * static_cast<float>(order[i]);
  check_gradients(max, x);
  MaxPool2D overlapping(s, 3, 1, 1);
  check_gradients(overlapping, x);
  AvgPool2D avg(s, 2);
  check_gradients(avg, random_images(2, s, 4));
  AvgPool2D avg_padded(s, 3, 2, 1);
  check_gradients(avg_padded, random_images(2, s, 5));
  GlobalAvgPool2D gap(s);
  check_gradients(gap, random_images(3, s, 6));
  BatchNorm2D bn(s);
  fill_normal(bn.channels().gamma().view(), 1.0f, 0.3f, 7, 0);
  fill_normal(bn.channels().beta().view(), 0.0f, 0.3f, 7, 1);
  check_gradients(bn, random_images(2, s, 8), {.input_ld_padding = 2});
}

TEST_P(ConvPerIsa, ResidualBlockGradientsMatchFiniteDifferences) {
  // Kinks: a BatchNorm output can sit at a ReLU's kink (gradient_check.h).
  const testing::GradCheckOptions o{.max_kink_fraction = 0.05};
  ConvResidualBlock same({5, 5, 3}, 3, 1, {.seed = 1});
  EXPECT_EQ(same.projection(), nullptr);
  check_gradients(same, random_images(2, same.input_shape(), 2), o);
  ConvResidualBlock down({6, 5, 2}, 4, 2, {.seed = 3});
  ASSERT_NE(down.projection(), nullptr);
  EXPECT_EQ(down.output_shape(), (ImageShape{3, 3, 4}));
  check_gradients(down, random_images(2, down.input_shape(), 4), o);
  // Another activation: the block's unfused passes (bn2, the addition and act_out one by one).
  ConvResidualBlock leaky({5, 4, 3}, 4, 2, {.activation = ActivationSpec::leaky_relu(0.1f), .seed = 5});
  check_gradients(leaky, random_images(2, leaky.input_shape(), 6), o);
}

bool same_bits(const float* a, const float* b, std::size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

// A ConvResidualBlock runs bn2, the shortcut's addition and act_out as one pass forward and in
// infer() (BatchNorm2D::forward_add_relu) and takes the ReLU's gradient from its output: the bits
// of its children run one by one, for the output, the input gradient, every parameter gradient and
// the running statistics; with and without a projection, with a Winograd conv2 (16 channels), with
// channels past whole vectors, and with another activation (the unfused passes). After an
// eval-mode forward of a larger batch, backward() refuses to run rather than read the stale output.
TEST_P(ConvPerIsa, ResidualBlockEqualsItsLayersOneByOne) {
  struct Case {
    ImageShape input;
    std::size_t out_channels, stride;
    ActivationSpec activation;
  };
  const ActivationSpec relu = ActivationSpec::relu();
  for (const Case& c : {Case{{5, 5, 16}, 16, 1, relu}, Case{{6, 5, 2}, 4, 2, relu}, Case{{4, 4, 3}, 3, 1, relu},
                        Case{{6, 5, 2}, 4, 2, ActivationSpec::leaky_relu(0.1f)}}) {
    SCOPED_TRACE(to_string(c.input) + " to " + std::to_string(c.out_channels) + ", " +
                 activation_name(c.activation.kind));
    const bool is_relu = c.activation.kind == Activation::relu;
    const ConvResidualOptions options{.activation = c.activation, .seed = 5};
    ConvResidualBlock block(c.input, c.out_channels, c.stride, options);
    ConvResidualBlock parts(c.input, c.out_channels, c.stride, options);
    const std::vector<Layer*> p = parts.children();  // conv1 bn1 act1 conv2 bn2 [projection projection_bn] act_out
    auto& bn1 = static_cast<BatchNorm2D&>(*p[1]);
    Layer &act1 = *p[2], &bn2 = *p[4], &act_out = *p.back();
    Layer* const projection = parts.projection();
    const std::size_t batch = 3, width = block.output_width();
    const Tensor x = random_images(batch, c.input, 6);
    Tensor dy(batch, width), sum(batch, width);
    fill_normal(dy.view(), 0.0f, 1.0f, 7, 0);
    const ConstMatrixView y = block.forward(x.cview(), Mode::train);
    const ConstMatrixView h1 = p[0]->forward(x.cview(), Mode::train);
    const ConstMatrixView a1 = is_relu ? bn1.forward_relu(h1, Mode::train)
                                       : act1.forward(bn1.forward(h1, Mode::train), Mode::train);
    const ConstMatrixView h = bn2.forward(p[3]->forward(a1, Mode::train), Mode::train);
    const ConstMatrixView skip =
        projection != nullptr ? p[6]->forward(projection->forward(x.cview(), Mode::train), Mode::train) : x.cview();
    for (std::size_t i = 0; i < sum.size(); ++i) sum.data()[i] = h.data[i] + skip.data[i];
    const ConstMatrixView want_y = act_out.forward(sum.cview(), Mode::train);
    ASSERT_TRUE(same_bits(y.data, want_y.data, batch * width)) << "y";
    zero_grad(block);
    zero_grad(parts);
    const ConstMatrixView dx = block.backward(dy.cview());
    const ConstMatrixView ds = act_out.backward(dy.cview());
    ConstMatrixView g = p[3]->backward(bn2.backward(ds));
    if (!is_relu) g = act1.backward(g);
    const ConstMatrixView branch = p[0]->backward(bn1.backward(g));
    const ConstMatrixView dskip = projection != nullptr ? projection->backward(p[6]->backward(ds)) : ds;
    std::vector<float> want_dx(batch * block.input_width());
    for (std::size_t i = 0; i < want_dx.size(); ++i) want_dx[i] = branch.data[i] + dskip.data[i];
    EXPECT_TRUE(same_bits(dx.data, want_dx.data(), want_dx.size())) << "dx";
    const std::vector<Parameter> got = all_parameters(block), want = all_parameters(parts);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(same_bits(got[i].grad->data(), want[i].grad->data(), got[i].grad->size())) << got[i].name;
    }
    const std::vector<StateTensor> got_state = all_state(block), want_state = all_state(parts);
    for (std::size_t i = 0; i < got_state.size(); ++i) {
      EXPECT_TRUE(same_bits(got_state[i].value->data(), want_state[i].value->data(), got_state[i].value->size()))
          << got_state[i].name;
    }
    InferenceBuffers buffers, part_buffers;
    const ConstMatrixView inferred = block.infer(x.cview(), buffers);
    const ConstMatrixView i1 = p[0]->infer(x.cview(), part_buffers);
    const ConstMatrixView ia1 =
        is_relu ? bn1.infer_relu(i1, part_buffers) : act1.infer(bn1.infer(i1, part_buffers), part_buffers);
    const ConstMatrixView ih = bn2.infer(p[3]->infer(ia1, part_buffers), part_buffers);
    const ConstMatrixView iskip =
        projection != nullptr ? p[6]->infer(projection->infer(x.cview(), part_buffers), part_buffers) : x.cview();
    for (std::size_t i = 0; i < sum.size(); ++i) sum.data()[i] = ih.data[i] + iskip.data[i];
    const ConstMatrixView want_inferred = act_out.infer(sum.cview(), part_buffers);
    EXPECT_TRUE(same_bits(inferred.data, want_inferred.data, batch * width)) << "infer";
    const Tensor larger = random_images(batch + 2, c.input, 8);
    block.forward(larger.cview(), Mode::eval);
    EXPECT_THROW(block.backward(dy.cview()), std::logic_error);
  }
}

// BatchNorm2D::forward_add_relu and infer_add_relu against forward (or infer), the addition and
// the ReLU, bit for bit, with x and the shortcut as strided views (copied first) and channels past
// whole vectors; backward afterwards is the norm's own, of the sum's gradient. A shortcut of
// another shape, or with rows that overlap, is refused by name.
TEST_P(ConvPerIsa, BatchNorm2DAddReluEqualsTheThreeSteps) {
  const ImageShape s{4, 3, 9};
  const std::size_t batch = 3, width = s.size();
  BatchNorm2D fused(s), alone(s);
  for (BatchNorm2D* n : {&fused, &alone}) {
    fill_normal(n->channels().gamma().view(), 0.3f, 0.7f, 3, 0);
    fill_normal(n->channels().beta().view(), 0.0f, 0.5f, 3, 1);
  }
  const Tensor wide = random_images(batch, {4, 3, 12}, 9);  // rows of x and skip with floats to spare
  const ConstMatrixView x{wide.data(), batch, width, wide.cols()};
  const ConstMatrixView skip{wide.data() + 5, batch, width, wide.cols()};
  const auto add_relu = [&](ConstMatrixView h) {
    Tensor y(batch, width);
    for (std::size_t r = 0; r < batch; ++r) {
      for (std::size_t i = 0; i < width; ++i) y(r, i) = std::max(0.0f, h(r, i) + skip(r, i));
    }
    return y;
  };
  for (const Mode mode : {Mode::eval, Mode::train}) {
    const ConstMatrixView got = fused.forward_add_relu(x, skip, mode);
    const Tensor want = add_relu(alone.forward(x, mode));
    ASSERT_TRUE(same_bits(got.data, want.data(), want.size())) << (mode == Mode::train ? "train" : "eval");
  }
  InferenceBuffers buffers, alone_buffers;
  const ConstMatrixView inferred = fused.infer_add_relu(x, skip, buffers);
  const Tensor want_inferred = add_relu(alone.infer(x, alone_buffers));
  ASSERT_TRUE(same_bits(inferred.data, want_inferred.data(), want_inferred.size())) << "infer";
  Tensor dy(batch, width);
  fill_normal(dy.view(), 0.0f, 1.0f, 10, 0);
  zero_grad(fused);
  zero_grad(alone);
  const ConstMatrixView dx = fused.backward(dy.cview()), want_dx = alone.backward(dy.cview());
  EXPECT_TRUE(same_bits(dx.data, want_dx.data, batch * width)) << "dx";
  EXPECT_TRUE(same_bits(fused.channels().gamma_grad().data(), alone.channels().gamma_grad().data(), s.channels));
  const Tensor short_skip(batch, width - 1);
  testing::expect_throw_with("skip", [&] { fused.forward_add_relu(x, short_skip.cview(), Mode::train); },
                             {"forward_add_relu", "skip is 3x107", "expected 3x108"});
  const ConstMatrixView overlapping{wide.data(), batch, width, width - 1};  // ld below cols
  testing::expect_throw_with("overlapping skip", [&] { fused.forward_add_relu(x, overlapping, Mode::train); },
                             {"forward_add_relu", "skip"});
}

// The adjoint identity ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩, in double.
TEST_P(ConvPerIsa, Col2imIsTheAdjointOfIm2col) {
  for (const ConvCase& c : conv_cases()) {
    const WindowGeometry g{{c.height, c.width, c.in_channels}, c.kernel, c.stride, c.padding};
    const Tensor x = random_images(c.batch, g.input, 1);
    Tensor col(c.batch * g.out_pixels(), c.kernel * c.kernel * c.in_channels), r(col.rows(), col.cols());
    fill_normal(r.view(), 0.0f, 1.0f, 2, 0);
    Tensor back(c.batch, g.input.size());
    im2col(g, x.cview(), col.view());
    col2im(g, r.cview(), back.view());
    double left = 0.0, right = 0.0;
    for (std::size_t i = 0; i < col.size(); ++i) left += static_cast<double>(col.data()[i]) * r.data()[i];
    for (std::size_t i = 0; i < x.size(); ++i) right += static_cast<double>(x.data()[i]) * back.data()[i];
    EXPECT_NEAR(left, right, 1e-4 * (1.0 + std::abs(left)));
  }
}

// A small convolutional network, forward and backward, at 1, 2 and 3 threads: the same bits.
TEST(Conv, BitIdenticalAcrossThreadCounts) {
  const ImageShape in{10, 10, 3};
  std::vector<std::vector<float>> outputs;
  for (int threads : {1, 2, 3}) {
    testing::ScopedThreads scoped(threads);
    Sequential net;
    auto& conv = net.emplace<Conv2D>(in, 16, 3, Conv2DOptions{.padding = 1, .seed = 1});
    net.emplace<Conv2D>(conv.output_shape(), 16, 3, Conv2DOptions{.padding = 1, .seed = 4});  // Winograd
    net.emplace<BatchNorm2D>(conv.output_shape());
    auto& pool = net.emplace<MaxPool2D>(conv.output_shape(), 2);
    auto& conv2 = net.emplace<Conv2D>(pool.output_shape(), 6, 3, Conv2DOptions{.stride = 2, .padding = 1, .seed = 2});
    net.emplace<AvgPool2D>(conv2.output_shape(), 1);
    auto& block = net.emplace<ConvResidualBlock>(conv2.output_shape(), 5, 2, ConvResidualOptions{.seed = 3});
    net.emplace<GlobalAvgPool2D>(block.output_shape());
    const Tensor x = random_images(9, in, 3);
    const ConstMatrixView y = net.forward(x.cview(), Mode::train);
    Tensor dy(y.rows, y.cols);
    fill_normal(dy.view(), 0.0f, 1.0f, 4, 0);
    zero_grad(net);
    const ConstMatrixView dx = net.backward(dy.cview());
    std::vector<float> bits(y.data, y.data + y.rows * y.cols);
    bits.insert(bits.end(), dx.data, dx.data + dx.rows * dx.cols);
    for (const Parameter& p : all_parameters(net)) bits.insert(bits.end(), p.grad->data(), p.grad->data() + p.grad->size());
    outputs.push_back(bits);
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[0], outputs[2]);
}

// Without the input gradient (Layer::set_input_gradient), backward returns an empty view and the
// same weight and bias gradients: 3x3 direct, strided and pointwise convolutions.
TEST(Conv, SkipsTheInputGradientWhenNobodyReadsIt) {
  for (const ConvCase& c : {ConvCase{6, 6, 16, 16, 3, 1, 1, 2}, ConvCase{7, 7, 3, 8, 3, 2, 1, 2},
                            ConvCase{4, 3, 5, 6, 1, 1, 0, 3}}) {
    SCOPED_TRACE(c.name());
    Conv2D with = c.layer(), without = c.layer();
    without.set_input_gradient(false);
    const Tensor x = random_images(c.batch, with.input_shape(), 4);
    Tensor dy(c.batch, with.output_width());
    fill_normal(dy.view(), 0.0f, 1.0f, 5, 0);
    with.forward(x.cview(), Mode::train);
    without.forward(x.cview(), Mode::train);
    zero_grad(with);
    zero_grad(without);
    EXPECT_EQ(with.backward(dy.cview()).rows, c.batch);
    EXPECT_EQ(without.backward(dy.cview()).data, nullptr);
    testing::expect_same_values(with.weight_grad(), without.weight_grad(), "weight gradient");
    testing::expect_same_values(with.bias_grad(), without.bias_grad(), "bias gradient");
  }
}

// conv2d_backward without dw (a caller who wants only dx) gives the dx of the full pass: a
// gathered stride-2 shape (AVX-512), a scattered one, and a stride-1 one.
TEST(Conv, InputGradientAloneEqualsTheFullBackward) {
  for (const ConvCase& c : {ConvCase{7, 7, 32, 64, 3, 2, 1, 17}, ConvCase{7, 7, 3, 8, 3, 2, 1, 2},
                            ConvCase{6, 6, 16, 16, 3, 1, 1, 2}}) {
    SCOPED_TRACE(c.name());
    Conv2D conv = c.layer();
    const WindowGeometry& g = conv.geometry();
    const Tensor x = random_images(c.batch, conv.input_shape(), 4);
    Tensor dy(c.batch, conv.output_width()), dx_full(c.batch, x.cols()), dx_alone(c.batch, x.cols());
    Tensor dw(conv.weight().rows(), conv.weight().cols());
    fill_normal(dy.view(), 0.0f, 1.0f, 5, 0);
    conv2d_backward(g, x.cview(), conv.weight().cview(), dy.cview(), dx_full.view(), dw.view(), nullptr);
    conv2d_backward(g, x.cview(), conv.weight().cview(), dy.cview(), dx_alone.view(), MatrixView{}, nullptr);
    testing::expect_same_values(dx_full, dx_alone, "dx");
  }
}

// conv2d_forward and conv2d_backward read x through its ld: a strided batch gives the bits of a
// contiguous one, in the Winograd form (16 channels each way, SSE2 and AVX2) and the direct one.
TEST(Conv, StridedInputEqualsContiguous) {
  for (const ConvCase& c : {ConvCase{6, 5, 16, 16, 3, 1, 1, 3}, ConvCase{6, 5, 3, 8, 3, 1, 1, 3}}) {
    SCOPED_TRACE(c.name());
    Conv2D conv = c.layer();
    const WindowGeometry& g = conv.geometry();
    const Tensor x = random_images(c.batch, conv.input_shape(), 4);
    Tensor wide(c.batch, x.cols() + 5);
    for (std::size_t r = 0; r < c.batch; ++r) std::copy_n(x.cview().row(r), x.cols(), wide.view().row(r));
    const ConstMatrixView strided{wide.data(), c.batch, x.cols(), wide.cols()};
    Tensor y1(c.batch, conv.output_width()), y2(c.batch, conv.output_width()), dy(c.batch, conv.output_width());
    fill_normal(dy.view(), 0.0f, 1.0f, 5, 0);
    Tensor dw1(conv.weight().rows(), conv.weight().cols()), dw2(conv.weight().rows(), conv.weight().cols());
    conv2d_forward(g, x.cview(), conv.weight().cview(), nullptr, y1.view());
    conv2d_forward(g, strided, conv.weight().cview(), nullptr, y2.view());
    conv2d_backward(g, x.cview(), conv.weight().cview(), dy.cview(), MatrixView{}, dw1.view(), nullptr);
    conv2d_backward(g, strided, conv.weight().cview(), dy.cview(), MatrixView{}, dw2.view(), nullptr);
    testing::expect_same_values(y1, y2, "y");
    testing::expect_same_values(dw1, dw2, "dw");
  }
}

TEST(Conv, PointwiseConvolutionEqualsTheGeneralPath) {
  // A strided input makes the 1x1 convolution take im2col; a contiguous one skips it.
  Conv2D conv({4, 3, 5}, 6, 1, {.seed = 3});
  const Tensor x = random_images(3, conv.input_shape(), 4);
  Tensor strided(3, x.cols() + 7);
  for (std::size_t r = 0; r < 3; ++r) std::copy_n(x.cview().row(r), x.cols(), strided.view().row(r));
  const ConstMatrixView sv{strided.data(), 3, x.cols(), x.cols() + 7};
  const Tensor y1 = copy(conv.forward(x.cview(), Mode::train));
  Tensor dy(3, conv.output_width());
  fill_normal(dy.view(), 0.0f, 1.0f, 5, 0);
  zero_grad(conv);
  const Tensor dx1 = copy(conv.backward(dy.cview()));
  const Tensor dw1 = conv.weight_grad().clone();
  const Tensor y2 = copy(conv.forward(sv, Mode::train));
  zero_grad(conv);
  const Tensor dx2 = copy(conv.backward(dy.cview()));
  for (std::size_t i = 0; i < y1.size(); ++i) EXPECT_EQ(y1.data()[i], y2.data()[i]);
  for (std::size_t i = 0; i < dx1.size(); ++i) EXPECT_EQ(dx1.data()[i], dx2.data()[i]);
  for (std::size_t i = 0; i < dw1.size(); ++i) EXPECT_EQ(dw1.data()[i], conv.weight_grad().data()[i]);
}

// Conv2D runs a chunk of images at a time (at least kConvChunkPixels output pixels, core/conv.h): a batch spanning
// several chunks gives, bit for bit, what the images give one at a time — outputs, input
// gradients, and weight gradients added in batch order — in train and eval mode and in infer;
// with the direct kernels (4 outputs) and the Winograd form (16, on SSE2 and AVX2).
class ConvChunks : public ::testing::TestWithParam<std::size_t> {};
INSTANTIATE_TEST_SUITE_P(Outputs, ConvChunks, ::testing::Values(4, 16));

TEST_P(ConvChunks, ChunkedBatchEqualsImageByImage) {
  Conv2D conv({28, 28, 16}, GetParam(), 3, {.padding = 1, .seed = 2});  // 784 output pixels per image
  ASSERT_EQ(conv_chunk_images(conv.geometry()), 1u);  // one image per chunk
  const std::size_t n = 3;
  const Tensor x = random_images(n, conv.input_shape(), 3);
  Tensor dy(n, conv.output_width());
  fill_normal(dy.view(), 0.0f, 1.0f, 4, 0);
  const Tensor evaluated = copy(conv.forward(x.cview(), Mode::eval));
  InferenceBuffers buffers;
  const Tensor inferred = copy(conv.infer(x.cview(), buffers));
  const Tensor y = copy(conv.forward(x.cview(), Mode::train));
  zero_grad(conv);
  const Tensor dx = copy(conv.backward(dy.cview()));
  const Tensor dw = conv.weight_grad().clone();
  zero_grad(conv);
  for (std::size_t i = 0; i < n; ++i) {
    const ConstMatrixView yi = conv.forward(ConstMatrixView{x.cview().row(i), 1, x.cols(), x.cols()}, Mode::train);
    for (std::size_t c = 0; c < y.cols(); ++c) {
      ASSERT_EQ(yi(0, c), y(i, c));
      ASSERT_EQ(evaluated(i, c), y(i, c));
      ASSERT_EQ(inferred(i, c), y(i, c));
    }
    const ConstMatrixView dxi = conv.backward(ConstMatrixView{dy.cview().row(i), 1, dy.cols(), dy.cols()});
    for (std::size_t c = 0; c < dx.cols(); ++c) ASSERT_EQ(dxi(0, c), dx(i, c));
  }
  for (std::size_t k = 0; k < dw.size(); ++k) ASSERT_EQ(conv.weight_grad().data()[k], dw.data()[k]) << k;
}

TEST(Conv, MaxPoolPropagatesNanAndTakesTheFirstMaximum) {
  const ImageShape s{2, 2, 1};
  MaxPool2D pool(s, 2);
  Tensor x(2, 4);
  const float values[] = {1.0f, 3.0f, 3.0f, 2.0f, 1.0f, std::numeric_limits<float>::quiet_NaN(), 5.0f, 2.0f};
  std::copy(values, values + 8, x.data());
  const ConstMatrixView y = pool.forward(x.cview(), Mode::train);
  EXPECT_EQ(y(0, 0), 3.0f);
  EXPECT_TRUE(std::isnan(y(1, 0)));
  Tensor dy(2, 1);
  dy(0, 0) = 1.0f;
  dy(1, 0) = 1.0f;
  const ConstMatrixView dx = pool.backward(dy.cview());
  EXPECT_EQ(dx(0, 1), 1.0f);  // the first of the two 3s
  EXPECT_EQ(dx(0, 2), 0.0f);
  EXPECT_EQ(dx(1, 1), 1.0f);  // the NaN's position
}

// core's max_pool and max_pool_backward (MaxPool2D's passes) with channels below, at and past
// whole vectors of every ISA; ties (±0 among them) and NaNs of several payloads; windows that
// overlap, tile the image, leave parts of it out or cross the padding. Bit for bit: every output
// is the first maximum in window order or the window's first NaN, with or without argmax, which
// names that element; dx = 0 + the gradients of the outputs that chose each element, added in
// output order (a −0 gradient gives +0).
TEST_P(ConvPerIsa, MaxPoolMatchesItsDefinition) {
  using Window = std::array<std::size_t, 3>;  // kernel, stride, padding
  const Window windows[] = {{2, 2, 0}, {3, 1, 1}, {3, 2, 1}, {2, 3, 0}, {3, 3, 1}, {1, 1, 0}, {3, 3, 0}};
  for (const ImageShape s : {ImageShape{5, 4, 9}, {4, 6, 16}, {5, 5, 33}, {3, 4, 3}, {4, 4, 48}, {6, 6, 18}}) {
    Tensor x(2, s.size());
    Rng rng(11, s.channels);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::uint32_t r = rng.next_u32() % 16;
      const float nan = std::bit_cast<float>(0x7fc00000u | static_cast<std::uint32_t>(i));  // payload i
      x.data()[i] = r == 0 ? nan : r == 1 ? -0.0f : static_cast<float>(r % 4);
    }
    for (const auto& [kernel, stride, padding] : windows) {
      SCOPED_TRACE(to_string(s) + " kernel " + std::to_string(kernel) + " stride " + std::to_string(stride) +
                   " padding " + std::to_string(padding));
      const WindowGeometry g{s, kernel, stride, padding};
      Tensor y(2, g.out_pixels() * s.channels);
      std::vector<std::uint32_t> argmax(y.size());
      max_pool(g, x.cview(), y.view(), argmax);
      Tensor y_alone(2, y.cols());  // without argmax: another kernel instance
      max_pool(g, x.cview(), y_alone.view(), {});
      ASSERT_EQ(std::memcmp(y.data(), y_alone.data(), y.size() * sizeof(float)), 0);
      Tensor dy(2, y.cols());
      for (std::size_t i = 0; i < dy.size(); ++i) dy.data()[i] = i % 5 == 0 ? -0.0f : static_cast<float>(i + 1);
      std::vector<float> dx(x.size(), 0.0f);
      for (std::size_t n = 0; n < 2; ++n) {
        for (std::size_t o = 0; o < g.out_pixels(); ++o) {
          for (std::size_t c = 0; c < s.channels; ++c) {
            long chosen = -1;
            for (std::size_t kh = 0; kh < kernel; ++kh) {
              for (std::size_t kw = 0; kw < kernel; ++kw) {
                const long h = static_cast<long>(o / g.out_width() * stride + kh) - static_cast<long>(padding);
                const long w = static_cast<long>(o % g.out_width() * stride + kw) - static_cast<long>(padding);
                if (h < 0 || w < 0 || h >= static_cast<long>(s.height) || w >= static_cast<long>(s.width)) continue;
                const long at = (h * static_cast<long>(s.width) + w) * static_cast<long>(s.channels) + static_cast<long>(c);
                const float v = x(n, static_cast<std::size_t>(at));
                const float b = chosen < 0 ? 0.0f : x(n, static_cast<std::size_t>(chosen));
                if (chosen < 0 || v > b || (std::isnan(v) && !std::isnan(b))) chosen = at;
              }
            }
            const std::size_t out = (n * g.out_pixels() + o) * s.channels + c;
            ASSERT_EQ(argmax[out], static_cast<std::uint32_t>(chosen)) << "n " << n << " o " << o << " c " << c;
            ASSERT_EQ(std::bit_cast<std::uint32_t>(y.data()[out]),
                      std::bit_cast<std::uint32_t>(x(n, static_cast<std::size_t>(chosen))));
            dx[n * s.size() + static_cast<std::size_t>(chosen)] += dy(n, o * s.channels + c);
          }
        }
      }
      Tensor got_dx(2, s.size());  // dirty: every element must be written
      std::fill_n(got_dx.data(), got_dx.size(), std::numeric_limits<float>::quiet_NaN());
      max_pool_backward(g, argmax, dy.cview(), got_dx.view());
      for (std::size_t i = 0; i < dx.size(); ++i) {
        ASSERT_EQ(std::bit_cast<std::uint32_t>(got_dx.data()[i]), std::bit_cast<std::uint32_t>(dx[i])) << "dx " << i;
      }
    }
  }
}

// batchnorm_relu_max_pool (BatchNorm2D → ReLU → MaxPool2D in one pass) against its definition,
// batchnorm_normalize_relu then max_pool, bit for bit: outputs and argmax, with and without
// argmax, NaNs in x and a negative γ among the channels, windows that tile, overlap or skip.
TEST_P(ConvPerIsa, BatchNormReluMaxPoolIsNormalizeThenPool) {
  using Window = std::array<std::size_t, 3>;  // kernel, stride, padding
  for (const ImageShape s : {ImageShape{4, 6, 16}, {5, 5, 9}, {3, 4, 33}}) {
    const std::size_t batch = 3, c = s.channels;
    Tensor x = random_images(batch, s, 21);
    x.data()[7] = std::numeric_limits<float>::quiet_NaN();
    Tensor stats(4, c);  // mean, 1/σ, γ, β
    fill_normal(stats.view(), 0.2f, 0.8f, 22, c);
    for (std::size_t j = 0; j < c; ++j) stats(1, j) = 0.5f + std::abs(stats(1, j));
    const float *mean = &stats(0, 0), *inv_std = &stats(1, 0), *gamma = &stats(2, 0), *beta = &stats(3, 0);
    Tensor normalized(batch * s.height * s.width, c);
    batchnorm_normalize_relu({x.data(), normalized.rows(), c, c}, mean, inv_std, gamma, beta, normalized.view());
    for (const auto& [kernel, stride, padding] : {Window{2, 2, 0}, Window{3, 2, 1}, Window{2, 3, 0}}) {
      SCOPED_TRACE(to_string(s) + " kernel " + std::to_string(kernel) + " stride " + std::to_string(stride));
      const WindowGeometry g{s, kernel, stride, padding};
      const std::size_t outputs = g.out_pixels() * c;
      Tensor want(batch, outputs), got(batch, outputs), got_alone(batch, outputs);
      std::vector<std::uint32_t> want_argmax(want.size()), got_argmax(want.size());
      max_pool(g, {normalized.data(), batch, s.size(), s.size()}, want.view(), want_argmax);
      batchnorm_relu_max_pool(g, x.cview(), mean, inv_std, gamma, beta, got.view(), got_argmax);
      batchnorm_relu_max_pool(g, x.cview(), mean, inv_std, gamma, beta, got_alone.view(), {});
      ASSERT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0);
      ASSERT_EQ(std::memcmp(got_alone.data(), want.data(), want.size() * sizeof(float)), 0);
      ASSERT_EQ(got_argmax, want_argmax);
    }
  }
  const WindowGeometry g{{4, 4, 2}, 2, 2, 0};
  Tensor x(1, 32), y(1, 8), p(1, 2);
  testing::expect_throw_with("null beta",
                             [&] { batchnorm_relu_max_pool(g, x.cview(), p.data(), p.data(), p.data(), nullptr, y.view(), {}); },
                             {"batchnorm_relu_max_pool", "beta"});
  Tensor short_y(1, 7);
  testing::expect_throw_with("y", [&] {
    batchnorm_relu_max_pool(g, x.cview(), p.data(), p.data(), p.data(), p.data(), short_y.view(), {});
  }, {"batchnorm_relu_max_pool", "y is 1x7"});
}

TEST(Conv, BadArgumentsAreNamed) {
  using testing::expect_throw_with;
  expect_throw_with("kernel 0", [] { Conv2D({4, 4, 1}, 2, 0); }, {"conv2d", "kernel must be positive"});
  expect_throw_with("stride 0", [] { Conv2D({4, 4, 1}, 2, 3, {.stride = 0}); }, {"conv2d", "stride"});
  expect_throw_with("too big", [] { Conv2D({2, 4, 1}, 2, 5, {.padding = 1}); },
                    {"conv2d", "kernel 5 is larger than the padded input (2x4x1 with padding 1)"});
  expect_throw_with("padding", [] { Conv2D({4, 4, 1}, 2, 3, {.padding = 3}); }, {"padding must be below", "got 3"});
  expect_throw_with("no channels", [] { Conv2D({4, 4, 0}, 2, 3); }, {"input shape", "4x4x0"});
  expect_throw_with("no outputs", [] { Conv2D({4, 4, 1}, 0, 3); }, {"out_channels must be positive"});
  expect_throw_with("pool", [] { MaxPool2D({3, 3, 1}, 4); }, {"maxpool2d", "kernel 4"});
  expect_throw_with("gap", [] { GlobalAvgPool2D({0, 3, 1}); }, {"globalavgpool2d"});
  // Images of 2^33 elements: a uint32 argmax cannot index them (empty batches: nothing is read).
  const WindowGeometry huge{{65536, 65536, 2}, 2, 2, 0};
  float cell = 0.0f;
  const ConstMatrixView huge_x{&cell, 0, huge.input.size(), huge.input.size()};
  const MatrixView huge_y{&cell, 0, huge.out_pixels() * 2, huge.out_pixels() * 2};
  expect_throw_with("huge", [&] { max_pool(huge, huge_x, huge_y, {}); }, {"max_pool", "65536x65536x2", "uint32"});
  const MatrixView huge_dx{&cell, 0, huge.input.size(), huge.input.size()};
  expect_throw_with("huge backward", [&] { max_pool_backward(huge, {}, huge_y, huge_dx); },
                    {"max_pool_backward", "65536x65536x2", "uint32"});
  Conv2D conv({4, 4, 2}, 3, 3);
  const Tensor wrong(2, 31);
  expect_throw_with("width", [&] { conv.forward(wrong.cview(), Mode::train); }, {"conv2d", "2x31", "input width 32"});
  Conv2D fresh({4, 4, 2}, 3, 3);
  const Tensor dy(2, fresh.output_width());
  EXPECT_THROW(fresh.backward(dy.cview()), std::logic_error);
  const WindowGeometry g{{4, 4, 2}, 3, 1, 1};
  const Tensor x(2, 32), w(18, 3), bad_w(17, 3);
  Tensor y(2, 48), strided(2, 50);
  expect_throw_with("w rows", [&] { conv2d_forward(g, x.cview(), bad_w.cview(), nullptr, y.view()); },
                    {"conv2d_forward", "w is 17x3, expected 18 rows"});
  expect_throw_with("strided y", [&] { conv2d_forward(g, x.cview(), w.cview(), nullptr, MatrixView{strided.data(), 2, 48, 50}); },
                    {"conv2d_forward", "expected a contiguous 2x48"});
  Tensor dw(18, 2);
  expect_throw_with("dw", [&] { conv2d_backward(g, x.cview(), w.cview(), y.cview(), Tensor(2, 32).view(), dw.view(), nullptr); },
                    {"conv2d_backward", "dw is 18x2, expected 18x3"});
  const Tensor col(3, 18);
  Tensor dx(1, 32);
  expect_throw_with("col2im rows", [&] { col2im({{4, 4, 2}, 3, 1, 0}, col.cview(), dx.view()); },
                    {"col2im", "multiple of 4"});
}

}  // namespace
}  // namespace simdnn
