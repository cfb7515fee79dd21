// The gradient reduction of data-parallel training (dist::MpiCollective::tree_sum: recursive
// doubling in a fixed order, bit-identical on every rank and for every rank count) against Open
// MPI's own MPI_Allreduce (whose summation order is the library's choice), from 1 KB to 64 MB of
// floats. Run it under mpirun:
//   mpirun -np 2 bazel-bin/bench/allreduce_bench [--benchmark_format=json]
// Every rank runs the same fixed iteration counts (so the collective calls pair up); rank 0
// reports. Do not interleave repetitions at random (each rank would draw its own order).
// Counter GB/s: the vector's bytes per second of one reduction (algorithm bandwidth).
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <simdnn/dist/mpi.h>

namespace {

simdnn::dist::MpiCollective* ranks = nullptr;

std::size_t floats_of(const benchmark::State& state) { return static_cast<std::size_t>(state.range(0)) / sizeof(float); }

void set_counters(benchmark::State& state) {
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(state.range(0)) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void tree_sum(benchmark::State& state) {
  std::vector<float> v(floats_of(state), 1.0f);
  for (auto _ : state) {
    ranks->tree_sum(v);
    benchmark::DoNotOptimize(v.data());
  }
  set_counters(state);
}

void mpi_allreduce(benchmark::State& state) {
  std::vector<float> v(floats_of(state), 1.0f);
  for (auto _ : state) {
    MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    benchmark::DoNotOptimize(v.data());
  }
  set_counters(state);
}

// Fixed iterations (the same on every rank, so the collective calls pair up): about 64 MB
// reduced per repetition, 3 to 2000 calls. One registration per size: Iterations() is per family.
void register_sizes() {
  for (long bytes = 1024; bytes <= 64l << 20; bytes *= 4) {
    const long calls = std::clamp<long>((64l << 20) / bytes, 3, 2000);
    using Fn = void (*)(benchmark::State&);
    for (const auto& [name, fn] : {std::pair<const char*, Fn>{"tree_sum", tree_sum}, {"mpi_allreduce", mpi_allreduce}}) {
      benchmark::RegisterBenchmark(name, fn)->ArgName("bytes")->Arg(bytes)->Iterations(calls)->UseRealTime()->Unit(
          benchmark::kMicrosecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  simdnn::dist::MpiSession mpi(argc, argv);
  simdnn::dist::MpiCollective collective;
  ranks = &collective;
  // Only rank 0 reports, and only rank 0 may write --benchmark_out's file (Google Benchmark opens
  // and truncates it on every rank that sees the flag): the others drop the flag (and the
  // BENCHMARK_OUT variable that can stand for it) and print nothing.
  const bool root = mpi.rank() == 0;
  std::vector<char*> args(argv, argv + argc);
  if (!root) {
    std::erase_if(args, [](const char* a) { return std::strncmp(a, "--benchmark_out", 15) == 0; });
    unsetenv("BENCHMARK_OUT");
    unsetenv("BENCHMARK_OUT_FORMAT");
  }
  int args_count = static_cast<int>(args.size());
  benchmark::Initialize(&args_count, args.data());
  register_sizes();
  if (root) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    struct Quiet : benchmark::BenchmarkReporter {
      bool ReportContext(const Context&) override { return true; }
      void ReportRuns(const std::vector<Run>&) override {}
    } quiet;
    benchmark::RunSpecifiedBenchmarks(&quiet);
  }
  benchmark::Shutdown();
  return 0;
}
