// The training loop: learning, early stopping, the non-finite guard, determinism across thread
// counts, step-wise API, saving/loading through the model, no allocation in a warm step; class
// index targets and labels, LabeledData, drop_last, the one-row BatchNorm rule, the schedule's
// monitor, evaluate_train = false, batch transforms, regularizer consistency and the
// LambdaCallback, CsvLogger and ProgressBar callbacks.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/random.h>
#include <simdnn/core/threading.h>
#include <simdnn/data/labeled_data.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model.h>
#include <simdnn/train/callbacks.h>
#include <simdnn/train/metrics.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/trainer.h>

#include "tests/alloc_counter.h"  // counts heap allocations (for the no-allocation tests)
#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::allocation_count;
using testing::allocations_during;
using testing::ScopedThreads;

// A binary problem: label = [x0 + 0.5·x1 − 0.25·x2 > 0], 8 features, standard-normal inputs.
struct Data {
  Data(std::size_t n, std::uint64_t seed) : x(n, 8), y(n, 1) {
    fill_normal(x.view(), 0.0f, 1.0f, seed, 0);
    for (std::size_t i = 0; i < n; ++i) y(i, 0) = x(i, 0) + 0.5f * x(i, 1) - 0.25f * x(i, 2) > 0.0f ? 1.0f : 0.0f;
  }
  Tensor x, y;
};

std::unique_ptr<Sequential> make_model(bool with_bn = false, bool with_dropout = false) {
  auto model = std::make_unique<Sequential>();
  DenseOptions hidden;
  hidden.activation = ActivationSpec::relu();
  hidden.weight_init = InitSpec::he_normal();
  hidden.seed = 42;
  hidden.stream = 1;
  model->emplace<Dense>(8, 16, hidden);
  if (with_bn) model->emplace<BatchNorm>(16);
  if (with_dropout) model->emplace<Dropout>(16, 0.2f);
  hidden.stream = 2;
  model->emplace<Dense>(16, 8, hidden);
  DenseOptions out;
  out.seed = 42;
  out.stream = 3;
  model->emplace<Dense>(8, 1, out);
  return model;
}

std::vector<float> flatten(Layer& model) {
  std::vector<float> v;
  for (const Parameter& p : all_parameters(model)) v.insert(v.end(), p.value->data(), p.value->data() + p.value->size());
  for (const StateTensor& s : all_state(model)) v.insert(v.end(), s.value->data(), s.value->data() + s.value->size());
  return v;
}

TEST(Trainer, LearnsASeparableProblemAndRecordsHistory) {
  Data train(512, 1), val(128, 2);
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  TrainerOptions options;
  options.epochs = 30;
  Trainer trainer(*model, loss, sgd, options);
  const History& h = trainer.fit(train.x.cview(), train.y.cview(), val.x.cview(), val.y.cview());
  ASSERT_EQ(h.epochs.size(), 30u);
  EXPECT_GT(h.epochs.back().validation.accuracy, 0.93);
  EXPECT_LT(h.epochs.back().train.loss, h.epochs.front().train.loss);
  EXPECT_EQ(h.layer_names.size(), 3u);
  EXPECT_EQ(h.epochs.back().grad_norms.size(), 3u);
  EXPECT_GT(h.epochs.back().grad_norms[0], 0.0);
  EXPECT_DOUBLE_EQ(h.epochs.back().learning_rate, 0.1);
}

TEST(Trainer, BitIdenticalWeightsAtOneAndTwoThreads) {
  Data train(300, 3);
  std::vector<float> results[2];
  for (int t = 0; t < 2; ++t) {
    set_num_threads(t + 1);
    auto model = make_model(/*with_bn=*/true, /*with_dropout=*/true);
    BinaryCrossEntropyWithLogits loss;
    Adam adam(all_parameters(*model), AdamOptions{.lr = 0.01});
    TrainerOptions options;
    options.epochs = 5;
    options.seed = 9;
    Trainer trainer(*model, loss, adam, options);
    trainer.fit(train.x.cview(), train.y.cview());
    results[t] = flatten(*model);
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  EXPECT_EQ(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)), 0);
}

// A step skips the gradient of the model's input (Layer::set_input_gradient) and restores the
// model's setting afterwards; the weights are those of explicit forward/backward/update steps
// with the input gradient computed.
TEST(Trainer, StepsSkipTheInputGradientWithTheSameWeights) {
  Data train(64, 3);
  auto trained = make_model();
  auto manual = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd_trained(all_parameters(*trained), SgdOptions{.lr = 0.1});
  Sgd sgd_manual(all_parameters(*manual), SgdOptions{.lr = 0.1});
  TrainerOptions options;
  Trainer trainer(*trained, loss, sgd_trained, options);
  for (int step = 0; step < 3; ++step) {
    trainer.train_on_batch(train.x.cview(), train.y.cview());
    EXPECT_TRUE(trained->input_gradient());
    const ConstMatrixView out = manual->forward(train.x.cview(), Mode::train);
    loss.forward_backward(out, train.y.cview());
    zero_grad(*manual);
    EXPECT_EQ(manual->backward(loss.gradient()).rows, 64u);
    sgd_manual.step();
  }
  EXPECT_EQ(flatten(*trained), flatten(*manual));
}

TEST(Trainer, EarlyStoppingRestoresTheBestWeights) {
  Data train(256, 4), val(64, 5);
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.5});  // large: validation loss wanders
  TrainerOptions options;
  options.epochs = 200;
  Trainer trainer(*model, loss, sgd, options);
  auto& stopper = trainer.add_callback<EarlyStopping>(Monitor::validation_loss, 3, 0.0, true);
  const History& h = trainer.fit(train.x.cview(), train.y.cview(), val.x.cview(), val.y.cview());
  ASSERT_TRUE(stopper.stopped_early());
  EXPECT_EQ(h.epochs.size(), stopper.best_epoch() + 4);  // best, then `patience` worse epochs
  double best = INFINITY;
  for (const EpochRecord& r : h.epochs) best = std::min(best, r.validation.loss);
  EXPECT_EQ(stopper.best_value(), best);
  // The restored model scores exactly the best epoch's validation loss.
  EXPECT_NEAR(trainer.evaluate(val.x.cview(), val.y.cview()).loss, best, 1e-12);
}

