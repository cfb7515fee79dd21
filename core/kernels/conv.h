// Direct convolution kernels (core/conv_kernels.h), templated on the xsimd architecture. Included
// only by the per-ISA files conv_<isa>.cc, each compiled with that ISA's flags (core/isa.bzl).
//
// forward: a register tile of MR output pixels × NV vectors of output channels. Per window float,
// NV vectors of w are loaded and each pixel's input value is broadcast into its row, as in the
// GEMM microkernel, but the "A" values are read straight from the padded images through each
// pixel's window offset. Strips of kStrip consecutive pixels; the last strip's missing pixels
// repeat its first one and are not stored.
//
// forward_dot: for few output channels a vector of them would be mostly waste, so each output is
// a dot product of the window with one column of w, vectorized along the window's k·C-float rows;
// kDotPixels pixels share each load of w.
//
// input_grad (strided convolutions): per MR pixels and tap, a tile over C_out with dy's rows as
// "A" and the tap's weights as "B", added into the tap's pixels of the padded dx.
//
// weight_grad: a register tile of MR rows of dw (consecutive (kh, kw·C + ci) pairs: row
// kh·k·C + j reads x at kh·row_floats + j from each pixel's window) × NV vectors of output
// channels, summed over the pixels in order: per pixel, NV vectors of dy are loaded and the MR
// input values broadcast.
//
// Rules that keep ISA code out of the baseline path: every function here is a template on Arch
// (see core/README.md, "Dispatch").
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>

#include <simdnn/core/conv_kernels.h>
#include <simdnn/core/kernels/gemm_microkernel.h>
#include <simdnn/core/kernels/pooling.h>
#include <simdnn/core/kernels/unroll.h>
#include <simdnn/core/kernels/vector_math.h>
#include <simdnn/core/kernels/winograd.h>

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
inline constexpr int kDotPixels = 4;

// The window start of pixel q + i for i < m, else of pixel q (a repeated, unstored row).
template <class Arch, int N>
[[gnu::always_inline]] inline void window_starts(const ConvWindow& w, std::size_t q, std::size_t m,
                                                 const float* (&rows)[N]) {
  for (int i = 0; i < N; ++i) rows[i] = w.x + w.offsets[q + (static_cast<std::size_t>(i) < m ? i : 0)];
}

// acc += Σ over k runs of `run` floats (run kh at rows[i] + kh·row_floats) of the window float
// times its row of w (w_ld floats a row, from the tile's first column).
template <class Arch, int MR, int NV>
[[gnu::always_inline]] inline void accumulate(const float* const* rows, std::size_t k, std::size_t run,
                                              std::size_t row_floats, const float* w, std::size_t w_ld,
                                              V<Arch> (&acc)[MR][NV]) {
  constexpr std::size_t W = kW<Arch>;
  for (std::size_t kh = 0; kh < k; ++kh) {
    const float* r[MR];
    unroll<MR>([&](auto i) { r[i] = rows[i] + kh * row_floats; });
    for (std::size_t e = 0; e < run; ++e, w += w_ld) {
      V<Arch> b[NV];
      unroll<NV>([&](auto j) { b[j] = V<Arch>::load_unaligned(w + j * W); });
      unroll<MR>([&](auto i) {
        const V<Arch> xi(r[i][e]);
        unroll<NV>([&](auto j) { acc[i][j] = vmath::vfma(xi, b[j], acc[i][j]); });
      });
    }
  }
}

// The forward tile: rows[0..MR) point at the MR pixels' windows; w at the tile's first column.
template <class Arch, int MR, int NV>
[[gnu::always_inline]] inline void forward_tile(const ConvForwardArgs& a, const float* const* rows,
                                                const float* w, const GemmTileStore& store) {
  V<Arch> acc[MR][NV];
  unroll<MR>([&](auto i) { unroll<NV>([&](auto j) { acc[i][j] = V<Arch>(0.0f); }); });
  accumulate<Arch, MR, NV>(rows, a.window.kernel, a.window.kernel * a.window.channels, a.window.row_floats, w,
                           a.w_ld, acc);
  store_tile<Arch, MR, NV>(acc, store);
}

