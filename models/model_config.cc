#include <simdnn/models/model_config.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/conv2d.h>
#include <simdnn/layers/conv_residual.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dense_block.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/pooling.h>
#include <simdnn/layers/residual.h>

namespace simdnn {
namespace {

void require(bool ok, const char* model, const char* field, const std::string& got) {
  if (!ok) throw std::invalid_argument(std::string(model) + ": " + field + " " + got);
}

void check_width(const char* model, const char* field, std::size_t w) {
  require(w > 0, model, field, "must be > 0, got 0");
  require(w <= kMaxModelWidth, model, field,
          "must be at most " + std::to_string(kMaxModelWidth) + ", got " + std::to_string(w));
}

void check_depth(const char* model, const char* field, std::size_t n) {
  require(n <= kMaxModelDepth, model, field,
          "must be at most " + std::to_string(kMaxModelDepth) + ", got " + std::to_string(n));
}

void check_common(const char* model, std::size_t inputs, std::size_t outputs) {
  require(inputs > 0, model, "inputs", "must be > 0, got 0");
  require(outputs > 0, model, "outputs", "must be > 0, got 0");
  check_width(model, "inputs", inputs);
  check_width(model, "outputs", outputs);
}

void check_dropout(const char* model, float p) {
  require(p >= 0.0f && p < 1.0f, model, "dropout", "must be in [0, 1), got " + std::to_string(p));
}

void check_weights(const char* model, const char* fields, std::uint64_t weights) {
  require(weights <= kMaxModelWeights, model, fields,
          "describe a model with " + (weights == UINT64_MAX ? std::string("2^64 or more") : std::to_string(weights)) +
              " weights, more than the limit of " + std::to_string(kMaxModelWeights));
}

// a·b + c, saturating at UINT64_MAX.
std::uint64_t mul_add(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  constexpr std::uint64_t kMax = UINT64_MAX;
  if (a != 0 && b > kMax / a) return kMax;
  return a * b > kMax - c ? kMax : a * b + c;
}

// Layer streams: layer i of a model gets stream i, so no two layers share random numbers.
struct Streams {
  std::uint64_t next = 0;
  std::uint64_t operator()() { return next++; }
};

DenseOptions dense_options(const InitSpec& init, ActivationSpec activation, std::uint64_t seed,
                           std::uint64_t stream, bool bias = true) {
  DenseOptions o;
  o.activation = activation;
  o.weight_init = init;
  o.seed = seed;
  o.stream = stream;
  o.bias = bias;
  return o;
}

// The output layer: the model's initializer (the notebook uses He everywhere), no activation —
// it emits logits.
void add_head(Sequential& model, std::size_t in, std::size_t outputs, const InitSpec& init,
              std::uint64_t seed, Streams& streams) {
  model.emplace<Dense>(in, outputs, dense_options(init, ActivationSpec::identity(), seed, streams()));
}

}  // namespace

std::uint64_t model_weight_count(const MlpConfig& c) {
  std::uint64_t n = 0, in = c.inputs;
  for (std::size_t width : c.hidden) n = mul_add(in, width, n), in = width;
  return mul_add(in, c.outputs, n);
}

// Stem inputs·width, per block two width² layers, head width·outputs.
std::uint64_t model_weight_count(const ResNetConfig& c) {
  const std::uint64_t block = mul_add(2 * std::uint64_t{c.width}, c.width, 0);
  return mul_add(c.width, c.outputs, mul_add(c.blocks, block, mul_add(c.inputs, c.width, 0)));
}

// Stem, per block layer l (width + l·growth)·growth and the transition (width + L·growth)·width,
// head. The layers of a block sum to L·width·growth + growth²·L(L−1)/2.
std::uint64_t model_weight_count(const DenseNetConfig& c) {
  const std::uint64_t L = c.layers_per_block, g = c.growth_rate;
  const std::uint64_t pairs = L % 2 == 0 ? mul_add(L / 2, L == 0 ? 0 : L - 1, 0) : mul_add(L, (L - 1) / 2, 0);
  std::uint64_t block = mul_add(mul_add(g, g, 0), pairs, mul_add(mul_add(L, c.width, 0), g, 0));
  block = mul_add(mul_add(L, g, c.width), c.width, block);
  return mul_add(c.width, c.outputs, mul_add(c.blocks, block, mul_add(c.inputs, c.width, 0)));
}

// Stem 9·C_in·c₀; per block 9·c_in·c + 9·c² (and c_in·c for a residual block's projection when
// the shape changes); head c_last·outputs.
std::uint64_t model_weight_count(const CnnConfig& c) {
  if (c.channels.empty()) return 0;
  std::uint64_t n = mul_add(9 * std::uint64_t{c.input.channels}, c.channels[0], 0);
  std::uint64_t in = c.channels[0];
  for (std::size_t s = 0; s < c.channels.size(); ++s) {
    const std::uint64_t out = c.channels[s];
    for (std::size_t b = 0; b < c.blocks_per_stage; ++b) {
      const bool changes = in != out || (s > 0 && b == 0);
      n = mul_add(9 * in, out, mul_add(9 * out, out, n));
      if (c.residual && changes) n = mul_add(in, out, n);
      in = out;
    }
  }
  return mul_add(in, c.outputs, n);
}

void validate(const MlpConfig& c) {
  check_common("mlp", c.inputs, c.outputs);
  check_dropout("mlp", c.dropout);
  check_depth("mlp", "hidden", c.hidden.size());
  for (std::size_t i = 0; i < c.hidden.size(); ++i) {
    require(c.hidden[i] > 0, "mlp", "hidden", "widths must be > 0, got 0 at index " + std::to_string(i));
    require(c.hidden[i] <= kMaxModelWidth, "mlp", "hidden",
            "widths must be at most " + std::to_string(kMaxModelWidth) + ", got " + std::to_string(c.hidden[i]) +
                " at index " + std::to_string(i));
  }
  check_weights("mlp", "inputs, hidden, outputs", model_weight_count(c));
}

void validate(const ResNetConfig& c) {
  check_common("resnet", c.inputs, c.outputs);
  check_dropout("resnet", c.dropout);
  check_width("resnet", "width", c.width);
  check_depth("resnet", "blocks", c.blocks);
  check_weights("resnet", "inputs, width, blocks, outputs", model_weight_count(c));
}

void validate(const DenseNetConfig& c) {
  check_common("densenet", c.inputs, c.outputs);
  check_width("densenet", "width", c.width);
  check_width("densenet", "growth_rate", c.growth_rate);
  require(c.layers_per_block > 0, "densenet", "layers_per_block", "must be > 0, got 0");
  check_depth("densenet", "blocks", c.blocks);
  check_depth("densenet", "layers_per_block", c.layers_per_block);
  require(mul_add(c.blocks, c.layers_per_block, 0) <= kMaxModelDepth, "densenet", "blocks, layers_per_block",
          "must give at most " + std::to_string(kMaxModelDepth) + " layers in all, got " + std::to_string(c.blocks) +
              " x " + std::to_string(c.layers_per_block));
  const std::uint64_t block_width = mul_add(c.layers_per_block, c.growth_rate, c.width);
  require(block_width <= kMaxModelWidth, "densenet", "width, layers_per_block, growth_rate",
          "give a block output width of " + std::to_string(block_width) + ", more than the limit of " +
              std::to_string(kMaxModelWidth));
  check_weights("densenet", "inputs, width, blocks, layers_per_block, growth_rate, outputs", model_weight_count(c));
}

void validate(const CnnConfig& c) {
  check_width("cnn", "input height", c.input.height);
  check_width("cnn", "input width", c.input.width);
  check_width("cnn", "input channels", c.input.channels);
  check_width("cnn", "input size", c.input.size());
  require(!c.stem_pool || (c.input.height >= 2 && c.input.width >= 2), "cnn", "stem_pool",
          "needs an input of at least 2x2, got " + to_string(c.input));
  check_width("cnn", "outputs", c.outputs);
  require(!c.channels.empty(), "cnn", "channels", "must list at least one stage, got none");
  for (std::size_t i = 0; i < c.channels.size(); ++i) {
    require(c.channels[i] > 0 && c.channels[i] <= kMaxModelWidth, "cnn", "channels",
            "must be in [1, " + std::to_string(kMaxModelWidth) + "], got " + std::to_string(c.channels[i]) +
                " at index " + std::to_string(i));
    require(mul_add(c.input.pixels(), c.channels[i], 0) <= kMaxModelWidth, "cnn", "channels",
            "give an activation of more than " + std::to_string(kMaxModelWidth) + " values per image at index " +
                std::to_string(i));
  }
  require(c.blocks_per_stage > 0, "cnn", "blocks_per_stage", "must be > 0, got 0");
  require(mul_add(c.channels.size(), c.blocks_per_stage, 0) <= kMaxModelDepth, "cnn", "channels, blocks_per_stage",
          "must give at most " + std::to_string(kMaxModelDepth) + " blocks in all");
  check_weights("cnn", "input, channels, blocks_per_stage, outputs", model_weight_count(c));
}

std::unique_ptr<Sequential> make_mlp(const MlpConfig& c) {
  validate(c);
  auto model = std::make_unique<Sequential>();
  Streams streams;
  std::size_t in = c.inputs;
  for (std::size_t width : c.hidden) {
    if (c.batch_norm) {
      model->emplace<Dense>(in, width, dense_options(c.init, ActivationSpec::identity(), c.seed, streams(), false));
      model->emplace<BatchNorm>(width);
      model->emplace<ActivationLayer>(width, c.activation);
    } else {
      model->emplace<Dense>(in, width, dense_options(c.init, c.activation, c.seed, streams()));
    }
    if (c.dropout > 0.0f) model->emplace<Dropout>(width, c.dropout, DropoutOptions{c.seed, streams()});
    in = width;
  }
  add_head(*model, in, c.outputs, c.init, c.seed, streams);
  return model;
}

std::unique_ptr<Sequential> make_resnet(const ResNetConfig& c) {
  validate(c);
  auto model = std::make_unique<Sequential>();
  Streams streams;
  model->emplace<Dense>(c.inputs, c.width, dense_options(c.init, c.activation, c.seed, streams()));
  for (std::size_t b = 0; b < c.blocks; ++b) {
    ResidualOptions o;
    o.activation = c.activation;
    o.dropout = c.dropout;
    o.weight_init = c.init;
    o.seed = c.seed;
    o.stream = streams();
    model->emplace<ResidualBlock>(c.width, c.width, c.width, o);
  }
  add_head(*model, c.width, c.outputs, c.init, c.seed, streams);
  return model;
}

std::unique_ptr<Sequential> make_densenet(const DenseNetConfig& c) {
  validate(c);
  auto model = std::make_unique<Sequential>();
  Streams streams;
  model->emplace<Dense>(c.inputs, c.width, dense_options(c.init, c.activation, c.seed, streams()));
  for (std::size_t b = 0; b < c.blocks; ++b) {
    DenseBlockOptions o;
    o.activation = c.activation;
    o.weight_init = c.init;
    o.seed = c.seed;
    o.stream = streams();
    const std::size_t concat = model->emplace<DenseBlock>(c.width, c.growth_rate, c.layers_per_block, o).output_width();
    if (c.transition_batchnorm) {
      model->emplace<BatchNorm>(concat);
      model->emplace<ActivationLayer>(concat, c.activation);
      model->emplace<Dense>(concat, c.width, dense_options(c.init, ActivationSpec::identity(), c.seed, streams()));
    } else {
      model->emplace<Dense>(concat, c.width, dense_options(c.init, c.activation, c.seed, streams()));
    }
  }
  add_head(*model, c.width, c.outputs, c.init, c.seed, streams);
  return model;
}

namespace {

Conv2DOptions conv_options(const CnnConfig& c, std::size_t stride, std::uint64_t stream) {
  return {.stride = stride, .padding = 1, .bias = false, .weight_init = c.init, .seed = c.seed, .stream = stream};
}

// A plain block: a residual block's branch, Conv3x3(stride) → BN → act → Conv3x3 → BN → act.
ImageShape add_plain_block(Sequential& model, const CnnConfig& c, ImageShape in, std::size_t channels,
                           std::size_t stride, Streams& streams) {
  const ImageShape mid = model.emplace<Conv2D>(in, channels, 3, conv_options(c, stride, streams())).output_shape();
  model.emplace<BatchNorm2D>(mid);
  model.emplace<ActivationLayer>(mid.size(), c.activation);
  const ImageShape out = model.emplace<Conv2D>(mid, channels, 3, conv_options(c, 1, streams())).output_shape();
  model.emplace<BatchNorm2D>(out);
  model.emplace<ActivationLayer>(out.size(), c.activation);
  return out;
}

}  // namespace

std::unique_ptr<Sequential> make_cnn(const CnnConfig& c) {
  validate(c);
  auto model = std::make_unique<Sequential>();
  Streams streams;
  ImageShape shape = model->emplace<Conv2D>(c.input, c.channels[0], 3, conv_options(c, 1, streams())).output_shape();
  model->emplace<BatchNorm2D>(shape);
  model->emplace<ActivationLayer>(shape.size(), c.activation);
  if (c.stem_pool) shape = model->emplace<MaxPool2D>(shape, 2).output_shape();
  for (std::size_t s = 0; s < c.channels.size(); ++s) {
    for (std::size_t b = 0; b < c.blocks_per_stage; ++b) {
      const std::size_t stride = s > 0 && b == 0 ? 2 : 1;
      if (c.residual) {
        ConvResidualOptions o{.activation = c.activation, .weight_init = c.init, .seed = c.seed, .stream = streams()};
        shape = model->emplace<ConvResidualBlock>(shape, c.channels[s], stride, o).output_shape();
      } else {
        shape = add_plain_block(*model, c, shape, c.channels[s], stride, streams);
      }
    }
  }
  model->emplace<GlobalAvgPool2D>(shape);
  add_head(*model, shape.channels, c.outputs, c.init, c.seed, streams);
  return model;
}

}  // namespace simdnn
