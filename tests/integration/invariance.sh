#!/usr/bin/env bash
# invariance.sh — `invariance = configural metric scalar strict` from the
# command line: the job runs, `cxfit show` prints the fit per step and the
# difference tests (the scaled ones for ordered items), and a step name
# typo is a config error (exit 2).
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

# ordered items (WLSMV): the scaled tests are printed
OCFG="$SRC/configs/reference/bfi_wlsmv_invariance.ini"
expect_exit 0 "check bfi_wlsmv_invariance.ini" -- "$CXFIT" check "$OCFG"
expect_exit 0 "run bfi_wlsmv_invariance.ini" -- "$CXFIT" run "$OCFG" -o "$WORK/oinv.h5" -j 2
[ "$(job_attr "$WORK/oinv.h5" bfi_wlsmv_invariance status)" = ok ] && ok "ordinal job ok" || fail "ordinal job not ok"
expect_exit 0 "show the ordinal job" -- "$CXFIT" show "$WORK/oinv.h5" bfi_wlsmv_invariance
expect_stdout "Robust (scaled) fit per step:" "show prints the scaled fit per step"
expect_stdout "Scaled chi-squared difference tests (satorra.2000" "show prints the scaled differences"
expect_stdout "loadings thresholds means" "show prints each step's equalities"
TCFG="$SRC/configs/reference/bfi_wlsmv_invariance_theta.ini"
expect_exit 0 "run bfi_wlsmv_invariance_theta.ini" -- "$CXFIT" run "$TCFG" -o "$WORK/tinv.h5" -j 2
expect_exit 0 "show the theta job" -- "$CXFIT" show "$WORK/tinv.h5" bfi_wlsmv_invariance_theta
expect_stdout "Parameterization" "show names the parameterization"
expect_stdout "loadings thresholds residuals means" "theta runs strict and means"

sed "s#^file  = ../../datasets#file  = $SRC/datasets#; s#^invariance = .*#invariance = configural metrc#" \
    "$CFG" >"$WORK/typo.ini"
expect_exit 2 "a misspelt step" -- "$CXFIT" check "$WORK/typo.ini"
expect_stderr "did you mean 'metric'?" "the error suggests the step"
finish
