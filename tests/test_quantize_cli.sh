#!/usr/bin/env bash
# presso quantize end to end: RTN and GPTQ to q4_0 on tinystories-656k
# (calibrated on tinystories/sample.txt, evaluated on valid.txt with
# llama.cpp's protocol at -c 128): GPTQ must beat RTN, both must lose to
# F32; the files carry presso.* metadata, reopen, are reproducible; every
# bad option is a clear error with no output file left behind.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
shared="$PRESSO_SHARED_DIR"
model="$shared/models/tinystories-656k"
calib="$shared/data/tinystories/sample.txt"
valid="$shared/data/tinystories/valid.txt"
[ -f "$model/model.safetensors" ] && [ -f "$calib" ] || { echo "skipped: no ../shared"; exit 77; }
source "$(dirname "$0")/lib.bash"
no_output_file="$tmp/bad.gguf"

ppl() { "$PRESSO" ppl "$1" -f "$valid" -c 128 --protocol llamacpp -t 2 --json 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["ppl"])'; }

gptq_args=(--method gptq --type q4_0 --calib "$calib" --calib-count 8 --calib-len 128 -t 2)
"$PRESSO" quantize "$model" "$tmp/rtn.gguf" --method rtn --type q4_0 -t 2 >"$tmp/rtn.txt" 2>"$tmp/rtn.err" && pass || fail "rtn: $(cat "$tmp/rtn.err")"
"$PRESSO" quantize "$model" "$tmp/gptq.gguf" "${gptq_args[@]}" --json >"$tmp/gptq.json" 2>"$tmp/gptq.err" && pass || fail "gptq: $(cat "$tmp/gptq.err")"
grep -q "block 2/2" "$tmp/gptq.err" && pass || fail "no progress line on stderr"
python3 - "$tmp/gptq.json" <<'PY' && pass || fail "gptq json: $(head -c 400 "$tmp/gptq.json")"
import json, sys
d = json.load(open(sys.argv[1]))
need = "input output method type bytes bits_per_weight seconds n_fallback calib damp act_order".split()
assert all(k in d for k in need), [k for k in need if k not in d]
assert d["method"] == "gptq" and d["type"] == "q4_0" and d["calib"]["samples"] >= 1 and d["n_fallback"] == 0
assert 4.4 < d["bits_per_weight"] < 4.7, d["bits_per_weight"]
PY

f32=$(ppl "$model"); rtn=$(ppl "$tmp/rtn.gguf"); gptq=$(ppl "$tmp/gptq.gguf")
echo "tinystories-656k valid.txt ppl (-c 128, llamacpp): f32 $f32, rtn q4_0 $rtn, gptq q4_0 $gptq"
python3 -c "
import math, sys
f32, rtn, gptq = $f32, $rtn, $gptq
ok = all(math.isfinite(v) for v in (f32, rtn, gptq)) and gptq < rtn and rtn > f32 and gptq > f32
sys.exit(0 if ok else 1)" && pass || fail "expected f32 < gptq < rtn: f32 $f32 rtn $rtn gptq $gptq"

# presso.* metadata, with the calibration text's sha256.
sha=$(sha256sum "$calib" | cut -d' ' -f1)
for key in presso.method presso.calib.file presso.calib.sha256 presso.calib.samples presso.calib.tokens presso.gptq.damp presso.gptq.act_order "$sha"; do
  grep -qaF "$key" "$tmp/gptq.gguf" && pass || fail "gptq.gguf lacks $key"
