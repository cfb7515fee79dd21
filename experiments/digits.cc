// digits: the notebook's exercises on real data (§11: train a ResNet on MNIST-format data and
// compare it with a plain network; visualize the weights; confusion matrix and error analysis;
// gradients per layer during training; data augmentation). The notebook imports load_digits but
// never uses it; here an MLP and a ResNet are trained with softmax cross-entropy on the bundled
// digits (8x8) and, when Debian's dataset-fashion-mnist is installed, on a subset of
// Fashion-MNIST (28x28, the MNIST file format).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/data/augment.h>
#include <simdnn/data/datasets.h>
#include <simdnn/data/preprocessing.h>
#include "experiments/report.h"
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model_config.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/metrics.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/trainer.h>

namespace simdnn::repro {
namespace {

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
  std::vector<std::string> image_columns() const {
    std::vector<std::string> columns;
    for (std::size_t x = 0; x < side; ++x) columns.push_back("x" + std::to_string(x));
    return columns;
  }
};

// What to train on it.
struct StudyConfig {
  std::vector<std::size_t> mlp_hidden;
  std::size_t resnet_width = 64;
  std::size_t resnet_blocks = 2;
  std::size_t epochs = 10;
  std::size_t batch = 32;
  double lr = 1e-3;
  float mixup_alpha = 0.2f;
  std::size_t mixup_epochs = 10;
  std::size_t mixup_seeds = 1;
  std::size_t weight_images = 16;
};

enum class Kind { mlp, resnet };
constexpr Kind kKinds[] = {Kind::mlp, Kind::resnet};
const char* kind_name(Kind k) { return k == Kind::mlp ? "mlp" : "resnet"; }

std::unique_ptr<Sequential> build(Kind k, const ImageData& d, const StudyConfig& c, std::uint64_t seed) {
  if (k == Kind::mlp) {
    MlpConfig m;
    m.inputs = d.x_train.cols();
    m.hidden = c.mlp_hidden;
    m.outputs = kClasses;
    m.seed = seed;
    return make_mlp(m);
  }
  ResNetConfig r;
  r.inputs = d.x_train.cols();
  r.width = c.resnet_width;
  r.blocks = c.resnet_blocks;
  r.outputs = kClasses;
  r.seed = seed;
  return make_resnet(r);
}

std::string describe(Kind k, const StudyConfig& c) {
  if (k == Kind::mlp) {
    std::string s = "MLP ";
    for (std::size_t i = 0; i < c.mlp_hidden.size(); ++i) s += (i ? "-" : "") + std::to_string(c.mlp_hidden[i]);
    return s + " (ReLU)";
  }
  return "ResNet: Dense(" + std::to_string(c.resnet_width) + ") + " + std::to_string(c.resnet_blocks) +
         " residual blocks of width " + std::to_string(c.resnet_width);
}

std::size_t parameter_count(Layer& model) {
  std::size_t n = 0;
  for (const Parameter& p : all_parameters(model)) n += p.value->size();
  return n;
}

std::vector<std::int32_t> predict_labels(Trainer& trainer, ConstMatrixView x) {
  const ConstMatrixView out = trainer.predict(x);
  std::vector<std::int32_t> labels(out.rows);
  for (std::size_t i = 0; i < out.rows; ++i) {
    const float* row = out.row(i);
    labels[i] = static_cast<std::int32_t>(std::max_element(row, row + out.cols) - row);
  }
  return labels;
}

// Trains with Trainer::fit (no augmentation) and keeps what the report needs.
struct Trained {
  std::unique_ptr<Sequential> model;
  History history;
  Tensor first_weight_init;               // the first Dense layer's W before training
  std::vector<std::int32_t> predictions;  // on the test set
  double train_accuracy = 0, test_accuracy = 0, seconds = 0;
};

Trained train_plain(Kind k, const ImageData& d, const StudyConfig& c, std::uint64_t seed) {
  Trained t;
  t.model = build(k, d, c, seed);
  t.first_weight_init = all_parameters(*t.model).front().value->clone();
  SoftmaxCrossEntropy loss;
  AdamOptions ao;
  ao.lr = c.lr;
  Adam adam(all_parameters(*t.model), ao);
  TrainerOptions to;
  to.epochs = c.epochs;
  to.batch_size = c.batch;
  to.seed = seed;
  Trainer trainer(*t.model, loss, adam, to);
  t.history = trainer.fit(d.x_train.cview(), d.y_train.cview(), d.x_test.cview(), d.y_test.cview());
  for (const EpochRecord& r : t.history.epochs) t.seconds += r.seconds;
  t.train_accuracy = t.history.epochs.back().train.accuracy;
  t.test_accuracy = t.history.epochs.back().validation.accuracy;
  t.predictions = predict_labels(trainer, d.x_test.cview());
  return t;
}

// The same training with our own loop, so that each batch can be mixed (alpha > 0) or not
// (alpha = 0): the same shuffling (Rng(seed, epoch)), batches and optimizer as Trainer::fit.
// Returns {train accuracy, test accuracy} after the last epoch.
std::pair<double, double> train_mixup(Kind k, const ImageData& d, const StudyConfig& c, std::uint64_t seed,
                                      float alpha) {
  std::unique_ptr<Sequential> model = build(k, d, c, seed);
  SoftmaxCrossEntropy loss;
  AdamOptions ao;
  ao.lr = c.lr;
  Adam adam(all_parameters(*model), ao);
  TrainerOptions to;
  to.batch_size = c.batch;
  to.seed = seed;
  to.record_grad_norms = false;
  Trainer trainer(*model, loss, adam, to);
  const std::size_t n = d.x_train.rows(), features = d.x_train.cols();
  Tensor xb(c.batch, features), yb(c.batch, kClasses), xm(c.batch, features), ym(c.batch, kClasses);
  // mixup's draws: a seed of their own, one stream per step, apart from the shuffling's streams.
  const std::uint64_t mixup_seed = seed ^ 0x6d69787570ULL;
  std::uint64_t step = 0;
  for (std::size_t epoch = 0; epoch < c.mixup_epochs; ++epoch) {
    Rng rng(seed, epoch);
    const std::vector<std::size_t> order = rng.permutation(n);
    for (std::size_t begin = 0; begin < n; begin += c.batch, ++step) {
      const std::size_t rows = std::min(c.batch, n - begin);
      const MatrixView xv = reserve_rows(xb, rows, features), yv = reserve_rows(yb, rows, kClasses);
      for (std::size_t r = 0; r < rows; ++r) {
        std::copy_n(d.x_train.cview().row(order[begin + r]), features, xv.row(r));
        std::copy_n(d.y_train.cview().row(order[begin + r]), kClasses, yv.row(r));
      }
      if (alpha > 0.0f) {
        const MatrixView xo = reserve_rows(xm, rows, features), yo = reserve_rows(ym, rows, kClasses);
        mixup_into(xv, yv, xo, yo, alpha, mixup_seed, step);
        trainer.train_on_batch(xo, yo);
      } else {
        trainer.train_on_batch(xv, yv);
      }
    }
  }
  return {trainer.evaluate(d.x_train.cview(), d.y_train.cview()).accuracy,
          trainer.evaluate(d.x_test.cview(), d.y_test.cview()).accuracy};
}

void confusion_csv(Experiment& e, const std::string& stem, const ConfusionMatrix& m) {
  std::vector<std::string> columns;
  for (std::size_t c = 0; c < kClasses; ++c) columns.push_back("pred_" + std::to_string(c));
  std::vector<std::vector<double>> rows;
  for (std::size_t r = 0; r < kClasses; ++r) {
    const auto row = m.counts().subspan(r * kClasses, kClasses);
    rows.emplace_back(row.begin(), row.end());
  }
  e.csv(stem, columns, rows);
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }
double sd(const std::vector<double>& v) {
  if (v.size() < 2) return NAN;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / (v.size() - 1));
}

