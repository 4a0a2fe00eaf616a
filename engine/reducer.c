/*
 * reducer.c — the streaming pass and the engine's reducers (reducer.h).
 *
 * The pass is cx_stats_compute's scheme made generic: OpenMP threads take
 * row blocks (schedule dynamic; the view delivers each block's rows
 * grouped by level, cx_view_read_block_grouped), each thread summarises its block into
 * private accumulators, and an `ordered` section merges them into the
 * totals in block order and resets them.  Fixed merge order is what makes
 * the totals independent of the number of threads.
 */
#include "reducer.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_threads.h"
#include "dist.h"
#include "filter_eval.h"
#include "resample.h"

/* ---- the pass ------------------------------------------------------------ */

/* What one thread needs to read and regroup a block. */
typedef struct pass_worker {
    size_t ld; /* cx_view_block_rows: the leading dimension of the blocks */
    double *data, *scratch;
    int16_t *small; /* small-integer passes: the block instead of data */
    size_t *level, *row, *start;
    void **acc; /* one private accumulator per reducer */
} pass_worker;

static void worker_free(pass_worker *w, const cx_reducer *r, size_t n)
{
    free(w->data);
    free(w->scratch);
    free(w->small);
    free(w->level);
    free(w->row);
    free(w->start);
    for (size_t k = 0; w->acc && k < n; k++)
        if (w->acc[k])
            r[k].type->free(w->acc[k]);
    free(w->acc);
    memset(w, 0, sizeof *w);
}

static int worker_alloc(pass_worker *w, const cx_view *v, size_t ncols, size_t n_levels,
                        const cx_reducer *r, size_t n, int small, cx_error *err)
{
    memset(w, 0, sizeof *w);
    size_t rows = cx_view_block_rows(v), c = ncols ? ncols : 1;
    w->ld = rows;
    if (small) {
        w->small = cx_malloc_block_buffer(rows * c * sizeof *w->small, err);
    } else {
        w->data = cx_malloc_block_buffer(rows * c * sizeof(double), err);
        w->scratch = cx_malloc_block_buffer(
            rows * (cx_view_scratch_cols(v, ncols) + 1) * sizeof(double), err);
    }
    w->level = cx_malloc(rows * sizeof(size_t), err);
    w->row = cx_malloc(rows * sizeof(size_t), err);
    w->start = cx_calloc(n_levels + 1, sizeof(size_t), err);
    w->acc = cx_calloc(n ? n : 1, sizeof(void *), err);
    int ok = (small ? w->small != NULL : w->data && w->scratch) && w->level && w->row && w->start &&
             w->acc;
    for (size_t k = 0; ok && k < n; k++)
        ok = (w->acc[k] = r[k].type->alloc(r[k].params, err)) != NULL;
    if (!ok) {
        worker_free(w, r, n);
        return err->code ? err->code : CX_ENOMEM;
    }
    return CX_OK;
}

/* Block `index` of a plain view as small integers (table.h): one level,
 * every row; returns the rows read or -1. */
static long read_small_block(pass_worker *w, const cx_view *v, size_t index, const int *cols,
                             size_t ncols, size_t n_levels, cx_error *err)
{
    size_t nrows = cx_table_nrows(v->table), row0 = index * CX_BLOCK_ROWS;
    size_t n = row0 >= nrows ? 0 : nrows - row0 < w->ld ? nrows - row0 : w->ld;
    if (n && cx_table_read_block_small(v->table, cols, ncols, row0, n, w->small, w->ld, err))
        return -1;
    memset(w->level, 0, n * sizeof *w->level);
    for (size_t i = 0; i < n; i++)
        w->row[i] = row0 + i;
    for (size_t l = 0; l <= n_levels; l++)
        w->start[l] = l ? n : 0;
    return (long)n;
}

static int takes_small(const cx_reducer *r);

/* A small-integer pass: a plain view of 1-byte integer or categorical
 * columns whose every reducer takes small blocks. */
static int pass_is_small(const cx_view *v, const int *cols, size_t ncols, const cx_reducer *r,
                         size_t n)
{
    if (n == 0 || ncols == 0 || !cx_view_is_plain(v) ||
        !cx_table_columns_small(v->table, cols, ncols))
        return 0;
    for (size_t k = 0; k < n; k++)
        if (!takes_small(&r[k]))
            return 0;
    return 1;
}

/* Read block `index` and feed it to this thread's accumulators. */
static int feed_block(pass_worker *w, const cx_view *v, size_t index, const int *cols, size_t ncols,
                      size_t n_levels, const cx_reducer *r, size_t n, cx_error *err)
{
    long got = w->small ? read_small_block(w, v, index, cols, ncols, n_levels, err)
                        /* the view delivers the rows grouped by level: one copy, no regrouping */
                        : cx_view_read_block_grouped(v, index, cols, ncols, w->data, w->level,
                                                     w->row, w->start, w->scratch, err);
    if (got < 0)
        return err->code ? err->code : CX_EIO;
    if (got == 0)
        return CX_OK;
    for (long i = 0; i < got; i++)
        if (w->level[i] >= n_levels)
            return cx_error_set(err, CX_EFAIL, "row level %zu out of range (%zu levels)",
                                w->level[i], n_levels);
    cx_block b = {(size_t)got, w->ld, w->data, w->level, w->row, n_levels, w->start, w->small};
    for (size_t k = 0; k < n; k++) {
        int rc = r[k].type->add_block(w->acc[k], &b, err);
        if (rc != CX_OK)
            return rc;
    }
    return CX_OK;
}

