// Elementwise kernels and reductions (core/elementwise.h): every op, forward and backward, on
// every ISA (one test instance each, Suite/sse2, /avx2, /avx512, skipped where this CPU lacks the
// ISA; through the per-ISA tables and through the public API with that ISA active), against the
// double-precision reference (core/reference/elementwise_reference.h);
// backward passes also against central finite differences; bit-identical results at 1, 2 and 3
// threads; special values; error messages.
//
// Set SIMDNN_TEST_REPORT=1 to print the largest errors measured, in units of u = 2^-24.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <simdnn/core/activation.h>
#include <simdnn/core/elementwise.h>
#include <simdnn/core/elementwise_kernels.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/reference/elementwise_reference.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include "tests/test_util.h"

namespace simdnn {
namespace {

constexpr double kU = 0x1p-24;      // float unit roundoff
constexpr double kTiny = 0x1p-126;  // FLT_MIN: below it the header allows absolute error
const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

bool report() {
  static const bool on = [] {
    const char* v = std::getenv("SIMDNN_TEST_REPORT");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return on;
}

std::vector<float> random_floats(std::size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

// The values every activation is checked on: a dense sweep of [−88, 88], a logarithmic sweep of
// ±[1e-8, 1] (relative accuracy near zero), and special values.
std::vector<float> sweep_inputs() {
  std::vector<float> v;
  constexpr int kDense = 100001;
  for (int i = 0; i < kDense; ++i)
    v.push_back(-88.0f + 176.0f * static_cast<float>(i) / (kDense - 1));
  for (int i = 0; i <= 2000; ++i) {
    const float m = std::pow(10.0f, -8.0f + 8.0f * static_cast<float>(i) / 2000.0f);
    v.push_back(m);
    v.push_back(-m);
  }
  const float denorm = std::numeric_limits<float>::denorm_min();
  for (float s : {0.0f,   1e-7f,
                  1e-30f, 1e-40f,
                  denorm, std::numeric_limits<float>::min(),
                  0.5f,   1.0f,
                  2.0f,   9.0f,
                  9.5f,   10.0f,
                  17.0f,  20.0f,
                  30.0f,  80.0f,
                  86.6f,  87.0f,
                  87.3f,  88.0f,
                  88.4f,  88.7f,
                  89.0f,  89.5f,
                  90.0f,  100.0f,
                  104.0f, 110.0f,
                  1e4f,   1e19f,
                  1e30f,  std::numeric_limits<float>::max(),
                  kInf}) {
    v.push_back(s);
    v.push_back(-s);
  }
  v.push_back(kNaN);
  v.push_back(-kNaN);
  return v;
}

constexpr float kSeluLambdaAlpha = 1.0507009873554805f * 1.6732632423543772f;

// Allowed |y − f(x)| for the forward pass: a relative part and, where the header says so, an
// absolute part for results that underflow (below 2^-126).
struct Tolerance {
  double rel = 0;
  double abs = 0;
};

double gelu_z(double x) { return 1.5957691216057308 * (x + 0.044715 * x * x * x); }

Tolerance forward_tolerance(ActivationSpec act, double x) {
  const double tiny = kTiny * std::max(1.0, std::abs(x));
  switch (act.kind) {
    case Activation::identity:
    case Activation::relu: return {0, 0};
    case Activation::leaky_relu: return {kU, 0x1p-150};  // subnormal products round absolutely
    case Activation::sigmoid:
    case Activation::tanh:
    case Activation::swish:
    case Activation::softplus: return {8 * kU, tiny};
    case Activation::elu:
    case Activation::selu: return {4 * kU, tiny};
    case Activation::gelu: {
      const double z = std::isfinite(x) ? std::abs(gelu_z(x)) : 0.0;
      return {8 * kU + 4 * kU * std::min(z, 1e3), tiny};
    }
  }
  return {0, 0};
}

// Checks got against want: NaN must give NaN, infinities and exact zeros must match exactly
// (up to the absolute tolerance), everything else within tolerance. Tracks the worst case.
struct ErrorTracker {
  explicit ErrorTracker(std::string w) : what(std::move(w)) {}
  std::string what;
  double worst_ratio = 0;  // error / allowed
  double worst_rel_u = 0;  // largest relative error seen where want is normal, in units of u
  float worst_x = 0;
  double worst_got = 0, worst_want = 0;
  int failures = 0;
  std::string first_failure;

  void check(float x, double got, double want, Tolerance tol) {
    bool ok;
    double ratio = 0;
    constexpr double kFloatOverflow = 3.4028235677973366e38;  // rounds to inf as a float
    if (std::isnan(want)) {
      ok = std::isnan(got);
    } else if (std::isinf(want) || std::abs(want) >= kFloatOverflow) {
      ok = got == (want > 0 ? kInf : -kInf);
    } else if (std::isnan(got) || std::isinf(got)) {
      ok = false;
    } else {
      const double err = std::abs(got - want);
      const double allowed = tol.rel * std::abs(want) + tol.abs;
      ok = err <= allowed;
      ratio = allowed > 0 ? err / allowed : (err > 0 ? 1e300 : 0);
      // Relative error beyond the absolute allowance (which covers underflowing results).
      if (want != 0)
        worst_rel_u = std::max(worst_rel_u, std::max(0.0, err - tol.abs) / std::abs(want) / kU);
    }
    if (!ok) {
      ratio = std::max(ratio, 1e300);
      if (failures++ == 0) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "x = %.9g: got %.9g, want %.17g (rel tol %.3g, abs tol %.3g)", x, got, want,
                      tol.rel, tol.abs);
        first_failure = buf;
      }
    }
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst_x = x;
      worst_got = got;
      worst_want = want;
    }
  }

  void expect_ok() const {
    EXPECT_EQ(failures, 0) << what << ": " << failures << " failures, first at " << first_failure;
    if (report()) {
      std::printf("  %-44s max rel err %7.2f u   worst/allowed %.3f at x = %.7g\n", what.c_str(),
                  worst_rel_u, worst_ratio, worst_x);
    }
  }
};

std::string label(Isa isa, const char* op, ActivationSpec act) {
  return std::string(isa_name(isa)) + " " + op + " " + activation_name(act.kind);
}

std::vector<ActivationSpec> all_specs() {
  std::vector<ActivationSpec> specs;
  for (Activation a : kAllActivations) specs.push_back(ActivationSpec::of(a));
  specs.push_back(ActivationSpec::leaky_relu(0.2f));
  specs.push_back(ActivationSpec::elu(0.5f));
  return specs;
}

// ---- forward --------------------------------------------------------------------------------

// The *PerIsa suites run each test once per ISA (Suite/sse2, /avx2, /avx512) with that ISA
// active; an ISA this CPU lacks shows as skipped.
class ActivationForwardPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(ActivationForwardPerIsa);

TEST_P(ActivationForwardPerIsa, SweepAndSpecialValuesEveryIsa) {
  const Isa isa = GetParam();
  const std::vector<float> x = sweep_inputs();
  std::vector<double> want(x.size());
  std::vector<float> y(x.size());
  for (ActivationSpec act : all_specs()) {
    reference::activation_forward(act, x.data(), want.data(), x.size());
    internal::elementwise_kernels(isa).activation_forward(act, x.data(), y.data(), x.size());
    ErrorTracker t{label(isa, "forward", act)};
    for (std::size_t i = 0; i < x.size(); ++i)
      t.check(x[i], y[i], want[i], forward_tolerance(act, x[i]));
    t.expect_ok();
  }
}

TEST_P(ActivationForwardPerIsa, LimitsAndSpecialValues) {
  const Isa isa = GetParam();
  const auto f = [](ActivationSpec act, float x) {
    float y = 0;
    activation_forward(act, &x, &y, 1);
    return y;
  };
  SCOPED_TRACE(isa_name(isa));
  EXPECT_EQ(f(ActivationSpec::of(Activation::sigmoid), kInf), 1.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::sigmoid), -kInf), 0.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::tanh), kInf), 1.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::tanh), -kInf), -1.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::tanh), 9.2f), 1.0f);
  EXPECT_EQ(f(ActivationSpec::relu(), -kInf), 0.0f);
  EXPECT_EQ(f(ActivationSpec::relu(), kInf), kInf);
  EXPECT_EQ(f(ActivationSpec::leaky_relu(0.1f), -kInf), -kInf);
  EXPECT_EQ(f(ActivationSpec::elu(0.5f), -kInf), -0.5f);
  EXPECT_EQ(f(ActivationSpec::elu(0.5f), kInf), kInf);
  EXPECT_FLOAT_EQ(f(ActivationSpec::of(Activation::selu), -kInf), -kSeluLambdaAlpha);
  EXPECT_EQ(f(ActivationSpec::of(Activation::softplus), kInf), kInf);
  EXPECT_EQ(f(ActivationSpec::of(Activation::softplus), -kInf), 0.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::softplus), 80.0f), 80.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::gelu), kInf), kInf);
  EXPECT_EQ(f(ActivationSpec::of(Activation::gelu), -kInf), 0.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::gelu), 88.0f), 88.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::gelu), -88.0f), 0.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::swish), kInf), kInf);
  EXPECT_EQ(f(ActivationSpec::of(Activation::swish), -kInf), 0.0f);
  EXPECT_EQ(f(ActivationSpec::of(Activation::swish), 88.0f), 88.0f);
  EXPECT_GT(f(ActivationSpec::of(Activation::sigmoid), -88.0f), 0.0f);  // 6.05e-39, not 0
  for (ActivationSpec act : all_specs()) {
    EXPECT_TRUE(std::isnan(f(act, kNaN))) << activation_name(act.kind);
    EXPECT_TRUE(std::isnan(f(act, -kNaN))) << activation_name(act.kind);
    for (float x : {88.0f, -88.0f, 1e30f, -1e30f, std::numeric_limits<float>::max()}) {
      EXPECT_FALSE(std::isnan(f(act, x))) << activation_name(act.kind) << " at " << x;
    }
  }
}

