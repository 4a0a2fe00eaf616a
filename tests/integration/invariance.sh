#!/usr/bin/env bash
# invariance.sh — `invariance = configural metric scalar strict` from the
# command line: the job runs, `cxfit show` prints the fit per step and the
# difference tests, and a step name typo is a config error (exit 2).
source "$(dirname "$0")/lib.bash" "$@"

CFG="$SRC/configs/reference/hs_invariance.ini"
expect_exit 0 "check hs_invariance.ini" -- "$CXFIT" check "$CFG"
expect_exit 0 "run hs_invariance.ini" -- "$CXFIT" run "$CFG" -o "$WORK/inv.h5" -j 2
[ "$(job_attr "$WORK/inv.h5" hs_invariance status)" = ok ] && ok "job ok" || fail "job not ok"
expect_exit 0 "show the job" -- "$CXFIT" show "$WORK/inv.h5"
expect_stdout "Measurement invariance, fit per step:" "show prints the fit per step"
expect_stdout "Chi-squared difference tests" "show prints the difference tests"
expect_stdout "per-step tables: estimates_configural fit_configural" "overview lists step tables"
expect_exit 0 "show one job" -- "$CXFIT" show "$WORK/inv.h5" hs_invariance
expect_stdout "== step strict ==" "the job's view prints each step's estimates"

sed "s#^file  = ../../datasets#file  = $SRC/datasets#; s#^invariance = .*#invariance = configural metrc#" \
    "$CFG" >"$WORK/typo.ini"
expect_exit 2 "a misspelt step" -- "$CXFIT" check "$WORK/typo.ini"
expect_stderr "did you mean 'metric'?" "the error suggests the step"
finish
