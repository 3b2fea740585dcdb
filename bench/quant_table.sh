#!/usr/bin/env bash
# Post-training quantization table for tinystories-656k: method × type →
# perplexity (tinystories valid.txt and wikitext-2 test, llama.cpp protocol,
# -c 128), file size, bits per weight, quantization time.
#
# Calibration (GPTQ): tinystories/sample.txt (disjoint from valid.txt), all
# of its 128-token windows (7 × 128 tokens, BOS first), seed 1234, damp 0.01.
# wikitext-2 is scored on its first WIKI_CHUNKS chunks (default 300 × 128
# tokens; WIKI_CHUNKS=0 for the whole 556k-token file, ~4 min per model on
# 2 cores). K-quant types are not in the table: no matrix of this model has
# rows that are a multiple of 256, so every tensor falls back per llama.cpp's
# rule (q4_k → q5_0, q5_k → q5_1, q6_k → q8_0, q2_k/q3_k → q4_0) and the
# rows would repeat those types' rows; GPTQ on the K-quant grids is measured
# on a synthetic 512-wide layer in tests/test_compress.c.
#
# usage: bench/quant_table.sh [PRESSO_BIN]   (writes bench/results/quant_tinystories656k.{md,json})
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
presso="${1:-$root/build/presso}"
shared="${PRESSO_SHARED_DIR:-$root/../shared}"
model="$shared/models/tinystories-656k"
calib="$shared/data/tinystories/sample.txt"
valid="$shared/data/tinystories/valid.txt"
wiki="$shared/data/wikitext-2/wiki.test.raw"
threads="${THREADS:-2}"
wiki_chunks="${WIKI_CHUNKS:-300}"
types="${TYPES:-q8_0 q5_1 q5_0 q4_1 q4_0}"
out="$root/bench/results"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rows="$tmp/rows.jsonl"
: >"$rows"

ppl_json() { # MODEL TEXT CHUNKS
  local chunks=()
  [ "$3" != 0 ] && chunks=(--chunks "$3")
  "$presso" ppl "$1" -f "$2" -c 128 --protocol llamacpp -t "$threads" "${chunks[@]}" --json 2>/dev/null
}

row() { # METHOD TYPE FILE QUANT_JSON
  local v w
  v=$(ppl_json "$3" "$valid" 0)
  w=$(ppl_json "$3" "$wiki" "$wiki_chunks")
  python3 - "$1" "$2" "$3" "$4" "$v" "$w" >>"$rows" <<'PY'
import json, os, sys
method, typ, path, q, v, w = sys.argv[1:]
q = json.loads(q) if q else {}
v, w = json.loads(v), json.loads(w)
print(json.dumps({"method": method, "type": typ, "bytes": os.path.getsize(path),
                  "bits_per_weight": q.get("bits_per_weight", 32.0), "quant_seconds": q.get("seconds", 0.0),
                  "n_fallback": q.get("n_fallback", 0), "fallback_tensors": q.get("fallback_tensors", ""),
                  "ppl_tinystories": v["ppl"], "ppl_tinystories_err": v["ppl_err"],
                  "ppl_wikitext2": w["ppl"], "ppl_wikitext2_err": w["ppl_err"], "wikitext2_chunks": w["n_chunks"]}))
PY
  tail -1 "$rows" >&2
}

"$presso" convert "$model" "$tmp/f32.gguf" --type f32 >/dev/null
row f32 f32 "$tmp/f32.gguf" ""
for t in $types; do
  q=$("$presso" quantize "$model" "$tmp/rtn-$t.gguf" --method rtn --type "$t" -t "$threads" --json 2>/dev/null)
  row rtn "$t" "$tmp/rtn-$t.gguf" "$q"
  for ao in "" --act-order; do
    q=$("$presso" quantize "$model" "$tmp/gptq-$t.gguf" --method gptq --type "$t" --calib "$calib" \
        --calib-count 128 --calib-len 128 --seed 1234 --damp 0.01 $ao -t "$threads" --json 2>/dev/null)
    row "gptq${ao:+ act-order}" "$t" "$tmp/gptq-$t.gguf" "$q"
  done
done

python3 - "$rows" "$out/quant_tinystories656k" "$wiki_chunks" "$("$presso" --help | head -1)" <<'PY'
import json, platform, sys, time
rows = [json.loads(l) for l in open(sys.argv[1])]
base, chunks, version = sys.argv[2], int(sys.argv[3]), sys.argv[4]
meta = {"model": "tinystories-656k (HF, F32)", "ctx": 128, "protocol": "llamacpp",
        "calibration": "tinystories/sample.txt: all 7 windows of 128 tokens (BOS + 127), seed 1234, damp 0.01",
        "wikitext2": "wiki.test.raw, " + (f"first {chunks} chunks" if chunks else "whole file"),
        "token_embd/output": "target type, reference quantizer (RTN) for every method; output is tied",
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d"), "presso": version}
json.dump({"meta": meta, "rows": rows}, open(base + ".json", "w"), indent=1)
f32 = next(r for r in rows if r["method"] == "f32")
with open(base + ".md", "w") as f:
    f.write("# Post-training quantization: tinystories-656k\n\n")
    for k, v in meta.items(): f.write(f"- {k}: {v}\n")
    f.write("\n| method | type | bits/weight | bytes | ppl tinystories valid | Δ vs f32 | ppl wikitext-2 | Δ vs f32 | quant s |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        f.write(f"| {r['method']} | {r['type']} | {r['bits_per_weight']:.3f} | {r['bytes']} | "
                f"{r['ppl_tinystories']:.4f} ± {r['ppl_tinystories_err']:.4f} | {r['ppl_tinystories'] - f32['ppl_tinystories']:+.4f} | "
                f"{r['ppl_wikitext2']:.3f} ± {r['ppl_wikitext2_err']:.3f} | {r['ppl_wikitext2'] - f32['ppl_wikitext2']:+.3f} | "
                f"{r['quant_seconds']:.2f} |\n")
    f.write("\nK-quant types (q2_k..q6_k) are not listed: no matrix of this model has rows that are a multiple of 256, "
            "so each falls back per tensor (q4_k → q5_0, q5_k → q5_1, q6_k → q8_0, q2_k/q3_k → q4_0; llama.cpp uses "
            "iq4_nl for the last two, which presso does not write) and would repeat those rows.\n")
print(open(base + ".md").read())
PY
