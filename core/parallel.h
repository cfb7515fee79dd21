// The deterministic parallel loop every kernel uses, over oneTBB. Internal.
//
// Determinism: callers cut their work into tiles whose boundaries depend only on the problem
// (never on the thread count), and each output element is computed by exactly one tile in a fixed
// order. Which thread runs a tile then cannot change any result: 1, 2 or 16 threads give
// bit-identical output. (A caller may cut by the thread count where an element's arithmetic does
// not depend on the tile that computes it, as GEMM's regions, one per thread: core/gemm.cc.)
//
// Re-entrancy: the loop runs inside oneapi::tbb::this_task_arena::isolate. A thread that waits
// for the loop's tiles runs only tiles of this loop (or work they spawn), never an unrelated task
// of the caller (for example another iteration of a user's tbb::parallel_for that calls simdnn).
// So a kernel may keep per-thread scratch (GEMM's thread_local pack buffers) across a
// parallel_for_tiles call: no other simdnn call can run on that thread, reuse the scratch and free
// it, before the loop returns. Without isolation oneTBB promises no such thing.
#pragma once

#include <cstddef>

#include <simdnn/core/denormals.h>
#include <simdnn/core/threading.h>

#if defined(__SANITIZE_THREAD__)
#define SIMDNN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SIMDNN_TSAN 1
#endif
#endif
#ifdef SIMDNN_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace simdnn::internal {

// ThreadSanitizer annotations (no-ops in other builds). The oneTBB library that simdnn links (the
// system's) is not built with ThreadSanitizer, so TSan cannot see how it hands a task from the
// thread that spawns it to the one that runs it, nor the task's completion back to the waiter,
// and would report every tile's access to its caller's data as a race. parallel_for_tiles
// declares exactly those edges: the caller releases `start` before the loop and acquires `done`
// after it; each chunk of tiles acquires `start` first and releases `done` last. Tiles never
// synchronize with one another through these, so two tiles touching the same output is still
// reported. (A user's own tbb::parallel_for needs the same, see tests/concurrency_test.cc.)
inline void tsan_release([[maybe_unused]] void* sync) {
#ifdef SIMDNN_TSAN
  __tsan_release(sync);
#endif
}
inline void tsan_acquire([[maybe_unused]] void* sync) {
#ifdef SIMDNN_TSAN
  __tsan_acquire(sync);
#endif
}

// The same at scope exit, so that a chunk or a loop that ends by an exception declares its edge too.
struct TsanReleaseOnExit {
  void* sync;
  ~TsanReleaseOnExit() { tsan_release(sync); }
};
struct TsanAcquireOnExit {
  void* sync;
  ~TsanAcquireOnExit() { tsan_acquire(sync); }
};

// Runs run_chunk(loop, begin, end) over chunks covering [0, tile_count) on oneTBB, inside
// this_task_arena::isolate, and returns when all have run; rethrows a chunk's exception.
// Defined in core/parallel.cc, the only library file that instantiates oneTBB's loop templates.
// Under TSan that file is compiled uninstrumented, as the oneTBB library is: a worker finishing
// the last chunk writes (atomically) to a wait object on the *waiting* thread's stack, after the
// chunk's release of `done`. Once the loop returns, the waiting thread reuses that stack for its
// own locals, and TSan, which cannot see oneTBB's wait, would report the first read of such a
// local as a race with the worker's stale write (it did, in GEMM's tests). Uninstrumented, that
// write is unseen.
using ChunkRunner = void (*)(void* loop, std::size_t begin, std::size_t end);
void run_chunks_in_parallel(std::size_t tile_count, ChunkRunner run_chunk, void* loop);

template <class Body>
struct TileLoop {
  const Body& body;
  char start = 0, done = 0;  // their addresses name ThreadSanitizer's sync objects

  static void run_chunk(void* self, std::size_t begin, std::size_t end) {
    auto& loop = *static_cast<TileLoop*>(self);
    tsan_acquire(&loop.start);
    const TsanReleaseOnExit release_done{&loop.done};  // a tile that throws ends the chunk too
    const DenormalScope denormals;                     // on the thread running these tiles
    for (std::size_t i = begin; i != end; ++i) loop.body(i);
  }
};

// Runs body(i) for every i in [0, tile_count), in parallel when there is more than one tile and
// more than one thread, isolated from the caller's other tasks (see above). Tiles are never split
// or merged. Exceptions propagate to the caller. A template, not std::function, so that no call
// allocates; the tiles of a chunk call body inline.
template <class Body>
void parallel_for_tiles(std::size_t tile_count, const Body& body) {
  if (tile_count <= 1 || num_threads() == 1) {
    const DenormalScope denormals;
    for (std::size_t i = 0; i < tile_count; ++i) body(i);
    return;
  }
  TileLoop<Body> loop{body};
  tsan_release(&loop.start);
  const TsanAcquireOnExit acquire_done{&loop.done};  // after the loop, returned or thrown
  run_chunks_in_parallel(tile_count, &TileLoop<Body>::run_chunk, &loop);
}

}  // namespace simdnn::internal
