// Winograd F(2×2, 3×3) convolution kernels (core/conv_kernels.h, WinogradArgs), templated on the
// xsimd architecture; included only through kernels/conv.h by the per-ISA files conv_<isa>.cc.
//
// Lavin and Gray's minimal filtering: each 2×2 block of outputs (a tile) comes from the 4×4 input
// patch d over it, as Y = Aᵀ [U ⊙ V] A with V = Bᵀ d B and U = G g Gᵀ (g: the 3×3 weights of one
// input/output channel pair, transformed once per call by core/conv.cc), where
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//   Aᵀ = [1 1 1 0; 0 1 −1 −1].
// Summed over the input channels, the 16 element-wise products become 16 small products of
// matrices (tiles × C_in by C_in × C_out), 16 multiplications per tile and channel pair where the
// direct convolution needs 36: 2.25× fewer. The transforms only add and subtract, vectorized
// along the channels (NHWC keeps them contiguous).
//
// Per block of tiles: the input transform writes V, 16 matrices (point ξ = 4·row + column of the
// 4×4 patch) of tiles × C_in, the products write M likewise (tiles × C_out), and the output
// transform reads M back into the output pixels. A block is small enough for both to stay in
// cache. Both are stored tile by tile, then by vector of channels, then by ξ: element (ξ, tile,
// c) at tile·(16·C + kWinogradTilePad) + (c/W·16 + ξ)·W + c mod W for vectors of W floats. So a
// transform writes (or reads) its 16 vectors at fixed offsets from one pointer, and a product's
// rows are strided by a tile's floats: 16·C and a cache line, which keeps a power-of-two stride
// (4 KiB at 64 channels) from mapping every row to one set of the L1 cache.
//
// The forward's output pixel depends only on its own tile, each of its sums running over the
// input channels in order: no result depends on the blocks, the chunk or the thread. The weight
// gradient (below) sums over a call's tiles in order.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <type_traits>

#include <simdnn/core/conv_kernels.h>
#include <simdnn/core/kernels/unroll.h>
#include <simdnn/core/kernels/vector_math.h>

