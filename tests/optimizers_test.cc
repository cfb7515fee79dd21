// Optimizers (train/optimizer.h), their SIMD update kernels (core/optimizer_update.h) and
// gradient clipping (train/clipping.h):
//  - every optimizer, 5 steps on two small parameters, against the same steps computed by hand in
//    double from PyTorch's formula (written out below, independently of core/reference), on
//    every ISA (one test instance each, skipped where this CPU lacks the ISA), state tensors
//    included;
//  - the kernels against core/reference/optimizer_reference.h over sizes with every vector tail,
//    every ISA (likewise), and split ranges giving the same bits as whole ones;
//  - 1 vs 2 threads bit-identical on a vector large enough to be cut into chunks;
//  - no heap allocation in step() after construction; state save / load; argument errors;
//  - clipping by global norm and by value.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/core/error.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/optimizer_update.h>
#include <simdnn/core/reference/optimizer_reference.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>
#include <simdnn/layers/layer.h>
#include <simdnn/train/clipping.h>
#include <simdnn/train/optimizer.h>
#include "tests/alloc_counter.h"
#include "tests/test_util.h"

namespace simdnn {
namespace {

using testing::Restore;
using testing::expect_throw_with;

// ---- hand-written formulas (PyTorch's torch.optim documentation), in double -----------------

using Vec = std::vector<double>;
// One parameter's state by slot name, as the optimizer names its state tensors.
using HandState = std::map<std::string, Vec>;
// Updates w in place as step t (1-based) with gradient g.
using HandStep = std::function<void(Vec& w, const Vec& g, HandState& s, int t)>;

Vec& slot(HandState& s, const char* name, std::size_t n, double init = 0.0) {
  auto it = s.find(name);
  if (it == s.end()) it = s.emplace(name, Vec(n, init)).first;
  return it->second;
}

HandStep hand_sgd(double lr, double momentum, double dampening, double wd, bool nesterov) {
  return [=](Vec& w, const Vec& g, HandState& s, int t) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      double d = g[i] + wd * w[i];
      if (momentum != 0) {
        Vec& b = slot(s, "momentum_buffer", w.size());
        b[i] = t == 1 ? d : momentum * b[i] + (1 - dampening) * d;
        d = nesterov ? d + momentum * b[i] : b[i];
      }
      w[i] -= lr * d;
    }
  };
}

HandStep hand_rmsprop(double lr, double alpha, double eps, double wd, double momentum,
                      bool centered) {
  return [=](Vec& w, const Vec& g, HandState& s, int) {
    Vec& v = slot(s, "square_avg", w.size());
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double d = g[i] + wd * w[i];
      v[i] = alpha * v[i] + (1 - alpha) * d * d;
      double avg = v[i];
      if (centered) {
        Vec& ga = slot(s, "grad_avg", w.size());
        ga[i] = alpha * ga[i] + (1 - alpha) * d;
        avg -= ga[i] * ga[i];
      }
      avg = std::sqrt(avg) + eps;
      if (momentum > 0) {
        Vec& b = slot(s, "momentum_buffer", w.size());
        b[i] = momentum * b[i] + d / avg;
        w[i] -= lr * b[i];
      } else {
        w[i] -= lr * d / avg;
      }
    }
  };
}

HandStep hand_adam(double lr, double b1, double b2, double eps, double wd, bool amsgrad,
                   bool decoupled) {
  return [=](Vec& w, const Vec& g, HandState& s, int t) {
    Vec& m = slot(s, "exp_avg", w.size());
    Vec& v = slot(s, "exp_avg_sq", w.size());
    for (std::size_t i = 0; i < w.size(); ++i) {
      double d = g[i];
      if (decoupled) {
        w[i] -= lr * wd * w[i];
      } else {
        d += wd * w[i];
      }
      m[i] = b1 * m[i] + (1 - b1) * d;
      v[i] = b2 * v[i] + (1 - b2) * d * d;
      const double m_hat = m[i] / (1 - std::pow(b1, t));
      double v_used = v[i];
      if (amsgrad) {
        Vec& vmax = slot(s, "max_exp_avg_sq", w.size());
        vmax[i] = std::max(vmax[i], v[i]);
        v_used = vmax[i];
      }
      const double v_hat = v_used / (1 - std::pow(b2, t));
      w[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  };
}

HandStep hand_adagrad(double lr, double lr_decay, double wd, double init, double eps) {
  return [=](Vec& w, const Vec& g, HandState& s, int t) {
    Vec& sum = slot(s, "sum", w.size(), init);
    const double clr = lr / (1 + (t - 1) * lr_decay);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double d = g[i] + wd * w[i];
      sum[i] += d * d;
      w[i] -= clr * d / (std::sqrt(sum[i]) + eps);
    }
  };
}

using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<Parameter>)>;

