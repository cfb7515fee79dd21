// The gradient reduction of data-parallel training (dist::MpiCollective::tree_sum: recursive
// doubling in a fixed order, bit-identical on every rank and for every rank count) against Open
// MPI's own MPI_Allreduce (whose summation order is the library's choice), from 1 KB to 64 MB of
// floats. Run it under mpirun:
//   mpirun -np 2 bazel-bin/bench/allreduce_bench [--benchmark_format=json]
// Every rank runs the same fixed iteration counts (so the collective calls pair up); rank 0
// reports. Counter GB/s: the vector's bytes per second of one reduction (algorithm bandwidth).
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <algorithm>
#include <cstddef>
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

// Fixed iterations (the same on every rank): about 64 MB moved per repetition, 3 to 2000 calls.
void register_sizes(benchmark::internal::Benchmark* b) {
  for (long bytes = 1024; bytes <= 64l << 20; bytes *= 4) {
    b->Args({bytes})->Iterations(std::clamp<long>((64l << 20) / bytes, 3, 2000));
  }
}

}  // namespace

BENCHMARK(tree_sum)->ArgName("bytes")->Apply(register_sizes)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(mpi_allreduce)->ArgName("bytes")->Apply(register_sizes)->UseRealTime()->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  simdnn::dist::MpiSession mpi(argc, argv);
  simdnn::dist::MpiCollective collective;
  ranks = &collective;
  benchmark::Initialize(&argc, argv);
  if (mpi.rank() == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    benchmark::BenchmarkReporter* quiet = nullptr;
    struct Null : benchmark::BenchmarkReporter {
      bool ReportContext(const Context&) override { return true; }
      void ReportRuns(const std::vector<Run>&) override {}
    } null;
    quiet = &null;
    benchmark::RunSpecifiedBenchmarks(quiet, quiet);
  }
  benchmark::Shutdown();
  return 0;
}
