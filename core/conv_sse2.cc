// Direct convolution kernels for sse2; compiled with the flags isa.bzl gives sse2.
#include <simdnn/core/kernels/conv.h>

namespace simdnn::internal {
template ConvKernels make_conv_kernels<XsimdArch<Isa::sse2>::type>();
}  // namespace simdnn::internal
