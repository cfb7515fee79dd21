// GEMM microkernels for sse2; compiled with the flags isa.bzl gives sse2.
#include <simdnn/core/kernels/gemm_microkernel.h>

namespace simdnn::internal {
template GemmKernels make_gemm_kernels<XsimdArch<Isa::sse2>::type>();
}  // namespace simdnn::internal
