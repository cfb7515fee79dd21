// Inference on a Model: raw outputs, probabilities and classes for a matrix of inputs, in batches.
//
//   Predictor predictor(model);                  // one per thread; reuses its memory
//   ConstMatrixView p = predictor.predict_proba(x);
//   std::vector<std::int32_t> classes = predict_classes(model, x);   // or the one-shot helpers
//
// Each batch of at most batch_size rows is scaled (model.scaler, when set) and run through
// Layer::infer(), the const eval-mode pass: the model is only read, so any number of threads
// may run inference on one model at once, each with its own Predictor (the free functions make
// one per call). A Predictor allocates while its buffers grow to the first (largest) batch and
// to the largest input it has seen; after that a call allocates nothing. Each row's result is the
// one forward(x, Mode::eval) gives, bit for bit, and does not depend on batch_size (the GEMM sums
// over k in the same order whatever the batch's row count; tests/inference_test.cc checks batches
// of 1, 7, 32 and 256 rows on every model family) or on the thread count.
//
// Outputs, per OutputKind (models/model.h):
//   predict        m x output_width raw scores (logits or values)
//   predict_proba  binary_logit: m x 2, (1 − σ(z), σ(z)); class_logits: m x C, softmax(z);
//                  values: std::logic_error (a regression has no probabilities)
//   predict_classes  binary_logit: 1 when z > 0 (σ(z) > 0.5), else 0; class_logits: the arg-max
//                  (the first on ties); values: std::logic_error
// Errors: inputs whose width is not model.input_width() throw ShapeError naming both widths; a
// model that fails Model::validate() throws std::invalid_argument when the Predictor is made.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <simdnn/core/tensor.h>
#include <simdnn/layers/layer.h>
#include <simdnn/models/model.h>

namespace simdnn {

inline constexpr std::size_t kDefaultInferenceBatch = 256;

class Predictor {
 public:
  // The model is not owned and must outlive the predictor; it must not be trained or loaded
  // while the predictor runs. Throws std::invalid_argument for batch_size 0 or an invalid model.
  explicit Predictor(const Model& model, std::size_t batch_size = kDefaultInferenceBatch);
  // Not on a temporary: the predictor keeps a reference.
  Predictor(Model&& model, std::size_t batch_size = kDefaultInferenceBatch) = delete;

  // Each result is valid until this predictor's next call.
  ConstMatrixView predict(ConstMatrixView x);
  ConstMatrixView predict_proba(ConstMatrixView x);
  std::span<const std::int32_t> predict_classes(ConstMatrixView x);

  const Model& model() const { return model_; }
  std::size_t batch_size() const { return batch_size_; }

 private:
  const Model& model_;
  std::size_t batch_size_;
  InferenceBuffers buffers_;
  Tensor scaled_, outputs_, proba_;
  std::vector<std::int32_t> classes_;
};

// One-shot forms: a Predictor for this call only.
Tensor predict(const Model& model, ConstMatrixView x, std::size_t batch_size = kDefaultInferenceBatch);
Tensor predict_proba(const Model& model, ConstMatrixView x, std::size_t batch_size = kDefaultInferenceBatch);
std::vector<std::int32_t> predict_classes(const Model& model, ConstMatrixView x,
                                          std::size_t batch_size = kDefaultInferenceBatch);

}  // namespace simdnn
