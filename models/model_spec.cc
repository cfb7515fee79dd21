#include <simdnn/models/model_spec.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>

namespace simdnn {
namespace {

using nlohmann::json;

// `field` is a name ("width") or an element of one ("hidden[1]"), quoted as "width", "hidden"[1].
[[noreturn]] void fail(const std::string& field, const std::string& expected, const json& got) {
  const std::size_t bracket = std::min(field.find('['), field.size());
  throw ModelSpecError("model spec: \"" + field.substr(0, bracket) + "\"" + field.substr(bracket) + ": expected " +
                       expected + ", got " + got.dump());
}

json parse(std::string_view text) {
  try {
    json spec = json::parse(text);
    if (!spec.is_object()) fail("(top level)", "an object", spec);
    return spec;
  } catch (const json::parse_error& e) {
    throw ModelSpecError(std::string("model spec: not valid JSON: ") + e.what());
  }
}

// Reads the fields of one spec, and at the end rejects any field it did not read.
class Fields {
 public:
  explicit Fields(const json& spec) : spec_(spec) {}

  std::size_t positive(const char* name, std::size_t fallback, bool required = false) {
    const json* v = find(name, required);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer() || v->get<long long>() <= 0) fail(name, "a positive integer", *v);
    return v->get<std::size_t>();
  }
  std::size_t count(const char* name, std::size_t fallback) {  // may be 0
    const json* v = find(name, false);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer() || v->get<long long>() < 0) fail(name, "a non-negative integer", *v);
    return v->get<std::size_t>();
  }
  std::vector<std::size_t> widths(const char* name) {
    const json* v = find(name, true);
    if (!v->is_array()) fail(name, "an array of positive integers", *v);
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < v->size(); ++i) {
      const json& w = (*v)[i];
      if (!w.is_number_integer() || w.get<long long>() <= 0) {
        fail(std::string(name) + "[" + std::to_string(i) + "]", "a positive integer", w);
      }
      out.push_back(w.get<std::size_t>());
    }
    return out;
  }
  float probability(const char* name, float fallback) {
    const json* v = find(name, false);
    if (v == nullptr) return fallback;
    if (!v->is_number() || v->get<double>() < 0.0 || v->get<double>() >= 1.0) fail(name, "a number in [0, 1)", *v);
    return v->get<float>();
  }
  bool boolean(const char* name, bool fallback) {
    const json* v = find(name, false);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail(name, "true or false", *v);
    return v->get<bool>();
  }
  std::uint64_t seed() {
    const json* v = find("seed", false);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned()) fail("seed", "a non-negative integer", *v);
    return v->get<std::uint64_t>();
  }
  ActivationSpec activation(ActivationSpec fallback) {
    const json* v = find("activation", false);
    ActivationSpec a = fallback;
    if (v != nullptr) {
      if (!v->is_string()) fail("activation", "an activation name", *v);
      try {
        a = ActivationSpec::of(parse_activation(v->get<std::string>()));
      } catch (const std::invalid_argument& e) {
        throw ModelSpecError(std::string("model spec: \"activation\": ") + e.what());
      }
    }
    if (const json* alpha = find("alpha", false)) {
      if (!alpha->is_number()) fail("alpha", "a number", *alpha);
      a.alpha = alpha->get<float>();
    }
    return a;
  }
  InitSpec init(InitSpec fallback) {
    const json* v = find("init", false);
    if (v == nullptr) return fallback;
    if (!v->is_string()) fail("init", "an initializer name", *v);
    try {
      InitSpec spec = fallback;
      spec.kind = parse_init(v->get<std::string>());
      return spec;
    } catch (const std::invalid_argument& e) {
      throw ModelSpecError(std::string("model spec: \"init\": ") + e.what());
    }
  }
  // Throws if the spec has a field no reader asked for.
  void finish() const {
    for (const auto& [key, value] : spec_.items()) {
      if (read_.count(key) == 0) {
        throw ModelSpecError("model spec: unknown field \"" + key + "\" for type " + spec_.value("type", json("?")).dump());
      }
    }
  }

 private:
  const json* find(const char* name, bool required) {
    read_.insert(name);
    const auto it = spec_.find(name);
    if (it == spec_.end()) {
      if (required) throw ModelSpecError(std::string("model spec: missing required field \"") + name + "\"");
      return nullptr;
    }
    return &*it;
  }

  const json& spec_;
  std::set<std::string> read_ = {"type"};
};

void expect_type(const json& spec, const char* type) {
  const auto it = spec.find("type");
  if (it == spec.end()) throw ModelSpecError("model spec: missing required field \"type\"");
  if (!it->is_string() || it->get<std::string>() != type) fail("type", std::string("\"") + type + "\"", *it);
}

