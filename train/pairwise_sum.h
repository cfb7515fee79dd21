// PairwiseSum: the sum of a sequence of equal-length vectors v_0, v_1, ... in the order of a
// complete binary tree over their positions, ((v0 + v1) + (v2 + v3)) + ..., computed as they
// arrive with one buffer per tree level (a binary counter: pushing v_i merges the finished
// subtrees of equal size). The trainer sums the gradients of a step's chunks this way, so that a
// rank holding an aligned run of chunks computes exactly one subtree (train/collective.h).
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace simdnn::internal {

template <class T>
class PairwiseSum {
 public:
  // Starts a new sum of vectors of `length` elements (buffers are kept and reused).
  void reset(std::size_t length) {
    length_ = length;
    counts_.clear();
  }
  // The buffer for the next vector, `length` elements: fill it, then push().
  std::span<T> next() {
    if (levels_.size() <= counts_.size()) levels_.emplace_back();
    std::vector<T>& buffer = levels_[counts_.size()];
    buffer.resize(length_);
    return buffer;
  }
  // Adds the vector written into next() to the sum.
  void push() {
    counts_.push_back(1);
    while (counts_.size() >= 2 && counts_[counts_.size() - 1] == counts_[counts_.size() - 2]) {
      std::vector<T>& lower = levels_[counts_.size() - 2];
      const std::vector<T>& upper = levels_[counts_.size() - 1];
      for (std::size_t i = 0; i < length_; ++i) lower[i] += upper[i];
      counts_.pop_back();
      counts_.back() *= 2;
    }
  }
  // The sum: valid when the number of vectors pushed is a power of two (one complete tree).
  std::span<T> result() {
    if (counts_.size() != 1) {
      throw std::logic_error("PairwiseSum: " + std::to_string(counts_.size()) +
                             " unfinished subtrees, expected one (push a power of two of vectors)");
    }
    return levels_[0];
  }

 private:
  std::size_t length_ = 0;
  std::vector<std::vector<T>> levels_;
  std::vector<std::size_t> counts_;  // vectors under each unfinished subtree, bottom level last
};

}  // namespace simdnn::internal
