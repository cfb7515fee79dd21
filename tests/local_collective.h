// LocalCollective: the ranks of a data-parallel run as threads of one process, for tests that
// check the trainer's chunked steps without MPI (dist/'s MpiCollective is tested under mpirun).
// It reduces in exactly MpiCollective's order (train/collective.h: recursive doubling within each
// run of rank_group(), round i adding the partial sums of ranks r and r xor 2^i of the run, then
// the runs' sums added smallest first), through shared memory and a barrier.
#pragma once

#include <algorithm>
#include <barrier>
#include <bit>
#include <cstddef>
#include <span>
#include <vector>

#include <simdnn/core/denormals.h>
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
  void tree_sum(std::span<float> values) override {
    const internal::DenormalScope denormals;  // as MpiCollective: the policy of the chunks' sums
    sum(values);
  }
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
    const std::size_t p = ranks_.size();
    const RankGroup mine = rank_group(p, rank_);
    std::vector<T> partner(values.size());
    // Every rank goes through the rounds of the largest run (the barrier counts all of them).
    for (std::size_t step = 1; step < std::bit_floor(p); step *= 2) {
      ranks_.slots_[rank_] = values.data();
      ranks_.barrier_.arrive_and_wait();  // every partial sum posted
      const bool exchange = step < mine.size;
      if (exchange) {
        const auto* theirs = static_cast<const T*>(ranks_.slots_[mine.first + ((rank_ - mine.first) ^ step)]);
        std::copy(theirs, theirs + values.size(), partner.data());
      }
      ranks_.barrier_.arrive_and_wait();  // every copy taken before anyone adds
      if (exchange) {
        for (std::size_t i = 0; i < values.size(); ++i) values[i] += partner[i];
      }
    }
    if (mine.size == p) return;
    // The runs' sums, smallest first: total = T1 + (T2 + (... + T_last)), read from each run's
    // first rank.
    ranks_.slots_[rank_] = values.data();
    ranks_.barrier_.arrive_and_wait();
    std::vector<RankGroup> runs;
    for (std::size_t first = 0; first < p; first += runs.back().size) runs.push_back(rank_group(p, first));
    const auto* last = static_cast<const T*>(ranks_.slots_[runs.back().first]);
    std::vector<T> total(last, last + values.size());
    for (std::size_t g = runs.size() - 1; g-- > 0;) {
      const auto* run_sum = static_cast<const T*>(ranks_.slots_[runs[g].first]);
      for (std::size_t i = 0; i < values.size(); ++i) total[i] = run_sum[i] + total[i];
    }
    ranks_.barrier_.arrive_and_wait();  // every rank has read the runs' sums
    std::copy(total.begin(), total.end(), values.begin());
  }

  LocalRanks& ranks_;
  std::size_t rank_;
  bool background_;
};

}  // namespace simdnn::testing
