/*
 * efa.c — `model = efa`: exploratory factor analysis of `items` as
 * psych::fa computes it (numerical core: efa.h), every `by` level from
 * one pass over the data.
 *
 * Keys (docs/models/efa.md):
 *   items          the items (numeric columns, at least 3);
 *   factors        a number 1 .. items - 1, or `parallel`: Horn's parallel
 *                  analysis picks it (psych::fa.parallel's rule);
 *   method         minres (default, as psych) | ml | pa;
 *   rotation       oblimin (default, as psych) | none | varimax | quartimax
 *                  | promax | quartimin | geomin;
 *   n_iter         parallel analysis iterations (default 20 as psych;
 *                  only with factors = parallel);
 *   random_starts  geomin's random starts beyond the identity start
 *                  (default 10; only with rotation = geomin).
 * Engine keys: `by` (all levels from one pass), `seed` (geomin's random
 * starts and parallel analysis), missing = listwise only (psych's fit
 * statistics assume one n).
 *
 * The pass gives each level's moments (engine/reducer.h); with
 * factors = parallel the same pass also keeps each level's complete rows,
 * which the resampled parallel analysis draws from.
 *
 * Tables: `loadings` (item, one column per factor, psych's names MR1..,
 * ML1.., PA1..), `items` (communality, uniqueness, complexity), `phi`,
 * `variance` (SS loadings and proportions), `eigen` (eigenvalue of the
 * correlation matrix, reduced eigenvalue; with parallel analysis the
 * one-factor fa eigenvalues and the simulated and resampled means),
 * `fit` (factor.stats' measures) and `estimates` (the loadings as
 * `factor =~ item` rows, no standard errors).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "efa.h"
#include "model.h"
#include "reducer.h"

static const char *const efa_keys[] = {"items",  "factors",       "method", "rotation",
                                       "n_iter", "random_starts", NULL};
static const char *const method_names[] = {"minres", "ml", "pa", NULL};
static const char *const method_prefix[] = {"MR", "ML", "PA"};
static const char *const rotation_names[] = {"none",    "varimax",   "quartimax", "promax",
                                             "oblimin", "quartimin", "geomin",    NULL};

typedef struct efa_settings {
    int *cols;
    size_t p;
    long factors; /* 0 = parallel analysis */
    long n_iter;
    long random_starts;
    efa_options opt;
} efa_settings;

