#!/usr/bin/env bash
# presso runtime benchmark: model x type x threads -> pp tok/s, tg tok/s, peak RSS,
# with llama.cpp's llama-bench run on the same GGUF file, same threads, right after
# (or right before) presso, so that machine load affects both alike.
#
#   bench/run_bench.sh [--quick] [--reps N] [--rounds K] [--n-1b N] [--p-1b N] [--threads "1 2"]
#                      [--only REGEX] [--out FILE] [--md FILE]
#
# --rounds K runs each (model, threads) K times, presso and llama-bench
# alternating (ABAB.., the first tool swapping per round), and reports mean ± sd
# over all K x reps timings; --only keeps the models whose "label type" matches
# the extended regex (e.g. 'synth-1b (q4_0|q4_K|q8_0)').
#
# Environment:
#   PRESSO        presso binary            (default: build/presso; built with scripts/build.sh if absent)
#   PRESSO_COMMIT commit to record for it  (default: this checkout's HEAD, -dirty if src/ has edits)
#   LLAMA_BENCH   llama.cpp's llama-bench  (default: the vendored llama-cpp-python build if present)
#   PRESSO_CACHE  cache dir; converted and synthetic models go to $PRESSO_CACHE/bench
#                 (default: ~/.cache/presso)
#   SHARED        shared models dir        (default: ../shared next to the repo)
#
# Never fails on a timing: a missing model, a failing tool or a missing llama-bench
# becomes a note in the table and in the JSON. See bench/README.md for the protocol.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

quick=0
reps=3
n_prompt=128
n_gen=64
n_gen_1b=""
n_prompt_1b=""
rounds=1
only=""
threads="1 2"
out="$here/results/runtime.json"
md_out=""

usage() { sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --reps) reps="$2"; shift ;;
    --n-1b) n_gen_1b="$2"; shift ;;
    --p-1b) n_prompt_1b="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --only) only="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --out) out="$2"; shift ;;
    --md) md_out="$2"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run_bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [ "$quick" = 1 ]; then
    reps=2
fi
n_gen_1b=${n_gen_1b:-$n_gen}
n_prompt_1b=${n_prompt_1b:-$n_prompt}
for v in "$reps" "$rounds" "$n_gen_1b" "$n_prompt_1b"; do
    case "$v" in '' | *[!0-9]*) echo "run_bench.sh: --reps, --rounds, --n-1b and --p-1b need numbers" >&2; exit 2 ;; esac
done
[ "$rounds" -ge 1 ] || { echo "run_bench.sh: --rounds must be at least 1" >&2; exit 2; }

shared=${SHARED:-$root/../shared}
cache=${PRESSO_CACHE:-$HOME/.cache/presso}/bench
presso=${PRESSO:-$root/build/presso}
default_lb=/tmp/lcpp/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin/llama-bench
llama_bench=${LLAMA_BENCH:-}
if [ -z "$llama_bench" ] && [ -x "$default_lb" ]; then llama_bench=$default_lb; fi
# llama.cpp's llama-quantize makes the Q4_0 / Q4_K 1B files (both tools then run the same file).
llama_quantize=${LLAMA_QUANTIZE:-}
if [ -z "$llama_quantize" ] && [ -n "$llama_bench" ] && [ -x "$(dirname "$llama_bench")/llama-quantize" ]; then
    llama_quantize=$(dirname "$llama_bench")/llama-quantize
fi

if [ ! -x "$presso" ]; then
    echo "== presso not found at $presso; building (scripts/build.sh release)" >&2
    (cd "$root" && scripts/build.sh release >&2) || { echo "run_bench.sh: build failed" >&2; exit 1; }
    presso=$root/build/presso
fi
lb_note=""
if [ -z "$llama_bench" ] || [ ! -x "$llama_bench" ]; then
    lb_note="llama-bench not found (${llama_bench:-LLAMA_BENCH unset}); llama.cpp columns skipped"
    echo "== $lb_note" >&2
    llama_bench=""
fi