TEST(Trainer, NonFiniteGuardNamesEpochBatchAndParameter) {
  Data train(64, 6);
  train.x(5, 3) = std::numeric_limits<float>::infinity();
  auto model = make_model();
  model->children()[0]->set_name("first");
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  TrainerOptions options;
  options.shuffle = false;
  options.batch_size = 16;
  Trainer trainer(*model, loss, sgd, options);
  trainer.add_callback<NonFiniteGuard>();
  try {
    trainer.fit(train.x.cview(), train.y.cview());
    FAIL() << "no NonFiniteError";
  } catch (const NonFiniteError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("epoch 0, batch 0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("first/weight"), std::string::npos) << msg;
  }
}

TEST(Trainer, StepwiseApiAndShapeErrors) {
  Data train(64, 7);
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  Trainer trainer(*model, loss, sgd);
  const double first = trainer.train_on_batch(train.x.cview(), train.y.cview());
  for (int i = 0; i < 50; ++i) trainer.train_on_batch(train.x.cview(), train.y.cview());
  EXPECT_LT(trainer.evaluate(train.x.cview(), train.y.cview()).loss, first);
  EXPECT_EQ(trainer.predict(train.x.cview()).rows, 64u);
  Tensor wrong(63, 1);
  EXPECT_THROW(trainer.fit(train.x.cview(), wrong.cview()), ShapeError);
}

TEST(Trainer, SaveAndLoadRoundTripWithOptimizerState) {
  Data train(64, 8);
  auto model = make_model(true, true);  // BatchNorm statistics and the dropout step are state
  BinaryCrossEntropyWithLogits loss;
  Adam adam(all_parameters(*model), AdamOptions{.lr = 0.01});
  Trainer trainer(*model, loss, adam);
  for (int i = 0; i < 3; ++i) trainer.train_on_batch(train.x.cview(), train.y.cview());
  const std::string path = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/m.simdnn";
  save_model(path, *model, &adam);

  auto copy = make_model(true, true);
  Adam adam2(all_parameters(*copy), AdamOptions{.lr = 0.01});
  load_model(path, *copy, &adam2);
  EXPECT_EQ(flatten(*model), flatten(*copy));
  EXPECT_EQ(adam2.step_count(), 3u);
  // The same next step from both (the same dropout mask included).
  Trainer t2(*copy, loss, adam2);
  trainer.train_on_batch(train.x.cview(), train.y.cview());
  t2.train_on_batch(train.x.cview(), train.y.cview());
  EXPECT_EQ(flatten(*model), flatten(*copy));

  // A model of another architecture is rejected and left unchanged.
  auto other = make_model(false);
  const std::vector<float> before = flatten(*other);  // (no BatchNorm: other tensors)
  EXPECT_THROW(load_model(path, *other), TensorFileError);
  EXPECT_EQ(flatten(*other), before);
}

TEST(Trainer, CheckpointsEveryNEpochsAndProgressBarIsPlainWithoutATerminal) {
  Data train(64, 11);
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  TrainerOptions options;
  options.epochs = 4;
  Trainer trainer(*model, loss, sgd, options);
  const std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  auto& checkpoint = trainer.add_callback<Checkpoint>(dir + "/ckpt_{epoch}.simdnn", 2);
  auto& bar = trainer.add_callback<ProgressBar>();
  EXPECT_TRUE(bar.enabled());
  EXPECT_FALSE(bar.interactive());  // tests run with stderr redirected: plain lines
  EXPECT_FALSE(ProgressBar(/*quiet=*/true).enabled());
  trainer.fit(train.x.cview(), train.y.cview());
  EXPECT_EQ(checkpoint.path_for(2), dir + "/ckpt_2.simdnn");
  std::FILE* f1 = std::fopen((dir + "/ckpt_1.simdnn").c_str(), "rb");
  EXPECT_EQ(f1, nullptr);
  // The epoch-4 checkpoint holds the final weights (and the optimizer state).
  auto copy = make_model();
  Sgd sgd2(all_parameters(*copy), SgdOptions{.lr = 0.1});
  load_model(checkpoint.path_for(4), *copy, &sgd2);
  EXPECT_EQ(flatten(*copy), flatten(*model));
  EXPECT_EQ(sgd2.step_count(), sgd.step_count());
  load_model(checkpoint.path_for(2), *copy, &sgd2);
  EXPECT_EQ(sgd2.step_count(), sgd.step_count() / 2);
}

// With the Model, a checkpoint stands alone: load_model(path) rebuilds it from the file.
TEST(Trainer, CheckpointOfAModelLoadsAlone) {
  Data train(64, 12);
  Model model = Model::from_spec(R"({"type": "mlp", "inputs": 8, "hidden": [8], "outputs": 1, "seed": 4})");
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model.network), SgdOptions{.lr = 0.1});
  Trainer trainer(*model.network, loss, sgd, {.epochs = 2});
  const std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  auto& checkpoint = trainer.add_callback<Checkpoint>(dir + "/model_{epoch}.simdnn", 1, false, &model);
  trainer.fit(train.x.cview(), train.y.cview());
  const Model loaded = load_model(checkpoint.path_for(2));
  EXPECT_EQ(flatten(*loaded.network), flatten(*model.network));

  Model other = Model::from_spec(R"({"type": "mlp", "inputs": 8, "hidden": [8], "outputs": 1})");
  Trainer wrong(*model.network, loss, sgd, {.epochs = 1});
  wrong.add_callback<Checkpoint>(dir + "/wrong.simdnn", 1, false, &other);
  EXPECT_THROW(wrong.fit(train.x.cview(), train.y.cview()), std::invalid_argument);
}

TEST(Trainer, WarmTrainingStepAllocatesNothing) {
  Data train(32, 10);
  auto model = make_model(true, true);
  BinaryCrossEntropyWithLogits loss;
  Adam adam(all_parameters(*model), AdamOptions{.lr = 0.01});
  TrainerOptions options;
  options.record_grad_norms = true;
  Trainer trainer(*model, loss, adam, options);
  ScopedThreads one_thread(1);
  trainer.train_on_batch(train.x.cview(), train.y.cview());
  trainer.train_on_batch(train.x.cview(), train.y.cview());
  EXPECT_EQ(allocations_during([&] {
              for (int i = 0; i < 5; ++i) trainer.train_on_batch(train.x.cview(), train.y.cview());
            }),
            0);
}

