// Random (Philox) kernels for avx512; compiled with the flags isa.bzl gives avx512.
#include <simdnn/core/kernels/random.h>

namespace simdnn::internal {
template RandomKernels make_random_kernels<XsimdArch<Isa::avx512>::type>();
}  // namespace simdnn::internal