// Every length, including odd tails and misaligned pointers, through the table and through the
// public API, out of place and in place.
TEST_P(ActivationForwardPerIsa, LengthsAndTailsEveryIsa) {
  const Isa isa = GetParam();
  for (std::size_t n : {0, 1, 3, 15, 16, 17, 33, 1000, 100003}) {
    const std::vector<float> src = random_floats(n + 1, -12.0f, 12.0f, static_cast<unsigned>(n));
    const float* x = src.data() + 1;  // misaligned by one float
    std::vector<double> want(n);
    for (ActivationSpec act : all_specs()) {
      reference::activation_forward(act, x, want.data(), n);
      std::vector<float> y(n + 1, -7.0f);
      internal::elementwise_kernels(isa).activation_forward(act, x, y.data() + 1, n);
      EXPECT_EQ(y[0], -7.0f);  // nothing written before the output
      std::vector<float> y2(n), y3(x, x + n);
      activation_forward(act, x, y2.data(), n);
      activation_forward(act, y3.data(), y3.data(), n);  // in place
      ErrorTracker t{label(isa, "forward n", act) + " " + std::to_string(n)};
      for (std::size_t i = 0; i < n; ++i) {
        t.check(x[i], y[i + 1], want[i], forward_tolerance(act, x[i]));
        ASSERT_EQ(std::memcmp(&y[i + 1], &y2[i], sizeof(float)), 0) << t.what << " at " << i;
        ASSERT_EQ(std::memcmp(&y[i + 1], &y3[i], sizeof(float)), 0) << t.what << " at " << i;
      }
      EXPECT_EQ(t.failures, 0) << t.what << ": " << t.first_failure;
    }
  }
}

// An element's result must not depend on where its range starts or ends (which of the
// interleaved, single-vector or padded-tail paths computes it): splitting gives the same bits.
TEST_P(ActivationForwardPerIsa, SplittingARangeGivesTheSameBits) {
  const Isa isa = GetParam();
  const std::size_t n = 1000;
  const std::vector<float> x = random_floats(n, -30.0f, 30.0f, 41);
  for (ActivationSpec act : all_specs()) {
    const auto& k = internal::elementwise_kernels(isa);
    std::vector<float> whole(n);
    k.activation_forward(act, x.data(), whole.data(), n);
    for (std::size_t split : {1, 5, 7, 13, 16, 64, 333, 999}) {
      std::vector<float> parts(n);
      k.activation_forward(act, x.data(), parts.data(), split);
      k.activation_forward(act, x.data() + split, parts.data() + split, n - split);
      EXPECT_EQ(std::memcmp(whole.data(), parts.data(), n * sizeof(float)), 0)
          << label(isa, "split", act) << " at " << split;
    }
  }
}

TEST_P(ActivationForwardPerIsa, ViewsWithLeadingDimension) {
  const Isa isa = GetParam();
  const std::size_t rows = 37, cols = 29, ld = 33;
  const std::vector<float> data = random_floats(rows * ld, -6.0f, 6.0f, 5);
  const ConstMatrixView x{data.data(), rows, cols, ld};
  for (ActivationSpec act : all_specs()) {
    std::vector<float> out(rows * ld, 123.0f);
    activation_forward(act, x, MatrixView{out.data(), rows, cols, ld});
    for (std::size_t r = 0; r < rows; ++r) {
      float expect[cols];
      internal::elementwise_kernels(isa).activation_forward(act, x.row(r), expect, cols);
      EXPECT_EQ(std::memcmp(expect, out.data() + r * ld, sizeof expect), 0);
      for (std::size_t c = cols; c < ld; ++c)
        EXPECT_EQ(out[r * ld + c], 123.0f);  // padding untouched
    }
  }
}

// ---- backward -------------------------------------------------------------------------------

// Allowed |dx − dy·f'(x)| given y = the kernel's own forward output: a relative part and an
// absolute part that scales with the size of the terms f' is made of (f' itself can cancel to 0).
double backward_allowed(ActivationSpec act, double x, double dy, double fprime) {
  double terms = 0;                // magnitude of the terms whose rounding does not scale with |f'|
  double flush = 1 + std::abs(x);  // derivatives below 2^-126·flush may be flushed to 0
  x = std::clamp(x, -100.0, 100.0);  // the terms are flat beyond; keeps them finite at ±inf
  const double sx = 1.0 / (1.0 + std::exp(-x));
  const double smx = 1.0 / (1.0 + std::exp(x));
  switch (act.kind) {
    case Activation::identity:
    case Activation::relu:
    case Activation::leaky_relu: return kU * std::abs(dy * fprime) + 0x1p-150;
    case Activation::sigmoid: terms = sx; break;  // error of y propagates
    case Activation::tanh: terms = std::pow(std::tanh(x), 2); break;
    case Activation::elu: terms = std::abs(act.alpha * std::expm1(std::min(x, 0.0))); break;
    case Activation::selu: terms = kSeluLambdaAlpha * std::abs(std::expm1(std::min(x, 0.0))); break;
    case Activation::softplus: terms = 0; break;
    case Activation::swish: terms = sx * (1 + 2 * std::abs(x) * smx); break;
    case Activation::gelu: {
      const double xc = std::clamp(x, -20.0, 20.0);
      const double z = gelu_z(xc);
      const double dz = 1.5957691216057308 * (1 + 3 * 0.044715 * xc * xc);
      const double s = 1.0 / (1.0 + std::exp(-z));
      terms = s * (1 + std::abs(xc * dz) * (1 - s)) * (1 + std::abs(z));
      flush = 1 + std::abs(xc * dz);
      break;
    }
  }
  // Derivatives below 2^-126 may be flushed (sigmoid and its relatives are, beyond |x| ≈ 88).
  return std::abs(dy) * (8 * kU * std::abs(fprime) + 16 * kU * terms + kTiny * flush);
}

class ActivationBackwardPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(ActivationBackwardPerIsa);

// Backward against the analytic derivative of the reference, on the sweep, every ISA.
TEST_P(ActivationBackwardPerIsa, SweepEveryIsa) {
  const Isa isa = GetParam();
  const std::vector<float> x = sweep_inputs();
  const std::vector<float> dy = random_floats(x.size(), -2.0f, 2.0f, 11);
  std::vector<double> want(x.size());
  std::vector<float> y(x.size()), dx(x.size());
  for (ActivationSpec act : all_specs()) {
    reference::activation_backward(act, x.data(), dy.data(), want.data(), x.size());
    const auto& k = internal::elementwise_kernels(isa);
    k.activation_forward(act, x.data(), y.data(), x.size());
    k.activation_backward(act, x.data(), y.data(), dy.data(), dx.data(), x.size());
    ErrorTracker t{label(isa, "backward", act)};
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double fp = reference::activation_derivative(act, x[i]);
      t.check(x[i], dx[i], want[i], {0, backward_allowed(act, x[i], dy[i], fp)});
    }
    t.expect_ok();
  }
}

