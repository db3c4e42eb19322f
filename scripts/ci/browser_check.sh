#!/usr/bin/env bash
# Loads OUT/report.html in headless Chromium (Debian's `chromium` package) and
# checks that the page loads without errors and every chart renders with a
# size; writes a screenshot next to it (OUT/report.png).
#
#   scripts/ci/browser_check.sh OUT
set -euo pipefail
OUT="${1:?usage: browser_check.sh OUT}"
PAGE="$(cd "$OUT" && pwd)/report.html"
CHROME="${CHROME:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
[ -n "$CHROME" ] || { echo "no Chromium found (apt-get install chromium)" >&2; exit 1; }
PROFILE="$(mktemp -d)"
FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$PROFILE" --window-size=1100,4000)
DOM="$("$CHROME" "${FLAGS[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$PAGE" 2>"$PROFILE/console.log")"
"$CHROME" "${FLAGS[@]}" --screenshot="$OUT/report.png" "file://$PAGE" >/dev/null 2>&1
charts=$(grep -o 'data-charts="[0-9]*"' <<<"$DOM" | grep -o '[0-9]*' || true)
rendered=$(grep -o 'data-charts-rendered="[0-9]*"' <<<"$DOM" | grep -o '[0-9]*' || true)
errors=$(grep -iE 'Uncaught|CONSOLE.*error|SyntaxError|ReferenceError' "$PROFILE/console.log" || true)
rm -rf "$PROFILE"
if [ -n "$errors" ]; then echo "page errors:"; echo "$errors"; exit 1; fi
if [ -z "$charts" ] || [ "$charts" = 0 ] || [ "$charts" != "$rendered" ]; then
  echo "charts: ${charts:-none} rendered: ${rendered:-none}" >&2; exit 1
fi
[ -s "$OUT/report.png" ] || { echo "no screenshot" >&2; exit 1; }
echo "report.html: $charts charts rendered, no errors, screenshot $OUT/report.png"
