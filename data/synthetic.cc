#include <simdnn/data/synthetic.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>

namespace simdnn {
namespace {

constexpr const char* kFn = "make_classification: ";

[[noreturn]] void invalid(const std::string& what) { throw std::invalid_argument(kFn + what); }

std::string num(double v) {
  std::string s = std::to_string(v);
  // std::to_string prints 6 decimals; drop the trailing zeros ("0.500000" -> "0.5").
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

// Class proportions, normalized to sum 1.
std::vector<double> class_weights(const ClassificationOptions& o) {
  std::vector<double> w = o.weights;
  if (w.empty()) return std::vector<double>(o.n_classes, 1.0 / static_cast<double>(o.n_classes));
  if (w.size() != o.n_classes && w.size() + 1 != o.n_classes) {
    invalid("weights has " + std::to_string(w.size()) + " entries, expected n_classes (" +
            std::to_string(o.n_classes) + ") or n_classes - 1");
  }
  double sum = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i]) || w[i] < 0) {
      invalid("weights[" + std::to_string(i) + "] must be finite and >= 0, got " + num(w[i]));
    }
    sum += w[i];
  }
  if (w.size() + 1 == o.n_classes) {
    const double last = 1.0 - sum;
    if (last < -1e-12) {
      invalid("weights has n_classes - 1 entries summing to " + num(sum) +
              " > 1, leaving a negative weight for the last class");
    }
    w.push_back(std::max(last, 0.0));
    sum += w.back();
  }
  if (!(sum > 0)) invalid("weights must have a positive sum, got " + num(sum));
  for (double& x : w) x /= sum;
  return w;
}

void validate(const ClassificationOptions& o) {
  if (o.n_samples < 1) invalid("n_samples must be >= 1, got 0");
  if (o.n_features < 1) invalid("n_features must be >= 1, got 0");
  if (o.n_classes < 1) invalid("n_classes must be >= 1, got 0");
  if (o.n_clusters_per_class < 1) invalid("n_clusters_per_class must be >= 1, got 0");
  std::size_t useful = 0;
  if (__builtin_add_overflow(o.n_informative, o.n_redundant, &useful) ||
      __builtin_add_overflow(useful, o.n_repeated, &useful) || useful > o.n_features) {
    invalid("n_informative (" + std::to_string(o.n_informative) + ") + n_redundant (" +
            std::to_string(o.n_redundant) + ") + n_repeated (" + std::to_string(o.n_repeated) +
            ") must be <= n_features (" + std::to_string(o.n_features) + ")");
  }
  std::size_t clusters = 0;
  const bool overflow = __builtin_mul_overflow(o.n_classes, o.n_clusters_per_class, &clusters);
  if (o.n_informative < 64 && (overflow || clusters > (std::uint64_t{1} << o.n_informative))) {
    invalid("n_classes (" + std::to_string(o.n_classes) + ") * n_clusters_per_class (" +
            std::to_string(o.n_clusters_per_class) + ") must be <= 2^n_informative = 2^" +
            std::to_string(o.n_informative) + " = " +
            std::to_string(std::uint64_t{1} << o.n_informative) +
            " (each cluster needs its own hypercube vertex)");
  }
  if (o.n_repeated > 0 && o.n_informative + o.n_redundant == 0) {
    invalid("n_repeated (" + std::to_string(o.n_repeated) +
            ") > 0 needs informative or redundant features to copy, but both are 0");
  }
  if (!(o.flip_y >= 0 && o.flip_y <= 1)) invalid("flip_y must be in [0, 1], got " + num(o.flip_y));
  if (!std::isfinite(o.class_sep)) invalid("class_sep must be finite, got " + num(o.class_sep));
  if (o.shift && !std::isfinite(*o.shift)) invalid("shift must be finite, got " + num(*o.shift));
  if (o.scale && !std::isfinite(*o.scale)) invalid("scale must be finite, got " + num(*o.scale));
}

