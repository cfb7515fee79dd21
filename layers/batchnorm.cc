#include <simdnn/layers/batchnorm.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <simdnn/core/elementwise.h>

namespace simdnn {

namespace {

// batchnorm_normalize without xhat, as a function batchnorm_normalize_relu's type.
void normalize_only(ConstMatrixView x, const float* mean, const float* inv_std, const float* gamma, const float* beta,
                    MatrixView y) {
  batchnorm_normalize(x, mean, inv_std, gamma, beta, y);
}

}  // namespace

BatchNorm::BatchNorm(std::size_t width, const BatchNormOptions& options)
    : width_(width), momentum_(options.momentum), eps_(options.eps) {
  if (width == 0) throw std::invalid_argument("batchnorm: width must be positive, got 0");
  if (!(momentum_ >= 0.0f && momentum_ <= 1.0f)) {
    throw std::invalid_argument("batchnorm: momentum must be in [0, 1], got " +
                                std::to_string(momentum_));
  }
  if (!(eps_ > 0.0f) || !std::isfinite(eps_)) {
    throw std::invalid_argument("batchnorm: eps must be finite and > 0, got " +
                                std::to_string(eps_));
  }
  gamma_ = Tensor(1, width);
  beta_ = Tensor(1, width);
  gamma_grad_ = Tensor(1, width);
  beta_grad_ = Tensor(1, width);
  running_mean_ = Tensor(1, width);
  running_var_ = Tensor(1, width);
  inv_std_ = Tensor(1, width);
  batch_mean_ = Tensor(1, width);
  batch_var_ = Tensor(1, width);
  slice_stats_ = Tensor(1, 2 * width + 1);
  slice_shift_ = Tensor(1, width);
  for (std::size_t j = 0; j < width; ++j) {
    gamma_.data()[j] = 1.0f;
    running_var_.data()[j] = 1.0f;
  }
}

std::vector<Parameter> BatchNorm::parameters() {
  return {{"gamma", &gamma_, &gamma_grad_, false}, {"beta", &beta_, &beta_grad_, false}};
}

std::vector<StateTensor> BatchNorm::state() {
  return {{"running_mean", &running_mean_}, {"running_var", &running_var_}};
}

void BatchNorm::running_inv_std(float* inv) const {
  const float* rv = running_var_.data();
  for (std::size_t j = 0; j < width_; ++j) {
    inv[j] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rv[j]) + eps_));
  }
}

void BatchNorm::normalize_with_running_stats(ConstMatrixView x, MatrixView y, float* inv, bool relu) const {
  running_inv_std(inv);
  (relu ? batchnorm_normalize_relu : normalize_only)(x, running_mean_.data(), inv, gamma_.data(), beta_.data(), y);
}

ConstMatrixView BatchNorm::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  return infer(x, buffers, false);
}

ConstMatrixView BatchNorm::infer_relu(ConstMatrixView x, InferenceBuffers& buffers) const {
  return infer(x, buffers, true);
}

ConstMatrixView BatchNorm::infer(ConstMatrixView x, InferenceBuffers& buffers, bool relu) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, width_);
  normalize_with_running_stats(x, y, buffers.next(1, width_).data, relu);
  return y;
}

ConstMatrixView BatchNorm::forward(ConstMatrixView x, Mode mode) { return forward(x, mode, false); }

ConstMatrixView BatchNorm::forward_relu(ConstMatrixView x, Mode mode) { return forward(x, mode, true); }

ConstMatrixView BatchNorm::forward(ConstMatrixView x, Mode mode, bool relu) {
  const Normalization n = prepare_forward(x, mode, relu);
  const MatrixView y = reserve_rows(y_, x.rows, width_);
  (relu ? batchnorm_normalize_relu : normalize_only)(x, n.mean, n.inv_std, gamma_.data(), beta_.data(), y);
  return y;
}

BatchNorm::Normalization BatchNorm::prepare_forward(ConstMatrixView x, Mode mode, bool relu) {
  trained_forward_ = false;
  check_input(x);
  const std::size_t m = x.rows;
  if (mode == Mode::eval) {
    running_inv_std(inv_std_.data());
    return {running_mean_.data(), inv_std_.data()};
  }
  if (m < 2) {
    throw ShapeError(label() + ": a train-mode batch needs at least 2 rows, got input " +
                     shape_string(x.rows, x.cols) +
                     " (the variance of one sample is undefined)");
  }
  float* mean = batch_mean_.data();
  float* var = batch_var_.data();
  column_mean_var(x, mean, var);  // biased variance; two passes in double, each rounded once
  float* inv_std = inv_std_.data();
  float* rm = running_mean_.data();
  float* rv = running_var_.data();
  const double mom = momentum_;
  const double unbias = static_cast<double>(m) / static_cast<double>(m - 1);
  for (std::size_t j = 0; j < width_; ++j) {
    inv_std[j] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[j]) + eps_));
  }
  if (sliced_) {
    add_slice_statistics(m);
  } else {
    for (std::size_t j = 0; j < width_; ++j) {
      rm[j] = static_cast<float>((1.0 - mom) * rm[j] + mom * mean[j]);
      rv[j] = static_cast<float>((1.0 - mom) * rv[j] + mom * unbias * var[j]);
    }
  }
  x_ = x;  // backward recomputes xhat from it (the Layer contract keeps x alive until then)
  rows_ = m;
  relu_ = relu;
  trained_forward_ = true;
  return {mean, inv_std};
}

void BatchNorm::begin_slice(std::size_t) {
  if (sliced_) return;
  sliced_ = true;
  std::copy(running_mean_.data(), running_mean_.data() + width_, slice_shift_.data());
}

void BatchNorm::add_slice_statistics(std::size_t rows) {
  float* sums = slice_stats_.data();
  const auto m = static_cast<double>(rows);
  for (std::size_t j = 0; j < width_; ++j) {
    const double d = static_cast<double>(batch_mean_.data()[j]) - slice_shift_.data()[j];
    sums[j] += static_cast<float>(m * d);
    sums[width_ + j] += static_cast<float>(m * (static_cast<double>(batch_var_.data()[j]) + d * d));
  }
  sums[2 * width_] += static_cast<float>(m);
}

void BatchNorm::end_step() {
  if (!sliced_) return;
  sliced_ = false;
  const float* sums = slice_stats_.data();
  const double n = sums[2 * width_];
  if (n < 2.0) return;  // no train-mode slice ran on this step
  const double mom = momentum_;
  float* rm = running_mean_.data();
  float* rv = running_var_.data();
  for (std::size_t j = 0; j < width_; ++j) {
    const double d = sums[j] / n;
    const double var = std::max(0.0, sums[width_ + j] / n - d * d);
    rm[j] = static_cast<float>((1.0 - mom) * rm[j] + mom * (slice_shift_.data()[j] + d));
    rv[j] = static_cast<float>((1.0 - mom) * rv[j] + mom * var * n / (n - 1.0));
  }
}

ConstMatrixView BatchNorm::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  const std::size_t m = rows_;
  check_output_grad(dy, m);
  const MatrixView dx = reserve_rows(dx_, m, width_);
  if (relu_) {
    batchnorm_relu_backward(dy, x_, batch_mean_.data(), gamma_.data(), beta_.data(), inv_std_.data(),
                            gamma_grad_.data(), beta_grad_.data(), dx);
  } else {
    batchnorm_backward(dy, x_, batch_mean_.data(), gamma_.data(), inv_std_.data(), gamma_grad_.data(),
                       beta_grad_.data(), dx);
  }
  return dx;
}

}  // namespace simdnn
