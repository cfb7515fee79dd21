#include "experiments/gradient_trace.h"

#include <simdnn/core/elementwise.h>
#include <simdnn/layers/dense.h>
#include <simdnn/train/loss.h>

namespace simdnn::repro {

GradientTrace trace_gradients(Sequential& model, ConstMatrixView x, ConstMatrixView y) {
  // Child by child both ways: Sequential's own forward may run a BatchNorm and the ReLU after it
  // as one pass, whose backward is then the BatchNorm's alone.
  const std::vector<Layer*> children = model.children();
  ConstMatrixView out = x;
  for (Layer* child : children) out = child->forward(out, Mode::train);
  BinaryCrossEntropyWithLogits loss;
  loss.forward_backward(out, y);
  zero_grad(model);
  GradientTrace t;
  t.output_grad.assign(children.size(), 0.0);
  t.weight_grad.assign(children.size(), 0.0);
  ConstMatrixView dy = loss.gradient();
  for (std::size_t i = children.size(); i-- > 0;) {
    t.output_grad[i] = frobenius_norm(dy);
    dy = children[i]->backward(dy);
    if (auto* dense = dynamic_cast<Dense*>(children[i])) t.weight_grad[i] = frobenius_norm(dense->weight_grad().cview());
  }
  t.input_grad = frobenius_norm(dy);
  return t;
}

MlpConfig deep_mlp_config(std::size_t inputs, std::size_t layers, std::size_t width, ActivationSpec activation,
                          InitSpec init, std::uint64_t seed) {
  MlpConfig config;
  config.inputs = inputs;
  config.hidden.assign(layers, width);
  config.outputs = 1;
  config.activation = activation;
  config.init = init;
  config.seed = seed;
  return config;
}

}  // namespace simdnn::repro
