#!/usr/bin/env bash
# Pruning table for tinystories-656k: method (magnitude, Wanda, SparseGPT) ×
# sparsity (0.2 … 0.8 unstructured; 2:4 and 4:8 at 0.5) → perplexity on
# tinystories valid.txt (whole file) and wikitext-2 test (first WIKI_CHUNKS
# chunks), llama.cpp protocol, -c 128; and the joint setting (SparseGPT 50% /
# 2:4 + q4_0 in one pass) against q4_0 alone (RTN, GPTQ) and 50% alone:
# perplexity, file size, compression ratio vs the F32 and F16 files.
#
# Calibration (Wanda, SparseGPT, GPTQ): tinystories/sample.txt (disjoint from
# valid.txt), all of its 128-token windows (7 × 128 tokens, BOS first), seed
# 1234; SparseGPT/GPTQ dampening DAMP (default 0.01, the papers' λ).
# Magnitude and Wanda rank within each output row (Wanda's comparison group);
# token_embd (tied with output) is never pruned; block linears only.
# The files are dense GGUF (F32, or q4_0 blocks whose pruned weights decode
# to exact zeros): the zeros cost bytes here; a compact sparse encoding is
# separate work.
#
# usage: bench/prune_table.sh [PRESSO_BIN]   (writes bench/results/prune_tinystories656k.{md,json})
#   env: WIKI_CHUNKS (60), DAMP (0.01), JOBS (2 rows at a time), THREADS (1 per row)
set -eu
source "$(dirname "$0")/lib.sh"
threads="${THREADS:-1}"
jobs="${JOBS:-2}"
wiki_chunks="${WIKI_CHUNKS:-60}"
damp="${DAMP:-0.01}"
out="$root/bench/results"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$tmp/rows"
export presso model calib valid wiki threads wiki_chunks damp tmp

# row ID METHOD PATTERN SPARSITY TYPE CMD...: runs CMD (which writes $tmp/ID.gguf,
# JSON on stdout or nothing), measures both perplexities, writes $tmp/rows/ID.json.
row() {
  local id="$1" method="$2" pattern="$3" sparsity="$4" type="$5"; shift 5
  local f="$tmp/$id.gguf" made v w
  made=$("$@" 2>"$tmp/$id.err") || { echo "FAILED $id: $(tail -3 "$tmp/$id.err")" >&2; return 1; }
  v=$("$presso" ppl "$f" -f "$valid" -c 128 --protocol llamacpp -t "$threads" --json 2>/dev/null)
  w=$("$presso" ppl "$f" -f "$wiki" -c 128 --protocol llamacpp -t "$threads" --chunks "$wiki_chunks" --json 2>/dev/null)
  python3 - "$id" "$method" "$pattern" "$sparsity" "$type" "$f" "$made" "$v" "$w" >"$tmp/rows/$id.json" <<'PY'
import json, os, sys
rid, method, pattern, sparsity, typ, path, made, v, w = sys.argv[1:]
try: made = json.loads(made)
except ValueError: made = {}  # convert prints a line, not JSON
v, w = json.loads(v), json.loads(w)
print(json.dumps({"id": rid, "method": method, "pattern": pattern, "sparsity": float(sparsity), "type": typ,
                  "bytes": os.path.getsize(path), "linear_sparsity": made.get("linear_sparsity", 0.0),
                  "seconds": made.get("seconds", 0.0),
                  "ppl_tinystories": v["ppl"], "ppl_tinystories_err": v["ppl_err"],
                  "ppl_wikitext2": w["ppl"], "ppl_wikitext2_err": w["ppl_err"], "wikitext2_chunks": w["n_chunks"]}))
PY
  echo "$id: valid $(python3 -c "import json; d=json.load(open('$tmp/rows/$id.json')); print('%.3f wiki %.3f' % (d['ppl_tinystories'], d['ppl_wikitext2']))")" >&2
}
export -f row

cal="--calib $calib --calib-count 128 --calib-len 128 --seed 1234"
{
  echo "f32 f32 dense 0 f32 $presso convert $model $tmp/f32.gguf --type f32"
  echo "f16 f16 dense 0 f16 $presso convert $model $tmp/f16.gguf --type f16"
  echo "rtn-q4_0 rtn dense 0 q4_0 $presso quantize $model $tmp/rtn-q4_0.gguf --method rtn --type q4_0 -t $threads --json"
  echo "gptq-q4_0 gptq dense 0 q4_0 $presso quantize $model $tmp/gptq-q4_0.gguf --method gptq --type q4_0 $cal --damp $damp -t $threads --json"
  for m in sparsegpt wanda magnitude; do
    c=""; [ $m != magnitude ] && c="$cal"
    d=""; [ $m = sparsegpt ] && d="--damp $damp"
    for s in 0.2 0.3 0.4 0.5 0.6 0.7 0.8; do
      echo "$m-u$s $m unstructured $s f32 $presso prune $model $tmp/$m-u$s.gguf --method $m --sparsity $s $c $d -t $threads --json"
    done
    for nm in 2:4 4:8; do
      echo "$m-$nm $m $nm 0.5 f32 $presso prune $model $tmp/$m-$nm.gguf --method $m --nm $nm $c $d -t $threads --json"
    done
    for p in "--sparsity 0.5" "--nm 2:4"; do
      pat=unstructured; [ "$p" = "--nm 2:4" ] && pat=2:4
      echo "$m-${pat/:/-}-q4_0 $m $pat 0.5 q4_0 $presso prune $model $tmp/$m-${pat/:/-}-q4_0.gguf --method $m $p --quantize q4_0 $c $d -t $threads --json"
    done
  done
} | xargs -P "$jobs" -L 1 bash -c 'row "$@"' _

