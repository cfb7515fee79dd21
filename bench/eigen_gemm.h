// Eigen's GEMM as a benchmark peer, compiled apart with -march=native: Eigen picks its SIMD
// width at compile time, so a baseline (SSE2) build would understate it.
#pragma once

namespace simdnn::bench {

// Row-major C(m x n) = op(A)·op(B), with op as in simdnn::gemm; `threads` caps Eigen's OpenMP.
void eigen_gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* a, const float* b,
                float* c, int threads);

}  // namespace simdnn::bench
