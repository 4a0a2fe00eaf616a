#!/usr/bin/env bash
# mixed.sh — `model = mixed` from the command line: every bad key and every
# shared key the family cannot honour (weights; bootstrap for
# nested designs or with another cluster column) is
# refused by `cxfit check` with one line naming the job and the key (exit
# 2, nothing written by run); a singular fit is reported (status ok, one
# stderr line); the shipped configs/mixed.ini runs on the bundled data and
# uses the dense per-group path for one grouping factor and CHOLMOD for
# nested groups; `by` fits each level; `validate` is accepted by check and
# writes the validation table (metrics tested in test_mixed_validate.c).
source "$(dirname "$0")/lib.bash" "$@"
SL="$SRC/datasets/sleepstudy.h5"

# refuse NAME KEY FRAGMENT BODY: a one-job `model = mixed` config that
# check must refuse (see expect_refused in lib.bash)
refuse() { expect_refused "$SL" "$1" "$2" "$3" "model = mixed
$4"; }
F='formula = Reaction ~ Days + (Days | Subject)'
refuse no_formula formula "expected a formula" "reml = yes"
refuse no_bar formula "random-effect term" "formula = Reaction ~ Days"
refuse bad_bar formula "character" "formula = Reaction ~ Days + (Days | )"
refuse unknown_group formula "Subjekt" "formula = Reaction ~ Days + (1 | Subjekt)"
refuse lagged formula "panel" "formula = Reaction ~ lag(Days, 1) + (1 | Subject)"
refuse bad_reml reml "reml" "$F
reml = maybe"
refuse unknown_key metod "metod" "$F
metod = reml"
refuse weights weights "weights" "$F
weights = Days"
refuse boot_nested bootstrap "nested, crossed" "formula = Reaction ~ Days + (1 | Subject/Days)
bootstrap = 100"
refuse boot_cluster bootstrap_cluster "grouping column Subject" "$F
bootstrap = 100
bootstrap_cluster = Days"

# validate: accepted, one row per fold and metric (4 metrics, no MAE) + mean
printf '[data]\nfile = %s\ntable = /data\n\n[job kf]\nmodel = mixed\n%s\nvalidate = kfold(5)\n' "$SL" "$F" >"$WORK/kf.ini"
expect_exit 0 "check accepts validate" -- "$CXFIT" check "$WORK/kf.ini"
expect_exit 0 "validate runs" -- "$CXFIT" run "$WORK/kf.ini" -o "$WORK/kf.h5"
nv=$(h5dump -H -d /kf/validation/value "$WORK/kf.h5" | sed -n 's/.*DATASPACE *SIMPLE { ( \([0-9]*\) ).*/\1/p')
[ "$nv" = 24 ] && ok "validation: 6 splits x 4 metrics" || fail "validation rows '$nv'"

# a singular fit: a grouping factor whose effects are pure noise around 0
printf 'y,g\n' >"$WORK/sing.csv"
for i in $(seq 0 59); do echo "$(( (i * 37) % 11 )),$(( i % 6 ))" >>"$WORK/sing.csv"; done
"$CXFIT" import "$WORK/sing.csv" "$WORK/sing.h5" --table /data >/dev/null 2>&1 || fail "import"
printf '[data]\nfile = sing.h5\ntable = /data\n\n[job sing]\nmodel = mixed\nformula = y ~ 1 + (1 | g)\n' >"$WORK/sing.ini"
expect_exit 0 "singular fit runs" -- "$CXFIT" run "$WORK/sing.ini" -o "$WORK/sing_out.h5"
[ "$(job_attr "$WORK/sing_out.h5" sing status)" = ok ] && ok "singular: status ok" || fail "singular: status $(job_attr "$WORK/sing_out.h5" sing status)"
expect_stderr "boundary (singular) fit" "singular: one stderr line says so"
[ "$(grep -c singular "$WORK/stderr")" -eq 1 ] && ok "singular: one line" || fail "singular: $(grep -c singular "$WORK/stderr") lines"

# the worked example: dense blocks for one factor, CHOLMOD for nested ones
expect_exit 0 "mixed.ini runs" -- "$CXFIT" run "$SRC/configs/mixed.ini" -o "$WORK/ex.h5"
for j in sleep_slopes sleep_uncorrelated_ml ltr_firm ltr_firm_wave; do
    [ "$(job_attr "$WORK/ex.h5" $j status)" = ok ] && ok "$j ok" || fail "$j: $(job_attr "$WORK/ex.h5" $j status)"
done
[ "$(job_attr "$WORK/ex.h5" ltr_firm solver)" = dense_blocks ] && ok "one factor: dense blocks" || fail "ltr_firm solver $(job_attr "$WORK/ex.h5" ltr_firm solver)"
[ "$(job_attr "$WORK/ex.h5" ltr_firm_wave solver)" = cholmod ] && ok "nested: CHOLMOD" || fail "ltr_firm_wave solver $(job_attr "$WORK/ex.h5" ltr_firm_wave solver)"

# `by`: one fit per level, the same as a `where` restricted to that level
printf '[data]\nfile = %s\ntable = /responses\n\n[job by_wave]\nmodel = mixed\nformula = ltr ~ pex1 + (1 | firm)\nby = wave\n\n[job wave3]\nmodel = mixed\nformula = ltr ~ pex1 + (1 | firm)\nwhere = wave == 3\n' "$SRC/datasets/demo.h5" >"$WORK/by.ini"
expect_exit 0 "by runs" -- "$CXFIT" run "$WORK/by.ini" -o "$WORK/by.h5"
by=$(h5dump -m %.12g -d /by_wave/estimates/est "$WORK/by.h5" | sed -n 's/^ *(\([45]\)): *//p' | tr -d ', \n')
one=$(h5dump -m %.12g -d /wave3/estimates/est "$WORK/by.h5" | sed -n 's/^ *([0-9]*): *//p' | tr -d ', \n')
[ -n "$one" ] && [ "$by" = "$one" ] && ok "by level 3 = where wave == 3" || fail "by level 3 '$by' vs where '$one'"
finish
