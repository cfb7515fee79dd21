#include <simdnn/train/optimizer.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include <simdnn/core/error.h>
#include <simdnn/core/optimizer_update.h>
#include <simdnn/train/check.h>

namespace simdnn {

using internal::require_non_negative;
using internal::require_unit_interval;
using internal::require_unit_interval_open;

// ---- Optimizer --------------------------------------------------------------------------------

Optimizer::Optimizer(std::vector<Parameter> params, double lr, const char* display_name)
    : who_(display_name), params_(std::move(params)), lr_(lr) {
  require_non_negative(who_, "lr", lr);
  internal::check_parameters(who_, params_);
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto [it, fresh] = seen.emplace(params_[i].name, i);
    if (!fresh) {
      throw std::invalid_argument(who_ + ": parameter " + std::to_string(i) + " is named \"" +
                                  params_[i].name + "\" like parameter " +
                                  std::to_string(it->second) +
                                  ", expected unique names (they name the optimizer state; use "
                                  "all_parameters())");
    }
  }
}

void Optimizer::set_learning_rate(double lr) {
  require_non_negative(who_ + " set_learning_rate", "lr", lr);
  lr_ = lr;
}

void Optimizer::add_slot(const char* slot, float init) {
  slot_names_.emplace_back(slot);
  for (const Parameter& p : params_) {
    Tensor t(p.value->rows(), p.value->cols());
    if (init != 0.0f) std::fill(t.data(), t.data() + t.size(), init);
    slots_.push_back(std::move(t));
  }
}

float* Optimizer::slot(std::size_t p, std::size_t s) {
  return slots_[s * params_.size() + p].data();
}

void Optimizer::step() {
  const std::uint64_t t = step_ + 1;
  // Shapes first, so that a bad parameter throws before any parameter was updated.
  for (std::size_t p = 0; p < params_.size(); ++p) {
    const Parameter& param = params_[p];
    bool ok = param.grad->rows() == param.value->rows() &&
              param.grad->cols() == param.value->cols();
    for (std::size_t s = 0; ok && s < slot_names_.size(); ++s) {
      const Tensor& st = slots_[s * params_.size() + p];
      ok = st.rows() == param.value->rows() && st.cols() == param.value->cols();
    }
    if (!ok) {
      const Tensor& ref = slot_names_.empty() ? *param.value : slots_[p];
      throw ShapeError(who_ + " step: parameter \"" + param.name + "\" has value " +
                       shape_string(param.value->rows(), param.value->cols()) + " and grad " +
                       shape_string(param.grad->rows(), param.grad->cols()) + ", expected both " +
                       shape_string(ref.rows(), ref.cols()) +
                       " (the shape it had when the optimizer was built)");
    }
  }
  for (std::size_t p = 0; p < params_.size(); ++p) update(p, t);
  step_ = t;
}

OptimizerState Optimizer::state() {
  OptimizerState out;
  out.step = step_;
  out.tensors.reserve(slots_.size());
  for (std::size_t p = 0; p < params_.size(); ++p) {
    for (std::size_t s = 0; s < slot_names_.size(); ++s) {
      out.tensors.push_back(
          {params_[p].name + "/" + slot_names_[s], &slots_[s * params_.size() + p]});
    }
  }
  return out;
}

void Optimizer::load_state(const OptimizerState& saved) {
  const std::string op = who_ + " load_state";
  OptimizerState mine = state();
  std::unordered_map<std::string, const Tensor*> given;
  for (const StateTensor& st : saved.tensors) {
    if (st.value == nullptr) {
      throw std::invalid_argument(op + ": tensor \"" + st.name + "\" is null");
    }
    if (!given.emplace(st.name, st.value).second) {
      throw std::invalid_argument(op + ": tensor \"" + st.name + "\" appears twice");
    }
  }
  for (const StateTensor& st : mine.tensors) {
    const auto it = given.find(st.name);
    if (it == given.end()) {
      throw std::invalid_argument(op + ": tensor \"" + st.name +
                                  "\" is missing from the saved state");
    }
    const Tensor& src = *it->second;
    if (src.rows() != st.value->rows() || src.cols() != st.value->cols()) {
      throw ShapeError(op + ": tensor \"" + st.name + "\" is " +
                       shape_string(src.rows(), src.cols()) + ", expected " +
                       shape_string(st.value->rows(), st.value->cols()));
    }
  }
  if (given.size() != mine.tensors.size()) {
    std::unordered_map<std::string, bool> known;
    for (const StateTensor& st : mine.tensors) known.emplace(st.name, true);
    for (const StateTensor& st : saved.tensors) {
      if (known.find(st.name) == known.end()) {
        throw std::invalid_argument(op + ": tensor \"" + st.name + "\" is not part of " + who_ +
                                    "'s state (" + std::to_string(mine.tensors.size()) +
                                    " tensors expected)");
      }
    }
  }
  for (const StateTensor& st : mine.tensors) {
    const Tensor& src = *given.at(st.name);
    if (src.size() != 0 && src.data() != st.value->data()) {
      std::memcpy(st.value->data(), src.data(), src.size() * sizeof(float));
    }
  }
  step_ = saved.step;
}

