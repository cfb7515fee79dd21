// Elementwise kernels for avx2; compiled with the flags isa.bzl gives avx2.
#include <simdnn/core/kernels/elementwise.h>

namespace simdnn::internal {
template ElementwiseKernels make_elementwise_kernels<XsimdArch<Isa::avx2>::type>();
}  // namespace simdnn::internal
