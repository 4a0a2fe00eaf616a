/*
 * mpi_run.c — `mpirun -np R cxfit run CONFIG`: one study over R processes,
 * one results file (shared/DESIGN.md §7).
 *
 * Every rank checks the whole config.  The jobs are split as `--shard`
 * splits them (a job and the jobs reading its tables stay together; see
 * docs/DECISIONS.md), rank r running shard r+1 of R into its own working
 * file RESULTS.h5.rank-I-of-R.h5.  The ranks then agree on the worst exit
 * status (an MPI_Allreduce, so no rank waits for a rank that failed), and
 * rank 0 merges the parts into RESULTS.h5 (`ranks = R`) with the same
 * atomic commit as a single run, and removes the parts.
 *
 * A stage with few jobs (fewer than 2 a rank; CXFIT_MPI_SPLIT = rows |
 * jobs | auto overrides) is split by rows instead: every rank runs every
 * job of the stage and each streaming pass reads only this rank's share of
 * the row blocks, the ranks' totals combined in rank order (dist.h, run.c);
 * the job's own shard still writes it.
 *
 * The same binary runs without mpirun: cxfit links no MPI library, and
 * MPI (the module of mpi_module.h, with libmpi) is loaded and initialised
 * only when the environment says an MPI launcher started this process
 * (MPI_Init costs ~0.4 s, loading libmpi ~5 ms of every start-up).
 */
#include "run.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "merge.h"
#include "mpi_module.h"
#include "output.h"

/* An environment variable's whole-number value, or -1 when unset. */
static long env_long(const char *name)
{
    const char *v = getenv(name);
    char *end;
    long x = v && *v ? strtol(v, &end, 10) : -1;
    return v && *v && *end == '\0' && x >= 0 ? x : -1;
}

/* Launchers say how many ranks they started: Open MPI's mpirun
 * (OMPI_COMM_WORLD_SIZE), MPICH's and Intel MPI's Hydra (PMI_SIZE).  One
 * rank is a plain run.  A PMI/PMIx launcher that names only the rank
 * (srun --mpi=pmix) gets MPI loaded, which then says how many. */
int cx_mpi_launched(void)
{
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        long n = env_long(sizes[k]);
        if (n >= 0)
            return n > 1;
    }
    return env_long("PMIX_RANK") >= 0 || env_long("PMI_RANK") >= 0;
}

/* This process's rank as the launcher's environment says it (0 when it
 * does not): before MPI is loaded, only rank 0 reports, so a module that
 * cannot be loaded is one error line, not one per rank. */
