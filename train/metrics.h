// Classification metrics: accuracy, confusion matrix, per-class precision / recall / F1 with
// macro and weighted averages (a classification report, printable as sklearn's table), log loss
// and top-k accuracy. The definitions are scikit-learn's.
//
// Layout: one sample per row, as everywhere in simdnn (m rows = samples, C columns = classes).
//
// ---- inputs ------------------------------------------------------------------------------------
// True classes, `y_true`, come as
//   - class indices: std::span<const std::int32_t> of m labels in [0, C);
//   - an m x 1 ConstMatrixView of class indices stored as floats (0.0, 1.0, ...), so labels can
//     travel in a Tensor like the inputs (as the losses accept them);
//   - an m x C ConstMatrixView of one-hot or probability rows: the class is the row's arg-max.
// Predicted classes come as
//   - class indices, `y_pred`: std::span<const std::int32_t>;
//   - scores, `y_score`: an m x C ConstMatrixView of scores, probabilities or logits (anything
//     ordered like them): the class is the row's arg-max; or an m x 1 ConstMatrixView, the
//     output of a binary classifier, read as BinaryScore says: a logit (the default; class 1
//     when the value is > 0) or the probability of class 1 (class 1 when the value is > 0.5).
//     Both thresholds are strict, so a logit of exactly 0 or a probability of exactly 0.5 gives
//     class 0, as arg-max of [1 − p, p] does.
// Arg-max breaks ties towards the lower class index (the first maximum, like numpy.argmax and
// torch.argmax on CPU); a row of equal scores predicts class 0.
//
// ---- number of classes -------------------------------------------------------------------------
// C is fixed by any matrix with C ≥ 2 columns (a one-hot y_true, a y_score) and is 2 for a
// one-column y_score; two inputs that fix different counts throw ShapeError. Where nothing fixes
// it (indices, or an m x 1 y_true with a y_pred of indices), it is the explicit `num_classes`
// when given, else inferred as max label + 1 over y_true and y_pred. The classes are then all of
// 0 .. C−1, as sklearn with labels=range(C): a class absent from both y_true and y_pred still
// has a row of the report (all zeros, support 0) and counts in the macro average.
//
// ---- errors ------------------------------------------------------------------------------------
// Everything is checked before anything is computed. ShapeError (core/error.h): a view that is
// not valid (check_view), a matrix with no column, inputs with different numbers of samples,
// matrices (or num_classes) that fix different class counts, y_score of one column where a
// function needs one score per class, class names of the wrong count. std::invalid_argument:
// no samples at all, a label out of range (negative, ≥ C, or a one-column y_true entry that is
// not an integer), num_classes = 0, NaN scores (arg-max is meaningless with them; ±inf is
// allowed), non-finite target rows, probabilities outside [0, 1] or NaN where they are read as
// probabilities, k out of [1, C], eps out of [0, 0.5). Messages name the function, the argument,
// what was expected and what was given ("confusion_matrix: y_true[3] is 12, expected a class
// index in [0, 10)").
//
// ---- computation -------------------------------------------------------------------------------
// Plain O(m·C) loops on the calling thread, in a fixed order, in double: every result is
// deterministic. Counts are exact (std::size_t).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <simdnn/core/tensor.h>

namespace simdnn {

// How a one-column y_score (a binary classifier's single output) is read.
enum class BinaryScore {
  logit,        // class 1 when the value is > 0 (the logit of P(class 1); any number but NaN)
  probability,  // class 1 when the value is > 0.5 (P(class 1), in [0, 1])
};

// ---- conversions ---------------------------------------------------------------------------

// The predicted class of each row of y_score (m x C: arg-max, first maximum on ties; m x 1: the
// BinaryScore threshold). Throws as described above ("predicted_classes: y_score(...) ...").
std::vector<std::int32_t> predicted_classes(ConstMatrixView y_score,
                                            BinaryScore kind = BinaryScore::logit);

// The true class of each row of y_true (m x 1: the index stored as a float; m x C: arg-max).
// Both conversions check their input as the metrics do; a matrix of 0 rows gives an empty vector.
std::vector<std::int32_t> true_classes(ConstMatrixView y_true);

// ---- accuracy ------------------------------------------------------------------------------

// accuracy = (1/m) · #{i : predicted_i = true_i}, the fraction of samples classified right.
double accuracy(std::span<const std::int32_t> y_true, std::span<const std::int32_t> y_pred);
double accuracy(std::span<const std::int32_t> y_true, ConstMatrixView y_score,
                BinaryScore kind = BinaryScore::logit);
double accuracy(ConstMatrixView y_true, std::span<const std::int32_t> y_pred);
double accuracy(ConstMatrixView y_true, ConstMatrixView y_score,
                BinaryScore kind = BinaryScore::logit);

// ---- confusion matrix ----------------------------------------------------------------------

// C x C counts: (t, p) is the number of samples of true class t predicted as class p. Rows are
// true classes, columns predicted classes, as sklearn.metrics.confusion_matrix.
class ConfusionMatrix {
 public:
  ConfusionMatrix() = default;
  // All zeros. Throws std::invalid_argument when num_classes is 0.
  explicit ConfusionMatrix(std::size_t num_classes);

