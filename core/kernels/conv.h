// Direct convolution kernels (core/conv_kernels.h), templated on the xsimd architecture. Included
// only by the per-ISA files conv_<isa>.cc, each compiled with that ISA's flags (core/isa.bzl).
//
// forward: a register tile of MR output pixels × NV vectors of output channels. Per tap and input
// channel, NV vectors of w are loaded and each pixel's input value is broadcast into its row, as
// in the GEMM microkernel, but the "A" values are read straight from the padded images: pixel i
// of the tile keeps a pointer to its window's first float, and tap (kh, kw) adds
// kh·row_floats + kw·C to it. Strips of kStrip consecutive pixels may span rows and images; the
// last strip's missing pixels repeat its first one and are not stored.
//
// weight_grad: a register tile of MR rows of dw (consecutive (tap, ci) pairs: row r reads x at
// offset tap_offset(r / C) + r % C from each pixel's window) × NV vectors of output channels,
// summed over the window's pixels in order: per pixel, NV vectors of dy are loaded and the MR
// input values broadcast.
//
// Rules that keep ISA code out of the baseline path: every function here is a template on Arch
// (see core/README.md, "Dispatch").
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>

#include <simdnn/core/conv_kernels.h>
#include <simdnn/core/kernels/gemm_microkernel.h>
#include <simdnn/core/kernels/unroll.h>
#include <simdnn/core/kernels/vector_math.h>

namespace simdnn::internal::kernels::conv {

template <class Arch>
using V = xsimd::batch<float, Arch>;
template <class Arch>
inline constexpr std::size_t kW = V<Arch>::size;

// Tile rows for NV vectors: accumulators + NV loads + 1 broadcast fit 16 (SSE2, AVX2) or 32
// (AVX-512) registers, and MR pointers fit the general registers. kStrip = the largest.
template <class Arch, int NV>
inline constexpr int kRows = (NV == 2 && kW<Arch> <= 8) ? 6 : 12;
inline constexpr int kStrip = 12;

// Walks the window's output pixels in order, giving each one's offset in the padded images.
template <class Arch>
struct PixelCursor {
  const ConvWindow& w;
  std::size_t n, oh, ow;

  PixelCursor(const ConvWindow& window, std::size_t q)
      : w(window),
        n(q / (window.out_height * window.out_width)),
        oh(q / window.out_width % window.out_height),
        ow(q % window.out_width) {}

