// Preparing data for training: subsets, train/test (and train/validation/test) splits,
// standardization, one-hot and binary targets.
//
// Splits are deterministic for a seed (Rng(seed, 0) of core/random.h). Every index lands in
// exactly one part; within a part, samples are in random order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <simdnn/core/tensor.h>
#include <simdnn/data/labeled_data.h>

namespace simdnn {

// The rows `indices` of `data` (features and labels, in that order; the class names whole). Throws std::out_of_range
// naming the first index >= data.size().
LabeledData subset(const LabeledData& data, std::span<const std::size_t> indices);

struct SplitOptions {
  // Size of the test part: test_count if set, else ceil(test_fraction · n) (as scikit-learn; a
  // product within 1e-9 of an integer counts as that integer, so 0.7·100 gives 70, not 71).
  double test_fraction = 0.25;
  std::optional<std::size_t> test_count = std::nullopt;
  // Keep each class's share in both parts: class c gets round(test_size · n_c / n) test samples,
  // the roundings chosen (largest remainders, ties to the smaller class index) so that they add up
  // to test_size exactly.
  bool stratify = false;
  std::uint64_t seed = 0;
};

struct TrainTestSplit {
  LabeledData train;
  LabeledData test;
};

// Throws std::invalid_argument unless 0 < test_fraction < 1 (when used) and both parts get at
// least one sample.
TrainTestSplit train_test_split(const LabeledData& data, const SplitOptions& options = {});

struct TrainValidationTestSplit {
  LabeledData train;
  LabeledData validation;
  LabeledData test;
};

// Three parts, by default 60 / 20 / 20: ceil(test_fraction · n) test samples, then
// ceil(validation_fraction · n) validation samples, the rest for training. Stratification as in
// SplitOptions. Throws std::invalid_argument unless the fractions are positive, sum to less
// than 1, and every part gets at least one sample.
TrainValidationTestSplit train_validation_test_split(const LabeledData& data, std::uint64_t seed,
                                                     bool stratify = false,
                                                     double validation_fraction = 0.2,
                                                     double test_fraction = 0.2);

// Per-feature standardization, z = (x − mean) / std, fitted on the training set only.
// std is the population standard deviation (divide by n), computed in double; a constant feature
// (all values equal) gets std 1, so it maps to 0 instead of dividing by zero.
class StandardScaler {
 public:
  StandardScaler() = default;
  // A fitted scaler with these statistics (as saved in a model file). Throws
  // std::invalid_argument unless both have the same non-zero length, every mean is finite and
  // every scale finite and > 0.
  StandardScaler(std::vector<double> mean, std::vector<double> scale);

  // Learns mean and std of every column of x. Throws std::invalid_argument if x has no rows.
  void fit(ConstMatrixView x);
  // (x − mean) / std. Throws std::logic_error before fit(), ShapeError if the width differs.
  Tensor transform(ConstMatrixView x) const;
  void transform_in_place(MatrixView x) const;
  Tensor fit_transform(ConstMatrixView x) {
    fit(x);
    return transform(x);
  }
  // x · std + mean.
  Tensor inverse_transform(ConstMatrixView x) const;

  bool fitted() const { return !mean_.empty(); }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }  // std, with 1 for constants

 private:
  void check(const char* operation, std::size_t cols) const;
  std::vector<double> mean_;
  std::vector<double> scale_;
};

// n x classes, row i all zeros but a 1 at labels[i]. Throws std::invalid_argument naming the index
// and value of the first label outside [0, classes), or if classes < 1.
Tensor one_hot(std::span<const std::int32_t> labels, std::size_t classes);

// n x 1 column of 0.0f / 1.0f for binary losses. Throws std::invalid_argument naming the index and
// value of the first label that is neither 0 nor 1.
Tensor binary_targets(std::span<const std::int32_t> labels);

}  // namespace simdnn