/* Read and check every key; errors name file, line and key. */
static int read_settings(const cx_job *job, efa_settings *s, cx_error *err)
{
    const cx_config *c = job->config;
    const cx_config_section *sec = job->section;
    memset(s, 0, sizeof *s);
    int rc = cx_job_columns(job, "items", &s->cols, &s->p, err);
    if (rc)
        return rc;
    for (size_t j = 0; j < s->p; j++) {
        const cx_column_info *info = cx_table_column(job->view->table, (size_t)s->cols[j]);
        if (info->kind == CX_COL_STRING || info->kind == CX_COL_CATEGORICAL)
            return cx_job_error(job, "items", err, CX_EUSAGE,
                                "column '%s' is %s; expected numeric items", info->name,
                                info->kind == CX_COL_STRING ? "a string column" : "categorical");
        for (size_t k = 0; k < j; k++)
            if (s->cols[k] == s->cols[j])
                return cx_job_error(job, "items", err, CX_EUSAGE, "column '%s' is listed twice",
                                    info->name);
    }
    if (s->p < 3)
        return cx_job_error(job, "items", err, CX_EUSAGE,
                            "expected at least 3 items for a factor analysis, found %zu", s->p);
    if (job->missing != CX_MISSING_LISTWISE)
        return cx_job_error(job, "missing", err, CX_EUSAGE,
                            "model 'efa' takes missing = listwise only (psych's fit statistics "
                            "need one number of observations)");
    const char *fv = cx_section_get(sec, "factors");
    if (!fv)
        return cx_job_error(job, "factors", err, CX_EUSAGE,
                            "missing: expected a number of factors or 'parallel'");
    char *end = NULL;
    if (strcmp(fv, "parallel") == 0)
        s->factors = 0;
    else if ((s->factors = strtol(fv, &end, 10)) < 1 || s->factors > (long)s->p - 1 ||
             end == fv || *end != '\0')
        return cx_job_error(job, "factors", err, CX_EUSAGE,
                            "expected a number of factors from 1 to %zu (items - 1) or "
                            "'parallel', found '%s'",
                            s->p - 1, fv);
    if (s->factors > 64)
        return cx_job_error(job, "factors", err, CX_EUSAGE, "at most 64 factors, not %ld",
                            s->factors);
    int m = 0, r = 4;
    if ((rc = cx_section_get_choice(c, sec, "method", method_names, &m, err)) ||
        (rc = cx_section_get_choice(c, sec, "rotation", rotation_names, &r, err)))
        return rc;
    s->opt.method = (efa_method)m;
    s->opt.rotation = (efa_rotation)r;
    s->n_iter = 20;
    if (cx_section_get(sec, "n_iter") && s->factors != 0)
        return cx_job_error(job, "n_iter", err, CX_EUSAGE,
                            "n_iter is the number of parallel analysis iterations; it needs "
                            "factors = parallel");
    if ((rc = cx_section_get_long(c, sec, "n_iter", 2, 100000, &s->n_iter, err)))
        return rc;
    s->random_starts = 10;
    if (cx_section_get(sec, "random_starts") && s->opt.rotation != EFA_ROT_GEOMIN)
        return cx_job_error(job, "random_starts", err, CX_EUSAGE,
                            "random starts are for rotation = geomin only");
    if ((rc = cx_section_get_long(c, sec, "random_starts", 0, 1000, &s->random_starts, err)))
        return rc;
    s->opt.random_starts = (int)s->random_starts;
    s->opt.seed = job->seed;
    return CX_OK;
}

static int efa_check(const cx_job *job, cx_error *err)
{
    efa_settings s;
    int rc = read_settings(job, &s, err);
    free(s.cols);
    return rc;
}

/* ---- complete rows per level (for resampled parallel analysis) ---------- */

typedef struct rows_params {
    size_t p, n_levels;
} rows_params;

typedef struct rows_acc {
    const rows_params *par;
    double **rows; /* per level: row-major complete rows */
    size_t *n, *cap;
} rows_acc;

static void rows_free(void *va)
{
    rows_acc *a = va;
    if (!a)
        return;
    for (size_t l = 0; a->rows && l < a->par->n_levels; l++)
        free(a->rows[l]);
    free(a->rows), free(a->n), free(a->cap);
    free(a);
}

static void *rows_alloc(const void *params, cx_error *err)
{
    const rows_params *par = params;
    rows_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    a->rows = cx_calloc(par->n_levels, sizeof *a->rows, err);
    a->n = cx_calloc(par->n_levels, sizeof *a->n, err);
    a->cap = cx_calloc(par->n_levels, sizeof *a->cap, err);
    if (!a->rows || !a->n || !a->cap) {
        rows_free(a);
        return NULL;
    }
    return a;
}

static void rows_reset(void *va)
{
    rows_acc *a = va;
    memset(a->n, 0, a->par->n_levels * sizeof *a->n);
}

static int rows_reserve(rows_acc *a, size_t l, size_t more)
{
    size_t p = a->par->p;
    if (a->n[l] + more <= a->cap[l])
        return 0;
    size_t cap = a->cap[l] ? a->cap[l] : 1024;
    while (cap < a->n[l] + more)
        cap *= 2;
    double *r = realloc(a->rows[l], cap * p * sizeof *r);
    if (!r)
        return -1;
    a->rows[l] = r;
    a->cap[l] = cap;
    return 0;
}

