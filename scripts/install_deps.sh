#!/usr/bin/env bash
# Installs the Debian packages presso builds with, only those missing.
set -euo pipefail
packages=(build-essential cmake pkg-config libopenblas-dev liblapacke-dev libcjson-dev clang libclang-rt-14-dev libomp-14-dev python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# A cmake from pip/pyenv is as good as Debian's.
if [[ " ${missing[*]-} " == *" cmake "* ]] && command -v cmake >/dev/null 2>&1; then
  missing=("${missing[@]/cmake}")
fi
missing=($(printf '%s\n' "${missing[@]-}" | grep -v '^$' || true))
if ((${#missing[@]})); then
  echo "presso: installing ${missing[*]} with apt-get" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Optional: Debian's chromium renders the HTML report headless in
# tests/test_report_chromium.sh (which skips, exit 77, only when it cannot be
# installed). A failure here is a warning, not a failed setup.
if ! command -v chromium >/dev/null 2>&1; then
  echo "presso: installing chromium with apt-get (for the report render test)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
    echo "presso: warning: chromium could not be installed; the report render test will be skipped" >&2
  fi
fi