// Rows [q, q + m) of y, from column col: NV vectors wide, MR pixels at a time.
template <class Arch, int NV>
[[gnu::always_inline]] inline void forward_columns(const ConvForwardArgs& a, std::size_t q, std::size_t m,
                                                   std::size_t col) {
  constexpr int MR = kRows<Arch, NV>;
  constexpr std::size_t width = NV * kW<Arch>;
  const std::size_t n_valid = a.out_channels - col < width ? a.out_channels - col : width;
  for (std::size_t i = 0; i < m; i += MR) {
    const std::size_t m_valid = m - i < MR ? m - i : MR;
    const float* rows[MR];
    window_starts<Arch>(a.window, q + i, m_valid, rows);
    const GemmTileStore store{.c = a.y + (q + i) * a.out_channels + col,
                              .ldc = a.out_channels,
                              .m_valid = m_valid,
                              .n_valid = n_valid,
                              .bias = a.bias == nullptr ? nullptr : a.bias + col};
    forward_tile<Arch, MR, NV>(a, rows, a.w + col, store);
  }
}

// The row tile, for AVX-512 when the windows are 3×3 at stride 1 and padding 1 over C = 16, 32
// or (on images 4 pixels wide) 64 channels, with C outputs (up to 15 fewer): the ResNet's
// convolutions that keep their shape, and their input gradients; and at stride 2 from 16
// channels to 32 and from 32 to 64 (the ResNet's downsamplings). A tile is M consecutive pixels of one output
// row (or R whole rows) × NV vectors of outputs; together their windows read S·(M − 1) + 3
// pixels of each of 3 input rows. So each input float is broadcast once and multiplied into the
// (up to 3 / S) pixels whose windows hold it, by its taps' weights: at stride 1, per channel,
// 3·NV loads of w and M + 2 broadcasts feed 3·M·NV FMAs, where forward_tile loads one broadcast
// per NV FMAs (its 16-output tile is bound by loads). The windows sit S·C floats apart and w's
// taps C·w_ld floats apart, constants of the template, so one pointer per row reaches all of
// each. Taps on the padding are left out: the padding columns at the ends of the row (kLeft,
// kRight: the tile starts or ends its row, where that column is padding) and, for one-row
// tiles, the padding rows above the first output row and, where the windows reach it, below the
// last: 18 % of the products on a 7×7 image at stride 1. Each output sums
// over kh, then ci, then kw. Measured on an Intel Xeon 6/207, 1 thread, alternating runs,
// nominal GFLOP/s (padding taps counted): forward 28x28x16 -> 16 120 -> 146, 14x14x16 -> 16
// 121 -> 149, 7x7x32 -> 32 147 -> 182, 14x14x16 -> 32 at stride 2 124 -> 135.
inline constexpr std::size_t kRowKernel = 3;

// v, held in a register from here on: GCC otherwise folds a weight vector's load into each FMA
// that reads it (4 loads instead of 1 in the row tiles, which then wait on the load ports).
template <class Arch>
[[gnu::always_inline]] inline V<Arch> in_register(V<Arch> v) {
  typename V<Arch>::register_type r = v;
  asm("" : "+v"(r));
  return r;
}

