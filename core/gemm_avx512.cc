// GEMM microkernels for avx512; compiled with the flags isa.bzl gives avx512.
#include <simdnn/core/kernels/gemm_microkernel.h>

namespace simdnn::internal {
template GemmKernels make_gemm_kernels<XsimdArch<Isa::avx512>::type>();
}  // namespace simdnn::internal
