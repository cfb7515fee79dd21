// Elementwise kernels, templated on the xsimd architecture. Included only by the per-ISA files
// elementwise_<isa>.cc, each compiled with that ISA's flags (core/isa.bzl), which instantiate
// make_elementwise_kernels<Arch>().
//
// Rules that keep ISA code out of the baseline path: every function here is a template on Arch
// (lambdas are defined inside such templates, so their types are per-Arch too); no non-template
// inline function (std::min/max, std::vector, ActivationSpec's factories...) is called; scalar
// math goes to libm by its C name (log). See core/README.md, "Dispatch".
//
// Loops first peel up to one vector so that the output is vector-aligned, then process several
// vectors per iteration (map1 interleaves them as a vmath::Pack), then single vectors, then the
// last partial vector through a zero-padded stack buffer with the same vector code, so every
// output element is computed identically wherever it sits in the range (tested).
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <simdnn/core/activation.h>
#include <simdnn/core/elementwise_kernels.h>
#include <simdnn/core/kernels/masked.h>
#include <simdnn/core/kernels/unroll.h>
#include <simdnn/core/kernels/vector_math.h>

// The vector functors passed to the drivers below must be inlined into their loops: GCC otherwise
// keeps a lambda called from several places out of line, costing a call and constant reloads
// per vector.
#define SIMDNN_ALWAYS_INLINE __attribute__((always_inline))

