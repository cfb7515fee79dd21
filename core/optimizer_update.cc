// Dispatch, argument checks, step-dependent coefficients and deterministic chunking for the
// optimizer update kernels. Compiled for the baseline ISA: the per-ISA code is reached only
// through the tables of optimizer_kernels().
#include <simdnn/core/optimizer_update.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include <simdnn/core/denormals.h>
#include <simdnn/core/error.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/optimizer_kernels.h>
#include <simdnn/core/kernels/dispatch.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/threading.h>

namespace simdnn {
namespace internal {

const OptimizerKernels& optimizer_kernels(Isa isa) {
  return kernel_table<OptimizerKernels>("optimizer_kernels", isa, []<class Arch>() { return make_optimizer_kernels<Arch>(); });
}

}  // namespace internal

namespace {

// Every public function reads this once, at its start, and passes the table to its tiles: a
// concurrent set_isa() affects only later calls, never the rest of a running one.
const internal::OptimizerKernels& kernels() { return internal::optimizer_kernels(active_isa()); }

void require_data(const char* op, const char* arg, const void* p, std::size_t n) {
  if (p == nullptr && n != 0) {
    throw ShapeError(std::string(op) + ": " + arg + " is null, expected " + std::to_string(n) +
                     " floats");
  }
}

void require_step(const char* op, std::uint64_t step) {
  if (step == 0) {
    throw std::invalid_argument(std::string(op) +
                                ": step is 0, expected the 1-based number of this step (>= 1)");
  }
}

// p + offset, or null for an unused (null) state array.
template <class T>
T* at(T* p, std::size_t offset) {
  return p == nullptr ? nullptr : p + offset;
}

// body(begin, length) over [0, n): in one call below the threshold, else per fixed chunk.
template <class Body>
void for_chunks(std::size_t n, const Body& body) {
  if (n < kOptimizerParallelThreshold) {
    if (n != 0) body(std::size_t{0}, n);
    return;
  }
  internal::parallel_for_tiles((n + kOptimizerChunk - 1) / kOptimizerChunk, [&](std::size_t c) {
    const std::size_t begin = c * kOptimizerChunk;
    const std::size_t len = n - begin < kOptimizerChunk ? n - begin : kOptimizerChunk;
    body(begin, len);
  });
}

}  // namespace

void sgd_update(const SgdOptions& h, bool first_step, float* w, const float* g,
                float* momentum_buffer, std::size_t n) {
  constexpr const char* op = "sgd_update";
  require_data(op, "w", w, n);
  require_data(op, "g", g, n);
  const bool has_momentum = h.momentum != 0.0;
  if (has_momentum) require_data(op, "momentum_buffer", momentum_buffer, n);
  const internal::SgdCoefficients c{
      .lr = static_cast<float>(h.lr),
      .weight_decay = static_cast<float>(h.weight_decay),
      .momentum = static_cast<float>(h.momentum),
      .dampening_keep = static_cast<float>(1.0 - h.dampening),
      .has_weight_decay = h.weight_decay != 0.0,
      .has_momentum = has_momentum,
      .nesterov = has_momentum && h.nesterov,
      .first = first_step,
  };
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n, [&](std::size_t b, std::size_t len) {
    k.sgd(c, w + b, g + b, at(momentum_buffer, b), len);
  });
}

void rmsprop_update(const RmspropOptions& h, float* w, const float* g, float* square_avg,
                    float* grad_avg, float* momentum_buffer, std::size_t n) {
  constexpr const char* op = "rmsprop_update";
  require_data(op, "w", w, n);
  require_data(op, "g", g, n);
  require_data(op, "square_avg", square_avg, n);
  if (h.centered) require_data(op, "grad_avg", grad_avg, n);
  const bool has_momentum = h.momentum > 0.0;
  if (has_momentum) require_data(op, "momentum_buffer", momentum_buffer, n);
  const internal::RmspropCoefficients c{
      .lr = static_cast<float>(h.lr),
      .alpha = static_cast<float>(h.alpha),
      .one_minus_alpha = static_cast<float>(1.0 - h.alpha),
      .eps = static_cast<float>(h.eps),
      .weight_decay = static_cast<float>(h.weight_decay),
      .momentum = static_cast<float>(h.momentum),
      .has_weight_decay = h.weight_decay != 0.0,
      .centered = h.centered,
      .has_momentum = has_momentum,
  };
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n, [&](std::size_t b, std::size_t len) {
    k.rmsprop(c, w + b, g + b, square_avg + b, at(grad_avg, b), at(momentum_buffer, b), len);
  });
}

void adam_update(const AdamOptions& h, std::uint64_t step, float* w, const float* g,
                 float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq, std::size_t n) {
  constexpr const char* op = "adam_update";
  require_step(op, step);
  require_data(op, "w", w, n);
  require_data(op, "g", g, n);
  require_data(op, "exp_avg", exp_avg, n);
  require_data(op, "exp_avg_sq", exp_avg_sq, n);
  if (h.amsgrad) require_data(op, "max_exp_avg_sq", max_exp_avg_sq, n);
  const double t = static_cast<double>(step);
  const double bias_correction1 = 1.0 - std::pow(h.beta1, t);
  const double bias_correction2 = 1.0 - std::pow(h.beta2, t);
  const bool decoupled = h.decoupled_weight_decay && h.weight_decay != 0.0;
  const internal::AdamCoefficients c{
      .step_size = static_cast<float>(h.lr / bias_correction1),
      .beta1 = static_cast<float>(h.beta1),
      .one_minus_beta1 = static_cast<float>(1.0 - h.beta1),
      .beta2 = static_cast<float>(h.beta2),
      .one_minus_beta2 = static_cast<float>(1.0 - h.beta2),
      .inv_sqrt_bias_correction2 = static_cast<float>(1.0 / std::sqrt(bias_correction2)),
      .eps = static_cast<float>(h.eps),
      .weight_decay = static_cast<float>(h.weight_decay),
      .decay_factor = static_cast<float>(1.0 - h.lr * h.weight_decay),
      .has_weight_decay = !h.decoupled_weight_decay && h.weight_decay != 0.0,
      .has_decoupled_decay = decoupled,
      .amsgrad = h.amsgrad,
  };
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n, [&](std::size_t b, std::size_t len) {
    k.adam(c, w + b, g + b, exp_avg + b, exp_avg_sq + b, at(max_exp_avg_sq, b), len);
  });
}

void adagrad_update(const AdagradOptions& h, std::uint64_t step, float* w, const float* g,
                    float* sum, std::size_t n) {
  constexpr const char* op = "adagrad_update";
  require_step(op, step);
  require_data(op, "w", w, n);
  require_data(op, "g", g, n);
  require_data(op, "sum", sum, n);
  const internal::AdagradCoefficients c{
      .clr = static_cast<float>(h.lr / (1.0 + static_cast<double>(step - 1) * h.lr_decay)),
      .eps = static_cast<float>(h.eps),
      .weight_decay = static_cast<float>(h.weight_decay),
      .has_weight_decay = h.weight_decay != 0.0,
  };
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n, [&](std::size_t b, std::size_t len) { k.adagrad(c, w + b, g + b, sum + b, len); });
}

}  // namespace simdnn
