// GEMM on every ISA this CPU supports, against the double-precision reference.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/core/gemm.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include "tests/gemm_tester.h"
#include "tests/test_util.h"

namespace simdnn {
namespace {

// Every test may change the ISA and thread count; the fixture puts them back.
class GemmTest : public ::testing::Test {
 protected:
  testing::Restore restore_;
};

constexpr Trans kTrans[] = {Trans::no, Trans::yes};

// Every (m, n, k) in 1..17 — all the edges of every ISA's register tile (mr <= 14,
// nr <= 32) — with all four transpose combinations.
TEST_F(GemmTest, AllSmallShapesAllTransposes) {
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    for (std::size_t m = 1; m <= 17; ++m) {
      for (std::size_t n = 1; n <= 17; n += (n < 4 ? 1 : 3)) {
        for (std::size_t k = 1; k <= 17; k += 4) {
          for (Trans ta : kTrans) {
            for (Trans tb : kTrans) {
              GemmTester().m(m).n(n).k(k).trans_a(ta).trans_b(tb).seed(static_cast<std::uint32_t>(m * 400 + n * 20 + k)).test();
              if (HasFatalFailure()) return;
            }
          }
        }
      }
    }
  }
}

// 600 random shapes in 1..300 (and primes), each with a transpose combination, alpha, beta,
// row padding, epilogue and thread count drawn at random, on every ISA.
TEST_F(GemmTest, RandomShapesEveryIsa) {
  const std::vector<std::size_t> primes = {2, 3, 5, 7, 13, 17, 31, 37, 61, 67, 127, 131, 251, 257, 293};
  const float alphas[] = {1.0f, -0.5f, 2.5f};
  const float betas[] = {0.0f, 1.0f, 0.3f};
  const ActivationSpec acts[] = {ActivationSpec::identity(), ActivationSpec::relu(),
                                 ActivationSpec::of(Activation::sigmoid), ActivationSpec::of(Activation::tanh),
                                 ActivationSpec::of(Activation::gelu), ActivationSpec::leaky_relu(0.1f)};
  std::mt19937 rng(2024);
  auto dim = [&]() -> std::size_t {
    if (rng() % 4 == 0) return primes[rng() % primes.size()];
    return 1 + rng() % 300;
  };
  for (int shape = 0; shape < 600; ++shape) {
    GemmTester t;
    const std::size_t m = shape % 5 == 0 ? 1 + rng() % 13 : dim();  // m below the tile height too
    t.m(m).n(dim()).k(dim()).trans_a(kTrans[shape % 2]).trans_b(kTrans[(shape / 2) % 2]);
    t.alpha(alphas[rng() % 3]).beta(betas[rng() % 3]).ld_pad(rng() % 3 == 0 ? 1 + rng() % 7 : 0);
    t.bias(rng() % 2 == 0).activation(acts[rng() % 6]).seed(static_cast<std::uint32_t>(shape));
    set_num_threads(1 + shape % 3);
    for (Isa isa : supported_isas()) {
      set_isa(isa);
      t.test();
      if (HasFatalFailure()) return;
    }
  }
}

// Large shapes take the packed path with several kc blocks and several tiles.
TEST_F(GemmTest, PackedPathMultipleBlocks) {
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    GemmTester().m(301).n(290).k(600).beta(0.5f).bias(true).activation(ActivationSpec::relu()).test();
    GemmTester().m(150).n(270).k(513).trans_a(Trans::yes).trans_b(Trans::yes).ld_pad(5).test();
  }
}

// Tiles depend only on the shape, so any thread count gives the same bits.
TEST_F(GemmTest, BitIdenticalAcrossThreadCounts) {
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    for (std::size_t size : {64, 200, 517}) {
      Tensor a(size, size + 3), b(size + 3, size - 7);
      std::mt19937 rng(static_cast<std::uint32_t>(size));
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = dist(rng);
      for (std::size_t i = 0; i < b.size(); ++i) b.data()[i] = dist(rng);
      std::vector<Tensor> results;
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        Tensor c(size, size - 7);
        matmul(a.cview(), b.cview(), c.view());
        results.push_back(std::move(c));
      }
      for (std::size_t r = 1; r < results.size(); ++r) {
        EXPECT_EQ(std::memcmp(results[0].data(), results[r].data(), results[0].size() * sizeof(float)), 0)
            << "size " << size << " isa " << isa_name(isa);
      }
    }
  }
}

TEST_F(GemmTest, AlphaZeroAndEmptyK) {
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    GemmTester().m(9).n(20).k(0).beta(0.5f).bias(true).test();
    GemmTester().m(9).n(20).k(7).alpha(0.0f).beta(1.0f).activation(ActivationSpec::of(Activation::tanh)).test();
  }
}

TEST_F(GemmTest, ShapeErrorsNameTheShapes) {
  Tensor a(3, 4), b(5, 2), c(3, 2);
  try {
    matmul(a.cview(), b.cview(), c.view());
    FAIL() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()), "gemm: op(A) is 3x4 but op(B) is 5x2 (inner dimensions must match)");
  }
  Tensor b2(4, 2), c2(2, 2);
  try {
    matmul(a.cview(), b2.cview(), c2.view());
    FAIL() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()), "gemm: op(A)·op(B) is 3x2 but C is 2x2");
  }
  EXPECT_THROW(matmul(a.cview(), b2.cview(), c2.view(), Trans::yes), ShapeError);
}

TEST_F(GemmTest, OverlappingOutputIsRejected) {
  Tensor x(4, 4);
  EXPECT_THROW(matmul(x.cview(), x.cview(), x.view()), std::invalid_argument);
}

}  // namespace
}  // namespace simdnn