// ---- class indices, labels, LabeledData ---------------------------------------------------------

// A 3-class problem: the class is the arg-max of three fixed linear scores of 8 standard-normal
// features; the targets come one-hot, as an index column, and as integer labels.
struct MultiData {
  MultiData(std::size_t n, std::uint64_t seed) : x(n, 8), onehot(n, 3), index(n, 1), labels(n) {
    fill_normal(x.view(), 0.0f, 1.0f, seed, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const float s[3] = {x(i, 0) + 0.5f * x(i, 1), x(i, 2) - x(i, 3), 0.5f * x(i, 4) + x(i, 5) - 0.3f * x(i, 0)};
      const int c = static_cast<int>(std::max_element(s, s + 3) - s);
      onehot(i, c) = 1.0f;
      index(i, 0) = static_cast<float>(c);
      labels[i] = c;
    }
  }
  LabeledData labeled() const {
    LabeledData d;
    d.features = x.clone();
    d.labels = labels;
    return d;
  }
  Tensor x, onehot, index;
  std::vector<std::int32_t> labels;
};

std::unique_ptr<Sequential> make_classifier(std::size_t classes, bool with_bn = false) {
  auto model = std::make_unique<Sequential>();
  DenseOptions hidden;
  hidden.activation = ActivationSpec::relu();
  hidden.weight_init = InitSpec::he_normal();
  hidden.seed = 7;
  hidden.stream = 1;
  model->emplace<Dense>(8, 16, hidden);
  if (with_bn) model->emplace<BatchNorm>(16);
  DenseOptions out;
  out.seed = 7;
  out.stream = 2;
  model->emplace<Dense>(16, classes, out);
  return model;
}

std::string temp_dir() { return std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp"; }

std::string read_text(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "<missing>";
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Trainer, ClassIndexTargetsTrainExactlyLikeOneHot) {
  MultiData train(300, 21), val(100, 22);
  enum Kind { one_hot, index_column, labels, labeled_data };
  History runs[4];
  std::vector<float> weights[4];
  for (int k = 0; k < 4; ++k) {
    auto model = make_classifier(3);
    SoftmaxCrossEntropy loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.2});
    TrainerOptions options;
    options.epochs = 6;
    options.seed = 5;
    Trainer trainer(*model, loss, sgd, options);
    EXPECT_EQ(trainer.label_encoding(), LabelEncoding::index);
    if (k == one_hot) trainer.fit(train.x.cview(), train.onehot.cview(), val.x.cview(), val.onehot.cview());
    if (k == index_column) trainer.fit(train.x.cview(), train.index.cview(), val.x.cview(), val.index.cview());
    if (k == labels) {
      trainer.fit(train.x.cview(), std::span<const std::int32_t>(train.labels), val.x.cview(),
                  std::span<const std::int32_t>(val.labels));
    }
    if (k == labeled_data) {
      const LabeledData t = train.labeled(), v = val.labeled();
      trainer.fit(t, &v);
      // evaluate() agrees on every form of the targets.
      const Evaluation e = trainer.evaluate(v);
      const Evaluation e1 = trainer.evaluate(val.x.cview(), val.onehot.cview());
      const Evaluation e2 = trainer.evaluate(val.x.cview(), val.index.cview());
      EXPECT_EQ(e.accuracy, e1.accuracy);
      EXPECT_EQ(e.accuracy, e2.accuracy);
      EXPECT_EQ(e.loss, e2.loss);
      EXPECT_NEAR(e.loss, e1.loss, 1e-12);
      EXPECT_EQ(e.accuracy, trainer.history().epochs.back().validation.accuracy);
    }
    runs[k] = trainer.history();
    weights[k] = flatten(*model);
  }
  ASSERT_EQ(runs[index_column].epochs.size(), 6u);
  EXPECT_GT(runs[index_column].epochs.back().validation.accuracy, 0.8);
  for (int k = 1; k < 4; ++k) {
    SCOPED_TRACE(k);
    // The loss gradient of an index is bit for bit that of its one-hot row: identical runs.
    EXPECT_EQ(weights[k], weights[one_hot]);
    for (std::size_t e = 0; e < runs[k].epochs.size(); ++e) {
      EXPECT_EQ(runs[k].epochs[e].train.accuracy, runs[one_hot].epochs[e].train.accuracy);
      EXPECT_EQ(runs[k].epochs[e].validation.accuracy, runs[one_hot].epochs[e].validation.accuracy);
      EXPECT_NEAR(runs[k].epochs[e].train.loss, runs[one_hot].epochs[e].train.loss, 1e-12);
    }
  }
}

TEST(Trainer, ClassificationAccuracyReadsIndexColumns) {
  Tensor out(3, 3), onehot(3, 3), index(3, 1);
  const float scores[3][3] = {{0.1f, 0.7f, 0.2f}, {0.5f, 0.5f, 0.0f}, {0.0f, 0.1f, 0.9f}};
  const int truth[3] = {1, 1, 2};  // row 1: a tie predicts class 0 (the first maximum): wrong
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) out(i, j) = scores[i][j];
    onehot(i, truth[i]) = 1.0f;
    index(i, 0) = static_cast<float>(truth[i]);
  }
  EXPECT_DOUBLE_EQ(classification_accuracy(out.cview(), index.cview()), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(classification_accuracy(out.cview(), onehot.cview()), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(classification_accuracy(out.cview(), index.cview()), accuracy(index.cview(), out.cview()));
  out(0, 0) = std::numeric_limits<float>::quiet_NaN();  // a diverged row is never right
  EXPECT_DOUBLE_EQ(classification_accuracy(out.cview(), index.cview()), 1.0 / 3.0);
  index(2, 0) = 3.0f;
  try {
    classification_accuracy(out.cview(), index.cview());
    FAIL() << "no error for index 3 of 3 classes";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("targets(2, 0) is 3, expected a class index in [0, 3)"), std::string::npos)
        << e.what();
  }
  Tensor two(3, 2);
  EXPECT_THROW(classification_accuracy(out.cview(), two.cview()), ShapeError);
}

