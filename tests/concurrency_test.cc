// Concurrency: every public call is safe from several user threads at once and from inside a
// user's TBB tasks, and gives there exactly (bit for bit) what it gives alone.
//
// - GEMMs of mixed shapes (unpacked serial, unpacked parallel, packed; fused and unfused
//   activations) from a user's tbb::parallel_for, from plain std::threads, and nested: a user's
//   parallel_for body that runs a simdnn GEMM and, inside a nested parallel_for, more of them. The
//   packed path keeps thread_local pack buffers while it waits for its tiles; only arena
//   isolation (core/parallel.h) keeps a waiting thread from running another of these GEMMs on the
//   same buffers.
// - layer forward/backward (Dense, BatchNorm, Dropout), one layer stack per task;
// - inference with one shared Model, a Predictor per task;
// - set_num_threads() and set_isa() from another thread while GEMMs run: the results stay those
//   of one ISA, whole.
// Runs under ASan and TSan (tools/test.sh).
#include <gtest/gtest.h>

#include <oneapi/tbb/global_control.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <simdnn/core/gemm.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/thread_scratch.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/sequential.h>
#include <simdnn/models/model.h>
#include <simdnn/models/predictor.h>

#include "tests/test_util.h"
#include "tests/user_parallel_for.h"

namespace simdnn {
namespace {

using testing::ScopedThreads;

using testing::user_parallel_for;

bool same_bits(ConstMatrixView a, ConstMatrixView b) {
  if (a.rows != b.rows || a.cols != b.cols) return false;
  for (std::size_t i = 0; i < a.rows; ++i) {
    if (std::memcmp(a.row(i), b.row(i), a.cols * sizeof(float)) != 0) return false;
  }
  return true;
}

// One GEMM problem: inputs, bias and the result computed alone on one thread.
struct GemmCase {
  std::size_t m, n, k;
  Trans ta, tb;
  ActivationSpec act;
  Tensor a, b, bias, c0, expected;

  GemmCase(std::size_t m_, std::size_t n_, std::size_t k_, Trans ta_, Trans tb_, ActivationSpec act_,
           std::uint64_t seed)
      : m(m_), n(n_), k(k_), ta(ta_), tb(tb_), act(act_),
        a(ta_ == Trans::no ? m_ : k_, ta_ == Trans::no ? k_ : m_),
        b(tb_ == Trans::no ? k_ : n_, tb_ == Trans::no ? n_ : k_), bias(1, n_), c0(m_, n_), expected(m_, n_) {
    fill_normal(a.view(), 0.0f, 1.0f, seed, 0);
    fill_normal(b.view(), 0.0f, 1.0f, seed, 1);
    fill_normal(bias.view(), 0.0f, 1.0f, seed, 2);
    fill_normal(c0.view(), 0.0f, 1.0f, seed, 3);
    run(expected);
  }
  void run(Tensor& c) const {
    std::memcpy(c.data(), c0.data(), c0.size() * sizeof(float));
    gemm(ta, tb, 0.75f, a.cview(), b.cview(), 0.5f, c.view(), {bias.data(), act});
  }
  bool check() const {
    Tensor c(m, n);
    run(c);
    return same_bits(c.cview(), expected.cview());
  }
};

// Mixed shapes: below the serial threshold, unpacked and parallel, packed (several kc blocks, edge
// tiles), with the fused ReLU and with activations applied after the microkernel.
std::vector<std::unique_ptr<GemmCase>> make_gemm_cases() {
  ScopedThreads one(1);
  std::vector<std::unique_ptr<GemmCase>> cases;
  cases.push_back(std::make_unique<GemmCase>(32, 64, 64, Trans::no, Trans::no, ActivationSpec::relu(), 1));
  cases.push_back(std::make_unique<GemmCase>(100, 70, 90, Trans::no, Trans::yes, ActivationSpec::of(Activation::tanh), 2));
  cases.push_back(std::make_unique<GemmCase>(130, 150, 120, Trans::yes, Trans::no, ActivationSpec::of(Activation::sigmoid), 3));
  cases.push_back(std::make_unique<GemmCase>(200, 300, 700, Trans::no, Trans::no, ActivationSpec::relu(), 4));
  cases.push_back(std::make_unique<GemmCase>(257, 129, 300, Trans::yes, Trans::yes, ActivationSpec::elu(1.0f), 5));
  cases.push_back(std::make_unique<GemmCase>(7, 1000, 333, Trans::no, Trans::no, ActivationSpec::identity(), 6));
  return cases;
}

class Concurrency : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cases_.empty()) cases_ = make_gemm_cases();
  }
  static std::vector<std::unique_ptr<GemmCase>> cases_;
  ScopedThreads threads_{4};  // more than the 2 cores of CI: oversubscribed on purpose
};
std::vector<std::unique_ptr<GemmCase>> Concurrency::cases_;

