#include <simdnn/layers/conv2d.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include <simdnn/core/conv.h>
#include <simdnn/layers/ops.h>

namespace simdnn {

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

ConstMatrixView Conv2D::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const MatrixView y = reserve_rows(y_, x.rows, output_width());
  conv2d_forward(geometry_, x, weight_.cview(), has_bias_ ? bias_.data() : nullptr, y);
  if (mode == Mode::train) {
    x_ = x;
    trained_forward_ = true;
  }
  return y;
}

ConstMatrixView Conv2D::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, output_width());
  conv2d_forward(geometry_, x, weight_.cview(), has_bias_ ? bias_.data() : nullptr, y);
  return y;
}

ConstMatrixView Conv2D::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, x_.rows);
  if (dy.ld != dy.cols) {  // the kernel reads dy as pixel rows, which needs it contiguous
    const MatrixView copy = reserve_rows(dy_, dy.rows, dy.cols);
    internal::copy_view(dy, copy);
    dy = copy;
  }
  const MatrixView dx = input_gradient() ? reserve_rows(dx_, x_.rows, input_width()) : MatrixView{};
  if (gradient_chunk_ends().empty()) {
    conv2d_backward(geometry_, x_, weight_.cview(), dy, dx, weight_grad_.view(), has_bias_ ? bias_grad_.data() : nullptr);
    return dx;  // empty without input_gradient()
  }
  // dW and db chunk by chunk, as the sliced step has them. dx over the whole batch at stride 1,
  // where an image's dx does not depend on the images beside it; at a larger stride it does
  // (core/conv.h), so it comes chunk by chunk too.
  const bool whole_dx = input_gradient() && geometry_.stride == 1;
  if (whole_dx) conv2d_backward(geometry_, x_, weight_.cview(), dy, dx, MatrixView{}, nullptr);
  Tensor* grads[] = {&weight_grad_, &bias_grad_};
  chunk_sum_.add(*this, gradient_chunk_ends(), x_.rows, std::span<Tensor* const>(grads, has_bias_ ? 2 : 1),
                 [&](std::size_t begin, std::size_t rows, std::span<Tensor* const> parts) {
                   const ConstMatrixView x_rows{x_.row(begin), rows, x_.cols, x_.ld};
                   const ConstMatrixView dy_rows{dy.row(begin), rows, dy.cols, dy.ld};
                   const MatrixView dx_rows =
                       input_gradient() && !whole_dx ? MatrixView{dx.row(begin), rows, dx.cols, dx.ld} : MatrixView{};
                   conv2d_backward(geometry_, x_rows, weight_.cview(), dy_rows, dx_rows, parts[0]->view(),
                                   has_bias_ ? parts[1]->data() : nullptr);
                 });
  return dx;
}

}  // namespace simdnn
