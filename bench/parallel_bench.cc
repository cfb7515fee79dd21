// What one parallel loop costs, apart from its work: internal::parallel_for_tiles (core/parallel.h,
// the loop every kernel runs on) with tiles that do almost nothing, at each thread count of
// bench/thread_counts.h. Two cases, microseconds per loop:
//   - fork_join/tiles:T         loops back to back (the workers stay awake between them);
//   - fork_join_after/gap_us:G  each loop after G µs of work on the calling thread alone, as a
//                               product after a layer's single-threaded elementwise step (the
//                               workers may have gone to sleep). Only the loop is timed.
// A GEMM of 256³ runs a few such loops; at 16 threads their cost is what does not shrink with
// threads (docs/BENCHMARKS.md, "Thread scaling on 16 cores").
// A third case bounds what any code can gain from threads on the machine:
//   - fma_peak_all              the FMA probe of bench/fma_peak.h on T threads at once, each on its
//                               own std::thread (no oneTBB): counter gflops is their sum, per_thread
//                               its mean. gflops at T over gflops at 1 is the speedup a perfectly
//                               parallel compute-bound loop gets (cores slow down when more run
//                               vector code: their all-core clock is below the one-core turbo).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <simdnn/core/isa.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/threading.h>

#include "bench/fma_peak_probe.h"
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

// The FMA probe on `threads` std::threads started together; each measures its own best of five.
void bm_fma_peak_all(benchmark::State& state, int threads) {
  const Isa isa = active_isa();
  const auto count = static_cast<std::size_t>(threads);
  std::vector<double> gflops(count);
  const bench::FmaProbe probe = bench::fma_peak_probe(isa);
  for (auto _ : state) {
    std::latch start(threads);
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < count; ++t) {
      workers.emplace_back([&, t] {
        start.arrive_and_wait();
        gflops[t] = probe();
      });
    }
    for (std::thread& w : workers) w.join();
  }
  double sum = 0.0;
  for (double g : gflops) sum += g;
  state.counters["gflops"] = sum;
  state.counters["per_thread"] = sum / threads;
  state.SetLabel(isa_name(isa));
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
    benchmark::RegisterBenchmark(("fma_peak_all" + suffix).c_str(), bm_fma_peak_all, threads)
        ->Iterations(1)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