// Backward against central finite differences of the double reference forward.
// h = 1e-4·max(1, |x|): the truncation error h²·|f'''|/6 is below 2e-9·max(1, x²)·|f'''| and the
// rounding error of the double differences about 1e-16·|f|/h ≤ 1e-12·|f|, both orders of
// magnitude under the float tolerance (8u ≈ 4.8e-7), so the comparison uses the kernel's own
// tolerance plus 1e-8·max(1, |f(x)|) for the difference quotient. Points within 1e-3 of the kinks
// of relu, leaky_relu, elu and selu are skipped (the difference quotient straddles the kink).
TEST_P(ActivationBackwardPerIsa, MatchesFiniteDifferences) {
  const Isa isa = GetParam();
  std::vector<float> x;
  for (int i = 0; i <= 1600; ++i) x.push_back(-20.0f + 0.025f * static_cast<float>(i));
  for (float v : {-80.0f, -50.0f, -30.0f, 30.0f, 50.0f, 80.0f, 1e-3f, -1e-3f}) x.push_back(v);
  const std::vector<float> dy = random_floats(x.size(), -2.0f, 2.0f, 13);
  std::vector<float> y(x.size()), dx(x.size());
  for (ActivationSpec act : all_specs()) {
    const bool kinked = act.kind == Activation::relu || act.kind == Activation::leaky_relu ||
                        act.kind == Activation::elu || act.kind == Activation::selu;
    const auto& k = internal::elementwise_kernels(isa);
    k.activation_forward(act, x.data(), y.data(), x.size());
    k.activation_backward(act, x.data(), y.data(), dy.data(), dx.data(), x.size());
    ErrorTracker t{label(isa, "finite differences", act)};
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double xi = x[i];
      if (kinked && std::abs(xi) < 1e-3) continue;
      const double h = 1e-4 * std::max(1.0, std::abs(xi));
      const double fd =
          (reference::activation_value(act, xi + h) - reference::activation_value(act, xi - h)) /
          (2 * h);
      const double fd_err = 1e-8 * std::max(1.0, std::abs(reference::activation_value(act, xi)));
      t.check(x[i], dx[i], dy[i] * fd,
              {0, backward_allowed(act, xi, dy[i], fd) + std::abs(dy[i]) * fd_err});
    }
    t.expect_ok();
  }
}

TEST_P(ActivationBackwardPerIsa, LengthsSpecialValuesAndPublicApi) {
  const Isa isa = GetParam();
  for (std::size_t n : {0, 1, 3, 15, 16, 17, 33, 1000, 100003}) {
    std::vector<float> x = random_floats(n, -12.0f, 12.0f, static_cast<unsigned>(n) + 1);
    const std::vector<float> dy = random_floats(n, -1.0f, 1.0f, static_cast<unsigned>(n) + 2);
    if (n >= 3) {
      x[0] = kNaN;
      x[1] = kInf;
      x[2] = -kInf;
    }
    for (ActivationSpec act : all_specs()) {
      const auto& k = internal::elementwise_kernels(isa);
      std::vector<float> y(n), dx(n), dx_api(n), dx_inplace(dy);
      k.activation_forward(act, x.data(), y.data(), n);
      k.activation_backward(act, x.data(), y.data(), dy.data(), dx.data(), n);
      activation_backward(act, x.data(), y.data(), dy.data(), dx_api.data(), n);
      activation_backward(act, x.data(), y.data(), dx_inplace.data(), dx_inplace.data(), n);
      ErrorTracker t{label(isa, "backward n", act) + " " + std::to_string(n)};
      for (std::size_t i = 0; i < n; ++i) {
        const double fp = reference::activation_derivative(act, x[i]);
        const double want = std::isnan(fp) ? fp : static_cast<double>(dy[i]) * fp;
        t.check(x[i], dx[i], want, {0, backward_allowed(act, x[i], dy[i], fp)});
        ASSERT_EQ(std::memcmp(&dx[i], &dx_api[i], sizeof(float)), 0) << t.what << " at " << i;
        ASSERT_EQ(std::memcmp(&dx[i], &dx_inplace[i], sizeof(float)), 0) << t.what << " at " << i;
      }
      t.expect_ok();
    }
  }
}

// ---- softmax --------------------------------------------------------------------------------

struct Shape {
  std::size_t rows, cols;
};
const Shape kSoftmaxShapes[] = {{1, 1},    {3, 5},    {7, 17},    {2, 33},
                                {4, 1000}, {64, 100}, {2, 100003}};

std::vector<float> softmax_input(Shape s, unsigned seed) {
  std::vector<float> x = random_floats(s.rows * s.cols, -30.0f, 30.0f, seed);
  if (s.rows >= 3 && s.cols >= 3) {
    x[s.cols + 1] = -kInf;  // masked entry: probability 0
    for (std::size_t j = 0; j < s.cols; ++j) x[2 * s.cols + j] += 1e4f;  // large values
  }
  return x;
}

class SoftmaxPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(SoftmaxPerIsa);

TEST_P(SoftmaxPerIsa, ForwardEveryIsaAndShape) {
  const Isa isa = GetParam();
  for (Shape s : kSoftmaxShapes) {
    const std::vector<float> xs = softmax_input(s, static_cast<unsigned>(s.rows * 7 + s.cols));
    const ConstMatrixView x{xs.data(), s.rows, s.cols, s.cols};
    std::vector<double> want(xs.size()), want_log(xs.size());
    reference::softmax_forward(x, want.data());
    reference::log_softmax_forward(x, want_log.data());
    const std::string shape = " " + shape_string(s.rows, s.cols);
    std::vector<float> y(xs.size()), ylog(xs.size()), inplace(xs);
    softmax_forward(x, MatrixView{y.data(), s.rows, s.cols, s.cols});
    log_softmax_forward(x, MatrixView{ylog.data(), s.rows, s.cols, s.cols});
    softmax_forward(ConstMatrixView{inplace.data(), s.rows, s.cols, s.cols},
                    MatrixView{inplace.data(), s.rows, s.cols, s.cols});
    ErrorTracker t{std::string(isa_name(isa)) + " softmax" + shape};
    ErrorTracker tl{std::string(isa_name(isa)) + " log_softmax" + shape};
    for (std::size_t r = 0; r < s.rows; ++r) {
      float m = -kInf;
      for (std::size_t j = 0; j < s.cols; ++j) m = std::max(m, xs[r * s.cols + j]);
      for (std::size_t j = 0; j < s.cols; ++j) {
        const std::size_t i = r * s.cols + j;
        t.check(xs[i], y[i], want[i], {8 * kU, kTiny});
        // Roundings of x − m, of log(sum) (≤ |y| + |x − m|) and of the difference.
        tl.check(xs[i], ylog[i], want_log[i],
                 {4 * kU, 4 * kU * std::abs(static_cast<double>(xs[i]) - m)});
        ASSERT_EQ(std::memcmp(&y[i], &inplace[i], sizeof(float)), 0);
      }
    }
    t.expect_ok();
    tl.expect_ok();
  }
}

TEST_P(SoftmaxPerIsa, SpecialRows) {
  const Isa isa = GetParam();
  SCOPED_TRACE(isa_name(isa));
  std::vector<float> x = {0.0f,  -kInf,  1.0f,  2.0f,   // a masked entry
                          1.0f,  kNaN,   2.0f,  3.0f,   // NaN: NaN row
                          -kInf, -kInf,  -kInf, -kInf,  // all masked: NaN row
                          3e38f, -3e38f, 3e38f, 0.0f};  // no overflow
  std::vector<float> y(16);
  softmax_forward(ConstMatrixView{x.data(), 4, 4, 4}, MatrixView{y.data(), 4, 4, 4});
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_NEAR(y[0] + y[2] + y[3], 1.0f, 1e-6f);
  for (int j = 4; j < 12; ++j) EXPECT_TRUE(std::isnan(y[j])) << j;
  EXPECT_EQ(y[12], 0.5f);
  EXPECT_EQ(y[13], 0.0f);
  EXPECT_EQ(y[14], 0.5f);
  EXPECT_EQ(y[15], 0.0f);
  log_softmax_forward(ConstMatrixView{x.data(), 4, 4, 4}, MatrixView{y.data(), 4, 4, 4});
  EXPECT_EQ(y[1], -kInf);
  EXPECT_FLOAT_EQ(y[12], -std::log(2.0f));
}

