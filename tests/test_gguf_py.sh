#!/usr/bin/env bash
# Cross-check of presso's GGUF reader/writer against the reference gguf-py
# (tests/gguf_py_check.py). Skipped (77) when that Python cannot import gguf.
set -u
PY="${PRESSO_GGUF_PYTHON:-$HOME/.cache/presso/venv/bin/python}"
SRC="${PRESSO_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
BIN="${PRESSO_BINARY_DIR:-$SRC/build}/test_gguf"

if ! "$PY" -c 'import gguf, numpy' >/dev/null 2>&1; then
    echo "skipped: $PY cannot import gguf and numpy (set PRESSO_GGUF_PYTHON)"
    exit 77
fi
if [ ! -x "$BIN" ]; then
    echo "FAIL: $BIN not built"
    exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PY" "$SRC/tests/gguf_py_check.py" "$BIN" "$tmp" "${PRESSO_SHARED_DIR:-}"
