// The training run that the data-parallel tests repeat with 1, 2, 3, 4 and 6 ranks (threads of one
// process in chunked_training_test, MPI processes in dist_test) and compare bit for bit: a
// classifier with BatchNorm and Dropout (both change under slicing), trained with Adam on a
// set whose size leaves a short last batch with uneven chunks (203 = 6·32 + 11 rows: with 4
// chunks, of 2, 3, 3 and 3; with 6, the 11 rows are fewer than BatchNorm's 2 per chunk and join
// the batch before, 43 rows in chunks of 7 and 8), with a validation set evaluated in several
// chunks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/train/callbacks.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/core/pairwise_sum.h>
#include <simdnn/train/trainer.h>

namespace simdnn::testing {

// The sum of `values` in the order of train/collective.h, as core/pairwise_sum.h computes it:
// each value pushed as a one-element vector (values[r]: rank r's, or chunk r's).
inline float canonical_sum(const std::vector<float>& values) {
  internal::PairwiseSum<std::vector<float>> sum;
  sum.reset();
  for (float v : values) {
    std::vector<float> part = {v};
    std::vector<float>* parts[] = {&part};
    sum.push(parts);
  }
  return sum.result()[0][0];
}

struct DataParallelResult {
  std::vector<float> weights;  // every parameter and state tensor, in model order
  std::vector<double> losses;  // per epoch: mean batch loss, train loss, validation loss
  Evaluation validation;       // evaluate() of the validation set in chunks of 16 rows
};

// A layer that passes its rows through and has one parameter whose gradient is always 0 (so
// that Adam leaves it alone). With sums_chunks false it is a layer with parameters that cannot
// sum gradient chunks, which makes the trainer slice the batch of a model without BatchNorm.
// With side_by_side it also runs concurrent chunks (Layer::begin_chunks), counting them.
class PassThrough : public Layer {
 public:
  PassThrough(std::size_t width, bool sums_chunks, bool side_by_side = false)
      : width_(width), sums_chunks_(sums_chunks), side_by_side_(side_by_side), value_(1, 1), grad_(1, 1) {}
  const char* kind() const override { return "pass_through"; }
  std::size_t input_width() const override { return width_; }
  std::size_t output_width() const override { return width_; }
  ConstMatrixView forward(ConstMatrixView x, Mode) override {
    check_input(x);
    const MatrixView y = reserve_rows(y_, x.rows, width_);
    for (std::size_t r = 0; r < x.rows; ++r) std::copy(x.row(r), x.row(r) + width_, y.row(r));
    return y;
  }
  ConstMatrixView backward(ConstMatrixView dy) override {
    if (!gradient_chunk_ends().empty()) ++one_pass_backwards;
    return dy;
  }
  std::vector<Parameter> parameters() override { return {{"unused", &value_, &grad_, false}}; }
  bool supports_gradient_chunks() const override { return sums_chunks_; }
  bool supports_concurrent_chunks() const override { return side_by_side_; }
  ConstMatrixView begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends) override {
    check_input(x);
    keep_concurrent_chunks(ends, x.rows);
    x_ = x;
    return reserve_rows(y_, x.rows, width_);
  }
  void forward_chunk(std::size_t c) override {
    const auto [begin, rows] = chunk(c);
    for (std::size_t r = begin; r < begin + rows; ++r) std::copy(x_.row(r), x_.row(r) + width_, y_.data() + r * width_);
  }
  ConstMatrixView begin_backward_chunks(ConstMatrixView dy) override { return dy; }
  void backward_chunk(std::size_t) override { ++chunk_backwards; }
  void end_chunks() override {}
  // backward()s with gradient chunks set, by every PassThrough (the tests' ranks are threads).
  static inline std::atomic<int> one_pass_backwards = 0;
  // backward_chunk()s, by every PassThrough.
  static inline std::atomic<int> chunk_backwards = 0;

 private:
  std::size_t width_;
  bool sums_chunks_, side_by_side_;
  Tensor value_, grad_, y_;
  ConstMatrixView x_{};
};

// How the case's model treats the rows of a batch: with BatchNorm (a chunked step slices the
// batch); without it (each rank's rows in one pass: Layer::set_gradient_chunks); or without it
// but with a PassThrough that cannot sum chunks (sliced again: the bits one_pass must give); or
// with layers that all run concurrent chunks (side_by_side: on several threads the chunks run
// side by side, Layer::begin_chunks; its second Dense has GELU, whose derivative needs z, and no
// bias, and an ActivationLayer follows it).
enum class RowMixing { batch_norm, one_pass, sliced, side_by_side };

struct DataParallelCase {
  static constexpr std::size_t kFeatures = 12, kClasses = 5, kTrain = 203, kValidation = 70;

  explicit DataParallelCase(RowMixing rows = RowMixing::batch_norm)
      : rows(rows), x(kTrain, kFeatures), y(kTrain, 1), x_val(kValidation, kFeatures), y_val(kValidation, 1) {
    fill_normal(x.view(), 0.0f, 1.0f, 7, 0);
    fill_normal(x_val.view(), 0.0f, 1.0f, 7, 1);
    label(x, y);
    label(x_val, y_val);
  }