namespace simdnn::internal::kernels::elementwise {

template <class Arch>
using Vec = xsimd::batch<float, Arch>;
template <class Arch>
using DVec = xsimd::batch<double, Arch>;

inline constexpr float kSeluLambda = 1.05070098735548049f;
inline constexpr float kSeluAlpha = 1.67326324235437728f;

// ---- drivers -------------------------------------------------------------------------------

// Elements to process before y reaches a vector-aligned address (0 if y is not float-aligned),
// so that the main loops' stores never split a cache line. Only worth it for long ranges.
template <class Arch>
[[gnu::always_inline]] inline std::size_t head_to_align(const float* y, std::size_t n) {
  constexpr std::size_t W = Vec<Arch>::size;
  constexpr std::size_t kBytes = W * sizeof(float);
  const auto addr = reinterpret_cast<std::uintptr_t>(y);
  if (n < 8 * W || addr % sizeof(float) != 0) return 0;
  return ((kBytes - addr % kBytes) % kBytes) / sizeof(float);
}

// Batches evaluated together (interleaved) by map1's main loop: enough independent chains to
// hide the latency of the exp-family functions, few enough to stay in registers (32 zmm
// registers with AVX-512, 16 with SSE2 and AVX2).
template <class Arch>
inline constexpr int kInterleave = std::is_same_v<Arch, xsimd::avx512f> ? 4 : 2;

// y[i] = f(x[i]); f is generic: it is called on a vmath::Pack of batches and on single batches.
template <class Arch, class F>
[[gnu::always_inline]] inline void map1(const float* x, float* y, std::size_t n, F f) {
  using V = Vec<Arch>;
  constexpr std::size_t W = V::size;
  constexpr int N = kInterleave<Arch>;
  using P = vmath::Pack<V, N>;
  // k < W elements at offset i, through a zero-padded buffer and the same vector code.
  auto partial = [&](std::size_t i, std::size_t k) {
    alignas(64) float bx[W] = {};
    for (std::size_t j = 0; j < k; ++j) bx[j] = x[i + j];
    f(V::load_aligned(bx)).store_aligned(bx);
    for (std::size_t j = 0; j < k; ++j) y[i + j] = bx[j];
  };
  std::size_t i = head_to_align<Arch>(y, n);
  if (i != 0) partial(0, i);
  for (; i + N * W <= n; i += N * W) {
    P p;
    vmath::each<N>([&](auto u) SIMDNN_ALWAYS_INLINE { p.v[u] = V::load_unaligned(x + i + u * W); });
    const P r = f(p);
    vmath::each<N>([&](auto u) SIMDNN_ALWAYS_INLINE { r.v[u].store_unaligned(y + i + u * W); });
  }
  for (; i + W <= n; i += W) f(V::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) partial(i, n - i);
}

// y[i] = f(a[i], b[i]).
template <class Arch, class F>
[[gnu::always_inline]] inline void map2(const float* a, const float* b, float* y, std::size_t n,
                                        F f) {
  using V = Vec<Arch>;
  constexpr std::size_t W = V::size;
  auto partial = [&](std::size_t i, std::size_t k) {
    alignas(64) float ba[W] = {};
    alignas(64) float bb[W] = {};
    for (std::size_t j = 0; j < k; ++j) {
      ba[j] = a[i + j];
      bb[j] = b[i + j];
    }
    f(V::load_aligned(ba), V::load_aligned(bb)).store_aligned(ba);
    for (std::size_t j = 0; j < k; ++j) y[i + j] = ba[j];
  };
  std::size_t i = head_to_align<Arch>(y, n);
  if (i != 0) partial(0, i);
  for (; i + 4 * W <= n; i += 4 * W) {
    V v0 = f(V::load_unaligned(a + i), V::load_unaligned(b + i));
    V v1 = f(V::load_unaligned(a + i + W), V::load_unaligned(b + i + W));
    V v2 = f(V::load_unaligned(a + i + 2 * W), V::load_unaligned(b + i + 2 * W));
    V v3 = f(V::load_unaligned(a + i + 3 * W), V::load_unaligned(b + i + 3 * W));
    v0.store_unaligned(y + i);
    v1.store_unaligned(y + i + W);
    v2.store_unaligned(y + i + 2 * W);
    v3.store_unaligned(y + i + 3 * W);
  }
  for (; i + W <= n; i += W)
    f(V::load_unaligned(a + i), V::load_unaligned(b + i)).store_unaligned(y + i);
  if (i < n) partial(i, n - i);
}

// y[i] = f(a[i], b[i], c[i]).
template <class Arch, class F>
[[gnu::always_inline]] inline void map3(const float* a, const float* b, const float* c, float* y,
                                        std::size_t n, F f) {
  using V = Vec<Arch>;
  constexpr std::size_t W = V::size;
  auto partial = [&](std::size_t i, std::size_t k) {
    alignas(64) float ba[W] = {};
    alignas(64) float bb[W] = {};
    alignas(64) float bc[W] = {};
    for (std::size_t j = 0; j < k; ++j) {
      ba[j] = a[i + j];
      bb[j] = b[i + j];
      bc[j] = c[i + j];
    }
    f(V::load_aligned(ba), V::load_aligned(bb), V::load_aligned(bc)).store_aligned(ba);
    for (std::size_t j = 0; j < k; ++j) y[i + j] = ba[j];
  };
  std::size_t i = head_to_align<Arch>(y, n);
  if (i != 0) partial(0, i);
  for (; i + 2 * W <= n; i += 2 * W) {
    V v0 = f(V::load_unaligned(a + i), V::load_unaligned(b + i), V::load_unaligned(c + i));
    V v1 =
        f(V::load_unaligned(a + i + W), V::load_unaligned(b + i + W), V::load_unaligned(c + i + W));
    v0.store_unaligned(y + i);
    v1.store_unaligned(y + i + W);
  }
  for (; i + W <= n; i += W) {
    f(V::load_unaligned(a + i), V::load_unaligned(b + i), V::load_unaligned(c + i))
        .store_unaligned(y + i);
  }
  if (i < n) partial(i, n - i);
}

// NaN where x is NaN, v elsewhere (for derivatives that are piecewise constant in x).
template <class Arch>
[[gnu::always_inline]] inline Vec<Arch> keep_nan(Vec<Arch> x, Vec<Arch> v) {
  return xsimd::select(xsimd::isnan(x), x, v);
}

// ---- activations ---------------------------------------------------------------------------

// The type of a generic lambda's vector argument (a batch or a vmath::Pack).
#define SIMDNN_VEC_OF(v) std::decay_t<decltype(v)>

template <class Arch>
void activation_forward(ActivationSpec act, const float* x, float* y, std::size_t n) {
  namespace vm = vmath;
  switch (act.kind) {
    case Activation::identity:
      if (x != y) map1<Arch>(x, y, n, [](const auto& v) SIMDNN_ALWAYS_INLINE { return v; });
      return;
    case Activation::sigmoid:
      map1<Arch>(x, y, n, [](const auto& v) SIMDNN_ALWAYS_INLINE { return vm::sigmoid(v); });
      return;
    case Activation::tanh:
      map1<Arch>(x, y, n, [](const auto& v) SIMDNN_ALWAYS_INLINE { return vm::tanh(v); });
      return;
    case Activation::relu:
      map1<Arch>(x, y, n, [](const auto& v) SIMDNN_ALWAYS_INLINE {
        return vm::vmax(SIMDNN_VEC_OF(v)(0.0f), v);
      });
      return;
    case Activation::leaky_relu: {
      const float alpha = act.alpha;
      map1<Arch>(x, y, n, [alpha](const auto& v) SIMDNN_ALWAYS_INLINE {
        using T = SIMDNN_VEC_OF(v);
        return vm::vfma(T(alpha), vm::vmin(T(0.0f), v), vm::vmax(T(0.0f), v));
      });
      return;
    }
    case Activation::elu: {
      const float alpha = act.alpha;
      map1<Arch>(x, y, n, [alpha](const auto& v) SIMDNN_ALWAYS_INLINE {
        using T = SIMDNN_VEC_OF(v);
        return vm::vfma(T(alpha), vm::expm1_nonpositive(v), vm::vmax(T(0.0f), v));
      });
      return;
    }
    case Activation::selu:
      map1<Arch>(x, y, n, [](const auto& v) SIMDNN_ALWAYS_INLINE {
        using T = SIMDNN_VEC_OF(v);
        return vm::vfma(T(kSeluLambda * kSeluAlpha), vm::expm1_nonpositive(v),
                        T(kSeluLambda) * vm::vmax(T(0.0f), v));
      });
      return;
    case Activation::gelu:
      map1<Arch>(x, y, n, [](const auto& v) SIMDNN_ALWAYS_INLINE { return vm::gelu(v); });
      return;
    case Activation::swish:
      map1<Arch>(x, y, n, [](const auto& v) SIMDNN_ALWAYS_INLINE { return vm::swish(v); });
      return;
    case Activation::softplus:
      map1<Arch>(x, y, n, [](const auto& v) SIMDNN_ALWAYS_INLINE { return vm::softplus(v); });
      return;
  }
}

// sigmoid(z) and 1 − sigmoid(z) (each accurate to a few ulp, including where it is tiny).
template <class Arch>
[[gnu::always_inline]] inline void sigmoid_pair(Vec<Arch> z, Vec<Arch>& sig, Vec<Arch>& one_minus) {
  using V = Vec<Arch>;
  const vmath::SigmoidParts<V> p = vmath::sigmoid_parts(z);
  const V qs = p.q * p.s;
  const V den = p.num + qs;
  sig = p.num / den;
  // Where s = +inf, qs / den is inf / inf = NaN but 1 − sigmoid is 1: min(NaN, 1) returns its
  // second operand, 1. (z itself is never NaN here unless sig is NaN too.)
  one_minus = xsimd::min(qs / den, V(1.0f));
}

template <class Arch>
void activation_backward(ActivationSpec act, const float* x, const float* y, const float* dy,
                         float* dx, std::size_t n) {
  using V = Vec<Arch>;
  switch (act.kind) {
    case Activation::identity:
      if (dy != dx) map1<Arch>(dy, dx, n, [](const auto& g) SIMDNN_ALWAYS_INLINE { return g; });
      return;
    case Activation::sigmoid:  // f' = y·(1 − y) = y − y²
      map2<Arch>(y, dy, dx, n,
                 [](V yv, V g) SIMDNN_ALWAYS_INLINE { return g * vmath::vfnma(yv, yv, yv); });
      return;
    case Activation::tanh:  // f' = 1 − y²
      map2<Arch>(y, dy, dx, n,
                 [](V yv, V g) SIMDNN_ALWAYS_INLINE { return g * vmath::vfnma(yv, yv, V(1.0f)); });
      return;
    case Activation::relu:
      map2<Arch>(x, dy, dx, n, [](V xv, V g) SIMDNN_ALWAYS_INLINE {
        return keep_nan<Arch>(xv, xsimd::select(xv > V(0.0f), g, V(0.0f)));
      });
      return;
    case Activation::leaky_relu: {
      const V alpha(act.alpha);
      map2<Arch>(x, dy, dx, n, [alpha](V xv, V g) SIMDNN_ALWAYS_INLINE {
        return keep_nan<Arch>(xv, xsimd::select(xv > V(0.0f), g, alpha * g));
      });
      return;
    }
    case Activation::elu: {  // f' = 1 for x > 0, alpha·e^x = y + alpha otherwise
      const V alpha(act.alpha);
      map3<Arch>(x, y, dy, dx, n, [alpha](V xv, V yv, V g) SIMDNN_ALWAYS_INLINE {
        return xsimd::select(xv > V(0.0f), g, g * (yv + alpha));
      });
      return;
    }
    case Activation::selu:  // f' = lambda for x > 0, lambda·alpha·e^x = y + lambda·alpha otherwise
      map3<Arch>(x, y, dy, dx, n, [](V xv, V yv, V g) SIMDNN_ALWAYS_INLINE {
        return xsimd::select(xv > V(0.0f), g * V(kSeluLambda),
                             g * (yv + V(kSeluLambda * kSeluAlpha)));
      });
      return;
    case Activation::gelu:
      // f = x·sigmoid(z), z = x·(k0 + k1·x²):  f' = sigmoid(z)·(1 + x·z'·(1 − sigmoid(z))),
      // z' = k0 + 3·k1·x². Beyond |x| = 20, f' is 0 or 1 to float precision; clamping x there
      // keeps x·z' finite so that ±inf give 0 and 1 rather than NaN.
      map2<Arch>(x, dy, dx, n, [](V xv, V g) SIMDNN_ALWAYS_INLINE {
        const V xc = xsimd::min(V(20.0f), xsimd::max(V(-20.0f), xv));
        const V x2 = xc * xc;
        const V z = xc * vmath::vfma(x2, V(vmath::kGeluK1), V(vmath::kGeluK0));
        const V dz = vmath::vfma(x2, V(3.0f * vmath::kGeluK1), V(vmath::kGeluK0));
        V sig, one_minus;
        sigmoid_pair<Arch>(z, sig, one_minus);
        return g * (sig * vmath::vfma(xc * dz, one_minus, V(1.0f)));
      });
      return;
    case Activation::swish:  // f' = sigmoid(x)·(1 + x·(1 − sigmoid(x)))
      map2<Arch>(x, dy, dx, n, [](V xv, V g) SIMDNN_ALWAYS_INLINE {
        const V xc = xsimd::min(V(100.0f), xsimd::max(V(-100.0f), xv));
        V sig, one_minus;
        sigmoid_pair<Arch>(xc, sig, one_minus);
        return g * (sig * vmath::vfma(xc, one_minus, V(1.0f)));
      });
      return;
    case Activation::softplus:  // f' = sigmoid(x)
      map2<Arch>(x, dy, dx, n,
                 [](V xv, V g) SIMDNN_ALWAYS_INLINE { return g * vmath::sigmoid(xv); });
      return;
  }
}

// ---- softmax rows --------------------------------------------------------------------------

// max_i x_i over n > 0 elements (NaN elements may be skipped: they make the row NaN later).
template <class Arch>
float row_max(const float* x, std::size_t n) {
  using V = Vec<Arch>;
  constexpr std::size_t W = V::size;
  const float kNegInf = -__builtin_inff();
  V m0(kNegInf), m1(kNegInf);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    m0 = xsimd::max(m0, V::load_unaligned(x + i));
    m1 = xsimd::max(m1, V::load_unaligned(x + i + W));
  }
  for (; i + W <= n; i += W) m0 = xsimd::max(m0, V::load_unaligned(x + i));
  alignas(64) float lanes[W];
  xsimd::max(m0, m1).store_aligned(lanes);
  float m = kNegInf;
  for (std::size_t j = 0; j < W; ++j) m = lanes[j] > m ? lanes[j] : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// e^(x − m) for x ≤ m, where x − m is taken exactly: its float rounding error (up to
// 2^-25·|x − m|) would otherwise be amplified by the exponential into a relative error of
// |x − m|·2^-25 in small probabilities.
template <class Arch>
[[gnu::always_inline]] inline Vec<Arch> exp_diff(Vec<Arch> x, Vec<Arch> m) {
  using V = Vec<Arch>;
  V d, e;
  vmath::two_diff(x, m, d, e);
  // Far below −110 (or at −inf, where e is NaN) the result is 0 whatever the correction.
  return vmath::exp_small(d, xsimd::select(d > V(-120.0f), e, V(0.0f)));
}

// Σ_i e^(x_i − m), accumulated in double; with kStore, also y_i = e^(x_i − m).
template <class Arch, bool kStore>
double exp_shifted_sum(const float* x, float* y, std::size_t n, float m) {
  using V = Vec<Arch>;
  using D = DVec<Arch>;
  constexpr std::size_t W = V::size;
  const V mv(m);
  D s0(0.0), s1(0.0), s2(0.0), s3(0.0);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const V e0 = exp_diff<Arch>(V::load_unaligned(x + i), mv);
    const V e1 = exp_diff<Arch>(V::load_unaligned(x + i + W), mv);
    if constexpr (kStore) {
      e0.store_unaligned(y + i);
      e1.store_unaligned(y + i + W);
    }
    D lo, hi;
    vmath::widen<Arch>(e0, lo, hi);
    s0 += lo;
    s1 += hi;
    vmath::widen<Arch>(e1, lo, hi);
    s2 += lo;
    s3 += hi;
  }
  for (; i < n; i += W) {
    const std::size_t k = n - i < W ? n - i : W;
    alignas(64) float b[W];
    for (std::size_t j = 0; j < W; ++j) b[j] = j < k ? x[i + j] : -__builtin_inff();
    const V e = exp_diff<Arch>(V::load_aligned(b), mv);
    if constexpr (kStore) {
      e.store_aligned(b);
      for (std::size_t j = 0; j < k; ++j) y[i + j] = b[j];
    }
    D lo, hi;
    vmath::widen<Arch>(e, lo, hi);
    s0 += lo;
    s1 += hi;
  }
  return vmath::lane_sum<Arch>((s0 + s1) + (s2 + s3));
}

