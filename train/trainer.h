// Trainer: the mini-batch training loop, evaluation and prediction, with a per-epoch history
// and callbacks (train/callbacks.h). Also usable step by step: train_on_batch(), evaluate(),
// predict() for users who write their own loop.
//
// One training step (train_on_batch): forward in Mode::train → loss and dL/doutput →
// zero the gradients, backward → regularizer gradient (if any) → gradient clipping (if any) →
// optimizer step. A step allocates nothing once the buffers have grown to the batch size.
//
// fit(): each epoch shuffles the sample order with Rng(seed, epoch) (core/random.h) — so the
// same seed gives the same run, at any thread count — and visits it in batches of batch_size.
// Batches (n samples, B = batch_size, r = n mod B):
//   - the last batch has r rows when r > 0; drop_last = true skips it instead (each epoch then
//     trains on n − r samples, a different n − r each epoch when shuffling);
//   - one-row batches and BatchNorm: a train-mode BatchNorm needs ≥ 2 rows (the variance of one
//     row is 0 and its unbiased running variance undefined; PyTorch refuses it too). When the
//     model contains a BatchNorm layer (found by walking Layer::children()), fit() applies
//     options.one_row_batch to a last batch of one row (r = 1, drop_last false): merge (the
//     default: that row joins the previous batch, which has B + 1 rows), drop, or error. Every
//     impossible case — B = 1, or a one-sample training set, with BatchNorm — and the `error`
//     rule throw std::invalid_argument from fit() BEFORE training starts (before any callback
//     or step), never in the middle of a run. A model without BatchNorm trains on a one-row
//     batch like any other.
// Each gathered batch is a copy, so options.batch_transform may change it in place (noise,
// shifts, mixup) before the step, without touching the caller's data.
// After the epoch it evaluates the whole training set (unless evaluate_train is false) and, when
// given, the validation set in Mode::eval, records an EpochRecord, feeds the schedule its
// monitored value, and asks the callbacks whether to stop. Everything fit() can check — shapes
// against the model's input and output widths, class-index targets, the batching rule, the
// schedule's monitor — is checked before the first callback or step.
//
// Targets (y) for fit(), evaluate() and train_on_batch():
//   - m x k, one column per model output: as the loss takes them (0/1 for the binary
//     cross-entropy, one-hot or probability rows for the softmax cross-entropy, values for MSE);
//   - m x 1 class indices stored as floats (0.0, 1.0, ...), when the model has C ≥ 2 outputs and
//     the loss is the softmax cross-entropy (which takes them as they are). fit() checks every
//     index is an integer in [0, C) before training.
// Integer labels (std::span<const std::int32_t> overloads, LabeledData) become targets as
// label_encoding() says: a one-output model is a binary classifier (labels 0 or 1 → 0.0 / 1.0);
// with C ≥ 2 outputs, an m x 1 index column for the softmax cross-entropy (no one-hot copy),
// and one-hot rows for any other loss, or for every loss with options.one_hot_labels (mixup
// mixes targets, so it needs one-hot rows).
//
// Accuracy (classification_accuracy): with one output column, a sample is right when
// (logit > 0) == (target > 0.5) — the model outputs logits for the binary cross-entropy; with
// C ≥ 2 columns, when the arg-max of the output (the first maximum on ties) equals the class of
// the target: the arg-max of a one-hot / probability row, or the index of an m x 1 index
// column. A row with a NaN output is never right. For finite outputs and 0/1, one-hot or index
// targets this is simdnn::accuracy() of train/metrics.h; unlike it, it allocates nothing and
// NaN outputs (a diverged model) do not throw, so a diverged run still gets its history.
//
// Chunked steps and data-parallel training (gradient_chunks = K > 1, or a collective): each
// step cuts its batch of m rows into K chunks, chunk c the rows [c·m/K, (c + 1)·m/K), and runs
// every chunk through forward and backward on its own (Layer::begin_slice: Dropout draws the
// whole batch's mask; BatchNorm normalizes each chunk by its own statistics and updates its
// running statistics once per step from the whole batch's). The gradient of chunk c is the
// gradient of its rows' mean loss scaled by its share of the batch, (rows of c)/m, and the step's
// gradient is the sum of the K chunk gradients in the order of a complete binary tree over the
// chunks when K is a power of two, and otherwise of complete trees over the runs that K's binary
// digits cut, added smallest first (core/pairwise_sum.h). With a Collective of p ranks (any p
// with K = p·2^c; one rank takes any K), rank r runs the chunks [r·K/p, (r + 1)·K/p), one
// complete subtree, and Collective::tree_sum() adds the subtrees in the same order
// (train/collective.h), so the gradients, and the weights after any number of steps, are
// bit-identical for every such rank count (at any thread count) and to a single process with the
// same K: with K = 8, for 1, 2, 4 and 8 ranks; with K = 12, for 1, 3, 6 and 12. With a
// Sequential model and a collective that allows background calls, each child's gradients are
// reduced on a background thread as soon as the rank's last chunk has finished that child's
// backward (overlapping the rest of the backward pass; the same bits). A model whose layers all
// support gradient chunks (Layer::supports_gradient_chunks: every built-in layer but BatchNorm
// and BatchNorm2D) runs the rank's rows through one forward and one backward instead, with the
// loss taken chunk by chunk and each layer summing its parameter gradients over the chunks: the
// same bits, with the forward and input-gradient products of a plain step. Where its layers also
// support concurrent chunks (Layer::supports_concurrent_chunks: Dense, ActivationLayer, Dropout,
// Sequential), the rank's chunks may instead run side by side, each chunk's forward and backward
// on one thread (TrainerOptions::chunk_parallelism): the same bits again. Everything after the
// gradient (regularizer, clipping, gradient norms, the optimizer, schedules, callbacks) then
// runs on every rank on the same bits. Each rank holds the whole training set; all ranks gather
// every batch and apply batch_transform to all of it, so a transform that mixes rows (mixup) is
// the same too. The batch's loss and count of right predictions are summed the same way.
//   - Every chunk needs a row, and with BatchNorm two: a batch needs at least K (2K) rows. fit()
//     checks batch_size; a shorter last batch follows one_row_batch as a one-row batch does
//     without chunks (merge it into the previous batch, drop it, or refuse).
//   - evaluate() with a collective splits its chunks of chunk_rows samples over the ranks
//     (rank r the chunks [r·E/p, (r + 1)·E/p) of E) and adds their losses in chunk order, so it
//     returns the single-process result on every rank.
//   - The constructor broadcasts rank 0's parameters and state (all_parameters, all_state) to
//     every rank: a collective call, like every step.
//   - A chunked step that throws (a batch of the wrong width, a rank's transport error) first
//     waits for its background reductions and closes the layers' slices (Layer::end_step); its
//     gradients are then unusable, and BatchNorm's running statistics may hold part of it.
//   - K = 1 without a collective is the plain step above. Chunking costs time alone (K smaller
//     GEMMs per layer and a sum of K gradients; bench/training_bench measures it), so it is opt-in:
//     runs compared across rank counts must use the same K.
//
// Regularization: the regularizer's batch size m (used by L2Scaling::per_batch_notebook only) is
// always options.batch_size — in the gradient of every step (a smaller or merged last batch and
// train_on_batch() of any row count included) and in the penalty (EpochRecord::penalty,
// penalty()) — so the recorded penalty is exactly the term whose gradient the steps add. (The
// notebook divides by the row count of each batch, which differs only on a partial last batch.)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <simdnn/data/labeled_data.h>
#include <simdnn/layers/layer.h>
#include <simdnn/train/collective.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/regularizer.h>
#include <simdnn/train/schedule.h>

