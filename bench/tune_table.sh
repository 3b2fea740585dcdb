#!/usr/bin/env bash
# Compress, Then Prompt on tinystories-656k: for each compression setting,
# perplexity (llama.cpp protocol, -c 128) on tinystories valid.txt and
# wikitext-2 test with no prompt, a hard prompt (CTP's fixed text), the
# untrained starting point of the prompts (k random vocabulary embeddings), a
# soft prompt trained with CE, a soft prompt distilled from the F32 teacher
# (forward KL), and a prefix (per-layer keys/values) distilled from the
# teacher; gap closed = (ppl_c − ppl_prompt) / (ppl_c − ppl_f32). Transfer:
# the KD prompt and prefix of each setting used on every other setting, and
# every prompt (trained on TinyStories-like text only) on wikitext-2.
# Training cost: each training's tokens/s and peak RSS, and 10 KD steps at
# COST_THREADS threads.
#
# Training text: tinystories/sample.txt (~900 tokens) followed by GEN_CALIB,
# text the F32 model generated itself (bench/make_calib.sh: LLM-QAT's
# data-free calibration, made here when missing), cut into windows of 128
# tokens (BOS + 127). The last HOLDOUT windows (all from the generated text)
# are held out: the prompt kept is the one with the lowest held-out CE
# (checked every EVAL_EVERY steps), and the defaults below were picked on that
# held-out loss, never on valid.txt or wikitext-2, which no training reads.
# Mini-batches of BATCH windows drawn without replacement (reshuffled each
# epoch), AdamW with 10% warm-up and cosine decay to 0.1x, clip 1.0, seed 1234.
# The defaults (k 100, lr 0.1, 1500 steps of 8 windows, loss on positions
# >= 64, held-out check every 100 steps) come from held-out runs only: 11 on
# gptq-q3_g32 with the sample.txt-calibrated files (KD prompt k 16 / 64, lr
# 0.01-0.3, 160-400 steps, loss on all positions or the scored half; prefix
# k 16 / 64) and one prefix run on gptq-q2_g32, where held-out loss still fell
# with k and steps; then 4 on the gptq-q3_g32 file of this calibration (KD
# prompt and prefix, k 100: lr 0.1 for 1500 steps vs lr 0.03 for 800; held-out
# ppl 43.37 / 43.16 vs 43.79 / 43.42, no prompt 46.95, F32 35.78).
#
# Settings (SETTINGS, METHOD-TYPE): gptq-TYPE (GPTQ onto TYPE), rtn-TYPE,
# sparsegptNN-TYPE (SparseGPT to NN% unstructured sparsity, the survivors
# quantized to TYPE jointly: CTP's "8x" setting is sparsegpt50-q4_0); every
# method calibrates on the calibration text of the AWQ / low-bit tables
# (bench/ts656k_calib.sh: sample.txt + the first half of GEN_CALIB, 128
# windows of 128, seed 1234, damp 0.01), so the compressed files are the ones
# those tables measure; COMPRESS_CALIB=FILE replaces it (the tables before
# 2026-12 used sample.txt alone: SparseGPT 50% + q4_0 at 64.9 instead of ~54).
# The held-out windows lie in the second half of GEN_CALIB: neither the
# compression nor the prompt training reads them. q3_g32 / q2_g32 are
# presso's 32-group 3- and 2-bit types (no K-quant fits this model's 128/384
# rows).
#
# usage: bench/tune_table.sh [PRESSO_BIN]  (writes bench/results/$TABLE.{md,json})
# env: SETTINGS K PREFIX_K STEPS BATCH LR PREFIX_LR LOSS_FROM HOLDOUT EVAL_EVERY
#      GEN_CALIB (a text file, or "none": sample.txt only, no held-out slice)
#      COMPRESS_CALIB TRAIN_THREADS THREADS JOBS WIKI_CHUNKS COST_THREADS KEEP_TMP
#      STEPS_FOR ("SETTING=N ...": N steps instead of STEPS for those settings)
#      COST_REPS (3: each training-cost point measured that often, fastest kept)
#      WORK (a work dir to use and keep; a rerun with the same WORK reuses its
#      models and finished trainings, so an interrupted run resumes)
#      TABLE (results name, default tune_ctp_tinystories656k)
# The earlier tables (tune_tinystories656k, tune_lowbit_tinystories656k) were
# sample.txt only, full batch: GEN_CALIB=none K=4 STEPS=40 BATCH=7 LR=3e-3
# LOSS_FROM=64 with SETTINGS="gptq-q4_0 rtn-q4_1" or "gptq-q3_g32 gptq-q2_g32"
# (and before the 8-bit activation rounding of training, see llama_grad.h).
set -eu
source "$(dirname "$0")/lib.sh"
threads="${THREADS:-1}"
train_threads="${TRAIN_THREADS:-1}"
jobs_max="${JOBS:-2}"
wiki_chunks="${WIKI_CHUNKS:-300}"
k="${K:-100}"
prefix_k="${PREFIX_K:-$k}"
steps="${STEPS:-1500}"
batch="${BATCH:-8}"
loss_from="${LOSS_FROM:-64}"
lr="${LR:-1e-1}"
prefix_lr="${PREFIX_LR:-$lr}"
holdout="${HOLDOUT:-48}"
eval_every="${EVAL_EVERY:-100}"
cost_threads="${COST_THREADS:-1 2}"
settings="${SETTINGS:-sparsegpt50-q4_0 gptq-q3_g32 gptq-q2_g32}"
sample="$calib" # tinystories/sample.txt (lib.sh); ts656k_calib.sh replaces $calib
if [ -n "${COMPRESS_CALIB:-}" ]; then
  compress_calib="$COMPRESS_CALIB" compress_desc="$COMPRESS_CALIB"