/* Blocks [lo, hi) of `v` into the totals r[].acc (allocated), merged in
 * block order. */
static int reduce_blocks(const cx_view *v, const int *cols, size_t ncols, cx_reducer *r, size_t n,
                         int threads, size_t lo, size_t hi, cx_error *err)
{
    size_t n_levels = v->n_levels ? v->n_levels : 1;
    long failed = -1;
    /* a thread per block at most: a small table must not wake (and spin)
     * threads that get no work */
    int nt = threads > 0 ? threads : omp_get_max_threads();
    if ((size_t)nt > hi - lo)
        nt = hi > lo ? (int)(hi - lo) : 1;
    int small = pass_is_small(v, cols, ncols, r, n);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        pass_worker w;
        cx_error werr = {0};
        int wrc = worker_alloc(&w, v, ncols, n_levels, r, n, small, &werr);
#pragma omp for ordered schedule(dynamic, 1)
        for (size_t b = lo; b < hi; b++) {
            long failed_so_far;
#pragma omp atomic read
            failed_so_far = failed;
            int brc = wrc;
            if (brc == CX_OK && failed_so_far < 0)
                brc = feed_block(&w, v, b, cols, ncols, n_levels, r, n, &werr);
#pragma omp ordered
            {
                if (brc != CX_OK && failed < 0) {
                    *err = werr;
#pragma omp atomic write
                    failed = (long)b;
                } else if (failed < 0) {
                    for (size_t k = 0; k < n; k++) {
                        r[k].type->merge(r[k].acc, w.acc[k]);
                        r[k].type->reset(w.acc[k]);
                    }
                }
            }
        }
        if (wrc == CX_OK)
            worker_free(&w, r, n);
    }
    return failed >= 0 ? (err->code ? err->code : CX_EFAIL) : CX_OK;
}

static int alloc_totals(cx_reducer *r, size_t n, cx_error *err)
{
    for (size_t k = 0; k < n; k++)
        r[k].acc = NULL;
    for (size_t k = 0; k < n; k++)
        if (!(r[k].acc = r[k].type->alloc(r[k].params, err))) {
            for (size_t j = 0; j < k; j++)
                cx_reducer_release(&r[j]);
            return err->code ? err->code : CX_ENOMEM;
        }
    return CX_OK;
}

/* CXFIT_TEST_FAKE_RANKS (dist.h): `ranks` sub-passes over contiguous block
 * ranges, each packed, then combined in rank order exactly as MPI ranks'
 * totals are. */
static int emulate_ranks(const cx_view *v, const int *cols, size_t ncols, cx_reducer *r, size_t n,
                         int threads, size_t n_blocks, int ranks, cx_error *err)
{
    unsigned char **bufs = cx_calloc((size_t)ranks, sizeof *bufs, err);
    size_t *sizes = cx_calloc((size_t)ranks, sizeof *sizes, err);
    cx_reducer *mine = cx_calloc(n ? n : 1, sizeof *mine, err);
    int rc = bufs && sizes && mine ? CX_OK : CX_ENOMEM;
    for (int q = 0; rc == CX_OK && q < ranks; q++) {
        memcpy(mine, r, n * sizeof *r);
        rc = alloc_totals(mine, n, err);
        size_t lo = n_blocks * (size_t)q / (size_t)ranks,
               hi = n_blocks * (size_t)(q + 1) / (size_t)ranks;
        if (rc == CX_OK)
            rc = reduce_blocks(v, cols, ncols, mine, n, threads, lo, hi, err);
        if (rc == CX_OK && !(bufs[q] = cx_dist_pack_all(mine, n, &sizes[q], err)))
            rc = err->code ? err->code : CX_ENOMEM;
        for (size_t k = 0; k < n; k++)
            cx_reducer_release(&mine[k]);
    }
    if (rc == CX_OK)
        rc = cx_dist_combine_packed(r, n, (const unsigned char *const *)bufs, sizes, ranks, err);
    if (getenv("CXFIT_DIST_TRACE")) {
        fprintf(stderr, "cxfit: %d emulated ranks: %zu blocks, %zu reducers (%s)", ranks, n_blocks,
                n, r[0].type->name);
        for (size_t k = 1; k < n; k++)
            fprintf(stderr, " with %s", r[k].type->name);
        fputc('\n', stderr);
    }
    for (int q = 0; bufs && q < ranks; q++)
        free(bufs[q]);
    free(bufs);
    free(sizes);
    free(mine);
    return rc;
}

