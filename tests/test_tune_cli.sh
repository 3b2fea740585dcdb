#!/usr/bin/env bash
# presso tune-prompt end to end on stories260K (tiny, fast): training lowers
# the held-out loss, is bit-reproducible for a seed, prompt and prefix modes
# with CE and distillation; ppl / generate / bench take --prompt-file (ppl
# scores only the text tokens) and ppl takes --hard-prompt; a prompt for
# another model and every bad option are clear errors with no file left.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
shared="$PRESSO_SHARED_DIR"
dir="$shared/models/stories260K"
model="$dir/stories260K.bin"
tok="$dir/tok512.bin"
q4="$dir/gguf-by-llama.cpp/stories260K-q4_0.gguf"
f32="$dir/gguf-by-llama.cpp/stories260K-f32.gguf"
calib="$shared/data/tinystories/sample.txt"
valid="$shared/data/tinystories/valid.txt"
other="$shared/models/tinystories-656k"
[ -f "$model" ] && [ -f "$q4" ] && [ -f "$calib" ] || { echo "skipped: no ../shared"; exit 77; }
source "$(dirname "$0")/lib.bash"
no_output_file="$tmp/bad.bin"

train=(--calib "$calib" --seq 32 --batch 2 --tokens 4 --steps 12 --lr 0.05 --seed 7 -t 1)
# the q4_0 GGUF carries its tokenizer; the llama2.c checkpoint takes -z
# CE on the calibration windows, evaluated on the same text: the optimizer must lower it.
"$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --eval "$calib" --eval-every 6 -o "$tmp/ce.bin" --json \
  >"$tmp/ce.json" 2>"$tmp/ce.err" && pass || fail "tune-prompt ce: $(cat "$tmp/ce.err")"
python3 - "$tmp/ce.json" <<'PY' && pass || fail "ce json: $(head -c 600 "$tmp/ce.json")"
import json, sys
d = json.load(open(sys.argv[1]))
for k in "mode loss tokens n_params steps best_step final_loss initial_eval_loss best_eval_loss no_prompt_eval_loss tokens_per_s peak_rss_bytes".split():
    assert k in d, k
assert d["mode"] == "prompt" and d["loss"] == "ce" and d["tokens"] == 4 and d["n_params"] == 4 * 64 and d["steps"] == 12
assert d["best_eval_loss"] < d["initial_eval_loss"] - 0.01, (d["best_eval_loss"], d["initial_eval_loss"])
assert d["tokens_per_s"] > 0 and d["peak_rss_bytes"] > 0
PY
# progress line and eval lines on stderr (text mode)
"$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --holdout 1 --eval-every 6 --log-every 4 -o "$tmp/ce2.bin" \
  >"$tmp/ce2.out" 2>"$tmp/ce2.err" && pass || fail "tune-prompt text: $(cat "$tmp/ce2.err")"
grep -q "step     4/12  loss" "$tmp/ce2.err" && grep -q "tok/s  ETA" "$tmp/ce2.err" && grep -q "held-out loss" "$tmp/ce2.err" \
  && pass || fail "progress lines: $(cat "$tmp/ce2.err")"
# same seed, same thread count: the same bytes
"$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --eval "$calib" --eval-every 6 -o "$tmp/ce_again.bin" >/dev/null 2>&1
cmp -s "$tmp/ce.bin" "$tmp/ce_again.bin" && pass || fail "not reproducible for a seed"
# another seed: another prompt
"$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --seed 8 -o "$tmp/ce_seed8.bin" >/dev/null 2>&1
cmp -s "$tmp/ce.bin" "$tmp/ce_seed8.bin" && fail "seed ignored" || pass

# prefix tuning with distillation from the f32 teacher, on the q4_0 model, text init
"$PRESSO" tune-prompt "$q4" "${train[@]}" --teacher "$f32" --mode prefix --loss kd-rev \
  --init "text:Once upon a time" -o "$tmp/prefix.bin" --json >"$tmp/prefix.json" 2>"$tmp/prefix.err" \
  && pass || fail "tune-prompt prefix: $(cat "$tmp/prefix.err")"
python3 -c "import json,sys; d=json.load(open('$tmp/prefix.json')); sys.exit(0 if d['mode']=='prefix' and d['loss']=='kd-rev' and d['n_params']==2*5*4*32 else 1)" \
  && pass || fail "prefix json: $(cat "$tmp/prefix.json")"
"$PRESSO" tune-prompt "$q4" "${train[@]}" --teacher "$model" --loss mix --kd-weight 0.3 -o "$tmp/mix.bin" \
  >/dev/null 2>"$tmp/mix.err" && pass || fail "tune-prompt mix: $(cat "$tmp/mix.err")"

# ppl with a prompt scores the same text tokens; prompt positions are reported
pj() { "$PRESSO" ppl "$@" -f "$valid" -c 64 --chunks 4 -t 1 --json 2>"$tmp/ppl.err"; }
pj "$q4" >"$tmp/p0.json" && pj "$q4" --prompt-file "$tmp/prefix.bin" >"$tmp/p1.json" && pj "$q4" --prompt-file "$tmp/mix.bin" >"$tmp/p2.json" \
  && pj "$q4" --hard-prompt "This model is compressed." >"$tmp/p3.json" && pass || fail "ppl with prompt: $(cat "$tmp/ppl.err")"
