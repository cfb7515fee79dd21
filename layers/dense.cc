#include <simdnn/layers/dense.h>

#include <stdexcept>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/gemm.h>
#include <simdnn/layers/ops.h>

namespace simdnn {

namespace {

// Whether dy·f'(z) can be computed from y alone, passing y where activation_backward reads x.
bool derivative_from_output(ActivationSpec act) {
  switch (act.kind) {
    case Activation::identity:
    case Activation::sigmoid:
    case Activation::tanh:
    case Activation::relu:
    case Activation::selu:
      return true;
    case Activation::leaky_relu:
    case Activation::elu:
      return act.alpha > 0.0f;  // then sign(y) = sign(z)
    case Activation::gelu:
    case Activation::swish:
    case Activation::softplus:
      return false;
  }
  return false;
}

}  // namespace

Dense::Dense(std::size_t fan_in, std::size_t fan_out, const DenseOptions& options)
    : activation_(options.activation),
      has_bias_(options.bias),
      keeps_z_(!derivative_from_output(options.activation)) {
  if (fan_in == 0 || fan_out == 0) {
    throw std::invalid_argument("dense: fan_in and fan_out must be positive, got " +
                                shape_string(fan_in, fan_out));
  }
  weight_ = Tensor(fan_in, fan_out);
  weight_grad_ = Tensor(fan_in, fan_out);
  initialize(weight_.view(), options.weight_init, options.seed, options.stream);
  if (has_bias_) {
    bias_ = Tensor(1, fan_out);
    bias_grad_ = Tensor(1, fan_out);
  }
}

std::vector<Parameter> Dense::parameters() {
  std::vector<Parameter> p{{"weight", &weight_, &weight_grad_, true}};
  if (has_bias_) p.push_back({"bias", &bias_, &bias_grad_, false});
  return p;
}

ConstMatrixView Dense::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const std::size_t m = x.rows;
  const MatrixView y = reserve_rows(y_, m, output_width());
  const float* bias = has_bias_ ? bias_.data() : nullptr;
  if (mode == Mode::train && keeps_z_) {
    const MatrixView z = reserve_rows(z_, m, output_width());
    gemm(Trans::no, Trans::no, 1.0f, x, weight_.cview(), 0.0f, z, {bias});
    activation_forward(activation_, z, y);
  } else {
    gemm(Trans::no, Trans::no, 1.0f, x, weight_.cview(), 0.0f, y, {bias, activation_});
  }
  if (mode == Mode::train) {
    x_ = x;
    trained_forward_ = true;
  }
  return y;
}

ConstMatrixView Dense::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const MatrixView y = buffers.next(x.rows, output_width());
  gemm(Trans::no, Trans::no, 1.0f, x, weight_.cview(), 0.0f, y,
       {has_bias_ ? bias_.data() : nullptr, activation_});
  return y;
}

ConstMatrixView Dense::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  const std::size_t m = x_.rows;
  check_output_grad(dy, m);
  const ConstMatrixView y{y_.data(), m, output_width(), output_width()};

  ConstMatrixView dz = dy;
  if (activation_.kind != Activation::identity) {
    const MatrixView dz_buf = reserve_rows(dz_, m, output_width());
    const ConstMatrixView z =
        keeps_z_ ? ConstMatrixView{z_.data(), m, output_width(), output_width()} : y;
    activation_backward(activation_, z, y, dy, dz_buf);
    dz = dz_buf;
  }
  if (gradient_chunk_ends().empty()) {
    gemm(Trans::yes, Trans::no, 1.0f, x_, dz, 1.0f, weight_grad_.view());
    if (has_bias_) add_column_sums(dz, bias_grad_.data());
  } else {  // each chunk's xᵀ·dz and column sums, summed in the chunks' tree order
    GradientChunkSum::check_ends(*this, gradient_chunk_ends(), m);
    gemm_depth_chunks(Trans::yes, Trans::no, x_, dz, gradient_chunk_ends(), weight_grad_.view());
    if (has_bias_) {
      Tensor* bias_grad[] = {&bias_grad_};
      chunk_sum_.add(*this, gradient_chunk_ends(), m, bias_grad,
                     [&](std::size_t begin, std::size_t rows, std::span<Tensor* const> part) {
                       add_column_sums(ConstMatrixView{dz.row(begin), rows, dz.cols, dz.ld}, part[0]->data());
                     });
    }
  }
  if (!input_gradient()) return {};
  const MatrixView dx = reserve_rows(dx_, m, input_width());
  gemm(Trans::no, Trans::yes, 1.0f, dz, weight_.cview(), 0.0f, dx);
  return dx;
}

}  // namespace simdnn
