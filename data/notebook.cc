#include <simdnn/data/notebook.h>

#include <simdnn/data/preprocessing.h>
#include <simdnn/data/synthetic.h>

namespace simdnn {

NotebookData load_notebook_data(std::uint64_t seed) {
  ClassificationOptions options;
  options.n_samples = 1000;
  options.n_features = 20;
  options.n_informative = 15;
  options.n_redundant = 5;
  options.n_classes = 2;
  options.seed = seed;
  const LabeledData all = make_classification(options);
  TrainValidationTestSplit split = train_validation_test_split(all, seed);

  StandardScaler scaler;
  NotebookData d;
  d.x_train = scaler.fit_transform(split.train.features.view());
  d.x_val = scaler.transform(split.validation.features.view());
  d.x_test = scaler.transform(split.test.features.view());
  d.y_train = binary_targets(split.train.labels);
  d.y_val = binary_targets(split.validation.labels);
  d.y_test = binary_targets(split.test.labels);
  d.labels_train = std::move(split.train.labels);
  d.labels_val = std::move(split.validation.labels);
  d.labels_test = std::move(split.test.labels);
  return d;
}

}  // namespace simdnn
