// GEMM microkernels for avx2; compiled with the flags isa.bzl gives avx2.
#include "core/kernels/gemm_microkernel.h"

namespace simdnn::detail {
template GemmKernels make_gemm_kernels<XsimdArch<Isa::avx2>::type>();
}  // namespace simdnn::detail
