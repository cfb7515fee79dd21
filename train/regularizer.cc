#include <simdnn/train/regularizer.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include <simdnn/core/elementwise.h>
#include <simdnn/train/check.h>

namespace simdnn {
namespace {

// Σ|w| in double, in index order; with grad, also grad += λ·sign(w) (0 at 0).
double l1_part(double lambda, const float* w, float* grad, std::size_t n) {
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) total += std::fabs(static_cast<double>(w[i]));
  if (grad != nullptr && lambda != 0.0) {
    const float l = static_cast<float>(lambda);
    for (std::size_t i = 0; i < n; ++i) {
      grad[i] += w[i] > 0.0f ? l : (w[i] < 0.0f ? -l : 0.0f);
    }
  }
  return lambda * total;
}

// coef/2·Σw²; with grad, also grad += coef·w.
double l2_part(double coef, const float* w, float* grad, std::size_t n) {
  const double total = sum_of_squares(w, n);
  if (grad != nullptr && coef != 0.0) axpy(static_cast<float>(coef), w, grad, n);
  return 0.5 * coef * total;
}

}  // namespace

double Regularizer::run(std::span<const Parameter> params, std::size_t batch_size,
                        bool add) const {
  const std::string op = std::string(name()) + (add ? " regularizer apply" : " regularizer penalty");
  internal::check_parameters(op, params);
  double total = 0.0;
  for (const Parameter& p : params) {
    if (which_ == RegularizedParameters::marked && !p.regularize) continue;
    total += penalty_and_gradient(p.value->data(), add ? p.grad->data() : nullptr,
                                  p.value->size(), batch_size);
  }
  return total;
}

double Regularizer::penalty(std::span<const Parameter> params, std::size_t batch_size) const {
  return run(params, batch_size, false);
}

double Regularizer::apply(std::span<const Parameter> params, std::size_t batch_size) const {
  return run(params, batch_size, true);
}

L1Regularizer::L1Regularizer(double lambda, RegularizedParameters which)
    : Regularizer(which), lambda_(lambda) {
  internal::require_non_negative("L1Regularizer", "lambda", lambda);
}

double L1Regularizer::penalty_and_gradient(const float* w, float* grad, std::size_t n,
                                           std::size_t) const {
  return l1_part(lambda_, w, grad, n);
}

L2Regularizer::L2Regularizer(double lambda, L2Scaling scaling, RegularizedParameters which)
    : Regularizer(which), lambda_(lambda), scaling_(scaling) {
  internal::require_non_negative("L2Regularizer", "lambda", lambda);
  if (scaling != L2Scaling::weight_decay && scaling != L2Scaling::per_batch_notebook) {
    throw std::invalid_argument("L2Regularizer: scaling is " +
                                std::to_string(static_cast<int>(scaling)) +
                                ", expected weight_decay or per_batch_notebook");
  }
}

double L2Regularizer::penalty_and_gradient(const float* w, float* grad, std::size_t n,
                                           std::size_t batch_size) const {
  double coef = lambda_;
  if (scaling_ == L2Scaling::per_batch_notebook) {
    if (batch_size == 0) {
      throw std::invalid_argument(
          "L2Regularizer: batch_size is 0, expected the number of rows in the batch "
          "(L2Scaling::per_batch_notebook divides lambda by it)");
    }
    coef /= static_cast<double>(batch_size);
  }
  return l2_part(coef, w, grad, n);
}

ElasticNetRegularizer::ElasticNetRegularizer(double l1_lambda, double l2_lambda,
                                             RegularizedParameters which)
    : Regularizer(which), l1_lambda_(l1_lambda), l2_lambda_(l2_lambda) {
  internal::require_non_negative("ElasticNetRegularizer", "l1_lambda", l1_lambda);
  internal::require_non_negative("ElasticNetRegularizer", "l2_lambda", l2_lambda);
}

double ElasticNetRegularizer::penalty_and_gradient(const float* w, float* grad, std::size_t n,
                                                   std::size_t) const {
  return l1_part(l1_lambda_, w, grad, n) + l2_part(l2_lambda_, w, grad, n);
}

}  // namespace simdnn