int cx_reduce_view(const cx_view *v, const int *cols, size_t ncols, cx_reducer *r, size_t n,
                   int threads, cx_error *err)
{
    int rc = alloc_totals(r, n, err);
    if (rc != CX_OK)
        return rc;
    /* our threads split the rows; OpenBLAS's would oversubscribe */
    cx_blas_single_threaded();
    size_t n_blocks = cx_view_n_blocks(v), lo = 0, hi = n_blocks;
    /* under mpirun, in a row-split job: this rank's share of the blocks,
     * then the ranks' totals combined in rank order (dist.h) */
    int split = cx_dist_pass_begin(r, n, n_blocks, &lo, &hi);
    int fake = split ? 0 : cx_dist_fake_ranks(r, n);
    if (fake > 1)
        rc = emulate_ranks(v, cols, ncols, r, n, threads, n_blocks, fake, err);
    else
        rc = reduce_blocks(v, cols, ncols, r, n, threads, lo, hi, err);
    if (split)
        rc = cx_dist_pass_combine(r, n, rc, err);
    for (size_t k = 0; rc == CX_OK && k < n; k++)
        if (r[k].type->finalize)
            rc = r[k].type->finalize(r[k].acc, err);
    if (rc != CX_OK)
        for (size_t k = 0; k < n; k++)
            cx_reducer_release(&r[k]);
    return rc;
}

void cx_reducer_release(cx_reducer *r)
{
    if (r->acc)
        r->type->free(r->acc);
    r->acc = NULL;
}

/* ---- moments ------------------------------------------------------------ */

/* Most variables of a listwise bootstrap pass (the GEMM path's row). */
#define CX_MAX_PASS_VARS 512
/* Most columns a holdout expression reads (checked when allocating). */
#define CX_MAX_FILTER_VARS 64

typedef struct moments_acc {
    const cx_moments_params *par;
    size_t n_acc;       /* n_levels * n_slots                          */
    cx_moments_acc **a; /* allocated on first use                      */
    double *draws;      /* bootstrap: N of each replicate              */
    unsigned char *touched;
    cx_moments **rep; /* listwise bootstrap: replicate moments        */
    /* thread scratch, allocated on the first block */
    double *chunk, *w, *sorted, *delta;
    double *q, *wm, *g, *shift, *bdraws; /* listwise bootstrap (add_replicates_gemm) */
    cx_moments *tmp;
    size_t *slot, *order, *start;
    unsigned char *complete;
    size_t rows; /* rows of the scratch (the blocks' leading dimension) */
} moments_acc;

static void moments_free(void *vacc)
{
    moments_acc *m = vacc;
    if (!m)
        return;
    for (size_t i = 0; m->a && i < m->n_acc; i++)
        cx_moments_acc_free(m->a[i]);
    for (size_t i = 0; m->rep && i < m->n_acc; i++)
        cx_moments_free(m->rep[i]);
    free(m->a);
    free(m->rep);
    free(m->q);
    free(m->wm);
    free(m->g);
    free(m->shift);
    free(m->bdraws);
    cx_moments_free(m->tmp);
    free(m->draws);
    free(m->touched);
    free(m->chunk);
    free(m->w);
    free(m->sorted);
    free(m->delta);
    free(m->slot);
    free(m->order);
    free(m->start);
    free(m->complete);
    free(m);
}

/* Listwise bootstrap replicates take the GEMM path (add_replicates_gemm). */
static int use_gemm(const cx_moments_params *par)
{
    return par->split == CX_SPLIT_BOOTSTRAP && par->mode == CX_MISSING_LISTWISE;
}

/* Rows per GEMM of the replicate path: 512, fewer for many replicates so
 * the B x rows weight matrix stays under 4M doubles (32 MB). */
#define REP_CHUNK_MAX 512
static size_t rep_chunk(size_t B)
{
    size_t rows = ((size_t)1 << 22) / (B ? B : 1);
    return rows > REP_CHUNK_MAX ? REP_CHUNK_MAX : (rows ? rows : 1);
}

static void *moments_alloc(const void *params, cx_error *err)
{
    const cx_moments_params *par = params;
    moments_acc *m = cx_calloc(1, sizeof *m, err);
    if (!m)
        return NULL;
    m->par = par;
    if (use_gemm(par) && par->p > CX_MAX_PASS_VARS) {
        free(m);
        cx_error_set(err, CX_EUSAGE, "bootstrap of more than %d variables is not supported",
                     CX_MAX_PASS_VARS);
        return NULL;
    }
    if (par->split == CX_SPLIT_HOLDOUT && filter_n_columns(par->holdout) > CX_MAX_FILTER_VARS) {
        free(m);
        cx_error_set(err, CX_EUSAGE, "a holdout expression may read at most %d columns",
                     CX_MAX_FILTER_VARS);
        return NULL;
    }
    m->n_acc = par->n_levels * (par->n_slots ? par->n_slots : 1);
    m->a = cx_calloc(m->n_acc, sizeof *m->a, err);
    m->draws = cx_calloc(m->n_acc, sizeof *m->draws, err);
    m->touched = cx_calloc(m->n_acc, 1, err);
    m->delta = cx_calloc(par->p + 1, sizeof *m->delta, err);
    if (use_gemm(par))
        m->rep = cx_calloc(m->n_acc, sizeof *m->rep, err);
    if (!m->a || !m->draws || !m->touched || !m->delta || (use_gemm(par) && !m->rep)) {
        moments_free(m);
        return NULL;
    }
    return m;
}

