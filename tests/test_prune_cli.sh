#!/usr/bin/env bash
# presso prune end to end on tinystories-656k (calibrated on a few windows
# of tinystories/sample.txt): the reported and re-read sparsity is exact for
# magnitude (per row and per layer), Wanda with a per-tensor sparsity map,
# SparseGPT 2:4 joint with q4_0; the files carry presso.prune.* metadata,
# reopen, run, and are reproducible; every bad option is a clear error with
# no output file left behind.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
shared="$PRESSO_SHARED_DIR"
model="$shared/models/tinystories-656k"
calib="$shared/data/tinystories/sample.txt"
valid="$shared/data/tinystories/valid.txt"
[ -f "$model/model.safetensors" ] && [ -f "$calib" ] || { echo "skipped: no ../shared"; exit 77; }
source "$(dirname "$0")/lib.bash"
no_output_file="$tmp/bad.gguf"
cal=(--calib "$calib" --calib-count 4 --calib-len 64 -t 2)

# Magnitude 50% per row: JSON and info agree on exactly half the block linears.
"$PRESSO" prune "$model" "$tmp/mag.gguf" --method magnitude --sparsity 0.5 --json >"$tmp/mag.json" 2>"$tmp/mag.err" &&
  pass || fail "magnitude: $(cat "$tmp/mag.err")"
"$PRESSO" info "$tmp/mag.gguf" --json >"$tmp/mag.info" 2>/dev/null && pass || fail "info on mag.gguf"
python3 - "$tmp/mag.json" "$tmp/mag.info" <<'PY' && pass || fail "magnitude json/info: $(head -c 400 "$tmp/mag.json")"
import json, sys
d, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert d["method"] == "magnitude" and d["pattern"] == "unstructured" and d["type"] == "f32", d
assert d["linear_params"] == 2 * (128*128*2 + 64*128*2 + 3*384*128) and d["linear_nonzero"] * 2 == d["linear_params"], d
r = i["tensor_roles"]
assert all(r[k]["sparsity"] == 0.5 for k in "attn_q attn_k attn_v attn_output ffn_gate ffn_up ffn_down".split()), r
assert r["token_embd"]["nonzero"] == r["token_embd"]["params"], r
assert i["tensor_types"]["f32"]["nonzero"] == i["n_nonzero"] == 656000 - d["linear_params"] // 2, i
PY
for key in presso.method presso.prune.pattern presso.prune.sparsity presso.prune.scope presso.prune.linear_nonzero; do
  grep -qaF "$key" "$tmp/mag.gguf" && pass || fail "mag.gguf lacks $key"
done
grep -qaF presso.calib "$tmp/mag.gguf" && fail "mag.gguf names a calibration it did not use" || pass

# Per layer: the whole matrix ranks together; the total is exact, the rows are not even.
"$PRESSO" prune "$model" "$tmp/magl.gguf" --method magnitude --sparsity 0.3 --scope layer --json >"$tmp/magl.json" 2>/dev/null &&
  "$PRESSO" info "$tmp/magl.gguf" --json >"$tmp/magl.info" 2>/dev/null && python3 - "$tmp/magl.json" "$tmp/magl.info" <<'PY' && pass || fail "magnitude --scope layer"
import json, sys
d, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
shapes = [128*128, 64*128, 64*128, 128*128, 384*128, 384*128, 128*384]
assert d["scope"] == "layer" and d["linear_nonzero"] == sum(n - int(n * 0.3 + 0.5) for n in shapes) * 2, d
PY

# Wanda with a sparsity map, f16 output: ffn_down at 0.3 (115 of 384 per row), the rest at 0.6.
"$PRESSO" prune "$model" "$tmp/wanda.gguf" --method wanda --sparsity 0.6 --sparsity-map 'blk.*.ffn_down=0.3' \
  --type f16 "${cal[@]}" --json >"$tmp/wanda.json" 2>"$tmp/wanda.err" && pass || fail "wanda: $(cat "$tmp/wanda.err")"
"$PRESSO" info "$tmp/wanda.gguf" --json >"$tmp/wanda.info" 2>/dev/null && python3 - "$tmp/wanda.json" "$tmp/wanda.info" <<'PY' && pass || fail "wanda map: $(head -c 300 "$tmp/wanda.json")"
import json, sys
d, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert d["type"] == "f16" and d["calib"]["samples"] == 4, d
r = i["tensor_roles"]
assert r["ffn_down"]["nonzero"] == 2 * 128 * (384 - 115), r["ffn_down"]
assert r["ffn_up"]["nonzero"] == 2 * 384 * (128 - 77) and r["attn_k"]["nonzero"] == 2 * 64 * (128 - 77), r
assert "f16" in i["tensor_types"], i["tensor_types"]
PY
grep -qaF 'blk.*.ffn_down=0.3' "$tmp/wanda.gguf" && pass || fail "wanda.gguf lacks presso.prune.sparsity_map"

