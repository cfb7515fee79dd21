// Losses (train/loss.h) and regularizers (train/regularizer.h): values against hand-computed
// ones (extreme logits included), gradients against central finite differences of the
// implementation itself, shape and range errors, the loss objects' buffers, which parameters a
// regularizer touches, and the notebook's per-batch L2 scaling as a named option; and softmax rows
// and the softmax cross-entropy with ±inf and NaN logits, on every ISA.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/error.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/tensor.h>
#include <simdnn/layers/layer.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/regularizer.h>
#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::expect_throw_with;

Tensor make(std::size_t rows, std::size_t cols, const std::vector<float>& values) {
  Tensor t(rows, cols);
  for (std::size_t i = 0; i < values.size() && i < t.size(); ++i) t.data()[i] = values[i];
  return t;
}

// Logits on a grid of 2^-8 in [-4, 4), so that z ± 2^-10 is exact in float and the finite
// differences measure the implementation, not the rounding of the perturbed input.
Tensor grid_logits(std::size_t rows, std::size_t cols, unsigned seed) {
  Tensor t(rows, cols);
  unsigned s = seed;
  for (std::size_t i = 0; i < t.size(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data()[i] = static_cast<float>(static_cast<int>((s >> 8) % 2048u) - 1024) / 256.0f;
  }
  return t;
}

// Central differences of loss(z) with step 2^-10, against the analytic gradient `grad`.
void check_gradient(Tensor& z, ConstMatrixView grad, const std::function<double()>& loss,
                    double rel_tol = 2e-5) {
  constexpr float h = 1.0f / 1024.0f;
  double scale = 0.0;
  for (std::size_t i = 0; i < z.size(); ++i) scale = std::fmax(scale, std::fabs(grad.data[i]));
  ASSERT_GT(scale, 0.0);
  for (std::size_t r = 0; r < z.rows(); ++r) {
    for (std::size_t c = 0; c < z.cols(); ++c) {
      const float z0 = z(r, c);
      z(r, c) = z0 + h;
      const double up = loss();
      z(r, c) = z0 - h;
      const double down = loss();
      z(r, c) = z0;
      const double fd = (up - down) / (2.0 * h);
      EXPECT_NEAR(grad(r, c), fd, rel_tol * scale) << "at (" << r << ", " << c << ")";
    }
  }
}

double log1pexp(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// ---- binary cross-entropy ---------------------------------------------------------------------

TEST(BinaryCrossEntropy, HandComputedValues) {
  const std::vector<float> z = {0.0f, 2.0f, -3.0f, 0.5f};
  const std::vector<float> y = {1.0f, 0.0f, 1.0f, 0.25f};
  Tensor logits = make(4, 1, z), targets = make(4, 1, y), grad(4, 1);
  // −y·log σ(z) − (1−y)·log(1−σ(z)) = y·log(1+e^−z) + (1−y)·log(1+e^z).
  double expected = 0.0;
  for (int i = 0; i < 4; ++i) expected += y[i] * log1pexp(-z[i]) + (1 - y[i]) * log1pexp(z[i]);
  expected /= 4.0;
  EXPECT_NEAR(binary_cross_entropy_with_logits(logits.cview(), targets.cview(), grad.view()),
              expected, 1e-15);
  EXPECT_NEAR(expected, (std::log(2.0) + std::log1p(std::exp(2.0)) + std::log1p(std::exp(3.0)) +
                         0.25 * std::log1p(std::exp(-0.5)) + 0.75 * std::log1p(std::exp(0.5))) /
                            4.0,
              1e-15);
  for (int i = 0; i < 4; ++i) {
    const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(z[i])));
    EXPECT_FLOAT_EQ(grad(i, 0), static_cast<float>((p - y[i]) / 4.0));
  }
  // The loss-only overload agrees.
  EXPECT_EQ(binary_cross_entropy_with_logits(logits.cview(), targets.cview()),
            binary_cross_entropy_with_logits(logits.cview(), targets.cview(), grad.view()));
}

