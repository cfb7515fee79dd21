// The notebook's data set (data/notebook.h) and its network, 20-64-32-16-1 ReLU with He init,
// shared by every experiment that trains on them.
#pragma once

#include <cstdint>

#include <simdnn/data/notebook.h>
#include <simdnn/models/model_config.h>

namespace simdnn::repro {

// The notebook's network: inputs 20, hidden {64, 32, 16}, one logit output, ReLU, He normal init
// (WeightInitializer.he draws N(0, 2/n_in)), no dropout, no BatchNorm; adjust the fields as needed.
MlpConfig notebook_mlp_config(std::uint64_t seed);

}  // namespace simdnn::repro
