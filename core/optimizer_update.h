// Per-element optimizer updates: one in-place step of SGD (momentum, dampening, Nesterov),
// RMSprop, Adam / AdamW and Adagrad over a parameter array, its gradient and its state arrays,
// with PyTorch's (torch.optim) formulas. The optimizers of train/optimizer.h call these for each
// parameter tensor; they are public so that any other training loop can too.
//
// Every function runs on the ISA of active_isa() (core/isa.h). Arrays of at least
// kOptimizerParallelThreshold elements are cut into chunks of kOptimizerChunk floats whose
// boundaries depend only on n, and the chunks run on num_threads() threads; smaller arrays run on
// the calling thread. Each element's update is the same vector arithmetic wherever it falls, so
// the result is bit-identical at any thread count. Nothing here allocates (beyond oneTBB's own
// task bookkeeping when the chunks run on several threads).
//
// Scalars that depend on the step (bias corrections 1 − β^t, Adagrad's decayed rate, AdamW's
// factor 1 − lr·wd) are computed in double and rounded once to float; the per-element arithmetic
// is float, with fused multiply-adds where the ISA has them (so results differ between ISAs by a
// few ulp).
//
// Hyperparameters: one struct per optimizer (SgdOptions, RmspropOptions, AdamOptions,
// AdagradOptions), with torch.optim's defaults. The same struct configures the optimizer classes
// of train/optimizer.h, which validate it and pass it here with the step's learning rate; the
// kernels below get only the float coefficients each step derives from it. The update functions
// take the values as given (train/optimizer.h validates them). Arguments: the parameter
// w, the gradient g and every state array the chosen options use must be non-null when n > 0
// (ShapeError naming the argument otherwise); unused state arrays may be null. State arrays start
// at zero, except Adagrad's `sum` (initial_accumulator_value) — and SGD's momentum buffer, which
// the first step (first_step = true) overwrites with the gradient, as PyTorch does. No array may
// overlap another.
#pragma once

#include <cstddef>
#include <cstdint>

namespace simdnn {

// Floats per chunk of the parallel loop; a chunk boundary never depends on the thread count.
inline constexpr std::size_t kOptimizerChunk = 16384;
// Below this many elements an update runs on the calling thread.
inline constexpr std::size_t kOptimizerParallelThreshold = 65536;

// torch.optim.SGD:
//   g ← g + weight_decay·w
//   if momentum ≠ 0:  buf ← g on the first step, else buf ← momentum·buf + (1 − dampening)·g
//                     g ← g + momentum·buf (nesterov) or g ← buf
//   w ← w − lr·g
// (torch.optim.SGD; lr default 1e-3 as in PyTorch 2.)
struct SgdOptions {
  double lr = 1e-3;
  double momentum = 0.0;   // >= 0
  double dampening = 0.0;  // in [0, 1]
  double weight_decay = 0.0;
  bool nesterov = false;   // requires momentum > 0 and dampening = 0
};
// momentum_buffer is used (and must be non-null) only when h.momentum ≠ 0.
void sgd_update(const SgdOptions& h, bool first_step, float* w, const float* g,
                float* momentum_buffer, std::size_t n);

// torch.optim.RMSprop:
//   g ← g + weight_decay·w
//   square_avg ← alpha·square_avg + (1 − alpha)·g²
//   centered:  grad_avg ← alpha·grad_avg + (1 − alpha)·g,  d = sqrt(square_avg − grad_avg²) + eps
//              (the difference clamped at 0 against rounding), else d = sqrt(square_avg) + eps
//   momentum > 0:  buf ← momentum·buf + g/d,  w ← w − lr·buf;   else w ← w − lr·g/d
struct RmspropOptions {
  double lr = 1e-2;
  double alpha = 0.99;  // in [0, 1)
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};
// grad_avg is used only when h.centered, momentum_buffer only when h.momentum > 0.
void rmsprop_update(const RmspropOptions& h, float* w, const float* g, float* square_avg,
                    float* grad_avg, float* momentum_buffer, std::size_t n);

// torch.optim.Adam (decoupled_weight_decay = false) and torch.optim.AdamW (true), step t ≥ 1:
//   AdamW:  w ← w·(1 − lr·weight_decay)          Adam:  g ← g + weight_decay·w
//   m ← beta1·m + (1 − beta1)·g,  v ← beta2·v + (1 − beta2)·g²,  amsgrad: v_max ← max(v_max, v)
//   w ← w − lr/(1 − beta1^t) · m / (sqrt(v or v_max)/sqrt(1 − beta2^t) + eps)
// (eps outside the square root, after the bias correction, as PyTorch).
// Defaults are Adam's; AdamW is decoupled_weight_decay = true with weight_decay 1e-2
// (train/optimizer.h's AdamWOptions() gives them).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;    // in [0, 1)
  double beta2 = 0.999;  // in [0, 1)
  double eps = 1e-8;     // outside the square root
  double weight_decay = 0.0;
  bool amsgrad = false;
  bool decoupled_weight_decay = false;  // AdamW
};
// max_exp_avg_sq is used only when h.amsgrad. Throws std::invalid_argument if step is 0.
void adam_update(const AdamOptions& h, std::uint64_t step, float* w, const float* g,
                 float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq, std::size_t n);

// torch.optim.Adagrad, step t ≥ 1:
//   g ← g + weight_decay·w,  clr = lr / (1 + (t − 1)·lr_decay)
//   sum ← sum + g²,  w ← w − clr·g / (sqrt(sum) + eps)
// initial_accumulator_value is what the `sum` state starts at (the optimizer class fills it).
struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
};
// Throws std::invalid_argument if step is 0.
void adagrad_update(const AdagradOptions& h, std::uint64_t step, float* w, const float* g,
                    float* sum, std::size_t n);

}  // namespace simdnn