TEST_P(SoftmaxPerIsa, BackwardEveryIsaAndShape) {
  const Isa isa = GetParam();
  for (Shape s : kSoftmaxShapes) {
    const std::vector<float> xs = softmax_input(s, static_cast<unsigned>(s.rows * 3 + s.cols));
    const std::vector<float> dys = random_floats(xs.size(), -1.0f, 1.0f, 17);
    const ConstMatrixView x{xs.data(), s.rows, s.cols, s.cols};
    const ConstMatrixView dy{dys.data(), s.rows, s.cols, s.cols};
    const std::string shape = " " + shape_string(s.rows, s.cols);
    std::vector<float> y(xs.size()), ylog(xs.size()), dx(xs.size()), dxlog(xs.size());
    softmax_forward(x, MatrixView{y.data(), s.rows, s.cols, s.cols});
    log_softmax_forward(x, MatrixView{ylog.data(), s.rows, s.cols, s.cols});
    const ConstMatrixView yv{y.data(), s.rows, s.cols, s.cols};
    const ConstMatrixView ylv{ylog.data(), s.rows, s.cols, s.cols};
    softmax_backward(yv, dy, MatrixView{dx.data(), s.rows, s.cols, s.cols});
    log_softmax_backward(ylv, dy, MatrixView{dxlog.data(), s.rows, s.cols, s.cols});
    std::vector<double> want(xs.size()), want_log(xs.size());
    reference::softmax_backward(yv, dy, want.data());
    reference::log_softmax_backward(ylv, dy, want_log.data());
    ErrorTracker t{std::string(isa_name(isa)) + " softmax_backward" + shape};
    ErrorTracker tl{std::string(isa_name(isa)) + " log_softmax_backward" + shape};
    for (std::size_t r = 0; r < s.rows; ++r) {
      double dot = 0, sum = 0;
      for (std::size_t j = 0; j < s.cols; ++j) {
        dot += static_cast<double>(y[r * s.cols + j]) * dys[r * s.cols + j];
        sum += dys[r * s.cols + j];
      }
      for (std::size_t j = 0; j < s.cols; ++j) {
        const std::size_t i = r * s.cols + j;
        // One rounding each of the dot product, the difference and the product (softmax); of
        // the sum, the exponential (4u), the product and the difference (log-softmax).
        t.check(xs[i], dx[i], want[i],
                {0, 2 * kU * std::abs(y[i]) * (std::abs(dys[i]) + 2 * std::abs(dot))});
        tl.check(xs[i], dxlog[i], want_log[i],
                 {0, 2 * kU * (std::abs(dys[i]) + 4 * std::exp(ylog[i]) * std::abs(sum))});
      }
    }
    t.expect_ok();
    tl.expect_ok();
  }
}

// Softmax backward against finite differences of the reference forward: for a loss L = Σ dy·y,
// dL/dx_j = (L(x + h e_j) − L(x − h e_j)) / 2h.
TEST(Softmax, BackwardMatchesFiniteDifferences) {
  const std::size_t n = 9;
  const std::vector<float> xs = random_floats(n, -3.0f, 3.0f, 21);
  const std::vector<float> dys = random_floats(n, -1.0f, 1.0f, 22);
  for (bool log_form : {false, true}) {
    std::vector<float> y(n), dx(n);
    const ConstMatrixView x{xs.data(), 1, n, n};
    if (log_form) {
      log_softmax_forward(x, MatrixView{y.data(), 1, n, n});
      log_softmax_backward(ConstMatrixView{y.data(), 1, n, n}, ConstMatrixView{dys.data(), 1, n, n},
                           MatrixView{dx.data(), 1, n, n});
    } else {
      softmax_forward(x, MatrixView{y.data(), 1, n, n});
      softmax_backward(ConstMatrixView{y.data(), 1, n, n}, ConstMatrixView{dys.data(), 1, n, n},
                       MatrixView{dx.data(), 1, n, n});
    }
    for (std::size_t j = 0; j < n; ++j) {
      // The reference takes float input, so perturb in double through a one-row helper.
      const double h = 1e-3;
      auto loss = [&](double delta) {
        std::vector<double> xd(xs.begin(), xs.end());
        xd[j] += delta;
        double m = -1e300, sum = 0;
        for (double v : xd) m = std::max(m, v);
        for (double v : xd) sum += std::exp(v - m);
        double l = 0;
        for (std::size_t k = 0; k < n; ++k) {
          const double yk = log_form ? (xd[k] - m) - std::log(sum) : std::exp(xd[k] - m) / sum;
          l += dys[k] * yk;
        }
        return l;
      };
      // Truncation h²·|L'''|/6 ≤ 1e-6·(Σ|dy|) here; the float kernels add a few u.
      const double fd = (loss(h) - loss(-h)) / (2 * h);
      EXPECT_NEAR(dx[j], fd, 2e-6) << (log_form ? "log_softmax" : "softmax") << " j=" << j;
    }
  }
}

// ---- BLAS-1 and reductions --------------------------------------------------------------------

class Blas1PerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(Blas1PerIsa);

TEST_P(Blas1PerIsa, EveryIsaAndLength) {
  const Isa isa = GetParam();
  const float a = -1.37f;
  for (std::size_t n : {0, 1, 3, 15, 16, 17, 33, 1000, 100003}) {
    const std::vector<float> x = random_floats(n, -5.0f, 5.0f, static_cast<unsigned>(n) + 3);
    const std::vector<float> y0 = random_floats(n, -5.0f, 5.0f, static_cast<unsigned>(n) + 4);
    std::vector<double> w_axpy(n), w_scale(n), w_add(n), w_mul(n);
    reference::axpy(a, x.data(), y0.data(), w_axpy.data(), n);
    reference::scale(a, x.data(), w_scale.data(), n);
    reference::add(x.data(), y0.data(), w_add.data(), n);
    reference::multiply(x.data(), y0.data(), w_mul.data(), n);
    const auto& k = internal::elementwise_kernels(isa);
    std::vector<float> r_axpy(y0), r_scale(n), r_add(n), r_mul(n);
    std::vector<float> p_axpy(y0), p_scale(n), p_add(n), p_mul(n);
    k.axpy(a, x.data(), r_axpy.data(), n);
    k.scale(a, x.data(), r_scale.data(), n);
    k.add(x.data(), y0.data(), r_add.data(), n);
    k.multiply(x.data(), y0.data(), r_mul.data(), n);
    axpy(a, x.data(), p_axpy.data(), n);
    scale(a, x.data(), p_scale.data(), n);
    add(x.data(), y0.data(), p_add.data(), n);
    multiply(x.data(), y0.data(), p_mul.data(), n);
    EXPECT_EQ(r_axpy, p_axpy);
    EXPECT_EQ(r_scale, p_scale);
    EXPECT_EQ(r_add, p_add);
    EXPECT_EQ(r_mul, p_mul);
    for (std::size_t i = 0; i < n; ++i) {
      // axpy: one rounding with FMA, two without (SSE2).
      ASSERT_LE(std::abs(r_axpy[i] - w_axpy[i]),
                2 * kU * (std::abs(y0[i]) + std::abs(a * x[i])) + 1e-300);
      ASSERT_LE(std::abs(r_scale[i] - w_scale[i]), kU * std::abs(w_scale[i]));
      ASSERT_LE(std::abs(r_add[i] - w_add[i]), kU * std::abs(w_add[i]));
      ASSERT_LE(std::abs(r_mul[i] - w_mul[i]), kU * std::abs(w_mul[i]));
    }
  }
}

class ReductionsPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(ReductionsPerIsa);

TEST_P(ReductionsPerIsa, SumOfSquaresEveryIsa) {
  const Isa isa = GetParam();
  for (std::size_t n : {0, 1, 3, 15, 16, 17, 33, 1000, 100003, 300001}) {
    const std::vector<float> x = random_floats(n, -3.0f, 3.0f, static_cast<unsigned>(n) + 5);
    const double want = reference::sum_of_squares(x.data(), n);
    const double kern = internal::elementwise_kernels(isa).sum_of_squares(x.data(), n);
    const double api = sum_of_squares(x.data(), n);
    EXPECT_NEAR(kern, want, 1e-13 * want + 1e-300) << isa_name(isa) << " n=" << n;
    EXPECT_NEAR(api, want, 1e-13 * want + 1e-300) << isa_name(isa) << " n=" << n;
  }
  float special[3] = {1.0f, kNaN, 2.0f};
  EXPECT_TRUE(std::isnan(sum_of_squares(special, 3)));
  special[1] = -kInf;
  EXPECT_EQ(sum_of_squares(special, 3), std::numeric_limits<double>::infinity());
}