  std::size_t num_classes() const { return classes_; }
  // The count of (true_class, predicted_class); both must be < num_classes() (unchecked).
  std::size_t operator()(std::size_t true_class, std::size_t predicted_class) const {
    return counts_[true_class * classes_ + predicted_class];
  }
  // Row-major C x C: counts()[t * C + p] is (t, p).
  std::span<const std::size_t> counts() const { return counts_; }

  // Counts one more sample. Throws std::invalid_argument for a class outside [0, C).
  void add(std::size_t true_class, std::size_t predicted_class);

  std::size_t total() const;                           // Σ all counts = m
  std::size_t correct() const;                         // Σ_c (c, c), the trace
  // The classes below must be < num_classes() (unchecked).
  std::size_t support(std::size_t true_class) const;         // Σ_p (c, p): samples of class c
  std::size_t predicted(std::size_t predicted_class) const;  // Σ_t (t, c): predictions of c
  // correct() / total(); NaN when total() is 0.
  double accuracy() const;

  friend bool operator==(const ConfusionMatrix&, const ConfusionMatrix&) = default;

 private:
  std::size_t classes_ = 0;
  std::vector<std::size_t> counts_;
};

// num_classes: see "number of classes" above; with a y_score the class count is its column
// count (2 for one column), so those overloads take none.
ConfusionMatrix confusion_matrix(std::span<const std::int32_t> y_true,
                                 std::span<const std::int32_t> y_pred,
                                 std::optional<std::size_t> num_classes = std::nullopt);
ConfusionMatrix confusion_matrix(ConstMatrixView y_true, std::span<const std::int32_t> y_pred,
                                 std::optional<std::size_t> num_classes = std::nullopt);
ConfusionMatrix confusion_matrix(std::span<const std::int32_t> y_true, ConstMatrixView y_score,
                                 BinaryScore kind = BinaryScore::logit);
ConfusionMatrix confusion_matrix(ConstMatrixView y_true, ConstMatrixView y_score,
                                 BinaryScore kind = BinaryScore::logit);

// ---- precision, recall, F1 -----------------------------------------------------------------

// One class c, from the confusion matrix: tp = (c, c), fp = predicted(c) − tp,
// fn = support(c) − tp, and
//   precision = tp / (tp + fp)        0 when the class is never predicted (tp + fp = 0)
//   recall    = tp / (tp + fn)        0 when the class has no true sample (tp + fn = 0)
//   F1        = 2·tp / (2·tp + fp + fn)
//             = 2·precision·recall / (precision + recall), 0 when precision + recall = 0
//   support   = tp + fn, the number of true samples of the class
// (sklearn's precision_recall_fscore_support with zero_division=0: undefined ratios are 0).
// For an average, precision, recall and F1 are the averages of the per-class values and
// support is the number of samples m.
struct ClassMetrics {
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
  std::size_t support = 0;
};

// Everything sklearn's classification_report shows, with the counts it comes from.
struct ClassificationReport {
  ConfusionMatrix confusion;
  std::vector<ClassMetrics> per_class;  // per_class[c] for each class c in [0, C)
  // Unweighted mean over all C classes (sklearn average="macro").
  ClassMetrics macro_avg;
  // Mean weighted by support: Σ_c support_c · metric_c / m (sklearn average="weighted").
  ClassMetrics weighted_avg;
  double accuracy = 0.0;  // correct / m (= micro-averaged precision, recall and F1)

