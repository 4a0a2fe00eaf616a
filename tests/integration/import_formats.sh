#!/usr/bin/env bash
# import_formats.sh — `cxfit import` as a new user meets it: --help on every
# subcommand, CSVs that are never guessed silently (`;` and tab detected, a
# header-less file refused, NUL bytes refused), SPSS/Stata files through
# ReadStat with bad files refused in one line and no partial output, and
# one study that gives the same numbers on the bundled .sav and on the
# equivalent CSV (datasets/survey_example.*, scripts/make_sav_example.R).
# Usage: import_formats.sh CXFIT SOURCE_DIR (run by ctest)
source "$(dirname "$0")/lib.bash"
cd "$WORK"

# ---- --help everywhere -------------------------------------------------------
for cmd in run check simulate import show report merge; do
    expect_exit 0 "cxfit $cmd --help" -- "$CXFIT" "$cmd" --help
    expect_stdout "usage: cxfit $cmd" "cxfit $cmd --help prints its usage"
done
"$CXFIT" import --help >help.txt
grep -q "default /data" help.txt && ok "import --help names the default table /data" ||
    fail "import --help lacks the default table"
"$CXFIT" --help >help.txt
grep -q "/data" help.txt && ok "cxfit --help names /data" || fail "cxfit --help lacks /data"

# ---- CSV: delimiter, header, NUL ----------------------------------------------
printf 'a;b;c\n1;2;x\n3;4;y\n' >semi.csv
expect_exit 0 "';' CSV" -- "$CXFIT" import semi.csv semi.h5
expect_stderr "wrote table /data of semi.h5 (2 rows, 3 columns, from CSV separated by ';')" \
    "import says the table, the shape and the delimiter"
h5dump -H semi.h5 | grep -q 'DATASET "c"' && ok "';' CSV has column c" || fail "';' CSV lost columns"
printf 'a\tb\n1\t2\n' >tab.csv
expect_exit 0 "tab CSV" -- "$CXFIT" import tab.csv tab.h5 --quiet
[ -s "$WORK/stderr" ] && fail "--quiet still printed: $(cat "$WORK/stderr")" || ok "--quiet prints nothing"
expect_exit 0 "--delimiter tab" -- "$CXFIT" import tab.csv tab2.h5 --delimiter tab
expect_exit 2 "--delimiter x" -- "$CXFIT" import tab.csv tab3.h5 --delimiter x

printf '1,2,3\n4,5,6\n' >nohead.csv
expect_exit 2 "a CSV without header" -- "$CXFIT" import nohead.csv nohead.h5
expect_stderr "nohead.csv line 1: the first row looks like data" "the message names file and line"
[ -e nohead.h5 ] || [ -e nohead.h5.tmp ] && fail "refused import left a file" || ok "no file left"
expect_exit 0 "--no-header" -- "$CXFIT" import nohead.csv nohead.h5 --no-header
h5dump -H nohead.h5 | grep -q 'DATASET "V3"' && ok "--no-header names V1..V3" || fail "no V3"

printf 'a,b\n1,x\0y\n2,x\0z\n' >nul.csv
expect_exit 2 "a CSV with NUL bytes" -- "$CXFIT" import nul.csv nul.h5
expect_stderr "nul.csv line 2, column 2: NUL byte" "NUL: file, line and column named"
[ "$(wc -l <"$WORK/stderr")" -le 2 ] && ok "one line (plus the --help hint)" || fail "long message"
[ -e nul.h5 ] && fail "NUL import left a file" || ok "no file left"

# ---- SPSS / Stata ---------------------------------------------------------------
SAV="$SRC/datasets/survey_example.sav"
DTA="$SRC/datasets/survey_example.dta"
expect_exit 0 "import .sav" -- "$CXFIT" import "$SAV" sav.h5
expect_stderr "(120 rows, 10 columns, from SPSS .sav)" "the .sav import reports its shape"
expect_exit 0 "import .dta" -- "$CXFIT" import "$DTA" dta.h5 --table /stata
h5dump -a /data/q1/label sav.h5 | grep -q "The staff were friendly" &&
    ok "variable label kept" || fail "variable label lost"

# bad files: one line, exit 3, nothing written
head -c 700 "$SAV" >trunc.sav
expect_exit 3 "truncated .sav" -- "$CXFIT" import trunc.sav bad.h5
expect_stderr "trunc.sav: not a readable SPSS .sav file" "truncated: named"
cp "$DTA" renamed.sav
expect_exit 3 ".dta renamed .sav" -- "$CXFIT" import renamed.sav bad.h5
expect_stderr "its format is Stata .dta: give it that extension" "renamed: says what it is"
expect_exit 2 "labels that do not fit (nps forced categorical)" -- \
    "$CXFIT" import "$DTA" bad.h5 --categorical nps
expect_stderr "has no value label" "misfit: says which value"
expect_exit 2 "--delimiter on a .sav" -- "$CXFIT" import "$SAV" bad.h5 --delimiter ';'
[ -e bad.h5 ] || [ -e bad.h5.tmp ] && fail "a failed import left a file" || ok "no partial file"
# into an existing file: fails before writing (truncated) or while writing
# (a value without a label, found in the second pass): the file keeps its
# tables and gains none
h5dump sav.h5 | tail -n +2 >before.txt
expect_exit 3 "bad file into an existing file" -- "$CXFIT" import trunc.sav sav.h5 --table /more
expect_exit 2 "misfit into an existing file" -- "$CXFIT" import "$DTA" sav.h5 --table /more \
    --categorical nps
cmp -s <(h5dump sav.h5 | tail -n +2) before.txt && ok "existing file unchanged" ||
    fail "a failed import changed the existing file"

# ---- one study, .sav and CSV, same numbers ------------------------------------------
expect_exit 0 "import the equivalent CSV" -- "$CXFIT" import "$SRC/datasets/survey_example.csv" csv.h5
cat >study.ini <<'EOF'
[data]
file  = data.h5
table = /data

[job items]
model = describe
items = q1 q2 q3 q4 nps income

[job nps_region]
model = nps
score = nps
by    = region

[job west]
model = nps
score = nps
where = region == "West" and q1 >= 3

[job cfa]
model  = cfa
syntax = service =~ q1 + q2 + q3 + q4
EOF
mkdir -p a b
cp sav.h5 a/data.h5
cp csv.h5 b/data.h5
cp study.ini a/ && cp study.ini b/
expect_exit 0 "study on the .sav import" -- "$CXFIT" run a/study.ini -o a/results.h5 --quiet
expect_exit 0 "study on the CSV import" -- "$CXFIT" run b/study.ini -o b/results.h5 --quiet
same=1 compared=0
for t in /items/items /items/frequencies /items/correlations /items/estimates \
         /nps_region/nps /west/nps /cfa/estimates /cfa/fit; do
    for col in $(h5ls "a/results.h5$t" | awk '{print $1}'); do
        [ "$t/$col" = /items/items/label ] && continue # question texts: only the .sav has them
        compared=$((compared + 1))
        if ! h5diff -q a/results.h5 b/results.h5 "$t/$col" "$t/$col"; then
            fail "results differ in $t/$col"
            same=0
        fi
    done
done
[ "$compared" -ge 40 ] || fail "only $compared result columns compared"
[ "$same" = 1 ] && ok "identical results on the .sav and the CSV import ($compared columns)"
h5dump -d /items/items/label a/results.h5 | grep -q "The staff were friendly" &&
    ok "describe shows the variable label" || fail "describe lacks the label"

[ "$failures" -eq 0 ] || exit 1
echo "import_formats: ok"
