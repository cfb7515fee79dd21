// Random fill throughput on one thread: fill_bernoulli (Dropout's keep-mask), fill_uniform and
// fill_normal through the public API on every supported ISA, and the raw Philox4x32-10 words, from
// the vectorized kernels (internal::random_kernels(isa).philox_words, core/random_kernels.h) and
// from the scalar reference generator (philox_block, one block at a time). Counter Gelem/s and
// items_per_second count output elements (one 32-bit word each for the raw words).
// Names are op/impl/n.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include <simdnn/core/isa.h>
#include <simdnn/core/philox.h>
#include <simdnn/core/random.h>
#include <simdnn/core/random_kernels.h>
#include <simdnn/core/threading.h>

namespace {

using namespace simdnn;

constexpr std::size_t kSizes[] = {std::size_t{1} << 14, std::size_t{1} << 20};

void set_rate(benchmark::State& state, std::size_t n) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["Gelem/s"] = benchmark::Counter(static_cast<double>(n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

template <class F>
void run_fill(benchmark::State& state, Isa isa, std::size_t n, F fill) {
  set_num_threads(1);
  set_isa(isa);
  std::vector<float> out(n);
  std::uint64_t step = 0;
  for (auto _ : state) {
    fill(std::span<float>(out), step++);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, n);
}

void bm_scalar_words(benchmark::State& state, std::size_t n) {
  std::vector<std::uint32_t> out(n);
  std::uint64_t stream = 0;
  for (auto _ : state) {
    for (std::size_t b = 0; b < n / 4; ++b) {
      const PhiloxCounter w = philox_block(42, stream, b);
      for (int j = 0; j < 4; ++j) out[4 * b + j] = w[j];
    }
    ++stream;
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, n);
}

void bm_kernel_words(benchmark::State& state, Isa isa, std::size_t n) {
  const internal::RandomKernels& kernels = internal::random_kernels(isa);
  std::vector<std::uint32_t> out(n);
  std::uint64_t stream = 0;
  for (auto _ : state) {
    kernels.philox_words(42, stream++, 0, out.data(), n);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, n);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (std::size_t n : kSizes) {
    const std::string size = "/" + std::to_string(n);
    benchmark::RegisterBenchmark(("words/scalar_reference" + size).c_str(), bm_scalar_words, n);
    for (Isa isa : supported_isas()) {
      const std::string impl = std::string("/") + isa_name(isa);
      benchmark::RegisterBenchmark(("words" + impl + size).c_str(), bm_kernel_words, isa, n);
      benchmark::RegisterBenchmark(("bernoulli" + impl + size).c_str(), [=](benchmark::State& s) {
        run_fill(s, isa, n, [](std::span<float> out, std::uint64_t step) {
          fill_bernoulli(out, 0.5f, 42, step);
        });
      });
      benchmark::RegisterBenchmark(("uniform" + impl + size).c_str(), [=](benchmark::State& s) {
        run_fill(s, isa, n, [](std::span<float> out, std::uint64_t step) {
          fill_uniform(out, -1.0f, 1.0f, 42, step);
        });
      });
      benchmark::RegisterBenchmark(("normal" + impl + size).c_str(), [=](benchmark::State& s) {
        run_fill(s, isa, n, [](std::span<float> out, std::uint64_t step) {
          fill_normal(out, 0.0f, 1.0f, 42, step);
        });
      });
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