// ---- SGD family -------------------------------------------------------------------------------

namespace {

const char* display_name(const char* name) {
  const std::string n(name);
  return n == "momentum" ? "Momentum" : n == "nesterov" ? "Nesterov" : "SGD";
}

SgdOptions checked(const SgdOptions& o, const char* who) {
  require_non_negative(who, "lr", o.lr);
  require_non_negative(who, "momentum", o.momentum);
  require_unit_interval(who, "dampening", o.dampening);
  require_non_negative(who, "weight_decay", o.weight_decay);
  if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0)) {
    throw std::invalid_argument(std::string(who) + ": nesterov is true with momentum " +
                                internal::number(o.momentum) + " and dampening " +
                                internal::number(o.dampening) +
                                ", expected momentum > 0 and dampening = 0");
  }
  return o;
}

}  // namespace

Sgd::Sgd(std::vector<Parameter> params, const SgdOptions& options)
    : Sgd(std::move(params), options, "sgd") {}

Sgd::Sgd(std::vector<Parameter> params, const SgdOptions& options, const char* name)
    : Optimizer(std::move(params), checked(options, display_name(name)).lr, display_name(name)),
      options_(options),
      name_(name) {
  if (options_.momentum != 0.0) add_slot("momentum_buffer");
}

void Sgd::update(std::size_t p, std::uint64_t t) {
  const Parameter& param = parameters()[p];
  SgdOptions h = options_;
  h.lr = learning_rate();
  sgd_update(h, t == 1, param.value->data(), param.grad->data(),
             options_.momentum != 0.0 ? slot(p, 0) : nullptr, param.value->size());
}

namespace {

SgdOptions momentum_options(const MomentumOptions& o) {
  if (!(o.momentum > 0.0)) internal::fail("Momentum", "momentum", o.momentum, "a value > 0");
  return {.lr = o.lr,
          .momentum = o.momentum,
          .dampening = o.dampening,
          .weight_decay = o.weight_decay,
          .nesterov = false};
}

SgdOptions nesterov_options(const NesterovOptions& o) {
  if (!(o.momentum > 0.0)) internal::fail("Nesterov", "momentum", o.momentum, "a value > 0");
  return {.lr = o.lr,
          .momentum = o.momentum,
          .dampening = 0.0,
          .weight_decay = o.weight_decay,
          .nesterov = true};
}

}  // namespace

Momentum::Momentum(std::vector<Parameter> params, const MomentumOptions& options)
    : Sgd(std::move(params), momentum_options(options), "momentum") {}

Nesterov::Nesterov(std::vector<Parameter> params, const NesterovOptions& options)
    : Sgd(std::move(params), nesterov_options(options), "nesterov") {}

// ---- RMSprop ----------------------------------------------------------------------------------

namespace {

const RmspropOptions& checked(const RmspropOptions& o) {
  constexpr const char* who = "RMSprop";
  require_non_negative(who, "lr", o.lr);
  require_unit_interval_open(who, "alpha", o.alpha);
  require_non_negative(who, "eps", o.eps);
  require_non_negative(who, "weight_decay", o.weight_decay);
  require_non_negative(who, "momentum", o.momentum);
  return o;
}

}  // namespace

Rmsprop::Rmsprop(std::vector<Parameter> params, const RmspropOptions& options)
    : Optimizer(std::move(params), checked(options).lr, "RMSprop"), options_(options) {
  add_slot("square_avg");
  std::size_t next = 1;
  if (options_.momentum > 0.0) {
    add_slot("momentum_buffer");
    momentum_slot_ = next++;
  }
  if (options_.centered) {
    add_slot("grad_avg");
    grad_avg_slot_ = next++;
  }
}