template <class Arch>
void softmax_row(const float* x, float* y, std::size_t n) {
  const float m = row_max<Arch>(x, n);
  const double sum = exp_shifted_sum<Arch, true>(x, y, n, m);
  const float inv = static_cast<float>(1.0 / sum);
  map1<Arch>(y, y, n,
             [inv](const auto& e) SIMDNN_ALWAYS_INLINE { return e * SIMDNN_VEC_OF(e)(inv); });
}

template <class Arch>
void log_softmax_row(const float* x, float* y, std::size_t n) {
  const float m = row_max<Arch>(x, n);
  const double sum = exp_shifted_sum<Arch, false>(x, nullptr, n, m);
  const float lse = static_cast<float>(__builtin_log(sum));  // libm's log, not an inline function
  map1<Arch>(x, y, n, [m, lse](const auto& v) SIMDNN_ALWAYS_INLINE {
    using T = SIMDNN_VEC_OF(v);
    return (v - T(m)) - T(lse);
  });
}

// Σ a_i·b_i in double (the products are exact).
template <class Arch>
double dot_double(const float* a, const float* b, std::size_t n) {
  using V = Vec<Arch>;
  using D = DVec<Arch>;
  constexpr std::size_t W = V::size;
  D s0(0.0), s1(0.0);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    D alo, ahi, blo, bhi;
    vmath::widen<Arch>(V::load_unaligned(a + i), alo, ahi);
    vmath::widen<Arch>(V::load_unaligned(b + i), blo, bhi);
    s0 = vmath::vfma(alo, blo, s0);
    s1 = vmath::vfma(ahi, bhi, s1);
  }
  double s = vmath::lane_sum<Arch>(s0 + s1);
  for (; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return s;
}