# SparseGPT 2:4 joint with q4_0: q4_0 blocks, at least half zero, presso.* keys, runs, reproducible.
sg=(--method sparsegpt --nm 2:4 --quantize q4_0 "${cal[@]}")
"$PRESSO" prune "$model" "$tmp/sg.gguf" "${sg[@]}" --json >"$tmp/sg.json" 2>"$tmp/sg.err" && pass || fail "sparsegpt: $(cat "$tmp/sg.err")"
grep -q "block 2/2" "$tmp/sg.err" && pass || fail "no progress line on stderr"
"$PRESSO" info "$tmp/sg.gguf" --json >"$tmp/sg.info" 2>/dev/null && python3 - "$tmp/sg.json" "$tmp/sg.info" <<'PY' && pass || fail "sparsegpt q4_0: $(head -c 300 "$tmp/sg.json")"
import json, sys
d, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert d["pattern"] == "2:4" and d["type"] == "q4_0" and d["quantized"] and d["damp"] == 0.01, d
assert 0.5 <= d["linear_sparsity"] < 0.56, d
assert list(i["tensor_types"]) == ["q4_0"] or set(i["tensor_types"]) == {"q4_0", "f32"}, i["tensor_types"]
assert i["tensor_roles"]["ffn_down"]["sparsity"] >= 0.5, i["tensor_roles"]
PY
for key in presso.sparsegpt.damp presso.calib.sha256 presso.prune.pattern "2:4"; do
  grep -qaF "$key" "$tmp/sg.gguf" && pass || fail "sg.gguf lacks $key"
done
"$PRESSO" prune "$model" "$tmp/sg2.gguf" "${sg[@]}" >/dev/null 2>&1 && cmp -s "$tmp/sg.gguf" "$tmp/sg2.gguf" && pass || fail "sparsegpt not reproducible"
# --blocksize: SparseGPT's lazy batch, in which each row's mask is chosen
# (exact per batch, so per row); recorded in the JSON and the file.
"$PRESSO" prune "$model" "$tmp/sgb.gguf" --method sparsegpt --sparsity 0.5 --blocksize 32 "${cal[@]}" --json \
  >"$tmp/sgb.json" 2>/dev/null && "$PRESSO" info "$tmp/sgb.gguf" --json >"$tmp/sgb.info" 2>/dev/null &&
  python3 - "$tmp/sgb.json" "$tmp/sgb.info" <<'PY' && pass || fail "sparsegpt --blocksize 32: $(head -c 300 "$tmp/sgb.json")"
import json, sys
d, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert d["blocksize"] == 32 and d["linear_nonzero"] * 2 == d["linear_params"], d
r = i["tensor_roles"]
assert all(r[k]["sparsity"] == 0.5 for k in "attn_q attn_k attn_v attn_output ffn_gate ffn_up ffn_down".split()), r
PY
grep -qaF presso.sparsegpt.block_size "$tmp/sgb.gguf" && pass || fail "sgb.gguf lacks presso.sparsegpt.block_size"
# --type-map: token_embd kept in F16 (as the SparseGPT / GPTQ papers keep the
# embeddings) while the block linears are pruned and quantized jointly: the
# weights grow by exactly F16's bytes minus q4_0's for that one matrix, and the
# map is recorded in the JSON and the file.
"$PRESSO" prune "$model" "$tmp/sgt.gguf" "${sg[@]}" --type-map token_embd=f16 --json >"$tmp/sgt.json" 2>/dev/null &&
  "$PRESSO" info "$tmp/sgt.gguf" --json >"$tmp/sgt.info" 2>/dev/null &&
  python3 - "$tmp/sgt.json" "$tmp/sgt.info" "$tmp/sg.info" <<'PY' && pass || fail "sparsegpt --type-map: $(head -c 300 "$tmp/sgt.json")"
import json, sys
d, i, base = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
assert d["type_map"] == "token_embd=f16" and d["type"] == "q4_0", d
t = i["tensor_types"]
assert t["f16"]["tensors"] == 1 and t["f16"]["params"] == 2048 * 128 and t["q4_0"]["tensors"] == 14, t
assert i["tensor_roles"]["ffn_down"]["sparsity"] >= 0.5, i["tensor_roles"]
assert i["weight_bytes"] - base["weight_bytes"] == 2048 * 128 * 2 - 2048 * 128 // 32 * 18, (i["weight_bytes"], base["weight_bytes"])
PY
grep -qaF presso.type_map "$tmp/sgt.gguf" && pass || fail "sgt.gguf lacks presso.type_map"

