// The per-ISA random kernel table: Philox4x32-10 (core/philox.h) evaluated for many consecutive
// blocks at once in SIMD registers, one block per 64-bit lane. core/random.cc's fills use it.
//
// Why a kernel family: the scalar generator's rounds are a chain of dependent 32x32->64-bit
// multiplies per block, and the compiler does not vectorize a loop over blocks of them (GCC 12
// keeps even an array-of-lanes formulation scalar), so the fills ran at ~0.35 Gelem/s. Each ISA
// here computes its multiplies with _mm*_mul_epu32 (2, 4 or 8 blocks per register).
//
// Every kernel gives exactly the scalar generator's words, whatever the ISA, the starting word
// and the length (tests/random_test.cc checks it on every ISA), so the fills stay bit-identical
// across ISAs. Kernels work on the calling thread, never allocate and never throw.
#pragma once

#include <cstddef>
#include <cstdint>

#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/arch.h>

namespace simdnn::internal {

// Philox4x32's multipliers and key increments (core/philox.h's kPhiloxM0...; the kernels cannot
// see that public header, core/random.cc checks that both agree).
inline constexpr std::uint32_t kPhiloxKernelM0 = 0xD2511F53u;
inline constexpr std::uint32_t kPhiloxKernelM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxKernelW0 = 0x9E3779B9u;
inline constexpr std::uint32_t kPhiloxKernelW1 = 0xBB67AE85u;

// A plain aggregate of function pointers (no constructors or member functions: nothing here may
// be compiled into a per-ISA object as an inline function that the baseline code could call).
struct RandomKernels {
  // out[i] = random word number first + i of (seed, stream), i < n: word w is word w % 4 of the
  // Philox block w / 4 (core/philox.h). Any first and n.
  void (*philox_words)(std::uint64_t seed, std::uint64_t stream, std::uint64_t first,
                       std::uint32_t* out, std::size_t n);
  // out[i] = value if word first + i < threshold, else 0.0f, i < n (threshold in [0, 2^32]:
  // 0 gives all zeros, 2^32 all `value`): fill_bernoulli's elements, the words never stored.
  void (*bernoulli)(std::uint64_t seed, std::uint64_t stream, std::uint64_t first,
                    std::uint64_t threshold, float value, float* out, std::size_t n);
  // Dropout in one sweep: with v_i bernoulli's element i (value or 0), y[i] = x[i]·v_i and
  // keep[i] = 1 if v_i is a hit, else 0, i < n. x and y may be the same array.
  void (*dropout)(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, std::uint64_t threshold,
                  float value, const float* x, float* y, std::uint8_t* keep, std::size_t n);
  // y[i] = x[i]·(keep[i] != 0 ? value : 0), i < n: the same mask applied again.
  void (*apply_keep)(const float* x, const std::uint8_t* keep, float value, float* y, std::size_t n);
};

// The table for `isa`, built once on first use. Throws std::invalid_argument if the CPU does not
// support `isa` (building it would already execute that ISA's instructions).
const RandomKernels& random_kernels(Isa isa);

// Defined in kernels/random.h and instantiated only in random_<isa>.cc.
template <class Arch>
RandomKernels make_random_kernels();

#define SIMDNN_EXTERN_RANDOMKERNELS(name) \
  extern template RandomKernels make_random_kernels<XsimdArch<Isa::name>::type>();
SIMDNN_ISA_LIST(SIMDNN_EXTERN_RANDOMKERNELS)
#undef SIMDNN_EXTERN_RANDOMKERNELS

}  // namespace simdnn::internal
