#!/usr/bin/env bash
# Runs porta's CPU-backend tests under valgrind memcheck: any invalid read/write, use of an
# uninitialised value or definite leak fails (exit 1). Slow (20-50x). Besides the test programs it
# runs the `porta` program's load paths on the tiny test model (cli_embed: embed; cli_train: train
# --max-steps 2 with checkpoints and the test evaluation), which reach code the tests call
# differently (config.json parsing, tokenizer loading, the run folder).
#   tools/valgrind.sh                       configure + build build-valgrind (CPU backend only,
#                                           RelWithDebInfo) and run every CPU test in it
#   tools/valgrind.sh BUILD_DIR [TEST...]   run the named tests (default: every CPU test, and
#                                           cli_embed / cli_train when BUILD_DIR has porta) from an
#                                           existing build dir; GPU backends compiled into it are
#                                           filtered out by PORTA_TEST_BACKENDS=cpu,cpu-ref
#   VALGRIND_LOG_DIR=dir                    where the per-test logs go (default BUILD_DIR/valgrind)
# Suppressions for library noise (OpenBLAS, libgomp, drivers) live in tests/valgrind.supp.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
own_build=0
if [ $# -eq 0 ]; then own_build=1; fi
build=${1:-$root/build-valgrind}
shift || true
mkdir -p "$build" && build=$(cd "$build" && pwd)

if ! command -v valgrind >/dev/null; then
  echo "valgrind.sh: valgrind is not installed (Debian: apt-get install valgrind)" >&2
  exit 2
fi
if [ $own_build = 1 ]; then
  # The default build dir is ours: configure once (CPU backend only), bring it up to date always.
  if [ ! -f "$build/CMakeCache.txt" ]; then
    echo "== configuring $build (CPU backend only)"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTA_WITH_OPENCL=OFF \
      -DPORTA_WITH_VULKAN=OFF -DPORTA_BUILD_CLI=ON >/dev/null || exit 2
  fi
  # -k: one test that does not build must not keep the others from running
  if ! cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" -- -k >"$build/valgrind-build.log" 2>&1; then
    echo "valgrind.sh: the build failed (see $build/valgrind-build.log); running the tests that built" >&2
  fi
fi
if [ ! -d "$build/tests" ]; then
  echo "valgrind.sh: $build has no tests/ (configure it with PORTA_BUILD_TESTS=ON)" >&2
  exit 2
fi

gpu_built=0
if grep -Eq '^PORTA_WITH_(OPENCL|VULKAN):BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then gpu_built=1; fi

# Tests for one GPU backend only, and (when GPU backends are compiled in) tests that try every
# backend without reading PORTA_TEST_BACKENDS: under valgrind the drivers would dominate.
gpu_only="test_opencl_backend test_vulkan_backend test_vulkan_ops test_vulkan_gemm_bench"
gpu_unfiltered="test_bert_parity test_core_context test_train_tiny"

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  for exe in "$build"/tests/test_*; do
    [ -x "$exe" ] && [ -f "$exe" ] || continue
    name=$(basename "$exe")
    case " $gpu_only " in *" $name "*) continue ;; esac
    if [ $gpu_built = 1 ]; then
      case " $gpu_unfiltered " in *" $name "*) echo "skip $name (tries the GPU backends; use a CPU-only build)"; continue ;; esac
    fi
    tests+=("$name")
  done
  if [ -x "$build/porta" ]; then tests+=(cli_embed cli_train); fi
fi

logs=${VALGRIND_LOG_DIR:-$build/valgrind}
mkdir -p "$logs"
export PORTA_TEST_BACKENDS=cpu,cpu-ref PORTA_MINILM_BACKENDS=cpu
export PORTA_CACHE_DIR="$build/porta-cache"
# One thread each: valgrind serialises threads anyway, and fewer threads mean less pool noise.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
# Tests with wall-clock limits scale them by this (valgrind runs code 20-50x slower).
export PORTA_TEST_TIME_SCALE=${PORTA_TEST_TIME_SCALE:-50}
: "${PORTA_MINILM_DIR:=$root/models/all-MiniLM-L6-v2}"
export PORTA_MINILM_DIR

tiny="$root/tests/data/train/tiny_bert"
failed=()
for name in "${tests[@]}"; do
  exe="$build/tests/$name"
  [ -x "$exe" ] || exe="$name"
  args=()
  input=/dev/null
  # the porta program's load paths, on the tiny model (seconds, not minutes, under valgrind)
  case "$name" in
    cli_embed)
      exe="$build/porta"
      args=(embed --model "$tiny" --backend cpu --normalize)
      input="$root/tests/data/train/one_label.jsonl" ;;
    cli_train)
      exe="$build/porta"
      rm -rf "$logs/cli_train_run"
      args=(train --model "$tiny" --data "$root/tests/data/train/synthetic.jsonl" --max-steps 2
        --batch-size 16 --backend cpu --threads 1 --out "$logs/cli_train_run") ;;
  esac
  log="$logs/$(basename "$name").log"
  start=$(date +%s)
  (cd "$build/tests" && valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
      --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=yes \
      --suppressions="$root/tests/valgrind.supp" --num-callers=30 "$exe" "${args[@]}" <"$input") >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  summary=$(grep -m1 'ERROR SUMMARY' "$log" | sed 's/^==[0-9]*== //')
  if [ $rc -eq 0 ]; then
    printf '%-28s ok    %4ds  %s\n' "$(basename "$name")" "$secs" "$summary"
  else
    printf '%-28s FAIL  %4ds  exit %d, %s (log: %s)\n' "$(basename "$name")" "$secs" "$rc" "$summary" "$log"
    failed+=("$(basename "$name")")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "valgrind.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "valgrind.sh: ${#tests[@]} tests clean"
