#!/usr/bin/env bash
# Data-parallel throughput on this machine (docs/BENCHMARKS.md, "Data-parallel training"): the
# deep MLP of examples/data_parallel as 1 process x T threads (plain step, and with the gradient
# chunks of the 2-process run) against P processes x 1 thread, repetitions interleaved, medians.
#   tools/dist_bench.sh [REPETITIONS] [EXTRA ARGS FOR data_parallel...]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
shift || true
bazel build -c opt //examples:data_parallel >/dev/null 2>&1
bin=bazel-bin/examples/data_parallel
cores=$(nproc)
mpi=(mpirun --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none)
configs=(
  "1 $cores 1"       # processes threads chunks: the plain step
  "1 $cores $cores"  # one process, the chunks of the multi-process run
  "$cores 1 $cores"  # one process per core
)
declare -A runs
for ((r = 0; r < reps; r++)); do
  for c in "${configs[@]}"; do
    read -r np threads chunks <<<"$c"
    rate=$("${mpi[@]}" -np "$np" "$bin" --threads "$threads" --chunks "$chunks" "$@" |
      sed -n 's/.*chunks [0-9]*: \([0-9.]*\) samples\/s.*/\1/p')
    runs[$c]="${runs[$c]:-} $rate"
  done
done
lscpu | sed -n "s/^Model name: *//p; s/^CPU family: */family /p; s/^Model: */model /p" | paste -sd " "
echo "| processes | threads each | gradient chunks | samples/s (median of $reps) | runs |"
echo "| ---: | ---: | ---: | ---: | --- |"
for c in "${configs[@]}"; do
  read -r np threads chunks <<<"$c"
  median=$(tr ' ' '\n' <<<"${runs[$c]}" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "| $np | $threads | $chunks | $median | ${runs[$c]# } |"
done
