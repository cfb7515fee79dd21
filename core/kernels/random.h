// Philox4x32-10 in SIMD registers, templated on the xsimd architecture. Included only by the
// per-ISA files random_<isa>.cc, each compiled with that ISA's flags (core/isa.bzl), which
// instantiate make_random_kernels<Arch>().
//
// Layout: one Philox block per 64-bit lane, its 32-bit counter words in the low halves of four
// registers c0..c3 (the high halves hold don't-care bits). A round is then
//   p0 = mul_epu32(c0, M0), p1 = mul_epu32(c2, M1)          (full 64-bit products)
//   c0 = hi(p1) ^ c1 ^ k0,  c1 = p1,  c2 = hi(p0) ^ c3 ^ k1,  c3 = p0
// where hi() moves the high half of each lane to its low half: _mm*_mul_epu32 reads only the low
// halves, so a product is directly the next round's lo word, and no 32-bit blend is needed
// inside the rounds. (xsimd 8.1 has no widening or high-half 32-bit multiply, hence the
// intrinsics, selected by register width with `if constexpr`.) kSets<Arch> independent registers
// of blocks are interleaved to hide the multiply latency. At the end, the words are packed to full
// 32-bit density and reordered to memory order (word 4·block + j): lane j of a register holds
// block (j % 2)·P/2 + j / 2 of its P = kBlocks<Arch>, so that the in-lane 64-bit unpacks give
// consecutive blocks.
//
// Rules that keep ISA code out of the baseline path: every function here is a template on Arch
// and calls no non-template inline function (no std::min). See core/README.md, "Dispatch".
#pragma once

#include <immintrin.h>

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <simdnn/core/kernels/unroll.h>
#include <simdnn/core/random_kernels.h>

#define SIMDNN_RANDOM_INLINE [[gnu::always_inline]] inline

