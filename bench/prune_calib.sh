#!/usr/bin/env bash
# Which calibration and SparseGPT settings bench/prune_table.sh uses, and
# every setting tried, on tinystories-656k at 50% unstructured and 2:4:
#  - calibration text: tinystories/sample.txt alone (7 windows of 128 tokens,
#    ~900 tokens: fewer samples than ffn_down's 384 inputs), the model's own
#    generated text alone (bench/make_calib.sh, 512 samples of 256 tokens),
#    or both (prune_table.sh's default); 128 windows of 128 or 512 tokens;
#  - SparseGPT: dampening λ 0.01 / 0.1, mask per row or per lazy batch over
#    all rows (--scope layer, the paper's), lazy batch 32 / 64 / 128 columns;
#  - the window-sampling seed (which 128 of ~790 windows), for the noise.
# The pick is by perplexity on DEV text: 64 more samples the model generates
# with seeds 10001..10064 (disjoint from the calibration samples' 1..512),
# never by the evaluation files. Every row is also scored on tinystories
# valid.txt (whole), wikitext-2 (first WIKI_CHUNKS, and first WIKI_CHUNKS_BIG),
# llama.cpp protocol, -c 128, so what the pick costs there is visible.
# Layer by layer calibration on the pruned earlier blocks' outputs is how the
# driver always runs (compress/driver.c), not a setting.
#
# usage: bench/prune_calib.sh [PRESSO_BIN]   (writes bench/results/prune_calib_tinystories656k.{md,json})
#   env: JOBS (2), WIKI_CHUNKS (60), WIKI_CHUNKS_BIG (1000)
set -eu
source "$(dirname "$0")/lib.sh"
jobs="${JOBS:-2}"
wiki_chunks="${WIKI_CHUNKS:-60}"
wiki_big="${WIKI_CHUNKS_BIG:-1000}"
out="$root/bench/results"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/presso/calib"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$tmp/rows" "$cache"
gen=$("$here/make_calib.sh" "$model" 512 256 "$cache/ts656k-gen512x256.txt" "$presso")
both="$cache/ts656k-sample+gen512x256.txt"
{ cat "$calib"; printf '\n\n'; cat "$gen"; } >"$both.tmp" && mv "$both.tmp" "$both"
dev="$cache/ts656k-dev-gen64x256-seed10001.txt"
if [ ! -s "$dev" ]; then
  for s in $(seq 10001 10064); do
    "$presso" generate "$model" -n 256 --temp 1 --top-p 1 --seed "$s" -t 1 2>/dev/null
    printf '\n\n'
  done | sed 's/<|end_story|>/\n\n/g' >"$dev.tmp" && mv "$dev.tmp" "$dev"
fi
export presso model valid wiki wiki_chunks wiki_big dev tmp