TEST(BinaryCrossEntropy, ExtremeLogitsStayFinite) {
  const std::vector<float> z = {100.0f, 100.0f, -100.0f, -100.0f, 1e4f, 1e4f, -1e4f, -1e4f};
  const std::vector<float> y = {1, 0, 1, 0, 1, 0, 1, 0};
  Tensor logits = make(8, 1, z), targets = make(8, 1, y), grad(8, 1);
  const double loss = binary_cross_entropy_with_logits(logits.cview(), targets.cview(), grad.view());
  // Per element: right side ≈ e^−|z| (≈ 3.7e-44 at 100, 0 at 1e4), wrong side |z|.
  const double expected = (100.0 + 100.0 + 1e4 + 1e4 + 4 * std::exp(-100.0)) / 8.0;
  ASSERT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, expected, 1e-12 * expected);
  const float want[8] = {0.0f, 1.0f / 8, -1.0f / 8, 0.0f, 0.0f, 1.0f / 8, -1.0f / 8, 0.0f};
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(std::isfinite(grad(i, 0)));
    EXPECT_NEAR(grad(i, 0), want[i], 1e-30) << i;
  }
  // A single right answer at z = 1e4 costs nothing; a wrong one costs 1e4.
  Tensor one = make(1, 1, {1e4f}), t1 = make(1, 1, {1.0f}), t0 = make(1, 1, {0.0f});
  EXPECT_EQ(binary_cross_entropy_with_logits(one.cview(), t1.cview()), 0.0);
  EXPECT_EQ(binary_cross_entropy_with_logits(one.cview(), t0.cview()), 1e4);
}

TEST(BinaryCrossEntropy, GradientMatchesFiniteDifferences) {
  Tensor z = grid_logits(6, 3, 1);  // multi-label: mean over all 18 elements
  Tensor y(6, 3), grad(6, 3);
  for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = (i % 4 == 0) ? 0.75f : float(i % 2);
  binary_cross_entropy_with_logits(z.cview(), y.cview(), grad.view());
  check_gradient(z, grad.cview(), [&] { return binary_cross_entropy_with_logits(z.cview(), y.cview()); });
}

TEST(BinaryCrossEntropy, InPlaceAndStridedViews) {
  Tensor z = grid_logits(5, 2, 7), y(5, 2), grad(5, 2);
  for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = float(i % 2);
  const double loss = binary_cross_entropy_with_logits(z.cview(), y.cview(), grad.view());
  // Strided: the logits as the first two columns of a 5x4 buffer.
  Tensor wide(5, 4);
  for (std::size_t r = 0; r < 5; ++r) {
    for (std::size_t c = 0; c < 2; ++c) wide(r, c) = z(r, c);
  }
  MatrixView zs{wide.data(), 5, 2, 4};
  EXPECT_EQ(binary_cross_entropy_with_logits(zs, y.cview(), zs), loss);  // in place
  for (std::size_t r = 0; r < 5; ++r) {
    for (std::size_t c = 0; c < 2; ++c) EXPECT_EQ(wide(r, c), grad(r, c));
  }
}

TEST(BinaryCrossEntropy, Errors) {
  Tensor z(4, 1), y(4, 2), ok(4, 1), bad(4, 1);
  expect_throw_with("shape", [&] { binary_cross_entropy_with_logits(z.cview(), y.cview()); },
                    {"binary_cross_entropy_with_logits", "targets", "4x2", "expected 4x1"});
  Tensor g(3, 1);
  expect_throw_with("grad shape",
                    [&] { binary_cross_entropy_with_logits(z.cview(), ok.cview(), g.view()); },
                    {"dlogits", "3x1", "expected 4x1"});
  Tensor empty(0, 1), empty_t(0, 1);
  expect_throw_with("empty", [&] { binary_cross_entropy_with_logits(empty.cview(), empty_t.cview()); },
                    {"logits", "0x1", "at least one row"});
  bad(2, 0) = 2.0f;
  expect_throw_with("range", [&] { binary_cross_entropy_with_logits(z.cview(), bad.cview()); },
                    {"targets(2, 0) is 2", "[0, 1]"});
  EXPECT_THROW(binary_cross_entropy_with_logits(z.cview(), y.cview()), ShapeError);
}

// ---- softmax cross-entropy ------------------------------------------------------------------

