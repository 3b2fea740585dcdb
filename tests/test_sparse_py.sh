#!/usr/bin/env bash
# llama.cpp (llama-cpp-python) must refuse presso's native 2:4 files cleanly
# (an error, no crash, no misread weights) while loading the dense 2:4-pruned
# file of the same weights. Skipped (77) without the venv.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
PY="${PRESSO_GGUF_PYTHON:-$HOME/.cache/presso/venv/bin/python}"
model="$PRESSO_SHARED_DIR/models/tinystories-656k"
[ -f "$model/model.safetensors" ] || { echo "skipped: no ../shared"; exit 77; }
"$PY" -c 'import llama_cpp' >/dev/null 2>&1 || { echo "skipped: $PY cannot import llama_cpp"; exit 77; }
source "$(dirname "$0")/lib.bash"
"$PRESSO" convert "$model" "$tmp/dense24.gguf" --type f16 --magnitude >/dev/null && pass || fail "convert --magnitude"
"$PRESSO" convert "$tmp/dense24.gguf" "$tmp/s24.gguf" --type f16 --sparse 2:4 >/dev/null && pass || fail "s24_f16"
"$PRESSO" convert "$tmp/dense24.gguf" "$tmp/s24q4.gguf" --type q4_0 --sparse 2:4 >/dev/null && pass || fail "s24_q4"
load() { "$PY" - "$1" <<'PY'
import sys
from llama_cpp import Llama
try:
    m = Llama(model_path=sys.argv[1], n_ctx=64, verbose=False)
except Exception as e:  # llama-cpp-python raises ValueError when llama.cpp refuses the file
    print("refused:", e)
    sys.exit(3)
toks = m.tokenize(b"Once upon a time")
m.eval(toks)
print("loaded", len(toks))
PY
}
load "$tmp/dense24.gguf" >"$tmp/d.out" 2>&1; rc=$?
[ $rc -eq 0 ] && pass || fail "llama.cpp failed on the dense 2:4 file (rc $rc): $(tail -3 "$tmp/d.out")"
for f in s24 s24q4; do
  load "$tmp/$f.gguf" >"$tmp/$f.out" 2>&1; rc=$?
  [ $rc -eq 3 ] && grep -q "refused" "$tmp/$f.out" && pass || fail "llama.cpp on $f.gguf: rc $rc (want a clean refusal): $(tail -3 "$tmp/$f.out")"
done
finish
