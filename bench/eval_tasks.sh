#!/usr/bin/env bash
# Zero-shot task accuracy and cost of models (not a test): presso eval on
# hellaswag, lambada, piqa, arc_easy, boolq, copa and openbookqa with --bench
# (pp128/tg64 tokens/s, peak RSS); prints a markdown table and writes JSON.
#
# usage: bench/eval_tasks.sh [LIMIT (items per task, default 500)]
# env: PRESSO (CLI, default build/presso),
#      EVAL_MODELS (space-separated, each optionally MODEL:LIMIT; default
#        tinystories-656k and SmolLM2-135M-Instruct Q4_1),
#      EVAL_TASKS (comma list), EVAL_THREADS (default nproc),
#      EVAL_MERGE (space-separated JSON files of earlier runs to put in the same
#        table: `presso eval --json` outputs or this script's .json results),
#      EVAL_OUT (default bench/results/eval_tasks; writes .json and .md).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$(cd "${PRESSO_SHARED_DIR:-$root/../shared}" && pwd)"
presso="${PRESSO:-$root/build/presso}"
limit_default="${1:-500}"
threads="${EVAL_THREADS:-$(nproc)}"
tasks="${EVAL_TASKS:-hellaswag,lambada,piqa,arc_easy,boolq,copa,openbookqa}"
out="${EVAL_OUT:-$root/bench/results/eval_tasks}"
models="${EVAL_MODELS-$shared/models/tinystories-656k $HOME/.cache/presso/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$out")"
files=()
i=0
[ -n "$models" ] || [ -n "${EVAL_MERGE:-}" ] || { echo "eval_tasks: no models" >&2; exit 1; }
for entry in $models; do
    model="${entry%%:[0-9]*}" limit="$limit_default"
    [ "$model" != "$entry" ] && limit="${entry##*:}"
    [ -e "$model" ] || { echo "eval_tasks: missing $model" >&2; exit 1; }
    echo "presso eval $(basename "$model") --task $tasks --limit $limit ..." >&2
    nice -n 5 "$presso" eval "$model" --task "$tasks" --limit "$limit" -t "$threads" --bench --json >"$tmp/$i.json"
    files+=("$tmp/$i.json")
    i=$((i + 1))
done
python3 - "$out" "$threads" "$(git -C "$root" rev-parse --short HEAD)" ${files[@]+"${files[@]}"} ${EVAL_MERGE:-} <<'PY'
import datetime, json, os, sys
out, threads, commit, files = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
runs = []
for f in files:
    d = json.load(open(f))
    runs += d["runs"] if "runs" in d else [d]
meta = {"threads": threads, "presso_commit": commit, "sources": files,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
json.dump({"meta": meta, "runs": runs}, open(out + ".json.tmp", "w"), indent=2)
os.replace(out + ".json.tmp", out + ".json")
md = ["| model | task | n | acc % | acc_norm % | ppl | skipped | truncated | s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
for r in runs:
    name = os.path.basename(r["model"].rstrip("/"))
    for t in r["tasks"]:
        md.append("| %s | %s | %d | %.1f ± %.1f | %s | %s | %d | %d | %.0f |" % (
            name, t["task"], t["n"], 100 * t["acc"], 100 * t["acc_err"],
            "%.1f ± %.1f" % (100 * t["acc_norm"], 100 * t["acc_norm_err"]) if "acc_norm" in t else "–",
            "%.2f" % t["ppl"] if "ppl" in t else "–", t["n_skipped"], t["n_truncated"], t["seconds"]))
md += ["", "| model | params | non-zero | weights MiB | on disk MiB | bits/weight | vs f16 | GFLOPs/token dense (ctx) | effective | pp128 tok/s | tg64 tok/s | peak RSS MiB |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for r in runs:
    c, b = r["cost"], r["bench"]
    md.append("| %s | %d | %d | %.2f | %.2f | %.3f | %.2fx | %.4f (%d) | %.4f | %.0f ± %.0f | %.0f ± %.0f | %.1f |" % (
        os.path.basename(r["model"].rstrip("/")), c["n_params"], c["n_nonzero"], c["weight_bytes"] / 2**20,
        c["file_bytes"] / 2**20, c["bits_per_weight"], c["ratio_vs_f16"], c["flops_per_token_dense"] / 1e9,
        c["flops_ctx"], c["flops_per_token_effective"] / 1e9, b["pp_tps"], b["pp_tps_sd"], b["tg_tps"], b["tg_tps_sd"],
        b["peak_rss_bytes"] / 2**20))
md += ["", "- acc: hellaswag by llama-perplexity's rule (mean token log-prob after the common prefix; tasks drawn as llama.cpp "
       "draws them), lambada greedy last word, multiple choice argmax of summed log-prob; acc_norm by the choice's byte length; "
       "± = sqrt(p(1-p)/(n-1)). lambada ppl = exp(-mean target log-likelihood). truncated = contexts cut to the model's context.",
       "- seconds are wall time on a shared 2-core machine under heavy load from other jobs: not a speed figure; "
       "pp/tg measured the same way (128-token prompt, 64 generated, 3 reps).",
       "- items per task (n) differ by model: chosen to fit the machine's load; threads %d; presso %s; %s." % (threads, commit, meta["date"])]
open(out + ".md.tmp", "w").write("\n".join(md) + "\n")
os.replace(out + ".md.tmp", out + ".md")
print("\n".join(md))
PY
