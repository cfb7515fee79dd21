// Model: a network together with everything needed to use it on raw data — the JSON spec it was
// built from (models/model_spec.h), the input scaler fitted on the training data, the class names
// and what the outputs mean. It is what a model file holds (train/model_io.h: save_model,
// load_model) and what inference takes (models/predictor.h).
//
//   Model model = Model::from_spec(R"({"type": "mlp", "inputs": 4, "hidden": [32], "outputs": 3})");
//   model.scaler = scaler;                       // optional: applied to every input first
//   model.class_names = {"setosa", "versicolor", "virginica"};
//   Trainer trainer(*model.network, loss, optimizer);   // train the network as usual
//
// Outputs: the network ends in raw scores. With OutputKind::binary_logit (one output column) the
// score is the logit of class 1, probability σ(z); with class_logits (C ≥ 2 columns) row i holds
// C logits, probabilities softmax(z_i); with values the outputs are a regression's predictions
// and have no probabilities.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdnn/data/preprocessing.h>
#include <simdnn/layers/sequential.h>

namespace simdnn {

enum class OutputKind { binary_logit, class_logits, values };

// "binary_logit", "class_logits", "values".
const char* output_kind_name(OutputKind kind);
// Inverse of output_kind_name; throws std::invalid_argument naming the accepted names.
OutputKind parse_output_kind(std::string_view name);

struct Model {
  std::string spec;                      // the JSON spec; empty for a network built by hand
  std::unique_ptr<Sequential> network;   // outputs raw scores (see above)
  OutputKind output = OutputKind::binary_logit;
  std::optional<StandardScaler> scaler;  // applied to inputs before the network, when set
  std::vector<std::string> class_names;  // empty, or one per class

  // Builds the network the spec describes (make_model_from_spec; ModelSpecError on a bad spec),
  // with output binary_logit for one output and class_logits for more.
  static Model from_spec(std::string_view json);

  std::size_t input_width() const { return network ? network->input_width() : 0; }
  std::size_t output_width() const { return network ? network->output_width() : 0; }
  // 2 for binary_logit, the output width for class_logits, 0 for values.
  std::size_t num_classes() const;

  // Throws std::invalid_argument naming what is wrong: no network; class names whose count is
  // not num_classes(), or that are empty, repeated or not valid UTF-8; a scaler of another width than the input; binary_logit with more than one
  // output, or class_logits with fewer than two.
  void validate() const;
};

}  // namespace simdnn
