// Uses simdnn as an external Bazel dependency: one fused Dense-layer product, checked by hand.
#include <cmath>
#include <cstdio>

#include <simdnn/simdnn.h>

int main() {
  // y = relu(x·W + b) for a 2x3 input and a 3x2 weight matrix.
  simdnn::Tensor x(2, 3), w(3, 2), y(2, 2);
  const float xs[] = {1, 2, 3, -1, -2, -3};
  const float ws[] = {1, 0, 0, 1, 1, 1};
  const float bias[] = {0.5f, -10.0f};
  for (int i = 0; i < 6; ++i) x.data()[i] = xs[i], w.data()[i] = ws[i];
  simdnn::GemmEpilogue epilogue{bias, simdnn::ActivationSpec::relu()};
  simdnn::gemm(simdnn::Trans::no, simdnn::Trans::no, 1.0f, x.cview(), w.cview(), 0.0f, y.view(), epilogue);
  const float expected[] = {4.5f, 0.0f, 0.0f, 0.0f};  // rows: (1+3+.5, 2+3-10), (-1-3+.5, -2-3-10)
  for (int i = 0; i < 4; ++i) {
    if (std::fabs(y.data()[i] - expected[i]) > 1e-6f) {
      std::printf("consumer: y[%d] = %g, expected %g\n", i, y.data()[i], expected[i]);
      return 1;
    }
  }
  std::printf("consumer: simdnn works as a dependency (ISA %s, %d threads)\n", simdnn::isa_name(),
              simdnn::num_threads());
  return 0;
}
