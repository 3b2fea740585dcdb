#!/usr/bin/env bash
# tools/cli_wait.c: with other processes holding the CPUs, a compute command
# re-executes itself with OMP_WAIT_POLICY=passive (seen in its
# /proc/PID/environ while it runs) and computes the same result; a policy the
# user set is kept.
set -u
: "${PRESSO:?}" "${PRESSO_SHARED_DIR:?}"
shared="$PRESSO_SHARED_DIR"
model="$shared/models/tinystories-656k"
text="$shared/data/wikitext-2/wiki.test.raw"
[ -d "$model" ] && [ -f "$text" ] || { echo "skipped: no ../shared"; exit 77; }
source "$(dirname "$0")/lib.bash"

# Two busy loops (this machine has 2 cores in CI), bounded in time.
busy=()
for _ in 1 2; do timeout 60 sh -c 'while :; do :; done' & busy+=($!); done
trap 'kill "${busy[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.3

# policy_seen ENV...: starts ppl (a few seconds), reads its environment
# after 0.5 s, waits for it; prints "<OMP_WAIT_POLICY or none> <final ppl>".
policy_seen() {
  env "$@" "$PRESSO" ppl "$model" -f "$text" -c 128 --chunks 40 -t 2 >"$tmp/ppl.out" 2>&1 &
  local pid=$! seen
  sleep 0.5
  seen=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^OMP_WAIT_POLICY=//p')
  wait "$pid"
  echo "${seen:-none} $(sed -n 's/^Final estimate: PPL = \([0-9.]*\).*/\1/p' "$tmp/ppl.out")"
}

read -r auto_policy auto_ppl < <(policy_seen PRESSO_TEST=1)
read -r user_policy user_ppl < <(policy_seen OMP_WAIT_POLICY=active)
[ "$auto_policy" = passive ] && pass || fail "busy machine: OMP_WAIT_POLICY is '$auto_policy', want passive"
[ "$user_policy" = active ] && pass || fail "the user's OMP_WAIT_POLICY=active became '$user_policy'"
[ -n "$auto_ppl" ] && [ "$auto_ppl" = "$user_ppl" ] && pass || fail "ppl differs: passive '$auto_ppl', active '$user_ppl'"
echo "busy machine: policy $auto_policy (user's: $user_policy), ppl $auto_ppl = $user_ppl"
finish
