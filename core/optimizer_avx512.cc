// Optimizer update kernels for avx512; compiled with the flags isa.bzl gives avx512.
#include "core/kernels/optimizer.h"

namespace simdnn::detail {
template OptimizerKernels make_optimizer_kernels<XsimdArch<Isa::avx512>::type>();
}  // namespace simdnn::detail
