// GEMM on every ISA (skipped where the CPU lacks one), against the double-precision reference,
// with the machine's own blocking and with forced small blocks.
#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/core/denormals.h>
#include <simdnn/core/elementwise.h>
#include <simdnn/core/gemm.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/pairwise_sum.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include <simdnn/core/gemm_kernels.h>
#include "tests/gemm_tester.h"
#include "tests/test_util.h"

namespace simdnn {
namespace {

// Every test may change the ISA, the thread count and the blocking; the fixtures put them back.
class GemmTest : public ::testing::Test {
 protected:
  testing::Restore restore_;
};

// Run once per ISA (GemmPerIsa/sse2, /avx2, /avx512; skipped where the CPU lacks it).
class GemmPerIsa : public testing::PerIsaTest {
 protected:
  void TearDown() override { internal::set_gemm_blocking_override(std::nullopt); }
  // Blocks far smaller than any cache gives: the multi-block paths with small shapes; op(A) = A
  // read in place (at any leading dimension) or packed (GemmBlocking::a_in_place).
  static void force_small_blocks(bool a_in_place = true) {
    internal::set_gemm_blocking_override(internal::GemmBlocking{37, 24, 256, a_in_place});
  }
  const internal::GemmKernels& kernels() const { return internal::gemm_kernels(GetParam()); }
};
SIMDNN_INSTANTIATE_PER_ISA(GemmPerIsa);

constexpr Trans kTrans[] = {Trans::no, Trans::yes};

// Every (m, n, k) in 1..33 — every edge of every register tile (mr <= 14, nr <= 32) and one
// full tile plus an edge — with all four transpose combinations.
TEST_P(GemmPerIsa, EveryShapeTo33AllTransposes) {
  for (std::size_t m = 1; m <= 33; ++m) {
    for (std::size_t n = 1; n <= 33; ++n) {
      for (std::size_t k = 1; k <= 33; ++k) {
        for (Trans ta : kTrans) {
          for (Trans tb : kTrans) {
            GemmTester().m(m).n(n).k(k).trans_a(ta).trans_b(tb).seed(static_cast<std::uint32_t>(m * 4000 + n * 100 + k)).test();
            if (HasFatalFailure()) return;
          }
        }
      }
    }
  }
}

// 600 random shapes in 1..300 (and primes), each with a transpose combination, alpha, beta,
// row padding, epilogue and thread count drawn at random.
TEST_P(GemmPerIsa, RandomShapes) {
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
    t.test();
    if (HasFatalFailure()) return;
  }
}

// Large shapes take the packed path with several kc blocks and several tiles.
TEST_P(GemmPerIsa, PackedPathMultipleBlocks) {
  GemmTester().m(301).n(290).k(600).beta(0.5f).bias(true).activation(ActivationSpec::relu()).test();
  GemmTester().m(150).n(270).k(513).trans_a(Trans::yes).trans_b(Trans::yes).ld_pad(5).test();
}

// Mid-size products (a few MFLOP, k within one depth block) take the unpacked path cut into
// several row and column tiles, the last of each narrower; the unfused activation runs per tile.
TEST_P(GemmPerIsa, UnpackedPathSeveralTiles) {
  GemmTester().m(150).n(150).k(120).beta(0.5f).bias(true).activation(ActivationSpec::of(Activation::tanh)).test();
  GemmTester().m(97).n(203).k(64).trans_a(Trans::yes).trans_b(Trans::yes).ld_pad(3).bias(true)
      .activation(ActivationSpec::relu()).test();
}

// With the machine's own blocking: n beyond 4096 columns, m beyond two row blocks, k beyond two
// depth blocks (sized from the blocking this CPU derived).
TEST_P(GemmPerIsa, BeyondTheDerivedBlocks) {
  const internal::GemmBlocking b = internal::gemm_blocking(kernels());
  GemmTester().m(3).n(std::max<std::size_t>(4096, b.nc) + 45).k(70).bias(true).test();
  GemmTester().m(2 * b.mc + 7).n(40).k(2 * b.kc + 5).beta(1.0f).trans_a(Trans::yes).test();
  // op(A) = A is read in place by the packed path (a_in_place): rows beyond two row blocks, a
  // leading dimension beyond the columns.
  GemmTester().m(2 * b.mc + 7).n(40).k(2 * b.kc + 5).ld_pad(3).bias(true).test();
}

// Forced small blocks: every path of the packed driver (several nc, kc and mc blocks, edge
// tiles in each) with all transposes, alpha, beta, bias and each fused or unfused activation.
TEST_P(GemmPerIsa, SmallForcedBlocksEveryPath) {
  force_small_blocks();
  int seed = 0;
  for (std::size_t m : {1, 25, 50, 61}) {
    for (std::size_t n : {300, 513, 777}) {
      for (std::size_t k : {36, 38, 75, 111}) {
        for (Trans ta : kTrans) {
          for (Trans tb : kTrans) {
            const std::uint32_t case_seed = static_cast<std::uint32_t>(seed++);
            force_small_blocks(case_seed % 2 == 0);
            GemmTester().m(m).n(n).k(k).trans_a(ta).trans_b(tb).beta(case_seed % 3 == 0 ? 0.0f : 0.5f)
                .bias(case_seed % 2 == 0)
                .activation(case_seed % 4 == 1 ? ActivationSpec::of(Activation::tanh) : ActivationSpec::relu())
                .seed(case_seed + 1).test();
            if (HasFatalFailure()) return;
          }
        }
      }
    }
  }
}

Tensor uniform_matrix(std::size_t rows, std::size_t cols, std::uint32_t seed) {
  Tensor t(rows, cols);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = dist(rng);
  return t;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Rows [r0, r0 + rows) of a stored matrix (op(A) = A) or columns (op(A) = Aᵀ, stored k x m).
ConstMatrixView rows_of_op(const Tensor& x, Trans trans, std::size_t r0, std::size_t rows) {
  return trans == Trans::no ? ConstMatrixView{x.data() + r0 * x.cols(), rows, x.cols(), x.cols()}
                            : ConstMatrixView{x.data() + r0, x.rows(), rows, x.cols()};
}

// Each element sums its k products in an order that depends only on k, so the rows of a product
// are the product of those rows of op(A): the same bits on either side of the packing threshold
// (256 x 160 x 128 packs, 64 of its rows do not), whatever the transposes, with the derived and
// with forced small blocks. Layers rely on it to run a whole batch where a sliced step ran
// chunks (Layer::set_gradient_chunks).
TEST_P(GemmPerIsa, RowsDoNotDependOnTheRowCount) {
  for (bool small_blocks : {false, true}) {
    if (small_blocks) force_small_blocks();
    for (Trans ta : kTrans) {
      for (Trans tb : kTrans) {
        const std::size_t m = 256, n = 160, k = 128;
        const Tensor a = ta == Trans::no ? uniform_matrix(m, k, 1) : uniform_matrix(k, m, 1);
        const Tensor b = tb == Trans::no ? uniform_matrix(k, n, 2) : uniform_matrix(n, k, 2);
        Tensor whole(m, n);
        gemm(ta, tb, 1.0f, a.cview(), b.cview(), 0.0f, whole.view());
        for (std::size_t r0 = 0; r0 < m; r0 += 64) {
          Tensor part(64, n);
          gemm(ta, tb, 1.0f, rows_of_op(a, ta, r0, 64), b.cview(), 0.0f, part.view());
          EXPECT_EQ(std::memcmp(part.data(), whole.data() + r0 * n, part.size() * sizeof(float)), 0)
              << "rows from " << r0 << ", small blocks " << small_blocks << ", transposes " << (ta == Trans::yes)
              << (tb == Trans::yes);
        }
      }
    }
  }
}

// gemm_depth_chunks: C + the chunks' gemm() products summed by PairwiseSum, bit for bit; every
// transpose, 1 to 8 chunks of uneven depth, edge tiles, 1 and 2 threads. Both of its ways are
// covered: tiles summing shallow chunks in place, and full products for chunks deeper than half
// of kc (with forced small blocks, deeper than kc too: several depth blocks each).
TEST_P(GemmPerIsa, DepthChunksAreTheChunksProductsSummedInTreeOrder) {
  struct Case {
    std::size_t m, n, k;
    std::vector<std::size_t> ends;
  };
  const std::vector<Case> cases = {{1, 1, 1, {1}},         {13, 37, 9, {2, 9}},           {30, 70, 48, {16, 32, 48}},
                                   {64, 256, 256, {64, 128, 192, 256}}, {45, 33, 203, {50, 101, 152, 190, 203}},
                                   {20, 40, 300, {250, 300}}, {10, 20, 60, {5, 10, 20, 30, 40, 60}},
                                   {11, 17, 77, {1, 2, 3, 4, 5, 6, 77}}, {24, 48, 70, {8, 16, 24, 32, 40, 48, 56, 70}},
                                   {9, 33, 90, {5, 80, 90}}, {96, 160, 300, {75, 150, 225, 300}},
                                   {320, 256, 128, {64, 128}},  // each chunk's own gemm() packs
                                   {256, 160, 256, {128, 256}},  // packed, one depth block each (AVX-512): a fused pair
                                   {384, 384, 64, {32, 64}}};  // the same with small blocks, on every ISA
  for (bool small_blocks : {false, true}) {
    if (small_blocks) force_small_blocks();
    for (const Case& c : cases) {
      for (Trans ta : kTrans) {
        for (Trans tb : kTrans) {
          const Tensor a = ta == Trans::no ? uniform_matrix(c.m, c.k, 3) : uniform_matrix(c.k, c.m, 3);
          const Tensor b = tb == Trans::no ? uniform_matrix(c.k, c.n, 4) : uniform_matrix(c.n, c.k, 4);
          const Tensor c0 = uniform_matrix(c.m, c.n, 5);
          // The reference: each chunk's gemm(), summed in tree order, added to C.
          internal::PairwiseSum<Tensor> tree;
          tree.reset();
          for (std::size_t ch = 0, p0 = 0; ch < c.ends.size(); p0 = c.ends[ch++]) {
            const std::size_t depth = c.ends[ch] - p0;
            const ConstMatrixView a_c = ta == Trans::no ? ConstMatrixView{a.data() + p0, c.m, depth, c.k}
                                                        : ConstMatrixView{a.data() + p0 * c.m, depth, c.m, c.m};
            const ConstMatrixView b_c = tb == Trans::no ? ConstMatrixView{b.data() + p0 * c.n, depth, c.n, c.n}
                                                        : ConstMatrixView{b.data() + p0, c.n, depth, c.k};
            Tensor product(c.m, c.n);
            gemm(ta, tb, 1.0f, a_c, b_c, 0.0f, product.view());
            Tensor* parts[] = {&product};
            tree.push(parts);
          }
          Tensor want = c0.clone();
          const Tensor& total = tree.result()[0];
          for (std::size_t i = 0; i < want.size(); ++i) want.data()[i] += total.data()[i];
          for (int threads : {1, 2}) {
            set_num_threads(threads);
            Tensor got = c0.clone();
            gemm_depth_chunks(ta, tb, a.cview(), b.cview(), c.ends, got.view());
            EXPECT_TRUE(same_bits(got, want)) << c.m << "x" << c.n << "x" << c.k << " in " << c.ends.size()
                                              << " chunks, transposes " << (ta == Trans::yes) << (tb == Trans::yes)
                                              << ", small blocks " << small_blocks << ", " << threads << " threads";
          }
        }
      }
    }
  }
}

TEST_F(GemmTest, DepthChunksNameBadEnds) {
  const Tensor a(4, 6), b(6, 5);
  Tensor c(4, 5);
  const std::vector<std::size_t> zero = {0, 6}, repeated = {3, 3, 6}, short_of_k = {2, 5}, none = {};
  testing::expect_throw_with("a zero end", [&] { gemm_depth_chunks(Trans::no, Trans::no, a.cview(), b.cview(), zero, c.view()); },
                             {"gemm_depth_chunks", "end 0 is 0"});
  testing::expect_throw_with("a repeated end",
                             [&] { gemm_depth_chunks(Trans::no, Trans::no, a.cview(), b.cview(), repeated, c.view()); },
                             {"end 1 is 3", "more than 3"});
  testing::expect_throw_with("ends short of k",
                             [&] { gemm_depth_chunks(Trans::no, Trans::no, a.cview(), b.cview(), short_of_k, c.view()); },
                             {"depth 5", "k = 6"});
  testing::expect_throw_with("no chunks", [&] { gemm_depth_chunks(Trans::no, Trans::no, a.cview(), b.cview(), none, c.view()); },
                             {"depth 0", "k = 6"});
  testing::expect_throw_with("a bad shape",
                             [&] { gemm_depth_chunks(Trans::yes, Trans::no, a.cview(), b.cview(), short_of_k, c.view()); },
                             {"gemm_depth_chunks", "inner dimensions"});
}

// Tiles depend only on the shape and the machine's blocking, so any thread count gives the same
// bits, with the derived blocks and with forced small ones.
TEST_P(GemmPerIsa, BitIdenticalAcrossThreadCounts) {
  for (bool small_blocks : {false, true}) {
    if (small_blocks) force_small_blocks();
    for (std::size_t size : {64, 150, 200, 517}) {
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
            << "size " << size << " small blocks " << small_blocks;
      }
    }
  }
}

// On several threads a packed product may be cut into one region per thread, each packing its
// own panels (gemm_regions): with forced small blocks every region spans several nc, kc and mc
// blocks and ends in edge tiles, so each path of it must give the 1-thread bits, whatever the
// transposes, beta, padding, bias and activation. Wide shapes cut columns, tall ones (777 x 130)
// rows; 4 threads cut both (2 x 2) where the panels allow.
TEST_P(GemmPerIsa, RegionsAreBitIdenticalToOneThread) {
  force_small_blocks();
  const ActivationSpec acts[] = {ActivationSpec::relu(), ActivationSpec::of(Activation::tanh), ActivationSpec::identity()};
  std::uint32_t seed = 0;
  for (std::size_t m : {25, 130, 777}) {
    for (std::size_t n : {130, 300, 777}) {
      for (std::size_t k : {38, 111}) {
        for (Trans ta : kTrans) {
          for (Trans tb : kTrans) {
            ++seed;
            force_small_blocks(seed % 4 < 2);
            const std::size_t pad = seed % 3;
            const Tensor a = ta == Trans::no ? uniform_matrix(m, k + pad, seed) : uniform_matrix(k, m + pad, seed);
            const Tensor b = tb == Trans::no ? uniform_matrix(k, n + pad, seed + 100) : uniform_matrix(n, k + pad, seed + 100);
            const ConstMatrixView av = ta == Trans::no ? ConstMatrixView{a.data(), m, k, k + pad}
                                                       : ConstMatrixView{a.data(), k, m, m + pad};
            const ConstMatrixView bv = tb == Trans::no ? ConstMatrixView{b.data(), k, n, n + pad}
                                                       : ConstMatrixView{b.data(), n, k, k + pad};
            const Tensor c0 = uniform_matrix(m, n + pad, seed + 200), bias = uniform_matrix(1, n, seed + 300);
            GemmEpilogue ep;
            ep.bias = seed % 2 == 0 ? bias.data() : nullptr;
            ep.activation = acts[seed % 3];
            const float beta = seed % 3 == 0 ? 0.0f : 0.5f;
            std::vector<Tensor> results;
            for (int threads : {1, 2, 3, 4}) {
              set_num_threads(threads);
              Tensor c = c0.clone();
              gemm(ta, tb, 1.5f, av, bv, beta, MatrixView{c.data(), m, n, n + pad}, ep);
              results.push_back(std::move(c));
            }
            for (std::size_t r = 1; r < results.size(); ++r) {
              ASSERT_TRUE(same_bits(results[r], results[0]))
                  << m << "x" << n << "x" << k << " transposes " << (ta == Trans::yes) << (tb == Trans::yes)
                  << ", " << r + 1 << " threads";
            }
          }
        }
      }
    }
  }
}

TEST_P(GemmPerIsa, AlphaZeroAndEmptyK) {
  GemmTester().m(9).n(20).k(0).beta(0.5f).bias(true).test();
  GemmTester().m(9).n(20).k(7).alpha(0.0f).beta(1.0f).activation(ActivationSpec::of(Activation::tanh)).test();
}

// NaN and Inf propagate as IEEE arithmetic says, through bias and the fused ReLU, in full and
// edge tiles, on the unpacked and the packed path: a NaN in row i of A makes row i of C NaN; an
// Inf in B makes its column ±Inf (or NaN where +Inf meets −Inf); ReLU keeps NaN (max(0, NaN) is
// NaN here, never a silent 0) and maps −Inf to 0; a NaN or Inf bias reaches its whole column.
TEST_P(GemmPerIsa, NanAndInfPropagateThroughBiasAndRelu) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t size : {std::size_t{37}, std::size_t{150}}) {  // unpacked, packed
    for (std::size_t n : {size, static_cast<std::size_t>(kernels().nr()) * 2}) {  // edge and full column tiles
      const std::size_t m = size, k = size;
      Tensor a(m, k), b(k, n), c(m, n);
      std::fill(a.data(), a.data() + a.size(), 0.5f);
      std::fill(b.data(), b.data() + b.size(), 1.0f);
      a(3, 1) = nan;   // row 3 of C: NaN
      a(m - 1, 0) = inf;  // last row: +Inf
      b(2, 5) = -inf;     // column 5: −Inf (row m−1 meets +Inf there: +Inf + −Inf = NaN)
      std::vector<float> bias(n, 0.25f);
      bias[n - 1] = nan;  // last column: NaN
      bias[1] = inf;      // column 1: +Inf (row 3: NaN; row m−1: +Inf)
      for (bool relu : {false, true}) {
        GemmEpilogue ep;
        ep.bias = bias.data();
        ep.activation = relu ? ActivationSpec::relu() : ActivationSpec::identity();
        gemm(Trans::no, Trans::no, 1.0f, a.cview(), b.cview(), 0.0f, c.view(), ep);
        for (std::size_t i = 0; i < m; ++i) {
          for (std::size_t j = 0; j < n; ++j) {
            float want = 0.5f * static_cast<float>(k) + 0.25f;
            if (i == m - 1) want = inf;
            if (j == 5) want = i == m - 1 ? nan : -inf;
            if (j == 1 && !std::isnan(want)) want = inf;
            if (i == 3 || j == n - 1) want = nan;
            if (relu && want < 0.0f) want = 0.0f;
            const float got = c(i, j);
            ASSERT_TRUE(std::isnan(want) ? std::isnan(got) : got == want)
                << "(" << i << ", " << j << ") of " << m << "x" << n << " relu " << relu << ": got " << got
                << ", want " << want;
          }
        }
      }
    }
  }
}