TEST(SoftmaxCrossEntropy, HandComputedValues) {
  Tensor z = make(3, 3, {0, 0, 0, 1, 2, 3, 1e4f, 0, -1e4f});
  const std::vector<std::int32_t> labels = {0, 2, 2};
  Tensor grad(3, 3);
  const double lse1 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double expected = (std::log(3.0) + (lse1 - 3.0) + 2e4) / 3.0;
  const double loss = softmax_cross_entropy(z.cview(), labels, grad.view());
  ASSERT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, expected, 1e-12 * expected);
  // Row 0: p = 1/3 each; row 2: p = (1, 0, 0), label 2.
  EXPECT_FLOAT_EQ(grad(0, 0), static_cast<float>((1.0 / 3 - 1) / 3));
  EXPECT_FLOAT_EQ(grad(0, 1), static_cast<float>((1.0 / 3) / 3));
  for (int j = 0; j < 3; ++j) {
    const double p = std::exp(j + 1.0 - lse1);
    EXPECT_FLOAT_EQ(grad(1, j), static_cast<float>((p - (j == 2)) / 3));
  }
  EXPECT_FLOAT_EQ(grad(2, 0), 1.0f / 3);
  EXPECT_EQ(grad(2, 1), 0.0f);
  EXPECT_FLOAT_EQ(grad(2, 2), -1.0f / 3);
  // The right class at +1e4 costs 0.
  const std::vector<std::int32_t> right = {0};
  Tensor z1 = make(1, 3, {1e4f, 0, -1e4f});
  EXPECT_EQ(softmax_cross_entropy(z1.cview(), right), 0.0);
}

TEST(SoftmaxCrossEntropy, LabelFormsAgree) {
  Tensor z = grid_logits(7, 5, 3);
  const std::vector<std::int32_t> labels = {0, 4, 2, 2, 1, 3, 0};
  Tensor onehot(7, 5), index(7, 1);
  for (std::size_t r = 0; r < 7; ++r) {
    onehot(r, labels[r]) = 1.0f;
    index(r, 0) = static_cast<float>(labels[r]);
  }
  Tensor g1(7, 5), g2(7, 5), g3(7, 5);
  const double l1 = softmax_cross_entropy(z.cview(), labels, g1.view());
  const double l2 = softmax_cross_entropy(z.cview(), onehot.cview(), g2.view());
  const double l3 = softmax_cross_entropy(z.cview(), index.cview(), g3.view());
  EXPECT_NEAR(l1, l2, 1e-14);
  EXPECT_EQ(l1, l3);
  for (std::size_t i = 0; i < g1.size(); ++i) {
    EXPECT_NEAR(g1.data()[i], g2.data()[i], 1e-8);
    EXPECT_EQ(g1.data()[i], g3.data()[i]);
  }
}

TEST(SoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  Tensor z = grid_logits(6, 4, 11);
  const std::vector<std::int32_t> labels = {3, 0, 1, 2, 3, 1};
  Tensor grad(6, 4);
  softmax_cross_entropy(z.cview(), labels, grad.view());
  check_gradient(z, grad.cview(), [&] { return softmax_cross_entropy(z.cview(), labels); });

  // Probability targets (rows summing to 1) and, for the general formula, a row summing to 0.5.
  Tensor t(6, 4);
  for (std::size_t r = 0; r < 6; ++r) {
    for (std::size_t c = 0; c < 4; ++c) t(r, c) = (r == 5) ? 0.125f : 0.25f * ((r + c) % 2) + 0.25f * (c == r % 4);
  }
  for (std::size_t r = 0; r < 5; ++r) {
    float s = 0;
    for (std::size_t c = 0; c < 4; ++c) s += t(r, c);
    for (std::size_t c = 0; c < 4; ++c) t(r, c) /= s;
  }
  softmax_cross_entropy(z.cview(), t.cview(), grad.view());
  check_gradient(z, grad.cview(), [&] { return softmax_cross_entropy(z.cview(), t.cview()); });
}

TEST(SoftmaxCrossEntropy, Errors) {
  Tensor z(2, 3);
  const std::vector<std::int32_t> high = {0, 3}, negative = {-1, 0}, short_labels = {0};
  expect_throw_with("high", [&] { softmax_cross_entropy(z.cview(), high); },
                    {"softmax_cross_entropy", "labels[1] is 3", "[0, 3)"});
  expect_throw_with("negative", [&] { softmax_cross_entropy(z.cview(), negative); },
                    {"labels[0] is -1"});
  expect_throw_with("count", [&] { softmax_cross_entropy(z.cview(), short_labels); },
                    {"labels has 1 entries", "expected 2"});
  Tensor idx = make(2, 1, {0.0f, 1.5f});
  expect_throw_with("float index", [&] { softmax_cross_entropy(z.cview(), idx.cview()); },
                    {"targets(1, 0) is 1.5", "class index in [0, 3)"});
  Tensor wrong(2, 2);
  expect_throw_with("target shape", [&] { softmax_cross_entropy(z.cview(), wrong.cview()); },
                    {"targets is 2x2", "2x3", "2x1"});
  Tensor g(2, 2);
  const std::vector<std::int32_t> ok = {0, 1};
  expect_throw_with("grad shape", [&] { softmax_cross_entropy(z.cview(), ok, g.view()); },
                    {"dlogits is 2x2", "expected 2x3"});
}