python3 - "$tmp/rows" "$out/prune_tinystories656k" "$wiki_chunks" "$damp" "$("$presso" --help | head -1)" <<'PY'
import glob, json, os, platform, sys, time
rows = {}
for p in glob.glob(os.path.join(sys.argv[1], "*.json")):
    r = json.load(open(p)); rows[r["id"]] = r
base, chunks, damp, version = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
meta = {"model": "tinystories-656k (HF, F32; 393,216 weights in block linears of 656,000)", "ctx": 128,
        "protocol": "llamacpp (second half of each 128-token window scored)",
        "calibration": f"tinystories/sample.txt: all 7 windows of 128 tokens (BOS + 127), seed 1234; SparseGPT/GPTQ damp {damp}",
        "wikitext2": "wiki.test.raw, " + (f"first {chunks} chunks" if chunks else "whole file"),
        "tinystories": "valid.txt, whole file (61 chunks)",
        "pruned": "the 7 block linears of every layer; token_embd (tied output) and norms dense",
        "mask": "magnitude/Wanda per output row; SparseGPT per row in lazy batches of 128 columns; N:M per group of M inputs",
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d"), "presso": version}
order = sorted(rows.values(), key=lambda r: r["id"])
json.dump({"meta": meta, "rows": order}, open(base + ".json", "w"), indent=1)
f32, f16 = rows["f32"], rows["f16"]
methods = ["magnitude", "wanda", "sparsegpt"]
def cell(r, k): return f"{r[k]:.3f}" if k == "ppl_tinystories" else f"{r[k]:.2f}"
with open(base + ".md", "w") as f:
    f.write("# Pruning: tinystories-656k\n\n")
    for k, v in meta.items(): f.write(f"- {k}: {v}\n")
    f.write(f"\nDense F32: tinystories valid {f32['ppl_tinystories']:.3f}, wikitext-2 {f32['ppl_wikitext2']:.2f}.\n")
    for key, name in (("ppl_tinystories", "tinystories valid"), ("ppl_wikitext2", "wikitext-2 test")):
        f.write(f"\n## Perplexity on {name} (F32 output)\n\n| pattern | sparsity | magnitude | Wanda | SparseGPT |\n|---|---:|---:|---:|---:|\n")
        for s in ["0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"]:
            f.write(f"| unstructured | {s} | " + " | ".join(cell(rows[f"{m}-u{s}"], key) for m in methods) + " |\n")
        for nm in ["2:4", "4:8"]:
            f.write(f"| {nm} | 0.5 | " + " | ".join(cell(rows[f"{m}-{nm}"], key) for m in methods) + " |\n")
    f.write("\n## Joint pruning + 4-bit (the Compress-Then-Prompt 50% + 4-bit setting)\n\n"
            "| file | bytes | vs F32 | vs F16 | zero in linears | ppl tinystories | ppl wikitext-2 |\n|---|---:|---:|---:|---:|---:|---:|\n")
    joint = [("f32", "F32"), ("f16", "F16"), ("sparsegpt-u0.5", "SparseGPT 50% (F32)"), ("sparsegpt-2:4", "SparseGPT 2:4 (F32)"),
             ("rtn-q4_0", "q4_0 RTN only"), ("gptq-q4_0", "q4_0 GPTQ only"),
             ("sparsegpt-unstructured-q4_0", "SparseGPT 50% + q4_0 (joint GPTQ)"), ("sparsegpt-2-4-q4_0", "SparseGPT 2:4 + q4_0 (joint GPTQ)"),
             ("wanda-unstructured-q4_0", "Wanda 50% + q4_0 RTN"), ("wanda-2-4-q4_0", "Wanda 2:4 + q4_0 RTN"),
             ("magnitude-unstructured-q4_0", "magnitude 50% + q4_0 RTN"), ("magnitude-2-4-q4_0", "magnitude 2:4 + q4_0 RTN")]
    for rid, name in joint:
        r = rows[rid]
        f.write(f"| {name} | {r['bytes']} | {f32['bytes'] / r['bytes']:.2f}x | {f16['bytes'] / r['bytes']:.2f}x | "
                f"{100 * r['linear_sparsity']:.1f}% | {r['ppl_tinystories']:.3f} | {r['ppl_wikitext2']:.2f} |\n")
    def order(key, ids):
        v = [rows[i][key] for i in ids]
        return "holds" if v[0] <= v[1] < v[2] else "does NOT hold"
    f.write("\n## Expected order SparseGPT ≤ Wanda < magnitude\n\n")
    for label, suffix in (("50% unstructured", "-u0.5"), ("2:4", "-2:4"), ("4:8", "-4:8")):
        ids = [f"sparsegpt{suffix}", f"wanda{suffix}", f"magnitude{suffix}"]
        f.write(f"- {label}: tinystories {order('ppl_tinystories', ids)}, wikitext-2 {order('ppl_wikitext2', ids)}\n")
    f.write("\nSizes are of dense GGUF files: a pruned q4_0 file is as large as q4_0 alone (zeros are stored as codes); "
            "the ratio counts whole files (token_embd is 40% of this model's weights and is not pruned).\n")
print(open(base + ".md").read())
PY