# They run: finite perplexity, above the dense model's (the quality order is
# bench/prune_table.sh's; 4 x 64 calibration tokens are too few for it).
ppl() { "$PRESSO" ppl "$1" -f "$valid" -c 128 --chunks 12 --protocol llamacpp -t 2 --json 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["ppl"])'; }
f32=$(ppl "$model"); sgp=$(ppl "$tmp/sg.gguf"); magp=$(ppl "$tmp/mag.gguf")
python3 -c "import math,sys; a,b,c=$f32,$sgp,$magp; sys.exit(0 if all(map(math.isfinite,(b,c))) and a < b and a < c else 1)" &&
  pass || fail "ppl: f32 $f32, sparsegpt 2:4 q4_0 $sgp, magnitude 50% $magp"

# Bad input: clear errors, exit 2 or 1, no output file.
p=("$PRESSO" prune "$model" "$tmp/bad.gguf")
expect_error "sparsity 1.5" "--sparsity" "${p[@]}" --method magnitude --sparsity 1.5
expect_error "sparsity 1" "not below 1" "${p[@]}" --method magnitude --sparsity 1
expect_error "nm 5:4" "0 < N < M" "${p[@]}" --method magnitude --nm 5:4
expect_error "nm garbage" "is not N:M" "${p[@]}" --method magnitude --nm 2-4
expect_error "nm and sparsity" "fixes the sparsity" "${p[@]}" --method magnitude --nm 2:4 --sparsity 0.5
expect_error "missing calib" "needs calibration text" "${p[@]}" --method wanda
expect_error "missing calib sparsegpt" "needs calibration text" "${p[@]}" --method sparsegpt --sparsity 0.5
expect_error "calib not found" "nope.txt" "${p[@]}" --method sparsegpt --calib "$tmp/nope.txt"
expect_error "magnitude with calib" "uses no calibration" "${p[@]}" --method magnitude --calib "$calib"
expect_error "unknown method" "unknown method 'obs'" "${p[@]}" --method obs
expect_error "offset grid" "cannot hold the pruned zeros" "${p[@]}" --method magnitude --quantize q4_1
expect_error "type quantized" "--type takes f32" "${p[@]}" --method magnitude --type q4_0
expect_error "type and quantize" "not both" "${p[@]}" --method magnitude --type f16 --quantize q4_0
expect_error "scope and nm" "does not go with --nm" "${p[@]}" --method magnitude --scope layer --nm 2:4
expect_error "map and nm" "not --nm" "${p[@]}" --method magnitude --nm 2:4 --sparsity-map 'ffn_down=0.3'
expect_error "map entry" "is not GLOB=SPARSITY" "${p[@]}" --method magnitude --sparsity-map 'ffn_down'
expect_error "map value" "--sparsity-map" "${p[@]}" --method magnitude --sparsity-map 'ffn_down=2'
expect_error "damp on magnitude" "SparseGPT option" "${p[@]}" --method magnitude --damp 0.1
expect_error "blocksize on wanda" "SparseGPT option" "${p[@]}" --method wanda --blocksize 64 --calib "$calib"
expect_error "blocksize 0" "--blocksize" "${p[@]}" --method sparsegpt --blocksize 0 --calib "$calib"
expect_error "type-map offset grid" "cannot hold the pruned zeros" "${p[@]}" --method magnitude --quantize q4_0 \
  --type-map ffn_down=q4_1
expect_error "type-map quantizes dense" "give --quantize" "${p[@]}" --method magnitude --type-map ffn_down=q8_0
expect_error "type-map unknown tensor" "unknown tensor 'nope'" "${p[@]}" --method magnitude --type-map nope=f16
expect_error "type-map entry" "is not NAME=TYPE" "${p[@]}" --method magnitude --type-map token_embd
expect_error "same file" "refusing to overwrite" "$PRESSO" prune "$tmp/mag.gguf" "$tmp/mag.gguf" --method magnitude
expect_error "missing input" "nope.gguf" "$PRESSO" prune "$tmp/nope.gguf" "$tmp/bad.gguf" --method magnitude
expect_error "quantize rejects pruning" "presso prune" "$PRESSO" quantize "$model" "$tmp/bad.gguf" --method wanda --type q4_0
finish
