#include <simdnn/train/metrics.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include <simdnn/core/error.h>

namespace simdnn {
namespace {

// Class indices stored as floats must be below 2^31 to fit an int32.
constexpr double kIndexLimit = 2147483648.0;

// The shortest decimal that reads back as `v` ("2.5", "0.1", "nan", "-inf").
template <class T>
std::string number(T v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string at(const char* name, std::size_t r, std::size_t c) {
  return std::string(name) + "(" + std::to_string(r) + ", " + std::to_string(c) + ")";
}

[[noreturn]] void invalid(const char* op, const std::string& what) {
  throw std::invalid_argument(std::string(op) + ": " + what);
}
[[noreturn]] void shape_error(const char* op, const std::string& what) {
  throw ShapeError(std::string(op) + ": " + what);
}

// One argument of a metric, in any of its accepted forms.
struct Input {
  enum class Form {
    indices,        // span of class indices
    index_column,   // m x 1 matrix of class indices as floats
    target_rows,    // m x C one-hot / probability rows (arg-max)
    score_rows,     // m x C scores (arg-max)
    binary,         // m x 1 binary score (BinaryScore)
    probabilities,  // m x C or m x 1 probabilities (log_loss): checked, not converted
  };
  Form form;
  const char* name;
  std::span<const std::int32_t> labels;
  ConstMatrixView view;
  BinaryScore kind = BinaryScore::logit;

  bool is_matrix() const { return form != Form::indices; }
  std::size_t samples() const { return is_matrix() ? view.rows : labels.size(); }
  // "has 5 entries" / "has 5 rows"
  std::string count_phrase() const {
    return is_matrix() ? "has " + std::to_string(view.rows) + " rows"
                       : "has " + std::to_string(labels.size()) + " entries";
  }
  // "5 entries" / "5x3"
  std::string shape() const {
    return is_matrix() ? shape_string(view.rows, view.cols)
                       : std::to_string(labels.size()) + " entries";
  }
  // The class count this argument fixes by its shape; 0 when it fixes none.
  std::size_t fixed_classes() const {
    switch (form) {
      case Form::target_rows:
      case Form::score_rows: return view.cols;
      case Form::binary: return 2;
      case Form::probabilities: return view.cols == 1 ? 2 : view.cols;
      default: return 0;
    }
  }
  // "(4 classes)", "(a binary classifier: 2 classes)"
  std::string classes_phrase() const {
    if (form == Form::binary) return "(one column: a binary classifier, 2 classes)";
    if (form == Form::probabilities && view.cols == 1) {
      return "(one column: P(class 1) of a binary classifier, 2 classes)";
    }
    return "(" + std::to_string(fixed_classes()) + " classes)";
  }
};

Input truth(std::span<const std::int32_t> y_true) {
  return {Input::Form::indices, "y_true", y_true, {}};
}
Input truth(ConstMatrixView y_true) {
  return {y_true.cols == 1 ? Input::Form::index_column : Input::Form::target_rows, "y_true", {},
          y_true};
}
Input prediction(std::span<const std::int32_t> y_pred) {
  return {Input::Form::indices, "y_pred", y_pred, {}};
}
Input prediction(ConstMatrixView y_score, BinaryScore kind) {
  return {y_score.cols == 1 ? Input::Form::binary : Input::Form::score_rows, "y_score", {},
          y_score, kind};
}
Input probabilities(ConstMatrixView y_prob) {
  return {Input::Form::probabilities, "y_prob", {}, y_prob};
}

void check_matrix(const char* op, const Input& in) {
  if (!in.is_matrix()) return;
  check_view(op, in.name, in.view);
  if (in.view.cols == 0) {
    shape_error(op, std::string(in.name) + " is " + in.shape() + ", expected at least one column");
  }
}

// Index of the first maximum of row r; throws on NaN (NaN, or any non-finite value when
// `finite`, is rejected with `expected`).
std::int32_t arg_max(const char* op, const Input& in, std::size_t r, bool finite,
                     const char* expected) {
  const float* row = in.view.row(r);
  std::size_t best = 0;
  for (std::size_t c = 0; c < in.view.cols; ++c) {
    const float v = row[c];
    if (std::isnan(v) || (finite && std::isinf(v))) {
      invalid(op, at(in.name, r, c) + " is " + number(v) + ", expected " + expected);
    }
    if (v > row[best]) best = c;
  }
  return static_cast<std::int32_t>(best);
}

// Checks every entry of `in` and returns its class per sample (empty for probabilities).
// `classes`: the class count when known, else 0 (then indices need only be >= 0).
std::vector<std::int32_t> convert(const char* op, const Input& in, std::size_t classes) {
  const std::string range = classes != 0
                                ? "a class index in [0, " + std::to_string(classes) + ")"
                                : std::string("a class index >= 0");
  std::vector<std::int32_t> out;
  switch (in.form) {
    case Input::Form::indices:
      out.assign(in.labels.begin(), in.labels.end());
      for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i] < 0 || (classes != 0 && static_cast<std::size_t>(out[i]) >= classes)) {
          invalid(op, std::string(in.name) + "[" + std::to_string(i) + "] is " +
                          std::to_string(out[i]) + ", expected " + range);
        }
      }
      return out;
    case Input::Form::index_column: {
      const double limit = classes != 0 ? static_cast<double>(classes) : kIndexLimit;
      out.resize(in.view.rows);
      for (std::size_t r = 0; r < in.view.rows; ++r) {
        const float t = in.view(r, 0);
        if (!(t >= 0.0f && static_cast<double>(t) < limit && std::floor(t) == t)) {
          invalid(op, at(in.name, r, 0) + " is " + number(t) + ", expected " + range + " (a one-column " +
                          in.name + " holds class indices as floats)");
        }
        out[r] = static_cast<std::int32_t>(t);
      }
      return out;
    }
    case Input::Form::target_rows:
      out.resize(in.view.rows);
      for (std::size_t r = 0; r < in.view.rows; ++r) {
        out[r] = arg_max(op, in, r, true,
                         "a finite value (one-hot or probability rows, the class is the arg-max)");
      }
      return out;
    case Input::Form::score_rows:
      out.resize(in.view.rows);
      for (std::size_t r = 0; r < in.view.rows; ++r) {
        out[r] = arg_max(op, in, r, false, "a number (scores are compared by arg-max)");
      }
      return out;
    case Input::Form::binary:
      out.resize(in.view.rows);
      for (std::size_t r = 0; r < in.view.rows; ++r) {
        const float v = in.view(r, 0);
        if (in.kind == BinaryScore::logit) {
          if (std::isnan(v)) {
            invalid(op, at(in.name, r, 0) + " is nan, expected a logit (any number; BinaryScore::logit)");
          }
          out[r] = v > 0.0f ? 1 : 0;
        } else {
          if (!(v >= 0.0f && v <= 1.0f)) {
            invalid(op, at(in.name, r, 0) + " is " + number(v) +
                            ", expected a probability in [0, 1] (BinaryScore::probability)");
          }
          out[r] = v > 0.5f ? 1 : 0;
        }
      }
      return out;
    case Input::Form::probabilities:
      for (std::size_t r = 0; r < in.view.rows; ++r) {
        for (std::size_t c = 0; c < in.view.cols; ++c) {
          const float p = in.view(r, c);
          if (!(p >= 0.0f && p <= 1.0f)) {
            invalid(op, at(in.name, r, c) + " is " + number(p) + ", expected a probability in [0, 1]");
          }
        }
      }
      return out;
  }
  return out;
}

