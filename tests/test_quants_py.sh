#!/usr/bin/env bash
# Bit-exactness of presso's reference quants against llama.cpp's gguf-py
# (tests/quants_py_check.py). Skipped (77) where no Python with gguf is found:
# set PRESSO_GGUF_PYTHON, or create ~/.cache/presso/venv with numpy + gguf.
set -euo pipefail

py="${PRESSO_GGUF_PYTHON:-$HOME/.cache/presso/venv/bin/python}"
if ! "$py" -c 'import numpy, gguf.quants' >/dev/null 2>&1; then
    echo "skipped: $py cannot import gguf (llama.cpp's gguf-py) and numpy"
    exit 77
fi

src="${PRESSO_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
bin="${PRESSO_BINARY_DIR:?PRESSO_BINARY_DIR must name the build directory}/test_quants"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$py" "$src/tests/quants_py_check.py" --bin "$bin" --shared "${PRESSO_SHARED_DIR:-}" --tmp "$tmp"
