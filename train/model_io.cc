#include <simdnn/train/model_io.h>

#include <nlohmann/json.hpp>

#include <simdnn/models/model_spec.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace simdnn {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "simdnn-model";
constexpr int kMetadataVersion = 1;

// The file entries of a network's parameters and state.
std::vector<NamedTensor> network_entries(Layer& network) {
  std::vector<NamedTensor> out;
  for (const Parameter& p : all_parameters(network)) out.push_back({"param/" + p.name, p.value});
  for (const StateTensor& s : all_state(network)) out.push_back({"state/" + s.name, s.value});
  return out;
}

// The optimizer's entries; `step` holds the step count's bits.
void add_optimizer_entries(Optimizer& optimizer, Tensor& step, std::vector<NamedTensor>& out) {
  for (const StateTensor& s : optimizer.state().tensors) out.push_back({"optimizer/" + s.name, s.value});
  out.push_back({"optimizer/step", &step});
}

Tensor step_tensor(const Optimizer& optimizer) {
  Tensor step(1, 2);
  const std::uint64_t count = optimizer.step_count();
  const std::uint32_t halves[2] = {static_cast<std::uint32_t>(count), static_cast<std::uint32_t>(count >> 32)};
  std::memcpy(step.data(), halves, sizeof(halves));
  return step;
}

std::uint64_t step_count_of(const Tensor& step) {
  std::uint32_t halves[2];
  std::memcpy(halves, step.data(), sizeof(halves));
  return static_cast<std::uint64_t>(halves[1]) << 32 | halves[0];
}

bool is_optimizer_entry(const std::string& name) { return name.rfind("optimizer/", 0) == 0; }

// Checks that `file` holds exactly `wanted` (plus optimizer entries when `ignore_optimizer`),
// each with the wanted shape; then copies the values. Nothing is written unless all match.
void assign(const std::string& path, const TensorFileContents& file, const std::vector<NamedTensor>& wanted,
            bool ignore_optimizer) {
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < file.names.size(); ++i) index.emplace(file.names[i], i);
  std::vector<std::size_t> source;
  for (const NamedTensor& w : wanted) {
    const auto it = index.find(w.name);
    if (it == index.end()) {
      throw TensorFileError(path + ": has no tensor \"" + w.name + "\"" +
                            (is_optimizer_entry(w.name) ? " (the file holds no state for this optimizer)"
                                                        : " (the model has it: another architecture?)"));
    }
    const Tensor& have = file.tensors[it->second];
    if (have.rows() != w.tensor->rows() || have.cols() != w.tensor->cols()) {
      throw TensorFileError(path + ": at byte " + std::to_string(file.offsets[it->second]) + ": tensor \"" +
                            w.name + "\" is " + shape_string(have.rows(), have.cols()) + ", expected " +
                            shape_string(w.tensor->rows(), w.tensor->cols()));
    }
    if (w.name.rfind("param/", 0) == 0) {  // state tensors may hold raw bits (Dropout's step)
      for (std::size_t i = 0; i < have.size(); ++i) {
        if (!std::isfinite(have.data()[i])) {
          throw TensorFileError(path + ": tensor \"" + w.name + "\" holds " + std::to_string(have.data()[i]) +
                                " at index " + std::to_string(i) + ", expected finite weights");
        }
      }
    }
    source.push_back(it->second);
  }
  if (source.size() != file.names.size()) {
    std::unordered_map<std::string, bool> want;
    for (const NamedTensor& w : wanted) want.emplace(w.name, true);
    for (std::size_t i = 0; i < file.names.size(); ++i) {
      if (want.count(file.names[i]) != 0 || (ignore_optimizer && is_optimizer_entry(file.names[i]))) continue;
      throw TensorFileError(path + ": at byte " + std::to_string(file.offsets[i]) + ": tensor \"" + file.names[i] +
                            "\" is not in the model (another architecture?)");
    }
  }
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const Tensor& t = file.tensors[source[i]];
    if (t.size() != 0) std::memcpy(wanted[i].tensor->data(), t.data(), t.size() * sizeof(float));
  }
}

json metadata_of(const Model* model, const Optimizer* optimizer) {
  json meta = {{"format", kFormat}, {"version", kMetadataVersion}, {"spec", nullptr}};
  if (model != nullptr) {
    if (!model->spec.empty()) {
      try {
        meta["spec"] = json::parse(model->spec);
      } catch (const json::exception& e) {
        throw std::invalid_argument(std::string("save_model: the model's spec is not valid JSON: ") + e.what());
      }
    }
    meta["output"] = output_kind_name(model->output);
    if (!model->class_names.empty()) meta["classes"] = model->class_names;
    if (model->scaler) meta["scaler"] = {{"mean", model->scaler->mean()}, {"scale", model->scaler->scale()}};
  }
  if (optimizer != nullptr) meta["optimizer"] = optimizer->name();
  return meta;
}

void save(const std::string& path, Layer& network, const Model* model, Optimizer* optimizer) {
  const std::string metadata = metadata_of(model, optimizer).dump();
  std::vector<NamedTensor> entries = network_entries(network);
  Tensor step;
  if (optimizer != nullptr) {
    step = step_tensor(*optimizer);
    add_optimizer_entries(*optimizer, step, entries);
  }
  write_tensor_file(path, entries, metadata);
}

