#!/usr/bin/env bash
# report.sh — `cxfit report` and `cxfit show` on every shipped config:
# every job of the demo study and of every config in configs/ (and
# configs/reference/) gets a report section; the page is well-formed XML
# (xmllint) with no external URL, no script and no src=; `show JOB --all`
# prints every string cell of every table whole (no cut values); the
# `show` layout promises: headers, group labels, levels, headline fit,
# invariance printed once, nothing on stdout before an unknown-job error.
source "$(dirname "$0")/lib.bash" "$@"
SRC=$(cd "$SRC" && pwd)

if ! command -v xmllint >/dev/null; then
    if [ "${CI:-}" = true ]; then
        fail "xmllint is not installed (libxml2-utils; scripts/setup.sh installs it for tests)"
        finish
    fi
    echo "SKIP: xmllint is not installed (apt-get install libxml2-utils) and CI is not set"
    exit 77
fi

# String cells of every table of job $2 in results file $1, one per line.
string_cells() {
    h5dump -y -w 0 -g "/$2" "$1" 2>/dev/null | awk '
        /DATASET "/ { ds = $2 != "\"op\""; str = 0; next } # operators head sections
        ds && /H5T_STRING/ { str = 1 }
        ds && str && /DATA \{/ { indata = 1; next }
        indata && /^ *\}$/ { indata = 0; ds = 0; next }
        indata {
            line = $0
            while (match(line, /"[^"\\]*"/)) {
                print substr(line, RSTART + 1, RLENGTH - 2)
                line = substr(line, RSTART + RLENGTH)
            }
        }' | sort -u
}

check_report() { # results.h5 ini label
    local h5="$1" ini="$2" label="$3" html="${1%.h5}.html"
    expect_exit 0 "report $label" -- "$CXFIT" report "$h5" -o "$html"
    [ -f "$html" ] || return
    xmllint --noout "$html" 2>"$WORK/xml.err" && ok "$label: well-formed" ||
        fail "$label: not well-formed: $(head -c 300 "$WORK/xml.err")"
    grep -Eq 'https?://|src=|<script|<link|@import|url\(' "$html" &&
        fail "$label: external reference or script in the page" || ok "$label: self-contained"
    local want got
    want=$(grep -c '^\[job ' "$ini")
    got=$(grep -c '<section class="job" id="job-' "$html")
    [ "$want" -eq "$got" ] && ok "$label: $got job sections" ||
        fail "$label: $got job sections, config has $want jobs"
    for job in $(sed -n 's/^\[job \(.*\)\]$/\1/p' "$ini"); do
        grep -q "<h2>[0-9]*\. $job <span" "$html" || fail "$label: no section for job $job"
        "$CXFIT" show "$h5" "$job" --all >"$WORK/show.txt" 2>"$WORK/show.err" ||
            fail "$label: show $job failed: $(cat "$WORK/show.err")"
        local missing=0
        while IFS= read -r cell; do
            [ -z "$cell" ] && continue
            grep -qF -- "$cell" "$WORK/show.txt" || { missing=$((missing + 1)); echo "  cut or missing: '$cell'"; }
        done < <(string_cells "$h5" "$job")
        [ "$missing" -eq 0 ] && ok "$label: show $job prints every string cell whole" ||
            fail "$label: show $job lacks $missing string cells"
    done
}

