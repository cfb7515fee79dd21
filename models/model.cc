#include <simdnn/models/model.h>

#include <stdexcept>
#include <string>

#include <simdnn/models/model_spec.h>

namespace simdnn {

const char* output_kind_name(OutputKind kind) {
  switch (kind) {
    case OutputKind::binary_logit:
      return "binary_logit";
    case OutputKind::class_logits:
      return "class_logits";
    case OutputKind::values:
      return "values";
  }
  return "?";
}

OutputKind parse_output_kind(std::string_view name) {
  for (OutputKind k : {OutputKind::binary_logit, OutputKind::class_logits, OutputKind::values}) {
    if (name == output_kind_name(k)) return k;
  }
  throw std::invalid_argument("output kind \"" + std::string(name) +
                              "\" is unknown, expected binary_logit, class_logits or values");
}

Model Model::from_spec(std::string_view json) {
  Model model;
  model.network = make_model_from_spec(json);
  model.spec = std::string(json);
  model.output = model.network->output_width() == 1 ? OutputKind::binary_logit : OutputKind::class_logits;
  return model;
}

std::size_t Model::num_classes() const {
  switch (output) {
    case OutputKind::binary_logit:
      return 2;
    case OutputKind::class_logits:
      return output_width();
    case OutputKind::values:
      return 0;
  }
  return 0;
}

void Model::validate() const {
  if (!network) throw std::invalid_argument("model: no network");
  const std::string kind = output_kind_name(output);
  if (output == OutputKind::binary_logit && output_width() != 1) {
    throw std::invalid_argument("model: output " + kind + " needs 1 output column, the network has " +
                                std::to_string(output_width()));
  }
  if (output == OutputKind::class_logits && output_width() < 2) {
    throw std::invalid_argument("model: output " + kind + " needs at least 2 output columns, the network has " +
                                std::to_string(output_width()));
  }
  if (!class_names.empty() && class_names.size() != num_classes()) {
    throw std::invalid_argument("model: " + std::to_string(class_names.size()) + " class names for " +
                                std::to_string(num_classes()) + " classes");
  }
  if (scaler && (!scaler->fitted() || scaler->mean().size() != input_width())) {
    throw std::invalid_argument("model: the scaler has " + std::to_string(scaler->mean().size()) +
                                " columns, the network takes " + std::to_string(input_width()));
  }
}

}  // namespace simdnn
