// Learning-rate schedules (train/schedule.h), each against its formula at several steps: warmup
// edges of the cosine schedule, the halving of triangular2, exp_range's decay, and
// ReduceLrOnPlateau's patience, cooldown, threshold modes and floor.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/train/schedule.h>
#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::expect_throw_with;

TEST(Schedules, Constant) {
  const ConstantLr s(0.05);
  EXPECT_STREQ(s.name(), "constant");
  for (std::size_t t : {0u, 1u, 1000u}) EXPECT_EQ(s.lr(t), 0.05f);
}

TEST(Schedules, StepDecay) {
  const StepLr s(0.1, 3, 0.5);
  EXPECT_EQ(s.unit(), ScheduleUnit::epoch);
  const float want[] = {0.1f, 0.1f, 0.1f, 0.05f, 0.05f, 0.05f, 0.025f};
  for (std::size_t t = 0; t < 7; ++t) EXPECT_FLOAT_EQ(s.lr(t), want[t]) << t;
  EXPECT_FLOAT_EQ(s.lr(30), static_cast<float>(0.1 * std::pow(0.5, 10)));
  EXPECT_EQ(StepLr(0.1, 3, 0.5, ScheduleUnit::step).unit(), ScheduleUnit::step);
  expect_throw_with("step_size", [] { StepLr(0.1, 0, 0.5); }, {"StepLr", "step_size is 0"});
  expect_throw_with("gamma", [] { StepLr(0.1, 2, -0.5); }, {"gamma is -0.5"});
}

TEST(Schedules, Exponential) {
  const ExponentialLr s(0.2, 0.9);
  for (std::size_t t : {0u, 1u, 2u, 10u}) {
    EXPECT_FLOAT_EQ(s.lr(t), static_cast<float>(0.2 * std::pow(0.9, static_cast<double>(t))));
  }
  expect_throw_with("lr", [] { ExponentialLr(-1.0, 0.9); }, {"ExponentialLr", "base_lr is -1"});
}

TEST(Schedules, CosineWithWarmup) {
  const double base = 0.1, min_lr = 0.001;
  const CosineWarmupLr s(base, 4, 14, min_lr);
  EXPECT_EQ(s.unit(), ScheduleUnit::step);
  // Warmup: base·(t+1)/4, reaching base at t = 3.
  EXPECT_FLOAT_EQ(s.lr(0), 0.025f);
  EXPECT_FLOAT_EQ(s.lr(1), 0.05f);
  EXPECT_FLOAT_EQ(s.lr(3), 0.1f);
  // Cosine from t = 4 (progress 0) to t = 14 (progress 1).
  EXPECT_FLOAT_EQ(s.lr(4), 0.1f);
  for (std::size_t t : {5u, 9u, 13u}) {
    const double p = (static_cast<double>(t) - 4.0) / 10.0;
    EXPECT_FLOAT_EQ(s.lr(t), static_cast<float>(min_lr + (base - min_lr) * 0.5 *
                                                             (1 + std::cos(std::numbers::pi * p))))
        << t;
  }
  EXPECT_FLOAT_EQ(s.lr(9), static_cast<float>((base + min_lr) / 2));  // halfway
  EXPECT_FLOAT_EQ(s.lr(14), 0.001f);
  EXPECT_FLOAT_EQ(s.lr(1000), 0.001f);
  // No warmup: starts at base.
  const CosineWarmupLr nw(0.1, 0, 10);
  EXPECT_FLOAT_EQ(nw.lr(0), 0.1f);
  EXPECT_FLOAT_EQ(nw.lr(10), 0.0f);
  expect_throw_with("warmup", [] { CosineWarmupLr(0.1, 11, 10); },
                    {"warmup_steps is 11", "at most total_steps (10)"});
  expect_throw_with("min", [] { CosineWarmupLr(0.1, 1, 10, 0.5); }, {"min_lr is 0.5"});
}

