#!/usr/bin/env bash
# Configures and builds one flavour of presso, printing its build directory:
#   release  gcc, -O2 (default)
#   asan     clang, debug, AddressSanitizer + UndefinedBehaviorSanitizer, with
#            the libFuzzer targets (their smoke runs are ctest cases)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
flavour="${1:-release}"
case "$flavour" in
  release) dir="$root/build"; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir="$root/build-asan"; args=(-DCMAKE_BUILD_TYPE=Debug -DPRESSO_SANITIZE=ON -DPRESSO_FUZZ=ON -DCMAKE_C_COMPILER=clang) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" >&2
echo "$dir"