// op(A) = A read in place gives the bits of the same A packed, at 1 and 2 threads (gemm_packed
// and the regions), with the derived blocking and small forced blocks: edge rows and columns,
// several depth blocks, a leading dimension beyond the columns, beta, bias and a fused ReLU.
// GemmEpilogue::relu_gate is the product followed by activation_backward(relu) with the gate as
// its x, bit for bit: on the unpacked, packed and region paths (1 to 3 threads), with forced small
// blocks (several depth blocks: the gate applies on the last), beta 0 and 0.5, k = 0, every
// transpose, and a padded gate holding 0, -0 and NaN.
TEST_P(GemmPerIsa, ReluGateIsTheReluBackwardOfTheProduct) {
  const std::size_t shapes[][3] = {{7, 13, 5}, {33, 70, 0}, {64, 256, 256}, {130, 300, 111}, {256, 96, 600}};
  std::uint32_t seed = 0;
  for (bool small_blocks : {false, true}) {
    if (small_blocks) force_small_blocks();
    for (const auto& [m, n, k] : shapes) {
      for (Trans ta : kTrans) {
        for (Trans tb : kTrans) {
          ++seed;
          set_num_threads(1 + static_cast<int>(seed % 3));
          const Tensor a = ta == Trans::no ? uniform_matrix(m, k, seed) : uniform_matrix(k, m, seed);
          const Tensor b = tb == Trans::no ? uniform_matrix(k, n, seed + 1) : uniform_matrix(n, k, seed + 1);
          Tensor gate = uniform_matrix(m, n + 3, seed + 2);
          for (std::size_t i = 0; i < gate.size(); i += 7) gate.data()[i] = i % 3 == 0 ? 0.0f : i % 3 == 1 ? -0.0f : NAN;
          const ConstMatrixView g{gate.data(), m, n, n + 3};
          const Tensor c0 = uniform_matrix(m, n, seed + 3);
          const float beta = seed % 2 == 0 ? 0.0f : 0.5f;
          Tensor product = c0.clone(), want(m, n), got = c0.clone();
          gemm(ta, tb, 1.25f, a.cview(), b.cview(), beta, product.view());
          activation_backward(ActivationSpec::relu(), g, g, product.cview(), want.view());
          gemm(ta, tb, 1.25f, a.cview(), b.cview(), beta, got.view(), GemmEpilogue{.relu_gate = g});
          ASSERT_TRUE(same_bits(got, want)) << m << "x" << n << "x" << k << " transposes " << (ta == Trans::yes)
                                            << (tb == Trans::yes) << ", small blocks " << small_blocks;
        }
      }
    }
  }
}