namespace simdnn {

class Callback;

// An end-of-epoch quantity that a callback (EarlyStopping) or the learning-rate schedule
// watches. Losses should fall, accuracies rise (lower_is_better()).
enum class Monitor { validation_loss, validation_accuracy, train_loss, train_accuracy };

// What fit() does with a last batch of one row when the model has a BatchNorm layer (see above).
enum class OneRowBatch {
  merge,  // the row joins the previous batch (B + 1 rows): every sample trains every epoch
  drop,   // the row is skipped this epoch (a different one each epoch when shuffling)
  error,  // fit() throws std::invalid_argument before training starts
};

// Called by fit() on each gathered training batch, just before its step: x (rows x features) and
// y (rows x target columns) are the trainer's own copy of the batch's samples, in batch order,
// and may be changed in place (not resized). `step` is the 0-based index of the optimizer step
// about to run (Trainer::global_step(): it counts every step of this trainer, across epochs and
// fit() calls, and is the same in every run with the same options), so a transform that draws
// its randomness from Rng(its_seed, step) — or passes step as the stream of data/augment.h's
// functions — is deterministic and independent of the thread count, like the rest of fit().
// Examples (data/augment.h): add_gaussian_noise(x, 0.1f, seed, step); random_shift(x, 28, 28, 2,
// seed, step); mixup: mixup_into(x, y, xs, ys, alpha, seed, step) into scratch tensors of the
// caller's (the outputs must not overlap the inputs), then copy xs, ys back into x, y — mixup
// mixes targets, so it needs one-hot rows (one_hot_labels = true for integer labels).
using BatchTransform = std::function<void(MatrixView x, MatrixView y, std::uint64_t step)>;

// How a chunked step runs the rank's chunks on several threads; every way gives the same bits.
//   within_kernels  the rank's rows through one forward and one backward, each kernel (GEMM,
//                   activation) cut over every thread: many short parallel loops per step.
//   side_by_side    each chunk's forward and backward on one thread, the chunks in parallel
//                   (Layer::begin_chunks): two parallel loops per step, plus the sums of the
//                   chunks' gradients. Needs a model whose layers all support it
//                   (Layer::supports_concurrent_chunks; else the Trainer's constructor throws
//                   std::invalid_argument naming the first layer that does not), and forgoes the
//                   overlap of a collective's reduction with the backward pass.
//   automatic       side_by_side where the model supports it and side_by_side_pays(); else
//                   within_kernels.
enum class ChunkParallelism { automatic, within_kernels, side_by_side };

// Whether ChunkParallelism::automatic runs a rank's chunks side by side: on at least 4 threads,
// with chunks of at least 64 rows (rows / chunks, the rank's). Measured on a 16-core Intel Xeon
// 6/207 with the deep MLP of bench/training_bench (docs/BENCHMARKS.md, "Session 23"): at batch
// 1024, chunks of 128 rows side by side took 0.83x the time within kernels at 4 threads, 0.72x
// at 8 and 0.89x at 16, chunks of 64 rows 0.89x, 1.0x and 1.0x; chunks of 16 and 32 rows
// (batch 256) 1.0-1.6x. On 2 threads (AMD EPYC Zen 2) side by side took 1.0-1.1x.
bool side_by_side_pays(int threads, std::size_t rows, std::size_t chunks);

struct TrainerOptions {
  std::size_t epochs = 10;
  std::size_t batch_size = 32;
  std::uint64_t seed = 0;   // shuffling; layers take their own seeds
  bool shuffle = true;
  double clip_norm = 0.0;   // clip the global gradient norm to this; 0 = off
  double clip_value = 0.0;  // clamp every gradient to ±this; 0 = off
  const Regularizer* regularizer = nullptr;  // not owned; its batch size is batch_size (above)
  LrSchedule* schedule = nullptr;            // not owned; sets the optimizer's learning rate
  bool record_grad_norms = true;             // per-layer gradient norms in the history
  // Evaluate the whole training set in eval mode after each epoch (EpochRecord::train). When
  // false, nothing more runs and EpochRecord::train holds the epoch's running values instead:
  // loss = mean_batch_loss, accuracy = the fraction of the epoch's training samples that their
  // own train-mode forward (before its step, after batch_transform) classified right.
  bool evaluate_train = true;
  bool drop_last = false;  // skip a last batch smaller than batch_size
  OneRowBatch one_row_batch = OneRowBatch::merge;  // with BatchNorm only; see above
  // What the schedule's observe() is fed after each epoch. Unset: a ReduceLrOnPlateau in
  // PlateauMode::max gets the accuracy, any other schedule the loss — the validation set's when
  // one is given, else the training set's. fit() throws std::invalid_argument before training
  // when the monitor is a validation one without a validation set, or contradicts a
  // ReduceLrOnPlateau's mode (a loss in max mode, an accuracy in min mode).
  std::optional<Monitor> schedule_monitor;
  // Integer labels become one-hot rows even for the softmax cross-entropy (see label_encoding).
  bool one_hot_labels = false;
  BatchTransform batch_transform;  // empty: none
  // Chunks per step (see "Chunked steps" above): >= 1; with a collective of p > 1 ranks, p·2^c.
  std::size_t gradient_chunks = 1;
  // How a chunked step uses several threads (see "Chunked steps" above; the bits are the same).
  ChunkParallelism chunk_parallelism = ChunkParallelism::automatic;
  // The ranks of a data-parallel run (dist/), not owned; null: this process alone.
  Collective* collective = nullptr;
};

// "validation_loss", "validation_accuracy", "train_loss" or "train_accuracy".
const char* monitor_name(Monitor monitor);
// True for the losses, false for the accuracies.
bool lower_is_better(Monitor monitor);

// How integer class labels become targets (see above).
enum class LabelEncoding {
  binary,   // one output: label 0 or 1 → target 0.0 or 1.0 (m x 1)
  index,    // C ≥ 2 outputs, softmax cross-entropy: label c → c as a float (m x 1)
  one_hot,  // C ≥ 2 outputs: label c → row with 1 in column c, 0 elsewhere (m x C)
};

// The encoding for a model with `outputs` outputs trained with `loss`. Throws
// std::invalid_argument when outputs is 0.
LabelEncoding label_encoding(std::size_t outputs, const Loss& loss, bool one_hot_labels = false);

// Writes the targets of `labels` for a model with `outputs` outputs into `buffer` (reusing its
// memory, reserve_rows) and returns them. Throws std::invalid_argument naming `op` and the label
// ("fit: labels[3] is 12, expected a class index in [0, 10)") for a label outside [0, outputs)
// (outside {0, 1} for binary); nothing is written then.
ConstMatrixView encode_labels(std::span<const std::int32_t> labels, std::size_t outputs,
                              LabelEncoding encoding, Tensor& buffer, const char* op = "encode_labels");

struct Evaluation {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();
};

struct EpochRecord {
  std::size_t epoch = 0;  // 0-based
  Evaluation train;       // the whole training set in eval mode, after the epoch (with
                          // evaluate_train = false: the epoch's running values, see above)
  Evaluation validation;  // NaN when no validation set was given
  double mean_batch_loss = 0.0;  // the mean of the epoch's training-step losses (train mode)
  double penalty = 0.0;          // the regularizer's penalty after the epoch, with m = batch_size
                                 // (0 without one)
  double learning_rate = 0.0;    // the rate used by the epoch's last step
  std::size_t steps = 0;          // optimizer steps (batches) in the epoch
  std::size_t samples = 0;        // training samples those steps used (n unless dropped)
  std::vector<double> grad_norms;  // per parameterized layer (History::layer_names), mean over steps
  double seconds = 0.0;            // wall time of the epoch's training steps and evaluation
};

struct History {
  std::vector<std::string> layer_names;  // the layers grad_norms refers to, in order
  std::vector<EpochRecord> epochs;
};

// The value of `monitor` in a record (NaN when it was not computed, e.g. no validation set).
double monitored_value(Monitor monitor, const EpochRecord& record);

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
  // and targets y (samples x outputs, or samples x 1 class indices, see above); x_val/y_val may
  // be empty. Throws ShapeError for mismatched sets, std::invalid_argument for bad class indices
  // or options that cannot run (see above), all before training. Returns the history (also in
  // history()).
  const History& fit(ConstMatrixView x, ConstMatrixView y, ConstMatrixView x_val = {},
                     ConstMatrixView y_val = {});
  // The same with one integer class label per sample, encoded as label_encoding() says.
  const History& fit(ConstMatrixView x, std::span<const std::int32_t> labels,
                     ConstMatrixView x_val = {}, std::span<const std::int32_t> val_labels = {});
  // The same on LabeledData (features and labels); `validation` may be null.
  const History& fit(const LabeledData& train, const LabeledData* validation = nullptr);