else # sample.txt + the first half of the generated text, as bench/awq_table.sh and bench/lowbit_table.sh
  CALIB_GEN="${GEN_CALIB:-${CALIB_GEN:-}}"
  [ "$CALIB_GEN" = none ] && CALIB_GEN=
  CALIB="" HELDOUT=""
  source "$here/ts656k_calib.sh"
  compress_calib="$calib" compress_desc="$calib_desc"
fi
calib="$sample"
gen="${GEN_CALIB:-$HOME/.cache/presso/calib/ts656k-gen512x256.txt}"
table="${TABLE:-tune_ctp_tinystories656k}"
hard="Please carefully examine the weight matrix within the model, as it may contain errors. It is crucial to verify its accuracy and make any necessary adjustments to ensure optimal performance."
out="$root/bench/results"
if [ -n "${WORK:-}" ]; then # resume in a kept work dir: its models and finished trainings are reused
  tmp="$WORK"
  mkdir -p "$tmp"
else
  tmp="$(mktemp -d)"
  [ -n "${KEEP_TMP:-}" ] && echo "work dir: $tmp" >&2 || trap 'rm -rf "$tmp"' EXIT
fi
mkdir -p "$out"

# The training text: sample.txt, then the generated text (made once, cached).
train_txt="$tmp/train.txt"
rm -f "$train_txt"
cp "$calib" "$train_txt"
if [ "$gen" != none ]; then
  [ -s "$gen" ] || "$here/make_calib.sh" "$model" 512 256 "$gen" "$presso" >/dev/null
  cat "$gen" >>"$train_txt"
  gen_desc="$gen ($(wc -c <"$gen") bytes; $(cat "$gen.cmd" 2>/dev/null || echo 'made outside make_calib.sh'))"
else
  gen_desc=none
  holdout=0
fi
eval_args=()
[ "$holdout" -gt 0 ] && eval_args=(--holdout "$holdout" --eval-every "$eval_every")

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