TEST_P(GemmPerIsa, ReluGateNeedsAPlainEpilogueAndItsShape) {
  const Tensor a = uniform_matrix(4, 3, 1), b = uniform_matrix(3, 5, 2), bias = uniform_matrix(1, 5, 3);
  Tensor c(4, 5), gate = uniform_matrix(4, 5, 4), small_gate = uniform_matrix(4, 4, 5);
  testing::expect_throw_with("a gate and a bias",
                             [&] { gemm(Trans::no, Trans::no, 1.0f, a.cview(), b.cview(), 0.0f, c.view(),
                                        GemmEpilogue{.bias = bias.data(), .relu_gate = gate.cview()}); },
                             {"relu_gate", "bias"});
  testing::expect_throw_with("a gate and an activation",
                             [&] { gemm(Trans::no, Trans::no, 1.0f, a.cview(), b.cview(), 0.0f, c.view(),
                                        GemmEpilogue{.activation = ActivationSpec::relu(), .relu_gate = gate.cview()}); },
                             {"relu_gate", "relu"});
  testing::expect_throw_with("a gate of another shape",
                             [&] { gemm(Trans::no, Trans::no, 1.0f, a.cview(), b.cview(), 0.0f, c.view(),
                                        GemmEpilogue{.relu_gate = small_gate.cview()}); },
                             {"relu_gate is 4x4", "C is 4x5"});
  testing::expect_throw_with("C as its own gate",
                             [&] { gemm(Trans::no, Trans::no, 1.0f, a.cview(), b.cview(), 0.0f, c.view(),
                                        GemmEpilogue{.relu_gate = c.cview()}); },
                             {"overlaps relu_gate"});
}