template <class Arch>
double sum_double(const float* a, std::size_t n) {
  using V = Vec<Arch>;
  using D = DVec<Arch>;
  constexpr std::size_t W = V::size;
  D s0(0.0), s1(0.0);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    D lo, hi;
    vmath::widen<Arch>(V::load_unaligned(a + i), lo, hi);
    s0 += lo;
    s1 += hi;
  }
  double s = vmath::lane_sum<Arch>(s0 + s1);
  for (; i < n; ++i) s += static_cast<double>(a[i]);
  return s;
}

// dx_i = y_i·(dy_i − Σ_j y_j·dy_j).
template <class Arch>
void softmax_backward_row(const float* y, const float* dy, float* dx, std::size_t n) {
  using V = Vec<Arch>;
  const V d(static_cast<float>(dot_double<Arch>(y, dy, n)));
  map2<Arch>(y, dy, dx, n, [d](V yv, V g) SIMDNN_ALWAYS_INLINE { return yv * (g - d); });
}

// dx_i = dy_i − e^(y_i)·Σ_j dy_j.
template <class Arch>
void log_softmax_backward_row(const float* y, const float* dy, float* dx, std::size_t n) {
  using V = Vec<Arch>;
  const V s(static_cast<float>(sum_double<Arch>(dy, n)));
  map2<Arch>(y, dy, dx, n, [s](V yv, V g) SIMDNN_ALWAYS_INLINE {
    return vmath::vfnma(vmath::exp_small(yv), s, g);
  });
}

// ---- BLAS-1 --------------------------------------------------------------------------------

template <class Arch>
void axpy(float a, const float* x, float* y, std::size_t n) {
  using V = Vec<Arch>;
  const V av(a);
  map2<Arch>(x, y, y, n, [av](V xv, V yv) SIMDNN_ALWAYS_INLINE { return vmath::vfma(av, xv, yv); });
}

template <class Arch>
void scale(float a, const float* x, float* y, std::size_t n) {
  map1<Arch>(x, y, n, [a](const auto& v) SIMDNN_ALWAYS_INLINE { return SIMDNN_VEC_OF(v)(a) * v; });
}

template <class Arch>
void add(const float* a, const float* b, float* y, std::size_t n) {
  using V = Vec<Arch>;
  map2<Arch>(a, b, y, n, [](V u, V v) SIMDNN_ALWAYS_INLINE { return u + v; });
}

template <class Arch>
void multiply(const float* a, const float* b, float* y, std::size_t n) {
  using V = Vec<Arch>;
  map2<Arch>(a, b, y, n, [](V u, V v) SIMDNN_ALWAYS_INLINE { return u * v; });
}

// ---- reductions ----------------------------------------------------------------------------

template <class Arch>
double sum_of_squares(const float* x, std::size_t n) {
  using V = Vec<Arch>;
  using D = DVec<Arch>;
  constexpr std::size_t W = V::size;
  D s0(0.0), s1(0.0), s2(0.0), s3(0.0);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    D lo, hi;
    vmath::widen<Arch>(V::load_unaligned(x + i), lo, hi);
    s0 = vmath::vfma(lo, lo, s0);
    s1 = vmath::vfma(hi, hi, s1);
    vmath::widen<Arch>(V::load_unaligned(x + i + W), lo, hi);
    s2 = vmath::vfma(lo, lo, s2);
    s3 = vmath::vfma(hi, hi, s3);
  }
  double s = vmath::lane_sum<Arch>((s0 + s1) + (s2 + s3));
  for (; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return s;
}

// Columns [0, G·W) of every row, in double: their sums (centered: of squares about mean) stay in
// 2·G registers while the rows stream by, then are added to acc. G·W floats of a row are one
// cache line or half of one, so each line is read once per call (a column walk of memory
// accumulators was bound by the store of every accumulator on every row).
template <class Arch, bool kCentered, int G>
[[gnu::always_inline]] inline void column_reduce_group(const float* x, std::size_t rows, std::size_t ld,
                                                       const double* mean, double* acc) {
  using D = DVec<Arch>;
  constexpr std::size_t W = Vec<Arch>::size;
  constexpr std::size_t H = D::size;
  D a[2 * G], m[2 * G];
  unroll<2 * G>([&](auto i) {
    a[i] = D::load_unaligned(acc + i * H);
    if constexpr (kCentered) m[i] = D::load_unaligned(mean + i * H);
  });
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = x + r * ld;
    unroll<G>([&](auto g) {
      D lo, hi;
      vmath::widen<Arch>(Vec<Arch>::load_unaligned(row + g * W), lo, hi);
      if constexpr (kCentered) {
        lo -= m[2 * g];
        hi -= m[2 * g + 1];
        a[2 * g] = vmath::vfma(lo, lo, a[2 * g]);
        a[2 * g + 1] = vmath::vfma(hi, hi, a[2 * g + 1]);
      } else {
        a[2 * g] += lo;
        a[2 * g + 1] += hi;
      }
    });
  }
  unroll<2 * G>([&](auto i) { a[i].store_unaligned(acc + i * H); });
}

