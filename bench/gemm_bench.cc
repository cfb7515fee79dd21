// GEMM throughput of simdnn against OpenBLAS, Eigen and oneDNN, in one binary so that every
// ratio comes from one run on one machine. Shapes come from bench/gemm_shapes.txt; each is run
// at 1 and 2 threads (SIMDNN_BENCH_THREADS, bench/thread_counts.h, sets others). Counter
// GFLOP/s = 2·M·N·K per iteration; simdnn's rows also carry peak_pct, GFLOP/s as a percentage
// of the FMA peak of that many cores, which the binary measures itself (bench/fma_peak.h) for
// the ISA in use.
//
// simdnn_depth_chunks/dW_...: a Dense weight gradient summed over K gradient chunks in one pass
// (gemm_depth_chunks, chunks:1 the plain gemm), what data-parallel training's canonical order
// costs in the GEMM.
//
// microkernel_<isa>_<mr>x<nr>: each ISA's packed microkernel alone, on panels that stay in L1,
// with the depth kc of the blocking derived for this machine: the ceiling the driver can reach.
// The context records the CPU model, its caches, the blocking and the FMA peak of every ISA.
// SIMDNN_GEMM_BLOCKING=kc,mc,nc[,a_in_place] replaces the derived blocking (and whether A may be
// read in place, 0 or 1; its L1 limit stays derived), to explore others.
//
// OpenBLAS picks its kernels by CPU model when the library loads; its name in the benchmark
// carries the core type it chose (openblas_get_corename), and tools/bench_report runs this
// binary a second time with OPENBLAS_CORETYPE=SkylakeX.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/eigen_gemm.h"
#include "bench/fma_peak_probe.h"
#include "bench/table_file.h"
#include "bench/thread_counts.h"
#include <simdnn/core/cpu_info.h>
#include <simdnn/core/gemm.h>
#include <simdnn/core/gemm_kernels.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/dispatch.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>

namespace {

// One core's FMA peak in GFLOP/s on `isa`, measured once.
double fma_peak(simdnn::Isa isa) {
  return simdnn::internal::kernel_table<double>(
      "fma_peak_once", isa, [isa]<class Arch>() { return simdnn::bench::fma_peak_probe(isa)(); });
}

struct Shape {
  std::string name;
  int m, n, k;
  bool trans_a, trans_b;
};

std::vector<Shape> read_shapes(const std::string& path) {
  return simdnn::bench::read_table<Shape>(path, "'name M N K N|T N|T'", [](std::istringstream& fields, Shape& s) {
    std::string ta, tb;
    if (!(fields >> s.name >> s.m >> s.n >> s.k >> ta >> tb) || (ta != "N" && ta != "T") || (tb != "N" && tb != "T")) {
      return false;
    }
    s.trans_a = ta == "T";
    s.trans_b = tb == "T";
    return true;
  });
}

// Operands with the stored shapes op() expects, filled with uniform(-1, 1).
struct Operands {
  explicit Operands(const Shape& s)
      : a(s.trans_a ? s.k : s.m, s.trans_a ? s.m : s.k),
        b(s.trans_b ? s.n : s.k, s.trans_b ? s.k : s.n),
        c(s.m, s.n) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = dist(rng);
    for (std::size_t i = 0; i < b.size(); ++i) b.data()[i] = dist(rng);
  }
  simdnn::Tensor a, b, c;
};