TEST(Trainer, LabelsBecomeBinaryOrOneHotTargets) {
  // One output: labels 0/1 are the binary cross-entropy's targets, exactly as a 0/1 matrix.
  Data train(96, 23);
  std::vector<std::int32_t> labels(96);
  for (std::size_t i = 0; i < 96; ++i) labels[i] = static_cast<std::int32_t>(train.y(i, 0));
  std::vector<float> weights[2];
  for (int k = 0; k < 2; ++k) {
    auto model = make_model();
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
    TrainerOptions options;
    options.epochs = 3;
    Trainer trainer(*model, loss, sgd, options);
    EXPECT_EQ(trainer.label_encoding(), LabelEncoding::binary);
    if (k == 0) trainer.fit(train.x.cview(), train.y.cview());
    if (k == 1) trainer.fit(train.x.cview(), std::span<const std::int32_t>(labels));
    weights[k] = flatten(*model);
  }
  EXPECT_EQ(weights[0], weights[1]);

  // Other losses, or one_hot_labels, get one-hot rows; bad labels throw naming the label.
  MeanSquaredError mse;
  SoftmaxCrossEntropy sce;
  EXPECT_EQ(label_encoding(3, mse), LabelEncoding::one_hot);
  EXPECT_EQ(label_encoding(3, sce, /*one_hot_labels=*/true), LabelEncoding::one_hot);
  EXPECT_EQ(label_encoding(1, sce), LabelEncoding::binary);
  Tensor buffer;
  const std::int32_t some[3] = {2, 0, 1};
  const ConstMatrixView t = encode_labels(some, 3, LabelEncoding::one_hot, buffer);
  ASSERT_EQ(t.rows, 3u);
  ASSERT_EQ(t.cols, 3u);
  EXPECT_EQ(t(0, 2), 1.0f);
  EXPECT_EQ(t(0, 0) + t(0, 1), 0.0f);
  EXPECT_EQ(t(2, 1), 1.0f);
  const std::int32_t bad[2] = {1, 2};
  try {
    encode_labels(bad, 1, LabelEncoding::binary, buffer, "fit");
    FAIL() << "no error for label 2 of a binary model";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("fit: labels[1] is 2, expected a class index in [0, 2)"), std::string::npos)
        << e.what();
  }
}

TEST(Trainer, BadTargetsAreRejectedBeforeTraining) {
  MultiData train(40, 24);
  auto model = make_classifier(3);
  SoftmaxCrossEntropy loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  Trainer trainer(*model, loss, sgd);
  int begun = 0;
  trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{.train_begin = [&](Trainer&) { ++begun; }});
  train.index(7, 0) = 3.0f;
  EXPECT_THROW(trainer.fit(train.x.cview(), train.index.cview()), std::invalid_argument);
  train.labels[9] = -1;
  EXPECT_THROW(trainer.fit(train.x.cview(), std::span<const std::int32_t>(train.labels)), std::invalid_argument);
  Tensor two(40, 2);
  EXPECT_THROW(trainer.fit(train.x.cview(), two.cview()), ShapeError);
  LabeledData short_labels = train.labeled();
  short_labels.labels.pop_back();
  EXPECT_THROW(trainer.fit(short_labels), ShapeError);
  // Index targets need the softmax cross-entropy.
  MeanSquaredError mse;
  Trainer with_mse(*model, mse, sgd);
  train.index(7, 0) = 0.0f;
  EXPECT_THROW(with_mse.fit(train.x.cview(), train.index.cview()), ShapeError);
  EXPECT_EQ(begun, 0);
  EXPECT_EQ(trainer.global_step(), 0u);
}

// ---- batching: drop_last, the one-row BatchNorm rule, batch transforms ---------------------------

// Runs one epoch of fit on n samples in batches of `batch` and returns the rows of each step, as
// the batch transform saw them (so every step is seen, with its size).
std::vector<std::size_t> step_rows(std::size_t n, std::size_t batch, bool with_bn, bool drop_last,
                                   OneRowBatch rule, std::size_t* batch_end_calls = nullptr) {
  Data train(n, 25);
  auto model = make_model(with_bn);
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  TrainerOptions options;
  options.epochs = 1;
  options.batch_size = batch;
  options.drop_last = drop_last;
  options.one_row_batch = rule;
  std::vector<std::size_t> rows;
  options.batch_transform = [&](MatrixView x, MatrixView, std::uint64_t) { rows.push_back(x.rows); };
  Trainer trainer(*model, loss, sgd, options);
  std::size_t calls = 0;
  trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{.batch_end = [&](Trainer&, double) { ++calls; }});
  const History& h = trainer.fit(train.x.cview(), train.y.cview());
  EXPECT_EQ(h.epochs.at(0).steps, calls);
  EXPECT_EQ(rows.size(), calls);
  std::size_t samples = 0;
  for (std::size_t r : rows) samples += r;
  EXPECT_EQ(h.epochs.at(0).samples, samples);
  if (batch_end_calls != nullptr) *batch_end_calls = calls;
  return rows;
}

using Rows = std::vector<std::size_t>;

TEST(Trainer, DropLastKeepsOrDropsAPartialLastBatch) {
  std::size_t calls = 0;
  EXPECT_EQ(step_rows(70, 32, false, false, OneRowBatch::merge, &calls), (Rows{32, 32, 6}));
  EXPECT_EQ(calls, 3u);
  EXPECT_EQ(step_rows(70, 32, false, true, OneRowBatch::merge, &calls), (Rows{32, 32}));
  EXPECT_EQ(calls, 2u);
  EXPECT_EQ(step_rows(64, 32, false, true, OneRowBatch::merge), (Rows{32, 32}));
  // Without BatchNorm a one-row batch is a batch like any other.
  EXPECT_EQ(step_rows(65, 32, false, false, OneRowBatch::error), (Rows{32, 32, 1}));
  // drop_last with fewer samples than one batch cannot train: refused before training.
  EXPECT_THROW(step_rows(20, 32, false, true, OneRowBatch::merge), std::invalid_argument);
}

