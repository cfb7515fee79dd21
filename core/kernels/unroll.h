// Compile-time loop unrolling, and run-time flags as compile-time constants, for kernels
// templated on the xsimd architecture.
#pragma once

#include <type_traits>
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

// f(std::true_type{}) or f(std::false_type{}): a run-time flag as a compile-time constant, so a
// kernel's variants are one body with `if constexpr` instead of a branch per element.
template <class F>
[[gnu::always_inline]] inline void with_flag(bool flag, const F& f) {
  if (flag) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}

}  // namespace simdnn::internal::kernels
