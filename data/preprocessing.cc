#include <simdnn/data/preprocessing.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include <simdnn/core/error.h>
#include <simdnn/core/random.h>

namespace simdnn {
namespace {

void check_data(const char* fn, const LabeledData& data) {
  if (data.features.rows() != data.labels.size()) {
    throw ShapeError(std::string(fn) + ": features are " +
                     shape_string(data.features.rows(), data.features.cols()) + " but there are " +
                     std::to_string(data.labels.size()) + " labels");
  }
}

// ceil(fraction · n), where a product within 1e-9 (relative) of an integer is that integer.
std::size_t fraction_count(const char* fn, const char* argument, double fraction, std::size_t n) {
  if (!(fraction > 0 && fraction < 1)) {
    throw std::invalid_argument(std::string(fn) + ": " + argument + " must be in (0, 1), got " +
                                std::to_string(fraction));
  }
  const double v = fraction * static_cast<double>(n);
  const double r = std::round(v);
  if (std::abs(v - r) <= 1e-9 * std::max(1.0, v)) return static_cast<std::size_t>(r);
  return static_cast<std::size_t>(std::ceil(v));
}

struct Parts {
  std::vector<std::size_t> taken;
  std::vector<std::size_t> rest;
};

// Takes `count` of the indices in `pool` at random; stratified, each class (label value) gives
// its share, rounded by largest remainders. Both parts come back in random order.
Parts split_off(const std::vector<std::size_t>& pool, std::span<const std::int32_t> labels,
                std::size_t count, bool stratify, Rng& rng) {
  Parts parts;
  if (!stratify) {
    std::vector<std::size_t> order = pool;
    rng.shuffle(order);
    parts.taken.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count));
    parts.rest.assign(order.begin() + static_cast<std::ptrdiff_t>(count), order.end());
    return parts;
  }
  std::map<std::int32_t, std::vector<std::size_t>> by_class;  // ordered by label
  for (std::size_t i : pool) by_class[labels[i]].push_back(i);
  const std::size_t n = pool.size();
  struct Quota {
    std::size_t take;
    std::size_t remainder;
    std::size_t order;
  };
  std::vector<Quota> quotas;
  std::size_t total = 0;
  for (const auto& [label, members] : by_class) {
    const unsigned __int128 product = static_cast<unsigned __int128>(count) * members.size();
    quotas.push_back({static_cast<std::size_t>(product / n), static_cast<std::size_t>(product % n),
                      quotas.size()});
    total += quotas.back().take;
  }
  std::vector<Quota*> by_remainder;
  for (Quota& q : quotas) by_remainder.push_back(&q);
  std::stable_sort(by_remainder.begin(), by_remainder.end(),
                   [](const Quota* a, const Quota* b) { return a->remainder > b->remainder; });
  for (std::size_t i = 0; total < count; ++i, ++total) ++by_remainder[i]->take;
  std::size_t c = 0;
  for (auto& [label, members] : by_class) {
    rng.shuffle(members);
    const auto split = members.begin() + static_cast<std::ptrdiff_t>(quotas[c++].take);
    parts.taken.insert(parts.taken.end(), members.begin(), split);
    parts.rest.insert(parts.rest.end(), split, members.end());
  }
  rng.shuffle(parts.taken);
  rng.shuffle(parts.rest);
  return parts;
}

std::vector<std::size_t> all_indices(std::size_t n) {
  std::vector<std::size_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

}  // namespace

LabeledData subset(const LabeledData& data, std::span<const std::size_t> indices) {
  check_data("subset", data);
  const std::size_t d = data.features.cols();
  LabeledData out;
  out.features = Tensor(indices.size(), d);
  out.labels.resize(indices.size());
  out.class_names = data.class_names;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::size_t r = indices[i];
    if (r >= data.size()) {
      throw std::out_of_range("subset: indices[" + std::to_string(i) + "] = " +
                              std::to_string(r) + " but there are only " +
                              std::to_string(data.size()) + " samples");
    }
    std::copy_n(data.features.data() + r * d, d, out.features.data() + i * d);
    out.labels[i] = data.labels[r];
  }
  return out;
}

TrainTestSplit train_test_split(const LabeledData& data, const SplitOptions& options) {
  constexpr const char* kFn = "train_test_split";
  check_data(kFn, data);
  const std::size_t n = data.size();
  const std::size_t test = options.test_count
                               ? *options.test_count
                               : fraction_count(kFn, "test_fraction", options.test_fraction, n);
  if (test < 1 || test >= n) {
    throw std::invalid_argument(std::string(kFn) + ": the test part would get " +
                                std::to_string(test) + " of " + std::to_string(n) +
                                " samples; both parts need at least one");
  }
  Rng rng(options.seed, 0);
  Parts parts = split_off(all_indices(n), data.labels, test, options.stratify, rng);
  return {subset(data, parts.rest), subset(data, parts.taken)};
}

TrainValidationTestSplit train_validation_test_split(const LabeledData& data, std::uint64_t seed,
                                                     bool stratify, double validation_fraction,
                                                     double test_fraction) {
  constexpr const char* kFn = "train_validation_test_split";
  check_data(kFn, data);
  const std::size_t n = data.size();
  const std::size_t test = fraction_count(kFn, "test_fraction", test_fraction, n);
  const std::size_t validation = fraction_count(kFn, "validation_fraction", validation_fraction, n);
  if (!(validation_fraction + test_fraction < 1) || test < 1 || validation < 1 ||
      test + validation >= n) {
    throw std::invalid_argument(
        std::string(kFn) + ": validation_fraction " + std::to_string(validation_fraction) +
        " and test_fraction " + std::to_string(test_fraction) + " of " + std::to_string(n) +
        " samples give " + std::to_string(validation) + " validation and " +
        std::to_string(test) + " test samples; every part needs at least one");
  }
  Rng rng(seed, 0);
  Parts first = split_off(all_indices(n), data.labels, test, stratify, rng);
  Parts second = split_off(first.rest, data.labels, validation, stratify, rng);
  return {subset(data, second.rest), subset(data, second.taken), subset(data, first.taken)};
}

