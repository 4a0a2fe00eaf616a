#!/usr/bin/env bash
# status.sh — fits that go wrong say so in the job's status and message,
# never silently: non-convergence, an unidentified model (naming the
# parameter), a non-positive-definite latent covariance matrix; and the
# other jobs of the batch are still written.
source "$(dirname "$0")/lib.bash" "$@"
HS="$SRC/datasets/HolzingerSwineford1939.h5"

cat >"$WORK/status.ini" <<INI
[data]
file  = $HS
table = /data

[job stopped_early]
model    = cfa
max_iter = 2
syntax   = visual =~ x1 + x2 + x3
           textual =~ x4 + x5 + x6

[job unidentified]
model  = cfa
syntax = visual =~ x1 + x2

[job not_positive_definite]
model  = cfa
syntax = a =~ x4 + x5
         b =~ x6 + x7

[job inequality]
model  = cfa
syntax = visual =~ x1 + a*x2 + x3
         a > 0.3

[job fine]
model  = cfa
syntax = visual =~ x1 + x2 + x3
INI

expect_exit 1 "batch with troubled fits" -- "$CXFIT" run "$WORK/status.ini" -o "$WORK/s.h5"
R="$WORK/s.h5"
[ "$(job_attr "$R" stopped_early status)" = not_converged ] && ok "max_iter reached: not_converged" ||
    fail "stopped_early status: $(job_attr "$R" stopped_early status)"
job_attr "$R" stopped_early message | grep -q "did not converge after 2 iterations" &&
    ok "non-convergence says after how many iterations" || fail "stopped_early message"
expect_stderr "1 not converged" "the run's last line counts non-converged jobs"
[ "$(job_attr "$R" unidentified status)" = failed ] && ok "unidentified model failed" ||
    fail "unidentified status: $(job_attr "$R" unidentified status)"
job_attr "$R" unidentified message | grep -q "'visual =~ x2'.* not identified" &&
    ok "unidentified names the parameter" || fail "unidentified message: $(job_attr "$R" unidentified message)"
[ "$(job_attr "$R" not_positive_definite status)" = ok ] && ok "improper solution still reported" ||
    fail "not_positive_definite status"
job_attr "$R" not_positive_definite message | grep -q "not positive definite" &&
    ok "improper solution flagged in the message" || fail "psi warning missing"
job_attr "$R" inequality message | grep -q "'a > 0.3' is not supported yet" &&
    ok "an unsupported constraint fails the job, never silently dropped" ||
    fail "inequality message: $(job_attr "$R" inequality message)"
[ "$(job_attr "$R" fine status)" = ok ] && ok "the good job is written" || fail "fine status"
expect_exit 0 "show" -- "$CXFIT" show "$R" stopped_early
expect_stdout "not_converged" "show prints the status"
finish
