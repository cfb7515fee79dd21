// The notebook's data set (§8 "Сравнение техник на практике"): make_classification(n_samples=1000,
// n_features=20, n_informative=15, n_redundant=5, n_classes=2), a 60/20/20
// train/validation/test split and standard scaling fitted on the training part only. Shared by
// the repro experiments and the benchmarks, so that every comparison trains on the same data.
//
// The notebook uses random_state=42 with numpy's generator; simdnn draws the same distribution
// with its own generator (data/synthetic.h), so the samples — and hence every accuracy — differ
// from the notebook's in the last digits even for seed 42.
#pragma once

#include <cstdint>
#include <vector>

#include <simdnn/core/tensor.h>

namespace simdnn {

struct NotebookData {
  // Standardized features (n x 20) and binary targets as floats (n x 1, 0.0f / 1.0f), the layout
  // Trainer::fit and BinaryCrossEntropyWithLogits take.
  Tensor x_train, y_train;  // 600 samples
  Tensor x_val, y_val;      // 200
  Tensor x_test, y_test;    // 200
  // The same labels as integers.
  std::vector<std::int32_t> labels_train, labels_val, labels_test;

  std::size_t features() const { return x_train.cols(); }
};

// Deterministic for `seed`: the generator, the split and nothing else use it.
NotebookData load_notebook_data(std::uint64_t seed);

}  // namespace simdnn
