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
#include <simdnn/core/image.h>
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
// transition] → Dense(outputs). The transition compresses the block's concatenated output
// (width + layers·growth features) back to `width`: BatchNorm → activation → Dense(width), as
// the DenseNet paper's BN → ReLU → 1×1 convolution, so that every transition starts the next
// block from normalized features. With transition_batchnorm = false it is Dense(width) →
// activation, as before 27 November 2026; without the BatchNorm the features' scale compounds
// from block to block and DenseNets of 50 or more layers diverge (REPORT.md, section 8).
struct DenseNetConfig {
  std::size_t inputs = 0;
  std::size_t width = 64;
  std::size_t blocks = 2;
  std::size_t layers_per_block = 3;
  std::size_t growth_rate = 16;
  std::size_t outputs = 1;
  ActivationSpec activation = ActivationSpec::relu();
  InitSpec init = InitSpec::he_normal();
  bool transition_batchnorm = true;
  std::uint64_t seed = 0;
};

// Convolutional networks on NHWC images (core/image.h), the notebook's architecture exercise (a
// ResNet of several stages against a plain network of the same depth):
//   image → Conv3x3(channels[0], pad 1) → BatchNorm2D → activation → [MaxPool2D(2) if stem_pool]
//         → per stage s: blocks_per_stage blocks with channels[s] (the first block of every
//           stage after the first has stride 2: it halves the height and width)
//         → GlobalAvgPool2D → Dense(outputs)
// A block is a ConvResidualBlock (layers/conv_residual.h) when `residual`; otherwise its branch
// without the skip, Conv3x3 → BN → act → Conv3x3 → BN → act: the same convolutions, the same
// depth (2 per block), no shortcut. Convolutions have no bias (BatchNorm follows each).
struct CnnConfig {
  ImageShape input;  // e.g. {28, 28, 1} for MNIST
  std::vector<std::size_t> channels = {16, 32, 64};  // one entry per stage
  std::size_t blocks_per_stage = 1;
  std::size_t outputs = 10;
  bool residual = true;
  bool stem_pool = false;  // halve the image after the stem (4x less work in every later layer)
  ActivationSpec activation = ActivationSpec::relu();
  InitSpec init = InitSpec::he_normal();
  std::uint64_t seed = 0;
};

// Limits on every configuration, checked before anything is allocated, by make_* below and by
// the JSON spec parser (models/model_spec.h), so that no input can make a build run out of
// memory or time:
// - every layer width (inputs, outputs, each hidden width, width, growth_rate, and a DenseNet
//   block's output width + layers_per_block·growth_rate) is at most kMaxModelWidth (2^24);
// - the number of hidden layers, blocks and layers_per_block are each at most kMaxModelDepth
//   (100,000), and so is a DenseNet's blocks·layers_per_block;
// - the model has at most kMaxModelWeights (2^31) weights, counted as model_weight_count does
//   (exact integer arithmetic, saturating: no overflow).
inline constexpr std::size_t kMaxModelWidth = std::size_t{1} << 24;
inline constexpr std::size_t kMaxModelDepth = 100'000;
inline constexpr std::uint64_t kMaxModelWeights = std::uint64_t{1} << 31;

// The number of weights (entries of the Dense layers' weight matrices; biases and BatchNorm's γ,
// β not counted) of the model a configuration describes, without building it, saturating at
// UINT64_MAX (constant time, or linear in hidden.size()); the limits above are not checked.
std::uint64_t model_weight_count(const MlpConfig& config);
std::uint64_t model_weight_count(const ResNetConfig& config);
std::uint64_t model_weight_count(const DenseNetConfig& config);
// For a CNN: the entries of every convolution's and the head's weight matrices.
std::uint64_t model_weight_count(const CnnConfig& config);

// Throw std::invalid_argument naming the field when the configuration is invalid (zero widths,
// dropout outside [0, 1) or not finite, a limit above exceeded, ...); return otherwise.
void validate(const MlpConfig& config);
void validate(const ResNetConfig& config);
void validate(const DenseNetConfig& config);
void validate(const CnnConfig& config);

// Each validate()s the configuration first: std::invalid_argument naming the field when it is
// invalid, before anything is allocated.
std::unique_ptr<Sequential> make_mlp(const MlpConfig& config);
std::unique_ptr<Sequential> make_resnet(const ResNetConfig& config);
std::unique_ptr<Sequential> make_densenet(const DenseNetConfig& config);
std::unique_ptr<Sequential> make_cnn(const CnnConfig& config);

}  // namespace simdnn
