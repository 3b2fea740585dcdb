#!/usr/bin/env bash
# Structured pruning (presso prune --method structured) at 20/30/50% of the
# MLP channels: file size, perplexity and speed against the unpruned model.
#
# tinystories-656k (f32): perplexity with the llama.cpp protocol (-c 128) on
# tinystories valid.txt (all of it) and wikitext-2 test (first WIKI_CHUNKS
# chunks, default 300), calibrating on tinystories sample.txt (disjoint from
# valid.txt: 7 windows of 128 tokens, seed 1234); llama.cpp's own
# llama-perplexity on tinystories valid as a check that llama.cpp loads the
# smaller shapes (column llamacpp_ppl; "-" when the binary is missing); and
# presso bench pp128/tg64 tokens/s (REPS reps, THREADS threads).
# synth-1b (f32, random weights: only size and speed mean anything):
# calibrated on 1 sequence of 32 tokens, bench pp32/tg16 (SYNTH_REPS reps).
#
# PARTS="tiny synth" picks the parts; ROWS=FILE keeps the rows (JSON lines)
# there; MERGE="A.jsonl B.jsonl" only renders rows kept by earlier runs (so
# the two parts can run side by side).
#
# usage: bench/structured_prune.sh [PRESSO_BIN]   (writes bench/results/structured_prune.{md,json})
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
presso="${1:-$root/build/presso}"
shared="${PRESSO_SHARED_DIR:-$root/../shared}"
cache="${PRESSO_CACHE:-$HOME/.cache/presso}"
model="$shared/models/tinystories-656k"
calib="$shared/data/tinystories/sample.txt"
valid="$shared/data/tinystories/valid.txt"
wiki="$shared/data/wikitext-2/wiki.test.raw"
synth="${SYNTH:-$cache/bench/synth-1b-f32.gguf}"
lcpp_ppl="${LLAMA_PERPLEXITY:-/tmp/lcpp/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin/llama-perplexity}"
threads="${THREADS:-2}"
reps="${REPS:-3}"
synth_reps="${SYNTH_REPS:-1}"
wiki_chunks="${WIKI_CHUNKS:-300}"
ratios="${RATIOS:-0.2 0.3 0.5}"
out="$root/bench/results"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/structured.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rows="${ROWS:-$tmp/rows.jsonl}"
parts="${PARTS:-tiny synth}"
case " $parts " in *" tiny "*|*" synth "*) ;; *) [ -n "${MERGE:-}" ] || { echo "PARTS: tiny and/or synth" >&2; exit 2; } ;; esac
if [ -n "${MERGE:-}" ]; then cat $MERGE >"$tmp/merged.jsonl"; rows="$tmp/merged.jsonl"; parts=""; else : >"$rows"; fi

ppl_json() { # MODEL TEXT CHUNKS
  local chunks=()
  [ "$3" != 0 ] && chunks=(--chunks "$3")
  "$presso" ppl "$1" -f "$2" -c 128 --protocol llamacpp -t "$threads" "${chunks[@]}" --json 2>/dev/null
}