struct Resolved {
  std::vector<std::int32_t> truth, pred;  // pred is empty for probabilities
  std::size_t classes = 0;
};

// Every check of a metric on (t, p), then both converted to classes. See the header's
// "number of classes" for how C is found.
Resolved resolve(const char* op, const Input& t, const Input& p,
                 std::optional<std::size_t> num_classes = std::nullopt) {
  check_matrix(op, t);
  check_matrix(op, p);
  if (num_classes && *num_classes == 0) invalid(op, "num_classes is 0, expected at least 1");
  const std::size_t m = t.samples();
  if (p.samples() != m) {
    shape_error(op, std::string(p.name) + " " + p.count_phrase() + ", expected " +
                        std::to_string(m) + " (one per sample of " + t.name + ", " + t.shape() + ")");
  }
  if (m == 0) invalid(op, std::string(t.name) + " is empty, expected at least one sample");
  const std::size_t ft = t.fixed_classes(), fp = p.fixed_classes();
  if (ft != 0 && fp != 0 && ft != fp) {
    shape_error(op, std::string(p.name) + " is " + p.shape() + " " + p.classes_phrase() + " but " +
                        t.name + " is " + t.shape() + " " + t.classes_phrase() +
                        ", expected the same number of classes");
  }
  const std::size_t fixed = ft != 0 ? ft : fp;
  if (num_classes && fixed != 0 && *num_classes != fixed) {
    const Input& by = ft != 0 ? t : p;
    shape_error(op, std::string(by.name) + " is " + by.shape() + " " + by.classes_phrase() +
                        ", expected " + std::to_string(*num_classes) + " classes (num_classes = " +
                        std::to_string(*num_classes) + ")");
  }
  Resolved out;
  out.classes = fixed != 0 ? fixed : num_classes.value_or(0);
  out.truth = convert(op, t, out.classes);
  out.pred = convert(op, p, out.classes);
  if (out.classes == 0) {  // inferred: max label + 1
    std::int32_t top = 0;
    for (std::int32_t v : out.truth) top = std::max(top, v);
    for (std::int32_t v : out.pred) top = std::max(top, v);
    out.classes = static_cast<std::size_t>(top) + 1;
  }
  return out;
}

