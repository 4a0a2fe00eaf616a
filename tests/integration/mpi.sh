#!/usr/bin/env bash
# mpi.sh — `mpirun -np 2 cxfit run`: the ranks share the jobs and rank 0
# writes one results file equal to the single-process run (1e-10 relative,
# elapsed times and provenance aside); errors stop every rank cleanly.
# Row splitting (engine/dist.h): on a 72,000-row table (two row blocks)
# the ranks split the blocks of every packable pass (moments by level,
# bootstrap, kfold, pairwise, a logit's Newton passes) and the file equals
# the single run; a rank whose pass fails, or that goes out of step, fails
# the job on every rank with the rank named, and nothing hangs.
source "$(dirname "$0")/lib.bash" "$@"

if ! command -v mpirun >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then fail "mpirun is not installed (openmpi-bin)"; finish; fi
    echo "skip: mpirun not installed"; exit 0
fi
if ! "$CXFIT" --help >/dev/null 2>&1; then fail "cxfit --help"; fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI's own plugins leak at exit (shared/TOOLCHAIN.md): not ours to fix.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
MPIRUN=(mpirun --oversubscribe --bind-to none -np 2)

small_panel
four_job_study "$WORK/s.ini"
cd "$WORK" || exit 1
expect_exit 0 "one process" -- "$CXFIT" run s.ini -o single.h5
expect_exit 0 "mpirun -np 2" -- "${MPIRUN[@]}" "$CXFIT" run s.ini -o mpi.h5
expect_stderr "wrote mpi.h5 (2 ranks)" "rank 0 reports the one file"
expect_same_results single.h5 mpi.h5 "the MPI file equals the single run"
[ "$(h5dump -a /ranks mpi.h5 | sed -n 's/^ *(0): *//p')" = 2 ] && ok "ranks = 2" || fail "ranks attribute"
ls mpi.h5.* >/dev/null 2>&1 && fail "rank parts left: $(ls mpi.h5.*)" || ok "no rank parts left"

expect_exit 2 "mpirun onto an existing file" -- "${MPIRUN[@]}" "$CXFIT" run s.ini -o mpi.h5
[ "$(grep -c 'exists' "$WORK/stderr")" -eq 1 ] && ok "one error line, not one per rank" || fail "errors: $(cat "$WORK/stderr")"
sed 's/^items = pex1 pex2 pex3$/items = pex1 pex9/' s.ini >bad.ini
expect_exit 2 "mpirun with a config error" -- "${MPIRUN[@]}" "$CXFIT" run bad.ini -o bad.h5
expect_stderr "pex9" "the error names the column"
[ -e bad.h5 ] && fail "config error wrote a file" || ok "nothing written"
cat >>s.ini <<INI
[job empty]
model = describe
items = pex1
where = wave > 1000
INI
expect_exit 1 "mpirun with a failing job" -- "${MPIRUN[@]}" "$CXFIT" run s.ini -o f.h5
[ "$(job_attr f.h5 empty status)" = failed ] && [ "$(job_attr f.h5 cfa status)" = ok ] &&
    ok "the failed job is recorded, the others kept" || fail "statuses after a failing job"
# ---- row splitting ----------------------------------------------------------
big_panel
rowsplit_study rs.ini
expect_exit 0 "one process, 72k rows" -- "$CXFIT" run rs.ini -o rs1.h5
for np in 2 3; do
    expect_exit 0 "mpirun -np $np, rows split" -- env CXFIT_MPI_SPLIT=rows CXFIT_DIST_TRACE=1 \
        timeout 300 mpirun --oversubscribe --bind-to none -np $np "$CXFIT" run rs.ini -o rs$np.h5
    expect_stderr "rank 1: job 2 pass 0: blocks $((2 / np)) to $((4 / np)) of 2" "cfa by firm: rank 1 reads its share"
    n=$(grep -c "rank 1: job 5 pass [0-9]*: blocks" "$WORK/stderr")
    [ "$n" -ge 5 ] && ok "$n logit passes split" || fail "logit passes split: $n"
    expect_same_results rs1.h5 rs$np.h5 "mpirun -np $np with split rows equals the single run"
