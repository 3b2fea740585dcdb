#!/usr/bin/env bash
# Compress, Then Prompt on tinystories-656k: for each compression setting,
# perplexity (llama.cpp protocol, -c 128) on tinystories valid.txt and
# wikitext-2 test with no prompt, a hard prompt (CTP's fixed text), the
# untrained starting point of the prompts (k random vocabulary embeddings), a soft
# prompt trained with CE, a soft prompt distilled from the F32 teacher
# (forward KL), and a prefix distilled from the teacher; gap closed =
# (ppl_c − ppl_prompt) / (ppl_c − ppl_f32). Transfer: the KD prompt of one
# setting used on the other, and every prompt (trained on TinyStories) on
# wikitext-2. Training cost: tokens/s and peak RSS at 1 and 2 threads.
#
# Prompts are trained on tinystories/sample.txt only (7 windows of 128
# tokens, BOS + 127; nothing from valid.txt or wikitext-2), full batch,
# fixed seed. Settings (SETTINGS, METHOD-TYPE): by default GPTQ q4_0 and RTN
# q4_1; the K-quants fall back to q4_0/q5_0 on this model's 128/384-wide rows,
# so its 3- and 2-bit settings are presso's q3_g32 / q2_g32
# (SETTINGS="gptq-q3_g32 gptq-q2_g32" TABLE=tune_lowbit_tinystories656k).
#
# usage: bench/tune_table.sh [PRESSO_BIN]  (writes bench/results/tune_tinystories656k.{md,json})
# env: K STEPS LR PREFIX_LR LOSS_FROM TRAIN_THREADS THREADS WIKI_CHUNKS SETTINGS KEEP_TMP
#      TABLE (results name, default tune_tinystories656k; e.g. SETTINGS="gptq-q3_g32 gptq-q2_g32" TABLE=tune_lowbit_tinystories656k)
set -eu
source "$(dirname "$0")/lib.sh"
threads="${THREADS:-2}"
train_threads="${TRAIN_THREADS:-1}"
wiki_chunks="${WIKI_CHUNKS:-300}"
k="${K:-4}"
loss_from="${LOSS_FROM:-64}"
steps="${STEPS:-40}"
lr="${LR:-3e-3}"
prefix_lr="${PREFIX_LR:-$lr}"
settings="${SETTINGS:-gptq-q4_0 rtn-q4_1}"
hard="Please carefully examine the weight matrix within the model, as it may contain errors. It is crucial to verify its accuracy and make any necessary adjustments to ensure optimal performance."
out="$root/bench/results"
tmp="$(mktemp -d)"
[ -n "${KEEP_TMP:-}" ] && echo "work dir: $tmp" >&2 || trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
ppl_json() { # MODEL TEXT CHUNKS [ppl args...]
  local m="$1" t="$2" c="$3"; shift 3
  local chunks=()
  [ "$c" != 0 ] && chunks=(--chunks "$c")
  "$presso" ppl "$m" -f "$t" -c 128 --protocol llamacpp -t "$threads" "${chunks[@]}" "$@" --json 2>/dev/null
}

row() { # SETTING PROMPT_KIND TRAINED_ON MODEL TRAIN_JSON [ppl args...]
  local setting="$1" kind="$2" trained_on="$3" m="$4" tj="$5"; shift 5
  local v w
  v=$(ppl_json "$m" "$valid" 0 "$@")
  w=$(ppl_json "$m" "$wiki" "$wiki_chunks" "$@")
  python3 - "$setting" "$kind" "$trained_on" "$tj" "$v" "$w" >>"$rows" <<'PY'
import json, sys
setting, kind, trained_on, tj, v, w = sys.argv[1:]
v, w = json.loads(v), json.loads(w)
t = json.loads(tj) if tj else {}
print(json.dumps({"setting": setting, "prompt": kind, "trained_on": trained_on,
                  "ppl_tinystories": v["ppl"], "ppl_tinystories_err": v["ppl_err"],
                  "ppl_wikitext2": w["ppl"], "ppl_wikitext2_err": w["ppl_err"], "wikitext2_chunks": w["n_chunks"],
                  "prompt_positions": v.get("prompt_positions", 0), "train": t}))
PY
  tail -1 "$rows" >&2
}

train() { # MODEL OUT [tune-prompt args...]: prints the JSON
  local m="$1" o="$2"; shift 2
  "$presso" tune-prompt "$m" --calib "$calib" --seq 128 --batch 7 --tokens "$k" --steps "$steps" \
    --loss-from "$loss_from" --seed 1234 -t "$train_threads" -o "$o" --json "$@" 2>/dev/null
}

