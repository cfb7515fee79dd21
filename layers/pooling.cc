#include <simdnn/layers/pooling.h>

#include <span>

namespace simdnn {

namespace {

WindowGeometry pooling_window(const char* who, ImageShape input, std::size_t kernel, std::size_t stride,
                              std::size_t padding) {
  WindowGeometry g{input, kernel, stride == 0 ? kernel : stride, padding};
  g.check(who);
  return g;
}

}  // namespace

MaxPool2D::MaxPool2D(ImageShape input, std::size_t kernel, std::size_t stride, std::size_t padding)
    : geometry_(pooling_window("maxpool2d", input, kernel, stride, padding)) {}

ConstMatrixView MaxPool2D::forward(ConstMatrixView x, Mode mode) { return forward(x, mode, nullptr); }

ConstMatrixView MaxPool2D::forward(ConstMatrixView x, Mode mode, const ReluNorm* relu_norm) {
  trained_forward_ = false;
  check_input(x);
  const MatrixView y = reserve_rows(y_, x.rows, output_width());
  std::span<std::uint32_t> argmax;
  if (mode == Mode::train) {
    argmax_.resize(x.rows * output_width());
    argmax = argmax_;
  }
  if (relu_norm != nullptr) {
    const auto& n = *relu_norm;
    batchnorm_relu_max_pool(geometry_, x, n.mean, n.inv_std, n.gamma, n.beta, y, argmax);
  } else {
    max_pool(geometry_, x, y, argmax);
  }
  if (mode == Mode::train) rows_ = x.rows, trained_forward_ = true;
  return y;
}

ConstMatrixView MaxPool2D::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, output_width());
  max_pool(geometry_, x, y, {});
  return y;
}

ConstMatrixView MaxPool2D::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  const MatrixView dx = reserve_rows(dx_, rows_, input_width());
  max_pool_backward(geometry_, std::span<const std::uint32_t>(argmax_), dy, dx);
  return dx;
}

AvgPool2D::AvgPool2D(ImageShape input, std::size_t kernel, std::size_t stride, std::size_t padding)
    : geometry_(pooling_window("avgpool2d", input, kernel, stride, padding)) {}

ConstMatrixView AvgPool2D::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const MatrixView y = reserve_rows(y_, x.rows, output_width());
  avg_pool(geometry_, x, y);
  if (mode == Mode::train) rows_ = x.rows, trained_forward_ = true;
  return y;
}

ConstMatrixView AvgPool2D::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, output_width());
  avg_pool(geometry_, x, y);
  return y;
}

ConstMatrixView AvgPool2D::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  const MatrixView dx = reserve_rows(dx_, rows_, input_width());
  avg_pool_backward(geometry_, dy, dx);
  return dx;
}

GlobalAvgPool2D::GlobalAvgPool2D(ImageShape input) : input_(input) {
  WindowGeometry{input, 1, 1, 0}.check("globalavgpool2d");
}

ConstMatrixView GlobalAvgPool2D::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const MatrixView y = reserve_rows(y_, x.rows, output_width());
  global_avg_pool(input_, x, y);
  if (mode == Mode::train) rows_ = x.rows, trained_forward_ = true;
  return y;
}

ConstMatrixView GlobalAvgPool2D::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, output_width());
  global_avg_pool(input_, x, y);
  return y;
}

ConstMatrixView GlobalAvgPool2D::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  const MatrixView dx = reserve_rows(dx_, rows_, input_width());
  global_avg_pool_backward(input_, dy, dx);
  return dx;
}

}  // namespace simdnn
