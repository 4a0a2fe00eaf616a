#!/usr/bin/env bash
# loyalty.sh — the logistic families on 160k simulated responses (three row
# blocks, so threads split the passes and the design cache holds several
# blocks): with validation, weights and HC3 SEs, -j 1 and -j 2 write the
# same results (1e-10), and every job converges and writes its tables.
source "$(dirname "$0")/lib.bash" "$@"

"$CXFIT" simulate "$WORK/sim.h5" --firms 4 --waves 2 --respondents 20000 --seed 5 2>/dev/null ||
    fail "simulate"
cat >"$WORK/l.ini" <<INI
[data]
file  = $WORK/sim.h5
table = /responses

[job logit]
model    = logit
formula  = segment ~ pex1 + pex2 + out1 + factor(wave)
where    = segment != "premium"
se       = hc3
validate = kfold(3)

[job ologit]
model    = ologit
formula  = factor(sat) ~ pex1 + out1 + segment
weights  = weight
validate = holdout(wave == 2)

[job mlogit]
model    = mlogit
formula  = segment ~ pex1 + out1 + ltr
se       = hc1
validate = kfold(2)
INI
cd "$WORK" || exit 1
expect_exit 0 "check" -- "$CXFIT" check l.ini
expect_exit 0 "run -j 1" -- "$CXFIT" run l.ini -o j1.h5 -j 1
expect_exit 0 "run -j 2" -- "$CXFIT" run l.ini -o j2.h5 -j 2
expect_same_results j1.h5 j2.h5 "-j 1 and -j 2 give the same results"
# the stage rule for large tables (engine/run.c): the three jobs one at a
# time with both threads instead of sharing them out
CXFIT_TEST_LARGE_ROWS=1 expect_exit 0 "run -j 2, jobs as large" -- "$CXFIT" run l.ini -o jl.h5 -j 2
expect_same_results j1.h5 jl.h5 "-j 1 and -j 2 with one job at a time give the same results"
for job in logit ologit mlogit; do
    [ "$(job_attr j2.h5 "$job" status)" = ok ] && ok "$job converged" ||
        fail "$job status: $(job_attr j2.h5 "$job" status)"
    h5ls "j2.h5/$job/validation" >/dev/null 2>&1 && ok "$job validation table" ||
        fail "$job: no validation table"
done
finish
