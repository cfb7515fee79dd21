#include <simdnn/train/callbacks.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include <simdnn/train/model_io.h>

namespace simdnn {
namespace {

// printf into a std::string.
template <class... Args>
std::string format(const char* fmt, Args... args) {
  char buf[256];
  const int n = std::snprintf(buf, sizeof buf, fmt, args...);
  return n <= 0 ? std::string() : std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

// A CSV number: up to 9 significant digits, "nan" for any NaN (printf may write "-nan").
std::string csv_number(double v) { return std::isnan(v) ? std::string("nan") : format("%.9g", v); }

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
  const double value = monitored_value(monitor_, record);
  if (std::isnan(value)) {
    throw NonFiniteError(std::string("EarlyStopping: the monitored ") + monitor_name(monitor_) + " is NaN at epoch " +
                         std::to_string(record.epoch + 1) + " (training diverged, or no validation set was given)");
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

ProgressBar::ProgressBar(bool quiet, std::FILE* stream)
    : stream_(stream),
      enabled_(!quiet && stream != nullptr),
      interactive_(enabled_ && ::isatty(::fileno(stream)) == 1) {}

std::string ProgressBar::format_line(const EpochRecord& r, std::size_t total_epochs) {
  std::string line = format("epoch %zu/%zu loss %.4f acc %.4f", r.epoch + 1, total_epochs, r.train.loss,
                            r.train.accuracy);
  if (!std::isnan(r.validation.loss)) {
    line += format(" val_loss %.4f val_acc %.4f", r.validation.loss, r.validation.accuracy);
  }
  line += format(" lr %.6g %.2fs", r.learning_rate, r.seconds);
  return line;
}

void ProgressBar::on_epoch_end(Trainer& trainer, const EpochRecord& r) {
  if (!enabled_ || trainer.rank() != 0) return;  // data-parallel: one bar, rank 0's (all ranks agree)
  const std::size_t total = trainer.options().epochs;
  if (!interactive_) {
    std::fprintf(stream_, "%s\n", format_line(r, total).c_str());
    std::fflush(stream_);
    return;
  }
  const std::size_t width = 30;
  const std::size_t done = total == 0 ? width : std::min(width, (r.epoch + 1) * width / total);
  std::string bar(done, '=');
  bar.resize(width, ' ');
  std::fprintf(stream_, "\repoch %zu/%zu [%s] loss %.4f acc %.4f", r.epoch + 1, total, bar.c_str(), r.train.loss,
               r.train.accuracy);
  if (!std::isnan(r.validation.loss)) {
    std::fprintf(stream_, " val_loss %.4f val_acc %.4f", r.validation.loss, r.validation.accuracy);
  }
  std::fflush(stream_);
  drawn_ = true;
}

void ProgressBar::on_train_end(Trainer&) {
  if (interactive_ && drawn_) std::fprintf(stream_, "\n");
  drawn_ = false;
}

void LambdaCallback::on_train_begin(Trainer& trainer) {
  if (hooks_.train_begin) hooks_.train_begin(trainer);
}

void LambdaCallback::on_batch_end(Trainer& trainer, double loss) {
  if (hooks_.batch_end) hooks_.batch_end(trainer, loss);
}

void LambdaCallback::on_epoch_end(Trainer& trainer, const EpochRecord& record) {
  if (hooks_.epoch_end) hooks_.epoch_end(trainer, record);
}

void LambdaCallback::on_train_end(Trainer& trainer) {
  if (hooks_.train_end) hooks_.train_end(trainer);
}

CsvLogger::CsvLogger(std::string path, bool append) : path_(std::move(path)), append_(append) {
  if (path_.empty()) throw std::invalid_argument("CsvLogger: path is empty, expected a file name");
}

CsvLogger::~CsvLogger() {
  if (file_ != nullptr) std::fclose(file_);
}

const char* CsvLogger::header() { return "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds"; }

std::string CsvLogger::format_row(const EpochRecord& r) {
  return std::to_string(r.epoch + 1) + "," + csv_number(r.train.loss) + "," + csv_number(r.train.accuracy) + "," +
         csv_number(r.validation.loss) + "," + csv_number(r.validation.accuracy) + "," +
         csv_number(r.learning_rate) + "," + csv_number(r.seconds);
}

void CsvLogger::fail(const char* what, int error) const {
  throw std::runtime_error(std::string("CsvLogger: ") + what + " \"" + path_ + "\" failed: " + std::strerror(error));
}

void CsvLogger::on_train_begin(Trainer& trainer) {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
  if (trainer.rank() != 0) return;  // data-parallel: rank 0 writes (every rank has the same rows)
  file_ = std::fopen(path_.c_str(), append_ ? "a" : "w");
  if (file_ == nullptr) {
    const int error = errno;
    throw std::runtime_error("CsvLogger: cannot open \"" + path_ + "\" for writing: " + std::strerror(error));
  }
  // In append mode the position is the end of the file: write the header only to an empty one.
  const bool empty = !append_ || (std::fseek(file_, 0, SEEK_END) == 0 && std::ftell(file_) == 0);
  if (empty && (std::fprintf(file_, "%s\n", header()) < 0 || std::fflush(file_) != 0)) fail("writing", errno);
}

void CsvLogger::on_epoch_end(Trainer&, const EpochRecord& record) {
  if (file_ == nullptr) return;  // not inside fit()
  if (std::fprintf(file_, "%s\n", format_row(record).c_str()) < 0 || std::fflush(file_) != 0) fail("writing", errno);
}

void CsvLogger::on_train_end(Trainer&) {
  if (file_ == nullptr) return;
  std::FILE* f = std::exchange(file_, nullptr);
  if (std::fclose(f) != 0) fail("closing", errno);
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

Checkpoint::Checkpoint(std::string path, std::size_t every, bool with_optimizer, const Model* model)
    : path_(std::move(path)), every_(every), with_optimizer_(with_optimizer), model_(model) {
  if (every_ == 0) throw std::invalid_argument("Checkpoint: every must be >= 1");
}

void Checkpoint::on_train_begin(Trainer& trainer) {
  if (model_ != nullptr && static_cast<const Layer*>(model_->network.get()) != &trainer.model()) {
    throw std::invalid_argument("Checkpoint: the model given is not the one the trainer trains (its network)");
  }
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
  if ((record.epoch + 1) % every_ != 0 || trainer.rank() != 0) return;
  Optimizer* optimizer = with_optimizer_ ? &trainer.optimizer() : nullptr;
  if (model_ != nullptr) {
    save_model(path_for(record.epoch + 1), *model_, optimizer);
  } else {
    save_model(path_for(record.epoch + 1), trainer.model(), optimizer);
  }
}

}  // namespace simdnn
