#include <simdnn/train/clipping.h>

#include <cmath>

#include <simdnn/core/elementwise.h>
#include <simdnn/train/check.h>

namespace simdnn {
namespace {

double total_norm(const char* op, std::span<const Parameter> params) {
  internal::check_parameters(op, params);
  double sum = 0.0;
  for (const Parameter& p : params) sum += sum_of_squares(p.grad->data(), p.grad->size());
  return std::sqrt(sum);
}

}  // namespace

double grad_norm(std::span<const Parameter> params) { return total_norm("grad_norm", params); }

double clip_grad_norm(std::span<const Parameter> params, double max_norm) {
  constexpr const char* op = "clip_grad_norm";
  if (!(max_norm >= 0.0)) internal::fail(op, "max_norm", max_norm, "a value >= 0");
  const double total = total_norm(op, params);
  if (!std::isfinite(total)) return total;
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    const float c = static_cast<float>(coef);
    for (const Parameter& p : params) scale(c, p.grad->data(), p.grad->data(), p.grad->size());
  }
  return total;
}

void clip_grad_value(std::span<const Parameter> params, double clip_value) {
  constexpr const char* op = "clip_grad_value";
  if (!(clip_value >= 0.0)) internal::fail(op, "clip_value", clip_value, "a value >= 0");
  internal::check_parameters(op, params);
  // The float nearest clip_value, as PyTorch's clamp.
  const float hi = static_cast<float>(clip_value);
  for (const Parameter& p : params) {
    float* g = p.grad->data();
    const std::size_t n = p.grad->size();
    for (std::size_t i = 0; i < n; ++i) {
      // NaN compares false both ways and is kept.
      if (g[i] > hi) {
        g[i] = hi;
      } else if (g[i] < -hi) {
        g[i] = -hi;
      }
    }
  }
}

}  // namespace simdnn
