/*
 * dist.c — MPI row splitting of the streaming passes (dist.h): the
 * registry of packable accumulator types, the combination of packed totals
 * in rank order, and the rendezvous that keep the ranks in step.
 */
#include "dist.h"
#include "mpi_module.h"

#include <limits.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The engine's own packable types (reducer.c, rowpass.c). */
extern const cx_pack_ops cx_moments_pack_ops, cx_first_row_pack_ops, cx_rowpass_pack_ops;
extern const cx_reducer_type *const cx_rowpass_reducer;

/* ---- registry --------------------------------------------------------------- */

#define MAX_PACKERS 64
static struct {
    const void *type;
    const cx_pack_ops *ops;
} packers[MAX_PACKERS];
static size_t n_packers;

void cx_pack_register(const void *type, const cx_pack_ops *ops)
{
#pragma omp critical(cx_pack_registry)
    {
        size_t i = 0;
        while (i < n_packers && packers[i].type != type)
            i++;
        if (i < MAX_PACKERS) {
            packers[i].type = type;
            packers[i].ops = ops;
            n_packers += i == n_packers;
        }
    }
}

const cx_pack_ops *cx_pack_find(const void *type)
{
    if (type == &cx_reducer_moments)
        return &cx_moments_pack_ops;
    if (type == &cx_reducer_first_row)
        return &cx_first_row_pack_ops;
    if (type == cx_rowpass_reducer)
        return &cx_rowpass_pack_ops;
    const cx_pack_ops *ops = NULL;
#pragma omp critical(cx_pack_registry)
    for (size_t i = 0; i < n_packers && !ops; i++)
        if (packers[i].type == type)
            ops = packers[i].ops;
    return ops;
}

/* Every reducer of the pass can travel. */
static int pass_packable(const cx_reducer *r, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const cx_pack_ops *ops = cx_pack_find(r[k].type);
        if (!ops || (ops->packable && !ops->packable(r[k].params)))
            return 0;
    }
    return n > 0;
}

/* ---- packing and combining (shared by MPI and the emulation) ------------- */

/* Layout: n sizes (uint64), then each reducer's bytes padded to 8. */
static size_t padded(size_t bytes)
{
    return (bytes + 7) / 8 * 8;
}

void *cx_dist_pack_all(const cx_reducer *r, size_t n, size_t *size, cx_error *err)
{
    uint64_t *head = cx_calloc(n ? n : 1, sizeof *head, err);
    if (!head)
        return NULL;
    size_t total = n * sizeof *head;
    for (size_t k = 0; k < n; k++) {
        head[k] = cx_pack_find(r[k].type)->pack(r[k].acc, NULL);
        total += padded(head[k]);
    }
    unsigned char *buf = cx_calloc(total ? total : 1, 1, err);
    if (buf) {
        memcpy(buf, head, n * sizeof *head);
        size_t at = n * sizeof *head;
        for (size_t k = 0; k < n; k++) {
            cx_pack_find(r[k].type)->pack(r[k].acc, buf + at);
            at += padded(head[k]);
        }
        *size = total;
    }
    free(head);
    return buf;
}

/* Reducer k's bytes in one rank's buffer. */
static int packed_part(const unsigned char *buf, size_t size, size_t n, size_t k,
                       const unsigned char **part, size_t *bytes, cx_error *err)
{
    if (size < n * sizeof(uint64_t))
        return cx_error_set(err, CX_EFAIL, "a rank's packed totals are too short");
    size_t at = n * sizeof(uint64_t);
    for (size_t j = 0; j <= k; j++) {
        uint64_t b;
        memcpy(&b, buf + j * sizeof b, sizeof b);
        if (b > size || at + padded((size_t)b) > size)
            return cx_error_set(err, CX_EFAIL, "a rank's packed totals are too short");
        *part = buf + at;
        *bytes = (size_t)b;
        at += padded((size_t)b);
    }
    return CX_OK;
}

/* One reducer's total: rank 0's, then each later rank's merged in. */
static int combine_one(cx_reducer *r, size_t n, size_t k, const unsigned char *const *bufs,
                       const size_t *sizes, int count, cx_error *err)
{
    const cx_pack_ops *ops = cx_pack_find(r[k].type);
    void *total = NULL, *next = NULL;
    int rc = CX_OK;
    for (int q = 0; rc == CX_OK && q < count; q++) {
        const unsigned char *part = NULL;
        size_t bytes = 0;
        void *acc = r[k].type->alloc(r[k].params, err);
        if (!acc)
            rc = err->code ? err->code : CX_ENOMEM;
        if (rc == CX_OK)
            rc = packed_part(bufs[q], sizes[q], n, k, &part, &bytes, err);
        if (rc == CX_OK)
            rc = ops->unpack(acc, part, bytes, err);
        if (rc == CX_OK && total) {
            r[k].type->merge(total, acc);
            next = acc;
        } else if (rc == CX_OK) {
            total = acc;
            acc = NULL;
        }
        if (next || rc != CX_OK) {
            if (acc)
                r[k].type->free(acc);
            next = NULL;
        }
    }
    if (rc != CX_OK) {
        if (total)
            r[k].type->free(total);
        return rc;
    }
    cx_reducer_release(&r[k]);
    r[k].acc = total;
    return CX_OK;
}

