// Optimizer update kernels for sse2; compiled with the flags isa.bzl gives sse2.
#include "core/kernels/optimizer.h"

namespace simdnn::detail {
template OptimizerKernels make_optimizer_kernels<XsimdArch<Isa::sse2>::type>();
}  // namespace simdnn::detail
