#include "experiments/image_report.h"

#include <algorithm>

namespace simdnn::repro {

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

ConfusionMatrix confusion_panel(Experiment& e, const ImageData& d, const std::string& stem, const std::string& title,
                                const std::vector<std::int32_t>& predictions, Panel& panel) {
  ConfusionMatrix m = confusion_matrix(d.labels_test, predictions, kClasses);
  std::vector<std::string> columns;
  for (std::size_t c = 0; c < kClasses; ++c) columns.push_back("pred_" + std::to_string(c));
  std::vector<std::vector<double>> rows;
  for (std::size_t r = 0; r < kClasses; ++r) {
    const auto row = m.counts().subspan(r * kClasses, kClasses);
    rows.emplace_back(row.begin(), row.end());
  }
  e.csv(stem, columns, rows);
  panel = line_panel(title, "predicted class", "true class");
  panel.image_csv = stem;
  panel.image_style = "counts";
  return m;
}

namespace {
constexpr std::size_t kGalleryImages = 12;
}  // namespace

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

Panel grad_norm_panel(Experiment& e, const std::string& stem, const std::string& title, const History& h) {
  std::vector<std::string> columns = {"epoch"};
  std::vector<std::size_t> shown;
  for (std::size_t l = 0; l < h.layer_names.size(); ++l) {
    std::string name = h.layer_names[l];
    const std::string last = name.substr(name.find_last_of('/') + 1);
    std::replace(name.begin(), name.end(), '/', '_');
    columns.push_back(name);
    if (last.rfind("bn", 0) != 0 && last.rfind("batchnorm", 0) != 0 && last != "projection_bn") shown.push_back(l);
  }
  std::vector<std::vector<double>> rows;
  for (const EpochRecord& r : h.epochs) {
    std::vector<double> row = {static_cast<double>(r.epoch + 1)};
    row.insert(row.end(), r.grad_norms.begin(), r.grad_norms.end());
    rows.push_back(row);
  }
  e.csv(stem, columns, rows);
  Panel panel = line_panel(title, "epoch", "$\\|\\partial L/\\partial \\theta\\|$ of the layer", true);
  for (std::size_t l : shown) panel.series.push_back({stem, "epoch", columns[l + 1], columns[l + 1]});
  return panel;
}

}  // namespace simdnn::repro
