#!/usr/bin/env bash
# Post-training quantization table: method × type → perplexity (tinystories
# valid.txt and wikitext-2 test, llama.cpp protocol `ppl --protocol llamacpp
# -c 128`), file size and bits per weight, against llama.cpp's own
# llama-quantize on the same reference file; and each row's KL divergence
# from the reference on the same tokens (ppl --kl-divergence).
#
#   tinystories-656k: reference = the F32 GGUF `presso convert` writes from
#     the HF safetensors; llama.cpp types Q4_0 Q4_1 Q5_0 Q8_0 Q3_K Q2_K.
#   smollm2: reference = ~/.cache/presso/models/SmolLM2-135M-Instruct.Q4_1.gguf
#     dequantized to F16 (`presso convert --type f16`); llama.cpp types Q4_0
#     Q4_K_M Q3_K (= Q3_K_M) Q2_K; perplexity over a fixed prefix of each text
#     (SMOL_CHUNKS chunks of 128 tokens, default 10: 2 busy cores).
#
# Every presso row uses exactly the per-tensor types of llama.cpp's file of
# the same row (read with gguf-py and passed as --type-map blk.N.NAME=TYPE),
# so presso and llama.cpp are compared at the same size. Where a K-quant
# does not fit a tensor's rows (tinystories: widths 128/384; SmolLM2: 576)
# llama.cpp falls back per tensor; the "tensor types" column says what each
# file holds. Without an importance matrix llama-quantize uses the reference
# quantizers, which presso's RTN reproduces bit for bit (checked here on
# every row: the rtn row is the llama.cpp file's tensor bytes).
#
# Methods (--method, repeatable; default METHODS="rtn+imatrix gptq gptq+act-order gptq+imatrix"):
#   rtn+imatrix     RTN with the importance matrix of the calibration text
#                   (--imatrix-from-calib: llama.cpp's imatrix, computed by presso)
#   gptq            GPTQ (damp 0.01, lazy batches of 128)
#   gptq+act-order  GPTQ with act-order
#   gptq+imatrix    GPTQ whose block scales are searched with the importance matrix
#   gptq+imatrix+act-order+d0.1  the same with act-order and damp 0.1 (best GPTQ on SmolLM2)
#   NAME            any other pass (e.g. awq): presso quantize --method NAME --calib ...
# A run with --method adds/replaces those rows in the existing JSON/markdown
# (f32 and llama.cpp rows are kept), e.g. `bench/quant_table.sh --method awq`;
# without --method everything is rerun. The tables are rewritten after
# every row, so an interrupted run leaves the rows it finished.
# Calibration: tinystories/sample.txt (disjoint from both evaluation texts),
# all of its windows of CALIB_LEN (128) tokens, seed 1234; CALIB_TEXT=ts656k
# calibrates instead on the text of the AWQ / low-bit tables
# (bench/ts656k_calib.sh: sample.txt + the first half of the model's own
# generated text, 128 windows drawn with seed 1234), CALIB_TEXT=FILE on FILE
# (at most 128 windows). The table's "calibration" line says which; results
# go to the same files (TABLE=NAME writes bench/results/NAME.{md,json}).
#
# usage: bench/quant_table.sh [--model tinystories-656k|smollm2] [--method M]... [--tables-only] [PRESSO_BIN]
#   --tables-only: rewrite the markdown from the JSON, running nothing
#   env: CALIB_TEXT (sample.txt), TABLE, THREADS (2), WIKI_CHUNKS (tinystories: 300), SMOL_CHUNKS (10), LLAMA_BIN (llama.cpp build/bin),
#        GGUF_PYTHON (python with gguf-py), TYPES (llama.cpp type names)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
model_name=tinystories-656k
tables_only=0
methods=()
presso="$root/build/presso"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model_name="$2"; shift 2 ;;
    --method) methods+=("$2"); shift 2 ;;
    --tables-only) tables_only=1; shift ;;
    *) presso="$1"; shift ;;
  esac
