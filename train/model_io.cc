#include <simdnn/train/model_io.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace simdnn {
namespace {

// The file's entries for `model` (and `optimizer`); `step` holds the step count's bits.
std::vector<NamedTensor> entries(Layer& model, Optimizer* optimizer, Tensor& step) {
  std::vector<NamedTensor> out;
  for (const Parameter& p : all_parameters(model)) out.push_back({"param/" + p.name, p.value});
  for (const StateTensor& s : all_state(model)) out.push_back({"state/" + s.name, s.value});
  if (optimizer != nullptr) {
    for (const StateTensor& s : optimizer->state().tensors) out.push_back({"optimizer/" + s.name, s.value});
    out.push_back({"optimizer/step", &step});
  }
  return out;
}

}  // namespace

void save_model(const std::string& path, Layer& model, Optimizer* optimizer) {
  Tensor step(1, 2);
  if (optimizer != nullptr) {
    const std::uint64_t count = optimizer->step_count();
    const std::uint32_t halves[2] = {static_cast<std::uint32_t>(count), static_cast<std::uint32_t>(count >> 32)};
    std::memcpy(step.data(), halves, sizeof(halves));
  }
  write_tensor_file(path, entries(model, optimizer, step));
}

void load_model(const std::string& path, Layer& model, Optimizer* optimizer) {
  Tensor step(1, 2);
  read_tensor_file(path, entries(model, optimizer, step));
  if (optimizer != nullptr) {
    std::uint32_t halves[2];
    std::memcpy(halves, step.data(), sizeof(halves));
    optimizer->set_step_count(static_cast<std::uint64_t>(halves[1]) << 32 | halves[0]);
  }
}

}  // namespace simdnn
