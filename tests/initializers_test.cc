// Weight initializers: each distribution against its formula, orthogonality, determinism, names and
// errors.
//
// Statistical bounds are at least 5 standard errors of the estimate (worked out next to each), so
// a correct initializer fails with probability well under 10^-5; the seeds are fixed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/core/initializers.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include "tests/test_util.h"

namespace simdnn {
namespace {

struct Stats {
  double mean = 0.0;
  double stddev = 0.0;
  float min = 0.0f;
  float max = 0.0f;
};

Stats stats(const Tensor& t) {
  Stats s;
  double sum = 0.0;
  s.min = s.max = t.data()[0];
  for (std::size_t i = 0; i < t.size(); ++i) {
    sum += t.data()[i];
    s.min = std::min(s.min, t.data()[i]);
    s.max = std::max(s.max, t.data()[i]);
  }
  s.mean = sum / static_cast<double>(t.size());
  double squares = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    squares += (t.data()[i] - s.mean) * (t.data()[i] - s.mean);
  }
  s.stddev = std::sqrt(squares / static_cast<double>(t.size()));
  return s;
}

Tensor initialized(std::size_t rows, std::size_t cols, const InitSpec& spec,
                   std::uint64_t seed = 1, std::uint64_t stream = 0) {
  Tensor w(rows, cols);
  initialize(w.view(), spec, seed, stream);
  return w;
}

// 512 x 256 = 131072 samples.
//  normal: sigma of the sample std ≈ σ/sqrt(2n) = 0.20% of σ; bound 1% (5.1 sigma).
//  uniform on ±L: std L/√3, sigma of the sample std ≈ (1/2)·sqrt(0.8/n) = 0.12%; bound 1% (8 sigma).
//  mean: sigma σ/sqrt(n) = 0.28% of σ; bound 1.5% of σ (5.4 sigma).
//  uniform extremes: P(max < 0.99·L) = 0.995^n ≈ 0.
constexpr std::size_t kFanIn = 512, kFanOut = 256;

struct Expected {
  InitSpec spec;
  bool uniform;
  double scale;  // σ for normals, L for uniforms on [−L, L)
};

TEST(Initializers, EmpiricalDistributionsMatchFormulas) {
  const double in = kFanIn, out = kFanOut;
  const Expected cases[] = {
      {InitSpec::normal(0.02f), false, 0.02},
      {InitSpec::xavier_uniform(), true, std::sqrt(6.0 / (in + out))},
      {InitSpec::xavier_normal(), false, std::sqrt(2.0 / (in + out))},
      {InitSpec::he_normal(), false, std::sqrt(2.0 / in)},
      {InitSpec::he_uniform(), true, std::sqrt(6.0 / in)},
      {InitSpec::lecun_normal(), false, std::sqrt(1.0 / in)},
      {InitSpec::xavier_uniform(2.0f), true, 2.0 * std::sqrt(6.0 / (in + out))},
      {InitSpec::he_normal(0.5f), false, 0.5 * std::sqrt(2.0 / in)},
  };
  for (const Expected& e : cases) {
    SCOPED_TRACE(std::string(init_name(e.spec.kind)) + " gain " + std::to_string(e.spec.gain));
    const Tensor w = initialized(kFanIn, kFanOut, e.spec);
    const Stats s = stats(w);
    const double stddev = e.uniform ? e.scale / std::sqrt(3.0) : e.scale;
    EXPECT_NEAR(s.stddev, stddev, 0.01 * stddev);
    EXPECT_NEAR(s.mean, 0.0, 0.015 * stddev);
    if (e.uniform) {
      const auto limit = static_cast<float>(e.scale);
      EXPECT_GE(s.min, -limit);
      EXPECT_LT(s.max, limit);
      EXPECT_LT(s.min, -0.99f * limit);
      EXPECT_GT(s.max, 0.99f * limit);
    } else {
      // A normal exceeds 3σ with probability 0.27%, so ~354 of the samples do; a uniform never.
      EXPECT_GT(s.max, 3.0 * stddev);
      EXPECT_LT(s.min, -3.0 * stddev);
    }
  }
}

TEST(Initializers, UniformRange) {
  const Tensor w = initialized(kFanIn, kFanOut, InitSpec::uniform(1.0f, 3.0f));
  const Stats s = stats(w);
  EXPECT_GE(s.min, 1.0f);
  EXPECT_LT(s.max, 3.0f);
  // Width 2: std 2/√12 = 0.577; sigma of the mean 0.577/sqrt(131072) = 1.6e-3, bound 8e-3.
  EXPECT_NEAR(s.mean, 2.0, 8e-3);
  EXPECT_NEAR(s.stddev, 2.0 / std::sqrt(12.0), 0.01 * 2.0 / std::sqrt(12.0));
}

TEST(Initializers, FanInIsRowsAndFanOutIsCols) {
  // he_normal depends on fan_in only: a tall 2000 x 10 weight (fan_in 2000) has σ = √(2/2000),
  // the transposed shape σ = √(2/10). 20000 samples: sigma of the sample std 0.5%, bound 3%.
  const Stats tall = stats(initialized(2000, 10, InitSpec::he_normal()));
  const Stats wide = stats(initialized(10, 2000, InitSpec::he_normal()));
  EXPECT_NEAR(tall.stddev, std::sqrt(2.0 / 2000), 0.03 * std::sqrt(2.0 / 2000));
  EXPECT_NEAR(wide.stddev, std::sqrt(2.0 / 10), 0.03 * std::sqrt(2.0 / 10));
}

TEST(Initializers, ZerosAndConstant) {
  Tensor w(7, 9);
  initialize(w.view(), InitSpec::constant(0.25f), 1, 2);
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_EQ(w.data()[i], 0.25f);
  initialize(w.view(), InitSpec::zeros(), 1, 2);
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_EQ(w.data()[i], 0.0f);
}

TEST(Initializers, DefaultsOfInitSpec) {
  EXPECT_EQ(InitSpec{}.kind, Init::xavier_uniform);
  EXPECT_EQ(InitSpec{Init::orthogonal}.gain, 1.0f);
  EXPECT_EQ(InitSpec::constant(3.0f).value, 3.0f);
  EXPECT_EQ(InitSpec::uniform(-1.0f, 2.0f).high, 2.0f);
  EXPECT_EQ(InitSpec::he_uniform(0.5f).gain, 0.5f);
  EXPECT_EQ(InitSpec::he_uniform(0.5f).kind, Init::he_uniform);
}

// max |WᵀW − gain²·I| (tall) or |WWᵀ − gain²·I| (wide), in double.
double orthogonality_error(const Tensor& w, double gain) {
  const bool tall = w.rows() >= w.cols();
  const std::size_t n = tall ? w.cols() : w.rows();
  const std::size_t m = tall ? w.rows() : w.cols();
  auto at = [&](std::size_t i, std::size_t k) { return tall ? w(i, k) : w(k, i); };
  double worst = 0.0;
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a; b < n; ++b) {
      double dot = 0.0;
      for (std::size_t i = 0; i < m; ++i) dot += double{at(i, a)} * at(i, b);
      worst = std::max(worst, std::abs(dot - (a == b ? gain * gain : 0.0)));
    }
  }
  return worst;
}