TEST(Schedules, CyclicTriangular) {
  const CyclicLr s({.base_lr = 0.001, .max_lr = 0.006, .step_size_up = 4});
  EXPECT_EQ(s.unit(), ScheduleUnit::step);
  EXPECT_EQ(s.options().step_size_down, 4u);  // defaults to step_size_up
  const double amp = 0.005;
  // Up 0..4, down 4..8, repeat.
  const double h[] = {0, 0.25, 0.5, 0.75, 1, 0.75, 0.5, 0.25, 0, 0.25};
  for (std::size_t t = 0; t < 10; ++t) {
    EXPECT_FLOAT_EQ(s.lr(t), static_cast<float>(0.001 + amp * h[t])) << t;
  }
  EXPECT_FLOAT_EQ(s.lr(84), 0.006f);  // every cycle peaks at max_lr
}

TEST(Schedules, CyclicAsymmetric) {
  const CyclicLr s({.base_lr = 0.0, .max_lr = 1.0, .step_size_up = 2, .step_size_down = 6});
  const float want[] = {0, 0.5f, 1, 5.0f / 6, 4.0f / 6, 3.0f / 6, 2.0f / 6, 1.0f / 6, 0};
  for (std::size_t t = 0; t < 9; ++t) EXPECT_FLOAT_EQ(s.lr(t), want[t]) << t;
}

TEST(Schedules, CyclicTriangular2HalvesEachCycle) {
  const CyclicLr s({.base_lr = 0.1, .max_lr = 0.9, .step_size_up = 5,
                    .mode = CyclicMode::triangular2});
  // Peaks at t = 5, 15, 25 (cycle length 10): amplitude 0.8, 0.4, 0.2.
  EXPECT_FLOAT_EQ(s.lr(5), 0.9f);
  EXPECT_FLOAT_EQ(s.lr(15), 0.5f);
  EXPECT_FLOAT_EQ(s.lr(25), 0.3f);
  EXPECT_FLOAT_EQ(s.lr(10), 0.1f);
  EXPECT_FLOAT_EQ(s.lr(17), static_cast<float>(0.1 + 0.8 * 0.6 * 0.5));
}

TEST(Schedules, CyclicExpRange) {
  const double gamma = 0.99;
  const CyclicLr s({.base_lr = 0.1, .max_lr = 1.1, .step_size_up = 5,
                    .mode = CyclicMode::exp_range, .gamma = gamma});
  for (std::size_t t : {0u, 3u, 5u, 12u, 25u}) {
    const std::size_t i = t % 10;
    const double h = i <= 5 ? i / 5.0 : (10.0 - i) / 5.0;
    EXPECT_FLOAT_EQ(s.lr(t), static_cast<float>(0.1 + 1.0 * h * std::pow(gamma, double(t)))) << t;
  }
  expect_throw_with("gamma", [] {
    CyclicLr({.base_lr = 0.1, .max_lr = 1, .step_size_up = 5, .mode = CyclicMode::exp_range, .gamma = 1.5});
  }, {"CyclicLr", "gamma is 1.5"});
  expect_throw_with("max", [] { CyclicLr({.base_lr = 0.1, .max_lr = 0.01}); },
                    {"max_lr is 0.01", "at least base_lr (0.1)"});
  expect_throw_with("up", [] { CyclicLr({.step_size_up = 0}); }, {"step_size_up is 0"});
}

TEST(Schedules, PlateauPatience) {
  ReduceLrOnPlateau s(1.0, {.factor = 0.5, .patience = 2});
  EXPECT_EQ(s.unit(), ScheduleUnit::epoch);
  s.observe(10.0);  // best 10
  EXPECT_EQ(s.lr(0), 1.0f);
  s.observe(10.0);  // bad 1
  s.observe(10.0);  // bad 2 (= patience: not yet)
  EXPECT_EQ(s.current_lr(), 1.0);
  s.observe(10.0);  // bad 3 > patience: reduce, counter reset
  EXPECT_EQ(s.current_lr(), 0.5);
  EXPECT_EQ(s.state().bad_epochs, 0u);
  s.observe(9.0);  // improvement
  s.observe(9.5);
  s.observe(9.5);
  EXPECT_EQ(s.current_lr(), 0.5);
  s.observe(9.5);
  EXPECT_EQ(s.current_lr(), 0.25);
  EXPECT_EQ(s.state().epochs, 8u);
  EXPECT_EQ(s.state().best, 9.0);
  // lr(t) is the current rate whatever t.
  EXPECT_EQ(s.lr(12345), 0.25f);
}

