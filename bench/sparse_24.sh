#!/usr/bin/env bash
# The native 2:4 sparse encoding against dense, same pruned weights:
# 1. decode matvec on 1B-shaped matrices (build/sparse_matvec: f16 vs s24_f16,
#    q4_0 vs s24_q4, MATVEC_THREADS threads (default 1: on a shared machine a
#    2-thread OpenMP matvec mostly measures the scheduler), best of MATVEC_REPS);
# 2. the synthetic 1B model (TinyLlama shape, random weights; f16 source):
#    magnitude 2:4 → dense f16 / s24_f16 / dense q4_0 / s24_q4 files: file
#    size and presso bench pp32/tg16 tokens/s (REPS reps, THREADS threads).
#
# usage: bench/sparse_24.sh [PRESSO_BIN]   (writes bench/results/sparse_24.{md,json})
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="${ROOT:-$(dirname "$here")}"
presso="${1:-$root/build/presso}"
matvec="${MATVEC:-$(dirname "$presso")/sparse_matvec}"
cache="${PRESSO_CACHE:-$HOME/.cache/presso}"
synth="${SYNTH:-$cache/bench/synth-1b-f16.gguf}"
threads="${THREADS:-2}"
reps="${REPS:-2}"
matvec_reps="${MATVEC_REPS:-40}"
out="${OUT:-$root/bench/results}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sparse24.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

for t in ${MATVEC_THREADS:-1}; do "$matvec" "$tmp/mv$t.json" "$t" "$matvec_reps" >&2; done

rows="$tmp/rows.jsonl"
: >"$rows"
if [ -f "$synth" ]; then
  "$presso" convert "$synth" "$tmp/dense-f16.gguf" --type f16 --magnitude >&2
  "$presso" convert "$tmp/dense-f16.gguf" "$tmp/s24-f16.gguf" --type f16 --sparse 2:4 >&2
  "$presso" convert "$tmp/dense-f16.gguf" "$tmp/dense-q4_0.gguf" --type q4_0 >&2
  "$presso" convert "$tmp/dense-f16.gguf" "$tmp/s24-q4.gguf" --type q4_0 --sparse 2:4 >&2
  for f in dense-f16 s24-f16 dense-q4_0 s24-q4; do
    b=$("$presso" bench "$tmp/$f.gguf" -t "$threads" -p 32 -n 16 -r "$reps" --json 2>/dev/null)
    python3 - "$f" "$tmp/$f.gguf" "$b" >>"$rows" <<'PY'
import json, os, sys
name, path, b = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(json.dumps({"file": name, "bytes": os.path.getsize(path), "weight_bytes": b["weight_bytes"],
                  "pp_tps": b["pp_tps"], "pp_tps_sd": b["pp_tps_sd"], "tg_tps": b["tg_tps"], "tg_tps_sd": b["tg_tps_sd"],
                  "n_prompt": b["n_prompt"], "n_gen": b["n_gen"], "reps": b["reps"], "threads": b["threads"]}))
PY
    tail -1 "$rows" >&2
    rm -f "$tmp/$f.gguf"
  done
else
  echo "note: $synth missing; the 1B rows are skipped (bench/run_bench.sh makes it)" >&2
fi

python3 - "$tmp" "$threads" "$rows" "$out/sparse_24.json" "$out/sparse_24.md" <<'PY'
import glob, json, os, sys
tmp, threads, rows_path, json_out, md_out = sys.argv[1:]
mv = {os.path.basename(p)[2:-5]: json.load(open(p)) for p in glob.glob(os.path.join(tmp, "mv*.json"))}
rows = [json.loads(l) for l in open(rows_path)]
json.dump({"matvec": mv, "synth_1b": rows}, open(json_out, "w"), indent=1)
lines = []
for t in sorted(mv, key=int):
    m = mv[t]
    lines += [f"Decode matvec, 1B-shaped matrices, {m['kernels']} kernels, {t} thread(s), best of {m['reps']}:", "",
              "| matrix | dense | dense MiB | dense µs | 2:4 | 2:4 MiB | 2:4 µs | speedup |", "|---|---|---|---|---|---|---|---|"]
    for r in m["rows"]:
        lines.append(f"| {r['matrix']} | {r['dense_type']} | {r['dense_bytes']/2**20:.2f} | {r['dense_us']:.0f} | "
                     f"{r['sparse_type']} | {r['sparse_bytes']/2**20:.2f} | {r['sparse_us']:.0f} | {r['speedup']:.2f}x |")
    lines.append("")
if rows:
    by = {r["file"]: r for r in rows}
    lines += [f"synth-1b (random weights, magnitude 2:4), presso bench pp32/tg16, {threads} threads:", "",
              "| file | MiB | pp tok/s | tg tok/s | tg vs dense |", "|---|---|---|---|---|"]
    for r in rows:
        base = by["dense-f16" if "f16" in r["file"] else "dense-q4_0"]
        lines.append(f"| {r['file']} | {r['bytes']/2**20:.0f} | {r['pp_tps']:.2f} ± {r['pp_tps_sd']:.2f} | "
                     f"{r['tg_tps']:.2f} ± {r['tg_tps_sd']:.2f} | {r['tg_tps']/base['tg_tps']:.2f}x |")
open(md_out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