namespace simdnn::internal::kernels::winograd {

// Whether Arch's table offers the Winograd form (core/conv_kernels.h). Measured faster than the
// direct kernels with SSE2 and AVX2 (docs/BENCHMARKS.md); AVX-512 keeps its direct row tiles
// (kernels/conv.h) until the two are measured against each other on an AVX-512 machine.
template <class Arch>
inline constexpr bool kOffered = !std::is_same_v<Arch, xsimd::avx512f>;

template <class Arch>
using V = xsimd::batch<float, Arch>;
template <class Arch>
inline constexpr std::size_t kW = V<Arch>::size;

// Rows of the products' register tiles (tiles in the forward's, input channels in the weight
// gradient's) × 2 vectors: 12 accumulators, two loads and a broadcast within the 16 vector
// registers of SSE2 and AVX2.
template <class Arch>
inline constexpr int kRows = 6;

// The floats of one tile in a block of C channels (the layout above); C may be a compile-time
// constant (with_channels below), and so then is the stride.
template <class Arch, class C>
[[gnu::always_inline]] inline constexpr auto tile_floats(C c) {
  return 16 * c + kWinogradTilePad;
}

// U = G g Gᵀ for one input channel: g, its 9 rows (tap kh·3 + kw) of C_out floats; u + ξ·plane
// gets row ξ = 4·a + b of C_out floats. C_out is a multiple of the vector width.
template <class Arch>
void weights(const float* g, std::size_t c_out, float* u, std::size_t plane) {
  using B = V<Arch>;
  const B half(0.5f);
  for (std::size_t co = 0; co < c_out; co += kW<Arch>) {
    B e[4][3];  // G g: along the rows kh
    unroll<3>([&](auto kw) {
      const B g0 = B::load_unaligned(g + kw * c_out + co), g1 = B::load_unaligned(g + (3 + kw) * c_out + co);
      const B g2 = B::load_unaligned(g + (6 + kw) * c_out + co);
      e[0][kw] = g0;
      e[1][kw] = half * (g0 + g1 + g2);
      e[2][kw] = half * (g0 - g1 + g2);
      e[3][kw] = g2;
    });
    unroll<4>([&](auto a) {  // (G g) Gᵀ: along the columns kw
      float* const row = u + 4 * a * plane + co;
      e[a][0].store_unaligned(row);
      (half * (e[a][0] + e[a][1] + e[a][2])).store_unaligned(row + plane);
      (half * (e[a][0] - e[a][1] + e[a][2])).store_unaligned(row + 2 * plane);
      e[a][2].store_unaligned(row + 3 * plane);
    });
  }
}

// Where a tile lies: its image and its top-left output pixel.
struct TilePlace {
  std::size_t image = 0, row = 0, col = 0;
};

// p moves to the following tile (along the row of tiles, then down, then to the next image)
// without dividing. (A template, as every function here: see kernels/conv.h.)
template <class Arch>
[[gnu::always_inline]] inline void next_tile(const WinogradArgs& a, TilePlace& p) {
  p.col += 2;
  if (p.col < a.width) return;
  p.col = 0;
  p.row += 2;
  if (p.row < a.height) return;
  p.row = 0;
  ++p.image;
}

// The tile's output pixels (or their gradients) in `images` (N × height × width × C_out, as y and
// dy): the first, and whether the pixels below and to the right lie inside the image.
template <class T>
struct TileOutputs {
  T* first;
  bool down, right;
};

template <class Arch, class T>
[[gnu::always_inline]] inline TileOutputs<T> tile_outputs(const WinogradArgs& a, const TilePlace& p, T* images) {
  return {images + ((p.image * a.height + p.row) * a.width + p.col) * a.out_channels, p.row + 1 < a.height,
          p.col + 1 < a.width};
}

// V's tile `i` of the block for the tile at p:
// the 4×4 patch at padded pixel (row, col). kEdge: rows and columns past the padded image read as
// zero (an odd height or width leaves the last tiles half outside).
template <class Arch, bool kEdge>
[[gnu::always_inline]] inline void input_transform(const WinogradArgs& a, const TilePlace& p, std::size_t i) {
  using B = V<Arch>;
  const std::size_t c = a.in_channels, padded_w = a.width + 2, padded_h = a.height + 2;
  const float* patch = a.x + ((p.image * padded_h + p.row) * padded_w + p.col) * c;
  // Ternaries rather than the standard library's inline functions, which baseline code also
  // instantiates (the rule in kernels/pooling.h).
  const std::size_t rows = padded_h - p.row < 4 ? padded_h - p.row : 4;
  const std::size_t cols = padded_w - p.col < 4 ? padded_w - p.col : 4;
  for (std::size_t ci = 0; ci < c; ci += kW<Arch>) {
    float* const out = a.v + i * tile_floats<Arch>(c) + 16 * ci;
    B d[4][4];
    unroll<4>([&](auto r) {
      unroll<4>([&](auto s) {
        const bool inside = !kEdge || (r < rows && s < cols);  // else no address is formed
        d[r][s] = inside ? B::load_unaligned(patch + (r * padded_w + s) * c + ci) : B(0.0f);
      });
    });
    B e[4][4];  // Bᵀ d: along the rows
    unroll<4>([&](auto s) {
      e[0][s] = d[0][s] - d[2][s];
      e[1][s] = d[1][s] + d[2][s];
      e[2][s] = d[2][s] - d[1][s];
      e[3][s] = d[1][s] - d[3][s];
    });
    unroll<4>([&](auto r) {  // (Bᵀ d) B: along the columns
      (e[r][0] - e[r][2]).store_unaligned(out + (4 * r + 0) * kW<Arch>);
      (e[r][1] + e[r][2]).store_unaligned(out + (4 * r + 1) * kW<Arch>);
      (e[r][2] - e[r][1]).store_unaligned(out + (4 * r + 2) * kW<Arch>);
      (e[r][1] - e[r][3]).store_unaligned(out + (4 * r + 3) * kW<Arch>);
    });
  }
}

// The output pixels of the tile at p from M's tile `i`: Aᵀ M A (+ bias, added last), the pixels
// past the image's bottom or right edge not stored.
template <class Arch>
[[gnu::always_inline]] inline void output_transform(const WinogradArgs& a, const TilePlace& p, std::size_t i) {
  using B = V<Arch>;
  constexpr std::size_t W = kW<Arch>;
  const std::size_t c = a.out_channels;
  const auto [y, down, right] = tile_outputs<Arch>(a, p, a.y);
  for (std::size_t co = 0; co < c; co += W) {
    const float* const in = a.m + i * tile_floats<Arch>(c) + 16 * co;
    B s[2][4];  // Aᵀ M: along the rows
    unroll<4>([&](auto col) {
      const B m0 = B::load_unaligned(in + (0 + col) * W), m1 = B::load_unaligned(in + (4 + col) * W);
      const B m2 = B::load_unaligned(in + (8 + col) * W), m3 = B::load_unaligned(in + (12 + col) * W);
      s[0][col] = m0 + m1 + m2;
      s[1][col] = m1 - m2 - m3;
    });
    const B bias = a.bias != nullptr ? B::load_unaligned(a.bias + co) : B(0.0f);
    for (std::size_t r = 0; r < 2; ++r) {  // (Aᵀ M) A: along the columns
      if (r == 1 && !down) break;
      float* const row = y + r * a.width * c + co;
      (s[r][0] + s[r][1] + s[r][2] + bias).store_unaligned(row);
      if (right) (s[r][1] - s[r][2] - s[r][3] + bias).store_unaligned(row + c);
    }
  }
}

// M_ξ's rows r < m (m ≤ MR) of the NV vectors of columns from `co`: Σ_ci V_ξ[r, ci] · U_ξ[ci, :],
// v and out at point ξ of the tile block's first row, u at U_ξ. Missing rows repeat row 0 and are
// not stored. Sums over ci in order.
template <class Arch, int MR, int NV, class Cin, class Cout>
[[gnu::always_inline]] inline void product_tile(const float* v, const float* u, float* out, std::size_t m, Cin c_in,
                                                Cout c_out, std::size_t co) {
  using B = V<Arch>;
  constexpr std::size_t W = kW<Arch>;
  const float* rows[MR];
  unroll<MR>([&](auto r) { rows[r] = v + (static_cast<std::size_t>(r) < m ? r : 0) * tile_floats<Arch>(c_in); });
  B acc[MR][NV];
  unroll<MR>([&](auto r) { unroll<NV>([&](auto j) { acc[r][j] = B(0.0f); }); });
  for (std::size_t cv = 0; cv < c_in; cv += W) {  // a vector of input channels: W floats at 16·cv
    unroll<W>([&](auto lane) {
      B w[NV];
      unroll<NV>([&](auto j) { w[j] = B::load_unaligned(u + (cv + lane) * c_out + co + j * W); });
      unroll<MR>([&](auto r) {
        const B x(rows[r][16 * cv + lane]);
        unroll<NV>([&](auto j) { acc[r][j] = vmath::vfma(x, w[j], acc[r][j]); });
      });
    });
  }
  unroll<MR>([&](auto r) {
    if (static_cast<std::size_t>(r) < m) {
      unroll<NV>([&](auto j) { acc[r][j].store_unaligned(out + r * tile_floats<Arch>(c_out) + 16 * (co + j * W)); });
    }
  });
}

// f(c_in, c_out) with the call's channel counts, as compile-time constants for the ResNet's
// square convolutions (16, 32 or 64 channels each way: the products' addressing becomes constant
// offsets), else as run-time values.
template <class Arch, class F>
[[gnu::always_inline]] inline void with_channels(const WinogradArgs& a, const F& f) {
  bool done = false;
  const auto square = [&](auto c) {
    if (!done && a.in_channels == c && a.out_channels == c) {
      f(c, c);
      done = true;
    }
  };
  square(std::integral_constant<std::size_t, 16>{});
  square(std::integral_constant<std::size_t, 32>{});
  square(std::integral_constant<std::size_t, 64>{});
  if (!done) f(a.in_channels, a.out_channels);
}

// The 16 products of a block of `tiles` tiles: M_ξ = V_ξ · U_ξ.
template <class Arch, class Cin, class Cout>
void products_of(const WinogradArgs& a, std::size_t tiles, Cin c_in, Cout c_out) {
  constexpr int MR = kRows<Arch>;
  constexpr std::size_t W = kW<Arch>;
  for (std::size_t xi = 0; xi < 16; ++xi) {
    const float* const u = a.u + xi * c_in * c_out;
    for (std::size_t r = 0; r < tiles; r += MR) {
      const std::size_t rows = tiles - r < MR ? tiles - r : MR;
      const float* const v = a.v + r * tile_floats<Arch>(c_in) + xi * W;
      float* const m = a.m + r * tile_floats<Arch>(c_out) + xi * W;
      std::size_t co = 0;
      for (; co + 2 * W <= c_out; co += 2 * W) product_tile<Arch, MR, 2>(v, u, m, rows, c_in, c_out, co);
      if (co < c_out) product_tile<Arch, MR, 1>(v, u, m, rows, c_in, c_out, co);
    }
  }
}

template <class Arch>
void products(const WinogradArgs& a, std::size_t tiles) {
  with_channels<Arch>(a, [&](auto c_in, auto c_out) { products_of<Arch>(a, tiles, c_in, c_out); });
}

// V for the `n` tiles from p on (advancing p past them).
template <class Arch>
void input_transforms(const WinogradArgs& a, TilePlace& p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i, next_tile<Arch>(a, p)) {
    if (p.row + 2 <= a.height && p.col + 2 <= a.width) {  // the patch inside the padded image
      input_transform<Arch, false>(a, p, i);
    } else {
      input_transform<Arch, true>(a, p, i);
    }
  }
}