// A paired t-test of b − a over seeds: t = mean(d) / (sd(d)/√n) with n − 1 degrees of freedom,
// against Student's two-sided 5 % critical value (tabulated to 30 degrees of freedom; beyond,
// that of 30, slightly conservative). df = 0 for one seed; t is infinite or NaN when every
// difference is the same.
struct PairedT {
  double t = NAN, critical = NAN;
  std::size_t df = 0;
};

PairedT paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  static constexpr double kCritical[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                         2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                         2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  PairedT out;
  if (a.size() < 2 || a.size() != b.size()) return out;
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = b[i] - a[i];
  out.df = d.size() - 1;
  out.t = mean(d) / (sd(d) / std::sqrt(static_cast<double>(d.size())));
  out.critical = kCritical[std::min<std::size_t>(out.df, 30) - 1];
  return out;
}

// Error analysis: the first kGalleryImages test images the model gets wrong, in test-set order,
// as images titled with their true and predicted class, and as a table.
constexpr std::size_t kGalleryImages = 12;

void misclassified_gallery(Experiment& e, const ImageData& d, const std::string& model,
                           const std::vector<std::int32_t>& predictions) {
  const std::vector<std::string> columns = d.image_columns();
  Table t({"test_image", "true_class", "predicted_class"});
  Figure f{d.title + ": the first test images the " + model + " misclassifies (true → predicted)", 2,
           static_cast<int>(kGalleryImages / 2), {}};
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < predictions.size() && f.panels.size() < kGalleryImages; ++i) {
    const auto truth = static_cast<std::size_t>(d.labels_test[i]);
    const auto predicted = static_cast<std::size_t>(predictions[i]);
    if (truth == predicted) continue;
    std::vector<std::vector<double>> image(d.side, std::vector<double>(d.side));
    for (std::size_t p = 0; p < d.side * d.side; ++p) image[p / d.side][p % d.side] = d.x_test(i, p);
    const std::string stem = d.stem("misclassified_" + std::to_string(wrong++));
    e.csv(stem, columns, image);
    Panel panel = line_panel("#" + std::to_string(i) + ": " + d.class_names[truth] + " → " + d.class_names[predicted], "", "");
    panel.image_csv = stem;
    panel.image_style = "gray";
    f.panels.push_back(panel);
    t.add_row({std::to_string(i), d.class_names[truth], d.class_names[predicted]});
  }
  if (f.panels.empty()) {
    e.note(d.title + ": the " + model + " classifies every test image correctly; no gallery of errors.");
    return;
  }
  e.table(d.stem("misclassified"), d.title + ": the first test images the " + model + " misclassifies", t);
  e.figure(d.stem("misclassified"), f);
}