ConfusionMatrix count(const Resolved& r) {
  ConfusionMatrix cm(r.classes);
  for (std::size_t i = 0; i < r.truth.size(); ++i) {
    cm.add(static_cast<std::size_t>(r.truth[i]), static_cast<std::size_t>(r.pred[i]));
  }
  return cm;
}

double fraction_right(const Resolved& r) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < r.truth.size(); ++i) right += r.truth[i] == r.pred[i];
  return static_cast<double>(right) / static_cast<double>(r.truth.size());
}

double log_loss_of(const Input& t, ConstMatrixView y_prob, double eps) {
  constexpr const char* op = "log_loss";
  if (!(eps >= 0.0 && eps < 0.5)) invalid(op, "eps is " + number(eps) + ", expected a value in [0, 0.5)");
  const Resolved r = resolve(op, t, probabilities(y_prob));
  const double lo = eps, hi = 1.0 - eps;
  double total = 0.0;
  for (std::size_t i = 0; i < r.truth.size(); ++i) {
    const std::size_t c = static_cast<std::size_t>(r.truth[i]);
    double p;
    if (y_prob.cols == 1) {
      const double p1 = y_prob(i, 0);
      p = c == 1 ? p1 : 1.0 - p1;
    } else {
      p = y_prob(i, c);
    }
    total -= std::log(std::min(std::max(p, lo), hi));
  }
  return total / static_cast<double>(r.truth.size());
}

double top_k_of(const Input& t, ConstMatrixView y_score, std::size_t k) {
  constexpr const char* op = "top_k_accuracy";
  const Input p = prediction(y_score, BinaryScore::logit);
  check_matrix(op, p);
  if (y_score.cols < 2) {
    shape_error(op, "y_score is " + p.shape() + ", expected at least 2 columns (one score per class)");
  }
  if (k == 0 || k > y_score.cols) {
    invalid(op, "k is " + std::to_string(k) + ", expected a value in [1, " +
                    std::to_string(y_score.cols) + "] (y_score has " + std::to_string(y_score.cols) +
                    " classes)");
  }
  const Resolved r = resolve(op, t, p);
  std::size_t hits = 0;
  for (std::size_t i = 0; i < r.truth.size(); ++i) {
    const float* s = y_score.row(i);
    const std::size_t truth = static_cast<std::size_t>(r.truth[i]);
    std::size_t rank = 0;
    for (std::size_t c = 0; c < y_score.cols; ++c) {
      rank += s[c] > s[truth] || (c < truth && s[c] == s[truth]);
    }
    hits += rank < k;
  }
  return static_cast<double>(hits) / static_cast<double>(r.truth.size());
}

