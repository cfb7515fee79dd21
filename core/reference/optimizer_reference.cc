#include <simdnn/core/reference/optimizer_reference.h>

#include <algorithm>
#include <cmath>

namespace simdnn::reference {

void sgd_update(const SgdOptions& h, bool first_step, double* w, const double* g,
                double* momentum_buffer, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    double d = g[i] + h.weight_decay * w[i];
    if (h.momentum != 0.0) {
      double& b = momentum_buffer[i];
      b = first_step ? d : h.momentum * b + (1.0 - h.dampening) * d;
      d = h.nesterov ? d + h.momentum * b : b;
    }
    w[i] -= h.lr * d;
  }
}

void rmsprop_update(const RmspropOptions& h, double* w, const double* g,
                    double* square_avg, double* grad_avg, double* momentum_buffer,
                    std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const double d = g[i] + h.weight_decay * w[i];
    square_avg[i] = h.alpha * square_avg[i] + (1.0 - h.alpha) * d * d;
    double avg;
    if (h.centered) {
      grad_avg[i] = h.alpha * grad_avg[i] + (1.0 - h.alpha) * d;
      avg = std::sqrt(std::max(0.0, square_avg[i] - grad_avg[i] * grad_avg[i])) + h.eps;
    } else {
      avg = std::sqrt(square_avg[i]) + h.eps;
    }
    if (h.momentum > 0.0) {
      momentum_buffer[i] = h.momentum * momentum_buffer[i] + d / avg;
      w[i] -= h.lr * momentum_buffer[i];
    } else {
      w[i] -= h.lr * d / avg;
    }
  }
}

void adam_update(const AdamOptions& h, std::uint64_t step, double* w, const double* g,
                 double* exp_avg, double* exp_avg_sq, double* max_exp_avg_sq, std::size_t n) {
  const double t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(h.beta1, t);
  const double bc2 = 1.0 - std::pow(h.beta2, t);
  for (std::size_t i = 0; i < n; ++i) {
    double d = g[i];
    if (h.decoupled_weight_decay) {
      w[i] *= 1.0 - h.lr * h.weight_decay;
    } else {
      d += h.weight_decay * w[i];
    }
    exp_avg[i] = h.beta1 * exp_avg[i] + (1.0 - h.beta1) * d;
    exp_avg_sq[i] = h.beta2 * exp_avg_sq[i] + (1.0 - h.beta2) * d * d;
    double v = exp_avg_sq[i];
    if (h.amsgrad) {
      max_exp_avg_sq[i] = std::max(max_exp_avg_sq[i], v);
      v = max_exp_avg_sq[i];
    }
    w[i] -= h.lr / bc1 * exp_avg[i] / (std::sqrt(v) / std::sqrt(bc2) + h.eps);
  }
}

void adagrad_update(const AdagradOptions& h, std::uint64_t step, double* w,
                    const double* g, double* sum, std::size_t n) {
  const double clr = h.lr / (1.0 + static_cast<double>(step - 1) * h.lr_decay);
  for (std::size_t i = 0; i < n; ++i) {
    const double d = g[i] + h.weight_decay * w[i];
    sum[i] += d * d;
    w[i] -= clr * d / (std::sqrt(sum[i]) + h.eps);
  }
}

}  // namespace simdnn::reference