struct Case {
  std::string label;
  Factory make;
  HandStep hand;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  c.push_back({"sgd", [](auto p) { return std::make_unique<Sgd>(std::move(p), SgdOptions{.lr = 0.1}); },
               hand_sgd(0.1, 0, 0, 0, false)});
  c.push_back({"sgd_wd",
               [](auto p) {
                 return std::make_unique<Sgd>(std::move(p), SgdOptions{.lr = 0.1, .weight_decay = 0.05});
               },
               hand_sgd(0.1, 0, 0, 0.05, false)});
  c.push_back({"momentum",
               [](auto p) {
                 return std::make_unique<Momentum>(
                     std::move(p), MomentumOptions{.lr = 0.05, .momentum = 0.9, .dampening = 0.1,
                                                   .weight_decay = 0.01});
               },
               hand_sgd(0.05, 0.9, 0.1, 0.01, false)});
  c.push_back({"nesterov",
               [](auto p) {
                 return std::make_unique<Nesterov>(
                     std::move(p), NesterovOptions{.lr = 0.05, .momentum = 0.8, .weight_decay = 0.001});
               },
               hand_sgd(0.05, 0.8, 0, 0.001, true)});
  c.push_back({"rmsprop", [](auto p) { return std::make_unique<Rmsprop>(std::move(p)); },
               hand_rmsprop(0.01, 0.99, 1e-8, 0, 0, false)});
  c.push_back({"rmsprop_centered_momentum",
               [](auto p) {
                 return std::make_unique<Rmsprop>(
                     std::move(p), RmspropOptions{.lr = 0.02, .alpha = 0.9, .eps = 1e-6,
                                                  .weight_decay = 0.01, .momentum = 0.5,
                                                  .centered = true});
               },
               hand_rmsprop(0.02, 0.9, 1e-6, 0.01, 0.5, true)});
  c.push_back({"adam", [](auto p) { return std::make_unique<Adam>(std::move(p), AdamOptions{.lr = 0.01}); },
               hand_adam(0.01, 0.9, 0.999, 1e-8, 0, false, false)});
  c.push_back({"adam_wd_amsgrad",
               [](auto p) {
                 return std::make_unique<Adam>(
                     std::move(p), AdamOptions{.lr = 0.02, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6,
                                               .weight_decay = 0.1, .amsgrad = true});
               },
               hand_adam(0.02, 0.8, 0.99, 1e-6, 0.1, true, false)});
  c.push_back({"adamw", [](auto p) { return std::make_unique<AdamW>(std::move(p), AdamWOptions{.lr = 0.01, .weight_decay = 0.1}); },
               hand_adam(0.01, 0.9, 0.999, 1e-8, 0.1, false, true)});
  c.push_back({"adamw_amsgrad",
               [](auto p) {
                 return std::make_unique<AdamW>(std::move(p),
                                                AdamWOptions{.lr = 0.01, .amsgrad = true});
               },
               hand_adam(0.01, 0.9, 0.999, 1e-8, 0.01, true, true)});
  c.push_back({"adagrad", [](auto p) { return std::make_unique<Adagrad>(std::move(p), AdagradOptions{.lr = 0.1}); },
               hand_adagrad(0.1, 0, 0, 0, 1e-10)});
  c.push_back({"adagrad_decay",
               [](auto p) {
                 return std::make_unique<Adagrad>(
                     std::move(p), AdagradOptions{.lr = 0.1, .lr_decay = 0.1, .weight_decay = 0.01,
                                                  .initial_accumulator_value = 0.1});
               },
               hand_adagrad(0.1, 0.1, 0.01, 0.1, 1e-10)});
  return c;
}

// The gradient of element i at step t: varied signs and magnitudes, element 0 always zero.
float grad_at(std::size_t i, int t, std::size_t salt) {
  if (i == 0) return 0.0f;
  return static_cast<float>(std::sin(0.7 * static_cast<double>(i + 3 * salt) + 1.3 * t) *
                            (0.5 + 0.5 * static_cast<double>(i % 3)));
}

