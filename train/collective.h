// Collective: the processes of a data-parallel run, as the trainer needs them (TrainerOptions::
// collective). dist/ implements it on MPI; train/ depends on no transport.
//
// Ranks 0 .. size() − 1, any number. tree_sum() is the one reduction, and its order is fixed so
// that the bits do not depend on the number of processes. With p = 2^j ranks it is a complete
// binary tree over the ranks in rank order: round i (i = 0 .. j − 1) adds each group of 2^i
// consecutive ranks to its neighbouring group,
//   S(r, i + 1) = S(lower group, i) + S(upper group, i),   S(r, 0) = rank r's values.
// Any other p is cut by its binary digits, p = 2^a1 + 2^a2 + ... (a1 > a2 > ...), into runs of
// consecutive ranks (rank_group() below): a complete tree over each run gives T1, T2, ..., and
// the sum is T1 + (T2 + (T3 + ...)), the smallest run first: core/pairwise_sum.h's order.
// Every rank ends with the same bits (floating-point addition is commutative, so both partners
// of a round compute the same sum). The trainer hands rank r the chunks of a batch under one
// subtree of the same order over the chunks (K = p·2^c chunks, 2^c per rank), so the total is
// that order's sum over the chunks whatever the number of ranks.
//
// Every call is collective: all ranks make the same calls, with the same lengths, in the same
// order. A failure (a rank gone, a transport error) throws; see dist/ for how the others stop.
#pragma once

#include <bit>
#include <cstddef>
#include <span>

namespace simdnn {

// The run of consecutive ranks whose complete tree holds `rank` (above): its first rank and its
// size (a power of two), for `ranks` ranks; {ranks, 0} when rank >= ranks.
struct RankGroup {
  std::size_t first = 0;
  std::size_t size = 0;
};
inline RankGroup rank_group(std::size_t ranks, std::size_t rank) {
  std::size_t first = 0;
  for (std::size_t run = std::bit_floor(ranks); run > 0; run >>= 1) {
    if ((ranks & run) == 0) continue;
    if (rank < first + run) return {first, run};
    first += run;
  }
  return {ranks, 0};
}

class Collective {
 public:
  virtual ~Collective() = default;

  virtual std::size_t rank() const = 0;
  // The number of ranks, at least 1.
  virtual std::size_t size() const = 0;

  // values ← the tree sum (above) of every rank's values, on every rank.
  virtual void tree_sum(std::span<float> values) = 0;
  virtual void tree_sum(std::span<double> values) = 0;
  // values ← rank 0's values, on every rank.
  virtual void broadcast(std::span<float> values) = 0;
  // Whether the calls may come from a thread other than the one that made this object (one
  // thread at a time): the trainer then reduces each layer's gradients on a background thread
  // while the backward pass goes on. False: every call stays on the making thread.
  virtual bool background_calls() const { return false; }
};

}  // namespace simdnn