// Every table, CSV and figure for one data set.
void study(Experiment& e, const ImageData& d, const StudyConfig& c) {
  e.progress(d.title + ": " + std::to_string(d.x_train.rows()) + " training and " + std::to_string(d.x_test.rows()) +
             " test images of " + std::to_string(d.side) + "x" + std::to_string(d.side));

  // 1. MLP and ResNet, trained the ordinary way.
  std::vector<Trained> trained;
  Table acc({"model", "architecture", "parameters", "epochs", "train_acc", "test_acc", "seconds"});
  for (Kind k : kKinds) {
    Trained t = train_plain(k, d, c, e.seed());
    e.progress(std::string(kind_name(k)) + ": test accuracy " + fmt(t.test_accuracy) + " in " + fmt(t.seconds, 1) + " s");
    acc.add_row({kind_name(k), describe(k, c), std::to_string(parameter_count(*t.model)), std::to_string(c.epochs),
                 fmt(t.train_accuracy), fmt(t.test_accuracy), fmt(t.seconds, 2)});
    trained.push_back(std::move(t));
  }
  e.table(d.stem("accuracy"),
          d.title + ": test accuracy (softmax cross-entropy, Adam lr " + fmt(c.lr, 3) + ", batch " +
              std::to_string(c.batch) + ", He init, pixels scaled to [0, 1])",
          acc);

  // The test set is evaluated after every epoch (as Trainer::fit's validation set) for these
  // curves only: nothing is chosen by it, no early stopping.
  {
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

  // 2. Confusion matrices (figure for both models, Markdown for the MLP) and per-class errors.
  std::vector<ConfusionMatrix> matrices;  // rows: true class, columns: predicted
  Figure cm_figure{d.title + ": confusion matrices on the test set (row = true class, column = predicted)", 1, 2, {}};
  for (std::size_t i = 0; i < trained.size(); ++i) {
    matrices.push_back(confusion_matrix(d.labels_test, trained[i].predictions, kClasses));
    const std::string stem = d.stem(std::string("confusion_") + kind_name(kKinds[i]));
    confusion_csv(e, stem, matrices.back());
    Panel panel = line_panel(kind_name(kKinds[i]), "predicted class", "true class");
    panel.image_csv = stem;
    panel.image_style = "counts";
    cm_figure.panels.push_back(panel);
  }
  e.figure(d.stem("confusion"), cm_figure);
  {
    std::vector<std::string> columns = {"true_class"};
    for (std::size_t c2 = 0; c2 < kClasses; ++c2) columns.push_back("pred_" + std::to_string(c2));
    Table t(columns);
    for (std::size_t r = 0; r < kClasses; ++r) {
      std::vector<std::string> row = {d.class_names[r]};
      for (std::size_t c2 = 0; c2 < kClasses; ++c2) row.push_back(std::to_string(matrices[0](r, c2)));
      t.add_row(row);
    }
    e.table(d.stem("confusion_table"), d.title + ": confusion matrix of the MLP (rows: true class, columns: predicted)", t);
  }
  {
    Table t({"class", "name", "test_samples", "mlp_errors", "mlp_error_rate", "mlp_most_confused_with", "resnet_errors",
             "resnet_error_rate", "resnet_most_confused_with"});
    for (std::size_t r = 0; r < kClasses; ++r) {
      std::vector<std::string> row = {std::to_string(r), d.class_names[r]};
      const std::size_t support = matrices[0].support(r);
      row.push_back(std::to_string(support));
      for (const ConfusionMatrix& m : matrices) {
        const std::size_t errors = support - m(r, r);
        std::size_t worst = r;
        for (std::size_t c2 = 0; c2 < kClasses; ++c2) {
          if (c2 != r && (worst == r || m(r, c2) > m(r, worst))) worst = c2;
        }
        row.push_back(std::to_string(errors));
        row.push_back(fmt(support ? static_cast<double>(errors) / support : NAN, 3));
        row.push_back(m(r, worst) == 0 ? "–" : d.class_names[worst] + " (" + std::to_string(m(r, worst)) + ")");
      }
      t.add_row(row);
    }
    e.table(d.stem("per_class"), d.title + ": errors per class on the test set", t);
  }
  misclassified_gallery(e, d, "MLP", trained[0].predictions);

  // 3. The MLP's first-layer weights, one image per hidden unit (column j of W, fan_in x fan_out):
  // W itself, and W − W₀, what training added to the random initial weights.
  {
    const Tensor& w = *all_parameters(*trained[0].model).front().value;
    const Tensor& w0 = trained[0].first_weight_init;
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
    // How far training moved W, and the units it hardly touched: ‖W_j − W₀_j‖ under 10% of the
    // median over all units.
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
  {
    Figure f{d.title + ": gradient norm per layer during training (mean over each epoch's steps)", 1, 2, {}};
    for (std::size_t i = 0; i < trained.size(); ++i) {
      const History& h = trained[i].history;
      std::vector<std::string> columns = {"epoch"};
      std::vector<std::size_t> shown;
      for (std::size_t l = 0; l < h.layer_names.size(); ++l) {
        std::string name = h.layer_names[l];
        const std::string last = name.substr(name.find_last_of('/') + 1);
        std::replace(name.begin(), name.end(), '/', '_');
        columns.push_back(name);
        if (last.rfind("bn", 0) != 0) shown.push_back(l);
      }
      std::vector<std::vector<double>> rows;
      for (const EpochRecord& r : h.epochs) {
        std::vector<double> row = {static_cast<double>(r.epoch + 1)};
        row.insert(row.end(), r.grad_norms.begin(), r.grad_norms.end());
        rows.push_back(row);
      }
      const std::string stem = d.stem(std::string("grad_norms_") + kind_name(kKinds[i]));
      e.csv(stem, columns, rows);
      Panel panel = line_panel(kind_name(kKinds[i]), "epoch", "‖∂L/∂θ‖ of the layer", true);
      for (std::size_t l : shown) panel.series.push_back({stem, "epoch", columns[l + 1], columns[l + 1]});
      f.panels.push_back(panel);
    }
    e.figure(d.stem("grad_norms"), f);
  }

  // 5. mixup on vs off: the same loop, batches and seeds; only the mixing differs.
  {
    Table t({"model", "mixup", "seeds", "epochs", "train_acc", "test_acc", "test_acc_sd"});
    std::vector<std::vector<double>> results;  // test accuracies per seed: mlp off, mlp on, resnet off, resnet on
    for (Kind k : kKinds) {
      for (float alpha : {0.0f, c.mixup_alpha}) {
        std::vector<double> train_acc, test_acc;
        for (std::size_t s = 0; s < c.mixup_seeds; ++s) {
          const auto [tr, te] = train_mixup(k, d, c, e.seed() + s, alpha);
          train_acc.push_back(tr);
          test_acc.push_back(te);
        }
        const std::string label = alpha > 0.0f ? "alpha=" + fmt(alpha, 1) : "off";
        e.progress(std::string(kind_name(k)) + " mixup " + label + ": test accuracy " + fmt(mean(test_acc)));
        t.add_row({kind_name(k), label, std::to_string(c.mixup_seeds), std::to_string(c.mixup_epochs),
                   fmt(mean(train_acc)), fmt(mean(test_acc)), fmt(sd(test_acc))});
        results.push_back(test_acc);
      }
    }
    e.table(d.stem("mixup"),
            d.title + ": mixup (data augmentation) on vs off; mean over " + std::to_string(c.mixup_seeds) +
                " seed" + (c.mixup_seeds == 1 ? "" : "s") + ", training accuracy measured on the unmixed training set",
            t);

    // What the numbers say: a paired t-test over the seeds (each seed trains both conditions).
    auto compare = [&](const std::vector<double>& a, const std::vector<double>& b) {
      const double delta = mean(b) - mean(a);
      std::string s = (delta >= 0 ? "+" : "") + fmt(delta, 4);
      const PairedT test = paired_t_test(a, b);
      if (test.df == 0) return s + " (one seed: no measure of the noise)";
      if (!std::isfinite(test.t)) return s + " (the same on every seed)";
      return s + " (paired t-test over " + std::to_string(test.df + 1) + " seeds: t = " + fmt(test.t, 2) +
             ", two-sided 5 % critical value " + fmt(test.critical, 3) + ": " +
             (std::abs(test.t) > test.critical ? "significant" : "not significant") + ")";
    };
    e.note("**" + d.title + ", what it shows** (this run). Test accuracy, ResNet minus MLP (mixup off): " +
           compare(results[0], results[2]) + ". mixup (α = " + fmt(c.mixup_alpha, 1) + ") minus no mixup: MLP " +
           compare(results[0], results[1]) + ", ResNet " + compare(results[2], results[3]) +
           ". The ResNet here has only " + std::to_string(1 + 2 * c.resnet_blocks) +
           " hidden Dense layers; at such a depth skip connections have nothing to fix (the `depth` experiment "
           "shows where they matter).");
  }
}

ImageData digits_data(const LabeledData& all, std::uint64_t seed) {
  SplitOptions so;
  so.test_fraction = 0.25;
  so.stratify = true;
  so.seed = seed;
  TrainTestSplit split = train_test_split(all, so);
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

// A random subset of `count` rows (Rng(seed, stream)'s permutation, first `count`).
LabeledData random_subset(const LabeledData& data, std::size_t count, std::uint64_t seed, std::uint64_t stream) {
  Rng rng(seed, stream);
  std::vector<std::size_t> order = rng.permutation(data.size());
  order.resize(std::min(count, order.size()));
  return subset(data, order);
}

ImageData fashion_data(const FashionMnist& fm, std::size_t train_count, std::size_t test_count, std::uint64_t seed) {
  LabeledData train = random_subset(fm.train, train_count, seed, 11);
  LabeledData test = random_subset(fm.test, test_count, seed, 12);
  ImageData d;
  d.name = "fashion";
  d.title = "Fashion-MNIST";
  d.shapes = "garment outlines";
  d.side = 28;
  d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"};
  d.x_train = std::move(train.features);  // already in [0, 1]
  d.x_test = std::move(test.features);
  d.y_train = one_hot(train.labels, kClasses);
  d.y_test = one_hot(test.labels, kClasses);
  d.labels_train = std::move(train.labels);
  d.labels_test = std::move(test.labels);
  return d;
}

void run(Experiment& e) {
  // Digits: the whole set, 75/25 stratified.
  {
    const LabeledData all = load_digits();
    const ImageData d = digits_data(all, e.seed());
    StudyConfig c;
    c.mlp_hidden = {128, 64};
    c.resnet_width = 64;
    c.resnet_blocks = 2;
    c.epochs = e.settings().count("epochs");
    c.batch = e.settings().count("batch");
    c.mixup_alpha = 0.2f;
    c.mixup_epochs = e.scaled(40, 2);
    c.mixup_seeds = e.scaled(5, 1);
    study(e, d, c);
    e.note(
        "Digits: all 1797 images (the copy bundled with simdnn, the same file scikit-learn's load_digits reads), "
        "split 75/25 with each class's share kept (stratified), pixels divided by 16. Both models use ReLU, He "
        "initialization and softmax cross-entropy on 10 logits; no early stopping, the numbers are the last "
        "epoch's. The notebook imports load_digits but never uses it, and its exercises (§11: ResNet on MNIST, "
        "confusion matrix, weight visualization, per-layer gradients, data augmentation) give no numbers to "
        "compare with; its ResNet could not have been trained at all (docs/NOTEBOOK.md, defect 8), simdnn's is. mixup (Zhang "
        "et al. 2018) replaces each batch by λ·x + (1−λ)·x[perm] with the same mix of the one-hot targets, "
        "λ ~ Beta(α, α) once per batch; both arms of that comparison run the same hand-written loop (same "
        "shuffling, batches, optimizer and seeds), so only the mixing differs.");
  }

  // Fashion-MNIST: a subset, when the Debian package is installed.
  if (!fashion_mnist_available()) {
    const std::string msg = std::string("Fashion-MNIST is not installed (") + kFashionMnistDir +
                            "); install the Debian package dataset-fashion-mnist to add it. Skipped.";
    e.progress(msg);
    e.note("**Fashion-MNIST:** " + msg);
    return;
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const FashionMnist fm = load_fashion_mnist();
    const std::size_t train_count = e.scaled(10000, 1000), test_count = e.scaled(2000, 500);
    const ImageData d = fashion_data(fm, train_count, test_count, e.seed());
    e.progress("Fashion-MNIST loaded in " +
               fmt(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1) + " s");
    StudyConfig c;
    c.mlp_hidden = {256, 128};
    c.resnet_width = 128;
    c.resnet_blocks = 2;
    c.epochs = e.scaled(10, 1);
    c.batch = 64;
    c.mixup_alpha = 0.2f;
    c.mixup_epochs = e.scaled(10, 1);
    c.mixup_seeds = e.scaled(5, 1);
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

const bool registered = register_experiment(
    100, {"digits", "10. Exercises on real data: digits and Fashion-MNIST",
          "MLP vs ResNet on the digits and Fashion-MNIST: accuracy, confusion matrix, per-class errors, "
          "first-layer weights, per-layer gradient norms, mixup",
          run,
          {{.name = "epochs", .kind = Setting::Kind::count, .help = "training epochs on the digits", .value = 40,
            .quick_value = 2},
           {.name = "batch", .kind = Setting::Kind::count, .help = "mini-batch size on the digits", .value = 32}}});

}  // namespace
}  // namespace simdnn::repro
