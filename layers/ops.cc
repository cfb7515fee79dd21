#include <simdnn/layers/ops.h>

#include <algorithm>
#include <cstring>

#include <simdnn/core/parallel.h>

namespace simdnn::internal {

namespace {

bool contiguous(ConstMatrixView v) { return v.rows <= 1 || v.ld == v.cols; }

}  // namespace

void copy_view(ConstMatrixView x, MatrixView y) {
  if (x.cols == 0) return;
  if (contiguous(x) && contiguous(y)) {
    std::memcpy(y.data, x.data, x.rows * x.cols * sizeof(float));
    return;
  }
  for (std::size_t r = 0; r < x.rows; ++r) std::memcpy(y.row(r), x.row(r), x.cols * sizeof(float));
}

void add_views(ConstMatrixView a, ConstMatrixView b, MatrixView y) {
  if (a.cols == 0) return;
  if (contiguous(a) && contiguous(b) && contiguous(y)) {
    add(a.data, b.data, y.data, a.rows * a.cols);
    return;
  }
  for (std::size_t r = 0; r < a.rows; ++r) add(a.row(r), b.row(r), y.row(r), a.cols);
}

// Tiles of kTransposeBlock x kTransposeBlock: a tile's source rows and destination rows stay in
// L1 while it is copied.
void transpose_view(ConstMatrixView x, MatrixView y) {
  constexpr std::size_t kTransposeBlock = 32;
  const std::size_t row_blocks = (x.rows + kTransposeBlock - 1) / kTransposeBlock;
  parallel_for_tiles(row_blocks, [&](std::size_t b) {
    const std::size_t r0 = b * kTransposeBlock, r1 = std::min(x.rows, r0 + kTransposeBlock);
    for (std::size_t c0 = 0; c0 < x.cols; c0 += kTransposeBlock) {
      const std::size_t c1 = std::min(x.cols, c0 + kTransposeBlock);
      for (std::size_t c = c0; c < c1; ++c) {
        float* out = y.row(c);
        for (std::size_t r = r0; r < r1; ++r) out[r] = x.row(r)[c];
      }
    }
  });
}

}  // namespace simdnn::internal
