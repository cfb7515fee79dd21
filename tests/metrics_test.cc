// Classification metrics (train/metrics.h): hand-computed values on small examples, sklearn's
// definitions (zero_division = 0 for a class never predicted and a class with no true sample,
// macro vs weighted averages), the report's text layout against sklearn's documented output,
// the input forms (indices, float index columns, one-hot rows, score matrices, binary logits vs
// probabilities) agreeing with each other, log_loss and its clipping, top-k with its tie rule,
// and every error with its type and message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include <simdnn/core/error.h>
#include <simdnn/core/tensor.h>
#include <simdnn/train/metrics.h>

namespace simdnn {
namespace {

using Labels = std::vector<std::int32_t>;

Tensor make(std::size_t rows, std::size_t cols, const std::vector<float>& values) {
  Tensor t(rows, cols);
  EXPECT_EQ(values.size(), t.size()) << "make: wrong number of values";
  for (std::size_t i = 0; i < values.size() && i < t.size(); ++i) t.data()[i] = values[i];
  return t;
}

// m x 1 class indices as floats.
Tensor index_column(const Labels& labels) {
  Tensor t(labels.size(), 1);
  for (std::size_t i = 0; i < labels.size(); ++i) t(i, 0) = static_cast<float>(labels[i]);
  return t;
}

// m x C one-hot rows.
Tensor one_hot(const Labels& labels, std::size_t classes) {
  Tensor t(labels.size(), classes);
  for (std::size_t i = 0; i < labels.size(); ++i) t(i, static_cast<std::size_t>(labels[i])) = 1.0f;
  return t;
}

// Expects call() to throw exactly the kind `E` names (ShapeError, or std::invalid_argument that
// is not a ShapeError) with a message containing every string of `parts`.
template <class E, class C>
void expect_error(const char* what, const C& call, const std::vector<std::string>& parts) {
  try {
    call();
    ADD_FAILURE() << what << ": no exception";
  } catch (const std::invalid_argument& e) {
    const bool is_shape = dynamic_cast<const ShapeError*>(&e) != nullptr;
    if constexpr (std::is_same_v<E, ShapeError>) {
      EXPECT_TRUE(is_shape) << what << ": expected ShapeError, got std::invalid_argument: " << e.what();
    } else {
      EXPECT_FALSE(is_shape) << what << ": expected std::invalid_argument, got ShapeError: " << e.what();
    }
    const std::string msg = e.what();
    for (const std::string& p : parts) {
      EXPECT_NE(msg.find(p), std::string::npos) << what << ": \"" << msg << "\" lacks \"" << p << "\"";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": unexpected exception type " << typeid(e).name() << ": " << e.what();
  }
}

// ---- the 4-class example ----------------------------------------------------------------------
//
//   y_true = 0 0 0 1 1 1 2 2     (class 3 has no true sample)
//   y_pred = 0 0 1 1 1 3 0 1     (class 2 is never predicted)
//
// Confusion matrix (rows true, columns predicted):
//          p0 p1 p2 p3 | support
//     t0 [  2  1  0  0 ] 3
//     t1 [  0  2  0  1 ] 3
//     t2 [  1  1  0  0 ] 2
//     t3 [  0  0  0  0 ] 0
//   predicted: 3  4  0  1        total 8, trace 4 → accuracy 4/8 = 0.5
//
// Per class (tp, tp+fp, tp+fn):
//   0: (2, 3, 3) → P = 2/3, R = 2/3, F1 = 2·2/(3+3) = 2/3
//   1: (2, 4, 3) → P = 2/4 = 1/2, R = 2/3, F1 = 2·2/(4+3) = 4/7
//   2: (0, 0, 2) → P = 0 (never predicted: 0/0 → 0), R = 0/2 = 0, F1 = 0
//   3: (0, 1, 0) → P = 0/1 = 0, R = 0 (no true sample: 0/0 → 0), F1 = 0
// Macro (mean over the 4 classes):
//   P = (2/3 + 1/2 + 0 + 0)/4 = 7/24,  R = (2/3 + 2/3)/4 = 1/3,  F1 = (2/3 + 4/7)/4 = 13/42
// Weighted (by support 3, 3, 2, 0; / 8):
//   P = (3·2/3 + 3·1/2)/8 = 3.5/8 = 7/16,  R = (2 + 2)/8 = 1/2 (= accuracy, always),
//   F1 = (3·2/3 + 3·4/7)/8 = (26/7)/8 = 13/28
const Labels kTrue4 = {0, 0, 0, 1, 1, 1, 2, 2};
const Labels kPred4 = {0, 0, 1, 1, 1, 3, 0, 1};

TEST(ConfusionMatrix, HandComputed) {
  const ConfusionMatrix cm = confusion_matrix(kTrue4, kPred4);
  ASSERT_EQ(cm.num_classes(), 4u);  // inferred: max label 3 + 1
  const std::vector<std::size_t> expected = {2, 1, 0, 0,  //
                                             0, 2, 0, 1,  //
                                             1, 1, 0, 0,  //
                                             0, 0, 0, 0};
  EXPECT_EQ(std::vector<std::size_t>(cm.counts().begin(), cm.counts().end()), expected);
  EXPECT_EQ(cm(0, 1), 1u);
  EXPECT_EQ(cm(1, 3), 1u);
  EXPECT_EQ(cm(2, 0), 1u);
  EXPECT_EQ(cm.total(), 8u);
  EXPECT_EQ(cm.correct(), 4u);
  EXPECT_EQ(cm.support(0), 3u);
  EXPECT_EQ(cm.support(2), 2u);
  EXPECT_EQ(cm.support(3), 0u);
  EXPECT_EQ(cm.predicted(1), 4u);
  EXPECT_EQ(cm.predicted(2), 0u);
  EXPECT_EQ(cm.predicted(3), 1u);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 0.5);
  EXPECT_DOUBLE_EQ(accuracy(kTrue4, kPred4), 0.5);
}

TEST(ConfusionMatrix, ExplicitAndInferredClassCount) {
  // Inferred from max label + 1 over both: class 1 appears in neither but is a class.
  const ConfusionMatrix inferred = confusion_matrix(Labels{0, 2, 2}, Labels{0, 2, 0});
  ASSERT_EQ(inferred.num_classes(), 3u);
  EXPECT_EQ(inferred(2, 2), 1u);
  EXPECT_EQ(inferred(2, 0), 1u);
  EXPECT_EQ(inferred.support(1), 0u);
  // A predicted label larger than every true one also widens it.
  EXPECT_EQ(confusion_matrix(Labels{0, 0}, Labels{0, 4}).num_classes(), 5u);
  // Explicit.
  const ConfusionMatrix wide = confusion_matrix(Labels{0, 2, 2}, Labels{0, 2, 0}, 6);
  ASSERT_EQ(wide.num_classes(), 6u);
  EXPECT_EQ(wide.total(), 3u);
  EXPECT_EQ(wide(2, 0), 1u);
  EXPECT_EQ(wide.support(5), 0u);
  // From the column count of a score matrix, even when the labels use fewer classes.
  const Tensor scores = make(2, 5, {9, 0, 0, 0, 0,  //
                                    0, 0, 0, 0, 9});
  const ConfusionMatrix by_columns = confusion_matrix(Labels{0, 0}, scores.cview());
  ASSERT_EQ(by_columns.num_classes(), 5u);
  EXPECT_EQ(by_columns(0, 4), 1u);
}

TEST(ConfusionMatrix, AddAndEquality) {
  ConfusionMatrix cm(3);
  EXPECT_EQ(cm.total(), 0u);
  EXPECT_TRUE(std::isnan(cm.accuracy()));
  cm.add(2, 1);
  cm.add(2, 1);
  cm.add(0, 0);
  EXPECT_EQ(cm(2, 1), 2u);
  EXPECT_EQ(cm, confusion_matrix(Labels{2, 0, 2}, Labels{1, 0, 1}, 3));
  EXPECT_NE(cm, confusion_matrix(Labels{2, 0, 2}, Labels{1, 0, 0}, 3));
}

TEST(ClassificationReport, HandComputedSklearnDefinitions) {
  const ClassificationReport r = classification_report(kTrue4, kPred4);
  ASSERT_EQ(r.num_classes(), 4u);
  EXPECT_EQ(r.samples(), 8u);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  EXPECT_EQ(r.confusion, confusion_matrix(kTrue4, kPred4));

  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.per_class[0].recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.per_class[0].f1, 2.0 / 3.0);
  EXPECT_EQ(r.per_class[0].support, 3u);

  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[1].recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.per_class[1].f1, 4.0 / 7.0);
  EXPECT_EQ(r.per_class[1].support, 3u);