static int launcher_rank(void)
{
    static const char *const ranks[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"};
    for (size_t k = 0; k < sizeof ranks / sizeof ranks[0]; k++) {
        long r = env_long(ranks[k]);
        if (r >= 0)
            return (int)r;
    }
    return 0;
}

/* Threads per rank when -j is not given: the cores shared by the ranks of
 * this node, so R ranks on one node do not oversubscribe it. */
static int threads_per_rank(void)
{
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    int ranks_here = local ? atoi(local) : 1;
    int cores = omp_get_num_procs();
    return ranks_here > 0 && cores / ranks_here > 0 ? cores / ranks_here : 1;
}

/* Rank 0: merge the ranks' parts into the results file, then remove them. */
static int merge_rank_parts(const cx_run_options *opt, const char *final, int ranks,
                            cx_error *err)
{
    char **parts = calloc((size_t)ranks, sizeof *parts);
    int rc = parts ? CX_OK : cx_error_set(err, CX_ENOMEM, "out of memory");
    for (int r = 0; rc == CX_OK && r < ranks; r++)
        if (!(parts[r] = cx_run_part_path(final, r + 1, ranks, 1)))
            rc = cx_error_set(err, CX_ENOMEM, "out of memory");
    if (rc == CX_OK)
        rc = cx_merge(final, (const char *const *)parts, (size_t)ranks, opt->force, ranks, err);
    for (int r = 0; parts && r < ranks; r++) {
        if (rc == CX_OK && parts[r])
            remove(parts[r]); /* the run's own working files */
        free(parts[r]);
    }
    free(parts);
    return rc;
}

/* Rank 0 refuses, before anything is fitted, an output the merge would
 * refuse at the end (an existing file without --force, a foreign file). */
static int precheck_output(const cx_run_options *opt, const char *final, cx_error *err)
{
    cx_output out;
    int rc = cx_output_init(&out, final, err);
    if (rc == CX_OK)
        rc = cx_output_claim(&out, opt->force, 0, err);
    cx_output_free(&out);
    return rc;
}

int cx_run_mpi(const cx_run_options *opt, cx_error *err)
{
    int rank = 0, ranks = 1;
    const cx_mpi_ops *mpi = cx_mpi_load(err);
    if (!mpi) {
        if (launcher_rank() != 0)
            err->msg[0] = '\0'; /* rank 0 says it */
        return 2;
    }
    char why[256];
    if (mpi->init(&rank, &ranks, why, sizeof why) != 0) {
        cx_error_set(err, CX_EIO, "%s", why);
        return 3;
    }
    cx_run_options mine = *opt;
    int status = 0;
    char *final = NULL;
    if (opt->resume || opt->shard_count) {
        cx_error_set(err, CX_EUSAGE, "%s cannot be combined with mpirun yet",
                     opt->resume ? "--resume" : "--shard");
        status = 2;
    } else if (!(final = cx_run_results_path(opt, err))) {
        status = err->code == CX_EUSAGE ? 2 : 3;
    } else if (rank == 0 && !opt->check_only && precheck_output(opt, final, err) != CX_OK) {
        status = err->code == CX_EUSAGE ? 2 : 3;
    }
    int worst = status;
    mpi->max_int(&status, &worst, 1);
    if (worst == 0) {
        mine.shard_index = rank + 1;
        mine.shard_count = ranks;
        mine.rank_part = 1;
        mine.output_path = final;
        if (!mine.threads)
            mine.threads = threads_per_rank();
        mine.quiet = opt->quiet || rank != 0;
        cx_dist_init(rank, ranks);
        status = cx_run(&mine, err);
        int root_status = status;
        /* the run's end is a rendezvous of dist.h: a rank still in a
         * row-split job learns that this one stopped, and no rank hangs */
        worst = cx_dist_finish(status);
        mpi->bcast(&root_status, (int)sizeof root_status, 0);
        if (worst <= 1 && rank == 0) {
            if (merge_rank_parts(opt, final, ranks, err) != CX_OK)
                status = 3;
            else if (!opt->quiet)
                fprintf(stderr, "cxfit: wrote %s (%d ranks)\n", final, ranks);
        }
        if (status >= 2 && rank != 0 && root_status >= 2) {
            err->msg[0] = '\0'; /* the same error as rank 0's: it reports it */
        } else if (status >= 2 && rank != 0) {
            cx_error_prefix(err, "rank %d", rank);
        } else if (worst >= 2 && status <= 1 && rank == 0) {
            cx_error_set(err, CX_EIO, "another rank stopped the run (exit %d); see its error",
                         worst);
            status = worst;
        } else if (worst >= 2 && status <= 1) {
            status = worst; /* another rank failed and says why */
            err->msg[0] = '\0';
        }
    } else if (status == 0) {
        status = worst; /* rank 0 refused: the others stop quietly */
        err->msg[0] = '\0';
    } else if (rank != 0) {
        err->msg[0] = '\0'; /* every rank found the same: rank 0 says it */
    }
    /* Say it before any rank exits: mpirun kills the other ranks as soon as
     * one exits with an error, which could cut rank 0 off mid-message. */
    if (err->msg[0]) {
        fprintf(stderr, "cxfit: %s\n", err->msg);
        fflush(stderr);
        err->msg[0] = '\0';
    }
    mpi->barrier(); /* rank 0 may be merging: wait asleep */
    free(final);
    mpi->finalize();
    return status;
}