namespace simdnn::internal::kernels::random {

using kernels::unroll;

template <class Arch>
inline constexpr std::size_t kBytes = Arch::alignment();  // 16, 32 or 64
static_assert(kBytes<xsimd::sse2> == 16 && kBytes<xsimd::avx512f> == 64);

template <std::size_t Bytes>
struct RegOf;
template <>
struct RegOf<16> {
  using type = __m128i;
};
template <>
struct RegOf<32> {
  using type = __m256i;
};
template <>
struct RegOf<64> {
  using type = __m512i;
};
template <class Arch>
using Reg = typename RegOf<kBytes<Arch>>::type;

// Blocks per register (one per 64-bit lane) and 32-bit words per register.
template <class Arch>
inline constexpr std::size_t kBlocks = kBytes<Arch> / 8;
template <class Arch>
inline constexpr std::size_t kWords = kBytes<Arch> / 4;
// Registers of blocks interleaved in the main loop: enough independent multiply chains to fill
// the pipes, few enough to stay (mostly) in registers (16 with SSE2/AVX2, 32 with AVX-512).
template <class Arch>
inline constexpr int kSets = kBytes<Arch> == 64 ? 4 : 3;

// ---- register operations, by width -----------------------------------------------------------

template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> set1_32(std::uint32_t x) {
  const auto v = static_cast<int>(x);
  if constexpr (kBytes<Arch> == 64) return _mm512_set1_epi32(v);
  else if constexpr (kBytes<Arch> == 32) return _mm256_set1_epi32(v);
  else return _mm_set1_epi32(v);
}

template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> set1_64(std::uint64_t x) {
  const auto v = static_cast<long long>(x);
  if constexpr (kBytes<Arch> == 64) return _mm512_set1_epi64(v);
  else if constexpr (kBytes<Arch> == 32) return _mm256_set1_epi64x(v);
  else return _mm_set1_epi64x(v);
}

template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> loadu(const void* p) {
  if constexpr (kBytes<Arch> == 64) return _mm512_loadu_si512(p);
  else if constexpr (kBytes<Arch> == 32) return _mm256_loadu_si256(static_cast<const __m256i*>(p));
  else return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

template <class Arch>
SIMDNN_RANDOM_INLINE void storeu(void* p, Reg<Arch> a) {
  if constexpr (kBytes<Arch> == 64) _mm512_storeu_si512(p, a);
  else if constexpr (kBytes<Arch> == 32) _mm256_storeu_si256(static_cast<__m256i*>(p), a);
  else _mm_storeu_si128(static_cast<__m128i*>(p), a);
}

// The 64-bit products of the low 32-bit halves of each 64-bit lane.
template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> mul_lo32(Reg<Arch> a, Reg<Arch> b) {
  if constexpr (kBytes<Arch> == 64) return _mm512_mul_epu32(a, b);
  else if constexpr (kBytes<Arch> == 32) return _mm256_mul_epu32(a, b);
  else return _mm_mul_epu32(a, b);
}

// Each 64-bit lane with its halves swapped: its high half in its low half (and the low half in
// the high half, which the rounds never read). A shuffle rather than a 64-bit shift: on Intel
// cores a zmm shift issues only on port 0, beside the multiplies, which then bound a round;
// the shuffle issues on port 5.
template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> high_to_low(Reg<Arch> a) {
  if constexpr (kBytes<Arch> == 64) return _mm512_shuffle_epi32(a, _MM_PERM_CDAB);
  else if constexpr (kBytes<Arch> == 32) return _mm256_shuffle_epi32(a, 0xB1);
  else return _mm_shuffle_epi32(a, 0xB1);
}

template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> xor2(Reg<Arch> a, Reg<Arch> b) {
  if constexpr (kBytes<Arch> == 64) return _mm512_xor_si512(a, b);
  else if constexpr (kBytes<Arch> == 32) return _mm256_xor_si256(a, b);
  else return _mm_xor_si128(a, b);
}

// a ^ b ^ c, with b ^ c (off the multiply chain) first.
template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> xor3(Reg<Arch> a, Reg<Arch> b, Reg<Arch> c) {
  if constexpr (kBytes<Arch> == 64) return _mm512_ternarylogic_epi64(a, b, c, 0x96);
  else return xor2<Arch>(a, xor2<Arch>(b, c));
}

template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> add64(Reg<Arch> a, Reg<Arch> b) {
  if constexpr (kBytes<Arch> == 64) return _mm512_add_epi64(a, b);
  else if constexpr (kBytes<Arch> == 32) return _mm256_add_epi64(a, b);
  else return _mm_add_epi64(a, b);
}

// Each 64-bit lane = (low half of lo) | (low half of hi) << 32.
template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> pack_low_halves(Reg<Arch> lo, Reg<Arch> hi) {
  if constexpr (kBytes<Arch> == 64) {
    return _mm512_mask_blend_epi32(0xAAAA, lo, _mm512_slli_epi64(hi, 32));
  } else if constexpr (kBytes<Arch> == 32) {
    return _mm256_blend_epi32(lo, _mm256_slli_epi64(hi, 32), 0xAA);
  } else {
    return _mm_or_si128(_mm_and_si128(lo, _mm_set1_epi64x(0xFFFFFFFF)), _mm_slli_epi64(hi, 32));
  }
}

template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> unpacklo64(Reg<Arch> a, Reg<Arch> b) {
  if constexpr (kBytes<Arch> == 64) return _mm512_unpacklo_epi64(a, b);
  else if constexpr (kBytes<Arch> == 32) return _mm256_unpacklo_epi64(a, b);
  else return _mm_unpacklo_epi64(a, b);
}

template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> unpackhi64(Reg<Arch> a, Reg<Arch> b) {
  if constexpr (kBytes<Arch> == 64) return _mm512_unpackhi_epi64(a, b);
  else if constexpr (kBytes<Arch> == 32) return _mm256_unpackhi_epi64(a, b);
  else return _mm_unpackhi_epi64(a, b);
}

// The bits of `value` in every 32-bit lane whose word w satisfies w <= t (unsigned), else 0.
template <class Arch>
struct BernoulliOp {
  Reg<Arch> t;    // avx512: t; others: t ^ 0x80000000 (signed compare of sign-flipped words)
  Reg<Arch> one;  // the bits of the value written for a hit (1.0f: 0x3F800000)
  Reg<Arch> sign;
};

template <class Arch>
SIMDNN_RANDOM_INLINE BernoulliOp<Arch> bernoulli_op(std::uint32_t t, std::uint32_t value_bits) {
  if constexpr (kBytes<Arch> == 64) {
    return {set1_32<Arch>(t), set1_32<Arch>(value_bits), set1_32<Arch>(0)};
  } else {
    return {set1_32<Arch>(t ^ 0x80000000u), set1_32<Arch>(value_bits), set1_32<Arch>(0x80000000u)};
  }
}

template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> apply(const BernoulliOp<Arch>& op, Reg<Arch> w) {
  if constexpr (kBytes<Arch> == 64) {
    return _mm512_maskz_mov_epi32(_mm512_cmple_epu32_mask(w, op.t), op.one);
  } else if constexpr (kBytes<Arch> == 32) {
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_xor_si256(w, op.sign), op.t), op.one);
  } else {
    return _mm_andnot_si128(_mm_cmpgt_epi32(_mm_xor_si128(w, op.sign), op.t), op.one);
  }
}

