// The activation functions simdnn knows, shared by the elementwise kernels, the GEMM epilogue and
// the layers. Formulas (x is the pre-activation input):
//   identity   x
//   sigmoid    1 / (1 + e^-x)
//   tanh       tanh(x)
//   relu       max(x, 0)
//   leaky_relu x if x > 0 else alpha·x             (alpha: slope for x <= 0, default 0.01)
//   elu        x if x > 0 else alpha·(e^x − 1)     (alpha default 1)
//   selu       λ·(x if x > 0 else α·(e^x − 1)), λ = 1.0507009873554805, α = 1.6732632423543772
//   gelu       0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))   (the tanh form)
//   swish      x·sigmoid(x)                        (also called SiLU)
//   softplus   log(1 + e^x)
#pragma once

#include <string_view>

namespace simdnn {

enum class Activation { identity, sigmoid, tanh, relu, leaky_relu, elu, selu, gelu, swish, softplus };

inline constexpr Activation kAllActivations[] = {
    Activation::identity, Activation::sigmoid, Activation::tanh, Activation::relu,
    Activation::leaky_relu, Activation::elu, Activation::selu, Activation::gelu,
    Activation::swish, Activation::softplus};

// An activation with its parameter; alpha is read only by leaky_relu and elu.
struct ActivationSpec {
  Activation kind = Activation::identity;
  float alpha = 0.0f;

  static ActivationSpec identity() { return {Activation::identity, 0.0f}; }
  static ActivationSpec relu() { return {Activation::relu, 0.0f}; }
  static ActivationSpec leaky_relu(float alpha = 0.01f) { return {Activation::leaky_relu, alpha}; }
  static ActivationSpec elu(float alpha = 1.0f) { return {Activation::elu, alpha}; }
  // The default parameter of `kind` (0.01 for leaky_relu, 1 for elu, unused otherwise).
  static ActivationSpec of(Activation kind);
};

// "identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish", "softplus".
const char* activation_name(Activation kind);
// Inverse of activation_name; throws std::invalid_argument listing the accepted names.
Activation parse_activation(std::string_view name);

}  // namespace simdnn