float init_at(std::size_t i, std::size_t salt) {
  if (i == 1) return 0.0f;
  return static_cast<float>(0.8 * std::cos(1.1 * static_cast<double>(i) + static_cast<double>(salt)));
}

// Run once per ISA (OptimizersPerIsa/sse2, /avx2, /avx512; skipped where the CPU lacks it).
class OptimizersPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(OptimizersPerIsa);

TEST_P(OptimizersPerIsa, MatchHandComputedStepsOnEveryIsa) {
  const Isa isa = GetParam();
  for (const Case& c : cases()) {
    SCOPED_TRACE(std::string(isa_name(isa)) + " " + c.label);
    // A 3x13 weight (tails for every vector width) and a 1x5 bias.
    Tensor w(3, 13), gw(3, 13), b(1, 5), gb(1, 5);
    Tensor* values[2] = {&w, &b};
    Tensor* grads[2] = {&gw, &gb};
    Vec hw[2];
    HandState hs[2];
    for (std::size_t p = 0; p < 2; ++p) {
      for (std::size_t i = 0; i < values[p]->size(); ++i) values[p]->data()[i] = init_at(i, p);
      hw[p].assign(values[p]->data(), values[p]->data() + values[p]->size());
    }
    auto opt = c.make({{"fc/weight", &w, &gw, true}, {"fc/bias", &b, &gb, false}});
    EXPECT_EQ(opt->name(), c.label.substr(0, c.label.find('_')));
    for (int t = 1; t <= 5; ++t) {
      for (std::size_t p = 0; p < 2; ++p) {
        Vec g(values[p]->size());
        for (std::size_t i = 0; i < g.size(); ++i) {
          grads[p]->data()[i] = grad_at(i, t, p);
          g[i] = grads[p]->data()[i];
        }
        c.hand(hw[p], g, hs[p], t);
      }
      opt->step();
      EXPECT_EQ(opt->step_count(), static_cast<std::uint64_t>(t));
      for (std::size_t p = 0; p < 2; ++p) {
        for (std::size_t i = 0; i < hw[p].size(); ++i) {
          const double want = hw[p][i];
          ASSERT_NEAR(values[p]->data()[i], want, 4e-6 * std::fmax(1.0, std::fabs(want)))
              << "param " << p << " element " << i << " step " << t;
        }
      }
    }
    // The state tensors, by name, against the hand-computed state.
    const OptimizerState st = opt->state();
    EXPECT_EQ(st.step, 5u);
    std::size_t expected_tensors = hs[0].size() + hs[1].size();
    EXPECT_EQ(st.tensors.size(), expected_tensors);
    for (const StateTensor& t : st.tensors) {
      const std::size_t p = t.name.rfind("fc/weight/", 0) == 0 ? 0 : 1;
      const std::string slot_name = t.name.substr(t.name.rfind('/') + 1);
      ASSERT_TRUE(hs[p].count(slot_name)) << t.name;
      const Vec& want = hs[p].at(slot_name);
      ASSERT_EQ(t.value->size(), want.size());
      for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(t.value->data()[i], want[i], 1e-5 * std::fmax(1.0, std::fabs(want[i])))
            << t.name << "[" << i << "]";
      }
    }
  }
}

TEST(Optimizers, LearningRateChangesTakeEffect) {
  Tensor w(1, 3), g(1, 3);
  for (int i = 0; i < 3; ++i) {
    w.data()[i] = 1.0f;
    g.data()[i] = 0.5f;
  }
  Sgd sgd({{"w", &w, &g, true}}, {.lr = 0.1});
  EXPECT_EQ(sgd.learning_rate(), 0.1);
  sgd.step();
  EXPECT_FLOAT_EQ(w(0, 0), 0.95f);
  sgd.set_learning_rate(1.0);
  sgd.step();
  EXPECT_FLOAT_EQ(w(0, 0), 0.45f);
  expect_throw_with("lr", [&] { sgd.set_learning_rate(-0.5); }, {"SGD", "lr is -0.5", ">= 0"});
  EXPECT_EQ(sgd.learning_rate(), 1.0);
}

