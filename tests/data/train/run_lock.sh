#!/bin/sh
# run_lock.sh PORTA TINY_MODEL DATA WORK_DIR: one writer per run folder (issue 16, point 1).
# Two `porta train` with the same --out both ran and both exited 0, mixing settings, split,
# checkpoints and metrics of two seeds. Now, while trainer A runs: a second fresh trainer and a
# --resume of the folder are refused at once with a message naming A's PID, and leave the folder
# as it was; a reader (eval --run) works. A stops on SIGTERM with exit code 143; the lock file of
# a killed holder is taken over by the next run.
porta="$1" model="$2" data="$3" work="$4"
run="$work/run"
rm -rf "$work" && mkdir -p "$work" || exit 1
common="--model $model --data $data --batch-size 16 --backend cpu --threads 1"
"$porta" train $common --out "$run" --epochs 3000 --quiet &
a=$!
trap 'kill -9 $a 2>/dev/null' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# wait until A holds the lock and has written its first checkpoint and settings
i=0
until grep -q "pid $a" "$run/run.lock" 2>/dev/null && [ -f "$run/best/config.json" ] &&
  [ -f "$run/settings.json" ]; do
  i=$((i + 1))
  [ $i -gt 600 ] && fail "trainer A (PID $a) wrote no lock and checkpoint in 60 s"
  kill -0 $a 2>/dev/null || fail "trainer A (PID $a) ended early"
  sleep 0.1
done
cp "$run/settings.json" "$work/settings.before"
cp "$run/split.json" "$work/split.before"

out=$("$porta" train $common --out "$run" --seed 7 --max-steps 2 2>&1)
rc=$?
echo "second trainer: exit $rc: $out"
[ $rc -ne 0 ] || fail "a second trainer on $run exited 0"
case "$out" in *"in use by PID $a"*) ;; *) fail "the refusal does not name PID $a" ;; esac

out=$("$porta" train --resume "$run" 2>&1)
rc=$?
echo "resume while A runs: exit $rc: $out"
[ $rc -ne 0 ] || fail "--resume of a folder in use exited 0"
case "$out" in *"in use by PID $a"*) ;; *) fail "the --resume refusal does not name PID $a" ;; esac

cmp -s "$run/settings.json" "$work/settings.before" || fail "the refused trainer changed settings.json"
cmp -s "$run/split.json" "$work/split.before" || fail "the refused trainer changed split.json"
"$porta" eval --run "$run" --split test --json >"$work/eval.json" 2>&1 ||
  { cat "$work/eval.json"; fail "eval --run (a reader) failed while A runs"; }
echo "ok: eval --run works while A runs"

kill -TERM $a
wait $a
rc=$?
echo "trainer A after SIGTERM: exit $rc"
[ $rc -eq 143 ] || fail "SIGTERM gave exit code $rc, expected 143 (128 + 15)"
trap - EXIT

# an orderly end empties the lock file; a killed holder leaves its PID there, and that lock is
# taken over (the flock died with its holder), with a note
[ -s "$run/run.lock" ] && fail "run.lock still names a PID after an orderly end"
mkdir -p "$work/run2" && printf 'pid %s\nhost %s\n' "$a" "$(hostname)" >"$work/run2/run.lock"
out=$("$porta" train $common --out "$work/run2" --max-steps 2 --log-every 1000 2>&1) ||
  { echo "$out"; fail "a run folder with a stale lock file was refused"; }
case "$out" in *"locked by PID $a, which is no longer running"*) ;;
  *) echo "$out"; fail "no note about the stale lock of PID $a" ;; esac
[ -s "$work/run2/run.lock" ] && fail "run.lock not emptied at the end of the run"
echo "ok: one writer per run folder"
