#!/usr/bin/env bash
# The CLI contract: acceptance outputs on the shipped models, JSON keys, and
# bad input (missing, truncated, corrupt files; absurd options) giving a clear
# error that names the file, a non-zero exit, no crash and no partial output.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}" "${PRESSO_SOURCE_DIR:?}"
shared="$PRESSO_SHARED_DIR"
[ -f "$shared/models/stories260K/stories260K.bin" ] || { echo "skipped: no ../shared"; exit 77; }
bin="$shared/models/stories260K/stories260K.bin"
tok="$shared/models/stories260K/tok512.bin"
source "$(dirname "$0")/lib.bash"

# 1. Greedy generation equals llama2.c's run.c output, byte for byte.
"$PRESSO" generate "$bin" -z "$tok" --temp 0 -n 200 >"$tmp/gen.txt" 2>"$tmp/gen.err"
if cmp -s "$tmp/gen.txt" "$PRESSO_SOURCE_DIR/tests/golden/stories260K_greedy200.txt"; then pass; else
  fail "generate differs from llama2.c: $(diff <(head -c 300 "$tmp/gen.txt") <(head -c 300 "$PRESSO_SOURCE_DIR/tests/golden/stories260K_greedy200.txt") | head -5)"; fi
grep -q "^Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball." "$tmp/gen.txt" && pass || fail "story opening"
# The tokenizer beside the checkpoint is found without -z.
"$PRESSO" generate "$bin" --temp 0 -n 20 >"$tmp/gen2.txt" 2>/dev/null && head -c 40 "$tmp/gen.txt" | cmp -s - <(head -c 40 "$tmp/gen2.txt") && pass || fail "tokenizer auto-discovery"
# Sampling is deterministic for a seed.
a=$("$PRESSO" generate "$bin" --temp 0.8 --top-p 0.9 --seed 7 -n 40 2>/dev/null)
b=$("$PRESSO" generate "$bin" --temp 0.8 --top-p 0.9 --seed 7 -n 40 2>/dev/null)
[ -n "$a" ] && [ "$a" = "$b" ] && pass || fail "seeded sampling not reproducible"

# 2. JSON outputs carry the documented keys.
py=python3
check_json() {
  local name="$1" keys="$2"; shift 2
  if "$@" >"$tmp/j.json" 2>"$tmp/j.err" && $py -c "import json,sys; d=json.load(open('$tmp/j.json')); missing=[k for k in '$keys'.split() if k not in d]; sys.exit(1 if missing else 0)"; then pass; else fail "$name json: $(head -c 300 "$tmp/j.json") $(head -c 300 "$tmp/j.err")"; fi
}
check_json info "n_params weight_bytes bits_per_weight tensor_types dim n_layers" "$PRESSO" info "$bin" --json
check_json ppl "ppl ppl_err n_tokens n_chunks ctx protocol" "$PRESSO" ppl "$bin" -f "$shared/data/tinystories/valid.txt" -c 128 --chunks 4 --json
check_json ppl-strided "ppl ppl_err n_tokens n_chunks ctx protocol stride" "$PRESSO" ppl "$bin" -f "$shared/data/tinystories/valid.txt" -c 128 --protocol strided --stride 64 --chunks 4 --json
check_json bench "pp_tps tg_tps peak_rss_bytes threads" "$PRESSO" bench "$bin" -p 16 -n 8 -r 2 -t 1 --json
check_json generate "text tokens n_generated gen_tps" "$PRESSO" generate "$bin" --temp 0 -n 10 --json