// ---- non-finite logits: softmax rows and the softmax cross-entropy ---------------------------
//
// The intended behaviour, per row (core/elementwise.h, train/loss.h), never a silent finite
// number that is wrong:
// - a −inf logit is a masked class: probability exactly 0 (log-probability −inf), the other
//   entries the softmax of the row without it; gradient exactly 0 there. The loss stays finite
//   unless the target class (a label, or a non-zero target) is the masked one: then it is +inf
//   (the true class has probability 0), with a finite gradient;
// - a row whose only finite logit is z_p: probability exactly 1 at p, 0 elsewhere;
// - a row holding NaN or +inf, or only −inf: softmax and log-softmax give an all-NaN row (e^(+inf
//   − +inf) is undefined: no choice among several +inf entries is right), and the loss is NaN with
//   an all-NaN gradient row;
// - the other rows of the batch are unaffected (their softmax and gradient rows stay finite).
// Row lengths 1 to 70 cover the scalar tail, one and two SIMD vectors of SSE2 (4 lanes), AVX2 (8)
// and AVX-512 (16); the special entry sits first, in the middle and last; every ISA this CPU has.

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr std::size_t kRowLengths[] = {1, 3, 8, 17, 33, 70};

// A finite row of n logits in [-3, 3].
std::vector<float> finite_row(std::size_t n) {
  std::vector<float> row(n);
  for (std::size_t j = 0; j < n; ++j) row[j] = static_cast<float>(static_cast<int>(j * 5 % 13) - 6) * 0.5f;
  return row;
}

std::vector<std::size_t> special_positions(std::size_t n) {
  std::vector<std::size_t> p = {0};
  if (n > 2) p.push_back(n / 2);
  if (n > 1) p.push_back(n - 1);
  return p;
}

// Softmax of `row` in double, with −inf entries as probability 0 (at least one finite entry).
std::vector<double> reference_softmax(const std::vector<float>& row) {
  double m = -std::numeric_limits<double>::infinity();
  for (float v : row) m = std::max(m, static_cast<double>(v));
  double s = 0.0;
  for (float v : row) s += std::exp(static_cast<double>(v) - m);
  std::vector<double> p(row.size());
  for (std::size_t j = 0; j < row.size(); ++j) p[j] = std::exp(static_cast<double>(row[j]) - m) / s;
  return p;
}

bool all_nan(const float* y, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    if (!std::isnan(y[j])) return false;
  }
  return true;
}

// Three rows: finite, `special`, finite; runs softmax and log-softmax and checks that the finite
// rows are untouched by the special one. Returns the special row's softmax and log-softmax.
struct SoftmaxOfRow {
  std::vector<float> p, logp;
};
SoftmaxOfRow softmax_between_finite_rows(const std::vector<float>& special, const std::string& what) {
  const std::size_t n = special.size();
  const std::vector<float> finite = finite_row(n);
  std::vector<float> x = finite;
  x.insert(x.end(), special.begin(), special.end());
  x.insert(x.end(), finite.begin(), finite.end());
  std::vector<float> y(3 * n), ylog(3 * n);
  softmax_forward(ConstMatrixView{x.data(), 3, n, n}, MatrixView{y.data(), 3, n, n});
  log_softmax_forward(ConstMatrixView{x.data(), 3, n, n}, MatrixView{ylog.data(), 3, n, n});
  const std::vector<double> want = reference_softmax(finite);
  for (std::size_t r : {std::size_t{0}, std::size_t{2}}) {
    for (std::size_t j = 0; j < n; ++j) {
      EXPECT_NEAR(y[r * n + j], want[j], 1e-6 * want[j] + 1e-12) << what << " finite row " << r << " [" << j << "]";
      EXPECT_NEAR(ylog[r * n + j], std::log(want[j]), 1e-5) << what << " finite row " << r << " [" << j << "]";
    }
  }
  return {std::vector<float>(y.begin() + n, y.begin() + 2 * n),
          std::vector<float>(ylog.begin() + n, ylog.begin() + 2 * n)};
}