void set_flops(benchmark::State& state, const Shape& s) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * s.m * s.n * s.k * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void bm_simdnn(benchmark::State& state, Shape s, int threads) {
  simdnn::set_num_threads(threads);
  Operands x(s);
  for (auto _ : state) {
    simdnn::gemm(s.trans_a ? simdnn::Trans::yes : simdnn::Trans::no,
                 s.trans_b ? simdnn::Trans::yes : simdnn::Trans::no, 1.0f, x.a.cview(), x.b.cview(),
                 0.0f, x.c.view());
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, s);
  const double peak = fma_peak(simdnn::active_isa()) * threads;
  state.counters["peak_pct"] = benchmark::Counter(2.0 * s.m * s.n * s.k * 1e-9 / peak * 100.0,
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

// A Dense layer's weight gradient xᵀ·dz (fan_in x fan_out, depth = the batch) as a data-parallel
// step with `chunks` gradient chunks computes it in one pass: gemm_depth_chunks, the chunks'
// products summed in the tree order (chunks 1: plain gemm, the same product without chunks).
void bm_depth_chunks(benchmark::State& state, Shape s, int chunks, int threads) {
  simdnn::set_num_threads(threads);
  Operands x(s);
  std::vector<std::size_t> ends;
  for (int c = 1; c <= chunks; ++c) ends.push_back(static_cast<std::size_t>(c) * static_cast<std::size_t>(s.k) / chunks);
  for (auto _ : state) {
    if (chunks == 1) {
      simdnn::gemm(simdnn::Trans::yes, simdnn::Trans::no, 1.0f, x.a.cview(), x.b.cview(), 1.0f, x.c.view());
    } else {
      simdnn::gemm_depth_chunks(simdnn::Trans::yes, simdnn::Trans::no, x.a.cview(), x.b.cview(), ends, x.c.view());
    }
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, s);
}

// The packed microkernel of `isa` alone: C (mr x nr) = A panel (mr x kc) · B panel (kc x nr), all
// in L1, kc from this machine's blocking.
void bm_microkernel(benchmark::State& state, simdnn::Isa isa) {
  const simdnn::internal::GemmKernels& kern = simdnn::internal::gemm_kernels(isa);
  const auto mr = static_cast<std::size_t>(kern.mr), nr = static_cast<std::size_t>(kern.nr());
  const std::size_t kc = simdnn::internal::gemm_blocking(kern).kc;
  simdnn::Tensor a(1, mr * kc), b(1, kc * nr), c(mr, nr);
  for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = 0.001f * static_cast<float>(i % 97);
  for (std::size_t i = 0; i < b.size(); ++i) b.data()[i] = 0.002f * static_cast<float>(i % 89);
  simdnn::internal::GemmTileStore st;
  st.c = c.data();
  st.ldc = nr;
  st.m_valid = mr;
  st.n_valid = nr;
  for (auto _ : state) {
    kern.packed(kc, a.data(), 0, 0, b.data(), static_cast<std::ptrdiff_t>(nr), st);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * static_cast<double>(mr * nr * kc);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_pct"] =
      benchmark::Counter(flops * 1e-9 / fma_peak(isa) * 100.0, benchmark::Counter::kIsIterationInvariantRate);
}

// The machine, as every GEMM figure must name it.
void add_machine_context() {
  const simdnn::CacheSizes& caches = simdnn::cache_sizes();
  benchmark::AddCustomContext("cpu_model", simdnn::cpu_model());
  benchmark::AddCustomContext("caches", "L1D " + std::to_string(caches.l1d >> 10) + " KiB (" +
                                            std::to_string(caches.l1d_ways) + "-way), L2 " +
                                            std::to_string(caches.l2 >> 10) + " KiB, L3 " +
                                            std::to_string(caches.l3 >> 10) + " KiB");
  for (simdnn::Isa isa : simdnn::supported_isas()) {
    const simdnn::internal::GemmKernels& kern = simdnn::internal::gemm_kernels(isa);
    const simdnn::internal::GemmBlocking b = simdnn::internal::gemm_blocking(kern);
    char peak[32];
    std::snprintf(peak, sizeof peak, "%.1f", fma_peak(isa));
    benchmark::AddCustomContext(std::string("gemm_") + simdnn::isa_name(isa),
                                "tile " + std::to_string(kern.mr) + "x" + std::to_string(kern.nr()) +
                                    ", kc " + std::to_string(b.kc) + ", mc " + std::to_string(b.mc) +
                                    ", nc " + std::to_string(b.nc) + ", FMA peak " + peak +
                                    " GFLOP/s per core");
  }
}

void bm_openblas(benchmark::State& state, Shape s, int threads) {
  openblas_set_num_threads(threads);
  Operands x(s);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
                s.trans_b ? CblasTrans : CblasNoTrans, s.m, s.n, s.k, 1.0f, x.a.data(),
                static_cast<int>(x.a.cols()), x.b.data(), static_cast<int>(x.b.cols()), 0.0f,
                x.c.data(), s.n);
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, s);
}

void bm_onednn(benchmark::State& state, Shape s, int threads) {
  omp_set_num_threads(threads);
  Operands x(s);
  for (auto _ : state) {
    dnnl_sgemm(s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N', s.m, s.n, s.k, 1.0f, x.a.data(),
               static_cast<dnnl_dim_t>(x.a.cols()), x.b.data(), static_cast<dnnl_dim_t>(x.b.cols()),
               0.0f, x.c.data(), s.n);
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, s);
}

void bm_eigen(benchmark::State& state, Shape s, int threads) {
  Operands x(s);
  for (auto _ : state) {
    simdnn::bench::eigen_gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, x.a.data(), x.b.data(), x.c.data(), threads);
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, s);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::vector<Shape> shapes = read_shapes(simdnn::bench::table_path("SIMDNN_GEMM_SHAPES", "bench/gemm_shapes.txt"));
  const std::string openblas = std::string("openblas_") + openblas_get_corename();
  if (const char* forced = std::getenv("SIMDNN_GEMM_BLOCKING")) {
    // What is not given keeps the active ISA's derived value.
    simdnn::internal::GemmBlocking b = simdnn::internal::gemm_kernels(simdnn::active_isa()).blocking;
    int a_in_place = b.a_in_place, end3 = -1, end4 = -1;
    const int fields = std::sscanf(forced, "%zu,%zu,%zu%n,%d%n", &b.kc, &b.mc, &b.nc, &end3, &a_in_place, &end4);
    const int end = fields == 4 ? end4 : end3;  // the whole text must be read
    if (fields < 3 || end < 0 || forced[end] != '\0' || b.kc == 0 || b.mc == 0 || b.nc == 0 ||
        (a_in_place != 0 && a_in_place != 1)) {
      std::fprintf(stderr,
                   "gemm_bench: SIMDNN_GEMM_BLOCKING: expected kc,mc,nc (positive) or kc,mc,nc,a_in_place "
                   "(0 or 1), got \"%s\"\n",
                   forced);
      return 2;
    }
    b.a_in_place = a_in_place != 0;
    simdnn::internal::set_gemm_blocking_override(b);
  }
  add_machine_context();
  // Each ISA's peak is measured here, before any benchmark has run, and recorded in the context:
  // measured lazily after the first benchmark of an interleaved run, it once read 15 % below
  // what it reads alone (Intel Xeon 6/207; the cause was not found).
  for (simdnn::Isa isa : simdnn::supported_isas()) {
    char peak[32];
    std::snprintf(peak, sizeof peak, "%.1f", fma_peak(isa));
    benchmark::AddCustomContext(std::string("fma_peak_gflops_") + simdnn::isa_name(isa), peak);
  }
  for (simdnn::Isa isa : simdnn::supported_isas()) {
    const simdnn::internal::GemmKernels& kern = simdnn::internal::gemm_kernels(isa);
    const std::string name = std::string("microkernel_") + simdnn::isa_name(isa) + "_" +
                             std::to_string(kern.mr) + "x" + std::to_string(kern.nr());
    benchmark::RegisterBenchmark(name.c_str(), bm_microkernel, isa);
  }
  for (const Shape& s : shapes) {
    for (int threads : simdnn::bench::thread_counts()) {
      const std::string suffix = "/" + s.name + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(("simdnn_" + std::string(simdnn::isa_name()) + suffix).c_str(), bm_simdnn, s, threads)->UseRealTime();
      benchmark::RegisterBenchmark((openblas + suffix).c_str(), bm_openblas, s, threads)->UseRealTime();
      benchmark::RegisterBenchmark(("onednn" + suffix).c_str(), bm_onednn, s, threads)->UseRealTime();
      benchmark::RegisterBenchmark(("eigen" + suffix).c_str(), bm_eigen, s, threads)->UseRealTime();
    }
  }
  // The deep MLP's weight gradients (20 x 256) at batch 256 and 1024 (training_bench's step).
  for (const Shape& s : {Shape{"dW_256x256x256", 256, 256, 256, true, false}, Shape{"dW_256x256x1024", 256, 256, 1024, true, false}}) {
    for (int threads : simdnn::bench::thread_counts()) {
      for (int chunks : {1, 4, 8}) {
        const std::string name = "simdnn_depth_chunks/" + s.name + "/chunks:" + std::to_string(chunks) + "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), bm_depth_chunks, s, chunks, threads)->UseRealTime();
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
