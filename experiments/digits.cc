// digits: the notebook's exercises on real data (§11: train a ResNet on MNIST-format data and
// compare it with a plain network; visualize the weights; confusion matrix and error analysis;
// gradients per layer during training; augmentation is `augmentation.cc`). The notebook imports load_digits but
// never uses it; here an MLP and a ResNet are trained with softmax cross-entropy on the bundled
// digits (8x8) and, when Debian's dataset-fashion-mnist is installed, on a subset of
// Fashion-MNIST (28x28, the MNIST file format).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <simdnn/data/datasets.h>
#include "experiments/image_report.h"
#include "experiments/image_study.h"
#include "experiments/report.h"
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model_config.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/metrics.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/trainer.h>

namespace simdnn::repro {
namespace {

// The settings (repro digits --help); Fashion-MNIST keeps its own sizes (fashion_study).
const std::vector<Setting> kSettings = {
    {.name = "epochs", .kind = Setting::Kind::count, .help = "training epochs on the digits", .value = 40, .quick_value = 2},
    {.name = "batch", .kind = Setting::Kind::count, .help = "mini-batch size on the digits", .value = 32},
    {.name = "lr", .kind = Setting::Kind::positive, .help = "learning rate of --optimizer on the digits", .value = 1e-3},
    {.name = "optimizer", .kind = Setting::Kind::choice, .help = "optimizer on the digits (PyTorch's defaults but --lr)",
     .choice = "adam", .choices = optimizer_names()},
};

// What to train on it.
struct StudyConfig {
  ImageModelConfig models;
  std::size_t epochs = 10;
  std::size_t batch = 32;
  double lr = 1e-3;
  std::string optimizer = "adam";  // a name of optimizer_names()
  std::size_t weight_images = 16;
};

// How captions name an optimizer of optimizer_names(): "Adam", "RMSprop"; an unknown name as is.
std::string optimizer_label(const std::string& name) {
  static const std::map<std::string, std::string> labels = {
      {"sgd", "SGD"},   {"momentum", "Momentum"}, {"nesterov", "Nesterov"}, {"rmsprop", "RMSprop"},
      {"adam", "Adam"}, {"adamw", "AdamW"},       {"adagrad", "Adagrad"}};
  const auto it = labels.find(name);
  return it == labels.end() ? name : it->second;
}

// Trains with Trainer::fit (no augmentation) and keeps what the report needs.
struct Trained {
  std::unique_ptr<Sequential> model;
  History history;
  Tensor first_weight_init;               // the first Dense layer's W before training
  std::vector<std::int32_t> predictions;  // on the test set
  double train_accuracy = 0, test_accuracy = 0, seconds = 0;
};

Trained train_plain(ImageModel k, const ImageData& d, const StudyConfig& c, std::uint64_t seed) {
  Trained t;
  t.model = build_image_model(k, d, c.models, seed);
  t.first_weight_init = all_parameters(*t.model).front().value->clone();
  SoftmaxCrossEntropy loss;
  const std::unique_ptr<Optimizer> optimizer = make_optimizer(c.optimizer, all_parameters(*t.model), c.lr);
  TrainerOptions to;
  to.epochs = c.epochs;
  to.batch_size = c.batch;
  to.seed = seed;
  Trainer trainer(*t.model, loss, *optimizer, to);
  t.history = trainer.fit(d.x_train.cview(), d.y_train.cview(), d.x_test.cview(), d.y_test.cview());
  for (const EpochRecord& r : t.history.epochs) t.seconds += r.seconds;
  t.train_accuracy = t.history.epochs.back().train.accuracy;
  t.test_accuracy = t.history.epochs.back().validation.accuracy;
  t.predictions = predict_labels(trainer, d.x_test.cview());
  return t;
}

// 1. MLP and ResNet, trained the ordinary way, and their accuracy table.
std::vector<Trained> train_models(Experiment& e, const ImageData& d, const StudyConfig& c) {
  std::vector<Trained> trained;
  Table acc({"model", "architecture", "parameters", "epochs", "train_acc", "test_acc", "seconds"});
  for (ImageModel k : kImageModels) {
    Trained t = train_plain(k, d, c, e.seed());
    e.progress(std::string(model_name(k)) + ": test accuracy " + fmt(t.test_accuracy) + " in " + fmt(t.seconds, 1) + " s");
    acc.add_row({model_name(k), describe(k, c.models), std::to_string(parameter_count(*t.model)), std::to_string(c.epochs),
                 fmt(t.train_accuracy), fmt(t.test_accuracy), fmt(t.seconds, 2)});
    trained.push_back(std::move(t));
  }
  e.table(d.stem("accuracy"),
          d.title + ": test accuracy (softmax cross-entropy, " + optimizer_label(c.optimizer) + " lr " + shortest(c.lr) +
              ", batch " + std::to_string(c.batch) + ", He init, pixels scaled to [0, 1])",
          acc);
  return trained;
}

// The learning curves. The test set is evaluated after every epoch (as Trainer::fit's validation
// set) for these curves only: nothing is chosen by it, no early stopping.
void learning_curves(Experiment& e, const ImageData& d, const StudyConfig& c, const std::vector<Trained>& trained) {
  std::vector<std::vector<double>> rows;
  for (std::size_t ep = 0; ep < c.epochs; ++ep) {
    std::vector<double> row = {static_cast<double>(ep + 1)};
    for (const Trained& t : trained) {
      row.push_back(t.history.epochs[ep].train.accuracy);
      row.push_back(t.history.epochs[ep].validation.accuracy);
    }
    rows.push_back(row);
  }
  e.csv(d.stem("curves"), {"epoch", "mlp_train_acc", "mlp_test_acc", "resnet_train_acc", "resnet_test_acc"}, rows);
  Panel panel = line_panel("Accuracy after each epoch", "epoch", "accuracy");
  for (const char* k : {"mlp", "resnet"}) {
    for (const char* set : {"train", "test"}) {
      const std::string col = std::string(k) + "_" + set + "_acc";
      panel.series.push_back({d.stem("curves"), "epoch", col, std::string(k) + " " + set});
    }
  }
  e.figure(d.stem("curves"), Figure{d.title + ": learning curves", 1, 1, {panel}});
}

// 2. The confusion matrix of each model on the test set (rows: true class, columns: predicted),
// as a CSV and a figure of both.
std::vector<ConfusionMatrix> confusion_matrices(Experiment& e, const ImageData& d, const std::vector<Trained>& trained) {
  std::vector<ConfusionMatrix> matrices;
  Figure cm_figure{d.title + ": confusion matrices on the test set (row = true class, column = predicted)", 1, 2, {}};
  for (std::size_t i = 0; i < trained.size(); ++i) {
    const std::string name = model_name(kImageModels[i]);
    Panel panel;
    matrices.push_back(confusion_panel(e, d, d.stem("confusion_" + name), name, trained[i].predictions, panel));
    cm_figure.panels.push_back(panel);
  }
  e.figure(d.stem("confusion"), cm_figure);
  return matrices;
}

// The MLP's confusion matrix as a Markdown table, classes by name.
void confusion_table(Experiment& e, const ImageData& d, const ConfusionMatrix& m) {
  std::vector<std::string> columns = {"true_class"};
  for (std::size_t c = 0; c < kClasses; ++c) columns.push_back("pred_" + std::to_string(c));
  Table t(columns);
  for (std::size_t r = 0; r < kClasses; ++r) {
    std::vector<std::string> row = {d.class_names[r]};
    for (std::size_t c = 0; c < kClasses; ++c) row.push_back(std::to_string(m(r, c)));
    t.add_row(row);
  }
  e.table(d.stem("confusion_table"), d.title + ": confusion matrix of the MLP (rows: true class, columns: predicted)", t);
}

// Per class and model: the errors, the error rate and the class most often predicted instead.
void per_class_table(Experiment& e, const ImageData& d, const std::vector<ConfusionMatrix>& matrices) {
  Table t({"class", "name", "test_samples", "mlp_errors", "mlp_error_rate", "mlp_most_confused_with", "resnet_errors",
           "resnet_error_rate", "resnet_most_confused_with"});
  for (std::size_t r = 0; r < kClasses; ++r) {
    std::vector<std::string> row = {std::to_string(r), d.class_names[r]};
    const std::size_t support = matrices[0].support(r);
    row.push_back(std::to_string(support));
    for (const ConfusionMatrix& m : matrices) {
      const std::size_t errors = support - m(r, r);
      std::size_t worst = r;
      for (std::size_t c = 0; c < kClasses; ++c) {
        if (c != r && (worst == r || m(r, c) > m(r, worst))) worst = c;
      }
      row.push_back(std::to_string(errors));
      row.push_back(fmt(support ? static_cast<double>(errors) / support : NAN, 3));
      row.push_back(m(r, worst) == 0 ? "–" : d.class_names[worst] + " (" + std::to_string(m(r, worst)) + ")");
    }
    t.add_row(row);
  }
  e.table(d.stem("per_class"), d.title + ": errors per class on the test set", t);
}

// 3. The MLP's first-layer weights, one image per hidden unit (column j of W, fan_in x fan_out):
// W itself, and W − W₀, what training added to the random initial weights.
void weight_figures(Experiment& e, const ImageData& d, const StudyConfig& c, const Tensor& w, const Tensor& w0) {
  const std::size_t units = std::min(c.weight_images, w.cols());
  const int cols = 4, rows = static_cast<int>((units + cols - 1) / cols);
  const std::vector<std::string> columns = d.image_columns();
  for (const bool delta : {false, true}) {
    Figure f{d.title + ": " + (delta ? "W − W₀ (the change made by training)" : "W") + " of the MLP's first layer, units 0-" +
                 std::to_string(units - 1) + " as " + std::to_string(d.side) + "x" + std::to_string(d.side) + " images",
             rows, cols, {}};
    for (std::size_t u = 0; u < units; ++u) {
      std::vector<std::vector<double>> image(d.side, std::vector<double>(d.side));
      for (std::size_t i = 0; i < d.side * d.side; ++i) {
        image[i / d.side][i % d.side] = w(i, u) - (delta ? w0(i, u) : 0.0f);
      }
      const std::string stem = d.stem(std::string(delta ? "weight_change_unit" : "weights_unit") + std::to_string(u));
      e.csv(stem, columns, image);
      Panel panel = line_panel("unit " + std::to_string(u), "", "");
      panel.image_csv = stem;
      panel.image_style = "signed";
      f.panels.push_back(panel);
    }
    e.figure(d.stem(delta ? "weight_change" : "weights"), f);
  }
}

// How far training moved W, and the units it hardly touched: ‖W_j − W₀_j‖ under 10% of the
// median over all units.
void explain_weight_change(Experiment& e, const ImageData& d, const Tensor& w, const Tensor& w0) {
  std::vector<double> change(w.cols());
  double moved = 0, initial = 0;
  for (std::size_t u = 0; u < w.cols(); ++u) {
    double ss = 0;
    for (std::size_t i = 0; i < w.rows(); ++i) {
      ss += (w(i, u) - w0(i, u)) * (w(i, u) - w0(i, u));
      initial += static_cast<double>(w0(i, u)) * w0(i, u);
    }
    change[u] = std::sqrt(ss);
    moved += ss;
  }
  const double ratio = std::sqrt(moved / initial);
  std::vector<double> sorted = change;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const double median = sorted[sorted.size() / 2];
  const std::size_t untouched = std::count_if(change.begin(), change.end(), [&](double v) { return v < 0.1 * median; });
  e.note(d.title + ": training moved the first-layer weights by ‖W − W₀‖/‖W₀‖ = " + fmt(ratio, 2) +
         (ratio < 1.0 ? ", so W still looks much like the random He initialization it started from" : "") +
         "; W − W₀ shows what training added: templates of " + d.shapes + " that the unit responds to. " +
         (untouched == 0
              ? "Every one of the " + std::to_string(w.cols()) +
                    " first-layer units changed by at least 10% of the median unit's change: none was left (almost) untouched."
              : std::to_string(untouched) + " of the " + std::to_string(w.cols()) +
                    " first-layer units changed by less than 10% of the median unit's change: ReLU units that "
                    "are inactive on (almost) every image get (almost) no gradient."));
}

// 4. Gradient norms per layer during training (History::grad_norms: ‖∂L/∂θ‖ of each layer's
// parameters, the mean over the epoch's steps). BatchNorm's γ/β are left out of the figure.
void grad_norm_figure(Experiment& e, const ImageData& d, const std::vector<Trained>& trained) {
  Figure f{d.title + ": gradient norm per layer during training (mean over each epoch's steps)", 1, 2, {}};
  for (std::size_t i = 0; i < trained.size(); ++i) {
    const std::string name = model_name(kImageModels[i]);
    f.panels.push_back(grad_norm_panel(e, d.stem("grad_norms_" + name), name, trained[i].history));
  }
  e.figure(d.stem("grad_norms"), f);
}

// Every table, CSV and figure for one data set.
void study(Experiment& e, const ImageData& d, const StudyConfig& c) {
  e.progress(d.title + ": " + std::to_string(d.x_train.rows()) + " training and " + std::to_string(d.x_test.rows()) +
             " test images of " + std::to_string(d.side) + "x" + std::to_string(d.side));
  const std::vector<Trained> trained = train_models(e, d, c);
  learning_curves(e, d, c, trained);
  const std::vector<ConfusionMatrix> matrices = confusion_matrices(e, d, trained);
  confusion_table(e, d, matrices[0]);
  per_class_table(e, d, matrices);
  misclassified_gallery(e, d, "MLP", trained[0].predictions);
  const Tensor& w = *all_parameters(*trained[0].model).front().value;
  weight_figures(e, d, c, w, trained[0].first_weight_init);
  explain_weight_change(e, d, w, trained[0].first_weight_init);
  grad_norm_figure(e, d, trained);
}

// Digits: the whole set, 75/25 stratified, trained as the settings say.
void digits_study(Experiment& e) {
  const ImageData d = digits_data(e.seed());
  StudyConfig c;
  c.models = {.mlp_hidden = {128, 64}, .resnet_width = 64, .resnet_blocks = 2};
  c.epochs = e.settings().count("epochs");
  c.batch = e.settings().count("batch");
  c.lr = e.settings().real("lr");
  c.optimizer = e.settings().choice("optimizer");
  study(e, d, c);
  e.note(
      "Digits: all 1797 images (the copy bundled with simdnn, the same file scikit-learn's load_digits reads), "
      "split 75/25 with each class's share kept (stratified), pixels divided by 16. Both models use ReLU, He "
      "initialization and softmax cross-entropy on 10 logits; no early stopping, the numbers are the last "
      "epoch's. The notebook imports load_digits but never uses it, and its exercises (§11: ResNet on MNIST, "
      "confusion matrix, weight visualization, per-layer gradients, data augmentation) give no numbers to "
      "compare with; its ResNet could not have been trained at all (docs/NOTEBOOK.md, defect 8), simdnn's is. "
      "The ResNet here has only " + std::to_string(1 + 2 * c.models.resnet_blocks) + " hidden Dense layers; at "
      "such a depth skip connections have nothing to fix (the `depth` experiment shows where they matter; "
      "`augmentation` compares the two models over 5 seeds). Data augmentation has its own experiment, "
      "`augmentation`.");
}

// Fashion-MNIST: a subset, when the Debian package is installed; its sizes and epochs are fixed
// to fit the time budget (the settings are the digits').
void fashion_study(Experiment& e) {
  if (!fashion_mnist_available()) {
    const std::string msg = std::string("Fashion-MNIST is not installed (") + kFashionMnistDir +
                            "); install the Debian package dataset-fashion-mnist to add it. Skipped.";
    e.progress(msg);
    e.note("**Fashion-MNIST:** " + msg);
    return;
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t train_count = e.scaled(10000, 1000), test_count = e.scaled(2000, 500);
    const ImageData d = fashion_data(train_count, test_count, e.seed());
    e.progress("Fashion-MNIST loaded in " +
               fmt(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1) + " s");
    StudyConfig c;
    c.models = {.mlp_hidden = {256, 128}, .resnet_width = 128, .resnet_blocks = 2};
    c.epochs = e.scaled(10, 1);
    c.batch = 64;
    study(e, d, c);
    e.note("Fashion-MNIST (from " + std::string(kFashionMnistDir) + ", the same IDX format as MNIST): a random " +
           std::to_string(train_count) + " of the 60000 training images and " + std::to_string(test_count) +
           " of the 10000 test images, to fit the time budget, pixels divided by 255; " + std::to_string(c.epochs) +
           (c.epochs == 1 ? " epoch" : " epochs") + ". Fewer images and epochs than the usual benchmark, so the "
           "accuracies are not comparable with published full-set numbers.");
  } catch (const DatasetNotInstalledError& error) {
    e.progress(std::string("Fashion-MNIST skipped: ") + error.what());
    e.note(std::string("**Fashion-MNIST:** skipped: ") + error.what());
  }
}

void run(Experiment& e) {
  digits_study(e);
  fashion_study(e);
}

const bool registered = register_experiment(
    100, {"digits", "10. Exercises on real data: digits and Fashion-MNIST",
          "MLP vs ResNet on the digits and Fashion-MNIST: accuracy, confusion matrix, per-class errors, "
          "first-layer weights, misclassified images, per-layer gradient norms",
          run, kSettings});

}  // namespace
}  // namespace simdnn::repro
