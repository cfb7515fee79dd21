// Optimizers: SGD, Momentum, Nesterov, RMSprop, Adam, AdamW and Adagrad, with PyTorch's
// (torch.optim) hyperparameters, defaults and update formulas (core/optimizer_update.h gives
// each formula). An optimizer updates a fixed list of Parameters (usually all_parameters(model))
// from their gradients:
//
//   zero_grad(model); forward; loss; backward;   // gradients accumulate in Parameter::grad
//   [regularizer.apply(params); clip_grad_norm(params, c);]
//   optimizer.step();                            // reads grad, updates value and the state
//
// step() does not clear the gradients. weight_decay, where an optimizer has it, applies to every
// parameter it was given (as in PyTorch, which has no per-parameter flag without parameter
// groups); to decay only the weights use an L2Regularizer (train/regularizer.h), which respects
// Parameter::regularize — for SGD the two are the same update.
//
// State: each optimizer keeps, per parameter, the tensors PyTorch keeps in its state dict, named
// "<parameter name>/<slot>": "momentum_buffer" (SGD with momentum, RMSprop with momentum),
// "square_avg" and "grad_avg" (RMSprop, the latter when centered), "exp_avg", "exp_avg_sq" and
// "max_exp_avg_sq" (Adam/AdamW, the last with amsgrad), "sum" (Adagrad); plus one step counter.
// They are allocated (zero, or Adagrad's initial_accumulator_value) when the optimizer is
// constructed, so step() never allocates. state() exposes them for saving; load_state() copies a
// saved state back. Parameter names must therefore be unique (std::invalid_argument otherwise).
//
// Threads: each tensor's update is cut into chunks fixed by its size (core/optimizer_update.h),
// so results are bit-identical at any thread count. ISA: the kernels of active_isa(); results
// differ between ISAs by rounding only (fused multiply-add or not).
//
// Errors: hyperparameters out of range throw std::invalid_argument naming the optimizer, the
// hyperparameter and its value ("Adam: beta1 is 1, expected a value in [0, 1)"); a parameter with
// a null value or grad, or a grad (or value) whose shape changed, throws ShapeError naming it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdnn/core/optimizer_update.h>
#include <simdnn/core/tensor.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

// An optimizer's state: views of its own tensors, and its step counter.
struct OptimizerState {
  std::vector<StateTensor> tensors;
  std::uint64_t step = 0;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // "sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw" or "adagrad".
  virtual const char* name() const = 0;

  // One update of every parameter from its current gradient; then step_count() increases by 1.
  void step();

  double learning_rate() const { return lr_; }
  // Throws std::invalid_argument unless lr is finite and >= 0. Takes effect at the next step().
  void set_learning_rate(double lr);

  // Steps taken (or loaded).
  std::uint64_t step_count() const { return step_; }
  void set_step_count(std::uint64_t step) { step_ = step; }

  const std::vector<Parameter>& parameters() const { return params_; }

  // Views of every state tensor ("dense1/weight/exp_avg"; parameters in order, and for each its
  // slots in PyTorch's order: square_avg, momentum_buffer, grad_avg for RMSprop; exp_avg,
  // exp_avg_sq, max_exp_avg_sq for Adam) and the step count. Writing into the tensors changes the optimizer's
  // state (read_tensor_file can fill them directly; then set_step_count()).
  OptimizerState state();
  // Copies `saved` (e.g. another optimizer's state()) into this optimizer: the same names, in
  // any order, with the same shapes. Checks everything first and throws ShapeError or
  // std::invalid_argument (naming the tensor) without changing anything on a mismatch.
  void load_state(const OptimizerState& saved);

 protected:
  // Checks the parameters (non-null, grad shaped as value, unique names) and lr; `display_name`
  // ("Adam") names the optimizer in error messages.
  Optimizer(std::vector<Parameter> params, double lr, const char* display_name);

  // Adds a state tensor `slot` to every parameter, filled with `init`. Constructors only.
  void add_slot(const char* slot, float init = 0.0f);
  // The data of slot `s` (in add_slot order) of parameter `p`.
  float* slot(std::size_t p, std::size_t s);

  // Updates parameter `p` (value, grad and slots of the same size, checked) as step t (1-based).
  virtual void update(std::size_t p, std::uint64_t t) = 0;

 private:
  std::string who_;
  std::vector<Parameter> params_;
  double lr_;
  std::uint64_t step_ = 0;
  std::vector<std::string> slot_names_;
  std::vector<Tensor> slots_;  // slot-major: slots_[s · parameter count + p]
};

