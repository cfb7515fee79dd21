// Chunked training steps (TrainerOptions::gradient_chunks) and data-parallel training on a
// Collective, without MPI: the ranks are threads of this process (tests/local_collective.h),
// reducing in MpiCollective's order. tests/dist_test.cc repeats the comparison under mpirun.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <simdnn/core/denormals.h>
#include <simdnn/core/error.h>
#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/conv2d.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/pooling.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/core/pairwise_sum.h>

#include "tests/data_parallel_case.h"
#include "tests/local_collective.h"
#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::DataParallelCase;
using testing::DataParallelResult;
using testing::LocalCollective;
using testing::LocalRanks;
using testing::PassThrough;
using testing::RowMixing;
using testing::ScopedThreads;

Tensor copy_of(ConstMatrixView v) {
  Tensor t(v.rows, v.cols);
  for (std::size_t r = 0; r < v.rows; ++r) std::memcpy(t.data() + r * v.cols, v.row(r), v.cols * sizeof(float));
  return t;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

float tree_sum_of(const std::vector<float>& values) { return testing::canonical_sum(values); }

TEST(PairwiseSum, AddsInTreeOrder) {
  // Values where the order of the additions shows: sequentially ((a + b) + c) + d = 0 in float,
  // as a tree (a + b) + (c + d) = 2.
  const std::vector<float> v = {1e8f, 1.0f, -1e8f, 1.0f};
  const float tree = (v[0] + v[1]) + (v[2] + v[3]);
  EXPECT_EQ(tree_sum_of(v), tree);
  EXPECT_NE(tree, ((v[0] + v[1]) + v[2]) + v[3]);
  std::vector<float> l;
  for (int i = 0; i < 8; ++i) l.push_back(i % 2 == 0 ? 3e7f * static_cast<float>(i + 1) : -0.7f * static_cast<float>(i));
  EXPECT_EQ(tree_sum_of(l), ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])));
  // Other counts: complete trees over the runs of the count's binary digits, smallest added first.
  // Floats near 1e8 are 8 apart: 1e8 + 3 rounds back to 1e8, 1e8 + 6 up to 1e8 + 8.
  const float big = 1e8f;
  EXPECT_EQ(tree_sum_of({big, 3.0f, 3.0f}), big);                             // (big + 3) + 3
  EXPECT_EQ(tree_sum_of({big, 0.0f, 0.0f, 0.0f, 3.0f, 3.0f}), big + 8.0f);    // big + (3 + 3)
  EXPECT_EQ(tree_sum_of({big, 0.0f, 0.0f, 0.0f, 3.0f, 0.0f, 3.0f}), big + 8.0f);  // big + ((3 + 0) + 3)
  EXPECT_EQ(((big + 0.0f) + (0.0f + 0.0f)) + (3.0f + 0.0f) + 3.0f, big);      // the left fold differs
  EXPECT_EQ(tree_sum_of({2.5f}), 2.5f);
  internal::PairwiseSum<std::vector<float>> empty;
  EXPECT_THROW(empty.result(), std::logic_error);
}

TEST(PairwiseSum, SwapsTensorsInAndKeepsShapes) {
  internal::PairwiseSum<Tensor> sum;
  Tensor a(2, 3), b(1, 4);
  for (int round = 0; round < 2; ++round) {
    sum.reset();
    for (int i = 0; i < 4; ++i) {
      std::fill(a.data(), a.data() + a.size(), static_cast<float>(i + round));
      std::fill(b.data(), b.data() + b.size(), -static_cast<float>(i));
      Tensor* parts[] = {&a, &b};
      sum.push(parts);
      EXPECT_EQ(a.rows(), 2u);
      EXPECT_EQ(b.cols(), 4u);
    }
    const std::vector<Tensor>& r = sum.result();
    EXPECT_EQ(r[0](1, 2), 6.0f + 4.0f * static_cast<float>(round));
    EXPECT_EQ(r[1](0, 3), -6.0f);
  }
}

