// Elementwise kernels for sse2; compiled with the flags isa.bzl gives sse2.
#include <simdnn/core/kernels/elementwise.h>

namespace simdnn::internal {
template ElementwiseKernels make_elementwise_kernels<XsimdArch<Isa::sse2>::type>();
}  // namespace simdnn::internal