// The file's metadata, parsed and checked; a version 1 file gives an empty object.
json parse_metadata(const std::string& path, const TensorFileContents& file) {
  if (file.metadata.empty()) return json::object();
  json meta;
  // Bounded nesting: nlohmann's dump() and copies recurse, so a deeply nested value in a file
  // must be refused while parsing, before anything walks it.
  constexpr int kMaxDepth = 64;
  const auto bounded = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) {
      throw TensorFileError(path + ": metadata is nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    return true;
  };
  try {
    meta = json::parse(file.metadata, bounded);
  } catch (const json::exception& e) {
    throw TensorFileError(path + ": metadata is not valid JSON: " + std::string(e.what()).substr(0, 200));
  }
  if (!meta.is_object() || meta.value("format", json()) != kFormat) {
    throw TensorFileError(path + ": metadata does not describe a simdnn model (no \"format\": \"" +
                          std::string(kFormat) + "\")");
  }
  if (meta.value("version", json()) != kMetadataVersion) {
    throw TensorFileError(path + ": model metadata version " + meta.value("version", json()).dump() +
                          ", this build reads version " + std::to_string(kMetadataVersion));
  }
  return meta;
}

// Output kind (the model's own where absent), class names and scaler (none where absent) from
// the metadata.
void read_extras(const std::string& path, const json& meta, Model& into) {
  try {
    if (meta.contains("output")) into.output = parse_output_kind(meta.at("output").get<std::string>());
    into.class_names = meta.contains("classes") ? meta.at("classes").get<std::vector<std::string>>()
                                                : std::vector<std::string>{};
    if (meta.contains("scaler")) {
      const json& s = meta.at("scaler");
      into.scaler = StandardScaler(s.at("mean").get<std::vector<double>>(), s.at("scale").get<std::vector<double>>());
    } else {
      into.scaler.reset();
    }
    into.validate();
  } catch (const std::exception& e) {
    throw TensorFileError(path + ": metadata: " + e.what());
  }
}

void load_network(const std::string& path, const TensorFileContents& file, Layer& network, Optimizer* optimizer) {
  std::vector<NamedTensor> wanted = network_entries(network);
  Tensor step(1, 2);
  if (optimizer != nullptr) add_optimizer_entries(*optimizer, step, wanted);
  assign(path, file, wanted, optimizer == nullptr);
  if (optimizer != nullptr) optimizer->set_step_count(step_count_of(step));
}

}  // namespace

void save_model(const std::string& path, const Model& model, Optimizer* optimizer) {
  model.validate();
  // Enumerating parameters needs a non-const Layer; saving only reads them.
  save(path, const_cast<Sequential&>(*model.network), &model, optimizer);
}

void save_model(const std::string& path, Layer& network, Optimizer* optimizer) {
  save(path, network, nullptr, optimizer);
}

Model load_model(const std::string& path) {
  const TensorFileContents file = read_tensor_file(path);
  const json meta = parse_metadata(path, file);
  if (!meta.contains("spec") || meta.at("spec").is_null()) {
    throw TensorFileError(path + ": the file holds no architecture (saved from a network built by hand, or "
                          "format version " + std::to_string(file.version) +
                          "); build the network and call load_model(path, network)");
  }
  Model model;
  try {
    const std::string spec = meta.at("spec").dump();
    std::uint64_t held = 0;  // the parameter values the file holds
    for (std::size_t i = 0; i < file.names.size(); ++i) {
      if (file.names[i].rfind("param/", 0) == 0) held += file.tensors[i].size();
    }
    const std::uint64_t needed = spec_weight_count(spec);
    if (needed > held) {
      throw TensorFileError(path + ": metadata: \"spec\" describes a model with at least " + std::to_string(needed) +
                            " weights, but the file holds " + std::to_string(held) + " parameter values");
    }
    model = Model::from_spec(spec);
  } catch (const TensorFileError&) {
    throw;
  } catch (const std::exception& e) {
    throw TensorFileError(path + ": metadata: \"spec\": " + e.what());
  }
  read_extras(path, meta, model);
  load_network(path, file, *model.network, nullptr);
  return model;
}

void load_model(const std::string& path, Model& model, Optimizer* optimizer) {
  if (!model.network) throw std::invalid_argument("load_model: the model has no network");
  const TensorFileContents file = read_tensor_file(path);
  const json meta = parse_metadata(path, file);
  Model extras;  // checked on the side, so that a bad file changes nothing
  extras.network = std::move(model.network);
  extras.output = model.output;
  try {
    read_extras(path, meta, extras);
    load_network(path, file, *extras.network, optimizer);
  } catch (...) {
    model.network = std::move(extras.network);
    throw;
  }
  model.network = std::move(extras.network);
  model.output = extras.output;
  model.class_names = std::move(extras.class_names);
  model.scaler = std::move(extras.scaler);
  if (meta.contains("spec") && !meta.at("spec").is_null()) model.spec = meta.at("spec").dump();
}

void load_model(const std::string& path, Layer& network, Optimizer* optimizer) {
  const TensorFileContents file = read_tensor_file(path);
  parse_metadata(path, file);
  load_network(path, file, network, optimizer);
}

std::string read_model_metadata(const std::string& path) {
  const TensorFileContents file = read_tensor_file(path);
  return file.metadata.empty() ? std::string() : parse_metadata(path, file).dump(2);
}

}  // namespace simdnn