# 3. Bad input.
expect_error "missing model" "does-not-exist.bin" "$PRESSO" info "$tmp/does-not-exist.bin"
printf 'GGUF\x03\x00\x00\x00' >"$tmp/trunc.gguf"
expect_error "truncated gguf" "trunc.gguf" "$PRESSO" info "$tmp/trunc.gguf"
head -c 100000 "$shared/models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf" >"$tmp/cut.gguf"
expect_error "gguf cut in tensor data" "cut.gguf" "$PRESSO" info "$tmp/cut.gguf"
head -c 5000 "$bin" >"$tmp/cut.bin"
expect_error "truncated llama2.c" "cut.bin" "$PRESSO" info "$tmp/cut.bin"
printf 'hello' >"$tmp/tiny.bin"
expect_error "tiny file" "tiny.bin" "$PRESSO" info "$tmp/tiny.bin"
head -c 28 /dev/urandom >"$tmp/random.bin"; cat "$bin" | tail -c +29 >>"$tmp/random.bin"
expect_error "random header" "random.bin" "$PRESSO" info "$tmp/random.bin"
expect_error "wrong tokenizer" "tok" "$PRESSO" generate "$bin" -z "$shared/models/stories260K/stories260K.bin" -n 5
expect_error "unknown command" "unknown command" "$PRESSO" frobnicate
expect_error "unknown option" "unknown option" "$PRESSO" info "$bin" --frob
expect_error "bad threads" "-t" "$PRESSO" bench "$bin" -t 0
expect_error "bad temp" "--temp" "$PRESSO" generate "$bin" --temp -1
expect_error "bad top-p" "--top-p" "$PRESSO" generate "$bin" --top-p 2
expect_error "non-numeric n" "-n" "$PRESSO" generate "$bin" -n 12abc
expect_error "bad protocol" "protocol" "$PRESSO" ppl "$bin" -f "$shared/data/tinystories/valid.txt" --protocol foo
expect_error "missing text" "nope.txt" "$PRESSO" ppl "$bin" -f "$tmp/nope.txt"
printf 'too short' >"$tmp/short.txt"
expect_error "text too short" "tokens" "$PRESSO" ppl "$bin" -f "$tmp/short.txt" -c 128
expect_error "synth bad shape" "heads" "$PRESSO" synth --dim 100 --hidden 64 --layers 1 --heads 3 --kv-heads 2 --vocab 300 -o "$tmp/s.gguf"
[ ! -e "$tmp/s.gguf" ] && pass || fail "synth left a file behind"
expect_error "convert bad type" "unknown tensor type" "$PRESSO" convert "$bin" "$tmp/x.gguf" --type q9_9
expect_error "convert onto input" "refusing" "$PRESSO" convert "$bin" "$bin" --type f32
# A failed convert leaves an existing output untouched and no temp file.
echo "keep me" >"$tmp/existing.gguf"
expect_error "convert from corrupt input" "cut.bin" "$PRESSO" convert "$tmp/cut.bin" "$tmp/existing.gguf" --type f16
[ "$(cat "$tmp/existing.gguf")" = "keep me" ] && [ ! -e "$tmp/existing.gguf.tmp" ] && pass || fail "existing output was touched"
expect_error "convert into missing dir" "no-such-dir" "$PRESSO" convert "$bin" "$tmp/no-such-dir/x.gguf" --type f32

# 4. convert + synth outputs reopen.
if "$PRESSO" convert "$bin" "$tmp/s260.gguf" --type q8_0 >/dev/null 2>"$tmp/c.err" && "$PRESSO" info "$tmp/s260.gguf" --json >"$tmp/c.json"; then pass; else fail "convert q8_0: $(cat "$tmp/c.err")"; fi
if "$PRESSO" synth --dim 64 --hidden 128 --layers 2 --heads 4 --kv-heads 2 --vocab 300 --type f16 -o "$tmp/syn.gguf" 2>/dev/null &&
   "$PRESSO" bench "$tmp/syn.gguf" -p 8 -n 4 -r 1 -t 1 >/dev/null 2>&1; then pass; else fail "synth + bench"; fi

# 5. SmolLM2-135M-Instruct (when fetched): its ChatML template answers a question.
# (Q4_1 135M is weak: asked for France's capital, greedy decoding rambles in
# llama.cpp and presso alike; colours it knows.)
smol="${PRESSO_SMOLLM2_GGUF:-$HOME/.cache/presso/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
if [ -f "$smol" ]; then
  answer=$("$PRESSO" generate "$smol" --chat -p "Name three colors of the rainbow." --temp 0 -n 30 2>/dev/null)
  case "$answer" in *red*blue*|*blue*red*) pass ;; *) fail "SmolLM2 chat answer: $answer" ;; esac
  expect_error "chat on a model without template" "chat template" "$PRESSO" generate "$bin" --chat -p hi -n 5
else
  echo "note: SmolLM2 not fetched (scripts/fetch_smollm2.sh); its chat check is skipped"
fi

finish