static void moments_reset(void *vacc)
{
    moments_acc *m = vacc;
    for (size_t i = 0; i < m->n_acc; i++)
        if (m->touched[i]) {
            if (m->a[i])
                cx_moments_acc_reset(m->a[i]);
            if (m->rep && m->rep[i])
                cx_moments_reset(m->rep[i]);
            m->draws[i] = 0;
            m->touched[i] = 0;
        }
}

/* Accumulator i, allocated when first needed. */
static cx_moments_acc *slot_acc(moments_acc *m, size_t i, cx_error *err)
{
    if (!m->a[i])
        m->a[i] = cx_moments_acc_alloc(m->par->p, m->par->mode, err);
    if (m->a[i])
        m->touched[i] = 1;
    return m->a[i];
}

static int scratch_ready(moments_acc *m, size_t rows, cx_error *err)
{
    if (m->chunk)
        return CX_OK;
    size_t cols = m->par->p + 1;
    m->rows = rows;
    cx_split_kind split = m->par->split;
    m->chunk = cx_moments_scratch_alloc(m->par->p, err);
    int ok = m->chunk != NULL;
    if (ok && split == CX_SPLIT_BOOTSTRAP) {
        m->w = cx_malloc(rows * sizeof *m->w, err);
        m->complete = cx_malloc(rows, err);
        ok = m->w && m->complete;
    }
    if (ok && use_gemm(m->par)) {
        size_t p = m->par->p, cols1 = 1 + p + p * (p + 1) / 2, B = m->par->n_slots;
        m->q = cx_malloc(rep_chunk(B) * cols1 * sizeof *m->q, err);
        m->wm = cx_malloc(B * rep_chunk(B) * sizeof *m->wm, err);
        m->g = cx_malloc(B * cols1 * sizeof *m->g, err);
        m->shift = cx_malloc((p ? p : 1) * sizeof *m->shift, err);
        m->bdraws = cx_malloc(B * sizeof *m->bdraws, err);
        m->tmp = cx_moments_alloc(p, CX_MISSING_LISTWISE, err);
        ok = m->q && m->wm && m->g && m->shift && m->bdraws && m->tmp;
    }
    if (ok && (split == CX_SPLIT_KFOLD || split == CX_SPLIT_HOLDOUT)) {
        m->sorted = cx_malloc_block_buffer(rows * cols * sizeof *m->sorted, err);
        m->slot = cx_malloc(rows * sizeof *m->slot, err);
        m->order = cx_malloc(rows * sizeof *m->order, err);
        m->start = cx_malloc((m->par->n_slots + 2) * sizeof *m->start, err);
        ok = m->sorted && m->slot && m->order && m->start;
    }
    return ok ? CX_OK : CX_ENOMEM;
}

/* Rows [s, s + n) of the block into accumulator i. */
static int add_run(moments_acc *m, size_t i, const double *X, size_t n, size_t ld, const double *w,
                   cx_error *err)
{
    cx_moments_acc *a = slot_acc(m, i, err);
    if (!a)
        return CX_ENOMEM;
    return cx_moments_acc_add(a, X, n, ld, w, m->chunk, err);
}

/* The slot of row r of the block: its fold, or its side of the holdout. */
static size_t row_slot(const moments_acc *m, const cx_block *b, size_t r)
{
    const cx_moments_params *par = m->par;
    if (par->split == CX_SPLIT_KFOLD)
        return cx_fold_of(par->seed, b->row[r], par->n_slots);
    double values[CX_MAX_FILTER_VARS];
    size_t nf = filter_n_columns(par->holdout);
    for (size_t j = 0; j < nf && j < CX_MAX_FILTER_VARS; j++)
        values[j] = b->data[(par->holdout_at + j) * b->ld + r];
    return filter_matches(par->holdout, values) ? 1 : 0;
}