TEST(Trainer, OneRowLastBatchThroughBatchNormFollowsTheRule) {
  // merge (the default): the row joins the previous batch; every sample trains.
  EXPECT_EQ(step_rows(65, 32, true, false, OneRowBatch::merge), (Rows{32, 33}));
  EXPECT_EQ(step_rows(33, 32, true, false, OneRowBatch::merge), (Rows{33}));
  // drop: the row is skipped.
  EXPECT_EQ(step_rows(65, 32, true, false, OneRowBatch::drop), (Rows{32, 32}));
  // drop_last settles it anyway.
  EXPECT_EQ(step_rows(65, 32, true, true, OneRowBatch::error), (Rows{32, 32}));
  // No one-row batch, nothing to do.
  EXPECT_EQ(step_rows(66, 32, true, false, OneRowBatch::error), (Rows{32, 32, 2}));

  // error, batch_size 1 and a one-sample set: refused before any callback or step, model untouched.
  struct Case {
    std::size_t n, batch;
    OneRowBatch rule;
    const char* message;
  };
  for (const Case& c : {Case{65, 32, OneRowBatch::error, "the last batch would have 1 row (65 training samples and "
                                                          "batch_size 32) and the model has a batchnorm"},
                        Case{10, 1, OneRowBatch::merge, "batch_size is 1, expected >= 2"},
                        Case{1, 32, OneRowBatch::merge, "the training set has 1 sample, expected >= 2"}}) {
    SCOPED_TRACE(c.message);
    Data train(c.n, 26);
    auto model = make_model(/*with_bn=*/true);
    model->children()[1]->set_name("bn");
    const std::vector<float> before = flatten(*model);
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
    TrainerOptions options;
    options.batch_size = c.batch;
    options.one_row_batch = c.rule;
    Trainer trainer(*model, loss, sgd, options);
    int begun = 0;
    trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{.train_begin = [&](Trainer&) { ++begun; }});
    try {
      trainer.fit(train.x.cview(), train.y.cview());
      FAIL() << "no error";
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
      EXPECT_NE(msg.find("batchnorm \"bn\""), std::string::npos) << msg;
    }
    EXPECT_EQ(begun, 0);
    EXPECT_EQ(trainer.global_step(), 0u);
    EXPECT_EQ(flatten(*model), before);
  }
}

TEST(Trainer, OneRowRuleCountsBatchNorm2DOnlyForOnePixelImages) {
  // A BatchNorm2D normalizes over the batch and the pixels: one 2x2 image already has 4 values
  // per channel, so a one-row last batch trains; one 1x1 image has one, and the rule applies.
  for (const std::size_t side : {2u, 1u}) {
    SCOPED_TRACE("images " + std::to_string(side) + "x" + std::to_string(side));
    const ImageShape image{side, side, 8 / (side * side)};
    Data train(33, 28);
    Sequential model;
    model.emplace<BatchNorm2D>(image).set_name("bn2d");
    DenseOptions out;
    out.seed = 3;
    model.emplace<Dense>(8, 1, out);
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(model), SgdOptions{.lr = 0.1});
    TrainerOptions options;
    options.epochs = 1;
    options.batch_size = 32;
    options.one_row_batch = OneRowBatch::error;
    Trainer trainer(model, loss, sgd, options);
    if (side == 2) {
      trainer.fit(train.x.cview(), train.y.cview());
      EXPECT_EQ(trainer.global_step(), 2u);
      continue;
    }
    try {
      trainer.fit(train.x.cview(), train.y.cview());
      FAIL() << "no error";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("the model has a batchnorm2d \"bn2d\""), std::string::npos) << e.what();
    }
    EXPECT_EQ(trainer.global_step(), 0u);
  }
}

TEST(Trainer, EvaluationChunksFollowTheWidestLayer) {
  // An MLP of width 16: chunks of the maximum. A model whose widest layer has 2^20 floats a row
  // (4 MiB): 2 rows per chunk. The default chunk gives the same bits as asking for it, and the
  // accuracy does not depend on the chunk size.
  Data data(300, 31);
  auto mlp = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*mlp), SgdOptions{.lr = 0.1});
  Trainer trainer(*mlp, loss, sgd, TrainerOptions{});
  EXPECT_EQ(trainer.evaluation_chunk_rows(), Trainer::kMaxEvaluationChunkRows);
  const Evaluation whole = trainer.evaluate(data.x.cview(), data.y.cview());
  const Evaluation same = trainer.evaluate(data.x.cview(), data.y.cview(), Trainer::kMaxEvaluationChunkRows);
  EXPECT_EQ(std::memcmp(&whole.loss, &same.loss, sizeof(double)), 0);
  const Evaluation small = trainer.evaluate(data.x.cview(), data.y.cview(), 7);
  EXPECT_EQ(small.accuracy, whole.accuracy);
  EXPECT_NEAR(small.loss, whole.loss, 1e-12);

  Sequential wide;
  DenseOptions options;
  options.seed = 5;
  wide.emplace<Dense>(1, std::size_t{1} << 20, options);
  wide.emplace<Dense>(std::size_t{1} << 20, 1, options);
  Sgd wide_sgd(all_parameters(wide), SgdOptions{.lr = 0.1});
  Trainer wide_trainer(wide, loss, wide_sgd, TrainerOptions{});
  EXPECT_EQ(wide_trainer.evaluation_chunk_rows(), Trainer::kEvaluationChunkBytes / (sizeof(float) << 20));
}

