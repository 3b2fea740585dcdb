#!/usr/bin/env bash
# presso eval's CLI contract on stories260K and the fixtures in tests/data/eval:
# --task lists, --data, --limit, --in-order, --skip-bad, --items, --bench and
# --json are honoured; malformed files and bad arguments fail with the file and
# line named and nothing on stdout; info shows the cost metrics.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
SRC="${PRESSO_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
source "$SRC/tests/lib.bash"
model="$PRESSO_SHARED_DIR/models/stories260K/stories260K.bin"
tok="$PRESSO_SHARED_DIR/models/stories260K/tok512.bin"
[ -f "$model" ] || { echo "skipped: no $model"; exit 77; }
data="$SRC/tests/data/eval"
ev() { "$PRESSO" eval "$model" -z "$tok" -t 1 "$@"; }
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# mc from --data, every JSON key, the cost block.
if ev --task mc --data "$data/mc_tiny.jsonl" --json >"$tmp/mc.json" 2>"$tmp/err"; then
  keys=$(json_get "$tmp/mc.json" "sorted(d['tasks'][0].keys())")
  for k in task n acc acc_err acc_norm acc_norm_err n_skipped seconds; do
    case "$keys" in *"'$k'"*) pass ;; *) fail "mc json lacks $k: $keys" ;; esac
  done
  [ "$(json_get "$tmp/mc.json" "d['tasks'][0]['n']")" = 3 ] && pass || fail "mc n != 3"
  [ "$(json_get "$tmp/mc.json" "d['cost']['n_params'] == 260032 and d['cost']['flops_per_token_dense'] > 0")" = True ] && pass || fail "cost block"
  [ "$(json_get "$tmp/mc.json" "'bench' in d")" = False ] && pass || fail "bench without --bench"
else fail "eval mc: $(cat "$tmp/err")"; fi

# hellaswag: --limit and --in-order pick the first tasks; --items lists them.
if ev --task hellaswag --data "$data/hellaswag_tiny.txt" --limit 2 --in-order --items --json >"$tmp/hs.json" 2>"$tmp/err"; then
  [ "$(json_get "$tmp/hs.json" "[i['line'] for i in d['tasks'][0]['items']]")" = "[1, 7]" ] && pass || fail "in-order lines"
  [ "$(json_get "$tmp/hs.json" "'acc_norm' in d['tasks'][0] or 'ppl' in d['tasks'][0]")" = False ] && pass || fail "hellaswag keys"
else fail "eval hellaswag: $(cat "$tmp/err")"; fi
# Without --in-order the draw is llama.cpp's: over 3 tasks mt19937(1) picks a different order.
if ev --task hellaswag --data "$data/hellaswag_tiny.txt" --items --json >"$tmp/hs3.json" 2>/dev/null; then
  [ "$(json_get "$tmp/hs3.json" "sorted(i['line'] for i in d['tasks'][0]['items'])")" = "[1, 7, 13]" ] && pass || fail "all 3 drawn"
else fail "eval hellaswag draw"; fi

# lambada: ppl present; text table output.
if ev --task lambada --data "$data/lambada_tiny.jsonl" --json >"$tmp/lam.json" 2>/dev/null; then
  [ "$(json_get "$tmp/lam.json" "d['tasks'][0]['ppl'] > 1")" = True ] && pass || fail "lambada ppl"
else fail "eval lambada"; fi
ev --task lambada --data "$data/lambada_tiny.jsonl" >"$tmp/table" 2>/dev/null && grep -q "^| lambada | 3 |" "$tmp/table" && pass || fail "text table"

# --skip-bad: counted in the output, never silent.
if ev --task mc --data "$data/mc_bad.jsonl" --skip-bad --json >"$tmp/skip.json" 2>"$tmp/err"; then
  [ "$(json_get "$tmp/skip.json" "(d['tasks'][0]['n'], d['tasks'][0]['n_skipped'], d['tasks'][0]['first_skipped_line'])")" = "(3, 4, 3)" ] && pass || fail "skip counts"
  grep -q "4 malformed items skipped (first: line 3" "$tmp/err" && pass || fail "skip note on stderr"
else fail "eval --skip-bad: $(cat "$tmp/err")"; fi

# --bench adds speed and memory.
if ev --task mc --data "$data/mc_tiny.jsonl" --bench --json >"$tmp/b.json" 2>/dev/null; then
  [ "$(json_get "$tmp/b.json" "d['bench']['pp_tps'] > 0 and d['bench']['tg_tps'] > 0 and d['bench']['peak_rss_bytes'] > 0")" = True ] && pass || fail "bench block"
else fail "eval --bench"; fi

# Errors: the file and line named, non-zero exit, nothing on stdout.
check_error() {
  local name="$1" want="$2"; shift 2
  expect_error "$name" "$want" "$@"
  [ -s "$tmp/out" ] && fail "$name: wrote stdout"
}
check_error "bad json" "mc_bad.jsonl:3: bad JSON" ev --task mc --data "$data/mc_bad.jsonl" --json
check_error "bad gold" "hellaswag_bad_gold.txt:8:" ev --task hellaswag --data "$data/hellaswag_bad_gold.txt"
check_error "short hellaswag" "hellaswag_short.txt:13: incomplete task" ev --task hellaswag --data "$data/hellaswag_short.txt"
check_error "lambada" "lambada_bad.jsonl:2:" ev --task lambada --data "$data/lambada_bad.jsonl"
check_error "unknown task" "unknown task 'nosuch'" ev --task nosuch
check_error "mc without data" "--task mc reads" ev --task mc
check_error "data with two tasks" "exactly one --task" ev --task piqa,copa --data "$data/mc_tiny.jsonl"
check_error "missing file" "cannot open" ev --task mc --data "$tmp/none.jsonl"
check_error "bad limit" "--limit" ev --task mc --data "$data/mc_tiny.jsonl" --limit 0
check_error "trailing comma" "empty name" ev --task copa,

# info: the cost metrics.
if "$PRESSO" info "$model" -z "$tok" --flops-ctx 64 --json >"$tmp/info.json" 2>"$tmp/err"; then
  [ "$(json_get "$tmp/info.json" "(d['n_nonzero'] <= d['n_params'], d['flops_ctx'], d['file_bytes'], d['ratio_vs_f16'])")" = "(True, 64, $(stat -c %s "$model"), 0.5)" ] && pass || fail "info cost: $(cat "$tmp/info.json" | tr -d '\n' | head -c 400)"
else fail "info --json: $(cat "$tmp/err")"; fi
finish
