// The GEMM driver: shape checks, the choice between the unpacked and the packed path, packing,
// cache blocking and the parallel tile loop. Everything ISA-specific is in the kernel table.
#include <simdnn/core/gemm.h>

#include <emmintrin.h>  // SSE2 is part of x86-64: the baseline may use it

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <oneapi/tbb/task_arena.h>

#include <simdnn/core/cpu_info.h>
#include <simdnn/core/denormals.h>
#include <simdnn/core/elementwise_kernels.h>
#include <simdnn/core/kernels/dispatch.h>
#include <simdnn/core/gemm_kernels.h>
#include <simdnn/core/pairwise_sum.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/threading.h>

namespace simdnn {
namespace internal {

// Columns of C per packed tile at most (a multiple of every ISA's nr, and of nc).
constexpr std::size_t kTileCols = 256;

const GemmKernels& gemm_kernels(Isa isa) {
  return kernel_table<GemmKernels>("gemm_kernels", isa, []<class Arch>() { return make_gemm_kernels<Arch>(); });
}

namespace {

std::size_t round_down(std::size_t x, std::size_t multiple) { return x / multiple * multiple; }

// L2's size in bytes, or 512 KiB where CPUID does not tell.
std::size_t l2_bytes(const CacheSizes& caches) { return caches.l2 != 0 ? caches.l2 : 512 * 1024; }

std::optional<GemmBlocking>& blocking_override() {
  static std::optional<GemmBlocking> forced;
  return forced;
}

}  // namespace

// After the analytical model of BLIS (Low et al., "Analytical modeling is enough for
// high-performance BLIS", 2016), simplified:
//  - kc: a tile's microkernel calls share their panels from L1 (run_packed_tiles reuses an
//    mr x kc panel of A across the tile's column panels while kc x nr panels of B stream by). In
//    a W-way L1 of ways of S bytes, the panels take ceil(nr·kc·4 / S) and ceil(mr·kc·4 / S) ways;
//    together they may use all ways but two (one for C's lines and the stack, one of slack for
//    the replacement policy). The largest such kc (a multiple of 16, in [64, 768]) is taken.
//  - mc: a tile's rows, whose mc x kc block of A stays in L2 beside the tile's kc x 256 of B:
//    a quarter of L2 for A.
//  - nc: the kc x nc block of packed B, shared by every thread, takes at most half of L3.
//  - a_rows_per_l1_set: A's mr rows read in place, ld apart, may map to the same L1 sets
//    (all of them where ld is a multiple of the way size); they may take all ways of a set but
//    two, for B's stream and C's lines.
GemmBlocking derive_gemm_blocking(const CacheSizes& caches, std::size_t mr, std::size_t nr) {
  const std::size_t l1 = caches.l1d != 0 ? caches.l1d : 32 * 1024;
  const std::size_t ways = caches.l1d_ways >= 4 ? caches.l1d_ways : 8;
  const std::size_t l2 = l2_bytes(caches);
  const std::size_t l3 = caches.l3 != 0 ? caches.l3 : 8 * 1024 * 1024;
  const std::size_t way = l1 / ways;
  auto ways_of = [&](std::size_t bytes) { return (bytes + way - 1) / way; };
  GemmBlocking b;
  b.kc = 64;
  for (std::size_t kc = 768; kc > 64; kc -= 16) {
    if (ways_of(nr * kc * sizeof(float)) + ways_of(mr * kc * sizeof(float)) <= ways - 2) {
      b.kc = kc;
      break;
    }
  }
  b.mc = std::clamp<std::size_t>(round_down(l2 / 4 / (b.kc * sizeof(float)), mr), mr, round_down(1024, mr));
  b.nc = std::clamp<std::size_t>(round_down(l3 / 2 / (b.kc * sizeof(float)), kTileCols), 1024, 8192);
  b.a_rows_per_l1_set = ways - 2;
  b.l1_way_bytes = way;
  return b;
}

std::size_t a_rows_per_l1_set(std::size_t rs, std::size_t rows, std::size_t kc, std::size_t way_bytes) {
  constexpr std::size_t kLine = 64, kMaxSets = 1024;
  const std::size_t sets = std::clamp<std::size_t>(way_bytes / kLine, 1, kMaxSets);
  std::array<std::size_t, kMaxSets> rows_in_set{};
  for (std::size_t r = 0; r < rows; ++r) {
    // The lines row r may touch, A's start being anywhere in a line: [first, last].
    const std::size_t start = r * rs * sizeof(float), first = start / kLine;
    const std::size_t last = (start + kc * sizeof(float) + kLine - 2) / kLine;
    for (std::size_t l = first; l <= std::min(last, first + sets - 1); ++l) ++rows_in_set[l % sets];
  }
  return *std::max_element(rows_in_set.begin(), rows_in_set.begin() + sets);
}

GemmBlocking gemm_blocking(const GemmKernels& kernels) {
  const auto mr = static_cast<std::size_t>(kernels.mr);
  if (const auto& forced = blocking_override()) {
    GemmBlocking b = *forced;
    b.kc = std::max<std::size_t>(b.kc, 1);
    b.mc = std::max(round_down(b.mc, mr), mr);
    b.nc = std::max(round_down(b.nc, kTileCols), kTileCols);
    return b;
  }
  return kernels.blocking;
}

void set_gemm_blocking_override(std::optional<GemmBlocking> blocking) { blocking_override() = blocking; }

}  // namespace internal

namespace {

using internal::GemmKernels;
using internal::GemmTileStore;

// Below this many FLOPs (2·m·n·k) packing costs more than it saves: the microkernels read A and
// B where they lie. Covers the layers of MLP training at small batch (e.g. 32 x 64 x 64).
constexpr double kUnpackedMaxFlops = 1 << 23;
// Below this many FLOPs a product runs on the calling thread: waking workers costs more.
constexpr double kSerialMaxFlops = 1 << 19;
using internal::kTileCols;
// Panels packed per parallel packing task: few, so that many threads share the packing.
constexpr std::size_t kPanelsPerPackTask = 2;

// Element (i, p) of op(X) is data[i·rs + p·cs].
struct Operand {
  const float* data;
  std::ptrdiff_t rs;
  std::ptrdiff_t cs;
  float operator()(std::size_t i, std::size_t p) const {
    return data[static_cast<std::ptrdiff_t>(i) * rs + static_cast<std::ptrdiff_t>(p) * cs];
  }
};

Operand make_operand(ConstMatrixView x, Trans trans) {
  const auto ld = static_cast<std::ptrdiff_t>(x.ld);
  return trans == Trans::no ? Operand{x.data, ld, 1} : Operand{x.data, 1, ld};
}

// A growable, 64-byte-aligned scratch buffer; grows, never shrinks, so steady state allocates
// nothing.
float* reserve(Tensor& buffer, std::size_t floats) {
  if (buffer.size() < floats) buffer = Tensor(1, floats);
  return buffer.data();
}

struct PackBuffers {
  Tensor a;
  Tensor b;
};

// The elementwise activation kernel of the ISA a call chose at its start: a call reads the
// kernel tables once, so a concurrent set_isa() affects only later calls, never half a product.
using ActivationForward = decltype(internal::ElementwiseKernels::activation_forward);

// Applies the epilogue's activation (other than the fused ReLU and identity) to rows
// [row0, row0 + rows) x columns [col0, col0 + cols) of C.
void apply_activation(ActivationForward forward, const GemmEpilogue& ep, MatrixView c,
                      std::size_t row0, std::size_t rows, std::size_t col0, std::size_t cols) {
  for (std::size_t i = row0; i < row0 + rows; ++i) {
    float* x = c.row(i) + col0;
    forward(ep.activation, x, x, cols);
  }
}

bool activation_is_fused(const GemmEpilogue& ep) {
  return ep.activation.kind == Activation::identity || ep.activation.kind == Activation::relu;
}

// The store of the micro-tile at (i0, j0) of C (rows x cols of it inside C) after one depth
// block of a product: beta on the first block (1 after it: the blocks add up in C), the bias and
// the fused ReLU on the last.
GemmTileStore tile_store(MatrixView c, std::size_t i0, std::size_t j0, std::size_t rows, std::size_t cols,
                         float alpha, float beta, bool first, bool last, const GemmEpilogue& ep) {
  return {.c = c.row(i0) + j0,
          .ldc = c.ld,
          .m_valid = rows,
          .n_valid = cols,
          .alpha = alpha,
          .beta = first ? beta : 1.0f,
          .bias = last && ep.bias != nullptr ? ep.bias + j0 : nullptr,
          .relu = last && ep.activation.kind == Activation::relu,
          .gate = last && ep.relu_gate.data != nullptr ? ep.relu_gate.row(i0) + j0 : nullptr,
          .ldg = ep.relu_gate.ld};
}

// Whether the microkernels read op(A) where it lies rather than from packed panels: when its rows
// are contiguous (op(A) = A, row-major) and the blocking allows it at this leading dimension
// (GemmBlocking::a_in_place, a_rows_per_l1_set).
// run_packed_tiles keeps a row panel's mr rows in L1 across a tile's column panels either way, so
// packing them would only copy them; the strided microkernel reaches the rows through one base
// and scaled indices, as the packed one reaches its panel. Measured on 1 AMD EPYC Zen 2 core
// against packing (medians of 3 alternating runs): 256³ 90.4 -> 93.9 GFLOP/s, 1024³ 89.0 -> 91.8,
// 2048³ 87.5 -> 89.5, 256 x 256 x 784 86.7 -> 92.1; at 2 threads 256³ 156 -> 170, 256 x 256 x 784
// 155 -> 165, the others within noise. On the lent 16-core Intel Xeon 6/207 (AVX-512, 12 x 32
// tiles; 5 alternating rounds, medians, GFLOP/s) at 16 threads: 1024 x 256 x 256 676 -> 808 (N N)
// and 663 -> 794 (N T), 256³ 372 -> 448; 1 thread within that machine's noise. There 1024³ (a
// leading dimension of 4 KiB: all 12 rows in the same L1 sets) went 1068 -> 1019, and the L1
// limit (GemmBlocking::a_rows_per_l1_set) packs it; 4 to 10 rows of 12 in a set were not measured
// there (on Zen 2, 6 rows in a set of 8 ways, 1024³, were faster in place). Each element sums the
// same products in the same order, so the bits are the same.
bool reads_a_in_place(const Operand& a, std::size_t k, std::size_t mr, const internal::GemmBlocking& blocking) {
  if (a.cs != 1 || !blocking.a_in_place) return false;
  return mr <= blocking.a_rows_per_l1_set ||  // every leading dimension fits (6-row panels on 8 ways)
         internal::a_rows_per_l1_set(a.rs, mr, std::min(k, blocking.kc), blocking.l1_way_bytes) <=
             blocking.a_rows_per_l1_set;
}

// The panels of one depth block (kc deep): the panel of op(B) for column j (a multiple of nr from
// col0), packed; and op(A)'s, packed (a_rs == 0: the panel for row i, a multiple of mr from row0)
// or in place (a_in_place: row i at a + i·a_rs, its kc floats contiguous).
struct PackedPanels {
  const float* a;
  std::size_t row0;
  const float* b;
  std::size_t col0;
  std::size_t kc, mr, nr;
  std::ptrdiff_t a_rs = 0;
  const float* a_panel(std::size_t i) const { return a + (i - row0) / mr * kc * mr; }
  const float* b_panel(std::size_t j) const { return b + (j - col0) / nr * kc * nr; }
};

// The panels of the depth block from pc: op(B)'s at b_pack (its columns from col0), op(A)'s at
// a_pack (its rows from row0; null when A is read in place).
PackedPanels depth_block_panels(const Operand& a, const float* a_pack, std::size_t row0, const float* b_pack,
                                std::size_t col0, std::size_t pc, std::size_t kc, std::size_t mr, std::size_t nr) {
  if (a_pack == nullptr) return {a.data + pc, 0, b_pack, col0, kc, mr, nr, a.rs};
  return {a_pack, row0, b_pack, col0, kc, mr, nr};
}

// The micro-tiles of rows [i_begin, i_end) x columns [j_begin, j_end) of C on those panels, row
// panels outermost: each panel of op(A) stays in L1 while the tile's panels of op(B) come from L2,
// and C is walked along its rows. (Column panels outermost, as BLIS orders them, ran 512³ to
// 2048³ at 68-80 % of the FMA peak on 1 Zen 2 core against 79-85 % this way; the order of each
// element's sum is the same either way.) After the last depth block, the activation the tile
// store does not fuse. The ends are C's edges or whole panels.
void run_packed_tiles(const GemmKernels& kern, const PackedPanels& p, ActivationForward forward, MatrixView c,
                      const GemmEpilogue& ep, float alpha, float beta, bool first, bool last, std::size_t i_begin,
                      std::size_t i_end, std::size_t j_begin, std::size_t j_end) {
  for (std::size_t i0 = i_begin; i0 < i_end; i0 += p.mr) {
    for (std::size_t j0 = j_begin; j0 < j_end; j0 += p.nr) {
      const GemmTileStore st =
          tile_store(c, i0, j0, std::min(p.mr, i_end - i0), std::min(p.nr, j_end - j0), alpha, beta, first, last, ep);
      const auto b_rs = static_cast<std::ptrdiff_t>(p.nr);
      if (p.a_rs != 0) {
        const float* const a_rows = p.a + static_cast<std::ptrdiff_t>(i0) * p.a_rs;
        kern.strided[kern.nv - 1][st.m_valid - 1](p.kc, a_rows, p.a_rs, 1, p.b_panel(j0), b_rs, st);
      } else {
        kern.packed(p.kc, p.a_panel(i0), 0, 0, p.b_panel(j0), b_rs, st);
      }
    }
  }
  if (last && !activation_is_fused(ep)) apply_activation(forward, ep, c, i_begin, i_end - i_begin, j_begin, j_end - j_begin);
}

// The ReLU backward gate of GemmEpilogue::relu_gate on one value.
float gated(float v, float g) { return std::isnan(g) ? g : g > 0.0f ? v : 0.0f; }

// k == 0 or alpha == 0: C = f(beta·C + bias), or gated.
void scale_only(ActivationForward forward, float beta, MatrixView c, const GemmEpilogue& ep) {
  for (std::size_t i = 0; i < c.rows; ++i) {
    float* row = c.row(i);
    for (std::size_t j = 0; j < c.cols; ++j) {
      float v = beta == 0.0f ? 0.0f : beta * row[j];
      if (ep.bias != nullptr) v += ep.bias[j];
      row[j] = ep.relu_gate.data != nullptr ? gated(v, ep.relu_gate(i, j)) : v;
    }
  }
  if (ep.activation.kind != Activation::identity) {
    apply_activation(forward, ep, c, 0, c.rows, 0, c.cols);
  }
}

// dst[p·dst_ld + j] = src[j·src_ld + p] for j < rows, p < cols: a transposing copy, in 4x4
// blocks of SSE2 registers (packing reads op(X) along its contiguous dimension).
void transpose_copy(const float* src, std::size_t src_ld, std::size_t rows, std::size_t cols,
                    float* dst, std::size_t dst_ld) {
  std::size_t j = 0;
  for (; j + 4 <= rows; j += 4) {
    const float* s0 = src + j * src_ld;
    std::size_t p = 0;
    for (; p + 4 <= cols; p += 4) {
      __m128 r0 = _mm_loadu_ps(s0 + p);
      __m128 r1 = _mm_loadu_ps(s0 + src_ld + p);
      __m128 r2 = _mm_loadu_ps(s0 + 2 * src_ld + p);
      __m128 r3 = _mm_loadu_ps(s0 + 3 * src_ld + p);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(dst + p * dst_ld + j, r0);
      _mm_storeu_ps(dst + (p + 1) * dst_ld + j, r1);
      _mm_storeu_ps(dst + (p + 2) * dst_ld + j, r2);
      _mm_storeu_ps(dst + (p + 3) * dst_ld + j, r3);
    }
    for (; p < cols; ++p) {
      for (std::size_t r = 0; r < 4; ++r) dst[p * dst_ld + j + r] = s0[r * src_ld + p];
    }
  }
  if (j + 2 <= rows) {  // two rows (mr = 6 leaves them): interleaved pairs, stored 2 floats at a time
    const float* s0 = src + j * src_ld;
    std::size_t p = 0;
    for (; p + 4 <= cols; p += 4) {
      const __m128 r0 = _mm_loadu_ps(s0 + p);
      const __m128 r1 = _mm_loadu_ps(s0 + src_ld + p);
      const __m128 lo = _mm_unpacklo_ps(r0, r1);  // (p, j) (p, j + 1) (p + 1, j) (p + 1, j + 1)
      const __m128 hi = _mm_unpackhi_ps(r0, r1);
      _mm_storel_pi(reinterpret_cast<__m64*>(dst + p * dst_ld + j), lo);
      _mm_storeh_pi(reinterpret_cast<__m64*>(dst + (p + 1) * dst_ld + j), lo);
      _mm_storel_pi(reinterpret_cast<__m64*>(dst + (p + 2) * dst_ld + j), hi);
      _mm_storeh_pi(reinterpret_cast<__m64*>(dst + (p + 3) * dst_ld + j), hi);
    }
    for (; p < cols; ++p) {
      dst[p * dst_ld + j] = s0[p];
      dst[p * dst_ld + j + 1] = s0[src_ld + p];
    }
    j += 2;
  }
  for (; j < rows; ++j) {
    for (std::size_t p = 0; p < cols; ++p) dst[p * dst_ld + j] = src[j * src_ld + p];
  }
}

// dst[p·dst_ld + j] = src[p·ld + j] for p < k, j < width: the rows of a panel (at most
// kMaxPanelWidth floats). A row is a few dozen bytes, so when the rows are packed back to back
// (dst_ld == width) each is copied with its width as a constant, a few register moves: a memcpy
// call per row was most of the time B's packing took.
constexpr std::size_t kMaxPanelWidth = 32;  // AVX-512's nr

template <std::size_t kWidth>
void copy_panel_rows(const float* src, std::ptrdiff_t ld, std::size_t k, float* dst) {
  for (std::size_t p = 0; p < k; ++p) {
    std::memcpy(dst + p * kWidth, src + static_cast<std::ptrdiff_t>(p) * ld, sizeof(float[kWidth]));
  }
}
template <std::size_t... W>
void copy_panel_rows(const float* src, std::ptrdiff_t ld, std::size_t k, std::size_t width, float* dst,
                     std::size_t dst_ld, std::index_sequence<W...>) {
  if (dst_ld == width && ((width == W + 1 ? (copy_panel_rows<W + 1>(src, ld, k, dst), true) : false) || ...)) return;
  for (std::size_t p = 0; p < k; ++p) {
    std::memcpy(dst + p * dst_ld, src + static_cast<std::ptrdiff_t>(p) * ld, width * sizeof(float));
  }
}
void copy_panel_rows(const float* src, std::ptrdiff_t ld, std::size_t k, std::size_t width, float* dst,
                     std::size_t dst_ld) {
  copy_panel_rows(src, ld, k, width, dst, dst_ld, std::make_index_sequence<kMaxPanelWidth>{});
}

// Copies the k x nr panel of op(B) starting at (p0, j0) into dst (dst[p·nr + j]),
// zero-padding columns past n.
void pack_b_panel(const Operand& b, std::size_t p0, std::size_t k, std::size_t j0, std::size_t n,
                  std::size_t nr, float* dst) {
  const std::size_t cols = std::min(nr, n - j0);
  if (b.cs == 1) {
    copy_panel_rows(&b.data[static_cast<std::ptrdiff_t>(p0) * b.rs + static_cast<std::ptrdiff_t>(j0)], b.rs, k, cols,
                    dst, nr);
  } else {  // op(B) = Bᵀ: rows of B are contiguous along p
    transpose_copy(&b.data[static_cast<std::ptrdiff_t>(j0) * b.cs + static_cast<std::ptrdiff_t>(p0)],
                   static_cast<std::size_t>(b.cs), cols, k, dst, nr);
  }
  if (cols < nr) {
    for (std::size_t p = 0; p < k; ++p) std::fill(dst + p * nr + cols, dst + (p + 1) * nr, 0.0f);
  }
}

// Copies the mr x k panel of op(A) starting at (i0, p0) into dst, k-major (dst[p·mr + i]),
// zero-padding rows past m.
void pack_a_panel(const Operand& a, std::size_t i0, std::size_t m, std::size_t p0, std::size_t k,
                  std::size_t mr, float* dst) {
  const std::size_t rows = std::min(mr, m - i0);
  if (a.rs == 1) {  // op(A) = Aᵀ: columns of op(A) are contiguous
    copy_panel_rows(&a.data[static_cast<std::ptrdiff_t>(i0) + static_cast<std::ptrdiff_t>(p0) * a.cs], a.cs, k, rows,
                    dst, mr);
  } else {
    transpose_copy(&a.data[static_cast<std::ptrdiff_t>(i0) * a.rs + static_cast<std::ptrdiff_t>(p0)],
                   static_cast<std::size_t>(a.rs), rows, k, dst, mr);
  }
  if (rows < mr) {
    for (std::size_t p = 0; p < k; ++p) std::fill(dst + p * mr + rows, dst + (p + 1) * mr, 0.0f);
  }
}

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// How the GEMM paths cut an m x n block of C (depth kc) into tiles, of whole micro-panels
// (mr rows, nr columns): at most mc rows and kTileCols columns; then, while there are fewer than
// kTargetTiles tiles (enough for 16 threads to balance), the longer side is cut into one more
// tile, as long as a tile keeps at least kMinTileFlops (so a task's cost, about a microsecond,
// stays small beside its work). Depends only on the shape, never on the thread count; and which
// tile computes an element never changes its value, since every element sums its k products in
// the same order whatever the grid.
constexpr std::size_t kTargetTiles = 64;
constexpr double kMinTileFlops = 1 << 19;

struct TileGrid {
  std::size_t tile_rows, row_tiles, tile_cols, col_tiles;
};

TileGrid make_tile_grid(std::size_t m, std::size_t n, std::size_t kc, std::size_t mr, std::size_t mc,
                        std::size_t nr) {
  const std::size_t row_panels = ceil_div(m, mr);
  const std::size_t col_panels = ceil_div(n, nr);
  std::size_t row_tiles = ceil_div(m, mc);
  std::size_t col_tiles = ceil_div(n, kTileCols);
  auto rows_of = [&](std::size_t tiles) { return ceil_div(row_panels, tiles) * mr; };
  auto cols_of = [&](std::size_t tiles) { return ceil_div(col_panels, tiles) * nr; };
  auto big_enough = [&](std::size_t rows, std::size_t cols) {
    return 2.0 * static_cast<double>(rows) * static_cast<double>(cols) * static_cast<double>(kc) >= kMinTileFlops;
  };
  while (row_tiles * col_tiles < kTargetTiles) {
    const bool rows_can = row_tiles < row_panels && big_enough(rows_of(row_tiles + 1), cols_of(col_tiles));
    const bool cols_can = col_tiles < col_panels && big_enough(rows_of(row_tiles), cols_of(col_tiles + 1));
    if (!rows_can && !cols_can) break;
    if (rows_can && (!cols_can || rows_of(row_tiles) >= cols_of(col_tiles))) {
      ++row_tiles;
    } else {
      ++col_tiles;
    }
  }
  TileGrid g;
  g.tile_rows = rows_of(row_tiles);
  g.row_tiles = ceil_div(m, g.tile_rows);
  g.tile_cols = cols_of(col_tiles);
  g.col_tiles = ceil_div(n, g.tile_cols);
  return g;
}

// Small products: the strided microkernels read A in place and B in place when a full panel of
// its rows is contiguous; edge columns and transposed B go through a small per-thread panel.
void gemm_unpacked(const GemmKernels& kern, std::size_t mc, ActivationForward forward,
                   const Operand& a, const Operand& b, std::size_t m, std::size_t n, std::size_t k,
                   float alpha, float beta, MatrixView c, const GemmEpilogue& ep, bool parallel) {
  const std::size_t w = static_cast<std::size_t>(kern.vector_width);
  const std::size_t nr = static_cast<std::size_t>(kern.nr());
  const std::size_t mr = static_cast<std::size_t>(kern.mr);

  auto run_panel = [&](std::size_t i_begin, std::size_t i_end, std::size_t j0, std::size_t cols) {
    const std::size_t nv = ceil_div(cols, w);
    const float* b_panel;
    std::ptrdiff_t b_rs;
    if (b.cs == 1 && cols == nv * w) {
      b_panel = b.data + j0;
      b_rs = b.rs;
    } else {
      thread_local Tensor edge;
      float* dst = reserve(edge, k * nv * w);
      pack_b_panel(b, 0, k, j0, n, nv * w, dst);
      b_panel = dst;
      b_rs = static_cast<std::ptrdiff_t>(nv * w);
    }
    for (std::size_t i0 = i_begin; i0 < i_end; i0 += mr) {
      const GemmTileStore st = tile_store(c, i0, j0, std::min(mr, i_end - i0), cols, alpha, beta, true, true, ep);
      kern.strided[nv - 1][st.m_valid - 1](k, a.data + static_cast<std::ptrdiff_t>(i0) * a.rs, a.rs, a.cs,
                                           b_panel, b_rs, st);
    }
  };
  auto run_block = [&](std::size_t i_begin, std::size_t i_end, std::size_t j_begin, std::size_t j_end) {
    for (std::size_t j0 = j_begin; j0 < j_end; j0 += nr) run_panel(i_begin, i_end, j0, std::min(nr, j_end - j0));
    if (!activation_is_fused(ep)) apply_activation(forward, ep, c, i_begin, i_end - i_begin, j_begin, j_end - j_begin);
  };
  if (!parallel) {  // one block: the grid's tiles are whole panels, so the panels are the same
    run_block(0, m, 0, n);
    return;
  }
  const TileGrid grid = make_tile_grid(m, n, k, mr, mc, nr);
  internal::parallel_for_tiles(grid.row_tiles * grid.col_tiles, [&](std::size_t tile) {
    const std::size_t i_begin = (tile / grid.col_tiles) * grid.tile_rows;
    const std::size_t j_begin = (tile % grid.col_tiles) * grid.tile_cols;
    run_block(i_begin, std::min(m, i_begin + grid.tile_rows), j_begin, std::min(n, j_begin + grid.tile_cols));
  });
}

// Large products: blocks of nc columns and kc depth, each packed into panels of op(B) and (unless
// a_in_place) of op(A) and then run by the microkernel over the tiles of make_tile_grid. The
// packing of the next block shares the parallel loop that computes this one (double-buffered), so
// a product of B blocks forks and joins B + 1 times, not 2·B: with many threads and small blocks
// those joins cost more than the packing.
//
// The pack buffers are the calling thread's (thread_local: steady state allocates nothing) and
// stay in use while this thread waits inside parallel_for_tiles. That is safe because the caller
// runs this function inside this_task_arena::isolate (and parallel_for_tiles isolates each loop
// too): while it waits, this thread runs only tiles of this product, never another task of the
// caller's that could call gemm and reuse (or reallocate) the same buffers.
struct PackedBlock {
  std::size_t jc, nc, pc, kc;  // columns [jc, jc + nc), depth [pc, pc + kc)
  bool first() const { return pc == 0; }
};

void gemm_packed(const GemmKernels& kern, const internal::GemmBlocking& blocking, bool a_in_place,
                 ActivationForward forward, const Operand& a, const Operand& b, std::size_t m,
                 std::size_t n, std::size_t k, float alpha, float beta, MatrixView c,
                 const GemmEpilogue& ep) {
  const std::size_t nr = static_cast<std::size_t>(kern.nr());
  const std::size_t mr = static_cast<std::size_t>(kern.mr);
  // The depth is cut into blocks of equal size (at most the blocking's kc): k = 256 with kc 224
  // gives 128 + 128, not 224 + 32, whose thin second pass would read and write C for little work.
  const std::size_t kc_max = ceil_div(k, ceil_div(k, blocking.kc));
  const std::size_t nc_max = blocking.nc;
  const std::size_t k_blocks = ceil_div(k, kc_max);
  const std::size_t blocks = ceil_div(n, nc_max) * k_blocks;
  const std::size_t a_panels = a_in_place ? 0 : ceil_div(m, mr);
  auto block = [&](std::size_t t) {
    PackedBlock x;
    x.jc = t / k_blocks * nc_max;
    x.nc = std::min(nc_max, n - x.jc);
    x.pc = t % k_blocks * kc_max;
    x.kc = std::min(kc_max, k - x.pc);
    return x;
  };

  // One thread gains nothing from the overlap, and its second pair of buffers would push the
  // first out of L2: it packs each block into the same buffers just before computing it.
  const bool overlap = num_threads() > 1;
  thread_local PackBuffers buffers[2];
  float* a_pack[2] = {};
  float* b_pack[2] = {};
  // Sized for blocks of the blocking's kc, not kc_max: kc_max grows as k shrinks past a multiple
  // of kc (k = 800, kc 256: 4 blocks of 200; k = 500: 2 of 250), and a smaller last batch would
  // then grow the buffers of a warm step.
  const std::size_t depth = std::min(k, blocking.kc);
  for (int i = 0; i < (overlap ? 2 : 1); ++i) {
    if (!a_in_place) a_pack[i] = reserve(buffers[i].a, a_panels * mr * depth);
    b_pack[i] = reserve(buffers[i].b, ceil_div(std::min(n, nc_max), nr) * nr * depth);
  }

  // Packing a block: the first tasks pack panels of B, the rest (if any) panels of A.
  auto pack_tasks = [&](const PackedBlock& x) {
    return ceil_div(ceil_div(x.nc, nr), kPanelsPerPackTask) + ceil_div(a_panels, kPanelsPerPackTask);
  };
  auto pack = [&](const PackedBlock& x, std::size_t task, float* a_dst, float* b_dst) {
    const std::size_t b_panels = ceil_div(x.nc, nr);
    const std::size_t b_tasks = ceil_div(b_panels, kPanelsPerPackTask);
    if (task < b_tasks) {
      const std::size_t end = std::min(b_panels, (task + 1) * kPanelsPerPackTask);
      for (std::size_t jp = task * kPanelsPerPackTask; jp < end; ++jp) {
        pack_b_panel(b, x.pc, x.kc, x.jc + jp * nr, x.jc + x.nc, nr, b_dst + jp * x.kc * nr);
      }
      return;
    }
    task -= b_tasks;
    const std::size_t end = std::min(a_panels, (task + 1) * kPanelsPerPackTask);
    for (std::size_t ip = task * kPanelsPerPackTask; ip < end; ++ip) {
      pack_a_panel(a, ip * mr, m, x.pc, x.kc, mr, a_dst + ip * x.kc * mr);
    }
  };
  auto compute_tile = [&](const PackedBlock& x, const TileGrid& grid, std::size_t tile, const float* a_src,
                          const float* b_src) {
    const bool last = x.pc + x.kc == k;
    const std::size_t i_begin = (tile / grid.col_tiles) * grid.tile_rows;
    const std::size_t i_end = std::min(m, i_begin + grid.tile_rows);
    const std::size_t j_begin = x.jc + (tile % grid.col_tiles) * grid.tile_cols;
    const std::size_t j_end = std::min(x.jc + x.nc, j_begin + grid.tile_cols);
    run_packed_tiles(kern, depth_block_panels(a, a_src, 0, b_src, x.jc, x.pc, x.kc, mr, nr), forward, c, ep, alpha,
                     beta, x.first(), last, i_begin, i_end, j_begin, j_end);
  };

  for (std::size_t t = 0; t < blocks; ++t) {
    const PackedBlock cur = block(t);
    if (t == 0 || !overlap) {  // else the previous loop packed it
      internal::parallel_for_tiles(pack_tasks(cur), [&](std::size_t task) { pack(cur, task, a_pack[0], b_pack[0]); });
    }
    const std::size_t now = overlap ? t % 2 : 0;
    const bool pack_next = overlap && t + 1 < blocks;
    const PackedBlock next = pack_next ? block(t + 1) : cur;
    const TileGrid grid = make_tile_grid(m, cur.nc, cur.kc, mr, blocking.mc, nr);
    const std::size_t tiles = grid.row_tiles * grid.col_tiles;
    const std::size_t packs = pack_next ? pack_tasks(next) : 0;
    internal::parallel_for_tiles(tiles + packs, [&](std::size_t task) {
      if (task < tiles) {
        compute_tile(cur, grid, task, a_pack[now], b_pack[now]);
      } else {
        pack(next, task - tiles, a_pack[1 - now], b_pack[1 - now]);
      }
    });
  }
}

// Products small enough for regions: C is cut into one region per thread, each a task that packs
// its own panels of op(B) (and of op(A) unless it is read in place) for every depth block and
// computes its micro-tiles as one thread computes a whole product. One fork-join per product
// instead of gemm_packed's one per depth block and its packing, and every panel a thread packs is
// its own. The depth blocks are gemm_packed's, so each element sums the same blocks in the same
// order: the bits do not depend on the cut, which may therefore follow the thread count.
// The price is operands packed or read several times: each of the R row regions packs op(B) in
// full, each of the C column regions packs op(A) (or reads it in place). Of the cuts R x C into
// as many regions as threads, the one that moves the fewest floats is taken, a float of a
// transposing copy (op(A) = A, op(B) = Bᵀ) counting twice a row copy (it takes about twice as
// long), and one read in place half a copy (a read without the copy's write). Regions are used
// while a region's packed operands over the whole depth ((rows + cols)·k floats, or cols·k with
// A in place) fit in half of L2. Measured on an Intel Xeon 6/207 with 2 vCPUs
// (docs/bench_json/intel-xeon-emr/BENCHMARKS.notes.md, "Session 15"): 256³ went from 1.3x to
// 1.4-1.9x its 1-thread speed; 512³ and 256 x 512 x 512 moved within noise either way and
// 256 x 256 x 784 gained 2-13 % (all three beyond half of L2: they keep the shared panels); at
// 1024³ the shared panels were 15-20 % faster.
struct RegionCut {
  std::size_t row_regions, col_regions;
};

std::optional<RegionCut> region_cut(const Operand& a, const Operand& b, std::size_t m, std::size_t n, std::size_t k,
                                    std::size_t mr, std::size_t nr, bool a_in_place, std::size_t threads) {
  const std::size_t row_panels = ceil_div(m, mr), col_panels = ceil_div(n, nr);
  const double wa = a_in_place ? 0.5 : a.rs == 1 ? 1.0 : 2.0, wb = b.cs == 1 ? 1.0 : 2.0;
  const std::size_t half_l2 = internal::l2_bytes(cache_sizes()) / 2;
  std::optional<RegionCut> best;
  double best_cost = 0.0;
  for (std::size_t rows = threads; rows >= 1; --rows) {  // on a tie, fewer column regions
    const RegionCut cut{rows, threads / rows};
    if (threads % rows != 0 || cut.row_regions > row_panels || cut.col_regions > col_panels) continue;
    const std::size_t region_rows = ceil_div(row_panels, cut.row_regions) * mr;
    const std::size_t region_cols = ceil_div(col_panels, cut.col_regions) * nr;
    if (((a_in_place ? 0 : region_rows) + region_cols) * k * sizeof(float) > half_l2) continue;
    const double cost = wa * static_cast<double>(m * cut.col_regions) + wb * static_cast<double>(n * cut.row_regions);
    if (!best || cost < best_cost) best = cut, best_cost = cost;
  }
  return best;
}

// Region (row_region, col_region) of the cut: rows [i_begin, i_end) x columns [j_begin, j_end),
// whole panels of mr rows and nr columns but at C's edges.
void gemm_region(const GemmKernels& kern, const internal::GemmBlocking& blocking, bool a_in_place,
                 ActivationForward forward,
                 const Operand& a, const Operand& b, std::size_t k, float alpha, float beta, MatrixView c,
                 const GemmEpilogue& ep, std::size_t i_begin, std::size_t i_end, std::size_t j_begin,
                 std::size_t j_end) {
  const std::size_t nr = static_cast<std::size_t>(kern.nr());
  const std::size_t mr = static_cast<std::size_t>(kern.mr);
  const std::size_t kc_max = ceil_div(k, ceil_div(k, blocking.kc));  // gemm_packed's depth blocks
  const std::size_t nc_max = std::min(blocking.nc, ceil_div(j_end - j_begin, nr) * nr);
  const std::size_t mc_max = std::min(blocking.mc, ceil_div(i_end - i_begin, mr) * mr);
  // This thread's own (not gemm_packed's, which its caller may hold while it waits): the task
  // waits for nothing, so no other call can reuse them meanwhile.
  thread_local PackBuffers buffers;  // sized as gemm_packed's, for blocks of the blocking's kc
  float* const a_pack = a_in_place ? nullptr : reserve(buffers.a, mc_max * std::min(k, blocking.kc));
  float* const b_pack = reserve(buffers.b, nc_max * std::min(k, blocking.kc));
  for (std::size_t jc = j_begin; jc < j_end; jc += nc_max) {
    const std::size_t nc = std::min(nc_max, j_end - jc);
    for (std::size_t pc = 0; pc < k; pc += kc_max) {
      const std::size_t kc = std::min(kc_max, k - pc);
      const bool last = pc + kc == k;
      for (std::size_t jp = 0; jp * nr < nc; ++jp) pack_b_panel(b, pc, kc, jc + jp * nr, jc + nc, nr, b_pack + jp * kc * nr);
      for (std::size_t ic = i_begin; ic < i_end; ic += mc_max) {
        const std::size_t mc = std::min(mc_max, i_end - ic);
        for (std::size_t ip = 0; a_pack != nullptr && ip * mr < mc; ++ip) {
          pack_a_panel(a, ic + ip * mr, ic + mc, pc, kc, mr, a_pack + ip * kc * mr);
        }
        run_packed_tiles(kern, depth_block_panels(a, a_pack, ic, b_pack, jc, pc, kc, mr, nr), forward, c, ep, alpha,
                         beta, pc == 0, last, ic, ic + mc, jc, jc + nc);
      }
    }
  }
}

void gemm_regions(const GemmKernels& kern, const internal::GemmBlocking& blocking, bool a_in_place,
                  ActivationForward forward,
                  const Operand& a, const Operand& b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  float beta, MatrixView c, const GemmEpilogue& ep, RegionCut cut) {
  const std::size_t mr = static_cast<std::size_t>(kern.mr), nr = static_cast<std::size_t>(kern.nr());
  const std::size_t row_panels = ceil_div(m, mr), col_panels = ceil_div(n, nr);
  internal::parallel_for_tiles(cut.row_regions * cut.col_regions, [&](std::size_t region) {
    const std::size_t rr = region / cut.col_regions, cr = region % cut.col_regions;
    const std::size_t i_begin = row_panels * rr / cut.row_regions * mr;
    const std::size_t i_end = std::min(m, row_panels * (rr + 1) / cut.row_regions * mr);
    const std::size_t j_begin = col_panels * cr / cut.col_regions * nr;
    const std::size_t j_end = std::min(n, col_panels * (cr + 1) / cut.col_regions * nr);
    gemm_region(kern, blocking, a_in_place, forward, a, b, k, alpha, beta, c, ep, i_begin, i_end, j_begin, j_end);
  });
}

bool overlaps(ConstMatrixView x, const float* begin, const float* end) {
  if (x.rows == 0 || x.cols == 0) return false;
  const float* x_end = x.data + (x.rows - 1) * x.ld + x.cols;
  return x.data < end && begin < x_end;
}

struct GemmShape {
  std::size_t m, n, k;
};

// GemmEpilogue::relu_gate's rules, or throws naming what breaks them.
void check_gate(const GemmEpilogue& ep, MatrixView c) {
  check_view("gemm", "relu_gate", ep.relu_gate);
  if (ep.relu_gate.rows != c.rows || ep.relu_gate.cols != c.cols) {
    throw ShapeError("gemm: relu_gate is " + shape_string(ep.relu_gate.rows, ep.relu_gate.cols) + " but C is " +
                     shape_string(c.rows, c.cols));
  }
  if (ep.bias != nullptr || ep.activation.kind != Activation::identity) {
    throw std::invalid_argument("gemm: relu_gate needs no bias and the identity activation, got " +
                                std::string(ep.bias != nullptr ? "a bias" : "the activation ") +
                                (ep.bias != nullptr ? "" : activation_name(ep.activation.kind)));
  }
  if (c.rows != 0 && c.cols != 0 && overlaps(ep.relu_gate, c.data, c.data + (c.rows - 1) * c.ld + c.cols)) {
    throw std::invalid_argument("gemm: C overlaps relu_gate");
  }
}

// The shape of op(A)·op(B) into C, or throws naming `op` and the mismatched shapes, or an output
// that overlaps an input or the bias.
GemmShape checked_shape(const char* op, Trans trans_a, Trans trans_b, ConstMatrixView a, ConstMatrixView b,
                        MatrixView c, const float* bias) {
  check_view(op, "A", a);
  check_view(op, "B", b);
  check_view(op, "C", c);
  const std::size_t m = trans_a == Trans::no ? a.rows : a.cols;
  const std::size_t k = trans_a == Trans::no ? a.cols : a.rows;
  const std::size_t kb = trans_b == Trans::no ? b.rows : b.cols;
  const std::size_t n = trans_b == Trans::no ? b.cols : b.rows;
  if (k != kb) {
    throw ShapeError(std::string(op) + ": op(A) is " + shape_string(m, k) + " but op(B) is " + shape_string(kb, n) +
                     " (inner dimensions must match)");
  }
  if (c.rows != m || c.cols != n) {
    throw ShapeError(std::string(op) + ": op(A)·op(B) is " + shape_string(m, n) + " but C is " +
                     shape_string(c.rows, c.cols));
  }
  if (m == 0 || n == 0) return {m, n, k};
  const float* c_end = c.data + (c.rows - 1) * c.ld + c.cols;
  if (overlaps(a, c.data, c_end) || overlaps(b, c.data, c_end) ||
      (bias != nullptr && bias < c_end && c.data < bias + n)) {
    throw std::invalid_argument(std::string(op) + ": C overlaps A, B or the bias");
  }
  return {m, n, k};
}

using AddKernel = decltype(internal::ElementwiseKernels::add);

// dst += src elementwise (same shapes): one call where both are contiguous, else row by row (an
// edge tile's padding columns, past cols, are never read: they hold what an earlier tile left).
// In row tiles of about kAddTileFloats, in parallel from 4 tiles: at 2 threads the deep chunks'
// tree adds and the final add into C ran on one thread.
constexpr std::size_t kAddTileFloats = 16384;
void add_rows(MatrixView dst, ConstMatrixView src, AddKernel add) {
  const std::size_t per = std::max<std::size_t>(1, kAddTileFloats / dst.cols);
  const std::size_t tiles = ceil_div(dst.rows, per);
  auto tile = [&](std::size_t t) {
    const std::size_t r1 = std::min(dst.rows, (t + 1) * per);
    if (dst.ld == dst.cols && src.ld == src.cols) {
      add(dst.row(t * per), src.row(t * per), dst.row(t * per), (r1 - t * per) * dst.cols);
      return;
    }
    for (std::size_t r = t * per; r < r1; ++r) add(dst.row(r), src.row(r), dst.row(r), dst.cols);
  };
  if (tiles < 4) {
    for (std::size_t t = 0; t < tiles; ++t) tile(t);
  } else {
    internal::parallel_for_tiles(tiles, tile);
  }
}

// One tile of gemm_depth_chunks for chunks of at most kc / 2: rows [i0, i0 + rows) x columns
// [j0, j0 + cols) of C (at most mr x nr) += the tree sum of the chunks' products, with one tile
// buffer per level in L1. Each product is the strided microkernel's over the chunk's depth in one
// block; the chunk's own gemm() may run the packed microkernel instead, which sums every element
// in the same FMA chain, so the bits are the same. A pair's second product is stored onto the
// first's buffer: the microkernel's C + acc (beta 1) is the pair's sum with one rounding.
class DepthChunkTile {
 public:
  DepthChunkTile(const GemmKernels& kern, const Operand& a, const Operand& b, std::size_t n,
                 std::span<const std::size_t> ends)
      : kern_(kern), a_(a), b_(b), n_(n), ends_(ends),
        tile_floats_(static_cast<std::size_t>(kern.mr) * static_cast<std::size_t>(kern.nr())) {
    thread_local Tensor buffers;  // used between waits only: no other task can reuse it meanwhile
    levels_ = reserve(buffers, internal::pairwise_tree_levels(ends.size()) * tile_floats_);
  }

