# lib.sh — shared helpers for the integration tests (sourced, not run).
# Each test is called as: bash TEST.sh PATH/TO/cxfit SOURCE_DIR
set -uo pipefail
CXFIT="$1"
SRC="$2"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cxfit-it.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export CXFIT_PROGRESS=0
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# expect_exit CODE DESCRIPTION -- COMMAND...: run, compare the exit status,
# keep stderr in $WORK/stderr for later checks.
expect_exit() {
    local want="$1" what="$2"
    shift 3
    "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$what: exit $got, expected $want; stderr: $(head -c 400 "$WORK/stderr")"
    else
        ok "$what (exit $got)"
    fi
}

# expect_stderr FRAGMENT DESCRIPTION: the last command's stderr contains FRAGMENT
expect_stderr() {
    if grep -qF -- "$1" "$WORK/stderr"; then ok "$2"; else
        fail "$2: stderr lacks '$1': $(head -c 400 "$WORK/stderr")"
    fi
}

expect_stdout() {
    if grep -qF -- "$1" "$WORK/stdout"; then ok "$2"; else
        fail "$2: stdout lacks '$1': $(head -c 400 "$WORK/stdout")"
    fi
}

# job_attr FILE JOB ATTR: print a job attribute of a results file
job_attr() {
    h5dump -a "/$2/$3" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | tr -d '"' | head -n1
}

# small_panel: the small simulated panel the run tests share ($WORK/panel.h5).
small_panel() {
    "$CXFIT" simulate "$WORK/panel.h5" --firms 3 --waves 2 --respondents 40 --seed 5 2>/dev/null ||
        fail "simulate"
}

# four_job_study FILE: a study on that panel touching every path of a run:
# describe, nps by firm x wave, a cfa, and a job reading nps_by_firm's table.
four_job_study() {
    cat >"$1" <<INI
[data]
file  = panel.h5
table = /responses
[job items]
model = describe
items = pex1 pex2 pex3
[job nps_by_firm]
model = nps
score = ltr
by    = firm wave
[job cfa]
model  = cfa
syntax = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
[job nps_desc]
model = describe
table = @nps_by_firm/nps
items = nps
INI
}

# expect_same_results A B WHAT: the results files agree to 1e-10 relative
# (h5diff), apart from elapsed times and the run's provenance attributes.
expect_same_results() {
    h5diff -p 1e-10 "$1" "$2" >"$WORK/diff" 2>&1
    local others
    others=$(grep '^attribute:' "$WORK/diff" | grep -v -e '<elapsed_s of' -e '<threads of </>>' \
        -e '<created of </>>' -e '<ranks of </>>' | wc -l)
    if [ "$others" -eq 0 ] && ! grep -q '^dataset' "$WORK/diff"; then ok "$3 (1e-10)"; else
        fail "$3: files differ: $(head -c 600 "$WORK/diff")"
    fi
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}