TEST(Schedules, PlateauCooldown) {
  ReduceLrOnPlateau s(1.0, {.factor = 0.1, .patience = 0, .cooldown = 2});
  s.observe(5.0);  // best
  s.observe(5.0);  // bad 1 > 0: reduce to 0.1, cooldown 2
  EXPECT_DOUBLE_EQ(s.current_lr(), 0.1);
  s.observe(5.0);  // cooldown 2 -> 1, bad reset
  s.observe(5.0);  // cooldown 1 -> 0, bad reset
  EXPECT_DOUBLE_EQ(s.current_lr(), 0.1);
  s.observe(5.0);  // bad 1 > 0: reduce
  EXPECT_DOUBLE_EQ(s.current_lr(), 0.01);
}

TEST(Schedules, PlateauThresholdModesMaxModeAndFloor) {
  // rel: in min mode, 9.9995 is not below 10·(1 − 1e-4) = 9.999.
  ReduceLrOnPlateau rel(1.0, {.factor = 0.5, .patience = 0});
  rel.observe(10.0);
  rel.observe(9.9995);
  EXPECT_EQ(rel.current_lr(), 0.5);
  EXPECT_EQ(rel.state().best, 10.0);
  // abs: an improvement must beat best − threshold.
  ReduceLrOnPlateau abs(1.0, {.factor = 0.5, .patience = 0, .threshold = 0.1,
                              .threshold_mode = ThresholdMode::abs});
  abs.observe(1.0);
  abs.observe(0.85);  // better than 0.9
  EXPECT_EQ(abs.current_lr(), 1.0);
  abs.observe(0.8);  // not better than 0.75
  EXPECT_EQ(abs.current_lr(), 0.5);
  // max mode (an accuracy), floor at min_lr, reductions below eps skipped.
  ReduceLrOnPlateau mx(0.1, {.mode = PlateauMode::max, .factor = 0.5, .patience = 0,
                             .min_lr = 0.03});
  mx.observe(0.5);
  mx.observe(0.6);  // better
  EXPECT_DOUBLE_EQ(mx.current_lr(), 0.1);
  mx.observe(0.6);
  EXPECT_DOUBLE_EQ(mx.current_lr(), 0.05);
  mx.observe(0.55);
  EXPECT_DOUBLE_EQ(mx.current_lr(), 0.03);
  mx.observe(0.55);
  EXPECT_DOUBLE_EQ(mx.current_lr(), 0.03);
  // NaN is never an improvement.
  ReduceLrOnPlateau nan(1.0, {.factor = 0.5, .patience = 0});
  nan.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(nan.current_lr(), 0.5);
}

TEST(Schedules, PlateauStateRoundTrip) {
  ReduceLrOnPlateau a(1.0, {.factor = 0.5, .patience = 1, .cooldown = 1});
  for (double m : {3.0, 2.0, 2.5, 2.5}) a.observe(m);
  ReduceLrOnPlateau b(1.0, {.factor = 0.5, .patience = 1, .cooldown = 1});
  b.load_state(a.state());
  for (double m : {2.5, 2.5, 1.0, 1.5, 1.5, 1.5}) {
    a.observe(m);
    b.observe(m);
    EXPECT_EQ(a.current_lr(), b.current_lr());
  }
  expect_throw_with("factor", [] { ReduceLrOnPlateau(1.0, {.factor = 1.0}); },
                    {"ReduceLrOnPlateau", "factor is 1", "[0, 1)"});
}

TEST(Schedules, StatelessSchedulesIgnoreObserve) {
  StepLr s(0.1, 1, 0.5);
  LrSchedule& any = s;
  any.observe(1.0);
  EXPECT_FLOAT_EQ(any.lr(1), 0.05f);
}

}  // namespace
}  // namespace simdnn