for ini in "$SRC"/configs/*.ini "$SRC"/configs/reference/*.ini; do
    name=$(basename "$ini" .ini)
    if "$CXFIT" run "$ini" -o "$WORK/$name.h5" --quiet >/dev/null 2>"$WORK/run.err"; then
        check_report "$WORK/$name.h5" "$ini" "${ini#$SRC/}"
    else
        fail "run ${ini#$SRC/}: $(head -c 300 "$WORK/run.err")"
    fi
done

# show: the layout promises of issue 20
R="$WORK"
"$CXFIT" show "$R/hs_mg_metric_mlr.h5" hs_mg_metric_mlr >"$WORK/out" 2>&1
for want in "Estimator" "MLR" "Robust.huber.white" "Group 1 [Pasteur]" "Group 2 [Grant-White]" \
    "Model Test User Model" "Scaled" "Latent Variables:" "Intercepts:" "Variances:" \
    "Optimizer iterations" "cfi.robust"; do
    grep -qF -- "$want" "$WORK/out" && ok "show MLR multi-group prints '$want'" ||
        fail "show MLR multi-group lacks '$want'"
done
grep -q '^    gfi ' "$WORK/out" && fail "show prints all fit measures without --all" ||
    ok "show prints the headline fit measures by default"
"$CXFIT" show "$R/hs_mg_metric_mlr.h5" hs_mg_metric_mlr --all >"$WORK/out"
grep -q '^    gfi ' "$WORK/out" && ok "show --all prints every fit measure" ||
    fail "show --all lacks gfi"
"$CXFIT" show "$R/poldem_defined.h5" poldem_defined >"$WORK/out"
grep -q "Defined Parameters:" "$WORK/out" && ok "show groups defined parameters" ||
    fail "show lacks Defined Parameters"
"$CXFIT" show "$R/exq_invariance.h5" exq_invariance >"$WORK/inv"
n_conf=$(grep -c "== step configural" "$WORK/inv")
[ "$n_conf" -eq 1 ] && ok "invariance: the configural model is printed once" ||
    fail "invariance: configural printed $n_conf times"
grep -q "== step metric ==" "$WORK/inv" && ok "invariance: later steps are printed" ||
    fail "invariance: no metric step"
grep -q "<h3>Measurement invariance</h3>" "$WORK/exq_invariance.html" &&
    grep -q "<td>metric</td><td>loadings</td>" "$WORK/exq_invariance.html" &&
    ok "report: invariance fit table" || fail "report: no invariance fit table"
grep -q 'aria-label="Path diagram' "$WORK/poldem_sem.html" &&
    grep -q 'aria-label="Regression coefficients' "$WORK/poldem_sem.html" &&
    ok "report: path diagram and coefficient plot of a SEM" || fail "report: SEM charts missing"
grep -q "Group 2 \[Grant-White\]" "$WORK/hs_mg_metric.html" && ok "report: group labels" ||
    fail "report: no group labels"

# a `by` job: every level's block is headed by its level
cat >"$WORK/by.ini" <<INI
[data]
file  = $SRC/datasets/HolzingerSwineford1939.h5
table = /data

[job cfa_by_school]
model  = cfa
by     = school
syntax = visual =~ x1 + x2 + x3
         textual =~ x4 + x5 + x6
INI
expect_exit 0 "run a cfa with by" -- "$CXFIT" run "$WORK/by.ini" -o "$WORK/by.h5" --quiet
"$CXFIT" show "$WORK/by.h5" cfa_by_school >"$WORK/out"
for level in Pasteur Grant-White; do
    grep -q -- "^-- level school=$level (.* observations) --" "$WORK/out" &&
        ok "show heads level $level" || fail "show: no heading for level $level"
done
check_report "$WORK/by.h5" "$WORK/by.ini" "cfa by school"
grep -q "school=Grant-White" "$WORK/by.html" && ok "report names the levels" ||
    fail "report does not name the levels"

# an unknown job: the error, and nothing on stdout before it
expect_exit 2 "show an unknown job" -- "$CXFIT" show "$R/demo.h5" nojob
[ -s "$WORK/stdout" ] && fail "show nojob printed to stdout: $(head -c 200 "$WORK/stdout")" ||
    ok "show nojob prints nothing on stdout"
expect_stderr "no job 'nojob'" "show nojob names the problem"
expect_exit 3 "report of a missing file" -- "$CXFIT" report "$WORK/none.h5" -o "$WORK/none.html"
[ -e "$WORK/none.html" ] || [ -e "$WORK/none.html.tmp" ] && fail "a failed report left a file" ||
    ok "a failed report leaves no file"
expect_exit 2 "report without -o" -- "$CXFIT" report "$R/demo.h5"
finish
