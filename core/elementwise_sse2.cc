// Elementwise kernels for sse2; compiled with the flags isa.bzl gives sse2.
#include "core/kernels/elementwise.h"

namespace simdnn::detail {
template ElementwiseKernels make_elementwise_kernels<XsimdArch<Isa::sse2>::type>();
}  // namespace simdnn::detail
