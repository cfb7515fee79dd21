// Callbacks for Trainer::fit(): early stopping, a progress bar, a non-finite guard and periodic
// checkpoints. Each is added with trainer.add_callback<T>(args...).
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/train/trainer.h>

namespace simdnn {

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Trainer& trainer) { (void)trainer; }
  // After every training step, with its loss.
  virtual void on_batch_end(Trainer& trainer, double loss) { (void)trainer, (void)loss; }
  // After every epoch's evaluation. Call trainer.request_stop() to end training.
  virtual void on_epoch_end(Trainer& trainer, const EpochRecord& record) { (void)trainer, (void)record; }
  virtual void on_train_end(Trainer& trainer) { (void)trainer; }
};

enum class Monitor { validation_loss, validation_accuracy, train_loss, train_accuracy };

// Stops when the monitored metric has not improved by more than min_delta for `patience`
// epochs (losses must fall, accuracies rise). With restore_best_weights, the parameters and
// state (BatchNorm statistics) of the best epoch are put back when training ends.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(Monitor monitor = Monitor::validation_loss, std::size_t patience = 10,
                         double min_delta = 0.0, bool restore_best_weights = true);
  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  void on_train_end(Trainer& trainer) override;

  // The epoch whose weights are (or would be) restored; meaningful after one epoch.
  std::size_t best_epoch() const { return best_epoch_; }
  double best_value() const { return best_; }
  bool stopped_early() const { return stopped_; }

 private:
  Monitor monitor_;
  std::size_t patience_;
  double min_delta_;
  bool restore_;
  double best_ = 0.0;
  std::size_t best_epoch_ = 0, bad_epochs_ = 0;
  bool stopped_ = false;
  std::vector<Tensor> best_tensors_;
};

// One line per epoch, redrawn in place, on stderr — only when stderr is a terminal, and never
// with quiet = true, so logs and pipes stay clean.
class ProgressBar : public Callback {
 public:
  explicit ProgressBar(bool quiet = false);
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  void on_train_end(Trainer& trainer) override;
  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
};

// Thrown by NonFiniteGuard.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// After every step, checks the loss, then every parameter and gradient; on NaN or Inf it throws
// NonFiniteError naming the epoch, the batch and the first layer (in model order) whose
// parameters, gradients or outputs are not finite.
class NonFiniteGuard : public Callback {
 public:
  void on_batch_end(Trainer& trainer, double loss) override;
};

// Saves the model (and the optimizer state) every `every` epochs to `path`, where "{epoch}" in
// the path is replaced by the 1-based epoch number.
class Checkpoint : public Callback {
 public:
  Checkpoint(std::string path, std::size_t every = 1, bool with_optimizer = true);
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  std::string path_for(std::size_t epoch) const;

 private:
  std::string path_;
  std::size_t every_;
  bool with_optimizer_;
};

}  // namespace simdnn
