// The elementwise benchmark's peers, compiled apart with -march=native: Eigen picks its SIMD width
// at compile time (a baseline SSE2 build would understate it), and the plain std:: loop gets
// whatever the compiler can auto-vectorize for this CPU.
#pragma once

#include <cstddef>

#include <simdnn/core/activation.h>

namespace simdnn::bench {

// y = f(x) with Eigen's vectorized array functions (Map<ArrayXf>): logistic(), tanh(), exp(),
// log1p(), max(), min() and arithmetic; no select(), which Eigen 3.4 does not vectorize.
void eigen_activation(ActivationSpec act, const float* x, float* y, std::size_t n);

// y = f(x) with a plain loop over std::exp, std::tanh, std::expm1, std::log1p.
void std_activation(ActivationSpec act, const float* x, float* y, std::size_t n);

}  // namespace simdnn::bench
