#!/usr/bin/env bash
# Fuzzes the data readers (data/readers.h) with libFuzzer: builds data/fuzz/csv_fuzzer.cc,
# data/fuzz/idx_fuzzer.cc and data/fuzz/file_fuzzer.cc (the file paths: gzip, caps, headers) with clang++ -fsanitize=fuzzer,address,undefined and runs each for
# SECONDS (default 60), starting from the seed corpus in data/fuzz/corpus/<name>/.
#
#   tools/fuzz.sh [seconds]      needs clang and libFuzzer: tools/setup.sh --fuzz
#
# Work goes to $FUZZ_OUT (default /tmp/simdnn-fuzz): the binaries, the inputs libFuzzer found
# interesting (corpus-<name>/, kept between runs) and any crash as <name>-crash-<sha1>. Replay a
# crash with the fuzzer binary, or with the default toolchain:
#   bazel run //data/fuzz:csv_fuzzer_replay -- /tmp/simdnn-fuzz/csv_fuzzer-crash-...
# Not part of tools/test.sh. Ends with "fuzz: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

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
for name in csv_fuzzer idx_fuzzer file_fuzzer; do
  echo "=== $name: build"
  if ! "$cxx" -std=c++20 -O1 -g -I"$out/include" \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      "data/fuzz/$name.cc" data/readers.cc core/tensor.cc -lz -o "$out/$name"; then
    echo "fuzz: $name did not build (is libclang-rt-14-dev installed? tools/setup.sh --fuzz)" >&2
    failed=$((failed + 1))
    continue
  fi
  corpus_dir="data/fuzz/corpus/${name%_fuzzer}"
  mkdir -p "$out/corpus-$name"
  echo "=== $name: ${seconds}s from $corpus_dir"
  if "$out/$name" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$out/$name-" "$out/corpus-$name" "$corpus_dir"; then
    passed=$((passed + 1))
  else
    echo "FAILED: $name (crash input in $out/$name-*)"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
