#!/usr/bin/env bash
# demo.sh — simulate the demo panel, run configs/demo.ini on it and check
# the results file: every job ok, the tables the contract promises.
source "$(dirname "$0")/lib.bash" "$@"

# The bundled demo data is what `cxfit simulate --seed 1` writes.
expect_exit 0 "simulate the demo panel" -- "$CXFIT" simulate "$WORK/demo.h5" --seed 1
for col in /responses/ltr /responses/pex1 /firms/nps; do
    if [ "$(h5dump -d "$col" "$WORK/demo.h5" | tail -n +3 | md5sum)" = \
         "$(h5dump -d "$col" "$SRC/datasets/demo.h5" | tail -n +3 | md5sum)" ]; then
        ok "datasets/demo.h5 $col is reproducible"
    else
        fail "datasets/demo.h5 $col differs from a fresh simulate --seed 1"
    fi
done

# Run the demo study against the fresh simulation.
sed "s#^file  = ../datasets/demo.h5#file  = $WORK/demo.h5#" "$SRC/configs/demo.ini" >"$WORK/demo.ini"
expect_exit 0 "check demo.ini" -- "$CXFIT" check "$WORK/demo.ini"
expect_exit 0 "run demo.ini" -- "$CXFIT" run "$WORK/demo.ini" -o "$WORK/out.h5" -j 2
R="$WORK/out.h5"
jobs=$(sed -n 's/^\[job \(.*\)\]$/\1/p' "$SRC/configs/demo.ini")
for job in $jobs; do
    [ "$(job_attr "$R" "$job" status)" = ok ] && ok "job $job ok" || fail "job $job: $(job_attr "$R" "$job" status) $(job_attr "$R" "$job" message)"
done
h5dump -A -H "$R" >"$WORK/layout" 2>&1
for attr in cxfit_version created config threads ranks; do
    grep -q "ATTRIBUTE \"$attr\"" "$WORK/layout" && ok "root attribute $attr" || fail "no root attribute $attr"
done
for path in "items/items" "nps_by_firm/nps" "exq_cfa/estimates" "exq_cfa/fit" "nps_and_growth/items"; do
    grep -q "GROUP \"${path##*/}\"" "$WORK/layout" && h5dump -H -g "/$path" "$R" >/dev/null 2>&1 &&
        ok "table /$path" || fail "no table /$path"
done
# NPS is on its scale, one row per firm x wave.
nps_rows=$(h5dump -H -d /nps_by_firm/nps/nps "$R" | sed -n 's/.*DATASPACE  SIMPLE { ( \([0-9]*\) ).*/\1/p')
[ "${nps_rows:-0}" -ge 12 ] && ok "nps table has $nps_rows firm x wave rows" || fail "nps rows: $nps_rows"
expect_exit 0 "show the results" -- "$CXFIT" show "$R"
expect_stdout "exq_cfa" "show prints the CFA"
finish
