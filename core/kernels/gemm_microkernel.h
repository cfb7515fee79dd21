// GEMM microkernels, templated on the xsimd architecture. Included only by the per-ISA files
// gemm_<isa>.cc, each compiled with that ISA's flags (core/isa.bzl).
//
// Register tile: MR rows x NV vectors of C accumulators. Per step p of the reduction, NV vectors
// of B are loaded and each of the MR values A(i, p) is broadcast and multiplied into its row
// (one FMA per accumulator), so the tile is reused MR·NV times per load of B. FMAs go through
// vmath::vfma, fused on AVX-512 at any optimization level (xsimd 8.1's fma is not, there).
// The reduction loops are unrolled 4 times: on Zen 3 the 6 x 16 tile then ran 11 % faster alone
// and in a 256³ product, and the strided one 7-10 % faster on the MLP's small shapes (medians of
// 6-10 alternating runs); 2 gained nothing and 8 no more than 4. The order of each
// accumulator's FMAs does not change, nor do the results.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <limits>

#include <simdnn/core/gemm_kernels.h>
#include <simdnn/core/kernels/masked.h>
#include <simdnn/core/kernels/unroll.h>
#include <simdnn/core/kernels/vector_math.h>

namespace simdnn::internal::kernels {

template <class Arch>
struct GemmShape;
// Tiles: accumulators + NV loads of B + 1 broadcast must fit the register file (16 or 32).
template <> struct GemmShape<xsimd::sse2> { static constexpr int mr = 6, nv = 2; };
template <> struct GemmShape<xsimd::fma3<xsimd::avx2>> { static constexpr int mr = 6, nv = 2; };
template <> struct GemmShape<xsimd::avx512f> { static constexpr int mr = 12, nv = 2; };

// Writes the m x (NV·W) accumulator tile to C: alpha·acc (+ beta·C) (+ bias), then ReLU (or,
// with kGate, the ReLU backward gate: the value where the gate is > 0, 0 where it is <= 0, the
// gate where it is NaN).
// Edge tiles (rows past m_valid or columns past n_valid outside C) take the same vector
// arithmetic with the outside rows skipped and the outside columns masked, so an element's value
// does not depend on whether its tile lies at an edge. (They went through a scalar loop before,
// which was a tenth of the strided kernel's time in the notebook's training, whose widths 20 and
// 1 leave edges in every product.)
// Only beta branches, once per tile: C must not be read when beta is 0 (it may hold NaN). The
// rest is the same arithmetic for every tile, exact where a term is absent: a missing bias adds
// -0 (x + -0 is x for every x, -0 and NaN included), no ReLU takes max(-inf, x), and alpha 1
// multiplies exactly. The bias vectors are loaded once per tile, not once per row. With a branch
// per vector and the tile's fields reloaded after every store (C might alias them), the store
// was about a fifth of the strided kernel's instructions at the notebook's k of 16-64.
template <class Arch, int MR, int NV, bool kAccumulate, bool kGate>
[[gnu::always_inline]] inline void store_tile_as(const FloatVec<Arch> (&acc)[MR][NV],
                                                 const internal::GemmTileStore& st) {
  using V = FloatVec<Arch>;
  constexpr int W = V::size;
  float* const c = st.c;
  const std::size_t ldc = st.ldc, m_valid = st.m_valid, n_valid = st.n_valid;
  const V alpha(st.alpha), beta(st.beta);
  const V floor(st.relu ? 0.0f : -std::numeric_limits<float>::infinity());
  const bool full = m_valid == static_cast<std::size_t>(MR) && n_valid == static_cast<std::size_t>(NV * W);
  // Lanes of column vector j inside C (0 for a vector wholly outside).
  auto lanes = [&](int j) __attribute__((always_inline)) {
    const std::size_t col = static_cast<std::size_t>(j) * W;
    return col >= n_valid ? std::size_t{0} : (n_valid - col < static_cast<std::size_t>(W) ? n_valid - col : W);
  };
  V bias[NV];
  unroll<NV>([&](auto j) __attribute__((always_inline)) {
    if (st.bias == nullptr) {
      bias[j] = V(-0.0f);
    } else {
      bias[j] = full ? V::load_unaligned(st.bias + j * W) : load_first<Arch>(st.bias + j * W, lanes(j));
    }
  });
  auto finish = [&](V v, V b, auto c_value) __attribute__((always_inline)) {
    v *= alpha;
    if constexpr (kAccumulate) v = vmath::vfma(beta, c_value(), v);
    return xsimd::max(floor, v + b);  // max(floor, NaN) is NaN: NaN propagates
  };
  auto gated = [](V v, V g) __attribute__((always_inline)) {
    if constexpr (kGate) v = xsimd::select(xsimd::isnan(g), g, xsimd::select(g > V(0.0f), v, V(0.0f)));
    return v;
  };
  if (full) {
    unroll<MR>([&](auto i) __attribute__((always_inline)) {
      float* row = c + i * ldc;
      unroll<NV>([&](auto j) __attribute__((always_inline)) {
        auto c_value = [&] __attribute__((always_inline)) { return V::load_unaligned(row + j * W); };
        V v = finish(acc[i][j], bias[j], c_value);
        if constexpr (kGate) v = gated(v, V::load_unaligned(st.gate + i * st.ldg + j * W));
        v.store_unaligned(row + j * W);
      });
    });
    return;
  }
  // always_inline: left to itself GCC calls each row's lambda, which moves the tile to memory.
  unroll<MR>([&](auto i) __attribute__((always_inline)) {
    if (static_cast<std::size_t>(i) >= m_valid) return;
    float* row = c + i * ldc;
    unroll<NV>([&](auto j) __attribute__((always_inline)) {
      const std::size_t n = lanes(j);
      if (n == 0) return;
      auto c_value = [&] __attribute__((always_inline)) { return load_first<Arch>(row + j * W, n); };
      V v = finish(acc[i][j], bias[j], c_value);
      if constexpr (kGate) v = gated(v, load_first<Arch>(st.gate + i * st.ldg + j * W, n));
      store_first<Arch>(row + j * W, v, n);
    });
  });
}

template <class Arch, int MR, int NV>
[[gnu::always_inline]] inline void store_tile(const FloatVec<Arch> (&acc)[MR][NV],
                                              const internal::GemmTileStore& st) {
  if (st.gate != nullptr) {
    if (st.beta != 0.0f) {
      store_tile_as<Arch, MR, NV, true, true>(acc, st);
    } else {
      store_tile_as<Arch, MR, NV, false, true>(acc, st);
    }
  } else if (st.beta != 0.0f) {
    store_tile_as<Arch, MR, NV, true, false>(acc, st);
  } else {
    store_tile_as<Arch, MR, NV, false, false>(acc, st);
  }
}

// Strided A (any a_rs, a_cs); computes exactly MR rows. The rows go in groups of four, each
// group from one pointer: row 4g + r is at group[g] + r·a_rs, an x86 address of one base and one
// scaled index (a_rs, 2·a_rs or 3·a_rs). So 12 rows keep 3 pointers and 2 strides in general
// registers, where a pointer per row left too few for the loop and GCC spilled two of them.
template <class Arch, int MR, int NV>
void gemm_ukernel_strided(std::size_t k, const float* a, std::ptrdiff_t a_rs, std::ptrdiff_t a_cs,
                          const float* b, std::ptrdiff_t b_rs, const internal::GemmTileStore& store) {
  using V = FloatVec<Arch>;
  constexpr int W = V::size;
  constexpr int G = (MR + 3) / 4;
  V acc[MR][NV];
  unroll<MR>([&](auto i) { unroll<NV>([&](auto j) { acc[i][j] = V(0.0f); }); });
  const float* group[G];
  unroll<G>([&](auto g) { group[g] = a + 4 * g * a_rs; });
  const std::ptrdiff_t rs3 = 3 * a_rs;
#pragma GCC unroll 4
  for (std::size_t p = 0; p < k; ++p) {
    V bv[NV];
    unroll<NV>([&](auto j) { bv[j] = V::load_unaligned(b + j * W); });
    unroll<MR>([&](auto i) {
      constexpr int g = decltype(i)::value / 4, r = decltype(i)::value % 4;
      const float* row = r == 0 ? group[g] : r == 1 ? group[g] + a_rs : r == 2 ? group[g] + 2 * a_rs : group[g] + rs3;
      const V ai(*row);
      unroll<NV>([&](auto j) { acc[i][j] = vmath::vfma(ai, bv[j], acc[i][j]); });
    });
    unroll<G>([&](auto g) { group[g] += a_cs; });
    b += b_rs;
  }
  store_tile<Arch, MR, NV>(acc, store);
}

// A packed in MR-row panels: A(i, p) = a[p·MR + i]; B packed in NV·W-wide panels.
template <class Arch, int MR, int NV>
void gemm_ukernel_packed(std::size_t k, const float* a, std::ptrdiff_t, std::ptrdiff_t,
                         const float* b, std::ptrdiff_t b_rs, const internal::GemmTileStore& store) {
  using V = FloatVec<Arch>;
  constexpr int W = V::size;
  // The store reads and writes C after k steps: start fetching its lines now.
  for (std::size_t i = 0; i < store.m_valid; ++i) {
    unroll<(NV * W * 4 + 63) / 64>([&](auto line) { __builtin_prefetch(store.c + i * store.ldc + line * 16, 1); });
  }
  V acc[MR][NV];
  unroll<MR>([&](auto i) { unroll<NV>([&](auto j) { acc[i][j] = V(0.0f); }); });
#pragma GCC unroll 4
  for (std::size_t p = 0; p < k; ++p) {
    V bv[NV];
    unroll<NV>([&](auto j) { bv[j] = V::load_aligned(b + j * W); });
    unroll<MR>([&](auto i) {
      const V ai(a[i]);
      unroll<NV>([&](auto j) { acc[i][j] = vmath::vfma(ai, bv[j], acc[i][j]); });
    });
    a += MR;
    b += b_rs;
  }
  store_tile<Arch, MR, NV>(acc, store);
}

}  // namespace simdnn::internal::kernels

namespace simdnn::internal {

template <class Arch>
GemmKernels make_gemm_kernels() {
  using Shape = kernels::GemmShape<Arch>;
  static_assert(Shape::mr <= kGemmMaxMr && Shape::nv <= kGemmMaxNv);
  GemmKernels t;
  t.mr = Shape::mr;
  t.nv = Shape::nv;
  t.vector_width = static_cast<int>(kernels::FloatVec<Arch>::size);
  t.blocking = derive_gemm_blocking(cache_sizes(), static_cast<std::size_t>(t.mr),
                                    static_cast<std::size_t>(t.nr()));
  t.packed = &kernels::gemm_ukernel_packed<Arch, Shape::mr, Shape::nv>;
  kernels::unroll<Shape::nv>([&](auto v) {
    kernels::unroll<Shape::mr>([&](auto m) {
      t.strided[v][m] = &kernels::gemm_ukernel_strided<Arch, decltype(m)::value + 1, decltype(v)::value + 1>;
    });
  });
  return t;
}

}  // namespace simdnn::internal
