// Run-time choice of the instruction set the kernels use.
//
// simdnn compiles every kernel once per ISA (see core/isa.bzl) and picks one set at start-up:
// the best the CPU supports, capped by the environment variable SIMDNN_ISA=avx512|avx2|sse2 when
// it is set (a cap above what the CPU has falls back to the best it has). SSE2 is part of x86-64,
// so it is always available and is the portable fallback.
#pragma once

#include <string_view>
#include <vector>

// The one C++ list of instruction sets, least capable first: it defines the Isa enumerators,
// kAllIsas, the kernel dispatch and the per-ISA test instantiations. core/isa.bzl is the build's
// list (each ISA's compiler flags); tests/base_test.cc checks that both name the same ISAs in the
// same order. core/README.md ("Adding an ISA") lists the per-ISA facts a new entry needs.
#define SIMDNN_ISA_LIST(X) X(sse2) X(avx2) X(avx512)

namespace simdnn {

#define SIMDNN_ISA_ENUMERATOR(name) name,
// Ordered from least to most capable.
enum class Isa { SIMDNN_ISA_LIST(SIMDNN_ISA_ENUMERATOR) };
#undef SIMDNN_ISA_ENUMERATOR

#define SIMDNN_ISA_VALUE(name) Isa::name,
// Every ISA simdnn compiles kernels for, least capable first (whether or not this CPU has it).
inline constexpr Isa kAllIsas[] = {SIMDNN_ISA_LIST(SIMDNN_ISA_VALUE)};
#undef SIMDNN_ISA_VALUE

// "sse2", "avx2" or "avx512".
const char* isa_name(Isa isa);
// Inverse of isa_name; throws std::invalid_argument naming `what` and the accepted names.
Isa parse_isa(std::string_view name, std::string_view what = "ISA");

// Whether this CPU (and OS) can run kernels compiled for `isa`.
bool cpu_supports(Isa isa);
// Every ISA this CPU supports, least capable first.
std::vector<Isa> supported_isas();

// The ISA the kernels use now; decided once, on first use, from the CPU and SIMDNN_ISA. An
// invalid SIMDNN_ISA (anything but avx512, avx2, sse2; empty means unset) makes this call, and
// every later one until set_isa(), throw std::invalid_argument
// "SIMDNN_ISA: expected one of avx512, avx2, sse2, got "VALUE"".
Isa active_isa();
// isa_name(active_isa()).
const char* isa_name();
// Switches every kernel to `isa` (tests and benchmarks use it to sweep paths). Throws
// std::invalid_argument if the CPU does not support it.
//
// Safe from any thread, also while kernels run: each kernel call (one gemm, one elementwise op,
// one optimizer update, one random fill) reads the ISA once, at its start, and runs wholly on that ISA's kernels;
// calls that start after set_isa() returns use the new one. Every ISA gives results within the
// tolerances the tests check, not bit-identical ones, so switching mid-training changes results
// (the random fills of core/random.h excepted: they are bit-identical on every ISA).
void set_isa(Isa isa);

}  // namespace simdnn
