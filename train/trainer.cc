#include <simdnn/train/trainer.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/error.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/random.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/train/background_reduction.h>
#include <simdnn/train/callbacks.h>
#include <simdnn/train/check.h>
#include <simdnn/train/clipping.h>
#include <simdnn/core/pairwise_sum.h>

namespace simdnn {

// A chunked step's state: the layers to tell about slices, their slice statistics, and the sums
// over the chunks.
struct Trainer::Chunks {
  std::vector<Layer*> layers;
  std::vector<Tensor*> summed;                  // every gradient, then every slice statistic
  internal::PairwiseSum<Tensor> grads;          // the chunks' sums of `summed`
  std::vector<double> metrics = {0.0, 0.0};     // a chunk's loss share and right predictions
  internal::PairwiseSum<std::vector<double>> metric_sums;
  std::vector<float> flat;                      // `summed`, end to end, for the collective
  Tensor dy;                                    // the scaled loss gradient of a chunk, or of them all
  // Whether the step runs the rank's rows at once (sum_whole_rows), and the ends of its chunks
  // within them.
  bool whole_rows = false;
  std::vector<std::size_t> ends;
  // Whether the whole rows' chunks may run side by side (Layer::begin_chunks): every layer
  // supports it, no background reduction waits on the children one by one, and the options
  // allow it (ChunkParallelism).
  bool side_by_side = false;
  // Overlap (a collective that allows background calls, a Sequential model): the indices in
  // `summed` of each child's gradients and slice statistics, and the thread reducing them.
  Sequential* sequential = nullptr;
  std::vector<std::vector<std::size_t>> child_parts;
  std::unique_ptr<internal::BackgroundReduction> background;
};

namespace {

// For a step: nobody reads the gradient of the model's input (the data), so its first layer may
// skip computing it (Layer::set_input_gradient); the model's setting is restored afterwards.
class NoInputGradient {
 public:
  explicit NoInputGradient(Layer& model) : model_(model), before_(model.input_gradient()) {
    model.set_input_gradient(false);
  }
  ~NoInputGradient() { model_.set_input_gradient(before_); }
  NoInputGradient(const NoInputGradient&) = delete;
  NoInputGradient& operator=(const NoInputGradient&) = delete;