// Pixels [q, q + M) (in one output row, S input pixels apart) × outputs [col, col + NV·16); w
// has LD floats a row. kLeft, kRight: the first and last input column the tile reads is padding.
// R > 1 (whole rows, M == the row's pixels): R consecutive rows at once, pixels [q, q + R·M).
template <class Arch, int C, int LD, int S, int M, int R, int NV, bool kLeft, bool kRight>
[[gnu::always_inline]] inline void forward_row_tile(const ConvForwardArgs& a, std::size_t q, std::size_t col,
                                                    std::size_t kh_begin, std::size_t kh_end) {
  constexpr std::size_t W = kW<Arch>;
  constexpr int K = static_cast<int>(kRowKernel);
  constexpr int kSpan = S * (M - 1) + K;  // input pixels the tile reads per row
  V<Arch> acc[R * M][NV];
  unroll<R * M>([&](auto i) { unroll<NV>([&](auto v) { acc[i][v] = V<Arch>(0.0f); }); });
  for (std::size_t kh = kh_begin; kh < kh_end; ++kh) {
    const float* x[R];
    unroll<R>([&](auto r) { x[r] = a.window.x + a.window.offsets[q + r * M] + kh * a.window.row_floats; });
    const float* w = a.w + kh * kRowKernel * C * LD + col;  // row (kh·3 + kw)·C + ci
    for (int ci = 0; ci < C; ++ci, w += LD, unroll<R>([&](auto r) { ++x[r]; })) {
      V<Arch> tap[K][NV];
      unroll<K>([&](auto kw) {
        unroll<NV>([&](auto v) { tap[kw][v] = in_register<Arch>(V<Arch>::load_unaligned(w + kw * C * LD + v * W)); });
      });
      // always_inline: left to itself GCC called a row's lambda at stride 2 (its span is 15
      // pixels), which moved the accumulators to memory: 3× slower.
      unroll<R>([&](auto r) __attribute__((always_inline)) {
        unroll<kSpan>([&](auto j) __attribute__((always_inline)) {
          constexpr int jj = decltype(j)::value;
          if constexpr ((!kLeft || jj > 0) && (!kRight || jj < kSpan - 1)) {
            const V<Arch> xj(x[r][jj * C]);
            unroll<K>([&](auto kw) __attribute__((always_inline)) {
              constexpr int o = (jj - decltype(kw)::value) / S;
              if constexpr ((jj - decltype(kw)::value) % S == 0 && jj >= decltype(kw)::value && o < M) {
                unroll<NV>([&](auto v) __attribute__((always_inline)) {
                  acc[r * M + o][v] = vmath::vfma(xj, tap[kw][v], acc[r * M + o][v]);
                });
              }
            });
          }
        });
      });
    }
  }
  const std::size_t n_valid = a.out_channels - col < NV * W ? a.out_channels - col : NV * W;
  store_tile<Arch, R * M, NV>(acc, {.c = a.y + q * a.out_channels + col,
                                .ldc = a.out_channels,
                                .m_valid = R * M,
                                .n_valid = n_valid,
                                .bias = a.bias == nullptr ? nullptr : a.bias + col});
}

// Every output row, in tiles of M pixels (the row is M or 2·M pixels). The row above the first
// output row and the column left of each row are padding; kRightPad: so is the last column a
// row's windows read (always at stride 1; at stride 2 on an odd input width), and likewise the
// last window row of the last output row when the windows reach the bottom padding row.
// R > 1: R rows of M pixels per tile (height a multiple of R), every window row computed.
template <class Arch, int C, int LD, int S, int M, int NV, bool kRightPad, int R = 1>
void forward_rows(const ConvForwardArgs& a) {
  const std::size_t width = a.window.row_pixels, height = a.window.image_rows;
  if constexpr (R > 1) {
    for (std::size_t q = 0; q < a.window.pixels; q += R * M) {
      for (std::size_t col = 0; col < a.out_channels; col += NV * kW<Arch>) {
        forward_row_tile<Arch, C, LD, S, M, R, NV, true, kRightPad>(a, q, col, 0, kRowKernel);
      }
    }
    return;
  }
  const bool bottom_pad = S * (height - 1) + kRowKernel == a.window.padded_rows;
  for (std::size_t q = 0; q < a.window.pixels; q += width) {
    const std::size_t oh = q / width % height;
    const std::size_t kh_begin = oh == 0 ? 1 : 0;
    const std::size_t kh_end = bottom_pad && oh + 1 == height ? kRowKernel - 1 : kRowKernel;
    for (std::size_t col = 0; col < a.out_channels; col += NV * kW<Arch>) {
      if (width == M) {
        forward_row_tile<Arch, C, LD, S, M, 1, NV, true, kRightPad>(a, q, col, kh_begin, kh_end);
      } else {
        forward_row_tile<Arch, C, LD, S, M, 1, NV, true, false>(a, q, col, kh_begin, kh_end);
        forward_row_tile<Arch, C, LD, S, M, 1, NV, false, kRightPad>(a, q + M, col, kh_begin, kh_end);
      }
    }
  }
}

