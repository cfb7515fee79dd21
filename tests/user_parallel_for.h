// A user's own tbb::parallel_for, for tests that call simdnn from inside one
// (tests/concurrency_test.cc).
#pragma once

#include <cstddef>

#include <simdnn/core/parallel.h>

namespace simdnn::testing {

// run(loop, i) for every i in [0, n) from a plain oneTBB parallel_for over the indices. Defined
// in tests/user_parallel_for.cc, compiled without ThreadSanitizer as simdnn's own loop is
// (core/parallel.h says why: a worker's stale write to the wait object on the caller's stack).
void run_user_parallel_for(std::size_t n, void (*run)(void* loop, std::size_t i), void* loop);

// user_parallel_for(n, f): f(i) for every i in [0, n) on oneTBB's threads. The ThreadSanitizer
// annotations (no-ops otherwise) tell TSan what the system's uninstrumented oneTBB guarantees, as
// simdnn's own loop does: the caller's writes happen before each iteration, each iteration
// before the return. Iterations stay unordered among themselves.
template <class F>
void user_parallel_for(std::size_t n, const F& f) {
  struct Loop {
    const F& f;
    char start = 0, done = 0;  // their addresses name ThreadSanitizer's sync objects
  } loop{f};
  internal::tsan_release(&loop.start);
  const internal::TsanAcquireOnExit acquire_done{&loop.done};
  run_user_parallel_for(n, [](void* self, std::size_t i) {
    auto& l = *static_cast<Loop*>(self);
    internal::tsan_acquire(&l.start);
    const internal::TsanReleaseOnExit release_done{&l.done};
    l.f(i);
  }, &loop);
}

}  // namespace simdnn::testing
