#!/usr/bin/env bash
# The native 2:4 encoding end to end on tinystories-656k: convert --magnitude
# writes a dense 2:4-pruned f16 file, convert --sparse 2:4 the same weights
# as s24_f16 (and s24_q4); ppl and greedy generation of the sparse file equal
# the dense pruned file's; info reports the real savings; an unpruned input
# is refused naming the tensor, with no output file. And structured pruning
# from the CLI: smaller shapes, finite ppl, bad options refused.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
shared="$PRESSO_SHARED_DIR"
model="$shared/models/tinystories-656k"
calib="$shared/data/tinystories/sample.txt"
valid="$shared/data/tinystories/valid.txt"
[ -f "$model/model.safetensors" ] && [ -f "$valid" ] || { echo "skipped: no ../shared"; exit 77; }
source "$(dirname "$0")/lib.bash"
no_output_file="$tmp/bad.gguf"

ppl() { "$PRESSO" ppl "$1" -f "$valid" -c 64 --chunks 4 --protocol llamacpp -t 2 --json 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["ppl"])'; }

"$PRESSO" convert "$model" "$tmp/dense24.gguf" --type f16 --magnitude >/dev/null && pass || fail "convert --magnitude"
"$PRESSO" convert "$tmp/dense24.gguf" "$tmp/s24.gguf" --type f16 --sparse 2:4 --json >"$tmp/s24.json" && pass || fail "convert --sparse 2:4"
"$PRESSO" convert "$tmp/dense24.gguf" "$tmp/s24q4.gguf" --type q4_0 --sparse 2:4 >/dev/null && pass || fail "convert --sparse 2:4 q4_0"
python3 - "$tmp/s24.json" <<'PY' && pass || fail "convert json: $(head -c 300 "$tmp/s24.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["sparse_type"] == "s24_f16" and d["sparse_params"] == 393216, d
assert d["sparse_bytes"] == 393216 // 32 * 36 and d["dense_equivalent_bytes"] == 393216 * 2, d
PY
dense=$(ppl "$tmp/dense24.gguf"); sparse=$(ppl "$tmp/s24.gguf"); q4=$(ppl "$tmp/s24q4.gguf")
echo "ppl (4 x 64 tokens): dense 2:4 f16 $dense, s24_f16 $sparse, s24_q4 $q4"
python3 -c "
import math, sys
d, s, q = $dense, $sparse, $q4
sys.exit(0 if abs(d - s) <= 1e-5 * d and math.isfinite(q) and 0.9 * d < q < 1.5 * d else 1)" && pass ||
  fail "s24_f16 ppl $sparse != dense pruned $dense (or s24_q4 $q4 off)"
gen() { "$PRESSO" generate "$1" -p "Once upon a time" -n 24 --temp 0 2>/dev/null; }
[ "$(gen "$tmp/dense24.gguf")" = "$(gen "$tmp/s24.gguf")" ] && pass || fail "greedy text differs between dense and sparse"
"$PRESSO" info "$tmp/s24.gguf" --json >"$tmp/info.json" && python3 - "$tmp/info.json" <<'PY' && pass || fail "info: $(head -c 400 "$tmp/info.json")"
import json, sys
t = json.load(open(sys.argv[1]))["tensor_types"]["s24_f16"]
assert t["tensors"] == 14 and t["bytes"] == 442368 and t["dense_equivalent_bytes"] == 786432, t
PY
# without --sparse a sparse input is written dense again, the same weights
"$PRESSO" convert "$tmp/s24.gguf" "$tmp/back.gguf" --type f16 >/dev/null && [ "$(ppl "$tmp/back.gguf")" = "$dense" ] && pass ||
  fail "s24_f16 -> f16 is not the dense pruned model"
"$PRESSO" info "$tmp/s24q4.gguf" | grep -q "s24_q4 .* (2:4 sparse: 77.8% of" && pass || fail "info text lacks the s24_q4 saving"
expect_error "unpruned input" "self_attn.q_proj.weight is not 2:4 sparse" "$PRESSO" convert "$model" "$no_output_file" --type f16 --sparse 2:4
expect_error "pattern" "native sparse encoding is 2:4" "$PRESSO" convert "$tmp/dense24.gguf" "$no_output_file" --type f16 --sparse 4:8
expect_error "value type" "takes --type f16 (s24_f16) or q4_0" "$PRESSO" convert "$tmp/dense24.gguf" "$no_output_file" --type q8_0 --sparse 2:4
expect_error "quantize to sparse" "not a quantized type presso writes" "$PRESSO" quantize "$model" "$no_output_file" --method rtn --type s24_q4

# structured pruning
"$PRESSO" prune "$model" "$tmp/st.gguf" --method structured --ffn-ratio 0.5 --heads-ratio 0.25 --calib "$calib" \
  --calib-count 2 --calib-len 64 --json >"$tmp/st.json" && pass || fail "prune structured"
python3 - "$tmp/st.json" <<'PY' && pass || fail "prune json: $(head -c 400 "$tmp/st.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["hidden_before"] == 384 and d["hidden_after"] == 192 and d["heads_after"] == 6 and d["kv_heads_after"] == 3, d
PY
"$PRESSO" info "$tmp/st.gguf" | grep -q "hidden 192, layers 2, heads 6 (kv 3" && pass || fail "info of the pruned file"
st=$(ppl "$tmp/st.gguf"); full=$(ppl "$model")
python3 -c "import math,sys; sys.exit(0 if math.isfinite($st) and $st > $full else 1)" && pass || fail "structured ppl $st vs $full"
expect_error "no calib" "--calib FILE" "$PRESSO" prune "$model" "$no_output_file" --method structured --ffn-ratio 0.3
expect_error "method" "unknown method 'foo'" "$PRESSO" prune "$model" "$no_output_file" --method foo
expect_error "ratio" "--ffn-ratio" "$PRESSO" prune "$model" "$no_output_file" --method structured --ffn-ratio 1.5 --calib "$calib"
expect_error "too few heads" "removes no kv group" "$PRESSO" prune "$model" "$no_output_file" --method structured --heads-ratio 0.1 --calib "$calib"
finish
