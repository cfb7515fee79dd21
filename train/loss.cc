#include <simdnn/train/loss.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/error.h>
#include <simdnn/train/check.h>

namespace simdnn {
namespace {

using internal::number;

constexpr const char* kBce = "binary_cross_entropy_with_logits";
constexpr const char* kSce = "softmax_cross_entropy";
constexpr const char* kMse = "mean_squared_error";

std::string shape_of(ConstMatrixView v) { return shape_string(v.rows, v.cols); }

// A valid view with at least one row and one column.
void require_batch(const char* op, const char* arg, ConstMatrixView v) {
  check_view(op, arg, v);
  if (v.rows == 0 || v.cols == 0) {
    throw ShapeError(std::string(op) + ": " + arg + " is " + shape_of(v) +
                     ", expected at least one row and one column");
  }
}

void require_shape(const char* op, const char* arg, ConstMatrixView v, std::size_t rows,
                   std::size_t cols, const char* why) {
  check_view(op, arg, v);
  if (v.rows != rows || v.cols != cols) {
    throw ShapeError(std::string(op) + ": " + arg + " is " + shape_of(v) + ", expected " +
                     shape_string(rows, cols) + " (" + why + ")");
  }
}

// Every target in [0, 1].
void require_unit_targets(const char* op, ConstMatrixView t) {
  for (std::size_t r = 0; r < t.rows; ++r) {
    for (std::size_t c = 0; c < t.cols; ++c) {
      const float y = t(r, c);
      if (!(y >= 0.0f && y <= 1.0f)) {
        throw std::invalid_argument(std::string(op) + ": targets(" + std::to_string(r) + ", " +
                                    std::to_string(c) + ") is " + number(y) +
                                    ", expected a value in [0, 1]");
      }
    }
  }
}

// ---- binary cross-entropy ---------------------------------------------------------------------

double bce(ConstMatrixView z, ConstMatrixView y, MatrixView* dz) {
  require_batch(kBce, "logits", z);
  require_shape(kBce, "targets", y, z.rows, z.cols, "the shape of logits");
  if (dz != nullptr) require_shape(kBce, "dlogits", *dz, z.rows, z.cols, "the shape of logits");
  require_unit_targets(kBce, y);
  const double n = static_cast<double>(z.rows) * static_cast<double>(z.cols);
  return logistic_loss(z, y, dz != nullptr ? *dz : MatrixView{}, n) / n;
}

// ---- softmax cross-entropy --------------------------------------------------------------------

// log Σ_j e^(z_j) of one row, stable: m + log Σ e^(z_j − m).
struct RowStats {
  double max;
  double sum;  // Σ e^(z_j − max)
  double log_sum_exp() const { return max + std::log(sum); }
};

RowStats row_stats(const float* z, std::size_t n) {
  double m = z[0];
  for (std::size_t j = 1; j < n; ++j) m = std::fmax(m, static_cast<double>(z[j]));
  // fmax drops NaN; keep it so that a NaN logit gives a NaN loss.
  for (std::size_t j = 0; j < n; ++j) {
    if (std::isnan(z[j])) m = z[j];
  }
  double s = 0.0;
  for (std::size_t j = 0; j < n; ++j) s += std::exp(static_cast<double>(z[j]) - m);
  return {m, s};
}

// Class index of row r: labels[r], or targets(r, 0) as a float holding an integer.
template <class LabelOf>
double sce_indices(ConstMatrixView z, MatrixView* dz, const LabelOf& label_of) {
  const double m = static_cast<double>(z.rows);
  double total = 0.0;
  for (std::size_t r = 0; r < z.rows; ++r) {
    const float* row = z.row(r);
    const std::size_t label = label_of(r);
    const RowStats s = row_stats(row, z.cols);
    total += s.log_sum_exp() - static_cast<double>(row[label]);
    if (dz != nullptr) {
      float* out = dz->row(r);
      for (std::size_t j = 0; j < z.cols; ++j) {
        const double p = std::exp(static_cast<double>(row[j]) - s.max) / s.sum;
        out[j] = static_cast<float>((p - (j == label ? 1.0 : 0.0)) / m);
      }
    }
  }
  return total / m;
}

double sce_labels(ConstMatrixView z, std::span<const std::int32_t> labels, MatrixView* dz) {
  require_batch(kSce, "logits", z);
  if (labels.size() != z.rows) {
    throw ShapeError(std::string(kSce) + ": labels has " + std::to_string(labels.size()) +
                     " entries, expected " + std::to_string(z.rows) + " (one per row of logits, " +
                     shape_of(z) + ")");
  }
  if (dz != nullptr) require_shape(kSce, "dlogits", *dz, z.rows, z.cols, "the shape of logits");
  for (std::size_t r = 0; r < labels.size(); ++r) {
    if (labels[r] < 0 || static_cast<std::size_t>(labels[r]) >= z.cols) {
      throw std::invalid_argument(std::string(kSce) + ": labels[" + std::to_string(r) + "] is " +
                                  std::to_string(labels[r]) + ", expected a class index in [0, " +
                                  std::to_string(z.cols) + ")");
    }
  }
  return sce_indices(z, dz, [&](std::size_t r) { return static_cast<std::size_t>(labels[r]); });
}

double sce_targets(ConstMatrixView z, ConstMatrixView y, MatrixView* dz) {
  require_batch(kSce, "logits", z);
  check_view(kSce, "targets", y);
  const bool indices = y.cols == 1 && z.cols >= 2;
  if (y.rows != z.rows || (!indices && y.cols != z.cols)) {
    throw ShapeError(std::string(kSce) + ": targets is " + shape_of(y) + ", expected " +
                     shape_string(z.rows, z.cols) + " (one-hot or probabilities) or " +
                     shape_string(z.rows, 1) + " (class indices) for logits " + shape_of(z));
  }
  if (dz != nullptr) require_shape(kSce, "dlogits", *dz, z.rows, z.cols, "the shape of logits");
  if (indices) {
    for (std::size_t r = 0; r < y.rows; ++r) {
      const float t = y(r, 0);
      if (!(t >= 0.0f && t < static_cast<float>(z.cols) && std::floor(t) == t)) {
        throw std::invalid_argument(
            std::string(kSce) + ": targets(" + std::to_string(r) + ", 0) is " + number(t) +
            ", expected a class index in [0, " + std::to_string(z.cols) +
            ") (a one-column target matrix holds class indices)");
      }
    }
    return sce_indices(z, dz, [&](std::size_t r) { return static_cast<std::size_t>(y(r, 0)); });
  }
  require_unit_targets(kSce, y);
  const double m = static_cast<double>(z.rows);
  double total = 0.0;
  for (std::size_t r = 0; r < z.rows; ++r) {
    const float* row = z.row(r);
    const float* t = y.row(r);
    const RowStats s = row_stats(row, z.cols);
    const double lse = s.log_sum_exp();
    double mass = 0.0;
    for (std::size_t j = 0; j < z.cols; ++j) {
      // A zero target contributes nothing, even where the logit is −inf (0·inf would be NaN).
      if (t[j] != 0.0f) total += static_cast<double>(t[j]) * (lse - static_cast<double>(row[j]));
      mass += t[j];
    }
    if (dz != nullptr) {
      float* out = dz->row(r);
      for (std::size_t j = 0; j < z.cols; ++j) {
        const double p = std::exp(static_cast<double>(row[j]) - s.max) / s.sum;
        out[j] = static_cast<float>((p * mass - static_cast<double>(t[j])) / m);
      }
    }
  }
  return total / m;
}

// ---- mean squared error -----------------------------------------------------------------------

double mse(ConstMatrixView p, ConstMatrixView y, MatrixView* dp) {
  require_batch(kMse, "predictions", p);
  require_shape(kMse, "targets", y, p.rows, p.cols, "the shape of predictions");
  if (dp != nullptr) {
    require_shape(kMse, "dpredictions", *dp, p.rows, p.cols, "the shape of predictions");
  }
  const double n = static_cast<double>(p.rows) * static_cast<double>(p.cols);
  double total = 0.0;
  for (std::size_t r = 0; r < p.rows; ++r) {
    for (std::size_t c = 0; c < p.cols; ++c) {
      const double d = static_cast<double>(p(r, c)) - static_cast<double>(y(r, c));
      total += d * d;
      if (dp != nullptr) (*dp)(r, c) = static_cast<float>(2.0 * d / n);
    }
  }
  return total / n;
}

}  // namespace

double binary_cross_entropy_with_logits(ConstMatrixView logits, ConstMatrixView targets) {
  return bce(logits, targets, nullptr);
}
double binary_cross_entropy_with_logits(ConstMatrixView logits, ConstMatrixView targets,
                                        MatrixView dlogits) {
  return bce(logits, targets, &dlogits);
}

double softmax_cross_entropy(ConstMatrixView logits, std::span<const std::int32_t> labels) {
  return sce_labels(logits, labels, nullptr);
}
double softmax_cross_entropy(ConstMatrixView logits, std::span<const std::int32_t> labels,
                             MatrixView dlogits) {
  return sce_labels(logits, labels, &dlogits);
}
double softmax_cross_entropy(ConstMatrixView logits, ConstMatrixView targets) {
  return sce_targets(logits, targets, nullptr);
}
double softmax_cross_entropy(ConstMatrixView logits, ConstMatrixView targets,
                             MatrixView dlogits) {
  return sce_targets(logits, targets, &dlogits);
}

double mean_squared_error(ConstMatrixView predictions, ConstMatrixView targets) {
  return mse(predictions, targets, nullptr);
}
double mean_squared_error(ConstMatrixView predictions, ConstMatrixView targets,
                          MatrixView dpredictions) {
  return mse(predictions, targets, &dpredictions);
}

// ---- Loss ---------------------------------------------------------------------------------------

MatrixView Loss::gradient_buffer(std::size_t rows, std::size_t cols) {
  gradient_ = reserve_rows(buffer_, rows, cols);
  return gradient_;
}

// On a throw (checked before anything is written) gradient() becomes empty rather than a view
// of a buffer that was resized but never filled.
template <class F>
double Loss::store_gradient(const char* op, const char* arg, ConstMatrixView outputs,
                            const F& compute) {
  try {
    require_batch(op, arg, outputs);
    return compute(gradient_buffer(outputs.rows, outputs.cols));
  } catch (...) {
    gradient_ = {};
    throw;
  }
}

double BinaryCrossEntropyWithLogits::forward_backward(ConstMatrixView logits,
                                                      ConstMatrixView targets) {
  return store_gradient(kBce, "logits", logits, [&](MatrixView g) {
    return binary_cross_entropy_with_logits(logits, targets, g);
  });
}
double BinaryCrossEntropyWithLogits::value(ConstMatrixView logits, ConstMatrixView targets) const {
  return binary_cross_entropy_with_logits(logits, targets);
}

double SoftmaxCrossEntropy::forward_backward(ConstMatrixView logits, ConstMatrixView targets) {
  return store_gradient(kSce, "logits", logits, [&](MatrixView g) {
    return softmax_cross_entropy(logits, targets, g);
  });
}
double SoftmaxCrossEntropy::value(ConstMatrixView logits, ConstMatrixView targets) const {
  return softmax_cross_entropy(logits, targets);
}
double SoftmaxCrossEntropy::forward_backward(ConstMatrixView logits,
                                             std::span<const std::int32_t> labels) {
  return store_gradient(kSce, "logits", logits, [&](MatrixView g) {
    return softmax_cross_entropy(logits, labels, g);
  });
}
double SoftmaxCrossEntropy::value(ConstMatrixView logits,
                                  std::span<const std::int32_t> labels) const {
  return softmax_cross_entropy(logits, labels);
}

double MeanSquaredError::forward_backward(ConstMatrixView predictions, ConstMatrixView targets) {
  return store_gradient(kMse, "predictions", predictions, [&](MatrixView g) {
    return mean_squared_error(predictions, targets, g);
  });
}
double MeanSquaredError::value(ConstMatrixView predictions, ConstMatrixView targets) const {
  return mean_squared_error(predictions, targets);
}

std::unique_ptr<Loss> make_loss(std::string_view name) {
  if (name == "binary_cross_entropy") return std::make_unique<BinaryCrossEntropyWithLogits>();
  if (name == "softmax_cross_entropy") return std::make_unique<SoftmaxCrossEntropy>();
  if (name == "mean_squared_error") return std::make_unique<MeanSquaredError>();
  throw std::invalid_argument("make_loss: name is \"" + std::string(name) +
                              "\", expected one of binary_cross_entropy, softmax_cross_entropy, "
                              "mean_squared_error");
}

}  // namespace simdnn
