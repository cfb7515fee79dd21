// The xsimd architecture each Isa's kernels are instantiated for. Internal: public headers never
// name xsimd types. AVX2 kernels also use FMA.
#pragma once

#include <simdnn/core/isa.h>

namespace xsimd {
struct sse2;
struct avx2;
template <class Arch> struct fma3;
struct avx512f;
}  // namespace xsimd

namespace simdnn::internal {

template <Isa> struct XsimdArch;
template <> struct XsimdArch<Isa::sse2> { using type = xsimd::sse2; };
template <> struct XsimdArch<Isa::avx2> { using type = xsimd::fma3<xsimd::avx2>; };
template <> struct XsimdArch<Isa::avx512> { using type = xsimd::avx512f; };

}  // namespace simdnn::internal