  void add_to(MatrixView c, std::size_t i0, std::size_t rows, std::size_t j0, std::size_t cols, AddKernel add) {
    i0_ = i0, rows_ = rows, j0_ = j0, cols_ = cols;
    ld_ = ceil_div(cols, static_cast<std::size_t>(kern_.vector_width)) * static_cast<std::size_t>(kern_.vector_width);
    internal::pairwise_tree_sum(
        ends_.size(), true, [&](std::size_t chunk, std::size_t d, float beta) { product(chunk, level(d), beta); },
        [&](std::size_t lower, std::size_t upper) { add_rows(level_view(lower), level_view(upper), add); });
    add_rows(MatrixView{c.row(i0_) + j0_, rows_, cols_, c.ld}, level_view(0), add);
  }

 private:
  float* level(std::size_t d) const { return levels_ + d * tile_floats_; }
  // The tile's columns of level d (its padding columns, up to ld_, are left out).
  MatrixView level_view(std::size_t d) const { return {level(d), rows_, cols_, ld_}; }

  // dst = beta·dst + the chunk's product, in one depth block (the chunks here fit kc).
  void product(std::size_t chunk, float* dst, float beta) {
    const std::size_t p0 = chunk == 0 ? 0 : ends_[chunk - 1], depth = ends_[chunk] - p0;
    const std::size_t nv = ld_ / static_cast<std::size_t>(kern_.vector_width);
    const float* b_panel = &b_.data[static_cast<std::ptrdiff_t>(p0) * b_.rs + static_cast<std::ptrdiff_t>(j0_)];
    std::ptrdiff_t b_rs = b_.rs;
    if (b_.cs != 1 || cols_ != ld_) {
      thread_local Tensor edge;
      float* packed = reserve(edge, depth * ld_);
      pack_b_panel(b_, p0, depth, j0_, n_, ld_, packed);
      b_panel = packed;
      b_rs = static_cast<std::ptrdiff_t>(ld_);
    }
    const GemmTileStore st{.c = dst, .ldc = ld_, .m_valid = rows_, .n_valid = cols_, .beta = beta};
    const float* a_rows = a_.data + static_cast<std::ptrdiff_t>(i0_) * a_.rs + static_cast<std::ptrdiff_t>(p0) * a_.cs;
    kern_.strided[nv - 1][rows_ - 1](depth, a_rows, a_.rs, a_.cs, b_panel, b_rs, st);
  }