lcpp() { # MODEL -> final estimate or "-"
  [ -x "$lcpp_ppl" ] || { echo "-"; return; }
  local v="" n try
  # llama.cpp logs from a thread and on a loaded machine sometimes loses the
  # "Final estimate" line at exit; the running value printed after the last
  # chunk ("[N]ppl" on stdout, N = the chunk count it announced) is the same
  # number, so it stands in; a run with neither is repeated.
  for try in 1 2 3; do
    "$lcpp_ppl" -m "$1" -f "$valid" -c 128 -b 128 -t "$threads" >"$tmp/lcpp.out" 2>"$tmp/lcpp.err" || true
    v=$(sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' "$tmp/lcpp.err" | tail -1)
    if [ -z "$v" ]; then
      n=$(sed -n 's/.*calculating perplexity over \([0-9]*\) chunks.*/\1/p' "$tmp/lcpp.err" | tail -1)
      [ -n "$n" ] && v=$(tr ',' '\n' <"$tmp/lcpp.out" | sed -n "s/^\[$n\]\([0-9.]*\)$/\1/p" | tail -1)
    fi
    [ -n "$v" ] && break
  done
  echo "${v:--}"
}

row() { # MODEL_NAME RATIO FILE PPL(yes/no) PP TG REPS
  local v="{}" w="{}" l="-" b
  if [ "$4" = yes ]; then
    v=$(ppl_json "$3" "$valid" 0)
    w=$(ppl_json "$3" "$wiki" "$wiki_chunks")
    l=$(lcpp "$3")
  fi
  b=$("$presso" bench "$3" -t "$threads" -p "$5" -n "$6" -r "$7" --json 2>/dev/null)
  python3 - "$1" "$2" "$3" "$v" "$w" "${l:--}" "$b" >>"$rows" <<'PY'
import json, os, sys
name, ratio, path, v, w, l, b = sys.argv[1:]
v, w, b = json.loads(v), json.loads(w), json.loads(b)
print(json.dumps({"model": name, "ffn_ratio": float(ratio), "bytes": os.path.getsize(path),
                  "n_params": b["n_params"], "ppl_tinystories": v.get("ppl"), "ppl_wikitext2": w.get("ppl"),
                  "wikitext2_chunks": w.get("n_chunks"), "llamacpp_ppl_tinystories": None if l == "-" else float(l),
                  "pp_tps": b["pp_tps"], "tg_tps": b["tg_tps"], "n_prompt": b["n_prompt"], "n_gen": b["n_gen"],
                  "reps": b["reps"], "threads": b["threads"]}))
PY
  tail -1 "$rows" >&2
}

if [[ " $parts " == *" tiny "* ]]; then
"$presso" convert "$model" "$tmp/ts.gguf" --type f32 >/dev/null
row tinystories-656k 0 "$tmp/ts.gguf" yes 128 64 "$reps"
for r in $ratios; do
  "$presso" prune "$model" "$tmp/ts-$r.gguf" --method structured --ffn-ratio "$r" --calib "$calib" \
    --calib-count 128 --calib-len 128 --seed 1234 -t "$threads" >&2
  row tinystories-656k "$r" "$tmp/ts-$r.gguf" yes 128 64 "$reps"
  rm -f "$tmp/ts-$r.gguf"
done
fi

if [[ " $parts " != *" synth "* ]]; then
  :
elif [ -f "$synth" ]; then
  row synth-1b 0 "$synth" no 32 16 "$synth_reps"
  for r in $ratios; do
    "$presso" prune "$synth" "$tmp/s1b-$r.gguf" --method structured --ffn-ratio "$r" --calib "$calib" \
      --calib-count 1 --calib-len 32 --seed 1234 -t "$threads" >&2
    row synth-1b "$r" "$tmp/s1b-$r.gguf" no 32 16 "$synth_reps"
    rm -f "$tmp/s1b-$r.gguf"
  done
else
  echo "note: $synth missing; synth-1b rows skipped (bench/run_bench.sh makes it)" >&2
fi

python3 - "$rows" "$out/structured_prune.json" "$out/structured_prune.md" "$threads" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
json.dump({"threads": int(sys.argv[4]), "rows": rows}, open(sys.argv[2], "w"), indent=1)
order = {"tinystories-656k": 0, "synth-1b": 1}
rows.sort(key=lambda r: (order.get(r["model"], 2), r["ffn_ratio"]))
base = {r["model"]: r for r in rows if r["ffn_ratio"] == 0}
f = lambda x, p=2: "-" if x is None else f"{x:.{p}f}"
wc = sorted({r["wikitext2_chunks"] for r in rows if r.get("wikitext2_chunks")})
lines = [f"Structured pruning (presso prune --method structured --ffn-ratio R), {sys.argv[4]} thread(s). "
         "ppl: llama.cpp protocol -c 128, tinystories valid.txt (all) and wikitext-2 test "
         f"(first {', '.join(map(str, wc)) or '-'} chunks), calibrated on tinystories sample.txt; "
         "llama.cpp ppl: llama-perplexity on the same pruned file. synth-1b has random weights: size and speed only.", "",
         "| model | MLP removed | params | file MiB | ppl tinystories | ppl wikitext-2 | llama.cpp ppl tinystories "
         "| pp tok/s | tg tok/s | tg speedup |", "|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    b = base[r["model"]]
    lines.append(f"| {r['model']} | {r['ffn_ratio']:.0%} | {r['n_params']/1e6:.3f} M | {r['bytes']/2**20:.2f} | "
                 f"{f(r['ppl_tinystories'])} | {f(r['ppl_wikitext2'])} | {f(r['llamacpp_ppl_tinystories'])} | "
                 f"{r['pp_tps']:.1f} | {r['tg_tps']:.2f} | {r['tg_tps']/b['tg_tps']:.2f}x |")
open(sys.argv[3], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