// ---- Philox ----------------------------------------------------------------------------------

// What every group of blocks of one call shares, all broadcast: the round keys, the multipliers,
// the lanes' block offsets and the stream words' part of rounds 0 and 1.
// Rounds 0 and 1 are partly the same for every block (the stream words c2, c3 are), and are
// precomputed: round 0's p1 = M1·stream_lo is a constant P1, so after it
//   c0 = (block >> 32) ^ round0_c0,  c1 = lo(P1),  c2 = hi(p0) ^ round0_c2,  c3 = p0
// with round0_c0 = hi(P1) ^ k0[0] and round0_c2 = stream_hi ^ k1[0]; round 1's c0 is then
// hi(p1) ^ round1_c0 with round1_c0 = lo(P1) ^ k0[1]. (About 6 % fewer operations.)
template <class Arch>
struct Consts {
  Reg<Arch> k0[10], k1[10];
  Reg<Arch> m0, m1, lane_offsets, round0_c0, round0_c2, round1_c0;
};

template <class Arch>
SIMDNN_RANDOM_INLINE Consts<Arch> make_consts(std::uint64_t seed, std::uint64_t stream) {
  Consts<Arch> c;
  auto k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    if (r != 0) {
      k0 += kPhiloxKernelW0;
      k1 += kPhiloxKernelW1;
    }
    c.k0[r] = set1_32<Arch>(k0);
    c.k1[r] = set1_32<Arch>(k1);
  }
  const std::uint64_t p1 = std::uint64_t{kPhiloxKernelM1} * static_cast<std::uint32_t>(stream);
  const auto p1_lo = static_cast<std::uint32_t>(p1), p1_hi = static_cast<std::uint32_t>(p1 >> 32);
  const auto key0 = static_cast<std::uint32_t>(seed), key1 = static_cast<std::uint32_t>(seed >> 32);
  c.round0_c0 = set1_32<Arch>(p1_hi ^ key0);
  c.round0_c2 = set1_32<Arch>(static_cast<std::uint32_t>(stream >> 32) ^ key1);
  c.round1_c0 = set1_32<Arch>(p1_lo ^ (key0 + kPhiloxKernelW0));
  c.m0 = set1_32<Arch>(kPhiloxKernelM0);
  c.m1 = set1_32<Arch>(kPhiloxKernelM1);
  constexpr std::size_t P = kBlocks<Arch>;
  std::uint64_t offsets[P];
  for (std::size_t j = 0; j < P; ++j) offsets[j] = (j % 2) * (P / 2) + j / 2;
  c.lane_offsets = loadu<Arch>(offsets);
  return c;
}

