#!/usr/bin/env bash
# safety.sh — nothing lost (issue 12): the output is never an input, the
# user's results file is never moved or removed, --resume refuses foreign
# files and notices changed data, a job that cannot be written or whose
# input job failed fails alone, --quiet never hides a failure, and a kill
# at any moment leaves the old or the new complete results file.
source "$(dirname "$0")/lib.bash" "$@"

small_panel
cp "$WORK/panel.h5" "$WORK/panel.orig.h5"

cat >"$WORK/study.ini" <<INI
[data]
file  = panel.h5
table = /responses

[job items]
model = describe
items = pex1 pex2 pex3

[job nps_by_firm]
model = nps
score = ltr
by    = firm

[job cfa]
model  = cfa
syntax = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
INI
R="$WORK/results.h5"
same() { cmp -s "$1" "$2"; }

# 1. The output is never one of the run's inputs, whatever the flags.
for flags in "" "--force" "--resume"; do
    expect_exit 2 "-o the data file $flags" -- "$CXFIT" run "$WORK/study.ini" -o "$WORK/panel.h5" $flags
    expect_stderr "is the data of job 'items'" "refusal names the input ($flags)"
    if grep -qF -- "--force" "$WORK/stderr"; then fail "refusal suggests --force ($flags)"; else ok "no --force hint ($flags)"; fi
    same "$WORK/panel.h5" "$WORK/panel.orig.h5" && ok "data untouched ($flags)" || fail "data changed ($flags)"
    [ -e "$WORK/panel.h5.tmp" ] || [ -e "$WORK/panel.h5.resume" ] && fail "working file left next to the data ($flags)"
done
ln -s panel.h5 "$WORK/link.h5"
expect_exit 2 "-o a link to the data --force" -- "$CXFIT" run "$WORK/study.ini" -o "$WORK/link.h5" --force
same "$WORK/panel.h5" "$WORK/panel.orig.h5" && ok "data behind a link untouched" || fail "data changed through a link"
cp "$WORK/study.ini" "$WORK/study.orig.ini"
expect_exit 2 "-o the config --force" -- "$CXFIT" run "$WORK/study.ini" -o "$WORK/study.ini" --force
same "$WORK/study.ini" "$WORK/study.orig.ini" && ok "config untouched" || fail "config changed"

# An HDF5 file that is not a results file is refused by --resume and --force.
cp "$WORK/panel.orig.h5" "$WORK/other.h5"
for flags in "--resume" "--force"; do
    expect_exit 2 "$flags on a foreign HDF5 file" -- "$CXFIT" run "$WORK/study.ini" -o "$WORK/other.h5" $flags
    expect_stderr "not a cxfit results file" "refusal says why ($flags)"
    same "$WORK/other.h5" "$WORK/panel.orig.h5" && ok "foreign file untouched ($flags)" || fail "foreign file changed ($flags)"
done
printf 'not hdf5\n' >"$WORK/notes.txt"
expect_exit 2 "--force on a text file" -- "$CXFIT" run "$WORK/study.ini" -o "$WORK/notes.txt" --force
[ "$(cat "$WORK/notes.txt")" = "not hdf5" ] && ok "text file untouched" || fail "text file changed"
printf 'mine\n' >"$WORK/fresh.h5.tmp"
expect_exit 2 "a foreign file where the .tmp goes" -- "$CXFIT" run "$WORK/study.ini" -o "$WORK/fresh.h5"
[ "$(cat "$WORK/fresh.h5.tmp")" = "mine" ] && ok "foreign .tmp untouched" || fail "foreign .tmp overwritten"

