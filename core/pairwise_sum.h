// PairwiseSum: the sum of a sequence of equal-shape vectors v_0, v_1, ... (each a list of parts:
// tensors, or std::vectors) in the order of a complete binary tree over their positions,
// ((v0 + v1) + (v2 + v3)) + ..., computed as they arrive with one buffer per tree level (a binary
// counter: pushing v_i merges the finished subtrees of equal size); a count that is not a power
// of two ends with its complete subtrees added smallest first (result()). The trainer sums the
// gradients of a step's chunks this way, so that a rank holding an aligned run of chunks computes
// exactly one subtree (train/collective.h); so do Dense and Conv2D when they sum a batch's chunks
// inside one backward (Layer::set_gradient_chunks, layers/gradient_chunk_sum.h).
// gemm_depth_chunks evaluates the same order with its own buffers (core/gemm.cc; tests compare
// it with this class).
//
// push() takes each part's storage by swapping it with the sum's own buffer (no copy); the
// caller's parts come back with stale values of the same shapes, to be overwritten. Parts are
// Tensors (core/tensor.h) or std::vector<T>; add_parts(lower, upper) adds element by element.
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <simdnn/core/tensor.h>

namespace simdnn::internal {

inline Tensor zeroed_like(const Tensor& t) { return Tensor(t.rows(), t.cols()); }
template <class T>
std::vector<T> zeroed_like(const std::vector<T>& v) {
  return std::vector<T>(v.size());
}
inline bool same_shape(const Tensor& a, const Tensor& b) { return a.rows() == b.rows() && a.cols() == b.cols(); }
template <class T>
bool same_shape(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size();
}
// lower[i] += upper[i] (addition commutes, so which one is lower does not change the bits). The
// Tensor overload is the vectorized add of core/elementwise.h (defined in elementwise.cc), under
// the denormal policy (core/denormals.h) like every float sum of a step's tree, within a rank
// (gemm_depth_chunks) and across ranks (the collectives).
void add_parts(Tensor& lower, const Tensor& upper);
template <class T>
void add_parts(std::vector<T>& lower, const std::vector<T>& upper) {
  auto* out = lower.data();
  const auto* in = upper.data();
  for (std::size_t i = 0, n = lower.size(); i < n; ++i) out[i] += in[i];
}

// Throws std::invalid_argument unless the ends of a step's chunks increase strictly from above 0
// (chunk c is [ends[c-1], ends[c]), ends[-1] = 0); the message starts with name(), called only
// then.
template <class Name>
void check_chunk_ends(std::span<const std::size_t> ends, const Name& name) {
  for (std::size_t i = 0; i < ends.size(); ++i) {
    const std::size_t previous = i == 0 ? 0 : ends[i - 1];
    if (ends[i] <= previous) {
      throw std::invalid_argument(std::string(name()) + ": chunk end " + std::to_string(i) + " is " +
                                  std::to_string(ends[i]) + ", expected more than " + std::to_string(previous) +
                                  " (the ends increase strictly from above 0)");
    }
  }
}

// PairwiseSum's order over `count` vectors held elsewhere (complete trees over the runs that the
// binary digits of the count cut, the runs' sums added smallest first), evaluated depth first
// into buffers by level: product(i, level, beta) stores (beta 0) or adds (beta 1) vector i in
// buffer `level`, add(lower, upper) adds buffer upper to buffer lower, and the total ends in
// buffer 0. With fuse_pairs, a pair's second product is added straight onto the first's buffer
// instead of into its own: exact where the product's store computes the pair's sum with one
// rounding. gemm_depth_chunks (core/gemm.cc) sums its chunks' products with it, GradientChunkSum
// its chunks' gradients (layers/gradient_chunk_sum.h); tests compare both with PairwiseSum.
//
// The buffers it uses, pairwise_tree_levels(count): a complete tree of 2^a vectors takes levels
// d .. d + a. A power of two is one run, at level 0: a + 1 buffers. Otherwise the runs after the
// first evaluated (the smallest, at level 0) start at level 1, the largest of them 2^a vectors
// (a = floor(log2 count)): a + 2 buffers.
inline std::size_t pairwise_tree_levels(std::size_t count) {
  std::size_t a = 0;
  while ((std::size_t{2} << a) <= count) ++a;
  return (count & (count - 1)) == 0 ? a + 1 : a + 2;
}

template <class Product, class Add>
void pairwise_tree_sum(std::size_t count, bool fuse_pairs, const Product& product, const Add& add) {
  // The complete tree over vectors [first, first + n) (n a power of two) into buffer d.
  auto tree = [&](auto& self, std::size_t first, std::size_t n, std::size_t d) -> void {
    if (n == 1) {
      product(first, d, 0.0f);
    } else if (n == 2 && fuse_pairs) {
      product(first, d, 0.0f);
      product(first + 1, d, 1.0f);
    } else {
      self(self, first, n / 2, d);
      self(self, first + n / 2, n / 2, d + 1);
      add(d, d + 1);
    }
  };
  // The runs, largest first: T1 + (T2 + (... + Tr)), from the last run back.
  std::size_t end = count;
  for (std::size_t bit = 1; bit <= count; bit *= 2) {
    if ((count & bit) == 0) continue;
    tree(tree, end - bit, bit, end == count ? 0 : 1);
    if (end != count) add(0, 1);
    end -= bit;
  }
}

template <class Part>
class PairwiseSum {
 public:
  // Starts a new sum (buffers are kept and reused).
  void reset() { counts_.clear(); }

