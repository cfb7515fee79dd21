#include <simdnn/core/parallel.h>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

namespace simdnn::internal {

// Grain 1: oneTBB's auto partitioner decides how many tiles a chunk takes; chunks never split a
// tile (see parallel_for_tiles).
void run_chunks_in_parallel(std::size_t tile_count, ChunkRunner run_chunk, void* loop) {
  oneapi::tbb::this_task_arena::isolate([tile_count, run_chunk, loop] {
    oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::size_t>(0, tile_count, 1),
                              [run_chunk, loop](const oneapi::tbb::blocked_range<std::size_t>& r) {
                                run_chunk(loop, r.begin(), r.end());
                              });
  });
}

}  // namespace simdnn::internal
