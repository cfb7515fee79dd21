#include <simdnn/train/callbacks.h>

#include <unistd.h>

#include <cmath>
#include <cstring>

#include <simdnn/train/model_io.h>

namespace simdnn {
namespace {

double monitored(Monitor monitor, const EpochRecord& r) {
  switch (monitor) {
    case Monitor::validation_loss: return r.validation.loss;
    case Monitor::validation_accuracy: return r.validation.accuracy;
    case Monitor::train_loss: return r.train.loss;
    case Monitor::train_accuracy: return r.train.accuracy;
  }
  return r.validation.loss;
}

bool lower_is_better(Monitor monitor) {
  return monitor == Monitor::validation_loss || monitor == Monitor::train_loss;
}

// Every tensor EarlyStopping saves and restores: parameters, then state.
std::vector<Tensor*> model_tensors(Layer& model) {
  std::vector<Tensor*> out;
  for (const Parameter& p : all_parameters(model)) out.push_back(p.value);
  for (const StateTensor& s : all_state(model)) out.push_back(s.value);
  return out;
}

bool all_finite(const Tensor& t) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!std::isfinite(t.data()[i])) return false;
  }
  return true;
}

}  // namespace

EarlyStopping::EarlyStopping(Monitor monitor, std::size_t patience, double min_delta, bool restore_best_weights)
    : monitor_(monitor), patience_(patience), min_delta_(min_delta), restore_(restore_best_weights) {
  if (!(min_delta >= 0.0)) {
    throw std::invalid_argument("EarlyStopping: min_delta must be >= 0, got " + std::to_string(min_delta));
  }
}

void EarlyStopping::on_train_begin(Trainer&) {
  best_ = lower_is_better(monitor_) ? INFINITY : -INFINITY;
  best_epoch_ = 0;
  bad_epochs_ = 0;
  stopped_ = false;
  best_tensors_.clear();
}

void EarlyStopping::on_epoch_end(Trainer& trainer, const EpochRecord& record) {
  const double value = monitored(monitor_, record);
  if (std::isnan(value)) {
    throw std::invalid_argument("EarlyStopping: the monitored metric is NaN at epoch " +
                                std::to_string(record.epoch) + " (no validation set given?)");
  }
  const bool improved = lower_is_better(monitor_) ? value < best_ - min_delta_ : value > best_ + min_delta_;
  if (improved) {
    best_ = value;
    best_epoch_ = record.epoch;
    bad_epochs_ = 0;
    if (restore_) {
      const std::vector<Tensor*> tensors = model_tensors(trainer.model());
      if (best_tensors_.size() != tensors.size()) {
        best_tensors_.clear();
        for (const Tensor* t : tensors) best_tensors_.push_back(t->clone());
      } else {
        for (std::size_t i = 0; i < tensors.size(); ++i) {
          std::memcpy(best_tensors_[i].data(), tensors[i]->data(), tensors[i]->size() * sizeof(float));
        }
      }
    }
    return;
  }
  if (++bad_epochs_ >= patience_) {
    stopped_ = true;
    trainer.request_stop();
  }
}

void EarlyStopping::on_train_end(Trainer& trainer) {
  if (!restore_ || best_tensors_.empty()) return;
  const std::vector<Tensor*> tensors = model_tensors(trainer.model());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    std::memcpy(tensors[i]->data(), best_tensors_[i].data(), tensors[i]->size() * sizeof(float));
  }
}

ProgressBar::ProgressBar(bool quiet) : enabled_(!quiet && ::isatty(STDERR_FILENO) == 1) {}

void ProgressBar::on_epoch_end(Trainer& trainer, const EpochRecord& r) {
  if (!enabled_) return;
  const std::size_t total = trainer.options().epochs;
  const std::size_t width = 30;
  const std::size_t done = total == 0 ? width : (r.epoch + 1) * width / total;
  std::string bar(done, '=');
  bar.resize(width, ' ');
  std::fprintf(stderr, "\repoch %zu/%zu [%s] loss %.4f acc %.4f", r.epoch + 1, total, bar.c_str(),
               r.train.loss, r.train.accuracy);
  if (!std::isnan(r.validation.loss)) {
    std::fprintf(stderr, " val_loss %.4f val_acc %.4f", r.validation.loss, r.validation.accuracy);
  }
  std::fflush(stderr);
}

void ProgressBar::on_train_end(Trainer&) {
  if (enabled_) std::fprintf(stderr, "\n");
}

void NonFiniteGuard::on_batch_end(Trainer& trainer, double loss) {
  const std::string where = "non-finite values at epoch " + std::to_string(trainer.current_epoch()) +
                            ", batch " + std::to_string(trainer.current_batch());
  for (const Parameter& p : all_parameters(trainer.model())) {
    if (!all_finite(*p.value)) throw NonFiniteError(where + ": first in parameter \"" + p.name + "\"");
    if (!all_finite(*p.grad)) throw NonFiniteError(where + ": first in the gradient of \"" + p.name + "\"");
  }
  if (!std::isfinite(loss)) {
    throw NonFiniteError(where + ": the loss is " + std::to_string(loss) +
                         " while every parameter is finite (the input or the targets?)");
  }
}

Checkpoint::Checkpoint(std::string path, std::size_t every, bool with_optimizer)
    : path_(std::move(path)), every_(every), with_optimizer_(with_optimizer) {
  if (every_ == 0) throw std::invalid_argument("Checkpoint: every must be >= 1");
}

std::string Checkpoint::path_for(std::size_t epoch) const {
  std::string p = path_;
  const std::string key = "{epoch}";
  for (std::size_t at = p.find(key); at != std::string::npos; at = p.find(key)) {
    p.replace(at, key.size(), std::to_string(epoch));
  }
  return p;
}

void Checkpoint::on_epoch_end(Trainer& trainer, const EpochRecord& record) {
  if ((record.epoch + 1) % every_ != 0) return;
  save_model(path_for(record.epoch + 1), trainer.model(), with_optimizer_ ? &trainer.optimizer() : nullptr);
}

}  // namespace simdnn
