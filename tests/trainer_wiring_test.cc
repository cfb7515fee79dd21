// The trainer's options wired end to end: schedules in both units reach the optimizer, gradient
// clipping by norm and by value, L1 and L2 regularizers, EarlyStopping on an accuracy with
// min_delta and without restoring, and a Checkpoint without optimizer state.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/train/callbacks.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/regularizer.h>
#include <simdnn/train/schedule.h>
#include <simdnn/train/trainer.h>

namespace simdnn {
namespace {

// 8 features, a binary target from a linear rule.
struct Data {
  explicit Data(std::size_t n) : x(n, 8), y(n, 1) {
    fill_normal(x.view(), 0.0f, 1.0f, 5, 0);
    for (std::size_t i = 0; i < n; ++i) y(i, 0) = x(i, 0) - 0.5f * x(i, 3) > 0.0f ? 1.0f : 0.0f;
  }
  Tensor x, y;
};

// 8 → 6 (ReLU) → 1, without biases, so that every parameter is a regularized weight.
std::unique_ptr<Sequential> network() {
  auto net = std::make_unique<Sequential>();
  net->emplace<Dense>(8, 6, DenseOptions{.activation = ActivationSpec::relu(), .seed = 3, .stream = 1, .bias = false});
  net->emplace<Dense>(6, 1, DenseOptions{.seed = 3, .stream = 2, .bias = false});
  return net;
}

std::vector<double> weights(Layer& net) {
  std::vector<double> w;
  for (const Parameter& p : all_parameters(net)) w.insert(w.end(), p.value->data(), p.value->data() + p.value->size());
  return w;
}

// The weight change of one SGD step (lr 1) on the batch, under `options`.
std::vector<double> one_step(TrainerOptions options, double weight_decay = 0.0) {
  Data d(16);
  auto net = network();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*net), {.lr = 1.0, .weight_decay = weight_decay});
  Trainer trainer(*net, loss, sgd, options);
  const std::vector<double> before = weights(*net);
  trainer.train_on_batch(d.x.cview(), d.y.cview());
  std::vector<double> delta = weights(*net);
  for (std::size_t i = 0; i < delta.size(); ++i) delta[i] -= before[i];
  return delta;
}

double norm(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

TEST(TrainerWiring, ScheduleByEpochAndByStepReachesTheOptimizer) {
  for (ScheduleUnit unit : {ScheduleUnit::epoch, ScheduleUnit::step}) {
    Data d(32);  // batch 8: 4 steps per epoch
    auto net = network();
    BinaryCrossEntropyWithLogits loss;
    Sgd sgd(all_parameters(*net), {.lr = 1.0});
    StepLr schedule(0.1, 2, 0.5, unit);
    Trainer trainer(*net, loss, sgd, {.epochs = 5, .batch_size = 8, .schedule = &schedule});
    std::vector<double> seen;  // the rate in force after each step
    trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{
        .batch_end = [&](Trainer& t, double) { seen.push_back(t.optimizer().learning_rate()); }});
    const History& h = trainer.fit(d.x.cview(), d.y.cview());
    ASSERT_EQ(seen.size(), 20u);
    for (std::size_t s = 0; s < 20; ++s) {
      const std::size_t t = unit == ScheduleUnit::epoch ? s / 4 : s;
      EXPECT_FLOAT_EQ(seen[s], schedule.lr(t)) << "step " << s;
    }
    for (std::size_t e = 0; e < 5; ++e) EXPECT_FLOAT_EQ(h.epochs[e].learning_rate, seen[4 * e + 3]);
  }
}

TEST(TrainerWiring, ClipNormBoundsTheStep) {
  const double free_norm = norm(one_step({}));
  ASSERT_GT(free_norm, 0.01);
  const std::vector<double> clipped = one_step({.clip_norm = 0.01});
  EXPECT_NEAR(norm(clipped), 0.01, 1e-6);  // lr 1: the step is the clipped gradient
  // Clipping scales, it does not turn: the direction is the free step's.
  const std::vector<double> free = one_step({});
  for (std::size_t i = 0; i < free.size(); ++i) EXPECT_NEAR(clipped[i], free[i] * 0.01 / free_norm, 1e-7);
}

