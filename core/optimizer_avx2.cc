// Optimizer update kernels for avx2; compiled with the flags isa.bzl gives avx2.
#include <simdnn/core/kernels/optimizer.h>

namespace simdnn::internal {
template OptimizerKernels make_optimizer_kernels<XsimdArch<Isa::avx2>::type>();
}  // namespace simdnn::internal
