# KL divergence from a reference model, as the quantization tables measure it
# (ppl --kl-divergence-base / --kl-divergence, llama-perplexity's protocol and
# file format). `source` it; the functions use $presso and $threads, and
# KLD_NICE (a niceness, default 0) for both.
#
#   kld_base REF TEXT CHUNKS OUT   the reference's log-probabilities of TEXT's
#                                  scored tokens (-c 128, llamacpp protocol;
#                                  CHUNKS 0 = the whole text) saved to OUT
#   kld_ppl_json MODEL BASE        MODEL's ppl --json on BASE's own tokens, with
#                                  its "kld" object (KL divergence, same top, ...)
kld_base() {
  local chunks=()
  [ "$3" != 0 ] && chunks=(--chunks "$3")
  nice -n "${KLD_NICE:-0}" "$presso" ppl "$1" -f "$2" -c 128 --protocol llamacpp -t "$threads" "${chunks[@]}" \
    --kl-divergence-base "$4" >/dev/null 2>&1
}

kld_ppl_json() {
  nice -n "${KLD_NICE:-0}" "$presso" ppl "$1" --kl-divergence-base "$2" --kl-divergence -t "$threads" --json \
    2>/dev/null
}
