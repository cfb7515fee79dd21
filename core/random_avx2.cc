// Random (Philox) kernels for avx2; compiled with the flags isa.bzl gives avx2.
#include <simdnn/core/kernels/random.h>

namespace simdnn::internal {
template RandomKernels make_random_kernels<XsimdArch<Isa::avx2>::type>();
}  // namespace simdnn::internal
