#!/usr/bin/env bash
# ppl --kl-divergence-base / --kl-divergence (src/eval/kld.c): the base file
# has llama-perplexity's layout and size, a model compared with its own base
# gives zero divergence and its own perplexity, a quantized model's paired
# ln(PPL ratio) equals the ratio of two plain ppl runs, its mean KL equals an
# independent numpy computation from two saved files, and bad files or
# options are refused by name with no file left behind.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
shared="$PRESSO_SHARED_DIR"
dir="$shared/models/stories260K/gguf-by-llama.cpp"
text="$shared/data/tinystories/valid.txt"
[ -f "$dir/stories260K-f32.gguf" ] && [ -f "$text" ] || { echo "skipped: no ../shared"; exit 77; }
source "$(dirname "$0")/lib.bash"
f32="$dir/stories260K-f32.gguf" q8="$dir/stories260K-q8_0.gguf" q4="$dir/stories260K-q4_0.gguf"

json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
ppl_of() { "$PRESSO" ppl "$1" -f "$text" -c 128 --chunks 40 -t 2 --json 2>/dev/null | json_field '["ppl"]'; }
close() { python3 -c "import sys; a, b, tol = map(float, sys.argv[1:]); sys.exit(0 if abs(a - b) <= tol else 1)" "$@"; }

# 1. the base file: llama.cpp's layout, 40 chunks of 128 (vocab 512: 516 slots per position)
"$PRESSO" ppl "$f32" -f "$text" -c 128 --chunks 40 -t 2 --kl-divergence-base "$tmp/f32.kld" --json >"$tmp/base.json" 2>/dev/null
want=$((20 + 40 * 128 * 4 + 40 * 63 * 516 * 2))
size=$(stat -c %s "$tmp/f32.kld" 2>/dev/null || echo 0)
[ "$size" = "$want" ] && pass || fail "base file is $size bytes, want $want"
[ "$(head -c 8 "$tmp/f32.kld")" = "_logits_" ] && pass || fail "base file lacks the _logits_ magic"

# 2. the base against itself: no divergence, the same perplexity
"$PRESSO" ppl "$f32" --kl-divergence-base "$tmp/f32.kld" --kl-divergence -t 2 --json >"$tmp/self.json" 2>/dev/null
self_kld=$(json_field '["kld"]["mean"]' <"$tmp/self.json")
close "$self_kld" 0 1e-5 && pass || fail "self KLD $self_kld"
close "$(json_field '["kld"]["same_top"]' <"$tmp/self.json")" 1 0.002 && pass || fail "self same-top below 99.8%"
close "$(json_field '["ppl"]' <"$tmp/self.json")" "$(json_field '["ppl"]' <"$tmp/base.json")" 1e-9 && pass ||
  fail "ppl on the base's own tokens differs from the base run"
close "$(json_field '["kld"]["ppl_base"]' <"$tmp/self.json")" "$(json_field '["ppl"]' <"$tmp/base.json")" 1e-3 && pass ||
  fail "PPL(base) read back from the file differs from the base run"

# 3. quantized files: ln(PPL(Q)/PPL(base)) as two plain runs give it; Q8_0 diverges far less than Q4_0
p_f32=$(ppl_of "$f32")
for f in q8 q4; do
  "$PRESSO" ppl "${!f}" --kl-divergence-base "$tmp/f32.kld" --kl-divergence -t 2 --json >"$tmp/$f.json" 2>/dev/null
  p=$(ppl_of "${!f}")
  lr=$(json_field '["kld"]["ln_ppl_ratio"]' <"$tmp/$f.json")
  ref=$(python3 -c "import math,sys; print(math.log(float(sys.argv[1]) / float(sys.argv[2])))" "$p" "$p_f32")
  close "$lr" "$ref" 2e-4 && pass || fail "$f: ln ratio $lr, plain runs give $ref"
