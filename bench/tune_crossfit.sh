#!/usr/bin/env bash
# Compress, Then Prompt with real in-domain training text, by cross-fitting on
# tinystories valid.txt: the only TinyStories text in ../shared besides
# sample.txt (~900 tokens), so the prompts of bench/tune_table.sh learn from
# the F32 model's own samples instead. Here valid.txt is split in two halves
# of whole stories, A = lines 1-12 and B = lines 13-19 (its duplicated stories,
# lines 1-2, 11-12 and 13-14, fall on one side each; the split is checked
# for shared lines), and for each compression setting a prefix is distilled
# from the F32 teacher on sample.txt + half A (repeated REPEAT times) + the
# generated text, then measured on half B only; and the same the other way
# round. Every token scored was never trained on by the prefix that scores
# it; the pooled row combines both halves (token-weighted mean NLL).
#
# For comparison each half is also scored with no prefix, by the F32 model,
# and with a prefix trained the same way on tune_table.sh's text (sample.txt
# + the generated text, no valid.txt).
#
# Training: tune_table.sh's defaults (prefix mode, k 100, KD forward KL from
# the F32 model, 1500 steps of 8 windows of 128, loss on positions >= 64,
# lr 0.1, 10% warm-up + cosine, clip 1.0, seed 1234; the kept step is the one
# with the lowest CE on the last 48 windows, all from the generated text).
# REPEAT (5) was fixed before any run: it makes half A ~1/6 of the windows.
#
# usage: WORK=DIR bench/tune_crossfit.sh [PRESSO_BIN]
#   WORK: the work dir of a `WORK=DIR bench/tune_table.sh` run (its f32.gguf
#         and compressed SETTING.gguf files are used); trainings go to
#         WORK/crossfit and are reused by a rerun.
#   env: SETTINGS (sparsegpt50-q4_0 gptq-q3_g32 gptq-q2_g32) REPEAT (5) STEPS
#        (1500) JOBS (2) GEN_CALIB TABLE (tune_crossfit_tinystories656k)
set -eu
source "$(dirname "$0")/lib.sh"
work="${WORK:?WORK=DIR: the work dir of a bench/tune_table.sh run}"
settings="${SETTINGS:-sparsegpt50-q4_0 gptq-q3_g32 gptq-q2_g32}"
repeat="${REPEAT:-5}"
steps="${STEPS:-1500}"
jobs_max="${JOBS:-2}"
gen="${GEN_CALIB:-$HOME/.cache/presso/calib/ts656k-gen512x256.txt}"
table="${TABLE:-tune_crossfit_tinystories656k}"
out="$root/bench/results"
case "$repeat" in '' | *[!0-9]* | 0) echo "tune_crossfit: REPEAT must be a positive integer" >&2; exit 2 ;; esac
for f in "$work/f32.gguf" "$gen"; do
  [ -s "$f" ] || { echo "tune_crossfit: $f: missing (run WORK=$work bench/tune_table.sh first)" >&2; exit 1; }
done
for s in $settings; do
  [ -s "$work/$s.gguf" ] || { echo "tune_crossfit: $work/$s.gguf: missing (run WORK=$work bench/tune_table.sh)" >&2; exit 1; }
done
dir="$work/crossfit"
mkdir -p "$dir" "$out"
sed -n 1,12p "$valid" >"$dir/A.txt"
sed -n 13,19p "$valid" >"$dir/B.txt"
shared_lines=$(comm -12 <(tr 'A-Z' 'a-z' <"$dir/A.txt" | sort -u) <(tr 'A-Z' 'a-z' <"$dir/B.txt" | sort -u) | wc -l)
[ "$shared_lines" -eq 0 ] || { echo "tune_crossfit: halves A and B share $shared_lines lines" >&2; exit 1; }
for half in A B; do
  { cat "$calib"; for _ in $(seq "$repeat"); do cat "$dir/$half.txt"; done; cat "$gen"; } >"$dir/train-$half.txt"
done
cat "$calib" "$gen" >"$dir/train-gen.txt" # tune_table.sh's training text

train() { # SETTING TEXT(A|B|gen): a finished training in $dir is kept
  local o="$dir/$1-pkd-$2.bin"
  [ -s "$o" ] && [ -s "${o%.bin}.json" ] && return
  "$presso" tune-prompt "$work/$1.gguf" --calib "$dir/train-$2.txt" --seq 128 --batch 8 --tokens 100 \
    --steps "$steps" --loss-from 64 --seed 1234 -t 1 --holdout 48 --eval-every 100 --lr 0.1 \
    --teacher "$work/f32.gguf" --loss kd-fwd --mode prefix -o "$o" --json 2>/dev/null >"${o%.bin}.json.tmp" &&
    mv "${o%.bin}.json.tmp" "${o%.bin}.json"
}
bg() { while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done; "$@" & }
for s in $settings; do for t in A B gen; do bg train "$s" "$t"; done; done
wait

