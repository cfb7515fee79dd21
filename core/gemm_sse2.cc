// GEMM microkernels for sse2; compiled with the flags isa.bzl gives sse2.
#include "core/kernels/gemm_microkernel.h"

namespace simdnn::detail {
template GemmKernels make_gemm_kernels<XsimdArch<Isa::sse2>::type>();
}  // namespace simdnn::detail
