/*
 * panel_rows.c — the rows of a panel job in memory: loaded from the view,
 * sorted by (unit, time), lag/lead/diff/growth computed on the time index
 * (cx_panel_transform), the design built and filled on the complete rows;
 * subsets (training rows, rows shared by two formulas) and the holdout
 * predictions.  See panel.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "design.h"
#include "filter_eval.h"
#include "formula.h"
#include "model.h"
#include "panel.h"

/* ---- loading the panel --------------------------------------------------- */

typedef struct row_key {
    double unit, time;
    size_t row;
} row_key;

static int cmp_row_key(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    if (x->unit != y->unit)
        return x->unit < y->unit ? -1 : 1;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Dense codes 0..G-1 of v (n values) in ascending order of value. */
static int dense_codes(const double *v, size_t n, size_t *code, size_t *G, cx_error *err)
{
    double *s = cx_malloc((n + 1) * sizeof *s, err);
    if (!s)
        return CX_ENOMEM;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    size_t g = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || s[i] != s[g - 1])
            s[g++] = s[i];
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = g;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (s[mid] <= v[i])
                lo = mid;
            else
                hi = mid;
        }
        code[i] = lo;
    }
    *G = g;
    free(s);
    return CX_OK;
}

/* Columns the holdout filter reads (0 without a holdout). */
static size_t holdout_columns(const cx_job *job)
{
    return job->validate == CX_VALIDATE_HOLDOUT && job->holdout ? filter_n_columns(job->holdout)
                                                                 : 0;
}

void panel_rows_free(panel_rows *r)
{
    free(r->d.x);
    free(r->d.y);
    free(r->d.unit);
    free(r->d.time);
    free(r->unit_value);
    free(r->time_value);
    free(r->table_row);
    free(r->held_out);
    memset(r, 0, sizeof *r);
}

/* Sorted raw block: the design's table inputs, then its panel inputs,
 * then the holdout filter's columns (job->holdout; read past the design's). */
static int sorted_inputs(const cx_job *job, cx_design *des, int unit_col, int time_col,
                         double **out, size_t *m_out, cx_error *err)
{
    size_t n_table, n_panel = cx_design_n_panel_inputs(des);
    const int *inputs = cx_design_inputs(des, &n_table);
    size_t n_filter = holdout_columns(job);
    size_t ncols = n_table + 2 + n_panel + n_filter;
    int *cols = cx_malloc(ncols * sizeof *cols, err);
    if (!cols)
        return CX_ENOMEM;
    memcpy(cols, inputs, n_table * sizeof *cols);
    cols[n_table] = unit_col;
    cols[n_table + 1] = time_col;
    for (size_t i = 0; i < n_panel; i++) {
        cx_panel_op op;
        int k;
        cx_design_panel_input(des, i, &op, &k, &cols[n_table + 2 + i]);
    }
    for (size_t i = 0; i < n_filter; i++)
        cols[n_table + 2 + n_panel + i] = filter_column(job->holdout, i);
    double *raw;
    size_t n;
    int rc = cx_view_load(job->view, cols, ncols, &raw, &n, NULL, err);
    free(cols);
    if (rc)
        return rc;
    row_key *keys = cx_malloc((n + 1) * sizeof *keys, err);
    size_t m = 0;
    for (size_t i = 0; keys && i < n; i++) {
        double u = raw[n_table * n + i], t = raw[(n_table + 1) * n + i];
        if (isfinite(u) && isfinite(t))
            keys[m++] = (row_key){u, t, i};
    }
    size_t width = n_table + n_panel + n_filter;
    double *sorted = keys ? cx_malloc((width + 2) * (m + 1) * sizeof *sorted, err) : NULL;
    if (!sorted) {
        free(raw);
        free(keys);
        return CX_ENOMEM;
    }
    qsort(keys, m, sizeof *keys, cmp_row_key);
    for (size_t i = 1; i < m; i++)
        if (keys[i].unit == keys[i - 1].unit && keys[i].time == keys[i - 1].time) {
            cx_job_error(job, "index", err, CX_EFAIL,
                         "the (unit, time) pair (%g, %g) appears in more than one row; "
                         "expected one row per unit and period",
                         keys[i].unit, keys[i].time);
            free(raw);
            free(keys);
            free(sorted);
            return CX_EFAIL;
        }
    double *unit = sorted + width * m, *time = unit + m;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n_table; j++)
            sorted[j * m + i] = raw[j * n + keys[i].row];
        for (size_t j = 0; j < n_filter; j++)
            sorted[(n_table + n_panel + j) * m + i] = raw[(n_table + 2 + n_panel + j) * n + keys[i].row];
        unit[i] = keys[i].unit;
        time[i] = keys[i].time;
    }
    double *src = cx_malloc((m + 1) * sizeof *src, err);
    rc = src ? CX_OK : CX_ENOMEM;
    for (size_t p = 0; !rc && p < n_panel; p++) {
        cx_panel_op op;
        int k, source;
        cx_design_panel_input(des, p, &op, &k, &source);
        for (size_t i = 0; i < m; i++)
            src[i] = raw[(n_table + 2 + p) * n + keys[i].row];
        rc = cx_panel_transform(op, k, unit, time, src, m, sorted + (n_table + p) * m, err);
        if (rc)
            cx_job_error(job, "index", err, rc, "%s", err->msg);
    }
    free(src);
    free(raw);
    free(keys);
    if (rc) {
        free(sorted);
        return rc;
    }
    *out = sorted;
    *m_out = m;
    return CX_OK;
}