// The words of the U·P blocks block, block + 1, ... in memory order: o[i] holds words
// i·kWords .. (i + 1)·kWords − 1 of the group (2 registers per set of P blocks).
template <class Arch, int U>
SIMDNN_RANDOM_INLINE void philox_group(const Consts<Arch>& c, std::uint64_t block,
                                       Reg<Arch> (&o)[2 * U]) {
  constexpr std::size_t P = kBlocks<Arch>;
  Reg<Arch> c0[U], c1[U], c2[U], c3[U];
#pragma GCC unroll 16
  for (int u = 0; u < U; ++u) {  // rounds 0 and 1 (see Consts)
    const Reg<Arch> blocks = add64<Arch>(set1_64<Arch>(block + u * P), c.lane_offsets);
    const Reg<Arch> p0 = mul_lo32<Arch>(blocks, c.m0);
    c0[u] = xor2<Arch>(high_to_low<Arch>(blocks), c.round0_c0);
    c2[u] = xor2<Arch>(high_to_low<Arch>(p0), c.round0_c2);
    c3[u] = p0;
    const Reg<Arch> q0 = mul_lo32<Arch>(c0[u], c.m0);
    const Reg<Arch> q1 = mul_lo32<Arch>(c2[u], c.m1);
    c0[u] = xor2<Arch>(high_to_low<Arch>(q1), c.round1_c0);
    c1[u] = q1;
    c2[u] = xor3<Arch>(high_to_low<Arch>(q0), c3[u], c.k1[1]);
    c3[u] = q0;
  }
#pragma GCC unroll 10
  for (int r = 2; r < 10; ++r) {
#pragma GCC unroll 16
    for (int u = 0; u < U; ++u) {
      const Reg<Arch> p0 = mul_lo32<Arch>(c0[u], c.m0);
      const Reg<Arch> p1 = mul_lo32<Arch>(c2[u], c.m1);
      c0[u] = xor3<Arch>(high_to_low<Arch>(p1), c1[u], c.k0[r]);
      c1[u] = p1;
      c2[u] = xor3<Arch>(high_to_low<Arch>(p0), c3[u], c.k1[r]);
      c3[u] = p0;
    }
  }
#pragma GCC unroll 16
  for (int u = 0; u < U; ++u) {
    const Reg<Arch> w01 = pack_low_halves<Arch>(c0[u], c1[u]);
    const Reg<Arch> w23 = pack_low_halves<Arch>(c2[u], c3[u]);
    o[2 * u] = unpacklo64<Arch>(w01, w23);
    o[2 * u + 1] = unpackhi64<Arch>(w01, w23);
  }
}

// Walks words first .. first + n − 1 of (seed, stream): group(o, k) for each whole group of
// 2·kSets registers o whose words (memory order) are words first + k ...; part(o, k, skip, take)
// for the rest, a set of 2 registers whose words skip .. skip + take − 1 are words first + k ...
template <class Arch, class Group, class Part>
SIMDNN_RANDOM_INLINE void for_words(std::uint64_t seed, std::uint64_t stream, std::uint64_t first,
                                    std::size_t n, Group group, Part part) {
  constexpr int U = kSets<Arch>;
  constexpr std::size_t kGroupWords = 2 * U * kWords<Arch>;
  constexpr std::size_t kSetWords = 2 * kWords<Arch>;
  const Consts<Arch> c = make_consts<Arch>(seed, stream);
  std::size_t k = 0;
  while (k < n) {
    const std::uint64_t index = first + k;
    const std::size_t skip = static_cast<std::size_t>(index % 4);
    const std::size_t left = n - k;
    if (skip == 0 && left >= kGroupWords) {
      Reg<Arch> o[2 * U];
      philox_group<Arch, U>(c, index / 4, o);
      group(o, k);
      k += kGroupWords;
    } else {
      Reg<Arch> o[2];
      philox_group<Arch, 1>(c, index / 4, o);
      const std::size_t take = left < kSetWords - skip ? left : kSetWords - skip;
      part(o, k, skip, take);
      k += take;
    }
  }
}

// out[i] = f(word first + i) for i < n, E = the 4-byte output type, f maps a register of words.
template <class Arch, class E, class F>
SIMDNN_RANDOM_INLINE void generate(std::uint64_t seed, std::uint64_t stream, std::uint64_t first,
                                   E* out, std::size_t n, F f) {
  static_assert(sizeof(E) == 4);
  constexpr std::size_t W = kWords<Arch>;
  for_words<Arch>(
      seed, stream, first, n,
      [&](const auto& o, std::size_t k) __attribute__((always_inline)) {
        unroll<2 * kSets<Arch>>([&](auto i) __attribute__((always_inline)) { storeu<Arch>(out + k + i * W, f(o[i])); });
      },
      [&](const auto& o, std::size_t k, std::size_t skip, std::size_t take) __attribute__((always_inline)) {
        // A part of one set of blocks, through a buffer, by the same code.
        alignas(64) E buffer[2 * W];
        storeu<Arch>(buffer, f(o[0]));
        storeu<Arch>(buffer + W, f(o[1]));
        for (std::size_t j = 0; j < take; ++j) out[k + j] = buffer[skip + j];
      });
}