# A results file of another study is not resumed (its jobs would be dropped).
cat >"$WORK/other.ini" <<INI
[data]
file  = panel.h5
table = /responses
[job something_else]
model = describe
items = pex4
INI
expect_exit 0 "a finished study" -- "$CXFIT" run "$WORK/study.ini" -o "$R"
cp "$R" "$WORK/results.orig.h5"
expect_exit 2 "--resume with another study's results" -- "$CXFIT" run "$WORK/other.ini" -o "$R" --resume
expect_stderr "another study" "refusal says it is another study"
same "$R" "$WORK/results.orig.h5" && ok "other study's results untouched" || fail "results changed"

# 2. --resume after an edit, killed while the first job runs: the complete
# file stays where it is, unchanged; the next --resume finishes.
sed -i 's/^items = pex1 pex2 pex3$/items = pex1 pex2 pex3 pex4/' "$WORK/study.ini"
CXFIT_TEST_DIE_AT=fitting "$CXFIT" run "$WORK/study.ini" -o "$R" --resume >/dev/null 2>&1
[ $? -ne 0 ] && ok "resume killed while fitting" || fail "die hook did not fire"
same "$R" "$WORK/results.orig.h5" && ok "complete results untouched by the killed resume" || fail "killed resume changed the results"
expect_exit 0 "second --resume" -- "$CXFIT" run "$WORK/study.ini" -o "$R" --resume
expect_stderr "items (its keys changed)" "resume says which job it fits again and why"
expect_stderr "2 of 3 jobs already done" "resume keeps the unchanged jobs"
[ "$(job_attr "$R" items status)" = ok ] && ok "edited job re-run" || fail "edited job missing"
ls "$WORK"/results.h5.* >/dev/null 2>&1 && fail "working files left: $(ls "$WORK"/results.h5.*)" || ok "no working files left"

# A resume that fails (bad job) leaves the results file where it was.
cp "$R" "$WORK/results.before.h5"
CXFIT_TEST_DIE_AT=before_commit "$CXFIT" run "$WORK/study.ini" -o "$R" --force >/dev/null 2>&1
same "$R" "$WORK/results.before.h5" && ok "killed before the commit: old file intact" || fail "old file changed before the commit"
expect_exit 0 "--resume after a killed --force run" -- "$CXFIT" run "$WORK/study.ini" -o "$R" --resume
expect_stderr "3 of 3 jobs already done" "finished jobs of the killed run are kept"

# The data file changed under the same path: its jobs are fitted again.
sleep 0.01
touch "$WORK/panel.h5"
expect_exit 0 "--resume after the data changed" -- "$CXFIT" run "$WORK/study.ini" -o "$R" --resume
expect_stderr "its data file changed" "resume notices changed data"

# A dropped job is named.
sed -i '/^\[job cfa\]/,$d' "$WORK/study.ini"
expect_exit 0 "--resume with a job removed" -- "$CXFIT" run "$WORK/study.ini" -o "$R" --resume
expect_stderr "dropping 1 no longer in the config: cfa" "resume names the dropped job"

# 3. A job whose results cannot be written fails alone.
CXFIT_TEST_FAIL_WRITE=items expect_exit 1 "a job that cannot be written" -- "$CXFIT" run "$WORK/study.ini" -o "$WORK/w.h5"
expect_stderr "job 'items' failed: cannot write its results" "the write failure is named"
[ "$(job_attr "$WORK/w.h5" items status)" = failed ] && ok "unwritable job recorded as failed" || fail "unwritable job: $(job_attr "$WORK/w.h5" items status)"
[ "$(job_attr "$WORK/w.h5" nps_by_firm status)" = ok ] && ok "the other job kept" || fail "other job lost"

# 10. A job reading a failed job's table fails, naming it; 11. --quiet shows it.
cat >"$WORK/dep.ini" <<INI
[data]
file  = panel.h5
table = /responses
[job nps_none]
model = nps
score = ltr
by    = firm
where = wave > 1000
[job reads_it]
model = describe
table = @nps_none/nps
items = nps
INI
expect_exit 1 "a job reading a failed job's table" -- "$CXFIT" run "$WORK/dep.ini" -o "$WORK/dep.h5" --quiet
[ "$(job_attr "$WORK/dep.h5" reads_it status)" = failed ] && ok "dependent job failed" || fail "dependent job: $(job_attr "$WORK/dep.h5" reads_it status)"
expect_stderr "job 'nps_none' failed" "the dependent's message names the failed job"
expect_stderr "job 'reads_it' failed" "--quiet still reports failures"

