#include <simdnn/train/trainer.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/error.h>
#include <simdnn/core/random.h>
#include <simdnn/train/callbacks.h>
#include <simdnn/train/clipping.h>

namespace simdnn {
namespace {

void check_set(const char* what, ConstMatrixView x, ConstMatrixView y) {
  check_view("fit", what, x);
  check_view("fit", what, y);
  if (x.rows != y.rows) {
    throw ShapeError(std::string("fit: ") + what + " has " + std::to_string(x.rows) + " samples but " +
                     std::to_string(y.rows) + " targets");
  }
}

// The model's parameters grouped by the layer that owns them, named by its path as in
// all_parameters ("block1/dense2"), in model order.
std::vector<std::pair<std::string, std::vector<Parameter>>> parameters_by_layer(Layer& model) {
  std::vector<std::pair<std::string, std::vector<Parameter>>> out;
  for (const Parameter& p : all_parameters(model)) {
    const std::size_t slash = p.name.find_last_of('/');
    const std::string layer = slash == std::string::npos ? model.kind() : p.name.substr(0, slash);
    if (out.empty() || out.back().first != layer) out.emplace_back(layer, std::vector<Parameter>{});
    out.back().second.push_back(p);
  }
  return out;
}

}  // namespace

double classification_accuracy(ConstMatrixView outputs, ConstMatrixView targets) {
  if (outputs.rows != targets.rows || outputs.cols != targets.cols) {
    throw ShapeError("accuracy: outputs are " + shape_string(outputs.rows, outputs.cols) +
                     " but targets are " + shape_string(targets.rows, targets.cols));
  }
  if (outputs.rows == 0) return std::numeric_limits<double>::quiet_NaN();
  std::size_t right = 0;
  for (std::size_t i = 0; i < outputs.rows; ++i) {
    const float* o = outputs.row(i);
    const float* t = targets.row(i);
    if (outputs.cols == 1) {
      right += (o[0] > 0.0f) == (t[0] > 0.5f);
    } else {
      right += std::max_element(o, o + outputs.cols) - o == std::max_element(t, t + targets.cols) - t;
    }
  }
  return static_cast<double>(right) / static_cast<double>(outputs.rows);
}

Trainer::Trainer(Layer& model, Loss& loss, Optimizer& optimizer, TrainerOptions options)
    : model_(model), loss_(loss), optimizer_(optimizer), options_(options) {
  if (options_.batch_size == 0) throw std::invalid_argument("Trainer: batch_size must be > 0");
  if (!(options_.clip_norm >= 0.0) || !(options_.clip_value >= 0.0)) {
    throw std::invalid_argument("Trainer: clip_norm and clip_value must be >= 0 (0 = off), got " +
                                std::to_string(options_.clip_norm) + " and " + std::to_string(options_.clip_value));
  }
  params_ = optimizer_.parameters();
  model_params_ = all_parameters(model_);
  layer_params_ = parameters_by_layer(model_);
  for (const auto& [name, params] : layer_params_) history_.layer_names.push_back(name);
  grad_norm_sums_.assign(layer_params_.size(), 0.0);
}

Trainer::~Trainer() = default;

double Trainer::train_on_batch(ConstMatrixView x, ConstMatrixView y) {
  if (options_.schedule != nullptr && options_.schedule->unit() == ScheduleUnit::step) {
    optimizer_.set_learning_rate(options_.schedule->lr(global_step_));
  }
  const ConstMatrixView out = model_.forward(x, Mode::train);
  const double loss = loss_.forward_backward(out, y);
  for (const Parameter& p : model_params_) std::fill(p.grad->data(), p.grad->data() + p.grad->size(), 0.0f);
  model_.backward(loss_.gradient());
  if (options_.regularizer != nullptr) options_.regularizer->apply(params_, x.rows);
  if (options_.clip_value > 0.0) clip_grad_value(params_, options_.clip_value);
  if (options_.clip_norm > 0.0) clip_grad_norm(params_, options_.clip_norm);
  if (options_.record_grad_norms) accumulate_grad_norms();
  optimizer_.step();
  ++global_step_;
  return loss;
}

void Trainer::accumulate_grad_norms() {
  for (std::size_t l = 0; l < layer_params_.size(); ++l) {
    double sum = 0.0;
    for (const Parameter& p : layer_params_[l].second) sum += sum_of_squares(p.grad->data(), p.grad->size());
    grad_norm_sums_[l] += std::sqrt(sum);
  }
}

Evaluation Trainer::evaluate(ConstMatrixView x, ConstMatrixView y, std::size_t chunk_rows) {
  check_set("evaluation set", x, y);
  Evaluation e;
  if (x.rows == 0) return e;
  chunk_rows = std::max<std::size_t>(chunk_rows, 1);
  double loss_sum = 0.0, right = 0.0;
  for (std::size_t begin = 0; begin < x.rows; begin += chunk_rows) {
    const std::size_t rows = std::min(chunk_rows, x.rows - begin);
    const ConstMatrixView xc{x.row(begin), rows, x.cols, x.ld};
    const ConstMatrixView yc{y.row(begin), rows, y.cols, y.ld};
    const ConstMatrixView out = model_.forward(xc, Mode::eval);
    loss_sum += loss_.value(out, yc) * static_cast<double>(rows);
    right += classification_accuracy(out, yc) * static_cast<double>(rows);
  }
  e.loss = loss_sum / static_cast<double>(x.rows);
  e.accuracy = right / static_cast<double>(x.rows);
  return e;
}

ConstMatrixView Trainer::predict(ConstMatrixView x) { return model_.forward(x, Mode::eval); }

void Trainer::gather_batch(ConstMatrixView x, ConstMatrixView y, std::size_t begin, std::size_t end) {
  const std::size_t rows = end - begin;
  const MatrixView xb = reserve_rows(x_batch_, rows, x.cols);
  const MatrixView yb = reserve_rows(y_batch_, rows, y.cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t src = order_[begin + r];
    std::memcpy(xb.row(r), x.row(src), x.cols * sizeof(float));
    std::memcpy(yb.row(r), y.row(src), y.cols * sizeof(float));
  }
}

const History& Trainer::fit(ConstMatrixView x, ConstMatrixView y, ConstMatrixView x_val, ConstMatrixView y_val) {
  check_set("training set", x, y);
  const bool has_validation = x_val.rows > 0;
  if (has_validation) check_set("validation set", x_val, y_val);
  if (x.rows == 0) throw ShapeError("fit: the training set is empty");
  history_.epochs.clear();
  stop_requested_ = false;
  order_.resize(x.rows);
  for (auto& cb : callbacks_) cb->on_train_begin(*this);

  for (epoch_ = 0; epoch_ < options_.epochs && !stop_requested_; ++epoch_) {
    const auto start = std::chrono::steady_clock::now();
    if (options_.schedule != nullptr && options_.schedule->unit() == ScheduleUnit::epoch) {
      optimizer_.set_learning_rate(options_.schedule->lr(epoch_));
    }
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    if (options_.shuffle) {
      Rng rng(options_.seed, epoch_);
      rng.shuffle(order_);
    }
    std::fill(grad_norm_sums_.begin(), grad_norm_sums_.end(), 0.0);
    double loss_sum = 0.0;
    std::size_t batches = 0;
    for (std::size_t begin = 0; begin < x.rows; begin += options_.batch_size, ++batches) {
      batch_ = batches;
      const std::size_t end = std::min(x.rows, begin + options_.batch_size);
      gather_batch(x, y, begin, end);
      const double loss = train_on_batch(reserve_rows(x_batch_, end - begin, x.cols),
                                         reserve_rows(y_batch_, end - begin, y.cols));
      loss_sum += loss;
      for (auto& cb : callbacks_) cb->on_batch_end(*this, loss);
    }
    EpochRecord record;
    record.epoch = epoch_;
    record.mean_batch_loss = loss_sum / static_cast<double>(batches);
    record.learning_rate = optimizer_.learning_rate();
    record.train = evaluate(x, y);
    if (has_validation) record.validation = evaluate(x_val, y_val);
    if (options_.regularizer != nullptr) record.penalty = options_.regularizer->penalty(params_, options_.batch_size);
    for (double sum : grad_norm_sums_) record.grad_norms.push_back(sum / static_cast<double>(batches));
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options_.schedule != nullptr) {
      options_.schedule->observe(has_validation ? record.validation.loss : record.train.loss);
    }
    history_.epochs.push_back(record);
    for (auto& cb : callbacks_) cb->on_epoch_end(*this, history_.epochs.back());
  }
  for (auto& cb : callbacks_) cb->on_train_end(*this);
  return history_;
}

}  // namespace simdnn