TEST(Orthogonal, ColumnsOrRowsAreOrthonormal) {
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{512, 256},
                            {256, 512},
                            {128, 128},
                            {33, 7},
                            {7, 33},
                            {5, 1},
                            {1, 5},
                            {1, 1}}) {
    SCOPED_TRACE(shape_string(rows, cols));
    const Tensor w = initialized(rows, cols, InitSpec::orthogonal(), 3, 4);
    EXPECT_LT(orthogonality_error(w, 1.0), 1e-5);
  }
  // Square: both WᵀW and WWᵀ are the identity.
  Tensor sq = initialized(64, 64, InitSpec::orthogonal(), 3, 4);
  Tensor transposed(64, 64);
  for (std::size_t r = 0; r < 64; ++r) {
    for (std::size_t c = 0; c < 64; ++c) transposed(c, r) = sq(r, c);
  }
  EXPECT_LT(orthogonality_error(transposed, 1.0), 1e-5);
}

TEST(Orthogonal, GainScales) {
  const Tensor w = initialized(300, 200, InitSpec::orthogonal(2.0f), 1, 1);
  EXPECT_LT(orthogonality_error(w, 2.0), 4e-5);
  const Tensor base = initialized(300, 200, InitSpec::orthogonal(), 1, 1);
  for (std::size_t i = 0; i < w.size(); ++i) ASSERT_EQ(w.data()[i], 2.0f * base.data()[i]);
}

TEST(Orthogonal, SignCorrectionMakesItUnbiased) {
  // For Haar-distributed Q, Q(0,0) is x0/|x| for a Gaussian x in R^4: mean 0, std 1/2. Without
  // the diag(R) sign correction Householder QR would make it always negative (mean ≈ −0.4).
  // 2000 draws: sigma of the mean 0.5/sqrt(2000) = 0.011, bound 0.06 (5.4 sigma).
  double sum = 0.0;
  for (std::uint64_t stream = 0; stream < 2000; ++stream) {
    sum += initialized(4, 4, InitSpec::orthogonal(), 8, stream)(0, 0);
  }
  EXPECT_NEAR(sum / 2000, 0.0, 0.06);
}