done
full_run=0
if [ ${#methods[@]} -eq 0 ]; then
  read -r -a methods <<<"${METHODS:-rtn+imatrix gptq gptq+act-order gptq+imatrix}"
  full_run=1
fi
shared="${PRESSO_SHARED_DIR:-$root/../shared}"
calib="$shared/data/tinystories/sample.txt"
calib_len="${CALIB_LEN:-128}"
calib_count=1024 # every window of sample.txt
calib_desc="tinystories/sample.txt (disjoint from both texts): all its windows of $calib_len tokens, seed 1234"
case "${CALIB_TEXT:-}" in
  "") ;;
  ts656k) # the AWQ / low-bit tables' text: sample.txt + the model's own generated text
    model="$shared/models/tinystories-656k" # ts656k_calib.sh reads $calib $model $presso $root
    source "$here/ts656k_calib.sh"
    calib_count=128
    calib_desc="$calib_desc; 128 of its windows of $calib_len tokens drawn with seed 1234" ;;
  *) [ -s "$CALIB_TEXT" ] || { echo "quant_table: CALIB_TEXT $CALIB_TEXT: no such file" >&2; exit 2; }
    calib="$CALIB_TEXT" calib_count=128
    calib_desc="$CALIB_TEXT: 128 of its windows of $calib_len tokens drawn with seed 1234" ;;
esac
valid="$shared/data/tinystories/valid.txt"
wiki="$shared/data/wikitext-2/wiki.test.raw"
threads="${THREADS:-2}"
# OpenMP threads that spin at barriers crawl on a shared machine (4x slower measured at load 30)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
llama_bin="${LLAMA_BIN:-/tmp/lcpp/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin}"
py="${GGUF_PYTHON:-$HOME/.cache/presso/venv/bin/python}"
out="$root/bench/results"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rows="$tmp/rows.jsonl"
: >"$rows"

case "$model_name" in
  tinystories-656k)
    base="$out/${TABLE:-quant_tinystories656k}"
    types="${TYPES:-Q4_0 Q4_1 Q5_0 Q8_0 Q3_K Q2_K}"
    valid_chunks=0; wiki_chunks="${WIKI_CHUNKS:-300}"
    ref="$tmp/ref-f32.gguf"; ref_type=f32
    [ $tables_only = 1 ] || "$presso" convert "$shared/models/tinystories-656k" "$ref" --type f32 >/dev/null ;;
  smollm2)
    base="$out/${TABLE:-quant_smollm2}"
    types="${TYPES:-Q4_0 Q4_K_M Q3_K Q2_K}"
    valid_chunks="${SMOL_CHUNKS:-10}"; wiki_chunks="${SMOL_CHUNKS:-10}"
    ref="$tmp/ref-f16.gguf"; ref_type=f16
    [ $tables_only = 1 ] ||
      "$presso" convert "$HOME/.cache/presso/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$ref" --type f16 >/dev/null ;;
  *) echo "unknown --model $model_name (tinystories-656k, smollm2)" >&2; exit 2 ;;
esac

