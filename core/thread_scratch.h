// Per-thread scratch buffers for work that runs across parallel_for_tiles. Internal.
//
// thread_scratch<Owner, T, kSlots>(slot, n) is this thread's buffer number `slot` of at least n
// elements, grown once and then reused: a steady state allocates nothing. Its start is aligned to
// kScratchAlignment bytes, a cache line: the kernels read whole vectors at multiples of the
// vector width from it, and with malloc's 16-byte alignment every AVX-512 load split two lines.
// The contents do not survive a call that grows the buffer. Owner is a tag type of
// the calling file, so two files never share a buffer (conv2d_backward calls add_column_sums
// while its own buffers are in use).
//
// Safe across a parallel_for_tiles call: while a thread waits inside it, it runs only that loop's
// tiles (core/parallel.h), never another call that could reuse or grow the buffer. A tile that
// needs the calling thread's buffer must reach it through a pointer taken by the calling thread:
// inside the tile, the call names the running thread's own buffer.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace simdnn::internal {

inline constexpr std::size_t kScratchAlignment = 64;

template <class Owner, class T, std::size_t kSlots>
T* thread_scratch(std::size_t slot, std::size_t n) {
  static_assert(kScratchAlignment % sizeof(T) == 0);
  constexpr std::size_t kSlack = kScratchAlignment / sizeof(T);  // room to move the start
  thread_local std::vector<T> buffers[kSlots];
  std::vector<T>& b = buffers[slot];
  if (b.size() < n + kSlack) b.resize(n + kSlack);
  void* start = b.data();
  std::size_t space = b.size() * sizeof(T);
  return static_cast<T*>(std::align(kScratchAlignment, n * sizeof(T), start, space));
}

}  // namespace simdnn::internal