  const GemmKernels& kern_;
  const Operand& a_;
  const Operand& b_;
  std::size_t n_;
  std::span<const std::size_t> ends_;
  std::size_t tile_floats_;
  float* levels_ = nullptr;
  std::size_t i0_ = 0, rows_ = 0, j0_ = 0, cols_ = 0, ld_ = 0;
};

// gemm() after its checks, on the kernels of `isa`.
void gemm_on(Isa isa, Trans trans_a, Trans trans_b, float alpha, ConstMatrixView a, ConstMatrixView b, float beta,
             MatrixView c, const GemmEpilogue& epilogue, GemmShape shape) {
  const auto [m, n, k] = shape;
  const internal::DenormalScope denormals;
  const ActivationForward forward = internal::elementwise_kernels(isa).activation_forward;
  if (k == 0 || alpha == 0.0f) {
    scale_only(forward, beta, c, epilogue);
    return;
  }
  const GemmKernels& kern = internal::gemm_kernels(isa);
  const Operand op_a = make_operand(a, trans_a);
  const Operand op_b = make_operand(b, trans_b);
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const internal::GemmBlocking blocking = internal::gemm_blocking(kern);
  if (flops <= kUnpackedMaxFlops && k <= blocking.kc) {
    gemm_unpacked(kern, blocking.mc, forward, op_a, op_b, m, n, k, alpha, beta, c, epilogue,
                  flops > kSerialMaxFlops);
  } else {
    const auto mr = static_cast<std::size_t>(kern.mr);
    const bool a_in_place = reads_a_in_place(op_a, k, mr, blocking);  // once per call: it counts L1 sets
    const auto threads = static_cast<std::size_t>(num_threads());
    const auto cut = threads > 1 ? region_cut(op_a, op_b, m, n, k, mr, static_cast<std::size_t>(kern.nr()), a_in_place,
                                              threads)
                                 : std::nullopt;
    if (cut) {
      gemm_regions(kern, blocking, a_in_place, forward, op_a, op_b, m, n, k, alpha, beta, c, epilogue, *cut);
      return;
    }
    // Isolated: see gemm_packed. Its thread_local pack buffers are in use until it returns.
    oneapi::tbb::this_task_arena::isolate([&] {
      gemm_packed(kern, blocking, a_in_place, forward, op_a, op_b, m, n, k, alpha, beta, c, epilogue);
    });
  }
}

// gemm_depth_chunks for chunks deeper than half of kc: each chunk's product in full into a
// C-sized buffer per tree level (grown, never shrunk: a warm step allocates nothing), summed in
// the tree order and added to C. Measured when the product still kept each panel of B in L1
// across the row panels (for 256 x 256 x 1024 in 8 chunks of 128 at 1 thread, tiles in place took
// 1.35x the plain product's time, tiles on panels packed over the whole depth 1.15x, these full
// products 1.11x; Intel Xeon 6/207), and the extra passes over C cost little beside products
// that deep. Pairs are fused when every chunk fits one depth block (at most kc): the product then
// adds its one accumulator tile to C (beta 1) with one rounding, as the pair's add would. A
// deeper product adds several depth blocks to C in turn.
void sum_deep_chunks(Isa isa, Trans trans_a, Trans trans_b, ConstMatrixView a, ConstMatrixView b,
                     std::span<const std::size_t> ends, bool fuse_pairs, MatrixView c, AddKernel add) {
  const std::size_t size = c.rows * c.cols;
  // Isolated, as gemm_packed: the buffers are this thread's until the sum is done, and the
  // products wait for their tiles in between.
  oneapi::tbb::this_task_arena::isolate([&] {
    thread_local Tensor buffers;
    float* const levels = reserve(buffers, internal::pairwise_tree_levels(ends.size()) * size);
    auto level = [&](std::size_t d) { return MatrixView{levels + d * size, c.rows, c.cols, c.cols}; };
    internal::pairwise_tree_sum(
        ends.size(), fuse_pairs,
        [&](std::size_t chunk, std::size_t d, float beta) {
          const std::size_t p0 = chunk == 0 ? 0 : ends[chunk - 1], depth = ends[chunk] - p0;
          const ConstMatrixView a_c = trans_a == Trans::no ? ConstMatrixView{a.data + p0, a.rows, depth, a.ld}
                                                           : ConstMatrixView{a.row(p0), depth, a.cols, a.ld};
          const ConstMatrixView b_c = trans_b == Trans::no ? ConstMatrixView{b.row(p0), depth, b.cols, b.ld}
                                                           : ConstMatrixView{b.data + p0, b.rows, depth, b.ld};
          gemm_on(isa, trans_a, trans_b, 1.0f, a_c, b_c, beta, level(d), {}, {c.rows, c.cols, depth});
        },
        [&](std::size_t lower, std::size_t upper) { add_rows(level(lower), level(upper), add); });
    add_rows(c, level(0), add);
  });
}

}  // namespace

void gemm_depth_chunks(Trans trans_a, Trans trans_b, ConstMatrixView a, ConstMatrixView b,
                       std::span<const std::size_t> ends, MatrixView c) {
  const auto [m, n, k] = checked_shape("gemm_depth_chunks", trans_a, trans_b, a, b, c, nullptr);
  internal::check_chunk_ends(ends, [] { return "gemm_depth_chunks"; });
  if (ends.empty() || ends.back() != k) {
    throw ShapeError("gemm_depth_chunks: the chunks end at depth " + std::to_string(ends.empty() ? 0 : ends.back()) +
                     ", expected k = " + std::to_string(k));
  }
  if (m == 0 || n == 0) return;
  const Isa isa = active_isa();  // read once, as gemm() does
  const internal::DenormalScope denormals;
  const GemmKernels& kern = internal::gemm_kernels(isa);
  const AddKernel add = internal::elementwise_kernels(isa).add;
  const internal::GemmBlocking blocking = internal::gemm_blocking(kern);
  const Operand op_a = make_operand(a, trans_a), op_b = make_operand(b, trans_b);
  const std::size_t mr = static_cast<std::size_t>(kern.mr), nr = static_cast<std::size_t>(kern.nr());
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  std::size_t deepest = 0;
  for (std::size_t ch = 0, p0 = 0; ch < ends.size(); p0 = ends[ch++]) deepest = std::max(deepest, ends[ch] - p0);
  if (deepest > blocking.kc / 2) {
    sum_deep_chunks(isa, trans_a, trans_b, a, b, ends, deepest <= blocking.kc, c, add);
    return;
  }
  auto run_block = [&](std::size_t i_begin, std::size_t i_end, std::size_t j_begin, std::size_t j_end) {
    DepthChunkTile tile(kern, op_a, op_b, n, ends);
    for (std::size_t j0 = j_begin; j0 < j_end; j0 += nr) {
      for (std::size_t i0 = i_begin; i0 < i_end; i0 += mr) {
        tile.add_to(c, i0, std::min(mr, i_end - i0), j0, std::min(nr, j_end - j0), add);
      }
    }
  };
  if (flops <= kSerialMaxFlops) {
    run_block(0, m, 0, n);
    return;
  }
  const TileGrid grid = make_tile_grid(m, n, k, mr, blocking.mc, nr);
  internal::parallel_for_tiles(grid.row_tiles * grid.col_tiles, [&](std::size_t tile) {
    const std::size_t i_begin = (tile / grid.col_tiles) * grid.tile_rows;
    const std::size_t j_begin = (tile % grid.col_tiles) * grid.tile_cols;
    run_block(i_begin, std::min(m, i_begin + grid.tile_rows), j_begin, std::min(n, j_begin + grid.tile_cols));
  });
}

void gemm(Trans trans_a, Trans trans_b, float alpha, ConstMatrixView a, ConstMatrixView b,
          float beta, MatrixView c, const GemmEpilogue& epilogue) {
  const auto [m, n, k] = checked_shape("gemm", trans_a, trans_b, a, b, c, epilogue.bias);
  if (epilogue.relu_gate.data != nullptr) check_gate(epilogue, c);
  if (m == 0 || n == 0) return;
  // Read the ISA once: every kernel of this call comes from the same tables, whatever set_isa()
  // does meanwhile.
  gemm_on(active_isa(), trans_a, trans_b, alpha, a, b, beta, c, epilogue, {m, n, k});
}

}  // namespace simdnn
