// Elementwise kernels for avx512; compiled with the flags isa.bzl gives avx512.
#include <simdnn/core/kernels/elementwise.h>

namespace simdnn::internal {
template ElementwiseKernels make_elementwise_kernels<XsimdArch<Isa::avx512>::type>();
}  // namespace simdnn::internal