done
k8=$(json_field '["kld"]["mean"]' <"$tmp/q8.json") k4=$(json_field '["kld"]["mean"]' <"$tmp/q4.json")
python3 -c "import sys; a, b = map(float, sys.argv[1:]); sys.exit(0 if 0 < a < b / 10 and 1e-3 < b < 1 else 1)" "$k8" "$k4" &&
  pass || fail "KLD q8_0 $k8, q4_0 $k4: want 0 < q8 < q4/10, q4 in (1e-3, 1)"

# 4. mean KL(P_f32 ‖ P_q4) recomputed with numpy from the Q4_0 file's own saved log-probs
"$PRESSO" ppl "$q4" -f "$text" -c 128 --chunks 40 -t 2 --kl-divergence-base "$tmp/q4.kld" >/dev/null 2>&1
if python3 -c "import numpy" 2>/dev/null; then
  np_kld=$(python3 - "$tmp/f32.kld" "$tmp/q4.kld" <<'PY'
import sys, numpy as np
def logprobs(path):
    raw = open(path, "rb").read()
    n_ctx, n_vocab, n_chunk = np.frombuffer(raw, np.int32, 3, 8)
    nv = 2 * ((n_vocab + 1) // 2) + 4
    rec = np.frombuffer(raw, np.uint16, offset=20 + 4 * n_chunk * n_ctx).reshape(-1, nv)
    head = rec[:, :4].copy().view(np.float32)  # scale, min_log_prob
    q = rec[:, 4:4 + n_vocab].astype(np.float64)
    return q * head[:, :1] + head[:, 1:2]
lb, lq = logprobs(sys.argv[1]), logprobs(sys.argv[2])
keep = lb > -16  # llama.cpp's cut
print(np.mean(np.sum(np.where(keep, np.exp(lb) * (lb - lq), 0.0), axis=1)))
PY
)
  close "$k4" "$np_kld" "$(python3 -c "print(0.01 * $np_kld)")" && pass || fail "q4_0 KLD $k4, numpy $np_kld"
else
  echo "note: numpy missing, the numpy recomputation is skipped"
fi

# 5. bad files and options
head -c 5000 "$tmp/f32.kld" >"$tmp/trunc.kld"
expect_error "truncated base" "truncated" "$PRESSO" ppl "$f32" --kl-divergence-base "$tmp/trunc.kld" --kl-divergence
printf 'not a base file at all' >"$tmp/junk.kld"
expect_error "wrong magic" "junk.kld: not a file of base log-probabilities" \
  "$PRESSO" ppl "$f32" --kl-divergence-base "$tmp/junk.kld" --kl-divergence
expect_error "missing base" "nope.kld" "$PRESSO" ppl "$f32" --kl-divergence-base "$tmp/nope.kld" --kl-divergence
if [ -d "$shared/models/tinystories-656k" ]; then
  expect_error "other vocabulary" "vocabulary of 512" \
    "$PRESSO" ppl "$shared/models/tinystories-656k" --kl-divergence-base "$tmp/f32.kld" --kl-divergence
fi
expect_error "-f with --kl-divergence" "tokens come from" \
  "$PRESSO" ppl "$f32" -f "$text" --kl-divergence-base "$tmp/f32.kld" --kl-divergence
expect_error "--kl-divergence alone" "add --kl-divergence-base" "$PRESSO" ppl "$f32" --kl-divergence
expect_error "other context" "differs from the context 128" \
  "$PRESSO" ppl "$f32" -c 256 --kl-divergence-base "$tmp/f32.kld" --kl-divergence
expect_error "strided" "goes with --protocol llamacpp" \
  "$PRESSO" ppl "$f32" -f "$text" --protocol strided --kl-divergence-base "$tmp/s.kld"
no_output_file="$tmp/none/x.kld" expect_error "unwritable base" "cannot create" \
  "$PRESSO" ppl "$f32" -f "$text" -c 128 --kl-divergence-base "$tmp/none/x.kld"
# a run that fails (context too long for the text) leaves no base file behind
no_output_file="$tmp/long.kld" expect_error "failed run leaves nothing" "needs at least" \
  "$PRESSO" ppl "$f32" -f "$shared/data/tinystories/sample.txt" -c 1024 --kl-divergence-base "$tmp/long.kld"
finish
