#!/usr/bin/env bash
# batch.sh — a whole run: jobs in one results file, a failing job does not
# lose the others, config errors stop everything, --force and --resume.
source "$(dirname "$0")/lib.bash" "$@"

"$CXFIT" simulate "$WORK/panel.h5" --firms 4 --waves 3 --respondents 60 --seed 3 2>/dev/null ||
    fail "simulate"

cat >"$WORK/study.ini" <<INI
[data]
file  = panel.h5
table = /responses

[output]
file = results.h5

[job items]
model = describe
items = pex1 pex2 pex3 ltr

[job empty]
model = describe
items = pex1 pex2
where = wave > 1000          # no rows: this job fails, the others do not

[job nps_by_firm]
model = nps
score = ltr
by    = firm wave
INI

expect_exit 0 "check of a valid config" -- "$CXFIT" check "$WORK/study.ini"
expect_exit 1 "run with one failing job" -- "$CXFIT" run "$WORK/study.ini"
R="$WORK/results.h5"
[ -f "$R" ] && ok "results file written" || fail "no results file"
[ -e "$R.tmp" ] && fail "temporary file left behind" || ok "no temporary file left"
[ "$(job_attr "$R" items status)" = ok ] && ok "job items ok" || fail "job items status: $(job_attr "$R" items status)"
[ "$(job_attr "$R" empty status)" = failed ] && ok "job empty failed" || fail "job empty status: $(job_attr "$R" empty status)"
[ -n "$(job_attr "$R" empty message)" ] && ok "failed job says why" || fail "failed job has no message"
[ "$(job_attr "$R" nps_by_firm status)" = ok ] && ok "job after the failure still ran" || fail "nps_by_firm status"
expect_exit 0 "show" -- "$CXFIT" show "$R"
expect_stdout "nps_by_firm" "show lists the jobs"

# An existing results file is not overwritten without --force.
expect_exit 2 "run again without --force" -- "$CXFIT" run "$WORK/study.ini"
expect_stderr "--force" "refusal says how to overwrite"
expect_exit 2 "--force and --resume together" -- "$CXFIT" run "$WORK/study.ini" --force --resume

# Config errors: exit 2, one line naming file, line and key, nothing written.
sed 's/^items = pex1 pex2 pex3 ltr/itmes = pex1 pex2 pex3 ltr/' "$WORK/study.ini" >"$WORK/typo.ini"
expect_exit 2 "misspelt key" -- "$CXFIT" run "$WORK/typo.ini" -o "$WORK/typo.h5"
expect_stderr "typo.ini:10" "error names file and line"
expect_stderr "did you mean 'items'" "error suggests the key"
[ -e "$WORK/typo.h5" ] && fail "config error wrote a results file" || ok "config error writes nothing"
sed 's/^items = pex1 pex2 pex3 ltr/items = pex1 pex9/' "$WORK/study.ini" >"$WORK/col.ini"
expect_exit 2 "unknown column" -- "$CXFIT" check "$WORK/col.ini"
expect_stderr "pex9" "error names the column"

# Interrupted run: no results file, the .tmp keeps finished jobs, --resume finishes.
rm -f "$R"
CXFIT_TEST_INTERRUPT_AFTER=1 "$CXFIT" run "$WORK/study.ini" >/dev/null 2>&1
code=$?
[ "$code" -ne 0 ] && ok "interrupted run died (exit $code)" || fail "interrupt hook did not stop the run"
[ -e "$R" ] && fail "interrupted run left a results file" || ok "interrupted run left no results file"
[ -e "$R.tmp" ] && ok "interrupted run kept its partial .tmp" || fail "no .tmp after interruption"
expect_exit 1 "resume" -- "$CXFIT" run "$WORK/study.ini" --resume
[ "$(job_attr "$R" nps_by_firm status)" = ok ] && ok "resumed run finished the rest" || fail "resume lost nps_by_firm"
[ -e "$R.tmp" ] && fail "resume left the .tmp" || ok "resume removed the .tmp"
finish
