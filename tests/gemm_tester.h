// GemmTester: runs one GEMM configuration on simdnn::gemm and on the double-precision
// reference, and checks every element against an error bound derived from the shape.
//
//   GemmTester().m(5).n(17).k(3).trans_a(Trans::yes).ld_pad(3).beta(0.5f).test();
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <simdnn/core/gemm.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/reference/gemm_reference.h>
#include <simdnn/core/threading.h>

namespace simdnn {

class GemmTester {
 public:
  GemmTester& m(std::size_t v) { m_ = v; return *this; }
  GemmTester& n(std::size_t v) { n_ = v; return *this; }
  GemmTester& k(std::size_t v) { k_ = v; return *this; }
  GemmTester& trans_a(Trans v) { trans_a_ = v; return *this; }
  GemmTester& trans_b(Trans v) { trans_b_ = v; return *this; }
  GemmTester& alpha(float v) { alpha_ = v; return *this; }
  GemmTester& beta(float v) { beta_ = v; return *this; }
  // Extra floats between rows of A, B and C (leading dimension = width + pad).
  GemmTester& ld_pad(std::size_t v) { ld_pad_ = v; return *this; }
  GemmTester& bias(bool v) { bias_ = v; return *this; }
  GemmTester& activation(ActivationSpec v) { activation_ = v; return *this; }
  GemmTester& seed(std::uint32_t v) { seed_ = v; return *this; }

  std::string describe() const {
    return "m=" + std::to_string(m_) + " n=" + std::to_string(n_) + " k=" + std::to_string(k_) +
           " ta=" + std::to_string(trans_a_ == Trans::yes) + " tb=" + std::to_string(trans_b_ == Trans::yes) +
           " alpha=" + std::to_string(alpha_) + " beta=" + std::to_string(beta_) +
           " pad=" + std::to_string(ld_pad_) + " bias=" + std::to_string(bias_) +
           " act=" + activation_name(activation_.kind) + " isa=" + isa_name() +
           " threads=" + std::to_string(num_threads());
  }

  // Runs simdnn::gemm and the reference on the same random inputs and compares them.
  void test() const {
    const std::size_t a_rows = trans_a_ == Trans::no ? m_ : k_;
    const std::size_t a_cols = trans_a_ == Trans::no ? k_ : m_;
    const std::size_t b_rows = trans_b_ == Trans::no ? k_ : n_;
    const std::size_t b_cols = trans_b_ == Trans::no ? n_ : k_;
    std::mt19937 rng(seed_);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    auto fill = [&](std::vector<float>& v) { for (float& x : v) x = dist(rng); };
    std::vector<float> a(a_rows * (a_cols + ld_pad_) + 1), b(b_rows * (b_cols + ld_pad_) + 1);
    std::vector<float> c(m_ * (n_ + ld_pad_) + 1), bias(n_);
    fill(a);
    fill(b);
    fill(c);
    fill(bias);
    if (beta_ == 0.0f) {
      for (float& x : c) x = std::numeric_limits<float>::quiet_NaN();  // must not be read
    }
    std::vector<float> c_ref = c;
    const ConstMatrixView av{a.data(), a_rows, a_cols, a_cols + ld_pad_};
    const ConstMatrixView bv{b.data(), b_rows, b_cols, b_cols + ld_pad_};
    const MatrixView cv{c.data(), m_, n_, n_ + ld_pad_};
    const MatrixView cv_ref{c_ref.data(), m_, n_, n_ + ld_pad_};
    GemmEpilogue ep;
    ep.bias = bias_ ? bias.data() : nullptr;
    ep.activation = activation_;
    gemm(trans_a_, trans_b_, alpha_, av, bv, beta_, cv, ep);
    reference::gemm(trans_a_, trans_b_, alpha_, av, bv, beta_, cv_ref, ep);

    // Float accumulation of k products, against exact: |err| <= k·eps·Σ|a||b| (Higham, Thm 3.5)
    // up to a factor; we allow 2·(k + 2)·eps times the absolute sum, after the activation's
    // Lipschitz bound (< 2 for every activation here) and its own rounding (1e-5 relative).
    const double eps = std::numeric_limits<float>::epsilon();
    for (std::size_t i = 0; i < m_; ++i) {
      for (std::size_t j = 0; j < n_; ++j) {
        double abs_sum = 0.0;
        for (std::size_t p = 0; p < k_; ++p) {
          const double x = trans_a_ == Trans::no ? av(i, p) : av(p, i);
          const double y = trans_b_ == Trans::no ? bv(p, j) : bv(j, p);
          abs_sum += std::abs(x * y);
        }
        double magnitude = std::abs(alpha_) * abs_sum + 1.0;
        const double tol = 2.0 * (2.0 * (k_ + 2) * eps * magnitude) +
                           1e-5 * std::abs(static_cast<double>(cv_ref(i, j))) + 1e-6;
        ASSERT_NEAR(cv(i, j), cv_ref(i, j), tol) << describe() << " at (" << i << ", " << j << ")";
      }
    }
    // Padding between rows must be untouched.
    for (std::size_t i = 0; i < m_; ++i) {
      for (std::size_t j = n_; j < n_ + ld_pad_; ++j) {
        const float got = c[i * (n_ + ld_pad_) + j];
        const float want = c_ref[i * (n_ + ld_pad_) + j];
        ASSERT_TRUE(got == want || (std::isnan(got) && std::isnan(want))) << describe() << " wrote padding";
      }
    }
  }

 private:
  std::size_t m_ = 1, n_ = 1, k_ = 1, ld_pad_ = 0;
  Trans trans_a_ = Trans::no, trans_b_ = Trans::no;
  float alpha_ = 1.0f, beta_ = 0.0f;
  bool bias_ = false;
  ActivationSpec activation_ = ActivationSpec::identity();
  std::uint32_t seed_ = 1;
};

}  // namespace simdnn
