#!/usr/bin/env bash
# presso's llama-perplexity protocol (ppl --protocol llamacpp) against the figures
# llama.cpp's own llama-perplexity printed for the stories260K GGUFs it wrote
# (../shared/README.md: -c 128 on data/tinystories/valid.txt): the final estimate
# within 0.2%, its error within 1%. The llama2.c checkpoint must give the same
# perplexity as the F32 GGUF (same weights) to 1e-4 relative.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
shared="$PRESSO_SHARED_DIR"
gdir="$shared/models/stories260K/gguf-by-llama.cpp"
text="$shared/data/tinystories/valid.txt"
[ -f "$gdir/stories260K-f32.gguf" ] && [ -f "$text" ] || { echo "skipped: no ../shared"; exit 77; }
threads="${PRESSO_PPL_TEST_THREADS:-1}"   # 1 thread: a 260K model is all sync overhead, and ctest -j oversubscribes
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# field FILE KEY: a number from presso's --json output.
field() { python3 -c "import json,sys; print(repr(json.load(open(sys.argv[1]))[sys.argv[2]]))" "$1" "$2"; }
# within NAME GOT WANT TOL: prints both and the relative difference; passes if |got/want-1| <= TOL.
within() {
  local name="$1" got="$2" want="$3" tol="$4" line
  line=$(python3 -c "import sys; g,w,t=map(float,sys.argv[1:4]); r=g/w-1; print('%-34s presso %-10.6g ref %-10.6g rel %+.5f%% (tol %.3g%%) %s' % (sys.argv[4], g, w, 100*r, 100*t, 'ok' if abs(r)<=t else 'OVER')); sys.exit(0 if abs(r)<=t else 1)" "$got" "$want" "$tol" "$name")
  local rc=$?
  echo "$line"
  if [ $rc -eq 0 ]; then pass; else fail "$line"; fi
}
run_ppl() {  # run_ppl OUT MODEL [extra args]: presso ppl, llamacpp protocol, -c 128.
  local out="$1" model="$2"; shift 2
  if ! "$PRESSO" ppl "$model" -f "$text" -c 128 --protocol llamacpp -t "$threads" --json "$@" >"$out" 2>"$out.err"; then
    fail "ppl $model: $(head -c 300 "$out.err")"; return 1
  fi
}

# type ppl err  (llama-perplexity -c 128 -t 2, ../shared/README.md)
while read -r type ppl err; do
  model="$gdir/stories260K-$type.gguf"
  [ -f "$model" ] || { fail "missing $model"; continue; }
  run_ppl "$tmp/$type.json" "$model" || continue
  echo "$type: n_tokens $(field "$tmp/$type.json" n_tokens), n_chunks $(field "$tmp/$type.json" n_chunks), n_scored $(field "$tmp/$type.json" n_scored)"
  within "$type ppl vs llama-perplexity" "$(field "$tmp/$type.json" ppl)" "$ppl" 0.002
  within "$type ppl_err vs llama-perplexity" "$(field "$tmp/$type.json" ppl_err)" "$err" 0.01
done <<'EOF'
f32 5.6944 0.12667
f16 5.6943 0.12666
q8_0 5.6935 0.12662
q4_k_m 5.8228 0.13049
q4_0 6.2146 0.13739
EOF

# The llama2.c checkpoint (same weights as the F32 GGUF) and its tokenizer.
bin="$shared/models/stories260K/stories260K.bin"
if run_ppl "$tmp/bin.json" "$bin" -z "$shared/models/stories260K/tok512.bin" && [ -f "$tmp/f32.json" ]; then
  [ "$(field "$tmp/bin.json" n_tokens)" = "$(field "$tmp/f32.json" n_tokens)" ] && pass || fail "llama2.c n_tokens $(field "$tmp/bin.json" n_tokens) != f32 gguf $(field "$tmp/f32.json" n_tokens)"
  within "llama2.c .bin ppl vs f32 gguf" "$(field "$tmp/bin.json" ppl)" "$(field "$tmp/f32.json" ppl)" 1e-4
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