  // Never predicted: precision 0/0 → 0 (zero_division = 0); recall 0/2; F1 0.
  EXPECT_EQ(r.per_class[2].precision, 0.0);
  EXPECT_EQ(r.per_class[2].recall, 0.0);
  EXPECT_EQ(r.per_class[2].f1, 0.0);
  EXPECT_EQ(r.per_class[2].support, 2u);

  // No true sample: precision 0/1; recall 0/0 → 0; F1 0.
  EXPECT_EQ(r.per_class[3].precision, 0.0);
  EXPECT_EQ(r.per_class[3].recall, 0.0);
  EXPECT_EQ(r.per_class[3].f1, 0.0);
  EXPECT_EQ(r.per_class[3].support, 0u);

  EXPECT_DOUBLE_EQ(r.macro_avg.precision, 7.0 / 24.0);
  EXPECT_DOUBLE_EQ(r.macro_avg.recall, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.macro_avg.f1, 13.0 / 42.0);
  EXPECT_EQ(r.macro_avg.support, 8u);

  EXPECT_DOUBLE_EQ(r.weighted_avg.precision, 7.0 / 16.0);
  EXPECT_DOUBLE_EQ(r.weighted_avg.recall, 0.5);
  EXPECT_DOUBLE_EQ(r.weighted_avg.f1, 13.0 / 28.0);
  EXPECT_EQ(r.weighted_avg.support, 8u);
}

