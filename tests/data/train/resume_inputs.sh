#!/bin/sh
# resume_inputs.sh PORTA TINY_MODEL DATA WORK_DIR: --resume continues from what the run folder
# holds and checks its inputs (issue 16, points 4 and 5).
#  - the --model folder moved away: resume used to reload the tokenizer from it and fail (or, with
#    its tokenizer changed, go on with other token ids); now it loads last/'s copy
#  - the data file changed (other rows, same count): resume used to go on silently; now it is
#    refused naming --allow-changed-data, which goes on
#  - resuming a finished run appended a test record with "step": 0 and printed a "valid (best,
#    epoch 2) ... 0 rows" line; now it says the run finished and writes nothing
#  - a hand-edited trainer_state.json (next_batch 100000) silently skipped an epoch; now refused
porta="$1" model="$2" data="$3" work="$4"
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work" || exit 1
cp -r "$model" "$work/model" && cp "$data" "$work/data.jsonl" || exit 1
run="$work/run"
common="--batch-size 16 --backend cpu --threads 1 --log-every 1000"
"$porta" train --model "$work/model" --data "$work/data.jsonl" --out "$run" --epochs 2 \
  --stop-after 5 --save-every 5 $common || fail "the first part of the run failed"
cp -r "$run" "$work/run-edited"

mv "$work/model" "$work/model-moved"
out=$("$porta" train --resume "$run" --stop-after 2 2>&1) || { echo "$out"; fail "resume without the --model folder failed"; }
echo "ok: resumed with the --model folder moved away"

# one row's text changed, the row count the same
sed '3s/day a dull/day a bright/' "$data" >"$work/data.jsonl"
cmp -s "$data" "$work/data.jsonl" && fail "the fixture's row 3 is not 'day a dull'"
out=$("$porta" train --resume "$run" 2>&1)
rc=$?
echo "changed data: exit $rc: $out" | tail -1
[ $rc -ne 0 ] || fail "resume on changed data exited 0"
case "$out" in *"is not the data this run began with"*"--allow-changed-data"*) ;;
  *) fail "the refusal does not explain itself" ;; esac
out=$("$porta" train --resume "$run" --allow-changed-data 2>&1) || { echo "$out"; fail "--allow-changed-data failed"; }
case "$out" in *"data: warning:"*"changed since the run began"*) ;; *) fail "no warning with --allow-changed-data" ;; esac
[ "$(grep -c '"split": "test"' "$run/metrics.jsonl")" = 1 ] || fail "not one test record"
grep -q '"split": "test", "epoch": [0-9]*, "step": 26,' "$run/metrics.jsonl" || fail "the test record is not at step 26"

cp "$run/metrics.jsonl" "$work/metrics.before"
out=$("$porta" train --resume "$run" --allow-changed-data 2>&1) || { echo "$out"; fail "resuming a finished run failed"; }
case "$out" in *"the run finished at step 26 of 26"*) ;; *) echo "$out"; fail "no word that the run finished" ;; esac
case "$out" in *"valid (best"*) echo "$out"; fail "a valid line printed for a run that did nothing" ;; esac
cmp -s "$run/metrics.jsonl" "$work/metrics.before" || fail "resuming a finished run changed metrics.jsonl"
echo "ok: a finished run stays as it was"

cp "$data" "$work/data.jsonl"
sed 's/"next_batch": [0-9]*/"next_batch": 100000/' "$work/run-edited/last/trainer_state.json" >"$work/state" &&
  mv "$work/state" "$work/run-edited/last/trainer_state.json"
sed "s|$work/model|$work/model-moved|" "$work/run-edited/settings.json" >"$work/settings" &&
  mv "$work/settings" "$work/run-edited/settings.json"
out=$("$porta" train --resume "$work/run-edited" 2>&1)
rc=$?
echo "edited state: exit $rc: $out" | tail -1
[ $rc -ne 0 ] || fail "next_batch 100000 was accepted"
case "$out" in *"next_batch 100000"*"do not fit"*) ;; *) fail "the refusal does not name next_batch" ;; esac
echo "ok: resume checks its inputs"
