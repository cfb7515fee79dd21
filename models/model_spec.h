// Models from a small JSON spec, so that the repro program and users build models the same way.
//
//   {"type": "mlp", "inputs": 20, "hidden": [64, 32, 16], "outputs": 1,
//    "activation": "relu", "alpha": 0.01, "init": "he_normal", "dropout": 0.3,
//    "batch_norm": true, "seed": 42}
//   {"type": "resnet", "inputs": 20, "width": 64, "blocks": 10, "outputs": 1, ...}
//   {"type": "densenet", "inputs": 20, "width": 64, "blocks": 2, "layers_per_block": 3,
//    "growth_rate": 16, "outputs": 1, "transition_batchnorm": true, ...}
//   {"type": "cnn", "input": [28, 28, 1], "channels": [16, 32, 64], "blocks_per_stage": 1,
//    "outputs": 10, "residual": true, "stem_pool": false, ...}   (images NHWC; residual false: the
//    plain network)
//
// Fields and defaults are those of the configuration structs in models/model_config.h;
// "activation" takes the names of core/activation.h with an optional "alpha" (leaky_relu, elu),
// "init" those of core/initializers.h. Unknown fields, wrong types and invalid values throw
// ModelSpecError naming the field, e.g. `model spec: "hidden"[1]: expected a positive integer,
// got -3`.
//
// Hostile specs: every error these functions raise is a ModelSpecError (a std::invalid_argument)
// of at most kMaxSpecMessage bytes, quoting at most about kMaxSpecQuote characters of the
// offending value; the only other exception is std::bad_alloc when memory runs out for a model
// within the limits. Before anything is allocated or anything recursive runs:
// - text nested deeper than kMaxSpecDepth (64) arrays or objects is refused (a pre-scan of the
//   brackets outside strings, before the JSON parser runs);
// - the limits of models/model_config.h hold: widths at most kMaxModelWidth (2^24), hidden
//   layers, blocks and layers_per_block at most kMaxModelDepth (100,000), at most
//   kMaxModelWeights (2^31) weights — the same checks make_mlp and the others make;
// - float fields ("alpha", "dropout") must be finite numbers in the range of a float, and are
//   checked as the float the model gets ("dropout": 0.99999999 rounds to 1 and is refused);
//   numbers beyond a double (1e400) are refused as invalid JSON.
#pragma once

#include <cstddef>
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

inline constexpr std::size_t kMaxSpecDepth = 64;      // nesting of arrays and objects
inline constexpr std::size_t kMaxSpecQuote = 100;     // characters of a bad value in a message
inline constexpr std::size_t kMaxSpecMessage = 512;   // bytes of a ModelSpecError's what()

MlpConfig parse_mlp_spec(std::string_view json);
ResNetConfig parse_resnet_spec(std::string_view json);
DenseNetConfig parse_densenet_spec(std::string_view json);
CnnConfig parse_cnn_spec(std::string_view json);

// Builds the model a spec describes, whichever its "type".
std::unique_ptr<Sequential> make_model_from_spec(std::string_view json);

// The number of weights (entries of the Dense layers' weight matrices; biases and BatchNorm's γ,
// β not counted) of the model a spec describes, without building it: a lower bound of its
// parameter count, at most kMaxModelWeights (a larger model is refused). A model file checks it
// against the values it holds before building anything, so a small file cannot make a loader
// allocate without bound.
// Throws ModelSpecError as make_model_from_spec does.
std::uint64_t spec_weight_count(std::string_view json);

}  // namespace simdnn