ppl() { "$presso" ppl "$1" -f "$2" -c 128 --protocol llamacpp -t 1 ${3:+--chunks $3} --json 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["ppl"])'; }
# row ID GROUP METHOD PATTERN SETTING PRUNE_ARGS...
row() {
  local id="$1" group="$2" method="$3" pattern="$4" setting="$5"; shift 5
  local f="$tmp/$id.gguf" d v w wb
  "$presso" prune "$model" "$f" --method "$method" "$@" -t 1 >/dev/null 2>"$tmp/$id.err" ||
    { echo "FAILED $id: $(tail -2 "$tmp/$id.err")" >&2; return 1; }
  d=$(ppl "$f" "$dev"); v=$(ppl "$f" "$valid"); w=$(ppl "$f" "$wiki" "$wiki_chunks"); wb=$(ppl "$f" "$wiki" "$wiki_big")
  rm -f "$f"
  python3 -c 'import json,sys; k=["id","group","method","pattern","setting","args","ppl_dev","ppl_tinystories","ppl_wikitext2","ppl_wikitext2_big"]; a=sys.argv[1:]; print(json.dumps({**dict(zip(k[:6],a[:6])), **{x: float(y) for x, y in zip(k[6:], a[6:])}}))' \
    "$id" "$group" "$method" "$pattern" "$setting" "$*" "$d" "$v" "$w" "$wb" >"$tmp/rows/$id.json"
  echo "$id: dev $d valid $v wiki $w wiki-big $wb" >&2
}
export -f ppl row
{
  echo "dense ref magnitude dense - --sparsity 0"
  for p in "u50 --sparsity 0.5" "24 --nm 2:4"; do
    set -- $p; pat=$1; shift
    echo "mag-$pat ref magnitude $pat - $*"
    for c in "S:$calib" "G:$gen" "SG:$both"; do # which text, 128 windows of 128 tokens
      n=${c%%:*} file=${c#*:}
      echo "wanda-$pat-$n text wanda $pat $n $* --calib $file --calib-count 128 --calib-len 128"
      echo "sgpt-$pat-$n text sparsegpt $pat $n $* --calib $file --calib-count 128 --calib-len 128"
    done
    for m in wanda sparsegpt; do # window length
      echo "$m-$pat-L512 len $m $pat 512 $* --calib $both --calib-count 128 --calib-len 512"
    done
    echo "sgpt-$pat-d0.1 damp sparsegpt $pat 0.1 $* --calib $both --calib-count 128 --calib-len 128 --damp 0.1"
    echo "sgpt-$pat-B32 block sparsegpt $pat 32 $* --calib $both --calib-count 128 --calib-len 128 --blocksize 32"
  done
  for d in 0.01 0.1; do # the paper's mask: one threshold per lazy batch over all rows
    echo "sgpt-u50-layer-d$d scope sparsegpt u50 layer,λ=$d --sparsity 0.5 --calib $both --calib-count 128 --calib-len 128 --scope layer --damp $d"
  done
  for b in 32 64; do
    echo "sgpt-u50-layer-B$b block sparsegpt u50 layer,B=$b --sparsity 0.5 --calib $both --calib-count 128 --calib-len 128 --scope layer --blocksize $b"
  done
  echo "wanda-u50-layer scope wanda u50 layer --sparsity 0.5 --calib $both --calib-count 128 --calib-len 128 --scope layer"
  for s in 1 2; do # which windows
    echo "wanda-u50-s$s seed wanda u50 $s --sparsity 0.5 --calib $both --calib-count 128 --calib-len 128 --seed $s"
    echo "sgpt-u50-layer-s$s seed sparsegpt u50 layer,seed=$s --sparsity 0.5 --calib $both --calib-count 128 --calib-len 128 --scope layer --seed $s"
  done
} | xargs -P "$jobs" -L 1 bash -c 'row "$@"' _

python3 - "$tmp/rows" "$out/prune_calib_tinystories656k" "$wiki_chunks" "$wiki_big" <<'PY'
import glob, json, os, sys, time
rows = {r["id"]: r for r in (json.load(open(p)) for p in glob.glob(os.path.join(sys.argv[1], "*.json")))}
base, chunks, big = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
meta = {"model": "tinystories-656k", "ctx": 128, "protocol": "llamacpp (second half of each window scored)",
        "calibration texts": "S = tinystories/sample.txt (7 windows of 128 tokens); G = 512 samples x 256 tokens generated "
                             "by the model (bench/make_calib.sh, seeds 1..512); SG = S then G; 128 windows drawn with seed "
                             "1234 unless the row says otherwise",
        "dev (the pick)": "64 samples x 256 tokens generated by the model with seeds 10001..10064",
        "defaults": "SparseGPT λ 0.01, lazy batch 128, mask per row unless 'layer'; Wanda per row",
        "wikitext2": f"first {chunks} and first {big} chunks of wiki.test.raw", "date": time.strftime("%Y-%m-%d")}
json.dump({"meta": meta, "rows": sorted(rows.values(), key=lambda r: r["id"])}, open(base + ".json", "w"), indent=1)
order = ["ref", "text", "len", "damp", "block", "scope", "seed"]
with open(base + ".md", "w") as f:
    f.write("# Calibration and SparseGPT settings on tinystories-656k (50% unstructured, 2:4)\n\n")
    for k, v in meta.items(): f.write(f"- {k}: {v}\n")
    for pat, title in (("u50", "50% unstructured"), ("24", "2:4")):
        f.write(f"\n## {title}\n\n| row | what | setting | ppl dev | ppl tinystories | ppl wikitext-2 ({chunks}) | ppl wikitext-2 ({big}) |\n"
                "|---|---|---|---:|---:|---:|---:|\n")
        sel = [r for r in rows.values() if r["pattern"] in (pat, "dense")]
        sel.sort(key=lambda r: (order.index(r["group"]), r["method"], r["id"]))
        for r in sel:
            f.write(f"| {r['method']} | {r['group']} | {r['setting']} | {r['ppl_dev']:.3f} | {r['ppl_tinystories']:.3f} | "
                    f"{r['ppl_wikitext2']:.2f} | {r['ppl_wikitext2_big']:.2f} |\n")
print(open(base + ".md").read())
PY
