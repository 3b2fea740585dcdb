#!/usr/bin/env bash
# The Python reference packages the cross-check tests compare against
# (gguf-py, numpy; llama-cpp-python when already built there). Lives in a
# cache directory, never in the repo. Prints the interpreter's path; tests
# that need a package it lacks skip themselves.
set -uo pipefail
venv="${PRESSO_CACHE:-$HOME/.cache/presso}/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >/dev/null 2>&1 || { echo "presso: cannot create $venv; oracle tests will skip" >&2; exit 0; }
fi
if ! "$venv/bin/python" -c "import gguf, numpy" >/dev/null 2>&1; then
  "$venv/bin/pip" install -q numpy gguf >/dev/null 2>&1 || echo "presso: pip install gguf failed; oracle tests will skip" >&2
fi
echo "$venv/bin/python"