static int rows_add(void *va, const cx_block *b, cx_error *err)
{
    rows_acc *a = va;
    size_t p = a->par->p;
    for (size_t l = 0; l < b->n_levels && l < a->par->n_levels; l++) {
        if (rows_reserve(a, l, b->start[l + 1] - b->start[l]))
            return cx_error_set(err, CX_ENOMEM, "out of memory keeping rows for parallel analysis");
        for (size_t i = b->start[l]; i < b->start[l + 1]; i++) {
            double *dst = a->rows[l] + a->n[l] * p;
            int complete = 1;
            for (size_t j = 0; j < p; j++)
                complete &= !isnan(dst[j] = b->data[j * b->ld + i]);
            a->n[l] += (size_t)complete;
        }
    }
    return CX_OK;
}

static void rows_merge(void *va, const void *vo)
{
    rows_acc *a = va;
    const rows_acc *o = vo;
    size_t p = a->par->p;
    for (size_t l = 0; l < a->par->n_levels; l++) {
        if (!o->n[l] || rows_reserve(a, l, o->n[l]))
            continue; /* out of memory: caught by the row count check */
        memcpy(a->rows[l] + a->n[l] * p, o->rows[l], o->n[l] * p * sizeof(double));
        a->n[l] += o->n[l];
    }
}

static const cx_reducer_type rows_reducer = {"efa_rows", rows_alloc, rows_reset, rows_add,
                                             rows_merge, NULL,       rows_free};

/* ---- tables ------------------------------------------------------------------- */

static const char *item_name(const cx_job *job, const efa_settings *s, size_t j)
{
    return cx_table_column(job->view->table, (size_t)s->cols[j])->name;
}

static void factor_name(char *buf, size_t len, efa_method m, size_t g)
{
    snprintf(buf, len, "%s%zu", method_prefix[m], g + 1);
}

/* A table with a first string column `key` and one double column per
 * factor. */
static cx_rtable *factor_table(cx_result *r, const char *name, const char *key, efa_method m,
                               size_t k, cx_error *err)
{
    cx_rtable *t = cx_result_table(r, name, err);
    if (!t || cx_rtable_add_column(t, key, CX_RCOL_STRING, err))
        return NULL;
    char buf[32];
    for (size_t g = 0; g < k; g++) {
        factor_name(buf, sizeof buf, m, g);
        if (cx_rtable_add_column(t, buf, CX_RCOL_DOUBLE, err))
            return NULL;
    }
    return t;
}

/* Rows of an n x k column-major matrix M (leading dimension n) into t. */
static int matrix_rows(cx_rtable *t, const char *key, const char *const *labels, const double *M,
                       size_t n, size_t k, efa_method m, cx_error *err)
{
    char buf[32];
    for (size_t i = 0; i < n; i++) {
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, key, labels[i], err))
            return err->code ? err->code : CX_ENOMEM;
        for (size_t g = 0; g < k; g++) {
            factor_name(buf, sizeof buf, m, g);
            cx_rtable_set_double(t, (size_t)row, buf, M[g * n + i]);
        }
    }
    return CX_OK;
}

static int write_items(const cx_job *job, const efa_settings *s, const efa_fit *f, cx_result *r,
                       cx_error *err)
{
    static const char *const cols[] = {"communality", "uniqueness", "complexity"};
    cx_rtable *t = cx_result_table(r, "items", err);
    if (!t || cx_rtable_add_column(t, "item", CX_RCOL_STRING, err))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t c = 0; c < 3; c++)
        if (cx_rtable_add_column(t, cols[c], CX_RCOL_DOUBLE, err))
            return err->code;
    for (size_t i = 0; i < f->p; i++) {
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "item", item_name(job, s, i), err))
            return err->code ? err->code : CX_ENOMEM;
        cx_rtable_set_double(t, (size_t)row, "communality", f->communality[i]);
        cx_rtable_set_double(t, (size_t)row, "uniqueness", f->uniqueness[i]);
        cx_rtable_set_double(t, (size_t)row, "complexity", f->complexity[i]);
    }
    return CX_OK;
}