// n distinct vertices of the d-dimensional unit hypercube, as rows of 0/1 (n x d), like
// scikit-learn's _generate_hypercube: the last min(d, 30) coordinates are the bits of distinct
// integers (most significant first), any coordinates before them independent random bits.
std::vector<std::uint8_t> hypercube_vertices(std::size_t n, std::size_t d, Rng& rng) {
  std::vector<std::uint8_t> out(n * d, 0);
  if (d == 0) return out;
  const std::size_t low = std::min<std::size_t>(d, 30);
  const std::size_t high = d - low;
  const std::uint64_t range = std::uint64_t{1} << low;
  std::vector<std::uint64_t> codes;
  codes.reserve(n);
  if (range <= 4 * static_cast<std::uint64_t>(n)) {
    // Dense: a partial Fisher–Yates shuffle of all codes.
    std::vector<std::uint64_t> all(range);
    std::iota(all.begin(), all.end(), std::uint64_t{0});
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = i + static_cast<std::size_t>(rng.uniform_int(range - i));
      std::swap(all[i], all[j]);
      codes.push_back(all[i]);
    }
  } else {
    std::unordered_set<std::uint64_t> seen;
    while (codes.size() < n) {
      const std::uint64_t c = rng.uniform_int(range);
      if (seen.insert(c).second) codes.push_back(c);
    }
  }
  for (std::size_t k = 0; k < n; ++k) {
    for (std::size_t j = 0; j < high; ++j) out[k * d + j] = rng.next_u32() & 1;
    for (std::size_t j = 0; j < low; ++j) {
      out[k * d + high + j] = static_cast<std::uint8_t>((codes[k] >> (low - 1 - j)) & 1);
    }
  }
  return out;
}

}  // namespace

