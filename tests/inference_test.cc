// Inference: Layer::infer equals forward(eval) bit for bit for every model family; Predictor's
// outputs, probabilities and classes; batching; concurrent inference from 8 threads equals serial.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/core/threading.h>
#include <simdnn/models/model.h>
#include <simdnn/models/predictor.h>

namespace simdnn {
namespace {

const char* const kSpecs[] = {
    R"({"type": "mlp", "inputs": 12, "hidden": [40, 24], "outputs": 3, "batch_norm": true, "dropout": 0.3, "seed": 5})",
    R"({"type": "mlp", "inputs": 12, "hidden": [16], "outputs": 1, "activation": "gelu", "seed": 6})",
    R"({"type": "resnet", "inputs": 12, "width": 24, "blocks": 3, "outputs": 4, "dropout": 0.1, "seed": 7})",
    R"({"type": "densenet", "inputs": 12, "width": 16, "blocks": 2, "layers_per_block": 2, "growth_rate": 8, "outputs": 5, "seed": 8})",
};

Tensor random_inputs(std::size_t rows, std::size_t cols, std::uint64_t stream) {
  Tensor x(rows, cols);
  fill_normal(x.view(), 0.0f, 1.0f, 42, stream);
  return x;
}

// Trains a few steps so BatchNorm's running statistics are not the initial ones.
void perturb(Sequential& net, ConstMatrixView x) {
  for (int i = 0; i < 3; ++i) net.forward(x, Mode::train);
}

void expect_bitwise_equal(ConstMatrixView a, ConstMatrixView b, const std::string& what) {
  ASSERT_EQ(a.rows, b.rows) << what;
  ASSERT_EQ(a.cols, b.cols) << what;
  for (std::size_t r = 0; r < a.rows; ++r) {
    ASSERT_EQ(std::memcmp(a.row(r), b.row(r), a.cols * sizeof(float)), 0) << what << ", row " << r;
  }
}

TEST(Inference, InferEqualsEvalForwardForEveryFamily) {
  for (const char* spec : kSpecs) {
    Model model = Model::from_spec(spec);
    const Tensor x = random_inputs(37, 12, 1);
    perturb(*model.network, x.cview());
    InferenceBuffers buffers;
    const ConstMatrixView inferred = model.network->infer(x.cview(), buffers);
    const ConstMatrixView forward = model.network->forward(x.cview(), Mode::eval);
    expect_bitwise_equal(inferred, forward, spec);
    // A second pass with the same buffers gives the same bits.
    buffers.rewind();
    expect_bitwise_equal(model.network->infer(x.cview(), buffers), forward, spec);
  }
}

TEST(Inference, PredictMatchesForwardInOneBatch) {
  Model model = Model::from_spec(kSpecs[0]);
  const Tensor x = random_inputs(50, 12, 2);
  perturb(*model.network, x.cview());
  const Tensor out = predict(model, x.cview(), 64);
  expect_bitwise_equal(out.cview(), model.network->forward(x.cview(), Mode::eval), "predict");
}

TEST(Inference, BatchSizeDoesNotChangeResults) {
  for (const char* spec : kSpecs) {
    Model model = Model::from_spec(spec);
    const Tensor x = random_inputs(70, 12, 3);
    const Tensor whole = predict(model, x.cview(), 256);
    for (std::size_t batch : {1, 7, 32}) {
      expect_bitwise_equal(predict(model, x.cview(), batch).cview(), whole.cview(),
                           std::string(spec) + " batch " + std::to_string(batch));
    }
  }
}

TEST(Inference, ProbabilitiesAndClasses) {
  Model multi = Model::from_spec(kSpecs[2]);
  const Tensor x = random_inputs(30, 12, 4);
  const Tensor logits = predict(multi, x.cview());
  const Tensor p = predict_proba(multi, x.cview());
  const std::vector<std::int32_t> classes = predict_classes(multi, x.cview());
  ASSERT_EQ(p.cols(), 4u);
  for (std::size_t r = 0; r < 30; ++r) {
    double sum = 0.0;
    std::size_t best = 0;
    for (std::size_t c = 0; c < 4; ++c) {
      sum += p(r, c);
      if (logits(r, c) > logits(r, best)) best = c;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(classes[r], static_cast<std::int32_t>(best));
  }

  Model binary = Model::from_spec(kSpecs[1]);
  const Tensor z = predict(binary, x.cview());
  const Tensor pb = predict_proba(binary, x.cview());
  const std::vector<std::int32_t> cb = predict_classes(binary, x.cview());
  ASSERT_EQ(pb.cols(), 2u);
  for (std::size_t r = 0; r < 30; ++r) {
    const double sigma = 1.0 / (1.0 + std::exp(-static_cast<double>(z(r, 0))));
    EXPECT_NEAR(pb(r, 1), sigma, 1e-6);
    EXPECT_NEAR(pb(r, 0) + pb(r, 1), 1.0, 1e-6);
    EXPECT_EQ(cb[r], z(r, 0) > 0.0f ? 1 : 0);
  }
}

TEST(Inference, ScalerIsAppliedFirst) {
  Model model = Model::from_spec(kSpecs[0]);
  const Tensor raw = random_inputs(20, 12, 5);
  StandardScaler scaler;
  scaler.fit(raw.cview());
  const Tensor scaled = scaler.transform(raw.cview());
  const Tensor expected = predict(model, scaled.cview());
  model.scaler = scaler;
  expect_bitwise_equal(predict(model, raw.cview()).cview(), expected.cview(), "scaled");
}

TEST(Inference, RegressionHasNoProbabilities) {
  Model model = Model::from_spec(kSpecs[1]);
  model.output = OutputKind::values;
  const Tensor x = random_inputs(3, 12, 6);
  EXPECT_EQ(predict(model, x.cview()).cols(), 1u);
  EXPECT_THROW(predict_proba(model, x.cview()), std::logic_error);
  EXPECT_THROW(predict_classes(model, x.cview()), std::logic_error);
}

// A Predictor keeps a reference to its model, so it cannot be made from a temporary.
static_assert(!std::is_constructible_v<Predictor, Model&&>);
static_assert(std::is_constructible_v<Predictor, const Model&>);

TEST(Inference, BadInputsAreRejected) {
  Model model = Model::from_spec(kSpecs[0]);
  const Tensor wrong = random_inputs(3, 11, 7);
  try {
    predict(model, wrong.cview());
    FAIL() << "no error";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("3x11, expected 12 columns"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Predictor(model, 0), std::invalid_argument);
  model.class_names = {"only one"};
  EXPECT_THROW(Predictor{model}, std::invalid_argument);
  for (const std::vector<std::string>& names :
       {std::vector<std::string>{"a", "", "c"}, {"a", "b", "a"}, {"a", "caf\xe9", "c"}, {"a", "\xc0\xaf", "c"}}) {
    model.class_names = names;
    EXPECT_THROW(model.validate(), std::invalid_argument) << names[1];
  }
  model.class_names = {"a", "caf\xc3\xa9", "\xe2\x82\xac"};  // café, €: valid UTF-8
  EXPECT_NO_THROW(model.validate());
  EXPECT_EQ(predict(Model::from_spec(kSpecs[1]), ConstMatrixView{nullptr, 0, 12, 12}).rows(), 0u);
}

// 8 threads, each with its own Predictor (through the one-shot functions), on one model, with
// simdnn's own kernels using 2 threads underneath: every result equals the serial one.
TEST(Inference, ConcurrentCallsEqualSerial) {
  set_num_threads(2);
  for (const char* spec : kSpecs) {
    Model model = Model::from_spec(spec);
    std::vector<Tensor> inputs, serial;
    for (std::uint64_t t = 0; t < 8; ++t) {
      inputs.push_back(random_inputs(64 + 9 * t, 12, 100 + t));
      serial.push_back(predict(model, inputs.back().cview(), 16));
    }
    std::vector<Tensor> concurrent(8);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int repeat = 0; repeat < 5; ++repeat) concurrent[t] = predict(model, inputs[t].cview(), 16);
      });
    }
    for (std::thread& th : threads) th.join();
    for (std::size_t t = 0; t < 8; ++t) {
      expect_bitwise_equal(concurrent[t].cview(), serial[t].cview(), std::string(spec) + " thread " + std::to_string(t));
    }
  }
}

}  // namespace
}  // namespace simdnn