// acc[j] += Σ_r x(r, j) (centered: Σ_r (x(r, j) − mean[j])²), each column's sum over the rows in
// order: whole vectors of columns by column_reduce_group, four (AVX-512) or two at a time, so
// that 8 or 4 independent sums hide the latency of each row's add; the last partial vector
// by the same arithmetic on masked loads (zero past the columns), its accumulators in registers
// (in memory, they made a store-to-load chain through every row: the bias gradient of a Dense
// layer of width 1 was 4 % of the notebook's 500-epoch run).
template <class Arch, bool kCentered>
[[gnu::always_inline]] inline void column_reduce(const float* x, std::size_t rows, std::size_t cols,
                                                 std::size_t ld, const double* mean, double* acc) {
  using D = DVec<Arch>;
  constexpr std::size_t W = Vec<Arch>::size;
  constexpr std::size_t H = D::size;
  const std::size_t full = cols / W * W;
  const std::size_t rest = cols - full;
  std::size_t j = 0;
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {  // 32 registers: 8 sums (and 8 means)
    for (; j + 4 * W <= full; j += 4 * W) {
      column_reduce_group<Arch, kCentered, 4>(x + j, rows, ld, kCentered ? mean + j : nullptr, acc + j);
    }
  }
  for (; j + 2 * W <= full; j += 2 * W) {
    column_reduce_group<Arch, kCentered, 2>(x + j, rows, ld, kCentered ? mean + j : nullptr, acc + j);
  }
  for (; j < full; j += W) {
    column_reduce_group<Arch, kCentered, 1>(x + j, rows, ld, kCentered ? mean + j : nullptr, acc + j);
  }
  if (rest == 0) return;
  alignas(64) double tail_acc[W] = {};
  alignas(64) double tail_mean[W] = {};
  std::copy(acc + full, acc + cols, tail_acc);
  if constexpr (kCentered) std::copy(mean + full, mean + cols, tail_mean);
  D a_lo = D::load_aligned(tail_acc), a_hi = D::load_aligned(tail_acc + H);
  const D m_lo = D::load_aligned(tail_mean), m_hi = D::load_aligned(tail_mean + H);
  for (std::size_t r = 0; r < rows; ++r) {
    D lo, hi;
    vmath::widen<Arch>(load_first<Arch>(x + r * ld + full, rest), lo, hi);
    if constexpr (kCentered) {
      lo -= m_lo;
      hi -= m_hi;
      a_lo = vmath::vfma(lo, lo, a_lo);
      a_hi = vmath::vfma(hi, hi, a_hi);
    } else {
      a_lo += lo;
      a_hi += hi;
    }
  }
  a_lo.store_aligned(tail_acc);
  a_hi.store_aligned(tail_acc + H);
  std::copy(tail_acc, tail_acc + rest, acc + full);
}

template <class Arch>
void column_sums(const float* x, std::size_t rows, std::size_t cols, std::size_t ld, double* acc) {
  column_reduce<Arch, false>(x, rows, cols, ld, nullptr, acc);
}

template <class Arch>
void column_centered_squares(const float* x, std::size_t rows, std::size_t cols, std::size_t ld,
                             const double* mean, double* acc) {
  column_reduce<Arch, true>(x, rows, cols, ld, mean, acc);
}

// ---- batch normalization -------------------------------------------------------------------

// f(inputs, column parameters, outputs) over one row of `cols` columns, a vector at a time: whole
// vectors in place, the last partial vector through padded copies with the same vector code, so
// a column's result never depends on where the row is cut. A null output is not stored.
template <class Arch, int kIn, int kParams, int kOut, class F>
[[gnu::always_inline]] inline void map_row_columns(const float* const (&in)[kIn],
                                                   const float* const (&params)[kParams],
                                                   float* const (&out)[kOut], std::size_t cols, F f) {
  using V = Vec<Arch>;
  constexpr std::size_t W = V::size;
  auto step = [&](const float* const (&src)[kIn + kParams], std::size_t j, float* const (&dst)[kOut])
      SIMDNN_ALWAYS_INLINE {
        V xs[kIn], ps[kParams], ys[kOut];
        unroll<kIn>([&](auto i) { xs[i] = V::load_unaligned(src[i] + j); });
        unroll<kParams>([&](auto i) { ps[i] = V::load_unaligned(src[kIn + i] + j); });
        f(xs, ps, ys);
        unroll<kOut>([&](auto i) {
          if (dst[i] != nullptr) ys[i].store_unaligned(dst[i] + j);
        });
      };
  const float* src[kIn + kParams];
  unroll<kIn>([&](auto i) { src[i] = in[i]; });
  unroll<kParams>([&](auto i) { src[kIn + i] = params[i]; });
  std::size_t j = 0;
  for (; j + W <= cols; j += W) step(src, j, out);
  if (j == cols) return;
  alignas(64) float buf[kIn + kParams + kOut][W] = {};
  const float* padded[kIn + kParams];
  float* padded_out[kOut];
  for (int i = 0; i < kIn + kParams; ++i) {
    std::copy(src[i] + j, src[i] + cols, buf[i]);
    padded[i] = buf[i];
  }
  for (int i = 0; i < kOut; ++i) padded_out[i] = out[i] != nullptr ? buf[kIn + kParams + i] : nullptr;
  step(padded, 0, padded_out);
  for (int i = 0; i < kOut; ++i) {
    if (out[i] != nullptr) std::copy(buf[kIn + kParams + i], buf[kIn + kParams + i] + (cols - j), out[i] + j);
  }
}

