#!/usr/bin/env bash
# Acceptance measurement (not a test; ~25 min per side on 2 cores at full length):
# SmolLM2-135M-Instruct Q4_1 on all of wikitext-2 test, -c 512, presso's
# llama-perplexity protocol against llama.cpp's own llama-perplexity binary (or,
# when that is absent, llama.cpp through llama-cpp-python: tests/ppl_llamacpp_check.py).
# Prints both final estimates, the relative difference and each side's wall time,
# and writes a JSON record.
#
# env: PRESSO (CLI, default build/presso), PRESSO_SMOLLM2_GGUF (model),
#      LLAMA_PERPLEXITY (binary), PRESSO_GGUF_PYTHON (python with llama_cpp),
#      PPL_CHUNKS (limit chunks, for a quick check), PPL_THREADS (default: nproc),
#      PPL_CTX (default 512), PPL_TEXT (default ../shared wiki.test.raw),
#      PPL_OUT (default bench/results/ppl_reference.json; ..._chunksN.json when PPL_CHUNKS is set).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$(cd "${PRESSO_SHARED_DIR:-$root/../shared}" && pwd)"
presso="${PRESSO:-$root/build/presso}"
model="${PRESSO_SMOLLM2_GGUF:-$HOME/.cache/presso/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
lp="${LLAMA_PERPLEXITY:-/tmp/lcpp/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin/llama-perplexity}"
py="${PRESSO_GGUF_PYTHON:-$HOME/.cache/presso/venv/bin/python}"
text="${PPL_TEXT:-$shared/data/wikitext-2/wiki.test.raw}"
ctx="${PPL_CTX:-512}"
threads="${PPL_THREADS:-$(nproc)}"
chunks="${PPL_CHUNKS:-}"
if [ -n "$chunks" ]; then out="${PPL_OUT:-$root/bench/results/ppl_reference_chunks$chunks.json}"
else out="${PPL_OUT:-$root/bench/results/ppl_reference.json}"; fi
for f in "$presso" "$model" "$text"; do [ -e "$f" ] || { echo "ppl_reference: missing $f" >&2; exit 1; }; done
mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chunk_args=()
[ -n "$chunks" ] && chunk_args=(--chunks "$chunks")
now() { date +%s.%N; }

echo "model   $model"
echo "text    $text (ctx $ctx, threads $threads${chunks:+, chunks $chunks})"

# presso
t0=$(now)
"$presso" ppl "$model" -f "$text" -c "$ctx" -t "$threads" --protocol llamacpp --json "${chunk_args[@]}" >"$tmp/presso.json"
t1=$(now)
presso_wall=$(python3 -c "print($t1 - $t0)")

# llama.cpp
if [ -x "$lp" ]; then
  ref_kind="llama-perplexity"
  ref_cmd=("$lp" -m "$model" -f "$text" -c "$ctx" -t "$threads" "${chunk_args[@]}")
  t0=$(now)
  "${ref_cmd[@]}" >"$tmp/lp.out" 2>&1 || { tail -20 "$tmp/lp.out" >&2; exit 1; }
  t1=$(now)
  python3 - "$tmp/lp.out" >"$tmp/ref.json" <<'EOF'
import json, re, sys
s = open(sys.argv[1], errors="replace").read()
m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", s)
if not m:
    sys.exit("no 'Final estimate' in llama-perplexity output")
d = {"ppl": float(m.group(1)), "ppl_err": float(m.group(2))}
m = re.search(r"calculating perplexity over (\d+) chunks", s)
if m: d["n_chunks"] = int(m.group(1))
m2 = re.search(r"system_info: (.*)", s)
if m2: d["system_info"] = m2.group(1).strip()
print(json.dumps(d))
EOF
else
  ref_kind="llama-cpp-python"
  "$py" -c 'import llama_cpp' 2>/dev/null || { echo "ppl_reference: no $lp and $py cannot import llama_cpp" >&2; exit 1; }
  ref_cmd=("$py" "$root/tests/ppl_llamacpp_check.py" "$model" "$text" "$ctx" --threads "$threads" "${chunk_args[@]}")
  t0=$(now)
  "${ref_cmd[@]}" >"$tmp/ref.json" 2>"$tmp/ref.err" || { tail -20 "$tmp/ref.err" >&2; exit 1; }
  t1=$(now)
fi
ref_wall=$(python3 -c "print($t1 - $t0)")

python3 - "$tmp/presso.json" "$tmp/ref.json" "$out" "$ref_kind" "$presso_wall" "$ref_wall" "$threads" "$model" "$text" "$ctx" "${chunks:-all}" "$(nproc)" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" "${ref_cmd[*]}" <<'EOF'
import json, sys, os
p, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
out, kind, pw, rw, threads, model, text, ctx, chunks, ncpu, commit, refcmd = sys.argv[3:]
rel = p["ppl"] / r["ppl"] - 1
rec = {
    "model": model, "text": text, "ctx": int(ctx), "chunks": chunks, "threads": int(threads),
    "cpus": int(ncpu), "presso_commit": commit,
    "presso": {"ppl": p["ppl"], "ppl_err": p["ppl_err"], "n_tokens": p["n_tokens"],
               "n_chunks": p["n_chunks"], "n_scored": p.get("n_scored"), "wall_s": float(pw)},
    "reference": dict(r, kind=kind, command=refcmd, wall_s=float(rw)),
    "rel_diff_ppl": rel,
}
print(f"presso            PPL = {p['ppl']:.4f} +/- {p['ppl_err']:.5f}  ({p['n_chunks']} chunks, {p['n_tokens']} tokens)  wall {float(pw):.1f} s")
print(f"{kind:<17} PPL = {r['ppl']:.4f} +/- {r['ppl_err']:.5f}  ({r.get('n_chunks', '?')} chunks, {r.get('n_tokens', '?')} tokens)  wall {float(rw):.1f} s")
print(f"relative difference (presso / llama.cpp - 1): {100 * rel:+.4f}%")
if "n_chunks" in r and r["n_chunks"] != p["n_chunks"]:
    print(f"WARNING: chunk counts differ: presso {p['n_chunks']} vs {kind} {r['n_chunks']}")
with open(out, "w") as f:
    json.dump(rec, f, indent=2)
    f.write("\n")
print(f"wrote {out}")
EOF
