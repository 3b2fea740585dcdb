#!/usr/bin/env bash
# presso quantize --method awq | awq+gptq | smoothquant on tinystories-656k
# (calibrated on 2 × 64 tokens of tinystories/sample.txt): the files carry
# their presso.* metadata and reopen; SmoothQuant W8A8 is reported by info
# as w8a8 and its perplexity on tinystories valid.txt (first 20 chunks, -c
# 128, llama.cpp protocol) is within 1% of F32's (measured on all chunks:
# F32 35.218, SmoothQuant 35.190, W8A8 without smoothing 35.286); bad
# option combinations are clear errors that leave no file.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
model="$PRESSO_SHARED_DIR/models/tinystories-656k"
calib="$PRESSO_SHARED_DIR/data/tinystories/sample.txt"
valid="$PRESSO_SHARED_DIR/data/tinystories/valid.txt"
[ -f "$model/model.safetensors" ] && [ -f "$calib" ] || { echo "skipped: no ../shared"; exit 77; }
source "$(dirname "$0")/lib.bash"
cal=(--calib "$calib" --calib-count 2 --calib-len 64 -t 2)

ppl() { "$PRESSO" ppl "$1" -f "$valid" -c 128 --protocol llamacpp --chunks 20 -t 2 --json 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["ppl"])'; }

# the clip search is on by default (llm-awq / AutoAWQ do it); --no-awq-clip leaves it out
"$PRESSO" quantize "$model" "$tmp/awq.gguf" --method awq --type q4_1 --awq-grid 10 "${cal[@]}" --json \
  >"$tmp/awq.json" 2>"$tmp/awq.err" && pass || fail "awq: $(cat "$tmp/awq.err")"
python3 - "$tmp/awq.json" <<'PY' && pass || fail "awq json: $(head -c 400 "$tmp/awq.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["method"] == "awq" and d["pass"] == "rtn" and d["type"] == "q4_1", d
a = d["awq"]
assert a["grid"] == 10 and a["clip"] is True and len(a["blocks"]) == 2, a
for b in a["blocks"]:
    for g in ("attn_in", "attn_out", "ffn_in", "ffn_act"):
        e = b[g]
        # grid of 10: alpha is k/9
        assert 0 <= e["alpha"] <= 1 and abs(e["alpha"] * 9 - round(e["alpha"] * 9)) < 1e-9, e
        assert e["err_rtn"] > 0, e
PY
for key in presso.method presso.awq.alphas presso.awq.grid presso.awq.clip presso.calib.sha256; do
  grep -qaF "$key" "$tmp/awq.gguf" && pass || fail "awq.gguf lacks $key"
done
"$PRESSO" quantize "$model" "$tmp/awqg.gguf" --method awq+gptq --type q4_0 "${cal[@]}" --json >"$tmp/awqg.json" 2>/dev/null &&
  python3 -c "import json; d=json.load(open('$tmp/awqg.json')); assert d['method']=='awq+gptq' and d['pass']=='gptq' and 'damp' in d" &&
  pass || fail "awq+gptq"
grep -qaF presso.gptq.damp "$tmp/awqg.gguf" && pass || fail "awq+gptq file lacks presso.gptq.damp"

"$PRESSO" quantize "$model" "$tmp/sq.gguf" --method smoothquant --alpha 0.5 "${cal[@]}" >"$tmp/sq.txt" 2>"$tmp/sq.err" &&
  pass || fail "smoothquant: $(cat "$tmp/sq.err")"
grep -qaF presso.smoothquant.alpha "$tmp/sq.gguf" && pass || fail "sq.gguf lacks presso.smoothquant.alpha"
"$PRESSO" info "$tmp/sq.gguf" --json >"$tmp/info.json" 2>/dev/null &&
  python3 -c "import json; t=json.load(open('$tmp/info.json'))['tensor_types']; assert t['w8a8']['tensors'] == 15, t" &&
  pass || fail "info on sq.gguf: $(head -c 300 "$tmp/info.json")"
f32=$(ppl "$model"); sq=$(ppl "$tmp/sq.gguf"); awq=$(ppl "$tmp/awq.gguf")
echo "valid.txt first 20 chunks: f32 $f32, smoothquant w8a8 $sq, awq q4_1 $awq"
python3 -c "import sys; f, s, a = $f32, $sq, $awq; sys.exit(0 if abs(s / f - 1) < 0.01 and f < a < 1.2 * f else 1)" &&
  pass || fail "smoothquant ppl $sq not within 1% of f32 $f32 (or awq $awq implausible)"

"$PRESSO" quantize "$model" "$tmp/awq-noclip.gguf" --method awq --type q4_1 --awq-grid 10 --no-awq-clip "${cal[@]}" \
  --json 2>/dev/null | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["awq"]["clip"] is False else 1)' &&
  pass || fail "--no-awq-clip: the report does not say clip false"
cmp -s "$tmp/awq.gguf" "$tmp/awq-noclip.gguf" && fail "--no-awq-clip wrote the same file as the default" || pass

no_output_file="$tmp/bad.gguf"
expect_error "both clip flags" "exclude each other" "$PRESSO" quantize "$model" "$no_output_file" --method awq --type q4_0 --awq-clip --no-awq-clip "${cal[@]}"
expect_error "alpha with awq" "--alpha is SmoothQuant" "$PRESSO" quantize "$model" "$no_output_file" --method awq --type q4_0 --alpha 0.3 "${cal[@]}"
expect_error "awq-clip with gptq" "--awq-grid and --awq-clip / --no-awq-clip go with" "$PRESSO" quantize "$model" "$no_output_file" --method gptq --type q4_0 --awq-clip "${cal[@]}"
expect_error "smoothquant type" "smoothquant writes w8a8" "$PRESSO" quantize "$model" "$no_output_file" --method smoothquant --type q4_0 "${cal[@]}"
expect_error "awq no calib" "awq needs calibration text" "$PRESSO" quantize "$model" "$no_output_file" --method awq --type q4_0
expect_error "alpha range" "--alpha" "$PRESSO" quantize "$model" "$no_output_file" --method smoothquant --alpha 1.5 "${cal[@]}"
expect_error "grid range" "--awq-grid" "$PRESSO" quantize "$model" "$no_output_file" --method awq --type q4_0 --awq-grid 1 "${cal[@]}"
expect_error "gptq w8a8" "w8a8 is written by rtn or smoothquant" "$PRESSO" quantize "$model" "$no_output_file" --method gptq --type w8a8 "${cal[@]}"
expect_error "unknown method" "awq+gptq" "$PRESSO" quantize "$model" "$no_output_file" --method awq2 --type q4_0 "${cal[@]}"
finish
