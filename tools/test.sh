#!/usr/bin/env bash
# Builds porta and runs the whole test suite: the normal build (every backend this machine has:
# CPU, OpenCL on PoCL, Vulkan on lavapipe with and without validation layers, and the Vulkan
# conformance suite as lavapipe compiles it for hosts without AVX-512 or AVX), the Vulkan tests
# again on a second driver (Mesa 25's lavapipe from bookworm-backports, unpacked privately by
# tools/mesa25.sh), the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer,
# valgrind, and the libFuzzer targets for a bounded time each. Exits non-zero when anything fails.
#   FUZZ_SECONDS=N   seconds per fuzz target (default 30; 0 skips fuzzing)
#   SKIP_ASAN=1      skip the sanitizer build (for a quick local run)
#   SKIP_VALGRIND=1  skip the valgrind memcheck of the CPU-backend tests (about 10 minutes)
#   SKIP_MESA25=1    skip the second Vulkan driver; without the network it is skipped with a
#                    message, unless CI=true (CI must prove the whole driver matrix)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

tools/setup.sh --test-models

export PORTA_MINILM_DIR="$root/models/all-MiniLM-L6-v2"
[ -d "$root/models/rxnfp/rxnfp" ] && export PORTA_RXNFP_DIR="$root/models/rxnfp"
export CTEST_OUTPUT_ON_FAILURE=1
status=0

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
(cd build && ctest --output-on-failure --timeout 1200) || status=1

if [ "${SKIP_MESA25:-0}" != "1" ]; then
  echo "== Vulkan tests on a second driver: Mesa 25 lavapipe (private folder, system untouched)"
  if mesa_env=$(tools/mesa25.sh build-mesa25/driver | tail -n 1); then
    # shellcheck disable=SC2086 # two VAR=value words
    (cd build && env $mesa_env ctest --output-on-failure --timeout 1200 -R vulkan) || status=1
  elif [ "${CI:-}" = "true" ]; then
    echo "Mesa 25 lavapipe could not be fetched"; status=1
  else
    echo "skipped: Mesa 25 lavapipe could not be fetched (no network?)"
  fi
fi

if [ "${SKIP_ASAN:-0}" != "1" ]; then
  echo "== build (ASan + UBSan)"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPORTA_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  # The drivers leak on their own (PoCL, lavapipe): suppress leaks inside them only, and keep
  # lavapipe loaded so its frames have names (see DESIGN.md). porta's own leaks still fail.
  lvp=$(dpkg -L mesa-vulkan-drivers 2>/dev/null | grep -m1 'libvulkan_lvp.so$' || true)
  export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
  export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=1:abort_on_error=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  echo "== tests under ASan + UBSan"
  (cd build-asan && LD_PRELOAD="$lvp" ctest --output-on-failure --timeout 1800) || status=1
fi

if [ "${SKIP_VALGRIND:-0}" != "1" ] && command -v valgrind >/dev/null; then
  echo "== valgrind memcheck of the CPU-backend tests (CPU-only build)"
  tools/valgrind.sh || status=1
fi

fuzz_seconds=${FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" != "0" ] && command -v clang >/dev/null; then
  echo "== fuzz targets (${fuzz_seconds}s each)"
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DPORTA_FUZZ=ON -DPORTA_BUILD_TESTS=OFF \
    -DPORTA_BUILD_CLI=OFF -DPORTA_BUILD_EXAMPLES=OFF -DPORTA_WERROR=OFF -DPORTA_WITH_OPENCL=OFF -DPORTA_WITH_VULKAN=OFF >/dev/null
  cmake --build build-fuzz -j"$jobs"
  for bin in build-fuzz/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    corpus="tests/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus/." "$work/" 2>/dev/null || true
    if ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
        "$bin" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$work" > "build-fuzz/$name.log" 2>&1; then
      runs=$(grep -m1 'stat::number_of_executed_units' "build-fuzz/$name.log" | awk '{print $2}')
      echo "fuzz $name: ${runs:-?} runs, no finding"
    else
      echo "fuzz $name: FINDING"; tail -40 "build-fuzz/$name.log"; status=1
    fi
    rm -rf "$work"
  done
fi

if [ $status -ne 0 ]; then echo "tools/test.sh: FAILED"; else echo "tools/test.sh: all passed"; fi
exit $status