// Runs the row tile if it applies to a (see above), else returns false. The tile widths: 14
// pixels for one vector of outputs, 7 for two (28 and 14 accumulators; 28 pixels took 16 %
// longer at 28×28×16, where GCC spilled). 64 channels on images 4 pixels wide: 4 rows of 4
// pixels × one vector per tile (16 accumulators, 3 weight vectors): forward 4x4x64 -> 64 124 ->
// 147 nominal GFLOP/s, backward 119 -> 126 (Intel Xeon 6/207, 1 thread, medians of 7 alternating
// runs on a noisy VM), where one row × 4 vectors spilled the weights (1.3× slower than
// forward_tile), one row × 2 vectors waited on its 8 accumulators' dependent FMAs (1.5× slower)
// and 2 rows × 2 vectors gained nothing. At stride 2 from 32 channels to 64 on rows of 4 outputs
// (7 × 7 → 4 × 4, the ResNet's second downsampling), one row × 4 vectors: 16 accumulators and
// 12 weight vectors, 48 FMAs per 21 loads, where forward_tile's 12 pixels × 2 vectors load a
// broadcast per 2 FMAs.
template <class Arch>
bool forward_by_rows(const ConvForwardArgs& a) {
  constexpr std::size_t W = kW<Arch>;
  const ConvWindow& g = a.window;
  if (W != 16 || g.kernel != kRowKernel || g.padding != 1 || g.image_rows == 0) return false;
  auto fits = [&](std::size_t m) { return g.row_pixels == m || g.row_pixels == 2 * m; };
  if (g.stride == 2) {
    const bool even_width = g.row_floats == (2 * g.row_pixels + 2) * g.channels;
    const bool odd_width = g.row_floats == (2 * g.row_pixels + 1) * g.channels;
    if (g.channels == 16 && a.w_ld == 32 && even_width && fits(7)) {  // 14 × 14 → 7 × 7
      forward_rows<Arch, 16, 32, 2, 7, 2, false>(a);
      return true;
    }
    if (g.channels == 32 && a.w_ld == 64 && g.row_pixels == 4 && (even_width || odd_width)) {
      if (odd_width) {
        forward_rows<Arch, 32, 64, 2, 4, 4, true>(a);
      } else {
        forward_rows<Arch, 32, 64, 2, 4, 4, false>(a);
      }
      return true;
    }
    return false;
  }
  if (g.stride != 1 || a.w_ld != g.channels || g.row_floats != (g.row_pixels + 2) * g.channels) return false;
  switch (g.channels) {
    case 16:
      if (!fits(14)) return false;
      forward_rows<Arch, 16, 16, 1, 14, 1, true>(a);
      return true;
    case 32:
      if (!fits(7)) return false;
      forward_rows<Arch, 32, 32, 1, 7, 2, true>(a);
      return true;
    case 64:
      if (g.row_pixels != 4 || g.image_rows % 4 != 0) return false;
      forward_rows<Arch, 64, 64, 1, 4, 1, true, 4>(a);
      return true;
    default:
      return false;
  }
}

template <class Arch>
void forward(const ConvForwardArgs& a) {
  constexpr std::size_t W = kW<Arch>;
  if constexpr (W == 16) {
    if (forward_by_rows<Arch>(a)) return;
  }
  for (std::size_t q = 0; q < a.window.pixels; q += kStrip) {
    const std::size_t m = a.window.pixels - q < kStrip ? a.window.pixels - q : kStrip;
    for (std::size_t col = 0; col < a.out_channels;) {
      if (a.out_channels - col > W) {
        forward_columns<Arch, 2>(a, q, m, col);
        col += 2 * W;
      } else {
        forward_columns<Arch, 1>(a, q, m, col);
        col += W;
      }
    }
  }
}

// The sum of v's lanes in lane order (not xsimd::hadd: on avx512f it needs AVX-512DQ).
template <class Arch>
[[gnu::always_inline]] inline float lane_sum(V<Arch> v) {
  alignas(64) float lanes[kW<Arch>];
  v.store_aligned(lanes);
  float sum = lanes[0];
  for (std::size_t i = 1; i < kW<Arch>; ++i) sum += lanes[i];
  return sum;
}

template <class Arch>
void forward_dot(const ConvForwardArgs& a) {
  constexpr std::size_t W = kW<Arch>;
  constexpr int P = kDotPixels;
  const std::size_t k = a.window.kernel, run = k * a.window.channels;
  for (std::size_t q = 0; q < a.window.pixels; q += P) {
    const std::size_t m = a.window.pixels - q < P ? a.window.pixels - q : P;
    const float* rows[P];
    window_starts<Arch>(a.window, q, m, rows);
    for (std::size_t co = 0; co < a.out_channels; ++co) {
      V<Arch> acc[P];
      unroll<P>([&](auto i) { acc[i] = V<Arch>(0.0f); });
      const float* w = a.w + co * a.w_ld;
      for (std::size_t kh = 0; kh < k; ++kh, w += run) {
        const std::size_t at = kh * a.window.row_floats;
        for (std::size_t e = 0; e < run; e += W) {
          const V<Arch> b = V<Arch>::load_unaligned(w + e);
          unroll<P>([&](auto i) { acc[i] = vmath::vfma(V<Arch>::load_unaligned(rows[i] + at + e), b, acc[i]); });
        }
      }
      const float bias = a.bias == nullptr ? 0.0f : a.bias[co];
      for (std::size_t i = 0; i < m; ++i) a.y[(q + i) * a.out_channels + co] = lane_sum<Arch>(acc[i]) + bias;
    }
  }
}