TEST(PairwiseSum, PartByPartEqualsWholeVectors) {
  internal::PairwiseSum<std::vector<float>> whole, by_part;
  for (int i = 0; i < 4; ++i) {
    std::vector<float> a = {1e7f * static_cast<float>(i + 1), 0.3f}, b = {-0.7f * static_cast<float>(i), 5e6f};
    std::vector<float> a2 = a, b2 = b;
    std::vector<float>* parts[] = {&a, &b};
    whole.push(parts);
    std::vector<float>* parts2[] = {&a2, &b2};
    by_part.begin_push(parts2);
    const std::vector<float>& b_sum = by_part.push_part(1);  // any order
    const std::vector<float>& a_sum = by_part.push_part(0);
    if (i == 3) {  // the last push completes the tree: push_part returns the whole sum
      EXPECT_EQ(a_sum, whole.result()[0]);
      EXPECT_EQ(b_sum, whole.result()[1]);
    }
    by_part.end_push();
  }
  EXPECT_EQ(by_part.result()[0], whole.result()[0]);
  EXPECT_EQ(by_part.result()[1], whole.result()[1]);
}

TEST(FillBernoulliAt, PiecesEqualTheWholeFill) {
  Tensor whole(37, 29);
  fill_bernoulli(whole.view(), 0.6f, 5, 8, 2.5f);
  for (std::size_t first_row : {0u, 1u, 13u, 36u}) {
    for (std::size_t rows : {1u, 7u}) {
      if (first_row + rows > whole.rows()) continue;
      Tensor storage(rows, 40);  // a strided view: ld 40 > 29 columns
      const MatrixView piece{storage.data(), rows, 29, 40};
      fill_bernoulli_at(piece, first_row * 29, 0.6f, 5, 8, 2.5f);
      for (std::size_t r = 0; r < rows; ++r) {
        ASSERT_EQ(std::memcmp(piece.row(r), whole.view().row(first_row + r), 29 * sizeof(float)), 0)
            << "row " << first_row + r;
      }
    }
  }
}

TEST(SlicedDropout, SlicesDrawTheWholeBatchsMask) {
  Tensor x(10, 6);
  fill_normal(x.view(), 0.0f, 1.0f, 1, 0);
  Dropout whole(6, 0.4f, DropoutOptions{.seed = 2, .stream = 3});
  Dropout sliced(6, 0.4f, DropoutOptions{.seed = 2, .stream = 3});
  for (int step = 0; step < 2; ++step) {
    const Tensor expected = copy_of(whole.forward(x.cview(), Mode::train));
    for (const auto& [begin, end] : {std::pair<std::size_t, std::size_t>{0, 3}, {3, 4}, {4, 10}}) {
      sliced.begin_slice(begin);
      const ConstMatrixView out = sliced.forward(ConstMatrixView{x.data() + begin * 6, end - begin, 6, 6}, Mode::train);
      EXPECT_EQ(std::memcmp(out.data, expected.data() + begin * 6, (end - begin) * 6 * sizeof(float)), 0)
          << "step " << step << ", rows " << begin << ".." << end;
      EXPECT_EQ(sliced.step(), whole.step() - 1) << "the step advances at end_step(), not per slice";
    }
    sliced.end_step();
    EXPECT_EQ(sliced.step(), whole.step());
  }
}

TEST(SlicedBatchNorm, NormalizesEachSliceAndUpdatesRunningStatisticsFromTheWholeBatch) {
  Tensor x(12, 5);
  fill_normal(x.view(), 3.0f, 2.0f, 4, 0);  // a mean far from 0 checks the shifted sums
  BatchNorm whole(5);
  BatchNorm sliced(5);
  BatchNorm alone(5);  // the first slice, normalized on its own
  whole.forward(x.cview(), Mode::train);
  const std::vector<std::pair<std::size_t, std::size_t>> slices = {{0, 5}, {5, 12}};
  const Tensor first = copy_of(alone.forward(ConstMatrixView{x.data(), 5, 5, 5}, Mode::train));
  Tensor sums(1, 11);
  for (const auto& [begin, end] : slices) {
    Tensor* stats = sliced.slice_statistics()[0];
    std::fill(stats->data(), stats->data() + stats->size(), 0.0f);
    sliced.begin_slice(begin);
    const ConstMatrixView out = sliced.forward(ConstMatrixView{x.data() + begin * 5, end - begin, 5, 5}, Mode::train);
    if (begin == 0) {
      EXPECT_EQ(std::memcmp(out.data, first.data(), 25 * sizeof(float)), 0);
    }
    for (std::size_t i = 0; i < 11; ++i) sums.data()[i] += stats->data()[i];  // what the trainer sums
  }
  std::copy(sums.data(), sums.data() + 11, sliced.slice_statistics()[0]->data());
  const std::vector<float> before(sliced.running_mean().data(), sliced.running_mean().data() + 5);
  sliced.end_step();
  for (std::size_t j = 0; j < 5; ++j) {
    EXPECT_NEAR(sliced.running_mean().data()[j], whole.running_mean().data()[j], 1e-6f) << j;
    EXPECT_NEAR(sliced.running_var().data()[j], whole.running_var().data()[j], 1e-5f) << j;
    EXPECT_NE(sliced.running_mean().data()[j], before[j]) << "updated at end_step()";
  }
}