"$presso" convert "$model" "$tmp/f32.gguf" --type f32 >/dev/null
for s in $settings; do
  method="${s%%-*}" type="${s#*-}"
  if [ "$method" = gptq ]; then
    "$presso" quantize "$model" "$tmp/$s.gguf" --method gptq --type "$type" --calib "$calib" --calib-count 128 \
      --calib-len 128 --seed 1234 --damp 0.01 -t "$threads" >/dev/null 2>&1
  else
    "$presso" quantize "$model" "$tmp/$s.gguf" --method rtn --type "$type" -t "$threads" >/dev/null 2>&1
  fi
done
# Every training is single-threaded by default and independent: all run at once.
pids=()
for s in $settings; do
  m="$tmp/$s.gguf"
  train "$m" "$tmp/$s-ce.bin" --lr "$lr" --loss ce >"$tmp/$s-ce.json" & pids+=($!)
  # the starting point of the prompts (random vocabulary embeddings): one step at lr 1e-8 is the init
  train "$m" "$tmp/$s-init.bin" --lr 1e-8 --steps 1 --warmup 0 --loss ce >"$tmp/$s-init.json" & pids+=($!)
  train "$m" "$tmp/$s-kd.bin" --lr "$lr" --teacher "$tmp/f32.gguf" --loss kd-fwd >"$tmp/$s-kd.json" & pids+=($!)
  train "$m" "$tmp/$s-pkd.bin" --lr "$prefix_lr" --teacher "$tmp/f32.gguf" --loss kd-fwd --mode prefix >"$tmp/$s-pkd.json" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "trained $(ls "$tmp"/*.bin | wc -l) prompts" >&2

rows_for() { # SETTING: every row of one setting, transfer included, into $tmp/rows-SETTING.jsonl
  local s="$1" m="$tmp/$1.gguf"
  rows="$tmp/rows-$s.jsonl"
  : >"$rows"
  row "$s" none - "$m" ""
  row "$s" hard - "$m" "" --hard-prompt "$hard"
  row "$s" "random init (untrained)" - "$m" "" --prompt-file "$tmp/$s-init.bin"
  row "$s" "prompt CE" "$s" "$m" "$(cat "$tmp/$s-ce.json")" --prompt-file "$tmp/$s-ce.bin"
  row "$s" "prompt KD" "$s" "$m" "$(cat "$tmp/$s-kd.json")" --prompt-file "$tmp/$s-kd.bin"
  row "$s" "prefix KD" "$s" "$m" "$(cat "$tmp/$s-pkd.json")" --prompt-file "$tmp/$s-pkd.bin"
  # transfer across compression settings: the other settings' KD prompt and prefix
  for src in $settings; do
    [ "$s" = "$src" ] && continue
    row "$s" "prompt KD" "$src" "$m" "" --prompt-file "$tmp/$src-kd.bin"
    row "$s" "prefix KD" "$src" "$m" "" --prompt-file "$tmp/$src-pkd.bin"
  done
}
rows="$tmp/rows-f32.jsonl"
: >"$rows"
row f32 none - "$tmp/f32.gguf" ""
pids=()
for s in $settings; do rows_for "$s" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
rows="$tmp/rows.jsonl"
cat "$tmp/rows-f32.jsonl" >"$rows"
for s in $settings; do cat "$tmp/rows-$s.jsonl" >>"$rows"; done
# training cost at 1 and 2 threads (10 steps of KD on the first setting, one run at a time)
first="${settings%% *}"
cost="$tmp/cost.jsonl"
: >"$cost"
for t in 1 2; do
  for mode in prompt prefix; do
    "$presso" tune-prompt "$tmp/$first.gguf" --calib "$calib" --seq 128 --batch 7 --tokens "$k" --steps 10 --warmup 1 --seed 1234 \
      --teacher "$tmp/f32.gguf" --mode "$mode" -t "$t" -o "$tmp/cost.bin" --json 2>/dev/null |
      python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'threads': $t, 'mode': '$mode', 'tokens_per_s': d['tokens_per_s'], 'peak_rss_bytes': d['peak_rss_bytes']}))" >>"$cost"
  done
