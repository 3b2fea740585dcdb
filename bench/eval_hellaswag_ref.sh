#!/usr/bin/env bash
# Acceptance measurement (not a test): HellaSwag accuracy of presso eval
# against llama.cpp's own `llama-perplexity --hellaswag` on the same GGUF and
# the same tasks (llama-perplexity draws N tasks with std::mt19937(1); presso
# eval --limit N draws the same ones, src/eval/tasks_order.c). Compares the
# final accuracy and, task by task, the running accuracy llama-perplexity
# prints (from which each task's right/wrong outcome follows).
#
# usage: bench/eval_hellaswag_ref.sh [N_TASKS (default 400)]
# env: PRESSO (CLI, default build/presso), LLAMA_PERPLEXITY (binary),
#      HS_MODELS (space-separated GGUFs, each optionally MODEL:N_TASKS to
#        override the count; default stories260K f32 by llama.cpp + SmolLM2 Q4_1),
#      HS_THREADS (default nproc), HS_CACHE (llama-perplexity logs are kept
#      there and reused when present: default /tmp/presso-eval-ref),
#      HS_OUT (default bench/results/eval_hellaswag; writes .json and .md),
#      HS_REUSE_PRESSO=1 (rebuild the table from presso outputs already in HS_CACHE).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$(cd "${PRESSO_SHARED_DIR:-$root/../shared}" && pwd)"
presso="${PRESSO:-$root/build/presso}"
lp="${LLAMA_PERPLEXITY:-/tmp/lcpp/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin/llama-perplexity}"
n_default="${1:-400}"
threads="${HS_THREADS:-$(nproc)}"
cache="${HS_CACHE:-/tmp/presso-eval-ref}"
out="${HS_OUT:-$root/bench/results/eval_hellaswag}"
data="$shared/data/hellaswag/hellaswag_val.txt"
models="${HS_MODELS:-$shared/models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf $HOME/.cache/presso/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
for f in "$presso" "$lp" "$data" $(for m in $models; do echo "${m%%:[0-9]*}"; done); do [ -e "$f" ] || { echo "eval_hellaswag_ref: missing $f" >&2; exit 1; }; done
mkdir -p "$cache" "$(dirname "$out")"
now() { date +%s.%N; }
records=()
for entry in $models; do
    model="${entry%%:[0-9]*}" n="$n_default"
    [ "$model" != "$entry" ] && n="${entry##*:}"
    name="$(basename "$model" .gguf)"
    log="$cache/$name.hellaswag$n.log"
    if [ ! -s "$log" ] || ! grep -q "^$n	" "$log"; then
        echo "llama-perplexity --hellaswag --hellaswag-tasks $n on $name ..." >&2
        t0=$(now)
        # -c 1024: room for llama.cpp to batch several tasks; the context does not change the scores.
        "$lp" -m "$model" -f "$data" --hellaswag --hellaswag-tasks "$n" -t "$threads" -c 1024 -b 1024 >"$log.tmp" 2>"$log.err"
        t1=$(now)
        { cat "$log.tmp"; echo "# seconds $(echo "$t1 - $t0" | bc)"; } >"$log" && rm -f "$log.tmp"
    fi
    pj="$cache/$name.presso$n.json"
    if [ "${HS_REUSE_PRESSO:-0}" != 1 ] || [ ! -s "$pj" ] || [ ! -s "$pj.seconds" ]; then
        echo "presso eval --task hellaswag --limit $n on $name ..." >&2
        t0=$(now)
        "$presso" eval "$model" --task hellaswag --limit "$n" -t "$threads" --json --items >"$pj"
        t1=$(now)
        echo "$t1 - $t0" | bc >"$pj.seconds"
    fi
    records+=("$model|$log|$pj|$(cat "$pj.seconds")")
done
python3 - "$out" "$threads" "$(git -C "$root" rev-parse --short HEAD)" "${records[@]}" <<'PY'
import json, sys, datetime
out, threads, commit, recs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
rows = []
for rec in recs:
    model, log, pj, psec = rec.split("|")
    running, lsec = [], None
    for line in open(log):
        f = line.rstrip("\n").split("\t")
        if len(f) == 3 and f[0].isdigit():
            running.append(float(f[1].rstrip("%")))
        if line.startswith("# seconds"):
            lsec = float(line.split()[2])
    task = json.load(open(pj))["tasks"][0]
    # llama-perplexity prints the running accuracy after each task: the
    # change of its correct count from task k-1 to k says whether task k was
    # right; compare that with presso's prediction on the same task.
    same, prev = 0, 0
    for k, it in enumerate(task["items"][:len(running)]):
        count = round(running[k] * (k + 1) / 100.0)
        same += (count - prev == 1) == (it["pred"] == it["gold"])
        prev = count
    rows.append({"model": model, "n_tasks": task["n"], "presso_acc": 100 * task["acc"],
                 "presso_acc_err": 100 * task["acc_err"], "llamacpp_acc": running[-1] if running else None,
                 "diff_points": 100 * task["acc"] - running[-1] if running else None,
                 "tasks_with_same_outcome": same, "llamacpp_tasks": len(running),
                 "presso_seconds": float(psec), "llamacpp_seconds": lsec})
meta = {"what": "HellaSwag acc (llama.cpp rule: mean log-prob of the tokens after the common prefix, argmax) "
                "presso eval vs llama-perplexity --hellaswag, same GGUF, same randomized tasks",
        "threads": threads, "presso_commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
tmp = out + ".json.tmp"
json.dump({"meta": meta, "rows": rows}, open(tmp, "w"), indent=2)
import os
os.replace(tmp, out + ".json")
md = ["| model | tasks | presso acc % | llama-perplexity acc % | diff (points) | tasks with the same outcome (right/wrong) | presso s | llama.cpp s |",
      "|---|---:|---:|---:|---:|---:|---:|---:|"]
for r in rows:
    md.append("| %s | %d | %.2f ± %.2f | %.2f | %+.2f | %d / %d | %.0f | %s |" % (
        os.path.basename(r["model"]), r["n_tasks"], r["presso_acc"], r["presso_acc_err"], r["llamacpp_acc"],
        r["diff_points"], r["tasks_with_same_outcome"], r["llamacpp_tasks"], r["presso_seconds"],
        "%.0f" % r["llamacpp_seconds"] if r["llamacpp_seconds"] else "n/a"))
md.append("")
md.append("- Rule (llama.cpp tools/perplexity/perplexity.cpp, hellaswag_score): tokenize context + \" \" + ending with BOS; "
          "score = mean log-prob of the tokens after the 4 sequences' common prefix; prediction = first argmax; "
          "tasks drawn with std::mt19937(1) + uniform_int_distribution, without replacement.")
md.append("- Reference: llama-perplexity -f hellaswag_val.txt --hellaswag --hellaswag-tasks N -c 1024 (llama.cpp built from "
          "llama-cpp-python 0.3.36's vendor tree); its last running-accuracy line is its reported acc. "
          "Wall times on a shared 2-core machine (other jobs running): not a speed comparison.")
md.append("- presso %s, threads %d, %s." % (commit, threads, meta["date"]))
open(out + ".md.tmp", "w").write("\n".join(md) + "\n")
os.replace(out + ".md.tmp", out + ".md")
print("\n".join(md))
PY
