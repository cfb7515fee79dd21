#include <simdnn/models/model_spec.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <set>
#include <string>

namespace simdnn {
namespace {

using nlohmann::json;

// UTF-8-safe: cuts `s` to at most `n` bytes (at a character boundary) followed by "...".
std::string shorten(std::string s, std::size_t n) {
  if (s.size() <= n) return s;
  std::size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s + "...";
}

[[noreturn]] void spec_error(const std::string& message) {
  throw ModelSpecError(shorten(message, kMaxSpecMessage - 3));
}

// A JSON string of at most about `budget` characters of `s`.
std::string quote_string(std::string_view s, std::size_t budget) {
  const bool cut = s.size() > budget;
  std::size_t n = std::min(s.size(), budget);
  while (cut && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // whole characters
  std::string head(s.substr(0, n));
  std::string out = json(std::move(head)).dump(-1, ' ', false, json::error_handler_t::replace);
  return cut ? out + "..." : out;
}

// Appends JSON text for `v` to `out`, stopping at about `limit` characters in all: a spec's value
// is quoted without copying or walking all of it (nor recursing deeply).
void quote_into(const json& v, std::string& out, std::size_t limit, int depth) {
  if (out.size() >= limit) return;
  if (v.is_string()) {
    out += quote_string(v.get_ref<const std::string&>(), limit - out.size());
  } else if (v.is_array() || v.is_object()) {
    const char* brackets = v.is_array() ? "[]" : "{}";
    if (depth >= 4) {
      out += brackets[0] + std::string("...") + brackets[1];
      return;
    }
    out += brackets[0];
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out.size() >= limit) {
        out += "...";
        break;
      }
      if (!first) out += ',';
      first = false;
      if (v.is_object()) out += quote_string(it.key(), limit - out.size()) + ':';
      quote_into(*it, out, limit, depth + 1);
    }
    out += brackets[1];
  } else {
    out += v.dump();  // a number, true, false or null: short
  }
}

std::string quote(const json& v) {
  std::string out;
  quote_into(v, out, kMaxSpecQuote, 0);
  return shorten(std::move(out), kMaxSpecQuote);
}

// `field` is a name ("width") or an element of one ("hidden[1]"), quoted as "width", "hidden"[1].
[[noreturn]] void fail(const std::string& field, const std::string& expected, const json& got) {
  const std::size_t bracket = std::min(field.find('['), field.size());
  spec_error("model spec: \"" + field.substr(0, bracket) + "\"" + field.substr(bracket) + ": expected " + expected +
             ", got " + quote(got));
}

// Rejects text nested deeper than kMaxSpecDepth before it is parsed: nothing recursive (parsing,
// copying, quoting) ever sees a deep value.
void check_nesting(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxSpecDepth) {
        spec_error("model spec: nested deeper than " + std::to_string(kMaxSpecDepth) + " levels at byte " +
                   std::to_string(i));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

json parse(std::string_view text) {
  check_nesting(text);
  json spec;
  try {
    spec = json::parse(text);
  } catch (const json::exception& e) {  // parse_error; out_of_range for a number such as 1e400
    spec_error("model spec: not valid JSON: " + shorten(e.what(), 200));
  }
  if (!spec.is_object()) fail("(top level)", "an object", spec);
  return spec;
}

// A configuration checked as make_mlp and the others check it, as ModelSpecError.
template <class Config>
Config validated(Config c) {
  try {
    validate(c);
  } catch (const std::invalid_argument& e) {
    spec_error(std::string("model spec: ") + e.what());
  }
  return c;
}

// Reads the fields of one spec, and at the end rejects any field it did not read.
class Fields {
 public:
  explicit Fields(const json& spec) : spec_(spec) {}

  std::size_t positive(const char* name, std::size_t fallback, bool required = false,
                       std::size_t max = kMaxModelWidth) {
    const json* v = find(name, required);
    if (v == nullptr) return fallback;
    return integer(*v, name, 1, max, "a positive integer");
  }
  std::size_t count(const char* name, std::size_t fallback, std::size_t max = kMaxModelDepth) {  // may be 0
    const json* v = find(name, false);
    if (v == nullptr) return fallback;
    return integer(*v, name, 0, max, "a non-negative integer");
  }
  std::vector<std::size_t> widths(const char* name) {
    const json* v = find(name, true);
    if (!v->is_array()) fail(name, "an array of positive integers", *v);
    if (v->size() > kMaxModelDepth) {
      spec_error(std::string("model spec: \"") + name + "\": expected at most " + std::to_string(kMaxModelDepth) +
                 " widths, got " + std::to_string(v->size()));
    }
    std::vector<std::size_t> out;
    out.reserve(v->size());
    for (std::size_t i = 0; i < v->size(); ++i) {
      out.push_back(integer((*v)[i], std::string(name) + "[" + std::to_string(i) + "]", 1, kMaxModelWidth,
                            "a positive integer"));
    }
    return out;
  }
  // Checked as the float the model gets: 0.99999999 rounds to 1 and is refused.
  float probability(const char* name, float fallback) {
    const json* v = find(name, false);
    if (v == nullptr) return fallback;
    if (!v->is_number()) fail(name, "a number in [0, 1)", *v);
    const double d = v->get<double>();
    if (!(d >= 0.0 && d < 1.0)) fail(name, "a number in [0, 1)", *v);
    if (!(static_cast<float>(d) < 1.0f)) fail(name, "a number in [0, 1) (as a float)", *v);
    return static_cast<float>(d);
  }
  // Any number a float holds finitely.
  float finite(const char* name, float fallback) {
    const json* v = find(name, false);
    if (v == nullptr) return fallback;
    if (!v->is_number()) fail(name, "a number", *v);
    const double d = v->get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
      fail(name, "a finite number in the range of a float", *v);
    }
    return static_cast<float>(d);
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
        spec_error(std::string("model spec: \"activation\": ") + e.what());
      }
    }
    a.alpha = finite("alpha", a.alpha);
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
      spec_error(std::string("model spec: \"init\": ") + e.what());
    }
  }
  // Throws if the spec has a field no reader asked for.
  void finish() const {
    for (const auto& [key, value] : spec_.items()) {
      if (read_.count(key) == 0) {
        spec_error("model spec: unknown field " + quote_string(key, kMaxSpecQuote) + " for type " +
                   quote(spec_.at("type")));
      }
    }
  }

 private:
  // An integer in [min, max]; `expected` describes the lower bound ("a positive integer").
  static std::size_t integer(const json& v, const std::string& field, std::uint64_t min, std::uint64_t max,
                             const char* expected) {
    if (!v.is_number_integer()) fail(field, expected, v);
    if (!v.is_number_unsigned() && v.get<std::int64_t>() < 0) fail(field, expected, v);
    const std::uint64_t u = v.get<std::uint64_t>();
    if (u < min) fail(field, expected, v);
    if (u > max) fail(field, std::string(expected) + " at most " + std::to_string(max), v);
    return static_cast<std::size_t>(u);
  }

  const json* find(const char* name, bool required) {
    read_.insert(name);
    const auto it = spec_.find(name);
    if (it == spec_.end()) {
      if (required) spec_error(std::string("model spec: missing required field \"") + name + "\"");
      return nullptr;
    }
    return &*it;
  }

  const json& spec_;
  std::set<std::string> read_ = {"type"};
};