template <class Arch>
void philox_words(std::uint64_t seed, std::uint64_t stream, std::uint64_t first,
                  std::uint32_t* out, std::size_t n) {
  generate<Arch>(seed, stream, first, out, n,
                 [](Reg<Arch> w) __attribute__((always_inline)) { return w; });
}

template <class Arch>
void bernoulli(std::uint64_t seed, std::uint64_t stream, std::uint64_t first,
               std::uint64_t threshold, float value, float* out, std::size_t n) {
  if (threshold == 0) {
    for (std::size_t i = 0; i < n; ++i) out[i] = 0.0f;
    return;
  }
  // word < threshold  <=>  word <= threshold - 1, which fits in 32 bits.
  std::uint32_t value_bits;
  std::memcpy(&value_bits, &value, sizeof value_bits);
  const BernoulliOp<Arch> op = bernoulli_op<Arch>(static_cast<std::uint32_t>(threshold - 1), value_bits);
  generate<Arch>(seed, stream, first, out, n,
                 [&](Reg<Arch> w) __attribute__((always_inline)) { return apply<Arch>(op, w); });
}

// ---- dropout ---------------------------------------------------------------------------------

// 1 in every 32-bit lane whose word w satisfies w <= op.t, else 0 (apply's hits, as integers).
template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> hits(const BernoulliOp<Arch>& op, Reg<Arch> w) {
  if constexpr (kBytes<Arch> == 64) {
    return _mm512_maskz_mov_epi32(_mm512_cmple_epu32_mask(w, op.t), _mm512_set1_epi32(1));
  } else if constexpr (kBytes<Arch> == 32) {
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_xor_si256(w, op.sign), op.t), _mm256_set1_epi32(1));
  } else {
    return _mm_andnot_si128(_mm_cmpgt_epi32(_mm_xor_si128(w, op.sign), op.t), _mm_set1_epi32(1));
  }
}

// The 32-bit lanes of a (each 0 or 1) stored as kWords bytes at p.
template <class Arch>
SIMDNN_RANDOM_INLINE void store_bytes(std::uint8_t* p, Reg<Arch> a) {
  if constexpr (kBytes<Arch> == 64) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(a));
  } else if constexpr (kBytes<Arch> == 32) {
    const __m128i halves = _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packus_epi16(halves, halves));
  } else {
    const __m128i words = _mm_packs_epi32(a, a);
    const int bytes = _mm_cvtsi128_si32(_mm_packus_epi16(words, words));
    std::memcpy(p, &bytes, 4);
  }
}

// kWords bytes at p (each 0 or not) as 32-bit lanes: all ones where the byte is 0, else 0.
template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> zero_bytes(const std::uint8_t* p) {
  if constexpr (kBytes<Arch> == 64) {
    const __m512i lanes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm512_maskz_mov_epi32(_mm512_testn_epi32_mask(lanes, lanes), _mm512_set1_epi32(-1));
  } else if constexpr (kBytes<Arch> == 32) {
    const __m256i lanes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    return _mm256_cmpeq_epi32(lanes, _mm256_setzero_si256());
  } else {
    int bytes;
    std::memcpy(&bytes, p, 4);
    const __m128i zero = _mm_setzero_si128();
    const __m128i lanes = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(bytes), zero), zero);
    return _mm_cmpeq_epi32(lanes, zero);
  }
}

template <class Arch>
SIMDNN_RANDOM_INLINE xsimd::batch<float, Arch> as_floats(Reg<Arch> a) {
  if constexpr (kBytes<Arch> == 64) return _mm512_castsi512_ps(a);
  else if constexpr (kBytes<Arch> == 32) return _mm256_castsi256_ps(a);
  else return _mm_castsi128_ps(a);
}