// Runs the case on `ranks` threads, each a rank of one LocalCollective; returns every rank's result.
std::vector<DataParallelResult> run_on_threads(const DataParallelCase& c, std::size_t chunks, std::size_t ranks,
                                               bool background) {
  LocalRanks shared(ranks);
  std::vector<DataParallelResult> results(ranks);
  std::vector<std::thread> threads;
  for (std::size_t r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      LocalCollective collective(shared, r, background);
      results[r] = c.run(chunks, &collective);
    });
  }
  for (std::thread& t : threads) t.join();
  return results;
}

// Every rank of each count in `rank_counts` (threads of one process, at 2 threads each, with the
// reduction during and after the backward pass) ends with `alone`'s bits.
void expect_single_process_bits(const DataParallelCase& c, std::size_t chunks, std::initializer_list<std::size_t> rank_counts,
                                const DataParallelResult& alone) {
  ScopedThreads two(2);
  for (std::size_t ranks : rank_counts) {
    for (bool background : {true, false}) {
      const std::vector<DataParallelResult> results = run_on_threads(c, chunks, ranks, background);
      for (std::size_t r = 0; r < ranks; ++r) {
        SCOPED_TRACE(std::to_string(ranks) + " ranks, rank " + std::to_string(r) +
                     (background ? ", reduced during the backward pass" : ", reduced after it"));
        EXPECT_TRUE(same_bits(results[r].weights, alone.weights));
        EXPECT_EQ(results[r].losses, alone.losses);
        EXPECT_EQ(results[r].validation.loss, alone.validation.loss);
        EXPECT_EQ(results[r].validation.accuracy, alone.validation.accuracy);
      }
    }
  }
}

