// Image kernels for convolutional networks: im2col and its adjoint, max and average pooling.
//
// Layout: a batch of images is a matrix with one image per row, each image stored NHWC, i.e.
// row-major [height][width][channels] with the channel fastest. (NHWC lets a convolution be one
// GEMM whose output rows are already the output images, and keeps each pixel's channels
// contiguous for the copies below.)
//
// Windows: a kernel × kernel window moves over the image zero-padded by `padding` on every side,
// `stride` pixels at a time; output position (oh, ow) covers input rows oh·stride − padding + kh
// and columns ow·stride − padding + kw, kh, kw < kernel. Output size:
//   out = (in + 2·padding − kernel) / stride + 1   (integer division).
//
// Determinism: every kernel works image by image (one parallel tile per image), and the sums of
// the backward passes add their terms in a fixed order, so results never depend on the thread
// count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <simdnn/core/tensor.h>

namespace simdnn {

struct ImageShape {
  std::size_t height = 0;
  std::size_t width = 0;
  std::size_t channels = 0;

  std::size_t pixels() const { return height * width; }
  std::size_t size() const { return height * width * channels; }
  bool operator==(const ImageShape&) const = default;
};

// A contiguous batch of NHWC images (ld == cols, checked by the caller) as its matrix of pixels:
// the same memory, one row per pixel, N·H·W x channels.
inline ConstMatrixView pixel_rows(ConstMatrixView images, std::size_t channels) {
  return {images.data, images.rows * (images.cols / channels), channels, channels};
}
inline MatrixView pixel_rows(MatrixView images, std::size_t channels) {
  return {images.data, images.rows * (images.cols / channels), channels, channels};
}

// "28x28x16" (height x width x channels).
std::string to_string(const ImageShape& s);

// A sliding window over images of shape `input`.
struct WindowGeometry {
  ImageShape input;
  std::size_t kernel = 1;
  std::size_t stride = 1;
  std::size_t padding = 0;

  // Throws std::invalid_argument naming `who` and the offending field, its value and what it must
  // be, unless every size is positive, padding < kernel and the padded input holds the kernel.
  void check(const char* who) const;
  std::size_t out_height() const { return (input.height + 2 * padding - kernel) / stride + 1; }
  std::size_t out_width() const { return (input.width + 2 * padding - kernel) / stride + 1; }
  std::size_t out_pixels() const { return out_height() * out_width(); }
  // The output shape with `channels` channels.
  ImageShape output(std::size_t channels) const { return {out_height(), out_width(), channels}; }
};

// col[(n·out_h + oh)·out_w + ow, (kh·kernel + kw)·C + c] = x[n, oh·s − p + kh, ow·s − p + kw, c],
// 0 where that pixel lies in the padding. x: N × input.size(); col: N·out_pixels × kernel²·C.
// Throws ShapeError on other shapes.
void im2col(const WindowGeometry& g, ConstMatrixView x, MatrixView col);

// The adjoint of im2col: dx[n, ih, iw, c] = the sum of every col entry im2col copied from that
// pixel, added in the order of col's rows and then columns. Overwrites dx (N × input.size()).
void col2im(const WindowGeometry& g, ConstMatrixView col, MatrixView dx);

// y[n, oh, ow, c] = the maximum of x over the window (padding never wins): the first maximum in
// window order, or the window's first NaN. argmax (N · out_pixels · C entries, or empty) receives,
// per output element, the index within its image row of the input element chosen. Throws
// ShapeError when an image has more than 2^32 − 1 elements (argmax could not index them).
void max_pool(const WindowGeometry& g, ConstMatrixView x, MatrixView y, std::span<std::uint32_t> argmax);
// max_pool of max(0, γ_c·(x − mean_c)·inv_std_c + β_c), the pair BatchNorm → ReLU before a
// MaxPool2D (a ResNet's stem), without storing the normalized batch: each image is normalized
// into a per-thread buffer by batchnorm_normalize_relu's kernel and pooled from there while it is
// in cache. The same bits as those two calls; mean, inv_std, gamma and beta hold C floats each.
// Throws as max_pool does, and std::invalid_argument naming a null mean, inv_std, gamma or beta.
void batchnorm_relu_max_pool(const WindowGeometry& g, ConstMatrixView x, const float* mean, const float* inv_std,
                             const float* gamma, const float* beta, MatrixView y, std::span<std::uint32_t> argmax);
// dx = 0, then dx[n, argmax] += dy for every output element, in output order. argmax must be
// what max_pool wrote for the same geometry (each index inside its output's window).
void max_pool_backward(const WindowGeometry& g, std::span<const std::uint32_t> argmax, ConstMatrixView dy,
                       MatrixView dx);

// y = the sum of x over the window divided by kernel² (padding counts as zeros, as PyTorch's
// AvgPool2d with count_include_pad = true).
void avg_pool(const WindowGeometry& g, ConstMatrixView x, MatrixView y);
// dx[pixel] = Σ over the windows covering it of dy / kernel², in output order.
void avg_pool_backward(const WindowGeometry& g, ConstMatrixView dy, MatrixView dx);

// y[n, c] = the mean of x[n, ·, ·, c] over the image's pixels (summed in double, in pixel order).
void global_avg_pool(const ImageShape& s, ConstMatrixView x, MatrixView y);
// dx[n, h, w, c] = dy[n, c] / pixels.
void global_avg_pool_backward(const ImageShape& s, ConstMatrixView dy, MatrixView dx);

}  // namespace simdnn
