// 2-D convolution of NHWC image batches (core/image.h), one chunk of images per parallel task:
// the kernels behind layers/conv2d.h.
//
//   y[n, oh, ow, co] = b[co] + Σ_{kh, kw, ci} x[n, oh·s − p + kh, ow·s − p + kw, ci] · W[(kh·k + kw)·C_in + ci, co]
//
// W is (k·k·C_in) x C_out, the layout of an im2col row. A chunk is the fewest whole images with
// at least kConvChunkPixels output pixels: enough work per task to pay for its weight-gradient
// part and its padding, and chunks enough for the threads. Each task pads its chunk's images
// with zeros into scratch of its thread and runs the direct convolution kernels of the active ISA
// (core/conv_kernels.h) on them: the windows are read in place, so no im2col rows are written,
// and nothing grows with the batch. The backward computes dx as the convolution of dy with the
// flipped weights for stride 1, and for larger strides by gathering each dx row from dy where
// the kernels have that form (AVX-512, the ResNet's 3×3 stride-2 shapes), else by scattering dy
// through the weights. A 1×1 convolution with stride 1 and no padding on contiguous images is a
// GEMM over the pixels.
//
// Determinism: chunks depend only on the shapes; each output element is summed in a fixed order
// whatever the chunk; the weight gradient is each chunk's sum over its pixels in order, added in
// chunk order after the parallel loop; the bias gradient is column sums over the whole batch in
// row order. So results do not depend on the thread count. An image's output, and at stride 1
// its dx, do not depend on the other images of the batch either; at a larger stride a scattered
// dx depends on where the image lies in its chunk (the scatter's tiles of output pixels run
// across images).
//
// A 3×3 convolution at stride 1 and padding 1 whose channel counts are both whole vectors from 16
// to 64 runs in Winograd's F(2×2, 3×3) form instead, where the ISA offers it (SSE2 and AVX2;
// core/kernels/winograd.h; conv_runs_winograd below): no direct kernels, and no windows over
// padded pixels, but per chunk a padded copy, tiles of 2×2 outputs and 16 products over them.
// Its forward, its dx (the same form on the flipped weights) and its weight gradient (each
// chunk's sum over its tiles in order, then transformed) take 16 multiplications per tile and
// channel pair where the direct kernels take 36. The results differ from the direct form's by
// rounding: the tests bound them by 1e-5 relative plus 4 float ulps of each element's sum of
// |terms|, which the weight gradient needs where its terms cancel. The determinism above holds
// for it unchanged.
#pragma once

#include <cstddef>

#include <simdnn/core/image.h>
#include <simdnn/core/tensor.h>

namespace simdnn {

inline constexpr std::size_t kConvChunkPixels = 256;

// Images per chunk for geometry g: ⌈kConvChunkPixels / out_pixels⌉, at least 1.
std::size_t conv_chunk_images(const WindowGeometry& g);

// Whether conv2d_forward and conv2d_backward run geometry g to out_channels in the Winograd form
// (above) on the active ISA; its dx runs in that form too (the condition is symmetric).
bool conv_runs_winograd(const WindowGeometry& g, std::size_t out_channels);

// y = conv(x) + bias (bias: C_out floats or nullptr). x: N x input.size(); w: k²·C_in x C_out;
// y: N x out_pixels·C_out (contiguous rows). Throws ShapeError on other shapes.
void conv2d_forward(const WindowGeometry& g, ConstMatrixView x, ConstMatrixView w, const float* bias, MatrixView y);

// Given dy (N x out_pixels·C_out, contiguous rows) for the forward on x: dx = ∂L/∂x (overwritten,
// contiguous rows), dw += ∂L/∂W, and db += ∂L/∂b when db is not null; an empty MatrixView{} as dx
// or dw skips it. Throws ShapeError on other shapes.
void conv2d_backward(const WindowGeometry& g, ConstMatrixView x, ConstMatrixView w, ConstMatrixView dy, MatrixView dx,
                     MatrixView dw, float* db);

}  // namespace simdnn