TEST(DataParallel, OnlyRankZeroPrintsProgress) {
  const DataParallelCase c;
  LocalRanks shared(2);
  std::vector<std::string> printed(2);
  std::vector<std::thread> threads;
  for (std::size_t r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      LocalCollective collective(shared, r);
      auto net = c.model();
      SoftmaxCrossEntropy loss;
      Adam adam(all_parameters(*net), AdamOptions{.lr = 0.01});
      Trainer trainer(*net, loss, adam, DataParallelCase::train_options(2, &collective, 2, 11));
      std::FILE* stream = std::tmpfile();
      ASSERT_NE(stream, nullptr);
      trainer.add_callback<ProgressBar>(false, stream);
      trainer.fit(c.x.cview(), c.y.cview());
      std::rewind(stream);
      for (int ch; (ch = std::fgetc(stream)) != EOF;) printed[r] += static_cast<char>(ch);
      std::fclose(stream);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(std::count(printed[0].begin(), printed[0].end(), '\n'), 2) << printed[0];
  EXPECT_NE(printed[0].find("epoch 2/2"), std::string::npos) << printed[0];
  EXPECT_EQ(printed[1], "");
}

TEST(DataParallel, OneTwoAndFourRanksGiveTheSingleProcessBits) {
  const DataParallelCase c;
  DataParallelResult alone;
  {
    ScopedThreads one(1);
    alone = c.run(4, nullptr);
  }
  expect_single_process_bits(c, 4, {1, 2, 4}, alone);
  // Chunking is a different computation from the plain step (BatchNorm per chunk), and it trains.
  const DataParallelResult plain = c.run(1, nullptr);
  EXPECT_FALSE(same_bits(plain.weights, alone.weights));
  EXPECT_LT(alone.losses[3], alone.losses[0]) << "the second epoch's batch loss is below the first's";
}

TEST(DataParallel, OneThreeAndSixRanksGiveTheSingleProcessBitsOfSixChunks) {
  // 6 = 4 + 2 chunks: ((g0 + g1) + (g2 + g3)) + (g4 + g5), which 3 ranks (2 chunks each: ranks 0
  // and 1 a run of two, rank 2 a run of one) and 6 ranks (4 + 2) reproduce.
  const DataParallelCase c;
  DataParallelResult alone;
  {
    ScopedThreads one(1);
    alone = c.run(6, nullptr);
  }
  expect_single_process_bits(c, 6, {1, 3, 6}, alone);  // one rank takes any K
  const DataParallelResult eight = c.run(8, nullptr);  // another K is another order
  EXPECT_FALSE(same_bits(eight.weights, alone.weights));
}

// Trains `reference` on 1 thread and `subject` at each of `thread_counts`, `taken` (one of
// PassThrough's counters) counting the path under test: none for the reference, some for the
// subject, which must end with the reference's bits. Returns the reference's result.
DataParallelResult expect_path_gives_reference_bits(const DataParallelCase& reference, const DataParallelCase& subject,
                                                    std::size_t chunks, std::atomic<int>& taken,
                                                    std::initializer_list<int> thread_counts) {
  DataParallelResult want;
  {
    ScopedThreads one(1);
    taken = 0;
    want = reference.run(chunks, nullptr);
    EXPECT_EQ(taken, 0) << "the reference took the path under test";
  }
  EXPECT_LT(want.losses[3], want.losses[0]) << "the second epoch's batch loss is below the first's";
  for (int threads : thread_counts) {
    ScopedThreads scoped(threads);
    taken = 0;
    const DataParallelResult got = subject.run(chunks, nullptr);
    EXPECT_GT(taken, 0) << "the path under test was not taken, " << threads << " threads";
    EXPECT_TRUE(same_bits(got.weights, want.weights)) << threads << " threads";
    EXPECT_EQ(got.losses, want.losses) << threads << " threads";
    EXPECT_EQ(got.validation.loss, want.validation.loss) << threads << " threads";
  }
  return want;
}

TEST(DataParallel, WithoutBatchNormOnePassGivesTheSlicedStepsBits) {
  // Without BatchNorm each rank runs its rows through one forward and one backward, and the Dense
  // layers sum their gradients over the chunks (Layer::set_gradient_chunks). That must give the
  // bits of the sliced step, which the same model with a layer that cannot sum chunks takes: for
  // 4 and 6 chunks, at 1 and 2 threads, and on 2, 3, 4 and 6 ranks.
  const DataParallelCase one_pass(RowMixing::one_pass), sliced(RowMixing::sliced);
  for (std::size_t chunks : {4u, 6u}) {
    SCOPED_TRACE(std::to_string(chunks) + " chunks");
    const DataParallelResult want =
        expect_path_gives_reference_bits(sliced, one_pass, chunks, PassThrough::one_pass_backwards, {1, 2});
    expect_single_process_bits(one_pass, chunks, chunks == 4 ? std::initializer_list<std::size_t>{2, 4}
                                                             : std::initializer_list<std::size_t>{3, 6}, want);
  }
}

TEST(DataParallel, ChunksSideBySideGiveTheOnePassStepsBits) {
  // ChunkParallelism::side_by_side runs each chunk on one thread, the chunks in parallel
  // (Layer::begin_chunks): the bits of the one-pass step (within_kernels), for 4, 6 and 8 chunks
  // at 1 to 4 threads, and on 2 ranks (3 for 6 chunks).
  DataParallelCase within(RowMixing::side_by_side), side(RowMixing::side_by_side);
  within.parallelism = ChunkParallelism::within_kernels;
  side.parallelism = ChunkParallelism::side_by_side;
  for (std::size_t chunks : {4u, 6u, 8u}) {
    SCOPED_TRACE(std::to_string(chunks) + " chunks");
    const DataParallelResult want =
        expect_path_gives_reference_bits(within, side, chunks, PassThrough::chunk_backwards, {1, 2, 3, 4});
    expect_single_process_bits(side, chunks, {chunks == 6 ? 3u : 2u}, want);
  }
}

TEST(DataParallel, AutomaticChunkParallelismIsSideBySideForLongChunksOnManyThreads) {
  EXPECT_TRUE(side_by_side_pays(4, 256, 4));
  EXPECT_TRUE(side_by_side_pays(16, 1024, 16));
  EXPECT_FALSE(side_by_side_pays(3, 1024, 4));    // too few threads
  EXPECT_FALSE(side_by_side_pays(16, 1023, 16));  // chunks of fewer than 64 rows
  EXPECT_FALSE(side_by_side_pays(16, 1024, 0));
  // A step of 4 chunks of 64 rows: side by side on 4 threads, not on 2.
  Tensor x(256, DataParallelCase::kFeatures), y(256, 1);
  fill_normal(x.view(), 0.0f, 1.0f, 5, 0);
  DataParallelCase::label(x, y);
  for (int threads : {2, 4}) {
    ScopedThreads scoped(threads);
    auto net = DataParallelCase::model(RowMixing::side_by_side);
    SoftmaxCrossEntropy loss;
    Adam adam(all_parameters(*net), AdamOptions{.lr = 0.01});
    Trainer trainer(*net, loss, adam, DataParallelCase::train_options(4, nullptr, 1, 11));
    PassThrough::chunk_backwards = 0;
    trainer.train_on_batch(x.cview(), y.cview());
    EXPECT_EQ(PassThrough::chunk_backwards > 0, threads == 4) << threads << " threads";
  }
}

TEST(DataParallel, SideBySideNeedsLayersThatSupportIt) {
  const DataParallelCase c;  // with BatchNorm: its chunks need their own statistics
  auto net = c.model();
  SoftmaxCrossEntropy loss;
  Adam adam(all_parameters(*net), AdamOptions{.lr = 0.01});
  TrainerOptions options = DataParallelCase::train_options(4, nullptr, 1, 11);
  options.chunk_parallelism = ChunkParallelism::side_by_side;
  testing::expect_throw_with("side by side with BatchNorm", [&] { Trainer trainer(*net, loss, adam, options); },
                             {"side_by_side", "batchnorm", "concurrent chunks"});
}

TEST(DataParallel, ConvolutionsInOnePassGiveTheSlicedStepsBits) {
  // The 12 features through a Dense layer into 5 x 5 images: a 3x3 convolution at stride 1, one
  // at stride 2 (9 output pixels an image, so the scatter's groups of pixels cross images and dx
  // must be computed chunk by chunk), pooling and a Dense head; 4 and 6 chunks, 2 threads.
  const DataParallelCase c;
  auto model = [](bool one_pass) {
    auto net = std::make_unique<Sequential>();
    net->emplace<Dense>(DataParallelCase::kFeatures, 25, DenseOptions{.activation = ActivationSpec::relu(), .seed = 5});
    net->emplace<Conv2D>(ImageShape{5, 5, 1}, 4, 3, Conv2DOptions{.padding = 1, .seed = 5, .stream = 1});
    net->emplace<ActivationLayer>(5 * 5 * 4, ActivationSpec::relu());
    net->emplace<Conv2D>(ImageShape{5, 5, 4}, 8, 3, Conv2DOptions{.stride = 2, .padding = 1, .seed = 5, .stream = 2});
    net->emplace<GlobalAvgPool2D>(ImageShape{3, 3, 8});
    net->emplace<Dense>(8, DataParallelCase::kClasses, DenseOptions{.seed = 5, .stream = 3});
    net->emplace<PassThrough>(DataParallelCase::kClasses, one_pass);
    return net;
  };
  ScopedThreads two(2);
  for (std::size_t chunks : {4u, 6u}) {
    std::vector<DataParallelResult> results;
    for (bool one_pass : {false, true}) {
      auto net = model(one_pass);
      Adam adam(all_parameters(*net), AdamOptions{.lr = 0.01});
      PassThrough::one_pass_backwards = 0;
      results.push_back(c.train(*net, adam, chunks, nullptr, 2, 11));
      EXPECT_EQ(PassThrough::one_pass_backwards > 0, one_pass) << chunks << " chunks";
    }
    EXPECT_TRUE(same_bits(results[1].weights, results[0].weights)) << chunks << " chunks";
    EXPECT_EQ(results[1].losses, results[0].losses) << chunks << " chunks";
  }
}

TEST(LocalCollective, TreeSumOfAnyRankCountIsPairwiseSumsOrder) {
  // Rank r contributes ±1e8 + r per element: the order of the additions shows in float.
  for (std::size_t ranks = 1; ranks <= 7; ++ranks) {
    auto value = [](std::size_t r, std::size_t i) {
      return (r % 2 == 0 ? 1e8f : -1e8f) * static_cast<float>(1 + (r + i) % 3) + static_cast<float>(r) + 0.25f * static_cast<float>(i);
    };
    internal::PairwiseSum<std::vector<float>> want;
    want.reset();
    for (std::size_t r = 0; r < ranks; ++r) {
      std::vector<float> v(5);
      for (std::size_t i = 0; i < 5; ++i) v[i] = value(r, i);
      std::vector<float>* parts[] = {&v};
      want.push(parts);
    }
    const std::vector<float> total = want.result()[0];
    LocalRanks shared(ranks);
    std::vector<std::vector<float>> got(ranks, std::vector<float>(5));
    std::vector<std::thread> threads;
    for (std::size_t r = 0; r < ranks; ++r) {
      threads.emplace_back([&, r] {
        for (std::size_t i = 0; i < 5; ++i) got[r][i] = value(r, i);
        LocalCollective(shared, r).tree_sum(got[r]);
      });
    }
    for (std::thread& t : threads) t.join();
    for (std::size_t r = 0; r < ranks; ++r) EXPECT_TRUE(same_bits(got[r], total)) << ranks << " ranks, rank " << r;
  }
}

// With flush on, the ranks' adds flush a subnormal partial sum as the tree of one process does:
// values just above the smallest normal float whose pair sums are subnormal.
TEST(LocalCollective, TreeSumFlushesSubnormalPartialSumsAsPairwiseSum) {
  constexpr std::size_t kRanks = 6, kSize = 40;
  auto value = [](std::size_t r, std::size_t i) {
    const float tiny = 1.2e-38f + 1e-41f * static_cast<float>(i);  // normal; pairs' sums are not
    return r % 2 == 0 ? tiny + 2e-40f * static_cast<float>(r) : -tiny;
  };
  std::vector<float> totals[2];
  for (bool flush : {false, true}) {
    const ScopedFlushDenormals policy(flush);
    internal::PairwiseSum<Tensor> want;
    want.reset();
    for (std::size_t r = 0; r < kRanks; ++r) {
      Tensor v(1, kSize);
      for (std::size_t i = 0; i < kSize; ++i) v.data()[i] = value(r, i);
      Tensor* parts[] = {&v};
      want.push(parts);
    }
    const Tensor& total = want.result()[0];
    LocalRanks shared(kRanks);
    std::vector<std::vector<float>> got(kRanks, std::vector<float>(kSize));
    std::vector<std::thread> threads;
    for (std::size_t r = 0; r < kRanks; ++r) {
      threads.emplace_back([&, r] {
        for (std::size_t i = 0; i < kSize; ++i) got[r][i] = value(r, i);
        LocalCollective(shared, r).tree_sum(got[r]);
      });
    }
    for (std::thread& t : threads) t.join();
    totals[flush].assign(total.data(), total.data() + kSize);
    for (std::size_t r = 0; r < kRanks; ++r) {
      EXPECT_TRUE(same_bits(got[r], totals[flush])) << "flush " << flush << ", rank " << r;
    }
  }
  // The case has teeth: IEEE keeps subnormal sums that flushing zeroes.
  EXPECT_NE(totals[0], totals[1]);
  EXPECT_TRUE(std::all_of(totals[1].begin(), totals[1].end(), [](float v) { return v == 0.0f; }));
}

TEST(DataParallel, ChunkedStepWithoutBatchStatisticsIsThePlainStepUpToRounding) {
  // With no BatchNorm, the chunks' gradients, each scaled by its share of the batch, add up to
  // the whole batch's gradient (up to rounding); Dropout draws the same mask either way.
  const DataParallelCase c;
  std::vector<std::vector<float>> weights;
  for (std::size_t chunks : {1u, 4u}) {
    Sequential net;
    DenseOptions hidden{.activation = ActivationSpec::relu(), .weight_init = InitSpec::he_normal(), .seed = 5, .stream = 1};
    net.emplace<Dense>(DataParallelCase::kFeatures, 16, hidden);
    net.emplace<Dropout>(16, 0.3f, DropoutOptions{.seed = 5, .stream = 2});
    net.emplace<Dense>(16, DataParallelCase::kClasses, DenseOptions{.seed = 5, .stream = 3});
    SoftmaxCrossEntropy loss;
    Sgd sgd(all_parameters(net), SgdOptions{.lr = 0.5});
    Trainer trainer(net, loss, sgd, TrainerOptions{.gradient_chunks = chunks});
    for (int step = 0; step < 3; ++step) {
      trainer.train_on_batch(ConstMatrixView{c.x.data(), 30, c.x.cols(), c.x.cols()},
                             ConstMatrixView{c.y.data(), 30, 1, 1});
    }
    weights.emplace_back();
    for (const Parameter& p : all_parameters(net)) weights.back().insert(weights.back().end(), p.value->data(), p.value->data() + p.value->size());
  }
  ASSERT_EQ(weights[0].size(), weights[1].size());
  for (std::size_t i = 0; i < weights[0].size(); ++i) EXPECT_NEAR(weights[1][i], weights[0][i], 2e-5f) << i;
}

TEST(DataParallel, BadChunkAndRankCountsAreNamed) {
  auto net = DataParallelCase::model();
  SoftmaxCrossEntropy loss;
  Adam adam(all_parameters(*net), AdamOptions{.lr = 0.01});
  EXPECT_NO_THROW(Trainer(*net, loss, adam, TrainerOptions{.gradient_chunks = 3}));  // any K alone
  testing::expect_throw_with("0 chunks", [&] { Trainer(*net, loss, adam, TrainerOptions{.gradient_chunks = 0}); },
                             {"gradient_chunks is 0", "at least 1"});
  LocalRanks two(2);
  LocalCollective rank0(two, 0);
  testing::expect_throw_with("2 ranks, 1 chunk",
                             [&] { Trainer(*net, loss, adam, TrainerOptions{.gradient_chunks = 1, .collective = &rank0}); },
                             {"2 ranks", "gradient_chunks is 1", "ranks·2^c"});
  testing::expect_throw_with("2 ranks, 6 chunks",  // 3 chunks per rank: not one subtree each
                             [&] { Trainer(*net, loss, adam, TrainerOptions{.gradient_chunks = 6, .collective = &rank0}); },
                             {"2 ranks", "gradient_chunks is 6"});
  const DataParallelCase c;
  Trainer trainer(*net, loss, adam, TrainerOptions{.batch_size = 6, .gradient_chunks = 4});
  testing::expect_throw_with("batch too small", [&] { trainer.fit(c.x.cview(), c.y.cview()); },
                             {"batch_size is 6, expected >= 8", "4 gradient chunks", "batchnorm"});
  EXPECT_THROW(trainer.train_on_batch(ConstMatrixView{c.x.data(), 7, c.x.cols(), c.x.cols()},
                                      ConstMatrixView{c.y.data(), 7, 1, 1}),
               ShapeError);  // 4 chunks with BatchNorm need 8 rows
}

TEST(DataParallel, AFailedStepLeavesNoLayerSliced) {
  // A batch of the wrong width throws in the first chunk's forward; Dropout must then be back
  // to counting one step per forward, as after any completed step.
  auto net = DataParallelCase::model();
  SoftmaxCrossEntropy loss;
  Adam adam(all_parameters(*net), AdamOptions{.lr = 0.01});
  Trainer trainer(*net, loss, adam, TrainerOptions{.gradient_chunks = 2});
  const Tensor wrong(8, DataParallelCase::kFeatures + 1), y(8, 1);
  EXPECT_THROW(trainer.train_on_batch(wrong.cview(), y.cview()), ShapeError);
  Dropout* dropout = nullptr;
  for (Layer* l : all_layers(*net)) {
    if (auto* d = dynamic_cast<Dropout*>(l)) dropout = d;
  }
  ASSERT_NE(dropout, nullptr);
  const std::uint64_t before = dropout->step();
  Tensor x(4, 32);
  dropout->forward(x.cview(), Mode::train);
  EXPECT_EQ(dropout->step(), before + 1);
}

}  // namespace
}  // namespace simdnn