  // One training step on one batch; returns its mean loss (before the step).
  double train_on_batch(ConstMatrixView x, ConstMatrixView y);
  double train_on_batch(ConstMatrixView x, std::span<const std::int32_t> labels);
  // Loss and accuracy on a whole set in eval mode, in chunks of `chunk_rows` samples. 0 (the
  // default, and what fit() uses) takes evaluation_chunk_rows(). The loss is summed per chunk, so
  // its last bits depend on the chunk size; the accuracy does not.
  Evaluation evaluate(ConstMatrixView x, ConstMatrixView y, std::size_t chunk_rows = 0);
  Evaluation evaluate(ConstMatrixView x, std::span<const std::int32_t> labels, std::size_t chunk_rows = 0);
  Evaluation evaluate(const LabeledData& data, std::size_t chunk_rows = 0);
  // The default chunk of evaluate(): as many rows as keep the widest input or output of any of
  // the model's layers within kEvaluationChunkBytes, from 1 to kMaxEvaluationChunkRows. An MLP
  // gets chunks of 4096 rows; a convolutional network chunks whose activations stay in cache (a
  // 28×28×16 activation: 167 rows), and its layers' buffers grow to that many rows, not to the
  // whole set's: for `repro mnist`'s ResNet, about 60 MB instead of 700 MB for its 2,000 test
  // images (its 2-epoch runs became 6–13 % faster, the time of that growth; over 8 epochs the
  // time measured the same).
  static constexpr std::size_t kEvaluationChunkBytes = std::size_t{8} << 20;
  static constexpr std::size_t kMaxEvaluationChunkRows = 4096;
  std::size_t evaluation_chunk_rows();
  // The model's outputs for x in eval mode; valid until the model's next forward().
  ConstMatrixView predict(ConstMatrixView x);