// The binary cross-entropy terms against libm in double: the sum within a few double ulps per
// term plus the summation bound, each gradient within one float ulp of the correctly rounded reference; through the
// kernel at every length and start, and through the public call on strided views and in place.
TEST_P(ReductionsPerIsa, LogisticLossEveryIsa) {
  const Isa isa = GetParam();
  const auto& kernel = internal::elementwise_kernels(isa).logistic_loss;
  for (std::size_t n : {0, 1, 3, 7, 15, 16, 17, 31, 33, 100, 1000}) {
    std::vector<float> z = random_floats(n + 1, -30.0f, 30.0f, static_cast<unsigned>(n) + 7);
    std::vector<float> y = random_floats(n + 1, 0.0f, 1.0f, static_cast<unsigned>(n) + 8);
    const float specials[] = {0.0f, -0.0f, 1e4f, -1e4f, 80.0f, -80.0f, 1e-30f, 17.5f};
    for (std::size_t i = 0; i < n; i += 3) {
      z[i] = specials[i / 3 % 8];
      y[i] = static_cast<float>(i / 3 % 2);  // exact 0 and 1 targets
    }
    for (std::size_t start : {std::size_t{0}, std::size_t{1}}) {
      if (start > n) continue;
      const std::size_t len = n - start;
      std::vector<double> want_dz(len + 1);
      const double want = reference::logistic_loss(z.data() + start, y.data() + start, want_dz.data(), 7.0, len);
      std::vector<float> dz(len + 1, -5.0f);
      const double got = kernel(z.data() + start, y.data() + start, dz.data(), 7.0, len);
      SCOPED_TRACE(std::string(isa_name(isa)) + " n=" + std::to_string(len));
      double scale = 0.0;
      for (std::size_t i = 0; i < len; ++i) scale += std::abs(static_cast<double>(z[start + i])) + 1.0;
      // The terms' errors (a few ulps) and the two orders of summation (n·u·Σ|term| each).
      EXPECT_NEAR(got, want, 0x1p-52 * static_cast<double>(len + 16) * scale);
      for (std::size_t i = 0; i < len; ++i) {
        const float w = static_cast<float>(want_dz[i]);
        ASSERT_LE(std::abs(dz[i] - w), std::abs(std::nextafter(w, 2.0f * w + 1.0f) - w)) << "i=" << i;
      }
      EXPECT_EQ(dz[len], -5.0f);  // nothing written past the range
      EXPECT_EQ(kernel(z.data() + start, y.data() + start, nullptr, 7.0, len), got);
    }
  }
  // Public call: a strided 5 x 3 view (per row) and in place (dz = z) give the same values.
  const std::vector<float> data = random_floats(5 * 4, -6.0f, 6.0f, 21);
  const std::vector<float> targets = random_floats(5 * 4, 0.0f, 1.0f, 22);
  const ConstMatrixView z{data.data(), 5, 3, 4}, y{targets.data(), 5, 3, 4};
  std::vector<float> dz(15), in_place(data);
  const double strided = logistic_loss(z, y, MatrixView{dz.data(), 5, 3, 3}, 15.0);
  double want = 0.0;
  std::vector<double> want_dz(3);
  for (std::size_t r = 0; r < 5; ++r) {
    want += reference::logistic_loss(z.row(r), y.row(r), want_dz.data(), 15.0, 3);
    for (std::size_t c = 0; c < 3; ++c) EXPECT_NEAR(dz[r * 3 + c], want_dz[c], 1e-7 * std::abs(want_dz[c]));
  }
  EXPECT_NEAR(strided, want, 1e-14 * want);
  const MatrixView self{in_place.data(), 5, 3, 4};
  EXPECT_EQ(logistic_loss(self, y, self, 15.0), strided);
  for (std::size_t r = 0; r < 5; ++r) {
    for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(self(r, c), dz[r * 3 + c]);
  }
  const float nan_z[2] = {1.0f, kNaN}, ys[2] = {0.0f, 1.0f};
  float nan_dz[2];
  EXPECT_TRUE(std::isnan(logistic_loss(ConstMatrixView{nan_z, 1, 2, 2}, ConstMatrixView{ys, 1, 2, 2},
                                       MatrixView{nan_dz, 1, 2, 2}, 2.0)));
  EXPECT_FALSE(std::isnan(nan_dz[0]));
  EXPECT_TRUE(std::isnan(nan_dz[1]));
}

TEST_P(ReductionsPerIsa, ColumnSumsMeanVarEveryIsa) {
  const Isa isa = GetParam();
  const Shape shapes[] = {{1, 1},     {5, 3},    {17, 15},   {33, 16}, {100, 17},
                          {1000, 33}, {7, 1000}, {2000, 70}, {3, 2500}, {9000, 9}};  // the last two in parts of rows
  for (Shape s : shapes) {
    const std::size_t ld = s.cols + 3;
    std::vector<float> data =
        random_floats(s.rows * ld, -2.0f, 2.0f, static_cast<unsigned>(s.rows + s.cols));
    // A large common offset: the two-pass variance must not lose it to cancellation.
    for (std::size_t r = 0; r < s.rows; ++r) data[r * ld] += 1000.0f;
    const ConstMatrixView x{data.data(), s.rows, s.cols, ld};
    std::vector<double> w_sum(s.cols), w_mean(s.cols), w_var(s.cols);
    reference::column_sums(x, w_sum.data());
    reference::column_mean_var(x, w_mean.data(), w_var.data());
    SCOPED_TRACE(std::string(isa_name(isa)) + " " + shape_string(s.rows, s.cols));
    std::vector<float> sum(s.cols), mean(s.cols), var(s.cols);
    column_sums(x, sum.data());
    column_mean_var(x, mean.data(), var.data());
    std::vector<double> acc(s.cols, 0.0);
    internal::elementwise_kernels(isa).column_sums(x.data, s.rows, s.cols, ld, acc.data());
    for (std::size_t j = 0; j < s.cols; ++j) {
      const double scale = 2.0 * static_cast<double>(s.rows) + 1000.0 * s.rows;  // ≥ Σ|x|
      EXPECT_NEAR(sum[j], w_sum[j], kU * std::abs(w_sum[j]) + 1e-14 * scale) << j;
      EXPECT_NEAR(acc[j], w_sum[j], 1e-14 * scale) << j;
      EXPECT_NEAR(mean[j], w_mean[j], kU * std::abs(w_mean[j]) + 1e-14 * scale) << j;
      EXPECT_NEAR(var[j], w_var[j], kU * w_var[j] + 1e-12) << j;
    }
  }
}

// ---- batch normalization ----------------------------------------------------------------------

class BatchNormPasses : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(BatchNormPasses);

// batchnorm_normalize, batchnorm_backward and add_column_sums against double-precision formulas,
// over shapes with partial vectors and several column blocks, with leading dimensions, at 1 and
// 2 threads (identical bits).
TEST_P(BatchNormPasses, MatchDoubleFormulasAndAreThreadIndependent) {
  // {5000, 16}: a BatchNorm2D's pixels × channels, whose column sums run in parts of rows.
  const Shape shapes[] = {{1, 1}, {2, 3}, {5, 17}, {33, 16}, {64, 70}, {300, 33}, {7, 300}, {256, 1030}, {5000, 16}};
  for (Shape s : shapes) {
    SCOPED_TRACE(shape_string(s.rows, s.cols));
    const std::size_t ld = s.cols + 2;
    const std::vector<float> xs = random_floats(s.rows * ld, -2.0f, 2.0f, static_cast<unsigned>(s.cols));
    const std::vector<float> gs = random_floats(s.rows * ld, -1.0f, 1.0f, static_cast<unsigned>(s.rows + 7));
    const std::vector<float> mean = random_floats(s.cols, -0.5f, 0.5f, 3);
    const std::vector<float> inv = random_floats(s.cols, 0.5f, 2.0f, 4);
    const std::vector<float> gamma = random_floats(s.cols, -1.5f, 1.5f, 5);
    const std::vector<float> beta = random_floats(s.cols, -1.0f, 1.0f, 6);
    const ConstMatrixView x{xs.data(), s.rows, s.cols, ld};
    const ConstMatrixView dy{gs.data(), s.rows, s.cols, ld};
    std::vector<std::vector<float>> runs;
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      Tensor y(s.rows, s.cols), xhat(s.rows, s.cols), dx(s.rows, s.cols);
      batchnorm_normalize(x, mean.data(), inv.data(), gamma.data(), beta.data(), y.view(), xhat.view());
      std::vector<float> dgamma(s.cols, 0.25f), dbeta(s.cols, -0.25f), sums(s.cols, 1.0f);
      batchnorm_backward(dy, xhat.cview(), gamma.data(), inv.data(), dgamma.data(), dbeta.data(), dx.view());
      {  // xhat recomputed from x and the mean instead: the same bits
        Tensor dx2(s.rows, s.cols);
        std::vector<float> dgamma2(s.cols, 0.25f), dbeta2(s.cols, -0.25f);
        batchnorm_backward(dy, x, mean.data(), gamma.data(), inv.data(), dgamma2.data(), dbeta2.data(), dx2.view());
        ASSERT_EQ(std::memcmp(dx2.data(), dx.data(), dx.size() * sizeof(float)), 0);
        ASSERT_EQ(std::memcmp(dgamma2.data(), dgamma.data(), s.cols * sizeof(float)), 0);
        ASSERT_EQ(std::memcmp(dbeta2.data(), dbeta.data(), s.cols * sizeof(float)), 0);
      }
      add_column_sums(dy, sums.data());
      for (std::size_t j = 0; j < s.cols; ++j) {
        double sum = 0.0, dot = 0.0, abs_dot = 0.0;
        for (std::size_t r = 0; r < s.rows; ++r) {
          const double h = (static_cast<double>(x(r, j)) - mean[j]) * inv[j];
          ASSERT_NEAR(xhat(r, j), h, 4 * kU * (std::abs(h) + std::abs(x(r, j)) * inv[j]));
          ASSERT_NEAR(y(r, j), gamma[j] * h + beta[j], 8 * kU * (std::abs(gamma[j] * h) + std::abs(beta[j]) + 1.0));
          sum += dy(r, j);
          dot += static_cast<double>(dy(r, j)) * xhat(r, j);
          abs_dot += std::abs(static_cast<double>(dy(r, j)) * xhat(r, j));
        }
        // The sum rounded to float once, then added to the float already there: two roundings.
        ASSERT_NEAR(dbeta[j], -0.25 + sum, 2 * kU * (std::abs(sum) + 1.0) + 1e-12 * s.rows);
        ASSERT_NEAR(dgamma[j], 0.25 + dot, 2 * kU * (abs_dot + 1.0));
        ASSERT_NEAR(sums[j], 1.0 + sum, 2 * kU * (std::abs(sum) + 2.0) + 1e-12 * s.rows);
        const double m = static_cast<double>(s.rows);
        for (std::size_t r = 0; r < s.rows; ++r) {
          const double want = gamma[j] * inv[j] * (dy(r, j) - sum / m - xhat(r, j) * dot / m);
          const double bound = std::abs(gamma[j] * inv[j]) * (std::abs(dy(r, j)) + std::abs(sum / m) +
                                                               std::abs(xhat(r, j) * abs_dot / m));
          ASSERT_NEAR(dx(r, j), want, 8 * kU * (bound + 1e-3)) << r << ", " << j;
        }
      }
      std::vector<float> all(y.data(), y.data() + y.size());
      all.insert(all.end(), dx.data(), dx.data() + dx.size());
      all.insert(all.end(), dgamma.begin(), dgamma.end());
      runs.push_back(std::move(all));
    }
    EXPECT_EQ(std::memcmp(runs[0].data(), runs[1].data(), runs[0].size() * sizeof(float)), 0);
  }
}

