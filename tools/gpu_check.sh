#!/usr/bin/env bash
# The one script to run first on a machine with a GPU. It writes OUT_DIR/report.md as it goes (a run
# killed at any point still leaves what it found) plus the JSON and log files next to it:
#   1. porta itself: the prebuilt .gpu/bin (tools/gpu_prepare.sh) with the runtime libraries the
#      machine lacks unpacked from .gpu/debs into a private prefix (never installed), else a build
#      here when cmake and a compiler exist; the NVIDIA driver's OpenCL / Vulkan ICD files written
#      into OUT_DIR when the system has the libraries but not the files
#   2. porta devices, and porta devices --selftest (every op and fast path vs the CPU reference)
#   3. the conformance suites (test_backend_ops, test_selftest, the backend tests) per GPU backend
#   4. porta bench --json per GPU backend (and a quick one of the CPU backend)
#   5. a one-epoch fine-tune of all-MiniLM-L6-v2 on the sarcasm headlines per GPU backend: metrics
#      and wall time
#   6. bench/pytorch_ref.py on the same card when torch sees a GPU: fp32 with TF32 off, and bf16
#      autocast (skipped, and said so, without torch)
# Every step has its own timeout and the whole stays under PORTA_GPU_CHECK_BUDGET seconds (default
# 510: 8.5 minutes); steps that no longer fit are marked skipped.
#
# Prepare on the build machine, then carry the working tree plus [".gpu"] (≈57 MiB):
#   tools/gpu_prepare.sh
#   bash tools/gpu_check.sh "$OUT"          # on the GPU machine; $OUT comes back
#
# PORTA_GPU_CHECK_ALLOW_CPU=1 runs the same steps with small sizes on the CPU emulators (PoCL,
# lavapipe) so CI proves the script before a GPU ever sees it (torch, if present, runs fp32 on the
# CPU only). PORTA_GPU_CHECK_BIN=DIR uses the porta and test programs of DIR (porta in DIR, the
# tests in DIR/tests or DIR) instead of .gpu/bin; PORTA_GPU_CHECK_TORCH=0 skips the torch step;
# PORTA_MINILM_DIR / PORTA_DATA name the model and data when .gpu has none; PORTA_GPU_CHECK_WORK=DIR
# keeps the scratch folder (unpacked libraries, model, data, checkpoints; default a temporary one,
# removed at the end).
set -uo pipefail
out=${1:?usage: tools/gpu_check.sh OUT_DIR}
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p "$out/logs" || exit 1
out=$(cd "$out" && pwd)
report="$out/report.md"
cpu_mode=${PORTA_GPU_CHECK_ALLOW_CPU:-0}
budget=${PORTA_GPU_CHECK_BUDGET:-510}
t_start=$(date +%s)
export TMPDIR="${TMPDIR:-/tmp}"
# bulky things (unpacked libraries, the model, data, checkpoints, a build) go to a scratch folder,
# so OUT_DIR holds only what is worth sending back: report, logs, JSON, metrics, cache verdicts
work=${PORTA_GPU_CHECK_WORK:-$TMPDIR/porta-gpu-check.$$}
mkdir -p "$work" || exit 1
export PORTA_CACHE_DIR="$work/cache"
mkdir -p "$PORTA_CACHE_DIR" "$out/cache"
# the self-test verdicts and OpenCL GEMM choices are worth sending back (not the compiled programs)
keep_cache() { cp "$PORTA_CACHE_DIR"/selftest-*.txt "$PORTA_CACHE_DIR"/ocl-gemm-*.txt "$out/cache/" 2>/dev/null; }

elapsed() { echo $(($(date +%s) - t_start)); }
say() { echo "$*" | tee -a "$report"; }

# step NAME TIMEOUT CMD...: runs CMD with its output in logs/NAME.log and one line in the report;
# the timeout shrinks to what is left of the budget (less 15 s for the summary).
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget - $(elapsed) - 15))
  if [ "$left" -lt 10 ]; then
    say "- **$name**: skipped, out of time ($(elapsed) s of $budget used)"
    return 124
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local log="$out/logs/$name.log" t0 rc
  t0=$(date +%s)
  timeout -k 5 "$limit" "$@" >"$log" 2>&1
  rc=$?
  local took=$(($(date +%s) - t0)) verdict=ok
  [ $rc -ne 0 ] && verdict="FAILED (exit $rc)"
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && verdict="TIMED OUT after ${limit} s"
  say "- **$name**: $verdict, ${took} s — \`logs/$name.log\`"
  return $rc
}

