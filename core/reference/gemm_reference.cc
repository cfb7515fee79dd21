#include "core/reference/gemm_reference.h"

#include <cmath>

namespace simdnn::reference {

double activation(ActivationSpec act, double x) {
  constexpr double kSeluLambda = 1.0507009873554805;
  constexpr double kSeluAlpha = 1.6732632423543772;
  switch (act.kind) {
    case Activation::identity: return x;
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Activation::tanh: return std::tanh(x);
    case Activation::relu: return x > 0 ? x : 0.0;
    case Activation::leaky_relu: return x > 0 ? x : act.alpha * x;
    case Activation::elu: return x > 0 ? x : act.alpha * std::expm1(x);
    case Activation::selu: return kSeluLambda * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    case Activation::gelu: {
      const double k = std::sqrt(2.0 / M_PI);
      return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
    }
    case Activation::swish: return x / (1.0 + std::exp(-x));
    case Activation::softplus: return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  }
  return x;
}

void gemm(Trans trans_a, Trans trans_b, float alpha, ConstMatrixView a, ConstMatrixView b,
          float beta, MatrixView c, const GemmEpilogue& epilogue) {
  const std::size_t k = trans_a == Trans::no ? a.cols : a.rows;
  for (std::size_t i = 0; i < c.rows; ++i) {
    for (std::size_t j = 0; j < c.cols; ++j) {
      double sum = 0.0;
      for (std::size_t p = 0; p < k; ++p) {
        const double av = trans_a == Trans::no ? a(i, p) : a(p, i);
        const double bv = trans_b == Trans::no ? b(p, j) : b(j, p);
        sum += av * bv;
      }
      double v = static_cast<double>(alpha) * sum;
      if (beta != 0.0f) v += static_cast<double>(beta) * c(i, j);
      if (epilogue.bias != nullptr) v += epilogue.bias[j];
      c(i, j) = static_cast<float>(activation(epilogue.activation, v));
    }
  }
}

}  // namespace simdnn::reference