template <class Arch>
std::size_t tile_count(const WinogradArgs& a) { return a.images * ((a.height + 1) / 2) * ((a.width + 1) / 2); }

template <class Arch>
void forward(const WinogradArgs& a) {
  const std::size_t tiles = tile_count<Arch>(a);
  TilePlace in, out;
  for (std::size_t t0 = 0; t0 < tiles; t0 += a.tile_block) {
    const std::size_t n = tiles - t0 < a.tile_block ? tiles - t0 : a.tile_block;
    input_transforms<Arch>(a, in, n);
    products<Arch>(a, n);
    for (std::size_t i = 0; i < n; ++i, next_tile<Arch>(a, out)) output_transform<Arch>(a, out, i);
  }
}

// ---- the weight gradient ----------------------------------------------------------------------
// The forward is linear in each U = G g Gᵀ and each tile's Y = Aᵀ [U ⊙ V] A, so
//   ∂L/∂g = Gᵀ [Σ_tiles V ⊙ Z] G with Z = A dY Aᵀ (dY: the tile's 2×2 output gradient),
// and summed over the channels' pairs, Σ_tiles V ⊙ Z is 16 products S_ξ = V_ξᵀ Z_ξ of C_in × tiles
// by tiles × C_out: 2.25× fewer multiplications than the direct form's 9 of C_in × pixels by
// pixels × C_out.

