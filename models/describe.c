/*
 * describe.c — `model = describe`: item descriptives as psych::describe()
 * reports them, the item correlation matrix and item frequencies.
 *
 * Key `items`: the columns to describe.
 *
 * Per item (its own available cases, as psych): n, mean, sd (N - 1),
 * median, trimmed (10% trimmed mean, R's mean(x, trim = 0.1)), mad
 * (1.4826 * median absolute deviation, R's mad()), min, max, range, skew
 * and kurtosis (psych's default type 3: b1 = m3 / sd^3 and b2 - 3 =
 * m4 / sd^4 - 3 with central moments m_k = sum (x - mean)^k / n and the
 * N - 1 sd), se = sd / sqrt(n).
 *
 * Data path: one streaming pass over the view in row blocks.  Every
 * statistic above is a function of the sorted values, hence of the value
 * counts; survey items (Likert 1-7, 0-10 scores) have a handful of
 * distinct values, so each item keeps a value -> count table (at most
 * cx_describe_max_counted distinct finite values) and memory does not grow
 * with the rows.  The correlations come from the same pass: listwise from
 * cx_moments (stats.h), pairwise from per-pair co-moments merged block by
 * block.  An item that outgrows its table (continuous data, or an
 * infinite value) falls back to the values themselves: after the pass,
 * only those items are loaded with cx_view_load (rows x fallback items
 * doubles, plus rows doubles of work) and described from the sorted values.
 *
 * `by`: every level's statistics come from the same pass (the view
 * delivers each block's rows grouped by level; a reducer keeps one
 * accumulator per level), so the table is read once for all levels, not
 * once per level.  A level's accumulator is up to p x 32 KiB of value
 * tables plus the correlation moments, per thread: a 5000-item job with
 * hundreds of levels would not fit, so levels go in batches of as many as
 * fit cx_describe_pass_budget (1 GiB; levels_per_pass), one pass per
 * batch: one pass when they fit, never more passes than levels.  Each
 * level's totals are the ones a pass over that level alone gives, bit for
 * bit (tests/test_describe.c, test_levels_one_pass).
 *
 * Weights are rejected: weighted medians, trimmed means and skewness have
 * several competing definitions and psych has none to match; a clear
 * error beats a silent choice.
 *
 * Tables: `items` (one row per item; `label` is the column's `label`
 * attribute, the question text `cxfit import` keeps, or ""),
 * `correlations` (column `item`, then one column per item: Pearson
 * correlations, complete cases over all items with `missing = listwise`,
 * per pair with `missing = pairwise`),
 * `frequencies` (item, value, count; items with at most 50 distinct
 * values, e.g. Likert items), and `estimates` (each item's mean as
 * `item ~1` with se = sd / sqrt(n)).
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "bootci.h"
#include "dist.h"
#include "model.h"
#include "reducer.h"
#include "resample.h"

#define MAX_FREQUENCY_VALUES 50
/* Open-addressing slots per item: a power of two, at least twice the
 * largest count limit so probes stay short. */
#define COUNT_SLOTS 2048

/* Items with more distinct values than this are described from their
 * values (the fallback).  Not static so tests can force the fallback
 * (0) and compare both paths; nothing else writes it. */
size_t cx_describe_max_counted = 1000;

static const char *const describe_keys[] = {"items", NULL};

typedef struct item_stats {
    double n, mean, sd, median, trimmed, mad, min, max, skew, kurtosis, se;
} item_stats;

/* One distinct value and how often it occurs (counts are exact in a double
 * up to 2^53 rows). */
typedef struct value_count {
    double value, count;
} value_count;

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int compare_value_counts(const void *a, const void *b)
{
    return compare_doubles(&((const value_count *)a)->value, &((const value_count *)b)->value);
}

static void set_missing_stats(item_stats *s)
{
    memset(s, 0, sizeof *s);
    s->mean = s->sd = s->median = s->trimmed = s->mad = NAN;
    s->min = s->max = s->skew = s->kurtosis = s->se = NAN;
}

/* sd, skew, kurtosis and se from the central moment sums m2..m4 of n
 * values; the formulas of the header comment. */
static void finish_moments(item_stats *s, double n, double m2, double m3, double m4)
{
    s->sd = n > 1 ? sqrt(m2 / (n - 1)) : NAN;
    s->skew = m3 / n / pow(s->sd, 3);
    s->kurtosis = m4 / n / pow(s->sd, 4) - 3;
    s->se = s->sd / sqrt(n);
}

/* ---- statistics from value counts ---------------------------------------- */

/* The value at 0-based position `idx` of the sorted values. */
static double counts_order_stat(const value_count *vc, size_t m, double idx)
{
    double cum = 0;
    for (size_t i = 0; i < m; i++) {
        cum += vc[i].count;
        if (idx < cum)
            return vc[i].value;
    }
    return vc[m - 1].value;
}

static double counts_median(const value_count *vc, size_t m, double n)
{
    double half = floor(n / 2);
    if (fmod(n, 2) != 0)
        return counts_order_stat(vc, m, half);
    return 0.5 * (counts_order_stat(vc, m, half - 1) + counts_order_stat(vc, m, half));
}

/* R's mean(x, trim = 0.1): each value weighs by how many of its copies lie
 * in the kept positions [lo, n - lo). */
static double counts_trimmed_mean(const value_count *vc, size_t m, double n)
{
    double lo = floor(n * 0.1), hi = n - lo, cum = 0, s = 0;
    if (2 * lo >= n)
        return counts_median(vc, m, n);
    for (size_t i = 0; i < m; i++) {
        double a = fmax(cum, lo), b = fmin(cum + vc[i].count, hi);
        if (b > a)
            s += vc[i].value * (b - a);
        cum += vc[i].count;
    }
    return s / (n - 2 * lo);
}

/* R's mad(): 1.4826 * median |x - median|; `work` holds m entries. */
static double counts_mad(const value_count *vc, size_t m, double n, double median,
                         value_count *work)
{
    for (size_t i = 0; i < m; i++) {
        work[i].value = fabs(vc[i].value - median);
        work[i].count = vc[i].count;
    }
    qsort(work, m, sizeof *work, compare_value_counts);
    return 1.4826 * counts_median(work, m, n);
}

/* All statistics of an item from its m distinct values (sorted ascending)
 * and their counts; `work` holds m entries. */
