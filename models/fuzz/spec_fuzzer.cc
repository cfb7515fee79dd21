// libFuzzer target for JSON model specs (models/model_spec.h, models/model.h): the bytes are the
// spec. Every entry point must either succeed or throw ModelSpecError of at most kMaxSpecMessage
// bytes (the header's promise; nlohmann's parse errors are wrapped in it, so a json::exception
// escaping is a bug); anything else — a crash, a sanitizer report, another exception type, an
// over-long message — ends the run. Build and run: tools/fuzz.sh.
//
// Checked on every input: spec_weight_count; parse_mlp_spec, parse_resnet_spec and
// parse_densenet_spec (at most one succeeds, exactly one when the count does, and
// model_weight_count of its configuration equals the count). Only when the model is small —
// fewer than kMaxFuzzWeights (2^20) weights and at most kMaxFuzzLayers (1,000) hidden layers,
// blocks or DenseNet layers — is it also built with Model::from_spec (which must then not throw),
// checked (validate, widths, make_model_from_spec agreeing) and run on two rows of zeros. Specs
// within the library's own limits may legitimately describe a model of 2^31 weights or 10^5
// blocks; building those would measure the machine, not find bugs, and is left to
// tests/models_test.cc.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include <simdnn/models/model.h>
#include <simdnn/models/model_config.h>
#include <simdnn/models/model_spec.h>
#include <simdnn/models/predictor.h>

namespace {

constexpr std::uint64_t kMaxFuzzWeights = std::uint64_t{1} << 20;
constexpr std::size_t kMaxFuzzLayers = 1000;

// Runs f; returns false if it threw a bounded ModelSpecError. Anything else propagates (and so
// ends the fuzzer with an uncaught exception) or aborts.
template <class F>
bool spec_ok(F&& f) {
  try {
    f();
    return true;
  } catch (const simdnn::ModelSpecError& e) {
    if (std::strlen(e.what()) > simdnn::kMaxSpecMessage) std::abort();
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view spec(reinterpret_cast<const char*>(data), size);
  std::uint64_t weights = 0;
  const bool counted = spec_ok([&] { weights = simdnn::spec_weight_count(spec); });
  if (counted && weights > simdnn::kMaxModelWeights) std::abort();

  std::optional<simdnn::MlpConfig> mlp;
  std::optional<simdnn::ResNetConfig> resnet;
  std::optional<simdnn::DenseNetConfig> densenet;
  spec_ok([&] { mlp = simdnn::parse_mlp_spec(spec); });
  spec_ok([&] { resnet = simdnn::parse_resnet_spec(spec); });
  spec_ok([&] { densenet = simdnn::parse_densenet_spec(spec); });
  const int parsed = int{mlp.has_value()} + int{resnet.has_value()} + int{densenet.has_value()};
  if (parsed != (counted ? 1 : 0)) std::abort();
  if (!counted) {
    // make_model_from_spec must refuse it too, with a ModelSpecError.
    if (spec_ok([&] { (void)simdnn::make_model_from_spec(spec); })) std::abort();
    return 0;
  }

  std::size_t inputs = 0, outputs = 0, layers = 0;
  std::uint64_t config_weights = 0;
  if (mlp) {
    inputs = mlp->inputs, outputs = mlp->outputs, layers = mlp->hidden.size();
    config_weights = simdnn::model_weight_count(*mlp);
    if (!(mlp->dropout >= 0.0f && mlp->dropout < 1.0f) || !std::isfinite(mlp->activation.alpha)) std::abort();
  } else if (resnet) {
    inputs = resnet->inputs, outputs = resnet->outputs, layers = resnet->blocks;
    config_weights = simdnn::model_weight_count(*resnet);
    if (!(resnet->dropout >= 0.0f && resnet->dropout < 1.0f) || !std::isfinite(resnet->activation.alpha)) {
      std::abort();
    }
  } else {
    inputs = densenet->inputs, outputs = densenet->outputs;
    layers = densenet->blocks * densenet->layers_per_block;  // at most kMaxModelDepth: no overflow
    config_weights = simdnn::model_weight_count(*densenet);
    if (!std::isfinite(densenet->activation.alpha)) std::abort();
  }
  if (config_weights != weights) std::abort();
  if (weights >= kMaxFuzzWeights || layers > kMaxFuzzLayers) return 0;  // see the top of the file

  // A spec that parsed builds: no exception of any type is acceptable here.
  const simdnn::Model model = simdnn::Model::from_spec(spec);
  model.validate();
  if (model.input_width() != inputs || model.output_width() != outputs || model.spec != spec) std::abort();
  simdnn::Tensor x(2, inputs);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = 0.0f;
  const simdnn::Tensor y = simdnn::predict(model, x.cview());
  if (y.rows() != 2 || y.cols() != outputs) std::abort();
  return 0;
}