/* psych's Vaccounted. */
static int write_variance(const efa_settings *s, const efa_fit *f, cx_result *r, cx_error *err)
{
    static const char *const cols[] = {"ss_loadings", "proportion_var", "cumulative_var",
                                       "proportion_explained", "cumulative_proportion"};
    cx_rtable *t = cx_result_table(r, "variance", err);
    if (!t || cx_rtable_add_column(t, "factor", CX_RCOL_STRING, err))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t c = 0; c < 5; c++)
        if (cx_rtable_add_column(t, cols[c], CX_RCOL_DOUBLE, err))
            return err->code;
    double total = 0, explained = 0, cum = 0, cum_e = 0;
    for (size_t i = 0; i < f->p; i++)
        total += f->communality[i] + f->uniqueness[i];
    for (size_t g = 0; g < f->k; g++)
        explained += f->ss_loadings[g];
    char buf[32];
    for (size_t g = 0; g < f->k; g++) {
        long row = cx_rtable_add_row(t, err);
        factor_name(buf, sizeof buf, s->opt.method, g);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "factor", buf, err))
            return err->code ? err->code : CX_ENOMEM;
        double v = f->ss_loadings[g];
        cum += v / total;
        cum_e += v / explained;
        const double vals[] = {v, v / total, cum, v / explained, cum_e};
        for (size_t c = 0; c < 5; c++)
            cx_rtable_set_double(t, (size_t)row, cols[c], vals[c]);
    }
    return CX_OK;
}

static int write_fit(const efa_fit *f, double n, cx_result *r, cx_error *err)
{
    const struct {
        const char *name;
        double v;
    } m[] = {{"n_obs", n},
             {"factors", (double)f->k},
             {"objective", f->objective},
             {"chisq", f->chisq},
             {"df", f->df},
             {"pvalue", f->pvalue},
             {"baseline_chisq", f->null_chisq},
             {"baseline_df", f->null_df},
             {"tli", f->tli},
             {"cfi", f->cfi},
             {"rmsea", f->rmsea},
             {"rmsea_ci_lower", f->rmsea_lower},
             {"rmsea_ci_upper", f->rmsea_upper},
             {"bic", f->bic},
             {"sabic", f->sabic},
             {"rms", f->rms},
             {"crms", f->crms},
             {"empirical_chisq", f->e_chisq},
             {"empirical_pvalue", f->e_pvalue},
             {"empirical_bic", f->e_bic},
             {"fit", f->fit},
             {"fit_off", f->fit_off},
             {"iterations", (double)f->iterations},
             {"rotation_iterations", (double)f->rotation_iterations},
             {"heywood_items", (double)f->heywood}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (cx_result_add_fit(r, m[i].name, m[i].v, err))
            return err->code;
    return CX_OK;
}

/* The parallel analysis of one level and the number of factors it keeps. */
typedef struct parallel_result {
    double *fa_values, *pc_sim, *pc_sim_sd, *fa_sim, *pc_res, *fa_res, *pc_q95, *fa_q95;
    double *block; /* owns all of the above */
    long nfact, ncomp, kaiser;
} parallel_result;

static int run_parallel(const cx_job *job, const efa_settings *s, const double *R,
                        const double *values, const double *X, size_t n, parallel_result *pr,
                        cx_error *err)
{
    size_t p = s->p;
    pr->block = cx_calloc(8 * p, sizeof(double), err);
    if (!pr->block)
        return CX_ENOMEM;
    double *b = pr->block;
    pr->fa_values = b, pr->pc_sim = b + p, pr->pc_sim_sd = b + 2 * p, pr->fa_sim = b + 3 * p;
    pr->pc_res = b + 4 * p, pr->fa_res = b + 5 * p, pr->pc_q95 = b + 6 * p, pr->fa_q95 = b + 7 * p;
    int rc = efa_reduced_eigen(R, p, 1, EFA_MINRES, pr->fa_values, err);
    efa_parallel_out out = {pr->pc_sim, pr->pc_sim_sd, pr->fa_sim, pr->pc_res,
                            pr->fa_res, pr->pc_q95,    pr->fa_q95};
    if (rc == CX_OK)
        rc = efa_parallel(X, n, p, (int)s->n_iter, job->seed, job->threads, &out, err);
    if (rc)
        return rc;
    /* psych: which(!(values > quantile))[1] - 1 */
    pr->nfact = pr->ncomp = (long)p;
    for (size_t j = p; j-- > 0;) {
        if (!(pr->fa_values[j] > pr->fa_q95[j]))
            pr->nfact = (long)j;
        if (!(values[j] > pr->pc_q95[j]))
            pr->ncomp = (long)j;
    }
    pr->kaiser = 0;
    for (size_t j = 0; j < p; j++)
        pr->kaiser += values[j] > 1;
    return CX_OK;
}

static int write_eigen(const efa_fit *f, const parallel_result *pr, cx_result *r, cx_error *err)
{
    static const char *const pcols[] = {"fa_eigenvalue",        "parallel",
                                        "parallel_sd",          "parallel_fa",
                                        "parallel_resampled",   "parallel_fa_resampled",
                                        "parallel_resampled_q95", "parallel_fa_resampled_q95"};
    cx_rtable *t = cx_result_table(r, "eigen", err);
    if (!t || cx_rtable_add_column(t, "factor", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "eigenvalue", CX_RCOL_DOUBLE, err) ||
        cx_rtable_add_column(t, "reduced", CX_RCOL_DOUBLE, err))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t c = 0; pr && c < 8; c++)
        if (cx_rtable_add_column(t, pcols[c], CX_RCOL_DOUBLE, err))
            return err->code;
    for (size_t j = 0; j < f->p; j++) {
        long row = cx_rtable_add_row(t, err);
        if (row < 0)
            return err->code ? err->code : CX_ENOMEM;
        cx_rtable_set_int(t, (size_t)row, "factor", (long long)j + 1);
        cx_rtable_set_double(t, (size_t)row, "eigenvalue", f->values[j]);
        cx_rtable_set_double(t, (size_t)row, "reduced", f->reduced[j]);
        for (size_t c = 0; pr && c < 8; c++)
            cx_rtable_set_double(t, (size_t)row, pcols[c], pr->block[c * f->p + j]);
    }
    return CX_OK;
}

