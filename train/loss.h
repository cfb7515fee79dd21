// Loss functions: the mean loss of a batch and its gradient with respect to the network's raw
// outputs (logits for the cross-entropies, predictions for MSE).
//
// Layout: one sample per row, as everywhere in simdnn (m rows = batch size, k columns = outputs).
// Every loss is a MEAN, so its gradient carries the 1/m (or 1/(m·k)) factor and the network's
// backward pass needs no further scaling:
//
//   binary cross-entropy   L = (1/(m·k)) Σ max(z,0) − z·y + log1p(e^−|z|)     (= −y·log σ(z) −
//   from logits                                                                (1−y)·log(1−σ(z)),
//                          dL/dz = (σ(z) − y)/(m·k)                            stable for any z)
//                          k independent binary outputs (multi-label); usually k = 1, where this
//                          is the (σ(z) − y)/m of a sigmoid output. Averaging over all m·k
//                          elements is PyTorch's BCEWithLogitsLoss(reduction="mean").
//   softmax cross-entropy  L = −(1/m) Σ_i Σ_c y_ic · log_softmax(z_i)_c
//   from logits            dL/dz_ic = (softmax(z_i)_c · Σ_c' y_ic' − y_ic)/m
//                          (= (p − y)/m for one-hot or probability targets). Mean over the m
//                          samples (PyTorch's CrossEntropyLoss).
//   mean squared error     L = (1/(m·k)) Σ (ŷ − y)²,  dL/dŷ = 2(ŷ − y)/(m·k)
//                          Mean over ALL m·k elements (PyTorch's MSELoss), not the per-sample sum
//                          over k, and without the ½ some texts put in front.
//
// Sigmoid and softmax are inside the losses: feed them the logits (the last layer's output
// before any sigmoid / softmax), never probabilities. The notebook's defect of multiplying
// (p − y) by σ'(z) once more is not reproduced.
//
// Precision and determinism: losses and gradients are evaluated in double on the calling thread,
// in a fixed order (so identical at any thread count), and the gradient is rounded once to float.
// The binary cross-entropy runs vectorized (core/elementwise.h logistic_loss: the same formula
// with vector exp and log1p in double); the others are scalar. The cost is O(m·k), small next to
// the network (libm's scalar log1p alone had been 6 % of the notebook's 500-epoch run). Any
// finite logit gives a finite loss and gradient (z = ±1e4 included); NaN or infinite logits give
// NaN results (but the binary cross-entropy's gradient of an infinite logit is finite), except
// that in the softmax cross-entropy a −inf logit is a masked class: probability 0 and gradient 0 there, the
// loss finite unless the target class (a label or a non-zero target) is masked, then +inf with a
// finite gradient. A row holding NaN or +inf, or only −inf, gives a NaN loss and an all-NaN
// gradient row; the other rows' gradients are unaffected (tests/losses_test.cc, *NonFinite).
//
// Targets: binary cross-entropy targets lie in [0, 1] (soft labels allowed); softmax
// cross-entropy takes class indices (labels[i] in [0, C)) or an m x C matrix of one-hot (or
// probability) targets in [0, 1]; an m x 1 target matrix with C ≥ 2 columns of logits holds class
// indices as floats (0.0, 1.0, ...), so labels can travel in a Tensor like the inputs.
//
// Errors: a shape that does not fit (no rows or columns, targets or gradient of another shape,
// one label per row) throws ShapeError; a target or label out of range throws
// std::invalid_argument. Messages name the function, the argument, what was expected and what
// was given ("softmax_cross_entropy: labels[3] is 12, expected a class index in [0, 10)").
// Everything is checked before anything is written.
//
// Gradient buffers: the overloads taking a MatrixView write dL/d(logits) there (same shape as
// the logits, any leading dimension; it may be the logits view itself, to compute in place).
// The Loss classes below own and reuse their buffer instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include <simdnn/core/tensor.h>

