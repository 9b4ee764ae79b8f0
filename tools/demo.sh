#!/usr/bin/env bash
# The main job: fine-tune all-MiniLM-L6-v2 (body) + the seed's head (dropout 0.1 on [CLS] + linear)
# on the News Headlines Sarcasm data set, then print test metrics. Installs what it needs first.
# Extra arguments go to `porta train` (e.g. --backend opencl, --epochs 3, --data FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --model
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTA_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target porta_cli
data=../shared/data/sarcasm/Sarcasm_Headlines_Dataset.jsonl
args=()
[ -f "$data" ] && args+=(--data "$data")
# One epoch keeps the demo under ~20 minutes on a 2-core machine without a GPU.
exec build/porta train --model models/all-MiniLM-L6-v2 --epochs 1 "${args[@]}" "$@"
