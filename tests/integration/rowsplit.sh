#!/usr/bin/env bash
# rowsplit.sh — the combination of ranks' partial totals (engine/dist.h)
# without MPI: CXFIT_TEST_FAKE_RANKS=R makes every packable pass of one
# process stream R contiguous shares of its row blocks into separate
# totals, pack them, unpack them and merge them in rank order, exactly as
# `mpirun -np R` ranks do.  The file must equal the plain run to 1e-10
# relative, for R below, equal to and above the number of blocks (empty
# ranks), and the emulation must really have run on the moments passes
# (cfa by levels, bootstrap, kfold, pairwise), nps, ols and the logit's
# row passes.
# Runs in every build (ASan included): mpi.sh needs mpirun.
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
    expect_same_results single.h5 fake$r.h5 "$r emulated ranks give the single run's file"
done
finish
