// Random (Philox) kernels for sse2; compiled with the flags isa.bzl gives sse2.
#include <simdnn/core/kernels/random.h>

namespace simdnn::internal {
template RandomKernels make_random_kernels<XsimdArch<Isa::sse2>::type>();
}  // namespace simdnn::internal
