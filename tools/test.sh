#!/usr/bin/env bash
# The project's whole test suite: what the README's quick start and CI run.
#   1. every Bazel test, optimized;
#   2. the test binaries again under qemu as a Haswell (AVX2, no AVX-512) and a Nehalem (SSE only)
#      CPU, which fault on any instruction those CPUs lack, and with SIMDNN_ISA capping dispatch;
#   3. the consumer example, copied outside this tree, a separate workspace using simdnn;
#   4. the library tests under AddressSanitizer + UndefinedBehaviorSanitizer;
#   5. the CMake build: its sources checked against Bazel's, then built, installed and used.
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

# The CMake build as a user has it: configure and build (two jobs; -O1, the fastest to compile
# that still runs the example quickly: only correctness is checked here), install into a temporary
# prefix (exactly the public headers), then build the example, a copy outside this tree, with
# find_package(simdnn), and consumer.cc alone with pkg-config's flags. Both run in that copy (its
# data files beside them) outside the repository, where load_digits() must find the installed
# digits file.
cmake_install() {
  local tmp=${TMPDIR:-/tmp}/simdnn-cmake
  local build=$tmp/build prefix=$tmp/prefix example=$tmp/consumer kind file flags found
  rm -rf "$tmp" && mkdir -p "$tmp" || return 1
  nice -n 10 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib &&
    nice -n 10 cmake --build "$build" --parallel 2 &&
    cmake --install "$build" >"$tmp/install.log" || return 1
  while read -r kind file _; do
    case $kind in
      public) [[ -f $prefix/include/simdnn/$file ]] || { echo "not installed: $file"; return 1; } ;;
      internal) [[ ! -e $prefix/include/simdnn/$file ]] || { echo "installed: internal $file"; return 1; } ;;
    esac
  done <"$build/simdnn_sources.txt"
  [[ $(find "$prefix/include" -type f | wc -l) -eq $(grep -c '^public ' "$build/simdnn_sources.txt") ]] ||
    { echo "installed headers other than the public ones:"; find "$prefix/include" -type f; return 1; }

  mkdir -p "$example" && cp -r examples/consumer/. "$example" || return 1
  (cd "$example" && nice -n 10 cmake -S . -B "$tmp/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" &&
    nice -n 10 cmake --build "$tmp/consumer-build" && "$tmp/consumer-build/consumer") || return 1

  flags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs simdnn) || return 1
  echo "pkg-config --cflags --libs simdnn: $flags"
  read -ra flags <<<"$flags"
  nice -n 10 g++ "$example/consumer.cc" -o "$tmp/consumer-pc" "${flags[@]}" && (cd "$example" && "$tmp/consumer-pc") ||
    return 1
  printf '#include <cstdio>\n#include <simdnn/data/datasets.h>\nint main() { std::puts(simdnn::find_digits_file().c_str()); }\n' |
    nice -n 10 g++ -x c++ - -o "$tmp/find-digits" "${flags[@]}" || return 1
  found=$(cd "$example" && env -u SIMDNN_DIGITS_PATH -u BUILD_WORKSPACE_DIRECTORY "$tmp/find-digits") || return 1
  echo "installed simdnn finds the digits at $found"
  [[ $found == "$prefix/share/simdnn/digits/digits.csv.gz" ]]
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
step "cmake sources match bazel" tools/check_cmake_sources.sh
step "cmake build, install, example" cmake_install
step "asan+ubsan tests" sanitized_tests

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
