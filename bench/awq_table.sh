#!/usr/bin/env bash
# RTN, GPTQ and AWQ on tinystories-656k at every width presso writes for it:
# method × type → perplexity (tinystories valid.txt and wikitext-2 test,
# llama.cpp protocol, -c 128; and the held-out half of the generated text
# that settings may be chosen on), size, bits per weight, quantization time.
# Rows per type: RTN, GPTQ, GPTQ --act-order, AWQ --no-awq-clip, AWQ (clip search on), AWQ+GPTQ;
# types q8_0 q5_1 q5_0 q4_1 q4_0 and presso's q3_g32 q2_g32 (TYPES=...);
# W8A8 (rtn, no smoothing) and SmoothQuant W8A8 (α 0.5) against F32.
# Every row also gets its KL divergence from the F32 model on each text
# (ppl --kl-divergence against the F32 file's saved log-probabilities):
# perplexities of two methods on the 17 stories of valid.txt differ by less
# than their error bars, and the KL divergence compares them token by token.
#
# Calibration (bench/ts656k_calib.sh): tinystories/sample.txt followed by the
# first half of the model's own generated text (bench/make_calib.sh, 512 ×
# 256 tokens), CALIB_COUNT (128) windows of CALIB_LEN (128) tokens, BOS
# first, drawn with seed 1234; AWQ grid 20; GPTQ damp 0.01. CALIB=FILE
# replaces it (HELDOUT=FILE the held-out text).
# wikitext-2: its first WIKI_CHUNKS chunks (default 300 × 128 tokens).
# Q2_K/Q3_K: the model's rows (128, 384) fit no 256-wide K-quant block, so
# every matrix would fall back to q4_0 (driver.h) and repeat the q4_0 rows;
# q3_g32/q2_g32 are the 3- and 2-bit rows.
# JOBS (default 2) types run side by side, each single-threaded (THREADS).
#
# usage: bench/awq_table.sh [PRESSO_BIN]   (writes bench/results/awq_tinystories656k.{md,json};
#        TABLE=NAME writes bench/results/NAME.{md,json}; WIKI_CHUNKS=0 scores the whole of wikitext-2)
set -eu
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ts656k_calib.sh"
threads="${THREADS:-1}"
jobs="${JOBS:-2}"
wiki_chunks="${WIKI_CHUNKS:-300}"
heldout_chunks="${HELDOUT_CHUNKS:-200}"
calib_count="${CALIB_COUNT:-128}"
calib_len="${CALIB_LEN:-128}"
types="${TYPES:-q8_0 q5_1 q5_0 q4_1 q4_0 q3_g32 q2_g32}"
out="$root/bench/results"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rows="$tmp/rows.jsonl"
: >"$rows"
cal=(--calib "$calib" --calib-count "$calib_count" --calib-len "$calib_len" --seed 1234)

# Every row is compared token by token with the F32 model's log-probabilities
# of each text's scored tokens (bench/kld.sh).
source "$here/kld.sh"

