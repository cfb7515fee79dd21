// A complete program on simdnn, as a user writes it: read a CSV file with a header and text
// labels, split it (stratified) into training, validation and test parts, standardize, train an
// MLP with Adam and early stopping, save the model, load it back as a stand-alone file, predict
// the test part and print the metrics.
//
//   consumer [data.csv [label-column [model-path]]]      (defaults: stones.csv kind stones.simdnn)
//
// Exit codes: 0 when the reloaded model reaches 90% test accuracy, 1 below, 2 on bad input.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <simdnn/simdnn.h>

namespace {

struct Paths {
  std::string data = "stones.csv";
  std::string label = "kind";
  std::string model = "stones.simdnn";
};

Paths parse_arguments(int argc, char** argv) {
  Paths p;
  if (argc > 1) p.data = argv[1];
  if (argc > 2) p.label = argv[2];
  if (argc > 3) p.model = argv[3];
  return p;
}

// Trains the network of `model` on `train`, stopping when the validation loss has not improved
// for 20 epochs and keeping the best epoch's weights.
void train_model(simdnn::Model& model, const simdnn::LabeledData& train, const simdnn::LabeledData& validation) {
  simdnn::SoftmaxCrossEntropy loss;
  simdnn::Adam adam(simdnn::all_parameters(*model.network), {.lr = 3e-3});
  simdnn::Trainer trainer(*model.network, loss, adam, {.epochs = 300, .batch_size = 32, .seed = 7});
  auto& stop = trainer.add_callback<simdnn::EarlyStopping>(simdnn::Monitor::validation_loss, 20);
  const simdnn::History& history = trainer.fit(train, &validation);
  const simdnn::EpochRecord& best = history.epochs.at(stop.best_epoch());
  std::printf("trained %zu epochs; best epoch %zu: validation loss %.4f, accuracy %.3f\n", history.epochs.size(),
              stop.best_epoch() + 1, best.validation.loss, best.validation.accuracy);
}

int run(const Paths& paths) {
  // 1. Data: a header line, the label column by name, its text labels become classes.
  simdnn::CsvOptions csv{.header = true, .label_name = paths.label, .labels = simdnn::CsvLabels::learn};
  const simdnn::LabeledData data = simdnn::read_csv(paths.data, csv);
  auto parts = simdnn::train_validation_test_split(data, /*seed=*/1, /*stratify=*/true);
  std::printf("%s: %zu samples, %zu features, %zu classes; %zu train / %zu validation / %zu test\n",
              paths.data.c_str(), data.size(), data.features.cols(), data.class_names.size(), parts.train.size(),
              parts.validation.size(), parts.test.size());

  // 2. Standardize with statistics of the training part only; the model keeps the scaler.
  simdnn::StandardScaler scaler;
  scaler.fit(parts.train.features.cview());
  simdnn::LabeledData train{scaler.transform(parts.train.features.cview()), parts.train.labels, {}};
  simdnn::LabeledData validation{scaler.transform(parts.validation.features.cview()), parts.validation.labels, {}};

  // 3. The model: an MLP from a JSON spec, the spec, scaler and class names saved with it.
  const std::string spec = R"({"type": "mlp", "inputs": )" + std::to_string(data.features.cols()) +
                           R"(, "hidden": [32, 16], "outputs": )" + std::to_string(data.class_names.size()) +
                           R"(, "activation": "relu", "seed": 3})";
  simdnn::Model model = simdnn::Model::from_spec(spec);
  model.scaler = scaler;
  model.class_names = data.class_names;
  train_model(model, train, validation);
  simdnn::save_model(paths.model, model);

  // 4. A fresh process would start here: the file alone rebuilds the model.
  const simdnn::Model loaded = simdnn::load_model(paths.model);
  const std::vector<std::int32_t> predicted = simdnn::predict_classes(loaded, parts.test.features.cview());
  const simdnn::Tensor proba = simdnn::predict_proba(loaded, parts.test.features.cview());
  const simdnn::ClassificationReport report = simdnn::classification_report(parts.test.labels, predicted, loaded.num_classes());
  std::printf("\ntest set, model reloaded from %s:\n%s\n%s\nlog-loss %.4f\n", paths.model.c_str(),
              simdnn::format_classification_report(report, loaded.class_names).c_str(),
              simdnn::format_confusion_matrix(report.confusion, loaded.class_names).c_str(),
              simdnn::log_loss(parts.test.labels, proba.cview()));
  return report.accuracy >= 0.9 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_arguments(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 2;
  }
}