// Z's tile `i` of the block (laid out as M, at a.m) for the tile at p: A dY Aᵀ, output pixels
// past the image's bottom or right edge read as zero.
template <class Arch>
[[gnu::always_inline]] inline void gradient_transform(const WinogradArgs& a, const TilePlace& p, std::size_t i) {
  using B = V<Arch>;
  constexpr std::size_t W = kW<Arch>;
  const std::size_t c = a.out_channels;
  const auto [dy, down, right] = tile_outputs<Arch>(a, p, a.dy);
  for (std::size_t co = 0; co < c; co += W) {
    float* const out = a.m + i * tile_floats<Arch>(c) + 16 * co;
    const B d00 = B::load_unaligned(dy + co), d01 = right ? B::load_unaligned(dy + c + co) : B(0.0f);
    const B d10 = down ? B::load_unaligned(dy + a.width * c + co) : B(0.0f);
    const B d11 = down && right ? B::load_unaligned(dy + (a.width + 1) * c + co) : B(0.0f);
    const B q[4][2] = {{d00, d01}, {d00 + d10, d01 + d11}, {d00 - d10, d01 - d11}, {-d10, -d11}};  // A dY
    unroll<4>([&](auto r) {  // (A dY) Aᵀ
      q[r][0].store_unaligned(out + (4 * r + 0) * W);
      (q[r][0] + q[r][1]).store_unaligned(out + (4 * r + 1) * W);
      (q[r][0] - q[r][1]).store_unaligned(out + (4 * r + 2) * W);
      (-q[r][1]).store_unaligned(out + (4 * r + 3) * W);
    });
  }
}