// make_optimizer builds each named optimizer with PyTorch's defaults, the given lr, and refuses
// unknown names, listing the known ones.
TEST(Optimizers, MakeOptimizerByName) {
  Tensor w(1, 2), g(1, 2);
  for (const std::string& name : optimizer_names()) {
    const std::unique_ptr<Optimizer> o = make_optimizer(name, {{"w", &w, &g, true}}, 0.25);
    EXPECT_EQ(o->name(), name);
    EXPECT_EQ(o->learning_rate(), 0.25);
  }
  EXPECT_EQ(make_optimizer("adam", {{"w", &w, &g, true}})->learning_rate(), AdamOptions{}.lr);
  EXPECT_EQ(make_optimizer("sgd", {{"w", &w, &g, true}})->learning_rate(), SgdOptions{}.lr);
  expect_throw_with("unknown name", [&] { make_optimizer("adamax", {{"w", &w, &g, true}}); },
                    {"adamax", "expected one of sgd, momentum, nesterov, rmsprop, adam, adamw, adagrad"});
  expect_throw_with("bad lr", [&] { make_optimizer("adam", {{"w", &w, &g, true}}, -1.0); }, {"lr"});
}

// ---- kernels against the reference -----------------------------------------------------------

struct KernelCase {
  const char* label;
  std::function<void(std::uint64_t t, float* w, const float* g, float* s0, float* s1, float* s2,
                     std::size_t n)>
      kernel;
  std::function<void(std::uint64_t t, double* w, const double* g, double* s0, double* s1,
                     double* s2, std::size_t n)>
      reference;
  double s0_init = 0.0;
};

std::vector<KernelCase> kernel_cases() {
  std::vector<KernelCase> c;
  for (const bool nesterov : {false, true}) {
    const SgdOptions h{.lr = 0.1, .momentum = 0.9, .dampening = nesterov ? 0.0 : 0.2,
                               .weight_decay = 0.01, .nesterov = nesterov};
    c.push_back({nesterov ? "sgd_nesterov" : "sgd_momentum",
                 [h](std::uint64_t t, float* w, const float* g, float* s0, float*, float*, std::size_t n) {
                   sgd_update(h, t == 1, w, g, s0, n);
                 },
                 [h](std::uint64_t t, double* w, const double* g, double* s0, double*, double*, std::size_t n) {
                   reference::sgd_update(h, t == 1, w, g, s0, n);
                 }});
  }
  const SgdOptions plain{.lr = 0.1, .momentum = 0, .dampening = 0, .weight_decay = 0, .nesterov = false};
  c.push_back({"sgd_plain",
               [plain](std::uint64_t, float* w, const float* g, float*, float*, float*, std::size_t n) {
                 sgd_update(plain, false, w, g, nullptr, n);
               },
               [plain](std::uint64_t, double* w, const double* g, double* s0, double*, double*, std::size_t n) {
                 reference::sgd_update(plain, false, w, g, s0, n);
               }});
  for (const bool centered : {false, true}) {
    for (const double momentum : {0.0, 0.7}) {
      const RmspropOptions h{.lr = 0.01, .alpha = 0.9, .eps = 1e-8, .weight_decay = 0.02,
                                     .momentum = momentum, .centered = centered};
      c.push_back({"rmsprop",
                   [h](std::uint64_t, float* w, const float* g, float* s0, float* s1, float* s2, std::size_t n) {
                     rmsprop_update(h, w, g, s0, h.centered ? s1 : nullptr, h.momentum > 0 ? s2 : nullptr, n);
                   },
                   [h](std::uint64_t, double* w, const double* g, double* s0, double* s1, double* s2, std::size_t n) {
                     reference::rmsprop_update(h, w, g, s0, s1, s2, n);
                   }});
    }
  }
  for (const bool decoupled : {false, true}) {
    for (const bool amsgrad : {false, true}) {
      const AdamOptions h{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.05,
                          .amsgrad = amsgrad, .decoupled_weight_decay = decoupled};
      c.push_back({"adam",
                   [h](std::uint64_t t, float* w, const float* g, float* s0, float* s1, float* s2, std::size_t n) {
                     adam_update(h, t, w, g, s0, s1, h.amsgrad ? s2 : nullptr, n);
                   },
                   [h](std::uint64_t t, double* w, const double* g, double* s0, double* s1, double* s2, std::size_t n) {
                     reference::adam_update(h, t, w, g, s0, s1, s2, n);
                   }});
    }
  }
  const AdagradOptions ha{.lr = 0.1, .lr_decay = 0.05, .weight_decay = 0.01, .eps = 1e-10};
  c.push_back({"adagrad",
               [ha](std::uint64_t t, float* w, const float* g, float* s0, float*, float*, std::size_t n) {
                 adagrad_update(ha, t, w, g, s0, n);
               },
               [ha](std::uint64_t t, double* w, const double* g, double* s0, double*, double*, std::size_t n) {
                 reference::adagrad_update(ha, t, w, g, s0, n);
               },
               0.1});
  return c;
}