done
expect_exit 0 "auto: 9 jobs on 2 ranks are split whole" -- env CXFIT_DIST_TRACE=1 \
    timeout 300 "${MPIRUN[@]}" "$CXFIT" run rs.ini -o rsauto.h5
grep -q "blocks" "$WORK/stderr" && fail "auto split rows of a 9-job stage" || ok "no pass split"
expect_same_results rs1.h5 rsauto.h5 "the whole-job split equals the single run"
expect_exit 1 "a pass failing on rank 1" -- env CXFIT_MPI_SPLIT=rows CXFIT_TEST_FAIL_RANK=1 \
    timeout 300 "${MPIRUN[@]}" "$CXFIT" run rs.ini -o rsfail.h5
expect_stderr "job 'cfa_by' failed: rank 1: test hook CXFIT_TEST_FAIL_RANK" "the failure names rank 1"
[ "$(job_attr rsfail.h5 cfa_by status)" = failed ] && [ "$(job_attr rsfail.h5 items status)" = ok ] &&
    ok "the failing job is recorded failed, a job without split passes kept" || fail "statuses after a rank failed"
expect_exit 1 "rank 0 out of step" -- env CXFIT_MPI_SPLIT=rows CXFIT_TEST_DIVERGE_RANK=0 \
    timeout 300 "${MPIRUN[@]}" "$CXFIT" run rs.ini -o rsstep.h5
expect_stderr "went out of step" "the ranks say they went out of step (no hang)"
[ "$(job_attr rsstep.h5 web status)" = failed ] && ok "the out-of-step job failed" || fail "out of step: web not failed"
# ---- the MPI module (engine/mpi_module.h) -----------------------------------
# cxfit links no MPI library; under mpirun it loads cxfit_mpi.so, from the
# build tree or from an install (moved, too).  A module that cannot be
# loaded is one error line and exit 2, never a quiet single-rank run.
four_job_study "$WORK/m.ini"
if ldd "$CXFIT" | grep -q libmpi; then fail "cxfit links libmpi"; else ok "cxfit itself links no MPI library"; fi
expect_exit 2 "mpirun, module named by CXFIT_MPI_MODULE missing" -- env CXFIT_MPI_MODULE=/nonexistent/cxfit_mpi.so \
    "${MPIRUN[@]}" "$CXFIT" run m.ini -o nomod.h5
expect_stderr "cannot load the MPI module named by CXFIT_MPI_MODULE: /nonexistent/cxfit_mpi.so (no such file)" \
    "the error names the module"
[ "$(grep -c '^cxfit:' "$WORK/stderr")" -eq 1 ] && ok "one error line, not one per rank" ||
    fail "module errors: $(cat "$WORK/stderr")"
[ -e nomod.h5 ] && fail "a run without its module wrote a file" || ok "nothing written without the module"
mkdir -p alone && cp "$CXFIT" alone/cxfit
expect_exit 2 "mpirun of a cxfit copied away from its module" -- "${MPIRUN[@]}" alone/cxfit run m.ini -o alone.h5
expect_stderr "started by an MPI launcher, but the MPI module cannot be loaded" "the copied binary says why"
build_dir="$(dirname "$CXFIT")"
if [ -f "$build_dir/cmake_install.cmake" ] && command -v cmake >/dev/null 2>&1 &&
    cmake --install "$build_dir" --prefix "$WORK/inst" >/dev/null 2>&1; then
    expect_exit 0 "one process, no module needed" -- "$WORK/inst/bin/cxfit" run m.ini -o m1.h5
    mv "$WORK/inst" "$WORK/moved" # the install tree found relative to the binary
    expect_exit 0 "mpirun -np 2 of an installed, moved cxfit" -- "${MPIRUN[@]}" "$WORK/moved/bin/cxfit" run m.ini -o m2.h5
    expect_stderr "wrote m2.h5 (2 ranks)" "the installed cxfit ran 2 ranks"
    expect_same_results m1.h5 m2.h5 "the installed mpirun run equals the single run"
else
    fail "cmake --install of the build tree failed"
fi
finish
