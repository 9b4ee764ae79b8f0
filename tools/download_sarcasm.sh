#!/bin/sh
# Downloads the News Headlines Dataset for Sarcasm Detection (Misra & Arora, 2019; the JSON-lines
# file with is_sarcastic / headline / article_link) to data/sarcasm/ for `porta train --data`.
# Needs internet access and curl; the file is ~6 MB. Usage: tools/download_sarcasm.sh [DEST_DIR]
set -eu
dest="${1:-data/sarcasm}"
file="$dest/Sarcasm_Headlines_Dataset.jsonl"
# The authors' release (GitHub: rishabhmisra/News-Headlines-Dataset-For-Sarcasm-Detection).
url="https://raw.githubusercontent.com/rishabhmisra/News-Headlines-Dataset-For-Sarcasm-Detection/master/Sarcasm_Headlines_Dataset.json"
if [ -s "$file" ]; then
  echo "$file is already there"
  exit 0
fi
mkdir -p "$dest"
echo "downloading $url"
curl -fL --retry 3 -o "$file.part" "$url"
lines=$(wc -l < "$file.part")
if [ "$lines" -lt 20000 ]; then
  echo "download looks wrong: $lines lines in $file.part" >&2
  exit 1
fi
mv "$file.part" "$file"
echo "wrote $file ($lines rows); train with: porta train --data $file"