/* Load, sort, transform and build the design; fill the complete rows. */
int panel_rows_load(const cx_job *job, cx_design *des, int unit_col, int time_col, panel_rows *r,
                    cx_error *err)
{
    memset(r, 0, sizeof *r);
    double *raw = NULL;
    size_t m = 0;
    if (sorted_inputs(job, des, unit_col, time_col, &raw, &m, err))
        return err->code;
    int rc = cx_design_scan_ranges(des, job->view, err);
    if (!rc)
        rc = cx_design_observe(des, raw, m, m, err);
    if (!rc)
        rc = cx_design_build(des, err);
    if (rc) {
        free(raw);
        return cx_job_error(job, "formula", err, rc, "%s", err->msg);
    }
    size_t p = cx_design_ncols(des), cap = m + 1;
    double *x = cx_malloc(cap * (p + 1) * sizeof *x, err), *y = cx_malloc(cap * sizeof *y, err);
    double *extra = cx_malloc(cap * 2 * sizeof *extra, err);
    size_t *kept = cx_malloc(cap * sizeof *kept, err);
    cx_design_ws *ws = (x && y && extra && kept) ? cx_design_ws_alloc(des, err) : NULL;
    long n = -1;
    if (ws) {
        cx_design_out out = {.x = x, .ldx = cap, .y = y, .extra = extra, .lde = cap, .kept = kept};
        n = cx_design_fill(des, ws, raw, m, m, &out, err);
    }
    cx_design_ws_free(ws);
    size_t n_filter = holdout_columns(job);
    if (n >= 0 && n_filter) {
        size_t n_table, at = cx_design_n_panel_inputs(des);
        cx_design_inputs(des, &n_table);
        at += n_table;
        r->held_out = cx_calloc((size_t)n + 1, 1, err);
        double values[64];
        for (long i = 0; r->held_out && i < n; i++) {
            for (size_t j = 0; j < n_filter && j < 64; j++)
                values[j] = raw[(at + j) * m + kept[i]];
            r->held_out[i] = (unsigned char)filter_matches(job->holdout, values);
        }
        if (!r->held_out)
            n = -1;
    }
    free(raw);
    if (n < 0) {
        free(x), free(y), free(extra), free(kept);
        return err->code ? err->code : CX_ENOMEM;
    }
    /* compact to ld = n */
    for (size_t j = 1; j < p; j++)
        memmove(x + j * (size_t)n, x + j * cap, (size_t)n * sizeof *x);
    r->d.n = (size_t)n;
    r->d.p = p;
    r->d.x = x;
    r->d.y = y;
    r->d.intercept = -1;
    for (size_t j = 0; j < p; j++)
        if (cx_design_col_term(des, j) < 0)
            r->d.intercept = (long)j;
    r->table_row = kept;
    r->unit_value = extra;
    r->time_value = cx_malloc(cap * sizeof *r->time_value, err);
    r->d.unit = cx_malloc(cap * sizeof *r->d.unit, err);
    r->d.time = cx_malloc(cap * sizeof *r->d.time, err);
    if (!r->time_value || !r->d.unit || !r->d.time) {
        panel_rows_free(r);
        return CX_ENOMEM;
    }
    memcpy(r->time_value, extra + cap, (size_t)n * sizeof *extra);
    if (dense_codes(r->unit_value, r->d.n, r->d.unit, &r->d.n_units, err) ||
        dense_codes(r->time_value, r->d.n, r->d.time, &r->d.n_times, err)) {
        panel_rows_free(r);
        return CX_ENOMEM;
    }
    if (r->d.n == 0) {
        panel_rows_free(r);
        return cx_error_set(err, CX_EFAIL, "no complete rows for the formula and index");
    }
    return CX_OK;
}

