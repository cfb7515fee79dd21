#include <simdnn/layers/ops.h>

#include <cstring>

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

}  // namespace simdnn::internal
