#!/usr/bin/env bash
# Seed corpus for fuzz_gguf: the shipped stories260K GGUFs cut to 16 KB (the
# whole header: ~14 KB of metadata and tensor infos) plus the every-value-type
# sample written by test_gguf. Model files are never committed; run e.g.
#   fuzz/make_gguf_seeds.sh build /tmp/gguf-corpus
#   build-fuzz/fuzz_gguf -runs=100000 -max_len=16384 /tmp/gguf-corpus
set -eu
build="${1:?usage: make_gguf_seeds.sh BUILD_DIR OUT_DIR [SHARED_DIR]}"
out="${2:?usage: make_gguf_seeds.sh BUILD_DIR OUT_DIR [SHARED_DIR]}"
src="$(cd "$(dirname "$0")/.." && pwd)"
shared="${3:-$src/../shared}"
mkdir -p "$out"
for f in "$shared"/models/stories260K/gguf-by-llama.cpp/*.gguf; do
    [ -e "$f" ] || continue
    head -c 16384 "$f" > "$out/$(basename "$f" .gguf)-16k"
done
"$build/test_gguf" --write-sample "$out/sample.gguf"
ls "$out" | wc -l