int panel_rows_select(const panel_rows *r, const unsigned char *keep, panel_rows *out,
                      cx_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = 0, p = r->d.p;
    for (size_t i = 0; i < r->d.n; i++)
        n += keep[i] != 0;
    out->d = r->d;
    out->d.n = n;
    out->d.x = cx_malloc((n * p + 1) * sizeof *out->d.x, err);
    out->d.y = cx_malloc((n + 1) * sizeof *out->d.y, err);
    out->d.unit = cx_malloc((n + 1) * sizeof *out->d.unit, err);
    out->d.time = cx_malloc((n + 1) * sizeof *out->d.time, err);
    out->unit_value = cx_malloc((n + 1) * sizeof *out->unit_value, err);
    out->time_value = cx_malloc((n + 1) * sizeof *out->time_value, err);
    out->held_out = r->held_out ? cx_calloc(n + 1, 1, err) : NULL;
    if (!out->d.x || !out->d.y || !out->d.unit || !out->d.time || !out->unit_value ||
        !out->time_value || (r->held_out && !out->held_out)) {
        panel_rows_free(out);
        return CX_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->d.n; i++) {
        if (!keep[i])
            continue;
        for (size_t j = 0; j < p; j++)
            out->d.x[j * n + k] = r->d.x[j * r->d.n + i];
        out->d.y[k] = r->d.y[i];
        out->unit_value[k] = r->unit_value[i];
        out->time_value[k] = r->time_value[i];
        if (r->held_out)
            out->held_out[k] = r->held_out[i];
        k++;
    }
    if (n == 0) {
        panel_rows_free(out);
        return cx_error_set(err, CX_EFAIL, "no rows left to fit");
    }
    if (dense_codes(out->unit_value, n, out->d.unit, &out->d.n_units, err) ||
        dense_codes(out->time_value, n, out->d.time, &out->d.n_times, err)) {
        panel_rows_free(out);
        return CX_ENOMEM;
    }
    return CX_OK;
}

int panel_rows_training(const panel_rows *r, panel_rows *out, cx_error *err)
{
    unsigned char *keep = cx_malloc(r->d.n + 1, err);
    if (!keep)
        return CX_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < r->d.n; i++)
        n += keep[i] = !r->held_out[i];
    int rc = n == 0 || n == r->d.n
                 ? cx_error_set(err, CX_EFAIL,
                                "validate: the %s rows are empty; expected rows on both sides of "
                                "the holdout expression",
                                n == 0 ? "training" : "holdout")
                 : panel_rows_select(r, keep, out, err);
    free(keep);
    return rc;
}

/* Fitted effects of the training rows on the full panel's codes: alpha
 * per unit, gamma per period (NaN where the training rows have none);
 * twoways by alternating means of the residuals. */