  // The regularizer's penalty of the current parameters with m = options().batch_size, the term
  // whose gradient every step adds (0 without a regularizer).
  double penalty() const;
  // How this trainer encodes integer labels (label_encoding for its model, loss and options).
  LabelEncoding label_encoding() const;

  // Callbacks may call this to end fit() after the current epoch.
  void request_stop() { stop_requested_ = true; }
  std::size_t current_epoch() const { return epoch_; }
  std::size_t current_batch() const { return batch_; }
  // Optimizer steps taken by this trainer so far (all fit() and train_on_batch() calls).
  std::uint64_t global_step() const { return global_step_; }

  Layer& model() { return model_; }
  Optimizer& optimizer() { return optimizer_; }
  const TrainerOptions& options() const { return options_; }
  const History& history() const { return history_; }
  // This process's rank in options().collective (0 without one): callbacks that write files
  // (Checkpoint, CsvLogger) write on rank 0 only.
  std::size_t rank() const;

 private:
  // The step; with `right`, also counts the rows the train-mode forward classified right.
  double step(ConstMatrixView x, ConstMatrixView y, std::size_t* right);
  // The gradient of a chunked step (see "Chunked steps"), summed over every rank into the
  // parameters' grads; returns the batch's loss and adds its right predictions to *right.
  double chunked_gradient(ConstMatrixView x, ConstMatrixView y, std::size_t* right);
  // chunked_gradient's work, once the batch is known to fit the chunks: each chunk through
  // forward and backward on its own (sum_slices), or the rank's rows at once (sum_whole_rows).
  double sum_slices(ConstMatrixView x, ConstMatrixView y, std::size_t* right);
  double sum_whole_rows(ConstMatrixView x, ConstMatrixView y, std::size_t* right);
  // Their shared parts: a chunk's loss, metrics and scaled loss gradient; the sums over the
  // ranks once the rank's gradients are summed; the layers' step closed (also after an error).
  void chunk_loss(ConstMatrixView out, ConstMatrixView y, std::size_t batch_rows, bool count_rows, float* dy);
  double finish_chunks(std::size_t* right);
  void end_chunked_step();
  // The rows a batch needs: one per chunk, two with BatchNorm.
  std::size_t min_batch_rows() const;
  bool chunked() const;
  // The number of ranks in options().collective (1 without one).
  std::size_t rank_count() const;
  struct Chunks;                         // a chunked step's buffers (trainer.cc)
  void reduce_over_ranks(Chunks& chunks);
  void plan_overlap(Chunks& chunks);
  void check_chunks() const;
  void broadcast_model();
  void gather_batch(ConstMatrixView x, ConstMatrixView y, std::size_t begin, std::size_t end);
  void accumulate_grad_norms();
  // Throws unless y fits the model's outputs and the loss (see "Targets" above).
  void check_targets(const char* op, const char* what, ConstMatrixView x, ConstMatrixView y) const;
  std::optional<Monitor> resolve_schedule_monitor(bool has_validation) const;

