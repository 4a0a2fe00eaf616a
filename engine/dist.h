/*
 * dist.h — splitting the row blocks of a streaming pass across MPI ranks.
 *
 * Under `mpirun -np R`, a stage whose jobs run on every rank ("row split",
 * see run.c and docs/DECISIONS.md D-mpi-rows) has every cx_reduce_view
 * (and so every cx_rowpass_run) read only this rank's contiguous share of
 * the view's blocks: rank r streams blocks [r nb / R, (r + 1) nb / R).
 * The ranks then combine their totals: each rank packs its accumulators
 * into a flat buffer, the buffers are all-gathered, and every rank unpacks
 * them and merges them in rank order (rank 0's blocks come first in the
 * table), so every rank holds the same, reproducible totals and goes on
 * with the same fit.  No MPI_SUM: its summation order is not fixed by the
 * standard.  A reducer's merge is thus what the reduction calls.
 *
 * Packing is optional per accumulator type: a pass whose reducers cannot
 * all be packed runs whole on every rank (correct, not faster).  Engine
 * types register themselves; a model's rowpass type registers with
 * cx_pack_register (models/logit/logit_pack.c).
 *
 * No rank hangs: every collective of a row-split job starts with the same
 * fixed-size allreduce (a "rendezvous") saying where each rank is (job,
 * pass) and whether it failed.  Ranks that are not at the same place, or
 * any failure, make the pass fail on every rank with the rank named; the
 * end of a job and the end of the run are rendezvous too, repeated until
 * every rank has arrived, so ranks that went out of step come back in step.
 *
 * The collectives go through the MPI module (mpi_module.h), loaded only
 * under an MPI launcher.  Without it (or without MPI) every function here
 * is a no-op and every pass is whole.  CXFIT_TEST_FAKE_RANKS=R makes every packable pass of a
 * single process emulate R ranks (R sub-passes, pack, unpack, merge in
 * rank order): the combination path is then tested without MPI, under
 * ASan, by the same integration tests.
 */
#ifndef CX_DIST_H
#define CX_DIST_H

#include <stddef.h>

#include "cx_error.h"
#include "reducer.h"

/* How an accumulator travels between ranks. */
typedef struct cx_pack_ops {
    /* buf == NULL: the bytes `acc` needs; else write them to buf. */
    size_t (*pack)(const void *acc, void *buf);
    /* Load bytes written by pack into a freshly allocated accumulator of
     * the same params. */
    int (*unpack)(void *acc, const void *buf, size_t size, cx_error *err);
    /* Can the accumulators of a pass with these params be packed?
     * (NULL: always.) */
    int (*packable)(const void *params);
} cx_pack_ops;

/* `type` is a cx_reducer_type or a cx_rowpass_type (the registry is keyed
 * by its address).  Idempotent; thread-safe. */
void cx_pack_register(const void *type, const cx_pack_ops *ops);
const cx_pack_ops *cx_pack_find(const void *type);

/* ---- the run's side ------------------------------------------------------- */

/* After MPI_Init under mpirun: this process is rank `rank` of `ranks`
 * (more than one only once cx_mpi_load has loaded the module). */
void cx_dist_init(int rank, int ranks);
int cx_dist_ranks(void); /* 1 when not under mpirun */
int cx_dist_rank(void);

/* The row-split job with config index `job` starts on every rank (its
 * passes are split from now on, on the calling thread only). */
void cx_dist_job_begin(long job);
/* Every rank ends the job: returns 0 when every rank finished it the same
 * way (all ok, or all failed: *failed_rank = -1); else the lowest rank
 * that failed alone (its message in msg) or -2 when the ranks went out of
 * step or another rank stopped the run (msg says so).  Collective. */
int cx_dist_job_end(int failed, char *msg, size_t size, int *failed_rank);
/* The end of the run (collective, repeated until every rank arrives):
 * the worst status of all ranks. */
int cx_dist_finish(int status);

/* ---- the pass's side (reducer.c) ---------------------------------------- */

/* Does this pass split its blocks?  Then [*lo, *hi) are this rank's. */
int cx_dist_pass_begin(const cx_reducer *r, size_t n, size_t n_blocks, size_t *lo, size_t *hi);
/* Collective, after this rank's blocks (rc: how they went): the totals of
 * every rank combined in rank order into r[].acc (on every rank). */
int cx_dist_pass_combine(cx_reducer *r, size_t n, int rc, cx_error *err);

/* Single process: how many ranks CXFIT_TEST_FAKE_RANKS asks this pass to
 * emulate (0: none), and the combination they share with MPI: totals =
 * unpack(buf[0]) merged with unpack(buf[1]) ... in order. */
int cx_dist_fake_ranks(const cx_reducer *r, size_t n);
void *cx_dist_pack_all(const cx_reducer *r, size_t n, size_t *size, cx_error *err);
int cx_dist_combine_packed(cx_reducer *r, size_t n, const unsigned char *const *bufs,
                           const size_t *sizes, int count, cx_error *err);

#endif