// Output rows (or columns) o < out whose window reads input row (column) o·stride + k − pad inside
// the image of `in` rows: [begin, end). The others read padding there, whose zeros add nothing to
// a weight gradient: a weight-gradient tile whose rows all read one window row (column) skips
// them (on 4 × 4 images, a third of the products).
struct Span {
  std::size_t begin, end;
};
inline Span inside(std::size_t k, std::size_t stride, std::size_t pad, std::size_t in, std::size_t out) {
  const std::size_t begin = k >= pad ? 0 : (pad - k + stride - 1) / stride;
  const std::size_t end = in + pad > k ? (in + pad - k + stride - 1) / stride : 0;
  return {begin < out ? begin : out, end < out ? end : out};
}

// The output rows whose window row kh, and the output columns whose window column kw, lie inside
// the image.
inline Span rows_inside(const ConvWindow& w, std::size_t kh) {
  return inside(kh, w.stride, w.padding, w.padded_rows - 2 * w.padding, w.image_rows);
}
inline Span columns_inside(const ConvWindow& w, std::size_t kw) {
  return inside(kw, w.stride, w.padding, w.row_floats / w.channels - 2 * w.padding, w.row_pixels);
}

// f(q) for the pixels q of every image whose output row lies in `rows` and column in `columns`,
// in order.
template <class F>
[[gnu::always_inline]] inline void for_pixels(const ConvWindow& w, Span rows, Span columns, F&& f) {
  const std::size_t image = w.image_rows * w.row_pixels;
  for (std::size_t base = 0; base < w.pixels; base += image) {
    for (std::size_t oh = rows.begin; oh < rows.end; ++oh) {
      const std::size_t row = base + oh * w.row_pixels;
      for (std::size_t q = row + columns.begin; q < row + columns.end; ++q) f(q);
    }
  }
}

// dw rows [r, r + MR) (offsets[i]: row r + i's offset within a window) × NV vectors from col,
// summed over the pixels in `rows` × `columns` (see inside()).
// kOneRun: the MR rows are consecutive floats of one window row (offsets[i] = offsets[0] + i), so
// one pointer reaches them all; MR pointers did not fit the general registers, and their spills
// and reloads sat in the pixel loop.
template <class Arch, int MR, int NV, bool kOneRun>
[[gnu::always_inline]] inline void weight_grad_tile(const ConvWeightGradArgs& a, const std::size_t* offsets,
                                                    std::size_t col, Span rows, Span columns,
                                                    const GemmTileStore& store) {
  constexpr std::size_t W = kW<Arch>;
  V<Arch> acc[MR][NV];
  unroll<MR>([&](auto i) { unroll<NV>([&](auto j) { acc[i][j] = V<Arch>(0.0f); }); });
  const float* x[kOneRun ? 1 : MR];
  unroll<kOneRun ? 1 : MR>([&](auto i) { x[i] = a.window.x + offsets[i]; });
  for_pixels(a.window, rows, columns, [&](std::size_t q) __attribute__((always_inline)) {
    const std::size_t at = a.window.offsets[q];
    const float* dy = a.dy + q * a.dy_ld + col;
    V<Arch> b[NV];
    unroll<NV>([&](auto j) { b[j] = V<Arch>::load_unaligned(dy + j * W); });
    unroll<MR>([&](auto i) {
      const V<Arch> xi(x[kOneRun ? 0 : i][kOneRun ? at + i : at]);
      unroll<NV>([&](auto j) { acc[i][j] = vmath::vfma(xi, b[j], acc[i][j]); });
    });
  });
  store_tile<Arch, MR, NV>(acc, store);
}

