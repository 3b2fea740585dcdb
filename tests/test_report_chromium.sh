#!/usr/bin/env bash
# The report as a browser shows it: Debian's chromium (installed by
# scripts/install_deps.sh) renders the report of the fixture sweep headless.
# The DOM after the page's own script ran must hold the plot (5 points, a
# Pareto front through 3 of them, the baseline) and the table sorted by the
# #sort= address (which clicks a header through the sorting code); the
# screenshot must show the plot: enough non-white pixels, the method colours
# of the points and the front's dark line. Skips (77) only when chromium
# cannot be installed.
set -u
: "${PRESSO:?}" "${PRESSO_SOURCE_DIR:?}"
source "$(dirname "$0")/lib.bash"
find_chromium() { command -v chromium || command -v chromium-browser; }
if ! find_chromium >/dev/null; then
  bash "$PRESSO_SOURCE_DIR/scripts/install_deps.sh" >"$tmp/install.log" 2>&1
  find_chromium >/dev/null || { echo "skipped: chromium cannot be installed: $(tail -2 "$tmp/install.log")"; exit 77; }
fi
chromium=$(find_chromium)
# Headless chromium wants a writable home and no session bus.
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache"
mkdir -p "$HOME"
browse() { timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --user-data-dir="$tmp/profile" "$@" 2>>"$tmp/chromium.err"; }

"$PRESSO" report "$PRESSO_SOURCE_DIR/tests/fixtures/sweep_small.jsonl" -o "$tmp/report.html" --title "fixture sweep" >/dev/null &&
  pass || fail "report"
url="file://$tmp/report.html#sort=6"   # column 6: perplexity on tinystories, ascending

browse --dump-dom "$url" >"$tmp/dom.html"
python3 - "$tmp/dom.html" <<'PY' && pass || fail "DOM: $(head -c 300 "$tmp/dom.html") $(tail -3 "$tmp/chromium.err")"
import re, sys
dom = open(sys.argv[1]).read()
svg = dom[dom.index('id="plot-ppl-0"'):]
svg = svg[:svg.index("</svg>")]
points = re.findall(r'class="pt[ "]', svg)
front = re.search(r'<path class="front" d="(M[^"]*)"', svg)
assert len(points) == 5, f"{len(points)} points"
assert front and front.group(1).count("L") == 2, "front path with 3 vertices"
assert 'class="pt baseline on-front"' in svg and svg.count('class="front-mark"') == 3 + 1  # 3 ringed + legend
# The sort ran: the rows are in increasing perplexity, the failed cell (blank) last.
body = dom[dom.index("<tbody>"):dom.index("</tbody>")]
rows = re.findall(r'<tr class="([^"]*)">(.*?)</tr>', body)
ppl = [re.findall(r'data-v="([^"]*)"', r)[6] for _, r in rows]
assert ppl[-1] == "" and rows[-1][0] == "failed", ppl
vals = [float(v) for v in ppl[:-1]]
assert vals == sorted(vals) and len(vals) == 5, vals
assert 'aria-sort="ascending"' in dom
PY

browse --window-size=1500,1000 --screenshot="$tmp/report.png" "$url" >/dev/null
[ -s "$tmp/report.png" ] && pass || fail "no screenshot: $(tail -3 "$tmp/chromium.err")"
# rtn points are red (#d62728), gptq green (#2ca02c), the front and axes near-black.
python3 "$PRESSO_SOURCE_DIR/tests/png_check.py" "$tmp/report.png" --min-nonwhite 0.02 --min-colors 50 \
  --color d62728:40 --color 2ca02c:40 --color 111111:300 && pass || fail "screenshot looks blank or lacks the plot"
[ -n "${PRESSO_KEEP_SCREENSHOT:-}" ] && cp "$tmp/report.png" "$PRESSO_KEEP_SCREENSHOT"
finish
