// 1. activations: every activation and its derivative (the notebook's 2x3 figure and its
// ReLU-family comparison), computed by simdnn's own kernels, and the table of ranges — measured
// over a wide input range rather than copied from the text.
#include <cmath>
#include <limits>
#include <vector>

#include <simdnn/core/elementwise.h>
#include "experiments/report.h"

namespace simdnn::repro {
namespace {

void run(Experiment& e) {
  constexpr std::size_t kPoints = 1000;
  const ActivationSpec specs[] = {
      ActivationSpec::of(Activation::sigmoid), ActivationSpec::of(Activation::tanh), ActivationSpec::relu(),
      ActivationSpec::leaky_relu(0.01f),       ActivationSpec::elu(1.0f),           ActivationSpec::of(Activation::selu),
      ActivationSpec::of(Activation::gelu),    ActivationSpec::of(Activation::swish), ActivationSpec::of(Activation::softplus)};

  // f and f' on [-5, 5] (the notebook's grid), derivatives from simdnn's backward kernels.
  std::vector<float> x(kPoints), ones(kPoints, 1.0f), y(kPoints), dy(kPoints);
  for (std::size_t i = 0; i < kPoints; ++i) x[i] = -5.0f + 10.0f * static_cast<float>(i) / (kPoints - 1);
  std::vector<std::string> columns = {"x"};
  std::vector<std::vector<double>> rows(kPoints);
  for (std::size_t i = 0; i < kPoints; ++i) rows[i].push_back(x[i]);
  for (const ActivationSpec& a : specs) {
    activation_forward(a, x.data(), y.data(), kPoints);
    activation_backward(a, x.data(), y.data(), ones.data(), dy.data(), kPoints);
    columns.push_back(activation_name(a.kind));
    columns.push_back(std::string("d_") + activation_name(a.kind));
    for (std::size_t i = 0; i < kPoints; ++i) {
      rows[i].push_back(y[i]);
      rows[i].push_back(dy[i]);
    }
  }
  e.csv("curves", columns, rows);

  Figure grid{"Activation functions (top) and their derivatives (bottom)", 2, 3, {}};
  for (const char* name : {"sigmoid", "tanh", "relu"}) grid.panels.push_back({name, "$x$", "$f(x)$", {{"curves", "x", name, name}}});
  for (const char* name : {"sigmoid", "tanh", "relu"}) {
    grid.panels.push_back({std::string(name) + "'", "$x$", "$f'(x)$", {{"curves", "x", std::string("d_") + name, name}}});
  }
  e.figure("grid", grid);
  Figure family{"ReLU-like functions", 1, 2, {}};
  Panel values{"$f(x)$", "$x$", "$f(x)$", {}};
  Panel derivatives{"$f'(x)$", "$x$", "$f'(x)$", {}};
  for (const char* name : {"relu", "leaky_relu", "elu", "selu", "gelu", "swish"}) {
    values.series.push_back({"curves", "x", name, name});
    derivatives.series.push_back({"curves", "x", std::string("d_") + name, name});
  }
  family.panels = {values, derivatives};
  e.figure("relu_family", family);

  // Ranges, measured: the infimum and supremum of f over [-80, 80] and the largest |f'|.
  constexpr std::size_t kWide = 160001;
  std::vector<float> wx(kWide), wy(kWide), wones(kWide, 1.0f), wd(kWide);
  for (std::size_t i = 0; i < kWide; ++i) wx[i] = -80.0f + 160.0f * static_cast<float>(i) / (kWide - 1);
  Table ranges({"function", "min f on [-80, 80]", "max f on [-80, 80]", "max abs f'", "f'(0)", "negative outputs"});
  for (const ActivationSpec& a : specs) {
    activation_forward(a, wx.data(), wy.data(), kWide);
    activation_backward(a, wx.data(), wy.data(), wones.data(), wd.data(), kWide);
    double lo = INFINITY, hi = -INFINITY, dmax = 0.0;
    for (std::size_t i = 0; i < kWide; ++i) {
      lo = std::min<double>(lo, wy[i]);
      hi = std::max<double>(hi, wy[i]);
      dmax = std::max<double>(dmax, std::abs(wd[i]));
    }
    float zero = 0.0f, f0 = 0.0f, one = 1.0f, d0 = 0.0f;
    activation_forward(a, &zero, &f0, 1);
    activation_backward(a, &zero, &f0, &one, &d0, 1);
    ranges.add_row({activation_name(a.kind), fmt(lo), fmt(hi, 2), fmt(dmax), fmt(d0), lo < 0 ? "yes" : "no"});
  }
  e.table("ranges", "Ranges and derivative bounds of each activation (measured)", ranges);
  e.note(
      "The maximum of σ' is 0.25 (at 0), so a chain of n sigmoid layers scales the gradient by at "
      "most 0.25ⁿ before the weights are counted; tanh' peaks at 1 and ReLU' is exactly 1 for x > 0. "
      "The notebook states the ranges in a table; here they are measured with simdnn's kernels "
      "(ReLU's derivative at 0 is taken as 0, as in the notebook and PyTorch).");
}

const bool registered = register_experiment(
    10, {"activations", "1. Activation functions",
         "each activation and its derivative; the ReLU family; the table of ranges", run});

}  // namespace
}  // namespace simdnn::repro
