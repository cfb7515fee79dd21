// The one owner of simdnn's thread count (the parallel loop itself is core/parallel.h).
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

#include <cstddef>

namespace simdnn {

// Sets the number of worker threads (>= 1). Throws std::invalid_argument otherwise.
void set_num_threads(int n);

// The thread count in force.
int num_threads();

}  // namespace simdnn
