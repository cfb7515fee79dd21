#include <simdnn/layers/activation_layer.h>

#include <stdexcept>
#include <string>

#include <simdnn/core/elementwise.h>

namespace simdnn {

ActivationLayer::ActivationLayer(std::size_t width, ActivationSpec activation)
    : width_(width), activation_(activation) {
  if (width == 0) throw std::invalid_argument("activation: width must be positive, got 0");
}

ConstMatrixView ActivationLayer::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const MatrixView y = reserve_rows(y_, x.rows, width_);
  activation_forward(activation_, x, y);
  if (mode == Mode::train) {
    x_ = x;
    trained_forward_ = true;
  }
  return y;
}

ConstMatrixView ActivationLayer::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, width_);
  activation_forward(activation_, x, y);
  return y;
}

ConstMatrixView ActivationLayer::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  const std::size_t m = x_.rows;
  check_output_grad(dy, m);
  const MatrixView dx = reserve_rows(dx_, m, width_);
  activation_backward(activation_, x_, ConstMatrixView{y_.data(), m, width_, width_}, dy, dx);
  return dx;
}

}  // namespace simdnn