// Run once per ISA (OptimizerKernelsPerIsa/sse2, /avx2, /avx512; skipped where the CPU lacks it).
class OptimizerKernelsPerIsa : public testing::PerIsaTest {};
SIMDNN_INSTANTIATE_PER_ISA(OptimizerKernelsPerIsa);

TEST_P(OptimizerKernelsPerIsa, MatchReferenceOnEveryIsaAndSize) {
  const Isa isa = GetParam();
  const std::size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 1000};
  for (const KernelCase& kc : kernel_cases()) {
    for (const std::size_t n : sizes) {
      SCOPED_TRACE(std::string(isa_name(isa)) + " " + kc.label + " n=" + std::to_string(n));
      std::vector<float> w(n), g(n), s0(n, static_cast<float>(kc.s0_init)), s1(n), s2(n);
      std::vector<double> dw(n), dg(n), ds0(n, kc.s0_init), ds1(n), ds2(n);
      for (std::size_t i = 0; i < n; ++i) dw[i] = w[i] = init_at(i, n);
      for (std::uint64_t t = 1; t <= 3; ++t) {
        for (std::size_t i = 0; i < n; ++i) dg[i] = g[i] = grad_at(i, static_cast<int>(t), n);
        kc.kernel(t, w.data(), g.data(), s0.data(), s1.data(), s2.data(), n);
        kc.reference(t, dw.data(), dg.data(), ds0.data(), ds1.data(), ds2.data(), n);
      }
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_NEAR(w[i], dw[i], 2e-6 * std::fmax(1.0, std::fabs(dw[i]))) << i;
        ASSERT_NEAR(s0[i], ds0[i], 1e-5 * std::fmax(1.0, std::fabs(ds0[i]))) << i;
      }
    }
  }
}

TEST_P(OptimizerKernelsPerIsa, SplitRangesGiveTheSameBits) {
  const Isa isa = GetParam();
  constexpr std::size_t n = 203;
  for (const KernelCase& kc : kernel_cases()) {
    for (const std::size_t cut : {std::size_t{1}, std::size_t{13}, std::size_t{64}, std::size_t{100}}) {
      SCOPED_TRACE(std::string(isa_name(isa)) + " " + kc.label + " cut=" + std::to_string(cut));
      std::vector<float> a[4], b[4];
      for (auto* set : {a, b}) {
        set[0].resize(n);
        for (std::size_t i = 0; i < n; ++i) set[0][i] = init_at(i, 1);
        for (int k = 1; k < 4; ++k) set[k].assign(n, k == 1 ? static_cast<float>(kc.s0_init) : 0.0f);
      }
      std::vector<float> g(n);
      for (std::uint64_t t = 1; t <= 2; ++t) {
        for (std::size_t i = 0; i < n; ++i) g[i] = grad_at(i, static_cast<int>(t), 2);
        kc.kernel(t, a[0].data(), g.data(), a[1].data(), a[2].data(), a[3].data(), n);
        kc.kernel(t, b[0].data(), g.data(), b[1].data(), b[2].data(), b[3].data(), cut);
        kc.kernel(t, b[0].data() + cut, g.data() + cut, b[1].data() + cut, b[2].data() + cut,
                  b[3].data() + cut, n - cut);
      }
      for (int k = 0; k < 4; ++k) {
        ASSERT_EQ(std::memcmp(a[k].data(), b[k].data(), n * sizeof(float)), 0) << "array " << k;
      }
    }
  }
}

TEST(OptimizerKernels, NullStateAndStepErrors) {
  float w[4] = {}, g[4] = {};
  const AdamOptions h{.lr = 0.1, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0, .amsgrad = true};
  float m[4] = {}, v[4] = {};
  expect_throw_with("null", [&] { adam_update(h, 1, w, g, m, v, nullptr, 4); },
                    {"adam_update", "max_exp_avg_sq is null"});
  expect_throw_with("step", [&] { adam_update(h, 0, w, g, m, v, m, 4); }, {"step is 0"});
  const SgdOptions s{.lr = 0.1, .momentum = 0.9, .dampening = 0, .weight_decay = 0, .nesterov = false};
  expect_throw_with("sgd", [&] { sgd_update(s, true, w, g, nullptr, 4); }, {"momentum_buffer is null"});
  // n = 0 accepts null everywhere.
  sgd_update(s, true, nullptr, nullptr, nullptr, 0);
}

