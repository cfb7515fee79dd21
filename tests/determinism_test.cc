// Determinism that can fail: training above every parallel threshold (width 512, batch 256:
// packed GEMMs, parallel elementwise ops, BatchNorm reductions and optimizer updates) inside
// oneTBB task_arenas of 1, 2, 3, 8 and 16 threads gives bit-identical weights, optimizer and
// layer state; and a run saved at step k, loaded into a fresh network and continued ends
// bit-identical to an uninterrupted one.
//
// Each arena run first checks that it really is parallel: a probe loop of simdnn's
// parallel_for_tiles must see more than one thread (on a 2-core machine too: the arena and
// set_num_threads() oversubscribe it).
#include <gtest/gtest.h>

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/task_arena.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <simdnn/core/parallel.h>
#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/train/loss.h>
#include <simdnn/train/model_io.h>
#include <simdnn/train/optimizer.h>
#include <simdnn/train/trainer.h>

#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::ScopedThreads;

constexpr std::size_t kInputs = 64;
constexpr std::size_t kWidth = 512;
constexpr std::size_t kBatch = 256;
constexpr std::size_t kSteps = 4;

// label = [x0 + 0.5·x1 − 0.25·x2 > 0]; kSteps batches of kBatch rows.
struct Data {
  Data() : x(kBatch * kSteps, kInputs), y(kBatch * kSteps, 1) {
    fill_normal(x.view(), 0.0f, 1.0f, 21, 0);
    for (std::size_t i = 0; i < x.rows(); ++i) {
      y(i, 0) = x(i, 0) + 0.5f * x(i, 1) - 0.25f * x(i, 2) > 0.0f ? 1.0f : 0.0f;
    }
  }
  static ConstMatrixView batch(const Tensor& t, std::size_t step) {
    return {t.data() + step * kBatch * t.cols(), kBatch, t.cols(), t.cols()};
  }
  Tensor x, y;
};

const Data& data() {
  static const Data d;
  return d;
}

std::unique_ptr<Sequential> make_network() {
  auto net = std::make_unique<Sequential>();
  DenseOptions hidden;
  hidden.activation = ActivationSpec::relu();
  hidden.weight_init = InitSpec::he_normal();
  hidden.seed = 5;
  hidden.stream = 1;
  net->emplace<Dense>(kInputs, kWidth, hidden);
  net->emplace<BatchNorm>(kWidth);
  net->emplace<Dropout>(kWidth, 0.2f, DropoutOptions{.seed = 5, .stream = 11});
  hidden.stream = 2;
  net->emplace<Dense>(kWidth, kWidth, hidden);
  net->emplace<BatchNorm>(kWidth);
  net->emplace<Dropout>(kWidth, 0.1f, DropoutOptions{.seed = 5, .stream = 12});
  DenseOptions out;
  out.seed = 5;
  out.stream = 3;
  net->emplace<Dense>(kWidth, 1, out);
  return net;
}

// Every parameter, state tensor (BatchNorm statistics, Dropout step) and Adam moment.
std::vector<float> flatten(Layer& net, Optimizer* optimizer) {
  std::vector<float> v;
  for (const Parameter& p : all_parameters(net)) v.insert(v.end(), p.value->data(), p.value->data() + p.value->size());
  for (const StateTensor& s : all_state(net)) v.insert(v.end(), s.value->data(), s.value->data() + s.value->size());
  if (optimizer != nullptr) {
    const OptimizerState state = optimizer->state();
    for (const StateTensor& s : state.tensors) v.insert(v.end(), s.value->data(), s.value->data() + s.value->size());
    v.push_back(static_cast<float>(state.step));
  }
  return v;
}

// Trains steps [first, last) of the fixed batch sequence.
void train_steps(Layer& net, Optimizer& adam, std::size_t first, std::size_t last) {
  BinaryCrossEntropyWithLogits loss;
  Trainer trainer(net, loss, adam);
  for (std::size_t s = first; s < last; ++s) {
    trainer.train_on_batch(Data::batch(data().x, s), Data::batch(data().y, s));
  }
}