static int write_tables(const cx_job *job, const efa_settings *s, const efa_fit *f, double n,
                        const parallel_result *pr, cx_result *r, cx_error *err)
{
    size_t p = f->p, k = f->k;
    const char **labels = cx_malloc((p > k ? p : k) * sizeof *labels, err);
    char(*fn)[32] = cx_malloc(k * sizeof *fn, err);
    if (!labels || !fn) {
        free(labels), free(fn);
        return CX_ENOMEM;
    }
    for (size_t i = 0; i < p; i++)
        labels[i] = item_name(job, s, i);
    int rc = CX_OK;
    cx_rtable *t = factor_table(r, "loadings", "item", s->opt.method, k, err);
    rc = t ? matrix_rows(t, "item", labels, f->loadings, p, k, s->opt.method, err) : err->code;
    for (size_t g = 0; g < k; g++) {
        factor_name(fn[g], sizeof fn[g], s->opt.method, g);
        labels[g] = fn[g];
    }
    if (rc == CX_OK) {
        t = factor_table(r, "phi", "factor", s->opt.method, k, err);
        rc = t ? matrix_rows(t, "factor", labels, f->phi, k, k, s->opt.method, err) : err->code;
    }
    if (rc == CX_OK)
        rc = write_items(job, s, f, r, err);
    if (rc == CX_OK)
        rc = write_variance(s, f, r, err);
    if (rc == CX_OK)
        rc = write_eigen(f, pr, r, err);
    if (rc == CX_OK)
        rc = write_fit(f, n, r, err);
    if (rc == CX_OK && pr) {
        const struct {
            const char *name;
            double v;
        } m[] = {{"parallel_factors", (double)pr->nfact},
                 {"parallel_components", (double)pr->ncomp},
                 {"kaiser_components", (double)pr->kaiser},
                 {"parallel_iterations", (double)s->n_iter}};
        for (size_t i = 0; rc == CX_OK && i < 4; i++)
            rc = cx_result_add_fit(r, m[i].name, m[i].v, err) ? err->code : CX_OK;
    }
    for (size_t g = 0; rc == CX_OK && g < k; g++)
        for (size_t i = 0; rc == CX_OK && i < p; i++)
            if (cx_result_add_estimate(r, fn[g], "=~", item_name(job, s, i), 0,
                                       f->loadings[g * p + i], NAN, NAN, err) < 0)
                rc = err->code ? err->code : CX_ENOMEM;
    free(labels), free(fn);
    return rc;
}

