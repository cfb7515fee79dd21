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

void Dense::forward_rows(ConstMatrixView x, MatrixView y, MatrixView z) const {
  const float* bias = has_bias_ ? bias_.data() : nullptr;
  if (keeps_z_) {
    gemm(Trans::no, Trans::no, 1.0f, x, weight_.cview(), 0.0f, z, {bias});
    activation_forward(activation_, z, y);
  } else {
    gemm(Trans::no, Trans::no, 1.0f, x, weight_.cview(), 0.0f, y, {bias, activation_});
  }
}

ConstMatrixView Dense::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const std::size_t m = x.rows;
  const MatrixView y = reserve_rows(y_, m, output_width());
  if (mode == Mode::train) {
    forward_rows(x, y, keeps_z_ ? reserve_rows(z_, m, output_width()) : MatrixView{});
    x_ = x;
    trained_forward_ = true;
  } else {
    gemm(Trans::no, Trans::no, 1.0f, x, weight_.cview(), 0.0f, y, {has_bias_ ? bias_.data() : nullptr, activation_});
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

ConstMatrixView Dense::activation_gradient(ConstMatrixView dy, std::size_t begin, std::size_t rows) {
  if (activation_.kind == Activation::identity || output_gradient_is_preactivation_) return dy;
  const std::size_t n = output_width();
  const MatrixView dz{dz_.data() + begin * n, rows, n, n};
  const ConstMatrixView y{y_.data() + begin * n, rows, n, n};
  const ConstMatrixView z = keeps_z_ ? ConstMatrixView{z_.data() + begin * n, rows, n, n} : y;
  activation_backward(activation_, z, y, dy, dz);
  return dz;
}

std::span<Tensor* const> Dense::gradient_slots() {
  gradient_slots_ = {&weight_grad_, &bias_grad_};
  return {gradient_slots_.data(), has_bias_ ? 2u : 1u};
}

ConstMatrixView Dense::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  const std::size_t m = x_.rows;
  check_output_grad(dy, m);
  if (activation_.kind != Activation::identity) reserve_rows(dz_, m, output_width());
  const ConstMatrixView dz = activation_gradient(dy, 0, m);
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
  gemm(Trans::no, Trans::yes, 1.0f, dz, weight_.cview(), 0.0f, dx, input_gradient_epilogue(x_));
  return dx;
}

GemmEpilogue Dense::input_gradient_epilogue(ConstMatrixView x) const {
  GemmEpilogue ep;
  if (gate_input_gradient_) ep.relu_gate = x;
  return ep;
}

// Concurrent chunks (layer.h): the products of backward()'s chunked form, chunk by chunk. Chunk
// c's xᵀ·dz is its own gemm() into its scratch, as gemm_depth_chunks defines its chunks' products,
// and its column sums go into zeroed scratch, as chunk_sum_.add() has them; end_chunks() adds
// both sums in the tree order.
ConstMatrixView Dense::begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends) {
  trained_forward_ = false;
  check_input(x);
  keep_concurrent_chunks(ends, x.rows);
  const MatrixView y = reserve_rows(y_, x.rows, output_width());
  if (keeps_z_) reserve_rows(z_, x.rows, output_width());
  x_ = x;
  trained_forward_ = true;
  return y;
}

void Dense::forward_chunk(std::size_t c) {
  const auto [begin, rows] = chunk(c);
  const std::size_t n = output_width();
  forward_rows(ConstMatrixView{x_.row(begin), rows, x_.cols, x_.ld}, MatrixView{y_.data() + begin * n, rows, n, n},
               keeps_z_ ? MatrixView{z_.data() + begin * n, rows, n, n} : MatrixView{});
}

ConstMatrixView Dense::begin_backward_chunks(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  const std::size_t m = x_.rows;
  check_output_grad(dy, m);
  dy_ = dy;
  if (activation_.kind != Activation::identity) reserve_rows(dz_, m, output_width());
  chunk_sum_.start_chunks(gradient_slots(), chunk_count());
  if (!input_gradient()) return {};
  // dz·Wᵀ on Wᵀ stored: once here, not a transposing copy of W in every chunk's product. The
  // product's bits do not depend on how op(B) is stored (its panels hold the same values).
  const MatrixView wt = reserve_rows(weight_t_, output_width(), input_width());
  internal::transpose_view(weight_.cview(), wt);
  return reserve_rows(dx_, m, input_width());
}

void Dense::backward_chunk(std::size_t c) {
  const auto [begin, rows] = chunk(c);
  const ConstMatrixView dz = activation_gradient(ConstMatrixView{dy_.row(begin), rows, dy_.cols, dy_.ld}, begin, rows);
  const std::span<Tensor* const> parts = chunk_sum_.chunk_parts(c);
  gemm(Trans::yes, Trans::no, 1.0f, ConstMatrixView{x_.row(begin), rows, x_.cols, x_.ld}, dz, 0.0f, parts[0]->view());
  if (has_bias_) {
    std::fill(parts[1]->data(), parts[1]->data() + parts[1]->size(), 0.0f);
    add_column_sums(dz, parts[1]->data());
  }
  if (!input_gradient()) return;
  const std::size_t k = input_width();
  gemm(Trans::no, Trans::no, 1.0f, dz, weight_t_.cview(), 0.0f, MatrixView{dx_.data() + begin * k, rows, k, k},
       input_gradient_epilogue(ConstMatrixView{x_.row(begin), rows, x_.cols, x_.ld}));
}

void Dense::end_chunks() {
  chunk_sum_.add_chunks(gradient_slots());
}

}  // namespace simdnn