row() { # METHOD TYPE FILE QUANT_JSON (appends to $rows.$2: one file per type, the types run in parallel)
  local v w h
  v=$(kld_ppl_json "$3" "$tmp/valid.kld")
  w=$(kld_ppl_json "$3" "$tmp/wiki.kld")
  h=$(kld_ppl_json "$3" "$tmp/heldout.kld")
  python3 - "$1" "$2" "$3" "$4" "$v" "$w" "$h" >>"$rows.$2" <<'PY'
import json, os, sys
method, typ, path, q, v, w, h = sys.argv[1:]
q = json.loads(q) if q else {}
v, w, h = json.loads(v), json.loads(w), json.loads(h)
alphas = q.get("awq", q.get("smoothquant", {})).get("blocks")
print(json.dumps({"method": method, "type": typ, "bytes": os.path.getsize(path),
                  "bits_per_weight": q.get("bits_per_weight", 32.0), "quant_seconds": q.get("seconds", 0.0),
                  "alphas": [{k: e["alpha"] for k, e in b.items()} for b in alphas] if alphas else None,
                  "ppl_tinystories": v["ppl"], "ppl_tinystories_err": v["ppl_err"],
                  "ppl_wikitext2": w["ppl"], "ppl_wikitext2_err": w["ppl_err"], "wikitext2_chunks": w["n_chunks"],
                  "ppl_heldout": h["ppl"], "ppl_heldout_err": h["ppl_err"], "heldout_chunks": h["n_chunks"],
                  **{f"{k}_{name}": d["kld"][f] for name, d in (("tinystories", v), ("wikitext2", w), ("heldout", h))
                     for k, f in (("kld", "mean"), ("kld_err", "mean_err"), ("same_top", "same_top"),
                                  ("ln_ratio", "ln_ppl_ratio"), ("ln_ratio_err", "ln_ppl_ratio_err"))}}))
PY
  tail -1 "$rows.$2" >&2
}

quant() { # NAME TYPE ARGS...
  local name="$1" t="$2"
  shift 2
  local q
  q=$("$presso" quantize "$model" "$tmp/$name-$t.gguf" "$@" -t "$threads" --json 2>/dev/null)
  row "$name" "$t" "$tmp/$name-$t.gguf" "$q"
}

# One single-threaded job per type, side by side (the files are small: a
# job is mostly per-call overhead, and the jobs share the cores better).
"$presso" convert "$model" "$tmp/f32.gguf" --type f32 >/dev/null
kld_base "$tmp/f32.gguf" "$valid" 0 "$tmp/valid.kld"
kld_base "$tmp/f32.gguf" "$wiki" "$wiki_chunks" "$tmp/wiki.kld"
kld_base "$tmp/f32.gguf" "$heldout" "$heldout_chunks" "$tmp/heldout.kld"
(row f32 f32 "$tmp/f32.gguf" ""
 quant "rtn (no smoothing)" w8a8 --method rtn --type w8a8
 quant smoothquant w8a8 --method smoothquant --alpha 0.5 "${cal[@]}") &
for t in $types; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  (quant rtn "$t" --method rtn --type "$t"
   quant gptq "$t" --method gptq --type "$t" "${cal[@]}"
   quant "gptq act-order" "$t" --method gptq --act-order --type "$t" "${cal[@]}"
   quant "awq no-clip" "$t" --method awq --no-awq-clip --type "$t" "${cal[@]}"
   quant awq "$t" --method awq --type "$t" "${cal[@]}"
   quant awq+gptq "$t" --method awq+gptq --type "$t" "${cal[@]}") &
done
wait
for t in w8a8 $types; do [ "$t" = w8a8 ] && cat "$rows.f32" "$rows.w8a8" >>"$rows" || cat "$rows.$t" >>"$rows"; done

python3 - "$rows" "$out/${TABLE:-awq_tinystories656k}" "$wiki_chunks" "$("$presso" --help | head -1)" \
  "$calib_desc" "$calib_count" "$calib_len" "$heldout_desc" "$heldout_chunks" "$calib" <<'PY'