template <class Arch, int NV>
[[gnu::always_inline]] inline void weight_grad_columns(const ConvWeightGradArgs& a, std::size_t col) {
  constexpr int MR = kRows<Arch, NV>;
  constexpr std::size_t width = NV * kW<Arch>;
  const std::size_t k = a.window.kernel, run = k * a.window.channels, rows = k * run;
  const std::size_t n_valid = a.out_channels - col < width ? a.out_channels - col : width;
  for (std::size_t r = 0; r < rows; r += MR) {
    const std::size_t m_valid = rows - r < MR ? rows - r : MR;
    std::size_t offsets[MR];
    for (int i = 0; i < MR; ++i) {
      const std::size_t row = static_cast<std::size_t>(i) < m_valid ? r + i : r;
      offsets[i] = row / run * a.window.row_floats + row % run;
    }
    const GemmTileStore store{.c = a.dw + r * a.dw_ld + col, .ldc = a.dw_ld, .m_valid = m_valid, .n_valid = n_valid};
    const Span all_rows{0, a.window.image_rows}, all_columns{0, a.window.row_pixels};
    if (m_valid == MR && r % run + MR <= run) {
      const std::size_t kw = r % run / a.window.channels, last_kw = (r % run + MR - 1) / a.window.channels;
      weight_grad_tile<Arch, MR, NV, true>(a, offsets, col, rows_inside(a.window, r / run),
                                           kw == last_kw ? columns_inside(a.window, kw) : all_columns, store);
    } else {
      weight_grad_tile<Arch, MR, NV, false>(a, offsets, col, all_rows, all_columns, store);
    }
  }
}

// The transposed tile, for AVX-512 when a window row is 3 vectors (3×3 kernels over 16
// channels, the most frequent layers of the MNIST ResNet): kChannelsT output channels (broadcast
// from dy) × the window row's vectors (loaded from x, where a window row's k·C floats lie
// contiguous): per pixel 3 loads of x and 8 of dy feed 24 FMAs, where the tile below loads 12
// scalars of x through 12 row pointers (which spill) and 1 vector of dy for 12. Each element
// still sums x·dy over the pixels in order with one FMA each, so the results are the same bits.
// Measured on an Intel Xeon 6/207, 1 thread, medians of alternating runs: backward 28x28x16 -> 16
// 5.8-6.4 -> 5.0 ms, 14x14x16 -> 16 1.34-1.38 -> 1.22-1.30 ms; with wider window rows (32 and 64
// channels) it was 1.6-2.3x slower than the tile below, so it is not used there.
inline constexpr int kChannelsT = 8;
inline constexpr int kRunVectorsT = 3;

// dw rows of window row kh (kh·run .. + kRunVectorsT·W) × channels [col, col + 8) (those below
// out_channels stored; dy is readable up to dy_ld, a multiple of 16).
template <class Arch>
[[gnu::always_inline]] inline void weight_grad_tile_t(const ConvWeightGradArgs& a, std::size_t kh, std::size_t col) {
  constexpr std::size_t W = kW<Arch>;
  constexpr int MC = kChannelsT, NR = kRunVectorsT;
  V<Arch> acc[MC][NR];
  unroll<MC>([&](auto i) { unroll<NR>([&](auto j) { acc[i][j] = V<Arch>(0.0f); }); });
  const float* x = a.window.x + kh * a.window.row_floats;
  const Span rows = rows_inside(a.window, kh), columns{0, a.window.row_pixels};
  for_pixels(a.window, rows, columns, [&](std::size_t q) __attribute__((always_inline)) {
    const float* xq = x + a.window.offsets[q];
    const float* dy = a.dy + q * a.dy_ld + col;
    V<Arch> b[NR];
    unroll<NR>([&](auto j) { b[j] = V<Arch>::load_unaligned(xq + j * W); });
    unroll<MC>([&](auto i) {
      const V<Arch> d(dy[i]);
      unroll<NR>([&](auto j) { acc[i][j] = vmath::vfma(b[j], d, acc[i][j]); });
    });
  });
  float* dw = a.dw + kh * NR * W * a.dw_ld + col;
  const std::size_t channels = a.out_channels - col < static_cast<std::size_t>(MC) ? a.out_channels - col : MC;
  alignas(64) float lanes[MC][NR * W];
  unroll<MC>([&](auto i) { unroll<NR>([&](auto j) { acc[i][j].store_aligned(&lanes[i][j * W]); }); });
  for (std::size_t r = 0; r < NR * W; ++r) {
    for (std::size_t i = 0; i < channels; ++i) dw[r * a.dw_ld + i] = lanes[i][r];
  }
}

