#include "bench/elementwise_peers.h"

#include <Eigen/Core>

#include <cmath>

namespace simdnn::bench {
namespace {

constexpr float kSeluLambda = 1.0507009873554805f;
constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/π)
constexpr float kGeluC = 0.044715f;

}  // namespace

void eigen_activation(ActivationSpec act, const float* x, float* y, std::size_t n) {
  const Eigen::Map<const Eigen::ArrayXf> in(x, static_cast<Eigen::Index>(n));
  Eigen::Map<Eigen::ArrayXf> out(y, static_cast<Eigen::Index>(n));
  const float a = act.alpha;
  switch (act.kind) {
    case Activation::identity: out = in; break;
    case Activation::sigmoid: out = in.logistic(); break;
    case Activation::tanh: out = in.tanh(); break;
    case Activation::relu: out = in.max(0.0f); break;
    case Activation::leaky_relu: out = in.max(0.0f) + a * in.min(0.0f); break;
    case Activation::elu: out = in.max(0.0f) + a * (in.min(0.0f).exp() - 1.0f); break;
    case Activation::selu:
      out = kSeluLambda * (in.max(0.0f) + kSeluAlpha * (in.min(0.0f).exp() - 1.0f));
      break;
    case Activation::gelu:
      out = 0.5f * in * (1.0f + (kGeluK * (in + kGeluC * in.cube())).tanh());
      break;
    case Activation::swish: out = in * in.logistic(); break;
    case Activation::softplus: out = in.max(0.0f) + (-in.abs()).exp().log1p(); break;
  }
}

void std_activation(ActivationSpec act, const float* x, float* y, std::size_t n) {
  const float a = act.alpha;
  switch (act.kind) {
    case Activation::identity:
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
      break;
    case Activation::sigmoid:
      for (std::size_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
      break;
    case Activation::tanh:
      for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    case Activation::relu:
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case Activation::leaky_relu:
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : a * x[i];
      break;
    case Activation::elu:
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : a * std::expm1(x[i]);
      break;
    case Activation::selu:
      for (std::size_t i = 0; i < n; ++i) {
        y[i] = kSeluLambda * (x[i] > 0.0f ? x[i] : kSeluAlpha * std::expm1(x[i]));
      }
      break;
    case Activation::gelu:
      for (std::size_t i = 0; i < n; ++i) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.0f + std::tanh(kGeluK * (v + kGeluC * v * v * v)));
      }
      break;
    case Activation::swish:
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + std::exp(-x[i]));
      break;
    case Activation::softplus:
      for (std::size_t i = 0; i < n; ++i) {
        const float v = x[i];
        y[i] = v > 0.0f ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
      }
      break;
  }
}

}  // namespace simdnn::bench