TEST_P(GemmPerIsa, AInPlaceGivesThePackedBits) {
  const internal::GemmBlocking derived = internal::gemm_blocking(kernels());
  struct Case {
    std::size_t m, n, k;
  };
  const Case cases[] = {{301, 290, 600}, {61, 513, 111}, {7, 40, 2 * derived.kc + 5}, {130, 130, 38}};
  std::uint32_t seed = 40;
  for (internal::GemmBlocking blocks : {derived, internal::GemmBlocking{37, 24, 256}}) {
    for (const Case& c : cases) {
      for (Trans tb : kTrans) {
        for (int threads : {1, 2}) {
          ++seed;
          set_num_threads(threads);
          const Tensor a = uniform_matrix(c.m, c.k + 3, seed);
          const Tensor b = tb == Trans::no ? uniform_matrix(c.k, c.n, seed + 1) : uniform_matrix(c.n, c.k, seed + 1);
          const Tensor c0 = uniform_matrix(c.m, c.n, seed + 2), bias = uniform_matrix(1, c.n, seed + 3);
          const GemmEpilogue ep{.bias = bias.data(), .activation = ActivationSpec::relu()};
          std::vector<Tensor> results;
          for (bool in_place : {false, true}) {
            blocks.a_in_place = in_place;
            blocks.a_rows_per_l1_set = SIZE_MAX;  // in place at every leading dimension
            internal::set_gemm_blocking_override(blocks);
            Tensor out = c0.clone();
            gemm(Trans::no, tb, 1.5f, ConstMatrixView{a.data(), c.m, c.k, c.k + 3}, b.cview(), 0.5f, out.view(), ep);
            results.push_back(std::move(out));
          }
          ASSERT_TRUE(same_bits(results[0], results[1]))
              << c.m << "x" << c.n << "x" << c.k << " kc " << blocks.kc << " threads " << threads;
        }
      }
    }
  }
}

