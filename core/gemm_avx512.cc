// GEMM microkernels for avx512; compiled with the flags isa.bzl gives avx512.
#include "core/kernels/gemm_microkernel.h"

namespace simdnn::detail {
template GemmKernels make_gemm_kernels<XsimdArch<Isa::avx512>::type>();
}  // namespace simdnn::detail