// ---- threads, allocation, state --------------------------------------------------------------

TEST(Optimizers, BitIdenticalAtOneAndTwoThreads) {
  Restore restore;
  constexpr std::size_t rows = 401, cols = 500;  // 200500 floats: 13 chunks, the last partial
  static_assert(rows * cols > kOptimizerParallelThreshold);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    Tensor result[2];
    std::vector<Tensor> states[2];
    for (int run = 0; run < 2; ++run) {
      set_num_threads(run + 1);
      Tensor w(rows, cols), g(rows, cols);
      for (std::size_t i = 0; i < w.size(); ++i) w.data()[i] = init_at(i, 3);
      auto opt = c.make({{"w", &w, &g, true}});
      for (int t = 1; t <= 3; ++t) {
        for (std::size_t i = 0; i < g.size(); ++i) g.data()[i] = grad_at(i, t, 4);
        opt->step();
      }
      result[run] = std::move(w);
      for (const StateTensor& st : opt->state().tensors) states[run].push_back(st.value->clone());
    }
    ASSERT_EQ(std::memcmp(result[0].data(), result[1].data(), result[0].size() * sizeof(float)), 0);
    ASSERT_EQ(states[0].size(), states[1].size());
    for (std::size_t k = 0; k < states[0].size(); ++k) {
      ASSERT_EQ(std::memcmp(states[0][k].data(), states[1][k].data(),
                            states[0][k].size() * sizeof(float)),
                0);
    }
  }
}

TEST(Optimizers, StepDoesNotAllocate) {
  Restore restore;
  set_num_threads(1);  // oneTBB's own task allocations are not ours to count
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    Tensor w(300, 300), gw(300, 300), b(1, 7), gb(1, 7);  // w: above the parallel threshold
    for (std::size_t i = 0; i < gw.size(); ++i) gw.data()[i] = grad_at(i, 1, 0);
    for (std::size_t i = 0; i < gb.size(); ++i) gb.data()[i] = grad_at(i, 1, 1);
    auto opt = c.make({{"w", &w, &gw, true}, {"b", &b, &gb, false}});
    opt->step();
    EXPECT_EQ(testing::allocations_during([&] {
                for (int t = 0; t < 3; ++t) opt->step();
              }),
              0);
  }
}

TEST(Optimizers, SaveAndLoadStateResumesExactly) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    auto fill = [](Tensor& w, Tensor& b) {
      for (std::size_t i = 0; i < w.size(); ++i) w.data()[i] = init_at(i, 5);
      for (std::size_t i = 0; i < b.size(); ++i) b.data()[i] = init_at(i, 6);
    };
    auto grads = [](Tensor& gw, Tensor& gb, int t) {
      for (std::size_t i = 0; i < gw.size(); ++i) gw.data()[i] = grad_at(i, t, 7);
      for (std::size_t i = 0; i < gb.size(); ++i) gb.data()[i] = grad_at(i, t, 8);
    };
    // Uninterrupted: 5 steps.
    Tensor w1(4, 9), gw1(4, 9), b1(1, 9), gb1(1, 9);
    fill(w1, b1);
    auto a = c.make({{"l/w", &w1, &gw1, true}, {"l/b", &b1, &gb1, false}});
    for (int t = 1; t <= 5; ++t) {
      grads(gw1, gb1, t);
      a->step();
    }
    // Interrupted after 2: a new optimizer loads the state (and the values) and goes on.
    Tensor w2(4, 9), gw2(4, 9), b2(1, 9), gb2(1, 9);
    fill(w2, b2);
    auto first = c.make({{"l/w", &w2, &gw2, true}, {"l/b", &b2, &gb2, false}});
    for (int t = 1; t <= 2; ++t) {
      grads(gw2, gb2, t);
      first->step();
    }
    Tensor w3 = w2.clone(), gw3(4, 9), b3 = b2.clone(), gb3(1, 9);
    auto second = c.make({{"l/w", &w3, &gw3, true}, {"l/b", &b3, &gb3, false}});
    second->load_state(first->state());
    EXPECT_EQ(second->step_count(), 2u);
    for (int t = 3; t <= 5; ++t) {
      grads(gw3, gb3, t);
      second->step();
    }
    ASSERT_EQ(std::memcmp(w1.data(), w3.data(), w1.size() * sizeof(float)), 0);
    ASSERT_EQ(std::memcmp(b1.data(), b3.data(), b1.size() * sizeof(float)), 0);
  }
}

