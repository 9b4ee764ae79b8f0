#!/bin/sh
# Runs a `porta train` command, then compares its per-step training losses with PyTorch's
# (tools/gen_train_parity_fixture.py wrote them): fails when a step is missing or when any
# |porta - torch| exceeds the tolerance.
#   sh compare_losses.sh TORCH_LOSSES_JSON TOLERANCE RUN_DIR porta train ... --out RUN_DIR
set -u
torch_json=$1 tolerance=$2 run_dir=$3
shift 3
rm -rf "$run_dir"
"$@" || { echo "FAIL: porta exited with status $?" >&2; exit 1; }
metrics=$run_dir/metrics.jsonl
[ -r "$metrics" ] || { echo "FAIL: no $metrics" >&2; exit 1; }
# the torch file: {"settings": [...], "model": ..., "losses": [a, b, ...]}, one number a line
tr -d ' \n\r' < "$torch_json" | sed 's/.*"losses":\[\([^]]*\)\].*/\1/' | tr ',' '\n' > "$run_dir/torch_losses.txt"
# porta's training steps: lines without "split", {"step": N, "epoch": E, "loss": X, ...}
grep -v '"split"' "$metrics" | sed -n 's/.*"loss": *\([-0-9.eE+]*\).*/\1/p' > "$run_dir/porta_losses.txt"
awk -v tol="$tolerance" '
  NR == FNR { torch[FNR] = $1; n_torch = FNR; next }
  { porta[FNR] = $1; n_porta = FNR }
  END {
    if (n_torch == 0 || n_porta != n_torch) {
      printf "FAIL: porta logged %d steps, torch %d\n", n_porta, n_torch; exit 1
    }
    worst = 0; bad = 0
    for (i = 1; i <= n_torch; i++) {
      d = porta[i] - torch[i]; if (d < 0) d = -d
      if (d > worst) worst = d
      flag = d > tol ? "  <-- over tolerance" : ""
      if (d > tol) bad++
      printf "step %2d  porta %.6f  torch %.6f  |diff| %.1e%s\n", i, porta[i], torch[i], d, flag
    }
    printf "%d steps, max |porta - torch| %.1e, tolerance %g: %s\n", n_torch, worst, tol, bad ? "FAIL" : "PASS"
    exit bad ? 1 : 0
  }' "$run_dir/torch_losses.txt" "$run_dir/porta_losses.txt"
