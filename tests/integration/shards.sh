#!/usr/bin/env bash
# shards.sh — `cxfit run --shard I/N` and `cxfit merge` (shared/DESIGN.md
# §7): three shards merged give the file one run writes (to 1e-10 relative,
# elapsed times aside); merge refuses parts that do not make one study.
source "$(dirname "$0")/lib.bash" "$@"

small_panel
four_job_study "$WORK/s.ini"
cat >>"$WORK/s.ini" <<INI
[job cfa2]
model  = cfa
syntax = OUT =~ out1 + out2 + out3 + out4 + out5
INI
cd "$WORK" || exit 1
expect_exit 0 "one run" -- "$CXFIT" run s.ini -o single.h5
for i in 1 2 3; do
    expect_exit 0 "shard $i/3" -- "$CXFIT" run s.ini -o r.h5 --shard "$i/3"
    [ -f "r.part-$i-of-3.h5" ] && ok "part $i written" || fail "no r.part-$i-of-3.h5"
done
# Families go together: nps_desc reads nps_by_firm's table, so one part has both.
h5ls r.part-2-of-3.h5 | grep -q nps_by_firm && h5ls r.part-2-of-3.h5 | grep -q nps_desc &&
    ok "a job and the job reading its table share a shard" || fail "family split across shards"
expect_exit 0 "merge" -- "$CXFIT" merge merged.h5 r.part-3-of-3.h5 r.part-1-of-3.h5 r.part-2-of-3.h5
expect_same_results single.h5 merged.h5 "the merged file equals the single run"
order=$(h5dump -n --sort_by=creation_order merged.h5 | awk '$1 == "group" && $2 ~ /^\/[^\/]+$/ {print substr($2, 2)}' | tr '\n' ' ')
[ "$order" = "items nps_by_firm cfa nps_desc cfa2 " ] && ok "jobs in config order" || fail "job order: $order"
"$CXFIT" show merged.h5 >/dev/null && ok "show reads the merged file" || fail "show merged"

# Refusals, each naming what is wrong; nothing written.
expect_exit 2 "a missing shard" -- "$CXFIT" merge m2.h5 r.part-1-of-3.h5 r.part-3-of-3.h5
expect_stderr "shard 2 of 3 is missing" "names the missing shard"
expect_exit 2 "a shard twice" -- "$CXFIT" merge m2.h5 r.part-1-of-3.h5 r.part-1-of-3.h5 r.part-2-of-3.h5 r.part-3-of-3.h5
expect_stderr "are both shard 1 of 3" "names the duplicated shard"
expect_exit 2 "a plain results file" -- "$CXFIT" merge m2.h5 single.h5
expect_stderr "not a shard's part" "says it is not a part"
expect_exit 2 "a data file" -- "$CXFIT" merge m2.h5 panel.h5
expect_stderr "not a cxfit results file" "says it is not a results file"
sed 's/pex1 pex2 pex3$/pex1 pex2/' s.ini >t.ini
expect_exit 0 "shard of another config" -- "$CXFIT" run t.ini -o t.h5 --shard 2/3
expect_exit 2 "parts of two configs" -- "$CXFIT" merge m2.h5 r.part-1-of-3.h5 t.part-2-of-3.h5 r.part-3-of-3.h5
expect_stderr "was run with another config" "names the foreign part"
[ -e m2.h5 ] || [ -e m2.h5.tmp ] && fail "a refused merge wrote a file" || ok "refused merges write nothing"
cp r.part-1-of-3.h5 keep.h5
expect_exit 2 "output is a part" -- "$CXFIT" merge r.part-1-of-3.h5 r.part-1-of-3.h5 r.part-2-of-3.h5 r.part-3-of-3.h5 --force
cmp -s keep.h5 r.part-1-of-3.h5 && ok "part untouched" || fail "part overwritten"
expect_exit 2 "merge over an existing file" -- "$CXFIT" merge merged.h5 r.part-1-of-3.h5 r.part-2-of-3.h5 r.part-3-of-3.h5
expect_exit 0 "merge --force" -- "$CXFIT" merge merged.h5 r.part-1-of-3.h5 r.part-2-of-3.h5 r.part-3-of-3.h5 --force
expect_exit 2 "--shard 4/3" -- "$CXFIT" run s.ini -o r.h5 --shard 4/3
expect_stderr "--shard expects I/N" "bad shard says what is expected"
finish