void expect_type(const json& spec, const char* type) {
  const auto it = spec.find("type");
  if (it == spec.end()) spec_error("model spec: missing required field \"type\"");
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
  return validated(c);
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
  return validated(c);
}

DenseNetConfig densenet_from(const json& spec) {
  expect_type(spec, "densenet");
  Fields f(spec);
  DenseNetConfig c;
  c.inputs = f.positive("inputs", 0, true);
  c.width = f.positive("width", c.width);
  c.blocks = f.count("blocks", c.blocks);
  c.layers_per_block = f.positive("layers_per_block", c.layers_per_block, false, kMaxModelDepth);
  c.growth_rate = f.positive("growth_rate", c.growth_rate);
  c.outputs = f.positive("outputs", c.outputs);
  c.activation = f.activation(c.activation);
  c.init = f.init(c.init);
  c.transition_batchnorm = f.boolean("transition_batchnorm", c.transition_batchnorm);
  c.seed = f.seed();
  f.finish();
  return validated(c);
}

constexpr const char* kTypes = "\"mlp\", \"resnet\", \"densenet\" or \"cnn\"";

CnnConfig cnn_from(const json& spec) {
  expect_type(spec, "cnn");
  Fields f(spec);
  CnnConfig c;
  const std::vector<std::size_t> input = f.widths("input");
  if (input.size() != 3) {
    spec_error("model spec: \"input\": expected [height, width, channels], got " + std::to_string(input.size()) +
               " numbers");
  }
  c.input = {input[0], input[1], input[2]};
  if (spec.contains("channels")) c.channels = f.widths("channels");
  c.blocks_per_stage = f.positive("blocks_per_stage", c.blocks_per_stage, false, kMaxModelDepth);
  c.outputs = f.positive("outputs", c.outputs);
  c.residual = f.boolean("residual", c.residual);
  c.stem_pool = f.boolean("stem_pool", c.stem_pool);
  c.activation = f.activation(c.activation);
  c.init = f.init(c.init);
  c.seed = f.seed();
  f.finish();
  return validated(c);
}

}  // namespace

MlpConfig parse_mlp_spec(std::string_view text) { return mlp_from(parse(text)); }
ResNetConfig parse_resnet_spec(std::string_view text) { return resnet_from(parse(text)); }
DenseNetConfig parse_densenet_spec(std::string_view text) { return densenet_from(parse(text)); }
CnnConfig parse_cnn_spec(std::string_view text) { return cnn_from(parse(text)); }

std::uint64_t spec_weight_count(std::string_view text) {
  const json spec = parse(text);
  const auto type = spec.find("type");
  if (type == spec.end()) spec_error("model spec: missing required field \"type\"");
  if (*type == "mlp") return model_weight_count(mlp_from(spec));
  if (*type == "resnet") return model_weight_count(resnet_from(spec));
  if (*type == "densenet") return model_weight_count(densenet_from(spec));
  if (*type == "cnn") return model_weight_count(cnn_from(spec));
  fail("type", kTypes, *type);
}

std::unique_ptr<Sequential> make_model_from_spec(std::string_view text) {
  const json spec = parse(text);
  const auto type = spec.find("type");
  if (type == spec.end()) spec_error("model spec: missing required field \"type\"");
  try {
    if (*type == "mlp") return make_mlp(mlp_from(spec));
    if (*type == "resnet") return make_resnet(resnet_from(spec));
    if (*type == "densenet") return make_densenet(densenet_from(spec));
    if (*type == "cnn") return make_cnn(cnn_from(spec));
  } catch (const ModelSpecError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {  // not expected once the configuration is validated
    spec_error(std::string("model spec: ") + e.what());
  }
  fail("type", kTypes, *type);
}

}  // namespace simdnn