/* kfold / holdout: regroup a level's rows by slot, add each slot's run. */
static int add_partitioned(moments_acc *m, const cx_block *b, size_t l, cx_error *err)
{
    const cx_moments_params *par = m->par;
    size_t s0 = b->start[l], n = b->start[l + 1] - s0, S = par->n_slots, p = par->p;
    size_t cols = p + (par->weight_at >= 0);
    size_t *start = m->start;
    memset(start, 0, (S + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++) {
        m->slot[i] = row_slot(m, b, s0 + i);
        start[m->slot[i] + 1]++;
    }
    for (size_t s = 0; s < S; s++)
        start[s + 1] += start[s];
    for (size_t i = 0; i < n; i++)
        m->order[start[m->slot[i]]++] = i;
    memmove(start + 1, start, S * sizeof *start);
    start[0] = 0;
    for (size_t j = 0; j < cols; j++) {
        size_t col = j < p ? par->col0 + j : (size_t)par->weight_at;
        const double *src = b->data + col * b->ld + s0;
        double *dst = m->sorted + j * m->rows;
        for (size_t i = 0; i < n; i++)
            dst[i] = src[m->order[i]];
    }
    for (size_t s = 0; s < S; s++) {
        size_t a = start[s], e = start[s + 1];
        if (e == a)
            continue;
        const double *w = par->weight_at >= 0 ? m->sorted + p * m->rows + a : NULL;
        int rc = add_run(m, l * S + s, m->sorted + a, e - a, m->rows, w, err);
        if (rc != CX_OK)
            return rc;
    }
    return CX_OK;
}

/* A row that enters the moments: listwise, all p values (and the weight)
 * present; pairwise, any value present. */
static void mark_complete(moments_acc *m, const cx_block *b, size_t s0, size_t n)
{
    const cx_moments_params *par = m->par;
    int listwise = par->mode == CX_MISSING_LISTWISE;
    for (size_t i = 0; i < n; i++) {
        int all = 1, any = 0;
        for (size_t j = 0; j < par->p; j++) {
            int present = !isnan(b->data[(par->col0 + j) * b->ld + s0 + i]);
            all &= present;
            any |= present;
        }
        if (par->weight_at >= 0 && isnan(b->data[(size_t)par->weight_at * b->ld + s0 + i]))
            all = any = 0;
        m->complete[i] = (unsigned char)(listwise ? all : any);
    }
}

/* bootstrap: every replicate sees every row of the level, weighted by its
 * Poisson(1) count (times the row's own weight). */
static int add_replicates(moments_acc *m, const cx_block *b, size_t l, cx_error *err)
{
    const cx_moments_params *par = m->par;
    size_t s0 = b->start[l], n = b->start[l + 1] - s0, B = par->n_slots;
    const double *X = b->data + par->col0 * b->ld + s0;
    const double *base = par->weight_at >= 0 ? b->data + (size_t)par->weight_at * b->ld + s0 : NULL;
    const double *unit =
        par->cluster_at >= 0 ? b->data + (size_t)par->cluster_at * b->ld + s0 : NULL;
    mark_complete(m, b, s0, n);
    for (size_t r = 0; r < B; r++) {
        double draws = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t key = unit ? cx_value_key(unit[i]) : (uint64_t)b->row[s0 + i];
            double k = (double)cx_boot_count(par->seed, r, key);
            /* a row whose unit is missing is never drawn */
            if (unit && isnan(unit[i]))
                k = 0;
            m->w[i] = base ? base[i] * k : k;
            draws += m->complete[i] ? k : 0;
        }
        int rc = add_run(m, l * B + r, X, n, b->ld, m->w, err);
        if (rc != CX_OK)
            return rc;
        m->draws[l * B + r] += draws;
    }
    return CX_OK;
}

/* Listwise replicates of one level's rows, all at once: with z = x -
 * shift (shift = the run's first complete row) and q_i = [1, z_i,
 * vech(z_i z_i')], the replicate sums G[r] = sum_i w_ri q_i over the
 * complete rows are one DGEMM, W (B x rows) times Q (rows x cols), per
 * rep_chunk(B) rows: BLAS 3 instead of B weighted passes.  Each replicate's
 * run summary (sum w, mean, M2 = S2 - S1 S1' / S0) is then merged (Chan
 * et al.) into its moments.  The shift keeps the sums of the size of the
 * spread; for small integers they are exact. */
