#include <simdnn/core/activation.h>

#include <stdexcept>
#include <string>

namespace simdnn {

ActivationSpec ActivationSpec::of(Activation kind) {
  switch (kind) {
    case Activation::leaky_relu: return leaky_relu();
    case Activation::elu: return elu();
    default: return {kind, 0.0f};
  }
}

const char* activation_name(Activation kind) {
  switch (kind) {
    case Activation::identity: return "identity";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
    case Activation::relu: return "relu";
    case Activation::leaky_relu: return "leaky_relu";
    case Activation::elu: return "elu";
    case Activation::selu: return "selu";
    case Activation::gelu: return "gelu";
    case Activation::swish: return "swish";
    case Activation::softplus: return "softplus";
  }
  return "unknown";
}

Activation parse_activation(std::string_view name) {
  std::string accepted;
  for (Activation kind : kAllActivations) {
    if (name == activation_name(kind)) return kind;
    accepted += accepted.empty() ? "" : ", ";
    accepted += activation_name(kind);
  }
  throw std::invalid_argument("activation: expected one of " + accepted + ", got \"" +
                              std::string(name) + "\"");
}

}  // namespace simdnn