namespace simdnn {

// ---- free functions -----------------------------------------------------------------------

// Binary cross-entropy of sigmoid(logits) against targets (both m x k). Returns the mean loss.
double binary_cross_entropy_with_logits(ConstMatrixView logits, ConstMatrixView targets);
double binary_cross_entropy_with_logits(ConstMatrixView logits, ConstMatrixView targets,
                                        MatrixView dlogits);

// Softmax cross-entropy of m x C logits against m class indices.
double softmax_cross_entropy(ConstMatrixView logits, std::span<const std::int32_t> labels);
double softmax_cross_entropy(ConstMatrixView logits, std::span<const std::int32_t> labels,
                             MatrixView dlogits);
// ... against m x C one-hot / probability targets, or m x 1 class indices stored as floats.
double softmax_cross_entropy(ConstMatrixView logits, ConstMatrixView targets);
double softmax_cross_entropy(ConstMatrixView logits, ConstMatrixView targets,
                             MatrixView dlogits);

// Mean squared error of predictions against targets (both m x k).
double mean_squared_error(ConstMatrixView predictions, ConstMatrixView targets);
double mean_squared_error(ConstMatrixView predictions, ConstMatrixView targets,
                          MatrixView dpredictions);

// ---- loss objects that own their gradient buffer ----------------------------------------------

// A loss with a gradient buffer it keeps between calls (grown only when a batch is larger than
// any before, so steady-state training allocates nothing).
class Loss {
 public:
  virtual ~Loss() = default;

  // "binary_cross_entropy", "softmax_cross_entropy" or "mean_squared_error".
  virtual const char* name() const = 0;

  // The mean loss of the batch; stores dL/d(outputs) for gradient().
  virtual double forward_backward(ConstMatrixView outputs, ConstMatrixView targets) = 0;
  // The mean loss only (for evaluation); the stored gradient is left alone.
  virtual double value(ConstMatrixView outputs, ConstMatrixView targets) const = 0;

  // dL/d(outputs) of the last forward_backward(), outputs' shape, contiguous. Valid until the
  // next forward_backward(); empty before the first.
  ConstMatrixView gradient() const { return gradient_; }

 protected:
  // The buffer for an m x k gradient, reusing memory (reserve_rows); it becomes gradient().
  MatrixView gradient_buffer(std::size_t rows, std::size_t cols);
  // Checks `outputs` (argument `arg` of `op`) has a row and a column, then returns
  // compute(gradient_buffer(outputs' shape)); if anything throws, gradient() becomes empty.
  template <class F>
  double store_gradient(const char* op, const char* arg, ConstMatrixView outputs,
                        const F& compute);

 private:
  Tensor buffer_;
  MatrixView gradient_;
};

class BinaryCrossEntropyWithLogits final : public Loss {
 public:
  const char* name() const override { return "binary_cross_entropy"; }
  double forward_backward(ConstMatrixView logits, ConstMatrixView targets) override;
  double value(ConstMatrixView logits, ConstMatrixView targets) const override;
};

class SoftmaxCrossEntropy final : public Loss {
 public:
  const char* name() const override { return "softmax_cross_entropy"; }
  // targets: m x C one-hot / probabilities, or m x 1 class indices as floats.
  double forward_backward(ConstMatrixView logits, ConstMatrixView targets) override;
  double value(ConstMatrixView logits, ConstMatrixView targets) const override;
  // Class indices.
  double forward_backward(ConstMatrixView logits, std::span<const std::int32_t> labels);
  double value(ConstMatrixView logits, std::span<const std::int32_t> labels) const;
};

class MeanSquaredError final : public Loss {
 public:
  const char* name() const override { return "mean_squared_error"; }
  double forward_backward(ConstMatrixView predictions, ConstMatrixView targets) override;
  double value(ConstMatrixView predictions, ConstMatrixView targets) const override;
};

// The loss called `name` (a Loss::name(): "binary_cross_entropy", "softmax_cross_entropy",
// "mean_squared_error"). Throws std::invalid_argument listing the accepted names otherwise.
std::unique_ptr<Loss> make_loss(std::string_view name);

}  // namespace simdnn
