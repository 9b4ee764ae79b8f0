#!/usr/bin/env bash
# The main job: fine-tune all-MiniLM-L6-v2 (body) + the seed's head (dropout 0.1 on [CLS] + linear)
# on the News Headlines Sarcasm data set, then print test metrics. Installs what it needs first.
# Extra arguments go to `porta train` (e.g. --backend opencl, --epochs 3, --data FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --model
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTA_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target porta_cli
# The data: --data FILE among the arguments, else $PORTA_DATA, else data/sarcasm/ in this tree,
# else a shared data folder beside the checkout, else tools/download_sarcasm.sh fetches it.
args=()
has_data=0
for a in "$@"; do case "$a" in --data | --data=*) has_data=1 ;; esac; done
if [ $has_data = 0 ]; then
  file=Sarcasm_Headlines_Dataset.jsonl
  if [ -n "${PORTA_DATA:-}" ]; then
    data=$PORTA_DATA
  elif [ -f "data/sarcasm/$file" ]; then
    data=data/sarcasm/$file
  elif [ -f "../shared/data/sarcasm/$file" ]; then
    data=../shared/data/sarcasm/$file
  else
    echo "demo: no sarcasm data here (--data, PORTA_DATA, data/sarcasm/): downloading it with tools/download_sarcasm.sh"
    tools/download_sarcasm.sh data/sarcasm
    data=data/sarcasm/$file
  fi
  echo "demo: data $data"
  args+=(--data "$data")
fi
# One epoch keeps the demo under ~20 minutes on a 2-core machine without a GPU.
exec build/porta train --model models/all-MiniLM-L6-v2 --epochs 1 "${args[@]}" "$@"
