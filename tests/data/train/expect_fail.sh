#!/bin/sh
# expect_fail.sh NEEDLE COMMAND [ARGS...]: passes when COMMAND exits non-zero and its output
# (stdout + stderr) contains NEEDLE, e.g. the path of the missing file. For tests/cli.cmake.
needle="$1"
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n(exit code %d)\n' "$out" "$rc"
if [ "$rc" -eq 0 ]; then echo "FAIL: expected a non-zero exit code"; exit 1; fi
case "$out" in
  *"$needle"*) echo "ok: exit code $rc, message names $needle" ;;
  *) echo "FAIL: the message does not name $needle"; exit 1 ;;
esac