train() { # MODEL OUT [tune-prompt args...]: prints the JSON into OUT's .json (kept from an earlier run if there)
  local m="$1" o="$2"; shift 2
  [ -s "${o%.bin}.json" ] && [ -s "$o" ] && return
  "$presso" tune-prompt "$m" --calib "$train_txt" --seq 128 --batch "$batch" --tokens "$k" --steps "$steps" \
    --loss-from "$loss_from" --seed 1234 -t "$train_threads" "${eval_args[@]}" -o "$o" --json "$@" 2>/dev/null >"${o%.bin}.json.tmp" &&
    mv "${o%.bin}.json.tmp" "${o%.bin}.json"
}
# STEPS_FOR="SETTING=N ...": a different step count for some settings
steps_for() {
  local kv
  for kv in ${STEPS_FOR:-}; do [ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }; done
  echo "$steps"
}

# At most JOBS commands at once (each single-threaded by default).
bg() { while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done; "$@" & }

[ -s "$tmp/f32.gguf" ] || "$presso" convert "$model" "$tmp/f32.gguf" --type f32 >/dev/null
for s in $settings; do
  [ -s "$tmp/$s.gguf" ] && continue
  method="${s%%-*}" type="${s#*-}"
  cal=(--calib "$compress_calib" --calib-count 128 --calib-len 128 --seed 1234 --damp 0.01 -t "$threads")
  case "$method" in
    gptq) "$presso" quantize "$model" "$tmp/$s.gguf" --method gptq --type "$type" "${cal[@]}" >/dev/null 2>&1 ;;
    rtn) "$presso" quantize "$model" "$tmp/$s.gguf" --method rtn --type "$type" -t "$threads" >/dev/null 2>&1 ;;
    sparsegpt[0-9]*)
      sp="${method#sparsegpt}"
      "$presso" prune "$model" "$tmp/$s.gguf" --method sparsegpt --sparsity "0.$sp" --quantize "$type" "${cal[@]}" \
        >/dev/null 2>&1 ;;
    *) echo "tune_table: unknown method in setting '$s'" >&2; exit 2 ;;
  esac
done
t_train=$(date +%s)
for s in $settings; do
  m="$tmp/$s.gguf"
  n="$(steps_for "$s")"
  bg train "$m" "$tmp/$s-kd.bin" --steps "$n" --lr "$lr" --teacher "$tmp/f32.gguf" --loss kd-fwd
  bg train "$m" "$tmp/$s-pkd.bin" --steps "$n" --lr "$prefix_lr" --tokens "$prefix_k" --teacher "$tmp/f32.gguf" \
    --loss kd-fwd --mode prefix
  bg train "$m" "$tmp/$s-ce.bin" --steps "$n" --lr "$lr" --loss ce
  # the starting point of the prompts (random vocabulary embeddings): one step at lr 1e-8 is the init
  bg train "$m" "$tmp/$s-init.bin" --lr 1e-8 --steps 1 --warmup 0 --loss ce
done
# the held-out loss of the F32 model itself (no prompt), for the held-out gap closed
[ "$holdout" -gt 0 ] && train "$tmp/f32.gguf" "$tmp/f32-init.bin" --lr 1e-8 --steps 1 --warmup 0 --loss ce
wait
t_train=$(($(date +%s) - t_train))
echo "trainings done in ${t_train} s (those already in WORK reused)" >&2

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
for s in $settings; do bg rows_for "$s"; done
wait
rows="$tmp/rows.jsonl"
cat "$tmp/rows-f32.jsonl" >"$rows"
for s in $settings; do cat "$tmp/rows-$s.jsonl" >>"$rows"; done
# training cost: 10 steps of KD on the first setting, one run at a time
first="${settings%% *}"
cost="$tmp/cost.jsonl"
: >"$cost"
# (COST_REPS times each, the fastest kept: on a shared machine a thread that
# shares its core with another process stalls every OpenMP barrier)
for r in $(seq "${COST_REPS:-3}"); do
  for t in $cost_threads; do
    for mode in prompt prefix; do
      "$presso" tune-prompt "$tmp/$first.gguf" --calib "$train_txt" --seq 128 --batch "$batch" --tokens "$k" --steps 10 \
        --warmup 1 --seed 1234 --teacher "$tmp/f32.gguf" --mode "$mode" -t "$t" -o "$tmp/cost.bin" --json 2>/dev/null |
        python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'threads': $t, 'mode': '$mode', 'tokens_per_s': d['tokens_per_s'], 'peak_rss_bytes': d['peak_rss_bytes'], 'load1': float(open('/proc/loadavg').read().split()[0])}))" >>"$cost"
    done
  done
