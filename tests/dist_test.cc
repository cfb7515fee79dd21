// Data-parallel training over MPI: run under mpirun with 1, 2, 3 and 4 processes
// (tests/dist_test.sh). Every rank trains the case of tests/data_parallel_case.h on an
// MpiCollective and, alone, the single-process run with the same gradient chunks (4, or twice
// the ranks where 4 does not split into a power of two per rank), and compares the two bit for
// bit. Ranks train at different thread counts (rank r uses 1 + r % 2 threads).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <simdnn/core/denormals.h>
#include <simdnn/core/pairwise_sum.h>
#include <simdnn/core/tensor.h>
#include <simdnn/dist/mpi.h>

#include "tests/data_parallel_case.h"
#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::canonical_sum;
using testing::DataParallelCase;
using testing::DataParallelResult;
using testing::RowMixing;
using testing::ScopedThreads;

// Gradient chunks for p ranks: 4 for 1, 2 and 4 ranks (the same bits for all three), else 2·p.
std::size_t chunks_for(std::size_t p) { return 4 % p == 0 ? 4 : 2 * p; }

TEST(MpiCollective, TreeSumIsTheCanonicalTreeOnEveryRank) {
  dist::MpiCollective ranks;
  const std::size_t p = ranks.size();
  // Rank r contributes v_r = 1e8·(−1)^r + r: the tree order (pairs first) is visible in float.
  auto value = [](std::size_t r) { return (r % 2 == 0 ? 1e8f : -1e8f) + static_cast<float>(r); };
  std::vector<float> level(p);
  for (std::size_t r = 0; r < p; ++r) level[r] = value(r);
  const float total = canonical_sum(level);
  std::vector<float> mine = {value(ranks.rank()), -value(ranks.rank())};
  ranks.tree_sum(mine);
  EXPECT_EQ(mine[0], total);
  EXPECT_EQ(mine[1], -total);
  // A long, odd length: the halves differ by one and go in several pieces.
  auto element = [](std::size_t r, std::size_t i) {
    return static_cast<float>((i * 2654435761u + r * 40503u) % 1000003) * (r % 2 == 0 ? 1e3f : -1e-3f);
  };
  std::vector<float> longer(100003);
  for (std::size_t i = 0; i < longer.size(); ++i) longer[i] = element(ranks.rank(), i);
  ranks.tree_sum(longer);
  std::size_t wrong = 0;
  std::vector<float> column(p);
  for (std::size_t i = 0; i < longer.size(); ++i) {
    for (std::size_t r = 0; r < p; ++r) column[r] = element(r, i);
    wrong += longer[i] != canonical_sum(column);
  }
  EXPECT_EQ(wrong, 0u);
  std::vector<double> counts = {1.0, static_cast<double>(ranks.rank())};
  ranks.tree_sum(counts);
  EXPECT_EQ(counts[0], static_cast<double>(p));
  EXPECT_EQ(counts[1], static_cast<double>(p * (p - 1) / 2));
  std::vector<float> b = {static_cast<float>(ranks.rank()) + 0.5f};
  ranks.broadcast(b);
  EXPECT_EQ(b[0], 0.5f);
}

// With BatchNorm (each rank slices its chunks) and without it (each rank's rows in one pass,
// which must give the bits of the sliced single process).
// With flush on, the ranks' float adds flush a subnormal partial sum as one process's tree does
// (PairwiseSum of Tensors adds with the vectorized add, under the policy): values just above the
// smallest normal float whose pairs' sums are subnormal.
TEST(MpiCollective, TreeSumFollowsTheDenormalPolicy) {
  dist::MpiCollective ranks;
  const std::size_t p = ranks.size();
  auto value = [](std::size_t r) { return r % 2 == 0 ? 1.2e-38f + 2e-40f * static_cast<float>(r + 1) : -1.2e-38f; };
  float totals[2] = {};
  for (bool flush : {false, true}) {
    const ScopedFlushDenormals policy(flush);
    internal::PairwiseSum<Tensor> want;
    want.reset();
    for (std::size_t r = 0; r < p; ++r) {
      Tensor v(1, 1);
      v.data()[0] = value(r);
      Tensor* parts[] = {&v};
      want.push(parts);
    }
    std::vector<float> mine = {value(ranks.rank())};
    ranks.tree_sum(mine);
    totals[flush] = mine[0];
    EXPECT_EQ(std::memcmp(&mine[0], want.result()[0].data(), sizeof(float)), 0) << "flush " << flush;
  }
  if (p >= 2) {
    EXPECT_NE(totals[0], totals[1]);  // a pair's subnormal sum is kept, then flushed
  }
}

TEST(DataParallel, EveryRankCountGivesTheSingleProcessBits) {
  dist::MpiCollective ranks;
  for (RowMixing rows : {RowMixing::batch_norm, RowMixing::one_pass}) {
    SCOPED_TRACE(rows == RowMixing::batch_norm ? "with BatchNorm" : "one pass");
    DataParallelResult alone;
    {
      ScopedThreads one(1);
      alone = DataParallelCase(rows == RowMixing::one_pass ? RowMixing::sliced : rows).run(chunks_for(ranks.size()), nullptr);
    }
    ScopedThreads threads(1 + static_cast<int>(ranks.rank() % 2));
    const DataParallelResult mine = DataParallelCase(rows).run(chunks_for(ranks.size()), &ranks);
    ASSERT_EQ(mine.weights.size(), alone.weights.size());
    EXPECT_EQ(std::memcmp(mine.weights.data(), alone.weights.data(), alone.weights.size() * sizeof(float)), 0)
        << ranks.size() << " ranks, rank " << ranks.rank();
    EXPECT_EQ(mine.losses, alone.losses);
    EXPECT_EQ(mine.validation.loss, alone.validation.loss);
    EXPECT_EQ(mine.validation.accuracy, alone.validation.accuracy);
  }
}

TEST(DataParallel, OnlyRankZeroCheckpointsAndAnyRankCountResumes) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  dist::MpiCollective ranks;
  const std::string prefix = dir + "/dist_test_np" + std::to_string(ranks.size()) + "_rank";
  const std::string single = dir + "/dist_test_single" + std::to_string(ranks.rank()) + "_np" +
                             std::to_string(ranks.size()) + "_rank";
  const std::size_t chunks = chunks_for(ranks.size());
  const DataParallelResult alone = DataParallelCase{}.resumed(chunks, nullptr, single);
  const DataParallelResult mine = DataParallelCase{}.resumed(chunks, &ranks, prefix);
  EXPECT_EQ(std::filesystem::exists(prefix + std::to_string(ranks.rank())), ranks.rank() == 0);
  ASSERT_EQ(mine.weights.size(), alone.weights.size());
  EXPECT_EQ(std::memcmp(mine.weights.data(), alone.weights.data(), alone.weights.size() * sizeof(float)), 0);
  EXPECT_EQ(mine.losses, alone.losses);
}

}  // namespace
}  // namespace simdnn

// MPI around GoogleTest; only rank 0 prints the test results.
int main(int argc, char** argv) {
  simdnn::dist::MpiSession mpi(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (mpi.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  if (failed != 0) std::fprintf(stderr, "dist_test: rank %zu of %zu failed\n", mpi.rank(), mpi.size());
  return failed;
}
