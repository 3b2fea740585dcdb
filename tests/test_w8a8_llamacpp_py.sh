#!/usr/bin/env bash
# llama.cpp refuses presso's W8A8 files cleanly: the same model written as
# q4_0 loads and generates in llama.cpp (llama-cpp-python), the SmoothQuant
# W8A8 file (tensor type 1000, tensor/w8a8.h) fails to load with llama.cpp's
# "invalid ggml type 1000" error and produces no tokens, and presso runs it.
# The same for presso's q3_g32 (type 1001, tensor/lowbit.h).
# Skipped (77) when the oracle venv cannot import llama_cpp.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
PY="${PRESSO_GGUF_PYTHON:-$HOME/.cache/presso/venv/bin/python}"
model="$PRESSO_SHARED_DIR/models/tinystories-656k"
calib="$PRESSO_SHARED_DIR/data/tinystories/sample.txt"
[ -f "$model/model.safetensors" ] && [ -f "$calib" ] || { echo "skipped: no ../shared"; exit 77; }
"$PY" -c 'import llama_cpp' >/dev/null 2>&1 || { echo "skipped: $PY cannot import llama_cpp"; exit 77; }
source "$(dirname "$0")/lib.bash"

"$PRESSO" quantize "$model" "$tmp/q4.gguf" --method rtn --type q4_0 >/dev/null 2>&1 && pass || fail "rtn q4_0"
"$PRESSO" quantize "$model" "$tmp/w8a8.gguf" --method smoothquant --calib "$calib" --calib-count 2 --calib-len 64 \
  >/dev/null 2>&1 && pass || fail "smoothquant"
"$PRESSO" quantize "$model" "$tmp/q3g.gguf" --method rtn --type q3_g32 >/dev/null 2>&1 && pass || fail "rtn q3_g32"

load() { # FILE: prints LOADED <text> or REFUSED <exception>; llama.cpp's log goes to stderr
  "$PY" - "$1" <<'PY'
import sys
import llama_cpp
try:
    m = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, verbose=True)
except Exception as e:
    print("REFUSED", type(e).__name__, e)
    sys.exit(3)
out = m("Once upon a time", max_tokens=4, temperature=0.0)
print("LOADED", repr(out["choices"][0]["text"]))
PY
}
load "$tmp/q4.gguf" >"$tmp/q4.out" 2>"$tmp/q4.err"
rc=$?
[ $rc -eq 0 ] && grep -q "^LOADED" "$tmp/q4.out" && pass || fail "llama.cpp did not run presso's q4_0 file (rc $rc): $(tail -c 300 "$tmp/q4.err")"
load "$tmp/w8a8.gguf" >"$tmp/w8.out" 2>"$tmp/w8.err"
rc=$?
[ $rc -eq 3 ] && grep -q "^REFUSED ValueError" "$tmp/w8.out" && pass || fail "llama.cpp did not refuse w8a8 (rc $rc): $(cat "$tmp/w8.out")"
grep -q "invalid ggml type 1000" "$tmp/w8.err" && pass || fail "llama.cpp's log lacks 'invalid ggml type 1000': $(grep -i type "$tmp/w8.err" | head -3)"
grep -q "^LOADED" "$tmp/w8.out" && fail "llama.cpp generated from a w8a8 file" || pass
"$PRESSO" generate "$tmp/w8a8.gguf" -p "Once upon a time" -n 8 >/dev/null 2>&1 && pass || fail "presso generate on w8a8"
load "$tmp/q3g.gguf" >"$tmp/q3g.out" 2>"$tmp/q3g.err"
rc=$?
[ $rc -eq 3 ] && grep -q "^REFUSED ValueError" "$tmp/q3g.out" && pass || fail "llama.cpp did not refuse q3_g32 (rc $rc): $(cat "$tmp/q3g.out")"
grep -q "invalid ggml type 1001" "$tmp/q3g.err" && pass || fail "llama.cpp's log lacks 'invalid ggml type 1001': $(grep -i type "$tmp/q3g.err" | head -3)"
"$PRESSO" generate "$tmp/q3g.gguf" -p "Once upon a time" -n 8 >/dev/null 2>&1 && pass || fail "presso generate on q3_g32"
finish
