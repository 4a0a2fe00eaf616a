#!/usr/bin/env bash
# data_limits.sh — issue 12 through the CLI: a `by` column with more
# distinct values than CX_MAX_LEVELS fails its job with one line naming the
# job, the key, the column and the count (other jobs still run); an
# infinite weight fails nps naming the row.
source "$(dirname "$0")/lib.bash" "$@"

awk 'BEGIN { print "price,ltr,w"; for (i = 0; i < 100001; i++) printf "%d.5,%d,%s\n", i, i % 11, (i == 41 ? "Inf" : "1") }' >"$WORK/many.csv"
expect_exit 0 "import" -- "$CXFIT" import "$WORK/many.csv" "$WORK/many.h5" --table /t
cat >"$WORK/study.ini" <<INI
[data]
file = many.h5
table = /t

[job per_price]
model = nps
score = ltr
by = price

[job all]
model = nps
score = ltr

[job weighted]
model = nps
score = ltr
weights = w
INI
expect_exit 1 "run with a by column of 100001 levels" -- "$CXFIT" run "$WORK/study.ini" -o "$WORK/out.h5"
expect_stderr "job 'per_price', key 'by'" "by error names job and key"
expect_stderr "column 'price'" "by error names the column"
expect_stderr "100001 distinct levels" "by error gives the count found"
expect_stderr "row 42 " "infinite weight error names the row"
if h5dump -a /all/status "$WORK/out.h5" 2>/dev/null | grep -q '"ok"'; then
    ok "the other job ran"
else
    fail "job 'all' has no ok status"
fi
finish