  std::size_t num_classes() const { return per_class.size(); }
  std::size_t samples() const { return macro_avg.support; }
};

// The report of a confusion matrix. Throws std::invalid_argument when it counts no sample.
ClassificationReport classification_report(const ConfusionMatrix& confusion);
// The report of predictions against true classes; num_classes as for confusion_matrix.
ClassificationReport classification_report(std::span<const std::int32_t> y_true,
                                           std::span<const std::int32_t> y_pred,
                                           std::optional<std::size_t> num_classes = std::nullopt);
ClassificationReport classification_report(ConstMatrixView y_true,
                                           std::span<const std::int32_t> y_pred,
                                           std::optional<std::size_t> num_classes = std::nullopt);
ClassificationReport classification_report(std::span<const std::int32_t> y_true,
                                           ConstMatrixView y_score,
                                           BinaryScore kind = BinaryScore::logit);
ClassificationReport classification_report(ConstMatrixView y_true, ConstMatrixView y_score,
                                           BinaryScore kind = BinaryScore::logit);

// The report as sklearn.metrics.classification_report prints it (the same layout, character
// for character): a header line, a blank line, one line per class (name, precision, recall,
// F1 with `digits` decimals, support), a blank line, then accuracy, macro avg and weighted avg;
// every line ends with '\n'. The first column is as wide as the longest of the class names,
// "weighted avg" and `digits` (widths count UTF-8 code points). class_names: one per class,
// or empty for "0", "1", ...; another count throws ShapeError. digits must be in [0, 17]
// (std::invalid_argument otherwise).
std::string format_classification_report(const ClassificationReport& report,
                                         std::span<const std::string> class_names = {},
                                         int digits = 2);

// The confusion matrix as a plain-text table: a header line "true\pred" and the predicted
// classes' names, then one line per true class with its counts; columns are right-aligned and
// separated by two spaces; every line ends with '\n'. class_names as above.
std::string format_confusion_matrix(const ConfusionMatrix& confusion,
                                    std::span<const std::string> class_names = {});

// ---- log loss ------------------------------------------------------------------------------

// The probability clipping of log_loss: 1e-15, sklearn's long-standing default (newer sklearn
// versions clip at the machine epsilon of y_prob's dtype instead).
inline constexpr double kLogLossEps = 1e-15;

// Mean negative log-likelihood of the true classes (cross-entropy, sklearn's log_loss):
//   L = −(1/m) Σ_i log clip(p_i,t_i),   clip(p) = min(max(p, eps), 1 − eps)
// where t_i is sample i's true class and p_i,c the predicted probability of class c:
//   - y_prob m x C (C ≥ 2): p_i,c = y_prob(i, c);
//   - y_prob m x 1 (binary): p_i,1 = y_prob(i, 0) and p_i,0 = 1 − y_prob(i, 0).
// Clipping keeps the loss finite (at most −log eps ≈ 34.5) when a true class got probability 0.
// Rows are used as given: they are not renormalized and their sums are not checked (feed
// probabilities, e.g. a softmax, not logits). Every entry of y_prob, read or not, must be a
// probability in [0, 1] (NaN and ±inf throw std::invalid_argument). For a one-hot or
// probability y_true (m x C) the true class is the row's arg-max, as everywhere here, so a
// one-hot y_true gives exactly −(1/m) Σ_i Σ_c y_i,c · log clip(p_i,c). eps in [0, 0.5); eps = 0
// turns clipping off (a zero probability of the true class then gives +inf).
double log_loss(std::span<const std::int32_t> y_true, ConstMatrixView y_prob,
                double eps = kLogLossEps);
double log_loss(ConstMatrixView y_true, ConstMatrixView y_prob, double eps = kLogLossEps);

// ---- top-k accuracy ------------------------------------------------------------------------

// The fraction of samples whose true class is among the k best-scored classes of y_score
// (m x C, C ≥ 2: one score per class; a one-column y_score throws ShapeError). Ties are broken
// as arg-max breaks them, towards the lower class index: sample i with true class t counts when
//   rank_i = #{c : s_c > s_t} + #{c < t : s_c = s_t}  <  k,
// i.e. t is among the first k classes of the scores sorted by decreasing score, equal scores in
// increasing class order. Hence top_k_accuracy(y_true, y_score, 1) == accuracy(y_true, y_score)
// always, and k = C gives 1. k must be in [1, C] (std::invalid_argument otherwise); NaN scores
// throw, ±inf are allowed.
double top_k_accuracy(std::span<const std::int32_t> y_true, ConstMatrixView y_score,
                      std::size_t k);
double top_k_accuracy(ConstMatrixView y_true, ConstMatrixView y_score, std::size_t k);

}  // namespace simdnn
