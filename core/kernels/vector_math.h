// Vectorized exp-family functions for the elementwise kernels. Included only by
// kernels/elementwise.h, i.e. by the per-ISA files elementwise_<isa>.cc. Every function here is a
// template whose arguments carry the xsimd architecture, so that no copy compiled with one ISA's
// flags can be merged by the linker into another ISA's (or the baseline's) code.
//
// The functions take a vector type V that is either one xsimd batch or a Pack of N batches. A
// Pack applies each operation to its N batches in turn, so the N independent dependency chains
// are interleaved in program order; the out-of-order core then overlaps them (about 5% faster
// than evaluating the batches one after another, on Zen 5). Each lane sees exactly the same
// operations either way, so results do not depend on which path computed them.
//
// All functions share one range reduction: for an argument t they pick the integer n nearest to
// t/ln2 (by adding the "magic" constant 1.5·2^23 + bias, which leaves n + bias in the low
// mantissa bits), reduce to r = t − n·ln2 ∈ [−ln2/2, ln2/2] (one FMA with ln2 rounded to float
// where FMA exists, a two-constant Cody–Waite split on SSE2) and rebuild 2^n by shifting those
// bits into the exponent field. e^r is then either
//   * a degree-6 polynomial (exp_small: softmax, softplus), or
//   * the [3/3] Padé approximant e^r ≈ P(r)/P(−r), P(r) = 1 + r/2 + r²/10 + r³/120 (relative
//     error ≤ 6e-9 on the reduced range), folded into the division that sigmoid and tanh need
//     anyway, so those cost one division and no polynomial longer than degree 3, or
//   * e^r − 1 = r + r²·g(r), degree 6 in all (expm1 for elu and selu, no division).
// Clamps are written as max(constant, x) / min(constant, x): the x86 min/max instructions
// return their second operand when either is NaN, so NaN inputs propagate.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstdint>
#include <immintrin.h>
#include <type_traits>
#include <utility>

