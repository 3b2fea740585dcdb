#!/usr/bin/env bash
# presso eval --task hellaswag against llama.cpp's scoring rule re-implemented
# in Python on llama.cpp's own tokens and logits (tests/eval_hellaswag_check.py,
# llama-cpp-python): same drawn tasks, same predictions and accuracy,
# per-ending scores within 5e-3 (F32) / 3e-2 (Q8_0: llama.cpp keeps an F16 KV
# cache and rounds activations to 8 bits), on stories260K's llama.cpp-written
# GGUFs, 8 tasks of the real HellaSwag file. Skipped (77) without llama_cpp.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
PY="${PRESSO_GGUF_PYTHON:-$HOME/.cache/presso/venv/bin/python}"
SRC="${PRESSO_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
source "$SRC/tests/lib.bash"
dir="$PRESSO_SHARED_DIR/models/stories260K/gguf-by-llama.cpp"
data="$PRESSO_SHARED_DIR/data/hellaswag/hellaswag_val.txt"
[ -f "$dir/stories260K-f32.gguf" ] && [ -f "$data" ] || { echo "skipped: no ../shared models/data"; exit 77; }
if ! "$PY" -c 'import llama_cpp, numpy' >/dev/null 2>&1; then
  echo "skipped: $PY cannot import llama_cpp and numpy (set PRESSO_GGUF_PYTHON)"; exit 77
fi
for case in f32:5e-3 q8_0:3e-2; do
  q="${case%%:*}" tol="${case#*:}"
  model="$dir/stories260K-$q.gguf"
  if "$PRESSO" eval "$model" --task hellaswag --data "$data" --limit 8 -t 1 --items --json >"$tmp/$q.json" 2>"$tmp/err"; then
    if "$PY" "$SRC/tests/eval_hellaswag_check.py" "$model" "$data" "$tmp/$q.json" "$tol"; then pass; else fail "$q: oracle differs"; fi
  else fail "$q: presso eval: $(cat "$tmp/err")"; fi
done
finish
