#!/usr/bin/env bash
# presso sweep + report end to end on tinystories-656k (RTN only, short
# texts): a sweep records one JSON line per cell, with the numbers its child
# commands measure; a second run does no work and leaves the file as it
# was; a torn last line is dropped and its cell re-run; a failed cell keeps
# its error and runs again only with --retry-failed; bad configs and bad
# result lines are clear errors with no output file.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
shared="$PRESSO_SHARED_DIR"
model="$shared/models/tinystories-656k"
valid="$shared/data/tinystories/valid.txt"
[ -f "$model/model.safetensors" ] && [ -f "$valid" ] || { echo "skipped: no ../shared"; exit 77; }
source "$(dirname "$0")/lib.bash"

cat >"$tmp/sweep.json" <<JSON
{
  "model": "$model",
  "threads": 2,
  "eval": [{"name": "ts", "file": "$valid", "ctx": 64, "chunks": 3}],
  "bench": {"n_prompt": 16, "n_gen": 8, "reps": 1},
  "grid": [
    {"method": "rtn", "type": ["q8_0", "q4_0"]},
    {"method": "rtn", "type": "q4_1", "keep": true},
    {"method": "nosuch", "type": "q4_0"}
  ]
}
JSON
res="$tmp/res/results.jsonl"
mkdir -p "$tmp/res"
count_lines() { grep -c . "$res"; }

# A dry run lists the commands and touches nothing.
"$PRESSO" sweep "$tmp/sweep.json" -o "$res" --dry-run >"$tmp/dry.txt" 2>"$tmp/dry.err" && pass || fail "dry run: $(cat "$tmp/dry.err")"
grep -q "^# dry run: 5 cells, 5 to run" "$tmp/dry.txt" && grep -q "presso quantize $model .* --method rtn --type q4_1 -t 2 --json" "$tmp/dry.txt" &&
  grep -q "presso ppl $model -f $valid -c 64 --chunks 3 -t 2 --json" "$tmp/dry.txt" && pass || fail "dry run output: $(head -5 "$tmp/dry.txt")"
[ ! -e "$res" ] && [ ! -e "$tmp/res/results.work" ] && pass || fail "dry run wrote something"

# First run: five cells, one failed (a method this binary does not have).
"$PRESSO" sweep "$tmp/sweep.json" -o "$res" >"$tmp/run1.txt" 2>"$tmp/run1.err" && pass || fail "sweep: $(tail -3 "$tmp/run1.err")"
grep -q "5 cells: 5 run (1 failed), 0 already done" "$tmp/run1.txt" && pass || fail "run1 summary: $(cat "$tmp/run1.txt")"
[ "$(count_lines)" = 5 ] && pass || fail "run1 wrote $(count_lines) lines"
direct=$("$PRESSO" ppl "$model" -f "$valid" -c 64 --chunks 3 -t 2 --json 2>/dev/null | python3 -c 'import json,sys; print(repr(json.load(sys.stdin)["ppl"]))')
python3 - "$res" "$direct" <<'PY' && pass || fail "run1 records"
import json, math, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
by = {r["key"]: r for r in recs}
assert list(by) == ["baseline", "method=rtn type=q8_0", "method=rtn type=q4_0", "method=rtn type=q4_1", "method=nosuch type=q4_0"], list(by)
b, q8, q4, q41, bad = (by[k] for k in by)
# The baseline's perplexity is exactly what `presso ppl` prints for the same options.
assert b["ppl"]["ts"] == float(sys.argv[2]), (b["ppl"], sys.argv[2])
assert b["baseline"] and b["bits_per_weight"] == 32 and b["n_params"] == 656000, b
assert 8.4 < q8["bits_per_weight"] < 8.6 and 4.4 < q4["bits_per_weight"] < 4.6 and 4.9 < q41["bits_per_weight"] < 5.2
# q8_0 barely moves perplexity, q4_0 moves it more; both measured on the same 3 chunks.
assert abs(q8["ppl"]["ts"] / b["ppl"]["ts"] - 1) < 0.01 and q8["ppl"]["ts"] != b["ppl"]["ts"]
assert q4["ppl"]["ts"] > q8["ppl"]["ts"], (q4["ppl"], q8["ppl"])
assert q4["model_bytes"] < q8["model_bytes"] < b["model_bytes"]
for r in (b, q8, q4, q41):
    assert r["status"] == "ok" and r["setup"] == b["setup"], r
    assert r["pp_tps"] > 0 and r["tg_tps"] > 0 and r["peak_rss_bytes"] > 1e6, r