int cx_dist_combine_packed(cx_reducer *r, size_t n, const unsigned char *const *bufs,
                           const size_t *sizes, int count, cx_error *err)
{
    int rc = CX_OK;
    for (size_t k = 0; rc == CX_OK && k < n; k++)
        rc = combine_one(r, n, k, bufs, sizes, count, err);
    return rc;
}

int cx_dist_fake_ranks(const cx_reducer *r, size_t n)
{
    const char *env = getenv("CXFIT_TEST_FAKE_RANKS");
    int ranks = env ? atoi(env) : 0;
    return ranks > 1 && ranks <= 64 && pass_packable(r, n) ? ranks : 0;
}

/* ---- the ranks ------------------------------------------------------------- */

static int g_rank, g_ranks = 1;
static long g_job = -1; /* the row-split job running now, -1 = none      */
static long g_pass;     /* passes of it so far                            */
static int g_stopped;   /* a rank reached the end of the run: no more collectives */

void cx_dist_init(int rank, int ranks)
{
    g_rank = rank;
    g_ranks = ranks > 1 && cx_mpi() ? ranks : 1;
}

int cx_dist_ranks(void)
{
    return g_ranks;
}

int cx_dist_rank(void)
{
    return g_rank;
}

void cx_dist_job_begin(long job)
{
    g_job = g_ranks > 1 && !g_stopped ? job : -1;
    g_pass = 0;
}

int cx_dist_pass_begin(const cx_reducer *r, size_t n, size_t n_blocks, size_t *lo, size_t *hi)
{
    /* only the thread running the job, outside any parallel region of it,
     * talks to the other ranks: a pass inside a model's own parallel loop
     * runs whole (every rank decides the same way) */
    if (g_job < 0 || omp_in_parallel() || !pass_packable(r, n))
        return 0;
    /* test hook: this rank decides otherwise, as a rank that went out of
     * step would (the others must not hang) */
    if (getenv("CXFIT_TEST_DIVERGE_RANK") && atoi(getenv("CXFIT_TEST_DIVERGE_RANK")) == g_rank)
        return 0;
    *lo = n_blocks * (size_t)g_rank / (size_t)g_ranks;
    *hi = n_blocks * (size_t)(g_rank + 1) / (size_t)g_ranks;
    if (getenv("CXFIT_DIST_TRACE")) /* what the tests check: rows really split */
        fprintf(stderr, "cxfit: rank %d: job %ld pass %ld: blocks %zu to %zu of %zu\n", g_rank,
                g_job, g_pass, *lo, *hi, n_blocks);
    return 1;
}

/* More than one rank means the MPI module is loaded (mpi_run.c calls
 * cx_dist_init only after cx_mpi_load): every collective below goes
 * through its table, each completed asleep (mpi_module.h). */

/* The rendezvous: every rank says where it is; MPI_MAX of each value and
 * of its negation gives the largest and smallest. */
enum { H_JOB, H_NJOB, H_PASS, H_NPASS, H_FAILED, H_NFAILED, H_FAILRANK, H_STATUS, H_N };
#define AT_END (LONG_MAX / 4)    /* pass number of a job's end rendezvous */
#define AT_FINISH (LONG_MAX / 4) /* job number of the run's end rendezvous */

static void rendezvous(long job, long pass, int failed, int status, long out[H_N])
{
    long in[H_N] = {
        job, -job, pass, -pass, failed, -failed, failed ? -(long)g_rank : LONG_MIN + 1, status};
    cx_mpi()->max_long(in, out, H_N);
}

static int in_step(const long h[H_N])
{
    return h[H_JOB] == -h[H_NJOB] && h[H_PASS] == -h[H_NPASS];
}

/* After a rendezvous that found a failure: every rank gets the message of
 * the lowest rank that failed. */
static int share_error(const long h[H_N], cx_error *err)
{
    int root = (int)-h[H_FAILRANK];
    cx_error e = {0};
    if (g_rank == root)
        e = *err;
    cx_mpi()->bcast(&e, (int)sizeof e, root);
    e.msg[sizeof e.msg - 1] = '\0';
    *err = e;
    return root;
}

