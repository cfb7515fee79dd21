// What one parallel loop costs, apart from its work: internal::parallel_for_tiles (core/parallel.h,
// the loop every kernel runs on) with tiles that do almost nothing, at each thread count of
// bench/thread_counts.h. Two cases, microseconds per loop:
//   - fork_join/tiles:T         loops back to back (the workers stay awake between them);
//   - fork_join_after/gap_us:G  each loop after G µs of work on the calling thread alone, as a
//                               product after a layer's single-threaded elementwise step (the
//                               workers may have gone to sleep). Only the loop is timed.
// A GEMM of 256³ runs a few such loops; at 16 threads their cost is what does not shrink with
// threads (docs/BENCHMARKS.md, "Thread scaling on 16 cores").
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <simdnn/core/parallel.h>
#include <simdnn/core/threading.h>

#include "bench/thread_counts.h"

namespace {

using namespace simdnn;
using Clock = std::chrono::steady_clock;

// Each tile writes its own slot (one cache line apart): the least work a tile can do.
struct Slots {
  explicit Slots(std::size_t tiles) : values(tiles * 16) {}
  void run(std::size_t tiles) {
    internal::parallel_for_tiles(tiles, [this](std::size_t t) { values[t * 16] += 1.0f; });
  }
  std::vector<float> values;
};

void spin_for(std::chrono::microseconds gap) {
  const auto end = Clock::now() + gap;
  while (Clock::now() < end) {
  }
}

// Counter "us": microseconds per loop (the timed seconds over iterations, scaled).
void report_us_per_loop(benchmark::State& state) {
  state.counters["us"] = benchmark::Counter(1e-6, benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

void bm_fork_join(benchmark::State& state, int threads, std::size_t tiles) {
  set_num_threads(threads);
  Slots slots(tiles);
  for (auto _ : state) {
    slots.run(tiles);
    benchmark::ClobberMemory();
  }
  report_us_per_loop(state);
}

void bm_fork_join_after(benchmark::State& state, int threads, std::size_t gap_us) {
  set_num_threads(threads);
  const std::size_t tiles = 64;
  Slots slots(tiles);
  for (auto _ : state) {
    spin_for(std::chrono::microseconds(gap_us));
    const auto start = Clock::now();
    slots.run(tiles);
    benchmark::ClobberMemory();
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
  }
  report_us_per_loop(state);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (int threads : bench::thread_counts()) {
    const std::string suffix = "/threads:" + std::to_string(threads);
    for (std::size_t tiles : {16u, 64u}) {
      benchmark::RegisterBenchmark(("fork_join/tiles:" + std::to_string(tiles) + suffix).c_str(), bm_fork_join,
                                   threads, tiles)
          ->UseRealTime();
    }
    for (std::size_t gap : {10u, 100u, 1000u}) {
      benchmark::RegisterBenchmark(("fork_join_after/gap_us:" + std::to_string(gap) + suffix).c_str(),
                                   bm_fork_join_after, threads, gap)
          ->UseManualTime()
          ->Iterations(static_cast<benchmark::IterationCount>(300 + 50000 / gap));  // the gaps are not timed
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
