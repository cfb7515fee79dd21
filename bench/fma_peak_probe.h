// The FMA probe of bench/fma_peak.h for any ISA of the registry, compiled once per ISA with that
// ISA's flags (bench/BUILD's fma_peak_<isa>), not in the including file: fma_peak_probe(isa) is
// the probe itself, to run on any thread (it measures the calling core each time).
#pragma once

#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/arch.h>
#include <simdnn/core/kernels/dispatch.h>

namespace simdnn::bench {

template <class Arch>
double fma_peak_gflops();
#define SIMDNN_EXTERN_FMA_PEAK(name) \
  extern template double fma_peak_gflops<internal::XsimdArch<Isa::name>::type>();
SIMDNN_ISA_LIST(SIMDNN_EXTERN_FMA_PEAK)
#undef SIMDNN_EXTERN_FMA_PEAK

using FmaProbe = double (*)();

// Throws std::invalid_argument when the CPU lacks `isa`.
inline FmaProbe fma_peak_probe(Isa isa) {
  return internal::kernel_table<FmaProbe>("fma_peak", isa,
                                          []<class Arch>() -> FmaProbe { return &fma_peak_gflops<Arch>; });
}

}  // namespace simdnn::bench
