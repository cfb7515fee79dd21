// Helpers shared by the layers: elementwise copy / add / multiply on views of any leading
// dimension. (Column reductions and BatchNorm's passes are core's: core/elementwise.h.)
// Internal to layers/: not part of the public API.
#pragma once

#include <cstddef>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/tensor.h>

namespace simdnn::internal {

// The same shape is assumed (callers check it). Each runs core's elementwise kernel on the whole
// matrix when every view is contiguous, else row by row.
void copy_view(ConstMatrixView x, MatrixView y);                              // y = x
void add_views(ConstMatrixView a, ConstMatrixView b, MatrixView y);           // y = a + b
// y = xᵀ (y is x.cols x x.rows), in blocks of rows of x on num_threads() threads.
void transpose_view(ConstMatrixView x, MatrixView y);

}  // namespace simdnn::internal
