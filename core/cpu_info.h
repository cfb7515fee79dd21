// What simdnn knows of the CPU beyond its ISA: the model name and the data-cache sizes that the
// GEMM's block sizes are derived from (core/gemm.cc), so that one build is blocked right on every
// x86-64 machine it runs on. Benchmarks print both with every figure.
#pragma once

#include <cstddef>
#include <string>

namespace simdnn {

// Per-core data cache sizes in bytes (L3: the whole cache as the CPU reports it, shared).
// A level the CPU does not report is 0.
struct CacheSizes {
  std::size_t l1d = 0;
  std::size_t l1d_ways = 0;  // associativity of L1D (0: unknown)
  std::size_t l2 = 0;
  std::size_t l3 = 0;
};

// Read once, on first use: CPUID's deterministic cache parameters (leaf 4 on Intel, 0x8000001D on
// AMD), else Linux's /sys/devices/system/cpu/cpu0/cache, else all zero. Under a hypervisor these
// are the sizes it reports, which is what the program can plan with.
const CacheSizes& cache_sizes();

// CPUID's brand string, trimmed ("unknown" if absent), and its family and model numbers, as
// "AMD EPYC (family 25 model 1)": under a hypervisor the brand string alone ("Intel(R) Xeon(R)
// Processor") often does not say which CPU it is.
const std::string& cpu_model();

namespace internal {
// A size as Linux sysfs writes it: "32K" -> 32768, "32M", "8" (bytes); 0 if unreadable.
std::size_t parse_cache_size(const std::string& text);
}  // namespace internal

}  // namespace simdnn
