// Learning-rate schedules. A schedule only computes the rate; the training loop applies it with
// Optimizer::set_learning_rate() (train/optimizer.h).
//
// Each schedule counts either optimizer steps (one batch) or epochs, as unit() says; lr(t) is the
// rate for the t-th one, t = 0, 1, ... (lr(0) is the rate of the first step / epoch). The
// stateless ones are pure functions of t, so resuming a run needs only t:
//
//   ConstantLr       lr                                                    unit: step (any)
//   StepLr           base·gamma^floor(t / step_size)                       unit: epoch (as
//                    PyTorch StepLR; may be set to step)
//   ExponentialLr    base·gamma^t                                          unit: epoch (as
//                    PyTorch ExponentialLR; may be set to step)
//   CosineWarmupLr   t < W: base·(t + 1)/W (linear warmup, reaching base at t = W − 1; no step
//                    runs at rate 0);  W ≤ t ≤ T: min + (base − min)·(1 + cos(π·(t − W)/(T − W)))/2;
//                    t ≥ T: min                                            unit: step
//   CyclicLr         Smith 2017 / PyTorch CyclicLR: with T = up + down, i = t mod T,
//                    h = i/up on the way up (i ≤ up), (T − i)/down on the way down;
//                    lr = base + (max − base)·h·s with s = 1 (triangular),
//                    1/2^floor(t/T) (triangular2: the amplitude halves every cycle), or
//                    gamma^t (exp_range)                                   unit: step
//   ReduceLrOnPlateau  stateful, PyTorch ReduceLROnPlateau: observe(metric) once per epoch;
//                    lr(t) returns the current rate whatever t is          unit: epoch
//
// observe(metric) is part of every schedule so that a training loop can feed it each epoch's
// validation metric without knowing which schedule it has; the stateless ones ignore it. The
// metric must be the kind ReduceLrOnPlateau's mode expects (a loss in min mode, an accuracy in
// max mode): Trainer picks it from TrainerOptions::schedule_monitor, or from the mode when that
// is unset, and refuses a monitor that contradicts the mode (train/trainer.h).
// Bad hyperparameters throw std::invalid_argument naming the parameter and its value.
#pragma once

#include <cstddef>

namespace simdnn {

enum class ScheduleUnit {
  step,   // t counts optimizer steps (batches)
  epoch,  // t counts epochs
};

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;

  // "constant", "step", "exponential", "cosine_warmup", "cyclic", "reduce_on_plateau".
  virtual const char* name() const = 0;
  // What t counts in lr(t).
  virtual ScheduleUnit unit() const = 0;
  // The learning rate for step or epoch t (0-based).
  virtual float lr(std::size_t t) const = 0;
  // An end-of-epoch metric (e.g. the validation loss). Ignored except by ReduceLrOnPlateau.
  virtual void observe(double metric) { (void)metric; }
};

class ConstantLr final : public LrSchedule {
 public:
  explicit ConstantLr(double lr);
  const char* name() const override { return "constant"; }
  ScheduleUnit unit() const override { return ScheduleUnit::step; }
  float lr(std::size_t t) const override;

 private:
  double lr_;
};

// base_lr·gamma^floor(t / step_size); step_size ≥ 1, gamma > 0.
class StepLr final : public LrSchedule {
 public:
  StepLr(double base_lr, std::size_t step_size, double gamma,
         ScheduleUnit unit = ScheduleUnit::epoch);
  const char* name() const override { return "step"; }
  ScheduleUnit unit() const override { return unit_; }
  float lr(std::size_t t) const override;

 private:
  double base_lr_;
  std::size_t step_size_;
  double gamma_;
  ScheduleUnit unit_;
};

// base_lr·gamma^t; gamma > 0.
class ExponentialLr final : public LrSchedule {
 public:
  ExponentialLr(double base_lr, double gamma, ScheduleUnit unit = ScheduleUnit::epoch);
  const char* name() const override { return "exponential"; }
  ScheduleUnit unit() const override { return unit_; }
  float lr(std::size_t t) const override;

 private:
  double base_lr_;
  double gamma_;
  ScheduleUnit unit_;
};

