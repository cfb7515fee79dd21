// Models: each family builds the documented architecture, passes a gradient check, and is built
// identically from its JSON spec; spec errors name the field.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

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
  for (bool transition_batchnorm : {true, false}) {
    d.transition_batchnorm = transition_batchnorm;
    auto densenet = make_densenet(d);
    testing::check_gradients(*densenet, random_input(16, 5, 3), fine);
  }
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

// The convolutional ResNet and its plain twin: the architecture of model_config.h, the same
// depth, weight counts that match the built model, gradients, and the JSON spec.
TEST(Models, CnnResidualAndPlain) {
  CnnConfig c;
  c.input = {8, 8, 1};
  c.channels = {3, 4};
  c.blocks_per_stage = 1;
  c.outputs = 3;
  c.seed = 7;
  auto kinds = [](Sequential& model) {
    std::string out;
    for (Layer* l : model.children()) out += std::string(l->kind()) + " ";
    return out;
  };
  auto weights = [](Sequential& model) {
    std::uint64_t n = 0;
    for (const Parameter& p : all_parameters(model)) {
      if (p.regularize) n += p.value->size();
    }
    return n;
  };
  auto resnet = make_cnn(c);
  EXPECT_EQ(kinds(*resnet), "conv2d batchnorm2d activation conv_residual conv_residual globalavgpool2d dense ");
  EXPECT_EQ(resnet->output_width(), 3u);
  EXPECT_EQ(weights(*resnet), model_weight_count(c));
  c.residual = false;
  auto plain = make_cnn(c);
  EXPECT_EQ(kinds(*plain),
            "conv2d batchnorm2d activation conv2d batchnorm2d activation conv2d batchnorm2d activation conv2d "
            "batchnorm2d activation conv2d batchnorm2d activation globalavgpool2d dense ");
  EXPECT_EQ(weights(*plain), model_weight_count(c));
  // BatchNorms on small batches curve the loss (a small step), and their outputs sit near the
  // ReLUs' kinks: tanh keeps the check smooth; the ReLU version trains in the repro experiment.
  testing::GradCheckOptions fine{.h = 2e-3, .rtol = 2e-2};
  c.activation = ActivationSpec::of(Activation::tanh);
  testing::check_gradients(*make_cnn(c), random_input(3, 64, 8), fine);
  c.residual = true;
  c.input = {5, 5, 2};
  testing::check_gradients(*make_cnn(c), random_input(3, 50, 9), fine);

  c.activation = ActivationSpec::relu();
  auto from_spec = make_model_from_spec(
      R"({"type": "cnn", "input": [8, 8, 1], "channels": [3, 4], "outputs": 3, "seed": 7, "residual": true})");
  c.input = {8, 8, 1};
  EXPECT_EQ(flatten(*from_spec), flatten(*make_cnn(c)));
  EXPECT_EQ(parse_cnn_spec(R"({"type": "cnn", "input": [28, 28, 1]})").channels, (std::vector<std::size_t>{16, 32, 64}));
  auto pooled = make_model_from_spec(R"({"type": "cnn", "input": [8, 8, 1], "channels": [2], "stem_pool": true})");
  EXPECT_EQ(kinds(*pooled), "conv2d batchnorm2d activation maxpool2d conv_residual globalavgpool2d dense ");
  EXPECT_EQ(pooled->children()[4]->input_width(), 4u * 4u * 2u);
}