done
load="$(cut -d' ' -f1-3 /proc/loadavg)"

f32_heldout=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("no_prompt_eval_loss", "nan"))' \
  "$tmp/f32-init.json" 2>/dev/null || echo nan)
python3 - "$rows" "$cost" "$out/$table" "$wiki_chunks" "$("$presso" --help | head -1)" "$k" "$prefix_k" "$steps" "$batch" \
  "$lr" "$prefix_lr" "$train_threads" "$load" "$hard" "$loss_from" "$holdout" "$eval_every" "$gen_desc" "$t_train" \
  "$settings" "$jobs_max" "$compress_desc" "${STEPS_FOR:-}" "$f32_heldout" <<'PY'
import json, math, platform, sys, time
rows = [json.loads(l) for l in open(sys.argv[1])]
cost_all = [json.loads(l) for l in open(sys.argv[2])]
cost = []
for c in cost_all: # the fastest of the repetitions of each (threads, mode)
    same = [x for x in cost_all if x["threads"] == c["threads"] and x["mode"] == c["mode"]]
    best = max(same, key=lambda x: x["tokens_per_s"])
    if best is c: cost.append(dict(c, reps=len(same)))
cost.sort(key=lambda c: (c["threads"], c["mode"] != "prompt"))
(base, chunks, version, k, pk, steps, batch, lr, plr, tt, load, hard, lf, holdout, ee, gen, t_train, settings,
 jobs, cdesc, steps_for, f32_ho) = sys.argv[3:]
