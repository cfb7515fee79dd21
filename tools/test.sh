#!/usr/bin/env bash
# The project's whole test suite: what the README's quick start and CI run.
#   1. every Bazel test, optimized;
#   2. the test binaries again under qemu as a Haswell (AVX2, no AVX-512) and a Nehalem (SSE only)
#      CPU, which fault on any instruction those CPUs lack, and with SIMDNN_ISA capping dispatch;
#   3. the consumer example, copied outside this tree, a separate workspace using simdnn;
#   4. the library tests under AddressSanitizer + UndefinedBehaviorSanitizer.
# Ends with one line "test: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()
step() {  # step NAME COMMAND...: runs a step and counts it
  local name=$1
  shift
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

bazel_tests() { bazel test //... "$@"; }

# Tests cheap enough to run under emulation (qemu runs ~30x slower than the host).
qemu_run() {  # qemu_run CPU
  local cpu=$1 ok=0
  for t in base_test elementwise_test random_test initializers_test layers_test losses_test \
    optimizers_test schedules_test models_test tensor_file_test data_test trainer_test; do
    [[ -x bazel-bin/tests/$t ]] || continue
    qemu-x86_64 -cpu "$cpu" "bazel-bin/tests/$t" --gtest_brief=1 2>&1 | grep -v "TCG doesn't support" || ok=1
  done
  qemu-x86_64 -cpu "$cpu" bazel-bin/tests/gemm_test --gtest_brief=1 \
    --gtest_filter='-GemmTest.RandomShapesEveryIsa' 2>&1 | grep -v "TCG doesn't support" || ok=1
  return $ok
}

isa_cap() {  # isa_cap ISA: SIMDNN_ISA caps the initial choice
  SIMDNN_ISA=$1 bazel-bin/tests/base_test --gtest_brief=1 --gtest_filter='IsaEnvironment.*'
}

# The example as a user has it: a copy outside this tree, its paths to simdnn made absolute.
consumer() {
  local repo=$PWD dir=${TMPDIR:-/tmp}/simdnn-example-consumer
  rm -rf "$dir" && mkdir -p "$dir" && cp -r examples/consumer/. "$dir" || return 1
  sed -i "s|%workspace%/\.\./\.\.|$repo|; s|\"\.\./\.\.|\"$repo|" "$dir/WORKSPACE" "$dir/.bazelrc"
  (cd "$dir" && bazel run //:consumer)
}

sanitized_tests() {
  bazel test --config=asan --config=ubsan //tests:base_test //tests:gemm_test //tests:elementwise_test \
    //tests:random_test //tests:initializers_test //tests:layers_test //tests:losses_test \
    //tests:optimizers_test //tests:schedules_test //tests:tensor_file_test //tests:models_test \
    //tests:trainer_test //tests:data_test
}

step "bazel test //..." bazel_tests
step "SIMDNN_ISA=sse2" isa_cap sse2
step "SIMDNN_ISA=avx2" isa_cap avx2
step "qemu -cpu Haswell" qemu_run Haswell
step "qemu -cpu Nehalem" qemu_run Nehalem
step "examples/consumer" consumer
step "asan+ubsan tests" sanitized_tests

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