import hashlib, json, platform, sys, time
rows = [json.loads(l) for l in open(sys.argv[1])]
base, chunks, version = sys.argv[2], int(sys.argv[3]), sys.argv[4]
calib_desc, count, length, heldout_desc, held_chunks, calib_file = sys.argv[5:11]
meta = {"model": "tinystories-656k (HF, F32)", "ctx": 128, "protocol": "llamacpp",
        "calibration": f"{calib_desc} (sha256 {hashlib.sha256(open(calib_file, 'rb').read()).hexdigest()[:16]}…): "
                       f"{count} of its windows of {int(length) - 1} tokens (each after BOS) drawn with seed 1234; "
                       "AWQ grid 20 (first 16 windows for the α search); GPTQ damp 0.01",
        "held-out": f"{heldout_desc}, first {held_chunks} chunks of 128",
        "wikitext2": "wiki.test.raw, " + (f"first {chunks} chunks" if chunks else "whole file"),
        "token_embd/output": "target type, reference quantizer (RTN) for every method; output is tied",
        "w8a8": "presso-native type 1000: int8 weights per row (fp32 scale), int8 activations per token, int32 sums",
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d"), "presso": version}
json.dump({"meta": meta, "rows": rows}, open(base + ".json", "w"), indent=1)
f32 = next(r for r in rows if r["method"] == "f32")
with open(base + ".md", "w") as f:
    f.write("# RTN, GPTQ, AWQ and SmoothQuant: tinystories-656k\n\n")
    for k, v in meta.items(): f.write(f"- {k}: {v}\n")
    f.write("\n| method | type | bits/weight | bytes | ppl tinystories valid | Δ vs f32 | ppl wikitext-2 | Δ vs f32 | ppl held-out gen. | quant s |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        f.write(f"| {r['method']} | {r['type']} | {r['bits_per_weight']:.3f} | {r['bytes']} | "
                f"{r['ppl_tinystories']:.4f} ± {r['ppl_tinystories_err']:.4f} | {r['ppl_tinystories'] - f32['ppl_tinystories']:+.4f} | "
                f"{r['ppl_wikitext2']:.3f} ± {r['ppl_wikitext2_err']:.3f} | {r['ppl_wikitext2'] - f32['ppl_wikitext2']:+.3f} | "
                f"{r['ppl_heldout']:.4f} | {r['quant_seconds']:.2f} |\n")
    def beats_rtn(title, prefix):  # per type and method: lower than RTN on each text (yes / **no**)
        methods = ("gptq", "gptq act-order", "awq no-clip", "awq", "awq+gptq")
        f.write(f"\n{title}, tinystories valid / wikitext-2 / held-out:\n\n")
        f.write("| type | " + " | ".join(methods) + " |\n|---|" + "---|" * len(methods) + "\n")
        for t in dict.fromkeys(r["type"] for r in rows if r["method"] == "rtn" and r["type"] != "w8a8"):
            rtn = next(r for r in rows if r["type"] == t and r["method"] == "rtn")
            cells = []
            for m in methods:
                r = next((r for r in rows if r["type"] == t and r["method"] == m), None)
                cells.append("—" if not r else " / ".join("yes" if r[prefix + k] < rtn[prefix + k] else "**no**"
                                                          for k in ("tinystories", "wikitext2", "heldout")))
            f.write(f"| {t} | " + " | ".join(cells) + " |\n")
    beats_rtn("Beats RTN (lower perplexity than the same type's RTN row)", "ppl_")
    f.write("\nKL divergence from F32 (ppl --kl-divergence, llama-perplexity's measure: mean over the scored "
            "tokens of KL(P_f32 ‖ P_quantized), ± its standard error; same top: % of tokens whose most likely "
            "next token is F32's):\n\n")
    f.write("| method | type | KLD tinystories valid | same top | KLD wikitext-2 | same top | KLD held-out gen. | same top |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        if r["method"] == "f32": continue
        f.write(f"| {r['method']} | {r['type']} | " + " | ".join(
            f"{r['kld_' + k]:.5f} ± {r['kld_err_' + k]:.5f} | {100 * r['same_top_' + k]:.2f}"
            for k in ("tinystories", "wikitext2", "heldout")) + " |\n")
    beats_rtn("Closer to F32 than RTN (lower mean KL divergence than the same type's RTN row)", "kld_")
    f.write("\nQ2_K/Q3_K are not listed: rows of 128 and 384 fit no 256-wide K-quant block, so every matrix falls "
            "back to q4_0 and the rows would repeat q4_0's; q3_g32/q2_g32 (presso-native, 4.0/3.0 bits per weight "
            "before the f32 norms) are the 3- and 2-bit rows.\n")
print(open(base + ".md").read())
PY
