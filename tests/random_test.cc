// Philox4x32-10, the random fills and Rng.
//
// Statistical checks use 10^6 draws and bounds of at least 5 standard errors of the estimated
// quantity (the sigma is worked out next to each bound), so a correct generator fails one of them
// with probability well under 10^-5; the seeds are fixed, so every run sees the same numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numbers>
#include <numeric>
#include <span>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/core/isa.h>
#include <simdnn/core/philox.h>
#include <simdnn/core/random.h>
#include <simdnn/core/random_kernels.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include "tests/test_util.h"

namespace simdnn {
namespace {

constexpr std::size_t kDraws = 1'000'000;

struct Moments {
  double mean = 0.0;
  double variance = 0.0;  // population variance of the sample
};

Moments moments(std::span<const float> x) {
  double sum = 0.0;
  for (float v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  double squares = 0.0;
  for (float v : x) squares += (v - mean) * (v - mean);
  return {mean, squares / static_cast<double>(x.size())};
}

// Restores the thread count on scope exit.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(num_threads()) {}
  ~ThreadCountGuard() { set_num_threads(saved_); }

 private:
  int saved_;
};

template <class F>
std::string error_of(const F& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no exception";
}


// n floats uniform in [lo, hi), from Philox (fixed per seed).
std::vector<float> random_floats(std::size_t n, float lo, float hi, unsigned seed) {
  std::vector<float> v(n);
  fill_uniform(std::span<float>(v), lo, hi, seed, 1);
  return v;
}

// --- Philox -------------------------------------------------------------------------------------

// Random123's kat_vectors for philox4x32 with 10 rounds.
TEST(Philox, KnownAnswerVectors) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                          {0xffffffffu, 0xffffffffu}),
            (PhiloxCounter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                          {0xa4093822u, 0x299f31d0u}),
            (PhiloxCounter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(Philox, IsConstexpr) {
  static_assert(philox4x32_10({0, 0, 0, 0}, {0, 0})[0] == 0x6627e8d5u);
}

TEST(Philox, LayoutOfSeedStreamAndBlock) {
  // key = (seed lo, seed hi), counter = (block lo, block hi, stream lo, stream hi).
  const std::uint64_t seed = 0x299f31d0a4093822ull;
  const std::uint64_t block = 0x85a308d3243f6a88ull;
  const std::uint64_t stream = 0x0370734413198a2eull;
  EXPECT_EQ(philox_block(seed, stream, block),
            (PhiloxCounter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

// --- Vectorized Philox kernels (core/random_kernels.h), on every ISA ----------------------------

class PhiloxKernels : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(PhiloxKernels);

// (seed, stream) pairs with all-ones and mixed halves, so every key and counter word is exercised.
constexpr std::pair<std::uint64_t, std::uint64_t> kSeedStreams[] = {
    {0, 0}, {42, 7}, {~std::uint64_t{0}, 0x123456789ABCDEF0u}, {0x9E3779B97F4A7C15u, 0xFFFFFFFFu}};

std::uint32_t reference_word(std::uint64_t seed, std::uint64_t stream, std::uint64_t word) {
  return philox_block(seed, stream, word / 4)[word % 4];
}

// Starting words: 0..9, and ones where the block number carries into its high 32 bits inside a
// vector of blocks, or has both halves nonzero.
std::vector<std::uint64_t> first_words() {
  std::vector<std::uint64_t> firsts;
  for (std::uint64_t f = 0; f < 10; ++f) firsts.push_back(f);
  firsts.push_back((std::uint64_t{1} << 34) - 4 * 5 + 3);    // block 2^32 − 5, word 3
  firsts.push_back((std::uint64_t{7} << 40) + 4 * 123 + 1);  // high and low halves nonzero
  return firsts;
}

// Lengths 0..70, then long ones crossing many main-loop groups with every kind of tail.
std::vector<std::size_t> lengths() {
  std::vector<std::size_t> ns;
  for (std::size_t n = 0; n <= 70; ++n) ns.push_back(n);
  for (std::size_t n : {255, 256, 257, 1000, 4099, 10'007}) ns.push_back(n);
  return ns;
}

TEST_P(PhiloxKernels, WordsEqualTheScalarGenerator) {
  const internal::RandomKernels& k = internal::random_kernels(GetParam());
  constexpr std::uint32_t kSentinel = 0xDEADBEEFu;
  for (const auto& [seed, stream] : kSeedStreams) {
    for (std::uint64_t first : first_words()) {
      for (std::size_t n : lengths()) {
        std::vector<std::uint32_t> out(n + 2, kSentinel);
        k.philox_words(seed, stream, first, out.data() + 1, n);
        ASSERT_EQ(out[0], kSentinel) << "wrote before the range";
        ASSERT_EQ(out[n + 1], kSentinel) << "wrote after the range";
        for (std::size_t i = 0; i < n; ++i) {
          ASSERT_EQ(out[i + 1], reference_word(seed, stream, first + i))
              << "seed " << seed << " stream " << stream << " first " << first << " n " << n
              << " i " << i;
        }
      }
    }
  }
}

TEST_P(PhiloxKernels, BernoulliIsWordBelowThreshold) {
  const internal::RandomKernels& k = internal::random_kernels(GetParam());
  constexpr std::uint64_t kAll = std::uint64_t{1} << 32;
  const std::uint64_t thresholds[] = {0, 1, 0x4CCCCCCDu, kAll / 2, kAll - 1, kAll};
  for (const auto& [seed, stream] : kSeedStreams) {
    for (std::uint64_t threshold : thresholds) {
      for (std::uint64_t first : first_words()) {
        for (std::size_t n : lengths()) {
          std::vector<float> out(n + 2, -3.0f);
          const float value = n % 2 == 0 ? 1.0f : 2.5f;  // the plain mask and a scaled one
          k.bernoulli(seed, stream, first, threshold, value, out.data() + 1, n);
          ASSERT_EQ(out[0], -3.0f);
          ASSERT_EQ(out[n + 1], -3.0f);
          for (std::size_t i = 0; i < n; ++i) {
            const float expected =
                reference_word(seed, stream, first + i) < threshold ? value : 0.0f;
            ASSERT_EQ(out[i + 1], expected) << "threshold " << threshold << " first " << first
                                            << " n " << n << " i " << i;
          }
        }
      }
    }
  }
}

// The public fills, element by element, against the documented formulas (core/random.h) on the
// scalar generator's words, bit for bit: the same bits on every ISA (and as the scalar code gave
// before the kernels were vectorized). The view is strided and its rows start mid-block.
TEST_P(PhiloxKernels, FillsAreTheDocumentedFormulasBitForBit) {
  const std::size_t rows = 37, cols = 29, ld = 31, n = rows * cols;
  const std::uint64_t seed = 2024, stream = 11;
  auto check = [&](const char* what, const std::vector<float>& flat,
                   const std::vector<float>& strided, auto element) {
    for (std::size_t i = 0; i < n; ++i) {
      const float expected = element(i);
      ASSERT_EQ(0, std::memcmp(&flat[i], &expected, sizeof(float))) << what << " element " << i;
      const float viewed = strided[(i / cols) * ld + i % cols];
      ASSERT_EQ(0, std::memcmp(&viewed, &expected, sizeof(float))) << what << " (view) " << i;
    }
  };
  auto word = [&](std::size_t i) { return reference_word(seed, stream, i); };
  std::vector<float> flat(n), strided(rows * ld);
  MatrixView view{strided.data(), rows, cols, ld};

  fill_uniform(std::span<float>(flat), -1.5f, 2.5f, seed, stream);
  fill_uniform(view, -1.5f, 2.5f, seed, stream);
  check("uniform", flat, strided, [&](std::size_t i) {
    const auto x = static_cast<float>(-1.5 + 4.0 * internal::uniform24(word(i)));
    return x < 2.5f ? x : std::nextafter(2.5f, -1.5f);
  });

  fill_normal(std::span<float>(flat), 0.5f, 2.0f, seed, stream);
  fill_normal(view, 0.5f, 2.0f, seed, stream);
  check("normal", flat, strided, [&](std::size_t i) {
    const std::size_t j = i - i % 2;
    const double u1 = (static_cast<double>(word(j)) + 1.0) * (1.0 / 4294967296.0);
    const double u2 = static_cast<double>(word(j + 1)) * (1.0 / 4294967296.0);
    const double radius = 2.0 * std::sqrt(-2.0 * std::log(u1));
    const double theta = 6.283185307179586476925286766559 * u2;
    return static_cast<float>(0.5 + radius * (i % 2 == 0 ? std::cos(theta) : std::sin(theta)));
  });

  for (float p : {0.0f, 0.1f, 0.5f, 0.9f, 1.0f}) {
    fill_bernoulli(std::span<float>(flat), p, seed, stream);
    fill_bernoulli(view, p, seed, stream);
    check("bernoulli", flat, strided, [&](std::size_t i) {
      return static_cast<double>(word(i)) < static_cast<double>(p) * 4294967296.0 ? 1.0f : 0.0f;
    });
    const float scale = 1.0f / (1.0f - 0.3f);  // an inverted-dropout mask
    fill_bernoulli(std::span<float>(flat), p, seed, stream, scale);
    fill_bernoulli(view, p, seed, stream, scale);
    check("scaled bernoulli", flat, strided, [&](std::size_t i) {
      return static_cast<double>(word(i)) < static_cast<double>(p) * 4294967296.0 ? scale : 0.0f;
    });
  }
}

TEST(Fill, BitIdenticalOnEveryIsa) {
  testing::Restore restore;
  // Several parallel chunks, ending mid-block.
  const std::size_t n = 3 * internal::kRandomFillChunk + 4321;
  std::vector<std::vector<float>> results;
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    std::vector<float> all, x(n);
    fill_uniform(std::span<float>(x), -1.0f, 1.0f, 3, 4);
    all.insert(all.end(), x.begin(), x.end());
    fill_normal(std::span<float>(x), 0.0f, 1.0f, 3, 4);
    all.insert(all.end(), x.begin(), x.end());
    fill_bernoulli(std::span<float>(x), 0.3f, 3, 4);
    all.insert(all.end(), x.begin(), x.end());
    results.push_back(std::move(all));
  }
  for (std::size_t t = 1; t < results.size(); ++t) {
    EXPECT_EQ(0, std::memcmp(results[t].data(), results[0].data(),
                             results[0].size() * sizeof(float)))
        << isa_name(supported_isas()[t]) << " differs from " << isa_name(supported_isas()[0]);
  }
}

// --- Element mappings pinned to the known-answer words -------------------------------------------

TEST(Fill, ElementMappingsMatchDocumentedFormulas) {
  const PhiloxCounter w = philox4x32_10({0, 0, 0, 0}, {0, 0});  // block 0 of seed 0, stream 0
  std::vector<float> x(4);

  fill_uniform(std::span<float>(x), 0.0f, 1.0f, 0, 0);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(x[k], static_cast<float>(w[k] >> 8) / 16777216.0f);

  fill_bernoulli(std::span<float>(x), 0.5f, 0, 0);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(x[k], w[k] < 0x80000000u ? 1.0f : 0.0f);

  fill_normal(std::span<float>(x), 0.0f, 1.0f, 0, 0);
  for (int pair = 0; pair < 2; ++pair) {
    const double u1 = (w[2 * pair] + 1.0) / 4294967296.0;
    const double u2 = w[2 * pair + 1] / 4294967296.0;
    const double r = std::sqrt(-2.0 * std::log(u1));
    EXPECT_FLOAT_EQ(x[2 * pair], static_cast<float>(r * std::cos(2 * std::numbers::pi * u2)));
    EXPECT_FLOAT_EQ(x[2 * pair + 1], static_cast<float>(r * std::sin(2 * std::numbers::pi * u2)));
  }
}

TEST(Fill, ElementDependsOnlyOnIndex) {
  // A fill of n elements is a prefix of a fill of more, and an unaligned sub-span starting at
  // element k of a matrix view gets element k onward.
  std::vector<float> big(100'003), small(37);
  fill_normal(std::span<float>(big), 1.0f, 2.0f, 7, 3);
  fill_normal(std::span<float>(small), 1.0f, 2.0f, 7, 3);
  EXPECT_TRUE(std::equal(small.begin(), small.end(), big.begin()));

  Tensor m(7, 13);  // 91 elements, rows not aligned to Philox blocks
  fill_normal(m.view(), 1.0f, 2.0f, 7, 3);
  EXPECT_TRUE(std::equal(m.data(), m.data() + m.size(), big.begin()));
}

// --- Uniform ------------------------------------------------------------------------------------

TEST(Uniform, RangeMeanAndVariance) {
  std::vector<float> x(kDraws);
  fill_uniform(std::span<float>(x), 0.0f, 1.0f, 42, 0);
  EXPECT_GE(*std::min_element(x.begin(), x.end()), 0.0f);
  EXPECT_LT(*std::max_element(x.begin(), x.end()), 1.0f);
  const Moments mo = moments(x);
  // U[0,1): variance 1/12; sigma of the mean = sqrt(1/12 / 1e6) = 2.9e-4, bound 1.5e-3 (5.2 sigma).
  EXPECT_NEAR(mo.mean, 0.5, 1.5e-3);
  // sigma of the sample variance = sqrt((E[(x-m)^4] - var^2) / n) = sqrt((1/80 - 1/144) / 1e6)
  // = 7.5e-5, bound 4e-4 (5.4 sigma).
  EXPECT_NEAR(mo.variance, 1.0 / 12.0, 4e-4);

  // Every tenth of [0, 1) holds 10% of the draws: sigma = sqrt(0.09 / 1e6) = 3e-4, bound 1.5e-3.
  std::vector<int> bins(10, 0);
  for (float v : x) ++bins[static_cast<int>(v * 10.0f)];
  for (int b : bins) EXPECT_NEAR(b / 1e6, 0.1, 1.5e-3);
}

TEST(Uniform, ScaledRange) {
  std::vector<float> x(kDraws);
  fill_uniform(std::span<float>(x), -3.0f, 5.0f, 1, 2);
  EXPECT_GE(*std::min_element(x.begin(), x.end()), -3.0f);
  EXPECT_LT(*std::max_element(x.begin(), x.end()), 5.0f);
  const Moments mo = moments(x);
  // Width 8: sigma of the mean = 8·2.9e-4 = 2.3e-3, bound 1.2e-2 (5.2 sigma); sigma of the
  // variance = 64·7.5e-5 = 4.8e-3, bound 2.5e-2 (5.2 sigma).
  EXPECT_NEAR(mo.mean, 1.0, 1.2e-2);
  EXPECT_NEAR(mo.variance, 64.0 / 12.0, 2.5e-2);
}

TEST(Uniform, NeverReturnsUpperBound) {
  // a + (b − a)·u can round up to b in float. In [a, b) with b one float step above a, every
  // u >= 1/2 rounds to b (about half the draws), and each must come back as a instead.
  std::vector<float> x(kDraws);
  for (float a : {1.0f, 16777216.0f, -3.0f}) {
    const float b = std::nextafter(a, INFINITY);
    fill_uniform(std::span<float>(x), a, b, 3, 0);
    for (float v : x) ASSERT_EQ(v, a);
  }
  // [1, 2): only u = 1 − 2^-24 rounds up (2 − 2^-24 ties to 2), rare, but the bound holds anyway.
  fill_uniform(std::span<float>(x), 1.0f, 2.0f, 3, 0);
  for (float v : x) ASSERT_TRUE(v >= 1.0f && v < 2.0f) << v;
  // Extremes of float: b − a overflows float but not the double arithmetic.
  const float big = std::numeric_limits<float>::max();
  fill_uniform(std::span<float>(x), -big, big, 3, 0);
  for (float v : x) ASSERT_TRUE(v >= -big && v < big) << v;
}

TEST(Uniform, DegenerateRangeGivesA) {
  std::vector<float> x(100);
  fill_uniform(std::span<float>(x), 2.5f, 2.5f, 0, 0);
  for (float v : x) EXPECT_EQ(v, 2.5f);
}

// --- Normal -------------------------------------------------------------------------------------

TEST(Normal, MeanStdAndTails) {
  std::vector<float> x(kDraws);
  fill_normal(std::span<float>(x), 2.0f, 3.0f, 42, 1);
  const Moments mo = moments(x);
  // sigma of the mean = 3 / sqrt(1e6) = 3e-3, bound 1.5e-2 (5 sigma).
  EXPECT_NEAR(mo.mean, 2.0, 1.5e-2);
  // sigma of the sample std ≈ std / sqrt(2n) = 2.1e-3, bound 1.1e-2 (5.2 sigma).
  EXPECT_NEAR(std::sqrt(mo.variance), 3.0, 1.1e-2);

  // Tails: P(|z| > 2) = 0.0455003, P(|z| > 3) = 0.0026998, P(|z| > 4) = 6.334e-5. Binomial sigma
  // of the counts: 208, 52 and 8; bounds of 5 sigma (rounded up).
  std::size_t beyond2 = 0, beyond3 = 0, beyond4 = 0;
  for (float v : x) {
    const double z = std::abs((v - 2.0) / 3.0);
    beyond2 += z > 2.0;
    beyond3 += z > 3.0;
    beyond4 += z > 4.0;
  }
  EXPECT_NEAR(static_cast<double>(beyond2), 45500.3, 1050.0);
  EXPECT_NEAR(static_cast<double>(beyond3), 2699.8, 260.0);
  EXPECT_NEAR(static_cast<double>(beyond4), 63.3, 40.0);
  // Symmetry: as many above the mean as below; sigma = sqrt(0.25 / 1e6) = 5e-4, bound 2.5e-3.
  const auto above = std::count_if(x.begin(), x.end(), [](float v) { return v > 2.0f; });
  EXPECT_NEAR(above / 1e6, 0.5, 2.5e-3);
  // Box–Muller with u1 >= 2^-32 bounds |z| by sqrt(64 ln 2) = 6.66: no infinities or NaNs.
  for (float v : x) ASSERT_TRUE(std::isfinite(v));
}

TEST(Normal, ZeroStdGivesMean) {
  std::vector<float> x(64);
  fill_normal(std::span<float>(x), -1.5f, 0.0f, 5, 5);
  for (float v : x) EXPECT_EQ(v, -1.5f);
}

TEST(Normal, PairsFromOneBlockAreUncorrelated) {
  // The cos and sin halves of a Box–Muller pair are independent; their sample correlation over
  // 5e5 pairs has sigma 1/sqrt(5e5) = 1.4e-3, bound 7e-3 (5 sigma).
  std::vector<float> x(kDraws);
  fill_normal(std::span<float>(x), 0.0f, 1.0f, 9, 0);
  double sxy = 0.0;
  for (std::size_t i = 0; i < x.size(); i += 2) sxy += double{x[i]} * x[i + 1];
  EXPECT_NEAR(sxy / (x.size() / 2), 0.0, 7e-3);
}

// --- Bernoulli ----------------------------------------------------------------------------------

TEST(Bernoulli, FrequencyAndValues) {
  std::vector<float> x(kDraws);
  for (float p : {0.1f, 0.3f, 0.5f, 0.9f}) {
    fill_bernoulli(std::span<float>(x), p, 11, 0);
    std::size_t ones = 0;
    for (float v : x) {
      ASSERT_TRUE(v == 0.0f || v == 1.0f);
      ones += v == 1.0f;
    }
    // sigma = sqrt(p(1-p) / 1e6) <= 5e-4; bound 2.5e-3 (>= 5 sigma for every p here).
    EXPECT_NEAR(ones / 1e6, p, 2.5e-3) << "p = " << p;
  }
}

TEST(Bernoulli, ZeroAndOneAreExact) {
  std::vector<float> x(100'000);
  fill_bernoulli(std::span<float>(x), 0.0f, 1, 1);
  for (float v : x) ASSERT_EQ(v, 0.0f);
  fill_bernoulli(std::span<float>(x), 1.0f, 1, 1);
  for (float v : x) ASSERT_EQ(v, 1.0f);
}

// --- Streams, seeds, determinism ----------------------------------------------------------------

// Sample correlation of two uniform sequences: sigma 1/sqrt(1e6) = 1e-3, bound 5e-3 (5 sigma).
double correlation(std::span<const float> x, std::span<const float> y) {
  const Moments mx = moments(x), my = moments(y);
  double sxy = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) sxy += (x[i] - mx.mean) * (y[i] - my.mean);
  return sxy / static_cast<double>(x.size()) / std::sqrt(mx.variance * my.variance);
}

TEST(Streams, DifferentStreamsAndSeedsAreIndependent) {
  std::vector<float> base(kDraws), other_stream(kDraws), other_seed(kDraws), high_bits(kDraws);
  fill_uniform(std::span<float>(base), 0.0f, 1.0f, 123, 0);
  fill_uniform(std::span<float>(other_stream), 0.0f, 1.0f, 123, 1);
  fill_uniform(std::span<float>(other_seed), 0.0f, 1.0f, 124, 0);
  fill_uniform(std::span<float>(high_bits), 0.0f, 1.0f, 123, std::uint64_t{1} << 32);
  for (const auto* y : {&other_stream, &other_seed, &high_bits}) {
    EXPECT_NE(base, *y);
    // Two independent 24-bit uniforms coincide with probability 2^-24: about 0.06 of 1e6.
    std::size_t same = 0;
    for (std::size_t i = 0; i < kDraws; ++i) same += base[i] == (*y)[i];
    EXPECT_LE(same, 5u);
    EXPECT_NEAR(correlation(base, *y), 0.0, 5e-3);
  }
  // Shifted by one element: not a lagged copy either.
  EXPECT_NEAR(correlation(std::span<const float>(base).subspan(1),
                          std::span<const float>(other_stream).first(kDraws - 1)),
              0.0, 5e-3);
}

TEST(Determinism, SameSeedSameOutput) {
  Tensor a(301, 257), b(301, 257);
  fill_normal(a.view(), 0.0f, 1.0f, 99, 4);
  fill_normal(b.view(), 0.0f, 1.0f, 99, 4);
  EXPECT_TRUE(std::equal(a.data(), a.data() + a.size(), b.data()));
}

TEST(Determinism, BitIdenticalAcrossThreadCounts) {
  ThreadCountGuard guard;
  // Spans several chunks and ends mid-chunk and mid-block; the view is strided.
  const std::size_t rows = 517, cols = 131;  // 67727 elements = 4.1 chunks of 16384
  static_assert(517 * 131 > 4 * internal::kRandomFillChunk);
  const std::size_t ld = cols + 5;
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<float> out;
    for (int kind = 0; kind < 3; ++kind) {
      std::vector<float> flat(rows * cols);
      std::vector<float> strided(rows * ld, -7.0f);
      MatrixView view{strided.data(), rows, cols, ld};
      if (kind == 0) {
        fill_uniform(std::span<float>(flat), -1.0f, 1.0f, 5, 6);
        fill_uniform(view, -1.0f, 1.0f, 5, 6);
      } else if (kind == 1) {
        fill_normal(std::span<float>(flat), 0.0f, 1.0f, 5, 6);
        fill_normal(view, 0.0f, 1.0f, 5, 6);
      } else {
        fill_bernoulli(std::span<float>(flat), 0.25f, 5, 6);
        fill_bernoulli(view, 0.25f, 5, 6);
      }
      // The strided fill holds the same values as the flat one, row by row.
      for (std::size_t r = 0; r < rows; ++r) {
        ASSERT_TRUE(std::equal(flat.begin() + r * cols, flat.begin() + (r + 1) * cols,
                               strided.begin() + r * ld));
      }
      out.insert(out.end(), flat.begin(), flat.end());
      out.insert(out.end(), strided.begin(), strided.end());
    }
    results.push_back(std::move(out));
  }
  // Bitwise comparison (memcmp semantics: no NaN can make equal values differ).
  for (std::size_t t = 1; t < results.size(); ++t) {
    ASSERT_EQ(results[t].size(), results[0].size());
    EXPECT_EQ(0, std::memcmp(results[t].data(), results[0].data(),
                             results[0].size() * sizeof(float)))
        << "threads " << t + 1 << " differ from 1 thread";
  }
}

TEST(SubView, PaddingIsUntouched) {
  // A 40x30 window at (3, 5) of a 50x48 tensor: everything outside it keeps its sentinel.
  Tensor t(50, 48);
  std::fill(t.data(), t.data() + t.size(), 1234.5f);
  MatrixView window{t.data() + 3 * 48 + 5, 40, 30, 48};
  fill_uniform(window, 10.0f, 11.0f, 8, 8);
  for (std::size_t r = 0; r < 50; ++r) {
    for (std::size_t c = 0; c < 48; ++c) {
      const bool inside = r >= 3 && r < 43 && c >= 5 && c < 35;
      if (inside) {
        EXPECT_TRUE(t(r, c) >= 10.0f && t(r, c) < 11.0f) << r << "," << c;
      } else {
        EXPECT_EQ(t(r, c), 1234.5f) << r << "," << c;
      }
    }
  }
}

TEST(Fill, EmptyAndBadViews) {
  std::vector<float> none;
  EXPECT_NO_THROW(fill_normal(std::span<float>(none), 0.0f, 1.0f, 0, 0));
  EXPECT_NO_THROW(fill_uniform(MatrixView{nullptr, 0, 5, 5}, 0.0f, 1.0f, 0, 0));
  float data[8] = {};
  EXPECT_THROW(fill_uniform(MatrixView{data, 2, 4, 3}, 0.0f, 1.0f, 0, 0), ShapeError);
}

// --- Bad arguments ------------------------------------------------------------------------------

TEST(BadArguments, MessagesNameFunctionArgumentAndValue) {
  EXPECT_EQ(error_of([] {
              std::vector<float> x(4);
              fill_uniform(std::span<float>(x), 3.0f, 1.0f, 0, 0);
            }),
            "fill_uniform: a must be <= b, got a = 3, b = 1");
  EXPECT_EQ(error_of([] {
              Tensor t(2, 2);
              fill_uniform(t.view(), 0.0f, INFINITY, 0, 0);
            }),
            "fill_uniform: b must be finite, got inf");
  EXPECT_EQ(error_of([] {
              std::vector<float> x(4);
              fill_normal(std::span<float>(x), 0.0f, -1.0f, 0, 0);
            }),
            "fill_normal: stddev must be finite and >= 0, got -1");
  EXPECT_EQ(error_of([] {
              std::vector<float> x(4);
              fill_normal(std::span<float>(x), NAN, 1.0f, 0, 0);
            }),
            "fill_normal: mean must be finite, got nan");
  EXPECT_EQ(error_of([] {
              Tensor t(2, 2);
              fill_normal(t.view(), 0.0f, NAN, 0, 0);
            }),
            "fill_normal: stddev must be finite and >= 0, got nan");
  EXPECT_EQ(error_of([] {
              std::vector<float> x(4);
              fill_bernoulli(std::span<float>(x), 1.5f, 0, 0);
            }),
            "fill_bernoulli: p must be in [0, 1], got 1.5");
  EXPECT_EQ(error_of([] {
              Tensor t(2, 2);
              fill_bernoulli(t.view(), -0.25f, 0, 0);
            }),
            "fill_bernoulli: p must be in [0, 1], got -0.25");
  EXPECT_EQ(error_of([] {
              std::vector<float> x(4);
              fill_bernoulli(std::span<float>(x), NAN, 0, 0);
            }),
            "fill_bernoulli: p must be in [0, 1], got nan");
  EXPECT_EQ(error_of([] {
              std::vector<float> x(4);
              fill_bernoulli(std::span<float>(x), 0.5f, 0, 0, INFINITY);
            }),
            "fill_bernoulli: value must be finite, got inf");
  EXPECT_EQ(error_of([] { Rng(0).uniform_int(0); }), "Rng::uniform_int: n must be >= 1, got 0");
}

TEST(BadArguments, NothingIsWrittenOnError) {
  std::vector<float> x(8, 5.0f);
  EXPECT_THROW(fill_uniform(std::span<float>(x), 1.0f, 0.0f, 0, 0), std::invalid_argument);
  for (float v : x) EXPECT_EQ(v, 5.0f);
}

// --- Rng ----------------------------------------------------------------------------------------

TEST(Rng, WalksTheSameWordsAsTheFills) {
  Rng rng(0, 0);
  const PhiloxCounter block0 = philox4x32_10({0, 0, 0, 0}, {0, 0});
  for (int k = 0; k < 4; ++k) EXPECT_EQ(rng.next_u32(), block0[k]);
  EXPECT_EQ(rng.position(), 4u);
  EXPECT_EQ(rng.next_u32(), philox_block(0, 0, 1)[0]);

  std::vector<float> x(10);
  fill_uniform(std::span<float>(x), 0.0f, 1.0f, 17, 3);
  Rng same(17, 3);
  for (float v : x) EXPECT_EQ(same.uniform(), v);
}

// Long fills take the batched Philox path (several blocks per vector); every element must still
// be the word the one-block-at-a-time generator gives, aligned to a block boundary or not.
TEST(Rng, LongAndUnalignedFillsMatchTheScalarGenerator) {
  std::vector<float> x(1000);
  fill_uniform(std::span<float>(x), 0.0f, 1.0f, 99, 5);
  Rng rng(99, 5);
  for (float v : x) ASSERT_EQ(rng.uniform(), v);

  Tensor wide(9, 107);  // a strided view: row segments start at every offset modulo 4
  const MatrixView view{wide.data(), 9, 103, 107};
  fill_uniform(view, 0.0f, 1.0f, 99, 5);
  Rng again(99, 5);
  for (std::size_t r = 0; r < 9; ++r) {
    for (std::size_t c = 0; c < 103; ++c) ASSERT_EQ(again.uniform(), view(r, c)) << r << ", " << c;
  }
}

TEST(Rng, PositionResumes) {
  Rng a(5, 6);
  for (int i = 0; i < 7; ++i) a.next_u32();
  Rng b(5, 6, a.position());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_EQ(a.seed(), 5u);
  EXPECT_EQ(a.stream(), 6u);
}

TEST(Rng, UniformIntIsInRangeAndUnbiased) {
  Rng rng(1, 2);
  // 6 values, 6e5 draws: each count has sigma sqrt(6e5 · 1/6 · 5/6) = 289, bound 1500 (5.2 sigma).
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 600'000; ++i) {
    const std::uint64_t v = rng.uniform_int(6);
    ASSERT_LT(v, 6u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_NEAR(c, 100'000, 1500);
  EXPECT_EQ(rng.uniform_int(1), 0u);
  // Every path: 2^32 exactly and above 2^32.
  const std::uint64_t n32 = std::uint64_t{1} << 32;
  const std::uint64_t big = (std::uint64_t{1} << 40) + 3;
  bool above32 = false;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_LT(rng.uniform_int(n32), n32);
    const std::uint64_t v = rng.uniform_int(big);
    EXPECT_LT(v, big);
    above32 = above32 || v >= n32;
  }
  EXPECT_TRUE(above32);  // misses with probability (2^-8)^1000
}

TEST(Rng, NormalMoments) {
  Rng rng(3, 3);
  double sum = 0.0, squares = 0.0;
  const int n = 200'000;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    sum += z;
    squares += z * z;
  }
  // sigma of the mean 1/sqrt(2e5) = 2.2e-3, bound 1.2e-2; sigma of E[z^2] = sqrt(2/2e5) = 3.2e-3,
  // bound 1.6e-2 (5 sigma).
  EXPECT_NEAR(sum / n, 0.0, 1.2e-2);
  EXPECT_NEAR(squares / n, 1.0, 1.6e-2);
}

TEST(Rng, ShuffleIsADeterministicPermutation) {
  std::vector<std::size_t> a(1000);
  std::iota(a.begin(), a.end(), std::size_t{0});
  std::vector<std::size_t> b = a;
  Rng(10, 1).shuffle(a);
  Rng(10, 1).shuffle(b);
  EXPECT_EQ(a, b);
  std::vector<std::size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);
  // It moved things: the chance that a uniform permutation of 1000 fixes more than 10 is ~1e-8.
  std::size_t fixed = 0;
  for (std::size_t i = 0; i < a.size(); ++i) fixed += a[i] == i;
  EXPECT_LT(fixed, 10u);
  // Another stream or seed gives another order.
  std::vector<std::size_t> c = b;
  std::iota(c.begin(), c.end(), std::size_t{0});
  Rng(10, 2).shuffle(c);
  EXPECT_NE(c, a);
  EXPECT_EQ(Rng(10, 1).permutation(1000), a);
  EXPECT_TRUE(Rng(0).permutation(0).empty());
  EXPECT_EQ(Rng(0).permutation(1), std::vector<std::size_t>{0});
}

TEST(Rng, ShuffleIsUniformOverSmallPermutations) {
  // All 6 orders of 3 items, 6e4 shuffles: each count has sigma sqrt(6e4 · 1/6 · 5/6) = 91,
  // bound 460 (5 sigma).
  Rng rng(77);
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60'000; ++i) {
    int items[3] = {0, 1, 2};
    rng.shuffle(std::span<int>(items));
    ++counts[items[0] * 2 + (items[1] > items[2] ? 1 : 0)];
  }
  for (int c : counts) EXPECT_NEAR(c, 10'000, 460);
}


// --- Dropout in one sweep -----------------------------------------------------------------------

// The dropout kernel against the scalar generator's words on every ISA: y = x·v and keep = hit,
// with v bernoulli's element, for every starting word and length, nothing written outside.
TEST_P(PhiloxKernels, DropoutIsBernoulliTimesXAndItsHits) {
  const internal::RandomKernels& k = internal::random_kernels(GetParam());
  constexpr std::uint64_t kAll = std::uint64_t{1} << 32;
  const std::uint64_t thresholds[] = {0, 1, 0x4CCCCCCDu, kAll / 2, kAll - 1, kAll};
  const auto& [seed, stream] = kSeedStreams[1];
  for (std::uint64_t threshold : thresholds) {
    for (std::uint64_t first : first_words()) {
      for (std::size_t n : lengths()) {
        std::vector<float> x = random_floats(n + 2, -3.0f, 3.0f, static_cast<unsigned>(n));
        if (n > 3) x[3] = -std::numeric_limits<float>::infinity();  // dropped: inf·0 is NaN, as x ⊙ mask gives
        std::vector<float> y(n + 2, -7.0f);
        std::vector<std::uint8_t> keep(n + 2, 9);
        const float value = n % 2 == 0 ? 2.0f : 1.25f;
        k.dropout(seed, stream, first, threshold, value, x.data() + 1, y.data() + 1, keep.data() + 1, n);
        ASSERT_EQ(y[0], -7.0f);
        ASSERT_EQ(y[n + 1], -7.0f);
        ASSERT_EQ(keep[0], 9);
        ASSERT_EQ(keep[n + 1], 9);
        for (std::size_t i = 0; i < n; ++i) {
          const bool hit = reference_word(seed, stream, first + i) < threshold;
          const float expected = x[i + 1] * (hit ? value : 0.0f);
          ASSERT_EQ(keep[i + 1], hit ? 1 : 0) << "threshold " << threshold << " first " << first << " n " << n << " i " << i;
          ASSERT_EQ(std::memcmp(&y[i + 1], &expected, sizeof expected), 0)
              << "threshold " << threshold << " first " << first << " n " << n << " i " << i;
        }
      }
    }
  }
}

TEST_P(PhiloxKernels, ApplyKeepMultipliesByValueOrZero) {
  const internal::RandomKernels& k = internal::random_kernels(GetParam());
  for (std::size_t n : lengths()) {
    std::vector<float> x = random_floats(n + 2, -3.0f, 3.0f, static_cast<unsigned>(n + 1));
    std::vector<std::uint8_t> keep(n + 2);
    for (std::size_t i = 0; i < keep.size(); ++i) keep[i] = static_cast<std::uint8_t>((i * 7 + n) % 3 == 0 ? 0 : i % 5 + 1);
    std::vector<float> y(n + 2, -7.0f);
    k.apply_keep(x.data() + 1, keep.data() + 1, 1.5f, y.data() + 1, n);
    ASSERT_EQ(y[0], -7.0f);
    ASSERT_EQ(y[n + 1], -7.0f);
    for (std::size_t i = 1; i <= n; ++i) {
      const float expected = x[i] * (keep[i] != 0 ? 1.5f : 0.0f);
      ASSERT_EQ(std::memcmp(&y[i], &expected, sizeof expected), 0) << "n " << n << " i " << i;
    }
  }
}

// dropout_forward gives the bits of fill_bernoulli_at + x ⊙ mask, on strided and contiguous views
// (several chunks, rows starting mid-block), at 1 and 2 threads; apply_dropout_mask with its keep
// gives the same y again; both work in place.
TEST(Dropout, ForwardEqualsTheBernoulliFillTimesX) {
  const std::size_t rows = 700, cols = 37, n = rows * cols;
  const std::uint64_t first = 5 * cols;
  const ThreadCountGuard restore;
  for (std::size_t ld : {cols, cols + 3}) {
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      SCOPED_TRACE("ld " + std::to_string(ld) + ", threads " + std::to_string(threads));
      std::vector<float> xs = random_floats(rows * ld, -2.0f, 2.0f, 17);
      const ConstMatrixView x{xs.data(), rows, cols, ld};
      Tensor mask(rows, cols);
      fill_bernoulli_at(mask.view(), first, 0.7f, 3, 9, 1.0f / 0.3f);
      std::vector<float> ys(rows * ld, -7.0f);
      const MatrixView y{ys.data(), rows, cols, ld};
      std::vector<std::uint8_t> keep(n);
      dropout_forward(x, y, keep, first, 0.7f, 1.0f / 0.3f, 3, 9);
      std::vector<float> again(rows * ld, -7.0f);
      apply_dropout_mask(x, keep, 1.0f / 0.3f, MatrixView{again.data(), rows, cols, ld});
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < cols; ++c) {
          const float expected = x(r, c) * mask(r, c);
          ASSERT_EQ(std::memcmp(&y(r, c), &expected, sizeof expected), 0) << r << " " << c;
          ASSERT_EQ(keep[r * cols + c], mask(r, c) != 0.0f ? 1 : 0) << r << " " << c;
          ASSERT_EQ(std::memcmp(&again[r * ld + c], &expected, sizeof expected), 0) << r << " " << c;
        }
        for (std::size_t c = cols; c < ld; ++c) ASSERT_EQ(ys[r * ld + c], -7.0f) << "padding written";
      }
      std::vector<float> in_place(xs);
      const MatrixView io{in_place.data(), rows, cols, ld};
      dropout_forward(io, io, keep, first, 0.7f, 1.0f / 0.3f, 3, 9);
      for (std::size_t r = 0; r < rows; ++r) {
        ASSERT_EQ(std::memcmp(&in_place[r * ld], &ys[r * ld], cols * sizeof(float)), 0) << "in place, row " << r;
      }
    }
  }
}

TEST(Dropout, BadArgumentsNameTheArgumentAndWriteNothing) {
  Tensor x(2, 3), y(2, 3);
  std::vector<std::uint8_t> keep(6, 9), short_keep(5);
  EXPECT_EQ(error_of([&] { dropout_forward(x.cview(), y.view(), keep, 0, 1.5f, 2.0f, 0, 0); }),
            "dropout_forward: keep_probability must be in [0, 1], got 1.5");
  EXPECT_EQ(error_of([&] { dropout_forward(x.cview(), y.view(), keep, 0, 0.5f, NAN, 0, 0); }),
            "dropout_forward: scale must be finite, got nan");
  EXPECT_EQ(error_of([&] { dropout_forward(x.cview(), y.view(), short_keep, 0, 0.5f, 2.0f, 0, 0); }),
            "dropout_forward: keep must hold at least 6 bytes (x is 2x3), got 5");
  Tensor wrong(3, 2);
  EXPECT_EQ(error_of([&] { apply_dropout_mask(x.cview(), keep, 2.0f, wrong.view()); }),
            "apply_dropout_mask: y must have x's shape 2x3, got 3x2");
  for (std::uint8_t b : keep) EXPECT_EQ(b, 9);
}

}  // namespace
}  // namespace simdnn