static void describe_counts(const value_count *vc, size_t m, value_count *work, item_stats *s)
{
    double n = 0, sum = 0;
    for (size_t i = 0; i < m; i++) {
        n += vc[i].count;
        sum += vc[i].value * vc[i].count;
    }
    if (n == 0) {
        set_missing_stats(s);
        return;
    }
    memset(s, 0, sizeof *s);
    s->n = n;
    s->mean = sum / n;
    double m2 = 0, m3 = 0, m4 = 0;
    for (size_t i = 0; i < m; i++) {
        double d = vc[i].value - s->mean, d2 = d * d;
        m2 += vc[i].count * d2;
        m3 += vc[i].count * d2 * d;
        m4 += vc[i].count * d2 * d2;
    }
    finish_moments(s, n, m2, m3, m4);
    s->median = counts_median(vc, m, n);
    s->trimmed = counts_trimmed_mean(vc, m, n);
    s->mad = counts_mad(vc, m, n, s->median, work);
    s->min = vc[0].value;
    s->max = vc[m - 1].value;
}

/* ---- statistics from the values (fallback) -------------------------------- */

/* Median of sorted values. */
static double sorted_median(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* Neumaier's compensated sum: the in-memory path adds up to millions of
 * terms, and without compensation its moments drift ~1e-12 from the
 * counted path's (a few hundred terms), which tests hold to 1e-12. */
typedef struct exact_sum {
    double sum, carry;
} exact_sum;

static void exact_add(exact_sum *s, double x)
{
    double t = s->sum + x;
    s->carry += fabs(s->sum) >= fabs(x) ? (s->sum - t) + x : (x - t) + s->sum;
    s->sum = t;
}

static double exact_value(const exact_sum *s)
{
    return s->sum + s->carry;
}

/* R's mean(x, trim = 0.1) on sorted values: drop floor(n * 0.1) values at
 * each end. */
static double sorted_trimmed_mean(const double *x, size_t n)
{
    size_t lo = (size_t)floor((double)n * 0.1);
    if (n == 0 || 2 * lo >= n)
        return sorted_median(x, n);
    exact_sum s = {0, 0};
    for (size_t i = lo; i < n - lo; i++)
        exact_add(&s, x[i]);
    return exact_value(&s) / (double)(n - 2 * lo);
}

/* R's mad(): 1.4826 * median(|x - median|); `work` holds n doubles. */
static double mad_about(const double *x, size_t n, double median, double *work)
{
    for (size_t i = 0; i < n; i++)
        work[i] = fabs(x[i] - median);
    qsort(work, n, sizeof *work, compare_doubles);
    return 1.4826 * sorted_median(work, n);
}

/* Moments of the n present values in `v` (sorted); two passes. */
static void item_moments(const double *v, size_t n, item_stats *s)
{
    exact_sum sum = {0, 0}, m2 = {0, 0}, m3 = {0, 0}, m4 = {0, 0};
    for (size_t i = 0; i < n; i++)
        exact_add(&sum, v[i]);
    double mean = exact_value(&sum) / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = v[i] - mean, d2 = d * d;
        exact_add(&m2, d2);
        exact_add(&m3, d2 * d);
        exact_add(&m4, d2 * d2);
    }
    s->mean = mean;
    finish_moments(s, (double)n, exact_value(&m2), exact_value(&m3), exact_value(&m4));
}

/* All statistics of one loaded column (n rows, NaN = missing).  Sorts the
 * present values to the front of `col` (their count in s->n, for the
 * frequency table); `work` holds n doubles. */
static void describe_column(double *col, size_t n, double *work, item_stats *s)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(col[i]))
            col[k++] = col[i];
    if (k == 0) {
        set_missing_stats(s);
        return;
    }
    memset(s, 0, sizeof *s);
    s->n = (double)k;
    qsort(col, k, sizeof *col, compare_doubles);
    item_moments(col, k, s);
    s->median = sorted_median(col, k);
    s->trimmed = sorted_trimmed_mean(col, k);
    s->mad = mad_about(col, k, s->median, work);
    s->min = col[0];
    s->max = col[k - 1];
}

/* Runs of equal values of sorted x[0, k) into `out` (room for `max`);
 * returns the number of runs, or max + 1 when there are more. */
static size_t sorted_runs(const double *x, size_t k, value_count *out, size_t max)
{
    size_t m = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && x[j] == x[i])
            j++;
        if (m == max)
            return max + 1;
        out[m].value = x[i];
        out[m].count = (double)(j - i);
        m++;
        i = j;
    }
    return m;
}

/* ---- value counts while streaming ----------------------------------------- */

/* One item's value -> count table (open addressing, linear probing; a slot
 * is free while its count is 0).  `overflow`: the item has left the
 * counted path and will be described from its values. */
typedef struct value_table {
    double *key;
    double *count;
    size_t distinct;
    int overflow;
} value_table;

static size_t value_slot(double key)
{
    uint64_t bits;
    memcpy(&bits, &key, sizeof bits);
    bits *= UINT64_C(0x9E3779B97F4A7C15); /* Fibonacci hashing: high bits mix all */
    return (size_t)(bits >> 53) & (COUNT_SLOTS - 1);
}

static void value_table_add_count(value_table *t, double x, double count)
{
    if (!isfinite(x) || t->overflow) {
        t->overflow = 1;
        return;
    }
    double key = x == 0 ? 0.0 : x; /* -0 and +0 are one value, as sorting sees them */
    size_t h = value_slot(key);
    while (t->count[h] != 0 && t->key[h] != key)
        h = (h + 1) & (COUNT_SLOTS - 1);
    if (t->count[h] == 0) {
        /* at most half the slots filled, or probing would not end */
        if (t->distinct >= cx_describe_max_counted || t->distinct >= COUNT_SLOTS / 2) {
            t->overflow = 1;
            return;
        }
        t->key[h] = key;
        t->distinct++;
    }
    t->count[h] += count;
}

static void value_table_add(value_table *t, double x)
{
    value_table_add_count(t, x, 1);
}

/* t += o: the union of the counted values (overflowing as one table
 * would have, when the union has too many distinct values). */
static void value_table_merge(value_table *t, const value_table *o)
{
    if (o->overflow)
        t->overflow = 1;
    for (size_t h = 0; h < COUNT_SLOTS && !t->overflow; h++)
        if (o->count[h] != 0)
            value_table_add_count(t, o->key[h], o->count[h]);
}

