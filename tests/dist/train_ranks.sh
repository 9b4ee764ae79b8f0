#!/bin/sh
# train_ranks.sh PORTA BACKEND WORKDIR MPIEXEC...: data-parallel porta train on 2 ranks against one
# process, on the tiny BERT (dropout on) with a global batch of 7 (shards of 4 + 3, a short last
# batch) and 2 accumulated micro-batches:
#   1. the per-step losses of 2 ranks equal one process's (relative difference <= 1e-5);
#   2. one run folder: every step logged once (rank 0 alone writes);
#   3. resume with another rank count: 2 ranks save at step 4 and stop after 6 as if killed,
#      1 process resumes; 1 process saves at 8, stops after 9, 2 ranks resume: both logs equal
#      the uninterrupted run's.
set -eu
porta=$1 backend=$2 work=$3
shift 3
data=$(dirname "$0")/../data/train
rm -rf "$work" && mkdir -p "$work"
flags="--model $data/tiny_bert --data $data/synthetic.jsonl --epochs 2 --batch-size 7 --grad-accum 2
  --lr 5e-3 --threads 1 --backend $backend --quiet"

# the step records' losses, one a line
losses() { grep '"step"' "$1" | grep -v '"split"' | sed 's/.*"loss": \([^,]*\),.*/\1/'; }
compare() { # compare A B WHAT
  la=$(losses "$1" | wc -l) lb=$(losses "$2" | wc -l)
  if [ "$la" -ne "$lb" ] || [ "$la" -eq 0 ]; then
    echo "FAIL: $3: $la steps against $lb"; exit 1
  fi
  losses "$1" > "$work/a.txt"
  losses "$2" > "$work/b.txt"
  paste "$work/a.txt" "$work/b.txt" | awk -v what="$3" '
    { d = $1 - $2; if (d < 0) d = -d; m = $1 < 0 ? -$1 : $1; r = d / (m > 1e-12 ? m : 1e-12);
      if (r > worst) worst = r }
    END { printf "%s: %d steps, largest relative difference %.3g\n", what, NR, worst;
          if (worst > 1e-5) { print "FAIL: more than 1e-5"; exit 1 } }'
}

# shellcheck disable=SC2086 # flags are words
"$porta" train $flags --out "$work/one"
"$@" "$porta" train $flags --out "$work/two"
compare "$work/one/metrics.jsonl" "$work/two/metrics.jsonl" "1 process vs 2 ranks"
steps=$(losses "$work/two/metrics.jsonl" | wc -l)
unique=$(grep '"step"' "$work/two/metrics.jsonl" | grep -v split | sort -u | wc -l)
[ "$steps" -eq "$unique" ] || { echo "FAIL: metrics.jsonl holds $steps step lines, $unique distinct"; exit 1; }
grep -q '"split": "test"' "$work/two/metrics.jsonl" || { echo "FAIL: no test metrics"; exit 1; }
[ -d "$work/two/best" ] && [ -d "$work/two/last" ] || { echo "FAIL: best/ or last/ missing"; exit 1; }
echo "one run folder: $steps steps logged once each, best/ and last/ written"

"$@" "$porta" train $flags --out "$work/resume21" --save-every 4 --stop-after 6
"$porta" train --resume "$work/resume21" --quiet --threads 1 --backend "$backend"
compare "$work/one/metrics.jsonl" "$work/resume21/metrics.jsonl" "2 ranks stop after step 6, 1 process resumes at 4"
"$porta" train $flags --out "$work/resume12" --save-every 4 --stop-after 9
"$@" "$porta" train --resume "$work/resume12" --quiet --threads 1 --backend "$backend"
compare "$work/one/metrics.jsonl" "$work/resume12/metrics.jsonl" "1 process stops after step 9, 2 ranks resume at 8"
echo "ok"
