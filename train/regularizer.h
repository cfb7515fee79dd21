// Weight penalties added to the data loss: L1, L2 and ElasticNet (both).
//
// Conventions (λ ≥ 0; sums run over every element of every selected parameter):
//   L1          penalty λ·Σ|w|           gradient λ·sign(w)  (the subgradient 0 at w = 0)
//   L2          penalty λ/2·Σw²          gradient λ·w
//               — PyTorch's weight_decay convention: SGD with weight_decay = λ takes exactly the
//               step of SGD on loss + this penalty.
//   ElasticNet  penalty λ1·Σ|w| + λ2/2·Σw²,  gradient λ1·sign(w) + λ2·w
// Penalties are independent of the batch size: they are added once per step to a MEAN data loss
// (train/loss.h), whatever the batch.
//
// For comparison with the notebook only, L2Scaling::per_batch_notebook reproduces its training
// update: gradient (λ/m)·w with m the batch size, i.e. the penalty λ/(2m)·Σw², so the effective
// strength changes with the batch size (the notebook's reported loss, λ/(2·N_set)·Σw² with N_set
// the whole set, matches neither its gradient nor this; see docs/NOTEBOOK.md, defect 4).
// The penalty and the gradient describe one objective only when they are given the same
// batch_size: a training loop passes one m to both (Trainer passes TrainerOptions::batch_size to
// every apply(), a smaller last batch included, and to the penalty it records).
//
// Which parameters: by default only those with Parameter::regularize set (weights; not biases,
// nor BatchNorm's γ and β); RegularizedParameters::all includes every parameter.
//
// Penalties are accumulated in double (L2 with core's deterministic sum_of_squares), in
// parameter order, so the result is the same at any thread count. Parameters must have non-null
// value and grad of the same shape (ShapeError naming the parameter otherwise); bad coefficients
// throw std::invalid_argument naming the parameter and its value.
#pragma once

#include <cstddef>
#include <span>

#include <simdnn/layers/layer.h>

namespace simdnn {

enum class RegularizedParameters {
  marked,  // parameters with regularize == true (the default)
  all,     // every parameter
};

enum class L2Scaling {
  weight_decay,        // penalty λ/2·‖W‖², gradient λ·W (the default; PyTorch's weight_decay)
  per_batch_notebook,  // penalty λ/(2m)·‖W‖², gradient (λ/m)·W, m = batch size: the notebook's
                       // update, kept only to compare against it
};

class Regularizer {
 public:
  virtual ~Regularizer() = default;

  // "l1", "l2" or "elastic_net".
  virtual const char* name() const = 0;

  // The penalty of the selected parameters. `batch_size` is used only by
  // L2Scaling::per_batch_notebook, which requires it to be > 0.
  double penalty(std::span<const Parameter> params, std::size_t batch_size = 0) const;

  // Adds the penalty's gradient to the grad of each selected parameter and returns the penalty
  // (of the values as they are; nothing but the gradients changes).
  double apply(std::span<const Parameter> params, std::size_t batch_size = 0) const;

  RegularizedParameters which() const { return which_; }

 protected:
  explicit Regularizer(RegularizedParameters which) : which_(which) {}

  // One parameter's penalty; with `grad`, also adds its gradient there. n = element count.
  virtual double penalty_and_gradient(const float* w, float* grad, std::size_t n,
                                      std::size_t batch_size) const = 0;

 private:
  double run(std::span<const Parameter> params, std::size_t batch_size, bool add) const;

  RegularizedParameters which_;
};

// λ·Σ|w|.
class L1Regularizer final : public Regularizer {
 public:
  explicit L1Regularizer(double lambda,
                         RegularizedParameters which = RegularizedParameters::marked);
  const char* name() const override { return "l1"; }
  double lambda() const { return lambda_; }

 protected:
  double penalty_and_gradient(const float* w, float* grad, std::size_t n,
                              std::size_t batch_size) const override;

 private:
  double lambda_;
};

// λ/2·Σw² (or the notebook's per-batch scaling, see above).
class L2Regularizer final : public Regularizer {
 public:
  explicit L2Regularizer(double lambda, L2Scaling scaling = L2Scaling::weight_decay,
                         RegularizedParameters which = RegularizedParameters::marked);
  const char* name() const override { return "l2"; }
  double lambda() const { return lambda_; }
  L2Scaling scaling() const { return scaling_; }

 protected:
  double penalty_and_gradient(const float* w, float* grad, std::size_t n,
                              std::size_t batch_size) const override;

 private:
  double lambda_;
  L2Scaling scaling_;
};

// λ1·Σ|w| + λ2/2·Σw².
class ElasticNetRegularizer final : public Regularizer {
 public:
  ElasticNetRegularizer(double l1_lambda, double l2_lambda,
                        RegularizedParameters which = RegularizedParameters::marked);
  const char* name() const override { return "elastic_net"; }
  double l1_lambda() const { return l1_lambda_; }
  double l2_lambda() const { return l2_lambda_; }

 protected:
  double penalty_and_gradient(const float* w, float* grad, std::size_t n,
                              std::size_t batch_size) const override;

 private:
  double l1_lambda_;
  double l2_lambda_;
};

}  // namespace simdnn