ppl_json() { # MODEL TEXT [ppl args...]
  local m="$1" t="$2"; shift 2
  "$presso" ppl "$m" -f "$t" -c 128 --protocol llamacpp -t 1 "$@" --json 2>/dev/null
}
rows="$dir/rows.jsonl"
: >"$rows"
emit() { # SETTING PROMPT EVAL_HALF JSON
  python3 -c 'import json,sys; s,p,h,j=sys.argv[1:]; j=json.loads(j)
print(json.dumps({"setting":s,"prompt":p,"eval_half":h,"ppl":j["ppl"],"ppl_err":j["ppl_err"],"n_scored":j["n_scored"],"mean_nll":j["mean_nll"]}))' \
    "$@" >>"$rows"
}
for half in A B; do
  other=B; [ "$half" = B ] && other=A
  emit f32 none "$half" "$(ppl_json "$work/f32.gguf" "$dir/$half.txt")"
  for s in $settings; do
    emit "$s" none "$half" "$(ppl_json "$work/$s.gguf" "$dir/$half.txt")"
    emit "$s" "prefix KD, generated text" "$half" \
      "$(ppl_json "$work/$s.gguf" "$dir/$half.txt" --prompt-file "$dir/$s-pkd-gen.bin")"
    emit "$s" "prefix KD, generated + other half" "$half" \
      "$(ppl_json "$work/$s.gguf" "$dir/$half.txt" --prompt-file "$dir/$s-pkd-$other.bin")"
  done
done

python3 - "$rows" "$dir" "$out/$table" "$repeat" "$steps" "$gen" "$("$presso" --help | head -1)" <<'PY'
import json, math, platform, sys, time
rows_path, d, base, repeat, steps, gen, version = sys.argv[1:]
rows = [json.loads(l) for l in open(rows_path)]
def get(s, p, h): return next((r for r in rows if (r["setting"], r["prompt"], r["eval_half"]) == (s, p, h)), None)
def pooled(s, p):
    a, b = get(s, p, "A"), get(s, p, "B")
    if not a or not b: return None
    n = a["n_scored"] + b["n_scored"]
    return math.exp((a["mean_nll"] * a["n_scored"] + b["mean_nll"] * b["n_scored"]) / n)
train = {}
for s in dict.fromkeys(r["setting"] for r in rows if r["setting"] != "f32"):
    for h in ("A", "B", "gen"):
        train[f"{s}-{h}"] = json.load(open(f"{d}/{s}-pkd-{h}.json"))
meta = {"model": "tinystories-656k", "protocol": "llamacpp, -c 128 (second half of each window scored; prefix positions never scored)",
        "halves": "valid.txt lines 1-12 (A) and 13-19 (B): no line shared",
        "training text": f"tinystories/sample.txt + the other half x{repeat} + {gen} (last 48 windows held out for the kept step)",
        "training": f"prefix KD (forward KL from F32), k 100, {steps} steps of 8 x 128, lr 0.1, loss positions >= 64, seed 1234, 1 thread",
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d"), "presso": version}
json.dump({"meta": meta, "rows": rows, "train": train}, open(base + ".json", "w"), indent=1)
with open(base + ".md", "w") as f:
    f.write("# Compress, Then Prompt with in-domain text: cross-fit on the two halves of tinystories valid.txt\n\n")
    for k, v in meta.items(): f.write(f"- {k}: {v}\n")
    f.write("\n| setting | prompt | ppl half A | gap closed | ppl half B | gap closed | pooled ppl | gap closed |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|\n")
    ref = {h: get("f32", "none", h)["ppl"] for h in "AB"}
    ref["pooled"] = pooled("f32", "none")
    f.write(f"| f32 | none | {ref['A']:.3f} | | {ref['B']:.3f} | | {ref['pooled']:.3f} | |\n")
    for s in dict.fromkeys(r["setting"] for r in rows if r["setting"] != "f32"):
        base_ppl = {h: get(s, "none", h)["ppl"] for h in "AB"}
        base_ppl["pooled"] = pooled(s, "none")
        for p in dict.fromkeys(r["prompt"] for r in rows if r["setting"] == s):
            cells = []
            for h in ("A", "B", "pooled"):
                v = pooled(s, p) if h == "pooled" else (get(s, p, h) or {}).get("ppl")
                if v is None: cells += ["", ""]; continue
                gap = base_ppl[h] - ref[h]
                cells += [f"{v:.3f}", "" if p == "none" else f"{100 * (base_ppl[h] - v) / gap:+.0f}%"]
            f.write(f"| {s} | {p} | " + " | ".join(cells) + " |\n")
    f.write("\nGap closed = (ppl_none − ppl_prompt) / (ppl_none − ppl_f32) on the same half. The 'generated + other half' "
            "prefix of half A was trained on half B and vice versa; the pooled column is exp of the token-weighted "
            "mean NLL over both halves.\n")
PY
echo "wrote $out/$table.md" >&2
cat "$out/$table.md"
