// The one owner of simdnn's thread count (the parallel loop itself is core/parallel.h).
//
// Thread count: set_num_threads(n), else the environment variable SIMDNN_NUM_THREADS, else the
// hardware concurrency. It is enforced with a process-wide tbb::global_control, so it also caps
// any other oneTBB work in the process (a user's task_arena of 16 threads gets at most
// num_threads() of them).
//
// SIMDNN_NUM_THREADS is read once, at the first call of num_threads() (which every parallel kernel
// makes). It must be a decimal integer in [1, 4096]; anything else ("0", "-3", "abc",
// "99999999999", " 4") makes that call, and every later one until set_num_threads(), throw
// std::invalid_argument naming the variable and the value. An empty value means unset.
//
// Concurrency: set_num_threads() and num_threads() may be called from any thread at any time,
// also while kernels run. A new count applies to parallel loops that start after it; a loop
// already running finishes under the old one, and its result is the same either way (see
// Determinism). The cap is replaced, never removed: the new global_control exists before the old
// one goes, so there is no moment without one.
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

// The thread count in force (1 on a thread inside an internal::SerialScope). Throws
// std::invalid_argument when SIMDNN_NUM_THREADS is invalid and set_num_threads() was never called.
int num_threads();

namespace internal {
// While a SerialScope lives, num_threads() is 1 on the thread that made it (other threads are
// unaffected), so every kernel that thread calls runs on it alone. For a task that is itself one
// of many running in parallel (the trainer's concurrent gradient chunks, train/trainer.h): its
// kernels would otherwise fork loops of their own beside the tasks. Scopes nest.
class SerialScope {
 public:
  SerialScope();
  ~SerialScope();
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;
};

// Upper bound accepted from SIMDNN_NUM_THREADS.
inline constexpr int kMaxEnvThreads = 4096;
// Parses a value of SIMDNN_NUM_THREADS (what num_threads() does at first use); throws
// std::invalid_argument "SIMDNN_NUM_THREADS: expected an integer in [1, 4096], got "VALUE"".
int parse_num_threads_env(const char* value);
}  // namespace internal

}  // namespace simdnn