// The blocking follows the caches (core/gemm.cc states the model): the two machine kinds this
// project runs on, exactly, and the model's bounds over a sweep of cache sizes.
TEST(GemmBlocking, DerivedFromTheCaches) {
  // Intel Xeon, family 6 model 207: 48 KiB 12-way L1D, 2 MiB L2; AVX-512 tile 12 x 32.
  const internal::GemmBlocking intel = internal::derive_gemm_blocking({48 << 10, 12, 2 << 20, 260 << 20}, 12, 32);
  EXPECT_EQ(intel.kc, 224u);  // B: 7 ways of 4 KiB, A: 3, two left
  EXPECT_EQ(intel.mc, 576u);
  EXPECT_EQ(intel.nc, 8192u);
  EXPECT_TRUE(intel.a_in_place);
  EXPECT_EQ(intel.a_rows_per_l1_set, 10u);  // 12 ways less B's stream and C
  EXPECT_EQ(intel.l1_way_bytes, 4096u);
  // AMD EPYC family 25 (Zen 3) as its hypervisor reports it: 32 KiB 8-way L1D, 512 KiB L2,
  // 32 MiB L3; AVX2 tile 6 x 16.
  const internal::GemmBlocking amd = internal::derive_gemm_blocking({32 << 10, 8, 512 << 10, 32 << 20}, 6, 16);
  EXPECT_EQ(amd.kc, 256u);  // B: 4 ways of 4 KiB, A: 2, two left
  EXPECT_EQ(amd.mc, 126u);
  EXPECT_EQ(amd.nc, 8192u);
  EXPECT_TRUE(amd.a_in_place);
  EXPECT_EQ(amd.a_rows_per_l1_set, 6u);  // so 6 rows of A always fit
  EXPECT_EQ(amd.l1_way_bytes, 4096u);
  // Nothing known: 32 KiB 8-way, 512 KiB, 8 MiB.
  const internal::GemmBlocking unknown = internal::derive_gemm_blocking({}, 12, 32);
  EXPECT_EQ(unknown.a_rows_per_l1_set, 6u);
  EXPECT_EQ(unknown.l1_way_bytes, 4096u);
  EXPECT_EQ(unknown.kc, 128u);
  EXPECT_EQ(unknown.mc, 252u);
  EXPECT_EQ(unknown.nc, 8192u);
  for (std::size_t l1 : {16u << 10, 32u << 10, 48u << 10, 64u << 10}) {
    for (std::size_t l2 : {256u << 10, 1u << 20, 2u << 20}) {
      for (auto [mr, nr] : {std::pair<std::size_t, std::size_t>{6, 8}, {6, 16}, {12, 32}}) {
        const internal::GemmBlocking b = internal::derive_gemm_blocking({l1, 8, l2, 16u << 20}, mr, nr);
        EXPECT_LE(b.kc * nr * sizeof(float), l1) << l1 << " " << nr;  // B's panel fits L1
        EXPECT_EQ(b.kc % 16, 0u);
        EXPECT_EQ(b.mc % mr, 0u);
        EXPECT_LE(b.mc * b.kc * sizeof(float), std::max(l2 / 4, mr * b.kc * sizeof(float)));
        EXPECT_EQ(b.nc % 256, 0u);
      }
    }
  }
}