TEST(Optimizers, StateNamesAndLoadErrors) {
  Tensor w(2, 3), gw(2, 3), b(1, 3), gb(1, 3);
  Adam adam({{"dense1/weight", &w, &gw, true}, {"dense1/bias", &b, &gb, false}},
            {.amsgrad = true});
  const OptimizerState st = adam.state();
  std::vector<std::string> names;
  for (const StateTensor& t : st.tensors) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "dense1/weight/exp_avg", "dense1/weight/exp_avg_sq",
                       "dense1/weight/max_exp_avg_sq", "dense1/bias/exp_avg",
                       "dense1/bias/exp_avg_sq", "dense1/bias/max_exp_avg_sq"}));
  Tensor other(3, 2);
  OptimizerState bad = adam.state();
  bad.tensors[1].value = &other;
  expect_throw_with("shape", [&] { adam.load_state(bad); },
                    {"Adam load_state", "dense1/weight/exp_avg_sq", "3x2", "expected 2x3"});
  OptimizerState missing = adam.state();
  missing.tensors.pop_back();
  expect_throw_with("missing", [&] { adam.load_state(missing); }, {"dense1/bias/max_exp_avg_sq", "missing"});
  OptimizerState extra = adam.state();
  extra.tensors.push_back({"dense2/weight/exp_avg", &other});
  expect_throw_with("extra", [&] { adam.load_state(extra); }, {"dense2/weight/exp_avg", "not part"});

  Sgd sgd({{"w", &w, &gw, true}});
  EXPECT_TRUE(sgd.state().tensors.empty());
  Momentum mom({{"w", &w, &gw, true}});
  ASSERT_EQ(mom.state().tensors.size(), 1u);
  EXPECT_EQ(mom.state().tensors[0].name, "w/momentum_buffer");
  Rmsprop rms({{"w", &w, &gw, true}}, {.momentum = 0.9, .centered = true});
  ASSERT_EQ(rms.state().tensors.size(), 3u);
  EXPECT_EQ(rms.state().tensors[1].name, "w/momentum_buffer");
  EXPECT_EQ(rms.state().tensors[2].name, "w/grad_avg");
  Adagrad ada({{"w", &w, &gw, true}}, {.initial_accumulator_value = 0.25});
  EXPECT_EQ(ada.state().tensors[0].value->data()[0], 0.25f);
}