done
grep -qaF presso.calib "$tmp/rtn.gguf" && fail "rtn.gguf names a calibration it did not use" || pass
# The file reopens with every block matrix in q4_0.
"$PRESSO" info "$tmp/gptq.gguf" --json >"$tmp/info.json" 2>/dev/null && python3 -c "
import json; d = json.load(open('$tmp/info.json')); t = d['tensor_types']
assert 'q4_0' in str(t), t" && pass || fail "info on gptq.gguf: $(head -c 300 "$tmp/info.json")"
# Reproducible: same inputs, same bytes.
"$PRESSO" quantize "$model" "$tmp/gptq2.gguf" "${gptq_args[@]}" >/dev/null 2>&1 && cmp -s "$tmp/gptq.gguf" "$tmp/gptq2.gguf" && pass || fail "gptq not reproducible"
# Act-order and asymmetric --bits run through.
"$PRESSO" quantize "$model" "$tmp/ao.gguf" --method gptq --bits 4 --asym --calib "$calib" --calib-count 4 --calib-len 128 --act-order >/dev/null 2>&1 &&
  [ "$(ppl "$tmp/ao.gguf" | python3 -c 'import math,sys; v=float(sys.stdin.read()); print(int(math.isfinite(v) and v < 60))')" = 1 ] && pass || fail "gptq --bits 4 --asym --act-order"

# stories260K: ffn_down rows of 172 fit no block: f16, reported.
bin="$shared/models/stories260K/stories260K.bin"
if [ -f "$bin" ]; then
  "$PRESSO" quantize "$bin" "$tmp/s260.gguf" --method gptq --type q4_0 --calib "$calib" --calib-count 4 --calib-len 128 >"$tmp/s260.txt" 2>&1 &&
    grep -q "ffn_down.weight=f16" "$tmp/s260.txt" && pass || fail "stories260K fallback: $(tail -3 "$tmp/s260.txt")"
  "$PRESSO" quantize "$bin" "$tmp/s260k.gguf" --method gptq --type q4_k --calib "$calib" --calib-count 4 --calib-len 128 >"$tmp/s260k.txt" 2>&1 &&
    grep -q "attn_q.weight=q5_0" "$tmp/s260k.txt" && pass || fail "stories260K q4_k fallback: $(tail -3 "$tmp/s260k.txt")"
fi

# Bad options: clear errors, exit 2 or 1, no output file.
q=("$PRESSO" quantize "$model" "$tmp/bad.gguf")
expect_error "unknown method" "unknown method 'awq2'" "${q[@]}" --method awq2 --type q4_0
expect_error "gptq without calib" "needs calibration text" "${q[@]}" --method gptq --type q4_0
expect_error "rtn with calib" "uses no calibration" "${q[@]}" --method rtn --type q4_0 --calib "$calib"
expect_error "act-order on rtn" "GPTQ options" "${q[@]}" --method rtn --type q4_0 --act-order
expect_error "bits 3" "use --type q3_k" "${q[@]}" --method rtn --bits 3
expect_error "bits 8 asym" "not representable" "${q[@]}" --method rtn --bits 8 --asym
expect_error "group 128" "not representable" "${q[@]}" --method rtn --type q4_0 --group 128
expect_error "type and bits" "not both" "${q[@]}" --method rtn --type q4_0 --bits 4
expect_error "float type" "not a quantized type" "${q[@]}" --method rtn --type f16
expect_error "bogus type" "unknown tensor type" "${q[@]}" --method rtn --type q9_9
expect_error "damp range" "--damp" "${q[@]}" --method gptq --type q4_0 --calib "$calib" --damp 2
expect_error "calib-count" "--calib-count" "${q[@]}" --method gptq --type q4_0 --calib "$calib" --calib-count 0
expect_error "missing calib" "nope.txt" "${q[@]}" --method gptq --type q4_0 --calib "$tmp/nope.txt"
: >"$tmp/empty.txt"
expect_error "empty calib" "empty.txt" "${q[@]}" --method gptq --type q4_0 --calib "$tmp/empty.txt"
expect_error "type-map name" "unknown tensor 'ffn'" "${q[@]}" --method rtn --type q4_0 --type-map ffn=q8_0
expect_error "missing model" "nope-model" "$PRESSO" quantize "$tmp/nope-model" "$tmp/bad.gguf" --method rtn --type q4_0
expect_error "in is out" "refusing to overwrite" "$PRESSO" quantize "$tmp/rtn.gguf" "$tmp/rtn.gguf" --method rtn --type q4_0
expect_error "requantize" "--allow-requantize" "$PRESSO" quantize "$tmp/rtn.gguf" "$tmp/bad.gguf" --method gptq --type q4_0 --calib "$calib"
"$PRESSO" quantize "$tmp/rtn.gguf" "$tmp/rq.gguf" --method rtn --type q8_0 --allow-requantize >/dev/null 2>&1 && pass || fail "--allow-requantize"
# --type-map: token_embd kept in q8_0 (the tied output with it).
"$PRESSO" quantize "$model" "$tmp/tm.gguf" --method rtn --type q4_0 --type-map token_embd=q8_0 >/dev/null 2>&1 &&
  "$PRESSO" info "$tmp/tm.gguf" --json 2>/dev/null | grep -q q8_0 && pass || fail "--type-map token_embd=q8_0"

