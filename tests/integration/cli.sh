#!/usr/bin/env bash
# cli.sh — commands, exit codes and one-line errors of the CLI.
source "$(dirname "$0")/lib.bash" "$@"

expect_exit 0 "--help" -- "$CXFIT" --help
expect_stdout "cxfit run CONFIG" "--help lists run"
expect_exit 0 "--version" -- "$CXFIT" --version
expect_stdout "cxfit " "--version prints the version"
expect_exit 2 "unknown command" -- "$CXFIT" frobnicate
expect_stderr "unknown command 'frobnicate'" "unknown command named"
expect_exit 2 "missing command" -- "$CXFIT"
expect_exit 2 "simulate without a file" -- "$CXFIT" simulate
expect_exit 2 "simulate with a bad count" -- "$CXFIT" simulate "$WORK/x.h5" --firms many
expect_stderr "--firms expects a whole number" "bad count named"

# simulate: small panel, deterministic for a seed
expect_exit 0 "simulate" -- "$CXFIT" simulate "$WORK/a.h5" --firms 3 --waves 2 --respondents 40 --seed 5
expect_exit 0 "simulate again, same seed" -- "$CXFIT" simulate "$WORK/b.h5" --firms 3 --waves 2 --respondents 40 --seed 5
if [ "$(h5dump -d /responses/ltr "$WORK/a.h5" | tail -n +3 | md5sum)" = "$(h5dump -d /responses/ltr "$WORK/b.h5" | tail -n +3 | md5sum)" ]; then
    ok "same seed, same data"
else
    fail "simulate is not deterministic for a seed"
fi

# -j takes its count attached too (-j2, as make does); a bad count is named
printf '[data]\nfile = %s\ntable = /responses\n\n[job d]\nmodel = describe\nitems = ltr sat\n' \
    "$WORK/a.h5" >"$WORK/j.ini"
expect_exit 0 "run -j2" -- "$CXFIT" run "$WORK/j.ini" -o "$WORK/j2.h5" -j2 --quiet
expect_exit 0 "run -j 2" -- "$CXFIT" run "$WORK/j.ini" -o "$WORK/j2b.h5" -j 2 --quiet
expect_same_results "$WORK/j2.h5" "$WORK/j2b.h5" "-j2 is -j 2"
expect_exit 2 "run -jx" -- "$CXFIT" run "$WORK/j.ini" -o "$WORK/jx.h5" -jx
expect_stderr "-j expects a thread count from 1 to 4096, found 'x'" "bad -j count named"

# import: a CSV becomes a table; ragged rows are one clear error naming the line
printf 'id,score,label\n1,7,a\n2,,b\n3,9,a\n' >"$WORK/good.csv"
expect_exit 0 "import" -- "$CXFIT" import "$WORK/good.csv" "$WORK/good.h5" --table /survey
if h5dump -H "$WORK/good.h5" | grep -q '"score"'; then ok "import wrote column score"; else fail "import lost column score"; fi
printf 'id,score\n1,7\n2,8,9\n' >"$WORK/ragged.csv"
expect_exit 2 "import of a ragged CSV" -- "$CXFIT" import "$WORK/ragged.csv" "$WORK/ragged.h5"
expect_stderr "line 3" "ragged row error names the line"
[ -e "$WORK/ragged.h5" ] && fail "a failed import left a file" || ok "failed import leaves no file"
expect_exit 3 "import of a missing file" -- "$CXFIT" import "$WORK/nope.csv" "$WORK/nope.h5"

# show of something that is not a results file
expect_exit 3 "show of a missing file" -- "$CXFIT" show "$WORK/none.h5"
finish