// S_ξ's rows ci0 + r, r < m (m ≤ MR), of the NV vectors of columns from `co` (at s): += Σ_t
// V_ξ[t, ci0 + r] · Z_ξ[t, :] over the block's `tiles` tiles in order; v and z at point ξ of the
// block's first tile. Missing rows repeat row ci0 and are not stored.
template <class Arch, int MR, int NV, class Cin, class Cout>
[[gnu::always_inline]] inline void gradient_tile(const float* v, const float* z, float* s, std::size_t ci0,
                                                 std::size_t m, std::size_t tiles, Cin c_in, Cout c_out,
                                                 std::size_t co) {
  using B = V<Arch>;
  constexpr std::size_t W = kW<Arch>;
  const float* rows[MR];  // where channel ci0 + r of V's first tile lies (layout above)
  unroll<MR>([&](auto r) {
    const std::size_t ci = ci0 + (static_cast<std::size_t>(r) < m ? r : 0);
    rows[r] = v + 16 * (ci / W * W) + ci % W;
  });
  B acc[MR][NV];
  unroll<MR>([&](auto r) {
    const std::size_t row = static_cast<std::size_t>(r) < m ? r : 0;
    unroll<NV>([&](auto j) { acc[r][j] = B::load_unaligned(s + row * c_out + j * W); });
  });
  const std::size_t v_tile = tile_floats<Arch>(c_in), z_tile = tile_floats<Arch>(c_out);
  for (std::size_t t = 0; t < tiles; ++t) {
    B w[NV];
    unroll<NV>([&](auto j) { w[j] = B::load_unaligned(z + t * z_tile + 16 * (co + j * W)); });
    unroll<MR>([&](auto r) {
      const B x(rows[r][t * v_tile]);
      unroll<NV>([&](auto j) { acc[r][j] = vmath::vfma(x, w[j], acc[r][j]); });
    });
  }
  unroll<MR>([&](auto r) {
    if (static_cast<std::size_t>(r) < m) {
      unroll<NV>([&](auto j) { acc[r][j].store_unaligned(s + r * c_out + j * W); });
    }
  });
}