# Importance matrices: a legacy .dat written here (llama-imatrix's layout)
# for blk.0.attn_q (128 inputs) is used and recorded; one of the wrong width,
# a garbage file, and contradictory options are clear errors.
python3 - "$tmp" <<'PY'
import struct, sys
def dat(path, width):
    name = b"blk.0.attn_q.weight"
    with open(path, "wb") as f:
        f.write(struct.pack("<ii", 1, len(name)) + name + struct.pack("<ii", 1, width))
        f.write(struct.pack("<%df" % width, *[1.0 + (j % 7) ** 3 for j in range(width)]))
dat(sys.argv[1] + "/good.dat", 128)
dat(sys.argv[1] + "/wide.dat", 96)
open(sys.argv[1] + "/junk.dat", "wb").write(b"\xff\xff\xff\x7f junk")
PY
"$PRESSO" quantize "$model" "$tmp/im.gguf" --method rtn --type q4_0 --imatrix "$tmp/good.dat" --json >"$tmp/im.json" 2>/dev/null &&
  grep -q '"imatrix_tensors":[[:space:]]*1' "$tmp/im.json" && grep -qaF presso.imatrix.file "$tmp/im.gguf" &&
  ! cmp -s "$tmp/im.gguf" "$tmp/rtn.gguf" && pass || fail "--imatrix good.dat: $(head -c 300 "$tmp/im.json")"
"$PRESSO" quantize "$model" "$tmp/imc.gguf" --method rtn --type q4_0 --imatrix-from-calib --calib "$calib" --calib-count 4 --calib-len 64 --json >"$tmp/imc.json" 2>/dev/null &&
  grep -q '"imatrix_tensors":[[:space:]]*14' "$tmp/imc.json" && pass || fail "--imatrix-from-calib: $(head -c 300 "$tmp/imc.json")"
expect_error "imatrix width" "has 96 importance values" "${q[@]}" --method rtn --type q4_0 --imatrix "$tmp/wide.dat"
expect_error "imatrix junk" "junk.dat" "${q[@]}" --method rtn --type q4_0 --imatrix "$tmp/junk.dat"
expect_error "imatrix missing" "nope.dat" "${q[@]}" --method rtn --type q4_0 --imatrix "$tmp/nope.dat"
expect_error "imatrix model" "not an importance matrix" "${q[@]}" --method rtn --type q4_0 --imatrix "$tmp/rtn.gguf"
expect_error "imatrix both" "not both" "${q[@]}" --method rtn --type q4_0 --imatrix "$tmp/good.dat" --imatrix-from-calib --calib "$calib"
expect_error "imatrix-from-calib alone" "needs calibration text" "${q[@]}" --method rtn --type q4_0 --imatrix-from-calib
# --type-map globs and per-layer names.
"$PRESSO" quantize "$model" "$tmp/tg.gguf" --method rtn --type q4_0 --type-map 'blk.*.attn_v=q8_0,blk.1.ffn_down=q5_1' >/dev/null 2>&1 &&
  "$PRESSO" info "$tmp/tg.gguf" --json 2>/dev/null | python3 -c '
import json, sys; t = json.load(sys.stdin)["tensor_types"]
assert t["q8_0"]["tensors"] == 2 and t["q5_1"]["tensors"] == 1, t' && pass || fail "--type-map globs"
expect_error "type-map glob base" "unknown tensor 'blk.*.ffn'" "${q[@]}" --method rtn --type q4_0 --type-map 'blk.*.ffn=q8_0'

finish
