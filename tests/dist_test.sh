#!/usr/bin/env bash
# Data-parallel training under mpirun (Open MPI): tests/dist_test with 1, 2, 3 and 4 processes
# (and its reduction alone with 7)
# (bit-identical to the single-process run), then tests/dist_failure: one rank throws in the
# middle of an epoch, and every process must exit non-zero within 60 s, the error naming the rank.
#   tests/dist_test.sh DIST_TEST DIST_FAILURE      (bazel test //tests:dist_test runs it)
set -uo pipefail
dist_test=$1
dist_failure=$2
export TMPDIR=${TEST_TMPDIR:-${TMPDIR:-/tmp}}
# --oversubscribe: more ranks than cores (CI has 2); --allow-run-as-root: CI's containers are root;
# the vader BTL's CMA copy needs ptrace rights that containers often lack.
mpi=(mpirun --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none)
status=0
for n in 1 2 3 4; do
  echo "=== mpirun -np $n dist_test"
  # Every rank would write the same GoogleTest XML and premature-exit files: bazel test reports
  # this script instead.
  if ! env -u XML_OUTPUT_FILE -u TEST_PREMATURE_EXIT_FILE "${mpi[@]}" -np "$n" "$dist_test" --gtest_brief=1; then
    echo "FAILED: dist_test with $n processes"
    status=1
  fi
done
# 7 = 4 + 2 + 1 ranks: three runs, so a middle run relays the partial total (the reduction only).
echo "=== mpirun -np 7 dist_test (the reduction)"
if ! env -u XML_OUTPUT_FILE -u TEST_PREMATURE_EXIT_FILE "${mpi[@]}" -np 7 "$dist_test" --gtest_brief=1 \
    --gtest_filter='MpiCollective.*'; then
  echo "FAILED: dist_test's reduction with 7 processes"
  status=1
fi

echo "=== mpirun -np 2 dist_failure (rank 1 throws)"
start=$SECONDS
out=$(timeout 60 "${mpi[@]}" -np 2 "$dist_failure" 1 2>&1)
rc=$?
echo "$out" | tail -20
echo "exit $rc after $((SECONDS - start)) s"
if [[ $rc -eq 0 || $rc -eq 124 ]]; then
  echo "FAILED: expected a non-zero exit within 60 s, got exit $rc"
  status=1
elif ! grep -q "rank 1 failed: injected failure" <<<"$out"; then
  echo "FAILED: the output does not name rank 1 and its error"
  status=1
fi
exit $status
