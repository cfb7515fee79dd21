// Conv2D: 2-D convolution of images stored one per row in NHWC order (core/image.h), as
// PyTorch's Conv2d computes it (a cross-correlation):
//   y[n, oh, ow, co] = b[co] + Σ_{kh, kw, ci} x[n, oh·s − p + kh, ow·s − p + kw, ci] · W[(kh·k + kw)·C_in + ci, co]
// with zero padding p and stride s. The output image is H_out × W_out × C_out,
// H_out = (H + 2p − k)/s + 1.
//
// W is stored (k·k·C_in) × C_out, the layout of an im2col row, so that forward is im2col (one
// row per output pixel of the batch) and one GEMM over all N·H_out·W_out rows, whose result rows
// are already the NHWC output; the store adds the bias. A 1×1 convolution with stride 1 and no
// padding on a contiguous input skips im2col: its input rows are the GEMM's rows.
// backward(dy), with dy and col viewed as (N·H_out·W_out) × C_out and × k·k·C_in:
//   dW += colᵀ·dy,  db += Σ_rows dy,  dcol = dy·Wᵀ,  dx = col2im(dcol)
// Every step is deterministic, so results do not depend on the thread count.
//
// The input x is not copied (see layer.h); the im2col buffer of the last train-mode forward is
// kept for backward: N·H_out·W_out·k²·C_in floats. Evaluation (Mode::eval and infer) needs no
// backward, so it runs im2col and the GEMM a chunk of images at a time, with at most
// kEvalColumnBytes of im2col buffer (evaluating 4096 MNIST images at once would otherwise take
// 925 MB for a 3×3 convolution of 8 channels); each output row is the same GEMM row either way,
// so the results are the same bits as a train-mode forward's.
#pragma once

#include <cstdint>
#include <vector>

#include <simdnn/core/image.h>
#include <simdnn/core/initializers.h>
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
  static constexpr std::size_t kEvalColumnBytes = std::size_t{16} << 20;

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

  bool has_bias() const { return has_bias_; }
  Tensor& weight() { return weight_; }  // k·k·C_in x C_out
  Tensor& bias() { return bias_; }      // 1 x C_out; 0 x 0 without a bias
  Tensor& weight_grad() { return weight_grad_; }
  Tensor& bias_grad() { return bias_grad_; }

 private:
  // Whether the input rows, viewed N·H·W × C_in, are already the im2col rows.
  bool pointwise(ConstMatrixView x) const;
  // The GEMM's A: x itself (pointwise) or im2col(x) written to `col`.
  ConstMatrixView columns(ConstMatrixView x, Tensor& col) const;
  // Images per evaluation chunk: as many as kEvalColumnBytes of im2col rows hold, at least 1.
  std::size_t eval_chunk() const;
  // y = the convolution of x, im2col'd chunk by chunk into `col` (col.rows / out_pixels images).
  void forward_chunks(ConstMatrixView x, MatrixView y, MatrixView col) const;

  WindowGeometry geometry_;
  std::size_t out_channels_;
  bool has_bias_;
  Tensor weight_, bias_, weight_grad_, bias_grad_;
  Tensor col_, y_, dy_, dcol_, dx_;  // reused buffers
  ConstMatrixView x_{};              // the input of the last train-mode forward
  ConstMatrixView col_view_{};       // its GEMM rows (x_ itself, or col_)
  bool trained_forward_ = false;
};

}  // namespace simdnn
