// Saving and loading models, in the simdnn tensor file format (train/tensor_file.h: magic,
// version, metadata, names and shapes, data, CRC-32; atomic writes).
//
// A model file stands alone: load_model(path) rebuilds the network from the architecture the
// file holds and returns a ready Model (models/model.h). The file holds
//   metadata  a JSON object: {"format": "simdnn-model", "version": 1,
//             "spec": {...the JSON spec of models/model_spec.h...}, "output": "class_logits",
//             "classes": ["cat", "dog", ...], "scaler": {"mean": [...], "scale": [...]},
//             "optimizer": "adam"}  — "spec" is null for a network built by hand, "classes",
//             "scaler" and "optimizer" appear only when present;
//   tensors   "param/<path>" for every parameter of all_parameters(network), "state/<path>" for
//             every tensor of all_state(network) (BatchNorm statistics, Dropout's step counter),
//             then, when saved with an optimizer, "optimizer/<slot path>" for each of its state
//             tensors and "optimizer/step" (a 1x2 tensor holding the 64-bit step count's two
//             32-bit halves, low first, bit for bit).
//
// Loading reads and checks the whole file (structure, CRC, metadata, every name and shape)
// before changing anything: on any error (missing, truncated, corrupt, foreign, other version,
// other architecture, a renamed or missing tensor, an unexpected one, a parameter holding NaN or
// infinity) it throws TensorFileError
// naming the file and what did not match, and the model (and optimizer) are exactly as before.
// Optimizer state in a file is read only when an optimizer is given; loading for inference
// ignores it. Files of format version 1 (weights only, no metadata) still load into a network
// built by the caller.
#pragma once

#include <string>

#include <simdnn/layers/layer.h>
#include <simdnn/models/model.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/tensor_file.h>

namespace simdnn {

// The whole model: architecture, weights, state, output kind, class names, scaler; and the
// optimizer's state for resuming training when `optimizer` is given. Throws TensorFileError on
// write errors, std::invalid_argument if the model fails Model::validate().
void save_model(const std::string& path, const Model& model, Optimizer* optimizer = nullptr);

// A ready model from a file saved with a spec. Throws TensorFileError (e.g. for a file of a
// network built by hand, whose architecture the file does not hold).
Model load_model(const std::string& path);

// Loads weights, state, output kind, class names and scaler into `model`, whose network must
// have exactly the file's tensor names and shapes; with `optimizer`, its state too (the file
// must hold it).
void load_model(const std::string& path, Model& model, Optimizer* optimizer = nullptr);

// The network alone (no architecture in the file; "spec" is null).
void save_model(const std::string& path, Layer& network, Optimizer* optimizer = nullptr);
// Into a network built by the caller: every name and shape must match.
void load_model(const std::string& path, Layer& network, Optimizer* optimizer = nullptr);

// The metadata object of a model file as JSON text ("" for version 1 files), after checking the
// file; what `simdnn info` prints.
std::string read_model_metadata(const std::string& path);

}  // namespace simdnn
