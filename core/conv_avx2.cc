// Direct convolution kernels for avx2; compiled with the flags isa.bzl gives avx2.
#include <simdnn/core/kernels/conv.h>

namespace simdnn::internal {
template ConvKernels make_conv_kernels<XsimdArch<Isa::avx2>::type>();
}  // namespace simdnn::internal
