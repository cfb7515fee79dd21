// The per-ISA GEMM kernel table: what core/gemm.cc's driver needs from each instruction set.
//
// Microkernel contract: compute the m x (nv·W) tile  Σ_p A(i, p)·B(p, j)  over p < k, where
//   A(i, p) = a[i·a_rs + p·a_cs]       (any strides: packed panels or the caller's matrix)
//   B(p, j) = b[p·b_rs + j]            (nv·W contiguous floats per p, W = the ISA's float lanes)
// and write it to C through GemmTileStore (alpha, beta, bias, ReLU fused into the store).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <simdnn/core/cpu_info.h>
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
  const float* gate = nullptr;  // GemmEpilogue::relu_gate at the tile's top-left element, or nullptr
  std::size_t ldg = 0;
};

using GemmMicrokernel = void (*)(std::size_t k, const float* a, std::ptrdiff_t a_rs,
                                 std::ptrdiff_t a_cs, const float* b, std::ptrdiff_t b_rs,
                                 const GemmTileStore& store);

inline constexpr int kGemmMaxMr = 14;
inline constexpr int kGemmMaxNv = 2;

// Cache blocking of the packed path (after Goto's algorithm, as BLIS): op(B) is packed kc x nc at
// a time, tiles of C are mc rows, and each row panel of A (mr x kc) stays in L1 while the tile's
// packed panels of B (kc x nr each) come from L2 (core/gemm.cc, run_packed_tiles).
struct GemmBlocking {
  std::size_t kc = 0;  // depth of a block: a kc x mr panel of A fits L1 beside B's stream
  std::size_t mc = 0;  // rows of C per tile (a multiple of mr): an mc x kc block of A fits L2
  std::size_t nc = 0;  // columns of B packed at once (a multiple of 256): a kc x nc block fits L3
  // Whether op(A) = A (rows contiguous) may be read in place rather than packed. It is where no L1
  // set would hold lines of more than a_rows_per_l1_set of a panel's mr rows at the call's
  // leading dimension (a_rows_per_l1_set below): derived as the L1's ways less two, for B's
  // stream and C's lines. A leading dimension of a multiple of the way size (l1_way_bytes) puts
  // every row in the same sets. The defaults leave no limit.
  bool a_in_place = true;
  std::size_t a_rows_per_l1_set = SIZE_MAX;
  std::size_t l1_way_bytes = 4096;  // L1D size / ways: the bytes one way's sets span
};

// The most rows of a panel of A (`rows` rows of kc floats, rs floats apart) with a line in one
// set of an L1 whose ways span way_bytes (64-byte lines). Rows are taken as starting anywhere in
// a line, so the count does not depend on where A lies.
std::size_t a_rows_per_l1_set(std::size_t rs, std::size_t rows, std::size_t kc, std::size_t way_bytes);

// The blocking for a register tile of mr x nr floats on a CPU with these caches (unknown sizes,
// 0, count as 32 KiB 8-way L1D, 512 KiB L2, 8 MiB L3). Depends on nothing else: in particular not
// on the thread count, so results stay bit-identical across thread counts.
GemmBlocking derive_gemm_blocking(const CacheSizes& caches, std::size_t mr, std::size_t nr);

struct GemmKernels {
  int mr = 0;            // rows of the register tile
  int nv = 0;            // vectors per row of the register tile
  int vector_width = 0;  // floats per vector, W
  int nr() const { return nv * vector_width; }
  // derive_gemm_blocking(cache_sizes(), mr, nr), computed once with the table.
  GemmBlocking blocking;
  // A packed in mr-row panels (a_rs = 1, a_cs = mr), full mr x nr tile computed; the store
  // clips to m_valid x n_valid.
  GemmMicrokernel packed = nullptr;
  // strided[nv - 1][m - 1]: exactly m rows (1..mr) and nv vectors (1..nv) with A read through
  // its strides: for small problems, which pack nothing, and for A read in place.
  GemmMicrokernel strided[kGemmMaxNv][kGemmMaxMr] = {};
};

// What gemm uses with `kernels`: kernels.blocking unless a test forced another with
// set_gemm_blocking_override.
GemmBlocking gemm_blocking(const GemmKernels& kernels);

// Forces the blocking of every later gemm (kc and nc are rounded to what the driver needs: mc to
// a multiple of mr); std::nullopt restores the derived one. For tests, which reach the multi-block
// paths with small shapes this way, and benchmarks. Not for use while other threads run gemm.
void set_gemm_blocking_override(std::optional<GemmBlocking> blocking);

// The table for `isa`, built once on first use. Throws std::invalid_argument if the CPU does not
// support `isa`.
const GemmKernels& gemm_kernels(Isa isa);

// Defined in kernels/gemm_microkernel.h and instantiated only in gemm_<isa>.cc.
template <class Arch>
GemmKernels make_gemm_kernels();

#define SIMDNN_EXTERN_GEMMKERNELS(name) extern template GemmKernels make_gemm_kernels<XsimdArch<Isa::name>::type>();
SIMDNN_ISA_LIST(SIMDNN_EXTERN_GEMMKERNELS)
#undef SIMDNN_EXTERN_GEMMKERNELS

}  // namespace simdnn::internal