static int add_replicates_gemm(moments_acc *m, const cx_block *b, size_t l, cx_error *err)
{
    const cx_moments_params *par = m->par;
    size_t s0 = b->start[l], n = b->start[l + 1] - s0, B = par->n_slots, p = par->p;
    size_t cols1 = 1 + p + p * (p + 1) / 2;
    const double *base = par->weight_at >= 0 ? b->data + (size_t)par->weight_at * b->ld + s0 : NULL;
    const double *unit =
        par->cluster_at >= 0 ? b->data + (size_t)par->cluster_at * b->ld + s0 : NULL;
    mark_complete(m, b, s0, n);
    size_t first = 0;
    while (first < n && !m->complete[first])
        first++;
    if (first == n)
        return CX_OK;
    for (size_t j = 0; j < p; j++)
        m->shift[j] = b->data[(par->col0 + j) * b->ld + s0 + first];
    memset(m->g, 0, B * cols1 * sizeof *m->g);
    double *draws = m->bdraws; /* B sums of counts */
    memset(draws, 0, B * sizeof *draws);
    size_t i = first, chunk = rep_chunk(B);
    while (i < n) {
        size_t k = 0;
        for (; i < n && k < chunk; i++) {
            if (!m->complete[i])
                continue;
            double *q = m->q + k * cols1, z[CX_MAX_PASS_VARS];
            q[0] = 1;
            for (size_t j = 0; j < p; j++)
                q[1 + j] = z[j] = b->data[(par->col0 + j) * b->ld + s0 + i] - m->shift[j];
            for (size_t j = 0, at = 1 + p; j < p; j++)
                for (size_t c = j; c < p; c++)
                    q[at++] = z[j] * z[c];
            uint64_t key = unit ? cx_value_key(unit[i]) : (uint64_t)b->row[s0 + i];
            int no_unit = unit && isnan(unit[i]);
            double bw = base ? base[i] : 1.0;
            for (size_t r = 0; r < B; r++) {
                double cnt = no_unit ? 0 : (double)cx_boot_count(par->seed, r, key);
                m->wm[r * chunk + k] = bw * cnt;
                draws[r] += cnt;
            }
            k++;
        }
        if (k)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)cols1, (int)k, 1.0,
                        m->wm, (int)chunk, m->q, (int)cols1, 1.0, m->g, (int)cols1);
    }
    cx_moments *t = m->tmp;
    for (size_t r = 0; r < B; r++) {
        size_t at = l * B + r;
        const double *gr = m->g + r * cols1;
        double s0w = gr[0];
        m->draws[at] += draws[r];
        m->touched[at] = 1;
        if (!m->rep[at] && !(m->rep[at] = cx_moments_alloc(p, CX_MISSING_LISTWISE, err)))
            return CX_ENOMEM;
        if (s0w <= 0)
            continue;
        cx_moments_reset(t);
        t->n_rows = draws[r];
        t->sum_w = s0w;
        for (size_t j = 0; j < p; j++)
            t->mean[j] = m->shift[j] + gr[1 + j] / s0w;
        for (size_t j = 0, c2 = 1 + p; j < p; j++)
            for (size_t c = j; c < p; c++, c2++) {
                double v = gr[c2] - gr[1 + j] * gr[1 + c] / s0w;
                t->m2[j + c * p] = t->m2[c + j * p] = v;
            }
        cx_moments_merge(m->rep[at], t);
    }
    return CX_OK;
}

/* A bad weight fails the pass naming its table row (1-based). */
static int check_block_weights(const cx_moments_params *par, const cx_block *b, cx_error *err)
{
    if (par->weight_at < 0)
        return CX_OK;
    const double *w = b->data + (size_t)par->weight_at * b->ld;
    long i = cx_weights_first_bad(w, b->n);
    if (i < 0)
        return CX_OK;
    return cx_error_set(err, CX_EUSAGE, "the weight %g in row %zu %s", w[i], b->row[i] + 1,
                        cx_weight_problem(w[i]));
}

/* Small-integer blocks: a plain listwise pass of unweighted moments. */
static int moments_takes_small(const void *params)
{
    const cx_moments_params *par = params;
    return par->split == CX_SPLIT_NONE && par->weight_at < 0 && par->mode == CX_MISSING_LISTWISE;
}

static int moments_add_small(moments_acc *m, const cx_block *b, cx_error *err)
{
    int rc = scratch_ready(m, b->ld, err);
    for (size_t l = 0; rc == CX_OK && l < b->n_levels; l++) {
        size_t s0 = b->start[l], n = b->start[l + 1] - s0;
        cx_moments_acc *a = n ? slot_acc(m, l, err) : NULL;
        if (n && !a)
            return CX_ENOMEM;
        if (n)
            cx_moments_acc_add_small(a, b->small + m->par->col0 * b->ld + s0, n, b->ld, m->chunk);
    }
    return rc;
}

static int moments_add_block(void *vacc, const cx_block *b, cx_error *err)
{
    moments_acc *m = vacc;
    const cx_moments_params *par = m->par;
    if (b->small)
        return moments_add_small(m, b, err);
    int rc = check_block_weights(par, b, err);
    if (rc == CX_OK)
        rc = scratch_ready(m, b->ld, err);
    for (size_t l = 0; rc == CX_OK && l < b->n_levels; l++) {
        size_t s0 = b->start[l], n = b->start[l + 1] - s0;
        if (n == 0)
            continue;
        switch (par->split) {
        case CX_SPLIT_NONE:
            rc = add_run(m, l, b->data + par->col0 * b->ld + s0, n, b->ld,
                         par->weight_at >= 0 ? b->data + (size_t)par->weight_at * b->ld + s0 : NULL,
                         err);
            break;
        case CX_SPLIT_KFOLD:
        case CX_SPLIT_HOLDOUT:
            rc = add_partitioned(m, b, l, err);
            break;
        case CX_SPLIT_BOOTSTRAP:
            rc = use_gemm(par) ? add_replicates_gemm(m, b, l, err) : add_replicates(m, b, l, err);
            break;
        }
    }
    return rc;
}

static void moments_merge(void *vacc, const void *vother)
{
    moments_acc *m = vacc;
    const moments_acc *o = vother;
    cx_error err = {0};
    for (size_t i = 0; i < m->n_acc; i++) {
        if (!o->touched[i])
            continue;
        if (m->rep) {
            if (!m->rep[i])
                m->rep[i] = cx_moments_alloc(m->par->p, CX_MISSING_LISTWISE, &err);
            if (m->rep[i] && o->rep[i])
                cx_moments_merge(m->rep[i], o->rep[i]);
            m->draws[i] += o->draws[i];
            continue;
        }
        cx_moments_acc *a = slot_acc(m, i, &err);
        if (!a)
            continue; /* out of memory: reported by the result calls */
        cx_moments_acc_merge(a, o->a[i], m->delta);
        m->draws[i] += o->draws[i];
    }
}