// How many of a panel's rows of A read in place share an L1 set (GemmBlocking::a_rows_per_l1_set
// bounds it): rows a way apart all share theirs, 12 rows a quarter way apart three to a set; a
// row may start anywhere in a line, so one of kc floats counts every line it can touch.
TEST(GemmBlocking, RowsOfAPerL1Set) {
  EXPECT_EQ(internal::a_rows_per_l1_set(1024, 12, 224, 4096), 12u);  // ld 4 KiB: every row in the same sets
  EXPECT_EQ(internal::a_rows_per_l1_set(2048, 12, 224, 4096), 12u);
  EXPECT_EQ(internal::a_rows_per_l1_set(256, 12, 224, 4096), 3u);  // 1 KiB apart, 896 bytes each
  EXPECT_EQ(internal::a_rows_per_l1_set(256, 12, 256, 4096), 6u);  // 1 KiB each: two rows share an end line
  EXPECT_EQ(internal::a_rows_per_l1_set(784, 12, 224, 4096), 3u);  // 3,136 bytes apart
  EXPECT_EQ(internal::a_rows_per_l1_set(1024, 6, 256, 4096), 6u);
  EXPECT_EQ(internal::a_rows_per_l1_set(16, 1, 16, 4096), 1u);
  EXPECT_EQ(internal::a_rows_per_l1_set(1, 12, 1, 4096), 12u);  // 12 rows of one float share a line
  EXPECT_EQ(internal::a_rows_per_l1_set(8192, 3, 4096, 4096), 3u);  // a row longer than a way
}