// f over rows × cols, row r of input i at in[i] + r·ld_in[i] (outputs likewise; a null output is
// not stored): map_row_columns row by row, except that when a row is 1 to 4 whole vectors (a
// BatchNorm2D's 16 to 64 channels) the parameters are loaded once for all the rows (into
// registers, as many as fit), where map_row_columns would reload them for each row's few vectors.
// Same arithmetic, same bits.
template <class Arch, int kIn, int kParams, int kOut, class F>
[[gnu::always_inline]] inline void map_rows(const float* const (&in)[kIn], const std::size_t (&ld_in)[kIn],
                                            const float* const (&params)[kParams], float* const (&out)[kOut],
                                            const std::size_t (&ld_out)[kOut], std::size_t rows, std::size_t cols,
                                            F f) {
  using V = Vec<Arch>;
  constexpr std::size_t W = V::size;
  auto row_of = [](auto* p, std::size_t ld, std::size_t r) { return p != nullptr ? p + r * ld : nullptr; };
  auto held = [&](auto groups) SIMDNN_ALWAYS_INLINE {
    constexpr int G = decltype(groups)::value;
    V p[G][kParams];
    unroll<G>([&](auto g) { unroll<kParams>([&](auto i) { p[g][i] = V::load_unaligned(params[i] + g * W); }); });
    for (std::size_t r = 0; r < rows; ++r) {
      unroll<G>([&](auto g) SIMDNN_ALWAYS_INLINE {
        V xs[kIn], ys[kOut];
        unroll<kIn>([&](auto i) { xs[i] = V::load_unaligned(in[i] + r * ld_in[i] + g * W); });
        f(xs, p[g], ys);
        unroll<kOut>([&](auto i) {
          if (out[i] != nullptr) ys[i].store_unaligned(out[i] + r * ld_out[i] + g * W);
        });
      });
    }
  };
  // Where the parameters, a row's vectors and a temporary outnumber the vector registers (16
  // below AVX-512, 32 with it: BatchNorm's backward through a ReLU holds 7 parameter vectors per
  // group), the compiler keeps some on the stack and reloads them from L1, which still beats
  // map_row_columns' per-row setup. layers_bench, BatchNorm (→ ReLU) forward and backward, Zen 2:
  // 1.16× (1.17×) at 16 channels and 1.19× (1.16×) at 32 with AVX2; 1.34× (1.23×) at 16 with SSE2.
  bool done = false;
  unroll<4>([&](auto i) {
    constexpr int G = decltype(i)::value + 1;
    if (!done && cols == G * W) {
      held(std::integral_constant<int, G>{});
      done = true;
    }
  });
  if (done) return;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row_in[kIn];
    float* row_out[kOut];
    for (int i = 0; i < kIn; ++i) row_in[i] = row_of(in[i], ld_in[i], r);
    for (int i = 0; i < kOut; ++i) row_out[i] = row_of(out[i], ld_out[i], r);
    map_row_columns<Arch, kIn, kParams, kOut>(row_in, params, row_out, cols, f);
  }
}

// h = (x − μ_j)·s_j; y = γ_j·h + β_j (xhat = h unless null), row by row; kRelu: y = max(0, y),
// activation_forward's ReLU.
template <class Arch, bool kRelu>
void batchnorm_forward_rows(const float* x, std::size_t ldx, std::size_t rows, std::size_t cols, const float* mean,
                            const float* inv_std, const float* gamma, const float* beta, float* xhat, std::size_t ldh,
                            float* y, std::size_t ldy) {
  using V = Vec<Arch>;
  map_rows<Arch, 1, 4, 2>({x}, {ldx}, {mean, inv_std, gamma, beta}, {xhat, y}, {ldh, ldy}, rows, cols,
                          [](const V (&in)[1], const V (&p)[4], V (&out)[2]) SIMDNN_ALWAYS_INLINE {
                            const V h = (in[0] - p[0]) * p[1];
                            out[0] = h;
                            out[1] = vmath::vfma(p[2], h, p[3]);
                            if constexpr (kRelu) out[1] = vmath::vmax(V(0.0f), out[1]);
                          });
}

template <class Arch>
void batchnorm_forward(const float* x, std::size_t ldx, std::size_t rows, std::size_t cols, const float* mean,
                       const float* inv_std, const float* gamma, const float* beta, float* xhat, std::size_t ldh,
                       float* y, std::size_t ldy, bool relu) {
  with_flag(relu, [&](auto r) {
    batchnorm_forward_rows<Arch, decltype(r)::value>(x, ldx, rows, cols, mean, inv_std, gamma, beta, xhat, ldh, y,
                                                     ldy);
  });
}

// y = max(0, (γ_j·h + β_j) + skip), h = (x − μ_j)·s_j, row by row: a residual block's last
// BatchNorm, the shortcut's addition and the ReLU, each rounded as batchnorm_forward, add and
// activation_forward's ReLU round it.
template <class Arch>
void batchnorm_forward_add_relu(const float* x, std::size_t ldx, const float* skip, std::size_t lds,
                                std::size_t rows, std::size_t cols, const float* mean, const float* inv_std,
                                const float* gamma, const float* beta, float* y, std::size_t ldy) {
  using V = Vec<Arch>;
  map_rows<Arch, 2, 4, 1>({x, skip}, {ldx, lds}, {mean, inv_std, gamma, beta}, {y}, {ldy}, rows, cols,
                          [](const V (&in)[2], const V (&p)[4], V (&out)[1]) SIMDNN_ALWAYS_INLINE {
                            const V h = (in[0] - p[0]) * p[1];
                            out[0] = vmath::vmax(V(0.0f), vmath::vfma(p[2], h, p[3]) + in[1]);
                          });
}

// The gradient reaching a BatchNorm's output z = γ·xhat + β through a ReLU after it, given the
// ReLU output's gradient dy: activation_backward's ReLU on z (dy where z > 0, NaN where z is NaN,
// else 0), z recomputed with batchnorm_forward's arithmetic. kRelu false: dy.
template <class Arch, bool kRelu>
[[gnu::always_inline]] inline Vec<Arch> through_relu(Vec<Arch> dy, Vec<Arch> xhat, Vec<Arch> gamma, Vec<Arch> beta) {
  using V = Vec<Arch>;
  if constexpr (!kRelu) {
    return dy;
  } else {
    const V z = vmath::vfma(gamma, xhat, beta);
    return keep_nan<Arch>(z, xsimd::select(z > V(0.0f), dy, V(0.0f)));
  }
}

