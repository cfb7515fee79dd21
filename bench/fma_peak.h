// The FMA peak of one core, measured: what "% of peak" in the GEMM benchmark is relative to.
//
// A loop of independent vector FMAs (12 accumulators, more than latency × ports on any x86
// core, so the FMA units never wait on a result) run for a fixed time. On SSE2, which has no FMA,
// the pair multiply + add counts as one FMA: that is what its GEMM microkernel issues.
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <chrono>

#include <simdnn/core/kernels/unroll.h>
#include <simdnn/core/kernels/vector_math.h>

namespace simdnn::bench {

// Best of 5 runs of ~20 ms: GFLOP/s (2 per lane per FMA) on the calling thread.
template <class Arch>
double fma_peak_gflops() {
  using V = xsimd::batch<float, Arch>;
  constexpr int kChains = 12;  // with x and y: 14 registers, no spill with 16
  constexpr long kSteps = 1 << 16;
  double best = 0.0;
  for (int run = 0; run < 5; ++run) {
    V acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = V(1.0f + 0.001f * static_cast<float>(c));
    const V x(0.999999f), y(1e-7f);
    const auto start = std::chrono::steady_clock::now();
    long steps = 0;
    double seconds = 0.0;
    while (seconds < 0.02) {
      for (long s = 0; s < kSteps; ++s) {
        internal::kernels::unroll<kChains>(
            [&](auto c) { acc[c] = internal::kernels::vmath::vfma(acc[c], x, y); });
      }
      steps += kSteps;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    float sink = 0.0f;
    alignas(64) float lanes[V::size];
    for (int c = 0; c < kChains; ++c) {
      acc[c].store_aligned(lanes);
      for (float lane : lanes) sink += lane;
    }
    asm volatile("" : : "x"(sink));  // keep the chains alive
    best = std::max(best, 2.0 * V::size * kChains * static_cast<double>(steps) / seconds * 1e-9);
  }
  return best;
}

}  // namespace simdnn::bench