static int training_effects(const panel_rows *r, const panel_options *o, const double *resid,
                            double *alpha, double *gamma, cx_error *err)
{
    const panel_data *d = &r->d;
    double *cu = cx_calloc(d->n_units + 1, sizeof *cu, err);
    double *ct = cx_calloc(d->n_times + 1, sizeof *ct, err);
    if (!cu || !ct) {
        free(cu);
        free(ct);
        return CX_ENOMEM;
    }
    for (size_t i = 0; i < d->n; i++)
        if (!r->held_out[i]) {
            cu[d->unit[i]] += 1;
            ct[d->time[i]] += 1;
        }
    int use_u = o->effect != PANEL_TIME, use_t = o->effect != PANEL_INDIVIDUAL;
    for (size_t g = 0; g < d->n_units; g++)
        alpha[g] = !use_u ? 0 : cu[g] > 0 ? 0 : NAN;
    for (size_t g = 0; g < d->n_times; g++)
        gamma[g] = !use_t ? 0 : ct[g] > 0 ? 0 : NAN;
    for (long sweep = 0; sweep < 100000; sweep++) {
        double moved = 0;
        for (int side = 0; side < 2; side++) {
            if ((side == 0 && !use_u) || (side == 1 && !use_t))
                continue;
            size_t G = side ? d->n_times : d->n_units;
            double *eff = side ? gamma : alpha, *cnt = side ? ct : cu;
            const size_t *code = side ? d->time : d->unit;
            double *sum = cx_calloc(G + 1, sizeof *sum, err);
            if (!sum) {
                free(cu);
                free(ct);
                return CX_ENOMEM;
            }
            for (size_t i = 0; i < d->n; i++)
                if (!r->held_out[i])
                    sum[code[i]] += resid[i] - (side ? alpha[d->unit[i]] : gamma[d->time[i]]);
            for (size_t g = 0; g < G; g++)
                if (cnt[g] > 0) {
                    moved = fmax(moved, fabs(sum[g] / cnt[g] - eff[g]));
                    eff[g] = sum[g] / cnt[g];
                }
            free(sum);
        }
        if (!(use_u && use_t) || moved < 1e-13)
            break;
    }
    free(cu);
    free(ct);
    return CX_OK;
}

/* Out-of-sample rmse, mae, r2 (1 - SSE / sum (y - mean of held-out y)^2)
 * and n on the held-out rows, predicted as R's predict: x b, plus for
 * within models the unit (period) effects fitted on the training rows;
 * rows whose unit or period has no training rows are not predicted. */
int panel_holdout_metrics(const panel_rows *r, const panel_options *o, const panel_fit *train,
                          double metrics[4], double *skipped_out, cx_error *err)
{
    const panel_data *d = &r->d;
    double *resid = cx_malloc((d->n + 1) * sizeof *resid, err);
    double *alpha = cx_malloc((d->n_units + 1) * sizeof *alpha, err);
    double *gamma = cx_malloc((d->n_times + 1) * sizeof *gamma, err);
    int rc = resid && alpha && gamma ? CX_OK : CX_ENOMEM;
    for (size_t i = 0; !rc && i < d->n; i++) {
        double xb = 0;
        for (size_t j = 0; j < d->p; j++)
            if (!isnan(train->beta[j]))
                xb += d->x[j * d->n + i] * train->beta[j];
        resid[i] = d->y[i] - xb;
    }
    if (!rc && o->method == PANEL_WITHIN)
        rc = training_effects(r, o, resid, alpha, gamma, err);
    double sse = 0, sae = 0, sy = 0, syy = 0, n = 0, skipped = 0;
    for (size_t i = 0; !rc && i < d->n; i++) {
        if (!r->held_out[i])
            continue;
        double e = resid[i];
        if (o->method == PANEL_WITHIN)
            e -= alpha[d->unit[i]] + gamma[d->time[i]];
        if (isnan(e)) {
            skipped++;
            continue;
        }
        n++;
        sse += e * e;
        sae += fabs(e);
        sy += d->y[i];
        syy += d->y[i] * d->y[i];
    }
    double sst = syy - sy * sy / n;
    metrics[0] = n > 0 ? sqrt(sse / n) : NAN;
    metrics[1] = n > 0 ? sae / n : NAN;
    metrics[2] = n > 0 ? 1 - sse / sst : NAN;
    metrics[3] = n;
    *skipped_out = skipped;
    free(resid);
    free(alpha);
    free(gamma);
    return rc;
}