// ---- SGD family -------------------------------------------------------------------------------

// Hyperparameters: SgdOptions, RmspropOptions, AdamOptions and AdagradOptions are the structs of
// core/optimizer_update.h, the one description of each optimizer from here down to the kernels.
// MomentumOptions, NesterovOptions and AdamWOptions below are presets: the same fields with
// other defaults (or fixed flags), turned into SgdOptions or AdamOptions by the constructors.

// torch.optim.SGD.
class Sgd : public Optimizer {
 public:
  explicit Sgd(std::vector<Parameter> params, const SgdOptions& options = {});
  const char* name() const override { return name_; }
  const SgdOptions& options() const { return options_; }

 protected:
  Sgd(std::vector<Parameter> params, const SgdOptions& options, const char* name);
  void update(std::size_t p, std::uint64_t t) override;

 private:
  SgdOptions options_;
  const char* name_;
};

// SGD with (heavy-ball) momentum: buf = momentum·buf + (1 − dampening)·g, w −= lr·buf.
// A preset of SgdOptions (nesterov = false).
struct MomentumOptions {
  double lr = 1e-2;
  double momentum = 0.9;  // > 0
  double dampening = 0.0;
  double weight_decay = 0.0;
};

class Momentum final : public Sgd {
 public:
  explicit Momentum(std::vector<Parameter> params, const MomentumOptions& options = {});
};

// SGD with Nesterov momentum (PyTorch's formulation): buf = momentum·buf + g,
// w −= lr·(g + momentum·buf). A preset of SgdOptions (nesterov = true, dampening = 0).
struct NesterovOptions {
  double lr = 1e-2;
  double momentum = 0.9;  // > 0
  double weight_decay = 0.0;
};

class Nesterov final : public Sgd {
 public:
  explicit Nesterov(std::vector<Parameter> params, const NesterovOptions& options = {});
};

// ---- RMSprop ----------------------------------------------------------------------------------

// torch.optim.RMSprop.
class Rmsprop final : public Optimizer {
 public:
  explicit Rmsprop(std::vector<Parameter> params, const RmspropOptions& options = {});
  const char* name() const override { return "rmsprop"; }
  const RmspropOptions& options() const { return options_; }

 protected:
  void update(std::size_t p, std::uint64_t t) override;

 private:
  RmspropOptions options_;
  std::size_t grad_avg_slot_ = 0, momentum_slot_ = 0;
};

// ---- Adam, AdamW ------------------------------------------------------------------------------

// torch.optim.Adam: weight_decay is added to the gradient (L2 form), unless
// decoupled_weight_decay (then it is AdamW).

// torch.optim.AdamW: decoupled decay w −= lr·weight_decay·w before the Adam step. A preset of
// AdamOptions (decoupled_weight_decay = true, weight_decay default 1e-2).
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Parameter> params, const AdamOptions& options = {});
  const char* name() const override { return options_.decoupled_weight_decay ? "adamw" : "adam"; }
  const AdamOptions& options() const { return options_; }

 protected:
  void update(std::size_t p, std::uint64_t t) override;

 private:
  AdamOptions options_;
};

class AdamW final : public Adam {
 public:
  explicit AdamW(std::vector<Parameter> params, const AdamWOptions& options = {});
};

// ---- Adagrad ----------------------------------------------------------------------------------

// torch.optim.Adagrad.
class Adagrad final : public Optimizer {
 public:
  explicit Adagrad(std::vector<Parameter> params, const AdagradOptions& options = {});
  const char* name() const override { return "adagrad"; }
  const AdagradOptions& options() const { return options_; }

 protected:
  void update(std::size_t p, std::uint64_t t) override;

 private:
  AdagradOptions options_;
};

// ---- By name --------------------------------------------------------------------------------

// The names make_optimizer takes, as Optimizer::name() reports them: sgd, momentum, nesterov,
// rmsprop, adam, adamw, adagrad.
const std::vector<std::string>& optimizer_names();

// The optimizer called `name` over `params`, with PyTorch's default hyperparameters except the
// learning rate `lr` when given (command lines and specs that choose an optimizer by name).
// Throws std::invalid_argument naming the unknown name and the known ones, or as the
// optimizer's constructor does.
std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<Parameter> params,
                                          std::optional<double> lr = std::nullopt);

}  // namespace simdnn
