#!/usr/bin/env bash
# import_simulate.sh — `cxfit import` and `cxfit simulate` from the shell:
# exit statuses (0 ok, 2 bad input, 3 unreadable file), one-line messages
# naming file and line, and no partial output after a failure.
# Usage: import_simulate.sh CXFIT SOURCE_DIR (run by ctest)
set -uo pipefail
cxfit=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

expect() { # expect STATUS PATTERN COMMAND...
    local want=$1 pattern=$2; shift 2
    "$@" 2>err.txt; local got=$?
    [ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(cat err.txt)"
    grep -q -- "$pattern" err.txt || fail "$*: message lacks '$pattern': $(cat err.txt)"
}

printf 'a,b,c,d,e,f\n1,2,3,4,5,6\n1,2,3,4,5\n' > ragged.csv
expect 2 "ragged.csv line 3: 5 fields, expected 6 (header has 6 columns)" \
    "$cxfit" import ragged.csv out.h5
[ ! -e out.h5 ] && [ ! -e out.h5.tmp ] || fail "a failed import left a file"

printf 'q1,seg\n1,x\nNA,y\n' > ok.csv
expect 0 "wrote table /data of out.h5" "$cxfit" import ok.csv out.h5
expect 0 "wrote table /more" "$cxfit" import ok.csv out.h5 --table /more
expect 2 "'/data' already exists" "$cxfit" import ok.csv out.h5
expect 3 "nope.csv" "$cxfit" import nope.csv other.h5

expect 0 "wrote s.h5" "$cxfit" simulate s.h5 --firms 2 --waves 3 --respondents 10 --seed 3
expect 2 "already exists" "$cxfit" simulate s.h5
expect 2 "at least 1" "$cxfit" simulate t.h5 --firms 0
[ ! -e t.h5 ] && [ ! -e t.h5.tmp ] || fail "a refused simulate left a file"
expect 2 "expects a whole number" "$cxfit" simulate t.h5 --seed x
echo "import_simulate: ok"