/* Every rank's packed totals, all-gathered. */
static int exchange(cx_reducer *r, size_t n, void *mine, size_t size, cx_error *err)
{
    int ranks = g_ranks, my = (int)size;
    int *counts = malloc((size_t)ranks * sizeof *counts);
    int *displs = malloc((size_t)ranks * sizeof *displs);
    size_t *sizes = malloc((size_t)ranks * sizeof *sizes);
    const unsigned char **bufs = malloc((size_t)ranks * sizeof *bufs);
    if (!counts || !displs || !sizes || !bufs) /* cannot leave the collective half done */
        cx_mpi()->abort(3);
    cx_mpi()->allgather_int(my, counts);
    size_t total = 0;
    for (int q = 0; q < ranks; q++) {
        displs[q] = (int)total;
        total += (size_t)counts[q];
    }
    unsigned char *all = total <= INT_MAX ? malloc(total ? total : 1) : NULL;
    if (!all)
        cx_mpi()->abort(3);
    cx_mpi()->allgatherv(mine, my, all, counts, displs);
    for (int q = 0; q < ranks; q++) {
        bufs[q] = all + displs[q];
        sizes[q] = (size_t)counts[q];
    }
    int rc = cx_dist_combine_packed(r, n, bufs, sizes, ranks, err);
    free(all);
    free(counts);
    free(displs);
    free(sizes);
    free(bufs);
    return rc;
}

int cx_dist_pass_combine(cx_reducer *r, size_t n, int rc, cx_error *err)
{
    size_t size = 0;
    void *mine = NULL;
    if (rc == CX_OK && !(mine = cx_dist_pack_all(r, n, &size, err)))
        rc = err->code ? err->code : CX_ENOMEM;
    if (rc == CX_OK && size > INT_MAX / (size_t)g_ranks)
        rc = cx_error_set(err, CX_EUSAGE,
                          "the pass's totals (%zu bytes a rank) are too large to combine across "
                          "ranks",
                          size);
    if (rc == CX_OK && getenv("CXFIT_TEST_FAIL_RANK") &&
        atoi(getenv("CXFIT_TEST_FAIL_RANK")) == g_rank)
        rc = cx_error_set(err, CX_EIO, "test hook CXFIT_TEST_FAIL_RANK: reading my blocks failed");
    long h[H_N];
    rendezvous(g_job, g_pass++, rc != CX_OK, 0, h);
    if (!in_step(h)) {
        free(mine);
        if (h[H_JOB] >= AT_FINISH)
            g_stopped = 1;
        return cx_error_set(err, CX_EFAIL,
                            "the MPI ranks went out of step (rank %d was at pass %ld of this job, "
                            "another rank elsewhere)",
                            g_rank, g_pass - 1);
    }
    if (h[H_FAILED]) {
        free(mine);
        int root = share_error(h, err);
        cx_error_prefix(err, "rank %d", root);
        return err->code ? err->code : CX_EFAIL;
    }
    double t0 = cx_mpi()->wtime();
    rc = exchange(r, n, mine, size, err);
    free(mine);
    if (getenv("CXFIT_DIST_TRACE")) /* bench_scaling.sh: the reduction's size and cost */
        fprintf(stderr, "cxfit: rank %d: job %ld pass %ld: %zu bytes a rank, combined in %.3f ms\n",
                g_rank, g_job, g_pass - 1, size, 1e3 * (cx_mpi()->wtime() - t0));
    return rc;
}

int cx_dist_job_end(int failed, char *msg, size_t size, int *failed_rank)
{
    *failed_rank = -1;
    if (g_job < 0)
        return g_stopped ? (snprintf(msg, size, "another MPI rank stopped the run"), -2) : 0;
    long h[H_N];
    int stepped = 0;
    for (;;) { /* ranks still in a pass of this job fail it and come here */
        rendezvous(g_job, AT_END, failed, 0, h);
        if (in_step(h))
            break;
        stepped = 1;
        if (h[H_JOB] >= AT_FINISH) {
            g_stopped = 1;
            g_job = -1;
            snprintf(msg, size, "another MPI rank stopped the run");
            return -2;
        }
    }
    g_job = -1;
    if (!h[H_FAILED] || -h[H_NFAILED] == 1) { /* nobody failed, or everybody did */
        if (!stepped)
            return 0;
        snprintf(msg, size, "the MPI ranks went out of step in this job");
        return -2;
    }
    cx_error e = {0};
    snprintf(e.msg, sizeof e.msg, "%s", msg);
    *failed_rank = share_error(h, &e);
    snprintf(msg, size, "%s", e.msg);
    return 1;
}

int cx_dist_finish(int status)
{
    if (g_ranks < 2)
        return status;
    long h[H_N];
    do
        rendezvous(AT_FINISH, 0, 0, status, h);
    while (!in_step(h));
    g_stopped = 1;
    return (int)h[H_STATUS];
}
