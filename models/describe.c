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
 * Medians, trimmed means and MADs need the values themselves, so this
 * model loads the item columns with cx_view_load (items x rows doubles):
 * describe is a small-data model; a 20M-row table of 25 items would take
 * 4 GB, and for such tables the streaming models (stats.h) are the tool.
 *
 * Weights are rejected: weighted medians, trimmed means and skewness have
 * several competing definitions and psych has none to match; a clear
 * error beats a silent choice.
 *
 * Tables: `items` (one row per item), `correlations` (column `item`, then
 * one column per item: Pearson correlations, complete cases over all
 * items with `missing = listwise`, per pair with `missing = pairwise`),
 * `frequencies` (item, value, count; items with at most 50 distinct
 * values, e.g. Likert items), and `estimates` (each item's mean as
 * `item ~1` with se = sd / sqrt(n)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define MAX_FREQUENCY_VALUES 50

static const char *const describe_keys[] = {"items", NULL};

typedef struct item_stats {
    double n, mean, sd, median, trimmed, mad, min, max, skew, kurtosis, se;
} item_stats;

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of sorted values. */
static double sorted_median(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* R's mean(x, trim = 0.1) on sorted values: drop floor(n * 0.1) values at
 * each end. */
static double sorted_trimmed_mean(const double *x, size_t n)
{
    size_t lo = (size_t)floor((double)n * 0.1);
    if (n == 0 || 2 * lo >= n)
        return sorted_median(x, n);
    double s = 0;
    for (size_t i = lo; i < n - lo; i++)
        s += x[i];
    return s / (double)(n - 2 * lo);
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
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    double mean = sum / (double)n, m2 = 0, m3 = 0, m4 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = v[i] - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    s->mean = mean;
    s->sd = n > 1 ? sqrt(m2 / (double)(n - 1)) : NAN;
    s->skew = m3 / (double)n / pow(s->sd, 3);
    s->kurtosis = m4 / (double)n / pow(s->sd, 4) - 3;
    s->se = s->sd / sqrt((double)n);
}

/* All statistics of one column (n rows, NaN = missing); `sorted` and
 * `work` hold n doubles each.  Leaves the sorted present values in
 * `sorted` (their count in s->n) for the frequency table. */
static void describe_column(const double *col, size_t n, double *sorted, double *work,
                            item_stats *s)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(col[i]))
            sorted[k++] = col[i];
    memset(s, 0, sizeof *s);
    s->n = (double)k;
    if (k == 0) {
        s->mean = s->sd = s->median = s->trimmed = s->mad = NAN;
        s->min = s->max = s->skew = s->kurtosis = s->se = NAN;
        return;
    }
    qsort(sorted, k, sizeof *sorted, compare_doubles);
    item_moments(sorted, k, s);
    s->median = sorted_median(sorted, k);
    s->trimmed = sorted_trimmed_mean(sorted, k);
    s->mad = mad_about(sorted, k, s->median, work);
    s->min = sorted[0];
    s->max = sorted[k - 1];
}

/* ---- tables --------------------------------------------------------------- */

static const char *const item_columns[] = {"mean", "sd",    "median", "trimmed",  "mad", "min",
                                           "max",  "range", "skew",   "kurtosis", "se",  NULL};

static cx_rtable *items_table(cx_result *r, cx_error *err)
{
    cx_rtable *t = cx_result_table(r, "items", err);
    if (!t || cx_rtable_add_column(t, "item", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "n", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "missing", CX_RCOL_INT, err))
        return NULL;
    for (size_t i = 0; item_columns[i]; i++)
        if (cx_rtable_add_column(t, item_columns[i], CX_RCOL_DOUBLE, err))
            return NULL;
    return t;
}

/* `rows`: the rows of the view, so missing = rows - n. */
static int add_item_row(cx_rtable *t, const char *name, const item_stats *s, size_t rows,
                        cx_error *err)
{
    long row = cx_rtable_add_row(t, err);
    if (row < 0 || cx_rtable_set_string(t, (size_t)row, "item", name, err))
        return err->code ? err->code : CX_ENOMEM;
    double values[] = {s->mean, s->sd,           s->median, s->trimmed,  s->mad, s->min,
                       s->max,  s->max - s->min, s->skew,   s->kurtosis, s->se};
    cx_rtable_set_int(t, (size_t)row, "n", (long long)s->n);
    cx_rtable_set_int(t, (size_t)row, "missing", (long long)rows - (long long)s->n);
    for (size_t i = 0; item_columns[i]; i++)
        cx_rtable_set_double(t, (size_t)row, item_columns[i], values[i]);
    return CX_OK;
}