// The pair BatchNorm → ReLU in one pass each way gives the bits of the two passes: forward
// against batchnorm_normalize then activation_forward(relu); backward against
// activation_backward(relu) at the normalized values then batchnorm_backward. Values include
// exact zeros of γ·xhat + β (β = 0 where x = mean), NaN and inf, over shapes with partial vectors
// and column blocks, with leading dimensions.
TEST_P(BatchNormPasses, ReluPairEqualsTheTwoPasses) {
  const ActivationSpec relu = ActivationSpec::relu();
  for (Shape s : {Shape{1, 1}, Shape{3, 5}, Shape{40, 16}, Shape{33, 17}, Shape{9, 70}, Shape{2000, 16},
                  Shape{20, 24}, Shape{30, 32}, Shape{25, 48}, Shape{21, 64}}) {
    SCOPED_TRACE(shape_string(s.rows, s.cols));
    const std::size_t ld = s.cols + 3;
    std::vector<float> xs = random_floats(s.rows * ld, -2.0f, 2.0f, static_cast<unsigned>(s.cols + 1));
    std::vector<float> gs = random_floats(s.rows * ld, -1.0f, 1.0f, static_cast<unsigned>(s.rows + 2));
    std::vector<float> mean = random_floats(s.cols, -0.5f, 0.5f, 3);
    const std::vector<float> inv = random_floats(s.cols, 0.5f, 2.0f, 4);
    const std::vector<float> gamma = random_floats(s.cols, -1.5f, 1.5f, 5);
    std::vector<float> beta = random_floats(s.cols, -1.0f, 1.0f, 6);
    beta[0] = 0.0f;
    xs[0] = mean[0];  // z = γ·0 + 0: the ReLU's kink
    if (s.rows >= 2) {
      xs[ld + s.cols - 1] = std::numeric_limits<float>::quiet_NaN();
      gs[1] = std::numeric_limits<float>::infinity();
    }
    const ConstMatrixView x{xs.data(), s.rows, s.cols, ld};
    const ConstMatrixView dy{gs.data(), s.rows, s.cols, ld};
    Tensor z(s.rows, s.cols), y(s.rows, s.cols), fused(s.rows, s.cols);
    batchnorm_normalize(x, mean.data(), inv.data(), gamma.data(), beta.data(), z.view());
    activation_forward(relu, z.cview(), y.view());
    batchnorm_normalize_relu(x, mean.data(), inv.data(), gamma.data(), beta.data(), fused.view());
    ASSERT_EQ(std::memcmp(y.data(), fused.data(), y.size() * sizeof(float)), 0);

    Tensor g(s.rows, s.cols), dx(s.rows, s.cols), fused_dx(s.rows, s.cols);
    activation_backward(relu, z.cview(), y.cview(), dy, g.view());
    std::vector<float> dgamma(s.cols, 0.25f), dbeta(s.cols, -0.25f), fused_dgamma = dgamma, fused_dbeta = dbeta;
    batchnorm_backward(g.cview(), x, mean.data(), gamma.data(), inv.data(), dgamma.data(), dbeta.data(), dx.view());
    batchnorm_relu_backward(dy, x, mean.data(), gamma.data(), beta.data(), inv.data(), fused_dgamma.data(),
                            fused_dbeta.data(), fused_dx.view());
    // NaN where the other is NaN (a column with a NaN input is NaN from several sources, and which
    // one's sign and payload an operation passes on depends on its operand order), else the bits.
    const auto same = [](const float* a, const float* b, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(a[i]) ? !std::isnan(b[i]) : std::memcmp(a + i, b + i, sizeof(float)) != 0) return false;
      }
      return true;
    };
    EXPECT_TRUE(same(dx.data(), fused_dx.data(), dx.size())) << "dx";
    EXPECT_TRUE(same(dgamma.data(), fused_dgamma.data(), s.cols)) << "dgamma";
    EXPECT_TRUE(same(dbeta.data(), fused_dbeta.data(), s.cols)) << "dbeta";
  }
}

