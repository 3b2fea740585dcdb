# Paths the tinystories-656k table scripts share; `source "$(dirname "$0")/lib.sh"`
# after `set -eu`. The first argument of the sourcing script, when given, is
# the presso binary.
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
presso="${1:-$root/build/presso}"
shared="${PRESSO_SHARED_DIR:-$root/../shared}"
model="$shared/models/tinystories-656k"
calib="$shared/data/tinystories/sample.txt"
valid="$shared/data/tinystories/valid.txt"
wiki="$shared/data/wikitext-2/wiki.test.raw"
