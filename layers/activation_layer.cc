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

ConstMatrixView ActivationLayer::begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends) {
  trained_forward_ = false;
  check_input(x);
  keep_concurrent_chunks(ends, x.rows);
  const MatrixView y = reserve_rows(y_, x.rows, width_);
  x_ = x;
  trained_forward_ = true;
  return y;
}

void ActivationLayer::forward_chunk(std::size_t c) {
  const auto [begin, rows] = chunk(c);
  activation_forward(activation_, ConstMatrixView{x_.row(begin), rows, width_, x_.ld},
                     MatrixView{y_.data() + begin * width_, rows, width_, width_});
}

ConstMatrixView ActivationLayer::begin_backward_chunks(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, x_.rows);
  dy_ = dy;
  return reserve_rows(dx_, x_.rows, width_);
}

void ActivationLayer::backward_chunk(std::size_t c) {
  const auto [begin, rows] = chunk(c);
  activation_backward(activation_, ConstMatrixView{x_.row(begin), rows, width_, x_.ld},
                      ConstMatrixView{y_.data() + begin * width_, rows, width_, width_},
                      ConstMatrixView{dy_.row(begin), rows, width_, dy_.ld},
                      MatrixView{dx_.data() + begin * width_, rows, width_, width_});
}

}  // namespace simdnn