TEST(SoftmaxNonFinite, RowsEveryIsaAndLength) {
  testing::Restore restore;
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    for (std::size_t n : kRowLengths) {
      for (std::size_t p : special_positions(n)) {
        const std::string at = std::string(isa_name(isa)) + " n=" + std::to_string(n) + " at " + std::to_string(p);
        // A masked entry: 0 there, the softmax of the rest elsewhere.
        if (n > 1) {
          std::vector<float> row = finite_row(n);
          row[p] = -kInf;
          const SoftmaxOfRow s = softmax_between_finite_rows(row, at + " -inf");
          const std::vector<double> want = reference_softmax(row);
          double sum = 0.0;
          for (std::size_t j = 0; j < n; ++j) {
            if (j == p) {
              EXPECT_EQ(s.p[j], 0.0f) << at;
              EXPECT_EQ(s.logp[j], -kInf) << at;
            } else {
              EXPECT_NEAR(s.p[j], want[j], 1e-6 * want[j]) << at << " [" << j << "]";
              EXPECT_NEAR(s.logp[j], std::log(want[j]), 1e-5) << at << " [" << j << "]";
            }
            sum += s.p[j];
          }
          EXPECT_NEAR(sum, 1.0, 1e-5) << at;
        }
        // One finite entry among −inf: probability 1 there.
        {
          std::vector<float> row(n, -kInf);
          row[p] = 2.5f;
          const SoftmaxOfRow s = softmax_between_finite_rows(row, at + " one finite");
          for (std::size_t j = 0; j < n; ++j) {
            EXPECT_EQ(s.p[j], j == p ? 1.0f : 0.0f) << at << " one finite [" << j << "]";
            EXPECT_EQ(s.logp[j], j == p ? 0.0f : -kInf) << at << " one finite [" << j << "]";
          }
        }
        // +inf, NaN, +inf beside −inf, two +inf, only −inf: NaN rows.
        std::vector<std::pair<std::string, std::vector<float>>> nan_rows;
        std::vector<float> row = finite_row(n);
        row[p] = kInf;
        nan_rows.emplace_back("+inf", row);
        row[p] = kNaN;
        nan_rows.emplace_back("nan", row);
        row = finite_row(n);
        row[p] = -kNaN;
        nan_rows.emplace_back("-nan", row);
        if (n > 1) {
          row = finite_row(n);
          row[p] = kInf;
          row[p == 0 ? n - 1 : 0] = -kInf;
          nan_rows.emplace_back("+inf and -inf", row);
          row[p == 0 ? n - 1 : 0] = kInf;
          nan_rows.emplace_back("two +inf", row);
          row = std::vector<float>(n, -kInf);
          row[p] = kNaN;
          nan_rows.emplace_back("nan among -inf", row);
        }
        row = std::vector<float>(n, kInf);
        nan_rows.emplace_back("only +inf", row);
        row = std::vector<float>(n, -kInf);
        nan_rows.emplace_back("only -inf", row);
        for (const auto& [name, special] : nan_rows) {
          const SoftmaxOfRow s = softmax_between_finite_rows(special, at + " " + name);
          EXPECT_TRUE(all_nan(s.p.data(), n)) << at << " " << name << ": softmax";
          EXPECT_TRUE(all_nan(s.logp.data(), n)) << at << " " << name << ": log_softmax";
        }
      }
    }
  }
}

// The loss and its gradient (labels, one-hot targets, index targets) on three rows: finite, the
// special row with class `label`, finite.
struct LossOfRow {
  double loss[3];                     // labels, one-hot targets, index targets
  std::vector<float> grad[3];         // the whole 3 x n gradient of each form
};
LossOfRow loss_between_finite_rows(const std::vector<float>& special, std::size_t label) {
  const std::size_t n = special.size();
  const std::vector<float> finite = finite_row(n);
  std::vector<float> z = finite;
  z.insert(z.end(), special.begin(), special.end());
  z.insert(z.end(), finite.begin(), finite.end());
  const Tensor logits = make(3, n, z);
  const std::vector<std::int32_t> labels = {0, static_cast<std::int32_t>(label), static_cast<std::int32_t>(n - 1)};
  Tensor onehot(3, n), index(3, 1);
  for (std::size_t r = 0; r < 3; ++r) {
    onehot(r, static_cast<std::size_t>(labels[r])) = 1.0f;
    index(r, 0) = static_cast<float>(labels[r]);
  }
  LossOfRow out;
  Tensor g(3, n);
  out.loss[0] = softmax_cross_entropy(logits.cview(), labels, g.view());
  out.grad[0].assign(g.data(), g.data() + g.size());
  out.loss[1] = softmax_cross_entropy(logits.cview(), onehot.cview(), g.view());
  out.grad[1].assign(g.data(), g.data() + g.size());
  out.loss[2] = softmax_cross_entropy(logits.cview(), index.cview(), g.view());
  out.grad[2].assign(g.data(), g.data() + g.size());
  return out;
}