// ~a & b.
template <class Arch>
SIMDNN_RANDOM_INLINE Reg<Arch> andnot(Reg<Arch> a, Reg<Arch> b) {
  if constexpr (kBytes<Arch> == 64) return _mm512_andnot_si512(a, b);
  else if constexpr (kBytes<Arch> == 32) return _mm256_andnot_si256(a, b);
  else return _mm_andnot_si128(a, b);
}

// bernoulli's element v_i (value or 0) for word first + i, then y[i] = x[i]·v_i and keep[i] = 1
// for a hit, else 0: one sweep, the mask never stored as floats. A part of a set of blocks goes
// through buffers by the same vector code, so an element has the same bits wherever it lies.
template <class Arch>
void dropout(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, std::uint64_t threshold,
             float value, const float* x, float* y, std::uint8_t* keep, std::size_t n) {
  using V = xsimd::batch<float, Arch>;
  constexpr std::size_t W = kWords<Arch>;
  if (threshold == 0) {  // no hits (the kernels compare against threshold − 1)
    for (std::size_t i = 0; i < n; ++i) {
      y[i] = x[i] * 0.0f;
      keep[i] = 0;
    }
    return;
  }
  std::uint32_t value_bits;
  std::memcpy(&value_bits, &value, sizeof value_bits);
  const BernoulliOp<Arch> op = bernoulli_op<Arch>(static_cast<std::uint32_t>(threshold - 1), value_bits);
  auto one_register = [&](Reg<Arch> w, const float* xs, float* ys, std::uint8_t* ks) __attribute__((always_inline)) {
    (V::load_unaligned(xs) * as_floats<Arch>(apply<Arch>(op, w))).store_unaligned(ys);
    store_bytes<Arch>(ks, hits<Arch>(op, w));
  };
  for_words<Arch>(
      seed, stream, first, n,
      [&](const auto& o, std::size_t k) __attribute__((always_inline)) {
        unroll<2 * kSets<Arch>>([&](auto i) __attribute__((always_inline)) {
          one_register(o[i], x + k + i * W, y + k + i * W, keep + k + i * W);
        });
      },
      [&](const auto& o, std::size_t k, std::size_t skip, std::size_t take) __attribute__((always_inline)) {
        alignas(64) float xs[2 * W] = {};
        alignas(64) float ys[2 * W];
        alignas(64) std::uint8_t ks[2 * W];
        for (std::size_t j = 0; j < take; ++j) xs[skip + j] = x[k + j];
        one_register(o[0], xs, ys, ks);
        one_register(o[1], xs + W, ys + W, ks + W);
        for (std::size_t j = 0; j < take; ++j) {
          y[k + j] = ys[skip + j];
          keep[k + j] = ks[skip + j];
        }
      });
}

// y[i] = x[i]·(keep[i] != 0 ? value : 0): dropout's mask applied again (its backward pass).
template <class Arch>
void apply_keep(const float* x, const std::uint8_t* keep, float value, float* y, std::size_t n) {
  using V = xsimd::batch<float, Arch>;
  constexpr std::size_t W = kWords<Arch>;
  std::uint32_t value_bits;
  std::memcpy(&value_bits, &value, sizeof value_bits);
  const Reg<Arch> v = set1_32<Arch>(value_bits);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    const V factor = as_floats<Arch>(andnot<Arch>(zero_bytes<Arch>(keep + i), v));
    (V::load_unaligned(x + i) * factor).store_unaligned(y + i);
  }
  for (; i < n; ++i) y[i] = x[i] * (keep[i] != 0 ? value : 0.0f);
}

}  // namespace simdnn::internal::kernels::random

#undef SIMDNN_RANDOM_INLINE

namespace simdnn::internal {

template <class Arch>
RandomKernels make_random_kernels() {
  namespace k = kernels::random;
  return RandomKernels{
      .philox_words = &k::philox_words<Arch>,
      .bernoulli = &k::bernoulli<Arch>,
      .dropout = &k::dropout<Arch>,
      .apply_keep = &k::apply_keep<Arch>,
  };
}

}  // namespace simdnn::internal
