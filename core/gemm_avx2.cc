// GEMM microkernels for avx2; compiled with the flags isa.bzl gives avx2.
#include <simdnn/core/kernels/gemm_microkernel.h>

namespace simdnn::internal {
template GemmKernels make_gemm_kernels<XsimdArch<Isa::avx2>::type>();
}  // namespace simdnn::internal
