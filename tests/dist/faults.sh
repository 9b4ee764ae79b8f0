#!/bin/sh
# faults.sh PORTA WORKDIR MPIEXEC NP_FLAG [MPIEXEC FLAGS...]: a data-parallel job must end, never
# hang, when one rank goes:
#   1. rank 1 fails (its data file is missing): the job exits non-zero within seconds and the
#      message names rank 1 and the file;
#   2. rank 1 is killed (SIGKILL) mid-training: the job exits non-zero within seconds, and the
#      last checkpoint stays intact: porta eval loads it and porta train --resume continues it.
set -u
porta=$1 work=$2 mpiexec=$3 np=$4
shift 4
data=$(dirname "$0")/../data/train
rm -rf "$work" && mkdir -p "$work"
flags="--model $data/tiny_bert --lr 5e-3 --threads 1 --backend cpu --no-progress --log-every 1"
fail() { echo "FAIL: $*"; exit 1; }

# 1. MPMD launch (standard mpiexec syntax): rank 1 gets a data file that does not exist
start=$(date +%s)
# shellcheck disable=SC2086
"$mpiexec" "$@" $np 1 "$porta" train $flags --data "$data/synthetic.jsonl" --out "$work/fail" : \
  "$@" $np 1 "$porta" train $flags --data "$work/missing.jsonl" --out "$work/fail" > "$work/fail.log" 2>&1
rc=$? took=$(($(date +%s) - start))
cat "$work/fail.log" | grep -v '^ *$' | head -20
[ "$rc" -ne 0 ] || fail "a failed rank left exit code 0"
[ "$took" -le 20 ] || fail "the job took $took s to end"
grep -q "rank 1 of 2: train: .*missing.jsonl" "$work/fail.log" || fail "the message does not name rank 1 and the file"
echo "ok: rank 1 failed, the job ended in $took s with exit code $rc"

# 2. SIGKILL rank 1 after step 6 (last/ written every 3 steps)
"$mpiexec" "$@" $np 2 "$porta" train $flags --data "$data/synthetic.jsonl" --out "$work/kill" \
  --epochs 200 --batch-size 4 --save-every 3 > "$work/kill.log" 2>&1 &
launcher=$!
i=0
until grep -q '"step": 6,' "$work/kill/metrics.jsonl" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 600 ] || { kill "$launcher"; fail "no step 6 within 60 s"; }
  sleep 0.1
done
# rank 1: the launched porta (a child, or a grandchild under MPICH's proxy) whose environment
# says rank 1
victim=""
for pid in $(pgrep -P "$launcher") $(for c in $(pgrep -P "$launcher"); do pgrep -P "$c"; done); do
  if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx -e 'OMPI_COMM_WORLD_RANK=1' -e 'PMI_RANK=1'; then
    victim=$pid
  fi
done
[ -n "$victim" ] || { kill "$launcher"; fail "rank 1's process not found"; }
start=$(date +%s)
kill -9 "$victim"
wait "$launcher"
rc=$? took=$(($(date +%s) - start))
grep -v '^ *$' "$work/kill.log" | tail -8
[ "$rc" -ne 0 ] || fail "a killed rank left exit code 0"
[ "$took" -le 20 ] || fail "the job took $took s to end after the kill"
echo "ok: rank 1 killed, the job ended in $took s with exit code $rc"
"$porta" eval --model "$work/kill/last" --data "$data/synthetic.jsonl" --backend cpu > "$work/eval.log" 2>&1 ||
  { cat "$work/eval.log"; fail "last/ does not load"; }
grep -m1 accuracy "$work/eval.log"
"$porta" train --resume "$work/kill" --stop-after 2 --quiet --threads 1 --backend cpu ||
  fail "train --resume from last/ failed"
echo "ok: last/ intact (evaluated, and training resumed from it)"
