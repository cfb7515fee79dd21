// LocalCollective: the ranks of a data-parallel run as threads of one process, for tests that
// check the trainer's chunked steps without MPI (dist/'s MpiCollective is tested under mpirun).
// It reduces in exactly MpiCollective's order (recursive doubling: round i adds the partial sums
// of ranks r and r xor 2^i), through shared memory and a barrier.
#pragma once

#include <barrier>
#include <cstddef>
#include <span>
#include <vector>

#include <simdnn/train/collective.h>

namespace simdnn::testing {

// What the threads of one run share: one slot per rank and a barrier for all of them.
class LocalRanks {
 public:
  explicit LocalRanks(std::size_t size) : size_(size), slots_(size), barrier_(static_cast<std::ptrdiff_t>(size)) {}
  std::size_t size() const { return size_; }

 private:
  friend class LocalCollective;
  std::size_t size_;
  std::vector<const void*> slots_;
  std::barrier<> barrier_;
};

class LocalCollective : public Collective {
 public:
  // background: what background_calls() says (both the trainer's overlapped reduction and its
  // reduction after the backward pass are tested).
  LocalCollective(LocalRanks& ranks, std::size_t rank, bool background = true)
      : ranks_(ranks), rank_(rank), background_(background) {}
  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return ranks_.size(); }
  void tree_sum(std::span<float> values) override { sum(values); }
  void tree_sum(std::span<double> values) override { sum(values); }
  bool background_calls() const override { return background_; }
  void broadcast(std::span<float> values) override {
    ranks_.slots_[rank_] = values.data();
    ranks_.barrier_.arrive_and_wait();
    const auto* root = static_cast<const float*>(ranks_.slots_[0]);
    if (rank_ != 0) std::copy(root, root + values.size(), values.data());
    ranks_.barrier_.arrive_and_wait();
  }

 private:
  template <class T>
  void sum(std::span<T> values) {
    std::vector<T> partner(values.size());
    for (std::size_t step = 1; step < ranks_.size(); step *= 2) {
      ranks_.slots_[rank_] = values.data();
      ranks_.barrier_.arrive_and_wait();  // every partial sum posted
      const auto* theirs = static_cast<const T*>(ranks_.slots_[rank_ ^ step]);
      std::copy(theirs, theirs + values.size(), partner.data());
      ranks_.barrier_.arrive_and_wait();  // every copy taken before anyone adds
      for (std::size_t i = 0; i < values.size(); ++i) values[i] += partner[i];
    }
  }

  LocalRanks& ranks_;
  std::size_t rank_;
  bool background_;
};

}  // namespace simdnn::testing
