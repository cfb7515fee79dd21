#include <simdnn/models/model_config.h>

#include <stdexcept>
#include <string>

#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dense_block.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/residual.h>

namespace simdnn {
namespace {

void require(bool ok, const char* model, const char* field, const std::string& got) {
  if (!ok) throw std::invalid_argument(std::string(model) + ": " + field + " " + got);
}

void check_common(const char* model, std::size_t inputs, std::size_t outputs) {
  require(inputs > 0, model, "inputs", "must be > 0, got 0");
  require(outputs > 0, model, "outputs", "must be > 0, got 0");
}

void check_dropout(const char* model, float p) {
  require(p >= 0.0f && p < 1.0f, model, "dropout", "must be in [0, 1), got " + std::to_string(p));
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

std::unique_ptr<Sequential> make_mlp(const MlpConfig& c) {
  check_common("mlp", c.inputs, c.outputs);
  check_dropout("mlp", c.dropout);
  for (std::size_t i = 0; i < c.hidden.size(); ++i) {
    require(c.hidden[i] > 0, "mlp", "hidden", "widths must be > 0, got 0 at index " + std::to_string(i));
  }
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
  check_common("resnet", c.inputs, c.outputs);
  check_dropout("resnet", c.dropout);
  require(c.width > 0, "resnet", "width", "must be > 0, got 0");
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
  check_common("densenet", c.inputs, c.outputs);
  require(c.width > 0, "densenet", "width", "must be > 0, got 0");
  require(c.growth_rate > 0, "densenet", "growth_rate", "must be > 0, got 0");
  require(c.layers_per_block > 0, "densenet", "layers_per_block", "must be > 0, got 0");
  auto model = std::make_unique<Sequential>();
  Streams streams;
  model->emplace<Dense>(c.inputs, c.width, dense_options(c.init, c.activation, c.seed, streams()));
  for (std::size_t b = 0; b < c.blocks; ++b) {
    DenseBlockOptions o;
    o.activation = c.activation;
    o.weight_init = c.init;
    o.seed = c.seed;
    o.stream = streams();
    auto& block = model->emplace<DenseBlock>(c.width, c.growth_rate, c.layers_per_block, o);
    model->emplace<Dense>(block.output_width(), c.width, dense_options(c.init, c.activation, c.seed, streams()));
  }
  add_head(*model, c.width, c.outputs, c.init, c.seed, streams);
  return model;
}

}  // namespace simdnn