const cx_reducer_type cx_reducer_moments = {
    "moments", moments_alloc, moments_reset, moments_add_block, moments_merge, NULL, moments_free};

/* Reducers that add small-integer blocks (cx_block.small). */
static int takes_small(const cx_reducer *r)
{
    return r->type == &cx_reducer_moments && moments_takes_small(r->params);
}

cx_moments *cx_moments_result(const void *vacc, size_t level, size_t slot, cx_error *err)
{
    const moments_acc *m = vacc;
    cx_moments *out = cx_moments_alloc(m->par->p, m->par->mode, err);
    size_t i = level * m->par->n_slots + slot;
    if (out && m->rep && m->rep[i])
        cx_moments_merge(out, m->rep[i]); /* into an empty one: a copy */
    else if (out && m->a[i])
        cx_moments_acc_export(m->a[i], out);
    return out;
}

double cx_moments_result_n(const void *vacc, size_t level, size_t slot)
{
    const moments_acc *m = vacc;
    size_t i = level * m->par->n_slots + slot;
    if (m->par->split == CX_SPLIT_BOOTSTRAP)
        return m->draws[i];
    cx_moments *tmp = cx_moments_result(vacc, level, slot, NULL);
    double n = tmp ? cx_moments_n(tmp) : NAN;
    cx_moments_free(tmp);
    return n;
}

cx_moments *cx_moments_result_merged(const void *vacc, size_t level, size_t except, cx_error *err)
{
    const moments_acc *m = vacc;
    const cx_moments_params *par = m->par;
    cx_moments_acc *sum = cx_moments_acc_alloc(par->p, par->mode, err);
    double *delta = cx_calloc(par->p + 1, sizeof *delta, err);
    cx_moments *out = sum && delta ? cx_moments_alloc(par->p, par->mode, err) : NULL;
    if (out) {
        for (size_t s = 0; s < par->n_slots; s++) {
            const cx_moments_acc *a = m->a[level * par->n_slots + s];
            if (s != except && a)
                cx_moments_acc_merge(sum, a, delta);
        }
        cx_moments_acc_export(sum, out);
    }
    cx_moments_acc_free(sum);
    free(delta);
    return out;
}

/* ---- first row of each level -------------------------------------------- */

typedef struct first_row_acc {
    size_t n_levels;
    size_t *first;
} first_row_acc;

static void first_row_free(void *vacc)
{
    first_row_acc *f = vacc;
    if (f)
        free(f->first);
    free(f);
}

static void first_row_reset(void *vacc)
{
    first_row_acc *f = vacc;
    for (size_t l = 0; l < f->n_levels; l++)
        f->first[l] = SIZE_MAX;
}

static void *first_row_alloc(const void *params, cx_error *err)
{
    const cx_first_row_params *par = params;
    first_row_acc *f = cx_calloc(1, sizeof *f, err);
    if (!f)
        return NULL;
    f->n_levels = par->n_levels;
    f->first = cx_malloc((par->n_levels ? par->n_levels : 1) * sizeof *f->first, err);
    if (!f->first) {
        free(f);
        return NULL;
    }
    first_row_reset(f);
    return f;
}

/* A level's rows keep their table order in a block: the first is the least. */
static int first_row_add(void *vacc, const cx_block *b, cx_error *err)
{
    (void)err;
    first_row_acc *f = vacc;
    for (size_t l = 0; l < b->n_levels && l < f->n_levels; l++)
        if (b->start[l + 1] > b->start[l] && b->row[b->start[l]] < f->first[l])
            f->first[l] = b->row[b->start[l]];
    return CX_OK;
}

static void first_row_merge(void *vacc, const void *vother)
{
    first_row_acc *f = vacc;
    const first_row_acc *o = vother;
    for (size_t l = 0; l < f->n_levels; l++)
        if (o->first[l] < f->first[l])
            f->first[l] = o->first[l];
}

const cx_reducer_type cx_reducer_first_row = {"first_row",   first_row_alloc, first_row_reset,
                                              first_row_add, first_row_merge, NULL,
                                              first_row_free};

size_t cx_first_row_of(const void *acc, size_t level)
{
    const first_row_acc *f = acc;
    return level < f->n_levels ? f->first[level] : SIZE_MAX;
}

/* ---- packing for MPI (dist.h) -------------------------------------------- */

/* Per accumulator i: present (0/1), its draws, then its moments. */
static size_t moments_pack(const void *vacc, void *vbuf)
{
    const moments_acc *m = vacc;
    double *buf = vbuf;
    size_t at = 0;
    for (size_t i = 0; i < m->n_acc; i++) {
        int present = m->rep ? m->rep[i] != NULL : m->a[i] != NULL;
        if (buf) {
            buf[at] = present;
            buf[at + 1] = m->draws[i];
        }
        at += 2;
        if (present)
            at += m->rep ? cx_moments_pack(m->rep[i], buf ? buf + at : NULL)
                         : cx_moments_acc_pack(m->a[i], buf ? buf + at : NULL);
    }
    return at * sizeof(double);
}

