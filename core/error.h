// Exceptions thrown by simdnn on bad input, and helpers that format their messages.
//
// Every message names the operation, the argument, what was expected and what was given, e.g.
// "gemm: op(A) is 3x4 but op(B) is 5x2 (inner dimensions must match)".
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace simdnn {

// Shapes or sizes that do not fit together.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// "RxC", the notation every shape message uses.
inline std::string shape_string(std::size_t rows, std::size_t cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

}  // namespace simdnn
