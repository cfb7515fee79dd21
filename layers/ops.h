// Helpers shared by the layers: column reductions (bias gradients, BatchNorm statistics) that
// allocate nothing, and elementwise copy / add / multiply on views of any leading dimension.
//
// core/elementwise.h's column_sums and column_mean_var write fresh results; these add into a
// gradient or let BatchNorm fuse several statistics into one pass. They run over blocks of
// kColumnBlock columns instead, each block accumulating in a double array on the stack, over the
// rows in order. A block is one parallel task when the matrix is large; block boundaries depend
// only on the shape and every column is summed by one task in row order, so the results are
// bit-identical at any thread count. Internal to layers/: not part of the public API.
#pragma once

#include <cstddef>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/threading.h>

namespace simdnn::internal {

// Columns per task; a block's accumulators (kColumnBlock doubles each) live on the stack.
inline constexpr std::size_t kColumnBlock = 64;

// body(c0, c1) for consecutive column blocks [c0, c1) covering [0, cols); in parallel when the
// matrix has at least kElementwiseParallelThreshold elements.
template <class Body>
void for_column_blocks(std::size_t rows, std::size_t cols, const Body& body) {
  const std::size_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
  auto run = [&](std::size_t b) {
    const std::size_t c0 = b * kColumnBlock;
    const std::size_t c1 = c0 + kColumnBlock < cols ? c0 + kColumnBlock : cols;
    body(c0, c1);
  };
  if (rows * cols < kElementwiseParallelThreshold) {
    for (std::size_t b = 0; b < blocks; ++b) run(b);
  } else {
    parallel_for_tiles(blocks, run);
  }
}

// acc[j − c0] += Σ_r x(r, j) for j in [c0, c1), in double, rows in order.
inline void accumulate_column_sums(ConstMatrixView x, std::size_t c0, std::size_t c1,
                                   double* acc) {
  const std::size_t w = c1 - c0;
  for (std::size_t r = 0; r < x.rows; ++r) {
    const float* row = x.row(r) + c0;
    for (std::size_t j = 0; j < w; ++j) acc[j] += static_cast<double>(row[j]);
  }
}

// out[j] += (float)Σ_r x(r, j) for every column j (the sum in double, rounded once).
void add_column_sums(ConstMatrixView x, float* out);

// The same shape is assumed (callers check it). Each runs core's elementwise kernel on the whole
// matrix when every view is contiguous, else row by row.
void copy_view(ConstMatrixView x, MatrixView y);                              // y = x
void add_views(ConstMatrixView a, ConstMatrixView b, MatrixView y);           // y = a + b
void multiply_views(ConstMatrixView a, ConstMatrixView b, MatrixView y);      // y = a ⊙ b

}  // namespace simdnn::internal