TEST(ClassificationReport, WeightedDiffersFromMacroOnImbalancedClasses) {
  // y_true = 0×6, 1×2; y_pred: all of class 0 right, class 1 both predicted 0.
  //   class 0: tp 6, predicted 8, support 6 → P = 6/8 = 3/4, R = 1, F1 = 12/14 = 6/7
  //   class 1: tp 0, predicted 0, support 2 → P = R = F1 = 0
  //   macro:    P = 3/8,            R = 1/2,            F1 = 3/7
  //   weighted: P = 6·(3/4)/8 = 9/16, R = 6/8 = 3/4,    F1 = 6·(6/7)/8 = 9/14
  const Labels y_true = {0, 0, 0, 0, 0, 0, 1, 1};
  const Labels y_pred = {0, 0, 0, 0, 0, 0, 0, 0};
  const ClassificationReport r = classification_report(y_true, y_pred);
  EXPECT_DOUBLE_EQ(r.per_class[0].f1, 6.0 / 7.0);
  EXPECT_DOUBLE_EQ(r.macro_avg.precision, 3.0 / 8.0);
  EXPECT_DOUBLE_EQ(r.macro_avg.recall, 0.5);
  EXPECT_DOUBLE_EQ(r.macro_avg.f1, 3.0 / 7.0);
  EXPECT_DOUBLE_EQ(r.weighted_avg.precision, 9.0 / 16.0);
  EXPECT_DOUBLE_EQ(r.weighted_avg.recall, 0.75);
  EXPECT_DOUBLE_EQ(r.weighted_avg.f1, 9.0 / 14.0);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
}

TEST(ClassificationReport, ExplicitClassesCountInTheMacroAverage) {
  // All right on classes 0 and 1; a third class (num_classes = 3) with neither samples nor
  // predictions gets zeros, which pull the macro average to 2/3 but weigh 0 in the weighted one
  // (sklearn with labels=[0, 1, 2]).
  const ClassificationReport r = classification_report(Labels{0, 1, 1}, Labels{0, 1, 1}, 3);
  ASSERT_EQ(r.num_classes(), 3u);
  EXPECT_EQ(r.per_class[2].support, 0u);
  EXPECT_EQ(r.per_class[2].f1, 0.0);
  EXPECT_DOUBLE_EQ(r.macro_avg.f1, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.weighted_avg.f1, 1.0);
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
}

TEST(ClassificationReport, FormatMatchesSklearnDocumentation) {
  // sklearn.metrics.classification_report's documented example, character for character.
  //   class 0: tp 1, predicted 2, support 1 → 0.50 1.00 0.67
  //   class 1: tp 0, predicted 1, support 1 → 0.00 0.00 0.00
  //   class 2: tp 2, predicted 2, support 3 → 1.00 0.67 0.80
  //   accuracy 3/5; macro (0.50, 0.56, 0.49); weighted (3.5/5, 3/5, (2/3 + 2.4)/5 = 0.61)
  const std::vector<std::string> names = {"class 0", "class 1", "class 2"};
  const ClassificationReport r = classification_report(Labels{0, 1, 2, 2, 2}, Labels{0, 0, 2, 2, 1});
  const std::string expected =
      "              precision    recall  f1-score   support\n"
      "\n"
      "     class 0       0.50      1.00      0.67         1\n"
      "     class 1       0.00      0.00      0.00         1\n"
      "     class 2       1.00      0.67      0.80         3\n"
      "\n"
      "    accuracy                           0.60         5\n"
      "   macro avg       0.50      0.56      0.49         5\n"
      "weighted avg       0.70      0.60      0.61         5\n";
  EXPECT_EQ(format_classification_report(r, names), expected);

  // Default names "0", "1", "2" and 3 digits.
  const std::string three =
      "              precision    recall  f1-score   support\n"
      "\n"
      "           0      0.500     1.000     0.667         1\n"
      "           1      0.000     0.000     0.000         1\n"
      "           2      1.000     0.667     0.800         3\n"
      "\n"
      "    accuracy                          0.600         5\n"
      "   macro avg      0.500     0.556     0.489         5\n"
      "weighted avg      0.700     0.600     0.613         5\n";
  EXPECT_EQ(format_classification_report(r, {}, 3), three);

  // A name longer than "weighted avg" widens the first column (in code points: "é" is one).
  const std::vector<std::string> long_names = {"a", "b", "très longue classe"};
  const std::string text = format_classification_report(r, long_names);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            std::string(18, ' ') + "  precision    recall  f1-score   support");
  EXPECT_NE(text.find("\n                 a       0.50"), std::string::npos) << text;
}

TEST(ConfusionMatrix, Format) {
  ConfusionMatrix cm(3);
  for (int i = 0; i < 12; ++i) cm.add(0, 0);
  cm.add(1, 2);
  cm.add(2, 1);
  EXPECT_EQ(format_confusion_matrix(cm),
            "true\\pred   0  1  2\n"
            "        0  12  0  0\n"
            "        1   0  0  1\n"
            "        2   0  1  0\n");
  const std::vector<std::string> names = {"cat", "dog", "bird"};
  EXPECT_EQ(format_confusion_matrix(cm, names),
            "true\\pred  cat  dog  bird\n"
            "      cat   12    0     0\n"
            "      dog    0    0     1\n"
            "     bird    0    1     0\n");
}

