#include "experiments/notebook_emulation.h"

#include <stdexcept>

#include <simdnn/core/activation.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>

namespace simdnn::repro {
namespace {

void relu_into(ConstMatrixView x, MatrixView y) {
  for (std::size_t i = 0; i < x.rows; ++i) {
    for (std::size_t j = 0; j < x.cols; ++j) y(i, j) = x(i, j) > 0.0f ? x(i, j) : 0.0f;
  }
}

}  // namespace

ConstMatrixView NotebookBatchNormRelu::forward(ConstMatrixView z, Mode mode) {
  trained_forward_ = false;
  check_input(z);
  const ConstMatrixView normalized = norm_.forward(z, mode);
  const MatrixView y = reserve_rows(y_, z.rows, output_width());
  relu_into(normalized, y);
  if (mode == Mode::train) z_ = z, trained_forward_ = true;
  return y;
}

ConstMatrixView NotebookBatchNormRelu::infer(ConstMatrixView z, InferenceBuffers& buffers) const {
  check_input(z);
  const ConstMatrixView normalized = norm_.infer(z, buffers);
  const MatrixView y = buffers.next(z.rows, output_width());
  relu_into(normalized, y);
  return y;
}

ConstMatrixView NotebookBatchNormRelu::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, z_.rows);
  const MatrixView dz = reserve_rows(dz_, z_.rows, input_width());
  for (std::size_t i = 0; i < dz.rows; ++i) {
    for (std::size_t j = 0; j < dz.cols; ++j) dz(i, j) = z_(i, j) > 0.0f ? dy(i, j) : 0.0f;
  }
  return dz;
}

std::unique_ptr<Sequential> make_notebook_network(const MlpConfig& c) {
  if (c.outputs != 1 || c.activation.kind != Activation::relu) {
    throw std::invalid_argument("make_notebook_network: expected a ReLU network with 1 output");
  }
  auto model = std::make_unique<Sequential>();
  std::uint64_t stream = 0;
  std::size_t in = c.inputs;
  const auto next_dense = [&] { return DenseOptions{.weight_init = c.init, .seed = c.seed, .stream = stream++}; };
  for (std::size_t width : c.hidden) {
    model->emplace<Dense>(in, width, next_dense());
    if (c.batch_norm) {
      model->emplace<NotebookBatchNormRelu>(width);
    } else {
      model->emplace<ActivationLayer>(width, c.activation);
    }
    if (c.dropout > 0.0f) model->emplace<Dropout>(width, c.dropout, DropoutOptions{c.seed, stream++});
    in = width;
  }
  model->emplace<Dense>(in, 1, next_dense());
  model->emplace<ActivationLayer>(1, ActivationSpec::of(Activation::sigmoid));
  return model;
}

}  // namespace simdnn::repro
