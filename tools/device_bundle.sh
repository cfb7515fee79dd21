#!/usr/bin/env bash
# Packs built test and benchmark binaries, with every shared library they load (glibc's loader
# included, so a machine with an older glibc runs them too), into .device/bundle.tar.xz, for a
# machine without Bazel (the lent 16-core machine: docs/BENCHMARKS.notes.md, "Thread scaling").
# There, tools/device_run.sh unpacks and runs them. Compressed, because the peers' libraries
# (oneDNN, OpenBLAS) are over 70 MB.
#   tools/device_bundle.sh            # after: bazel build //tests:all //bench:all
set -euo pipefail
cd "$(dirname "$0")/.."
binaries=(tests/base_test tests/gemm_test tests/elementwise_test tests/random_test tests/optimizers_test
  tests/layers_test tests/losses_test tests/determinism_test tests/chunked_training_test bench/gemm_bench
  bench/training_bench bench/parallel_bench)
stage=.device/stage
rm -rf "$stage" && mkdir -p "$stage/bin" "$stage/lib"
for b in "${binaries[@]}"; do
  [[ -x bazel-bin/$b ]] || { echo "device_bundle: bazel-bin/$b is missing: build it first" >&2; exit 2; }
  cp "bazel-bin/$b" "$stage/bin/"
  ldd "bazel-bin/$b" | awk '/=>/ {print $3} /ld-linux/ {print $1}' | while read -r lib; do
    cp -L "$lib" "$stage/lib/"
  done
done
cp bench/gemm_shapes.txt bench/mlp_step_shapes.txt "$stage/"
tar -C "$stage" -cJf .device/bundle.tar.xz .
rm -rf "$stage"
ls -l .device/bundle.tar.xz
