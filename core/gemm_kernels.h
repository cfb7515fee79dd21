// The per-ISA GEMM kernel table: what core/gemm.cc's driver needs from each instruction set.
//
// Microkernel contract: compute the m x (nv·W) tile  Σ_p A(i, p)·B(p, j)  over p < k, where
//   A(i, p) = a[i·a_rs + p·a_cs]       (any strides: packed panels or the caller's matrix)
//   B(p, j) = b[p·b_rs + j]            (nv·W contiguous floats per p, W = the ISA's float lanes)
// and write it to C through GemmTileStore (alpha, beta, bias, ReLU fused into the store).
#pragma once

#include <cstddef>

#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/arch.h>

namespace simdnn::internal {

struct GemmTileStore {
  float* c = nullptr;         // the tile's top-left element of C
  std::size_t ldc = 0;
  std::size_t m_valid = 0;    // rows of the tile that lie inside C
  std::size_t n_valid = 0;    // columns of the tile that lie inside C
  float alpha = 1.0f;
  float beta = 0.0f;          // 0: C is overwritten without being read
  const float* bias = nullptr;  // bias of the tile's first column, or nullptr
  bool relu = false;
};

using GemmMicrokernel = void (*)(std::size_t k, const float* a, std::ptrdiff_t a_rs,
                                 std::ptrdiff_t a_cs, const float* b, std::ptrdiff_t b_rs,
                                 const GemmTileStore& store);

inline constexpr int kGemmMaxMr = 14;
inline constexpr int kGemmMaxNv = 2;

struct GemmKernels {
  int mr = 0;            // rows of the register tile
  int nv = 0;            // vectors per row of the register tile
  int vector_width = 0;  // floats per vector, W
  int nr() const { return nv * vector_width; }
  int kc = 0;            // depth of a packed block (the B micro-panel kc x nr stays in L1)
  int mc = 0;            // rows of a packed A block (stays in L2); a multiple of mr
  // A packed in mr-row panels (a_rs = 1, a_cs = mr), full mr x nr tile computed; the store
  // clips to m_valid x n_valid.
  GemmMicrokernel packed = nullptr;
  // strided[nv - 1][m - 1]: exactly m rows (1..mr) and nv vectors (1..nv) with A read through
  // its strides; used without packing for small problems.
  GemmMicrokernel strided[kGemmMaxNv][kGemmMaxMr] = {};
};

// The table for `isa`, built once. The CPU must support `isa`.
const GemmKernels& gemm_kernels(Isa isa);

template <class Arch>
GemmKernels make_gemm_kernels();

}  // namespace simdnn::internal