// ---- text tables ----------------------------------------------------------------------------

// Width in UTF-8 code points.
std::size_t text_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

std::string pad_left(const std::string& s, std::size_t width) {
  const std::size_t w = text_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}

std::vector<std::string> names_of(const char* op, std::size_t classes,
                                  std::span<const std::string> class_names) {
  if (class_names.empty()) {
    std::vector<std::string> names;
    for (std::size_t c = 0; c < classes; ++c) names.push_back(std::to_string(c));
    return names;
  }
  if (class_names.size() != classes) {
    shape_error(op, "class_names has " + std::to_string(class_names.size()) + " entries, expected " +
                        std::to_string(classes) + " (one per class) or none");
  }
  return {class_names.begin(), class_names.end()};
}

std::string decimals(double v, int digits) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

// ---- conversions ------------------------------------------------------------------------------

std::vector<std::int32_t> predicted_classes(ConstMatrixView y_score, BinaryScore kind) {
  constexpr const char* op = "predicted_classes";
  const Input in = prediction(y_score, kind);
  check_matrix(op, in);
  return convert(op, in, in.fixed_classes());
}

std::vector<std::int32_t> true_classes(ConstMatrixView y_true) {
  constexpr const char* op = "true_classes";
  const Input in = truth(y_true);
  check_matrix(op, in);
  return convert(op, in, in.fixed_classes());
}

// ---- accuracy ---------------------------------------------------------------------------------

double accuracy(std::span<const std::int32_t> y_true, std::span<const std::int32_t> y_pred) {
  return fraction_right(resolve("accuracy", truth(y_true), prediction(y_pred)));
}
double accuracy(std::span<const std::int32_t> y_true, ConstMatrixView y_score, BinaryScore kind) {
  return fraction_right(resolve("accuracy", truth(y_true), prediction(y_score, kind)));
}
double accuracy(ConstMatrixView y_true, std::span<const std::int32_t> y_pred) {
  return fraction_right(resolve("accuracy", truth(y_true), prediction(y_pred)));
}
double accuracy(ConstMatrixView y_true, ConstMatrixView y_score, BinaryScore kind) {
  return fraction_right(resolve("accuracy", truth(y_true), prediction(y_score, kind)));
}

// ---- confusion matrix -------------------------------------------------------------------------

ConfusionMatrix::ConfusionMatrix(std::size_t num_classes) : classes_(num_classes) {
  if (num_classes == 0) invalid("ConfusionMatrix", "num_classes is 0, expected at least 1");
  counts_.assign(num_classes * num_classes, 0);
}

void ConfusionMatrix::add(std::size_t true_class, std::size_t predicted_class) {
  const std::string range = ", expected a class index in [0, " + std::to_string(classes_) + ")";
  if (true_class >= classes_) {
    invalid("ConfusionMatrix::add", "true_class is " + std::to_string(true_class) + range);
  }
  if (predicted_class >= classes_) {
    invalid("ConfusionMatrix::add", "predicted_class is " + std::to_string(predicted_class) + range);
  }
  ++counts_[true_class * classes_ + predicted_class];
}

std::size_t ConfusionMatrix::total() const {
  std::size_t n = 0;
  for (std::size_t v : counts_) n += v;
  return n;
}

std::size_t ConfusionMatrix::correct() const {
  std::size_t n = 0;
  for (std::size_t c = 0; c < classes_; ++c) n += (*this)(c, c);
  return n;
}

std::size_t ConfusionMatrix::support(std::size_t true_class) const {
  std::size_t n = 0;
  for (std::size_t p = 0; p < classes_; ++p) n += (*this)(true_class, p);
  return n;
}