TEST(Optimizers, HyperparameterAndParameterErrors) {
  Tensor w(2, 2), g(2, 2), g_bad(2, 3);
  auto params = [&] { return std::vector<Parameter>{{"w", &w, &g, true}}; };
  expect_throw_with("beta1", [&] { Adam(params(), {.beta1 = 1.0}); }, {"Adam: beta1 is 1", "[0, 1)"});
  expect_throw_with("beta2", [&] { AdamW(params(), {.beta2 = -0.1}); }, {"AdamW: beta2 is -0.1"});
  expect_throw_with("lr", [&] { Adam(params(), {.lr = -1e-3}); }, {"lr is -0.001"});
  expect_throw_with("eps", [&] { Adam(params(), {.eps = std::nan("")}); }, {"eps is nan"});
  expect_throw_with("alpha", [&] { Rmsprop(params(), {.alpha = 1.5}); }, {"RMSprop: alpha is 1.5"});
  expect_throw_with("momentum", [&] { Sgd(params(), {.momentum = -0.9}); }, {"SGD: momentum is -0.9"});
  expect_throw_with("nesterov", [&] { Sgd(params(), {.momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
                    {"nesterov", "dampening 0.1", "dampening = 0"});
  expect_throw_with("momentum0", [&] { Momentum(params(), {.momentum = 0.0}); },
                    {"Momentum: momentum is 0", "> 0"});
  expect_throw_with("nesterov0", [&] { Nesterov(params(), {.momentum = 0.0}); }, {"Nesterov: momentum is 0"});
  expect_throw_with("lr_decay", [&] { Adagrad(params(), {.lr_decay = -1}); }, {"Adagrad: lr_decay is -1"});
  expect_throw_with("wd", [&] { Adagrad(params(), {.weight_decay = -1}); }, {"weight_decay is -1"});
  expect_throw_with("grad shape", [&] { Sgd({{"w", &w, &g_bad, true}}); },
                    {"\"w\"", "grad 2x3", "expected 2x2"});
  expect_throw_with("null grad", [&] { Sgd({{"w", &w, nullptr, true}}); }, {"\"w\"", "null grad"});
  expect_throw_with("duplicate", [&] { Sgd({{"w", &w, &g, true}, {"w", &w, &g, true}}); },
                    {"parameter 1 is named \"w\"", "unique"});
  // A gradient reshaped after construction is caught before anything is updated.
  Tensor w2(2, 2), g2(2, 2);
  Adam adam({{"a", &w2, &g2, true}, {"b", &w, &g, true}});
  g = Tensor(1, 4);
  expect_throw_with("reshaped", [&] { adam.step(); }, {"Adam step", "\"b\"", "grad 1x4"});
  EXPECT_EQ(adam.step_count(), 0u);
}

// ---- clipping ---------------------------------------------------------------------------------

TEST(Clipping, ByGlobalNorm) {
  Tensor w1(1, 2), g1(1, 2), w2(1, 1), g2(1, 1);
  g1(0, 0) = 3.0f;
  g1(0, 1) = 4.0f;
  g2(0, 0) = 12.0f;
  const std::vector<Parameter> params = {{"a", &w1, &g1, true}, {"b", &w2, &g2, false}};
  EXPECT_DOUBLE_EQ(grad_norm(params), 13.0);
  // Below the limit: untouched.
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 20.0), 13.0);
  EXPECT_EQ(g1(0, 0), 3.0f);
  // Above: scaled by max_norm / (total + 1e-6), returns the norm before clipping.
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 6.5), 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_FLOAT_EQ(g1(0, 0), static_cast<float>(3.0 * coef));
  EXPECT_FLOAT_EQ(g1(0, 1), static_cast<float>(4.0 * coef));
  EXPECT_FLOAT_EQ(g2(0, 0), static_cast<float>(12.0 * coef));
  EXPECT_NEAR(grad_norm(params), 6.5, 1e-5);
  // A non-finite gradient: returned, nothing scaled.
  g2(0, 0) = std::numeric_limits<float>::infinity();
  const float before = g1(0, 0);
  EXPECT_TRUE(std::isinf(clip_grad_norm(params, 1.0)));
  EXPECT_EQ(g1(0, 0), before);
  expect_throw_with("max_norm", [&] { clip_grad_norm(params, -1.0); }, {"clip_grad_norm", "max_norm is -1"});
}

TEST(Clipping, ByGlobalNormIsThreadIndependent) {
  Restore restore;
  Tensor w(500, 300), g[2] = {Tensor(500, 300), Tensor(500, 300)};
  double norms[2];
  for (int run = 0; run < 2; ++run) {
    set_num_threads(run + 1);
    for (std::size_t i = 0; i < g[run].size(); ++i) g[run].data()[i] = grad_at(i, 1, 9);
    const std::vector<Parameter> params = {{"w", &w, &g[run], true}};
    norms[run] = clip_grad_norm(params, 1.0);
  }
  EXPECT_EQ(norms[0], norms[1]);
  EXPECT_EQ(std::memcmp(g[0].data(), g[1].data(), g[0].size() * sizeof(float)), 0);
}

TEST(Clipping, ByValue) {
  Tensor w(1, 5), g(1, 5);
  const float in[5] = {-3.0f, -0.5f, 0.0f, 0.75f, std::nanf("")};
  for (int i = 0; i < 5; ++i) g(0, i) = in[i];
  const std::vector<Parameter> params = {{"w", &w, &g, false}};
  clip_grad_value(params, 0.6);
  EXPECT_EQ(g(0, 0), -0.6f);
  EXPECT_EQ(g(0, 1), -0.5f);
  EXPECT_EQ(g(0, 2), 0.0f);
  EXPECT_EQ(g(0, 3), 0.6f);
  EXPECT_TRUE(std::isnan(g(0, 4)));
  expect_throw_with("value", [&] { clip_grad_value(params, -0.1); }, {"clip_grad_value", "clip_value is -0.1"});
}

}  // namespace
}  // namespace simdnn
