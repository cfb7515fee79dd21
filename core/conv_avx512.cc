// Direct convolution kernels for avx512; compiled with the flags isa.bzl gives avx512.
#include <simdnn/core/kernels/conv.h>

namespace simdnn::internal {
template ConvKernels make_conv_kernels<XsimdArch<Isa::avx512>::type>();
}  // namespace simdnn::internal