void Rmsprop::update(std::size_t p, std::uint64_t) {
  const Parameter& param = parameters()[p];
  RmspropOptions h = options_;
  h.lr = learning_rate();
  rmsprop_update(h, param.value->data(), param.grad->data(), slot(p, 0),
                 options_.centered ? slot(p, grad_avg_slot_) : nullptr,
                 options_.momentum > 0.0 ? slot(p, momentum_slot_) : nullptr,
                 param.value->size());
}

// ---- Adam, AdamW ------------------------------------------------------------------------------

namespace {

const AdamOptions& checked(const AdamOptions& o, const char* who) {
  require_non_negative(who, "lr", o.lr);
  require_unit_interval_open(who, "beta1", o.beta1);
  require_unit_interval_open(who, "beta2", o.beta2);
  require_non_negative(who, "eps", o.eps);
  require_non_negative(who, "weight_decay", o.weight_decay);
  return o;
}

AdamOptions adam_options(const AdamWOptions& o) {
  return {.lr = o.lr,
          .beta1 = o.beta1,
          .beta2 = o.beta2,
          .eps = o.eps,
          .weight_decay = o.weight_decay,
          .amsgrad = o.amsgrad,
          .decoupled_weight_decay = true};
}

}  // namespace

Adam::Adam(std::vector<Parameter> params, const AdamOptions& options)
    : Optimizer(std::move(params), checked(options, options.decoupled_weight_decay ? "AdamW" : "Adam").lr,
                options.decoupled_weight_decay ? "AdamW" : "Adam"),
      options_(options) {
  add_slot("exp_avg");
  add_slot("exp_avg_sq");
  if (options_.amsgrad) add_slot("max_exp_avg_sq");
}

void Adam::update(std::size_t p, std::uint64_t t) {
  const Parameter& param = parameters()[p];
  AdamOptions h = options_;
  h.lr = learning_rate();
  adam_update(h, t, param.value->data(), param.grad->data(), slot(p, 0), slot(p, 1),
              options_.amsgrad ? slot(p, 2) : nullptr, param.value->size());
}

AdamW::AdamW(std::vector<Parameter> params, const AdamWOptions& options)
    : Adam(std::move(params), adam_options(options)) {}

// ---- Adagrad ----------------------------------------------------------------------------------

namespace {

const AdagradOptions& checked(const AdagradOptions& o) {
  constexpr const char* who = "Adagrad";
  require_non_negative(who, "lr", o.lr);
  require_non_negative(who, "lr_decay", o.lr_decay);
  require_non_negative(who, "weight_decay", o.weight_decay);
  require_non_negative(who, "initial_accumulator_value", o.initial_accumulator_value);
  require_non_negative(who, "eps", o.eps);
  return o;
}

}  // namespace

Adagrad::Adagrad(std::vector<Parameter> params, const AdagradOptions& options)
    : Optimizer(std::move(params), checked(options).lr, "Adagrad"), options_(options) {
  add_slot("sum", static_cast<float>(options_.initial_accumulator_value));
}

void Adagrad::update(std::size_t p, std::uint64_t t) {
  const Parameter& param = parameters()[p];
  AdagradOptions h = options_;
  h.lr = learning_rate();
  adagrad_update(h, t, param.value->data(), param.grad->data(), slot(p, 0), param.value->size());
}

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {"sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "adagrad"};
  return names;
}

namespace {

template <class O, class Options>
std::unique_ptr<Optimizer> with_lr(std::vector<Parameter> params, Options options, std::optional<double> lr) {
  if (lr) options.lr = *lr;
  return std::make_unique<O>(std::move(params), options);
}

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<Parameter> p, std::optional<double> lr) {
  if (name == "sgd") return with_lr<Sgd>(std::move(p), SgdOptions{}, lr);
  if (name == "momentum") return with_lr<Momentum>(std::move(p), MomentumOptions{}, lr);
  if (name == "nesterov") return with_lr<Nesterov>(std::move(p), NesterovOptions{}, lr);
  if (name == "rmsprop") return with_lr<Rmsprop>(std::move(p), RmspropOptions{}, lr);
  if (name == "adam") return with_lr<Adam>(std::move(p), AdamOptions{}, lr);
  if (name == "adamw") return with_lr<AdamW>(std::move(p), AdamWOptions{}, lr);
  if (name == "adagrad") return with_lr<Adagrad>(std::move(p), AdagradOptions{}, lr);
  std::string known;
  for (const std::string& n : optimizer_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("make_optimizer: unknown optimizer \"" + std::string(name) + "\", expected one of " + known);
}

}  // namespace simdnn