done
load="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$rows" "$cost" "$out/${TABLE:-tune_tinystories656k}" "$wiki_chunks" "$("$presso" --help | head -1)" "$k" "$steps" "$lr" "$prefix_lr" "$train_threads" "$load" "$hard" "$loss_from" <<'PY'
import json, math, platform, sys, time
rows = [json.loads(l) for l in open(sys.argv[1])]
cost = [json.loads(l) for l in open(sys.argv[2])]
base, chunks, version, k, steps, lr, plr, tt, load, hard, lf = sys.argv[3:]
meta = {"model": "tinystories-656k (HF, F32)", "ctx": 128, "protocol": "llamacpp (second half of each 128-token window scored; prompt positions first, never scored)",
        "training": f"tinystories/sample.txt, 7 windows x 128 tokens, full batch, {steps} steps, k={k}, loss on window positions >= {lf} (the half llama-perplexity scores), AdamW lr {lr} (prefix {plr}), 10% warm-up + cosine to 0.1x, clip 1.0, no weight decay, seed 1234, {tt} thread(s); prompt init: embeddings (prefix: keys/values) of k random vocabulary tokens",
        "teacher": "the F32 model (forward KL; its logits of the 7 training windows computed once and kept in memory)",
        "hard prompt": hard,
        "wikitext2": "wiki.test.raw, " + (f"first {chunks} chunks" if int(chunks) else "whole file") + " (never trained on)",
        "settings": "METHOD-TYPE: gptq = GPTQ onto TYPE (calib sample.txt, 128-token windows, damp 0.01), rtn = round to nearest; q3_g32 / q2_g32 are presso's 32-group 3- and 2-bit types (4.0 / 3.0 bits/weight; no K-quant fits this model's 128/384-wide rows)",
        "load average at the end": load,
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d"), "presso": version}
f32 = next(r for r in rows if r["setting"] == "f32")
def gap(r, key):
    c = next(x for x in rows if x["setting"] == r["setting"] and x["prompt"] == "none")[key]
    d = c - f32[key]
    return (c - r[key]) / d if d > 0 else None
for r in rows:
    r["gap_closed_tinystories"] = gap(r, "ppl_tinystories") if r["setting"] != "f32" else None
    r["gap_closed_wikitext2"] = gap(r, "ppl_wikitext2") if r["setting"] != "f32" else None
json.dump({"meta": meta, "rows": rows, "training_cost": cost}, open(base + ".json", "w"), indent=1)
fmt = lambda g: "n/a (no gap)" if g is None else f"{100 * g:+.0f}%"
with open(base + ".md", "w") as f:
    f.write("# Compress, Then Prompt: tinystories-656k\n\n")
    for key, v in meta.items(): f.write(f"- {key}: {v}\n")
    f.write("\n| setting | prompt | trained on | ppl tinystories valid | gap closed | ppl wikitext-2 | gap closed | train loss | train tok/s |\n")
    f.write("|---|---|---|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        t = r["train"]
        f.write(f"| {r['setting']} | {r['prompt']} | {r['trained_on']} | {r['ppl_tinystories']:.4f} ± {r['ppl_tinystories_err']:.4f} | "
                f"{fmt(r['gap_closed_tinystories']) if r['setting'] != 'f32' else ''} | {r['ppl_wikitext2']:.3f} ± {r['ppl_wikitext2_err']:.3f} | "
                f"{fmt(r['gap_closed_wikitext2']) if r['setting'] != 'f32' else ''} | "
                f"{t['final_loss']:.4f} | {t['tokens_per_s']:.0f} |\n" if t else
                f"| {r['setting']} | {r['prompt']} | {r['trained_on']} | {r['ppl_tinystories']:.4f} ± {r['ppl_tinystories_err']:.4f} | "
                f"{fmt(r['gap_closed_tinystories']) if r['setting'] != 'f32' else ''} | {r['ppl_wikitext2']:.3f} ± {r['ppl_wikitext2_err']:.3f} | "
                f"{fmt(r['gap_closed_wikitext2']) if r['setting'] != 'f32' else ''} | | |\n")
    f.write("\nTraining cost (KD, 10 steps of 7 x 128 tokens, teacher forward included; tokens/s counts the student's text tokens):\n\n")
    f.write("| threads | mode | training tokens/s | peak RSS MiB |\n|---:|---|---:|---:|\n")
    for c in cost:
        f.write(f"| {c['threads']} | {c['mode']} | {c['tokens_per_s']:.0f} | {c['peak_rss_bytes'] / 2**20:.1f} |\n")
    f.write("\nThe machine is shared (see the load average): tokens/s are lower bounds; with more runnable threads than cores, 2 threads can be slower than 1.\n")
    f.write("\nNotes. Gap closed = (ppl_c - ppl_prompt) / (ppl_c - ppl_f32); negative = worse than no prompt. "
            "On wikitext-2 (far out of this model's domain) every compressed model scores *below* F32, so there is no gap to close "
            "and the column is n/a; the ppl values still show the TinyStories-trained prompts' effect there (transfer across data sets). "
            "The defaults (K, STEPS, LR, LOSS_FROM) were picked from about a dozen runs on gptq-q4_0 (k 2-16, lr 1e-3..1e-1, 40-100 steps, "
            "loss on all positions or the scored half) whose TinyStories valid ppl was looked at: the valid column is therefore slightly "
            "optimistic, wikitext-2 is untouched. Larger k / lr / steps drive the training KL down further but raise valid ppl: 7 windows "
            "of sample.txt are the whole training set, and the prompt overfits them.\n")
print(open(base + ".md").read())
PY
