// Optimizer update kernels, templated on the xsimd architecture. Included only by the per-ISA
// files optimizer_<isa>.cc, each compiled with that ISA's flags (core/isa.bzl), which instantiate
// make_optimizer_kernels<Arch>(). Formulas: core/optimizer_kernels.h.
//
// The same rules as kernels/elementwise.h keep ISA code out of the baseline path: every function
// is a template on Arch (lambdas inside them are per-Arch types), no non-template inline function
// is called.
//
// Each kernel is one driver loop (update_loop) around a body that updates one vector of
// elements; run-time flags (weight decay, momentum, Nesterov, first step, centered, AMSGrad) are
// turned into template parameters outside the loop, so the loop carries no branches and a
// disabled feature costs nothing (and reads no state array, which may then be null).
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <type_traits>

#include <simdnn/core/kernels/unroll.h>
#include <simdnn/core/optimizer_kernels.h>

namespace simdnn::internal::kernels::optimizer {

template <class Arch>
using Vec = xsimd::batch<float, Arch>;

// body(g, p) for each vector of elements of [0, n): g points at the gradient, p[k] at array k of
// `arrays` (parameter first, then state; null arrays stay null and must not be touched by the
// body). Whole vectors are read and written in place; the last partial vector goes through
// zero-padded stack copies with the same body, so every element sees identical arithmetic.
template <class Arch, std::size_t K, class Body>
[[gnu::always_inline]] inline void update_loop(std::size_t n, const float* g,
                                               float* const (&arrays)[K], const Body& body) {
  constexpr std::size_t W = Vec<Arch>::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    float* p[K];
    for (std::size_t k = 0; k < K; ++k) p[k] = arrays[k] == nullptr ? nullptr : arrays[k] + i;
    body(g + i, p);
  }
  if (i < n) {
    const std::size_t len = n - i;
    alignas(64) float bg[W] = {};
    alignas(64) float bs[K][W] = {};
    float* p[K];
    for (std::size_t j = 0; j < len; ++j) bg[j] = g[i + j];
    for (std::size_t k = 0; k < K; ++k) {
      p[k] = arrays[k] == nullptr ? nullptr : bs[k];
      if (arrays[k] != nullptr) {
        for (std::size_t j = 0; j < len; ++j) bs[k][j] = arrays[k][i + j];
      }
    }
    body(static_cast<const float*>(bg), p);
    for (std::size_t k = 0; k < K; ++k) {
      if (arrays[k] == nullptr) continue;
      for (std::size_t j = 0; j < len; ++j) arrays[k][i + j] = bs[k][j];
    }
  }
}

// ---- SGD, momentum, Nesterov ---------------------------------------------------------------

template <class Arch>
void sgd(const internal::SgdCoefficients& c, float* w, const float* g, float* buf, std::size_t n) {
  using V = Vec<Arch>;
  const V lr(c.lr), wd(c.weight_decay), mom(c.momentum), keep(c.dampening_keep);
  float* const arrays[2] = {w, c.has_momentum ? buf : nullptr};
  with_flag(c.has_weight_decay, [&](auto decay) {
    constexpr bool kDecay = decltype(decay)::value;
    if (!c.has_momentum) {
      update_loop<Arch>(n, g, arrays, [&](const float* gp, float* const* p) {
        const V wv = V::load_unaligned(p[0]);
        V gv = V::load_unaligned(gp);
        if constexpr (kDecay) gv = xsimd::fma(wd, wv, gv);
        xsimd::fnma(lr, gv, wv).store_unaligned(p[0]);
      });
      return;
    }
    with_flag(c.nesterov, [&](auto nesterov) {
      with_flag(c.first, [&](auto first) {
        update_loop<Arch>(n, g, arrays, [&](const float* gp, float* const* p) {
          const V wv = V::load_unaligned(p[0]);
          V gv = V::load_unaligned(gp);
          if constexpr (kDecay) gv = xsimd::fma(wd, wv, gv);
          V b;
          if constexpr (decltype(first)::value) {
            b = gv;
          } else {
            b = xsimd::fma(mom, V::load_unaligned(p[1]), keep * gv);
          }
          b.store_unaligned(p[1]);
          if constexpr (decltype(nesterov)::value) {
            gv = xsimd::fma(mom, b, gv);
          } else {
            gv = b;
          }
          xsimd::fnma(lr, gv, wv).store_unaligned(p[0]);
        });
      });
    });
  });
}

// ---- RMSprop -------------------------------------------------------------------------------