// ---- input forms ------------------------------------------------------------------------------

TEST(Inputs, EveryFormOfTheSameLabelsAgrees) {
  // Scores whose arg-max is kPred4 (one row with a tie: 5 5 at columns 1 and 3 → class 1).
  const Tensor scores = make(8, 4, {3, 1, 0, 0,    //
                                    2, -1, 0, 0,   //
                                    0, 5, 0, 5,    //
                                    0, 9, 1, 1,    //
                                    0, 1, 0, 0,    //
                                    0, 0, 0, 0.5,  //
                                    7, 6, 5, 4,    //
                                    -3, -1, -2, -2});
  EXPECT_EQ(predicted_classes(scores.cview()), kPred4);
  const Tensor column = index_column(kTrue4), rows = one_hot(kTrue4, 4);
  EXPECT_EQ(true_classes(column.cview()), kTrue4);
  EXPECT_EQ(true_classes(rows.cview()), kTrue4);

  const ConfusionMatrix expected = confusion_matrix(kTrue4, kPred4);
  EXPECT_EQ(confusion_matrix(kTrue4, scores.cview()), expected);
  EXPECT_EQ(confusion_matrix(column.cview(), kPred4), expected);
  EXPECT_EQ(confusion_matrix(rows.cview(), kPred4), expected);
  EXPECT_EQ(confusion_matrix(column.cview(), scores.cview()), expected);
  EXPECT_EQ(confusion_matrix(rows.cview(), scores.cview()), expected);
  EXPECT_EQ(classification_report(rows.cview(), scores.cview()).confusion, expected);
  EXPECT_EQ(classification_report(column.cview(), kPred4).confusion, expected);
  EXPECT_EQ(classification_report(kTrue4, scores.cview()).confusion, expected);
  for (double a : {accuracy(kTrue4, scores.cview()), accuracy(column.cview(), kPred4),
                   accuracy(rows.cview(), scores.cview()), accuracy(column.cview(), scores.cview())}) {
    EXPECT_DOUBLE_EQ(a, 0.5);
  }
  // Probability rows as targets: the class is the arg-max.
  const Tensor soft = make(2, 3, {0.2f, 0.7f, 0.1f,  //
                                  0.5f, 0.1f, 0.4f});
  EXPECT_EQ(true_classes(soft.cview()), (Labels{1, 0}));
}

TEST(Inputs, ViewsWithALeadingDimension) {
  // The first 3 columns of a 2x5 buffer: row 0 → class 2, row 1 → class 0 (the 9s outside
  // the window must not count).
  const Tensor buffer = make(2, 5, {0, 1, 2, 9, 9,  //
                                    3, 1, 2, 9, 9});
  const ConstMatrixView window{buffer.data(), 2, 3, 5};
  EXPECT_EQ(predicted_classes(window), (Labels{2, 0}));
  EXPECT_DOUBLE_EQ(accuracy(Labels{2, 1}, window), 0.5);
}

TEST(Inputs, ArgMaxTiesAndInfinities) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor scores = make(4, 3, {1, 1, 1,        // all equal → 0
                                    0, 2, 2,        // first maximum → 1
                                    -inf, -inf, -inf,
                                    0, inf, 1});
  EXPECT_EQ(predicted_classes(scores.cview()), (Labels{0, 1, 0, 1}));
}

TEST(Inputs, BinaryColumnLogitsVersusProbabilities) {
  // One column read as a logit (class 1 when > 0) or as P(class 1) (class 1 when > 0.5):
  //   value  0.3  0.7  0.5  0.0  1.0
  //   logit    1    1    1    0    1
  //   prob     0    1    0    0    1     (0.5 is not > 0.5)
  const Tensor column = make(5, 1, {0.3f, 0.7f, 0.5f, 0.0f, 1.0f});
  EXPECT_EQ(predicted_classes(column.cview()), (Labels{1, 1, 1, 0, 1}));
  EXPECT_EQ(predicted_classes(column.cview(), BinaryScore::logit), (Labels{1, 1, 1, 0, 1}));
  EXPECT_EQ(predicted_classes(column.cview(), BinaryScore::probability), (Labels{0, 1, 0, 0, 1}));

  const Labels y_true = {0, 1, 0, 0, 1};
  // As logits: rows 0 and 2 wrong → 3/5; as probabilities: all right.
  EXPECT_DOUBLE_EQ(accuracy(y_true, column.cview()), 0.6);
  EXPECT_DOUBLE_EQ(accuracy(y_true, column.cview(), BinaryScore::probability), 1.0);

  // Logits: any number; exactly 0 is class 0.
  const Tensor logits = make(5, 1, {2.0f, -1.0f, 0.0f, 0.5f, -3.0f});
  const ConfusionMatrix cm = confusion_matrix(Labels{1, 0, 0, 0, 1}, logits.cview());
  // predictions 1 0 0 1 0: (t1,p1) (t0,p0) (t0,p0) (t0,p1) (t1,p0)
  ASSERT_EQ(cm.num_classes(), 2u);
  EXPECT_EQ(cm(0, 0), 2u);
  EXPECT_EQ(cm(0, 1), 1u);
  EXPECT_EQ(cm(1, 0), 1u);
  EXPECT_EQ(cm(1, 1), 1u);

  // Targets as a one-column float matrix, or one-hot rows of 2 columns, work with it too.
  const Tensor t_column = index_column(y_true), t_rows = one_hot(y_true, 2);
  EXPECT_DOUBLE_EQ(accuracy(t_column.cview(), column.cview(), BinaryScore::probability), 1.0);
  EXPECT_DOUBLE_EQ(accuracy(t_rows.cview(), column.cview()), 0.6);
  const ClassificationReport r = classification_report(y_true, column.cview(), BinaryScore::probability);
  EXPECT_DOUBLE_EQ(r.macro_avg.f1, 1.0);
}

