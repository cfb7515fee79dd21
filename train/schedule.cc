#include <simdnn/train/schedule.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include <simdnn/train/check.h>

namespace simdnn {

using internal::fail;
using internal::number;
using internal::require_non_negative;
using internal::require_positive;

namespace {

void require_count(const char* op, const char* arg, std::size_t v) {
  if (v == 0) fail(op, arg, 0.0, "a count >= 1");
}

}  // namespace

// ---- constant, step, exponential ------------------------------------------------------------

ConstantLr::ConstantLr(double lr) : lr_(lr) { require_non_negative("ConstantLr", "lr", lr); }

float ConstantLr::lr(std::size_t) const { return static_cast<float>(lr_); }

StepLr::StepLr(double base_lr, std::size_t step_size, double gamma, ScheduleUnit unit)
    : base_lr_(base_lr), step_size_(step_size), gamma_(gamma), unit_(unit) {
  require_non_negative("StepLr", "base_lr", base_lr);
  require_count("StepLr", "step_size", step_size);
  require_positive("StepLr", "gamma", gamma);
}

float StepLr::lr(std::size_t t) const {
  return static_cast<float>(base_lr_ *
                            std::pow(gamma_, static_cast<double>(t / step_size_)));
}

ExponentialLr::ExponentialLr(double base_lr, double gamma, ScheduleUnit unit)
    : base_lr_(base_lr), gamma_(gamma), unit_(unit) {
  require_non_negative("ExponentialLr", "base_lr", base_lr);
  require_positive("ExponentialLr", "gamma", gamma);
}

float ExponentialLr::lr(std::size_t t) const {
  return static_cast<float>(base_lr_ * std::pow(gamma_, static_cast<double>(t)));
}

// ---- cosine with warmup -----------------------------------------------------------------------

CosineWarmupLr::CosineWarmupLr(double base_lr, std::size_t warmup_steps, std::size_t total_steps,
                               double min_lr)
    : base_lr_(base_lr), warmup_steps_(warmup_steps), total_steps_(total_steps), min_lr_(min_lr) {
  constexpr const char* op = "CosineWarmupLr";
  require_non_negative(op, "base_lr", base_lr);
  require_count(op, "total_steps", total_steps);
  if (warmup_steps > total_steps) {
    throw std::invalid_argument(std::string(op) + ": warmup_steps is " +
                                std::to_string(warmup_steps) + ", expected at most total_steps (" +
                                std::to_string(total_steps) + ")");
  }
  require_non_negative(op, "min_lr", min_lr);
  if (min_lr > base_lr) {
    throw std::invalid_argument(std::string(op) + ": min_lr is " + number(min_lr) +
                                ", expected at most base_lr (" + number(base_lr) + ")");
  }
}

float CosineWarmupLr::lr(std::size_t t) const {
  if (t < warmup_steps_) {
    return static_cast<float>(base_lr_ * static_cast<double>(t + 1) /
                              static_cast<double>(warmup_steps_));
  }
  if (t >= total_steps_) return static_cast<float>(min_lr_);
  const double progress = static_cast<double>(t - warmup_steps_) /
                          static_cast<double>(total_steps_ - warmup_steps_);
  return static_cast<float>(min_lr_ + (base_lr_ - min_lr_) * 0.5 *
                                          (1.0 + std::cos(std::numbers::pi * progress)));
}

// ---- cyclic -----------------------------------------------------------------------------------

CyclicLr::CyclicLr(const CyclicLrOptions& options) : options_(options) {
  constexpr const char* op = "CyclicLr";
  require_non_negative(op, "base_lr", options.base_lr);
  require_non_negative(op, "max_lr", options.max_lr);
  if (options.max_lr < options.base_lr) {
    throw std::invalid_argument(std::string(op) + ": max_lr is " + number(options.max_lr) +
                                ", expected at least base_lr (" + number(options.base_lr) + ")");
  }
  require_count(op, "step_size_up", options.step_size_up);
  if (options_.step_size_down == 0) options_.step_size_down = options_.step_size_up;
  if (options.mode != CyclicMode::triangular && options.mode != CyclicMode::triangular2 &&
      options.mode != CyclicMode::exp_range) {
    throw std::invalid_argument(std::string(op) + ": mode is " +
                                std::to_string(static_cast<int>(options.mode)) +
                                ", expected triangular, triangular2 or exp_range");
  }
  if (!(options.gamma > 0.0 && options.gamma <= 1.0)) {
    fail(op, "gamma", options.gamma, "a value in (0, 1]");
  }
}

float CyclicLr::lr(std::size_t t) const {
  const std::size_t up = options_.step_size_up;
  const std::size_t down = options_.step_size_down;
  const std::size_t period = up + down;
  const std::size_t cycle = t / period;  // 0-based
  const std::size_t i = t % period;
  const double height = i <= up ? static_cast<double>(i) / static_cast<double>(up)
                                : static_cast<double>(period - i) / static_cast<double>(down);
  double scale = 1.0;
  switch (options_.mode) {
    case CyclicMode::triangular:
      break;
    case CyclicMode::triangular2:
      scale = std::ldexp(1.0, -static_cast<int>(cycle < 2000 ? cycle : 2000));
      break;
    case CyclicMode::exp_range:
      scale = std::pow(options_.gamma, static_cast<double>(t));
      break;
  }
  return static_cast<float>(options_.base_lr +
                            (options_.max_lr - options_.base_lr) * height * scale);
}

// ---- reduce on plateau ------------------------------------------------------------------------

ReduceLrOnPlateau::ReduceLrOnPlateau(double initial_lr, const PlateauOptions& options)
    : options_(options), lr_(initial_lr) {
  constexpr const char* op = "ReduceLrOnPlateau";
  require_non_negative(op, "initial_lr", initial_lr);
  if (options.mode != PlateauMode::min && options.mode != PlateauMode::max) {
    throw std::invalid_argument(std::string(op) + ": mode is " +
                                std::to_string(static_cast<int>(options.mode)) +
                                ", expected min or max");
  }
  if (options.threshold_mode != ThresholdMode::rel && options.threshold_mode != ThresholdMode::abs) {
    throw std::invalid_argument(std::string(op) + ": threshold_mode is " +
                                std::to_string(static_cast<int>(options.threshold_mode)) +
                                ", expected rel or abs");
  }
  internal::require_unit_interval_open(op, "factor", options.factor);
  require_non_negative(op, "threshold", options.threshold);
  require_non_negative(op, "min_lr", options.min_lr);
  require_non_negative(op, "eps", options.eps);
  best_ = options.mode == PlateauMode::min ? std::numeric_limits<double>::infinity()
                                           : -std::numeric_limits<double>::infinity();
}

float ReduceLrOnPlateau::lr(std::size_t) const { return static_cast<float>(lr_); }

bool ReduceLrOnPlateau::better(double a) const {
  const double th = options_.threshold;
  const bool rel = options_.threshold_mode == ThresholdMode::rel;
  if (options_.mode == PlateauMode::min) {
    return rel ? a < best_ * (1.0 - th) : a < best_ - th;
  }
  return rel ? a > best_ * (1.0 + th) : a > best_ + th;
}

void ReduceLrOnPlateau::observe(double metric) {
  ++epochs_;
  if (better(metric)) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > options_.patience) {
    const double reduced = std::fmax(lr_ * options_.factor, options_.min_lr);
    if (lr_ - reduced > options_.eps) lr_ = reduced;
    cooldown_counter_ = options_.cooldown;
    bad_epochs_ = 0;
  }
}

ReduceLrOnPlateau::State ReduceLrOnPlateau::state() const {
  return {lr_, best_, bad_epochs_, cooldown_counter_, epochs_};
}

void ReduceLrOnPlateau::load_state(const State& s) {
  require_non_negative("ReduceLrOnPlateau::load_state", "lr", s.lr);
  lr_ = s.lr;
  best_ = s.best;
  bad_epochs_ = s.bad_epochs;
  cooldown_counter_ = s.cooldown_counter;
  epochs_ = s.epochs;
}

}  // namespace simdnn