// Scratch buffers start on a cache line whatever their size, before and after they grow, and
// each thread has its own.
struct ScratchTestTag;
TEST(ThreadScratch, AlignedPerThreadAndGrowing) {
  auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % internal::kScratchAlignment == 0; };
  for (std::size_t n : {1, 3, 17, 1000, 5, 100000}) {
    float* f = internal::thread_scratch<ScratchTestTag, float, 2>(0, n);
    double* d = internal::thread_scratch<ScratchTestTag, double, 2>(1, n);
    EXPECT_TRUE(aligned(f)) << n;
    EXPECT_TRUE(aligned(d)) << n;
    std::fill_n(f, n, 1.0f);  // the whole range is writable (ASan checks it)
    std::fill_n(d, n, 1.0);
  }
  const float* other = nullptr;
  std::thread([&] { other = internal::thread_scratch<ScratchTestTag, float, 2>(0, 1); }).join();
  const float* mine = internal::thread_scratch<ScratchTestTag, float, 2>(0, 1);
  EXPECT_NE(other, mine);
}

TEST_F(Concurrency, GemmFromUserParallelFor) {
  std::atomic<int> bad{0};
  user_parallel_for(48, [&](std::size_t i) {
    if (!cases_[i % cases_.size()]->check()) bad.fetch_add(1);
  });
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(Concurrency, GemmFromStdThreads) {
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < 2 * cases_.size(); ++i) {
        if (!cases_[(i + t) % cases_.size()]->check()) bad.fetch_add(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// A user's parallel_for whose body runs a (parallel) GEMM, then a nested parallel_for of GEMMs,
// then checks the first result again: while the outer GEMM's caller waited for its tiles, no other
// GEMM may have run on its pack buffers.
TEST_F(Concurrency, NestedGemmInUserTasks) {
  std::atomic<int> bad{0};
  user_parallel_for(12, [&](std::size_t i) {
    const GemmCase& outer = *cases_[3 + i % 3];  // packed
    Tensor c(outer.m, outer.n);
    outer.run(c);
    user_parallel_for(4, [&](std::size_t j) {
      if (!cases_[(i + j) % cases_.size()]->check()) bad.fetch_add(1);
    });
    if (!same_bits(c.cview(), outer.expected.cview())) bad.fetch_add(1);
  });
  EXPECT_EQ(bad.load(), 0);
}

// set_num_threads() from another thread while GEMMs run: any count gives the same bits, and the
// cap is replaced without a gap.
TEST_F(Concurrency, ThreadCountChangesWhileGemmsRun) {
  std::atomic<bool> done{false};
  std::thread changer([&] {
    int n = 1;
    while (!done.load()) {
      set_num_threads(n);
      EXPECT_GE(num_threads(), 1);
      n = n % 5 + 1;
      std::this_thread::yield();
    }
  });
  std::atomic<int> bad{0};
  user_parallel_for(24, [&](std::size_t i) {
    if (!cases_[i % cases_.size()]->check()) bad.fetch_add(1);
  });
  done.store(true);
  changer.join();
  EXPECT_EQ(bad.load(), 0);
}

// Concurrent set_num_threads() calls: the count and oneTBB's cap agree afterwards (the old
// global_control is gone, not merely outvoted), also after raising the count.
TEST_F(Concurrency, SetNumThreadsFromSeveralThreads) {
  using oneapi::tbb::global_control;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 50; ++i) {
        set_num_threads(1 + (t + i) % 6);
        EXPECT_GE(num_threads(), 1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(global_control::active_value(global_control::max_allowed_parallelism),
            static_cast<std::size_t>(num_threads()));
  set_num_threads(2);
  EXPECT_EQ(global_control::active_value(global_control::max_allowed_parallelism), 2u);
  set_num_threads(7);  // up: the cap of 2 must be gone
  EXPECT_EQ(global_control::active_value(global_control::max_allowed_parallelism), 7u);
  EXPECT_EQ(num_threads(), 7);
}

// set_isa() while GEMMs run: each call reads the ISA once, so every result is exactly that of
// one ISA (the ISAs differ in the last bits, so a product half on one and half on another would
// match none).
TEST_F(Concurrency, IsaChangesWhileGemmsRun) {
  const Isa saved = active_isa();
  const std::vector<Isa> isas = supported_isas();
  std::vector<std::vector<Tensor>> expected(cases_.size());
  {
    ScopedThreads one(1);
    for (std::size_t c = 0; c < cases_.size(); ++c) {
      for (Isa isa : isas) {
        set_isa(isa);
        expected[c].emplace_back(cases_[c]->m, cases_[c]->n);
        cases_[c]->run(expected[c].back());
      }
    }
  }
  std::atomic<bool> done{false};
  std::thread changer([&] {
    std::size_t i = 0;
    while (!done.load()) {
      set_isa(isas[i++ % isas.size()]);
      std::this_thread::yield();
    }
  });
  std::atomic<int> bad{0};
  user_parallel_for(24, [&](std::size_t i) {
    const std::size_t c = i % cases_.size();
    Tensor out(cases_[c]->m, cases_[c]->n);
    cases_[c]->run(out);
    bool any = false;
    for (const Tensor& e : expected[c]) any = any || same_bits(out.cview(), e.cview());
    if (!any) bad.fetch_add(1);
  });
  done.store(true);
  changer.join();
  set_isa(saved);
  EXPECT_EQ(bad.load(), 0);
}

// ---- layers -------------------------------------------------------------------------------------

std::unique_ptr<Sequential> make_stack() {
  auto s = std::make_unique<Sequential>();
  DenseOptions d;
  d.activation = ActivationSpec::relu();
  d.weight_init = InitSpec::he_normal();
  d.seed = 9;
  d.stream = 1;
  s->emplace<Dense>(96, 160, d);
  s->emplace<BatchNorm>(160);
  s->emplace<Dropout>(160, 0.25f);
  d.activation = ActivationSpec::of(Activation::tanh);
  d.stream = 2;
  s->emplace<Dense>(160, 40, d);
  return s;
}

struct LayerResult {
  Tensor y, dx;
  std::vector<float> grads;
};

// Two training steps' forward and backward (no update) on a fresh stack.
LayerResult run_stack(ConstMatrixView x, ConstMatrixView dy) {
  auto s = make_stack();
  LayerResult r;
  for (int step = 0; step < 2; ++step) {
    for (const Parameter& p : all_parameters(*s)) std::fill(p.grad->data(), p.grad->data() + p.grad->size(), 0.0f);
    const ConstMatrixView y = s->forward(x, Mode::train);
    const ConstMatrixView dx = s->backward(dy);
    r.y = Tensor(y.rows, y.cols);
    r.dx = Tensor(dx.rows, dx.cols);
    for (std::size_t i = 0; i < y.rows; ++i) std::memcpy(r.y.data() + i * y.cols, y.row(i), y.cols * sizeof(float));
    for (std::size_t i = 0; i < dx.rows; ++i) std::memcpy(r.dx.data() + i * dx.cols, dx.row(i), dx.cols * sizeof(float));
  }
  for (const Parameter& p : all_parameters(*s)) r.grads.insert(r.grads.end(), p.grad->data(), p.grad->data() + p.grad->size());
  return r;
}

TEST_F(Concurrency, LayerForwardBackwardOnSeparateInstances) {
  Tensor x(200, 96), dy(200, 40);
  fill_normal(x.view(), 0.0f, 1.0f, 11, 0);
  fill_normal(dy.view(), 0.0f, 1.0f, 11, 1);
  LayerResult expected;
  {
    ScopedThreads one(1);
    expected = run_stack(x.cview(), dy.cview());
  }
  std::atomic<int> bad{0};
  auto check = [&] {
    const LayerResult r = run_stack(x.cview(), dy.cview());
    if (!same_bits(r.y.cview(), expected.y.cview()) || !same_bits(r.dx.cview(), expected.dx.cview()) ||
        r.grads != expected.grads) {
      bad.fetch_add(1);
    }
  };
  user_parallel_for(8, [&](std::size_t) { check(); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back(check);
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// ---- inference on one shared model --------------------------------------------------------------

TEST_F(Concurrency, PredictorsShareOneModel) {
  const Model model = Model::from_spec(
      R"({"type": "mlp", "inputs": 48, "hidden": [256, 128], "outputs": 5, "batch_norm": true})");
  Tensor x(300, 48);
  fill_normal(x.view(), 0.0f, 1.0f, 12, 0);
  Tensor expected;
  {
    ScopedThreads one(1);
    expected = predict_proba(model, x.cview());
  }
  std::atomic<int> bad{0};
  auto check = [&](std::size_t batch) {
    Predictor predictor(model, batch);
    for (int rep = 0; rep < 2; ++rep) {
      if (!same_bits(predictor.predict_proba(x.cview()), expected.cview())) bad.fetch_add(1);
    }
  };
  user_parallel_for(8, [&](std::size_t i) {
    check(i % 2 == 0 ? 256 : 64);
    // A layer of the user's own work with simdnn GEMMs inside, while predictors run beside it.
    if (!cases_[3]->check()) bad.fetch_add(1);
  });
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 3; ++t) threads.emplace_back(check, 100 + t);
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace simdnn
