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

ConstMatrixView Conv2D::columns(ConstMatrixView x, Tensor& col) const {
  if (pointwise(x)) return pixel_rows(x, geometry_.input.channels);
  const MatrixView c = reserve_rows(col, x.rows * geometry_.out_pixels(), weight_.rows());
  im2col(geometry_, x, c);
  return c;
}

std::size_t Conv2D::eval_chunk() const {
  const std::size_t image_bytes = geometry_.out_pixels() * weight_.rows() * sizeof(float);
  return std::max<std::size_t>(1, kEvalColumnBytes / image_bytes);
}

void Conv2D::forward_chunks(ConstMatrixView x, MatrixView y, MatrixView col) const {
  const std::size_t chunk = col.rows / geometry_.out_pixels();
  for (std::size_t begin = 0; begin < x.rows; begin += chunk) {
    const std::size_t rows = std::min(chunk, x.rows - begin);
    const ConstMatrixView xs{x.row(begin), rows, x.cols, x.ld};
    const MatrixView c{col.data, rows * geometry_.out_pixels(), col.cols, col.ld};
    im2col(geometry_, xs, c);
    gemm(Trans::no, Trans::no, 1.0f, c, weight_.cview(), 0.0f,
         pixel_rows(MatrixView{y.row(begin), rows, y.cols, y.ld}, out_channels_), {has_bias_ ? bias_.data() : nullptr});
  }
}

ConstMatrixView Conv2D::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const MatrixView y = reserve_rows(y_, x.rows, output_width());
  if (mode == Mode::eval && !pointwise(x)) {
    const std::size_t chunk = std::min(eval_chunk(), x.rows);
    forward_chunks(x, y, reserve_rows(col_, chunk * geometry_.out_pixels(), weight_.rows()));
    return y;
  }
  const ConstMatrixView a = columns(x, col_);
  gemm(Trans::no, Trans::no, 1.0f, a, weight_.cview(), 0.0f, pixel_rows(y, out_channels_),
       {has_bias_ ? bias_.data() : nullptr});
  if (mode == Mode::train) {
    x_ = x;
    col_view_ = a;
    trained_forward_ = true;
  }
  return y;
}

ConstMatrixView Conv2D::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, output_width());
  if (pointwise(x)) {
    gemm(Trans::no, Trans::no, 1.0f, pixel_rows(x, geometry_.input.channels), weight_.cview(), 0.0f,
         pixel_rows(y, out_channels_), {has_bias_ ? bias_.data() : nullptr});
    return y;
  }
  const std::size_t chunk = std::max<std::size_t>(1, std::min(eval_chunk(), x.rows));
  forward_chunks(x, y, buffers.next(chunk * geometry_.out_pixels(), weight_.rows()));
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
  const ConstMatrixView dy_rows = pixel_rows(dy, out_channels_);
  gemm(Trans::yes, Trans::no, 1.0f, col_view_, dy_rows, 1.0f, weight_grad_.view());
  if (has_bias_) add_column_sums(dy_rows, bias_grad_.data());
  const MatrixView dx = reserve_rows(dx_, x_.rows, input_width());
  if (col_view_.data == x_.data) {  // pointwise: dx's pixel rows are dcol
    gemm(Trans::no, Trans::yes, 1.0f, dy_rows, weight_.cview(), 0.0f, pixel_rows(dx, geometry_.input.channels));
    return dx;
  }
  const MatrixView dcol = reserve_rows(dcol_, dy_rows.rows, weight_.rows());
  gemm(Trans::no, Trans::yes, 1.0f, dy_rows, weight_.cview(), 0.0f, dcol);
  col2im(geometry_, dcol, dx);
  return dx;
}

}  // namespace simdnn