  // Adds the vector made of `parts` to the sum (swapping their storage in, see above).
  void push(std::span<Part* const> parts) {
    begin_push(parts);
    for (std::size_t i = 0; i < parts.size(); ++i) push_part(i);
    end_push();
  }

  // push() part by part, to use each part's sum as soon as its part is ready: begin_push(parts),
  // then push_part(i) once for every part, in any order, then end_push(). push_part(i) returns
  // part i's sum over the finished subtree the new vector joins (the whole sum, when this push
  // completes the tree); the `parts` must stay valid until end_push().
  void begin_push(std::span<Part* const> parts) {
    const std::size_t depth = counts_.size();
    if (levels_.size() <= depth) levels_.emplace_back();
    std::vector<Part>& level = levels_[depth];
    if (!fits(level, parts)) {
      level.clear();
      for (const Part* p : parts) level.push_back(zeroed_like(*p));
    }
    pushing_.assign(parts.begin(), parts.end());
    merges_ = 0;  // the finished subtrees of sizes 1, 2, 4, ... on top merge with the new vector
    for (std::size_t at = depth, size = 1; at > 0 && counts_[at - 1] == size; --at, size *= 2) ++merges_;
  }
  Part& push_part(std::size_t i) {
    const std::size_t depth = counts_.size();
    std::swap(levels_[depth][i], *pushing_[i]);
    for (std::size_t m = 0; m < merges_; ++m) add_parts(levels_[depth - 1 - m][i], levels_[depth - m][i]);
    return levels_[depth - merges_][i];
  }
  void end_push() {
    counts_.push_back(1);
    for (std::size_t m = 0; m < merges_; ++m) {
      counts_.pop_back();
      counts_.back() *= 2;
    }
    pushing_.clear();
  }

  // The sum, one Part per part. A power of two of vectors is one complete tree; any other count
  // n is summed as its binary digits cut it, n = 2^a1 + 2^a2 + ... (a1 > a2 > ...): a complete
  // tree over each run of consecutive vectors, T1 over the first 2^a1, T2 over the next 2^a2, ...,
  // then T1 + (T2 + (T3 + ...)), the smallest first. Folds the subtrees in place (push no more
  // before reset()); the caller may swap the parts out. Throws std::logic_error if nothing was
  // pushed.
  std::vector<Part>& result() {
    if (counts_.empty()) throw std::logic_error("PairwiseSum: no vectors pushed, expected at least one");
    for (std::size_t d = counts_.size() - 1; d > 0; --d) {
      for (std::size_t i = 0; i < levels_[d].size(); ++i) add_parts(levels_[d - 1][i], levels_[d][i]);
      counts_[d - 1] += counts_[d];
      counts_.pop_back();
    }
    return levels_[0];
  }

 private:
  static bool fits(const std::vector<Part>& level, std::span<Part* const> parts) {
    if (level.size() != parts.size()) return false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (!same_shape(level[i], *parts[i])) return false;
    }
    return true;
  }

  std::vector<std::vector<Part>> levels_;
  std::vector<std::size_t> counts_;  // vectors under each unfinished subtree, bottom level last
  std::vector<Part*> pushing_;       // the parts of the vector being pushed
  std::size_t merges_ = 0;           // merges the vector being pushed goes through
};

}  // namespace simdnn::internal