// How many distinct threads run the tiles of a simdnn parallel loop: each tile is busy ~100 µs so
// that idle workers join; the loop is repeated (up to ~2 s) until a second thread took part, since
// on a loaded machine a waking worker may come late.
std::size_t threads_in_probe_loop(int wanted) {
  oneapi::tbb::enumerable_thread_specific<int> tiles_run(0);
  std::size_t threads = 0;
  for (int attempt = 0; attempt < 80 && ((threads < 2 && wanted > 1) || attempt == 0); ++attempt) {
    internal::parallel_for_tiles(256, [&](std::size_t) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
      while (std::chrono::steady_clock::now() < until) {
      }
      ++tiles_run.local();
    });
    threads = 0;
    for (int n : tiles_run) threads += n > 0 ? 1 : 0;
  }
  return threads;
}

struct ArenaRun {
  std::vector<float> weights;
  int arena_concurrency = 0;
  std::size_t probe_threads = 0;
};

ArenaRun train_in_arena(int threads) {
  ScopedThreads cap(threads);  // simdnn's global_control would otherwise cap the arena
  oneapi::tbb::task_arena arena(threads);
  ArenaRun run;
  arena.execute([&] {
    run.arena_concurrency = oneapi::tbb::this_task_arena::max_concurrency();
    run.probe_threads = threads_in_probe_loop(threads);
    auto net = make_network();
    Adam adam(all_parameters(*net), AdamOptions{.lr = 1e-3});
    train_steps(*net, adam, 0, kSteps);
    run.weights = flatten(*net, &adam);
  });
  return run;
}

TEST(Determinism, BitIdenticalTrainingInArenasOf1To16Threads) {
  std::vector<float> initial;
  {
    auto net = make_network();
    Adam adam(all_parameters(*net), AdamOptions{.lr = 1e-3});
    initial = flatten(*net, &adam);
  }
  const ArenaRun reference = train_in_arena(1);
  EXPECT_EQ(reference.probe_threads, 1u);
  ASSERT_EQ(reference.weights.size(), initial.size());
  EXPECT_NE(reference.weights, initial);  // training did change the weights
  for (int threads : {2, 3, 8, 16}) {
    const ArenaRun run = train_in_arena(threads);
    EXPECT_EQ(run.arena_concurrency, threads);
    EXPECT_GT(run.probe_threads, 1u) << threads << " threads: the loop ran on one thread";
    EXPECT_LE(run.probe_threads, static_cast<std::size_t>(threads));
    ASSERT_EQ(run.weights.size(), reference.weights.size());
    EXPECT_EQ(std::memcmp(run.weights.data(), reference.weights.data(), run.weights.size() * sizeof(float)), 0)
        << threads << " threads differ from 1 thread";
  }
}

// Saved after step k, loaded into a fresh network and optimizer (BatchNorm statistics, the
// dropout step and Adam's moments and step count come from the file), continued: the same bits
// as never stopping. Run at 3 threads, so the steps are parallel.
TEST(Determinism, ResumedTrainingEndsBitIdentical) {
  ScopedThreads threads(3);
  auto full = make_network();
  Adam full_adam(all_parameters(*full), AdamOptions{.lr = 1e-3});
  train_steps(*full, full_adam, 0, kSteps);

  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/determinism_resume.simdnn";
  for (std::size_t k : {std::size_t{1}, std::size_t{3}}) {
    {
      auto first = make_network();
      Adam adam(all_parameters(*first), AdamOptions{.lr = 1e-3});
      train_steps(*first, adam, 0, k);
      save_model(path, *first, &adam);
    }
    auto resumed = make_network();
    Adam adam(all_parameters(*resumed), AdamOptions{.lr = 1e-3});
    load_model(path, *resumed, &adam);
    EXPECT_EQ(adam.step_count(), k);
    train_steps(*resumed, adam, k, kSteps);
    const std::vector<float> a = flatten(*full, &full_adam);
    const std::vector<float> b = flatten(*resumed, &adam);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << "saved at step " << k;
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace simdnn
