// The gradient each layer of a network receives in one backward pass: what the vanishing and
// exploding demos plot.
#pragma once

#include <cstdint>
#include <vector>

#include <simdnn/layers/sequential.h>
#include <simdnn/models/model_config.h>

namespace simdnn::repro {

struct GradientTrace {
  std::vector<double> output_grad;  // [i] = ‖∂L/∂(output of child i)‖
  std::vector<double> weight_grad;  // [i] = ‖∂L/∂W‖ of child i if it is a Dense, else 0
  double input_grad = 0.0;          // ‖∂L/∂x‖
};

// One forward in train mode and one backward of the binary cross-entropy on logits through the
// Sequential, stepping its children backward one at a time (gradients zeroed first).
GradientTrace trace_gradients(Sequential& model, ConstMatrixView x, ConstMatrixView y);

// An MLP of `layers` hidden layers of `width` and one logit output: no dropout, no BatchNorm,
// so child i < layers of make_mlp's Sequential is hidden layer i + 1 and child `layers` the head.
MlpConfig deep_mlp_config(std::size_t inputs, std::size_t layers, std::size_t width, ActivationSpec activation,
                          InitSpec init, std::uint64_t seed);

}  // namespace simdnn::repro
