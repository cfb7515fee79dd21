#include <simdnn/models/model.h>

#include <set>
#include <stdexcept>
#include <string>

#include <simdnn/models/model_spec.h>

namespace simdnn {
namespace {

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF):
// class names go into the model file's JSON metadata, which must be UTF-8.
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    unsigned long cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      if (i + k >= s.size()) return false;
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = cp << 6 | (d & 0x3F);
    }
    const unsigned long smallest[] = {0, 0x80, 0x800, 0x10000};
    if (cp < smallest[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace

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
  std::set<std::string> seen;
  for (std::size_t c = 0; c < class_names.size(); ++c) {
    const std::string& name = class_names[c];
    const std::string which = "model: class_names[" + std::to_string(c) + "]";
    if (name.empty()) throw std::invalid_argument(which + " is empty, expected a name");
    if (!valid_utf8(name)) throw std::invalid_argument(which + " is not valid UTF-8");
    if (!seen.insert(name).second) throw std::invalid_argument(which + " \"" + name + "\" is a duplicate");
  }
  if (scaler && (!scaler->fitted() || scaler->mean().size() != input_width())) {
    throw std::invalid_argument("model: the scaler has " + std::to_string(scaler->mean().size()) +
                                " columns, the network takes " + std::to_string(input_width()));
  }
}

}  // namespace simdnn
