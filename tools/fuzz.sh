#!/usr/bin/env bash
# Fuzzes the data readers (data/readers.h) and the model loaders with libFuzzer, each built with
# clang++ -fsanitize=fuzzer,address,undefined and run for SECONDS (default 60) from its seed
# corpus:
#   data/fuzz/{csv,idx,file}_fuzzer.cc       corpus data/fuzz/corpus/{csv,idx,file}/
#   data/fuzz/mnist_fuzzer.cc                corpus data/fuzz/corpus/mnist/ (MNIST JSON class files)
#   models/fuzz/spec_fuzzer.cc               corpus models/fuzz/corpus/spec/ (JSON model specs)
#   models/fuzz/model_file_fuzzer.cc         corpus models/fuzz/corpus/model_file/ (load_model)
# The model fuzzers need most of the library: it is built first with the project's CMake (which
# compiles each ISA's kernels with its flags from core/isa.bzl) by the same clang++ with
# -fsanitize=fuzzer-no-link,address,undefined, into $FUZZ_OUT/lib (incremental between runs).
#
#   tools/fuzz.sh [seconds]      needs clang, libFuzzer and cmake: tools/setup.sh --fuzz
#
# Work goes to $FUZZ_OUT (default /tmp/simdnn-fuzz): the binaries, the inputs libFuzzer found
# interesting (corpus-<name>/, kept between runs) and any crash as <name>-crash-<sha1>. Replay a
# crash with the fuzzer binary, or with the default toolchain:
#   bazel run //data/fuzz:csv_fuzzer_replay -- /tmp/simdnn-fuzz/csv_fuzzer-crash-...
#   bazel run //models/fuzz:spec_fuzzer_replay -- /tmp/simdnn-fuzz/spec_fuzzer-crash-...
# Not part of tools/test.sh. Ends with "fuzz: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
  echo "usage: tools/fuzz.sh [seconds > 0]" >&2
  exit 2
fi
cxx=""
for c in clang++-14 clang++; do
  if command -v "$c" >/dev/null; then cxx=$c; break; fi
done
if [[ -z "$cxx" ]]; then
  echo "fuzz: clang++ not found; run tools/setup.sh --fuzz" >&2
  exit 1
fi
out=${FUZZ_OUT:-/tmp/simdnn-fuzz}
mkdir -p "$out/include"
ln -sfn "$PWD" "$out/include/simdnn"  # the sources include <simdnn/...>, as Bazel lays them out

passed=0
failed=0
# run_fuzzer NAME CORPUS_DIR: runs $out/NAME for $seconds from CORPUS_DIR.
run_fuzzer() {
  local name=$1 corpus_dir=$2
  mkdir -p "$out/corpus-$name"
  echo "=== $name: ${seconds}s from $corpus_dir"
  if "$out/$name" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$out/$name-" "$out/corpus-$name" "$corpus_dir"; then
    passed=$((passed + 1))
  else
    echo "FAILED: $name (crash input in $out/$name-*)"
    failed=$((failed + 1))
  fi
}

for name in csv_fuzzer idx_fuzzer file_fuzzer mnist_fuzzer; do
  echo "=== $name: build"
  sources=(data/readers.cc core/tensor.cc)
  [[ $name == mnist_fuzzer ]] && sources+=(data/mnist.cc)
  if ! "$cxx" -std=c++20 -O1 -g -I"$out/include" \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      "data/fuzz/$name.cc" "${sources[@]}" -lz -o "$out/$name"; then
    echo "fuzz: $name did not build (is libclang-rt-14-dev installed? tools/setup.sh --fuzz)" >&2
    failed=$((failed + 1))
    continue
  fi
  run_fuzzer "$name" "data/fuzz/corpus/${name%_fuzzer}"
done

model_fuzzers=(spec_fuzzer model_file_fuzzer)
echo "=== simdnn library: CMake build with $cxx and sanitizers in $out/lib"
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
if ! command -v cmake >/dev/null ||
    ! cmake -S . -B "$out/lib" -DCMAKE_CXX_COMPILER="$(command -v "$cxx")" -DCMAKE_BUILD_TYPE=None \
      -DCMAKE_CXX_FLAGS="-O1 -g -fsanitize=fuzzer-no-link $sanitize" >"$out/lib-cmake.log" 2>&1 ||
    ! cmake --build "$out/lib" --parallel "$(nproc)" >>"$out/lib-cmake.log" 2>&1; then
  tail -n 30 "$out/lib-cmake.log" >&2
  echo "fuzz: the library did not build with $cxx (log: $out/lib-cmake.log)" >&2
  failed=$((failed + ${#model_fuzzers[@]}))
  model_fuzzers=()
fi
for name in "${model_fuzzers[@]}"; do
  echo "=== $name: build"
  # shellcheck disable=SC2086  # $sanitize is a list of flags
  if ! "$cxx" -std=c++20 -O1 -g -I"$out/lib/include" -fsanitize=fuzzer $sanitize \
      "models/fuzz/$name.cc" "$out/lib/libsimdnn.a" -ltbb -lz -o "$out/$name"; then
    echo "fuzz: $name did not build" >&2
    failed=$((failed + 1))
    continue
  fi
  run_fuzzer "$name" "models/fuzz/corpus/${name%_fuzzer}"
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