TEST(Trainer, BatchTransformSeesEachBatchOnceAndLeavesTheCallersDataAlone) {
  Data train(70, 27);
  const Tensor x_copy = train.x.clone();
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  TrainerOptions options;
  options.epochs = 2;
  options.shuffle = false;
  options.batch_size = 32;
  struct Call {
    std::size_t rows;
    std::uint64_t step;
    bool same_rows;
  };
  std::vector<Call> calls;
  std::size_t batch_ends = 0;
  Trainer* self = nullptr;
  options.batch_transform = [&](MatrixView x, MatrixView y, std::uint64_t step) {
    // Without shuffling, batch b holds rows [32·b, 32·b + rows) of the set, in order.
    const std::size_t first = (step % 3) * 32;
    bool same = x.cols == 8 && y.cols == 1 && self->global_step() == step;
    for (std::size_t r = 0; r < x.rows; ++r) {
      same = same && std::memcmp(x.row(r), train.x.cview().row(first + r), 8 * sizeof(float)) == 0 &&
             y(r, 0) == train.y(first + r, 0);
    }
    calls.push_back({x.rows, step, same});
    for (std::size_t r = 0; r < x.rows; ++r) x(r, 0) += 100.0f;  // the trainer's copy only
  };
  Trainer trainer(*model, loss, sgd, options);
  self = &trainer;
  trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{.batch_end = [&](Trainer&, double) { ++batch_ends; }});
  trainer.fit(train.x.cview(), train.y.cview());
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(batch_ends, 6u);
  const std::size_t rows[6] = {32, 32, 6, 32, 32, 6};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(calls[i].rows, rows[i]) << i;
    EXPECT_EQ(calls[i].step, i) << i;
    EXPECT_TRUE(calls[i].same_rows) << i;
  }
  EXPECT_EQ(std::memcmp(train.x.data(), x_copy.data(), train.x.size() * sizeof(float)), 0);
}

TEST(Trainer, SeededBatchNoiseIsDeterministicAndChangesTraining) {
  Data train(100, 28);
  std::vector<float> weights[3];
  for (int k = 0; k < 3; ++k) {
    auto model = make_model();
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
    TrainerOptions options;
    options.epochs = 2;
    if (k < 2) {
      options.batch_transform = [](MatrixView x, MatrixView, std::uint64_t step) {
        Rng rng(1234, step);
        for (std::size_t r = 0; r < x.rows; ++r) {
          for (std::size_t c = 0; c < x.cols; ++c) x(r, c) += 0.1f * (rng.uniform() - 0.5f);
        }
      };
    }
    Trainer trainer(*model, loss, sgd, options);
    trainer.fit(train.x.cview(), train.y.cview());
    weights[k] = flatten(*model);
  }
  EXPECT_EQ(weights[0], weights[1]);
  EXPECT_NE(weights[0], weights[2]);
}

// ---- the schedule's monitor, evaluate_train -----------------------------------------------------

// Records what observe() is given.
class RecordingSchedule final : public LrSchedule {
 public:
  const char* name() const override { return "recording"; }
  ScheduleUnit unit() const override { return ScheduleUnit::epoch; }
  float lr(std::size_t) const override { return 0.1f; }
  void observe(double metric) override { seen.push_back(metric); }
  std::vector<double> seen;
};

TEST(Trainer, ScheduleIsFedTheMonitoredValue) {
  Data train(128, 29), val(64, 30);
  for (const Monitor m : {Monitor::validation_accuracy, Monitor::train_loss, Monitor::train_accuracy}) {
    SCOPED_TRACE(monitor_name(m));
    auto model = make_model();
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
    RecordingSchedule schedule;
    TrainerOptions options;
    options.epochs = 4;
    options.schedule = &schedule;
    options.schedule_monitor = m;
    Trainer trainer(*model, loss, sgd, options);
    const History& h = trainer.fit(train.x.cview(), train.y.cview(), val.x.cview(), val.y.cview());
    ASSERT_EQ(schedule.seen.size(), 4u);
    for (std::size_t e = 0; e < 4; ++e) EXPECT_EQ(schedule.seen[e], monitored_value(m, h.epochs[e]));
  }
  // Unset: the loss, validation's when given.
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  RecordingSchedule schedule;
  TrainerOptions options;
  options.epochs = 2;
  options.schedule = &schedule;
  Trainer trainer(*model, loss, sgd, options);
  const History& h = trainer.fit(train.x.cview(), train.y.cview(), val.x.cview(), val.y.cview());
  EXPECT_EQ(schedule.seen, (std::vector<double>{h.epochs[0].validation.loss, h.epochs[1].validation.loss}));
}

TEST(Trainer, PlateauInMaxModeFollowsValidationAccuracy) {
  Data train(256, 31), val(48, 32);
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.2});
  PlateauOptions po;
  po.mode = PlateauMode::max;
  po.patience = 1;
  po.factor = 0.5;
  ReduceLrOnPlateau plateau(0.2, po);
  TrainerOptions options;
  options.epochs = 25;
  options.schedule = &plateau;  // no schedule_monitor: max mode means the validation accuracy
  Trainer trainer(*model, loss, sgd, options);
  const History& h = trainer.fit(train.x.cview(), train.y.cview(), val.x.cview(), val.y.cview());
  ASSERT_EQ(h.epochs.size(), 25u);
  // Replaying the validation accuracies through a fresh schedule gives the rates the run used.
  ReduceLrOnPlateau replay(0.2, po);
  std::size_t reductions = 0;
  for (std::size_t e = 0; e < h.epochs.size(); ++e) {
    EXPECT_FLOAT_EQ(static_cast<float>(h.epochs[e].learning_rate), replay.lr(e)) << "epoch " << e;
    const double before = replay.current_lr();
    replay.observe(h.epochs[e].validation.accuracy);
    reductions += replay.current_lr() < before;
  }
  EXPECT_GE(reductions, 1u);  // the accuracy of 48 samples stalls: the rate was cut
  EXPECT_EQ(plateau.state().best, std::max_element(h.epochs.begin(), h.epochs.end(), [](const auto& a, const auto& b) {
                                    return a.validation.accuracy < b.validation.accuracy;
                                  })->validation.accuracy);

  // A monitor that contradicts the mode, or a validation monitor without a validation set, is
  // refused before training.
  TrainerOptions wrong = options;
  wrong.schedule_monitor = Monitor::validation_loss;
  Trainer t2(*model, loss, sgd, wrong);
  try {
    t2.fit(train.x.cview(), train.y.cview(), val.x.cview(), val.y.cview());
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("schedule_monitor is validation_loss"), std::string::npos) << e.what();
  }
  wrong.schedule_monitor = Monitor::validation_accuracy;
  Trainer t3(*model, loss, sgd, wrong);
  EXPECT_THROW(t3.fit(train.x.cview(), train.y.cview()), std::invalid_argument);
  EXPECT_EQ(t2.global_step() + t3.global_step(), 0u);
}

