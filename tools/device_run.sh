#!/usr/bin/env bash
# Runs on the lent machine, from the repository root, what tools/device_bundle.sh packed: the
# kernel tests natively (on that CPU's widest ISA, AVX-512 where it has it), then GEMM (squares,
# MLP shapes, and the deep-MLP step's own products against oneDNN), the deep-MLP training step
# (plain, and at batch 1024 in 8 and 16 gradient chunks within kernels and side by side; 5
# repetitions, as the 1-thread figure is the noisy one there), the cost of one parallel loop and
# the FMA peak of 1 to N threads at once (parallel_bench), as JSON into $OUT (seven files: the lent
# machine returns at most eight). Every binary runs through the bundled loader, so the libraries
# are the ones it was built against.
#   tools/device_run.sh [THREADS]     # THREADS: SIMDNN_BENCH_THREADS, default 1,2,4,8,12,16
set -uo pipefail
out=${OUT:-out/device}
threads=${1:-1,2,4,8,12,16}
mkdir -p "$out" /tmp/simdnn-device
tar -C /tmp/simdnn-device -xJf .device/bundle.tar.xz || exit 2
d=/tmp/simdnn-device
run() { "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/bin/$1" "${@:2}"; }
{ lscpu; nproc; } >"$out/cpu.txt" 2>&1
for t in base_test gemm_test elementwise_test random_test optimizers_test layers_test losses_test determinism_test \
  chunked_training_test; do
  echo "=== $t"
  run "$t" --gtest_brief=1 2>&1 | tail -15
done >"$out/tests.log"
grep -E "^=== |PASSED|FAILED|SKIPPED" "$out/tests.log"
SIMDNN_BENCH_THREADS=$threads SIMDNN_GEMM_SHAPES=$d/gemm_shapes.txt run gemm_bench \
  --benchmark_filter='microkernel|square_(256|1024|2048)/|mlp_256x' --benchmark_min_time=0.2 \
  --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true \
  --benchmark_format=json --benchmark_out="$out/gemm.json" >/dev/null 2>>"$out/errors.txt"
echo "gemm_bench: exit $?"
SIMDNN_BENCH_THREADS=$threads SIMDNN_GEMM_SHAPES=$d/mlp_step_shapes.txt run gemm_bench \
  --benchmark_filter='^(simdnn_[a-z0-9]+|onednn)/' --benchmark_min_time=0.1 --benchmark_repetitions=3 \
  --benchmark_enable_random_interleaving=true \
  --benchmark_format=json --benchmark_out="$out/gemm_step.json" >/dev/null 2>>"$out/errors.txt"
echo "gemm_bench (the step's products): exit $?"
SIMDNN_BENCH_THREADS=$threads run training_bench \
  --benchmark_filter='deep_mlp_step/.*(chunks:1/|batch:1024/chunks:(8|16)/)' \
  --benchmark_min_time=0.3 --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_format=json --benchmark_out="$out/training.json" >/dev/null 2>>"$out/errors.txt"
echo "training_bench: exit $?"
SIMDNN_BENCH_THREADS=$threads run parallel_bench --benchmark_min_time=0.05 \
  --benchmark_format=json --benchmark_out="$out/parallel.json" >/dev/null 2>>"$out/errors.txt"
echo "parallel_bench: exit $?"