  std::size_t offset() const {
    return n * w.image_floats + (oh * w.padded_width + ow) * w.stride * w.channels;
  }
  void next() {
    if (++ow < w.out_width) return;
    ow = 0;
    if (++oh < w.out_height) return;
    oh = 0;
    ++n;
  }
};

// The forward tile: rows[0..MR) point at the MR pixels' windows; w at the tile's first column.
template <class Arch, int MR, int NV>
[[gnu::always_inline]] inline void forward_tile(const ConvForwardArgs& a, const float* const* rows,
                                                const float* w, const GemmTileStore& store) {
  constexpr std::size_t W = kW<Arch>;
  const std::size_t C = a.window.channels, k = a.window.kernel;
  const std::size_t row_floats = a.window.padded_width * C;
  V<Arch> acc[MR][NV];
  unroll<MR>([&](auto i) { unroll<NV>([&](auto j) { acc[i][j] = V<Arch>(0.0f); }); });
  for (std::size_t kh = 0; kh < k; ++kh) {
    for (std::size_t kw = 0; kw < k; ++kw) {
      const float* r[MR];
      unroll<MR>([&](auto i) { r[i] = rows[i] + kh * row_floats + kw * C; });
      for (std::size_t ci = 0; ci < C; ++ci, w += a.w_ld) {
        V<Arch> b[NV];
        unroll<NV>([&](auto j) { b[j] = V<Arch>::load_unaligned(w + j * W); });
        unroll<MR>([&](auto i) {
          const V<Arch> xi(r[i][ci]);
          unroll<NV>([&](auto j) { acc[i][j] = vmath::vfma(xi, b[j], acc[i][j]); });
        });
      }
    }
  }
  store_tile<Arch, MR, NV>(acc, store);
}

// One tile's rows of the strip whose windows start at rows[0..m): MR rows at a time.
template <class Arch, int NV>
[[gnu::always_inline]] inline void forward_columns(const ConvForwardArgs& a, const float* const (&rows)[kStrip],
                                                   std::size_t m, std::size_t col, float* y) {
  constexpr int MR = kRows<Arch, NV>;
  constexpr std::size_t width = NV * kW<Arch>;
  const std::size_t n_valid = a.out_channels - col < width ? a.out_channels - col : width;
  for (std::size_t i = 0; i < m; i += MR) {
    const std::size_t m_valid = m - i < MR ? m - i : MR;
    const float* tile_rows[MR];
    for (int t = 0; t < MR; ++t) tile_rows[t] = rows[static_cast<std::size_t>(t) < m_valid ? i + t : i];
    const GemmTileStore store{.c = y + i * a.out_channels + col,
                              .ldc = a.out_channels,
                              .m_valid = m_valid,
                              .n_valid = n_valid,
                              .bias = a.bias == nullptr ? nullptr : a.bias + col};
    forward_tile<Arch, MR, NV>(a, tile_rows, a.w + col, store);
  }
}

template <class Arch>
void forward(const ConvForwardArgs& a) {
  constexpr std::size_t W = kW<Arch>;
  const std::size_t end = a.window.first_pixel + a.window.pixels;
  PixelCursor<Arch> cursor(a.window, a.window.first_pixel);
  for (std::size_t q = a.window.first_pixel; q < end; q += kStrip) {
    const std::size_t m = end - q < kStrip ? end - q : kStrip;
    const float* rows[kStrip];
    for (std::size_t i = 0; i < m; ++i, cursor.next()) rows[i] = a.window.x + cursor.offset();
    float* y = a.y + q * a.out_channels;
    for (std::size_t col = 0; col < a.out_channels;) {
      if (a.out_channels - col > W) {
        forward_columns<Arch, 2>(a, rows, m, col, y);
        col += 2 * W;
      } else {
        forward_columns<Arch, 1>(a, rows, m, col, y);
        col += W;
      }
    }
  }
}

// dw rows [r, r + MR) (offsets[i]: row r + i's offset within a window) × NV vectors from col.
template <class Arch, int MR, int NV>
[[gnu::always_inline]] inline void weight_grad_tile(const ConvWeightGradArgs& a, const std::size_t* offsets,
                                                    std::size_t col, const GemmTileStore& store) {
  constexpr std::size_t W = kW<Arch>;
  V<Arch> acc[MR][NV];
  unroll<MR>([&](auto i) { unroll<NV>([&](auto j) { acc[i][j] = V<Arch>(0.0f); }); });
  const float* x[MR];
  unroll<MR>([&](auto i) { x[i] = a.window.x + offsets[i]; });
  const float* dy = a.dy + a.window.first_pixel * a.dy_ld + col;
  const std::size_t step = a.window.stride * a.window.channels;
  PixelCursor<Arch> cursor(a.window, a.window.first_pixel);
  // By output rows: within one, the window moves by `step` floats per pixel.
  for (std::size_t left = a.window.pixels; left > 0;) {
    const std::size_t run = a.window.out_width - cursor.ow < left ? a.window.out_width - cursor.ow : left;
    std::size_t at = cursor.offset();
    for (std::size_t p = 0; p < run; ++p, at += step, dy += a.dy_ld) {
      V<Arch> b[NV];
      unroll<NV>([&](auto j) { b[j] = V<Arch>::load_unaligned(dy + j * W); });
      unroll<MR>([&](auto i) {
        const V<Arch> xi(x[i][at]);
        unroll<NV>([&](auto j) { acc[i][j] = vmath::vfma(xi, b[j], acc[i][j]); });
      });
    }
    left -= run;
    cursor.ow = a.window.out_width - 1;
    cursor.next();
  }
  store_tile<Arch, MR, NV>(acc, store);
}

template <class Arch, int NV>
[[gnu::always_inline]] inline void weight_grad_columns(const ConvWeightGradArgs& a, std::size_t col) {
  constexpr int MR = kRows<Arch, NV>;
  constexpr std::size_t width = NV * kW<Arch>;
  const std::size_t C = a.window.channels, k = a.window.kernel, rows = k * k * C;
  const std::size_t row_floats = a.window.padded_width * C;
  const std::size_t n_valid = a.out_channels - col < width ? a.out_channels - col : width;
  for (std::size_t r = 0; r < rows; r += MR) {
    const std::size_t m_valid = rows - r < MR ? rows - r : MR;
    std::size_t offsets[MR];
    for (int i = 0; i < MR; ++i) {
      const std::size_t row = static_cast<std::size_t>(i) < m_valid ? r + i : r;
      const std::size_t tap = row / C;
      offsets[i] = tap / k * row_floats + tap % k * C + row % C;
    }
    const GemmTileStore store{.c = a.dw + r * a.dw_ld + col, .ldc = a.dw_ld, .m_valid = m_valid, .n_valid = n_valid};
    weight_grad_tile<Arch, MR, NV>(a, offsets, col, store);
  }
}

template <class Arch>
void weight_grad(const ConvWeightGradArgs& a) {
  constexpr std::size_t W = kW<Arch>;
  for (std::size_t col = 0; col < a.out_channels;) {
    if (a.out_channels - col > W) {
      weight_grad_columns<Arch, 2>(a, col);
      col += 2 * W;
    } else {
      weight_grad_columns<Arch, 1>(a, col);
      col += W;
    }
  }
}

}  // namespace simdnn::internal::kernels::conv

namespace simdnn::internal {

template <class Arch>
ConvKernels make_conv_kernels() {
  namespace k = kernels::conv;
  return ConvKernels{
      .vector_floats = k::kW<Arch>,
      .forward = &k::forward<Arch>,
      .weight_grad = &k::weight_grad<Arch>,
  };
}

}  // namespace simdnn::internal
