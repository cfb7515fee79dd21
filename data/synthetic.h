// Synthetic classification problems: scikit-learn's make_classification, on simdnn's RNG.
//
// The algorithm is scikit-learn's (sklearn.datasets.make_classification, after I. Guyon's design
// of the NIPS 2003 "Madelon" set), step for step:
//   1. n_clusters = n_classes · n_clusters_per_class centroids at distinct vertices of the
//      n_informative-dimensional hypercube with side 2·class_sep (vertices ±class_sep); with
//      hypercube = false each centroid is then multiplied by a random factor per cluster and per
//      dimension, both uniform in [0, 1).
//   2. Samples are spread over the clusters by class weight (each class's share split evenly over
//      its clusters, the remainder dealt round-robin) and stored cluster after cluster, cluster k
//      being class k % n_classes. A sample's informative features are standard normals times a
//      random matrix A_k (entries uniform in [-1, 1): the cluster's covariance) plus its centroid.
//   3. n_redundant features: the informative ones times a random matrix B (entries in [-1, 1]),
//      so each is an exact linear combination of the informative features.
//   4. n_repeated features: copies of columns drawn uniformly (with replacement) from the
//      informative and redundant ones.
//   5. The remaining features are standard normal noise.
//   6. Each label is replaced with probability flip_y by a class drawn uniformly (possibly the
//      same one), so a fraction of about flip_y·(1 − 1/n_classes) ends up wrong.
//   7. x = (x + shift) · scale per feature; shift / scale = std::nullopt draw one per feature,
//      uniform in [−class_sep, class_sep) and [1, 101) (scikit-learn's None).
//   8. With shuffle, the samples and then the features are randomly permuted; without, the
//      columns are in the order informative, redundant, repeated, noise and the samples are
//      grouped by cluster.
//
// Randomness: everything derives from `seed` through core/random.h (Philox): the standard normals
// of steps 2 and 5 are fill_normal on streams 1 and 2, the other draws come in order from
// Rng(seed, 0). The output is therefore fixed for a seed on every machine and thread count, but it
// is NOT the same as scikit-learn's for any random_state: numpy's generator is a different one, and
// matching it bit for bit is neither possible with simdnn's RNG nor a goal. Same distribution,
// different numbers.
//
// Differences from scikit-learn besides the generator: weights need not sum to 1 (they are
// normalized; scikit-learn uses them as given, which only differs when they do not sum to 1);
// shift and scale are one number for all features or random, not per-feature arrays; the
// features are float32 (computed in double, rounded once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <simdnn/data/labeled_data.h>

namespace simdnn {

// The defaults are scikit-learn's.
struct ClassificationOptions {
  std::size_t n_samples = 100;
  std::size_t n_features = 20;
  std::size_t n_informative = 2;
  std::size_t n_redundant = 2;
  std::size_t n_repeated = 0;
  std::size_t n_classes = 2;
  std::size_t n_clusters_per_class = 2;
  // Class proportions: empty = equal; n_classes entries, or n_classes − 1 with the last class
  // getting 1 − their sum. Each must be finite and >= 0.
  std::vector<double> weights = {};
  double flip_y = 0.01;  // in [0, 1]
  double class_sep = 1.0;
  bool hypercube = true;
  std::optional<double> shift = 0.0;  // nullopt: random per feature in [−class_sep, class_sep)
  std::optional<double> scale = 1.0;  // nullopt: random per feature in [1, 101)
  bool shuffle = true;
  std::uint64_t seed = 0;
};

// X (n_samples x n_features) and labels in [0, n_classes). Throws std::invalid_argument naming the
// argument and its value unless: n_samples >= 1, n_features >= 1, n_classes >= 1,
// n_clusters_per_class >= 1, n_informative + n_redundant + n_repeated <= n_features,
// n_classes · n_clusters_per_class <= 2^n_informative, n_repeated == 0 or
// n_informative + n_redundant >= 1, weights as above with a positive sum, flip_y in [0, 1],
// class_sep, shift and scale finite.
LabeledData make_classification(const ClassificationOptions& options);

}  // namespace simdnn
