/*
 * panel.c — `model = panel`: linear panel models as R's plm fits them.
 *
 *   formula = growth ~ lag(nps, 1) + size
 *   index   = firm wave               (unit, then time)
 *   method  = pooling | within | between | random | fd     (default within)
 *   effect  = individual | time | twoways                  (default individual)
 *   se      = classical | cluster(UNIT) | cluster(TIME) | cluster(UNIT TIME)
 *             | dk | dk(L)                                 (default classical)
 *
 * The rows of the view (small: firms x periods) are loaded into memory,
 * sorted by (unit, time), and lag/lead/diff/growth are computed on the time
 * index (cx_panel_transform: a hole in the periods gives a missing value,
 * never the neighbouring row).  The design (design.h) then keeps the
 * complete rows, as plm's model.frame drops NA rows after the lags.
 * panel_fit.c estimates; this file reads keys, loads rows and writes the
 * estimates and fit tables (docs/models/panel.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_linalg.h>

#include "design.h"
#include "filter_eval.h"
#include "formula.h"
#include "model.h"
#include "panel.h"

static const char *const panel_keys[] = {"formula", "index", "method", "effect", "se", "tests",
                                         NULL};
static const char *const test_names[] = {"hausman", "f_effects", "bp", NULL};
static const char *const method_names[] = {"pooling", "within", "between", "random", "fd", NULL};
static const char *const effect_names[] = {"individual", "time", "twoways", NULL};

/* Everything the keys say. */
typedef struct panel_spec {
    cx_formula *formula;
    int unit_col, time_col;
    panel_options opt;
    int want_test[3]; /* test_names[] asked for by `tests` */
} panel_spec;

static void panel_spec_free(panel_spec *s)
{
    cx_formula_free(s->formula);
    s->formula = NULL;
}

/* `se`: classical | cluster(COL [COL]) with index columns | dk | dk(L). */
static int parse_se(const cx_job *job, const char *text, panel_spec *s, cx_error *err)
{
    s->opt.dk_lag = -1;
    if (!text || strcmp(text, "classical") == 0) {
        s->opt.se = PANEL_SE_CLASSICAL;
        return CX_OK;
    }
    const char *unit = cx_table_column(job->view->table, (size_t)s->unit_col)->name;
    const char *time = cx_table_column(job->view->table, (size_t)s->time_col)->name;
    size_t len = strlen(text);
    if (strcmp(text, "dk") == 0) {
        s->opt.se = PANEL_SE_DK;
        return CX_OK;
    }
    if (strncmp(text, "dk(", 3) == 0 && text[len - 1] == ')') {
        char *end;
        long L = strtol(text + 3, &end, 10);
        if (end != text + 3 && *end == ')' && L >= 0 && L <= 1000) {
            s->opt.se = PANEL_SE_DK;
            s->opt.dk_lag = L;
            return CX_OK;
        }
    }
    if (strncmp(text, "cluster(", 8) == 0 && text[len - 1] == ')') {
        char inner[256];
        size_t m = len - 9 < sizeof inner - 1 ? len - 9 : sizeof inner - 1;
        memcpy(inner, text + 8, m);
        inner[m] = '\0';
        for (char *c = inner; *c; c++)
            if (*c == ',')
                *c = ' ';
        size_t nw;
        char **w = cx_words_split(inner, &nw, err);
        if (!w)
            return CX_ENOMEM;
        int has_u = 0, has_t = 0, bad = nw == 0 || nw > 2;
        for (size_t i = 0; i < nw; i++) {
            if (strcmp(w[i], unit) == 0)
                has_u = 1;
            else if (strcmp(w[i], time) == 0)
                has_t = 1;
            else
                bad = 1;
        }
        cx_words_free(w);
        if (!bad) {
            s->opt.se = has_u && has_t ? PANEL_SE_CLUSTER_TWO
                        : has_u        ? PANEL_SE_CLUSTER_UNIT
                                       : PANEL_SE_CLUSTER_TIME;
            return CX_OK;
        }
    }
    return cx_job_error(job, "se", err, CX_EUSAGE,
                        "expected classical, cluster(%s), cluster(%s), cluster(%s %s), dk or "
                        "dk(L), found '%s'",
                        unit, time, unit, time, text);
}