/* The counted values, sorted ascending, into `out` (room for distinct). */
static size_t value_table_sorted(const value_table *t, value_count *out)
{
    size_t m = 0;
    for (size_t h = 0; h < COUNT_SLOTS; h++)
        if (t->count[h] != 0) {
            out[m].value = t->key[h];
            out[m].count = t->count[h];
            m++;
        }
    qsort(out, m, sizeof *out, compare_value_counts);
    return m;
}

/* ---- pairwise correlations while streaming -------------------------------- */

/* Co-moments of items j and k over the rows where both are present:
 * count, means and centered sums of squares and cross-products. */
typedef struct pair_moments {
    double n, mean_j, mean_k, ss_j, ss_k, sp;
} pair_moments;

/* Two passes over one block (its own means), then Chan et al.'s merge, as
 * cx_moments does, so long tables lose no digits to raw sums. */
static void pair_add_block(pair_moments *a, const double *xj, const double *xk, size_t rows)
{
    double n = 0, sj = 0, sk = 0;
    for (size_t i = 0; i < rows; i++)
        if (!isnan(xj[i]) && !isnan(xk[i])) {
            n++;
            sj += xj[i];
            sk += xk[i];
        }
    if (n == 0)
        return;
    double mj = sj / n, mk = sk / n, ssj = 0, ssk = 0, sp = 0;
    for (size_t i = 0; i < rows; i++)
        if (!isnan(xj[i]) && !isnan(xk[i])) {
            double dj = xj[i] - mj, dk = xk[i] - mk;
            ssj += dj * dj;
            ssk += dk * dk;
            sp += dj * dk;
        }
    double total = a->n + n, f = a->n * n / total;
    double dj = mj - a->mean_j, dk = mk - a->mean_k;
    a->ss_j += ssj + dj * dj * f;
    a->ss_k += ssk + dk * dk * f;
    a->sp += sp + dj * dk * f;
    a->mean_j += dj * (n / total);
    a->mean_k += dk * (n / total);
    a->n = total;
}

/* a += o (Chan et al.). */
static void pair_merge(pair_moments *a, const pair_moments *o)
{
    if (o->n == 0)
        return;
    double total = a->n + o->n, f = a->n * o->n / total;
    double dj = o->mean_j - a->mean_j, dk = o->mean_k - a->mean_k;
    a->ss_j += o->ss_j + dj * dj * f;
    a->ss_k += o->ss_k + dk * dk * f;
    a->sp += o->sp + dj * dk * f;
    a->mean_j += dj * (o->n / total);
    a->mean_k += dk * (o->n / total);
    a->n = total;
}

static double pair_correlation(const pair_moments *a)
{
    if (a->n < 2)
        return NAN;
    return a->ss_j > 0 && a->ss_k > 0 ? a->sp / sqrt(a->ss_j * a->ss_k) : NAN;
}

/* ---- the streaming pass --------------------------------------------------- */

typedef struct describe_acc {
    size_t p;
    /* bootstrap (B > 0): per replicate r and item j, the sums of the
     * Poisson counts k and of k x over the rows where the item is present */
    size_t B;
    double *boot_k, *boot_kx;          /* B x p */
    const struct describe_params *par; /* the pass's (reducer copies)  */
    double rows;                       /* rows of the view                              */
    value_table *tables;               /* p                                             */
    cx_moments *listwise;              /* listwise correlations; NULL when pairwise     */
    pair_moments *pairs;               /* p x p (j <= k used) when pairwise, else NULL  */
} describe_acc;

static void describe_acc_free(describe_acc *a)
{
    for (size_t j = 0; a->tables && j < a->p; j++) {
        free(a->tables[j].key);
        free(a->tables[j].count);
    }
    free(a->tables);
    cx_moments_free(a->listwise);
    free(a->pairs);
    free(a->boot_k);
    free(a->boot_kx);
    memset(a, 0, sizeof *a);
}

static int describe_acc_alloc(describe_acc *a, size_t p, int pairwise, cx_error *err)
{
    memset(a, 0, sizeof *a);
    a->p = p;
    a->tables = cx_calloc(p, sizeof *a->tables, err);
    int ok = a->tables != NULL;
    for (size_t j = 0; ok && j < p; j++) {
        a->tables[j].key = cx_calloc(COUNT_SLOTS, sizeof *a->tables[j].key, err);
        a->tables[j].count = cx_calloc(COUNT_SLOTS, sizeof *a->tables[j].count, err);
        ok = a->tables[j].key && a->tables[j].count;
    }
    if (ok && pairwise)
        ok = (a->pairs = cx_calloc(p * p, sizeof *a->pairs, err)) != NULL;
    else if (ok)
        ok = (a->listwise = cx_moments_alloc(p, CX_MISSING_LISTWISE, err)) != NULL;
    if (!ok) {
        describe_acc_free(a);
        return err->code ? err->code : CX_ENOMEM;
    }
    return CX_OK;
}

/* Add one block (column-major, leading dimension ld, `rows` rows). */
static int describe_acc_add(describe_acc *a, const double *block, size_t rows, size_t ld,
                            cx_error *err)
{
    a->rows += (double)rows;
    for (size_t j = 0; j < a->p; j++) {
        value_table *t = &a->tables[j];
        const double *x = block + j * ld;
        for (size_t i = 0; i < rows && !t->overflow; i++)
            if (!isnan(x[i]))
                value_table_add(t, x[i]);
    }
    if (a->listwise)
        return cx_moments_add_block(a->listwise, block, rows, ld, NULL, err);
    for (size_t j = 0; j < a->p; j++)
        for (size_t k = j; k < a->p; k++)
            pair_add_block(&a->pairs[j * a->p + k], block + j * ld, block + k * ld, rows);
    return CX_OK;
}

/* ---- the reducer --------------------------------------------------------- */

/* describe_acc as an engine reducer (engine/reducer.h), one per `by`
 * level of a batch of levels [level0, level0 + n_levels): each thread
 * summarises its blocks (the rows of each level arrive as one run, in
 * table order), the engine merges them in block order, so every level's
 * totals are those of a pass over that level alone. */
struct describe_params {
    size_t p;
    int pairwise;
    size_t B; /* bootstrap replicates, 0 = none          */
    uint64_t seed;
    long cluster_at;         /* block column of bootstrap_cluster, -1   */
    size_t level0, n_levels; /* the batch of view levels         */
};
typedef struct describe_params describe_params;