// dx = k_j·(g − a_j − xhat·b_j), row by row, g = through_relu(dy); xhat from h, or (kRecompute)
// recomputed from x in h as (x − mean_j)·inv_std_j, batchnorm_forward's arithmetic. Parameters a
// variant does not read are any readable vector (map_rows loads them all).
template <class Arch, bool kRecompute, bool kRelu>
void batchnorm_backward_rows(const float* dy, std::size_t lddy, const float* h, std::size_t ldh, const float* mean,
                             const float* inv_std, const float* gamma, const float* beta, std::size_t rows,
                             std::size_t cols, const float* k, const float* a, const float* b, float* dx,
                             std::size_t lddx) {
  using V = Vec<Arch>;
  const float* const unused = k;
  map_rows<Arch, 2, 7, 1>({dy, h}, {lddy, ldh},
                          {k, a, b, kRecompute ? mean : unused, kRecompute ? inv_std : unused, kRelu ? gamma : unused,
                           kRelu ? beta : unused},
                          {dx}, {lddx}, rows, cols,
                          [](const V (&in)[2], const V (&p)[7], V (&out)[1]) SIMDNN_ALWAYS_INLINE {
                            const V xhat = kRecompute ? (in[1] - p[3]) * p[4] : in[1];
                            const V g = through_relu<Arch, kRelu>(in[0], xhat, p[5], p[6]);
                            out[0] = p[0] * vmath::vfnma(xhat, p[2], g - p[1]);
                          });
}

template <class Arch>
void batchnorm_backward(const float* dy, std::size_t lddy, const float* h, std::size_t ldh, const float* mean,
                        const float* inv_std, const float* gamma, const float* beta, std::size_t rows,
                        std::size_t cols, const float* k, const float* a, const float* b, float* dx, std::size_t lddx) {
  with_flag(mean != nullptr, [&](auto recompute) {
    with_flag(gamma != nullptr, [&](auto relu) {
      batchnorm_backward_rows<Arch, decltype(recompute)::value, decltype(relu)::value>(
          dy, lddy, h, ldh, mean, inv_std, gamma, beta, rows, cols, k, a, b, dx, lddx);
    });
  });
}

// Columns [0, G·W): Σ_r g and Σ_r g·xhat in 4·G registers while the rows stream by (as
// column_reduce_group), then added to sum and dot. xhat is h, or (kRecompute) (h − mean)·inv_std;
// g = through_relu<kRelu>(dy).
template <class Arch, int G, bool kRecompute, bool kRelu>
[[gnu::always_inline]] inline void sums_and_dots_group(const float* dy, std::size_t lddy, const float* h,
                                                       std::size_t ldh, const float* mean, const float* inv_std,
                                                       const float* gamma, const float* beta, std::size_t rows,
                                                       double* sum, double* dot) {
  using V = Vec<Arch>;
  using D = DVec<Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t H = D::size;
  D s[2 * G], d[2 * G];
  V mu[G], is[G], gm[G] = {}, bt[G] = {};  // gm, bt: read by through_relu only with kRelu
  unroll<2 * G>([&](auto i) {
    s[i] = D::load_unaligned(sum + i * H);
    d[i] = D::load_unaligned(dot + i * H);
  });
  unroll<G>([&](auto g) {
    if constexpr (kRecompute) {
      mu[g] = V::load_unaligned(mean + g * W);
      is[g] = V::load_unaligned(inv_std + g * W);
    }
    if constexpr (kRelu) {
      gm[g] = V::load_unaligned(gamma + g * W);
      bt[g] = V::load_unaligned(beta + g * W);
    }
  });
  for (std::size_t r = 0; r < rows; ++r) {
    unroll<G>([&](auto g) {
      D glo, ghi, hlo, hhi;
      V xhat = V::load_unaligned(h + r * ldh + g * W);
      if constexpr (kRecompute) xhat = (xhat - mu[g]) * is[g];
      vmath::widen<Arch>(through_relu<Arch, kRelu>(V::load_unaligned(dy + r * lddy + g * W), xhat, gm[g], bt[g]),
                         glo, ghi);
      vmath::widen<Arch>(xhat, hlo, hhi);
      s[2 * g] += glo;
      s[2 * g + 1] += ghi;
      d[2 * g] = vmath::vfma(glo, hlo, d[2 * g]);
      d[2 * g + 1] = vmath::vfma(ghi, hhi, d[2 * g + 1]);
    });
  }
  unroll<2 * G>([&](auto i) {
    s[i].store_unaligned(sum + i * H);
    d[i].store_unaligned(dot + i * H);
  });
}

// acc_dy[j] += Σ_r g(r, j) and acc_dot[j] += Σ_r g(r, j)·xhat(r, j), in double, rows in order
// (by groups of columns, and the last partial vector through padded copies, as column_reduce).
template <class Arch, bool kRecompute, bool kRelu>
void column_sums_and_dots_of(const float* dy, std::size_t lddy, const float* h, std::size_t ldh, const float* mean,
                             const float* inv_std, const float* gamma, const float* beta, std::size_t rows,
                             std::size_t cols, double* acc_dy, double* acc_dot) {
  constexpr std::size_t W = Vec<Arch>::size;
  const std::size_t full = cols / W * W;
  const std::size_t rest = cols - full;
  auto at = [](bool used, const float* p, std::size_t j) { return used ? p + j : nullptr; };  // p is null otherwise
  std::size_t j = 0;
  // Two groups at a time hold 8 accumulators and, with the ReLU, 8 parameter vectors: more than
  // the 16 registers below AVX-512, so there one group at a time.
  constexpr bool kPairs = !kRelu || W >= 16;
  for (; kPairs && j + 2 * W <= full; j += 2 * W) {
    sums_and_dots_group<Arch, 2, kRecompute, kRelu>(dy + j, lddy, h + j, ldh, at(kRecompute, mean, j),
                                                    at(kRecompute, inv_std, j), at(kRelu, gamma, j),
                                                    at(kRelu, beta, j), rows, acc_dy + j, acc_dot + j);
  }
  for (; j < full; j += W) {
    sums_and_dots_group<Arch, 1, kRecompute, kRelu>(dy + j, lddy, h + j, ldh, at(kRecompute, mean, j),
                                                    at(kRecompute, inv_std, j), at(kRelu, gamma, j),
                                                    at(kRelu, beta, j), rows, acc_dy + j, acc_dot + j);
  }
  if (rest == 0) return;
  alignas(64) double tail_sum[W] = {};
  alignas(64) double tail_dot[W] = {};
  alignas(64) float tail_params[4][W] = {};  // mean, inv_std, gamma, beta
  std::copy(acc_dy + full, acc_dy + cols, tail_sum);
  std::copy(acc_dot + full, acc_dot + cols, tail_dot);
  const float* const params[4] = {mean, inv_std, gamma, beta};
  for (int i = 0; i < 4; ++i) {
    if (params[i] != nullptr) std::copy(params[i] + full, params[i] + cols, tail_params[i]);
  }
  for (std::size_t r = 0; r < rows; ++r) {
    alignas(64) float tg[W] = {};
    alignas(64) float th[W] = {};
    std::copy(dy + r * lddy + full, dy + r * lddy + cols, tg);
    std::copy(h + r * ldh + full, h + r * ldh + cols, th);
    sums_and_dots_group<Arch, 1, kRecompute, kRelu>(tg, 0, th, 0, tail_params[0], tail_params[1], tail_params[2],
                                                    tail_params[3], 1, tail_sum, tail_dot);
  }
  std::copy(tail_sum, tail_sum + rest, acc_dy + full);
  std::copy(tail_dot, tail_dot + rest, acc_dot + full);
}

