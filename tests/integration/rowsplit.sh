#!/usr/bin/env bash
# rowsplit.sh — the combination of ranks' partial totals (engine/dist.h)
# without MPI: CXFIT_TEST_FAKE_RANKS=R makes every packable pass of one
# process stream R contiguous shares of its row blocks into separate
# totals, pack them, unpack them and merge them in rank order, exactly as
# `mpirun -np R` ranks do.  The file must equal the plain run to 1e-10
# relative, for R below, equal to and above the number of blocks (empty
# ranks), and the emulation must really have run on the moments passes
# (cfa by levels, bootstrap, kfold, pairwise), nps, ols and the logit's
# row passes; and, in a second study, on describe, EFA rows, MLR fourth
# moments, OLS scores, ologit, mlogit, reliability (and its range pass)
# and gap.  The dealing of tasks (levels, replicates, folds) is
# emulated too: the results of the tasks ranks 1..R-1 would fit travel
# through pack and unpack (engine/dist.h) and the file must not change.
# Runs in every build (ASan included): mpi.sh needs mpirun.  Also: the
# stage's block cache leaves every value unchanged.
source "$(dirname "$0")/lib.bash" "$@"

big_panel
rowsplit_study "$WORK/rs.ini"
cd "$WORK" || exit 1
expect_exit 0 "one process" -- "$CXFIT" run rs.ini -o single.h5
for r in 2 3 5; do
    expect_exit 0 "$r emulated ranks" -- env CXFIT_TEST_FAKE_RANKS=$r CXFIT_DIST_TRACE=1 \
        "$CXFIT" run rs.ini -o fake$r.h5
    expect_stderr "$r emulated ranks: 2 blocks, 2 reducers (moments)" "cfa by firm: moments + first rows combined"
    expect_stderr "$r emulated ranks: 2 blocks, 1 reducers (nps_sums)" "nps by firm x wave combined"
    expect_stderr "$r emulated ranks: 2 blocks, 1 reducers (ols_xprod)" "ols cross-products combined"
    n=$(grep -c "$r emulated ranks: 2 blocks, 1 reducers (rowpass)" "$WORK/stderr")
    [ "$n" -ge 5 ] && ok "$n logit row passes combined" || fail "logit row passes combined: $n"
    # the dealt tasks' results travel through pack and unpack (cfa_by's 4
    # levels, cfa_boot's fit + 40 replicates, cfa_kfold's fit + 3 folds)
    expect_stderr "$r emulated ranks: 41 tasks dealt" "cfa bootstrap replicates packed and unpacked"
    n=$(grep -c "$r emulated ranks: 4 tasks dealt" "$WORK/stderr")
    [ "$n" -ge 2 ] && ok "$n jobs of 4 tasks dealt (levels, folds)" || fail "4-task jobs dealt: $n"
    expect_same_results single.h5 fake$r.h5 "$r emulated ranks give the single run's file"
done
# The reducers packed in the second round (describe, efa rows, fourth
# moments, ols scores, ologit/mlogit sums, reliability, range, gap).
rowsplit_more_study "$WORK/more.ini"
expect_exit 0 "one process, second study" -- "$CXFIT" run more.ini -o more1.h5
for r in 2 3 5; do
    expect_exit 0 "$r emulated ranks, second study" -- env CXFIT_TEST_FAKE_RANKS=$r CXFIT_DIST_TRACE=1 \
        "$CXFIT" run more.ini -o more$r.h5
    for red in "1 reducers (describe)" "1 reducers (sem_fourth)" "1 reducers (ols_scores)" \
        "1 reducers (reliability)" "1 reducers (range)" "1 reducers (gap_moments)" \
        "2 reducers (moments) with efa_rows"; do
        n=$(grep -c "$r emulated ranks: 2 blocks, $red" "$WORK/stderr")
        [ "$n" -ge 1 ] && ok "$red combined ($n passes)" || fail "$red not combined"
    done
    # dealt and round-tripped: cfa_mlr's 3 levels (SEM tasks), the logit
    # by wave's 3 levels (the engine's per-level fits), reliability's and
    # the EFA's levels (cx_dist_fit_levels)
    n=$(grep -c "$r emulated ranks: 3 tasks dealt" "$WORK/stderr")
    [ "$n" -ge 2 ] && ok "$n jobs with 3 levels dealt (cfa, logit)" || fail "3-level jobs dealt: $n"
    n=$(grep -c "$r emulated ranks: 4 tasks dealt" "$WORK/stderr")
    [ "$n" -ge 2 ] && ok "$n jobs with 4 levels dealt (reliability, efa)" || fail "4-level jobs dealt: $n"
    expect_same_results more1.h5 more$r.h5 "$r emulated ranks give the second study's single-run file"
done
# The stage's block cache (engine/table_blocks.h) changes no value: off,
# and small enough to evict (1 MB for a table of ~2 MB of decoded blocks).
for mb in 0 1; do
    expect_exit 0 "block cache $mb MB" -- env CXFIT_BLOCK_CACHE_MB=$mb "$CXFIT" run rs.ini -o cache$mb.h5
    expect_same_results single.h5 cache$mb.h5 "block cache of $mb MB gives the same file"
done
expect_exit 0 "block statistics" -- env CXFIT_BLOCK_STATS=1 "$CXFIT" run rs.ini -o stats.h5
expect_stderr "big.h5:/responses: " "the stage's block statistics are reported"
reused=$(grep -o '[0-9]* reused' "$WORK/stderr" | head -1 | cut -d' ' -f1)
[ "${reused:-0}" -gt 0 ] && ok "$reused column blocks reused by the stage's jobs" || fail "no block reused"
finish