# excerpt FILE N: the last N lines of a log in a code block
excerpt() {
  [ -s "$1" ] || return 0
  { echo '```'; tail -n "$2" "$1"; echo '```'; } >>"$report"
}

{
  echo "# porta GPU check"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(uname -sr)$([ "$cpu_mode" = 1 ] && echo ', CPU-emulator mode (PORTA_GPU_CHECK_ALLOW_CPU=1)')"
  echo
  [ -f .gpu/MANIFEST ] && { echo '```'; cat .gpu/MANIFEST; echo '```'; }
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
  echo "OS: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), glibc $(ldd --version 2>/dev/null | head -1 | grep -o '[0-9.]*$')"
  if command -v nvidia-smi >/dev/null; then
    echo '```'
    timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    echo '```'
  fi
  echo
  echo "## Steps"
} >"$report"

# ---- 1. porta, its libraries and the drivers' ICD files -------------------------------------------
prefix="$work/prefix"
libdirs=""
# unpack one .deb into the prefix: dpkg-deb, else ar + tar, else python3
unpack_deb() {
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$1" "$prefix"
  elif command -v ar >/dev/null; then
    (cd "$prefix" && ar p "$1" "$(ar t "$1" | grep '^data.tar')" | tar -x --auto-compress -f - 2>/dev/null ||
      ar p "$1" "$(ar t "$1" | grep '^data.tar')" | xz -dc | tar -x)
  else
    python3 - "$1" "$prefix" <<'EOF'
import io, lzma, sys, tarfile
data = open(sys.argv[1], "rb").read()
pos = 8
while pos < len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    pos += 60 + size + (size & 1)
EOF
  fi
}
setup_libraries() {
  mkdir -p "$prefix"
  local deb soname pkg
  # package -> the library it provides; unpacked only when the system has no such library
  for pair in libvulkan1:libvulkan.so.1 ocl-icd-libopencl1:libOpenCL.so.1 libclblast1:libclblast.so.1 \
    libcjson1:libcjson.so.1 libutf8proc2:libutf8proc.so.2 libopenblas0-pthread:libopenblas.so.0 \
    libgfortran5:libgfortran.so.5 libquadmath0:libquadmath.so.0 libstdc++6:libstdc++.so.6 \
    libgcc-s1:libgcc_s.so.1; do
    pkg=${pair%%:*} soname=${pair#*:}
    if ldconfig -p 2>/dev/null | grep -E "[[:space:]]$soname " >/dev/null; then # no -q: pipefail
      echo "system has $soname"
      continue
    fi
    deb=$(ls .gpu/debs/"${pkg}"_*.deb 2>/dev/null | head -1)
    if [ -z "$deb" ]; then
      echo "missing $soname and no .gpu/debs/${pkg}_*.deb"
      continue
    fi
    echo "unpacking $(basename "$deb") for $soname"
    unpack_deb "$root/$deb" || echo "could not unpack $deb"
  done
  for d in "$prefix/usr/lib/x86_64-linux-gnu" "$prefix/usr/lib/x86_64-linux-gnu/openblas-pthread"; do
    [ -d "$d" ] && libdirs="$libdirs${libdirs:+:}$d"
  done
  echo "private library path: ${libdirs:-none}"
}

# the first copy of a library: the linker cache, then the usual driver folders
find_lib() {
  local p
  p=$(ldconfig -p 2>/dev/null | grep -m1 -E "[[:space:]]$1 " | sed 's/.*=> //')
  [ -n "$p" ] && [ -e "$p" ] && { echo "$p"; return 0; }
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib \
    /usr/lib/x86_64-linux-gnu/nvidia/current /run/nvidia/driver/usr/lib/x86_64-linux-gnu; do
    [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
  done
  return 1
}

setup_icds() {
  local lib
  if [ -z "${OCL_ICD_VENDORS:-}" ] && ! ls /etc/OpenCL/vendors/*nvidia*.icd >/dev/null 2>&1; then
    if lib=$(find_lib libnvidia-opencl.so.1); then
      mkdir -p "$out/icd/opencl"
      echo "$lib" >"$out/icd/opencl/nvidia.icd"
      # keep the system's other ICDs visible too
      for f in /etc/OpenCL/vendors/*.icd; do [ -e "$f" ] && cp "$f" "$out/icd/opencl/"; done
      export OCL_ICD_VENDORS="$out/icd/opencl"
      echo "OpenCL: wrote $out/icd/opencl/nvidia.icd -> $lib"
    else
      echo "OpenCL: no NVIDIA ICD file and no libnvidia-opencl.so.1"
    fi
  else
    echo "OpenCL: ICD files present ($(ls /etc/OpenCL/vendors/ 2>/dev/null | tr '\n' ' '))"
  fi
  local have_vk=""
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    ls "$d"/nvidia*.json >/dev/null 2>&1 && have_vk="$d"
  done
  if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -z "$have_vk" ]; then
    if lib=$(find_lib libGLX_nvidia.so.0) || lib=$(find_lib libEGL_nvidia.so.0); then
      mkdir -p "$out/icd/vulkan"
      printf '{\n  "file_format_version": "1.0.0",\n  "ICD": {"library_path": "%s", "api_version": "1.3.0"}\n}\n' \
        "$lib" >"$out/icd/vulkan/nvidia_icd.json"
      export VK_ICD_FILENAMES="$out/icd/vulkan/nvidia_icd.json" VK_DRIVER_FILES="$out/icd/vulkan/nvidia_icd.json"
      echo "Vulkan: wrote $VK_ICD_FILENAMES -> $lib"
    else
      echo "Vulkan: no NVIDIA ICD file and no libGLX_nvidia.so.0 / libEGL_nvidia.so.0"
    fi
  else
    echo "Vulkan: ICD files present (${have_vk:-$VK_ICD_FILENAMES$VK_DRIVER_FILES})"
  fi
}

bin=${PORTA_GPU_CHECK_BIN:-$root/.gpu/bin}
build_here() {
  command -v cmake >/dev/null && command -v cc >/dev/null || { echo "no cmake or cc here"; return 1; }
  cmake -S "$root" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DPORTA_BUILD_EXAMPLES=OFF &&
    cmake --build "$work/build" -j"$(nproc)" --target porta_cli test_backend_ops test_selftest &&
    cmake --build "$work/build" -j"$(nproc)" --target test_opencl_backend test_vulkan_backend test_vulkan_ops
  mkdir -p "$work/bin"
  cp "$work/build/porta" "$work/bin/" && cp -L "$work"/build/libporta.so.[0-9]* "$work/bin/" && cp "$work"/build/tests/test_* "$work/bin/" 2>/dev/null
  return 0
}
setup() {
  setup_libraries
  setup_icds
  export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if [ -x "$bin/porta" ] && "$bin/porta" --version; then return 0; fi
  [ -x "$bin/porta" ] && ldd "$bin/porta" | grep -i "not found"
  echo "no working porta in $bin: building here"
  build_here && bin="$work/bin" && "$bin/porta" --version
}
# setup runs in this shell (its exports matter): its output goes to the log by hand
t0=$(date +%s)
setup >"$out/logs/setup.log" 2>&1
rc=$?
say "- **setup**: $([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)"), $(($(date +%s) - t0)) s — \`logs/setup.log\`"
excerpt "$out/logs/setup.log" 20
if [ $rc -ne 0 ]; then
  say "porta does not run here: nothing else to check."
  exit 1
fi
porta="$bin/porta"
tbin=$bin # the test programs: beside porta, or in a build folder's tests/
[ -x "$bin/tests/test_backend_ops" ] && tbin="$bin/tests"
{
  echo
  echo "Environment for the steps: LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
  echo
} >>"$report"

# ---- 2. devices and the self-test ---------------------------------------------------------------
step devices 30 "$porta" devices
excerpt "$out/logs/devices.log" 60
# the backends with a device to check: a real GPU (or, in CPU mode, the emulators), first index
gpu_backends=()
declare -A gpu_index
for b in opencl vulkan; do
  idx=$(awk -v cpu="$cpu_mode" '
    /^  \[[0-9]+\]/ { gsub(/[\[\]]/, "", $1); cur = $1 }
    /subgroup size/ { if (cur != "" && (cpu == 1 || $0 !~ /a CPU device/)) { print cur; exit } }
  ' < <(timeout 30 "$porta" devices --backend "$b" 2>/dev/null))
  if [ -n "$idx" ]; then
    gpu_backends+=("$b")
    gpu_index[$b]=$idx
  fi
done
say ""
say "GPU backends to check: ${gpu_backends[*]:-none}$([ "$cpu_mode" = 1 ] && echo ' (emulators allowed)')"
say ""
step selftest 150 "$porta" devices --selftest --fresh
excerpt "$out/logs/selftest.log" 80
keep_cache

if [ ${#gpu_backends[@]} -eq 0 ]; then
  say "No GPU device found (see setup.log for the ICD files): the GPU steps are skipped."
fi

# ---- 3. conformance -------------------------------------------------------------------------------
for b in "${gpu_backends[@]}"; do
  ops_filter=()
  [ "$cpu_mode" = 1 ] && ops_filter=(PORTA_TEST_OPS=gemm,softmax,layernorm,cross_entropy,adamw)
  step "conformance-$b" 120 env PORTA_DEVICE="${gpu_index[$b]}" PORTA_TEST_BACKENDS="$b" \
    "${ops_filter[@]}" "$tbin/test_backend_ops"
  excerpt "$out/logs/conformance-$b.log" 6
  step "selftest-tests-$b" 60 env PORTA_TEST_BACKENDS="$b" "$tbin/test_selftest"
  excerpt "$out/logs/selftest-tests-$b.log" 4
  for t in "test_${b}_backend" "test_${b}_ops"; do
    [ -x "$tbin/$t" ] || continue
    step "$t" 90 env PORTA_DEVICE="${gpu_index[$b]}" "$tbin/$t"
    excerpt "$out/logs/$t.log" 4
  done
done

# ---- 4. bench -------------------------------------------------------------------------------------
model_dir=""
if [ -f .gpu/model/model.safetensors.gz ] || [ -f .gpu/model/model.safetensors ]; then
  model_dir="$work/model"
  mkdir -p "$model_dir"
  cp .gpu/model/*.json .gpu/model/vocab.txt "$model_dir/" 2>/dev/null
  if [ -f .gpu/model/model.safetensors.gz ]; then
    gzip -dc .gpu/model/model.safetensors.gz >"$model_dir/model.safetensors"
  else
    cp .gpu/model/model.safetensors "$model_dir/"
  fi
else
  for d in "${PORTA_MINILM_DIR:-}" "$root/models/all-MiniLM-L6-v2"; do
    [ -n "$d" ] && [ -f "$d/model.safetensors" ] && model_dir="$d" && break
  done
fi
if [ "$cpu_mode" = 1 ]; then
  bench_args=(--quick --sections peak,gemm --batch 8 --repeat 2 --max-square 256)
else
  bench_args=(--repeat 3 --seqs 128)
fi
[ -n "$model_dir" ] && bench_args+=(--model "$model_dir")
say ""
for b in "${gpu_backends[@]}"; do
  step "bench-$b" 120 "$porta" bench --backend "$b" --device "${gpu_index[$b]}" "${bench_args[@]}" \
    --json "$out/bench-$b.json"
  excerpt "$out/logs/bench-$b.log" 30
done
step bench-cpu 60 "$porta" bench --backend cpu --quick --sections peak,gemm --repeat 2 \
  --max-square 512 --json "$out/bench-cpu.json"

# ---- 5. one epoch per GPU backend -----------------------------------------------------------------
data=""
if [ -f .gpu/data/sarcasm.jsonl.gz ]; then
  data="$work/sarcasm.jsonl"
  gzip -dc .gpu/data/sarcasm.jsonl.gz >"$data"
else
  for d in "${PORTA_DATA:-}" ../shared/data/sarcasm/Sarcasm_Headlines_Dataset.jsonl \
    /work/shared/data/sarcasm/Sarcasm_Headlines_Dataset.jsonl; do
    [ -n "$d" ] && [ -f "$d" ] && data="$d" && break
  done
fi
say ""
if [ -z "$model_dir" ] || [ -z "$data" ]; then
  say "- **demo**: skipped (model: ${model_dir:-none}, data: ${data:-none})"
else
  if [ "$cpu_mode" = 1 ]; then
    demo_args=(--epochs 1 --limit-rows 120 --max-steps 2 --batch-size 8 --max-len 24 --log-every 1)
  else
    demo_args=(--epochs 1 --log-every 100)
  fi
  for b in "${gpu_backends[@]}"; do
    t0=$(date +%s)
    step "demo-$b" 200 "$porta" train --backend "$b" --device "${gpu_index[$b]}" --model "$model_dir" \
      --data "$data" --out "$work/run-$b" --no-progress "${demo_args[@]}"
    cp "$work/run-$b/metrics.jsonl" "$out/metrics-$b.jsonl" 2>/dev/null
    took=$(($(date +%s) - t0))
    grep -m1 '^device:' "$out/logs/demo-$b.log" | sed 's/^/  /' >>"$report"
    {
      echo "  wall time ${took} s (the run's own log has the per-step timing)"
      grep -E '"split": "(valid|test)"' "$out/metrics-$b.jsonl" 2>/dev/null | tail -2 | sed 's/^/  /'
    } >>"$report"
    excerpt "$out/logs/demo-$b.log" 6
  done
fi

# ---- 6. PyTorch on the same card ------------------------------------------------------------------
say ""
torch_dev=$(timeout 60 python3 -c 'import torch, transformers; print("cuda" if torch.cuda.is_available() else "cpu")' 2>/dev/null)
torch_modes=(off bf16)
[ "$cpu_mode" = 1 ] && torch_modes=(off) # bf16 autocast on a CPU takes ~10 s a step: GPU only
if [ "${PORTA_GPU_CHECK_TORCH:-1}" = 0 ]; then
  say "- **pytorch**: skipped (PORTA_GPU_CHECK_TORCH=0)"
elif [ -z "$torch_dev" ]; then
  say "- **pytorch**: skipped (no python3 with torch and transformers here)"
elif [ "$torch_dev" != cuda ] && [ "$cpu_mode" != 1 ]; then
  say "- **pytorch**: skipped (torch sees no GPU)"
elif [ -z "$model_dir" ]; then
  say "- **pytorch**: skipped (no model)"
else
  if [ "$cpu_mode" = 1 ]; then
    torch_args=(--batch 8 --seqs 32 --repeat 1 --warmup 1 --threads 2)
  else
    torch_args=(--seqs 128 --repeat 5)
  fi
  for mode in "${torch_modes[@]}"; do
    step "pytorch-$torch_dev-$mode" 90 python3 bench/pytorch_ref.py --model "$model_dir" \
      --device "$torch_dev" --autocast "$mode" "${torch_args[@]}" --json "$out/pytorch-$torch_dev-$mode.json"
    excerpt "$out/logs/pytorch-$torch_dev-$mode.log" 4
  done
fi

# ---- summary --------------------------------------------------------------------------------------
{
  echo
  echo "## Summary"
  echo
  echo "Total $(elapsed) s of a $budget s budget. Files: $(cd "$out" && ls *.json 2>/dev/null | tr '\n' ' ')"
  grep -E '^(cpu|opencl|vulkan) [0-9]+:|verdict:' "$out/logs/selftest.log" 2>/dev/null | sed 's/^/    /'
} >>"$report"
keep_cache
[ -z "${PORTA_GPU_CHECK_WORK:-}" ] && rm -rf "$work"
failed=$(grep -c -E '^- \*\*.*(FAILED|TIMED OUT)' "$report")
say ""
say "Steps failed or timed out: $failed"
[ "$failed" -eq 0 ]
