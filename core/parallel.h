// The deterministic parallel loop every kernel uses. Internal: it exposes oneTBB, which simdnn's
// public headers never include.
//
// Determinism: callers cut their work into tiles whose boundaries depend only on the problem
// (never on the thread count), and each output element is computed by exactly one tile in a fixed
// order. Which thread runs a tile then cannot change any result: 1, 2 or 16 threads give
// bit-identical output.
#pragma once

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <cstddef>

#include <simdnn/core/threading.h>

namespace simdnn::internal {

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

}  // namespace simdnn::internal