/* Room for the replicate sums. */
static int boot_alloc(describe_acc *a, size_t B, cx_error *err)
{
    a->B = B;
    if (!B)
        return CX_OK;
    a->boot_k = cx_calloc(B * a->p, sizeof *a->boot_k, err);
    a->boot_kx = cx_calloc(B * a->p, sizeof *a->boot_kx, err);
    return a->boot_k && a->boot_kx ? CX_OK : CX_ENOMEM;
}

/* Replicate sums of one block: row i enters replicate r k times. */
static void boot_add(describe_acc *a, const describe_params *par, const cx_block *b)
{
    for (size_t i = 0; i < b->n; i++) {
        double unit = par->cluster_at >= 0 ? b->data[(size_t)par->cluster_at * b->ld + i] : 0;
        if (par->cluster_at >= 0 && isnan(unit))
            continue;
        uint64_t key = par->cluster_at >= 0 ? cx_value_key(unit) : (uint64_t)b->row[i];
        for (size_t r = 0; r < a->B; r++) {
            double k = cx_boot_count(par->seed, r, key);
            if (k == 0)
                continue;
            for (size_t j = 0; j < a->p; j++) {
                double x = b->data[j * b->ld + i];
                if (!isnan(x)) {
                    a->boot_k[r * a->p + j] += k;
                    a->boot_kx[r * a->p + j] += k * x;
                }
            }
        }
    }
}

/* The accumulators of a batch of levels; a level's are allocated when
 * its first rows arrive (tables NULL until then). */
typedef struct describe_batch {
    const describe_params *par;
    describe_acc *lv;       /* n_levels                                   */
    unsigned char *touched; /* rows added since the last reset            */
} describe_batch;

static void batch_free(void *vacc)
{
    describe_batch *t = vacc;
    if (!t)
        return;
    for (size_t l = 0; t->lv && l < t->par->n_levels; l++)
        describe_acc_free(&t->lv[l]);
    free(t->lv);
    free(t->touched);
    free(t);
}

static void *batch_alloc(const void *params, cx_error *err)
{
    const describe_params *par = params;
    describe_batch *t = cx_calloc(1, sizeof *t, err);
    if (!t)
        return NULL;
    t->par = par;
    t->lv = cx_calloc(par->n_levels ? par->n_levels : 1, sizeof *t->lv, err);
    t->touched = cx_calloc(par->n_levels ? par->n_levels : 1, 1, err);
    if (!t->lv || !t->touched) {
        batch_free(t);
        return NULL;
    }
    return t;
}

/* Level l's accumulator, allocated on first use. */
static describe_acc *batch_level(describe_batch *t, size_t l, cx_error *err)
{
    describe_acc *a = &t->lv[l];
    if (!a->tables) {
        if (describe_acc_alloc(a, t->par->p, t->par->pairwise, err) != CX_OK)
            return NULL;
        a->par = t->par;
        if (boot_alloc(a, t->par->B, err) != CX_OK) {
            describe_acc_free(a);
            return NULL;
        }
    }
    t->touched[l] = 1;
    return a;
}

static void acc_reset(describe_acc *a)
{
    a->rows = 0;
    for (size_t j = 0; j < a->p; j++) {
        memset(a->tables[j].key, 0, COUNT_SLOTS * sizeof *a->tables[j].key);
        memset(a->tables[j].count, 0, COUNT_SLOTS * sizeof *a->tables[j].count);
        a->tables[j].distinct = 0;
        a->tables[j].overflow = 0;
    }
    if (a->listwise)
        cx_moments_reset(a->listwise);
    if (a->pairs)
        memset(a->pairs, 0, a->p * a->p * sizeof *a->pairs);
    if (a->B) {
        memset(a->boot_k, 0, a->B * a->p * sizeof *a->boot_k);
        memset(a->boot_kx, 0, a->B * a->p * sizeof *a->boot_kx);
    }
}

/* Only the levels a block touched: a reset per block must not clear every
 * level's value tables (32 KiB per item each). */
static void batch_reset(void *vacc)
{
    describe_batch *t = vacc;
    for (size_t l = 0; l < t->par->n_levels; l++)
        if (t->touched[l]) {
            acc_reset(&t->lv[l]);
            t->touched[l] = 0;
        }
}

static int batch_add(void *vacc, const cx_block *b, cx_error *err)
{
    describe_batch *t = vacc;
    const describe_params *par = t->par;
    for (size_t l = 0; l < par->n_levels; l++) {
        size_t v = par->level0 + l;
        if (v >= b->n_levels || b->start[v + 1] == b->start[v])
            continue;
        size_t s0 = b->start[v];
        /* level v's rows as a block of their own */
        cx_block sub = {b->start[v + 1] - s0, b->ld, b->data + s0, b->level + s0,
                        b->row + s0,          1,     NULL,         NULL};
        describe_acc *a = batch_level(t, l, err);
        if (!a)
            return err->code ? err->code : CX_ENOMEM;
        if (a->B)
            boot_add(a, par, &sub);
        int rc = describe_acc_add(a, sub.data, sub.n, sub.ld, err);
        if (rc != CX_OK)
            return rc;
    }
    return CX_OK;
}

static void acc_merge(describe_acc *a, const describe_acc *o)
{
    a->rows += o->rows;
    for (size_t j = 0; j < a->p; j++)
        value_table_merge(&a->tables[j], &o->tables[j]);
    if (a->listwise)
        cx_moments_merge(a->listwise, o->listwise);
    for (size_t j = 0; a->pairs && j < a->p; j++)
        for (size_t k = j; k < a->p; k++)
            pair_merge(&a->pairs[j * a->p + k], &o->pairs[j * a->p + k]);
    for (size_t i = 0; i < a->B * a->p; i++) {
        a->boot_k[i] += o->boot_k[i];
        a->boot_kx[i] += o->boot_kx[i];
    }
}

/* The totals' level accumulators are allocated here when first needed;
 * the interface has no error path, so a failed allocation is remembered
 * and reported after the pass (batch_failed). */
static void batch_merge(void *vacc, const void *vother)
{
    describe_batch *t = vacc;
    const describe_batch *o = vother;
    for (size_t l = 0; l < t->par->n_levels; l++) {
        if (!o->touched[l])
            continue;
        cx_error ignore = {0};
        describe_acc *a = batch_level(t, l, &ignore);
        if (a)
            acc_merge(a, &o->lv[l]);
        else
            t->touched[l] = 1; /* with no tables: describe_stream says so */
    }
}

