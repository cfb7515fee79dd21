// Callbacks for Trainer::fit(): early stopping, a progress bar, a non-finite guard, periodic
// checkpoints, a CSV log and hooks given as lambdas. Each is added with
// trainer.add_callback<T>(args...).
#pragma once

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/models/model.h>
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

// (Monitor, monitor_name() and monitored_value() are in train/trainer.h.)

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

// Progress on `stream` (stderr by default), after every epoch; nothing at all with quiet = true.
//  - When the stream is a terminal: one line redrawn in place ('\r'), with a bar, ended by a
//    newline when training ends.
//  - Otherwise (a log file, a pipe, CI): one plain line per epoch, no carriage return and no bar,
//    flushed at once — format_line(), then '\n'.
// In a data-parallel run only rank 0 prints (every rank has the same records).
class ProgressBar : public Callback {
 public:
  explicit ProgressBar(bool quiet = false, std::FILE* stream = stderr);
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  void on_train_end(Trainer& trainer) override;
  bool enabled() const { return enabled_; }          // !quiet
  bool interactive() const { return interactive_; }  // enabled and the stream is a terminal

  // The plain line of one epoch (no newline, no carriage return), 1-based:
  //   "epoch 3/10 loss 0.4123 acc 0.8750 val_loss 0.4500 val_acc 0.8600 lr 0.01 1.25s"
  // (the val_ fields only when a validation set was given; loss and acc are EpochRecord::train).
  static std::string format_line(const EpochRecord& record, std::size_t total_epochs);

 private:
  std::FILE* stream_;
  bool enabled_;
  bool interactive_;
  bool drawn_ = false;  // a terminal line is open (needs its newline)
};

// Calls the given functions from the matching callback hooks; an empty function is skipped.
//   trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{
//       .batch_end = [&](Trainer&, double loss) { losses.push_back(loss); }});
class LambdaCallback : public Callback {
 public:
  struct Hooks {
    std::function<void(Trainer&)> train_begin;
    std::function<void(Trainer&, double loss)> batch_end;
    std::function<void(Trainer&, const EpochRecord&)> epoch_end;
    std::function<void(Trainer&)> train_end;
  };
  explicit LambdaCallback(Hooks hooks) : hooks_(std::move(hooks)) {}
  void on_train_begin(Trainer& trainer) override;
  void on_batch_end(Trainer& trainer, double loss) override;
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  void on_train_end(Trainer& trainer) override;

 private:
  Hooks hooks_;
};

// Writes the history to a CSV file as it is made: header() first, then one row per epoch,
//   epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds
// with the 1-based epoch number, EpochRecord::train and ::validation, learning_rate and seconds;
// numbers with up to 9 significant digits, "nan" where there is none (no validation set).
// Each fit() truncates the file when training begins (or, with append, adds to it, writing the
// header only to an empty file); every row is flushed at once, so the file is complete up to
// the last finished epoch even if the run is killed; the file is closed when training ends.
// In a data-parallel run only rank 0 writes the file (Trainer::rank()).
// A file that cannot be opened or written throws std::runtime_error naming it and the reason
// ("CsvLogger: cannot open \"/x/log.csv\" for writing: No such file or directory").
class CsvLogger : public Callback {
 public:
  explicit CsvLogger(std::string path, bool append = false);
  ~CsvLogger() override;
  CsvLogger(const CsvLogger&) = delete;
  CsvLogger& operator=(const CsvLogger&) = delete;

  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  void on_train_end(Trainer& trainer) override;

  const std::string& path() const { return path_; }
  // "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds"
  static const char* header();
  // One row, without the newline.
  static std::string format_row(const EpochRecord& record);

 private:
  [[noreturn]] void fail(const char* what, int error) const;

  std::string path_;
  bool append_;
  std::FILE* file_ = nullptr;
};

// Thrown by NonFiniteGuard, and by EarlyStopping when its monitored value is NaN (a diverged run).
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// After every step, checks every parameter and gradient, then the loss; on NaN or Inf it throws
// NonFiniteError naming the epoch, the batch and the first parameter (in model order, as
// "layer/parameter") whose value or gradient is not finite, or the loss.
class NonFiniteGuard : public Callback {
 public:
  void on_batch_end(Trainer& trainer, double loss) override;
};

// Saves the model (and the optimizer state) every `every` epochs to `path`, where "{epoch}" in
// the path is replaced by the 1-based epoch number. Given the Model whose network is trained, it
// saves the whole model (spec, scaler, class names: load_model(path) alone restores it);
// otherwise the network only (load_model(path, network)). Throws std::invalid_argument at the
// start of training when `model` is given but its network is not the trainer's model. In a
// data-parallel run only rank 0 writes (Trainer::rank(); the ranks hold the same bits), and
// save_model() writes atomically (a temporary file renamed over the path).
class Checkpoint : public Callback {
 public:
  Checkpoint(std::string path, std::size_t every = 1, bool with_optimizer = true, const Model* model = nullptr);
  void on_train_begin(Trainer& trainer) override;
  void on_epoch_end(Trainer& trainer, const EpochRecord& record) override;
  std::string path_for(std::size_t epoch) const;

 private:
  std::string path_;
  std::size_t every_;
  bool with_optimizer_;
  const Model* model_;
};

}  // namespace simdnn
