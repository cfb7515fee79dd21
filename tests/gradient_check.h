// Finite-difference gradient checks for layers (tests only).
//
// The scalar checked is L = Σ r ⊙ y, with y = layer.forward(x, Mode::train) and a fixed random r
// (standard normals), accumulated in double. backward(r) then gives dL/dx and adds dL/dθ into the
// parameter gradients. Every element v of x and of every parameter is perturbed to fl(v ± h) and
// compared with the central difference (L(v⁺) − L(v⁻)) / (v⁺ − v⁻), dividing by the perturbation
// actually applied (fl(v + h) − v is not exactly h).
//
// Tolerance: |analytic − numeric| <= atol + rtol·max(|analytic|, |numeric|).
//  - Truncation: the central difference is off by h²/6·∂³L ≈ 2e-5·∂³L at h = 1e-2, far below
//    rtol = 1e-2 for the O(1) data used here.
//  - Rounding: the forward runs in float (u = 6e-8). With |r|, |y| = O(1) over N ≈ 30 outputs and
//    dot products of k ≲ 16 terms, L carries an absolute error of at most ~N·k·u ≈ 3e-5 (typically
//    ~100x less: the errors have random signs), so the difference quotient is noisy by at most
//    ~3e-5 / (2h) ≈ 1.5e-3 at h = 1e-2 — hence the absolute floor atol = 2e-3 for gradients that
//    are near 0, where a relative test means nothing.
//  A wrong backward (a missing term, a transposed matrix, a wrong scale) is off by O(1).
//
// Kinks (ReLU-like activations): a central difference whose interval straddles a kink measures
// neither one-sided derivative. Callers first nudge their data away from kinks where they can
// (tests/layers_test.cc). Inside blocks, where a BatchNorm output can sit near a ReLU's kink,
// `max_kink_fraction` > 0 accepts an element whose central difference fails if a one-sided
// difference, (L(v⁺) − L(v)) or (L(v) − L(v⁻)) over its step, matches instead (the side that does
// not cross the kink is an ordinary difference quotient, with truncation error h·∂²L/2, so it is
// compared with the looser `one_sided_rtol`), and the fraction of elements accepted that way must
// stay below max_kink_fraction.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/layers/layer.h>

namespace simdnn::testing {

struct GradCheckOptions {
  double h = 1e-2;
  double rtol = 1e-2;
  double atol = 2e-3;
  // See above; 0 means every element must pass the central difference.
  double max_kink_fraction = 0.0;
  double one_sided_rtol = 5e-2;
  // Called before every forward (e.g. to rewind a Dropout's step so all forwards use one mask).
  std::function<void()> before_forward = nullptr;
  // Extra floats between rows of the input view (tests strided inputs).
  std::size_t input_ld_padding = 0;
  std::uint64_t seed = 1234;  // of r
};

// Runs the check on `layer` with input `x` (rows x layer.input_width()); reports every mismatch
// (the first 10 of each tensor in full) through gtest.
inline void check_gradients(Layer& layer, const Tensor& x, const GradCheckOptions& o = {}) {
  const std::size_t m = x.rows();
  const std::size_t in = layer.input_width();
  const std::size_t out = layer.output_width();
  ASSERT_EQ(x.cols(), in);

  // The input, possibly strided.
  const std::size_t ld = in + o.input_ld_padding;
  Tensor storage(m, ld);
  for (std::size_t r = 0; r < m; ++r) {
    for (std::size_t c = 0; c < in; ++c) storage(r, c) = x(r, c);
  }
  const MatrixView xv{storage.data(), m, in, ld};

  Tensor weights(m, out);
  fill_normal(weights.view(), 0.0f, 1.0f, o.seed, 0);

  auto loss = [&]() {
    if (o.before_forward) o.before_forward();
    const ConstMatrixView y = layer.forward(xv, Mode::train);
    double sum = 0.0;
    for (std::size_t r = 0; r < m; ++r) {
      for (std::size_t c = 0; c < out; ++c) {
        sum += static_cast<double>(weights(r, c)) * static_cast<double>(y(r, c));
      }
    }
    return sum;
  };

  // Analytic gradients.
  zero_grad(layer);
  const double base = loss();
  const ConstMatrixView dx_view = layer.backward(weights.cview());
  ASSERT_EQ(dx_view.rows, m);
  ASSERT_EQ(dx_view.cols, in);
  Tensor dx(m, in);
  for (std::size_t r = 0; r < m; ++r) {
    for (std::size_t c = 0; c < in; ++c) dx(r, c) = dx_view(r, c);
  }
  std::vector<Parameter> params = all_parameters(layer);
  std::vector<Tensor> grads;
  for (const Parameter& p : params) grads.push_back(p.grad->clone());

  std::size_t checked = 0, kinks = 0;
  // Perturbs *v, compares with `analytic`.
  auto check = [&](float* v, double analytic, const std::string& what, std::size_t index,
                   int& reported) {
    const float orig = *v;
    const float plus = static_cast<float>(orig + o.h);
    const float minus = static_cast<float>(orig - o.h);
    *v = plus;
    const double lp = loss();
    *v = minus;
    const double lm = loss();
    *v = orig;
    const double numeric = (lp - lm) / (static_cast<double>(plus) - static_cast<double>(minus));
    auto close = [&](double num, double rtol) {
      return std::abs(analytic - num) <= o.atol + rtol * std::max(std::abs(analytic), std::abs(num));
    };
    ++checked;
    if (close(numeric, o.rtol)) return;
    if (o.max_kink_fraction > 0.0) {
      const double forward = (lp - base) / (static_cast<double>(plus) - orig);
      const double backward = (base - lm) / (orig - static_cast<double>(minus));
      if (close(forward, o.one_sided_rtol) || close(backward, o.one_sided_rtol)) {
        ++kinks;
        return;
      }
    }
    if (reported++ < 10) {
      ADD_FAILURE() << layer.kind() << " \"" << layer.name() << "\": d/d" << what << "[" << index
                    << "]: backward gives " << analytic << ", central difference " << numeric;
    }
  };

  int reported = 0;
  for (std::size_t r = 0; r < m; ++r) {
    for (std::size_t c = 0; c < in; ++c) {
      check(&xv(r, c), dx(r, c), "x", r * in + c, reported);
    }
  }
  for (std::size_t k = 0; k < params.size(); ++k) {
    reported = 0;
    Tensor& value = *params[k].value;
    for (std::size_t i = 0; i < value.size(); ++i) {
      check(value.data() + i, grads[k].data()[i], params[k].name, i, reported);
    }
  }
  if (kinks != 0) {
    std::cout << "[   NOTE   ] " << kinks << " of " << checked
              << " elements matched a one-sided difference only (a kink within h)\n";
  }
  EXPECT_LE(static_cast<double>(kinks), o.max_kink_fraction * static_cast<double>(checked))
      << kinks << " of " << checked << " elements matched only a one-sided difference";
  // Leaves the layer's parameter gradients as backward computed them.
  for (std::size_t k = 0; k < params.size(); ++k) {
    std::copy(grads[k].data(), grads[k].data() + grads[k].size(), params[k].grad->data());
  }
}

}  // namespace simdnn::testing
