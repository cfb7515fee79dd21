// Models: each family builds the documented architecture, passes a gradient check, and is built
// identically from its JSON spec; spec errors name the field.
#include <gtest/gtest.h>

#include <string>

#include <simdnn/core/random.h>
#include <simdnn/models/model_config.h>
#include <simdnn/models/model_spec.h>
#include "tests/gradient_check.h"

namespace simdnn {
namespace {

Tensor random_input(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  Tensor x(rows, cols);
  fill_normal(x.view(), 0.0f, 1.0f, seed, 0);
  return x;
}

std::vector<float> flatten(Layer& model) {
  std::vector<float> v;
  for (const Parameter& p : all_parameters(model)) v.insert(v.end(), p.value->data(), p.value->data() + p.value->size());
  return v;
}

TEST(Models, MlpStructureAndGradients) {
  MlpConfig c;
  c.inputs = 6;
  c.hidden = {8, 5};
  c.outputs = 3;
  c.activation = ActivationSpec::of(Activation::tanh);
  c.batch_norm = true;
  auto model = make_mlp(c);
  // Dense, BN, act per hidden layer, then the head.
  ASSERT_EQ(model->children().size(), 7u);
  EXPECT_STREQ(model->children()[1]->kind(), "batchnorm");
  EXPECT_EQ(model->output_width(), 3u);
  testing::check_gradients(*model, random_input(5, 6, 1));
}

TEST(Models, ResNetAndDenseNetGradients) {
  ResNetConfig r;
  r.inputs = 5;
  r.width = 6;
  r.blocks = 2;
  r.activation = ActivationSpec::of(Activation::tanh);
  auto resnet = make_resnet(r);
  EXPECT_EQ(resnet->children().size(), 4u);  // input Dense, 2 blocks, head
  // Two BatchNorms per block on a small batch make the loss strongly curved: a smaller step
  // keeps the central difference's O(h²) error below the tolerance.
  testing::GradCheckOptions fine;
  fine.h = 2e-3;
  fine.rtol = 2e-2;
  testing::check_gradients(*resnet, random_input(16, 5, 2), fine);

  DenseNetConfig d;
  d.inputs = 5;
  d.width = 6;
  d.blocks = 2;
  d.layers_per_block = 2;
  d.growth_rate = 3;
  d.outputs = 2;
  d.activation = ActivationSpec::of(Activation::tanh);
  auto densenet = make_densenet(d);
  testing::check_gradients(*densenet, random_input(16, 5, 3), fine);
}

TEST(Models, JsonSpecBuildsTheSameModelAsTheConfig) {
  MlpConfig c;
  c.inputs = 20;
  c.hidden = {64, 32, 16};
  c.dropout = 0.3f;
  c.seed = 42;
  auto from_config = make_mlp(c);
  auto from_spec = make_model_from_spec(
      R"({"type": "mlp", "inputs": 20, "hidden": [64, 32, 16], "dropout": 0.3, "seed": 42,
          "activation": "relu", "init": "he_normal"})");
  EXPECT_EQ(flatten(*from_config), flatten(*from_spec));
  EXPECT_EQ(from_spec->children().size(), from_config->children().size());
  auto resnet = make_model_from_spec(R"({"type": "resnet", "inputs": 20, "width": 16, "blocks": 3})");
  EXPECT_EQ(resnet->children().size(), 5u);
  auto densenet = make_model_from_spec(R"({"type": "densenet", "inputs": 20, "growth_rate": 4})");
  EXPECT_EQ(densenet->output_width(), 1u);
  EXPECT_EQ(parse_mlp_spec(R"({"type": "mlp", "inputs": 3, "hidden": [], "activation": "leaky_relu", "alpha": 0.2})")
                .activation.alpha, 0.2f);
}

void expect_spec_error(const std::string& spec, const std::string& needle) {
  try {
    make_model_from_spec(spec);
    FAIL() << "no error for " << spec;
  } catch (const ModelSpecError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Models, SpecErrorsNameTheField) {
  expect_spec_error(R"({"type": "mlp", "inputs": 20, "hidden": [64, -3]})", R"("hidden"[1]: expected a positive integer, got -3)");
  expect_spec_error(R"({"type": "mlp", "hidden": [4]})", R"(missing required field "inputs")");
  expect_spec_error(R"({"type": "mlp", "inputs": 2, "hidden": [4], "dropuot": 0.5})", R"(unknown field "dropuot")");
  expect_spec_error(R"({"type": "mlp", "inputs": 2, "hidden": [4], "dropout": 1.5})", R"x("dropout": expected a number in [0, 1), got 1.5)x");
  expect_spec_error(R"({"type": "mlp", "inputs": 2, "hidden": [4], "activation": "relu6"})", R"("activation": activation: expected one of)");
  expect_spec_error(R"({"type": "cnn", "inputs": 2})", R"("type": expected "mlp", "resnet" or "densenet", got "cnn")");
  expect_spec_error(R"({"type": "mlp", "inputs": 2, "hidden": [4],)", "not valid JSON");
  expect_spec_error(R"([1, 2])", R"x("(top level)": expected an object)x");
  EXPECT_THROW(make_mlp(MlpConfig{}), std::invalid_argument);  // inputs = 0
}

}  // namespace
}  // namespace simdnn