MlpConfig mlp_from(const json& spec) {
  expect_type(spec, "mlp");
  Fields f(spec);
  MlpConfig c;
  c.inputs = f.positive("inputs", 0, true);
  c.hidden = f.widths("hidden");
  c.outputs = f.positive("outputs", c.outputs);
  c.activation = f.activation(c.activation);
  c.init = f.init(c.init);
  c.dropout = f.probability("dropout", c.dropout);
  c.batch_norm = f.boolean("batch_norm", c.batch_norm);
  c.seed = f.seed();
  f.finish();
  return c;
}

ResNetConfig resnet_from(const json& spec) {
  expect_type(spec, "resnet");
  Fields f(spec);
  ResNetConfig c;
  c.inputs = f.positive("inputs", 0, true);
  c.width = f.positive("width", c.width);
  c.blocks = f.count("blocks", c.blocks);
  c.outputs = f.positive("outputs", c.outputs);
  c.activation = f.activation(c.activation);
  c.init = f.init(c.init);
  c.dropout = f.probability("dropout", c.dropout);
  c.seed = f.seed();
  f.finish();
  return c;
}

DenseNetConfig densenet_from(const json& spec) {
  expect_type(spec, "densenet");
  Fields f(spec);
  DenseNetConfig c;
  c.inputs = f.positive("inputs", 0, true);
  c.width = f.positive("width", c.width);
  c.blocks = f.count("blocks", c.blocks);
  c.layers_per_block = f.positive("layers_per_block", c.layers_per_block);
  c.growth_rate = f.positive("growth_rate", c.growth_rate);
  c.outputs = f.positive("outputs", c.outputs);
  c.activation = f.activation(c.activation);
  c.init = f.init(c.init);
  c.seed = f.seed();
  f.finish();
  return c;
}

}  // namespace

MlpConfig parse_mlp_spec(std::string_view text) { return mlp_from(parse(text)); }
ResNetConfig parse_resnet_spec(std::string_view text) { return resnet_from(parse(text)); }
DenseNetConfig parse_densenet_spec(std::string_view text) { return densenet_from(parse(text)); }

namespace {

// a·b + c, saturating at UINT64_MAX.
std::uint64_t mul_add(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  constexpr std::uint64_t kMax = UINT64_MAX;
  if (a != 0 && b > kMax / a) return kMax;
  return a * b > kMax - c ? kMax : a * b + c;
}

std::uint64_t weight_count(const MlpConfig& c) {
  std::uint64_t n = 0, in = c.inputs;
  for (std::size_t width : c.hidden) n = mul_add(in, width, n), in = width;
  return mul_add(in, c.outputs, n);
}

// Stem inputs·width, per block two width² layers, head width·outputs.
std::uint64_t weight_count(const ResNetConfig& c) {
  const std::uint64_t block = mul_add(2 * std::uint64_t{c.width}, c.width, 0);
  return mul_add(c.width, c.outputs, mul_add(c.blocks, block, mul_add(c.inputs, c.width, 0)));
}

// Stem, per block layer l (width + l·growth)·growth and the transition (width + L·growth)·width,
// head.
std::uint64_t weight_count(const DenseNetConfig& c) {
  std::uint64_t block = 0;
  for (std::size_t l = 0; l < c.layers_per_block; ++l) {
    block = mul_add(mul_add(l, c.growth_rate, c.width), c.growth_rate, block);
  }
  block = mul_add(mul_add(c.layers_per_block, c.growth_rate, c.width), c.width, block);
  return mul_add(c.width, c.outputs, mul_add(c.blocks, block, mul_add(c.inputs, c.width, 0)));
}

}  // namespace

std::uint64_t spec_weight_count(std::string_view text) {
  const json spec = parse(text);
  const auto type = spec.find("type");
  if (type == spec.end()) throw ModelSpecError("model spec: missing required field \"type\"");
  if (*type == "mlp") return weight_count(mlp_from(spec));
  if (*type == "resnet") return weight_count(resnet_from(spec));
  if (*type == "densenet") return weight_count(densenet_from(spec));
  fail("type", "\"mlp\", \"resnet\" or \"densenet\"", *type);
}

std::unique_ptr<Sequential> make_model_from_spec(std::string_view text) {
  const json spec = parse(text);
  const auto type = spec.find("type");
  if (type == spec.end()) throw ModelSpecError("model spec: missing required field \"type\"");
  if (*type == "mlp") return make_mlp(mlp_from(spec));
  if (*type == "resnet") return make_resnet(resnet_from(spec));
  if (*type == "densenet") return make_densenet(densenet_from(spec));
  fail("type", "\"mlp\", \"resnet\" or \"densenet\"", *type);
}

}  // namespace simdnn