mkdir -p "$cache" "$(dirname "$out")"
work=$(mktemp -d "${TMPDIR:-/tmp}/presso-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
manifest=$work/manifest.tsv
notes=$work/notes.txt
: >"$manifest"
: >"$notes"
[ -n "$lb_note" ] && echo "$lb_note" >>"$notes"

note() { echo "== $*" >&2; echo "$*" >>"$notes"; }

free_gb() { df -Pk "$1" | awk 'NR==2 { printf "%d", $4 / 1048576 }'; }

# ---- models: label|type|path|is_gguf|n_gen|n_prompt --------------------------
models=$work/models.txt
: >"$models"
add_model() { # label type path n_gen [n_prompt]
    local gguf=0
    case "$3" in *.gguf) gguf=1 ;; esac
    if [ -n "$only" ] && ! printf '%s %s\n' "$1" "$2" | grep -Eq -- "$only"; then return 0; fi
    if [ -e "$3" ]; then
        printf '%s|%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$gguf" "$4" "${5:-$n_prompt}" >>"$models"
    else
        note "skipped $1 $2: $3 not found"
    fi
}

s260=$shared/models/stories260K
add_model stories260K "f32 (llama2.c .bin)" "$s260/stories260K.bin" "$n_gen"
add_model stories260K "f32 (llama.cpp GGUF)" "$s260/gguf-by-llama.cpp/stories260K-f32.gguf" "$n_gen"
add_model stories260K "f16 (llama.cpp GGUF)" "$s260/gguf-by-llama.cpp/stories260K-f16.gguf" "$n_gen"

ts656=$shared/models/tinystories-656k
if [ -d "$ts656" ]; then
    add_model tinystories-656k "f32 (HF safetensors)" "$ts656" "$n_gen"
    for t in f32 f16; do
        f=$cache/tinystories-656k-$t.gguf
        if [ ! -s "$f" ]; then
            echo "== converting tinystories-656k -> $f" >&2
            "$presso" convert "$ts656" "$f" --type "$t" >&2 || note "presso convert tinystories-656k --type $t failed"
        fi
        add_model tinystories-656k "$t (presso GGUF)" "$f" "$n_gen"
    done
else
    note "skipped tinystories-656k: $ts656 not found"
fi

if [ "$quick" = 0 ]; then
    for t in f32 f16; do
        f=$cache/synth-1b-$t.gguf
        need=5
        [ "$t" = f16 ] && need=3
        if [ ! -s "$f" ]; then
            if [ "$(free_gb "$cache")" -lt $((need + 2)) ]; then
                note "skipped synth-1b $t: needs ~${need} GB, $(free_gb "$cache") GB free in $cache"
                continue
            fi
            echo "== generating synthetic 1B-class model -> $f" >&2
            "$presso" synth --dim 2048 --hidden 5632 --layers 22 --heads 32 --kv-heads 4 \
                --vocab 32000 --type "$t" -o "$f" >&2 || { note "presso synth --type $t failed"; continue; }
        fi
        add_model synth-1b "$t (presso synth)" "$f" "$n_gen_1b" "$n_prompt_1b"
    done
    # Block types of the same weights: Q8_0 by presso convert, Q4_0 and Q4_K
    # (llama.cpp's Q4_K_M mix: Q6_K output and half of attn_v/ffn_down) by
    # llama-quantize; the quantized file is what both tools run.
    f32=$cache/synth-1b-f32.gguf
    for t in q4_0 q4_K q8_0; do
        f=$cache/synth-1b-$(echo "$t" | tr 'K' 'k').gguf
        if [ ! -s "$f" ] && [ -s "$f32" ]; then
            echo "== quantizing synth-1b -> $f" >&2
            if [ "$t" = q8_0 ]; then
                "$presso" convert "$f32" "$f" --type q8_0 >&2 || note "presso convert synth-1b --type q8_0 failed"
            elif [ -n "$llama_quantize" ]; then
                "$llama_quantize" "$f32" "$f.tmp" "$(echo "$t" | tr 'a-z' 'A-Z')" >"$work/quantize.log" 2>&1 &&
                    mv "$f.tmp" "$f" || { rm -f "$f.tmp"; note "llama-quantize synth-1b $t failed"; }
            fi
        fi
        who="llama-quantize"
        [ "$t" = q8_0 ] && who="presso convert"
        add_model synth-1b "$t ($who)" "$f" "$n_gen_1b" "$n_prompt_1b"
    done
    [ "$n_gen_1b" != "$n_gen" ] && note "synth-1b rows use -n $n_gen_1b (not $n_gen) to fit the time budget"
    [ "$n_prompt_1b" != "$n_prompt" ] && note "synth-1b rows use -p $n_prompt_1b (not $n_prompt) to fit the time budget"
