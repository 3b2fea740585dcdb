#!/usr/bin/env bash
# presso ppl --protocol llamacpp against llama.cpp itself (llama-cpp-python running
# llama-perplexity's protocol, tests/ppl_llamacpp_check.py): same token count and
# perplexity within 0.2% on
#   - stories260K F32 and Q8_0 GGUFs written by llama.cpp (-c 128, all chunks),
#   - a GGUF presso writes itself from the HF tinystories-656k (llama.cpp runs
#     presso's files with the same result),
#   - SmolLM2-135M-Instruct (PRESSO_SMOLLM2_GGUF or
#     ~/.cache/presso/models/SmolLM2-135M-Instruct.Q4_1.gguf; skipped if absent),
#     its weights dequantized to an F32 GGUF by presso, on wikitext-2 test, -c 512,
#     first 2 chunks: a real model's gpt2 tokenizer, rope theta 1e5 and GQA.
# Skipped (77) when that Python cannot import llama_cpp.
# The Q4_1 file itself is compared on the whole of wikitext-2 by
# bench/ppl_reference.sh, not here: both round the activations to 8 bits per
# block, and with SmolLM2's activation outliers a last-bit difference in a dot
# product flips roundings downstream, so single chunks scatter by ~0.5% either
# way (first 4 chunks: presso 22.757, llama.cpp 22.885); over 40 chunks the two
# agree to 0.07% (23.5693 vs 23.5861).
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
PY="${PRESSO_GGUF_PYTHON:-$HOME/.cache/presso/venv/bin/python}"
SRC="${PRESSO_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
shared="$PRESSO_SHARED_DIR"
[ -f "$shared/models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf" ] || { echo "skipped: no ../shared"; exit 77; }
if ! "$PY" -c 'import llama_cpp, numpy' >/dev/null 2>&1; then
  echo "skipped: $PY cannot import llama_cpp and numpy (set PRESSO_GGUF_PYTHON)"
  exit 77
fi
# One thread on both sides by default: these models are small enough that thread
# sync dominates, and spinning thread pools collapse when ctest -j oversubscribes.
threads="${PRESSO_PPL_TEST_THREADS:-1}"
smol="${PRESSO_SMOLLM2_GGUF:-$HOME/.cache/presso/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# compare NAME MODEL TEXT CTX [CHUNKS]: presso vs llama.cpp, same tokens, ppl within 0.2%.
compare() {
  local name="$1" model="$2" text="$3" ctx="$4" chunks="${5:-}"
  local pargs=() yargs=()
  [ -n "$chunks" ] && { pargs=(--chunks "$chunks"); yargs=(--chunks "$chunks"); }
  if ! "$PRESSO" ppl "$model" -f "$text" -c "$ctx" --protocol llamacpp -t "$threads" --json "${pargs[@]}" >"$tmp/p.json" 2>"$tmp/p.err"; then
    fail "$name: presso ppl: $(head -c 300 "$tmp/p.err")"; return
  fi
  if ! "$PY" "$SRC/tests/ppl_llamacpp_check.py" "$model" "$text" "$ctx" --threads "$threads" "${yargs[@]}" >"$tmp/l.json" 2>"$tmp/l.err"; then
    fail "$name: llama.cpp reference: $(tail -c 300 "$tmp/l.err")"; return
  fi
  local out rc
  out=$(python3 - "$name" "$tmp/p.json" "$tmp/l.json" <<'EOF'
import json, sys
name, p, l = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
bad = []
print(f"{name}: n_tokens presso {p['n_tokens']} llama.cpp {l['n_tokens']}, n_chunks {p['n_chunks']} / {l['n_chunks']}, "
      f"n_scored {p.get('n_scored')} / {l['n_scored']}")
for k in ("n_tokens", "n_chunks"):
    if p[k] != l[k]:
        bad.append(f"{k} presso {p[k]} != llama.cpp {l[k]}")
r = p["ppl"] / l["ppl"] - 1
re = p["ppl_err"] / l["ppl_err"] - 1
print(f"{name}: ppl presso {p['ppl']:.6f} llama.cpp {l['ppl']:.6f} rel {100*r:+.4f}% (tol 0.2%); "
      f"err presso {p['ppl_err']:.6f} llama.cpp {l['ppl_err']:.6f} rel {100*re:+.4f}%")
if abs(r) > 0.002:
    bad.append(f"ppl presso {p['ppl']!r} vs llama.cpp {l['ppl']!r}: rel {100*r:+.4f}% > 0.2%")
for b in bad:
    print(f"{name}: {b}")
sys.exit(1 if bad else 0)
EOF
)
  rc=$?
  echo "$out"
  if [ $rc -eq 0 ]; then pass; else fail "$name: $(echo "$out" | tail -n +3)"; fi
}

tiny="$shared/data/tinystories/valid.txt"
compare "stories260K-f32" "$shared/models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf" "$tiny" 128
compare "stories260K-q8_0" "$shared/models/stories260K/gguf-by-llama.cpp/stories260K-q8_0.gguf" "$tiny" 128

# A GGUF written by presso from the Hugging Face model, run by llama.cpp.
if "$PRESSO" convert "$shared/models/tinystories-656k" "$tmp/t656.gguf" --type f32 >/dev/null 2>"$tmp/c.err"; then
  compare "tinystories-656k (presso-written f32 gguf)" "$tmp/t656.gguf" "$tiny" 128
else
  fail "convert tinystories-656k: $(head -c 300 "$tmp/c.err")"
fi

if [ -f "$smol" ]; then
  if "$PRESSO" convert "$smol" "$tmp/smol-f32.gguf" --type f32 >/dev/null 2>"$tmp/s.err"; then
    compare "SmolLM2-135M (F32 of the Q4_1 weights) wikitext-2 (2 chunks)" "$tmp/smol-f32.gguf" \
      "$shared/data/wikitext-2/wiki.test.raw" 512 2
    rm -f "$tmp/smol-f32.gguf"
  else
    fail "convert SmolLM2 to f32: $(head -c 300 "$tmp/s.err")"
  fi
else
  echo "SmolLM2-135M Q4_1: skipped ($smol absent; set PRESSO_SMOLLM2_GGUF)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
