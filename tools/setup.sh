#!/usr/bin/env bash
# Installs every Debian package simdnn needs to build, test and benchmark. Idempotent: packages
# already present are left alone. Runs as root, or through sudo otherwise.
#
#   tools/setup.sh           build + test dependencies (what CI needs)
#   tools/setup.sh --bench   also the heavier peers used only by benchmarks (incl. PyTorch)
#   tools/setup.sh --fuzz    also clang and libFuzzer, for tools/fuzz.sh
#   tools/setup.sh --notebook  also numpy and scikit-learn, for tools/notebook_run.py
set -euo pipefail

packages=(
  bazel-bootstrap   # Bazel 4.2.3; WORKSPACE points its own repositories at third_party/bazel_stubs
  g++
  cmake             # the CMake build (CMakeLists.txt), checked by tools/test.sh
  pkg-config        # checks the installed simdnn.pc
  libtbb-dev        # oneTBB: threading
  libxsimd-dev      # xsimd: portable SIMD
  zlib1g-dev        # zlib: CRC32 of saved models, gzip data files
  nlohmann-json3-dev  # JSON model specs
  libcli11-dev      # the repro command line
  libgtest-dev      # GoogleTest
  libbenchmark-dev  # Google Benchmark
  libopenblas-dev   # GEMM peer in bench/ (also built by the test command)
  libeigen3-dev     # GEMM and elementwise peer in bench/
  libdnnl-dev       # oneDNN: GEMM peer in bench/
  python3-matplotlib  # repro's figures (tables and CSVs need nothing)
  qemu-user         # runs the tests as older CPUs (Haswell: AVX2; Nehalem: SSE only)
  python3
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(dataset-fashion-mnist)  # repro's Fashion-MNIST experiment
  packages+=(python3-torch python3-numpy)  # tools/bench_report's end-to-end PyTorch and numpy baselines
elif [[ "${1:-}" == "--notebook" ]]; then
  packages+=(python3-numpy python3-sklearn)  # tools/notebook_run.py runs the notebook's own code
elif [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang-14 libclang-rt-14-dev)  # clang++-14 -fsanitize=fuzzer,address for tools/fuzz.sh
elif [[ $# -gt 0 ]]; then
  echo "usage: tools/setup.sh [--bench|--fuzz|--notebook]" >&2
  exit 2
fi

sudo=""
if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
