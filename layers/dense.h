// Dense: the fully-connected layer y = f(x·W + b).
//
// W is stored fan_in x fan_out (rows = inputs, as core/initializers.h expects) and b is 1 x fan_out.
// forward() is one GEMM whose store adds the bias and applies f (core/gemm.h's fused epilogue).
// backward(dy):
//   dz  = dy ⊙ f'(z)              (activation_backward, core/elementwise.h)
//   dW += xᵀ·dz                   (GEMM with Trans::yes on A, beta = 1)
//   db += Σ_rows dz               (column sums, accumulated in double)
//   dx  = dz·Wᵀ                   (GEMM with Trans::yes on B)
// f' is computed from the output y wherever it is a function of y (identity, sigmoid, tanh,
// relu, selu, and leaky_relu and elu with alpha > 0: y > 0 exactly when z > 0, and elu's
// alpha·e^z = y + alpha), so z is not stored. gelu, swish and softplus (and leaky_relu or elu with
// alpha <= 0) need z: the train-mode forward then writes z with a plain GEMM and applies f
// separately, keeping z for backward.
//
// In a Sequential, a Dense with a ReLU followed by a Dense hands its ReLU's backward to the next
// layer's dx product (its store keeps dx where this layer's output is positive:
// GemmEpilogue::relu_gate), saving a pass over the batch; the bits are the same.
//
// The input x is not copied: backward() reads the view given to the last train-mode forward(),
// so the caller keeps it alive until then (see layer.h).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <simdnn/core/activation.h>
#include <simdnn/core/gemm.h>
#include <simdnn/core/initializers.h>
#include <simdnn/core/tensor.h>
#include <simdnn/layers/gradient_chunk_sum.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

struct DenseOptions {
  ActivationSpec activation = ActivationSpec::identity();
  InitSpec weight_init = InitSpec::xavier_uniform();
  // The weights are initialize(W, weight_init, seed, stream); give every layer its own stream.
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;
  // With bias = false there is no bias parameter (b ≡ 0), e.g. before a BatchNorm, whose β
  // plays its part.
  bool bias = true;
};

class Dense : public Layer {
 public:
  // Throws std::invalid_argument if fan_in or fan_out is 0, or as initialize() does.
  Dense(std::size_t fan_in, std::size_t fan_out, const DenseOptions& options = {});

  const char* kind() const override { return "dense"; }
  std::size_t input_width() const override { return weight_.rows(); }
  std::size_t output_width() const override { return weight_.cols(); }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

  // "weight" (regularized) and, with a bias, "bias".
  std::vector<Parameter> parameters() override;
  bool supports_gradient_chunks() const override { return true; }
  bool supports_concurrent_chunks() const override { return true; }
  ConstMatrixView begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends) override;
  void forward_chunk(std::size_t c) override;
  ConstMatrixView begin_backward_chunks(ConstMatrixView dy) override;
  void backward_chunk(std::size_t c) override;
  void end_chunks() override;

  // A fusion a Sequential sets on a pair of its children for a backward pass and clears after
  // it (Sequential::backward): when this layer's input is the output of a Dense with a ReLU just
  // before it, backward() (and backward_chunk()) may return not dL/dx but dL/dx ⊙ relu'(x), the
  // gradient at that layer's pre-activation, in the product's store (GemmEpilogue::relu_gate),
  // and that layer takes its output gradient as its pre-activation's, skipping its ReLU's
  // backward: one pass over the batch less, the same bits.
  void set_gate_input_gradient(bool on) { gate_input_gradient_ = on; }
  void set_output_gradient_is_preactivation(bool on) { output_gradient_is_preactivation_ = on; }

  ActivationSpec activation() const { return activation_; }
  bool has_bias() const { return has_bias_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }  // 1 x fan_out; 0 x 0 without a bias
  Tensor& weight_grad() { return weight_grad_; }
  Tensor& bias_grad() { return bias_grad_; }

 private:
  // The train-mode forward of x's rows into y's (and z's, where f' needs z: keeps_z_).
  void forward_rows(ConstMatrixView x, MatrixView y, MatrixView z) const;
  // dz = dy ⊙ f'(z) for rows [begin, begin + rows) of the last train-mode forward: a view of dy
  // itself for the identity, else of dz_ (reserved for the batch).
  ConstMatrixView activation_gradient(ConstMatrixView dy, std::size_t begin, std::size_t rows);
  // The dx product's epilogue: the ReLU gate of x's rows where set_gate_input_gradient() is on.
  GemmEpilogue input_gradient_epilogue(ConstMatrixView x) const;
  // The parameter gradients (weight, then bias) for GradientChunkSum.
  std::span<Tensor* const> gradient_slots();

  ActivationSpec activation_;
  bool has_bias_;
  bool keeps_z_;  // whether f' needs z (see above)
  Tensor weight_, bias_, weight_grad_, bias_grad_;
  Tensor z_, y_, dz_, dx_;  // reused buffers
  Tensor weight_t_;         // Wᵀ, for concurrent chunks' dz·Wᵀ
  ConstMatrixView x_{};     // the input of the last train-mode forward
  ConstMatrixView dy_{};    // the output gradient of concurrent chunks (begin_backward_chunks)
  GradientChunkSum chunk_sum_;
  std::array<Tensor*, 2> gradient_slots_{};
  bool trained_forward_ = false;
  bool gate_input_gradient_ = false, output_gradient_is_preactivation_ = false;
};

}  // namespace simdnn