LabeledData make_classification(const ClassificationOptions& o) {
  validate(o);
  const std::vector<double> weights = class_weights(o);
  const std::size_t n = o.n_samples;
  const std::size_t nf = o.n_features;
  const std::size_t ni = o.n_informative;
  const std::size_t nr = o.n_redundant;
  const std::size_t nrep = o.n_repeated;
  const std::size_t nu = nf - ni - nr - nrep;
  const std::size_t clusters = o.n_classes * o.n_clusters_per_class;
  const double sep = o.class_sep;

  Rng rng(o.seed, 0);

  // Samples per cluster.
  std::vector<std::size_t> per_cluster(clusters);
  std::size_t assigned = 0;
  for (std::size_t k = 0; k < clusters; ++k) {
    per_cluster[k] = static_cast<std::size_t>(static_cast<double>(n) * weights[k % o.n_classes] /
                                              static_cast<double>(o.n_clusters_per_class));
    assigned += per_cluster[k];
  }
  // Floors of a partition of n never sum above n; guard against rounding all the same.
  for (std::size_t k = 0; assigned > n; k = (k + 1) % clusters) {
    if (per_cluster[k] > 0) --per_cluster[k], --assigned;
  }
  for (std::size_t i = 0; assigned < n; ++i, ++assigned) ++per_cluster[i % clusters];

  // Centroids at hypercube vertices.
  const std::vector<std::uint8_t> vertices = hypercube_vertices(clusters, ni, rng);
  std::vector<double> centroids(clusters * ni);
  for (std::size_t i = 0; i < clusters * ni; ++i) centroids[i] = vertices[i] * 2 * sep - sep;
  if (!o.hypercube) {
    for (std::size_t k = 0; k < clusters; ++k) {
      const double f = rng.uniform();
      for (std::size_t j = 0; j < ni; ++j) centroids[k * ni + j] *= f;
    }
    for (std::size_t j = 0; j < ni; ++j) {
      const double f = rng.uniform();
      for (std::size_t k = 0; k < clusters; ++k) centroids[k * ni + j] *= f;
    }
  }

  // X in double; the features are rounded to float once, at the end.
  std::vector<double> x(n * nf, 0.0);
  std::vector<std::int32_t> y(n);

  // Informative features: standard normals through each cluster's random covariance.
  Tensor normals(n, ni);
  fill_normal(normals.view(), 0.0f, 1.0f, o.seed, 1);
  std::vector<double> a(ni * ni);
  std::size_t start = 0;
  for (std::size_t k = 0; k < clusters; ++k) {
    for (double& v : a) v = 2.0 * rng.uniform() - 1.0;
    const double* c = &centroids[k * ni];
    for (std::size_t s = start; s < start + per_cluster[k]; ++s) {
      y[s] = static_cast<std::int32_t>(k % o.n_classes);
      const float* z = normals.data() + s * ni;
      double* row = &x[s * nf];
      for (std::size_t j = 0; j < ni; ++j) row[j] = c[j];
      for (std::size_t i = 0; i < ni; ++i) {
        const double zi = z[i];
        const double* a_row = &a[i * ni];
        for (std::size_t j = 0; j < ni; ++j) row[j] += zi * a_row[j];
      }
    }
    start += per_cluster[k];
  }

  // Redundant features: linear combinations of the informative ones.
  if (nr > 0) {
    std::vector<double> b(ni * nr);
    for (double& v : b) v = 2.0 * rng.uniform() - 1.0;
    for (std::size_t s = 0; s < n; ++s) {
      double* row = &x[s * nf];
      for (std::size_t i = 0; i < ni; ++i) {
        const double xi = row[i];
        for (std::size_t j = 0; j < nr; ++j) row[ni + j] += xi * b[i * nr + j];
      }
    }
  }

  // Repeated features: copies of informative or redundant columns.
  if (nrep > 0) {
    const std::size_t sources = ni + nr;
    std::vector<std::size_t> from(nrep);
    for (std::size_t& f : from) {
      f = static_cast<std::size_t>(static_cast<double>(sources - 1) * rng.uniform() + 0.5);
    }
    for (std::size_t s = 0; s < n; ++s) {
      double* row = &x[s * nf];
      for (std::size_t j = 0; j < nrep; ++j) row[sources + j] = row[from[j]];
    }
  }

  // Noise features.
  if (nu > 0) {
    Tensor noise(n, nu);
    fill_normal(noise.view(), 0.0f, 1.0f, o.seed, 2);
    for (std::size_t s = 0; s < n; ++s) {
      for (std::size_t j = 0; j < nu; ++j) x[s * nf + (nf - nu) + j] = noise(s, j);
    }
  }

  // Label noise: draw the whole mask, then a class for each flipped sample.
  {
    std::vector<std::size_t> flipped;
    for (std::size_t s = 0; s < n; ++s) {
      if (rng.uniform() < o.flip_y) flipped.push_back(s);
    }
    for (std::size_t s : flipped) y[s] = static_cast<std::int32_t>(rng.uniform_int(o.n_classes));
  }

  // Shift, then scale.
  std::vector<double> shift(nf, o.shift.value_or(0.0));
  if (!o.shift) {
    for (double& v : shift) v = (2.0 * rng.uniform() - 1.0) * sep;
  }
  std::vector<double> scale(nf, o.scale.value_or(1.0));
  if (!o.scale) {
    for (double& v : scale) v = 1.0 + 100.0 * rng.uniform();
  }

  std::vector<std::size_t> rows(n), cols(nf);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  std::iota(cols.begin(), cols.end(), std::size_t{0});
  if (o.shuffle) {
    rows = rng.permutation(n);
    cols = rng.permutation(nf);
  }

  LabeledData out;
  out.features = Tensor(n, nf);
  out.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double* src = &x[rows[i] * nf];
    float* dst = out.features.data() + i * nf;
    for (std::size_t j = 0; j < nf; ++j) {
      const std::size_t c = cols[j];
      dst[j] = static_cast<float>((src[c] + shift[c]) * scale[c]);
    }
    out.labels[i] = y[rows[i]];
  }
  return out;
}

}  // namespace simdnn