// ---- log loss ---------------------------------------------------------------------------------

TEST(LogLoss, HandComputed) {
  //   row 0: true 0, p = 0.7  → −ln 0.7  = 0.35667494393873245
  //   row 1: true 1, p = 0.8  → −ln 0.8  = 0.22314355131420976
  //   row 2: true 0, p = 0.25 → −ln 0.25 = 1.3862943611198906
  //   mean = 1.9661128563728328 / 3 = 0.6553709521242776
  const Tensor p = make(3, 3, {0.7f, 0.2f, 0.1f,  //
                               0.1f, 0.8f, 0.1f,  //
                               0.25f, 0.25f, 0.5f});
  const Labels y = {0, 1, 0};
  // Float inputs: 0.7f and 0.8f differ from 0.7, 0.8 by < 3e-8 relative.
  EXPECT_NEAR(log_loss(y, p.cview()), 0.6553709521242776, 1e-7);
  const Tensor column = index_column(y), rows = one_hot(y, 3);
  EXPECT_DOUBLE_EQ(log_loss(column.cview(), p.cview()), log_loss(y, p.cview()));
  EXPECT_DOUBLE_EQ(log_loss(rows.cview(), p.cview()), log_loss(y, p.cview()));
}

TEST(LogLoss, BinaryColumnIsProbabilityOfClassOne) {
  // sklearn's documented example: log_loss(["spam", "ham", "ham", "spam"],
  // [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]) = 0.21616... With ham = 0, spam = 1:
  //   −(ln .9 + ln .9 + ln .8 + ln .65)/4 = (0.10536 + 0.10536 + 0.22314 + 0.43078)/4 = 0.21616
  const Labels y = {1, 0, 0, 1};
  const Tensor two = make(4, 2, {0.1f, 0.9f, 0.9f, 0.1f, 0.8f, 0.2f, 0.35f, 0.65f});
  const Tensor one = make(4, 1, {0.9f, 0.1f, 0.2f, 0.65f});
  const double expected =
      -(std::log(0.9) + std::log(0.9) + std::log(0.8) + std::log(0.65)) / 4.0;
  EXPECT_NEAR(expected, 0.21616187468057912, 1e-15);
  EXPECT_NEAR(log_loss(y, two.cview()), expected, 1e-7);
  EXPECT_NEAR(log_loss(y, one.cview()), expected, 1e-7);
}

