// Plain C++ references for core/optimizer_update.h: the same formulas, one element at a time,
// every quantity in double (parameters, gradients and state included), so tests can run several
// steps and measure how far the float kernels drift. Never used by the library itself.
#pragma once

#include <cstddef>
#include <cstdint>

#include <simdnn/core/optimizer_update.h>

namespace simdnn::reference {

void sgd_update(const SgdOptions& h, bool first_step, double* w, const double* g,
                double* momentum_buffer, std::size_t n);
void rmsprop_update(const RmspropOptions& h, double* w, const double* g,
                    double* square_avg, double* grad_avg, double* momentum_buffer, std::size_t n);
void adam_update(const AdamOptions& h, std::uint64_t step, double* w, const double* g,
                 double* exp_avg, double* exp_avg_sq, double* max_exp_avg_sq, std::size_t n);
void adagrad_update(const AdagradOptions& h, std::uint64_t step, double* w,
                    const double* g, double* sum, std::size_t n);

}  // namespace simdnn::reference