static const cx_reducer_type describe_reducer = {"describe",  batch_alloc, batch_reset, batch_add,
                                                 batch_merge, NULL,        batch_free};

/* ---- MPI row splitting (engine/dist.h) ----------------------------------- */

/* A level's accumulator as doubles: rows; per item its overflow flag, its
 * distinct count and (counted) the (value, count) pairs; the listwise
 * moments or the p x p pair moments; the replicate sums.  An overflowed
 * table travels as its flag alone: the total overflows as one process's
 * would.  The counts are whole numbers, so any merge order gives the same
 * table; the moments merge in rank order (table order). */
static size_t level_pack(const describe_acc *a, double *buf)
{
    size_t at = 1, p = a->p;
    if (buf)
        buf[0] = a->rows;
    for (size_t j = 0; j < p; j++) {
        const value_table *t = &a->tables[j];
        size_t m = t->overflow ? 0 : t->distinct;
        if (buf) {
            buf[at] = t->overflow;
            buf[at + 1] = (double)m;
            for (size_t h = 0, e = 0; m && h < COUNT_SLOTS; h++)
                if (t->count[h] != 0) {
                    buf[at + 2 + 2 * e] = t->key[h];
                    buf[at + 3 + 2 * e++] = t->count[h];
                }
        }
        at += 2 + 2 * m;
    }
    if (a->listwise) {
        at += cx_moments_pack(a->listwise, buf ? buf + at : NULL);
    } else {
        for (size_t i = 0; buf && i < p * p; i++) {
            const pair_moments *q = &a->pairs[i];
            double *x = buf + at + 6 * i;
            x[0] = q->n, x[1] = q->mean_j, x[2] = q->mean_k, x[3] = q->ss_j, x[4] = q->ss_k,
            x[5] = q->sp;
        }
        at += 6 * p * p;
    }
    if (buf && a->B) {
        memcpy(buf + at, a->boot_k, a->B * p * sizeof *buf);
        memcpy(buf + at + a->B * p, a->boot_kx, a->B * p * sizeof *buf);
    }
    return at + 2 * a->B * p;
}

/* Level accumulator `a` (freshly allocated) from level_pack's doubles;
 * returns the doubles read, 0 when `n` is too few. */
static size_t level_unpack(describe_acc *a, const double *buf, size_t n)
{
    size_t at = 1, p = a->p;
    if (n < 1)
        return 0;
    a->rows = buf[0];
    for (size_t j = 0; j < p; j++) {
        if (n - at < 2)
            return 0;
        value_table *t = &a->tables[j];
        size_t m = (size_t)buf[at + 1];
        if (m > (n - at - 2) / 2)
            return 0;
        for (size_t e = 0; e < m; e++)
            value_table_add_count(t, buf[at + 2 + 2 * e], buf[at + 3 + 2 * e]);
        t->overflow |= buf[at] != 0;
        at += 2 + 2 * m;
    }
    size_t need = (a->listwise ? cx_moments_pack(a->listwise, NULL) : 6 * p * p) + 2 * a->B * p;
    if (n - at < need)
        return 0;
    if (a->listwise) {
        cx_moments_unpack(a->listwise, buf + at);
        at += cx_moments_pack(a->listwise, NULL);
    } else {
        for (size_t i = 0; i < p * p; i++) {
            const double *x = buf + at + 6 * i;
            a->pairs[i] = (pair_moments){x[0], x[1], x[2], x[3], x[4], x[5]};
        }
        at += 6 * p * p;
    }
    if (a->B) {
        memcpy(a->boot_k, buf + at, a->B * p * sizeof *buf);
        memcpy(a->boot_kx, buf + at + a->B * p, a->B * p * sizeof *buf);
    }
    return at + 2 * a->B * p;
}

/* Per level of the batch: touched, then (if so) the level's doubles. */
static size_t batch_pack(const void *vacc, void *vbuf)
{
    const describe_batch *t = vacc;
    double *buf = vbuf;
    size_t at = 0;
    for (size_t l = 0; l < t->par->n_levels; l++) {
        int on = t->touched[l] && t->lv[l].tables;
        if (buf)
            buf[at] = on;
        at++;
        if (on)
            at += level_pack(&t->lv[l], buf ? buf + at : NULL);
    }
    return at * sizeof(double);
}

static int batch_unpack(void *vacc, const void *vbuf, size_t size, cx_error *err)
{
    describe_batch *t = vacc;
    const double *buf = vbuf;
    size_t at = 0, n = size / sizeof *buf;
    for (size_t l = 0; l < t->par->n_levels; l++) {
        if (at >= n)
            return cx_error_set(err, CX_EFAIL, "describe: a packed total is too short");
        if (buf[at++] == 0)
            continue;
        describe_acc *a = batch_level(t, l, err);
        if (!a)
            return err->code ? err->code : CX_ENOMEM;
        size_t used = level_unpack(a, buf + at, n - at);
        if (!used)
            return cx_error_set(err, CX_EFAIL, "describe: a packed total is too short");
        at += used;
    }
    return at == n ? CX_OK : cx_error_set(err, CX_EFAIL, "describe: a packed total is too long");
}

static const cx_pack_ops describe_pack_ops = {batch_pack, batch_unpack, NULL};

/* Levels per pass: as many as the per-level statistics of all thread
 * copies (each thread keeps its own, plus the totals) fit in
 * cx_describe_pass_budget, at least one.  A level's worst case: every
 * item's value table (COUNT_SLOTS keys and counts), the p x p correlation
 * moments, the bootstrap sums. */
size_t cx_describe_pass_budget = (size_t)1 << 30;

static size_t levels_per_pass(size_t p, int pairwise, size_t B, int threads)
{
    size_t per_level =
        sizeof(describe_acc) + p * (sizeof(value_table) + 2 * COUNT_SLOTS * sizeof(double)) +
        (pairwise ? p * p * sizeof(pair_moments) : (p * p + 2 * p) * sizeof(double)) +
        2 * B * p * sizeof(double);
    size_t copies = (size_t)(threads > 0 ? threads : omp_get_max_threads()) + 1;
    size_t n = cx_describe_pass_budget / (per_level * copies);
    return n ? n : 1;
}

