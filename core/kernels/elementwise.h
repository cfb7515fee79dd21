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

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <simdnn/core/activation.h>
#include <simdnn/core/elementwise_kernels.h>
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

// Loads floats [j, j + W) of a row whose valid part ends at `cols` (zero beyond) and widens them.
template <class Arch>
[[gnu::always_inline]] inline void load_widened(const float* row, std::size_t j, std::size_t cols,
                                                DVec<Arch>& lo, DVec<Arch>& hi) {
  using V = Vec<Arch>;
  constexpr std::size_t W = V::size;
  if (j + W <= cols) {
    vmath::widen<Arch>(V::load_unaligned(row + j), lo, hi);
  } else {
    alignas(64) float b[W] = {};
    for (std::size_t k = 0; j + k < cols; ++k) b[k] = row[j + k];
    vmath::widen<Arch>(V::load_aligned(b), lo, hi);
  }
}

// Adds the two double vectors covering columns [j, j + W) into acc, clipped at `cols`.
template <class Arch>
[[gnu::always_inline]] inline void add_to(double* acc, std::size_t j, std::size_t cols,
                                          DVec<Arch> lo, DVec<Arch> hi) {
  constexpr std::size_t H = DVec<Arch>::size;
  if (j + 2 * H <= cols) {
    (DVec<Arch>::load_unaligned(acc + j) + lo).store_unaligned(acc + j);
    (DVec<Arch>::load_unaligned(acc + j + H) + hi).store_unaligned(acc + j + H);
  } else {
    alignas(64) double b[2 * H];
    lo.store_aligned(b);
    hi.store_aligned(b + H);
    for (std::size_t k = 0; j + k < cols; ++k) acc[j + k] += b[k];
  }
}

// Column blocks of two float vectors (four double accumulators); each column's sum runs over
// the rows in order, so the result does not depend on the block layout.
template <class Arch, bool kCentered>
[[gnu::always_inline]] inline void column_reduce(const float* x, std::size_t rows, std::size_t cols,
                                                 std::size_t ld, const double* mean, double* acc) {
  using D = DVec<Arch>;
  constexpr std::size_t W = Vec<Arch>::size;
  constexpr std::size_t H = D::size;
  for (std::size_t j = 0; j < cols; j += 2 * W) {
    const bool two = j + W < cols;
    D m0(0.0), m1(0.0), m2(0.0), m3(0.0);
    if constexpr (kCentered) {
      alignas(64) double mb[2 * W] = {};
      for (std::size_t k = 0; k < 2 * W && j + k < cols; ++k) mb[k] = mean[j + k];
      m0 = D::load_aligned(mb);
      m1 = D::load_aligned(mb + H);
      m2 = D::load_aligned(mb + 2 * H);
      m3 = D::load_aligned(mb + 3 * H);
    }
    D a0(0.0), a1(0.0), a2(0.0), a3(0.0);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* row = x + r * ld;
      D lo, hi;
      load_widened<Arch>(row, j, cols, lo, hi);
      if constexpr (kCentered) {
        lo -= m0;
        hi -= m1;
        a0 = vmath::vfma(lo, lo, a0);
        a1 = vmath::vfma(hi, hi, a1);
      } else {
        a0 += lo;
        a1 += hi;
      }
      if (two) {
        load_widened<Arch>(row, j + W, cols, lo, hi);
        if constexpr (kCentered) {
          lo -= m2;
          hi -= m3;
          a2 = vmath::vfma(lo, lo, a2);
          a3 = vmath::vfma(hi, hi, a3);
        } else {
          a2 += lo;
          a3 += hi;
        }
      }
    }
    add_to<Arch>(acc, j, cols, a0, a1);
    if (two) add_to<Arch>(acc, j + W, cols, a2, a3);
  }
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
  };
}

}  // namespace simdnn::internal
