// Internal to //train: argument checks whose messages name the operation, the argument, what was
// expected and what was given ("Adam: beta1 is 1, expected a value in [0, 1)").
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

#include <simdnn/core/error.h>
#include <simdnn/core/tensor.h>
#include <simdnn/layers/layer.h>

namespace simdnn::internal {

// The shortest decimal that reads back as `v` ("0.1", "1e-08", "inf", "nan").
inline std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

[[noreturn]] inline void fail(const std::string& op, const char* arg, double value,
                              const char* expected) {
  throw std::invalid_argument(op + ": " + arg + " is " + number(value) + ", expected " + expected);
}

// value >= 0 and finite.
inline void require_non_negative(const std::string& op, const char* arg, double value) {
  if (!(value >= 0.0) || std::isinf(value)) fail(op, arg, value, "a finite value >= 0");
}
// value > 0 and finite.
inline void require_positive(const std::string& op, const char* arg, double value) {
  if (!(value > 0.0) || std::isinf(value)) fail(op, arg, value, "a finite value > 0");
}
// 0 <= value < 1.
inline void require_unit_interval_open(const std::string& op, const char* arg, double value) {
  if (!(value >= 0.0 && value < 1.0)) fail(op, arg, value, "a value in [0, 1)");
}
// 0 <= value <= 1.
inline void require_unit_interval(const std::string& op, const char* arg, double value) {
  if (!(value >= 0.0 && value <= 1.0)) fail(op, arg, value, "a value in [0, 1]");
}

// A parameter whose value and grad are non-null and of the same shape; `index` is its position.
inline void check_parameter(const std::string& op, const Parameter& p, std::size_t index) {
  const std::string label = "parameter " + std::to_string(index) + " \"" + p.name + "\"";
  if (p.value == nullptr) throw ShapeError(op + ": " + label + " has a null value");
  if (p.grad == nullptr) throw ShapeError(op + ": " + label + " has a null grad");
  if (p.grad->rows() != p.value->rows() || p.grad->cols() != p.value->cols()) {
    throw ShapeError(op + ": " + label + " has grad " +
                     shape_string(p.grad->rows(), p.grad->cols()) + ", expected " +
                     shape_string(p.value->rows(), p.value->cols()) + " (the shape of its value)");
  }
}

inline void check_parameters(const std::string& op, std::span<const Parameter> params) {
  for (std::size_t i = 0; i < params.size(); ++i) check_parameter(op, params[i], i);
}

}  // namespace simdnn::internal
