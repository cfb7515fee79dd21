// Optimizer update kernels for sse2; compiled with the flags isa.bzl gives sse2.
#include <simdnn/core/kernels/optimizer.h>

namespace simdnn::internal {
template OptimizerKernels make_optimizer_kernels<XsimdArch<Isa::sse2>::type>();
}  // namespace simdnn::internal
