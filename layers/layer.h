// Layer: the interface every building block of a network implements.
//
// Data layout: a batch is a row-major matrix with one sample per row (rows = batch size,
// cols = features). forward() returns a view of an output the layer owns and reuses: it stays
// valid until the layer's next forward() (or, for backward(), the next backward()). Buffers are
// kept between calls and only grow, so a training step allocates nothing once warm.
//
// Modes: Mode::train and Mode::eval are explicit arguments, never hidden state.
//  - Dropout: train zeroes each input with probability p and scales survivors by 1/(1−p)
//    (inverted dropout); eval is the identity.
//  - BatchNorm: train normalizes with the batch's mean and (biased) variance and updates the
//    running statistics; eval normalizes with the running statistics.
// backward() refers to the most recent train-mode forward(); calling it after an eval-mode
// forward (or none) throws std::logic_error.
//
// Gradients: backward(dy), given dL/dy, returns dL/dx and ADDS dL/dθ into each parameter's grad
// (so gradients of several batches or branches accumulate); zero_grad() clears them.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace simdnn {

enum class Mode { train, eval };

// A trained tensor and its gradient, owned by the layer.
struct Parameter {
  std::string name;         // unique within its layer: "weight", "bias", "gamma", "beta"
  Tensor* value = nullptr;
  Tensor* grad = nullptr;   // same shape as value
  bool regularize = false;  // L1/L2 apply by default to weights only, not biases or γ/β
};

// State saved with a model but not trained (BatchNorm's running mean and variance).
struct StateTensor {
  std::string name;
  Tensor* value = nullptr;
};

class Layer {
 public:
  virtual ~Layer() = default;

  // The layer type, e.g. "dense", "batchnorm", "dropout", "residual", "sequential".
  virtual const char* kind() const = 0;
  // The instance name, unique within a model (used for saved files and error messages).
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  virtual std::size_t input_width() const = 0;
  virtual std::size_t output_width() const = 0;

  // Throws ShapeError naming the layer if x.cols != input_width().
  virtual ConstMatrixView forward(ConstMatrixView x, Mode mode) = 0;
  // Throws ShapeError if dy is not (rows of the last forward) x output_width().
  virtual ConstMatrixView backward(ConstMatrixView dy) = 0;

  // This layer's own parameters (not its children's).
  virtual std::vector<Parameter> parameters() { return {}; }
  virtual std::vector<StateTensor> state() { return {}; }
  // Sub-layers of a container (Sequential, residual and dense blocks), in order.
  virtual std::vector<Layer*> children() { return {}; }

 private:
  std::string name_;
};

// Every parameter of `layer` and its descendants, depth first, with names prefixed by the path
// of layer names ("block1/dense2/weight").
std::vector<Parameter> all_parameters(Layer& layer);
std::vector<StateTensor> all_state(Layer& layer);
// Sets every gradient of `layer` and its descendants to zero.
void zero_grad(Layer& layer);

}  // namespace simdnn
