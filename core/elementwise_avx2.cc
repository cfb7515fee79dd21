// Elementwise kernels for avx2; compiled with the flags isa.bzl gives avx2.
#include "core/kernels/elementwise.h"

namespace simdnn::detail {
template ElementwiseKernels make_elementwise_kernels<XsimdArch<Isa::avx2>::type>();
}  // namespace simdnn::detail