std::size_t ConfusionMatrix::predicted(std::size_t predicted_class) const {
  std::size_t n = 0;
  for (std::size_t t = 0; t < classes_; ++t) n += (*this)(t, predicted_class);
  return n;
}

double ConfusionMatrix::accuracy() const {
  const std::size_t n = total();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(correct()) / static_cast<double>(n);
}

ConfusionMatrix confusion_matrix(std::span<const std::int32_t> y_true,
                                 std::span<const std::int32_t> y_pred,
                                 std::optional<std::size_t> num_classes) {
  return count(resolve("confusion_matrix", truth(y_true), prediction(y_pred), num_classes));
}
ConfusionMatrix confusion_matrix(ConstMatrixView y_true, std::span<const std::int32_t> y_pred,
                                 std::optional<std::size_t> num_classes) {
  return count(resolve("confusion_matrix", truth(y_true), prediction(y_pred), num_classes));
}
ConfusionMatrix confusion_matrix(std::span<const std::int32_t> y_true, ConstMatrixView y_score,
                                 BinaryScore kind) {
  return count(resolve("confusion_matrix", truth(y_true), prediction(y_score, kind)));
}
ConfusionMatrix confusion_matrix(ConstMatrixView y_true, ConstMatrixView y_score,
                                 BinaryScore kind) {
  return count(resolve("confusion_matrix", truth(y_true), prediction(y_score, kind)));
}

// ---- classification report --------------------------------------------------------------------

ClassificationReport classification_report(const ConfusionMatrix& confusion) {
  const std::size_t classes = confusion.num_classes();
  const std::size_t m = confusion.total();
  if (m == 0) {
    invalid("classification_report", "confusion counts no sample (" + std::to_string(classes) +
                                          " classes), expected at least one sample");
  }
  ClassificationReport report;
  report.confusion = confusion;
  report.per_class.resize(classes);
  double sum_p = 0, sum_r = 0, sum_f = 0, wsum_p = 0, wsum_r = 0, wsum_f = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    const std::size_t tp = confusion(c, c);
    const std::size_t predicted = confusion.predicted(c);  // tp + fp
    const std::size_t support = confusion.support(c);      // tp + fn
    ClassMetrics& k = report.per_class[c];
    k.support = support;
    k.precision = predicted == 0 ? 0.0 : static_cast<double>(tp) / static_cast<double>(predicted);
    k.recall = support == 0 ? 0.0 : static_cast<double>(tp) / static_cast<double>(support);
    // 2tp / (2tp + fp + fn) = 2tp / (predicted + support); 0 when tp = 0 (precision + recall = 0).
    k.f1 = tp == 0 ? 0.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(predicted + support);
    sum_p += k.precision;
    sum_r += k.recall;
    sum_f += k.f1;
    const double w = static_cast<double>(support);
    wsum_p += w * k.precision;
    wsum_r += w * k.recall;
    wsum_f += w * k.f1;
  }
  const double n = static_cast<double>(classes), total = static_cast<double>(m);
  report.macro_avg = {sum_p / n, sum_r / n, sum_f / n, m};
  report.weighted_avg = {wsum_p / total, wsum_r / total, wsum_f / total, m};
  report.accuracy = static_cast<double>(confusion.correct()) / total;
  return report;
}

ClassificationReport classification_report(std::span<const std::int32_t> y_true,
                                           std::span<const std::int32_t> y_pred,
                                           std::optional<std::size_t> num_classes) {
  return classification_report(
      count(resolve("classification_report", truth(y_true), prediction(y_pred), num_classes)));
}
ClassificationReport classification_report(ConstMatrixView y_true,
                                           std::span<const std::int32_t> y_pred,
                                           std::optional<std::size_t> num_classes) {
  return classification_report(
      count(resolve("classification_report", truth(y_true), prediction(y_pred), num_classes)));
}
ClassificationReport classification_report(std::span<const std::int32_t> y_true,
                                           ConstMatrixView y_score, BinaryScore kind) {
  return classification_report(
      count(resolve("classification_report", truth(y_true), prediction(y_score, kind))));
}
ClassificationReport classification_report(ConstMatrixView y_true, ConstMatrixView y_score,
                                           BinaryScore kind) {
  return classification_report(
      count(resolve("classification_report", truth(y_true), prediction(y_score, kind))));
}