python3 - "$tmp"/p[0-3].json <<'PY' && pass || fail "ppl prompt json"
import json, math, sys
d = [json.load(open(p)) for p in sys.argv[1:]]
assert all(x["n_scored"] == d[0]["n_scored"] for x in d), [x["n_scored"] for x in d]
assert [x["prompt_positions"] for x in d[:3]] == [0, 4, 4] and d[3]["prompt_positions"] > 3, [x["prompt_positions"] for x in d]
assert d[1]["prompt_mode"] == "prefix" and d[2]["prompt_mode"] == "prompt" and d[3]["hard_prompt"]
assert all(math.isfinite(x["ppl"]) for x in d) and len({round(x["ppl"], 6) for x in d}) == 4, [x["ppl"] for x in d]
PY
"$PRESSO" generate "$q4" --prompt-file "$tmp/mix.bin" -p "Once" -n 8 --temp 0 --json >"$tmp/gen.json" 2>"$tmp/gen.err" \
  && python3 -c "import json,sys; d=json.load(open('$tmp/gen.json')); sys.exit(0 if d['prompt_positions']==4 else 1)" \
  && pass || fail "generate --prompt-file: $(cat "$tmp/gen.err")"
"$PRESSO" bench "$q4" --prompt-file "$tmp/prefix.bin" -p 16 -n 4 -r 1 -t 1 --json >"$tmp/bench.json" 2>"$tmp/bench.err" \
  && python3 -c "import json,sys; d=json.load(open('$tmp/bench.json')); sys.exit(0 if d['prompt_positions']==4 and d['tg_tps']>0 else 1)" \
  && pass || fail "bench --prompt-file: $(cat "$tmp/bench.err")"
"$PRESSO" eval "$q4" --task mc --data "$PRESSO_SOURCE_DIR/tests/data/eval/mc_tiny.jsonl" --items -t 1 --json >"$tmp/e0.json" 2>"$tmp/eval.err" \
  && "$PRESSO" eval "$q4" --task mc --data "$PRESSO_SOURCE_DIR/tests/data/eval/mc_tiny.jsonl" --items -t 1 --json \
       --prompt-file "$tmp/mix.bin" >"$tmp/e1.json" 2>>"$tmp/eval.err" \
  && python3 - "$tmp/e0.json" "$tmp/e1.json" <<'PY' && pass || fail "eval --prompt-file: $(cat "$tmp/eval.err")"
import json, sys
a, b = (json.load(open(f))["tasks"][0] for f in sys.argv[1:])
sa = [s for it in a["items"] for s in it["scores"]]
sb = [s for it in b["items"] for s in it["scores"]]
# same items scored; the prompt conditions every choice, so every score moves
assert a["n"] == b["n"] and len(sa) == len(sb), (a["n"], b["n"])
assert all(x != y for x, y in zip(sa, sb)), (sa, sb)
PY

# refusals and bad input
expect_error "other model" "hidden size" "$PRESSO" ppl "$other" -f "$valid" -c 64 --chunks 1 --prompt-file "$tmp/ce.bin"
head -c 700 "$tmp/ce.bin" >"$tmp/trunc.bin"
expect_error "truncated prompt" "truncated" "$PRESSO" ppl "$q4" -f "$valid" -c 64 --prompt-file "$tmp/trunc.bin"
expect_error "not a prompt" "bad magic" "$PRESSO" ppl "$q4" -f "$valid" -c 64 --prompt-file "$calib"
expect_error "missing prompt" "cannot open" "$PRESSO" generate "$q4" --prompt-file "$tmp/none.bin"
expect_error "no calib" "usage" "$PRESSO" tune-prompt "$model" -z "$tok" -o "$tmp/bad.bin"
expect_error "kd without teacher" "needs --teacher" "$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --loss kd-fwd -o "$tmp/bad.bin"
expect_error "kd weight without mix" "--kd-weight goes with" "$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --kd-weight 0.2 -o "$tmp/bad.bin"
expect_error "holdout too big" "leaves no training windows" "$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --holdout 1000 -o "$tmp/bad.bin"
expect_error "bad mode" "--mode is prompt or prefix" "$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --mode soft -o "$tmp/bad.bin"
expect_error "bad init" "--init is random" "$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --init words -o "$tmp/bad.bin"
expect_error "too many tokens" "exceed the model's context" "$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --tokens 500 -o "$tmp/bad.bin"
expect_error "bad output dir" "cannot create" "$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --steps 1 -o "$tmp/no/such/dir/p.bin"
expect_error "teacher vocab" "tokens, the model" "$PRESSO" tune-prompt "$model" -z "$tok" "${train[@]}" --teacher "$other" -o "$tmp/bad.bin"
finish
