// The training loop: learning, early stopping, the non-finite guard, determinism across thread
// counts, step-wise API, saving/loading through the model, and no allocation in a warm step.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>

#include <simdnn/core/random.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/train/callbacks.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/trainer.h>

// Counts heap allocations in this test binary (for the no-allocation test).
namespace {
std::atomic<long> g_allocations{0};
}  // namespace
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t al) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace simdnn {
namespace {

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

TEST(Trainer, CheckpointsEveryNEpochsAndProgressBarStaysOffWithoutATerminal) {
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
  EXPECT_FALSE(bar.enabled());  // tests run with stderr redirected
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

TEST(Trainer, WarmTrainingStepAllocatesNothing) {
  Data train(32, 10);
  auto model = make_model(true, true);
  BinaryCrossEntropyWithLogits loss;
  Adam adam(all_parameters(*model), AdamOptions{.lr = 0.01});
  TrainerOptions options;
  options.record_grad_norms = true;
  Trainer trainer(*model, loss, adam, options);
  set_num_threads(1);
  trainer.train_on_batch(train.x.cview(), train.y.cview());
  trainer.train_on_batch(train.x.cview(), train.y.cview());
  const long before = g_allocations.load();
  for (int i = 0; i < 5; ++i) trainer.train_on_batch(train.x.cview(), train.y.cview());
  EXPECT_EQ(g_allocations.load() - before, 0);
}

}  // namespace
}  // namespace simdnn
