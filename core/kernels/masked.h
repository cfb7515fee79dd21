// Partial vectors: the first n lanes of a vector loaded from or stored to memory that may end
// right after them. Templated on the xsimd architecture; included only by per-ISA kernel headers.
#pragma once

#include <immintrin.h>

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace simdnn::internal::kernels {

template <class Arch>
using FloatVec = xsimd::batch<float, Arch>;

// The first n (1..W) floats at p as a vector, the rest zero; and the first n lanes of v stored to
// p. Memory past p + n is never touched: AVX-512 and AVX2 mask the lanes, SSE2 goes through a
// stack buffer.
template <class Arch>
[[gnu::always_inline]] inline FloatVec<Arch> load_first(const float* p, std::size_t n) {
  using V = FloatVec<Arch>;
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
  } else if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>>) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lanes));
  } else {
    alignas(64) float buffer[V::size] = {};
    std::memcpy(buffer, p, n * sizeof(float));
    return V::load_aligned(buffer);
  }
}

template <class Arch>
[[gnu::always_inline]] inline void store_first(float* p, FloatVec<Arch> v, std::size_t n) {
  using V = FloatVec<Arch>;
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
  } else if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>>) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lanes), v);
  } else {
    alignas(64) float buffer[V::size];
    v.store_aligned(buffer);
    std::memcpy(p, buffer, n * sizeof(float));
  }
}

}  // namespace simdnn::internal::kernels
