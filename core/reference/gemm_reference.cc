#include <simdnn/core/reference/gemm_reference.h>

#include <cmath>

#include <simdnn/core/reference/elementwise_reference.h>

namespace simdnn::reference {

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
      const float out = static_cast<float>(activation_value(epilogue.activation, v));
      if (epilogue.relu_gate.data == nullptr) {
        c(i, j) = out;
      } else {  // relu's backward: keep where the gate is positive, the gate where it is NaN
        const float g = epilogue.relu_gate(i, j);
        c(i, j) = std::isnan(g) ? g : g > 0.0f ? out : 0.0f;
      }
    }
  }
}

}  // namespace simdnn::reference
