#include <simdnn/layers/batchnorm.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include <simdnn/layers/ops.h>

namespace simdnn {

using internal::kColumnBlock;

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

// y = γ·(x − running_mean)/sqrt(running_var + eps) + β, column by column.
void BatchNorm::normalize_with_running_stats(ConstMatrixView x, MatrixView y) const {
  const std::size_t m = x.rows;
  const float* gamma = gamma_.data();
  const float* beta = beta_.data();
  const float* rm = running_mean_.data();
  const float* rv = running_var_.data();
  internal::for_column_blocks(m, width_, [&](std::size_t c0, std::size_t c1) {
    const std::size_t w = c1 - c0;
    float inv[kColumnBlock];
    for (std::size_t j = 0; j < w; ++j) {
      inv[j] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rv[c0 + j]) + eps_));
    }
    for (std::size_t r = 0; r < m; ++r) {
      const float* xr = x.row(r) + c0;
      float* yr = y.row(r) + c0;
      for (std::size_t j = 0; j < w; ++j) {
        yr[j] = gamma[c0 + j] * ((xr[j] - rm[c0 + j]) * inv[j]) + beta[c0 + j];
      }
    }
  });
}

ConstMatrixView BatchNorm::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, width_);
  normalize_with_running_stats(x, y);
  return y;
}

ConstMatrixView BatchNorm::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const std::size_t m = x.rows;
  const MatrixView y = reserve_rows(y_, m, width_);
  const float* gamma = gamma_.data();
  const float* beta = beta_.data();

  if (mode == Mode::eval) {
    normalize_with_running_stats(x, y);
    return y;
  }

  if (m < 2) {
    throw ShapeError(label() + ": a train-mode batch needs at least 2 rows, got input " +
                     shape_string(x.rows, x.cols) +
                     " (the variance of one sample is undefined)");
  }
  const MatrixView xhat = reserve_rows(xhat_, m, width_);
  float* inv_std = inv_std_.data();
  float* rm = running_mean_.data();
  float* rv = running_var_.data();
  const double md = static_cast<double>(m);
  const double mom = momentum_;
  internal::for_column_blocks(m, width_, [&](std::size_t c0, std::size_t c1) {
    const std::size_t w = c1 - c0;
    double mean[kColumnBlock] = {};
    internal::accumulate_column_sums(x, c0, c1, mean);
    for (std::size_t j = 0; j < w; ++j) mean[j] /= md;
    double ss[kColumnBlock] = {};
    for (std::size_t r = 0; r < m; ++r) {
      const float* xr = x.row(r) + c0;
      for (std::size_t j = 0; j < w; ++j) {
        const double d = static_cast<double>(xr[j]) - mean[j];
        ss[j] += d * d;
      }
    }
    float mu[kColumnBlock];
    for (std::size_t j = 0; j < w; ++j) {
      const double var = ss[j] / md;
      mu[j] = static_cast<float>(mean[j]);
      inv_std[c0 + j] = static_cast<float>(1.0 / std::sqrt(var + eps_));
      rm[c0 + j] = static_cast<float>((1.0 - mom) * rm[c0 + j] + mom * mean[j]);
      rv[c0 + j] = static_cast<float>((1.0 - mom) * rv[c0 + j] + mom * (ss[j] / (md - 1.0)));
    }
    for (std::size_t r = 0; r < m; ++r) {
      const float* xr = x.row(r) + c0;
      float* hr = xhat.row(r) + c0;
      float* yr = y.row(r) + c0;
      for (std::size_t j = 0; j < w; ++j) {
        const float h = (xr[j] - mu[j]) * inv_std[c0 + j];
        hr[j] = h;
        yr[j] = gamma[c0 + j] * h + beta[c0 + j];
      }
    }
  });
  rows_ = m;
  trained_forward_ = true;
  return y;
}

ConstMatrixView BatchNorm::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  const std::size_t m = rows_;
  check_output_grad(dy, m);
  const ConstMatrixView xhat{xhat_.data(), m, width_, width_};
  const MatrixView dx = reserve_rows(dx_, m, width_);
  const float* gamma = gamma_.data();
  const float* inv_std = inv_std_.data();
  float* dgamma = gamma_grad_.data();
  float* dbeta = beta_grad_.data();
  const double md = static_cast<double>(m);
  internal::for_column_blocks(m, width_, [&](std::size_t c0, std::size_t c1) {
    const std::size_t w = c1 - c0;
    double sum_dy[kColumnBlock] = {};
    double sum_dy_xhat[kColumnBlock] = {};
    for (std::size_t r = 0; r < m; ++r) {
      const float* gr = dy.row(r) + c0;
      const float* hr = xhat.row(r) + c0;
      for (std::size_t j = 0; j < w; ++j) {
        sum_dy[j] += static_cast<double>(gr[j]);
        sum_dy_xhat[j] += static_cast<double>(gr[j]) * static_cast<double>(hr[j]);
      }
    }
    float k[kColumnBlock], mean_dy[kColumnBlock], mean_dy_xhat[kColumnBlock];
    for (std::size_t j = 0; j < w; ++j) {
      dbeta[c0 + j] += static_cast<float>(sum_dy[j]);
      dgamma[c0 + j] += static_cast<float>(sum_dy_xhat[j]);
      k[j] = gamma[c0 + j] * inv_std[c0 + j];
      mean_dy[j] = static_cast<float>(sum_dy[j] / md);
      mean_dy_xhat[j] = static_cast<float>(sum_dy_xhat[j] / md);
    }
    for (std::size_t r = 0; r < m; ++r) {
      const float* gr = dy.row(r) + c0;
      const float* hr = xhat.row(r) + c0;
      float* dr = dx.row(r) + c0;
      for (std::size_t j = 0; j < w; ++j) {
        dr[j] = k[j] * (gr[j] - mean_dy[j] - hr[j] * mean_dy_xhat[j]);
      }
    }
  });
  return dx;
}

}  // namespace simdnn