// Linear warmup over warmup_steps, then a cosine from base_lr down to min_lr at total_steps
// (warmup_steps ≤ total_steps, total_steps ≥ 1, 0 ≤ min_lr ≤ base_lr).
class CosineWarmupLr final : public LrSchedule {
 public:
  CosineWarmupLr(double base_lr, std::size_t warmup_steps, std::size_t total_steps,
                 double min_lr = 0.0);
  const char* name() const override { return "cosine_warmup"; }
  ScheduleUnit unit() const override { return ScheduleUnit::step; }
  float lr(std::size_t t) const override;

 private:
  double base_lr_;
  std::size_t warmup_steps_;
  std::size_t total_steps_;
  double min_lr_;
};

enum class CyclicMode { triangular, triangular2, exp_range };

struct CyclicLrOptions {
  double base_lr = 1e-3;
  double max_lr = 6e-3;
  std::size_t step_size_up = 2000;
  std::size_t step_size_down = 0;  // 0: the same as step_size_up
  CyclicMode mode = CyclicMode::triangular;
  double gamma = 1.0;  // exp_range only: the amplitude is scaled by gamma^t
};

// The cyclical learning rate of Smith 2017 (PyTorch CyclicLR without momentum cycling);
// 0 ≤ base_lr ≤ max_lr, step_size_up ≥ 1, 0 < gamma ≤ 1.
class CyclicLr final : public LrSchedule {
 public:
  explicit CyclicLr(const CyclicLrOptions& options);
  const char* name() const override { return "cyclic"; }
  ScheduleUnit unit() const override { return ScheduleUnit::step; }
  float lr(std::size_t t) const override;
  const CyclicLrOptions& options() const { return options_; }

 private:
  CyclicLrOptions options_;
};

enum class PlateauMode {
  min,  // the metric should decrease (a loss)
  max,  // the metric should increase (an accuracy)
};
enum class ThresholdMode {
  rel,  // better: metric < best·(1 − threshold) (min) / > best·(1 + threshold) (max)
  abs,  // better: metric < best − threshold (min) / > best + threshold (max)
};

struct PlateauOptions {
  PlateauMode mode = PlateauMode::min;
  double factor = 0.1;      // new lr = max(lr·factor, min_lr); 0 ≤ factor < 1
  std::size_t patience = 10;  // epochs without improvement tolerated before reducing
  double threshold = 1e-4;  // what counts as an improvement (≥ 0)
  ThresholdMode threshold_mode = ThresholdMode::rel;
  std::size_t cooldown = 0;  // epochs after a reduction during which bad epochs are not counted
  double min_lr = 0.0;
  double eps = 1e-8;  // a reduction smaller than this is skipped
};

// PyTorch's ReduceLROnPlateau. Each observe(metric):
//   if metric is better than best (per mode and threshold): best = metric, bad_epochs = 0
//   else bad_epochs += 1
//   if cooldown_counter > 0: cooldown_counter −= 1, bad_epochs = 0
//   if bad_epochs > patience: lr = max(lr·factor, min_lr) (unless that changes it by ≤ eps),
//                             cooldown_counter = cooldown, bad_epochs = 0
// A NaN metric is never better. lr(t) is the current rate, whatever t.
class ReduceLrOnPlateau final : public LrSchedule {
 public:
  ReduceLrOnPlateau(double initial_lr, const PlateauOptions& options = {});
  const char* name() const override { return "reduce_on_plateau"; }
  ScheduleUnit unit() const override { return ScheduleUnit::epoch; }
  float lr(std::size_t t) const override;
  void observe(double metric) override;

  double current_lr() const { return lr_; }
  const PlateauOptions& options() const { return options_; }

  // Everything observe() changes, to save and resume.
  struct State {
    double lr;
    double best;  // +inf (min) or −inf (max) before the first observation
    std::size_t bad_epochs;
    std::size_t cooldown_counter;
    std::size_t epochs;  // observations so far
  };
  State state() const;
  // Throws std::invalid_argument if state.lr is negative or NaN.
  void load_state(const State& state);

 private:
  bool better(double metric) const;

  PlateauOptions options_;
  double lr_;
  double best_;
  std::size_t bad_epochs_ = 0;
  std::size_t cooldown_counter_ = 0;
  std::size_t epochs_ = 0;
};

}  // namespace simdnn
