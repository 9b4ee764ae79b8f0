#!/bin/sh
# durable_writes.sh PORTA TINY_MODEL DATA WORK_DIR: a short `porta train` under strace must fsync
# every file it writes into the run folder (before renaming it into place) and the run folder
# after the last.tmp -> last rename, so that a power loss never leaves a checkpoint or run file
# that was renamed but not written. Exits 77 (ctest: skipped) without a working strace.
porta="$1" model="$2" data="$3" work="$4"
command -v strace >/dev/null 2>&1 || { echo "strace is not installed: skipped"; exit 77; }
strace -f -qq -o /dev/null true 2>/dev/null || { echo "strace cannot trace here: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work" || exit 1
run="$work/run"
trace="$work/trace.txt"
# LeakSanitizer cannot run under ptrace (it stops with a fatal error): in an ASan build, leaks are
# checked by the same command's untraced runs (cli_train_tiny and others), not by this one
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
  strace -f -qq -y -e trace=fsync,fdatasync,rename,renameat,renameat2 -o "$trace" \
    "$porta" train --model "$model" --data "$data" --out "$run" --max-steps 3 --batch-size 16 \
    --backend cpu --threads 1 --quiet || { echo "FAIL: porta train failed"; exit 1; }
run=$(cd "$run" && pwd -P)
status=0
# a file counts as durable when an fsync of its temporary precedes the rename onto its name
for f in settings.json split.json labels.json last/config.json last/model.safetensors \
  last/vocab.txt last/tokenizer_config.json last/labels.json last/trainer_state.json \
  last/optimizer.safetensors best/config.json best/trainer_state.json; do
  dir=$(dirname "$f") base=$(basename "$f")
  [ "$dir" = . ] && tmpdir="$run" || tmpdir="$run/$dir.tmp"
  if grep -q "fsync([0-9]*<$tmpdir/$base\.tmp-" "$trace"; then
    echo "ok: $f fsynced before its rename"
  else
    echo "FAIL: $f was not fsynced ($tmpdir/$base.tmp-*)"; status=1
  fi
done
# after the rename of last.tmp onto last: an fsync of the run folder
if awk -v run="$run" '/rename.*last\.tmp", ".*\/last"\)/ { seen = 1; next }
    seen && index($0, "fsync(") && index($0, "<" run ">") { found = 1 }
    END { exit found ? 0 : 1 }' "$trace"; then
  echo "ok: the run folder is fsynced after last.tmp -> last"
else
  echo "FAIL: no fsync of $run after the last.tmp -> last rename"; status=1
fi
[ $status -eq 0 ] || { echo "--- trace"; grep -v model.safetensors "$trace" | head -80; }
exit $status
