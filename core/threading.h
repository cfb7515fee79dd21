// The one owner of simdnn's thread count, and the deterministic parallel loop every kernel uses.
//
// Thread count: set_num_threads(n), else the environment variable SIMDNN_NUM_THREADS, else the
// hardware concurrency. It is enforced with a process-wide tbb::global_control, so it also caps
// any other oneTBB work in the process.
//
// Determinism: callers cut their work into tiles whose boundaries depend only on the problem
// (never on the thread count), and each output element is computed by exactly one tile in a fixed
// order. Which thread runs a tile then cannot change any result: 1, 2 or 16 threads give
// bit-identical output.
#pragma once

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <cstddef>

namespace simdnn {

// Sets the number of worker threads (>= 1). Throws std::invalid_argument otherwise.
void set_num_threads(int n);

// The thread count in force.
int num_threads();

namespace detail {

// Runs body(i) for every i in [0, tile_count), in parallel when there is more than one tile and
// more than one thread. Tiles are never split or merged. Exceptions propagate to the caller.
// A template, not std::function, so that no call allocates.
template <class Body>
void parallel_for_tiles(std::size_t tile_count, const Body& body) {
  if (tile_count <= 1 || num_threads() == 1) {
    for (std::size_t i = 0; i < tile_count; ++i) body(i);
    return;
  }
  oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::size_t>(0, tile_count, 1),
                            [&body](const oneapi::tbb::blocked_range<std::size_t>& r) {
                              for (std::size_t i = r.begin(); i != r.end(); ++i) body(i);
                            });
}

}  // namespace detail
}  // namespace simdnn