  // Classes from a fixed linear rule, so training has something to learn.
  static void label(const Tensor& features, Tensor& classes) {
    for (std::size_t i = 0; i < features.rows(); ++i) {
      const float s = features(i, 0) + 0.5f * features(i, 1) - features(i, 2);
      classes(i, 0) = static_cast<float>(s < -1.0f ? 0 : s < -0.3f ? 1 : s < 0.3f ? 2 : s < 1.0f ? 3 : 4);
    }
  }

  static std::unique_ptr<Sequential> model(RowMixing rows = RowMixing::batch_norm) {
    const bool batch_norm = rows == RowMixing::batch_norm;
    auto net = std::make_unique<Sequential>();
    DenseOptions hidden;
    hidden.activation = ActivationSpec::relu();
    hidden.weight_init = InitSpec::he_normal();
    hidden.seed = 3;
    hidden.stream = 1;
    net->emplace<Dense>(kFeatures, 32, hidden);
    if (batch_norm) net->emplace<BatchNorm>(32);
    net->emplace<Dropout>(32, 0.25f, DropoutOptions{.seed = 3, .stream = 9});
    hidden.stream = 2;
    if (rows == RowMixing::side_by_side) {
      DenseOptions gelu = hidden;
      gelu.activation = ActivationSpec::of(Activation::gelu);
      gelu.bias = false;
      net->emplace<Dense>(32, 24, gelu);
      net->emplace<ActivationLayer>(24, ActivationSpec::of(Activation::tanh));
    } else {
      net->emplace<Dense>(32, 24, hidden);
    }
    if (batch_norm) net->emplace<BatchNorm>(24);
    DenseOptions out;
    out.seed = 3;
    out.stream = 3;
    net->emplace<Dense>(24, kClasses, out);
    if (!batch_norm) {
      net->emplace<PassThrough>(kClasses, rows != RowMixing::sliced, rows == RowMixing::side_by_side);
    }
    return net;
  }

  // Two epochs with `chunks` gradient chunks, on `collective`'s ranks (null: this process alone).
  DataParallelResult run(std::size_t chunks, Collective* collective) const {
    auto net = model(rows);
    SoftmaxCrossEntropy loss;
    Adam adam(all_parameters(*net), AdamOptions{.lr = 0.01});
    return train(*net, adam, chunks, collective, 2, 11);
  }

  // One epoch, a checkpoint (model and optimizer) that only rank 0 writes, to `prefix` + the
  // writer's rank; then a fresh network and optimizer loaded from rank 0's file train one more
  // epoch. A checkpoint of an N-rank run that continues like the single process's can be
  // resumed by any number of ranks. Always the BatchNorm model (a Checkpoint cannot save a
  // PassThrough).
  DataParallelResult resumed(std::size_t chunks, Collective* collective, const std::string& prefix) const {
    const std::size_t rank = collective == nullptr ? 0 : collective->rank();
    {
      auto net = model();
      SoftmaxCrossEntropy loss;
      Adam adam(all_parameters(*net), AdamOptions{.lr = 0.01});
      TrainerOptions options = train_options(chunks, collective, 1, 11);
      Trainer trainer(*net, loss, adam, options);
      trainer.add_callback<Checkpoint>(prefix + std::to_string(rank), 1, true);
      trainer.fit(x.cview(), y.cview());
    }
    if (collective != nullptr) {
      std::vector<float> arrived = {1.0f};  // every rank past the write: a collective call
      collective->tree_sum(arrived);
    }
    auto net = model();
    Adam adam(all_parameters(*net), AdamOptions{.lr = 0.01});
    load_model(prefix + "0", *net, &adam);
    return train(*net, adam, chunks, collective, 1, 12);
  }

  static TrainerOptions train_options(std::size_t chunks, Collective* collective, std::size_t epochs, std::uint64_t seed) {
    TrainerOptions options;
    options.epochs = epochs;
    options.batch_size = 32;
    options.seed = seed;
    options.gradient_chunks = chunks;
    options.collective = collective;
    return options;
  }

  DataParallelResult train(Layer& net, Optimizer& optimizer, std::size_t chunks, Collective* collective,
                           std::size_t epochs, std::uint64_t seed) const {
    SoftmaxCrossEntropy loss;
    TrainerOptions options = train_options(chunks, collective, epochs, seed);
    options.chunk_parallelism = parallelism;
    Trainer trainer(net, loss, optimizer, options);
    const History& history = trainer.fit(x.cview(), y.cview(), x_val.cview(), y_val.cview());
    DataParallelResult r;
    for (const EpochRecord& e : history.epochs) {
      r.losses.insert(r.losses.end(), {e.mean_batch_loss, e.train.loss, e.validation.loss});
    }
    r.validation = trainer.evaluate(x_val.cview(), y_val.cview(), 16);
    for (const Parameter& p : all_parameters(net)) r.weights.insert(r.weights.end(), p.value->data(), p.value->data() + p.value->size());
    for (const StateTensor& s : all_state(net)) r.weights.insert(r.weights.end(), s.value->data(), s.value->data() + s.value->size());
    return r;
  }

  RowMixing rows;
  ChunkParallelism parallelism = ChunkParallelism::automatic;
  Tensor x, y, x_val, y_val;
};

}  // namespace simdnn::testing