/* `tests`: words of test_names[]; hausman needs a one-way effect. */
static int parse_tests(const cx_job *job, panel_spec *s, cx_error *err)
{
    const char *text = cx_section_get(job->section, "tests");
    if (!text)
        return CX_OK;
    size_t nw;
    char **w = cx_words_split(text, &nw, err);
    if (!w)
        return CX_ENOMEM;
    int rc = nw ? CX_OK
                : cx_job_error(job, "tests", err, CX_EUSAGE,
                               "expected one or more of hausman, f_effects, bp");
    for (size_t i = 0; !rc && i < nw; i++) {
        size_t t = 0;
        while (test_names[t] && strcmp(test_names[t], w[i]) != 0)
            t++;
        if (!test_names[t]) {
            const char *hint = cx_did_you_mean(w[i], test_names);
            rc = cx_job_error(job, "tests", err, CX_EUSAGE,
                              "unknown test '%s'; expected hausman, f_effects or bp%s%s%s", w[i],
                              hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        } else
            s->want_test[t] = 1;
    }
    cx_words_free(w);
    if (!rc && s->want_test[0] && s->opt.effect == PANEL_TWOWAYS)
        rc = cx_job_error(job, "tests", err, CX_EUSAGE,
                          "hausman compares within and random, and random needs a one-way "
                          "effect; expected effect = individual or time");
    return rc;
}

/* Refuse the combinations plm does not define (or that are not built). */
static int check_combination(const cx_job *job, const panel_options *o, cx_error *err)
{
    if (o->effect == PANEL_TWOWAYS && (o->method == PANEL_BETWEEN || o->method == PANEL_FD))
        return cx_job_error(job, "effect", err, CX_EUSAGE,
                            "effect = twoways is not defined for method = %s; expected "
                            "individual or time",
                            method_names[o->method]);
    if (o->method == PANEL_FD && o->effect != PANEL_INDIVIDUAL)
        return cx_job_error(job, "effect", err, CX_EUSAGE,
                            "method = fd differences within units; expected effect = individual");
    if (o->method == PANEL_RANDOM && o->effect == PANEL_TWOWAYS)
        return cx_job_error(job, "effect", err, CX_EUSAGE,
                            "method = random with effect = twoways is not available; expected "
                            "individual or time");
    if (job->validate == CX_VALIDATE_KFOLD)
        return cx_job_error(job, "validate", err, CX_EUSAGE,
                            "panel rows are not exchangeable across folds; expected "
                            "validate = holdout(EXPR), e.g. holdout(year >= 2015)");
    if (job->validate == CX_VALIDATE_HOLDOUT &&
        (o->method == PANEL_BETWEEN || o->method == PANEL_FD))
        return cx_job_error(job, "validate", err, CX_EUSAGE,
                            "validate predicts levels of the outcome; expected method = pooling, "
                            "within or random");
    if (o->method == PANEL_BETWEEN && o->se != PANEL_SE_CLASSICAL)
        return cx_job_error(job, "se", err, CX_EUSAGE,
                            "method = between has one row per group; expected se = classical");
    return CX_OK;
}

static int panel_parse(const cx_job *job, panel_spec *s, cx_error *err)
{
    memset(s, 0, sizeof *s);
    const char *text = cx_section_get(job->section, "formula");
    if (!text || !*text)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "expected a formula such as 'growth ~ lag(nps, 1) + size'");
    s->formula = cx_formula_parse(text, err);
    if (!s->formula || cx_formula_require_fixed(s->formula, err))
        return cx_job_error(job, "formula", err, CX_EUSAGE, "%s", err->msg);
    int *cols;
    size_t nc;
    if (cx_job_columns(job, "index", &cols, &nc, err))
        return err->code;
    if (nc != 2) {
        free(cols);
        return cx_job_error(job, "index", err, CX_EUSAGE,
                            "expected two columns, the unit then the time (e.g. 'firm wave'), "
                            "found %zu",
                            nc);
    }
    if (cols[0] == cols[1]) {
        free(cols);
        return cx_job_error(job, "index", err, CX_EUSAGE,
                            "expected two different columns, the unit then the time");
    }
    s->unit_col = cols[0];
    s->time_col = cols[1];
    free(cols);
    int m = PANEL_WITHIN, e = PANEL_INDIVIDUAL;
    if (cx_section_get_choice(job->config, job->section, "method", method_names, &m, err) ||
        cx_section_get_choice(job->config, job->section, "effect", effect_names, &e, err))
        return err->code;
    s->opt.method = (panel_method)m;
    s->opt.effect = (panel_effect)e;
    if (parse_se(job, cx_section_get(job->section, "se"), s, err))
        return err->code;
    if (parse_tests(job, s, err))
        return err->code;
    return check_combination(job, &s->opt, err);
}