# 11. A Heywood case is ok with a warning, and the warning reaches stderr
# under --quiet too: three items with r12 = r13 = .8, r23 = .5 give item 1
# a standardized loading of 1.13 and a negative residual variance.
python3 - "$WORK/heywood.csv" <<'PY'
import math, random, sys
random.seed(7)
L = [[1.0, 0, 0], [0.8, 0.6, 0], [0.8, (0.5 - 0.64) / 0.6, 0]]
L[2][2] = math.sqrt(1 - L[2][0] ** 2 - L[2][1] ** 2)
with open(sys.argv[1], "w") as f:
    f.write("x1,x2,x3\n")
    for _ in range(2000):
        z = [random.gauss(0, 1) for _ in range(3)]
        f.write(",".join("%.6f" % sum(L[i][k] * z[k] for k in range(3)) for i in range(3)) + "\n")
PY
"$CXFIT" import "$WORK/heywood.csv" "$WORK/heywood.h5" >/dev/null 2>&1 || fail "import heywood.csv"
cat >"$WORK/heywood.ini" <<INI
[data]
file  = heywood.h5
table = /data
[job hey]
model  = cfa
syntax = F =~ x1 + x2 + x3
INI
expect_exit 0 "a Heywood case" -- "$CXFIT" run "$WORK/heywood.ini" -o "$WORK/heywood_r.h5" --quiet
expect_stderr "job 'hey' ok with warnings: Heywood case" "--quiet still prints the warning, one line"
[ "$(grep -c . "$WORK/stderr")" -eq 1 ] && ok "one line" || fail "warning not one line: $(cat "$WORK/stderr")"

# Killed at any moment: the path holds the old or the new complete file.
cat >"$WORK/kill.ini" <<INI
[data]
file  = panel.h5
table = /responses
[job a]
model = describe
items = pex1 pex2
[job b]
model = cfa
syntax = PEX =~ pex1 + pex2 + pex3 + pex4 + pex5
[job c]
model = nps
score = ltr
by    = firm wave
INI
K="$WORK/kill.h5"
"$CXFIT" run "$WORK/kill.ini" -o "$K" --quiet || fail "first kill-test run"
bad=0
for i in $(seq 1 25); do
    delay=$(awk -v i="$i" 'BEGIN { printf "%.3f", (i % 12) * 0.004 + 0.001 }')
    flag=--force
    [ $((i % 2)) -eq 0 ] && flag=--resume && sed -i "s/^items = pex1 pex2.*/items = pex1 pex2 pex$((i % 5 + 1))/" "$WORK/kill.ini"
    timeout -s KILL "$delay" "$CXFIT" run "$WORK/kill.ini" -o "$K" $flag --quiet >/dev/null 2>&1
    if ! "$CXFIT" show "$K" >/dev/null 2>"$WORK/show_err"; then
        bad=$((bad + 1))
        echo "kill $i ($flag, after ${delay}s): show failed: $(head -c 300 "$WORK/show_err")" >&2
    fi
    for j in a b c; do
        [ -n "$(job_attr "$K" $j status)" ] || {
            bad=$((bad + 1))
            echo "kill $i ($flag, after ${delay}s): job $j missing; files: $(ls "$WORK" | tr '\n' ' ')" >&2
        }
    done
done
[ "$bad" -eq 0 ] && ok "25 kills at varied moments: always a complete results file" || fail "$bad incomplete results after kills"
expect_exit 0 "a resume after the kills finishes" -- "$CXFIT" run "$WORK/kill.ini" -o "$K" --resume
finish