write_tables() {
python3 - "$rows" "$base" "$model_name" "$full_run" "$valid_chunks" "$wiki_chunks" "$calib_desc" \
  "$("$presso" --help | head -1)" <<'PY'
import json, os, platform, sys, time
rows_path, base, model, full_run, vchunks, wchunks, calib_desc, version = sys.argv[1:]
new = [json.loads(l) for l in open(rows_path)]
rows = new
if full_run == "0" and os.path.exists(base + ".json"):  # merge: replace (method, type) rows, keep the rest
    old = json.load(open(base + ".json"))["rows"]
    keys = {(r["method"], r["type"]) for r in new}
    rows = [r for r in old if (r["method"], r["type"]) not in keys] + new
order = {"f32": 0, "f16": 0, "llama.cpp": 1, "rtn": 2}
types = []
for r in rows:
    if r["type"] not in types: types.append(r["type"])
rows.sort(key=lambda r: (types.index(r["type"]) if r["method"] not in ("f32", "f16") else -1, order.get(r["method"], 3)))
ref_desc = {"tinystories-656k": "tinystories-656k HF safetensors → F32 GGUF (presso convert)",
            "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf dequantized to F16 (presso convert --type f16)"}[model]
def chunks(n, text): return f"{text}, " + (f"first {n} chunks of 128 tokens" if n != "0" else "whole file")
meta = {"model": model, "reference": ref_desc, "ctx": 128, "protocol": "llamacpp (second half of each window scored)",
        "tinystories": chunks(vchunks, "tinystories valid.txt"), "wikitext2": chunks(wchunks, "wiki.test.raw"),
        "calibration": calib_desc,
        "types": "every presso row uses the per-tensor types of llama.cpp's file in the same type group "
                 "(--type-map blk.N.NAME=TYPE read from that file): equal size",
        "llama.cpp": "llama-quantize from the same reference file, no importance matrix",
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d"), "presso": version}
json.dump({"meta": meta, "rows": rows}, open(base + ".json", "w"), indent=1)
ref = next(r for r in rows if r["method"] in ("f32", "f16"))
def tt(r): return " ".join(f"{k}×{v}" for k, v in sorted(r["tensor_types"].items()) if k != "f32")
with open(base + ".md", "w") as f:
    f.write(f"# Post-training quantization: {model}, presso vs llama-quantize\n\n")
    for k, v in meta.items(): f.write(f"- {k}: {v}\n")
    f.write("\n| type (llama.cpp) | method | tensor types | bits/weight | bytes | ppl tinystories | Δ vs ref | "
            "ppl wikitext-2 | Δ vs ref | quant s |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        f.write(f"| {r['type']} | {r['method']} | {tt(r)} | {r['bits_per_weight']:.3f} | {r['bytes']} | "
                f"{r['ppl_tinystories']:.4f} ± {r['ppl_tinystories_err']:.4f} | {r['ppl_tinystories'] - ref['ppl_tinystories']:+.4f} | "
                f"{r['ppl_wikitext2']:.3f} ± {r['ppl_wikitext2_err']:.3f} | {r['ppl_wikitext2'] - ref['ppl_wikitext2']:+.3f} | "
                f"{r['quant_seconds']:.2f} |\n")
    notes = {"tinystories-656k": "wikitext-2 is far out of domain for this 656k-parameter TinyStories model (ppl ≈ 900 "
                                 "± 43): quantization noise moves it either way, several quantized files score below "
                                 "F32; tinystories valid is the in-domain measure, and on wikitext the distance to F32 "
                                 "(|Δ|) is the meaningful one. llama.cpp's Q2_K file of this model holds exactly the "
                                 "types of its Q4_0 file (every K-quant falls back), so those rows repeat.",
             "smollm2": "Perplexities over a fixed prefix of each text (see above), the same prefix for every row. "
                        "SmolLM2's width 576 fits no 256-element super-block, so llama.cpp's K-quant files hold K-quants "
                        "only in ffn_down (rows of 1536) and 32-block fallbacks elsewhere; the tensor types column "
                        "lists what each file holds.\n\n"
                        "GPTQ investigation (Q4_0 types, same prefixes; tinystories / wikitext-2 ppl; llama.cpp "
                        "12.408 / 46.293, RTN+imatrix 11.272 / 40.776): damp 0.01 11.682 / 51.919; damp 0.01 + "
                        "act-order 11.406 / 47.190 (the table's row); damp 0.1 + act-order 11.012 / 46.373; damp 0.3 "
                        "+ act-order 11.252 / 47.657; damp 0.01 + act-order + imatrix scales 11.126 / 47.243; damp 0.1 "
                        "+ act-order + imatrix scales 11.078 / 44.126 (beats llama.cpp on both texts). The calibration "
                        "text is ~900 TinyStories tokens: fewer than ffn_down's 1536 inputs, so its Hessian is singular "
                        "and GPTQ fits the calibration domain; more dampening and imatrix-searched scales regularize "
                        "it, act-order helps; RTN with the same importance matrix generalizes best to wikitext here. "
                        "The same setting (damp 0.1 + act-order + imatrix scales) at llama.cpp's Q3_K types: 10.853 / "
                        "42.141 (llama.cpp 12.061 / 43.103); at its Q2_K types: 11.739 / 43.451 (llama.cpp 13.995 / 49.832). "
                        "Reproduce with --method gptq+imatrix+act-order+d0.1."}
    f.write("\nKL divergence from the reference (ppl --kl-divergence: mean over the scored tokens of "
            "KL(P_ref ‖ P_row) ± its standard error; same top: % of tokens whose most likely next token is the "
            "reference's), on the same tokens as the perplexities:\n\n")
    f.write("| type (llama.cpp) | method | KLD tinystories | same top | KLD wikitext-2 | same top |\n"
            "|---|---|---:|---:|---:|---:|\n")
    for r in rows:
        if r["method"] in ("f32", "f16") or "kld_tinystories" not in r: continue
        f.write(f"| {r['type']} | {r['method']} | " + " | ".join(
            f"{r['kld_' + k]:.5f} ± {r['kld_err_' + k]:.5f} | {100 * r['same_top_' + k]:.2f}"
            for k in ("tinystories", "wikitext2")) + " |\n")
    f.write("\n" + notes[model] + "\n")
    f.write("\nrtn rows: presso's RTN written with the same per-tensor types as llama.cpp's file; where the note says "
            "'identical', every tensor's bytes equal llama-quantize's, so its perplexities are the llama.cpp row's.\n")
PY
}

# The reference's log-probabilities of each text's scored tokens, made once:
# every row's ppl run also compares with them token by token (bench/kld.sh).
KLD_NICE=5
source "$here/kld.sh"

row() { # METHOD LLAMA_TYPE FILE QUANT_JSON [NOTE]
  local v w i
  v=$(kld_ppl_json "$3" "$tmp/valid.kld")
  w=$(kld_ppl_json "$3" "$tmp/wiki.kld")
  i=$("$presso" info "$3" --json 2>/dev/null)
  python3 - "$1" "$2" "$3" "$4" "$v" "$w" "$i" "${5:-}" >>"$rows" <<'PY'
import json, os, sys
method, typ, path, q, v, w, info, note = sys.argv[1:]
q = json.loads(q) if q else {}
v, w, info = json.loads(v), json.loads(w), json.loads(info)
print(json.dumps({"method": method, "type": typ, "bytes": os.path.getsize(path),
                  "bits_per_weight": info["bits_per_weight"], "quant_seconds": q.get("seconds", 0.0),
                  "tensor_types": {k: t["tensors"] for k, t in info["tensor_types"].items()},
                  "ppl_tinystories": v["ppl"], "ppl_tinystories_err": v["ppl_err"], "tinystories_chunks": v["n_chunks"],
                  "ppl_wikitext2": w["ppl"], "ppl_wikitext2_err": w["ppl_err"], "wikitext2_chunks": w["n_chunks"],
                  "kld_tinystories": v["kld"]["mean"], "kld_err_tinystories": v["kld"]["mean_err"],
                  "same_top_tinystories": v["kld"]["same_top"], "kld_wikitext2": w["kld"]["mean"],
                  "kld_err_wikitext2": w["kld"]["mean_err"], "same_top_wikitext2": w["kld"]["same_top"],
                  "note": note}))
PY
  tail -1 "$rows" >&2
  write_tables
}

# The per-tensor types of a GGUF as a --type-map (blk.N.NAME=type, token_embd=..., output=...).
type_map_of() {
  "$py" - "$1" <<'PY'
import sys, gguf
r = gguf.GGUFReader(sys.argv[1])
items = [f"{t.name[:-len('.weight')]}={t.tensor_type.name.lower()}" for t in r.tensors
         if t.name.endswith(".weight") and len(t.shape) == 2 and "norm" not in t.name]
print(",".join(items))
PY
}

# Whether two GGUFs hold the same bytes in every tensor.
same_tensors() {
  "$py" - "$1" "$2" <<'PY'
import sys, gguf, numpy as np
a = {t.name: np.asarray(t.data).tobytes() for t in gguf.GGUFReader(sys.argv[1]).tensors}
b = {t.name: np.asarray(t.data).tobytes() for t in gguf.GGUFReader(sys.argv[2]).tensors}
sys.exit(0 if a == b else 1)
PY
}

method_args() { # METHOD -> presso quantize options
  case "$1" in
    rtn) echo "--method rtn" ;;
    rtn+imatrix) echo "--method rtn --imatrix-from-calib" ;;
    gptq) echo "--method gptq --damp 0.01" ;;
    gptq+act-order) echo "--method gptq --damp 0.01 --act-order" ;;
    gptq+imatrix) echo "--method gptq --damp 0.01 --imatrix-from-calib" ;;
    gptq+imatrix+act-order+d0.1) echo "--method gptq --damp 0.1 --act-order --imatrix-from-calib" ;;
    *) echo "--method $1" ;;
  esac
}

