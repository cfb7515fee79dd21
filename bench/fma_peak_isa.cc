// fma_peak_gflops for one ISA, compiled once per entry of core/isa.bzl with that ISA's flags and
// SIMDNN_BENCH_ISA=<isa> (bench/BUILD).
#include "bench/fma_peak.h"

#include <simdnn/core/kernels/arch.h>

namespace simdnn::bench {
template double fma_peak_gflops<internal::XsimdArch<Isa::SIMDNN_BENCH_ISA>::type>();
}  // namespace simdnn::bench
