# Shared by the shell tests (sourced, not run): a temp dir removed on exit,
# pass/fail counters, expect_error, and the closing "N passed, N failed".
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# expect_error NAME EXPECTED_SUBSTRING CMD...: a non-zero exit that is no
# crash, with the expected text on stderr, and (when set) no file left at
# $no_output_file or its .tmp.
expect_error() {
  local name="$1" want="$2"; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 0 ]; then fail "$name: exit 0"; return; fi
  if [ $rc -ge 128 ]; then fail "$name: crashed (rc $rc)"; return; fi
  if ! grep -qF -- "$want" "$tmp/err"; then fail "$name: stderr lacks '$want': $(head -c 300 "$tmp/err")"; return; fi
  if [ -n "${no_output_file:-}" ] && { [ -e "$no_output_file" ] || [ -e "$no_output_file.tmp" ]; }; then
    fail "$name: left an output file"; rm -f "$no_output_file" "$no_output_file.tmp"; return
  fi
  pass
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