static int moments_unpack(void *vacc, const void *vbuf, size_t size, cx_error *err)
{
    moments_acc *m = vacc;
    const double *buf = vbuf;
    size_t at = 0, n = size / sizeof(double);
    for (size_t i = 0; i < m->n_acc; i++) {
        if (at + 2 > n)
            return cx_error_set(err, CX_EFAIL, "moments: a packed total is too short");
        int present = buf[at] != 0;
        m->draws[i] = buf[at + 1];
        at += 2;
        if (!present)
            continue;
        m->touched[i] = 1;
        if (m->rep) {
            if (!m->rep[i] && !(m->rep[i] = cx_moments_alloc(m->par->p, CX_MISSING_LISTWISE, err)))
                return err->code;
            size_t need = cx_moments_pack(m->rep[i], NULL);
            if (at + need > n)
                return cx_error_set(err, CX_EFAIL, "moments: a packed total is too short");
            cx_moments_unpack(m->rep[i], buf + at);
            at += need;
        } else {
            cx_moments_acc *a = slot_acc(m, i, err);
            if (!a)
                return err->code ? err->code : CX_ENOMEM;
            size_t need = cx_moments_acc_pack(a, NULL);
            if (at + need > n)
                return cx_error_set(err, CX_EFAIL, "moments: a packed total is too short");
            cx_moments_acc_unpack(a, buf + at);
            at += need;
        }
    }
    return at == n ? CX_OK : cx_error_set(err, CX_EFAIL, "moments: a packed total is too long");
}

const cx_pack_ops cx_moments_pack_ops = {moments_pack, moments_unpack, NULL};

static size_t first_row_pack(const void *vacc, void *buf)
{
    const first_row_acc *f = vacc;
    if (buf)
        memcpy(buf, f->first, f->n_levels * sizeof *f->first);
    return f->n_levels * sizeof *f->first;
}

static int first_row_unpack(void *vacc, const void *buf, size_t size, cx_error *err)
{
    first_row_acc *f = vacc;
    if (size != f->n_levels * sizeof *f->first)
        return cx_error_set(err, CX_EFAIL, "first_row: a packed total has the wrong size");
    memcpy(f->first, buf, size);
    return CX_OK;
}

const cx_pack_ops cx_first_row_pack_ops = {first_row_pack, first_row_unpack, NULL};

/* ---- cx_stats_compute (stats.h): the moments of each level ------------------ */

/* The pass reads big-integer columns relative to their origin (table.h),
 * so values near 2^62 keep their spread; the means get it back here. */
static void add_origins(const cx_view *v, const int *cols, size_t p, cx_moments *m)
{
    for (size_t j = 0; j < p; j++) {
        double o = cx_table_column(v->table, (size_t)cols[j])->origin;
        if (o == 0)
            continue;
        m->mean[j] += o;
        for (size_t k = 0; m->pair_mean && k < p; k++)
            m->pair_mean[j * p + k] += o;
    }
}

int cx_stats_compute(const cx_view *v, const int *cols, size_t p, int weight_col,
                     cx_missing_mode mode, cx_moments **out, cx_error *err)
{
    cx_view relative = *v; /* shares v's levels; owns nothing */
    relative.n_relative = p;
    size_t n_levels = v->n_levels ? v->n_levels : 1, ncols = p + (weight_col >= 0);
    int *read_cols = cx_malloc((ncols ? ncols : 1) * sizeof *read_cols, err);
    if (!read_cols)
        return CX_ENOMEM;
    memcpy(read_cols, cols, p * sizeof *cols);
    if (weight_col >= 0)
        read_cols[p] = weight_col;
    cx_moments_params par = {.p = p,
                             .col0 = 0,
                             .weight_at = weight_col >= 0 ? (long)p : -1,
                             .mode = mode,
                             .n_levels = n_levels,
                             .split = CX_SPLIT_NONE,
                             .n_slots = 1,
                             .cluster_at = -1};
    cx_reducer r = {&cx_reducer_moments, &par, NULL};
    int rc = cx_reduce_view(&relative, read_cols, ncols, &r, 1, 0, err);
    if (rc == CX_EUSAGE && weight_col >= 0 && strncmp(err->msg, "the weight ", 11) == 0) {
        const cx_column_info *info = cx_table_column(v->table, (size_t)weight_col);
        cx_error_prefix(err, "weight column '%s' of table %s", info ? info->name : "?",
                        cx_table_label(v->table));
    }
    for (size_t l = 0; rc == CX_OK && l < n_levels; l++) {
        if (!(out[l] = cx_moments_result(r.acc, l, 0, err))) {
            for (size_t k = 0; k < l; k++)
                cx_moments_free(out[k]);
            rc = CX_ENOMEM;
        }
    }
    for (size_t l = 0; rc == CX_OK && l < n_levels; l++)
        add_origins(v, cols, p, out[l]);
    cx_reducer_release(&r);
    free(read_cols);
    return rc;
}