/* The design: the formula plus the index columns, delivered alongside. */
static cx_design *panel_design(const cx_job *job, const panel_spec *s, const char **extra,
                               cx_error *err)
{
    extra[0] = cx_table_column(job->view->table, (size_t)s->unit_col)->name;
    extra[1] = cx_table_column(job->view->table, (size_t)s->time_col)->name;
    cx_design_spec spec = {
        .formula = s->formula, .extra = extra, .n_extra = 2, .allow_panel = 1};
    cx_design *d = cx_design_alloc(&spec, job->view->table, err);
    if (!d)
        cx_job_error(job, "formula", err, err->code ? err->code : CX_EUSAGE, "%s", err->msg);
    return d;
}

static int panel_check(const cx_job *job, cx_error *err)
{
    panel_spec s;
    int rc = panel_parse(job, &s, err);
    const char *extra[2];
    cx_design *d = rc ? NULL : panel_design(job, &s, extra, err);
    if (!rc && !d)
        rc = err->code;
    cx_design_free(d);
    panel_spec_free(&s);
    return rc;
}

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

/* The loaded panel, with the buffers panel_data points into. */
typedef struct panel_rows {
    panel_data d;
    double *unit_value, *time_value; /* per kept row */
    size_t *table_row;               /* sorted position of each kept row */
    unsigned char *held_out;         /* per kept row, NULL without holdout */
} panel_rows;