void expect_spec_error(const std::string& spec, const std::string& needle) {
  try {
    make_model_from_spec(spec);
    FAIL() << "no error for " << spec;
  } catch (const ModelSpecError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// Each transition is BatchNorm → activation → Dense(width) (the DenseNet paper's order), or, with
// transition_batchnorm false, Dense(width) with the activation fused; both from the JSON spec too.
TEST(Models, DenseNetTransitions) {
  auto kinds = [](Sequential& model) {
    std::string out;
    for (const Layer* layer : model.children()) out += std::string(out.empty() ? "" : " ") + layer->kind();
    return out;
  };
  const char* spec = R"({"type": "densenet", "inputs": 5, "width": 6, "blocks": 2, "growth_rate": 3)";
  auto with_bn = make_model_from_spec(std::string(spec) + "}");
  EXPECT_EQ(kinds(*with_bn), "dense dense_block batchnorm activation dense dense_block batchnorm activation dense dense");
  EXPECT_EQ(with_bn->children()[2]->input_width(), 6u + 3u * 3u);
  auto without = make_model_from_spec(std::string(spec) + R"(, "transition_batchnorm": false})");
  EXPECT_EQ(kinds(*without), "dense dense_block dense dense_block dense dense");
  EXPECT_EQ(spec_weight_count(std::string(spec) + "}"), spec_weight_count(std::string(spec) + R"(, "transition_batchnorm": false})"));
  expect_spec_error(std::string(spec) + R"(, "transition_batchnorm": 1})",
                    R"(model spec: "transition_batchnorm": expected true or false, got 1)");
}

TEST(Models, SpecErrorsNameTheField) {
  expect_spec_error(R"({"type": "mlp", "inputs": 20, "hidden": [64, -3]})", R"("hidden"[1]: expected a positive integer, got -3)");
  expect_spec_error(R"({"type": "mlp", "hidden": [4]})", R"(missing required field "inputs")");
  expect_spec_error(R"({"type": "mlp", "inputs": 2, "hidden": [4], "dropuot": 0.5})", R"(unknown field "dropuot")");
  expect_spec_error(R"({"type": "mlp", "inputs": 2, "hidden": [4], "dropout": 1.5})", R"x("dropout": expected a number in [0, 1), got 1.5)x");
  expect_spec_error(R"({"type": "mlp", "inputs": 2, "hidden": [4], "activation": "relu6"})", R"("activation": activation: expected one of)");
  expect_spec_error(R"({"type": "rnn", "inputs": 2})", R"("type": expected "mlp", "resnet", "densenet" or "cnn", got "rnn")");
  expect_spec_error(R"({"type": "mlp", "inputs": 2, "hidden": [4],)", "not valid JSON");
  expect_spec_error(R"([1, 2])", R"x("(top level)": expected an object)x");
  EXPECT_THROW(make_mlp(MlpConfig{}), std::invalid_argument);  // inputs = 0
}

// Calls `f` (which must throw) and returns the ModelSpecError's message; any other exception, or
// none, fails the test. Every message is bounded.
std::string spec_error_of(const std::function<void()>& f, const std::string& what) {
  try {
    f();
  } catch (const ModelSpecError& e) {
    const std::string message = e.what();
    EXPECT_LE(message.size(), kMaxSpecMessage) << what;
    return message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": not a ModelSpecError: " << e.what();
    return "";
  }
  ADD_FAILURE() << what << ": no error";
  return "";
}

// The four entry points on one spec: each raises a bounded ModelSpecError containing `needle`.
void expect_refused_everywhere(const std::string& spec, const std::string& needle) {
  const std::string what = spec.substr(0, 200);
  for (const std::string& m : {
           spec_error_of([&] { make_model_from_spec(spec); }, what),
           spec_error_of([&] { spec_weight_count(spec); }, what),
       }) {
    EXPECT_NE(m.find(needle), std::string::npos) << what << "\n" << m;
  }
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(Models, CnnSpecErrorsNameTheField) {
  expect_spec_error(R"({"type": "cnn"})", "missing required field \"input\"");
  expect_spec_error(R"({"type": "cnn", "input": [28, 28]})", "\"input\": expected [height, width, channels], got 2");
  expect_spec_error(R"({"type": "cnn", "input": [28, 0, 1]})", "\"input\"[1]: expected a positive integer");
  expect_spec_error(R"({"type": "cnn", "input": [8, 8, 1], "channels": []})", "channels must list at least one stage");
  expect_spec_error(R"({"type": "cnn", "input": [8, 8, 1], "blocks_per_stage": 0})", "blocks_per_stage");
  expect_spec_error(R"({"type": "cnn", "input": [8, 8, 1], "residual": 1})", "\"residual\": expected true or false");
  expect_spec_error(R"({"type": "cnn", "input": [8, 8, 1], "width": 3})", "unknown field \"width\"");
  expect_spec_error(R"({"type": "cnn", "input": [1, 8, 1], "stem_pool": true})", "stem_pool needs an input of at least 2x2");
  expect_spec_error(R"({"type": "cnn", "input": [4096, 4096, 1], "channels": [64]})", "more than 16777216 values");
  expect_spec_error(R"({"type": "conv"})", "\"mlp\", \"resnet\", \"densenet\" or \"cnn\"");
}

TEST(ModelSpecHostile, DeepNestingIsRefusedBeforeParsing) {
  // 100,000 deep: a stack overflow before (dump() of the bad value recursed).
  expect_refused_everywhere(R"({"type":"mlp","inputs":)" + nested(100000) + R"(,"hidden":[16]})",
                            "nested deeper than 64 levels");
  expect_refused_everywhere(R"({"type":"mlp","inputs":)" + std::string(100000, '{'), "nested deeper than 64");
  // The top-level object is level 1: 63 more levels are accepted (and then refused as a value).
  expect_refused_everywhere(R"({"type":"mlp","inputs":)" + nested(63) + "}", R"("inputs": expected a positive integer, got [[[[)");
  expect_refused_everywhere(R"({"type":"mlp","inputs":)" + nested(64) + "}", "nested deeper than 64 levels at byte 86");
  // Brackets inside strings, escaped quotes included, do not count.
  expect_refused_everywhere(R"({"type":"mlp","inputs":2,"hidden":[4],"note \"[":")" + std::string(1000, '[') + R"("})",
                            R"(unknown field "note \"[")");
  spec_error_of([&] { parse_mlp_spec(nested(65)); }, "parse_mlp_spec");
  spec_error_of([&] { parse_resnet_spec(nested(65)); }, "parse_resnet_spec");
  spec_error_of([&] { parse_densenet_spec(nested(65)); }, "parse_densenet_spec");
}

TEST(ModelSpecHostile, BadValuesAreQuotedBriefly) {
  const std::string big(10'000'000, 'x');
  // A 10 MB string as a value, a field name, a type, an activation, and unterminated.
  expect_refused_everywhere(R"({"type":"mlp","inputs":")" + big + R"(","hidden":[4]})", R"("inputs": expected a positive integer, got "xxx)");
  expect_refused_everywhere(R"({"type":"mlp","inputs":2,"hidden":[4],")" + big + R"(":1})", R"(unknown field "xxx)");
  expect_refused_everywhere(R"({"type":")" + big + R"("})", R"("type": expected "mlp", "resnet", "densenet" or "cnn", got "xxx)");
  expect_refused_everywhere(R"({"type":"mlp","inputs":2,"hidden":[4],"activation":")" + big + R"("})", R"("activation": )");
  expect_refused_everywhere(R"({"type":"mlp","inputs":2,"hidden":[4],"init":")" + big + R"("})", R"("init": )");
  expect_refused_everywhere(R"({"type":"mlp","inputs":")" + big, "not valid JSON");
  // Multi-byte characters are cut whole; large arrays and objects are quoted in part.
  std::string accents;
  for (int i = 0; i < 1000; ++i) accents += "\xc3\xa9";
  accents = "x" + accents;  // so that a cut at an even byte count falls inside a character
  const std::string m = spec_error_of([&] { make_model_from_spec(R"({"type":")" + accents + R"("})"); }, "accents");
  EXPECT_NE(m.find(R"(got "xéé)"), std::string::npos) << m;
  EXPECT_EQ(m.find("\xef\xbf\xbd"), std::string::npos) << m;  // no replacement character
  std::string array = "[";
  for (int i = 0; i < 100000; ++i) array += std::to_string(i) + ",";
  array.back() = ']';
  expect_refused_everywhere(R"({"type":"mlp","inputs":)" + array + "}", R"("inputs": expected a positive integer, got [0,1,2,)");
  expect_refused_everywhere(R"({"type":"mlp","inputs":{"a":[[[{"b":)" + big.substr(0, 1000) + "}]]]}}", "not valid JSON");
  expect_refused_everywhere(R"({"type":"mlp","inputs":{"a":[[[[{"b":1}]]]],"c":2}})", R"(got {"a":[[[[...]]]],"c":2})");
}

TEST(ModelSpecHostile, AbsurdSizesAreRefusedBeforeAllocating) {
  // Ran for minutes before, memory growing.
  expect_refused_everywhere(R"({"type":"resnet","inputs":4,"width":1,"blocks":1000000000000})",
                            R"("blocks": expected a non-negative integer at most 100000, got 1000000000000)");
  expect_refused_everywhere(R"({"type":"resnet","inputs":4,"width":1000000000000})",
                            R"("width": expected a positive integer at most 16777216, got 1000000000000)");
  expect_refused_everywhere(R"({"type":"mlp","inputs":4,"hidden":[8,1000000000000]})", R"("hidden"[1]: expected a positive integer at most 16777216)");
  expect_refused_everywhere(R"({"type":"mlp","inputs":4,"hidden":[8],"outputs":16777217})", R"("outputs": expected a positive integer at most 16777216)");
  expect_refused_everywhere(R"({"type":"mlp","inputs":18446744073709551615,"hidden":[8]})", R"("inputs": expected a positive integer at most 16777216)");
  expect_refused_everywhere(R"({"type":"mlp","inputs":18446744073709551616,"hidden":[8]})", R"("inputs": expected a positive integer, got 1.8446744073709552e+19)");
  // std::bad_alloc before: 65536 × 65536 weights (and 65536 in the head).
  expect_refused_everywhere(R"({"type":"mlp","inputs":65536,"hidden":[65536]})",
                            "model spec: mlp: inputs, hidden, outputs describe a model with 4295032832 weights, more than the limit of 2147483648");
  expect_refused_everywhere(R"({"type":"resnet","inputs":4,"width":16777216,"blocks":100000})", "resnet: inputs, width, blocks, outputs describe a model with");
  expect_refused_everywhere(R"({"type":"densenet","inputs":4,"width":8,"layers_per_block":1000000000000})",
                            R"("layers_per_block": expected a positive integer at most 100000)");
  expect_refused_everywhere(R"({"type":"densenet","inputs":4,"width":8,"blocks":400,"layers_per_block":251,"growth_rate":1})",
                            "densenet: blocks, layers_per_block must give at most 100000 layers in all, got 400 x 251");
  expect_refused_everywhere(R"({"type":"densenet","inputs":4,"width":16777200,"layers_per_block":2,"growth_rate":16})",
                            "block output width of 16777232, more than the limit of 16777216");
  expect_refused_everywhere(R"({"type":"densenet","inputs":4,"width":1000,"blocks":1,"layers_per_block":100000,"growth_rate":100})",
                            "densenet: inputs, width, blocks, layers_per_block, growth_rate, outputs describe a model with");
  std::string many = R"({"type":"mlp","inputs":1,"hidden":[)";
  for (std::size_t i = 0; i <= kMaxModelDepth; ++i) many += "1,";
  many.back() = ']';
  expect_refused_everywhere(many + "}", R"("hidden": expected at most 100000 widths, got 100001)");

  // At the limits: accepted (counted, not built).
  EXPECT_EQ(spec_weight_count(R"({"type":"mlp","inputs":1,"hidden":[16777216]})"), 2u << 24);
  EXPECT_EQ(spec_weight_count(R"({"type":"mlp","inputs":32767,"hidden":[65536]})"), 1u << 31);  // + the head
  expect_refused_everywhere(R"({"type":"mlp","inputs":32767,"hidden":[65536],"outputs":2})", "2147549184 weights");
  EXPECT_EQ(parse_resnet_spec(R"({"type":"resnet","inputs":1,"width":1,"blocks":100000})").blocks, 100000u);

  // The configuration structs give std::invalid_argument naming the field, before allocating.
  auto expect_config_error = [](const std::function<void()>& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no error for " << needle;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  MlpConfig mlp;
  mlp.inputs = 65536;
  mlp.hidden = {65536};
  expect_config_error([&] { make_mlp(mlp); }, "mlp: inputs, hidden, outputs describe a model with 4295032832 weights");
  mlp.inputs = 4;
  mlp.hidden = {8, std::size_t{1} << 40};
  expect_config_error([&] { make_mlp(mlp); }, "mlp: hidden widths must be at most 16777216, got 1099511627776 at index 1");
  mlp.hidden.assign(kMaxModelDepth + 1, 1);
  expect_config_error([&] { make_mlp(mlp); }, "mlp: hidden must be at most 100000, got 100001");
  ResNetConfig resnet;
  resnet.inputs = 4;
  resnet.width = 1;
  resnet.blocks = 1'000'000'000'000;
  expect_config_error([&] { make_resnet(resnet); }, "resnet: blocks must be at most 100000, got 1000000000000");
  resnet.blocks = 1;
  resnet.width = 1'000'000'000'000;
  expect_config_error([&] { make_resnet(resnet); }, "resnet: width must be at most 16777216");
  DenseNetConfig densenet;
  densenet.inputs = 4;
  densenet.layers_per_block = 1'000'000'000'000;
  expect_config_error([&] { make_densenet(densenet); }, "densenet: layers_per_block must be at most 100000");
  densenet.layers_per_block = 3;
  densenet.growth_rate = std::size_t{1} << 30;
  expect_config_error([&] { make_densenet(densenet); }, "densenet: growth_rate must be at most 16777216");
  densenet.growth_rate = 16;
  densenet.outputs = std::size_t{1} << 25;
  expect_config_error([&] { make_densenet(densenet); }, "densenet: outputs must be at most 16777216");
}

TEST(ModelSpecHostile, WeightCountsAreExactAndSaturate) {
  // The closed form of a DenseNet's count against a sum over its layers.
  for (std::size_t layers : {1, 2, 3, 7}) {
    DenseNetConfig d;
    d.inputs = 5;
    d.width = 6;
    d.blocks = 3;
    d.layers_per_block = layers;
    d.growth_rate = 4;
    d.outputs = 2;
    auto model = make_densenet(d);
    std::uint64_t weights = 0;
    for (const Parameter& p : all_parameters(*model)) {
      if (p.name.size() >= 6 && p.name.compare(p.name.size() - 6, 6, "weight") == 0) weights += p.value->size();
    }
    EXPECT_EQ(model_weight_count(d), weights) << layers;
  }
  DenseNetConfig huge;
  huge.inputs = 1;
  huge.layers_per_block = std::size_t{1} << 40;
  huge.growth_rate = std::size_t{1} << 20;
  EXPECT_EQ(model_weight_count(huge), UINT64_MAX);  // constant time, no overflow
  ResNetConfig r;
  r.inputs = 1;
  r.width = std::size_t{1} << 40;
  EXPECT_EQ(model_weight_count(r), UINT64_MAX);
}

TEST(ModelSpecHostile, FloatFieldsAreFiniteFloats) {
  expect_refused_everywhere(R"({"type":"mlp","inputs":2,"hidden":[4],"activation":"elu","alpha":1e39})",
                            R"("alpha": expected a finite number in the range of a float, got 1e+39)");
  expect_refused_everywhere(R"({"type":"resnet","inputs":2,"activation":"leaky_relu","alpha":-3.5e38})", R"("alpha": expected a finite number)");
  expect_refused_everywhere(R"({"type":"mlp","inputs":2,"hidden":[4],"alpha":1e400})", "not valid JSON");
  expect_refused_everywhere(R"({"type":"mlp","inputs":2,"hidden":[4],"alpha":"1"})", R"("alpha": expected a number, got "1")");
  EXPECT_EQ(parse_mlp_spec(R"({"type":"mlp","inputs":2,"hidden":[4],"alpha":-3.4e38})").activation.alpha, -3.4e38f);
  // 0.99999999 becomes 1.0f, which make_mlp refused with another exception type before.
  expect_refused_everywhere(R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":0.99999999})",
                            R"x("dropout": expected a number in [0, 1) (as a float), got 0.99999999)x");
  expect_refused_everywhere(R"({"type":"resnet","inputs":2,"dropout":0.99999999})", R"("dropout": expected a number in [0, 1))");
  expect_refused_everywhere(R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":-1e-300})", R"("dropout": expected a number in [0, 1))");
  const MlpConfig c = parse_mlp_spec(R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":0.9999999})");
  EXPECT_LT(c.dropout, 1.0f);
  EXPECT_NO_THROW(make_mlp(c));
  MlpConfig nan = c;
  nan.dropout = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(make_mlp(nan), std::invalid_argument);
}

TEST(ModelSpecHostile, EveryErrorIsABoundedModelSpecError) {
  const std::vector<std::string> specs = {
      "", " ", "null", "1", "\"mlp\"", "[]", "{", "}", "\xff\xfe", R"({"type":"mlp\u0000"})",
      R"({"type":"mlp","inputs":2,"hidden":[4],"type":"resnet"})",
      R"({"type":null})", R"({"type":["mlp"]})", R"({})",
      R"({"type":"mlp","inputs":-9223372036854775808,"hidden":[4]})",
      R"({"type":"mlp","inputs":2.0,"hidden":[4]})",
      R"({"type":"mlp","inputs":2,"hidden":null})",
      R"({"type":"mlp","inputs":2,"hidden":[0]})",
      R"({"type":"mlp","inputs":2,"hidden":[4],"seed":-1})",
      R"({"type":"mlp","inputs":2,"hidden":[4],"seed":1.5})",
      R"({"type":"mlp","inputs":2,"hidden":[4],"seed":18446744073709551616})",
      R"({"type":"mlp","inputs":2,"hidden":[4],"batch_norm":1})",
      R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":1e400})",
      R"({"type":"mlp","inputs":2,"hidden":[4],"dropout":-0.0,"alpha":1e-50,"x":1})",
      R"({"type":"densenet","inputs":2,"blocks":-1})",
      R"({"type":"densenet","inputs":2,"growth_rate":0})",
      R"({"type":"resnet","inputs":2,"blocks":100001})",
  };
  for (const std::string& spec : specs) {
    spec_error_of([&] { make_model_from_spec(spec); }, spec);
    spec_error_of([&] { spec_weight_count(spec); }, spec);
  }
  spec_error_of([&] { parse_mlp_spec(R"({"type":"resnet","inputs":2})"); }, "parse_mlp_spec");
  spec_error_of([&] { parse_densenet_spec(R"({"type":"densenet","inputs":2,"width":16777216,"growth_rate":1})"); },
                "parse_densenet_spec");
}

}  // namespace
}  // namespace simdnn