/* Value counts of sorted values, when there are few distinct ones. */
static int add_frequencies(cx_result *r, const char *name, const double *sorted, size_t k,
                           cx_error *err)
{
    size_t distinct = 0;
    for (size_t i = 0; i < k; i++)
        distinct += i == 0 || sorted[i] != sorted[i - 1];
    if (distinct == 0 || distinct > MAX_FREQUENCY_VALUES)
        return CX_OK;
    cx_rtable *t = cx_result_find_table(r, "frequencies");
    if (!t) {
        t = cx_result_table(r, "frequencies", err);
        if (!t || cx_rtable_add_column(t, "item", CX_RCOL_STRING, err) ||
            cx_rtable_add_column(t, "value", CX_RCOL_DOUBLE, err) ||
            cx_rtable_add_column(t, "count", CX_RCOL_INT, err))
            return err->code ? err->code : CX_ENOMEM;
    }
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && sorted[j] == sorted[i])
            j++;
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "item", name, err))
            return err->code ? err->code : CX_ENOMEM;
        cx_rtable_set_double(t, (size_t)row, "value", sorted[i]);
        cx_rtable_set_int(t, (size_t)row, "count", (long long)(j - i));
        i = j;
    }
    return CX_OK;
}

/* Pearson correlation of columns x and y over rows where both are present
 * and (listwise) `complete[i]` is set; two passes. */
static double pair_correlation(const double *x, const double *y, size_t n,
                               const unsigned char *complete)
{
    double sx = 0, sy = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        if ((!complete || complete[i]) && !isnan(x[i]) && !isnan(y[i])) {
            sx += x[i];
            sy += y[i];
            k++;
        }
    if (k < 2)
        return NAN;
    double mx = sx / k, my = sy / k, sxx = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < n; i++)
        if ((!complete || complete[i]) && !isnan(x[i]) && !isnan(y[i])) {
            double dx = x[i] - mx, dy = y[i] - my;
            sxx += dx * dx;
            syy += dy * dy;
            sxy += dx * dy;
        }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

static int add_correlations(cx_result *r, char **names, const double *data, size_t n, size_t p,
                            int pairwise, cx_error *err)
{
    unsigned char *complete = NULL;
    if (!pairwise) {
        complete = cx_malloc(n ? n : 1, err);
        if (!complete)
            return CX_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            complete[i] = 1;
            for (size_t j = 0; j < p; j++)
                complete[i] &= !isnan(data[i + j * n]);
        }
    }
    cx_rtable *t = cx_result_table(r, "correlations", err);
    int rc = t ? cx_rtable_add_column(t, "item", CX_RCOL_STRING, err) : CX_ENOMEM;
    for (size_t j = 0; rc == CX_OK && j < p; j++)
        rc = cx_rtable_add_column(t, names[j], CX_RCOL_DOUBLE, err);
    for (size_t j = 0; rc == CX_OK && j < p; j++) {
        long row = cx_rtable_add_row(t, err);
        rc = row < 0 ? CX_ENOMEM : cx_rtable_set_string(t, (size_t)row, "item", names[j], err);
        for (size_t k = 0; rc == CX_OK && k < p; k++)
            cx_rtable_set_double(t, (size_t)row, names[k],
                                 pair_correlation(data + j * n, data + k * n, n, complete));
    }
    free(complete);
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

static int describe_items(const cx_job *job, cx_result *r, char **names, const double *data,
                          size_t n, size_t p, cx_error *err)
{
    double *sorted = cx_malloc((2 * n + 1) * sizeof *sorted, err);
    cx_rtable *t = sorted ? items_table(r, err) : NULL;
    int rc = t ? CX_OK : (err->code ? err->code : CX_ENOMEM);
    for (size_t j = 0; rc == CX_OK && j < p; j++) {
        item_stats s;
        describe_column(data + j * n, n, sorted, sorted + n, &s);
        rc = add_item_row(t, names[j], &s, n, err);
        if (rc == CX_OK)
            rc = add_frequencies(r, names[j], sorted, (size_t)s.n, err);
        if (rc == CX_OK &&
            cx_result_add_estimate(r, names[j], "~1", "", 0, s.mean, s.se, NAN, err) < 0)
            rc = err->code ? err->code : CX_ENOMEM;
    }
    free(sorted);
    if (rc == CX_OK)
        rc = add_correlations(r, names, data, n, p, job->missing == CX_MISSING_PAIRWISE, err);
    return rc;
}

static int describe_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    int rc = describe_check(job, err);
    if (rc)
        return rc;
    int *cols;
    size_t p, n;
    size_t n_words;
    char **names = cx_words_split(cx_section_get(job->section, "items"), &n_words, err);
    if (!names)
        return CX_ENOMEM;
    double *data = NULL;
    rc = cx_job_columns(job, "items", &cols, &p, err);
    if (rc == CX_OK) {
        rc = cx_view_load(job->view, cols, p, &data, &n, NULL, err);
        free(cols);
    }
    if (rc == CX_OK && n == 0)
        rc = cx_error_set(err, CX_EFAIL, "no rows to describe");
    if (rc == CX_OK) {
        results[0]->nobs = (double)n;
        rc = describe_items(job, results[0], names, data, n, p, err);
    }
    free(data);
    cx_words_free(names);
    return rc;
}

const cx_model cx_model_describe = {
    .name = "describe",
    .summary = "item descriptives (psych::describe), correlations and frequencies",
    .keys = describe_keys,
    .fits_all_levels = 0,
    .check = describe_check,
    .fit = describe_fit,
};
