// Saving and loading a model: its parameters, its state (BatchNorm running statistics) and,
// optionally, an optimizer's state, in the simdnn tensor file format (train/tensor_file.h:
// magic, version, names and shapes, data, CRC-32; atomic writes).
//
// Entry names: "param/<path>" for every parameter of all_parameters(model), "state/<path>" for
// every tensor of all_state(model), then, with an optimizer, "optimizer/<slot path>" for each
// of its state tensors and "optimizer/step" (a 1x2 tensor holding the 64-bit step count's two
// 32-bit halves, low first, bit for bit).
//
// Loading checks the whole file against the model (and optimizer) before changing anything: on
// any error (missing, truncated, corrupt, other version, other architecture) it throws
// TensorFileError naming the file and what did not match, and the model is exactly as before.
#pragma once

#include <string>

#include <simdnn/layers/layer.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/tensor_file.h>

namespace simdnn {

void save_model(const std::string& path, Layer& model, Optimizer* optimizer = nullptr);
void load_model(const std::string& path, Layer& model, Optimizer* optimizer = nullptr);

}  // namespace simdnn