// S_ξ += V_ξᵀ Z_ξ for a block of `tiles` tiles, S at a.s (16 matrices of C_in × C_out).
template <class Arch, class Cin, class Cout>
void gradient_products_of(const WinogradArgs& a, std::size_t tiles, Cin c_in, Cout c_out) {
  constexpr int MR = kRows<Arch>;
  constexpr std::size_t W = kW<Arch>;
  // The C_in rows in ⌈C_in / MR⌉ tiles of as equal heights as can be (16: 6, 5, 5, where tiles of
  // 6 would compute 18): those of MR − 1 rows still hold 10 accumulators, as many as two FMA
  // pipes of latency 5 keep busy.
  const std::size_t tiles_down = (c_in + MR - 1) / MR, tall = c_in % tiles_down, short_rows = c_in / tiles_down;
  const auto row_tile = [&](auto mr, const float* v, const float* z, float* s, std::size_t r, std::size_t rows) {
    std::size_t co = 0;
    for (; co + 2 * W <= c_out; co += 2 * W) {
      gradient_tile<Arch, decltype(mr)::value, 2>(v, z, s + r * c_out + co, r, rows, tiles, c_in, c_out, co);
    }
    if (co < c_out) {
      gradient_tile<Arch, decltype(mr)::value, 1>(v, z, s + r * c_out + co, r, rows, tiles, c_in, c_out, co);
    }
  };
  for (std::size_t xi = 0; xi < 16; ++xi) {
    const float* const v = a.v + xi * W;
    const float* const z = a.m + xi * W;
    float* const s = a.s + xi * c_in * c_out;
    for (std::size_t i = 0, r = 0; i < tiles_down; ++i) {
      const std::size_t rows = short_rows + (i < tall ? 1 : 0);
      if (rows == MR - 1) {
        row_tile(std::integral_constant<int, MR - 1>{}, v, z, s, r, rows);
      } else {
        row_tile(std::integral_constant<int, MR>{}, v, z, s, r, rows);
      }
      r += rows;
    }
  }
}

template <class Arch>
void gradient_products(const WinogradArgs& a, std::size_t tiles) {
  with_channels<Arch>(a, [&](auto c_in, auto c_out) { gradient_products_of<Arch>(a, tiles, c_in, c_out); });
}

// dw[(kh·3 + kw)·C_in + ci, co] = (Gᵀ S G)[kh, kw] from the sums S, a vector of co at a time.
template <class Arch>
void weights_from_sums(const WinogradArgs& a) {
  using B = V<Arch>;
  const std::size_t c_in = a.in_channels, c_out = a.out_channels, plane = c_in * c_out;
  const B half(0.5f);
  for (std::size_t ci = 0; ci < c_in; ++ci) {
    for (std::size_t co = 0; co < c_out; co += kW<Arch>) {
      const float* const s = a.s + ci * c_out + co;
      B e[3][4];  // Gᵀ S: along the rows
      unroll<4>([&](auto b) {
        const B s0 = B::load_unaligned(s + b * plane), s1 = B::load_unaligned(s + (4 + b) * plane);
        const B s2 = B::load_unaligned(s + (8 + b) * plane), s3 = B::load_unaligned(s + (12 + b) * plane);
        e[0][b] = s0 + half * (s1 + s2);
        e[1][b] = half * (s1 - s2);
        e[2][b] = half * (s1 + s2) + s3;
      });
      unroll<3>([&](auto kh) {  // (Gᵀ S) G: along the columns
        float* const row = a.dw + (kh * 3 * c_in + ci) * a.dw_ld + co;
        (e[kh][0] + half * (e[kh][1] + e[kh][2])).store_unaligned(row);
        (half * (e[kh][1] - e[kh][2])).store_unaligned(row + c_in * a.dw_ld);
        (half * (e[kh][1] + e[kh][2]) + e[kh][3]).store_unaligned(row + 2 * c_in * a.dw_ld);
      });
    }
  }
}

template <class Arch>
void weight_grad(const WinogradArgs& a) {
  const std::size_t sums = 16 * a.in_channels * a.out_channels;
  for (std::size_t i = 0; i < sums; i += kW<Arch>) V<Arch>(0.0f).store_unaligned(a.s + i);
  const std::size_t tiles = tile_count<Arch>(a);
  TilePlace in, out;
  for (std::size_t t0 = 0; t0 < tiles; t0 += a.tile_block) {
    const std::size_t n = tiles - t0 < a.tile_block ? tiles - t0 : a.tile_block;
    input_transforms<Arch>(a, in, n);
    for (std::size_t i = 0; i < n; ++i, next_tile<Arch>(a, out)) gradient_transform<Arch>(a, out, i);
    gradient_products<Arch>(a, n);
  }
  weights_from_sums<Arch>(a);
}

}  // namespace simdnn::internal::kernels::winograd
