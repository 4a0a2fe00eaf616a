#!/usr/bin/env bash
# panel.sh — every bad key of `model = panel` is refused by
# `cxfit check` with one line naming the job and the key (exit 2, nothing
# written by run); a duplicated (unit, time) pair fails the job with a
# message naming the index; the shipped nps_growth.ini runs on the demo.
source "$(dirname "$0")/lib.bash" "$@"
GR="$SRC/datasets/Grunfeld.h5"

# refuse NAME KEY FRAGMENT BODY: a one-job `model = panel` config that
# check must refuse (see expect_refused in lib.bash)
refuse() { expect_refused "$GR" "$1" "$2" "$3" "model = panel
$4"; }
F='formula = inv ~ value + capital'
refuse no_formula formula "expected a formula" "index = firm year"
refuse bad_formula formula "character" "formula = inv ~ value +
index = firm year"
refuse unknown_column formula "capitol" "formula = inv ~ value + capitol
index = firm year"
refuse no_index index "expected a list of column names" "$F"
refuse one_index index "expected two columns" "$F
index = firm"
refuse same_index index "two different columns" "$F
index = firm firm"
refuse bad_method method "pooling" "$F
index = firm year
method = within2"
refuse bad_effect effect "individual" "$F
index = firm year
effect = both"
refuse bad_se se "expected classical, cluster(firm)" "$F
index = firm year
se = hc1"
refuse se_other_column se "expected classical" "$F
index = firm year
se = cluster(value)"
refuse bad_dk se "dk(L)" "$F
index = firm year
se = dk(-1)"
refuse fd_time effect "expected effect = individual" "$F
index = firm year
method = fd
effect = time"
refuse between_twoways effect "not defined for method = between" "$F
index = firm year
method = between
effect = twoways"
refuse between_cluster se "expected se = classical" "$F
index = firm year
method = between
se = cluster(firm)"
refuse bad_test tests "unknown test 'hausmann'" "$F
index = firm year
tests = hausmann"
refuse hausman_twoways tests "needs a one-way effect" "$F
index = firm year
effect = twoways
tests = hausman"
refuse kfold validate "expected validate = holdout" "$F
index = firm year
validate = kfold(5)"
refuse fd_holdout validate "expected method = pooling, within or random" "$F
index = firm year
method = fd
validate = holdout(year >= 1950)"
refuse compare_column compare "capitol" "$F
index = firm year
compare = inv ~ capitol"
refuse compare_random compare "random" "$F
index = firm year
compare = inv ~ capital + (1 | firm)"
refuse lag_order formula "lag()" "formula = inv ~ lag(value, -1)
index = firm year"

# bad panels fail the job (status failed, message naming the index key):
# a non-integer time under lag(), a (unit, time) pair in two rows
fails() {
    local name="$1" fragment="$2" body="$3"
    printf '[data]\nfile = %s\ntable = /data\n\n[job %s]\nmodel = panel\n%s\n' "$GR" "$name" "$body" >"$WORK/$name.ini"
    "$CXFIT" run "$WORK/$name.ini" -o "$WORK/$name.h5" >"$WORK/stdout" 2>"$WORK/stderr"
    [ "$(job_attr "$WORK/$name.h5" "$name" status)" = failed ] && ok "$name: job failed" || fail "$name: status $(job_attr "$WORK/$name.h5" "$name" status)"
    expect_stderr "key 'index'" "$name: message names the key"
    expect_stderr "$fragment" "$name: message says why"
}
fails frac_time "expected an integer time" "index = firm value
formula = inv ~ lag(value, 1)"
# random two-way effects on an unbalanced panel: fitted as plm (classical
# SEs; test_panel_reference.c checks the numbers); robust SEs are refused
printf '[data]\nfile = %s\ntable = /data\n\n[job rtw]\nmodel = panel\nformula = emp ~ wage\nindex = firm year\nmethod = random\neffect = twoways\n' "$SRC/datasets/EmplUK.h5" >"$WORK/rtw.ini"
"$CXFIT" run "$WORK/rtw.ini" -o "$WORK/rtw.h5" >"$WORK/stdout" 2>"$WORK/stderr"
[ "$(job_attr "$WORK/rtw.h5" rtw status)" = ok ] && ok "random twoways unbalanced: fitted" || fail "random twoways unbalanced: status $(job_attr "$WORK/rtw.h5" rtw status)"
printf 'se = cluster(firm)\n' >>"$WORK/rtw.ini"
"$CXFIT" run "$WORK/rtw.ini" -o "$WORK/rtw2.h5" >"$WORK/stdout" 2>"$WORK/stderr"
[ "$(job_attr "$WORK/rtw2.h5" rtw status)" = failed ] && ok "random twoways unbalanced, cluster SEs: job failed" || fail "random twoways unbalanced, cluster SEs: status $(job_attr "$WORK/rtw2.h5" rtw status)"
expect_stderr "classical SEs only" "random twoways unbalanced, cluster SEs: message says why"
fails dup_pair "appears in more than one row" "index = firm capital
formula = inv ~ value
method = pooling"

# lags follow the time index, not the row order: Grunfeld with its rows
# shuffled gives the same estimates as the sorted file
csv="$SRC/tests/reference/grunfeld_shuffled.csv"
if [ -s "$csv" ] || fail "missing $csv"; then
    "$CXFIT" import "$csv" "$WORK/shuffled.h5" --table /data >/dev/null 2>&1
    for f in "$GR" "$WORK/shuffled.h5"; do
        printf '[data]\nfile = %s\ntable = /data\n\n[job lagged]\nmodel = panel\nformula = inv ~ lag(value, 1) + diff(capital) + lead(value, 2)\nindex = firm year\nse = cluster(firm)\n' "$f" >"$WORK/lag.ini"
        "$CXFIT" run "$WORK/lag.ini" -o "$WORK/lag_$(basename "$f")" --quiet >/dev/null 2>&1
        h5dump -d /lagged/estimates/est -d /lagged/estimates/se "$WORK/lag_$(basename "$f")" | grep -v HDF5 >"$WORK/est_$(basename "$f").txt"
    done
    [ "$(sed -n 2p "$csv" | cut -d, -f1-2)" != '1,1935' ] && ok "rows are shuffled" || fail "rows not shuffled"
    grep -q "(0)" "$WORK/est_Grunfeld.h5.txt" && ok "lagged fit has estimates" || fail "lagged fit has no estimates"
    cmp -s "$WORK/est_Grunfeld.h5.txt" "$WORK/est_shuffled.h5.txt" && ok "shuffled rows: same estimates" || fail "shuffled rows: estimates differ"
fi

# the worked example runs on the bundled demo panel
expect_exit 0 "nps_growth.ini runs" -- "$CXFIT" run "$SRC/configs/nps_growth.ini" -o "$WORK/ng.h5"
[ "$(job_attr "$WORK/ng.h5" growth_nps status)" = ok ] && ok "growth_nps ok" || fail "growth_nps: $(job_attr "$WORK/ng.h5" growth_nps status)"
finish