/* One pass over the job's view for levels [level0, level0 + n): `out`
 * receives the totals of each (an empty accumulator for a level without
 * rows). */
static int describe_stream(const cx_job *job, const int *cols, size_t p, size_t level0, size_t n,
                           describe_acc *out, cx_error *err)
{
    describe_params par = {p,
                           job->missing == CX_MISSING_PAIRWISE,
                           job->bootstrap > 0 ? (size_t)job->bootstrap : 0,
                           job->seed,
                           -1,
                           level0,
                           n};
    int *read = cx_malloc((p + 1) * sizeof *read, err);
    if (!read)
        return CX_ENOMEM;
    memcpy(read, cols, p * sizeof *read);
    size_t ncols = p;
    if (par.B && job->bootstrap_cluster >= 0) {
        par.cluster_at = (long)ncols;
        read[ncols++] = job->bootstrap_cluster;
    }
    cx_view relative = *job->view; /* big integers read relative: see add_origin */
    relative.n_relative = p;
    cx_reducer r = {&describe_reducer, &par, NULL};
    cx_pack_register(&describe_reducer, &describe_pack_ops);
    int rc = cx_reduce_view(&relative, read, ncols, &r, 1, job->threads, err);
    free(read);
    if (rc != CX_OK)
        return rc;
    describe_batch *t = r.acc;
    for (size_t l = 0; l < n; l++) {
        if (!t->touched[l]) { /* no rows: an empty accumulator */
            out[l] = (describe_acc){.p = p};
            continue;
        }
        if (!t->lv[l].tables) /* batch_merge could not allocate it */
            rc = cx_error_set(err, CX_ENOMEM, "out of memory for level %zu", level0 + l + 1);
        out[l] = t->lv[l]; /* take the totals over */
        out[l].par = NULL;
        t->lv[l] = (describe_acc){0};
    }
    cx_reducer_release(&r);
    return rc;
}

/* Correlation of items j and k from the pass. */
static double acc_correlation(const describe_acc *a, size_t j, size_t k)
{
    if (a->pairs)
        return pair_correlation(&a->pairs[j < k ? j * a->p + k : k * a->p + j]);
    const cx_moments *m = a->listwise;
    size_t p = a->p;
    double sj = m->m2[j + j * p], sk = m->m2[k + k * p];
    if (m->sum_w < 2)
        return NAN;
    return sj > 0 && sk > 0 ? m->m2[j + k * p] / sqrt(sj * sk) : NAN;
}

/* ---- tables --------------------------------------------------------------- */

static const char *const item_columns[] = {"mean", "sd",    "median", "trimmed",  "mad", "min",
                                           "max",  "range", "skew",   "kurtosis", "se",  NULL};

static cx_rtable *items_table(cx_result *r, cx_error *err)
{
    cx_rtable *t = cx_result_table(r, "items", err);
    if (!t || cx_rtable_add_column(t, "item", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "label", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "n", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "missing", CX_RCOL_INT, err))
        return NULL;
    for (size_t i = 0; item_columns[i]; i++)
        if (cx_rtable_add_column(t, item_columns[i], CX_RCOL_DOUBLE, err))
            return NULL;
    return t;
}

/* `rows`: the rows of the view, so missing = rows - n.  `label`: the
 * column's question text ("" when it has none).  `range` is passed on:
 * computed before the origin is added back (see add_origin). */
static int add_item_row(cx_rtable *t, const char *name, const char *label, const item_stats *s,
                        double range, double rows, cx_error *err)
{
    long row = cx_rtable_add_row(t, err);
    if (row < 0 || cx_rtable_set_string(t, (size_t)row, "item", name, err) ||
        cx_rtable_set_string(t, (size_t)row, "label", label ? label : "", err))
        return err->code ? err->code : CX_ENOMEM;
    double values[] = {s->mean, s->sd, s->median, s->trimmed,  s->mad, s->min,
                       s->max,  range, s->skew,   s->kurtosis, s->se};
    cx_rtable_set_int(t, (size_t)row, "n", (long long)s->n);
    cx_rtable_set_int(t, (size_t)row, "missing", (long long)rows - (long long)s->n);
    for (size_t i = 0; item_columns[i]; i++)
        cx_rtable_set_double(t, (size_t)row, item_columns[i], values[i]);
    return CX_OK;
}

/* Value counts of an item with m distinct values, when m is small. */
static int add_frequencies(cx_result *r, const char *name, const value_count *vc, size_t m,
                           cx_error *err)
{
    if (m == 0 || m > MAX_FREQUENCY_VALUES)
        return CX_OK;
    cx_rtable *t = cx_result_find_table(r, "frequencies");
    if (!t) {
        t = cx_result_table(r, "frequencies", err);
        if (!t || cx_rtable_add_column(t, "item", CX_RCOL_STRING, err) ||
            cx_rtable_add_column(t, "value", CX_RCOL_DOUBLE, err) ||
            cx_rtable_add_column(t, "count", CX_RCOL_INT, err))
            return err->code ? err->code : CX_ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "item", name, err))
            return err->code ? err->code : CX_ENOMEM;
        cx_rtable_set_double(t, (size_t)row, "value", vc[i].value);
        cx_rtable_set_int(t, (size_t)row, "count", (long long)vc[i].count);
    }
    return CX_OK;
}

static int add_correlations(cx_result *r, char **names, const describe_acc *a, cx_error *err)
{
    cx_rtable *t = cx_result_table(r, "correlations", err);
    int rc = t ? cx_rtable_add_column(t, "item", CX_RCOL_STRING, err) : CX_ENOMEM;
    for (size_t j = 0; rc == CX_OK && j < a->p; j++)
        rc = cx_rtable_add_column(t, names[j], CX_RCOL_DOUBLE, err);
    /* Each item's column looked up once: setting cells by name looks the
     * column up per cell, p^2 lookups among p names (9 minutes for 5000
     * items).  An item listed twice shares one column, as before. */
    int *at = rc == CX_OK ? cx_malloc((a->p ? a->p : 1) * sizeof *at, err) : NULL;
    if (rc == CX_OK && !at)
        rc = CX_ENOMEM;
    for (size_t k = 0; rc == CX_OK && k < a->p; k++)
        at[k] = cx_rtable_find_column(t, names[k]);
    for (size_t j = 0; rc == CX_OK && j < a->p; j++) {
        long row = cx_rtable_add_row(t, err);
        rc = row < 0 ? CX_ENOMEM : cx_rtable_set_string(t, (size_t)row, "item", names[j], err);
        for (size_t k = 0; rc == CX_OK && k < a->p; k++)
            t->cols[at[k]].d[row] = acc_correlation(a, j, k);
    }
    free(at);
    return rc;
}

