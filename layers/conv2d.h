// Conv2D: 2-D convolution of images stored one per row in NHWC order (core/image.h), as
// PyTorch's Conv2d computes it (a cross-correlation):
//   y[n, oh, ow, co] = b[co] + Σ_{kh, kw, ci} x[n, oh·s − p + kh, ow·s − p + kw, ci] · W[(kh·k + kw)·C_in + ci, co]
// with zero padding p and stride s. The output image is H_out × W_out × C_out,
// H_out = (H + 2p − k)/s + 1.
//
// W is stored (k·k·C_in) × C_out, the layout of an im2col row: forward and backward are
// core/conv.h's conv2d_forward and conv2d_backward (direct convolution kernels per chunk of
// images, or Winograd's F(2×2, 3×3) where core/conv.h's conv_runs_winograd says so: 3×3 at
// stride 1 and padding 1 over 16 to 64 channels in whole vectors, on SSE2 and AVX2; the chunks
// in parallel; results independent of the thread count):
//   forward:  y = im2col(x)·W + b
//   backward: dW += im2col(x)ᵀ·dy,  db += Σ_rows dy,  dx = col2im(dy·Wᵀ)
// with dy and im2col(x) viewed as (N·H_out·W_out) × C_out and × k·k·C_in, written as if im2col
// were materialized; the kernels read the windows in place instead.
//
// The input x is not copied (see layer.h).
#pragma once

#include <cstdint>
#include <vector>

#include <simdnn/core/conv.h>
#include <simdnn/core/image.h>
#include <simdnn/core/initializers.h>
#include <simdnn/layers/gradient_chunk_sum.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

struct Conv2DOptions {
  std::size_t stride = 1;
  std::size_t padding = 0;  // zeros on every side, below the kernel size
  bool bias = true;
  // He normal by default (fan_in = k·k·C_in, the rows of W), for the ReLU networks convolutions
  // usually feed. The weights are initialize(W, weight_init, seed, stream).
  InitSpec weight_init = InitSpec::he_normal();
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;
};

class Conv2D : public Layer {
 public:

  // Throws std::invalid_argument naming the argument if out_channels is 0 or the window does not
  // fit (WindowGeometry::check), or as initialize() does.
  Conv2D(ImageShape input, std::size_t out_channels, std::size_t kernel, const Conv2DOptions& options = {});

  const char* kind() const override { return "conv2d"; }
  std::size_t input_width() const override { return geometry_.input.size(); }
  std::size_t output_width() const override { return output_shape().size(); }
  ImageShape input_shape() const { return geometry_.input; }
  ImageShape output_shape() const { return geometry_.output(out_channels_); }
  const WindowGeometry& geometry() const { return geometry_; }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

  // "weight" (regularized) and, with a bias, "bias".
  std::vector<Parameter> parameters() override;
  bool supports_gradient_chunks() const override { return true; }

  bool has_bias() const { return has_bias_; }
  Tensor& weight() { return weight_; }  // k·k·C_in x C_out
  Tensor& bias() { return bias_; }      // 1 x C_out; 0 x 0 without a bias
  Tensor& weight_grad() { return weight_grad_; }
  Tensor& bias_grad() { return bias_grad_; }

 private:
  WindowGeometry geometry_;
  std::size_t out_channels_;
  bool has_bias_;
  Tensor weight_, bias_, weight_grad_, bias_grad_;
  Tensor y_, dy_, dx_;  // reused buffers
  ConstMatrixView x_{};              // the input of the last train-mode forward
  GradientChunkSum chunk_sum_;
  bool trained_forward_ = false;
};

}  // namespace simdnn