template <class Arch>
void weight_grad(const ConvWeightGradArgs& a) {
  constexpr std::size_t W = kW<Arch>;
  if constexpr (W == 16) {
    if (a.window.kernel * a.window.channels == kRunVectorsT * W) {
      for (std::size_t col = 0; col < a.out_channels; col += kChannelsT) {
        for (std::size_t kh = 0; kh < a.window.kernel; ++kh) weight_grad_tile_t<Arch>(a, kh, col);
      }
      return;
    }
  }
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

// dst[0..n) += the tile row's lanes (a partial last vector through kernels/masked.h).
template <class Arch, int NV>
[[gnu::always_inline]] inline void add_row(const V<Arch> (&acc)[NV], float* dst, std::size_t n) {
  constexpr std::size_t W = kW<Arch>;
  unroll<NV>([&](auto j) __attribute__((always_inline)) {
    const std::size_t col = static_cast<std::size_t>(j) * W;
    if (col >= n) return;
    if (n - col >= W) {
      (V<Arch>::load_unaligned(dst + col) + acc[j]).store_unaligned(dst + col);
    } else {
      store_first<Arch>(dst + col, load_first<Arch>(dst + col, n - col) + acc[j], n - col);
    }
  });
}

// Pixels [q, q + m), dx channels from col, NV vectors wide: per MR pixels, each tap's products
// (a tile over C_out with dy's rows as "A") added into the tap's pixels of dx.
template <class Arch, int NV>
[[gnu::always_inline]] inline void input_grad_columns(const ConvInputGradArgs& a, std::size_t q, std::size_t m,
                                                      std::size_t col) {
  constexpr int MR = kRows<Arch, NV>;
  constexpr std::size_t width = NV * kW<Arch>;
  const std::size_t C = a.window.channels, k = a.window.kernel;
  const std::size_t n_valid = C - col < width ? C - col : width;
  for (std::size_t i = 0; i < m; i += MR) {
    const std::size_t m_valid = m - i < MR ? m - i : MR;
    const float* rows[MR];
    for (int t = 0; t < MR; ++t) rows[t] = a.dy + (q + i + (static_cast<std::size_t>(t) < m_valid ? t : 0)) * a.out_channels;
    for (std::size_t tap = 0; tap < k * k; ++tap) {
      V<Arch> acc[MR][NV];
      unroll<MR>([&](auto r) { unroll<NV>([&](auto j) { acc[r][j] = V<Arch>(0.0f); }); });
      accumulate<Arch, MR, NV>(rows, 1, a.out_channels, 0, a.w + tap * a.out_channels * a.w_ld + col, a.w_ld, acc);
      const std::size_t at = tap / k * a.window.row_floats + tap % k * C + col;
      unroll<MR>([&](auto r) {
        if (static_cast<std::size_t>(r) < m_valid) add_row<Arch, NV>(acc[r], a.dx + a.window.offsets[q + i + r] + at, n_valid);
      });
    }
  }
}

template <class Arch>
void input_grad(const ConvInputGradArgs& a) {
  constexpr std::size_t W = kW<Arch>;
  for (std::size_t q = 0; q < a.window.pixels; q += kStrip) {
    const std::size_t m = a.window.pixels - q < kStrip ? a.window.pixels - q : kStrip;
    for (std::size_t col = 0; col < a.window.channels;) {
      if (a.window.channels - col > W) {
        input_grad_columns<Arch, 2>(a, q, m, col);
        col += 2 * W;
      } else {
        input_grad_columns<Arch, 1>(a, q, m, col);
        col += W;
      }
    }
  }
}

// The gather form of the strided input gradient, for AVX-512 when the windows are 3×3 at stride 2
// and padding 1 and a dx row is IW pixels × NV vectors of channels (IW·NV ≤ 16 accumulators):
// dx pixel (ih, iw) sums dy pixel (oh, ow) through tap (kh, kw) wherever ih = 2·oh − 1 + kh and
// iw = 2·ow − 1 + kw. A tile is one whole dx row: per window row kh that reaches it (kh = 1 for
// even ih; 0 and 2 for odd ih) and per output channel, the 3 taps' weight vectors are loaded
// once and each of the row's OW dy values is broadcast once into the up to 3 dx pixels it
// reaches (about 2 FMAs per load, where the scatter above loads a broadcast per 1 or 2). Each dx
// element sums over kh, then co, then ow in order, in registers, and is stored once: no zeroed
// padded copy, no read-modify-write, and dx does not depend on where its image lies in the chunk.
template <class Arch, int IW, int NV>
void input_grad_gather(const ConvInputGradArgs& a) {
  constexpr std::size_t W = kW<Arch>;
  constexpr int K = static_cast<int>(kRowKernel), OW = (IW - 1) / 2 + 1;
  const std::size_t c_out = a.out_channels, out_h = a.window.image_rows, in_h = a.window.padded_rows - 2;
  const std::size_t tap_floats = c_out * a.w_ld, images = a.window.pixels / (out_h * OW);
  float* dx = a.dx;
  for (std::size_t n = 0; n < images; ++n) {
    const float* dy_image = a.dy + n * out_h * OW * c_out;
    for (std::size_t ih = 0; ih < in_h; ++ih, dx += IW * NV * W) {
      V<Arch> acc[IW][NV];
      unroll<IW>([&](auto i) { unroll<NV>([&](auto v) { acc[i][v] = V<Arch>(0.0f); }); });
      for (std::size_t kh = ih % 2 == 0 ? 1 : 0; kh < kRowKernel; kh += 2) {
        const std::size_t oh = (ih + 1 - kh) / 2;
        if (oh >= out_h) continue;
        const float* d = dy_image + oh * OW * c_out;
        const float* w = a.w + kh * kRowKernel * tap_floats;
        for (std::size_t co = 0; co < c_out; ++co, ++d, w += a.w_ld) {
          V<Arch> tap[K][NV];
          unroll<K>([&](auto kw) {
            unroll<NV>([&](auto v) {
              tap[kw][v] = in_register<Arch>(V<Arch>::load_unaligned(w + kw * tap_floats + v * W));
            });
          });
          unroll<OW>([&](auto j) __attribute__((always_inline)) {
            const V<Arch> dj(d[static_cast<std::size_t>(j) * c_out]);
            unroll<K>([&](auto kw) __attribute__((always_inline)) {
              constexpr int iw = 2 * decltype(j)::value - 1 + decltype(kw)::value;
              if constexpr (iw >= 0 && iw < IW) {
                unroll<NV>([&](auto v) __attribute__((always_inline)) {
                  acc[iw][v] = vmath::vfma(dj, tap[kw][v], acc[iw][v]);
                });
              }
            });
          });
        }
      }
      unroll<IW>([&](auto i) { unroll<NV>([&](auto v) { acc[i][v].store_unaligned(dx + (i * NV + v) * W); }); });
    }
  }
}

// Runs the gather if it applies to a (see above; a.dx: the chunk's dx unpadded), else returns
// false: 16 channels on rows of 14 (14 × 14 → 7 × 7, the ResNet's first downsampling) and 32 on
// rows of 7 or 8 (→ 4 × 4, its second).
template <class Arch>
bool input_grad_rows(const ConvInputGradArgs& a) {
  if constexpr (kW<Arch> != 16) {
    return false;
  } else {
    const ConvWindow& g = a.window;
    if (g.kernel != kRowKernel || g.stride != 2 || g.padding != 1 || a.w_ld != g.channels || g.image_rows == 0) {
      return false;
    }
    const std::size_t in_w = g.row_floats / g.channels - 2;
    if (g.row_pixels != (in_w - 1) / 2 + 1) return false;
    if (g.channels == 16 && in_w == 14) {
      input_grad_gather<Arch, 14, 1>(a);
    } else if (g.channels == 32 && in_w == 7) {
      input_grad_gather<Arch, 7, 2>(a);
    } else if (g.channels == 32 && in_w == 8) {
      input_grad_gather<Arch, 8, 2>(a);
    } else {
      return false;
    }
    return true;
  }
}

}  // namespace simdnn::internal::kernels::conv

namespace simdnn::internal {

template <class Arch>
ConvKernels make_conv_kernels() {
  namespace k = kernels::conv;
  ConvKernels table{
      .vector_floats = k::kW<Arch>,
      .forward = &k::forward<Arch>,
      .forward_dot = &k::forward_dot<Arch>,
      .weight_grad = &k::weight_grad<Arch>,
      .input_grad = &k::input_grad<Arch>,
      .input_grad_rows = &k::input_grad_rows<Arch>,
      .max_pool = &kernels::pool::max_pool<Arch>,
      .max_pool_backward = &kernels::pool::max_pool_backward<Arch>,
  };
  if constexpr (kernels::winograd::kOffered<Arch>) {  // else null: core/conv.cc runs the direct kernels
    namespace w = kernels::winograd;
    table.winograd = &w::forward<Arch>;
    table.winograd_weight_grad = &w::weight_grad<Arch>;
    table.winograd_weights = &w::weights<Arch>;
  }
  return table;
}

}  // namespace simdnn::internal