// −log softmax(row)_label in double.
double reference_loss(const std::vector<float>& row, std::size_t label) {
  return -std::log(reference_softmax(row)[label]);
}

TEST(SoftmaxCrossEntropyNonFinite, LogitsEveryIsaAndLength) {
  testing::Restore restore;
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    for (std::size_t n : kRowLengths) {
      if (n < 2) continue;  // the softmax cross-entropy needs C ≥ 2 for index targets
      const std::vector<float> finite = finite_row(n);
      const double finite_rows_loss = reference_loss(finite, 0) + reference_loss(finite, n - 1);
      for (std::size_t p : special_positions(n)) {
        const std::string at = std::string(isa_name(isa)) + " n=" + std::to_string(n) + " at " + std::to_string(p);
        const std::size_t other = p == 0 ? n - 1 : 0;
        // A masked class that is not the label: finite loss, gradient 0 there.
        {
          std::vector<float> row = finite;
          row[p] = -kInf;
          const LossOfRow l = loss_between_finite_rows(row, other);
          const double want = (finite_rows_loss + reference_loss(row, other)) / 3.0;
          const std::vector<double> prob = reference_softmax(row);
          for (int form = 0; form < 3; ++form) {
            EXPECT_NEAR(l.loss[form], want, 1e-12 * want) << at << " form " << form;
            for (std::size_t j = 0; j < n; ++j) {
              const float gj = l.grad[form][n + j];
              if (j == p) {
                EXPECT_EQ(gj, 0.0f) << at << " form " << form;
              } else {
                const double want_g = (prob[j] - (j == other ? 1.0 : 0.0)) / 3.0;
                EXPECT_NEAR(gj, want_g, 1e-7) << at << " form " << form << " [" << j << "]";
              }
            }
            for (float v : l.grad[form]) EXPECT_TRUE(std::isfinite(v)) << at << " form " << form;
          }
        }
        // The label's class is masked: +inf loss (its probability is 0), finite gradient.
        {
          std::vector<float> row = finite;
          row[p] = -kInf;
          const LossOfRow l = loss_between_finite_rows(row, p);
          const std::vector<double> prob = reference_softmax(row);
          for (int form = 0; form < 3; ++form) {
            EXPECT_EQ(l.loss[form], std::numeric_limits<double>::infinity()) << at << " form " << form;
            for (std::size_t j = 0; j < n; ++j) {
              const double want_g = (prob[j] - (j == p ? 1.0 : 0.0)) / 3.0;
              EXPECT_NEAR(l.grad[form][n + j], want_g, 1e-7) << at << " form " << form << " [" << j << "]";
            }
          }
        }
        // NaN, +inf, or only −inf: NaN loss and a NaN gradient row; the other rows' gradients
        // stay those of the finite rows.
        std::vector<std::pair<std::string, std::vector<float>>> nan_rows;
        std::vector<float> row = finite;
        row[p] = kInf;
        nan_rows.emplace_back("+inf", row);
        row[p] = kNaN;
        nan_rows.emplace_back("nan", row);
        row = finite;
        row[p] = kInf;
        row[other] = -kInf;
        nan_rows.emplace_back("+inf and -inf", row);
        nan_rows.emplace_back("only -inf", std::vector<float>(n, -kInf));
        nan_rows.emplace_back("only +inf", std::vector<float>(n, kInf));
        const std::vector<double> finite_prob = reference_softmax(finite);
        for (const auto& [name, special] : nan_rows) {
          for (std::size_t label : {p, other}) {
            const LossOfRow l = loss_between_finite_rows(special, label);
            for (int form = 0; form < 3; ++form) {
              const std::string what = at + " " + name + " label " + std::to_string(label) + " form " + std::to_string(form);
              EXPECT_TRUE(std::isnan(l.loss[form])) << what << ": " << l.loss[form];
              EXPECT_TRUE(all_nan(l.grad[form].data() + n, n)) << what;
              for (std::size_t j = 0; j < n; ++j) {
                EXPECT_NEAR(l.grad[form][j], (finite_prob[j] - (j == 0 ? 1.0 : 0.0)) / 3.0, 1e-7) << what;
                EXPECT_NEAR(l.grad[form][2 * n + j], (finite_prob[j] - (j == n - 1 ? 1.0 : 0.0)) / 3.0, 1e-7) << what;
              }
            }
          }
        }
      }
    }
  }
}

