// Counts heap allocations in a test binary, for the tests that check a warm step allocates
// nothing.
//
// Replacing the global operator new must happen exactly once per program, so the replacement
// lives in alloc_counter.cc, built as the library //tests:alloc_counter (always linked, statically:
// the executable's definitions win over libstdc++'s and, under AddressSanitizer, over the
// runtime's). A test that counts depends on that target and includes this header; no other test
// links it. Every operator new / new[] (plain, aligned, nothrow) adds one to the count, from any
// thread; the memory comes from malloc (posix_memalign when over-aligned) and goes back with free.
#pragma once

#include <utility>

namespace simdnn::testing {

// Allocations by operator new since the program started (any thread).
long allocation_count();

// The allocations made while body() runs. Exact when nothing else allocates meanwhile: run the
// code under test at one thread (see ScopedThreads in test_util.h).
template <class F>
long allocations_during(F&& body) {
  const long before = allocation_count();
  std::forward<F>(body)();
  return allocation_count() - before;
}

}  // namespace simdnn::testing
