// The three model families simdnn builds — a plain MLP (the notebook's DeepNeuralNetwork), a
// fully connected ResNet and a fully connected DenseNet — described by configuration structs.
// Each builds a Sequential (layers/sequential.h) that outputs logits: the loss applies the
// sigmoid (one output, binary cross-entropy) or the softmax (several outputs).
//
// Every random choice (weights, dropout masks) derives from `seed`; each layer gets its own
// stream, so a configuration and a seed determine the model bit for bit at any thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <simdnn/core/activation.h>
#include <simdnn/core/initializers.h>
#include <simdnn/layers/sequential.h>

namespace simdnn {

// inputs → [Dense → (BatchNorm) → activation → (Dropout)] per hidden width → Dense(outputs).
// With batch_norm the hidden Dense layers have no bias (BatchNorm's β replaces it).
struct MlpConfig {
  std::size_t inputs = 0;
  std::vector<std::size_t> hidden;  // widths of the hidden layers
  std::size_t outputs = 1;
  ActivationSpec activation = ActivationSpec::relu();
  InitSpec init = InitSpec::he_normal();
  float dropout = 0.0f;  // drop probability after each hidden activation; 0 = none
  bool batch_norm = false;
  std::uint64_t seed = 0;
};

// inputs → Dense(width) → activation → blocks × ResidualBlock(width, width, width) → Dense(outputs)
// (the notebook's ResNet: each block is Dense → BN → act → (Dropout) → Dense → BN, + skip, act).
struct ResNetConfig {
  std::size_t inputs = 0;
  std::size_t width = 64;
  std::size_t blocks = 2;
  std::size_t outputs = 1;
  ActivationSpec activation = ActivationSpec::relu();
  InitSpec init = InitSpec::he_normal();
  float dropout = 0.0f;
  std::uint64_t seed = 0;
};

// inputs → Dense(width) → activation → blocks × [DenseBlock(growth, layers_per_block) →
// transition Dense(width) → activation] → Dense(outputs). The transition compresses the
// block's concatenated output (width + layers·growth features) back to `width`.
struct DenseNetConfig {
  std::size_t inputs = 0;
  std::size_t width = 64;
  std::size_t blocks = 2;
  std::size_t layers_per_block = 3;
  std::size_t growth_rate = 16;
  std::size_t outputs = 1;
  ActivationSpec activation = ActivationSpec::relu();
  InitSpec init = InitSpec::he_normal();
  std::uint64_t seed = 0;
};

// Each throws std::invalid_argument naming the field when the configuration is invalid
// (zero widths, dropout outside [0, 1), ...).
std::unique_ptr<Sequential> make_mlp(const MlpConfig& config);
std::unique_ptr<Sequential> make_resnet(const ResNetConfig& config);
std::unique_ptr<Sequential> make_densenet(const DenseNetConfig& config);

}  // namespace simdnn
