#!/usr/bin/env bash
# Downloads a public Hugging Face Hub model folder with curl, without Python:
#
#   tools/download_model.sh REPO_ID [REVISION] [DEST]
#   tools/download_model.sh cardiffnlp/twitter-roberta-base-emotion
#   tools/download_model.sh sentence-transformers/all-MiniLM-L6-v2 main models/all-MiniLM-L6-v2
#
# Fetches config.json, the tokenizer files that exist (vocab.txt, tokenizer.json,
# tokenizer_config.json, special_tokens_map.json, vocab.json, merges.txt) and the weights, in
# porta's order of preference: model.safetensors, the sharded model.safetensors.index.json and
# its shards, else pytorch_model.bin (or its sharded index) — `porta convert DEST` then writes
# model.safetensors beside it. DEST defaults to models/<name>. HF_TOKEN, when set, is sent for
# gated or private repositories. HF_ENDPOINT overrides https://huggingface.co.
# Files are downloaded to "<file>.part" and renamed when complete; existing files are kept.
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
repo="$1"
revision="${2:-main}"
dest="${3:-models/${repo##*/}}"
endpoint="${HF_ENDPOINT:-https://huggingface.co}"

if [[ ! "$repo" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$ ]]; then
  echo "download_model.sh: '$repo' is not a Hub repository id (owner/name)" >&2
  exit 2
fi
command -v curl > /dev/null || { echo "download_model.sh: curl is required" >&2; exit 1; }
mkdir -p "$dest"

auth=()
if [[ -n "${HF_TOKEN:-}" ]]; then auth=(-H "Authorization: Bearer ${HF_TOKEN}"); fi

# fetch FILE [required]: 0 when downloaded or already there, 1 when absent on the Hub.
fetch() {
  local file="$1" required="${2:-}" out="$dest/$1"
  if [[ -s "$out" ]]; then
    echo "  have  $file"
    return 0
  fi
  mkdir -p "$(dirname "$out")"
  local code
  code=$(curl -sS -L --retry 3 ${auth[@]+"${auth[@]}"} -o "$out.part" -w '%{http_code}' \
    "$endpoint/$repo/resolve/$revision/$file" || true)
  if [[ "$code" == "200" ]]; then
    mv "$out.part" "$out"
    echo "  got   $file ($(wc -c < "$out") bytes)"
    return 0
  fi
  rm -f "$out.part"
  if [[ -n "$required" ]]; then
    echo "download_model.sh: $file: HTTP $code from $endpoint/$repo (revision $revision)" >&2
    [[ "$code" == "401" || "$code" == "403" ]] && echo "  (gated or private: set HF_TOKEN)" >&2
    exit 1
  fi
  return 1
}

# Shard file names listed in a *.index.json weight_map (values), without Python or jq.
shards_of() {
  grep -o '"[^"]*\.\(safetensors\|bin\)"' "$1" | tr -d '"' | sort -u
}

echo "downloading $repo@$revision into $dest"
fetch config.json required
for f in tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt vocab.json \
         merges.txt; do
  fetch "$f" || true
done

if fetch model.safetensors; then
  :
elif fetch model.safetensors.index.json; then
  for shard in $(shards_of "$dest/model.safetensors.index.json"); do fetch "$shard" required; done
elif fetch pytorch_model.bin; then
  echo "note: only pytorch_model.bin exists; run 'porta convert $dest' to write model.safetensors"
elif fetch pytorch_model.bin.index.json; then
  for shard in $(shards_of "$dest/pytorch_model.bin.index.json"); do fetch "$shard" required; done
  echo "note: only pytorch_model.bin shards exist; run 'porta convert $dest'"
else
  echo "download_model.sh: $repo has none of model.safetensors, pytorch_model.bin (or sharded)" >&2
  exit 1
fi
echo "done: $dest"