TEST(LogLoss, Clipping) {
  // The true class got probability 0: clipped to eps = 1e-15, −ln 1e-15 = 34.538776394910684.
  const Tensor p = make(2, 2, {0.0f, 1.0f,  //
                               1.0f, 0.0f});
  EXPECT_NEAR(log_loss(Labels{0, 1}, p.cview()), 34.538776394910684, 1e-9);
  // Probability 1 for the true class: clipped to 1 − eps, −ln(1 − 1e-15) ≈ 1e-15, not 0.
  const double near_zero = log_loss(Labels{1, 0}, p.cview());
  EXPECT_GT(near_zero, 0.0);
  EXPECT_LT(near_zero, 2e-15);
  // A larger eps = 0.1 clips 0.05 up to 0.1 and 0.95 down to 0.9:
  //   (−ln 0.1 − ln 0.9)/2 = (2.302585092994046 + 0.10536051565782628)/2 = 1.203972804325936
  const Tensor q = make(2, 2, {0.05f, 0.95f,  //
                               0.05f, 0.95f});
  EXPECT_NEAR(log_loss(Labels{0, 1}, q.cview(), 0.1), 1.203972804325936, 1e-12);
  // eps = 0 turns clipping off: a zero probability of the true class gives +inf.
  EXPECT_EQ(log_loss(Labels{0, 1}, p.cview(), 0.0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(log_loss(Labels{1, 0}, p.cview(), 0.0), 0.0);
  // Binary column: P(class 1) = 1 for a true class 0 → p_0 = 0 → clipped.
  const Tensor b = make(1, 1, {1.0f});
  EXPECT_NEAR(log_loss(Labels{0}, b.cview()), 34.538776394910684, 1e-9);
}

// ---- top-k accuracy ---------------------------------------------------------------------------

TEST(TopK, TieRuleAndLimits) {
  // rank = #{c : s_c > s_t} + #{c < t : s_c = s_t}; counted when rank < k.
  //   row 0: true 2, scores .1 .5 .3 .1    → 1 larger            → rank 1
  //   row 1: true 1, scores .2 .2 .2 .4    → 1 larger + class 0  → rank 2
  //   row 2: true 0, scores .9 0 .05 .05   →                        rank 0
  //   row 3: true 3, scores all .25        → classes 0, 1, 2     → rank 3
  //   row 4: true 0, scores .3 .3 .2 .2    →                        rank 0
  // top-1: rows 2, 4 → 0.4; top-2: + row 0 → 0.6; top-3: + row 1 → 0.8; top-4: 1.
  const Tensor s = make(5, 4, {0.1f, 0.5f, 0.3f, 0.1f,    //
                               0.2f, 0.2f, 0.2f, 0.4f,    //
                               0.9f, 0.0f, 0.05f, 0.05f,  //
                               0.25f, 0.25f, 0.25f, 0.25f,  //
                               0.3f, 0.3f, 0.2f, 0.2f});
  const Labels y = {2, 1, 0, 3, 0};
  EXPECT_DOUBLE_EQ(top_k_accuracy(y, s.cview(), 1), 0.4);
  EXPECT_DOUBLE_EQ(top_k_accuracy(y, s.cview(), 2), 0.6);
  EXPECT_DOUBLE_EQ(top_k_accuracy(y, s.cview(), 3), 0.8);
  EXPECT_DOUBLE_EQ(top_k_accuracy(y, s.cview(), 4), 1.0);
  // k = 1 is accuracy (arg-max breaks ties the same way), ties included.
  EXPECT_DOUBLE_EQ(top_k_accuracy(y, s.cview(), 1), accuracy(y, s.cview()));
  EXPECT_DOUBLE_EQ(top_k_accuracy(kTrue4, make(8, 4, std::vector<float>(32, 1.0f)).cview(), 1),
                   accuracy(kTrue4, make(8, 4, std::vector<float>(32, 1.0f)).cview()));
  // Targets as a float column or one-hot rows.
  const Tensor column = index_column(y), rows = one_hot(y, 4);
  EXPECT_DOUBLE_EQ(top_k_accuracy(column.cview(), s.cview(), 2), 0.6);
  EXPECT_DOUBLE_EQ(top_k_accuracy(rows.cview(), s.cview(), 3), 0.8);
}

// ---- errors -----------------------------------------------------------------------------------

TEST(Errors, MismatchedSamples) {
  const Tensor s3 = make(3, 2, {1, 0, 1, 0, 1, 0});
  expect_error<ShapeError>("span sizes", [] { accuracy(Labels{0, 1}, Labels{0, 1, 1}); },
                           {"accuracy", "y_pred has 3 entries", "expected 2", "y_true"});
  expect_error<ShapeError>("score rows", [&] { confusion_matrix(Labels{0, 1}, s3.cview()); },
                           {"confusion_matrix", "y_score has 3 rows", "expected 2"});
  const Tensor t2 = index_column({0, 1});
  expect_error<ShapeError>("matrix y_true", [&] { classification_report(t2.cview(), Labels{0}); },
                           {"classification_report", "y_pred has 1 entries", "expected 2", "2x1"});
  expect_error<ShapeError>("log_loss", [&] { log_loss(Labels{0, 1}, s3.cview()); },
                           {"log_loss", "y_prob has 3 rows", "expected 2"});
  expect_error<ShapeError>("top_k", [&] { top_k_accuracy(Labels{0, 1}, s3.cview(), 1); },
                           {"top_k_accuracy", "y_score has 3 rows", "expected 2"});
}

TEST(Errors, ClassCountsThatDisagree) {
  const Tensor rows3 = one_hot({0, 1}, 3), scores4 = make(2, 4, {1, 0, 0, 0, 0, 1, 0, 0});
  expect_error<ShapeError>("one-hot vs scores", [&] { confusion_matrix(rows3.cview(), scores4.cview()); },
                           {"confusion_matrix", "y_score is 2x4 (4 classes)", "y_true is 2x3 (3 classes)"});
  const Tensor binary = make(2, 1, {0.5f, -1.0f});
  expect_error<ShapeError>("binary vs 3 classes", [&] { accuracy(rows3.cview(), binary.cview()); },
                           {"accuracy", "y_score is 2x1", "binary", "y_true is 2x3"});
  expect_error<ShapeError>("num_classes vs one-hot", [&] { confusion_matrix(rows3.cview(), Labels{0, 1}, 4); },
                           {"confusion_matrix", "y_true is 2x3 (3 classes)", "num_classes = 4"});
  expect_error<ShapeError>("log_loss classes", [&] { log_loss(rows3.cview(), scores4.cview()); },
                           {"log_loss", "y_prob is 2x4", "y_true is 2x3"});
}

TEST(Errors, LabelsOutOfRange) {
  // The message of the brief, word for word.
  expect_error<std::invalid_argument>(
      "y_true above", [] { confusion_matrix(Labels{0, 1, 2, 12}, Labels{0, 1, 2, 3}, 10); },
      {"confusion_matrix: y_true[3] is 12, expected a class index in [0, 10)"});
  expect_error<std::invalid_argument>(
      "y_pred above", [] { classification_report(Labels{0, 1}, Labels{0, 3}, 3); },
      {"classification_report: y_pred[1] is 3, expected a class index in [0, 3)"});
  expect_error<std::invalid_argument>("negative, inferred", [] { accuracy(Labels{0, -1}, Labels{0, 1}); },
                                      {"accuracy: y_true[1] is -1, expected a class index >= 0"});
  // Against the column count of the scores.
  const Tensor s = make(2, 3, {1, 0, 0, 0, 1, 0});
  expect_error<std::invalid_argument>("vs scores", [&] { accuracy(Labels{0, 3}, s.cview()); },
                                      {"accuracy: y_true[1] is 3, expected a class index in [0, 3)"});
  expect_error<std::invalid_argument>("top_k label", [&] { top_k_accuracy(Labels{5, 0}, s.cview(), 1); },
                                      {"top_k_accuracy: y_true[0] is 5", "[0, 3)"});
  expect_error<std::invalid_argument>("log_loss label", [&] { log_loss(Labels{0, 3}, s.cview()); },
                                      {"log_loss: y_true[1] is 3", "[0, 3)"});
  // Binary: classes are 0 and 1.
  const Tensor binary = make(2, 1, {0.5f, -1.0f});
  expect_error<std::invalid_argument>("binary label", [&] { accuracy(Labels{0, 2}, binary.cview()); },
                                      {"accuracy: y_true[1] is 2, expected a class index in [0, 2)"});
  // One-column float y_true: an integer in range.
  const Tensor half = make(2, 1, {1.0f, 2.5f});
  expect_error<std::invalid_argument>("fractional index", [&] { accuracy(half.cview(), Labels{1, 2}); },
                                      {"accuracy: y_true(1, 0) is 2.5, expected a class index >= 0",
                                       "class indices as floats"});
  const Tensor big = make(2, 1, {1.0f, 3.0f});
  expect_error<std::invalid_argument>("float index vs scores", [&] { accuracy(big.cview(), s.cview()); },
                                      {"accuracy: y_true(1, 0) is 3, expected a class index in [0, 3)"});
  const Tensor negative = make(1, 1, {-1.0f});
  expect_error<std::invalid_argument>("negative float index", [&] { true_classes(negative.cview()); },
                                      {"true_classes: y_true(0, 0) is -1"});
  expect_error<std::invalid_argument>("num_classes 0", [] { confusion_matrix(Labels{0}, Labels{0}, 0); },
                                      {"confusion_matrix: num_classes is 0, expected at least 1"});
}

TEST(Errors, Empty) {
  const Labels none;
  expect_error<std::invalid_argument>("accuracy", [&] { accuracy(none, none); },
                                      {"accuracy: y_true is empty, expected at least one sample"});
  expect_error<std::invalid_argument>("confusion_matrix", [&] { confusion_matrix(none, none, 3); },
                                      {"confusion_matrix: y_true is empty"});
  const Tensor no_rows(0, 3);
  expect_error<std::invalid_argument>("report", [&] { classification_report(none, no_rows.cview()); },
                                      {"classification_report: y_true is empty"});
  expect_error<std::invalid_argument>("log_loss", [&] { log_loss(none, no_rows.cview()); },
                                      {"log_loss: y_true is empty"});
  expect_error<std::invalid_argument>("top_k", [&] { top_k_accuracy(none, no_rows.cview(), 1); },
                                      {"top_k_accuracy: y_true is empty"});
  expect_error<std::invalid_argument>("empty confusion", [] { classification_report(ConfusionMatrix(2)); },
                                      {"classification_report", "no sample"});
  // Conversions of an empty matrix give an empty vector.
  EXPECT_TRUE(predicted_classes(no_rows.cview()).empty());
}

TEST(Errors, TopKOutOfRange) {
  const Tensor s = make(2, 3, {1, 0, 0, 0, 1, 0});
  expect_error<std::invalid_argument>("k = 0", [&] { top_k_accuracy(Labels{0, 1}, s.cview(), 0); },
                                      {"top_k_accuracy: k is 0, expected a value in [1, 3]"});
  expect_error<std::invalid_argument>("k > C", [&] { top_k_accuracy(Labels{0, 1}, s.cview(), 4); },
                                      {"top_k_accuracy: k is 4, expected a value in [1, 3]"});
  const Tensor one = make(2, 1, {1, 0});
  expect_error<ShapeError>("one column", [&] { top_k_accuracy(Labels{0, 1}, one.cview(), 1); },
                           {"top_k_accuracy: y_score is 2x1, expected at least 2 columns"});
}

TEST(Errors, NonFiniteValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor nan_scores = make(2, 2, {0, 1, 0, nan});
  expect_error<std::invalid_argument>("NaN score", [&] { accuracy(Labels{0, 1}, nan_scores.cview()); },
                                      {"accuracy: y_score(1, 1) is nan, expected a number"});
  expect_error<std::invalid_argument>("NaN score top-k", [&] { top_k_accuracy(Labels{0, 1}, nan_scores.cview(), 2); },
                                      {"top_k_accuracy: y_score(1, 1) is nan"});
  const Tensor nan_logit = make(2, 1, {nan, 1});
  expect_error<std::invalid_argument>("NaN logit", [&] { accuracy(Labels{0, 1}, nan_logit.cview()); },
                                      {"accuracy: y_score(0, 0) is nan, expected a logit"});
  // A value above 1 is a fine logit but not a probability.
  const Tensor above = make(2, 1, {0.25f, 1.5f});
  EXPECT_DOUBLE_EQ(accuracy(Labels{1, 1}, above.cview()), 1.0);
  expect_error<std::invalid_argument>(
      "probability > 1", [&] { accuracy(Labels{0, 1}, above.cview(), BinaryScore::probability); },
      {"accuracy: y_score(1, 0) is 1.5, expected a probability in [0, 1]"});
  const Tensor inf_target = make(2, 2, {1, 0, inf, 0});
  expect_error<std::invalid_argument>("inf target", [&] { accuracy(inf_target.cview(), Labels{0, 0}); },
                                      {"accuracy: y_true(1, 0) is inf, expected a finite value"});
  // log_loss: every entry must be a probability.
  const Tensor bad_prob = make(2, 2, {0.5f, 0.5f, 1.25f, -0.25f});
  expect_error<std::invalid_argument>("prob > 1", [&] { log_loss(Labels{0, 0}, bad_prob.cview()); },
                                      {"log_loss: y_prob(1, 0) is 1.25, expected a probability in [0, 1]"});
  const Tensor nan_prob = make(2, 2, {0.5f, 0.5f, 0.5f, nan});
  expect_error<std::invalid_argument>("NaN prob (unread column)", [&] { log_loss(Labels{0, 0}, nan_prob.cview()); },
                                      {"log_loss: y_prob(1, 1) is nan"});
  const Tensor ok = make(1, 2, {0.5f, 0.5f});
  expect_error<std::invalid_argument>("eps", [&] { log_loss(Labels{0}, ok.cview(), 0.5); },
                                      {"log_loss: eps is 0.5, expected a value in [0, 0.5)"});
  expect_error<std::invalid_argument>("eps < 0", [&] { log_loss(Labels{0}, ok.cview(), -1e-3); },
                                      {"log_loss: eps is -0.001"});
}

TEST(Errors, BadViews) {
  const Tensor t = make(2, 3, {1, 0, 0, 0, 1, 0});
  const ConstMatrixView narrow_ld{t.data(), 2, 3, 2};
  expect_error<ShapeError>("ld < cols", [&] { accuracy(Labels{0, 1}, narrow_ld); },
                           {"accuracy", "y_score", "leading dimension 2"});
  const ConstMatrixView null_view{nullptr, 2, 3, 3};
  expect_error<ShapeError>("null", [&] { confusion_matrix(null_view, Labels{0, 1}); },
                           {"confusion_matrix", "y_true", "null"});
  const Tensor no_cols(2, 0);
  expect_error<ShapeError>("no columns", [&] { accuracy(Labels{0, 1}, no_cols.cview()); },
                           {"accuracy: y_score is 2x0, expected at least one column"});
  expect_error<ShapeError>("no columns, y_true", [&] { log_loss(no_cols.cview(), t.cview()); },
                           {"log_loss: y_true is 2x0, expected at least one column"});
}

TEST(Errors, ConfusionMatrixAndFormatting) {
  expect_error<std::invalid_argument>("0 classes", [] { ConfusionMatrix cm(0); },
                                      {"ConfusionMatrix: num_classes is 0, expected at least 1"});
  ConfusionMatrix cm(2);
  expect_error<std::invalid_argument>("add true", [&] { cm.add(2, 0); },
                                      {"ConfusionMatrix::add: true_class is 2, expected a class index in [0, 2)"});
  expect_error<std::invalid_argument>("add predicted", [&] { cm.add(0, 5); },
                                      {"ConfusionMatrix::add: predicted_class is 5"});
  EXPECT_EQ(cm.total(), 0u);  // nothing was counted by the failed calls
  cm.add(0, 0);
  const ClassificationReport r = classification_report(cm);
  const std::vector<std::string> three = {"a", "b", "c"};
  expect_error<ShapeError>("names", [&] { format_classification_report(r, three); },
                           {"format_classification_report: class_names has 3 entries, expected 2"});
  expect_error<ShapeError>("names cm", [&] { format_confusion_matrix(cm, three); },
                           {"format_confusion_matrix: class_names has 3 entries, expected 2"});
  expect_error<std::invalid_argument>("digits", [&] { format_classification_report(r, {}, -1); },
                                      {"format_classification_report: digits is -1"});
}

}  // namespace
}  // namespace simdnn
