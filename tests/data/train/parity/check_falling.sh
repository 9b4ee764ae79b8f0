#!/bin/sh
# Fails unless a run's training loss fell: the mean of its last 3 logged steps must be below
# RATIO times the mean of its first 3.
#   sh check_falling.sh RUN_DIR/metrics.jsonl RATIO
set -u
metrics=$1 ratio=$2
[ -r "$metrics" ] || { echo "FAIL: no $metrics" >&2; exit 1; }
grep -v '"split"' "$metrics" | sed -n 's/.*"loss": *\([-0-9.eE+]*\).*/\1/p' | awk -v ratio="$ratio" '
  { loss[NR] = $1 }
  END {
    if (NR < 6) { printf "FAIL: only %d steps logged\n", NR; exit 1 }
    first = (loss[1] + loss[2] + loss[3]) / 3
    last = (loss[NR - 2] + loss[NR - 1] + loss[NR]) / 3
    ok = last < ratio * first
    printf "loss: first 3 steps %.4f, last 3 of %d steps %.4f (must be < %g x first): %s\n",
           first, NR, last, ratio, ok ? "PASS" : "FAIL"
    exit ok ? 0 : 1
  }'