  Layer& model_;
  Loss& loss_;
  Optimizer& optimizer_;
  TrainerOptions options_;
  std::vector<std::unique_ptr<Callback>> callbacks_;
  std::vector<Parameter> params_;        // the optimizer's
  std::vector<Parameter> model_params_;  // every parameter of the model, zeroed before backward
  std::vector<std::pair<std::string, std::vector<Parameter>>> layer_params_;  // for grad norms
  std::string batchnorm_;                // how messages name the model's first BatchNorm, or ""
  std::unique_ptr<Chunks> chunks_;
  std::vector<double> grad_norm_sums_;
  std::vector<std::size_t> order_;
  Tensor x_batch_, y_batch_;
  Tensor label_batch_;                   // train_on_batch(labels)'s targets
  Tensor eval_targets_;                  // evaluate(labels)'s targets
  Tensor fit_targets_, fit_val_targets_;  // fit(labels)'s targets
  History history_;
  std::size_t epoch_ = 0, batch_ = 0;
  std::uint64_t global_step_ = 0;
  bool stop_requested_ = false;
};

// Fraction of rows whose prediction matches the target (see the accuracy rule above): outputs
// m x C; targets m x C, or m x 1 class indices when C ≥ 2. NaN for m = 0. Throws ShapeError for
// other shapes, std::invalid_argument naming the row for an index target that is not an
// integer in [0, C).
double classification_accuracy(ConstMatrixView outputs, ConstMatrixView targets);

}  // namespace simdnn