// The denormal policy (core/denormals.h): off, subnormals pass through exactly; on, they read and
// write as 0 on every thread that runs tiles, and the caller's MXCSR is restored.
TEST_P(GemmPerIsa, DenormalPolicy) {
  const float tiny = 1e-39f;  // subnormal: below 2^-126
  ASSERT_EQ(std::fpclassify(tiny), FP_SUBNORMAL);
  for (std::size_t size : {std::size_t{3}, std::size_t{300}}) {  // serial and parallel
    set_num_threads(2);
    Tensor a(size, size), b(size, size), c(size, size);
    std::fill(a.data(), a.data() + a.size(), tiny);
    b(0, 0) = 1.0f;
    for (std::size_t i = 1; i < size; ++i) b(i, i) = 1.0f;
    for (bool flush : {false, true}) {
      const ScopedFlushDenormals policy(flush);
      // The control bits (rounding, exception masks, FTZ, DAZ); bits 0-5 are sticky status flags,
      // which arithmetic on subnormals (the IEEE case) legitimately raises.
      constexpr unsigned kControl = ~0x3Fu;
      const unsigned csr = _mm_getcsr() & kControl;
      matmul(a.cview(), b.cview(), c.view());
      EXPECT_EQ(_mm_getcsr() & kControl, csr) << "the caller's MXCSR controls changed";
      for (std::size_t i = 0; i < size; ++i) {
        for (std::size_t j = 0; j < size; ++j) {
          ASSERT_EQ(c(i, j), flush ? 0.0f : tiny) << size << " flush " << flush << " at " << i << ", " << j;
        }
      }
    }
  }
  EXPECT_FALSE(flush_denormals());
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