namespace simdnn::internal::kernels::vmath {

template <class Arch>
using Vec = xsimd::batch<float, Arch>;
template <class Arch>
using IVec = xsimd::batch<std::int32_t, Arch>;
template <class Arch>
using DVec = xsimd::batch<double, Arch>;

// Calls f(std::integral_constant<int, 0>{}) ... f(std::integral_constant<int, N − 1>{}).
template <class F, int... I>
[[gnu::always_inline]] inline void each_index(F& f, std::integer_sequence<int, I...>) {
  (f(std::integral_constant<int, I>{}), ...);
}
template <int N, class F>
[[gnu::always_inline]] inline void each(F&& f) {
  each_index(f, std::make_integer_sequence<int, N>{});
}

// N batches processed as one value (see the file comment). Indexed only by constants, so the
// compiler keeps the batches in registers.
template <class B, int N>
struct Pack {
  B v[N];
  Pack() = default;
  // Broadcast, like B(float): lets generic code write V(1.0f).
  [[gnu::always_inline]] Pack(float c) {  // NOLINT(google-explicit-constructor)
    each<N>([&](auto i) __attribute__((always_inline)) { v[i] = B(c); });
  }
};

template <class V>
struct ArchOf;
template <class Arch>
struct ArchOf<xsimd::batch<float, Arch>> {
  using type = Arch;
};
template <class B, int N>
struct ArchOf<Pack<B, N>> {
  using type = typename ArchOf<B>::type;
};

// Lane-wise operations on Packs: operators and the v* functions below.
#define SIMDNN_PACK_BINARY_OPERATOR(op)                                                            \
  template <class B, int N>                                                                        \
  [[gnu::always_inline]] inline Pack<B, N> operator op(const Pack<B, N>& a, const Pack<B, N>& b) { \
    Pack<B, N> r;                                                                                  \
    each<N>([&](auto i) __attribute__((always_inline)) { r.v[i] = a.v[i] op b.v[i]; });            \
    return r;                                                                                      \
  }
SIMDNN_PACK_BINARY_OPERATOR(+)
SIMDNN_PACK_BINARY_OPERATOR(-)
SIMDNN_PACK_BINARY_OPERATOR(*)
SIMDNN_PACK_BINARY_OPERATOR(/)
#undef SIMDNN_PACK_BINARY_OPERATOR

template <class B, int N>
[[gnu::always_inline]] inline Pack<B, N> operator-(const Pack<B, N>& a) {
  Pack<B, N> r;
  each<N>([&](auto i) __attribute__((always_inline)) { r.v[i] = -a.v[i]; });
  return r;
}

// The v* functions: one overload for a batch (forwarding to xsimd), one for a Pack.
// vfma(a, b, c) = a·b + c, vfms = a·b − c, vfnma = −a·b + c, with one rounding where the ISA
// has FMA. Not xsimd::fma directly: xsimd 8.1 has no AVX-512 kernel for it and falls back to
// a·b + c, which is fused only when the compiler contracts it (-O2 does, -O1 does not), and the
// range reductions above need the single rounding.
template <class T, class Arch>
[[gnu::always_inline]] inline xsimd::batch<T, Arch> vfma(xsimd::batch<T, Arch> a,
                                                         xsimd::batch<T, Arch> b,
                                                         xsimd::batch<T, Arch> c) {
  if constexpr (std::is_same_v<Arch, xsimd::avx512f> && std::is_same_v<T, float>) {
    return _mm512_fmadd_ps(a, b, c);
  } else if constexpr (std::is_same_v<Arch, xsimd::avx512f> && std::is_same_v<T, double>) {
    return _mm512_fmadd_pd(a, b, c);
  } else {
    return xsimd::fma(a, b, c);
  }
}
template <class T, class Arch>
[[gnu::always_inline]] inline xsimd::batch<T, Arch> vfms(xsimd::batch<T, Arch> a,
                                                         xsimd::batch<T, Arch> b,
                                                         xsimd::batch<T, Arch> c) {
  if constexpr (std::is_same_v<Arch, xsimd::avx512f> && std::is_same_v<T, float>) {
    return _mm512_fmsub_ps(a, b, c);
  } else {
    return xsimd::fms(a, b, c);
  }
}
template <class T, class Arch>
[[gnu::always_inline]] inline xsimd::batch<T, Arch> vfnma(xsimd::batch<T, Arch> a,
                                                          xsimd::batch<T, Arch> b,
                                                          xsimd::batch<T, Arch> c) {
  if constexpr (std::is_same_v<Arch, xsimd::avx512f> && std::is_same_v<T, float>) {
    return _mm512_fnmadd_ps(a, b, c);
  } else {
    return xsimd::fnma(a, b, c);
  }
}
template <class Arch>
[[gnu::always_inline]] inline Vec<Arch> vmin(Vec<Arch> a, Vec<Arch> b) {
  return xsimd::min(a, b);
}
template <class Arch>
[[gnu::always_inline]] inline Vec<Arch> vmax(Vec<Arch> a, Vec<Arch> b) {
  return xsimd::max(a, b);
}
// kf = magic + bias + n (as produced by fma(t, log2e, magic + bias)); returns the float whose
// bits are (n + bias) << 23, i.e. 2^(n + bias − 127), +inf when n + bias = 255.
template <class Arch>
[[gnu::always_inline]] inline Vec<Arch> pow2_from_magic(Vec<Arch> kf) {
  return xsimd::bitwise_cast<Vec<Arch>>(xsimd::bitwise_cast<IVec<Arch>>(kf) << 23);
}

template <class B, int N>
[[gnu::always_inline]] inline Pack<B, N> vfma(const Pack<B, N>& a, const Pack<B, N>& b,
                                              const Pack<B, N>& c) {
  Pack<B, N> r;
  each<N>([&](auto i) __attribute__((always_inline)) { r.v[i] = vfma(a.v[i], b.v[i], c.v[i]); });
  return r;
}
template <class B, int N>
[[gnu::always_inline]] inline Pack<B, N> vfms(const Pack<B, N>& a, const Pack<B, N>& b,
                                              const Pack<B, N>& c) {
  Pack<B, N> r;
  each<N>([&](auto i) __attribute__((always_inline)) { r.v[i] = vfms(a.v[i], b.v[i], c.v[i]); });
  return r;
}
template <class B, int N>
[[gnu::always_inline]] inline Pack<B, N> vmin(const Pack<B, N>& a, const Pack<B, N>& b) {
  Pack<B, N> r;
  each<N>([&](auto i) __attribute__((always_inline)) { r.v[i] = xsimd::min(a.v[i], b.v[i]); });
  return r;
}
template <class B, int N>
[[gnu::always_inline]] inline Pack<B, N> vmax(const Pack<B, N>& a, const Pack<B, N>& b) {
  Pack<B, N> r;
  each<N>([&](auto i) __attribute__((always_inline)) { r.v[i] = xsimd::max(a.v[i], b.v[i]); });
  return r;
}
template <class B, int N>
[[gnu::always_inline]] inline Pack<B, N> pow2_from_magic(const Pack<B, N>& kf) {
  Pack<B, N> r;
  each<N>([&](auto i) __attribute__((always_inline)) { r.v[i] = pow2_from_magic(kf.v[i]); });
  return r;
}

// Whether vfma is fused (one rounding) on Arch. SSE2 has no FMA: xsimd emulates it with a
// multiply and an add, so the range reductions split ln2 into an exact high part and a low part.
template <class Arch>
inline constexpr bool kFusedMultiplyAdd = !std::is_same_v<Arch, xsimd::sse2>;

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2 = 0.693147180559945309f;  // rounded to float: 0x3F317218
inline constexpr float kLn2Hi = 0.693359375f;         // 9 significant bits: n·kLn2Hi is exact
inline constexpr float kLn2Lo = -2.12194440054690583e-4f;
inline constexpr float kMagic = 12582912.0f;  // 1.5·2^23

// x + c·n·ln2 for an integer-valued n and c ∈ {±1, ±1/2} (a power of two, so exact).
template <class V>
[[gnu::always_inline]] inline V add_n_ln2(const V& n, const V& x, float c) {
  if constexpr (kFusedMultiplyAdd<typename ArchOf<V>::type>) {
    return vfma(n, V(c * kLn2), x);
  } else {
    return vfma(n, V(c * kLn2Lo), vfma(n, V(c * kLn2Hi), x));
  }
}

// e^t for t ≤ 43, correctly flushing to subnormals and to +0 (t < −104) and propagating NaN.
// Relative error ≤ 3·2^-24 where the result is normal. Degree-6 polynomial (minimax for
// relative error, c0 = 1 fixed) and a scale 2^(n+64)·2^-64 so that n down to −190 stays exact.
// With `tail`, returns e^(t + tail) for a small correction |tail| ≤ 2^-20·|t| (see softmax).
template <class V>
[[gnu::always_inline]] inline V exp_small(V t, const V& tail = V(0.0f)) {
  constexpr float kBias = 127.0f + 64.0f;
  t = vmax(V(-110.0f), t);
  const V kf = vfma(t, V(kLog2e), V(kMagic + kBias));
  const V n = kf - V(kMagic + kBias);
  const V r = add_n_ln2(n, t, -1.0f) + tail;
  V p = vfma(V(1.384365460e-03f), r, V(8.374155895e-03f));
  p = vfma(p, r, V(4.166800205e-02f));
  p = vfma(p, r, V(1.666643126e-01f));
  p = vfma(p, r, V(4.999999421e-01f));
  p = vfma(p, r, V(1.000000032e+00f));
  p = vfma(p, r, V(1.0f));
  return (p * pow2_from_magic(kf)) * V(0x1p-64f);
}

// a − b as an unevaluated sum d + e with d = fl(a − b) and e its exact rounding error (Knuth's
// TwoSum, no ordering condition). e is NaN where d is infinite.
template <class V>
[[gnu::always_inline]] inline void two_diff(const V& a, const V& b, V& d, V& e) {
  d = a - b;
  const V a1 = d + b;
  const V b1 = a1 - d;
  e = (a - a1) - (b - b1);
}

// The even and odd parts of the [3/3] Padé numerator at r: P(r) = pe + po, P(−r) = pe − po.
template <class V>
struct Pade {
  V pe, po;
};
template <class V>
[[gnu::always_inline]] inline Pade<V> pade_parts(const V& r) {
  const V r2 = r * r;
  return {vfma(r2, V(0.1f), V(1.0f)), r * vfma(r2, V(1.0f / 120.0f), V(0.5f))};
}

// sigmoid(x) = num / (num + q·s) and 1 − sigmoid(x) = q·s / (num + q·s), where s may be +inf.
// With −x = n·ln2 + ρ:  sigmoid = P(−ρ) / (P(−ρ) + 2^n·P(ρ)), num = P(−ρ), q = P(ρ), s = 2^n.
// x must be clamped to [−88.7, 87]: above, sigmoid rounds to 1; below, s = 2^128 = +inf and
// sigmoid = +0 (the true value is below 2^-127).
template <class V>
struct SigmoidParts {
  V num, q, s;
};
template <class V>
[[gnu::always_inline]] inline SigmoidParts<V> sigmoid_parts_of_clamped(const V& xc) {
  constexpr float kBias = 127.0f;
  const V kf = vfma(xc, V(-kLog2e), V(kMagic + kBias));
  const V n = kf - V(kMagic + kBias);
  const V r = add_n_ln2(n, xc, 1.0f);  // r = x + n·ln2 = −ρ
  const Pade<V> p = pade_parts(r);
  return {p.pe + p.po, p.pe - p.po, pow2_from_magic(kf)};
}
template <class V>
[[gnu::always_inline]] inline V clamp_low(const V& x) {
  return vmax(V(-88.7f), x);
}
template <class V>
[[gnu::always_inline]] inline SigmoidParts<V> sigmoid_parts(const V& x) {
  return sigmoid_parts_of_clamped(vmin(V(87.0f), clamp_low(x)));
}

template <class V>
[[gnu::always_inline]] inline V sigmoid(const V& x) {
  const SigmoidParts<V> s = sigmoid_parts(x);
  return s.num / vfma(s.q, s.s, s.num);
}

// x·sigmoid(x). Below x = −88.7 the result is −0 (true magnitude < 89·2^-127).
template <class V>
[[gnu::always_inline]] inline V swish(const V& x) {
  // Where the denominator is +inf (x < −88.7) the numerator must stay finite for the quotient to
  // be −0 rather than NaN at x = −inf: use the lower-clamped x there.
  const V t = clamp_low(x);
  const SigmoidParts<V> s = sigmoid_parts_of_clamped(vmin(V(87.0f), t));
  return (t * s.num) / vfma(s.q, s.s, s.num);
}

// GELU (tanh form) = 0.5·x·(1 + tanh(u)) = x·sigmoid(2u), 2u = x·(k0 + k1·x²).
inline constexpr float kGeluK0 = 1.59576912160573071f;    // 2·sqrt(2/π)
inline constexpr float kGeluK1 = 0.0713548162726008062f;  // 2·sqrt(2/π)·0.044715

template <class V>
[[gnu::always_inline]] inline V gelu(const V& x) {
  const V z = x * vfma(x * x, V(kGeluK1), V(kGeluK0));
  const SigmoidParts<V> s = sigmoid_parts(z);
  return (vmax(V(-100.0f), x) * s.num) / vfma(s.q, s.s, s.num);
}

// tanh(x) = (1 − E)/(1 + E), E = e^{−2x} = 2^n·e^ρ, ρ = −2x − n·ln2 = −2r with r = x + n·ln2/2.
// With e^ρ = P(ρ)/P(−ρ), P(ρ) = pe − w and P(−ρ) = pe + w (pe = 1 + 0.4r², w = r(1 + r²/15)):
//   tanh = ((1 − s)·pe + (1 + s)·w) / ((1 + s)·pe + (1 − s)·w),  s = 2^n,
// and the denominator is 2(pe + w) − numerator. For |x| < ln2/4, s = 1 and tanh = w/pe exactly
// in structure, so small arguments keep full relative accuracy. |x| is clamped to 9.5, where
// tanh rounds to ±1.
template <class V>
[[gnu::always_inline]] inline V tanh(const V& x) {
  constexpr float kBias = 127.0f;
  const V xc = vmin(V(9.5f), vmax(V(-9.5f), x));
  const V kf = vfma(xc, V(-2.0f * kLog2e), V(kMagic + kBias));
  const V n = kf - V(kMagic + kBias);
  const V r = add_n_ln2(n, xc, 0.5f);
  const V r2 = r * r;
  const V pe = vfma(r2, V(0.4f), V(1.0f));
  const V w = r * vfma(r2, V(1.0f / 15.0f), V(1.0f));
  const V s = pow2_from_magic(kf);
  const V num = vfma(V(1.0f) - s, pe, vfma(s, w, w));  // (1 − s)·pe + (1 + s)·w
  const V den = vfms(pe + w, V(2.0f), num);
  return num / den;
}

// e^z − 1 for z ≤ 0 with full relative accuracy near 0; z is clamped to [−20, 0] (e^−20 − 1
// rounds to −1). With z = n·ln2 + r and s = 2^n: expm1 = s·(e^r − 1) + (s − 1), where
// e^r − 1 = r + r²·g(r) (g: degree 4, minimax for the relative error of expm1, 1.3e-8) keeps
// its relative accuracy for small r, and s − 1 is exact. No division: cheaper than the Padé form.
template <class V>
[[gnu::always_inline]] inline V expm1_nonpositive(const V& z) {
  constexpr float kBias = 127.0f;
  const V zc = vmax(V(-20.0f), vmin(V(0.0f), z));
  const V kf = vfma(zc, V(kLog2e), V(kMagic + kBias));
  const V n = kf - V(kMagic + kBias);
  const V r = add_n_ln2(n, zc, -1.0f);
  V g = vfma(V(1.388252350e-03f), r, V(8.366514520e-03f));
  g = vfma(g, r, V(4.166719966e-02f));
  g = vfma(g, r, V(1.666654367e-01f));
  g = vfma(g, r, V(4.999999816e-01f));
  const V pm1 = vfma(r * r, g, r);
  const V s = pow2_from_magic(kf);
  return vfma(s, pm1, s - V(1.0f));
}

// log(1 + e^x) = max(x, 0) + log1p(u), u = e^{−|x|} ∈ [0, 1], with
// log1p(u) = 2·atanh(w) = 2w·(1 + v·q(v)), w = u/(2 + u) ∈ [0, 1/3], v = w² (q: minimax, rel.
// error 4.5e-9). No overflow for large x, full relative accuracy for very negative x.
template <class V>
[[gnu::always_inline]] inline V softplus(const V& x) {
  const V u = exp_small(vmin(x, -x));  // min(x, −x) = −|x|, NaN stays NaN
  const V w = u / (u + V(2.0f));
  const V v = w * w;
  V q = vfma(V(1.400601100e-01f), v, V(1.400089935e-01f));
  q = vfma(q, v, V(2.001076380e-01f));
  q = vfma(q, v, V(3.333320814e-01f));
  const V t = vfma(q, v, V(1.0f));
  return vfma(w + w, t, vmax(V(0.0f), x));
}

// ---- float <-> double helpers for reductions accumulated in double ----

// Converts the W floats of v to two vectors of W/2 doubles (lanes 0..W/2−1, then the rest).
template <class Arch>
[[gnu::always_inline]] inline void widen(Vec<Arch> v, DVec<Arch>& lo, DVec<Arch>& hi) {
  if constexpr (std::is_same_v<Arch, xsimd::sse2>) {
    const __m128 f = v;
    lo = _mm_cvtps_pd(f);
    hi = _mm_cvtps_pd(_mm_movehl_ps(f, f));
  } else if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>>) {
    const __m256 f = v;
    lo = _mm256_cvtps_pd(_mm256_castps256_ps128(f));
    hi = _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1));
  } else {
    static_assert(std::is_same_v<Arch, xsimd::avx512f>, "widen: unsupported architecture");
    // Masked forms with a zero source: the unmasked intrinsics pass _mm*_undefined_pd(), which
    // GCC 12 reports as -Wmaybe-uninitialized once inlined here.
    const __m512d f = _mm512_castps_pd(v);
    const __m256d f0 = _mm512_mask_extractf64x4_pd(_mm256_setzero_pd(), 0xFF, f, 0);
    const __m256d f1 = _mm512_mask_extractf64x4_pd(_mm256_setzero_pd(), 0xFF, f, 1);
    lo = _mm512_maskz_cvtps_pd(0xFF, _mm256_castpd_ps(f0));
    hi = _mm512_maskz_cvtps_pd(0xFF, _mm256_castpd_ps(f1));
  }
}

// Sum of the lanes of a double vector, in lane order (a fixed order: results are reproducible).
template <class Arch>
[[gnu::always_inline]] inline double lane_sum(DVec<Arch> v) {
  constexpr std::size_t kW = DVec<Arch>::size;
  alignas(64) double lanes[kW];
  v.store_aligned(lanes);
  double s = 0.0;
  for (std::size_t i = 0; i < kW; ++i) s += lanes[i];
  return s;
}

}  // namespace simdnn::internal::kernels::vmath
