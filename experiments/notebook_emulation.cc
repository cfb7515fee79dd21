#include "experiments/notebook_emulation.h"

#include <stdexcept>
#include <string>

#include <simdnn/core/elementwise.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>

namespace simdnn::repro {
ConstMatrixView NotebookBatchNormActivation::forward(ConstMatrixView z, Mode mode) {
  trained_forward_ = false;
  check_input(z);
  const MatrixView y = reserve_rows(y_, z.rows, output_width());
  activation_forward(activation_, norm_.forward(z, mode), y);
  if (mode == Mode::train) {
    activation_forward(activation_, z, reserve_rows(fz_, z.rows, input_width()));
    z_ = z, trained_forward_ = true;
  }
  return y;
}

ConstMatrixView NotebookBatchNormActivation::infer(ConstMatrixView z, InferenceBuffers& buffers) const {
  check_input(z);
  const ConstMatrixView normalized = norm_.infer(z, buffers);
  const MatrixView y = buffers.next(z.rows, output_width());
  activation_forward(activation_, normalized, y);
  return y;
}

ConstMatrixView NotebookBatchNormActivation::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, z_.rows);
  const MatrixView dz = reserve_rows(dz_, z_.rows, input_width());
  activation_backward(activation_, z_, ConstMatrixView{fz_.data(), dz.rows, dz.cols, dz.cols}, dy, dz);
  return dz;
}

std::unique_ptr<Sequential> make_notebook_network(const MlpConfig& c) {
  if (c.outputs != 1) {
    throw std::invalid_argument("make_notebook_network: expected 1 output, got " + std::to_string(c.outputs));
  }
  auto model = std::make_unique<Sequential>();
  std::uint64_t stream = 0;
  std::size_t in = c.inputs;
  const auto next_dense = [&] { return DenseOptions{.weight_init = c.init, .seed = c.seed, .stream = stream++}; };
  for (std::size_t width : c.hidden) {
    model->emplace<Dense>(in, width, next_dense());
    if (c.batch_norm) {
      model->emplace<NotebookBatchNormActivation>(width, c.activation);
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
