# Calibration and held-out text for the tinystories-656k tables
# (awq_table.sh, lowbit_table.sh); `source` it after lib.sh. Sets
#   calib    sample.txt (~900 tokens, disjoint from valid.txt) followed by the
#            first half of the model's own generated text
#   heldout  the second half of that generated text: for choosing settings
#            without looking at an evaluation text
#   calib_desc  one line for the tables' headers
# The generated text is bench/make_calib.sh MODEL 512 256 (LLM-QAT's
# data-free calibration: 512 samples of <= 256 tokens, seeds 1..512,
# temperature 1), made once under ~/.cache/presso/calib (CALIB_GEN overrides
# the file; CALIB / HELDOUT override the results). The split is at the first
# empty line at or after the file's middle line, so no sample is cut in two
# except where a sample itself holds an empty line.
cache="${PRESSO_CACHE:-$HOME/.cache/presso}/calib"
gen="${CALIB_GEN:-$cache/ts656k-gen512x256.txt}"
if [ -z "${CALIB:-}" ] || [ -z "${HELDOUT:-}" ]; then
  [ -s "$gen" ] || "$root/bench/make_calib.sh" "$model" 512 256 "$gen" "$presso" >/dev/null
  gen_lines=$(wc -l <"$gen")
  split_line=$(awk -v h="$((gen_lines / 2))" 'NR >= h && $0 == "" {print NR; exit}' "$gen")
  mkdir -p "$cache"
  if [ -z "${CALIB:-}" ]; then
    CALIB="$cache/ts656k-sample+gen1-$((split_line - 1)).txt"
    { cat "$calib" && echo && head -n "$((split_line - 1))" "$gen"; } >"$CALIB.tmp" && mv "$CALIB.tmp" "$CALIB"
  fi
  if [ -z "${HELDOUT:-}" ]; then
    HELDOUT="$cache/ts656k-gen$((split_line + 1))-$gen_lines.txt"
    tail -n "+$((split_line + 1))" "$gen" >"$HELDOUT.tmp" && mv "$HELDOUT.tmp" "$HELDOUT"
  fi
  calib_desc="tinystories/sample.txt + lines 1-$((split_line - 1)) of $(basename "$gen") (bench/make_calib.sh tinystories-656k 512 256)"
  heldout_desc="lines $((split_line + 1))-$gen_lines of $(basename "$gen") (not calibrated on)"
else
  calib_desc="$CALIB"
  heldout_desc="$HELDOUT"
fi
calib="$CALIB"
heldout="$HELDOUT"
