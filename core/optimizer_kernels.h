// The per-ISA optimizer kernel table: the per-element parameter updates of SGD (with momentum,
// dampening and Nesterov), RMSprop, Adam / AdamW and Adagrad that core/optimizer_update.cc needs
// from each instruction set.
//
// Each kernel updates one contiguous range of n elements on the calling thread, in place: the
// parameter w and its state arrays are read and overwritten, the gradient g is only read.
// Threading, chunking, argument checks and the scalar coefficients (bias corrections, decayed
// learning rates, all computed in double and rounded once) live in core/optimizer_update.cc.
// Kernels never allocate and never throw. Every element is updated by the same vector code
// wherever it sits in the range (a range's last partial vector goes through a zero-padded copy),
// so splitting a range anywhere gives bit-identical results.
#pragma once

#include <cstddef>

#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/arch.h>

namespace simdnn::internal {

// Plain aggregates (no constructors, no default member initializers, no member functions: nothing
// here may become an inline function compiled into a per-ISA object that baseline code calls).

// g' = g + weight_decay·w (when has_weight_decay);
// with momentum: buf = first ? g' : momentum·buf + dampening_keep·g', and
//                g' = nesterov ? g' + momentum·buf : buf;
// w -= lr·g'.
struct SgdCoefficients {
  float lr;
  float weight_decay;
  float momentum;
  float dampening_keep;  // 1 − dampening
  bool has_weight_decay;
  bool has_momentum;     // buf is used (non-null) only when set
  bool nesterov;
  bool first;            // the first step: the buffer starts as g' (PyTorch)
};

// g' = g + weight_decay·w;  sq = alpha·sq + (1 − alpha)·g'²;
// centered: ga = alpha·ga + (1 − alpha)·g';  d = sqrt(max(sq − ga², 0)) + eps; else d = sqrt(sq) + eps;
// momentum: buf = momentum·buf + g'/d, w -= lr·buf;  else w -= lr·g'/d.
struct RmspropCoefficients {
  float lr;
  float alpha;
  float one_minus_alpha;
  float eps;
  float weight_decay;
  float momentum;
  bool has_weight_decay;
  bool centered;      // grad_avg is used only when set
  bool has_momentum;  // momentum_buffer is used only when set
};

// w = decay_factor·w (AdamW's decoupled decay, 1 − lr·wd; skipped unless has_decoupled_decay);
// g' = g + weight_decay·w (Adam's L2 form, when has_weight_decay);
// m = beta1·m + (1 − beta1)·g';  v = beta2·v + (1 − beta2)·g'²;  amsgrad: vmax = max(vmax, v);
// w -= step_size·m / (sqrt(v or vmax)·inv_sqrt_bias_correction2 + eps),
// with step_size = lr / (1 − beta1^t) and inv_sqrt_bias_correction2 = 1 / sqrt(1 − beta2^t).
struct AdamCoefficients {
  float step_size;
  float beta1;
  float one_minus_beta1;
  float beta2;
  float one_minus_beta2;
  float inv_sqrt_bias_correction2;
  float eps;
  float weight_decay;
  float decay_factor;
  bool has_weight_decay;
  bool has_decoupled_decay;
  bool amsgrad;  // max_exp_avg_sq is used only when set
};

// g' = g + weight_decay·w;  sum += g'²;  w -= clr·g' / (sqrt(sum) + eps),
// with clr = lr / (1 + (t − 1)·lr_decay).
struct AdagradCoefficients {
  float clr;
  float eps;
  float weight_decay;
  bool has_weight_decay;
};

struct OptimizerKernels {
  void (*sgd)(const SgdCoefficients& c, float* w, const float* g, float* momentum_buffer,
              std::size_t n);
  void (*rmsprop)(const RmspropCoefficients& c, float* w, const float* g, float* square_avg,
                  float* grad_avg, float* momentum_buffer, std::size_t n);
  void (*adam)(const AdamCoefficients& c, float* w, const float* g, float* exp_avg,
               float* exp_avg_sq, float* max_exp_avg_sq, std::size_t n);
  void (*adagrad)(const AdagradCoefficients& c, float* w, const float* g, float* sum,
                  std::size_t n);
};

// The table for `isa`, built once on first use. Throws std::invalid_argument if the CPU does not
// support `isa`.
const OptimizerKernels& optimizer_kernels(Isa isa);

// Defined in kernels/optimizer.h and instantiated only in optimizer_<isa>.cc.
template <class Arch>
OptimizerKernels make_optimizer_kernels();

#define SIMDNN_EXTERN_OPTIMIZERKERNELS(name) extern template OptimizerKernels make_optimizer_kernels<XsimdArch<Isa::name>::type>();
SIMDNN_ISA_LIST(SIMDNN_EXTERN_OPTIMIZERKERNELS)
#undef SIMDNN_EXTERN_OPTIMIZERKERNELS

}  // namespace simdnn::internal