/* ---- the model ------------------------------------------------------------ */

static int describe_check(const cx_job *job, cx_error *err)
{
    if (job->weight_col >= 0)
        return cx_job_error(job, "weights", err, CX_EUSAGE,
                            "model 'describe' does not take weights (weighted medians, trimmed "
                            "means and skewness have no standard definition); remove 'weights' "
                            "or use a weighted model");
    int *cols;
    size_t p;
    int rc = cx_job_columns(job, "items", &cols, &p, err);
    for (size_t j = 0; rc == CX_OK && j < p; j++) {
        const cx_column_info *info = cx_table_column(job->view->table, (size_t)cols[j]);
        if (info->kind == CX_COL_STRING)
            rc =
                cx_job_error(job, "items", err, CX_EUSAGE,
                             "column '%s' holds strings; describe needs numeric items", info->name);
    }
    free(cols);
    return rc;
}

/* The items that left the counted path, loaded: *data is rows x n_loaded
 * (NULL when every item was counted); loaded_index[j] is item j's column
 * in it, or -1.  A second pass, over those columns only. */
static int load_fallback_items(const cx_job *job, const int *cols, const describe_acc *a,
                               long *loaded_index, double **data, size_t *rows, cx_error *err)
{
    int *fcols = cx_malloc(a->p * sizeof *fcols, err);
    if (!fcols)
        return CX_ENOMEM;
    size_t nf = 0;
    for (size_t j = 0; j < a->p; j++) {
        loaded_index[j] = a->tables[j].overflow ? (long)nf : -1;
        if (a->tables[j].overflow)
            fcols[nf++] = cols[j];
    }
    cx_view relative = *job->view;
    relative.n_relative = nf;
    int rc = nf ? cx_view_load(&relative, fcols, nf, data, rows, NULL, err) : CX_OK;
    if (rc == CX_OK && nf && (double)*rows != a->rows)
        rc = cx_error_set(err, CX_EFAIL, "the table changed while describing it");
    free(fcols);
    return rc;
}

/* Statistics of item j into *s, its value counts into vc (*m of them,
 * MAX_FREQUENCY_VALUES + 1 meaning "more"); vc holds
 * cx_describe_max_counted + MAX_FREQUENCY_VALUES + 1 entries, work as many,
 * `dwork` n_rows doubles when some item was loaded. */
static void item_statistics(const describe_acc *a, size_t j, double *loaded_col, size_t n_rows,
                            value_count *vc, value_count *work, double *dwork, item_stats *s,
                            size_t *m)
{
    if (!loaded_col) {
        *m = value_table_sorted(&a->tables[j], vc);
        describe_counts(vc, *m, work, s);
        return;
    }
    describe_column(loaded_col, n_rows, dwork, s);
    *m = sorted_runs(loaded_col, (size_t)s->n, vc, MAX_FREQUENCY_VALUES);
}

/* Bootstrap of the item means: `estimates` se = sd of the replicate
 * means, ci = their percentile interval; the `bootstrap` table has every
 * interval (engine/bootci.h). */