assert q8["method"] == "rtn" and q8["type"] == "q8_0" and q8["label"] == "rtn q8_0" and q8["quantize_output"]["type"] == "q8_0"
assert bad["status"] == "failed" and "quantize: exit status 2" in bad["error"] and "unknown method 'nosuch'" in bad["error"], bad
PY
# Intermediate models are deleted unless the cell keeps them; the failed cell's log stays.
work="$tmp/res/results.work"
ls "$work"/*q8_0*.gguf >/dev/null 2>&1 && fail "q8_0 model not deleted" || pass
ls "$work"/*q4_1*.gguf >/dev/null 2>&1 && pass || fail "kept q4_1 model missing"
grep -q "unknown method 'nosuch'" "$work"/*nosuch*.log && pass || fail "failed cell's log missing"

# Second run: nothing to do, the file is unchanged.
cp "$res" "$tmp/after1.jsonl"
"$PRESSO" sweep "$tmp/sweep.json" -o "$res" >"$tmp/run2.txt" 2>"$tmp/run2.err" && pass || fail "run2"
grep -q "5 cells: 0 run (0 failed), 5 already done" "$tmp/run2.txt" && cmp -s "$res" "$tmp/after1.jsonl" && pass || fail "run2 did work: $(cat "$tmp/run2.txt")"
grep -q "failed before (--retry-failed runs it again)" "$tmp/run2.err" && pass || fail "run2 does not say the failed cell was skipped"

# A torn last record (a write cut short by a crash): dropped, named, its cell re-run.
size=$(stat -c %s "$res"); truncate -s $((size - 25)) "$res"
"$PRESSO" sweep "$tmp/sweep.json" -o "$res" --json >"$tmp/run3.json" 2>"$tmp/run3.err" && pass || fail "run3: $(cat "$tmp/run3.err")"
grep -q "results.jsonl:5: the last record is cut short or corrupt" "$tmp/run3.err" && pass || fail "torn line not reported: $(cat "$tmp/run3.err")"
python3 - "$res" "$tmp/run3.json" "$tmp/after1.jsonl" <<'PY' && pass || fail "run3 result"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
recs = [json.loads(l) for l in lines]           # every line parses again
s = json.load(open(sys.argv[2]))
assert s["run"] == 1 and s["skipped"] == 4 and s["failed"] == 1, s
assert len(recs) == 5 and recs[-1]["key"] == "method=nosuch type=q4_0"
assert lines[:4] == open(sys.argv[3]).read().splitlines()[:4]  # the good records untouched
PY

# --retry-failed runs the failed cell again; the newer record is the one reported.
"$PRESSO" sweep "$tmp/sweep.json" -o "$res" --retry-failed >"$tmp/run4.txt" 2>&1 && grep -q "1 run (1 failed), 4 already done" "$tmp/run4.txt" &&
  [ "$(count_lines)" = 6 ] && pass || fail "retry-failed: $(cat "$tmp/run4.txt")"

# The report of these results.
"$PRESSO" report "$res" -o "$tmp/report.html" --title "sweep test" --json >"$tmp/rep.json" 2>"$tmp/rep.err" && pass || fail "report: $(cat "$tmp/rep.err")"
python3 - "$tmp/rep.json" "$tmp/report.html" <<'PY' && pass || fail "report content"
import json, sys
s = json.load(open(sys.argv[1])); h = open(sys.argv[2]).read()
assert s["lines"] == 6 and s["cells"] == 5 and s["ok"] == 4 and s["failed"] == 1, s
assert h.count('<tr class="ok') == 4 and h.count('<tr class="failed') == 1
svg = h[h.index('id="plot-ppl-0"'):]; svg = svg[:svg.index("</svg>")]
assert svg.count('class="pt') == 4 and '<path class="front" d="M' in svg, svg[:300]
PY

# Bad input: clear errors, no output file.
no_output_file="$tmp/bad.html"
printf '%s\n' "$(head -1 "$res")" '{"key": broken' "$(tail -1 "$res")" >"$tmp/bad.jsonl"
expect_error "bad result line" "bad.jsonl:2: bad result line: not valid JSON" "$PRESSO" report "$tmp/bad.jsonl" -o "$tmp/bad.html"
expect_error "missing results" "nope.jsonl: cannot open" "$PRESSO" report "$tmp/nope.jsonl" -o "$tmp/bad.html"
: >"$tmp/empty.jsonl"
expect_error "empty results" "no results" "$PRESSO" report "$tmp/empty.jsonl" -o "$tmp/bad.html"
expect_error "report without -o" "usage: presso report" "$PRESSO" report "$res"
expect_error "report over its input" "refusing to overwrite" "$PRESSO" report "$res" -o "$res"
# A corrupt line in the middle of the results stops the sweep (it is not a torn tail) and changes nothing.
cp "$tmp/bad.jsonl" "$tmp/bad_res.jsonl"
no_output_file=""
expect_error "sweep on corrupt results" "bad_res.jsonl:2: bad result line" "$PRESSO" sweep "$tmp/sweep.json" -o "$tmp/bad_res.jsonl"
cmp -s "$tmp/bad.jsonl" "$tmp/bad_res.jsonl" && pass || fail "sweep changed corrupt results"
echo '{"model": "m", "eval": [{"name": "a", "file": "f"}], "grid": [{"method": "rtn", "tpye": "q4_0"}]}' >"$tmp/badcfg.json"
expect_error "unknown grid key" "badcfg.json: grid[0]: unknown key \"tpye\"" "$PRESSO" sweep "$tmp/badcfg.json"
[ ! -e "$tmp/badcfg.jsonl" ] && pass || fail "bad config left a results file"
expect_error "missing config" "nope.json: cannot open" "$PRESSO" sweep "$tmp/nope.json"
expect_error "sweep unknown option" "unknown option '--bogus'" "$PRESSO" sweep "$tmp/sweep.json" --bogus
finish
