// simdnn info: what a model file holds.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <simdnn/layers/sequential.h>
#include <simdnn/train/tensor_file.h>

#include "tools/cli/cli_error.h"
#include "tools/cli/commands.h"

namespace simdnn::cli {
namespace {

// What the file holds beyond the model: the optimizer's name, tensors and step count.
struct OptimizerInfo {
  std::string name;  // empty: no optimizer state
  std::size_t tensors = 0;
  std::uint64_t step = 0;
};

OptimizerInfo optimizer_info(const std::string& path) {
  const TensorFileContents file = read_tensor_file(path);  // already checked by load_model
  OptimizerInfo info;
  bool present = false;
  for (std::size_t i = 0; i < file.names.size(); ++i) {
    if (file.names[i].rfind("optimizer/", 0) != 0) continue;
    present = true;
    if (file.names[i] != "optimizer/step") {
      ++info.tensors;
      continue;
    }
    std::uint32_t halves[2] = {0, 0};  // model_io.h: the step count's 32-bit halves, low first
    if (file.tensors[i].size() == 2) std::memcpy(halves, file.tensors[i].data(), sizeof halves);
    info.step = static_cast<std::uint64_t>(halves[1]) << 32 | halves[0];
  }
  if (present) {
    const nlohmann::json meta = nlohmann::json::parse(file.metadata, nullptr, false);
    info.name = meta.is_object() ? meta.value("optimizer", std::string("unknown")) : "unknown";
  }
  return info;
}

void print_layers(const Model& model) {
  std::printf("layers:\n");
  const Sequential& net = *model.network;
  for (std::size_t i = 0; i < net.size(); ++i) {
    const Layer& l = net.at(i);
    std::printf("  %-14s %-12s %zu -> %zu\n", l.name().c_str(), l.kind(), l.input_width(), l.output_width());
  }
}

std::size_t parameter_count(const Model& model, std::size_t* tensors) {
  std::size_t count = 0;
  // Enumerating parameters needs a non-const Layer; this only reads their sizes.
  const auto params = all_parameters(const_cast<Sequential&>(*model.network));
  for (const Parameter& p : params) count += p.value->size();
  *tensors = params.size();
  return count;
}

}  // namespace

CLI::App* add_info_command(CLI::App& app, InfoArgs& a) {
  CLI::App* c = app.add_subcommand("info", "architecture, classes, scaler and size of a model file");
  c->add_option("model", a.model, "the model file")->required()->type_name("MODEL");
  return c;
}

int run_info(const InfoArgs& a) {
  const Model model = load_model_file(a.model, "model");
  OptimizerInfo opt;
  try {
    opt = optimizer_info(a.model);
  } catch (const std::exception& e) {
    throw CliError(std::string("model: ") + e.what());
  }
  std::size_t tensors = 0;
  const std::size_t params = parameter_count(model, &tensors);
  std::printf("file: %s\narchitecture: %s\n", a.model.c_str(), model.spec.c_str());
  std::printf("input width: %zu\noutputs: %zu\noutput kind: %s\n", model.input_width(), model.output_width(),
              output_kind_name(model.output));
  std::printf("classes: %s\n", model.class_names.empty() ? "(no names; class indices)" : join_names(model.class_names).c_str());
  std::printf("scaler: %s\n", model.scaler ? "yes (StandardScaler of the inputs)" : "no");
  std::printf("parameters: %zu in %zu tensors\n", params, tensors);
  if (opt.name.empty()) {
    std::printf("optimizer state: no\n");
  } else {
    std::printf("optimizer state: yes (%s, %zu tensors, step %llu)\n", opt.name.c_str(), opt.tensors,
                static_cast<unsigned long long>(opt.step));
  }
  print_layers(model);
  return kExitOk;
}

}  // namespace simdnn::cli