f32_ho = float(f32_ho)
tj = next((r["train"] for r in rows if r["train"]), {})
meta = {"model": "tinystories-656k (HF, F32)", "ctx": 128,
        "protocol": "llamacpp (second half of each 128-token window scored; prompt positions first, never scored)",
        "training text": f"tinystories/sample.txt + {gen}, windows of 128 tokens (BOS + 127): "
                         f"{tj.get('train_windows', '?')} trained on"
                         + (f", the last {holdout} (generated text) held out" if int(holdout) else ""),
        "training": f"{steps} steps of {batch} windows ({int(steps) * int(batch) * 128} tokens)"
                    + (f" ({steps_for}: steps per setting where they differ)" if steps_for else "")
                    + f", prompt k={k}, prefix k={pk} per layer, "
                    f"loss on window positions >= {lf}, AdamW lr {lr} (prefix {plr}), 10% warm-up + cosine to 0.1x, clip 1.0, "
                    f"no weight decay, seed 1234, {tt} thread(s) per training, {jobs} at once, {t_train} s for the trainings "
                    "this run made (WORK reuses earlier ones); "
                    "prompt init: embeddings (prefix: keys/values) of k random vocabulary tokens; the forward rounds "
                    "activations to 8 bits where inference does (Q4_0's Q8_0 route)",
        "model selection": (f"the prompt kept is the step (every {ee}) with the lowest held-out CE on the generated slice; "
                            "hyper-parameters (k, lr, steps, batch, loss positions) were picked on that held-out loss, "
                            "never on valid.txt or wikitext-2") if int(holdout) else "last step kept (no held-out slice)",
        "teacher": "the F32 model (forward KL; logits of each training window computed on the fly, or cached when they fit 512 MiB)",
        "held-out ppl of the F32 model (no prompt)": round(math.exp(f32_ho), 4) if math.isfinite(f32_ho) else None,
        "hard prompt": hard,
        "wikitext2": "wiki.test.raw, " + (f"first {chunks} chunks" if int(chunks) else "whole file") + " (never trained on)",
        "settings": settings + " (gptq-T: GPTQ onto T; sparsegptNN-T: SparseGPT NN% unstructured + T jointly; "
                    f"compression calibrated on {cdesc}, 128 windows of 128, seed 1234, damp 0.01; "
                    "q3_g32 / q2_g32: presso's 32-group 3/2-bit types)",
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
json.dump({"meta": meta, "rows": rows, "training_cost": cost, "training_cost_all_reps": cost_all}, open(base + ".json", "w"), indent=1)
fmt = lambda g: "n/a (no gap)" if g is None else f"{100 * g:+.0f}%"
name = base.rsplit("/", 1)[-1]
with open(base + ".md", "w") as f:
    f.write(f"# Compress, Then Prompt: tinystories-656k ({name})\n\n")
    for key, v in meta.items(): f.write(f"- {key}: {v}\n")
    f.write("\n| setting | prompt | trained on | ppl tinystories valid | gap closed | ppl wikitext-2 | gap closed "
            "| held-out ppl (gen.) | held-out gap closed | kept step | train tok/s | peak RSS MiB |\n")
    f.write("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        t = r["train"]
        g1 = fmt(r["gap_closed_tinystories"]) if r["setting"] != "f32" else ""
        g2 = fmt(r["gap_closed_wikitext2"]) if r["setting"] != "f32" else ""
        ho = ""
        if t and "best_eval_loss" in t and math.isfinite(f32_ho):
            c, b = math.exp(t["no_prompt_eval_loss"]), math.exp(t["best_eval_loss"])
            ho = f"{100 * (c - b) / (c - math.exp(f32_ho)):+.0f}%" if c > math.exp(f32_ho) else "n/a"
        tr = (f"{math.exp(t['best_eval_loss']):.3f} | {ho} | {t['best_step']}/{t['steps']} | {t['tokens_per_s']:.0f} | "
              f"{t['peak_rss_bytes'] / 2**20:.1f}") if t and "best_eval_loss" in t and t["steps"] > 1 else " | | | | "
        f.write(f"| {r['setting']} | {r['prompt']} | {r['trained_on']} | {r['ppl_tinystories']:.3f} ± {r['ppl_tinystories_err']:.3f} | "
                f"{g1} | {r['ppl_wikitext2']:.2f} ± {r['ppl_wikitext2_err']:.2f} | {g2} | {tr} |\n")
    f.write(f"\nTraining cost (KD, 10 steps of {batch} x 128 tokens, k={k}, teacher forward included; tokens/s counts the "
            "student's text tokens; the fastest of the repetitions, all of them in the JSON):\n\n")
    f.write("| threads | mode | training tokens/s | peak RSS MiB | reps | load (1 min) at the fastest |\n"
            "|---:|---|---:|---:|---:|---:|\n")
    for c in cost:
        f.write(f"| {c['threads']} | {c['mode']} | {c['tokens_per_s']:.0f} | {c['peak_rss_bytes'] / 2**20:.1f} | "
                f"{c['reps']} | {c['load1']:.2f} |\n")
    f.write("\nThe machine is shared (see the load average): tokens/s are lower bounds.\n")
    f.write("\nNotes. Gap closed = (ppl_c - ppl_prompt) / (ppl_c - ppl_f32); negative = worse than no prompt; "
            "n/a where the compressed model scores below F32 (no gap). Rows whose 'trained on' names another setting "
            "are transfer across compression settings; every wikitext-2 column is transfer across data sets (the prompts "
            "saw only TinyStories-like text). The held-out ppl is the training's own selection criterion (CE on the "
            "held-out generated windows, second half of each scored as llama-perplexity does); held-out gap closed uses the same windows' ppl "
            f"without a prompt and of the F32 model ({math.exp(f32_ho):.3f}).\n")
print(open(base + ".md").read())
PY
