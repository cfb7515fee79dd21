#include "experiments/image_study.h"

#include <algorithm>

#include <simdnn/core/random.h>
#include <simdnn/data/datasets.h>
#include <simdnn/data/mnist.h>
#include <simdnn/data/preprocessing.h>
#include <simdnn/models/model_config.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/trainer.h>

namespace simdnn::repro {

std::vector<std::string> ImageData::image_columns() const {
  std::vector<std::string> columns;
  for (std::size_t x = 0; x < side; ++x) columns.push_back("x" + std::to_string(x));
  return columns;
}

ImageData digits_data(std::uint64_t seed) {
  SplitOptions so;
  so.test_fraction = 0.25;
  so.stratify = true;
  so.seed = seed;
  TrainTestSplit split = train_test_split(load_digits(), so);
  ImageData d;
  d.name = "";
  d.title = "Digits";
  d.shapes = "pen strokes";
  d.side = 8;
  for (std::size_t c = 0; c < kClasses; ++c) d.class_names.push_back(std::to_string(c));
  // Pixel counts 0..16 → [0, 1].
  auto scaled = [](const Tensor& x) {
    Tensor out = x.clone();
    for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] /= 16.0f;
    return out;
  };
  d.x_train = scaled(split.train.features);
  d.x_test = scaled(split.test.features);
  d.y_train = one_hot(split.train.labels, kClasses);
  d.y_test = one_hot(split.test.labels, kClasses);
  d.labels_train = std::move(split.train.labels);
  d.labels_test = std::move(split.test.labels);
  return d;
}

namespace {

// A random subset of `count` rows (Rng(seed, stream)'s permutation, first `count`).
LabeledData random_subset(const LabeledData& data, std::size_t count, std::uint64_t seed, std::uint64_t stream) {
  Rng rng(seed, stream);
  std::vector<std::size_t> order = rng.permutation(data.size());
  order.resize(std::min(count, order.size()));
  return subset(data, order);
}

// The training and test sets of d, pixels already in [0, 1], with one-hot targets.
void set_sets(ImageData& d, LabeledData train, LabeledData test) {
  d.x_train = std::move(train.features);
  d.x_test = std::move(test.features);
  d.y_train = one_hot(train.labels, kClasses);
  d.y_test = one_hot(test.labels, kClasses);
  d.labels_train = std::move(train.labels);
  d.labels_test = std::move(test.labels);
}

}  // namespace

ImageData fashion_data(std::size_t train_count, std::size_t test_count, std::uint64_t seed) {
  const FashionMnist fm = load_fashion_mnist();
  LabeledData train = random_subset(fm.train, train_count, seed, 11);
  LabeledData test = random_subset(fm.test, test_count, seed, 12);
  ImageData d;
  d.name = "fashion";
  d.title = "Fashion-MNIST";
  d.shapes = "garment outlines";
  d.side = 28;
  d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"};
  set_sets(d, std::move(train), std::move(test));
  return d;
}

ImageData mnist_data(std::size_t train_count, std::size_t test_count, std::uint64_t seed) {
  SplitOptions so;
  so.test_fraction = 0.2;
  so.stratify = true;
  so.seed = seed;
  TrainTestSplit split = train_test_split(load_mnist(), so);
  LabeledData train = random_subset(split.train, train_count, seed, 21);
  LabeledData test = random_subset(split.test, test_count, seed, 22);
  ImageData d;
  d.name = "";
  d.title = "MNIST";
  d.shapes = "pen strokes";
  d.side = kMnistSide;
  for (std::size_t c = 0; c < kClasses; ++c) d.class_names.push_back(std::to_string(c));
  set_sets(d, std::move(train), std::move(test));
  return d;
}

const char* model_name(ImageModel m) { return m == ImageModel::mlp ? "mlp" : "resnet"; }

std::unique_ptr<Sequential> build_image_model(ImageModel m, const ImageData& d, const ImageModelConfig& c,
                                              std::uint64_t seed) {
  if (m == ImageModel::mlp) {
    MlpConfig config;
    config.inputs = d.x_train.cols();
    config.hidden = c.mlp_hidden;
    config.outputs = kClasses;
    config.seed = seed;
    return make_mlp(config);
  }
  ResNetConfig config;
  config.inputs = d.x_train.cols();
  config.width = c.resnet_width;
  config.blocks = c.resnet_blocks;
  config.outputs = kClasses;
  config.seed = seed;
  return make_resnet(config);
}

std::string describe(ImageModel m, const ImageModelConfig& c) {
  if (m == ImageModel::mlp) {
    std::string s = "MLP ";
    for (std::size_t i = 0; i < c.mlp_hidden.size(); ++i) s += (i ? "-" : "") + std::to_string(c.mlp_hidden[i]);
    return s + " (ReLU)";
  }
  return "ResNet: Dense(" + std::to_string(c.resnet_width) + ") + " + std::to_string(c.resnet_blocks) +
         " residual blocks of width " + std::to_string(c.resnet_width);
}

std::pair<double, double> train_with_transform(ImageModel m, const ImageData& d, const ImageModelConfig& c,
                                               const LoopOptions& o, std::uint64_t seed,
                                               const BatchTransform& transform) {
  std::unique_ptr<Sequential> model = build_image_model(m, d, c, seed);
  SoftmaxCrossEntropy loss;
  AdamOptions ao;
  ao.lr = o.lr;
  Adam adam(all_parameters(*model), ao);
  TrainerOptions to;
  to.batch_size = o.batch;
  to.seed = seed;
  to.record_grad_norms = false;
  Trainer trainer(*model, loss, adam, to);
  const std::size_t n = d.x_train.rows(), features = d.x_train.cols();
  Tensor xb(o.batch, features), yb(o.batch, kClasses), xt(o.batch, features), yt(o.batch, kClasses);
  std::uint64_t step = 0;
  for (std::size_t epoch = 0; epoch < o.epochs; ++epoch) {
    Rng rng(seed, epoch);
    const std::vector<std::size_t> order = rng.permutation(n);
    for (std::size_t begin = 0; begin < n; begin += o.batch, ++step) {
      const std::size_t rows = std::min(o.batch, n - begin);
      const MatrixView xv = reserve_rows(xb, rows, features), yv = reserve_rows(yb, rows, kClasses);
      for (std::size_t r = 0; r < rows; ++r) {
        std::copy_n(d.x_train.cview().row(order[begin + r]), features, xv.row(r));
        std::copy_n(d.y_train.cview().row(order[begin + r]), kClasses, yv.row(r));
      }
      if (!transform) {
        trainer.train_on_batch(xv, yv);
        continue;
      }
      const MatrixView xo = reserve_rows(xt, rows, features), yo = reserve_rows(yt, rows, kClasses);
      transform(xv, yv, xo, yo, step);
      trainer.train_on_batch(xo, yo);
    }
  }
  return {trainer.evaluate(d.x_train.cview(), d.y_train.cview()).accuracy,
          trainer.evaluate(d.x_test.cview(), d.y_test.cview()).accuracy};
}

}  // namespace simdnn::repro
