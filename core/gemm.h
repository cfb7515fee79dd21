// Single-precision GEMM with a fused Dense-layer epilogue:
//
//   C = f(alpha · op(A) · op(B) + beta · C + bias)
//
// All matrices are row-major views (core/tensor.h). op(X) is X or Xᵀ; `a` and `b` are the
// matrices as stored, so with trans_a == Trans::yes, A is stored k x m. op(A) is m x k, op(B) is
// k x n and C is m x n. `bias` (optional) holds n floats added to every row; f is the epilogue's
// activation (identity by default). As in BLAS, beta == 0 means C is not read (NaN in C does not
// propagate), and C must not overlap A, B or the bias.
//
// Performance model (see core/README.md): BLIS-style packing of A and B into cache-sized blocks
// and a register-blocked microkernel per ISA; shapes below a FLOP threshold (MLP training at
// batch 32) skip packing entirely. Work is cut into tiles that depend only on the shape, and
// each element of C is accumulated by one tile in a fixed order, so the result is bit-identical
// at any thread count.
#pragma once

#include <cstddef>
#include <span>

#include <simdnn/core/activation.h>
#include <simdnn/core/tensor.h>

namespace simdnn {

enum class Trans { no, yes };

struct GemmEpilogue {
  const float* bias = nullptr;  // n floats, or nullptr
  ActivationSpec activation = ActivationSpec::identity();
  // A ReLU's backward folded into the store: with relu_gate, an m x n view G (any leading
  // dimension), C(i, j) becomes the value above where G(i, j) > 0, 0 where G(i, j) <= 0, and
  // G(i, j) itself where it is NaN: activation_backward(relu, G, ·, C) (core/elementwise.h), bit
  // for bit, without its pass over C. (A Dense layer's dx·relu'(x) with G its input, the output
  // of a ReLU.) Needs no bias and the identity activation (else std::invalid_argument); G must not
  // overlap C. Empty (data null): no gate.
  ConstMatrixView relu_gate{};
};

// Throws ShapeError naming the mismatched shapes, or std::invalid_argument for overlapping
// outputs. Runs on the ISA of active_isa() with num_threads() threads.
//
// Thread safety and re-entrancy: any number of threads may call gemm at once (on outputs that do
// not overlap), from plain threads or from inside their own oneTBB tasks (a tbb::parallel_for body,
// nested at any depth), and each result is the one the call gives alone, bit for bit. The packed
// path keeps per-thread pack buffers while it waits for its tiles; it waits inside
// tbb::this_task_arena::isolate, so the waiting thread runs only this call's tiles, never another
// of the caller's tasks that could call gemm and reuse those buffers. The ISA is read once per
// call: set_isa() from another thread affects only later calls. tests/concurrency_test.cc checks
// all of this (also under ThreadSanitizer).
void gemm(Trans trans_a, Trans trans_b, float alpha, ConstMatrixView a, ConstMatrixView b,
          float beta, MatrixView c, const GemmEpilogue& epilogue = {});

// C += the sum of the products over the chunks of the depth: chunk c is depth
// [ends[c-1], ends[c]) (ends[-1] = 0; the ends increase strictly to k), its product
// op(A)[:, chunk]·op(B)[chunk, :] has the bits gemm(trans_a, trans_b, 1, A_c, B_c, 0, ·) gives
// it, and the products are added in the tree order of a training step's chunks
// (core/pairwise_sum.h: ((P0 + P1) + (P2 + P3)) + ...). That is a sliced step's weight gradient
// (Dense, Layer::set_gradient_chunks). Chunks of at most half the blocking's kc are not written
// out: every tile of C sums its chunks' products in L1. Deeper chunks are full products summed
// in C-sized buffers per tree level, kept per thread and grown to the largest C seen. Additions
// follow the denormal policy. Throws ShapeError as gemm() does, and for ends that do not increase
// strictly to k. Thread safety and the ISA as for gemm().
void gemm_depth_chunks(Trans trans_a, Trans trans_b, ConstMatrixView a, ConstMatrixView b,
                       std::span<const std::size_t> ends, MatrixView c);

// C = op(A)·op(B), the common case.
inline void matmul(ConstMatrixView a, ConstMatrixView b, MatrixView c, Trans trans_a = Trans::no,
                   Trans trans_b = Trans::no) {
  gemm(trans_a, trans_b, 1.0f, a, b, 0.0f, c);
}

}  // namespace simdnn