 private:
  Layer& model_;
  bool before_;
};

bool is_power_of_two(std::size_t v) { return v != 0 && (v & (v - 1)) == 0; }

// The rows of chunk c of K in a batch of m rows: [c·m/K, (c + 1)·m/K).
std::size_t chunk_begin(std::size_t c, std::size_t m, std::size_t chunks) { return c * m / chunks; }

using internal::number;

void check_set(const char* op, const char* what, ConstMatrixView x, ConstMatrixView y) {
  check_view(op, what, x);
  check_view(op, what, y);
  if (x.rows != y.rows) {
    throw ShapeError(std::string(op) + ": " + what + " has " + std::to_string(x.rows) + " samples but " +
                     std::to_string(y.rows) + " targets");
  }
}

void check_label_count(const char* op, const char* what, std::size_t samples, std::size_t labels) {
  if (samples != labels) {
    throw ShapeError(std::string(op) + ": " + what + " has " + std::to_string(samples) + " samples but " +
                     std::to_string(labels) + " labels, expected one label per sample");
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

// How messages name the first layer in `layer` and its descendants (depth first, in model order)
// whose train-mode batches need at least 2 rows: a "batchnorm", or a "batchnorm2d" of one-pixel
// images (with more pixels, one image already gives it two values per channel). Named as
// "batchnorm \"bn1\"", or "batchnorm" when unnamed; "" when none.
std::string find_batchnorm(Layer& layer) {
  const auto* images = dynamic_cast<const BatchNorm2D*>(&layer);
  const bool one_pixel = images != nullptr && images->input_shape().pixels() == 1;
  if (std::strcmp(layer.kind(), "batchnorm") == 0 || one_pixel) {
    const std::string kind = layer.kind();
    return layer.name().empty() ? kind : kind + " \"" + layer.name() + "\"";
  }
  for (Layer* child : layer.children()) {
    if (child == nullptr) continue;
    std::string found = find_batchnorm(*child);
    if (!found.empty()) return found;
  }
  return {};
}

}  // namespace

bool side_by_side_pays(int threads, std::size_t rows, std::size_t chunks) {
  constexpr int kMinThreads = 4;
  constexpr std::size_t kMinChunkRows = 64;
  return threads >= kMinThreads && chunks != 0 && rows / chunks >= kMinChunkRows;
}

namespace {

// The first layer of `model` (depth first) that does not support concurrent chunks and has no
// children that could decide it, or the model itself.
Layer* first_without_concurrent_chunks(Layer& model) {
  for (Layer* l : all_layers(model)) {
    if (!l->supports_concurrent_chunks() && l->children().empty()) return l;
  }
  return &model;
}

// Whether a step's chunks can share one pass: every layer supports gradient chunks (its rows are
// independent of each other, and it sums its parameter gradients over the chunks) and none has
// slice statistics (Layer::set_gradient_chunks).
bool sums_chunks_in_one_pass(Layer& model) {
  if (!all_slice_statistics(model).empty()) return false;
  const std::vector<Layer*> layers = all_layers(model);
  return std::all_of(layers.begin(), layers.end(), [](Layer* l) { return l->supports_gradient_chunks(); });
}

bool is_softmax(const Loss& loss) { return std::strcmp(loss.name(), "softmax_cross_entropy") == 0; }

// The class index that an m x 1 target row holds, or throws naming `op`, the row and the range.
std::size_t target_index(const char* op, const char* what, ConstMatrixView targets, std::size_t r,
                         std::size_t classes) {
  const float t = targets(r, 0);
  if (!(t >= 0.0f && t < static_cast<float>(classes) && std::floor(t) == t)) {
    throw std::invalid_argument(std::string(op) + ": " + what + "(" + std::to_string(r) + ", 0) is " + number(t) +
                                ", expected a class index in [0, " + std::to_string(classes) +
                                ") (a one-column target matrix holds class indices)");
  }
  return static_cast<std::size_t>(t);
}

// The rows of `outputs` classified right against `targets` (the accuracy rule in trainer.h).
std::size_t count_right(ConstMatrixView outputs, ConstMatrixView targets) {
  const bool indices = targets.cols == 1 && outputs.cols >= 2;
  if (outputs.rows != targets.rows || (!indices && outputs.cols != targets.cols)) {
    throw ShapeError("classification_accuracy: outputs are " + shape_string(outputs.rows, outputs.cols) +
                     " but targets are " + shape_string(targets.rows, targets.cols) + ", expected " +
                     shape_string(outputs.rows, outputs.cols) +
                     (outputs.cols >= 2 ? " or " + shape_string(outputs.rows, 1) + " (class indices)" : ""));
  }
  std::size_t right = 0;
  for (std::size_t i = 0; i < outputs.rows; ++i) {
    const float* o = outputs.row(i);
    const float* t = targets.row(i);
    if (outputs.cols == 1) {
      right += !std::isnan(o[0]) && (o[0] > 0.0f) == (t[0] > 0.5f);
      continue;
    }
    if (std::any_of(o, o + outputs.cols, [](float v) { return std::isnan(v); })) {
      if (indices) target_index("classification_accuracy", "targets", targets, i, outputs.cols);
      continue;
    }
    const std::size_t predicted = static_cast<std::size_t>(std::max_element(o, o + outputs.cols) - o);
    const std::size_t truth =
        indices ? target_index("classification_accuracy", "targets", targets, i, outputs.cols)
                : static_cast<std::size_t>(std::max_element(t, t + targets.cols) - t);
    right += predicted == truth;
  }
  return right;
}

}  // namespace

const char* monitor_name(Monitor monitor) {
  switch (monitor) {
    case Monitor::validation_loss: return "validation_loss";
    case Monitor::validation_accuracy: return "validation_accuracy";
    case Monitor::train_loss: return "train_loss";
    case Monitor::train_accuracy: return "train_accuracy";
  }
  return "unknown";
}

bool lower_is_better(Monitor monitor) {
  return monitor == Monitor::validation_loss || monitor == Monitor::train_loss;
}

double monitored_value(Monitor monitor, const EpochRecord& r) {
  switch (monitor) {
    case Monitor::validation_loss: return r.validation.loss;
    case Monitor::validation_accuracy: return r.validation.accuracy;
    case Monitor::train_loss: return r.train.loss;
    case Monitor::train_accuracy: return r.train.accuracy;
  }
  return r.validation.loss;
}

LabelEncoding label_encoding(std::size_t outputs, const Loss& loss, bool one_hot_labels) {
  if (outputs == 0) {
    throw std::invalid_argument("label_encoding: outputs is 0, expected the model's output width (>= 1)");
  }
  if (outputs == 1) return LabelEncoding::binary;
  return is_softmax(loss) && !one_hot_labels ? LabelEncoding::index : LabelEncoding::one_hot;
}

ConstMatrixView encode_labels(std::span<const std::int32_t> labels, std::size_t outputs, LabelEncoding encoding,
                              Tensor& buffer, const char* op) {
  const std::size_t classes = encoding == LabelEncoding::binary ? 2 : outputs;
  if (encoding != LabelEncoding::binary && outputs < 2) {
    throw std::invalid_argument(std::string(op) + ": outputs is " + std::to_string(outputs) +
                                ", expected >= 2 for class-index or one-hot targets");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= classes) {
      throw std::invalid_argument(std::string(op) + ": labels[" + std::to_string(i) + "] is " +
                                  std::to_string(labels[i]) + ", expected a class index in [0, " +
                                  std::to_string(classes) + ")" +
                                  (encoding == LabelEncoding::binary ? " (the model has one output: a binary classifier)"
                                                                     : ""));
    }
  }
  const std::size_t cols = encoding == LabelEncoding::one_hot ? outputs : 1;
  const MatrixView out = reserve_rows(buffer, labels.size(), cols);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    float* row = out.row(i);
    if (encoding == LabelEncoding::one_hot) {
      std::fill(row, row + cols, 0.0f);
      row[labels[i]] = 1.0f;
    } else {
      row[0] = static_cast<float>(labels[i]);
    }
  }
  return out;
}

double classification_accuracy(ConstMatrixView outputs, ConstMatrixView targets) {
  const std::size_t right = count_right(outputs, targets);
  if (outputs.rows == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(right) / static_cast<double>(outputs.rows);
}

Trainer::Trainer(Layer& model, Loss& loss, Optimizer& optimizer, TrainerOptions options)
    : model_(model), loss_(loss), optimizer_(optimizer), options_(std::move(options)) {
  if (options_.batch_size == 0) throw std::invalid_argument("Trainer: batch_size is 0, expected >= 1");
  if (!(options_.clip_norm >= 0.0) || !(options_.clip_value >= 0.0)) {
    throw std::invalid_argument("Trainer: clip_norm and clip_value must be >= 0 (0 = off), got " +
                                std::to_string(options_.clip_norm) + " and " + std::to_string(options_.clip_value));
  }
  if (options_.one_row_batch != OneRowBatch::merge && options_.one_row_batch != OneRowBatch::drop &&
      options_.one_row_batch != OneRowBatch::error) {
    throw std::invalid_argument("Trainer: one_row_batch is " +
                                std::to_string(static_cast<int>(options_.one_row_batch)) +
                                ", expected merge, drop or error");
  }
  check_chunks();
  params_ = optimizer_.parameters();
  model_params_ = all_parameters(model_);
  layer_params_ = parameters_by_layer(model_);
  batchnorm_ = find_batchnorm(model_);
  for (const auto& [name, params] : layer_params_) history_.layer_names.push_back(name);
  grad_norm_sums_.assign(layer_params_.size(), 0.0);
  if (chunked()) {
    chunks_ = std::make_unique<Chunks>();
    chunks_->layers = all_layers(model_);
    for (const Parameter& p : model_params_) chunks_->summed.push_back(p.grad);
    for (Tensor* t : all_slice_statistics(model_)) chunks_->summed.push_back(t);
    chunks_->whole_rows = sums_chunks_in_one_pass(model_);
    const ChunkParallelism parallelism = options_.chunk_parallelism;
    if (parallelism == ChunkParallelism::side_by_side) {
      if (!chunks_->whole_rows || !model_.supports_concurrent_chunks()) {
        throw std::invalid_argument("Trainer: chunk_parallelism is side_by_side, but " + first_without_concurrent_chunks(model_)->label() +
                                    " does not support concurrent chunks (Layer::supports_concurrent_chunks)");
      }
    } else {
      plan_overlap(*chunks_);
    }
    chunks_->side_by_side = parallelism != ChunkParallelism::within_kernels && chunks_->whole_rows &&
                            chunks_->background == nullptr && model_.supports_concurrent_chunks();
  }
  if (options_.collective != nullptr) broadcast_model();
}

void Trainer::check_chunks() const {
  const std::size_t K = options_.gradient_chunks;
  if (K == 0) throw std::invalid_argument("Trainer: gradient_chunks is 0, expected at least 1");
  if (options_.collective == nullptr) return;
  const std::size_t p = options_.collective->size();
  if (p == 0) throw std::invalid_argument("Trainer: the collective has 0 ranks, expected at least 1");
  if (p > 1 && (K % p != 0 || !is_power_of_two(K / p))) {  // one rank: any K
    throw std::invalid_argument("Trainer: the collective has " + std::to_string(p) + " ranks and gradient_chunks is " +
                                std::to_string(K) + ", expected the ranks to divide the chunks into a power of two " +
                                "each (gradient_chunks = ranks·2^c)");
  }
}

bool Trainer::chunked() const { return options_.gradient_chunks > 1 || options_.collective != nullptr; }

std::size_t Trainer::rank() const { return options_.collective == nullptr ? 0 : options_.collective->rank(); }

std::size_t Trainer::rank_count() const { return options_.collective == nullptr ? 1 : options_.collective->size(); }

// Every parameter and state tensor, rank 0's on every rank (one broadcast of them all).
void Trainer::broadcast_model() {
  std::vector<Tensor*> tensors;
  for (const Parameter& p : model_params_) tensors.push_back(p.value);
  for (const StateTensor& t : all_state(model_)) tensors.push_back(t.value);
  std::vector<float> flat;
  internal::through_flat(tensors, flat, [&](std::span<float> v) { options_.collective->broadcast(v); });
}

std::size_t Trainer::min_batch_rows() const {
  return options_.gradient_chunks * (batchnorm_.empty() ? 1 : 2);
}

Trainer::~Trainer() = default;

double Trainer::train_on_batch(ConstMatrixView x, ConstMatrixView y) { return step(x, y, nullptr); }

double Trainer::train_on_batch(ConstMatrixView x, std::span<const std::int32_t> labels) {
  check_view("train_on_batch", "x", x);
  check_label_count("train_on_batch", "x", x.rows, labels.size());
  const ConstMatrixView y = encode_labels(labels, model_.output_width(), label_encoding(), label_batch_,
                                          "train_on_batch");
  return step(x, y, nullptr);
}

double Trainer::step(ConstMatrixView x, ConstMatrixView y, std::size_t* right) {
  const NoInputGradient no_input_gradient(model_);
  if (options_.schedule != nullptr && options_.schedule->unit() == ScheduleUnit::step) {
    optimizer_.set_learning_rate(options_.schedule->lr(global_step_));
  }
  double loss = 0.0;
  if (chunked()) {
    loss = chunked_gradient(x, y, right);
  } else {
    const ConstMatrixView out = model_.forward(x, Mode::train);
    loss = loss_.forward_backward(out, y);
    if (right != nullptr) *right += count_right(out, y);
    for (const Parameter& p : model_params_) std::fill(p.grad->data(), p.grad->data() + p.grad->size(), 0.0f);
    model_.backward(loss_.gradient());
  }
  if (options_.regularizer != nullptr) options_.regularizer->apply(params_, options_.batch_size);
  if (options_.clip_value > 0.0) clip_grad_value(params_, options_.clip_value);
  if (options_.clip_norm > 0.0) clip_grad_norm(params_, options_.clip_norm);
  if (options_.record_grad_norms) accumulate_grad_norms();
  optimizer_.step();
  ++global_step_;
  return loss;
}

// Reducing each child of a Sequential model on a background thread as soon as its backward
// is done, where the collective allows it: the parts of `summed` each child owns (its
// gradients, then its slice statistics; a Sequential has none of its own).
void Trainer::plan_overlap(Chunks& ch) {
  auto* sequential = dynamic_cast<Sequential*>(&model_);
  if (options_.collective == nullptr || !options_.collective->background_calls() || sequential == nullptr) return;
  std::vector<std::vector<std::size_t>> parts(sequential->size());
  std::size_t next = 0, owned = 0;
  for (std::size_t i = 0; i < sequential->size(); ++i) {
    for (std::size_t n = all_parameters(sequential->at(i)).size(); n > 0; --n) parts[i].push_back(next++);
  }
  for (std::size_t i = 0; i < sequential->size(); ++i) {
    for (std::size_t n = all_slice_statistics(sequential->at(i)).size(); n > 0; --n) parts[i].push_back(next++);
  }
  for (const auto& p : parts) owned += p.size();
  if (owned != ch.summed.size()) return;  // not every part belongs to a child: reduce at the end
  ch.sequential = sequential;
  ch.child_parts = std::move(parts);
  ch.background = std::make_unique<internal::BackgroundReduction>(*options_.collective);
}

// The ranks' subtree sums (in the parameters' grads and the slice statistics) combined by the
// collective: one tree_sum of them all, end to end.
void Trainer::reduce_over_ranks(Chunks& ch) {
  internal::through_flat(ch.summed, ch.flat, [&](std::span<float> v) { options_.collective->tree_sum(v); });
}

double Trainer::chunked_gradient(ConstMatrixView x, ConstMatrixView y, std::size_t* right) {
  if (x.rows < min_batch_rows()) {
    throw ShapeError("train step: the batch has " + std::to_string(x.rows) + " rows, expected at least " +
                     std::to_string(min_batch_rows()) + " (" + std::to_string(options_.gradient_chunks) +
                     " gradient chunks of " +
                     (batchnorm_.empty() ? std::string("a row") : "2 rows: the model has a " + batchnorm_) + ")");
  }
  try {
    return chunks_->whole_rows ? sum_whole_rows(x, y, right) : sum_slices(x, y, right);
  } catch (...) {
    // Leave no reduction running and no layer inside a sliced step (the failed step's gradients
    // are not usable; BatchNorm's running statistics may have taken part of it).
    if (chunks_->background != nullptr) {
      try {
        chunks_->background->finish();
      } catch (...) {  // the step's own error is the one to report
      }
    }
    end_chunked_step();
    throw;
  }
}

double Trainer::sum_slices(ConstMatrixView x, ConstMatrixView y, std::size_t* right) {
  const std::size_t m = x.rows, K = options_.gradient_chunks;
  const std::size_t p = rank_count();
  Chunks& ch = *chunks_;
  ch.grads.reset();
  ch.metric_sums.reset();
  const std::size_t first = rank() * (K / p);
  for (std::size_t c = first; c < first + K / p; ++c) {
    const std::size_t begin = chunk_begin(c, m, K), rows = chunk_begin(c + 1, m, K) - begin;
    for (Tensor* t : ch.summed) std::fill(t->data(), t->data() + t->size(), 0.0f);
    for (Layer* l : ch.layers) l->begin_slice(begin);
    const ConstMatrixView out = model_.forward(ConstMatrixView{x.row(begin), rows, x.cols, x.ld}, Mode::train);
    const MatrixView dy = reserve_rows(ch.dy, rows, out.cols);
    chunk_loss(out, ConstMatrixView{y.row(begin), rows, y.cols, y.ld}, m, right != nullptr, dy.data);
    if (c + 1 == first + K / p && ch.background != nullptr) {
      // The last chunk: each child's sums are complete when its backward returns.
      ch.grads.begin_push(ch.summed);
      ch.sequential->backward(dy, [&](std::size_t child) {
        std::vector<Tensor*> group;
        for (std::size_t i : ch.child_parts[child]) group.push_back(&ch.grads.push_part(i));
        if (!group.empty()) ch.background->enqueue(std::move(group));
      });
      ch.grads.end_push();
    } else {
      model_.backward(dy);
      ch.grads.push(ch.summed);  // swaps the chunk's gradients into the tree: no copy
    }
  }
  if (ch.background != nullptr) ch.background->finish();
  std::vector<Tensor>& sum = ch.grads.result();
  for (std::size_t i = 0; i < sum.size(); ++i) std::swap(*ch.summed[i], sum[i]);
  return finish_chunks(right);
}

double Trainer::sum_whole_rows(ConstMatrixView x, ConstMatrixView y, std::size_t* right) {
  const std::size_t m = x.rows, K = options_.gradient_chunks, own = K / rank_count();
  Chunks& ch = *chunks_;
  const std::size_t first = rank() * own, begin = chunk_begin(first, m, K);
  const std::size_t rows = chunk_begin(first + own, m, K) - begin;
  ch.ends.clear();
  for (std::size_t c = first + 1; c <= first + own; ++c) ch.ends.push_back(chunk_begin(c, m, K) - begin);
  // Side by side, each chunk's kernels on its own thread (one fork per pass, not several per layer).
  const bool concurrent = ch.side_by_side && own > 1 &&
                          (options_.chunk_parallelism == ChunkParallelism::side_by_side ||
                           side_by_side_pays(num_threads(), rows, own));
  auto run_chunks = [&](auto&& pass) {
    internal::parallel_for_tiles(own, [&](std::size_t c) {
      const internal::SerialScope serial;
      pass(c);
    });
  };
  for (Layer* l : ch.layers) {
    l->begin_slice(begin);
    if (!concurrent) l->set_gradient_chunks(ch.ends);
  }
  const ConstMatrixView rank_x{x.row(begin), rows, x.cols, x.ld};
  ConstMatrixView out;
  if (concurrent) {
    out = model_.begin_chunks(rank_x, ch.ends);
    run_chunks([&](std::size_t c) { model_.forward_chunk(c); });
  } else {
    out = model_.forward(rank_x, Mode::train);
  }
  // Each chunk's loss and scaled loss gradient, from its rows of the output, as sum_slices has them.
  const MatrixView dy = reserve_rows(ch.dy, rows, out.cols);
  ch.metric_sums.reset();
  for (std::size_t c = 0, at = 0; c < own; at = ch.ends[c++]) {
    const std::size_t n = ch.ends[c] - at;
    chunk_loss(ConstMatrixView{out.row(at), n, out.cols, out.ld}, ConstMatrixView{y.row(begin + at), n, y.cols, y.ld},
               m, right != nullptr, dy.row(at));
  }
  for (Tensor* t : ch.summed) std::fill(t->data(), t->data() + t->size(), 0.0f);
  if (concurrent) {
    model_.begin_backward_chunks(dy);
    run_chunks([&](std::size_t c) { model_.backward_chunk(c); });
    model_.end_chunks();
  } else if (ch.background != nullptr) {
    ch.sequential->backward(dy, [&](std::size_t child) {
      std::vector<Tensor*> group;
      for (std::size_t i : ch.child_parts[child]) group.push_back(ch.summed[i]);
      if (!group.empty()) ch.background->enqueue(std::move(group));
    });
    ch.background->finish();
  } else {
    model_.backward(dy);
  }
  return finish_chunks(right);
}

// A chunk's part of the step: its rows' mean loss times its share of the batch (rows/m) and its
// right predictions into the metrics' tree, and its loss gradient times that share into dy
// (out's shape, contiguous).
void Trainer::chunk_loss(ConstMatrixView out, ConstMatrixView y, std::size_t batch_rows, bool count_rows, float* dy) {
  Chunks& ch = *chunks_;
  const double share = static_cast<double>(out.rows) / static_cast<double>(batch_rows);
  ch.metrics[0] = loss_.forward_backward(out, y) * share;
  ch.metrics[1] = count_rows ? static_cast<double>(count_right(out, y)) : 0.0;
  const ConstMatrixView g = loss_.gradient();
  scale(static_cast<float>(share), g.data, dy, g.rows * g.cols);
  std::vector<double>* metrics = &ch.metrics;
  ch.metric_sums.push(std::span<std::vector<double>* const>(&metrics, 1));
}

// Once the rank's gradients are summed into `summed`: the sums over the ranks (the gradients,
// unless the background thread has reduced them, and the metrics), the layers' step closed;
// returns the batch's loss and adds its right predictions to *right.
double Trainer::finish_chunks(std::size_t* right) {
  Chunks& ch = *chunks_;
  std::vector<double>& metrics = ch.metric_sums.result()[0];
  if (options_.collective != nullptr) {
    if (ch.background == nullptr) reduce_over_ranks(ch);
    options_.collective->tree_sum(metrics);
  }
  end_chunked_step();
  if (right != nullptr) *right += static_cast<std::size_t>(metrics[1]);
  return metrics[0];
}

void Trainer::end_chunked_step() {
  for (Layer* l : chunks_->layers) {
    l->set_gradient_chunks({});
    l->end_step();
  }
}

double Trainer::penalty() const {
  return options_.regularizer == nullptr ? 0.0 : options_.regularizer->penalty(params_, options_.batch_size);
}

LabelEncoding Trainer::label_encoding() const {
  return simdnn::label_encoding(model_.output_width(), loss_, options_.one_hot_labels);
}

void Trainer::accumulate_grad_norms() {
  for (std::size_t l = 0; l < layer_params_.size(); ++l) {
    double sum = 0.0;
    for (const Parameter& p : layer_params_[l].second) sum += sum_of_squares(p.grad->data(), p.grad->size());
    grad_norm_sums_[l] += std::sqrt(sum);
  }
}

namespace {

// The largest input or output width of layer and its descendants, in floats per row.
std::size_t widest_activation(Layer& layer) {
  std::size_t widest = std::max(layer.input_width(), layer.output_width());
  for (Layer* child : layer.children()) widest = std::max(widest, widest_activation(*child));
  return widest;
}

}  // namespace

std::size_t Trainer::evaluation_chunk_rows() {
  const std::size_t row_bytes = std::max<std::size_t>(widest_activation(model_), 1) * sizeof(float);
  return std::clamp<std::size_t>(kEvaluationChunkBytes / row_bytes, 1, kMaxEvaluationChunkRows);
}

Evaluation Trainer::evaluate(ConstMatrixView x, ConstMatrixView y, std::size_t chunk_rows) {
  check_set("evaluate", "evaluation set", x, y);
  Evaluation e;
  if (x.rows == 0) return e;
  if (chunk_rows == 0) chunk_rows = evaluation_chunk_rows();
  // Chunk i's loss sum and right predictions go to parts[2i], parts[2i + 1]; with a collective,
  // each rank computes its run of chunks and the others stay 0, so the tree sum over the ranks
  // gathers every chunk's exact values, and the sums below are the single process's.
  const std::size_t chunks = (x.rows + chunk_rows - 1) / chunk_rows;
  const std::size_t p = rank_count();
  const std::size_t first = rank() * chunks / p, last = (rank() + 1) * chunks / p;
  std::vector<double> parts(2 * chunks, 0.0);
  for (std::size_t c = first; c < last; ++c) {
    const std::size_t begin = c * chunk_rows, rows = std::min(chunk_rows, x.rows - begin);
    const ConstMatrixView xc{x.row(begin), rows, x.cols, x.ld};
    const ConstMatrixView yc{y.row(begin), rows, y.cols, y.ld};
    const ConstMatrixView out = model_.forward(xc, Mode::eval);
    parts[2 * c] = loss_.value(out, yc) * static_cast<double>(rows);
    parts[2 * c + 1] = static_cast<double>(count_right(out, yc));
  }
  if (options_.collective != nullptr) options_.collective->tree_sum(parts);
  double loss_sum = 0.0, right = 0.0;
  for (std::size_t c = 0; c < chunks; ++c) loss_sum += parts[2 * c], right += parts[2 * c + 1];
  e.loss = loss_sum / static_cast<double>(x.rows);
  e.accuracy = right / static_cast<double>(x.rows);
  return e;
}

Evaluation Trainer::evaluate(ConstMatrixView x, std::span<const std::int32_t> labels, std::size_t chunk_rows) {
  check_view("evaluate", "x", x);
  check_label_count("evaluate", "x", x.rows, labels.size());
  const ConstMatrixView y =
      encode_labels(labels, model_.output_width(), label_encoding(), eval_targets_, "evaluate");
  return evaluate(x, y, chunk_rows);
}

Evaluation Trainer::evaluate(const LabeledData& data, std::size_t chunk_rows) {
  check_label_count("evaluate", "data", data.features.rows(), data.labels.size());
  return evaluate(data.features.cview(), std::span<const std::int32_t>(data.labels), chunk_rows);
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

void Trainer::check_targets(const char* op, const char* what, ConstMatrixView x, ConstMatrixView y) const {
  const std::size_t inputs = model_.input_width(), outputs = model_.output_width();
  if (inputs > 0 && x.cols != inputs) {
    throw ShapeError(std::string(op) + ": " + what + " has " + std::to_string(x.cols) + " features, expected " +
                     std::to_string(inputs) + " (the model's input width)");
  }
  if (outputs == 0) return;
  const bool indices = y.cols == 1 && outputs >= 2;
  if (indices && !is_softmax(loss_)) {
    throw ShapeError(std::string(op) + ": " + what + " has targets " + shape_string(y.rows, y.cols) +
                     " for a model of " + std::to_string(outputs) + " outputs, expected " +
                     shape_string(y.rows, outputs) + " (class-index targets need the softmax cross-entropy; the loss is " +
                     loss_.name() + ")");
  }
  if (!indices && y.cols != outputs) {
    throw ShapeError(std::string(op) + ": " + what + " has targets " + shape_string(y.rows, y.cols) + ", expected " +
                     shape_string(y.rows, outputs) + " (one column per model output)" +
                     (outputs >= 2 ? " or " + shape_string(y.rows, 1) + " (class indices)" : ""));
  }
  if (indices) {
    const std::string targets = std::string(what) + " targets";
    for (std::size_t r = 0; r < y.rows; ++r) target_index(op, targets.c_str(), y, r, outputs);
  }
}

std::optional<Monitor> Trainer::resolve_schedule_monitor(bool has_validation) const {
  if (options_.schedule == nullptr) return std::nullopt;
  const auto* plateau = dynamic_cast<const ReduceLrOnPlateau*>(options_.schedule);
  const bool max_mode = plateau != nullptr && plateau->options().mode == PlateauMode::max;
  if (!options_.schedule_monitor) {
    if (has_validation) return max_mode ? Monitor::validation_accuracy : Monitor::validation_loss;
    return max_mode ? Monitor::train_accuracy : Monitor::train_loss;
  }
  const Monitor m = *options_.schedule_monitor;
  if (!has_validation && (m == Monitor::validation_loss || m == Monitor::validation_accuracy)) {
    throw std::invalid_argument(std::string("fit: schedule_monitor is ") + monitor_name(m) +
                                ", expected a train_ monitor: no validation set was given");
  }
  if (plateau != nullptr && lower_is_better(m) == max_mode) {
    throw std::invalid_argument(std::string("fit: schedule_monitor is ") + monitor_name(m) +
                                (max_mode ? " (lower is better)" : " (higher is better)") +
                                " but the ReduceLrOnPlateau schedule's mode is " + (max_mode ? "max" : "min") +
                                ", expected " + (max_mode ? "an accuracy" : "a loss"));
  }
  return m;
}

const History& Trainer::fit(ConstMatrixView x, std::span<const std::int32_t> labels, ConstMatrixView x_val,
                            std::span<const std::int32_t> val_labels) {
  check_view("fit", "training set", x);
  check_label_count("fit", "training set", x.rows, labels.size());
  check_view("fit", "validation set", x_val);
  check_label_count("fit", "validation set", x_val.rows, val_labels.size());
  const LabelEncoding encoding = label_encoding();
  const ConstMatrixView y = encode_labels(labels, model_.output_width(), encoding, fit_targets_, "fit");
  ConstMatrixView y_val;
  if (x_val.rows > 0) y_val = encode_labels(val_labels, model_.output_width(), encoding, fit_val_targets_, "fit");
  return fit(x, y, x_val, y_val);
}

const History& Trainer::fit(const LabeledData& train, const LabeledData* validation) {
  check_label_count("fit", "train", train.features.rows(), train.labels.size());
  if (validation == nullptr) return fit(train.features.cview(), std::span<const std::int32_t>(train.labels));
  check_label_count("fit", "validation", validation->features.rows(), validation->labels.size());
  return fit(train.features.cview(), std::span<const std::int32_t>(train.labels), validation->features.cview(),
             std::span<const std::int32_t>(validation->labels));
}

const History& Trainer::fit(ConstMatrixView x, ConstMatrixView y, ConstMatrixView x_val, ConstMatrixView y_val) {
  // ---- every check, before any callback or step ----
  check_set("fit", "training set", x, y);
  const bool has_validation = x_val.rows > 0;
  if (has_validation) check_set("fit", "validation set", x_val, y_val);
  if (x.rows == 0) throw ShapeError("fit: the training set is empty");
  check_targets("fit", "training set", x, y);
  if (has_validation) check_targets("fit", "validation set", x_val, y_val);

  // Batches: `batches` per epoch; batch b covers positions [b·B, min(b·B + B, n)) of the order,
  // except the last, which ends at `covered` (n, or less when rows are dropped).
  const std::size_t n = x.rows, B = options_.batch_size, rem = n % B;
  std::size_t batches = n / B + (rem > 0 ? 1 : 0), covered = n;
  const std::string sizes = std::to_string(n) + " training samples and batch_size " + std::to_string(B);
  // Why a batch needs min_rows rows (BatchNorm's 2 rows, or one or two per gradient chunk).
  const std::size_t min_rows = min_batch_rows();
  const std::string need =
      options_.gradient_chunks == 1
          ? "the model has a " + batchnorm_ + " layer, whose train-mode batches need at least 2 rows"
          : std::to_string(options_.gradient_chunks) + " gradient chunks need at least " + std::to_string(min_rows) +
                " rows" + (batchnorm_.empty() ? "" : " (2 per chunk: the model has a " + batchnorm_ + " layer)");
  if (B < min_rows) {
    throw std::invalid_argument("fit: batch_size is " + std::to_string(B) + ", expected >= " +
                                std::to_string(min_rows) + ": " + need);
  }
  if (options_.drop_last) {
    batches = n / B;
    covered = batches * B;
    if (batches == 0) {
      throw std::invalid_argument("fit: drop_last with " + sizes + " leaves no batch, expected at least " +
                                  std::to_string(B) + " samples");
    }
  } else if (rem > 0 && rem < min_rows) {
    if (n < min_rows) {
      throw std::invalid_argument("fit: the training set has " + std::to_string(n) + " sample" +
                                  (n == 1 ? "" : "s") + ", expected >= " + std::to_string(min_rows) + ": " + need);
    }
    switch (options_.one_row_batch) {
      case OneRowBatch::merge: batches -= 1; break;
      case OneRowBatch::drop: batches -= 1, covered = n - rem; break;
      case OneRowBatch::error:
        throw std::invalid_argument("fit: the last batch would have " + std::to_string(rem) + " row" +
                                    (rem == 1 ? "" : "s") + " (" + sizes + ") and " + need +
                                    "; expected another batch_size, drop_last, or one_row_batch merge or drop");
    }
  }
  const std::optional<Monitor> schedule_monitor = resolve_schedule_monitor(has_validation);

  // ---- training ----
  history_.epochs.clear();
  stop_requested_ = false;
  order_.resize(n);
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
    std::size_t right = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      batch_ = b;
      const std::size_t begin = b * B;
      const std::size_t end = b + 1 == batches ? covered : begin + B;
      gather_batch(x, y, begin, end);
      const MatrixView xb = reserve_rows(x_batch_, end - begin, x.cols);
      const MatrixView yb = reserve_rows(y_batch_, end - begin, y.cols);
      if (options_.batch_transform) options_.batch_transform(xb, yb, global_step_);
      const double loss = step(xb, yb, options_.evaluate_train ? nullptr : &right);
      loss_sum += loss;
      for (auto& cb : callbacks_) cb->on_batch_end(*this, loss);
    }
    EpochRecord record;
    record.epoch = epoch_;
    record.steps = batches;
    record.samples = covered;
    record.mean_batch_loss = loss_sum / static_cast<double>(batches);
    record.learning_rate = optimizer_.learning_rate();
    if (options_.evaluate_train) {
      record.train = evaluate(x, y);
    } else {
      record.train.loss = record.mean_batch_loss;
      record.train.accuracy = static_cast<double>(right) / static_cast<double>(covered);
    }
    if (has_validation) record.validation = evaluate(x_val, y_val);
    record.penalty = penalty();
    for (double sum : grad_norm_sums_) record.grad_norms.push_back(sum / static_cast<double>(batches));
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (schedule_monitor) options_.schedule->observe(monitored_value(*schedule_monitor, record));
    history_.epochs.push_back(record);
    for (auto& cb : callbacks_) cb->on_epoch_end(*this, history_.epochs.back());
  }
  for (auto& cb : callbacks_) cb->on_train_end(*this);
  return history_;
}

}  // namespace simdnn