TEST(TrainerWiring, ClipValueBoundsEachComponent) {
  const std::vector<double> free = one_step({});
  const std::vector<double> clipped = one_step({.clip_value = 0.001});
  // Steps are read back as differences of float weights (|w| < 2): exact to within 2.5e-7.
  constexpr double kTol = 2.5e-7;
  bool some_clipped = false;
  for (std::size_t i = 0; i < free.size(); ++i) {
    EXPECT_LE(std::abs(clipped[i]), 0.001 + kTol);
    if (std::abs(free[i]) > 0.001 + kTol) {
      some_clipped = true;
      EXPECT_NEAR(clipped[i], std::copysign(0.001, free[i]), kTol);
    } else if (std::abs(free[i]) < 0.001 - kTol) {
      EXPECT_NEAR(clipped[i], free[i], kTol);
    }
  }
  EXPECT_TRUE(some_clipped);
}

TEST(TrainerWiring, RegularizersAddTheirGradientToTheStep) {
  auto net = network();
  const std::vector<double> w = weights(*net);  // the same start as one_step's
  const std::vector<double> free = one_step({});
  L2Regularizer l2(0.1);
  const std::vector<double> with_l2 = one_step({.regularizer = &l2});
  L1Regularizer l1(0.01);
  const std::vector<double> with_l1 = one_step({.regularizer = &l1});
  for (std::size_t i = 0; i < w.size(); ++i) {
    EXPECT_NEAR(with_l2[i], free[i] - 0.1 * w[i], 1e-6) << i;
    EXPECT_NEAR(with_l1[i], free[i] - 0.01 * (w[i] > 0 ? 1.0 : w[i] < 0 ? -1.0 : 0.0), 1e-6) << i;
  }
  // PyTorch's convention: L2 with λ is SGD's weight_decay λ.
  const std::vector<double> decayed = one_step({}, 0.1);
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(with_l2[i], decayed[i], 1e-6) << i;
}

TEST(TrainerWiring, EarlyStoppingOnAccuracyWithMinDeltaAndNoRestore) {
  Data d(64);
  auto net = network();
  BinaryCrossEntropyWithLogits loss;
  Sgd sgd(all_parameters(*net), {.lr = 0.1});
  Trainer trainer(*net, loss, sgd, {.epochs = 20, .batch_size = 16});
  // No accuracy can rise by more than 1: the first epoch is the best, and with patience 2 the
  // run stops after the third.
  auto& stop = trainer.add_callback<EarlyStopping>(Monitor::train_accuracy, 2, 1.0, /*restore=*/false);
  std::vector<double> last;
  trainer.add_callback<LambdaCallback>(LambdaCallback::Hooks{.epoch_end = [&](Trainer& t, const EpochRecord&) {
    last = weights(t.model());
  }});
  const History& h = trainer.fit(d.x.cview(), d.y.cview());
  EXPECT_EQ(h.epochs.size(), 3u);
  EXPECT_TRUE(stop.stopped_early());
  EXPECT_EQ(stop.best_epoch(), 0u);
  EXPECT_EQ(weights(*net), last) << "without restore the final weights stay";
}

TEST(TrainerWiring, CheckpointWithoutOptimizerState) {
  Data d(32);
  auto net = network();
  BinaryCrossEntropyWithLogits loss;
  Adam adam(all_parameters(*net));
  Trainer trainer(*net, loss, adam, {.epochs = 1, .batch_size = 16});
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/no_optimizer.simdnn";
  trainer.add_callback<Checkpoint>(path, 1, /*with_optimizer=*/false);
  trainer.fit(d.x.cview(), d.y.cview());
  auto copy = network();
  load_model(path, *copy);
  EXPECT_EQ(weights(*copy), weights(*net));
  Adam adam2(all_parameters(*copy));
  EXPECT_THROW(load_model(path, *copy, &adam2), TensorFileError);
}

}  // namespace
}  // namespace simdnn
