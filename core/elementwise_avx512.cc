// Elementwise kernels for avx512; compiled with the flags isa.bzl gives avx512.
#include "core/kernels/elementwise.h"

namespace simdnn::detail {
template ElementwiseKernels make_elementwise_kernels<XsimdArch<Isa::avx512>::type>();
}  // namespace simdnn::detail