// A residual block's last BatchNorm, shortcut addition and ReLU in one pass give the bits of
// batchnorm_normalize, add and activation_forward(relu): over shapes with partial vectors, rows of
// 1 to 4 whole vectors and parallel row tiles, with leading dimensions; with sums of exactly +0 and
// −0 (the ReLU keeps −0), of ±inf and inf, and of two NaNs (NaN either way); in place over x and
// over the shortcut. Bad arguments are named.
TEST_P(BatchNormPasses, AddReluEqualsTheThreePasses) {
  const ActivationSpec relu = ActivationSpec::relu();
  for (Shape s : {Shape{1, 1}, Shape{3, 5}, Shape{40, 16}, Shape{33, 17}, Shape{9, 70}, Shape{5000, 16},
                  Shape{20, 24}, Shape{30, 32}, Shape{25, 48}, Shape{21, 64}}) {
    SCOPED_TRACE(shape_string(s.rows, s.cols));
    const std::size_t ld = s.cols + 3, skip_ld = s.cols + 1;
    std::vector<float> xs = random_floats(s.rows * ld, -2.0f, 2.0f, static_cast<unsigned>(s.cols + 1));
    std::vector<float> skips = random_floats(s.rows * skip_ld, -2.0f, 2.0f, static_cast<unsigned>(s.rows + 5));
    const std::vector<float> mean = random_floats(s.cols, -0.5f, 0.5f, 3);
    const std::vector<float> inv = random_floats(s.cols, 0.5f, 2.0f, 4);
    std::vector<float> gamma = random_floats(s.cols, -1.5f, 1.5f, 5);
    std::vector<float> beta = random_floats(s.cols, -1.0f, 1.0f, 6);
    beta[0] = 0.5f;
    xs[0] = mean[0];
    skips[0] = -0.5f;  // γ·0 + 0.5 − 0.5: the sum is exactly +0
    if (s.cols >= 2) {  // −γ·0 + (−0) = −0, plus −0: the sum is −0, which the ReLU keeps
      gamma[1] = -0.5f;
      beta[1] = -0.0f;
      xs[1] = mean[1];
      skips[1] = -0.0f;
    }
    if (s.rows >= 2) {
      xs[ld] = -std::numeric_limits<float>::infinity();  // ±inf + inf
      skips[skip_ld] = std::numeric_limits<float>::infinity();
      xs[ld + s.cols - 1] = std::numeric_limits<float>::quiet_NaN();  // a NaN on each side, other payloads
      skips[skip_ld + s.cols - 1] = std::bit_cast<float>(0xffc00123u);
    }
    const ConstMatrixView x{xs.data(), s.rows, s.cols, ld};
    const ConstMatrixView skip{skips.data(), s.rows, s.cols, skip_ld};
    Tensor z(s.rows, s.cols), sum(s.rows, s.cols), want(s.rows, s.cols), got(s.rows, s.cols);
    batchnorm_normalize(x, mean.data(), inv.data(), gamma.data(), beta.data(), z.view());
    for (std::size_t r = 0; r < s.rows; ++r) {
      for (std::size_t j = 0; j < s.cols; ++j) sum(r, j) = z(r, j) + skip(r, j);
    }
    activation_forward(relu, sum.cview(), want.view());
    batchnorm_normalize_add_relu(x, mean.data(), inv.data(), gamma.data(), beta.data(), skip, got.view());
    // NaN where the other is NaN (which of two NaNs an addition passes on depends on the operand
    // order the compiler chose, here and in the library), else the bits.
    const auto same = [](const float* a, const float* b, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(a[i]) ? !std::isnan(b[i]) : std::memcmp(a + i, b + i, sizeof(float)) != 0) return false;
      }
      return true;
    };
    ASSERT_TRUE(same(got.data(), want.data(), want.size()));
    std::vector<float> in_place = skips;  // y over the shortcut, then over x
    const MatrixView over_skip{in_place.data(), s.rows, s.cols, skip_ld};
    batchnorm_normalize_add_relu(x, mean.data(), inv.data(), gamma.data(), beta.data(), over_skip, over_skip);
    std::vector<float> over_x = xs;
    const MatrixView y_over_x{over_x.data(), s.rows, s.cols, ld};
    batchnorm_normalize_add_relu(y_over_x, mean.data(), inv.data(), gamma.data(), beta.data(), skip, y_over_x);
    for (std::size_t r = 0; r < s.rows; ++r) {
      ASSERT_TRUE(same(over_skip.row(r), want.cview().row(r), s.cols)) << "over skip " << r;
      ASSERT_TRUE(same(y_over_x.row(r), want.cview().row(r), s.cols)) << "over x " << r;
    }
  }
  Tensor x(2, 3), short_skip(2, 2), y(2, 3);
  std::vector<float> p(3, 1.0f);
  testing::expect_throw_with("skip", [&] {
    batchnorm_normalize_add_relu(x.cview(), p.data(), p.data(), p.data(), p.data(), short_skip.cview(), y.view());
  }, {"batchnorm_normalize_add_relu", "skip is 2x2", "expected 2x3"});
  testing::expect_throw_with("beta", [&] {
    batchnorm_normalize_add_relu(x.cview(), p.data(), p.data(), p.data(), nullptr, x.cview(), y.view());
  }, {"batchnorm_normalize_add_relu", "beta"});
}

// A row of 1 to 4 whole vectors keeps the parameters in registers (kernels/elementwise.h,
// map_rows); other widths reload them row by row. Column j's results are the same bits either
// way: the first c columns of a 65-column problem against those columns alone.
TEST_P(BatchNormPasses, WholeVectorRowsGiveTheBitsOfAnyOtherWidth) {
  constexpr std::size_t kRows = 37, kWide = 65;
  const std::vector<float> xs = random_floats(kRows * kWide, -2.0f, 2.0f, 11);
  const std::vector<float> gs = random_floats(kRows * kWide, -1.0f, 1.0f, 12);
  const std::vector<float> mean = random_floats(kWide, -0.5f, 0.5f, 13);
  const std::vector<float> inv = random_floats(kWide, 0.5f, 2.0f, 14);
  const std::vector<float> gamma = random_floats(kWide, -1.5f, 1.5f, 15);
  const std::vector<float> beta = random_floats(kWide, -1.0f, 1.0f, 16);
  // y, xhat, the fused y, dx (from x and from xhat), the fused dx, then dgamma, dbeta (plain and
  // fused) of the first `cols` columns.
  auto passes = [&](std::size_t cols) {
    const ConstMatrixView x{xs.data(), kRows, cols, kWide}, dy{gs.data(), kRows, cols, kWide};
    Tensor y(kRows, cols), xhat(kRows, cols), fused(kRows, cols), dx(kRows, cols), dx2(kRows, cols),
        dx3(kRows, cols);
    std::vector<float> grads(4 * cols, 0.5f);
    batchnorm_normalize(x, mean.data(), inv.data(), gamma.data(), beta.data(), y.view(), xhat.view());
    batchnorm_normalize_relu(x, mean.data(), inv.data(), gamma.data(), beta.data(), fused.view());
    batchnorm_backward(dy, x, mean.data(), gamma.data(), inv.data(), grads.data(), grads.data() + cols, dx.view());
    batchnorm_backward(dy, xhat.cview(), gamma.data(), inv.data(), grads.data(), grads.data() + cols, dx2.view());
    batchnorm_relu_backward(dy, x, mean.data(), gamma.data(), beta.data(), inv.data(), grads.data() + 2 * cols,
                            grads.data() + 3 * cols, dx3.view());
    std::vector<std::vector<float>> columns;
    for (const Tensor* t : {&y, &xhat, &fused, &dx, &dx2, &dx3}) {
      for (std::size_t j = 0; j < std::min<std::size_t>(cols, 64); ++j) {
        std::vector<float> column(kRows);
        for (std::size_t r = 0; r < kRows; ++r) column[r] = (*t)(r, j);
        columns.push_back(column);
      }
    }
    for (std::size_t i = 0; i < 4; ++i) {  // each gradient vector's entries as columns of one value
      for (std::size_t j = 0; j < std::min<std::size_t>(cols, 64); ++j) columns.push_back({grads[i * cols + j]});
    }
    return columns;
  };
  const auto wide = passes(kWide);
  for (std::size_t cols : {4, 8, 16, 24, 32, 48, 64}) {
    SCOPED_TRACE(cols);
    const auto narrow = passes(cols);
    for (std::size_t k = 0; k < 10; ++k) {  // six matrices, then four gradient vectors
      for (std::size_t j = 0; j < cols; ++j) {
        const std::vector<float>& a = narrow[k * cols + j];
        const std::vector<float>& b = wide[k * 64 + j];
        ASSERT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << "block " << k << " column " << j;
      }
    }
  }
}

TEST(BatchNormPassesErrors, NameTheArgument) {
  Tensor x(4, 3), y(4, 3), small(4, 2);
  const std::vector<float> p(3, 1.0f);
  testing::expect_throw_with("y shape", [&] {
    batchnorm_normalize(x.cview(), p.data(), p.data(), p.data(), p.data(), small.view());
  }, {"batchnorm_normalize", "y", "4x2"});
  testing::expect_throw_with("null mean", [&] {
    batchnorm_normalize(x.cview(), nullptr, p.data(), p.data(), p.data(), y.view());
  }, {"batchnorm_normalize", "mean"});
  testing::expect_throw_with("xhat is y", [&] {
    batchnorm_normalize(x.cview(), p.data(), p.data(), p.data(), p.data(), y.view(), y.view());
  }, {"xhat"});
  std::vector<float> g(3), b(3);
  testing::expect_throw_with("dx shape", [&] {
    batchnorm_backward(x.cview(), x.cview(), p.data(), p.data(), g.data(), b.data(), small.view());
  }, {"batchnorm_backward", "dx"});
  testing::expect_throw_with("empty", [&] {
    batchnorm_backward(Tensor(0, 3).cview(), Tensor(0, 3).cview(), p.data(), p.data(), g.data(), b.data(), Tensor(0, 3).view());
  }, {"batchnorm_backward", "at least one row"});
  testing::expect_throw_with("null mean", [&] {
    batchnorm_backward(x.cview(), x.cview(), nullptr, p.data(), p.data(), g.data(), b.data(), y.view());
  }, {"batchnorm_backward", "mean"});
  testing::expect_throw_with("x shape", [&] {
    batchnorm_backward(x.cview(), small.cview(), p.data(), p.data(), p.data(), g.data(), b.data(), y.view());
  }, {"batchnorm_backward", "x", "4x2"});
}

// ---- determinism across thread counts --------------------------------------------------------

class DeterminismPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(DeterminismPerIsa);

