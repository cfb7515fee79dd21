// The notebook's network as its code trains it, defects included, for repro's "notebook's
// procedure" columns (docs/NOTEBOOK.md). Not a library feature: simdnn's own layers are right.
#pragma once

#include <memory>

#include <simdnn/core/activation.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model_config.h>

namespace simdnn::repro {

// The notebook's BatchNorm followed by its activation f, as its code runs them (defect 2).
// Forward: y = f(x̂) with x̂ = (z − μ)/√(σ² + eps) from the batch in training and from the
// running statistics in evaluation (γ = 1, β = 0, never trained: no parameters). Backward:
// dL/dz = dL/dy ⊙ f'(z), the derivative at the values *before* normalization, as if BatchNorm
// were the identity. Running statistics as simdnn's BatchNorm (momentum 0.1 on the new value =
// the notebook's 0.9 on the old; simdnn keeps the unbiased variance, the notebook the biased).
class NotebookBatchNormActivation : public Layer {
 public:
  NotebookBatchNormActivation(std::size_t width, ActivationSpec activation) : norm_(width), activation_(activation) {}

  const char* kind() const override { return "notebook_batchnorm_activation"; }
  std::size_t input_width() const override { return norm_.input_width(); }
  std::size_t output_width() const override { return norm_.output_width(); }
  ConstMatrixView forward(ConstMatrixView z, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView z, InferenceBuffers& buffers) const override;
  std::vector<StateTensor> state() override { return norm_.state(); }

 private:
  BatchNorm norm_;
  ActivationSpec activation_;
  ConstMatrixView z_;  // the last train-mode input
  bool trained_forward_ = false;
  Tensor y_, fz_, dz_;  // fz_ = f(z), which some derivatives read
};

// The notebook's DeepNeuralNetwork: for each hidden width, Dense (c.init, bias) → c.activation,
// or with c.batch_norm Dense → NotebookBatchNormActivation; then Dropout(c.dropout) when
// c.dropout > 0. The output is Dense(·, 1) → sigmoid, so the model outputs probabilities, trained
// by the caller on MeanSquaredError at half the learning rate: that gradient, (p − y)·σ'(z)/m,
// is exactly the notebook's output-layer dZ (defect 1). Throws std::invalid_argument unless
// c.outputs is 1.
std::unique_ptr<Sequential> make_notebook_network(const MlpConfig& c);

}  // namespace simdnn::repro