if [ $tables_only = 1 ]; then
  wiki_chunks=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rows'][0]['wikitext2_chunks'])" "$base.json")
  full_run=0 write_tables
  cat "$base.md"
  exit 0
fi
kld_base "$ref" "$valid" "$valid_chunks" "$tmp/valid.kld"
kld_base "$ref" "$wiki" "$wiki_chunks" "$tmp/wiki.kld"
if [ $full_run = 1 ]; then
  row "$ref_type" "$ref_type" "$ref" ""
fi
for T in $types; do
  lc="$tmp/llamacpp-$T.gguf"
  nice -n 5 "$llama_bin/llama-quantize" "$ref" "$lc" "$T" "$threads" >"$tmp/lq.log" 2>&1 ||
    { echo "llama-quantize $T failed: $(tail -3 "$tmp/lq.log")" >&2; exit 1; }
  tmap=$(type_map_of "$lc")
  t=$(echo "$T" | tr 'A-Z' 'a-z' | sed 's/_k_[sml]$/_k/')
  if [ $full_run = 1 ]; then
    row llama.cpp "$T" "$lc" ""
    q=$("$presso" quantize "$ref" "$tmp/rtn.gguf" --method rtn --type "$t" --type-map "$tmap" -t "$threads" --json 2>/dev/null)
    if same_tensors "$lc" "$tmp/rtn.gguf"; then
      echo "rtn $T: every tensor byte-identical with llama-quantize's file" >&2
      python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).readlines()[-1]); r['method']='rtn'; r['note']='tensor bytes identical to llama.cpp file'; r['quant_seconds']=json.loads(sys.argv[2])['seconds']; print(json.dumps(r))" "$rows" "$q" >>"$rows"
      write_tables
    else
      row rtn "$T" "$tmp/rtn.gguf" "$q" "differs from llama.cpp file"
    fi
  fi
  for m in "${methods[@]}"; do
    # shellcheck disable=SC2046
    q=$(nice -n 5 "$presso" quantize "$ref" "$tmp/m.gguf" $(method_args "$m") --type "$t" --type-map "$tmap" \
        --calib "$calib" --calib-count "$calib_count" --calib-len "$calib_len" --seed 1234 -t "$threads" --json 2>"$tmp/q.err") ||
      { echo "presso quantize $m $T failed: $(tail -3 "$tmp/q.err")" >&2; continue; }
    row "$m" "$T" "$tmp/m.gguf" "$q"
  done
done
cat "$base.md"