TEST(Trainer, EvaluateTrainFalseRecordsTheRunningBatchValues) {
  Data train(100, 33);
  // With lr = 0 nothing changes, so the running accuracy is the train-mode forward's accuracy
  // on each batch, which we recompute here.
  for (const double lr : {0.0, 0.1}) {
    SCOPED_TRACE(lr);
    auto model = make_model();
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = lr});
    TrainerOptions options;
    options.epochs = 2;
    options.shuffle = false;
    options.batch_size = 32;
    options.evaluate_train = false;
    Trainer trainer(*model, loss, sgd, options);
    const History& h = trainer.fit(train.x.cview(), train.y.cview());
    for (const EpochRecord& r : h.epochs) {
      EXPECT_EQ(r.train.loss, r.mean_batch_loss);
      EXPECT_GE(r.train.accuracy, 0.0);
      EXPECT_LE(r.train.accuracy, 1.0);
      EXPECT_TRUE(std::isnan(r.validation.loss));
    }
    if (lr == 0.0) {
      double right = 0.0;
      for (std::size_t begin = 0; begin < 100; begin += 32) {
        const std::size_t rows = std::min<std::size_t>(32, 100 - begin);
        const ConstMatrixView xb{train.x.cview().row(begin), rows, 8, 8};
        const ConstMatrixView yb{train.y.cview().row(begin), rows, 1, 1};
        right += classification_accuracy(model->forward(xb, Mode::train), yb) * static_cast<double>(rows);
      }
      EXPECT_DOUBLE_EQ(h.epochs.back().train.accuracy, right / 100.0);
    } else {
      EXPECT_NE(h.epochs.back().train.loss, trainer.evaluate(train.x.cview(), train.y.cview()).loss);
    }
  }
}

// ---- regularizer -------------------------------------------------------------------------------

TEST(Trainer, RegularizerGradientAndPenaltyUseTheSameBatchSize) {
  // L2 with the notebook's per-batch scaling: penalty λ/(2m)·Σw², gradient (λ/m)·w. A 5-row step
  // of a trainer with batch_size 8 must use m = 8 in both.
  Data batch(5, 34);
  const double lambda = 0.4, lr = 0.5;
  L2Regularizer l2(lambda, L2Scaling::per_batch_notebook);
  std::vector<float> after[2];
  std::vector<float> w0;
  double penalty = 0.0;
  for (int k = 0; k < 2; ++k) {
    auto model = make_model();
    w0 = flatten(*model);
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = lr});
    TrainerOptions options;
    options.batch_size = 8;
    if (k == 1) options.regularizer = &l2;
    Trainer trainer(*model, loss, sgd, options);
    if (k == 1) {
      penalty = trainer.penalty();
      EXPECT_DOUBLE_EQ(penalty, l2.penalty(all_parameters(*model), 8));
    }
    trainer.train_on_batch(batch.x.cview(), batch.y.cview());
    after[k] = flatten(*model);
  }
  // The first parameter is the first Dense layer's weight (regularized): the step differs by
  // lr·(λ/m)·w0 exactly when m = 8.
  auto model = make_model();
  const std::size_t n = all_parameters(*model).front().value->size();
  double sum_sq = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_NEAR(after[0][i] - after[1][i], lr * lambda / 8.0 * w0[i], 1e-5) << i;
  }
  // The penalty is the integral of that gradient: λ/(2·8)·Σw² over the regularized weights.
  for (const Parameter& p : all_parameters(*model)) {
    if (p.regularize) sum_sq += sum_of_squares(p.value->data(), p.value->size());
  }
  EXPECT_NEAR(penalty, lambda / 16.0 * sum_sq, 1e-9 * penalty);

  // fit records the penalty with the same m, after the epoch (13 samples: batches of 8 and 5).
  Data train(13, 35);
  auto fitted = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*fitted), SgdOptions{.lr = lr});
  TrainerOptions options;
  options.batch_size = 8;
  options.epochs = 1;
  options.regularizer = &l2;
  Trainer trainer(*fitted, loss, sgd, options);
  const History& h = trainer.fit(train.x.cview(), train.y.cview());
  EXPECT_EQ(h.epochs.back().penalty, l2.penalty(all_parameters(*fitted), 8));
  EXPECT_EQ(h.epochs.back().penalty, trainer.penalty());
}

// ---- callbacks ---------------------------------------------------------------------------------

TEST(Trainer, LambdaCallbackCallsEachHookInOrder) {
  Data train(70, 36);
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  TrainerOptions options;
  options.epochs = 3;
  options.batch_size = 32;
  Trainer trainer(*model, loss, sgd, options);
  std::string events;
  std::vector<double> losses;
  trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{
      .train_begin = [&](Trainer&) { events += "B"; },
      .batch_end =
          [&](Trainer&, double l) {
            events += "b";
            losses.push_back(l);
          },
      .epoch_end = [&](Trainer& t, const EpochRecord& r) { events += "E" + std::to_string(r.epoch) + std::to_string(t.current_epoch()); },
      .train_end = [&](Trainer&) { events += "T"; }});
  trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{});  // no hooks: nothing happens
  const History& h = trainer.fit(train.x.cview(), train.y.cview());
  EXPECT_EQ(events, "BbbbE00bbbE11bbbE22T");
  ASSERT_EQ(losses.size(), 9u);
  EXPECT_DOUBLE_EQ((losses[0] + losses[1] + losses[2]) / 3.0, h.epochs[0].mean_batch_loss);
}

