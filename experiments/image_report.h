// Outputs that the image experiments (digits, mnist) share: predicted labels, confusion
// matrices as CSV and figure panels, the gallery of misclassified test images, and per-layer
// gradient norms during training.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <simdnn/layers/layer.h>
#include <simdnn/train/metrics.h>
#include <simdnn/train/trainer.h>
#include "experiments/image_study.h"
#include "experiments/report.h"

namespace simdnn::repro {

// Every parameter's entries (weights, biases, γ, β).
std::size_t parameter_count(Layer& model);

// The class with the largest output, per row.
std::vector<std::int32_t> predict_labels(Trainer& trainer, ConstMatrixView x);

// The confusion matrix of `predictions` on d's test set, written as the CSV `stem`, and a panel
// drawing it with counts in the cells (rows: true class, columns: predicted).
ConfusionMatrix confusion_panel(Experiment& e, const ImageData& d, const std::string& stem, const std::string& title,
                                const std::vector<std::int32_t>& predictions, Panel& panel);

// Error analysis: the first test images `model` gets wrong, in test-set order, as grey images
// titled "true → predicted" and as a table (<stem "misclassified">); a note if there are none.
void misclassified_gallery(Experiment& e, const ImageData& d, const std::string& model,
                           const std::vector<std::int32_t>& predictions);

// History::grad_norms (‖∂L/∂θ‖ of each parameterized layer, the mean over each epoch's steps) as
// the CSV `stem` and a log-scale panel, BatchNorm's γ/β left out of the panel.
Panel grad_norm_panel(Experiment& e, const std::string& stem, const std::string& title, const History& h);

}  // namespace simdnn::repro
