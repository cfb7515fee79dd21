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
void multiply_views(ConstMatrixView a, ConstMatrixView b, MatrixView y);      // y = a ⊙ b

// A contiguous N x (P·C) batch of NHWC images (core/image.h) as its N·P x C matrix of pixels:
// the same memory, one row per pixel. The caller checks that images.ld == images.cols.
template <class View>
View pixel_rows(View images, std::size_t channels) {
  return {images.data, images.rows * (images.cols / channels), channels, channels};
}

}  // namespace simdnn::internal