static void panel_rows_free(panel_rows *r)
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
static int sorted_inputs(const cx_job *job, cx_design *des, const panel_spec *s, double **out,
                         size_t *m_out, cx_error *err)
{
    size_t n_table, n_panel = cx_design_n_panel_inputs(des);
    const int *inputs = cx_design_inputs(des, &n_table);
    size_t n_filter = holdout_columns(job);
    size_t ncols = n_table + 2 + n_panel + n_filter;
    int *cols = cx_malloc(ncols * sizeof *cols, err);
    if (!cols)
        return CX_ENOMEM;
    memcpy(cols, inputs, n_table * sizeof *cols);
    cols[n_table] = s->unit_col;
    cols[n_table + 1] = s->time_col;
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
static int load_panel(const cx_job *job, cx_design *des, const panel_spec *s, panel_rows *r,
                      cx_error *err)
{
    memset(r, 0, sizeof *r);
    double *raw = NULL;
    size_t m = 0;
    if (sorted_inputs(job, des, s, &raw, &m, err))
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

/* The rows of r with held_out == want, codes recomputed (the training
 * panel has its own units and periods). */
static int panel_subset(const panel_rows *r, int want, panel_rows *out, cx_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = 0, p = r->d.p;
    for (size_t i = 0; i < r->d.n; i++)
        n += r->held_out[i] == want;
    out->d = r->d;
    out->d.n = n;
    out->d.x = cx_malloc((n * p + 1) * sizeof *out->d.x, err);
    out->d.y = cx_malloc((n + 1) * sizeof *out->d.y, err);
    out->d.unit = cx_malloc((n + 1) * sizeof *out->d.unit, err);
    out->d.time = cx_malloc((n + 1) * sizeof *out->d.time, err);
    out->unit_value = cx_malloc((n + 1) * sizeof *out->unit_value, err);
    out->time_value = cx_malloc((n + 1) * sizeof *out->time_value, err);
    if (!out->d.x || !out->d.y || !out->d.unit || !out->d.time || !out->unit_value ||
        !out->time_value) {
        panel_rows_free(out);
        return CX_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->d.n; i++) {
        if (r->held_out[i] != want)
            continue;
        for (size_t j = 0; j < p; j++)
            out->d.x[j * n + k] = r->d.x[j * r->d.n + i];
        out->d.y[k] = r->d.y[i];
        out->unit_value[k] = r->unit_value[i];
        out->time_value[k] = r->time_value[i];
        k++;
    }
    if (n == 0 || dense_codes(out->unit_value, n, out->d.unit, &out->d.n_units, err) ||
        dense_codes(out->time_value, n, out->d.time, &out->d.n_times, err)) {
        panel_rows_free(out);
        return n == 0 ? cx_error_set(err, CX_EFAIL,
                                     "validate: the %s rows are empty; expected rows on both "
                                     "sides of the holdout expression",
                                     want ? "holdout" : "training")
                      : CX_ENOMEM;
    }
    return CX_OK;
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
static int holdout_validation(cx_result *res, const panel_rows *r, const panel_options *o,
                              const panel_fit *train, cx_error *err)
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
    if (!rc && skipped > 0)
        cx_result_add_warning(res,
                              "validate: %.0f held-out rows have a unit or period without "
                              "training rows and are not predicted",
                              skipped);
    double sst = syy - sy * sy / n;
    struct {
        const char *name;
        double v;
    } m[] = {{"rmse", sqrt(sse / n)}, {"mae", sae / n}, {"r2", 1 - sse / sst}, {"n", n}};
    for (size_t k = 0; !rc && k < 4; k++)
        rc = cx_result_add_validation(res, "holdout", m[k].name, n > 0 ? m[k].v : NAN, err);
    free(resid);
    free(alpha);
    free(gamma);
    return rc;
}

/* ---- results ------------------------------------------------------------- */

static int write_estimates(cx_result *res, const panel_data *d, const cx_formula *f,
                           const panel_fit *pf, cx_error *err)
{
    const char *lhs = f->vars[f->outcome].label;
    for (size_t j = 0; j < d->p; j++) {
        if (isnan(pf->beta[j]))
            continue; /* the within intercept, aliased columns: plm omits them */
        int icpt = (long)j == d->intercept;
        if (cx_result_add_estimate(res, lhs, icpt ? "~1" : "~", icpt ? "" : d->names[j], 0,
                                   pf->beta[j], pf->se[j], NAN, err) < 0)
            return err->code;
    }
    return CX_OK;
}

static int write_fit(cx_result *res, const panel_data *d, const panel_options *o,
                     const panel_fit *pf, cx_error *err)
{
    int random = o->method == PANEL_RANDOM;
    double p_stat = random ? gsl_cdf_chisq_Q(pf->stat, pf->stat_df1)
                           : gsl_cdf_fdist_Q(pf->stat, pf->stat_df1, pf->df_residual);
    struct {
        const char *name;
        double v;
    } rows[] = {{"r2", pf->r2},
                {"adj_r2", pf->adj_r2},
                {"nobs", pf->nobs},
                {"n_units", (double)d->n_units},
                {"n_periods", (double)d->n_times},
                {"df_residual", pf->df_residual},
                {"sigma2", pf->sigma2},
                {random ? "wald_chisq" : "fstat", pf->stat},
                {random ? "wald_chisq_df" : "fstat_df1", pf->stat_df1},
                {random ? "wald_chisq_pvalue" : "fstat_pvalue", p_stat},
                {"sigma2_idios", pf->sigma2_idios},
                {"sigma2_effect", pf->sigma2_effect},
                {"theta", pf->theta_mean}};
    size_t nrows = sizeof rows / sizeof rows[0];
    if (!random)
        nrows -= 3;
    for (size_t i = 0; i < nrows; i++)
        if (cx_result_add_fit(res, rows[i].name, rows[i].v, err))
            return err->code;
    return CX_OK;
}

/* ---- specification tests (plm's phtest, pFtest, plmtest "bp") ----------- */

typedef struct test_row {
    const char *name;
    double stat, df1, df2, pvalue;
} test_row;

static int add_test_row(cx_result *res, const test_row *t, cx_error *err)
{
    cx_rtable *tab = cx_result_table(res, "tests", err);
    if (!tab)
        return err->code;
    if (tab->ncols == 0 && (cx_rtable_add_column(tab, "test", CX_RCOL_STRING, err) ||
                            cx_rtable_add_column(tab, "statistic", CX_RCOL_DOUBLE, err) ||
                            cx_rtable_add_column(tab, "df1", CX_RCOL_DOUBLE, err) ||
                            cx_rtable_add_column(tab, "df2", CX_RCOL_DOUBLE, err) ||
                            cx_rtable_add_column(tab, "pvalue", CX_RCOL_DOUBLE, err)))
        return err->code;
    long row = cx_rtable_add_row(tab, err);
    if (row < 0 || cx_rtable_set_string(tab, (size_t)row, "test", t->name, err))
        return err->code ? err->code : CX_ENOMEM;
    cx_rtable_set_double(tab, (size_t)row, "statistic", t->stat);
    cx_rtable_set_double(tab, (size_t)row, "df1", t->df1);
    cx_rtable_set_double(tab, (size_t)row, "df2", t->df2);
    cx_rtable_set_double(tab, (size_t)row, "pvalue", t->pvalue);
    return CX_OK;
}

/* Fit `method` with the job's effect and classical SEs. */
static int fit_with(const panel_data *d, const panel_spec *s, panel_method method, panel_fit *f,
                    cx_error *err)
{
    panel_options o = s->opt;
    o.method = method;
    o.se = PANEL_SE_CLASSICAL;
    if (method == PANEL_POOLING)
        o.effect = PANEL_INDIVIDUAL;
    if (panel_fit_alloc(f, d->p, err))
        return CX_ENOMEM;
    return panel_estimate(d, &o, f, err);
}

/* Hausman: |(b_fe - b_re)' (V_fe - V_re)^-1 (b_fe - b_re)| on the common slopes. */
static double hausman(const panel_data *d, const panel_fit *fe, const panel_fit *re, double *df)
{
    size_t idx[64], q = 0;
    for (size_t j = 0; j < d->p && q < 64; j++)
        if ((long)j != d->intercept && !isnan(fe->beta[j]) && !isnan(re->beta[j]))
            idx[q++] = j;
    gsl_matrix *m = gsl_matrix_alloc(q ? q : 1, q ? q : 1);
    gsl_permutation *perm = gsl_permutation_alloc(q ? q : 1);
    gsl_vector *b = gsl_vector_alloc(q ? q : 1), *x = gsl_vector_alloc(q ? q : 1);
    double stat = NAN;
    int sign;
    if (m && perm && b && x && q) {
        for (size_t a = 0; a < q; a++) {
            gsl_vector_set(b, a, fe->beta[idx[a]] - re->beta[idx[a]]);
            for (size_t c = 0; c < q; c++)
                gsl_matrix_set(m, a, c,
                               fe->vcov[idx[c] * d->p + idx[a]] - re->vcov[idx[c] * d->p + idx[a]]);
        }
        if (gsl_linalg_LU_decomp(m, perm, &sign) == 0 && gsl_linalg_LU_solve(m, perm, b, x) == 0)
            gsl_blas_ddot(b, x, &stat);
    stat = fabs(stat); /* as phtest: a non-positive-definite difference gives a negative form */
    }
    gsl_matrix_free(m);
    gsl_permutation_free(perm);
    gsl_vector_free(b);
    gsl_vector_free(x);
    *df = (double)q;
    return stat;
}

/* Breusch-Pagan LM on pooled OLS residuals (plm's plmtest, type "bp",
 * unbalanced form): LM_g = n / sqrt(2 (sum_g T_g^2 - n)) A_g with
 * A_g = sum_g (sum e)^2 / sum e^2 - 1; one-way LM_g^2, two-way the sum. */
static double bp_component(const panel_data *d, const double *e, int by_time, cx_error *err)
{
    size_t G = by_time ? d->n_times : d->n_units;
    const size_t *code = by_time ? d->time : d->unit;
    double *sum = cx_calloc(G + 1, sizeof *sum, err), *cnt = cx_calloc(G + 1, sizeof *cnt, err);
    double lm = NAN;
    if (sum && cnt) {
        double ee = 0, ss = 0, tt = 0, n = (double)d->n;
        for (size_t i = 0; i < d->n; i++) {
            sum[code[i]] += e[i];
            cnt[code[i]] += 1;
            ee += e[i] * e[i];
        }
        for (size_t g = 0; g < G; g++) {
            ss += sum[g] * sum[g];
            tt += cnt[g] * cnt[g];
        }
        lm = n / sqrt(2 * (tt - n)) * (ss / ee - 1);
    }
    free(sum);
    free(cnt);
    return lm;
}

static int specification_tests(cx_result *res, const panel_data *d, const panel_spec *s,
                               cx_error *err)
{
    panel_fit fe = {0}, po = {0}, re = {0};
    int rc = fit_with(d, s, PANEL_WITHIN, &fe, err);
    if (!rc)
        rc = fit_with(d, s, PANEL_POOLING, &po, err);
    if (!rc && s->want_test[0]) {
        rc = fit_with(d, s, PANEL_RANDOM, &re, err);
        test_row t = {"hausman", NAN, NAN, NAN, NAN};
        if (!rc)
            t.stat = hausman(d, &fe, &re, &t.df1);
        t.pvalue = gsl_cdf_chisq_Q(t.stat, t.df1);
        if (!rc)
            rc = add_test_row(res, &t, err);
    }
    if (!rc && s->want_test[1]) {
        double rss_fe = fe.sigma2 * fe.df_residual, rss_po = po.sigma2 * po.df_residual;
        test_row t = {"f_effects", NAN, po.df_residual - fe.df_residual, fe.df_residual, NAN};
        t.stat = (rss_po - rss_fe) / t.df1 / (rss_fe / t.df2);
        t.pvalue = gsl_cdf_fdist_Q(t.stat, t.df1, t.df2);
        rc = add_test_row(res, &t, err);
    }
    if (!rc && s->want_test[2]) {
        double *e = cx_malloc((d->n + 1) * sizeof *e, err);
        if (!e)
            rc = CX_ENOMEM;
        for (size_t i = 0; !rc && i < d->n; i++) {
            e[i] = d->y[i];
            for (size_t j = 0; j < d->p; j++)
                if (!isnan(po.beta[j]))
                    e[i] -= d->x[j * d->n + i] * po.beta[j];
        }
        test_row t = {"bp", 0, 0, NAN, NAN};
        for (int by_time = 0; !rc && by_time < 2; by_time++)
            if ((by_time == 0 && s->opt.effect != PANEL_TIME) ||
                (by_time == 1 && s->opt.effect != PANEL_INDIVIDUAL)) {
                double lm = bp_component(d, e, by_time, err);
                t.stat += lm * lm;
                t.df1 += 1;
            }
        t.pvalue = gsl_cdf_chisq_Q(t.stat, t.df1);
        free(e);
        if (!rc)
            rc = add_test_row(res, &t, err);
    }
    panel_fit_free(&fe);
    panel_fit_free(&po);
    panel_fit_free(&re);
    return rc;
}

static int panel_fit_job(const cx_job *job, cx_result **results, cx_error *err)
{
    cx_result *res = results[0];
    panel_spec s;
    panel_rows r = {0};
    panel_fit pf = {0};
    const char *extra[2];
    cx_design *des = NULL;
    const char **names = NULL;
    int rc = panel_parse(job, &s, err);
    if (!rc && !(des = panel_design(job, &s, extra, err)))
        rc = err->code;
    if (!rc)
        rc = load_panel(job, des, &s, &r, err);
    if (!rc && !(names = cx_malloc(r.d.p * sizeof *names, err)))
        rc = CX_ENOMEM;
    if (!rc) {
        for (size_t j = 0; j < r.d.p; j++)
            names[j] = cx_design_colname(des, j);
        r.d.names = names;
        rc = panel_fit_alloc(&pf, r.d.p, err);
    }
    panel_rows train = {0};
    if (!rc && r.held_out)
        rc = panel_subset(&r, 0, &train, err);
    const panel_rows *fit_rows = r.held_out ? &train : &r;
    if (!rc)
        rc = panel_estimate(&fit_rows->d, &s.opt, &pf, err);
    if (!rc) {
        res->nobs = pf.nobs;
        if (pf.n_dropped)
            cx_result_add_warning(res, "%s (dropped, as plm)", pf.dropped);
        if (pf.not_converged)
            cx_result_set_status(res, CX_STATUS_NOT_CONVERGED,
                                 "two-way demeaning did not converge in 100000 sweeps (the "
                                 "units and periods are weakly connected)");
        if (*cx_design_notes(des))
            cx_result_add_warning(res, "%s", cx_design_notes(des));
        rc = write_estimates(res, &fit_rows->d, s.formula, &pf, err);
    }
    if (!rc)
        rc = write_fit(res, &fit_rows->d, &s.opt, &pf, err);
    if (!rc && (s.want_test[0] || s.want_test[1] || s.want_test[2]))
        rc = specification_tests(res, &fit_rows->d, &s, err);
    if (!rc && r.held_out)
        rc = holdout_validation(res, &r, &s.opt, &pf, err);
    panel_rows_free(&train);
    panel_fit_free(&pf);
    free(names);
    panel_rows_free(&r);
    cx_design_free(des);
    panel_spec_free(&s);
    return rc;
}

const cx_model cx_model_panel = {
    .name = "panel",
    .summary = "linear panel models (pooling, within, between, random, fd) as plm",
    .keys = panel_keys,
    .fits_all_levels = 0,
    .supports = CX_SUPPORTS_BY | CX_SUPPORTS_VALIDATE,
    .check = panel_check,
    .fit = panel_fit_job,
};
