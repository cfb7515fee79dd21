// Compile-time loop unrolling for kernels templated on the xsimd architecture.
#pragma once

#include <utility>

namespace simdnn::internal::kernels {

// Calls f(std::integral_constant<int, 0>{}), ..., f(std::integral_constant<int, N - 1>{}).
// Register tiles are arrays indexed by these constants, so the compiler keeps them in registers.
template <int N, class F>
[[gnu::always_inline]] inline void unroll(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) __attribute__((always_inline)) {
    (f(std::integral_constant<int, I>{}), ...);
  }(std::make_integer_sequence<int, N>{});
}

}  // namespace simdnn::internal::kernels