void StandardScaler::fit(ConstMatrixView x) {
  check_view("StandardScaler::fit", "x", x);
  if (x.rows == 0) throw std::invalid_argument("StandardScaler::fit: x has no rows");
  std::vector<double> mean(x.cols, 0.0), var(x.cols, 0.0);
  std::vector<float> lo(x.row(0), x.row(0) + x.cols), hi = lo;
  for (std::size_t r = 0; r < x.rows; ++r) {
    const float* row = x.row(r);
    for (std::size_t c = 0; c < x.cols; ++c) {
      mean[c] += row[c];
      lo[c] = std::min(lo[c], row[c]);
      hi[c] = std::max(hi[c], row[c]);
    }
  }
  for (double& m : mean) m /= static_cast<double>(x.rows);
  for (std::size_t r = 0; r < x.rows; ++r) {
    const float* row = x.row(r);
    for (std::size_t c = 0; c < x.cols; ++c) {
      const double d = row[c] - mean[c];
      var[c] += d * d;
    }
  }
  scale_.assign(x.cols, 1.0);
  for (std::size_t c = 0; c < x.cols; ++c) {
    if (lo[c] != hi[c]) scale_[c] = std::sqrt(var[c] / static_cast<double>(x.rows));
  }
  mean_ = std::move(mean);
}

void StandardScaler::check(const char* operation, std::size_t cols) const {
  if (!fitted()) throw std::logic_error(std::string(operation) + ": the scaler is not fitted");
  if (cols != mean_.size()) {
    throw ShapeError(std::string(operation) + ": x has " + std::to_string(cols) +
                     " columns but the scaler was fitted on " + std::to_string(mean_.size()));
  }
}

StandardScaler::StandardScaler(std::vector<double> mean, std::vector<double> scale)
    : mean_(std::move(mean)), scale_(std::move(scale)) {
  if (mean_.empty() || mean_.size() != scale_.size()) {
    throw std::invalid_argument("StandardScaler: mean has " + std::to_string(mean_.size()) +
                                " values and scale " + std::to_string(scale_.size()) +
                                ", expected the same non-zero count");
  }
  for (std::size_t c = 0; c < mean_.size(); ++c) {
    if (!std::isfinite(mean_[c]) || !std::isfinite(scale_[c]) || !(scale_[c] > 0.0)) {
      throw std::invalid_argument("StandardScaler: column " + std::to_string(c) + " has mean " +
                                  std::to_string(mean_[c]) + " and scale " + std::to_string(scale_[c]) +
                                  ", expected a finite mean and a finite scale > 0");
    }
  }
}

void StandardScaler::transform_in_place(MatrixView x) const {
  check_view("StandardScaler::transform", "x", x);
  check("StandardScaler::transform", x.cols);
  for (std::size_t r = 0; r < x.rows; ++r) {
    float* row = x.row(r);
    for (std::size_t c = 0; c < x.cols; ++c) {
      row[c] = static_cast<float>((row[c] - mean_[c]) / scale_[c]);
    }
  }
}

Tensor StandardScaler::transform(ConstMatrixView x) const {
  check_view("StandardScaler::transform", "x", x);
  check("StandardScaler::transform", x.cols);
  Tensor out(x.rows, x.cols);
  for (std::size_t r = 0; r < x.rows; ++r) std::copy_n(x.row(r), x.cols, out.data() + r * x.cols);
  transform_in_place(out.view());
  return out;
}

Tensor StandardScaler::inverse_transform(ConstMatrixView x) const {
  check_view("StandardScaler::inverse_transform", "x", x);
  check("StandardScaler::inverse_transform", x.cols);
  Tensor out(x.rows, x.cols);
  for (std::size_t r = 0; r < x.rows; ++r) {
    const float* row = x.row(r);
    for (std::size_t c = 0; c < x.cols; ++c) {
      out(r, c) = static_cast<float>(row[c] * scale_[c] + mean_[c]);
    }
  }
  return out;
}

Tensor one_hot(std::span<const std::int32_t> labels, std::size_t classes) {
  if (classes < 1) throw std::invalid_argument("one_hot: classes must be >= 1, got 0");
  Tensor out(labels.size(), classes);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::int32_t label = labels[i];
    if (label < 0 || static_cast<std::size_t>(label) >= classes) {
      throw std::invalid_argument("one_hot: labels[" + std::to_string(i) + "] = " +
                                  std::to_string(label) + " is outside [0, " +
                                  std::to_string(classes) + ")");
    }
    out(i, static_cast<std::size_t>(label)) = 1.0f;
  }
  return out;
}

Tensor binary_targets(std::span<const std::int32_t> labels) {
  Tensor out(labels.size(), 1);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      throw std::invalid_argument("binary_targets: labels[" + std::to_string(i) + "] = " +
                                  std::to_string(labels[i]) + ", expected 0 or 1");
    }
    out(i, 0) = static_cast<float>(labels[i]);
  }
  return out;
}

}  // namespace simdnn
