// Models from a small JSON spec, so that the repro program and users build models the same way.
//
//   {"type": "mlp", "inputs": 20, "hidden": [64, 32, 16], "outputs": 1,
//    "activation": "relu", "alpha": 0.01, "init": "he_normal", "dropout": 0.3,
//    "batch_norm": true, "seed": 42}
//   {"type": "resnet", "inputs": 20, "width": 64, "blocks": 10, "outputs": 1, ...}
//   {"type": "densenet", "inputs": 20, "width": 64, "blocks": 2, "layers_per_block": 3,
//    "growth_rate": 16, "outputs": 1, ...}
//
// Fields and defaults are those of the configuration structs in models/model_config.h;
// "activation" takes the names of core/activation.h with an optional "alpha" (leaky_relu, elu),
// "init" those of core/initializers.h. Unknown fields, wrong types and invalid values throw
// ModelSpecError naming the field, e.g. `model spec: "hidden"[1]: expected a positive integer,
// got -3`.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string_view>

#include <simdnn/models/model_config.h>

namespace simdnn {

class ModelSpecError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

MlpConfig parse_mlp_spec(std::string_view json);
ResNetConfig parse_resnet_spec(std::string_view json);
DenseNetConfig parse_densenet_spec(std::string_view json);

// Builds the model a spec describes, whichever its "type".
std::unique_ptr<Sequential> make_model_from_spec(std::string_view json);

// The number of weights (entries of the Dense layers' weight matrices; biases and BatchNorm's γ,
// β not counted) of the model a spec describes, without building it: a lower bound of its
// parameter count, saturating at UINT64_MAX. A model file checks it against the values it holds
// before building anything, so a small file cannot make a loader allocate without bound.
// Throws ModelSpecError as make_model_from_spec does.
std::uint64_t spec_weight_count(std::string_view json);

}  // namespace simdnn
