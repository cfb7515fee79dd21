// Gradient clipping, applied between backward() and the optimizer step.
//
//   clip_grad_norm   PyTorch's torch.nn.utils.clip_grad_norm_ (norm_type 2): the total norm
//                    total = sqrt(Σ over all parameters of ‖grad‖²) is computed in double; when
//                    c = max_norm / (total + 1e-6) is below 1 (total > max_norm, up to the 1e-6),
//                    every gradient is multiplied by c (rounded to float). Returns total, the norm
//                    BEFORE clipping. A non-finite total (a NaN or inf gradient) leaves the
//                    gradients unchanged and is returned, so the caller can skip the step.
//   clip_grad_value  PyTorch's clip_grad_value_: every gradient element clamped to
//                    [−clip_value, clip_value] (NaN stays NaN).
//
// Both act on every parameter given (Parameter::regularize is irrelevant here). The sums are
// accumulated in a fixed order (core's sum_of_squares, then parameters in order), so results are
// bit-identical at any thread count. Parameters must have non-null value and grad of the same
// shape (ShapeError naming the parameter otherwise); a negative or NaN max_norm / clip_value
// throws std::invalid_argument naming it.
#pragma once

#include <span>

#include <simdnn/layers/layer.h>

namespace simdnn {

// sqrt(Σ‖grad‖²) over all parameters, in double; changes nothing.
double grad_norm(std::span<const Parameter> params);

// Scales the gradients so that their total norm is at most max_norm (≥ 0); returns the total
// norm before clipping.
double clip_grad_norm(std::span<const Parameter> params, double max_norm);

// Clamps every gradient element to [−clip_value, clip_value] (clip_value ≥ 0).
void clip_grad_value(std::span<const Parameter> params, double clip_value);

}  // namespace simdnn
