// Weight initializers for dense layers, drawn from simdnn's counter-based RNG (core/random.h), so
// a layer is initialized identically at any thread count.
//
// Fan convention: a Dense layer's weight W is stored fan_in x fan_out, rows = inputs and
// cols = outputs (y = x·W + b). So initialize() reads fan_in = w.rows and fan_out = w.cols.
// (A 1 x n bias vector therefore has fan_in 1; biases normally use zeros or constant.)
//
//   kind            distribution of each element                  parameters used
//   zeros           0
//   constant        value                                          value
//   normal          N(0, stddev²)                                  stddev
//   uniform         U[low, high)                                   low, high
//   xavier_uniform  U[−L, L), L = gain·√(6 / (fan_in + fan_out))   gain   (Glorot & Bengio 2010)
//   xavier_normal   N(0, σ²), σ = gain·√(2 / (fan_in + fan_out))   gain
//   he_normal       N(0, σ²), σ = gain·√(2 / fan_in)               gain   (He et al. 2015)
//   he_uniform      U[−L, L), L = gain·√(6 / fan_in)               gain
//   lecun_normal    N(0, σ²), σ = gain·√(1 / fan_in)               gain   (LeCun et al. 1998)
//   orthogonal      gain·Q, Q with orthonormal columns (WᵀW = gain²·I) when rows >= cols, or
//                   orthonormal rows (WWᵀ = gain²·I) when rows < cols      gain  (Saxe et al. 2014)
//
// Orthogonal: Q comes from the Householder QR, in double precision, of a max(rows, cols) x
// min(rows, cols) matrix of standard normals, with each column of Q multiplied by the sign of the
// matching diagonal element of R (that makes Q uniformly, Haar, distributed); for rows < cols the
// transpose is used. It costs O(rows·cols·min(rows, cols)) and runs in parallel, deterministically.
// The normal variants are plain (untruncated) normals; every uniform variant excludes its upper
// bound. Names for text specs: init_name / parse_init (parse_init also takes the aliases
// glorot_uniform, glorot_normal, kaiming_normal and kaiming_uniform).
#pragma once

#include <cstdint>
#include <string_view>

#include <simdnn/core/tensor.h>

namespace simdnn {

enum class Init {
  zeros,
  constant,
  normal,
  uniform,
  xavier_uniform,
  xavier_normal,
  he_normal,
  he_uniform,
  lecun_normal,
  orthogonal
};

inline constexpr Init kAllInits[] = {Init::zeros,          Init::constant,
                                     Init::normal,         Init::uniform,
                                     Init::xavier_uniform, Init::xavier_normal,
                                     Init::he_normal,      Init::he_uniform,
                                     Init::lecun_normal,   Init::orthogonal};

// An initializer with its parameters; each kind reads only the fields the table above lists, and
// every field has a usable default, so InitSpec{Init::orthogonal} is an orthogonal init of gain 1.
struct InitSpec {
  Init kind = Init::xavier_uniform;
  float value = 0.0f;    // constant
  float stddev = 0.05f;  // normal
  float low = -0.05f;    // uniform
  float high = 0.05f;    // uniform
  float gain = 1.0f;     // xavier_*, he_*, lecun_normal, orthogonal

  static InitSpec zeros() { return {.kind = Init::zeros}; }
  static InitSpec constant(float value) { return {.kind = Init::constant, .value = value}; }
  static InitSpec normal(float stddev) { return {.kind = Init::normal, .stddev = stddev}; }
  static InitSpec uniform(float low, float high) {
    return {.kind = Init::uniform, .low = low, .high = high};
  }
  static InitSpec xavier_uniform(float gain = 1.0f) {
    return {.kind = Init::xavier_uniform, .gain = gain};
  }
  static InitSpec xavier_normal(float gain = 1.0f) {
    return {.kind = Init::xavier_normal, .gain = gain};
  }
  static InitSpec he_normal(float gain = 1.0f) {
    return {.kind = Init::he_normal, .gain = gain};
  }
  static InitSpec he_uniform(float gain = 1.0f) {
    return {.kind = Init::he_uniform, .gain = gain};
  }
  static InitSpec lecun_normal(float gain = 1.0f) {
    return {.kind = Init::lecun_normal, .gain = gain};
  }
  static InitSpec orthogonal(float gain = 1.0f) {
    return {.kind = Init::orthogonal, .gain = gain};
  }
};

// Fills w (fan_in x fan_out, any leading dimension; the padding between rows is not written)
// according to spec. The values depend only on (spec, w's shape, seed, stream): give each layer
// its own stream. Throws ShapeError for a malformed view, and std::invalid_argument naming the
// initializer, the parameter and its value for bad parameters (non-finite value, stddev < 0,
// low > high, gain < 0), e.g. "initialize: normal stddev must be finite and >= 0, got -1".
void initialize(MatrixView w, const InitSpec& spec, std::uint64_t seed, std::uint64_t stream);

// "zeros", "constant", "normal", "uniform", "xavier_uniform", "xavier_normal", "he_normal",
// "he_uniform", "lecun_normal", "orthogonal".
const char* init_name(Init kind);
// Inverse of init_name, also accepting the aliases above; throws std::invalid_argument listing
// the accepted names.
Init parse_init(std::string_view name);

}  // namespace simdnn
