#!/usr/bin/env bash
# Importance-weighted quantization bit-exact with llama.cpp's
# (tests/imatrix_py_check.py): presso's weighted quantizers against
# ggml_quantize_chunk from llama-cpp-python's libggml, and, where
# llama-quantize is found (LLAMA_QUANTIZE, or the llama.cpp build this
# machine has), `presso quantize --imatrix` against `llama-quantize
# --imatrix` on a synthetic 256-wide model with both imatrix file formats.
# Skipped (77) without a Python that has gguf, numpy and llama_cpp.
set -euo pipefail

py="${PRESSO_GGUF_PYTHON:-$HOME/.cache/presso/venv/bin/python}"
if ! "$py" -c 'import numpy, gguf, llama_cpp' >/dev/null 2>&1; then
    echo "skipped: $py cannot import numpy, gguf and llama_cpp"
    exit 77
fi
src="${PRESSO_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
: "${PRESSO_BINARY_DIR:?PRESSO_BINARY_DIR must name the build directory}" "${PRESSO:?}"
lq="${LLAMA_QUANTIZE:-/tmp/lcpp/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin/llama-quantize}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$py" "$src/tests/imatrix_py_check.py" --bin "$PRESSO_BINARY_DIR/test_imatrix" --presso "$PRESSO" \
    --shared "${PRESSO_SHARED_DIR:-}" --tmp "$tmp" --llama-quantize "$lq"