fi

# ---- machine info ---------------------------------------------------------
{
    echo "cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
    echo "nproc=$(nproc)"
    echo "mem_total_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    # PRESSO_COMMIT names the source of a binary built elsewhere (e.g. a clean export of HEAD).
    echo "presso_commit=${PRESSO_COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD -- src include tools 2>/dev/null || echo -dirty)}"
    echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "reps=$reps"
    echo "n_prompt=$n_prompt"
    echo "n_gen=$n_gen"
    echo "n_gen_1b=$n_gen_1b"
    echo "n_prompt_1b=$n_prompt_1b"
    echo "rounds=$rounds"
    echo "llama_bench=$llama_bench"
    echo "quick=$quick"
} >"$work/machine.txt"

# ---- memory bandwidth (stdlib-only, no C) ---------------------------------
# dd: the kernel fills a 1 GiB user buffer from /dev/zero (clear_user) eight
# times and /dev/null discards it, so this is a write (memset-like) bandwidth.
echo "== memory bandwidth: dd and a python3 1 GiB copy" >&2
dd if=/dev/zero of=/dev/null bs=1G count=8 2>"$work/dd.txt" || true
python3 "$here/table.py" copybw >"$work/copybw.json" 2>/dev/null || echo '{}' >"$work/copybw.json"
# STREAM-like read at each thread count (bench/membw.c): the decode bound.
echo "== memory bandwidth: bench/membw.c read, threads $threads" >&2
if ${CC:-cc} -O2 -march=native -fopenmp "$here/membw.c" -o "$work/membw" 2>"$work/membw.err"; then
    # shellcheck disable=SC2086 # word splitting of the thread list is intended
    "$work/membw" 1024 $threads >"$work/membw.json" 2>>"$work/membw.err" || note "membw failed: $(tail -1 "$work/membw.err")"
else
    note "could not compile bench/membw.c: $(tail -1 "$work/membw.err")"
fi

# ---- the runs -------------------------------------------------------------
run_presso() { # id path threads ngen nprompt
    "$presso" bench "$2" -t "$3" -p "$5" -n "$4" -r "$reps" --json \
        >"$work/$1.presso.json" 2>"$work/$1.presso.err"
    echo $? >"$work/$1.presso.rc"
}
run_llama() { # id path threads ngen nprompt
    [ -z "$llama_bench" ] && return 0
    # /usr/bin/time -f %M gives llama-bench's peak RSS in KiB (when present).
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f 'maxrss_kb=%M' -o "$work/$1.llama.rss" \
            "$llama_bench" -m "$2" -t "$3" -p "$5" -n "$4" -r "$reps" -o json \
            >"$work/$1.llama.json" 2>"$work/$1.llama.err"
    else
        "$llama_bench" -m "$2" -t "$3" -p "$5" -n "$4" -r "$reps" -o json \
            >"$work/$1.llama.json" 2>"$work/$1.llama.err"
    fi
    echo $? >"$work/$1.llama.rc"
}

i=0
while IFS='|' read -r label type path gguf ngen nprompt; do
    "$presso" info "$path" --json >"$work/info.$i.json" 2>/dev/null || echo '{}' >"$work/info.$i.json"
    for t in $threads; do
        base=r$i.t$t
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$base" "$label" "$type" "$t" "$path" "$gguf" "$ngen" \
            "$nprompt" "$rounds" >>"$manifest"
        cp "$work/info.$i.json" "$work/$base.info.json"
        for k in $(seq 1 "$rounds"); do
            id=$base.k$k
            echo "== $label $type -t $t (-p $nprompt -n $ngen -r $reps) round $k/$rounds" >&2
            # Alternate which tool goes first (ABBA) so a load drift hits both.
            if [ "$gguf" = 1 ] && [ $(((i + t + k) % 2)) = 1 ]; then
                run_llama "$id" "$path" "$t" "$ngen" "$nprompt"
                run_presso "$id" "$path" "$t" "$ngen" "$nprompt"
            else
                run_presso "$id" "$path" "$t" "$ngen" "$nprompt"
                [ "$gguf" = 1 ] && run_llama "$id" "$path" "$t" "$ngen" "$nprompt"
            fi
        done
    done
    i=$((i + 1))
done <"$models"

echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/machine.txt"

python3 "$here/table.py" report "$work" "$out" ${md_out:+"$md_out"}
