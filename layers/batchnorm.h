// BatchNorm: batch normalization of each feature (column) over the batch (Ioffe & Szegedy 2015),
// with PyTorch's BatchNorm1d conventions.
//
// Train mode, per feature j over the m rows of the batch:
//   μ = (1/m)·Σ x,  σ² = (1/m)·Σ (x − μ)²  (biased),  σ = √(σ² + eps)
//   x̂ = (x − μ)/σ,  y = γ·x̂ + β
//   running_mean = (1 − momentum)·running_mean + momentum·μ
//   running_var  = (1 − momentum)·running_var  + momentum·σ²·m/(m − 1)   (the UNBIASED variance)
// Eval mode: y = γ·(x − running_mean)/√(running_var + eps) + β; nothing is updated.
// backward (train mode only), per feature, with means over the batch:
//   dβ += Σ dy,   dγ += Σ dy ⊙ x̂
//   dx  = (γ/σ)·(dy − mean(dy) − x̂·mean(dy ⊙ x̂))
// Statistics and the sums of backward are accumulated in double, each feature's over the rows in
// order, so the result does not depend on the thread count. backward recomputes x̂ from the
// forward's input (which the Layer contract keeps unchanged until then) with the forward's
// arithmetic, rather than storing x̂: one matrix less to write and to hold per layer.
//
// momentum = 0.1 weights the NEW batch statistic (PyTorch); the notebook's momentum = 0.9 weights
// the old value, i.e. it is our 0.1. running_mean starts at 0 and running_var at 1; γ starts at 1
// and β at 0. A train-mode batch needs at least 2 rows (the unbiased variance of one row is
// undefined; PyTorch refuses it too).
//
// Sliced steps (Layer::begin_slice): each slice is normalized with its own statistics (like
// PyTorch's BatchNorm under DistributedDataParallel, or "ghost" batch norm), and the running
// statistics are updated once per step, at end_step(), from the statistics of the whole batch:
// each slice of m_c rows adds, per feature, m_c·(μ_c − s) and m_c·(σ_c² + (μ_c − s)²) and m_c to
// slice_statistics(), shifted by s = running_mean (the same on every process, and close to μ, so
// the sums do not cancel); with n = Σ m_c, d = Σ m_c(μ_c − s)/n: μ = s + d and
// σ² = Σ m_c(σ_c² + (μ_c − s)²)/n − d², and the update above uses μ and σ²·n/(n − 1).
//
// forward_relu: the pair BatchNorm → ReLU in one pass each way (core/elementwise.h's
// batchnorm_normalize_relu and batchnorm_relu_backward), the same bits as this layer followed by
// ActivationLayer(relu). Sequential and the residual and dense blocks run such pairs through it
// (and through infer_relu in infer()); backward() after forward_relu() takes the gradient of the
// ReLU's output.
#pragma once

#include <simdnn/core/tensor.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

struct BatchNormOptions {
  float momentum = 0.1f;  // in [0, 1]
  float eps = 1e-5f;      // > 0
};

class BatchNorm : public Layer {
 public:
  // Throws std::invalid_argument if width is 0, momentum is outside [0, 1] or eps <= 0.
  explicit BatchNorm(std::size_t width, const BatchNormOptions& options = {});

  const char* kind() const override { return "batchnorm"; }
  std::size_t input_width() const override { return width_; }
  std::size_t output_width() const override { return width_; }

  // Train mode also throws ShapeError for a batch of fewer than 2 rows.
  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  // max(0, forward(x, mode)) in the same pass (see above).
  ConstMatrixView forward_relu(ConstMatrixView x, Mode mode);
  // Whether the last train-mode forward was forward_relu, or BatchNorm2D's forward_relu_max_pool
  // (so backward() covers the ReLU).
  bool relu_fused() const { return relu_; }
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;
  // max(0, infer(x, buffers)) in the same pass.
  ConstMatrixView infer_relu(ConstMatrixView x, InferenceBuffers& buffers) const;

  // "gamma" and "beta" (not regularized).
  std::vector<Parameter> parameters() override;
  // "running_mean" and "running_var".
  std::vector<StateTensor> state() override;
  void begin_slice(std::size_t first_row) override;
  // 1 x (2·width + 1): the shifted sums per feature, then the row count (see above).
  std::vector<Tensor*> slice_statistics() override { return {&slice_stats_}; }
  void end_step() override;

  float momentum() const { return momentum_; }
  float eps() const { return eps_; }
  Tensor& gamma() { return gamma_; }  // 1 x width
  Tensor& beta() { return beta_; }
  Tensor& gamma_grad() { return gamma_grad_; }
  Tensor& beta_grad() { return beta_grad_; }
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }

 private:
  ConstMatrixView forward(ConstMatrixView x, Mode mode, bool relu);
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers, bool relu) const;
  // What forward(x, mode, relu) does before it normalizes (in train mode the batch's statistics,
  // the running statistics' update and x kept for backward), and the per-feature mean and 1/σ it
  // then normalizes with: BatchNorm2D's pooling pass applies them itself.
  struct Normalization {
    const float* mean;
    const float* inv_std;
  };
  Normalization prepare_forward(ConstMatrixView x, Mode mode, bool relu);
  friend class BatchNorm2D;
  // inv[j] = 1/sqrt(running_var[j] + eps): width floats.
  void running_inv_std(float* inv) const;
  // y = γ·(x − running_mean)·inv + β (max(0, ·) with relu); inv: width floats of scratch.
  void normalize_with_running_stats(ConstMatrixView x, MatrixView y, float* inv, bool relu) const;
  // Adds the last train-mode batch's (a slice's) statistics to slice_stats_ (see above).
  void add_slice_statistics(std::size_t rows);

  std::size_t width_;
  float momentum_;
  float eps_;
  Tensor gamma_, beta_, gamma_grad_, beta_grad_, running_mean_, running_var_;
  Tensor inv_std_;          // 1 x width: 1/σ of the last train-mode batch
  Tensor batch_mean_, batch_var_;  // 1 x width: the last train-mode batch's statistics
  Tensor y_, dx_;           // reused buffers
  ConstMatrixView x_;       // the last train-mode input: backward recomputes xhat from it
  Tensor slice_stats_;      // sums over the step's slices (see above)
  Tensor slice_shift_;      // 1 x width: running_mean when the step's first slice began
  bool sliced_ = false;     // between begin_slice() and end_step()
  std::size_t rows_ = 0;    // rows of the last train-mode batch
  bool relu_ = false;       // the last train-mode forward was forward_relu
  bool trained_forward_ = false;
};

}  // namespace simdnn