template <class Arch>
void column_sums_and_dots(const float* dy, std::size_t lddy, const float* h, std::size_t ldh, const float* mean,
                          const float* inv_std, const float* gamma, const float* beta, std::size_t rows,
                          std::size_t cols, double* acc_dy, double* acc_dot) {
  with_flag(mean != nullptr, [&](auto recompute) {
    with_flag(gamma != nullptr, [&](auto relu) {
      column_sums_and_dots_of<Arch, decltype(recompute)::value, decltype(relu)::value>(
          dy, lddy, h, ldh, mean, inv_std, gamma, beta, rows, cols, acc_dy, acc_dot);
    });
  });
}

// ---- losses --------------------------------------------------------------------------------

// The binary cross-entropy of one vector of logits z and targets y (doubles widened from float):
// returns the terms max(z, 0) − z·y + log1p(e) and sets grad = (σ(z) − y)/divisor, where
// e = e^−|z| and σ(z) = 1/(1 + e) for z ≥ 0, e/(1 + e) otherwise (no overflow for any z).
template <class Arch>
[[gnu::always_inline]] inline DVec<Arch> logistic_terms(DVec<Arch> z, DVec<Arch> y, DVec<Arch> divisor,
                                                        DVec<Arch>& grad) {
  using D = DVec<Arch>;
  const D zero(0.0), one(1.0);
  const D e = xsimd::exp(-xsimd::abs(z));
  grad = (xsimd::select(z >= zero, one, e) / (one + e) - y) / divisor;
  return (xsimd::max(z, zero) - z * y) + xsimd::log1p(e);
}

// Σ of logistic_terms over n elements (lane partial sums in double, then their lanes in order),
// and dz[i] = grad rounded to float unless dz is null. The last partial vector goes through a
// padded copy; only its valid lanes are added.
template <class Arch>
double logistic_loss(const float* z, const float* y, float* dz, double divisor, std::size_t n) {
  using V = Vec<Arch>;
  using D = DVec<Arch>;
  constexpr std::size_t W = V::size, H = D::size;
  const D div(divisor);
  D s0(0.0), s1(0.0);
  alignas(64) double grad[W];
  // terms of the W elements at zp, yp (grad[] set) into t0, t1.
  auto vector = [&](const float* zp, const float* yp, D& t0, D& t1) SIMDNN_ALWAYS_INLINE {
    D z0, z1, y0, y1, g0, g1;
    vmath::widen<Arch>(V::load_unaligned(zp), z0, z1);
    vmath::widen<Arch>(V::load_unaligned(yp), y0, y1);
    t0 = logistic_terms<Arch>(z0, y0, div, g0);
    t1 = logistic_terms<Arch>(z1, y1, div, g1);
    g0.store_aligned(grad);
    g1.store_aligned(grad + H);
  };
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    D t0, t1;
    vector(z + i, y + i, t0, t1);
    s0 += t0;
    s1 += t1;
    if (dz != nullptr) {
      for (std::size_t j = 0; j < W; ++j) dz[i + j] = static_cast<float>(grad[j]);
    }
  }
  double total = vmath::lane_sum<Arch>(s0 + s1);
  if (i < n) {
    alignas(64) float zt[W] = {}, yt[W] = {};
    alignas(64) double terms[W];
    for (std::size_t j = 0; j < n - i; ++j) zt[j] = z[i + j], yt[j] = y[i + j];
    D t0, t1;
    vector(zt, yt, t0, t1);
    t0.store_aligned(terms);
    t1.store_aligned(terms + H);
    for (std::size_t j = 0; j < n - i; ++j) {
      total += terms[j];
      if (dz != nullptr) dz[i + j] = static_cast<float>(grad[j]);
    }
  }
  return total;
}

}  // namespace simdnn::internal::kernels::elementwise

#undef SIMDNN_ALWAYS_INLINE
#undef SIMDNN_VEC_OF

namespace simdnn::internal {

template <class Arch>
ElementwiseKernels make_elementwise_kernels() {
  namespace k = kernels::elementwise;
  return ElementwiseKernels{
      .activation_forward = &k::activation_forward<Arch>,
      .activation_backward = &k::activation_backward<Arch>,
      .softmax_row = &k::softmax_row<Arch>,
      .log_softmax_row = &k::log_softmax_row<Arch>,
      .softmax_backward_row = &k::softmax_backward_row<Arch>,
      .log_softmax_backward_row = &k::log_softmax_backward_row<Arch>,
      .axpy = &k::axpy<Arch>,
      .scale = &k::scale<Arch>,
      .add = &k::add<Arch>,
      .multiply = &k::multiply<Arch>,
      .sum_of_squares = &k::sum_of_squares<Arch>,
      .column_sums = &k::column_sums<Arch>,
      .column_centered_squares = &k::column_centered_squares<Arch>,
      .batchnorm_forward = &k::batchnorm_forward<Arch>,
      .batchnorm_backward = &k::batchnorm_backward<Arch>,
      .batchnorm_forward_add_relu = &k::batchnorm_forward_add_relu<Arch>,
      .column_sums_and_dots = &k::column_sums_and_dots<Arch>,
      .logistic_loss = &k::logistic_loss<Arch>,
  };
}

}  // namespace simdnn::internal