static int write_bootstrap(cx_result *r, const describe_acc *a, const cx_job *job, const int *cols,
                           cx_error *err)
{
    cx_rtable *est = cx_result_find_table(r, "estimates");
    static const char *const names[] = {"est",        "se",         "boot_mean",
                                        "perc_lower", "perc_upper", "norm_lower",
                                        "norm_upper", "bca_lower",  "bca_upper"};
    cx_rtable *bt = est ? cx_result_table(r, "bootstrap", err) : NULL;
    if (!bt || cx_rtable_add_column(bt, "lhs", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(bt, "op", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(bt, "rhs", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(bt, "group", CX_RCOL_INT, err))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t c = 0; c < 9; c++)
        if (cx_rtable_add_column(bt, names[c], CX_RCOL_DOUBLE, err))
            return err->code;
    double *t = cx_malloc(a->B * sizeof *t, err);
    if (!t)
        return CX_ENOMEM;
    int rc = cx_result_set_attr_string(r, "se", "bootstrap", err);
    int e_est = cx_rtable_find_column(est, "est"), e_lhs = cx_rtable_find_column(est, "lhs");
    size_t worst_failed = 0;
    for (size_t j = 0; rc == CX_OK && j < a->p && j < est->nrows; j++) {
        /* the pass read the item relative to its origin (add_origin) */
        double origin = cx_table_column(job->view->table, (size_t)cols[j])->origin;
        size_t ok = 0;
        for (size_t b = 0; b < a->B; b++)
            if (a->boot_k[b * a->p + j] > 0)
                t[ok++] = a->boot_kx[b * a->p + j] / a->boot_k[b * a->p + j] + origin;
        if (a->B - ok > worst_failed)
            worst_failed = a->B - ok;
        if (ok < 2)
            continue; /* the item keeps its analytic se */
        double t0 = est->cols[e_est].d[j];
        cx_boot_summary s;
        cx_boot_summarise(t, ok, t0, r->level, &s);
        double z = s.se > 0 ? t0 / s.se : NAN;
        cx_rtable_set_double(est, j, "se", s.se);
        cx_rtable_set_double(est, j, "z", z);
        cx_rtable_set_double(est, j, "pvalue", 2 * gsl_cdf_ugaussian_Q(fabs(z)));
        cx_rtable_set_double(est, j, "ci_lower", s.perc[0]);
        cx_rtable_set_double(est, j, "ci_upper", s.perc[1]);
        long row = cx_rtable_add_row(bt, err);
        if (row < 0 || cx_rtable_set_string(bt, (size_t)row, "lhs", est->cols[e_lhs].s[j], err) ||
            cx_rtable_set_string(bt, (size_t)row, "op", "~1", err) ||
            cx_rtable_set_string(bt, (size_t)row, "rhs", "", err)) {
            rc = err->code ? err->code : CX_ENOMEM;
            break;
        }
        const double v[] = {t0,        s.se,      s.mean,   s.perc[0], s.perc[1],
                            s.norm[0], s.norm[1], s.bca[0], s.bca[1]};
        for (size_t c = 0; c < 9; c++)
            cx_rtable_set_double(bt, (size_t)row, names[c], v[c]);
    }
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(r, "bootstrap_replicates", (double)a->B, err);
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(r, "bootstrap_failed", (double)worst_failed, err);
    if (rc == CX_OK && worst_failed)
        cx_result_add_warning(r,
                              "up to %zu of %zu bootstrap replicates had no value of an item "
                              "and were left out for it",
                              worst_failed, a->B);
    free(t);
    return rc;
}

/* Items are read relative to their column's origin (table.h: 8-byte
 * integers beyond 2^53, whose doubles would round the spread away), so
 * the statistics of location get it back; spreads, shape and
 * correlations do not depend on it. */
static void add_origin(double origin, item_stats *s, value_count *vc, size_t m)
{
    if (origin == 0)
        return;
    s->mean += origin;
    s->median += origin;
    s->trimmed += origin;
    s->min += origin;
    s->max += origin;
    for (size_t i = 0; i < m && i <= MAX_FREQUENCY_VALUES; i++)
        vc[i].value += origin;
}

static int describe_items(const cx_job *job, cx_result *r, char **names, const int *cols,
                          const describe_acc *a, cx_error *err)
{
    size_t cap = cx_describe_max_counted + MAX_FREQUENCY_VALUES + 1, n_rows = 0;
    double *data = NULL, *dwork = NULL;
    long *loaded_index = cx_malloc(a->p * sizeof *loaded_index, err);
    value_count *vc = cx_malloc(2 * cap * sizeof *vc, err);
    int rc = loaded_index && vc ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK)
        rc = load_fallback_items(job, cols, a, loaded_index, &data, &n_rows, err);
    if (rc == CX_OK && data && !(dwork = cx_malloc(n_rows * sizeof *dwork + 1, err)))
        rc = CX_ENOMEM;
    cx_rtable *t = rc == CX_OK ? items_table(r, err) : NULL;
    if (rc == CX_OK && !t)
        rc = err->code ? err->code : CX_ENOMEM;
    for (size_t j = 0; rc == CX_OK && j < a->p; j++) {
        item_stats s;
        size_t m;
        double *col = loaded_index[j] >= 0 ? data + (size_t)loaded_index[j] * n_rows : NULL;
        item_statistics(a, j, col, n_rows, vc, vc + cap, dwork, &s, &m);
        double range = s.max - s.min;
        const cx_column_info *info = cx_table_column(job->view->table, (size_t)cols[j]);
        add_origin(info->origin, &s, vc, m);
        rc = add_item_row(t, names[j], info->label, &s, range, a->rows, err);
        if (rc == CX_OK)
            rc = add_frequencies(r, names[j], vc, m, err);
        if (rc == CX_OK &&
            cx_result_add_estimate(r, names[j], "~1", "", 0, s.mean, s.se, NAN, err) < 0)
            rc = err->code ? err->code : CX_ENOMEM;
    }
    free(dwork);
    free(data);
    free(vc);
    free(loaded_index);
    if (rc == CX_OK)
        rc = add_correlations(r, names, a, err);
    if (rc == CX_OK && a->B)
        rc = write_bootstrap(r, a, job, cols, err);
    return rc;
}

/* The tables of one level from its totals; problems of the level alone
 * (no rows, the fallback's load) fail that level only, as the engine's
 * per-level fits did. */
static int describe_level(const cx_job *job, size_t l, char **names, const int *cols,
                          describe_acc *a, cx_result *r, cx_error *err)
{
    cx_view lv = job->view->n_levels > 1 ? cx_view_restrict_level(job->view, l) : *job->view;
    cx_job one = *job;
    one.view = &lv; /* the fallback loads this level's rows only */
    cx_error level_err = {0};
    int rc = CX_OK;
    if (a->rows == 0)
        rc = cx_error_set(&level_err, CX_EFAIL, "no rows to describe");
    if (rc == CX_OK) {
        r->nobs = a->rows;
        rc = describe_items(&one, r, names, cols, a, &level_err);
    }
    if (rc == CX_ENOMEM || (rc != CX_OK && job->view->n_levels <= 1)) {
        *err = level_err;
        return rc;
    }
    if (rc != CX_OK)
        cx_result_set_status(r, CX_STATUS_FAILED, "%s", level_err.msg);
    return CX_OK;
}

/* Every `by` level from passes over batches of levels (levels_per_pass):
 * one pass when they fit the budget. */
static int describe_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    int rc = describe_check(job, err);
    if (rc)
        return rc;
    int *cols = NULL;
    size_t p, n_words, n_levels = job->view->n_levels ? job->view->n_levels : 1;
    char **names = cx_words_split(cx_section_get(job->section, "items"), &n_words, err);
    if (!names)
        return CX_ENOMEM;
    rc = cx_job_columns(job, "items", &cols, &p, err);
    size_t batch =
        rc == CX_OK ? levels_per_pass(p, job->missing == CX_MISSING_PAIRWISE,
                                      job->bootstrap > 0 ? (size_t)job->bootstrap : 0, job->threads)
                    : 1;
    if (batch > n_levels)
        batch = n_levels;
    describe_acc *acc = rc == CX_OK ? cx_calloc(batch, sizeof *acc, err) : NULL;
    if (rc == CX_OK && !acc)
        rc = CX_ENOMEM;
    for (size_t l0 = 0; rc == CX_OK && l0 < n_levels; l0 += batch) {
        size_t n = n_levels - l0 < batch ? n_levels - l0 : batch;
        rc = describe_stream(job, cols, p, l0, n, acc, err);
        for (size_t l = 0; rc == CX_OK && l < n; l++)
            rc = describe_level(job, l0 + l, names, cols, &acc[l], results[l0 + l], err);
        for (size_t l = 0; l < n; l++)
            describe_acc_free(&acc[l]);
    }
    free(acc);
    free(cols);
    cx_words_free(names);
    return rc;
}

const cx_model cx_model_describe = {
    .name = "describe",
    .summary = "item descriptives (psych::describe), correlations and frequencies",
    .keys = describe_keys,
    .fits_all_levels = 1,
    .supports = CX_SUPPORTS_BY | CX_SUPPORTS_PAIRWISE | CX_SUPPORTS_BOOTSTRAP,
    .check = describe_check,
    .fit = describe_fit,
};
