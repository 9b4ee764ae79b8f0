#!/usr/bin/env bash
# Prepares, on a Debian 12 machine with the build tools, what tools/gpu_check.sh needs on a bare GPU
# machine that has no network: everything goes into the git-ignored folder .gpu/ (well under 64 MiB),
# which is the one path to carry next to the working tree:
#   .gpu/bin/    porta and the conformance test programs (Release, stripped)
#   .gpu/debs/   runtime libraries a bare machine may lack (Vulkan loader, OpenCL ICD loader, CLBlast,
#                cJSON, utf8proc, OpenBLAS, gfortran, libstdc++): gpu_check.sh unpacks those the machine
#                lacks (dpkg -x) into a private prefix; nothing is installed
#   .gpu/model/  all-MiniLM-L6-v2 with its weights stored as F16 (porta widens them to f32 on load),
#                model.safetensors gzip'd
#   .gpu/data/   the sarcasm headlines, gzip'd
#   .gpu/MANIFEST  what was built, from which commit, and the sizes
# Usage: tools/gpu_prepare.sh   (then carry [".gpu"] and run tools/gpu_check.sh OUT_DIR there)
#   PORTA_GPU_MODEL=DIR   the model to carry (default models/all-MiniLM-L6-v2)
#   PORTA_DATA=FILE       the data set (default: the sarcasm file porta finds by itself)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/.gpu"
jobs=$(nproc 2>/dev/null || echo 2)
model=${PORTA_GPU_MODEL:-models/all-MiniLM-L6-v2}
data=${PORTA_DATA:-}
for d in ../shared/data/sarcasm /work/shared/data/sarcasm; do
  [ -z "$data" ] && [ -f "$d/Sarcasm_Headlines_Dataset.jsonl" ] && data="$d/Sarcasm_Headlines_Dataset.jsonl"
done

echo "== Release build (build-gpu/)"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DPORTA_BUILD_EXAMPLES=OFF >/dev/null
tests=(test_backend_ops test_selftest test_opencl_backend test_vulkan_backend test_vulkan_ops)
cmake --build build-gpu -j"$jobs" --target porta_cli "${tests[@]}"

rm -rf "$out"
mkdir -p "$out/bin" "$out/debs" "$out/model" "$out/data"
cp build-gpu/porta "$out/bin/"
# the program finds libporta beside itself ($ORIGIN): one real file under its SONAME
soname=$(objdump -p build-gpu/libporta.so | awk '/SONAME/ {print $2}')
cp -L "build-gpu/$soname" "$out/bin/"
for t in "${tests[@]}"; do [ -x "build-gpu/tests/$t" ] && cp "build-gpu/tests/$t" "$out/bin/"; done
strip "$out"/bin/* 2>/dev/null || true

echo "== runtime .debs (apt-get download: nothing is installed here)"
debs=(libvulkan1 ocl-icd-libopencl1 libclblast1 libcjson1 libutf8proc2 libopenblas0-pthread
  libgfortran5 libquadmath0 libstdc++6 libgcc-s1)
(cd "$out/debs" && apt-get download "${debs[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
n_debs=$(ls "$out/debs"/*.deb 2>/dev/null | wc -l)
[ "$n_debs" -eq "${#debs[@]}" ] || { echo "gpu_prepare: got $n_debs of ${#debs[@]} .debs" >&2; exit 1; }

echo "== model ($model, weights as F16)"
if [ -f "$model/model.safetensors" ]; then
  for f in config.json vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json; do
    [ -f "$model/$f" ] && cp "$model/$f" "$out/model/"
  done
  python3 tools/safetensors_f16.py "$model/model.safetensors" "$out/model/model.safetensors"
  gzip -6 "$out/model/model.safetensors" # 45 -> 42 MB; gpu_check.sh unpacks it
else
  echo "gpu_prepare: no $model/model.safetensors: the demo step will be skipped there" >&2
  rmdir "$out/model"
fi

echo "== data"
if [ -n "$data" ] && [ -f "$data" ]; then
  gzip -9c "$data" > "$out/data/sarcasm.jsonl.gz"
else
  echo "gpu_prepare: the sarcasm data set was not found (PORTA_DATA=FILE): no demo step there" >&2
  rmdir "$out/data"
fi

size=$(du -sm "$out" | cut -f1)
{
  echo "porta gpu bundle: commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)'), built $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -n)"
  echo "glibc needed: $(objdump -T "$out/bin/porta" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
  (cd "$out" && du -sh bin debs model data 2>/dev/null)
  echo "total ${size} MiB"
} > "$out/MANIFEST"
cat "$out/MANIFEST"
if [ "$size" -ge 60 ]; then
  echo "gpu_prepare: .gpu is ${size} MiB, too close to the 64 MiB a carry may hold" >&2
  exit 1
fi
echo "ready: carry [\".gpu\"] and run: bash tools/gpu_check.sh OUT_DIR"