TEST(Trainer, CsvLoggerWritesAHeaderAndOneRowPerEpoch) {
  Data train(64, 37), val(32, 38);
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  TrainerOptions options;
  options.epochs = 3;
  Trainer trainer(*model, loss, sgd, options);
  const std::string path = temp_dir() + "/log.csv";
  std::size_t rows_at_epoch_end = 0;
  auto& logger = trainer.add_callback<CsvLogger>(path);
  // By the end of each epoch, that epoch's row is already in the file (flushed).
  trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{
      .epoch_end = [&](Trainer&, const EpochRecord& r) {
        rows_at_epoch_end += lines_of(read_text(path)).size() == r.epoch + 2;
      }});
  EXPECT_EQ(logger.path(), path);
  const History& h = trainer.fit(train.x.cview(), train.y.cview(), val.x.cview(), val.y.cview());
  EXPECT_EQ(rows_at_epoch_end, 3u);
  const std::vector<std::string> lines = lines_of(read_text(path));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds");
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(lines[e + 1], CsvLogger::format_row(h.epochs[e]));
    double ep, tl, ta, vl, va, lr, sec;
    ASSERT_EQ(std::sscanf(lines[e + 1].c_str(), "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &ep, &tl, &ta, &vl, &va, &lr, &sec), 7);
    EXPECT_EQ(ep, static_cast<double>(e + 1));
    EXPECT_NEAR(tl, h.epochs[e].train.loss, 1e-7);
    EXPECT_NEAR(va, h.epochs[e].validation.accuracy, 1e-7);
    EXPECT_NEAR(lr, 0.1, 1e-7);
  }
  // A second fit starts the file again; without validation the val columns are "nan".
  trainer.fit(train.x.cview(), train.y.cview());
  const std::vector<std::string> again = lines_of(read_text(path));
  ASSERT_EQ(again.size(), 4u);
  EXPECT_EQ(again[0], CsvLogger::header());
  for (std::size_t e = 1; e < 4; ++e) EXPECT_NE(again[e].find(",nan,nan,"), std::string::npos) << again[e];
}

TEST(Trainer, CsvLoggerNamesAFileItCannotOpenBeforeTraining) {
  Data train(32, 39);
  auto model = make_model();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
  Trainer trainer(*model, loss, sgd);
  const std::string path = temp_dir() + "/no_such_dir/log.csv";
  trainer.add_callback<CsvLogger>(path);
  try {
    trainer.fit(train.x.cview(), train.y.cview());
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("CsvLogger: cannot open \"" + path + "\" for writing"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(trainer.global_step(), 0u);
}

TEST(Trainer, ProgressBarPrintsOnePlainLinePerEpochWithoutATerminal) {
  EpochRecord r;
  r.epoch = 2;
  r.train = {0.41234, 0.875};
  r.learning_rate = 0.01;
  r.seconds = 1.25;
  EXPECT_EQ(ProgressBar::format_line(r, 10), "epoch 3/10 loss 0.4123 acc 0.8750 lr 0.01 1.25s");
  r.validation = {0.45, 0.86};
  EXPECT_EQ(ProgressBar::format_line(r, 10), "epoch 3/10 loss 0.4123 acc 0.8750 val_loss 0.4500 val_acc 0.8600 lr 0.01 1.25s");

  Data train(64, 40);
  for (const bool quiet : {false, true}) {
    SCOPED_TRACE(quiet);
    std::FILE* out = std::tmpfile();
    ASSERT_NE(out, nullptr);
    auto model = make_model();
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*model), SgdOptions{.lr = 0.1});
    TrainerOptions options;
    options.epochs = 3;
    Trainer trainer(*model, loss, sgd, options);
    auto& bar = trainer.add_callback<ProgressBar>(quiet, out);
    EXPECT_EQ(bar.enabled(), !quiet);
    EXPECT_FALSE(bar.interactive());
    const History& h = trainer.fit(train.x.cview(), train.y.cview());
    std::rewind(out);
    std::string text;
    char buf[1024];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) text.append(buf, n);
    std::fclose(out);
    if (quiet) {
      EXPECT_EQ(text, "");
      continue;
    }
    EXPECT_EQ(text.find('\r'), std::string::npos);
    const std::vector<std::string> lines = lines_of(text);
    ASSERT_EQ(lines.size(), 3u) << text;
    for (std::size_t e = 0; e < 3; ++e) EXPECT_EQ(lines[e], ProgressBar::format_line(h.epochs[e], 3));
    EXPECT_EQ(text.back(), '\n');
  }
}

// ---- no allocation in fit's steps once warm ------------------------------------------------------

TEST(Trainer, FitStepsAllocateNothingOnceWarm) {
  // Index targets, a batch transform, running accuracy and a merged BatchNorm batch: from the
  // second epoch on, nothing between two consecutive batch ends allocates.
  MultiData train(97, 41);
  auto model = make_classifier(3, /*with_bn=*/true);
  SoftmaxCrossEntropy loss;
  Adam adam(all_parameters(*model), AdamOptions{.lr = 0.01});
  TrainerOptions options;
  options.epochs = 3;
  options.batch_size = 32;  // 97 = 3·32 + 1: the last batch merges into 33 rows
  options.evaluate_train = false;
  options.batch_transform = [](MatrixView x, MatrixView, std::uint64_t step) {
    Rng rng(99, step);
    for (std::size_t r = 0; r < x.rows; ++r) x(r, 0) += 0.01f * rng.uniform();
  };
  ScopedThreads one_thread(1);
  Trainer trainer(*model, loss, adam, options);
  std::vector<long> at_batch_end;
  at_batch_end.reserve(64);
  trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{
      .batch_end = [&](Trainer& t, double) { if (t.current_epoch() > 0) at_batch_end.push_back(allocation_count()); },
      .epoch_end = [&](Trainer&, const EpochRecord&) { at_batch_end.push_back(-1); }});
  trainer.fit(train.x.cview(), train.index.cview());
  // Epochs 1 and 2: 3 steps each, separated by the -1 of the epoch's end.
  ASSERT_EQ(at_batch_end.size(), 2u + 2u * 3u + 1u);  // epoch 0's -1, then 3 + -1, 3 + -1
  for (std::size_t i = 2; i < at_batch_end.size(); ++i) {
    if (at_batch_end[i] < 0 || at_batch_end[i - 1] < 0) continue;
    EXPECT_EQ(at_batch_end[i] - at_batch_end[i - 1], 0) << i;
  }
}

}  // namespace
}  // namespace simdnn
