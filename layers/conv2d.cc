#include <simdnn/layers/conv2d.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/gemm.h>
#include <simdnn/layers/ops.h>

namespace simdnn {

using internal::pixel_rows;

Conv2D::Conv2D(ImageShape input, std::size_t out_channels, std::size_t kernel, const Conv2DOptions& options)
    : geometry_{input, kernel, options.stride, options.padding}, out_channels_(out_channels), has_bias_(options.bias) {
  geometry_.check("conv2d");
  if (out_channels == 0) throw std::invalid_argument("conv2d: out_channels must be positive, got 0");
  const std::size_t window = kernel * kernel * input.channels;
  weight_ = Tensor(window, out_channels);
  weight_grad_ = Tensor(window, out_channels);
  initialize(weight_.view(), options.weight_init, options.seed, options.stream);
  if (has_bias_) {
    bias_ = Tensor(1, out_channels);
    bias_grad_ = Tensor(1, out_channels);
  }
}

std::vector<Parameter> Conv2D::parameters() {
  std::vector<Parameter> p{{"weight", &weight_, &weight_grad_, true}};
  if (has_bias_) p.push_back({"bias", &bias_, &bias_grad_, false});
  return p;
}

bool Conv2D::pointwise(ConstMatrixView x) const {
  return geometry_.kernel == 1 && geometry_.stride == 1 && geometry_.padding == 0 && x.ld == x.cols;
}

std::size_t Conv2D::chunk_images() const {
  const std::size_t image_bytes = geometry_.out_pixels() * weight_.rows() * sizeof(float);
  return std::max<std::size_t>(1, kChunkBytes / image_bytes);
}

ConstMatrixView Conv2D::chunk_columns(ConstMatrixView x, std::size_t begin, std::size_t rows, MatrixView col) const {
  const ConstMatrixView images{x.row(begin), rows, x.cols, x.ld};
  if (pointwise(x)) return pixel_rows(images, geometry_.input.channels);
  const MatrixView c{col.data, rows * geometry_.out_pixels(), col.cols, col.ld};
  im2col(geometry_, images, c);
  return c;
}

void Conv2D::convolve(ConstMatrixView x, MatrixView y, MatrixView col) const {
  const std::size_t chunk = chunk_images();
  for (std::size_t begin = 0; begin < x.rows; begin += chunk) {
    const std::size_t rows = std::min(chunk, x.rows - begin);
    gemm(Trans::no, Trans::no, 1.0f, chunk_columns(x, begin, rows, col), weight_.cview(), 0.0f,
         pixel_rows(MatrixView{y.row(begin), rows, y.cols, y.ld}, out_channels_), {has_bias_ ? bias_.data() : nullptr});
  }
}

ConstMatrixView Conv2D::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const MatrixView y = reserve_rows(y_, x.rows, output_width());
  convolve(x, y, reserve_rows(col_, std::min(chunk_images(), x.rows) * geometry_.out_pixels(), weight_.rows()));
  if (mode == Mode::train) {
    x_ = x;
    trained_forward_ = true;
  }
  return y;
}

ConstMatrixView Conv2D::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, output_width());
  const std::size_t chunk = std::max<std::size_t>(1, std::min(chunk_images(), x.rows));
  convolve(x, y, pointwise(x) ? MatrixView{} : buffers.next(chunk * geometry_.out_pixels(), weight_.rows()));
  return y;
}

ConstMatrixView Conv2D::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, x_.rows);
  if (dy.ld != dy.cols) {  // the GEMMs read dy as pixel rows, which needs it contiguous
    const MatrixView copy = reserve_rows(dy_, dy.rows, dy.cols);
    internal::copy_view(dy, copy);
    dy = copy;
  }
  if (has_bias_) add_column_sums(pixel_rows(dy, out_channels_), bias_grad_.data());
  const MatrixView dx = reserve_rows(dx_, x_.rows, input_width());
  const std::size_t chunk = std::min(chunk_images(), x_.rows), pixels = geometry_.out_pixels();
  const MatrixView col = reserve_rows(col_, chunk * pixels, weight_.rows());
  const MatrixView dcol = reserve_rows(dcol_, chunk * pixels, weight_.rows());
  for (std::size_t begin = 0; begin < x_.rows; begin += chunk) {
    const std::size_t rows = std::min(chunk, x_.rows - begin);
    const ConstMatrixView dy_rows = pixel_rows(ConstMatrixView{dy.row(begin), rows, dy.cols, dy.ld}, out_channels_);
    gemm(Trans::yes, Trans::no, 1.0f, chunk_columns(x_, begin, rows, col), dy_rows, 1.0f, weight_grad_.view());
    const MatrixView dx_chunk{dx.row(begin), rows, dx.cols, dx.ld};
    if (pointwise(x_)) {  // dx's pixel rows are dcol
      gemm(Trans::no, Trans::yes, 1.0f, dy_rows, weight_.cview(), 0.0f, pixel_rows(dx_chunk, geometry_.input.channels));
      continue;
    }
    const MatrixView dc{dcol.data, rows * pixels, dcol.cols, dcol.ld};
    gemm(Trans::no, Trans::yes, 1.0f, dy_rows, weight_.cview(), 0.0f, dc);
    col2im(geometry_, dc, dx_chunk);
  }
  return dx;
}

}  // namespace simdnn