/* ---- one level -------------------------------------------------------------- */

/* Correlation matrix of a level's moments; a message when undefined. */
static int level_correlation(const cx_job *job, const efa_settings *s, const cx_moments *m,
                             double *R, cx_result *r, cx_error *err)
{
    size_t p = s->p;
    (void)err;
    if (m->sum_w < (double)p + 2) {
        cx_result_set_status(r, CX_STATUS_FAILED,
                             "%.0f complete rows for %zu items: too few for a factor analysis",
                             m->sum_w, p);
        return 1;
    }
    cx_moments_covariance(m, 1, R);
    for (size_t j = 0; j < p; j++)
        if (!(R[j * p + j] > 0)) {
            cx_result_set_status(r, CX_STATUS_FAILED, "item '%s' is constant",
                                 item_name(job, s, j));
            return 1;
        }
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++)
            if (i != j)
                R[j * p + i] /= sqrt(R[i * p + i] * R[j * p + j]);
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++)
            R[j * p + i] = i == j ? 1 : R[j * p + i];
    /* exact symmetry: the eigen solvers read one triangle */
    for (size_t j = 0; j < p; j++)
        for (size_t i = j + 1; i < p; i++)
            R[i * p + j] = R[j * p + i];
    return 0;
}

/* Column-major copy of a level's kept rows. */
static double *column_major(const rows_acc *a, size_t l, size_t p, cx_error *err)
{
    size_t n = a->n[l];
    double *X = cx_malloc((n ? n : 1) * p * sizeof *X, err);
    for (size_t i = 0; X && i < n; i++)
        for (size_t j = 0; j < p; j++)
            X[j * n + i] = a->rows[l][i * p + j];
    return X;
}

/* The Heywood warning names the items (communality at or above 0.995, as
 * efa_run counts them), as many as fit one message line. */
static void heywood_items(const cx_job *job, const efa_settings *s, const efa_fit *f,
                          char *buf, size_t size)
{
    size_t len = 0, named = 0;
    buf[0] = 0;
    for (size_t i = 0; i < s->p && len < size; i++) {
        if (f->communality[i] < 1 - 0.005 - 1e-6)
            continue;
        const char *name = item_name(job, s, i);
        if (len + strlen(name) + 20 >= size || named == 16) {
            snprintf(buf + len, size - len, ", ...");
            break;
        }
        len += (size_t)snprintf(buf + len, size - len, "%s%s (%.4f)", named ? ", " : "", name,
                                f->communality[i]);
        named++;
    }
}

static void report_status(const cx_job *job, const efa_settings *s, const efa_fit *f,
                          cx_result *r)
{
    if (f->status == EFA_NOT_CONVERGED)
        cx_result_set_status(r, CX_STATUS_NOT_CONVERGED,
                             "%s extraction did not converge in %d iterations",
                             method_names[s->opt.method], f->iterations);
    else if (f->status == EFA_ROTATION_NOT_CONVERGED)
        cx_result_set_status(r, CX_STATUS_NOT_CONVERGED, "%s rotation did not converge",
                             rotation_names[s->opt.rotation]);
    if (f->heywood) {
        char items[512];
        heywood_items(job, s, f, items, sizeof items);
        cx_result_add_warning(r,
                              "Heywood case: %d item(s) with communality at or above %.3f "
                              "(uniqueness at psych's lower bound 0.005 or negative): %s",
                              f->heywood, 1 - 0.005, items);
    }
}

