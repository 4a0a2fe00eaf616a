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

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}