TEST(Initializers, StridedViewLeavesPaddingUntouched) {
  for (const InitSpec& spec : {InitSpec::constant(2.0f), InitSpec::he_uniform(),
                               InitSpec::xavier_normal(), InitSpec::orthogonal()}) {
    SCOPED_TRACE(init_name(spec.kind));
    const std::size_t rows = 40, cols = 30, ld = 37;
    std::vector<float> storage(rows * ld, -99.0f);
    initialize(MatrixView{storage.data(), rows, cols, ld}, spec, 5, 6);
    const Tensor dense = initialized(rows, cols, spec, 5, 6);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < ld; ++c) {
        if (c < cols) {
          ASSERT_EQ(storage[r * ld + c], dense(r, c));
        } else {
          ASSERT_EQ(storage[r * ld + c], -99.0f);
        }
      }
    }
  }
}

TEST(Initializers, DeterministicAndIndependentOfThreadCount) {
  testing::Restore restore;  // the thread count this test changes
  for (const InitSpec& spec : {InitSpec::xavier_uniform(), InitSpec::he_normal(),
                               InitSpec::orthogonal(), InitSpec::normal(1.0f)}) {
    SCOPED_TRACE(init_name(spec.kind));
    set_num_threads(1);
    const Tensor one = initialized(300, 257, spec, 9, 2);
    for (int threads : {2, 3}) {
      set_num_threads(threads);
      const Tensor many = initialized(300, 257, spec, 9, 2);
      EXPECT_EQ(0, std::memcmp(one.data(), many.data(), one.size() * sizeof(float)))
          << threads << " threads";
    }
    const Tensor other_stream = initialized(300, 257, spec, 9, 3);
    const Tensor other_seed = initialized(300, 257, spec, 10, 2);
    EXPECT_NE(0, std::memcmp(one.data(), other_stream.data(), one.size() * sizeof(float)));
    EXPECT_NE(0, std::memcmp(one.data(), other_seed.data(), one.size() * sizeof(float)));
  }
}

TEST(Initializers, EmptyViewIsFine) {
  EXPECT_NO_THROW(initialize(MatrixView{nullptr, 0, 4, 4}, InitSpec::orthogonal(), 0, 0));
  EXPECT_NO_THROW(initialize(MatrixView{nullptr, 3, 0, 0}, InitSpec::he_normal(), 0, 0));
}

TEST(Names, RoundTripAndAliases) {
  for (Init kind : kAllInits) EXPECT_EQ(parse_init(init_name(kind)), kind);
  EXPECT_EQ(parse_init("glorot_uniform"), Init::xavier_uniform);
  EXPECT_EQ(parse_init("glorot_normal"), Init::xavier_normal);
  EXPECT_EQ(parse_init("kaiming_normal"), Init::he_normal);
  EXPECT_EQ(parse_init("kaiming_uniform"), Init::he_uniform);
  try {
    parse_init("he");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("\"he\""), std::string::npos) << message;
    for (Init kind : kAllInits) EXPECT_NE(message.find(init_name(kind)), std::string::npos);
    EXPECT_NE(message.find("glorot_uniform"), std::string::npos) << message;
  }
}

std::string error_of(const InitSpec& spec) {
  Tensor w(4, 4);
  try {
    initialize(w.view(), spec, 0, 0);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no exception";
}

TEST(BadSpecs, ThrowNamingInitializerParameterAndValue) {
  EXPECT_EQ(error_of(InitSpec::normal(-1.0f)),
            "initialize: normal stddev must be finite and >= 0, got -1");
  EXPECT_EQ(error_of(InitSpec::normal(NAN)),
            "initialize: normal stddev must be finite and >= 0, got nan");
  EXPECT_EQ(error_of(InitSpec::uniform(2.0f, 1.0f)),
            "initialize: uniform low must be <= high, got low = 2, high = 1");
  EXPECT_EQ(error_of(InitSpec::uniform(-INFINITY, 1.0f)),
            "initialize: uniform low must be finite, got -inf");
  EXPECT_EQ(error_of(InitSpec::constant(NAN)), "initialize: constant value must be finite, got nan");
  EXPECT_EQ(error_of(InitSpec::orthogonal(-1.0f)),
            "initialize: orthogonal gain must be finite and >= 0, got -1");
  EXPECT_EQ(error_of(InitSpec::he_normal(INFINITY)),
            "initialize: he_normal gain must be finite and >= 0, got inf");
  // Parameters a kind does not read are not checked.
  InitSpec zeros = InitSpec::zeros();
  zeros.stddev = -5.0f;
  EXPECT_EQ(error_of(zeros), "no exception");
  // A malformed view is a ShapeError.
  float data[8] = {};
  EXPECT_THROW(initialize(MatrixView{data, 2, 4, 3}, InitSpec::zeros(), 0, 0), ShapeError);
}

}  // namespace
}  // namespace simdnn