TEST_P(DeterminismPerIsa, BitIdenticalAt1To3Threads) {
  const Isa isa = GetParam();
  const std::size_t n = 9 * kElementwiseChunk + 1234;  // several chunks and a ragged one
  const std::vector<float> x = random_floats(n, -10.0f, 10.0f, 31);
  const std::vector<float> dy = random_floats(n, -1.0f, 1.0f, 32);
  const Shape sm{700, 1001}, col{2000, 333};  // several row tiles, column blocks
  const std::vector<float> xs = random_floats(sm.rows * sm.cols, -5.0f, 5.0f, 33);
  const std::vector<float> xc = random_floats(col.rows * col.cols, -5.0f, 5.0f, 34);

  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> out;
    auto append = [&](const std::vector<float>& v) { out.insert(out.end(), v.begin(), v.end()); };
    for (ActivationSpec act : all_specs()) {
      std::vector<float> y(n), dx(n);
      activation_forward(act, x.data(), y.data(), n);
      activation_backward(act, x.data(), y.data(), dy.data(), dx.data(), n);
      append(y);
      append(dx);
    }
    std::vector<float> y(xs.size()), dx(xs.size());
    const ConstMatrixView xv{xs.data(), sm.rows, sm.cols, sm.cols};
    softmax_forward(xv, MatrixView{y.data(), sm.rows, sm.cols, sm.cols});
    softmax_backward(ConstMatrixView{y.data(), sm.rows, sm.cols, sm.cols},
                     ConstMatrixView{xs.data(), sm.rows, sm.cols, sm.cols},
                     MatrixView{dx.data(), sm.rows, sm.cols, sm.cols});
    append(y);
    append(dx);
    log_softmax_forward(xv, MatrixView{y.data(), sm.rows, sm.cols, sm.cols});
    append(y);
    std::vector<float> ax(dy);
    axpy(0.3f, x.data(), ax.data(), n);
    append(ax);
    const double ss = sum_of_squares(x.data(), n);
    out.push_back(static_cast<float>(ss));
    out.push_back(static_cast<float>(ss - static_cast<float>(ss)));
    std::vector<float> cs(col.cols), mean(col.cols), var(col.cols);
    const ConstMatrixView cv{xc.data(), col.rows, col.cols, col.cols};
    column_sums(cv, cs.data());
    column_mean_var(cv, mean.data(), var.data());
    append(cs);
    append(mean);
    append(var);
    return out;
  };
  const std::vector<float> one = run(1);
  for (int threads : {2, 3}) {
    const std::vector<float> many = run(threads);
    ASSERT_EQ(one.size(), many.size());
    EXPECT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0)
        << isa_name(isa) << " at " << threads << " threads";
  }
}

// A kernel table of an ISA the CPU lacks is refused, on every request (the check runs while a
// table is built, and a refused one stays unbuilt). Natively every ISA may be there; tools/test.sh
// runs this binary under qemu as a Haswell and a Nehalem, which lack some.
TEST(KernelTables, AnIsaTheCpuLacksIsRefusedEveryTime) {
  for (Isa isa : kAllIsas) {
    if (cpu_supports(isa)) {
      EXPECT_NO_THROW((void)internal::elementwise_kernels(isa)) << isa_name(isa);
      continue;
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        (void)internal::elementwise_kernels(isa);
        ADD_FAILURE() << isa_name(isa) << ": no exception";
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(isa_name(isa)), std::string::npos) << e.what();
      }
    }
  }
}

// ---- errors ---------------------------------------------------------------------------------

// Runs f, expects a ShapeError (a std::invalid_argument) whose message contains every part.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning " << parts[0];
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "\"" << msg << "\" lacks \"" << p << "\"";
  }
}

TEST(Errors, MessagesNameOperationArgumentExpectedAndActual) {
  float buf[8] = {};
  const ActivationSpec relu = ActivationSpec::relu();
  expect_error([&] { activation_forward(relu, nullptr, buf, 5); },
               {"activation_forward", "x", "null", "5"});
  expect_error([&] { activation_forward(relu, buf, nullptr, 5); },
               {"activation_forward", "y", "null", "5"});
  expect_error([&] { activation_backward(relu, buf, buf, nullptr, buf, 3); },
               {"activation_backward", "dy", "null", "3"});
  expect_error([&] { axpy(1.0f, buf, nullptr, 2); }, {"axpy", "y", "null", "2"});
  expect_error([&] { scale(1.0f, nullptr, buf, 2); }, {"scale", "x", "null"});
  expect_error([&] { add(buf, nullptr, buf, 2); }, {"add", "b", "null"});
  expect_error([&] { multiply(nullptr, buf, buf, 2); }, {"multiply", "a", "null"});
  expect_error([&] { (void)sum_of_squares(nullptr, 4); }, {"sum_of_squares", "x", "null", "4"});
  expect_error([&] { (void)logistic_loss(ConstMatrixView{buf, 2, 3, 3}, ConstMatrixView{buf, 3, 2, 2}, {}, 1.0); },
               {"logistic_loss", "y", "3x2", "2x3"});
  expect_error(
      [&] { (void)logistic_loss(ConstMatrixView{buf, 2, 3, 3}, ConstMatrixView{buf, 2, 3, 3}, MatrixView{buf, 2, 2, 2}, 1.0); },
      {"logistic_loss", "dz", "2x2", "2x3"});
  EXPECT_THROW((void)logistic_loss(ConstMatrixView{buf, 1, 2, 2}, ConstMatrixView{buf, 1, 2, 2}, MatrixView{buf, 1, 2, 2}, 0.0),
               std::invalid_argument);
  expect_error(
      [&] {
        activation_forward(relu, ConstMatrixView{buf, 2, 3, 3}, MatrixView{buf, 3, 2, 2});
      },
      {"activation_forward", "y", "3x2", "2x3"});
  expect_error(
      [&] {
        softmax_forward(ConstMatrixView{buf, 2, 4, 4}, MatrixView{buf, 2, 3, 3});
      },
      {"softmax_forward", "y", "2x3", "2x4", "shape of x"});
  expect_error(
      [&] {
        log_softmax_backward(ConstMatrixView{buf, 2, 2, 2}, ConstMatrixView{buf, 1, 2, 2},
                             MatrixView{buf, 2, 2, 2});
      },
      {"log_softmax_backward", "dy", "1x2", "2x2"});
  expect_error(
      [&] {
        softmax_backward(ConstMatrixView{buf, 2, 2, 2}, ConstMatrixView{buf, 2, 2, 2},
                         MatrixView{buf, 2, 1, 1});
      },
      {"softmax_backward", "dx", "2x1", "2x2"});
  expect_error(
      [&] {
        softmax_forward(ConstMatrixView{buf, 2, 4, 3}, MatrixView{buf, 2, 4, 4});
      },
      {"softmax_forward", "x", "leading dimension 3"});
  expect_error(
      [&] {
        column_sums(ConstMatrixView{buf, 2, 3, 3}, nullptr);
      },
      {"column_sums", "sums", "null", "3"});
  expect_error(
      [&] {
        column_mean_var(ConstMatrixView{buf, 0, 3, 3}, buf, buf);
      },
      {"column_mean_var", "x", "0x3", "at least one row"});
  expect_error(
      [&] {
        column_mean_var(ConstMatrixView{buf, 2, 3, 3}, buf, nullptr);
      },
      {"column_mean_var", "var", "null"});
  try {
    activation_forward(ActivationSpec{static_cast<Activation>(42), 0.0f}, buf, buf, 1);
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("activation_forward"), std::string::npos) << msg;
    EXPECT_NE(msg.find("42"), std::string::npos) << msg;
    EXPECT_NE(msg.find("sigmoid"), std::string::npos) << msg;
  }
  // Empty inputs are fine with null pointers.
  EXPECT_NO_THROW(activation_forward(relu, nullptr, nullptr, 0));
  EXPECT_NO_THROW(softmax_forward(ConstMatrixView{nullptr, 0, 5, 5}, MatrixView{nullptr, 0, 5, 5}));
  EXPECT_EQ(sum_of_squares(nullptr, 0), 0.0);
}

}  // namespace
}  // namespace simdnn

namespace simdnn {
namespace {

TEST(FrobeniusNorm, StridedViewMatchesDoubleLoop) {
  std::vector<float> storage(7 * 12);
  for (std::size_t i = 0; i < storage.size(); ++i) storage[i] = static_cast<float>(i % 13) * 0.25f - 1.5f;
  const ConstMatrixView x{storage.data(), 7, 9, 12};  // 3 padding floats per row, not counted
  double expected = 0.0;
  for (std::size_t r = 0; r < 7; ++r) {
    for (std::size_t c = 0; c < 9; ++c) expected += static_cast<double>(x(r, c)) * x(r, c);
  }
  EXPECT_DOUBLE_EQ(frobenius_norm(x), std::sqrt(expected));
  EXPECT_THROW(frobenius_norm(ConstMatrixView{storage.data(), 2, 9, 8}), ShapeError);
}

}  // namespace
}  // namespace simdnn
