// 2-D convolution of NHWC image batches (core/image.h) as im2col and GEMM, one chunk of images
// per parallel task: the kernels behind layers/conv2d.h.
//
//   y[n, oh, ow, co] = b[co] + Σ_{kh, kw, ci} x[n, oh·s − p + kh, ow·s − p + kw, ci] · W[(kh·k + kw)·C_in + ci, co]
//
// W is (k·k·C_in) x C_out, the layout of an im2col row. A chunk is as many images as
// kConvChunkBytes of im2col rows hold (at least one); each task im2col's its chunk into scratch of
// its thread and runs the chunk's GEMMs there, so the rows stay in cache and nothing grows with
// the batch. A 1×1 convolution with stride 1 and no padding on contiguous images skips im2col.
//
// Determinism: chunks depend only on the shapes; each output row is one GEMM row whatever the
// chunk; the weight gradient is each chunk's colᵀ·dy, added in chunk order after the parallel
// loop; the bias gradient is column sums over the whole batch in row order. So results do not
// depend on the thread count.
#pragma once

#include <cstddef>

#include <simdnn/core/image.h>
#include <simdnn/core/tensor.h>

namespace simdnn {

inline constexpr std::size_t kConvChunkBytes = std::size_t{512} << 10;

// Images per chunk for geometry g (kernel², C_in from g): at least 1.
std::size_t conv_chunk_images(const WindowGeometry& g);

// y = conv(x) + bias (bias: C_out floats or nullptr). x: N x input.size(); w: k²·C_in x C_out;
// y: N x out_pixels·C_out (contiguous rows). Throws ShapeError on other shapes.
void conv2d_forward(const WindowGeometry& g, ConstMatrixView x, ConstMatrixView w, const float* bias, MatrixView y);

// Given dy (N x out_pixels·C_out, contiguous rows) for the forward on x: dx = ∂L/∂x (overwritten,
// contiguous rows), dw += ∂L/∂W, and db += ∂L/∂b when db is not null. Throws ShapeError on other
// shapes.
void conv2d_backward(const WindowGeometry& g, ConstMatrixView x, ConstMatrixView w, ConstMatrixView dy, MatrixView dx,
                     MatrixView dw, float* db);

}  // namespace simdnn