template <class Arch>
void rmsprop(const internal::RmspropCoefficients& c, float* w, const float* g, float* square_avg,
             float* grad_avg, float* buf, std::size_t n) {
  using V = Vec<Arch>;
  const V lr(c.lr), alpha(c.alpha), oma(c.one_minus_alpha), eps(c.eps), wd(c.weight_decay),
      mom(c.momentum);
  float* const arrays[4] = {w, square_avg, c.centered ? grad_avg : nullptr,
                            c.has_momentum ? buf : nullptr};
  with_flag(c.has_weight_decay, [&](auto decay) {
    with_flag(c.centered, [&](auto centered) {
      with_flag(c.has_momentum, [&](auto momentum) {
        update_loop<Arch>(n, g, arrays, [&](const float* gp, float* const* p) {
          V wv = V::load_unaligned(p[0]);
          V gv = V::load_unaligned(gp);
          if constexpr (decltype(decay)::value) gv = xsimd::fma(wd, wv, gv);
          const V sq = xsimd::fma(alpha, V::load_unaligned(p[1]), oma * (gv * gv));
          sq.store_unaligned(p[1]);
          V avg;
          if constexpr (decltype(centered)::value) {
            const V ga = xsimd::fma(alpha, V::load_unaligned(p[2]), oma * gv);
            ga.store_unaligned(p[2]);
            // max(0, ·) keeps rounding from taking a square root of a tiny negative number
            // (a NaN stays NaN: the x86 max returns its second operand then).
            avg = xsimd::sqrt(xsimd::max(V(0.0f), xsimd::fnma(ga, ga, sq))) + eps;
          } else {
            avg = xsimd::sqrt(sq) + eps;
          }
          if constexpr (decltype(momentum)::value) {
            const V b = xsimd::fma(mom, V::load_unaligned(p[3]), gv / avg);
            b.store_unaligned(p[3]);
            wv = xsimd::fnma(lr, b, wv);
          } else {
            wv = xsimd::fnma(lr, gv / avg, wv);
          }
          wv.store_unaligned(p[0]);
        });
      });
    });
  });
}

// ---- Adam, AdamW ---------------------------------------------------------------------------

template <class Arch>
void adam(const internal::AdamCoefficients& c, float* w, const float* g, float* exp_avg,
          float* exp_avg_sq, float* max_exp_avg_sq, std::size_t n) {
  using V = Vec<Arch>;
  const V step(c.step_size), b1(c.beta1), omb1(c.one_minus_beta1), b2(c.beta2),
      omb2(c.one_minus_beta2), inv_bc2(c.inv_sqrt_bias_correction2), eps(c.eps),
      wd(c.weight_decay), factor(c.decay_factor);
  float* const arrays[4] = {w, exp_avg, exp_avg_sq, c.amsgrad ? max_exp_avg_sq : nullptr};
  with_flag(c.has_weight_decay, [&](auto decay) {
    with_flag(c.has_decoupled_decay, [&](auto decoupled) {
      with_flag(c.amsgrad, [&](auto amsgrad) {
        update_loop<Arch>(n, g, arrays, [&](const float* gp, float* const* p) {
          V wv = V::load_unaligned(p[0]);
          V gv = V::load_unaligned(gp);
          if constexpr (decltype(decoupled)::value) wv = wv * factor;
          if constexpr (decltype(decay)::value) gv = xsimd::fma(wd, wv, gv);
          const V m = xsimd::fma(b1, V::load_unaligned(p[1]), omb1 * gv);
          V v = xsimd::fma(b2, V::load_unaligned(p[2]), omb2 * (gv * gv));
          m.store_unaligned(p[1]);
          v.store_unaligned(p[2]);
          if constexpr (decltype(amsgrad)::value) {
            // max(old, new): a NaN in the new value propagates (x86 max returns the second).
            v = xsimd::max(V::load_unaligned(p[3]), v);
            v.store_unaligned(p[3]);
          }
          const V denom = xsimd::fma(xsimd::sqrt(v), inv_bc2, eps);
          xsimd::fnma(step, m / denom, wv).store_unaligned(p[0]);
        });
      });
    });
  });
}

// ---- Adagrad -------------------------------------------------------------------------------

template <class Arch>
void adagrad(const internal::AdagradCoefficients& c, float* w, const float* g, float* sum,
             std::size_t n) {
  using V = Vec<Arch>;
  const V clr(c.clr), eps(c.eps), wd(c.weight_decay);
  float* const arrays[2] = {w, sum};
  with_flag(c.has_weight_decay, [&](auto decay) {
    update_loop<Arch>(n, g, arrays, [&](const float* gp, float* const* p) {
      const V wv = V::load_unaligned(p[0]);
      V gv = V::load_unaligned(gp);
      if constexpr (decltype(decay)::value) gv = xsimd::fma(wd, wv, gv);
      const V s = xsimd::fma(gv, gv, V::load_unaligned(p[1]));
      s.store_unaligned(p[1]);
      xsimd::fnma(clr, gv / (xsimd::sqrt(s) + eps), wv).store_unaligned(p[0]);
    });
  });
}

}  // namespace simdnn::internal::kernels::optimizer

namespace simdnn::internal {

template <class Arch>
OptimizerKernels make_optimizer_kernels() {
  namespace k = kernels::optimizer;
  return OptimizerKernels{
      .sgd = &k::sgd<Arch>,
      .rmsprop = &k::rmsprop<Arch>,
      .adam = &k::adam<Arch>,
      .adagrad = &k::adagrad<Arch>,
  };
}

}  // namespace simdnn::internal
