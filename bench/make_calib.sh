#!/usr/bin/env bash
# Self-generated calibration text: N samples drawn from MODEL itself (plain
# sampling: temperature 1, top-p 1, seeds 1..N, each from BOS alone, ended by
# EOS or after LEN tokens), one sample per paragraph. This is the data-free
# calibration of LLM-QAT (Liu et al. 2023, "data generation from the
# pre-trained model"): text in the model's own distribution, as much as wanted,
# and disjoint from any evaluation file by construction (it is not read from
# one). The shared TinyStories sample.txt holds ~900 tokens, fewer than one
# 1536-wide Hessian needs; this is the "disjoint slice" to add to it.
#
# A sample that names its end with a special token the tokenizer decodes as
# text (tinystories-656k's "<|end_story|>") has that marker turned into a
# paragraph break, as evaluation text has no such markers.
#
# usage: bench/make_calib.sh MODEL N LEN OUT.txt [PRESSO]
#   prints OUT.txt's path; writes it atomically (temp file + rename) and keeps
#   an existing OUT.txt that was made with the same MODEL N LEN (see OUT.txt.cmd).
set -eu
[ $# -ge 4 ] || { echo "usage: $0 MODEL N LEN OUT.txt [PRESSO]" >&2; exit 2; }
model="$1" n="$2" len="$3" out="$4"
root="$(cd "$(dirname "$0")/.." && pwd)"
presso="${5:-$root/build/presso}"
case "$n" in '' | *[!0-9]*) echo "make_calib: N must be a positive integer, not '$n'" >&2; exit 2 ;; esac
case "$len" in '' | *[!0-9]*) echo "make_calib: LEN must be a positive integer, not '$len'" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] && [ "$len" -ge 1 ] || { echo "make_calib: N and LEN must be >= 1" >&2; exit 2; }
[ -e "$model" ] || { echo "make_calib: $model: no such model" >&2; exit 1; }
[ -x "$presso" ] || { echo "make_calib: $presso: not built" >&2; exit 1; }
cmd="presso generate $(cd "$(dirname "$model")" && pwd)/$(basename "$model") -n $len --temp 1 --top-p 1 --seed 1..$n (end markers to paragraphs)"
if [ -s "$out" ] && [ "$(cat "$out.cmd" 2>/dev/null)" = "$cmd" ]; then echo "$out"; exit 0; fi
mkdir -p "$(dirname "$out")"
tmp="$(mktemp "$out.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
for seed in $(seq 1 "$n"); do
    "$presso" generate "$model" -n "$len" --temp 1 --top-p 1 --seed "$seed" -t 1 >>"$tmp" 2>/dev/null
    printf '\n\n' >>"$tmp"
done
sed -i 's/<|end_story|>/\n\n/g' "$tmp"
mv "$tmp" "$out"
trap - EXIT
printf '%s\n' "$cmd" >"$out.cmd"
echo "$out"