static int fit_level(const cx_job *job, efa_settings *s, const cx_moments *m,
                     const rows_acc *rows, size_t l, cx_result *r, cx_error *err)
{
    size_t p = s->p;
    double *R = cx_malloc(p * p * sizeof *R, err), *values = cx_malloc(p * sizeof *values, err);
    int rc = (!R || !values) ? CX_ENOMEM : CX_OK;
    double n = m->sum_w;
    r->nobs = n;
    if (rc || level_correlation(job, s, m, R, r, err)) {
        free(R), free(values);
        return rc;
    }
    parallel_result pr = {0};
    efa_options opt = s->opt;
    opt.factors = (size_t)s->factors;
    rc = efa_eigen(R, p, values, NULL, err);
    if (rc == CX_OK && s->factors == 0) {
        double *X = column_major(rows, l, p, err);
        rc = !X ? CX_ENOMEM
             : rows->n[l] != (size_t)n
                 ? cx_error_set(err, CX_EFAIL, "parallel analysis kept %zu rows, not %.0f",
                                rows->n[l], n)
                 : run_parallel(job, s, R, values, X, rows->n[l], &pr, err);
        free(X);
        opt.factors = (size_t)(pr.nfact < 1 ? 1 : pr.nfact);
        if (rc == CX_OK && opt.factors >= p)
            opt.factors = p - 1;
        if (rc == CX_OK && pr.nfact < 1)
            cx_result_add_warning(r, "parallel analysis keeps no factor; one factor fitted");
    }
    efa_fit *f = rc == CX_OK ? efa_fit_alloc(p, opt.factors, err) : NULL;
    if (rc == CX_OK && !f)
        rc = CX_ENOMEM;
    if (rc == CX_OK)
        rc = efa_run(R, p, n, &opt, f, err);
    if (rc == CX_OK) {
        report_status(job, s, f, r);
        rc = write_tables(job, s, f, n, s->factors == 0 ? &pr : NULL, r, err);
    } else if (err->code == CX_EFAIL) {
        /* a numerical failure of this level: its status, not the run's */
        cx_result_set_status(r, CX_STATUS_FAILED, "%s", err->msg);
        memset(err, 0, sizeof *err);
        rc = CX_OK;
    }
    efa_fit_free(f);
    free(pr.block);
    free(R), free(values);
    return rc;
}

static int efa_fit_job(const cx_job *job, cx_result **results, cx_error *err)
{
    efa_settings s;
    int rc = read_settings(job, &s, err);
    if (rc) {
        free(s.cols);
        return rc;
    }
    size_t n_levels = job->view->n_levels ? job->view->n_levels : 1;
    cx_moments_params mp = {.p = s.p,
                            .col0 = 0,
                            .weight_at = -1,
                            .mode = CX_MISSING_LISTWISE,
                            .n_levels = n_levels,
                            .split = CX_SPLIT_NONE,
                            .n_slots = 1,
                            .seed = job->seed,
                            .cluster_at = -1};
    rows_params rp = {s.p, n_levels};
    cx_reducer red[2] = {{&cx_reducer_moments, &mp, NULL}, {&rows_reducer, &rp, NULL}};
    rc = cx_reduce_view(job->view, s.cols, s.p, red, s.factors == 0 ? 2 : 1, job->threads, err);
    for (size_t l = 0; rc == CX_OK && l < n_levels; l++) {
        cx_moments *m = cx_moments_result(red[0].acc, l, 0, err);
        rc = m ? fit_level(job, &s, m, red[1].acc, l, results[l], err) : CX_ENOMEM;
        cx_moments_free(m);
    }
    cx_reducer_release(&red[0]);
    if (s.factors == 0)
        cx_reducer_release(&red[1]);
    free(s.cols);
    return rc;
}

const cx_model cx_model_efa = {
    .name = "efa",
    .summary = "exploratory factor analysis (minres/ml/pa, rotations, parallel analysis) as "
               "psych::fa",
    .keys = efa_keys,
    .fits_all_levels = 1,
    .supports = CX_SUPPORTS_BY,
    .check = efa_check,
    .fit = efa_fit_job,
};
