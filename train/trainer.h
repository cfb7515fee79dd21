// Trainer: the mini-batch training loop, evaluation and prediction, with a per-epoch history
// and callbacks (train/callbacks.h). Also usable step by step: train_on_batch(), evaluate(),
// predict() for users who write their own loop.
//
// One training step (train_on_batch): forward in Mode::train → loss and dL/doutput →
// zero the gradients, backward → regularizer gradient (if any) → gradient clipping (if any) →
// optimizer step. A step allocates nothing once the buffers have grown to the batch size.
//
// fit(): each epoch shuffles the sample order with Rng(seed, epoch) (core/random.h) — so the
// same seed gives the same run, at any thread count — and visits it in batches of batch_size
// (the last may be smaller). After the epoch it evaluates the whole training set and, when given,
// the validation set in Mode::eval, records an EpochRecord, and asks the callbacks whether to stop.
//
// Accuracy: with one output column, a sample is right when (logit > 0) == (target > 0.5) — the
// model outputs logits for the binary cross-entropy; with k columns, when the arg-max of the
// output equals the arg-max of the (one-hot) target.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <simdnn/layers/layer.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/regularizer.h>
#include <simdnn/train/schedule.h>

namespace simdnn {

class Callback;

struct TrainerOptions {
  std::size_t epochs = 10;
  std::size_t batch_size = 32;
  std::uint64_t seed = 0;   // shuffling; layers take their own seeds
  bool shuffle = true;
  double clip_norm = 0.0;   // clip the global gradient norm to this; 0 = off
  double clip_value = 0.0;  // clamp every gradient to ±this; 0 = off
  const Regularizer* regularizer = nullptr;  // not owned
  LrSchedule* schedule = nullptr;            // not owned; sets the optimizer's learning rate
  bool record_grad_norms = true;             // per-layer gradient norms in the history
};

struct Evaluation {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();
};

struct EpochRecord {
  std::size_t epoch = 0;  // 0-based
  Evaluation train;       // the whole training set in eval mode, after the epoch
  Evaluation validation;  // NaN when no validation set was given
  double mean_batch_loss = 0.0;  // the mean of the epoch's training-step losses (train mode)
  double penalty = 0.0;          // the regularizer's penalty after the epoch (0 without one)
  double learning_rate = 0.0;    // the rate used by the epoch's last step
  std::vector<double> grad_norms;  // per parameterized layer (History::layer_names), mean over steps
  double seconds = 0.0;            // wall time of the epoch's training steps and evaluation
};

struct History {
  std::vector<std::string> layer_names;  // the layers grad_norms refers to, in order
  std::vector<EpochRecord> epochs;
};

class Trainer {
 public:
  // The model, loss and optimizer are not owned and must outlive the trainer. The optimizer
  // must have been built on all_parameters(model) (or a subset of them).
  Trainer(Layer& model, Loss& loss, Optimizer& optimizer, TrainerOptions options = {});
  ~Trainer();

  // Adds a callback, owned by the trainer; callbacks run in the order added.
  template <class C, class... Args>
  C& add_callback(Args&&... args) {
    auto owned = std::make_unique<C>(std::forward<Args>(args)...);
    C& ref = *owned;
    callbacks_.push_back(std::move(owned));
    return ref;
  }

  // Trains for options().epochs epochs (or until a callback stops it) on x (samples x features)
  // and targets y (samples x outputs); x_val/y_val may be empty. Throws ShapeError for
  // mismatched sets. Returns the history (also in history()).
  const History& fit(ConstMatrixView x, ConstMatrixView y, ConstMatrixView x_val = {},
                     ConstMatrixView y_val = {});

  // One training step on one batch; returns its mean loss (before the step).
  double train_on_batch(ConstMatrixView x, ConstMatrixView y);
  // Loss and accuracy on a whole set in eval mode, in chunks of `chunk_rows` samples.
  Evaluation evaluate(ConstMatrixView x, ConstMatrixView y, std::size_t chunk_rows = 4096);
  // The model's outputs for x in eval mode; valid until the model's next forward().
  ConstMatrixView predict(ConstMatrixView x);

  // Callbacks may call this to end fit() after the current epoch.
  void request_stop() { stop_requested_ = true; }
  std::size_t current_epoch() const { return epoch_; }
  std::size_t current_batch() const { return batch_; }

  Layer& model() { return model_; }
  Optimizer& optimizer() { return optimizer_; }
  const TrainerOptions& options() const { return options_; }
  const History& history() const { return history_; }

 private:
  void gather_batch(ConstMatrixView x, ConstMatrixView y, std::size_t begin, std::size_t end);
  void accumulate_grad_norms();

  Layer& model_;
  Loss& loss_;
  Optimizer& optimizer_;
  TrainerOptions options_;
  std::vector<std::unique_ptr<Callback>> callbacks_;
  std::vector<Parameter> params_;        // the optimizer's
  std::vector<Parameter> model_params_;  // every parameter of the model, zeroed before backward
  std::vector<std::pair<std::string, std::vector<Parameter>>> layer_params_;  // for grad norms
  std::vector<double> grad_norm_sums_;
  std::vector<std::size_t> order_;
  Tensor x_batch_, y_batch_;
  History history_;
  std::size_t epoch_ = 0, batch_ = 0, global_step_ = 0;
  bool stop_requested_ = false;
};

// Fraction of rows whose prediction matches the target (see the accuracy rule above).
double classification_accuracy(ConstMatrixView outputs, ConstMatrixView targets);

}  // namespace simdnn