// sklearn's layout: head_fmt = "{:>{width}s} " + " {:>9}" * 4, then "\n\n";
// row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"; a blank line; the accuracy
// row with two empty columns; macro avg and weighted avg in row_fmt.
std::string format_classification_report(const ClassificationReport& report,
                                         std::span<const std::string> class_names, int digits) {
  constexpr const char* op = "format_classification_report";
  if (digits < 0 || digits > 17) {
    invalid(op, "digits is " + std::to_string(digits) + ", expected a value in [0, 17]");
  }
  const std::vector<std::string> names = names_of(op, report.num_classes(), class_names);
  std::size_t width = std::max<std::size_t>(text_width("weighted avg"), static_cast<std::size_t>(digits));
  for (const std::string& name : names) width = std::max(width, text_width(name));

  auto cell = [](const std::string& s) { return " " + pad_left(s, 9); };
  auto row = [&](const std::string& name, const ClassMetrics& k) {
    return pad_left(name, width) + " " + cell(decimals(k.precision, digits)) +
           cell(decimals(k.recall, digits)) + cell(decimals(k.f1, digits)) +
           cell(std::to_string(k.support)) + "\n";
  };
  std::string out = pad_left("", width) + " " + cell("precision") + cell("recall") +
                    cell("f1-score") + cell("support") + "\n\n";
  for (std::size_t c = 0; c < names.size(); ++c) out += row(names[c], report.per_class[c]);
  out += "\n";
  out += pad_left("accuracy", width) + " " + cell("") + cell("") +
         cell(decimals(report.accuracy, digits)) + cell(std::to_string(report.samples())) + "\n";
  out += row("macro avg", report.macro_avg);
  out += row("weighted avg", report.weighted_avg);
  return out;
}

std::string format_confusion_matrix(const ConfusionMatrix& confusion,
                                    std::span<const std::string> class_names) {
  const std::size_t classes = confusion.num_classes();
  const std::vector<std::string> names = names_of("format_confusion_matrix", classes, class_names);
  const std::string corner = "true\\pred";
  std::size_t first = text_width(corner);
  for (const std::string& name : names) first = std::max(first, text_width(name));
  std::vector<std::size_t> widths(classes);
  for (std::size_t p = 0; p < classes; ++p) {
    widths[p] = text_width(names[p]);
    for (std::size_t t = 0; t < classes; ++t) {
      widths[p] = std::max(widths[p], std::to_string(confusion(t, p)).size());
    }
  }
  std::string out = pad_left(corner, first);
  for (std::size_t p = 0; p < classes; ++p) out += "  " + pad_left(names[p], widths[p]);
  out += "\n";
  for (std::size_t t = 0; t < classes; ++t) {
    out += pad_left(names[t], first);
    for (std::size_t p = 0; p < classes; ++p) {
      out += "  " + pad_left(std::to_string(confusion(t, p)), widths[p]);
    }
    out += "\n";
  }
  return out;
}

// ---- log loss ---------------------------------------------------------------------------------

double log_loss(std::span<const std::int32_t> y_true, ConstMatrixView y_prob, double eps) {
  return log_loss_of(truth(y_true), y_prob, eps);
}
double log_loss(ConstMatrixView y_true, ConstMatrixView y_prob, double eps) {
  return log_loss_of(truth(y_true), y_prob, eps);
}

// ---- top-k accuracy ---------------------------------------------------------------------------

double top_k_accuracy(std::span<const std::int32_t> y_true, ConstMatrixView y_score,
                      std::size_t k) {
  return top_k_of(truth(y_true), y_score, k);
}
double top_k_accuracy(ConstMatrixView y_true, ConstMatrixView y_score, std::size_t k) {
  return top_k_of(truth(y_true), y_score, k);
}

}  // namespace simdnn
