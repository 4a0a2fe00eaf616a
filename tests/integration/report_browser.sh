#!/usr/bin/env bash
# report_browser.sh — the demo study's report in a real headless browser
# (Debian's chromium-headless-shell or chromium): it loads with no console
# message and no network request, every chart is an <svg> with marks in the
# rendered DOM, and screenshots at desktop and phone width have the
# window's size and are not blank.  A page with an external image and a
# console error must fail the same checks (the checks can fail).
# Skipped (exit 77) only when no browser is installed and CI is not set.
source "$(dirname "$0")/lib.bash" "$@"
SRC=$(cd "$SRC" && pwd)

BROWSER=""
for b in chromium-headless-shell chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$b" >/dev/null; then BROWSER=$(command -v "$b"); break; fi
done
if [ -z "$BROWSER" ]; then
    if [ "${CI:-}" = true ]; then
        fail "no headless browser installed (scripts/setup.sh installs chromium-headless-shell for tests)"
        finish
    fi
    echo "SKIP: no headless browser (apt-get install chromium-headless-shell) and CI is not set"
    exit 77
fi
echo "browser: $BROWSER"

# browse PAGE OUTPREFIX [EXTRA FLAGS...]: load PAGE, leave PREFIX.log (stderr
# with console messages) and PREFIX.net (the network log)
browse() {
    local page="$1" prefix="$2"
    shift 2
    timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run \
        --user-data-dir="$(mktemp -d -p "$WORK")" --enable-logging=stderr --v=0 \
        --log-net-log="$prefix.net" "$@" "file://$page" 2>"$prefix.log"
}

# page_problems PREFIX: console messages and network requests of a load
page_problems() {
    grep -h 'CONSOLE' "$1.log"
    grep -Eo '"url":"(https?|wss?|ftp)://[^"]*' "$1.net" | sort -u
}

# svg_problems DOM: charts without marks, one line each; and the count
svg_problems() {
    awk 'BEGIN { RS = "<svg" } NR > 1 {
        body = $0; sub(/<\/svg>.*/, "", body)
        n++
        if (body !~ /<(rect|line|circle|ellipse|path|polyline|polygon)[ \/>]/) print "empty chart " n
    } END { print n + 0 " charts" }' "$1"
}

# png_size FILE: "WIDTH HEIGHT" from the IHDR chunk, or nothing
png_size() {
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || return
    local w h
    w=$(od -An -tu1 -j16 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
    h=$(od -An -tu1 -j20 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
    echo "$w $h"
}

expect_exit 0 "run the demo study" -- "$CXFIT" run "$SRC/configs/demo.ini" -o "$WORK/demo.h5" --quiet
expect_exit 0 "report the demo study" -- "$CXFIT" report "$WORK/demo.h5" -o "$WORK/demo.html"
PAGE="$WORK/demo.html"

# The negative control first: the checks must see what is wrong with it.
cat >"$WORK/bad.html" <<'HTML'
<!DOCTYPE html><html><head><title>bad</title></head><body><svg viewBox="0 0 10 10"></svg>
<img src="http://127.0.0.1:9/x.png"/><script>console.error("boom")</script></body></html>
HTML
browse "$WORK/bad.html" "$WORK/bad" --dump-dom >"$WORK/bad.dom"
problems=$(page_problems "$WORK/bad")
echo "$problems" | grep -q 'boom' && echo "$problems" | grep -q '127.0.0.1' &&
    ok "the checks catch a console error and a network request" ||
    fail "the checks miss the bad page's console error or request: $problems"
svg_problems "$WORK/bad.dom" | grep -q "empty chart" && ok "the checks catch an empty chart" ||
    fail "the checks miss an empty chart"

# The report.
browse "$PAGE" "$WORK/page" --dump-dom >"$WORK/page.dom"
grep -q '</html>' "$WORK/page.dom" && ok "the browser rendered the page" ||
    fail "no DOM from the browser: $(tail -c 400 "$WORK/page.log")"
problems=$(page_problems "$WORK/page")
[ -z "$problems" ] && ok "no console message, no network request" ||
    fail "console messages or network requests: $(echo "$problems" | head -5)"
charts=$(svg_problems "$WORK/page.dom")
echo "$charts" | grep -q "empty chart" && fail "charts without marks: $charts" ||
    ok "every chart has marks ($(echo "$charts" | tail -1))"
n=$(echo "$charts" | tail -1 | cut -d' ' -f1)
[ "$n" -ge 15 ] && ok "$n charts in the demo report" || fail "only $n charts in the demo report"
for title in "Item distributions" "Correlations" "Path diagram" "Standardized loadings" "firm=firm01"; do
    grep -q "aria-label=\"$title" "$WORK/page.dom" && ok "chart '$title' rendered" ||
        fail "no chart '$title' in the DOM"
done
sections=$(grep -c '<section class="job"' "$WORK/page.dom")
[ "$sections" -eq 4 ] && ok "4 job sections in the DOM" || fail "$sections job sections in the DOM"

# Screenshots: the window's size, and far from blank (a blank page is a
# few KB of PNG; the report is hundreds).
for size in 1280,2400 390,1800; do
    shot="$WORK/shot-${size/,/x}.png"
    browse "$PAGE" "$WORK/shot" --window-size="$size" --hide-scrollbars --screenshot="$shot" >/dev/null
    got=$(png_size "$shot" 2>/dev/null)
    [ "$got" = "${size/,/ }" ] && ok "screenshot $size has the window's size" ||
        fail "screenshot $size: size '${got:-no PNG}'"
    bytes=$(stat -c %s "$shot" 2>/dev/null || echo 0)
    [ "$bytes" -gt 40000 ] && ok "screenshot $size is not blank ($bytes bytes)" ||
        fail "screenshot $size looks blank ($bytes bytes)"
done
# Print: the page prints to PDF.
browse "$PAGE" "$WORK/pdf" --print-to-pdf="$WORK/page.pdf" --no-pdf-header-footer >/dev/null
[ "$(head -c 4 "$WORK/page.pdf" 2>/dev/null)" = "%PDF" ] &&
    [ "$(stat -c %s "$WORK/page.pdf")" -gt 40000 ] && ok "the page prints to PDF" ||
    fail "printing to PDF failed: $(tail -c 300 "$WORK/pdf.log")"
finish