// ---- mean squared error ---------------------------------------------------------------------

TEST(MeanSquaredError, HandComputedValuesAndGradient) {
  Tensor p = make(2, 2, {1.0f, 2.0f, -1.0f, 0.5f});
  Tensor y = make(2, 2, {0.0f, 2.0f, 1.0f, 0.0f});
  Tensor g(2, 2);
  // (1 + 0 + 4 + 0.25) / 4, mean over all m·k = 4 elements.
  EXPECT_DOUBLE_EQ(mean_squared_error(p.cview(), y.cview(), g.view()), 5.25 / 4);
  EXPECT_FLOAT_EQ(g(0, 0), 2.0f * 1.0f / 4);
  EXPECT_FLOAT_EQ(g(0, 1), 0.0f);
  EXPECT_FLOAT_EQ(g(1, 0), 2.0f * -2.0f / 4);
  EXPECT_FLOAT_EQ(g(1, 1), 2.0f * 0.5f / 4);
  Tensor big = make(1, 2, {1e4f, -1e4f}), zero(1, 2), gb(1, 2);
  EXPECT_DOUBLE_EQ(mean_squared_error(big.cview(), zero.cview(), gb.view()), 1e8);
  EXPECT_FLOAT_EQ(gb(0, 0), 1e4f);
}

TEST(MeanSquaredError, GradientMatchesFiniteDifferences) {
  Tensor p = grid_logits(5, 3, 5), y = grid_logits(5, 3, 6), g(5, 3);
  mean_squared_error(p.cview(), y.cview(), g.view());
  check_gradient(p, g.cview(), [&] { return mean_squared_error(p.cview(), y.cview()); });
  Tensor y1(5, 2);
  expect_throw_with("shape", [&] { mean_squared_error(p.cview(), y1.cview()); },
                    {"mean_squared_error", "targets is 5x2", "expected 5x3"});
}

// ---- loss objects ---------------------------------------------------------------------------

TEST(LossObjects, OwnAndReuseTheirGradientBuffer) {
  SoftmaxCrossEntropy loss;
  EXPECT_EQ(loss.gradient().data, nullptr);
  Tensor z = grid_logits(8, 4, 9);
  const std::vector<std::int32_t> labels = {0, 1, 2, 3, 0, 1, 2, 3};
  Tensor expect(8, 4);
  const double want = softmax_cross_entropy(z.cview(), labels, expect.view());
  EXPECT_EQ(loss.forward_backward(z.cview(), labels), want);
  const ConstMatrixView g = loss.gradient();
  ASSERT_EQ(g.rows, 8u);
  ASSERT_EQ(g.cols, 4u);
  for (std::size_t i = 0; i < expect.size(); ++i) EXPECT_EQ(g.data[i], expect.data()[i]);
  // A smaller batch reuses the memory.
  const ConstMatrixView z5{z.data(), 5, 4, 4};
  loss.forward_backward(z5, std::span<const std::int32_t>(labels.data(), 5));
  EXPECT_EQ(loss.gradient().data, g.data);
  EXPECT_EQ(loss.gradient().rows, 5u);
  // value() leaves the gradient alone.
  loss.value(z.cview(), labels);
  EXPECT_EQ(loss.gradient().rows, 5u);
  // A throw leaves an empty gradient.
  const std::vector<std::int32_t> bad = {9, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_THROW(loss.forward_backward(z.cview(), bad), std::invalid_argument);
  EXPECT_EQ(loss.gradient().rows, 0u);
}

TEST(LossObjects, Factory) {
  for (const char* name : {"binary_cross_entropy", "softmax_cross_entropy", "mean_squared_error"}) {
    EXPECT_STREQ(make_loss(name)->name(), name);
  }
  expect_throw_with("name", [] { make_loss("hinge"); }, {"make_loss", "hinge", "mean_squared_error"});
  auto bce = make_loss("binary_cross_entropy");
  Tensor z = make(2, 1, {0.0f, 0.0f}), y = make(2, 1, {1.0f, 0.0f});
  EXPECT_NEAR(bce->forward_backward(z.cview(), y.cview()), std::log(2.0), 1e-15);
  EXPECT_FLOAT_EQ(bce->gradient()(0, 0), -0.25f);
  auto mse = make_loss("mean_squared_error");
  EXPECT_DOUBLE_EQ(mse->forward_backward(z.cview(), y.cview()), 0.5);
  EXPECT_FLOAT_EQ(mse->gradient()(0, 0), -1.0f);
}

// ---- regularizers ---------------------------------------------------------------------------

struct Params {
  Tensor w = make(2, 3, {0.5f, -1.0f, 0.0f, 2.0f, -0.25f, 1.5f});
  Tensor gw{2, 3};
  Tensor b = make(1, 3, {1.0f, -2.0f, 0.5f});
  Tensor gb{1, 3};
  std::vector<Parameter> list() {
    return {{"weight", &w, &gw, true}, {"bias", &b, &gb, false}};
  }
};

TEST(Regularizers, L1PenaltyAndSubgradient) {
  Params p;
  const L1Regularizer l1(0.1);
  EXPECT_NEAR(l1.penalty(p.list()), 0.1 * 5.25, 1e-12);
  EXPECT_NEAR(l1.apply(p.list()), 0.1 * 5.25, 1e-12);
  const float want[6] = {0.1f, -0.1f, 0.0f, 0.1f, -0.1f, 0.1f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(p.gw.data()[i], want[i]) << i;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.gb.data()[i], 0.0f) << "bias is not regularized by default";
  // Finite differences away from the kink (no zero weight here).
  Params q;
  q.w(0, 2) = 0.75f;
  const L1Regularizer l1b(0.3);
  l1b.apply(q.list());
  auto params = q.list();
  check_gradient(q.w, q.gw.cview(), [&] { return l1b.penalty(params); }, 1e-7);
}

TEST(Regularizers, L2IsWeightDecay) {
  Params p;
  const L2Regularizer l2(0.01);
  const double sq = 0.25 + 1 + 0 + 4 + 0.0625 + 2.25;
  EXPECT_NEAR(l2.apply(p.list()), 0.5 * 0.01 * sq, 1e-12);
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(p.gw.data()[i], 0.01f * p.w.data()[i]);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.gb.data()[i], 0.0f);
  Params q;
  const L2Regularizer l2b(0.2);
  l2b.apply(q.list());
  auto params = q.list();
  check_gradient(q.w, q.gw.cview(), [&] { return l2b.penalty(params); }, 5e-7);
}

TEST(Regularizers, AllParametersOnRequest) {
  Params p;
  const L2Regularizer l2(0.5, L2Scaling::weight_decay, RegularizedParameters::all);
  const double sq = 7.5625 + 1 + 4 + 0.25;
  EXPECT_NEAR(l2.apply(p.list()), 0.25 * sq, 1e-12);
  EXPECT_FLOAT_EQ(p.gb(0, 1), -1.0f);
  EXPECT_EQ(l2.which(), RegularizedParameters::all);
}

TEST(Regularizers, ElasticNetIsTheSum) {
  Params p, q;
  const ElasticNetRegularizer en(0.1, 0.01);
  const double both = en.apply(p.list());
  const double parts = L1Regularizer(0.1).apply(q.list()) + L2Regularizer(0.01).apply(q.list());
  EXPECT_NEAR(both, parts, 1e-12);
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(p.gw.data()[i], q.gw.data()[i]);
  Params r;
  r.w(0, 2) = -0.5f;
  en.apply(r.list());
  auto params = r.list();
  check_gradient(r.w, r.gw.cview(), [&] { return en.penalty(params); }, 5e-7);
}

TEST(Regularizers, NotebookPerBatchScalingIsANamedOption) {
  Params p;
  const L2Regularizer nb(0.01, L2Scaling::per_batch_notebook);
  const double sq = 7.5625;
  EXPECT_NEAR(nb.apply(p.list(), 32), 0.01 / (2 * 32) * sq, 1e-14);
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(p.gw.data()[i], (0.01f / 32) * p.w.data()[i]);
  expect_throw_with("batch", [&] { nb.apply(p.list()); }, {"batch_size is 0", "per_batch_notebook"});
}

TEST(Regularizers, Errors) {
  expect_throw_with("lambda", [] { L2Regularizer(-1.0); }, {"L2Regularizer", "lambda is -1"});
  expect_throw_with("l1", [] { ElasticNetRegularizer(0.1, std::nan("")); }, {"l2_lambda is nan"});
  Tensor w(2, 2), g(2, 3);
  std::vector<Parameter> bad = {{"dense/weight", &w, &g, true}};
  expect_throw_with("shape", [&] { L1Regularizer(0.1).apply(bad); },
                    {"\"dense/weight\"", "grad 2x3", "expected 2x2"});
}

}  // namespace
}  // namespace simdnn
