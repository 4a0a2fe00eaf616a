/*
 * sem_model.c — the `cfa`, `sem` and `growth` models (lavaan's cfa(),
 * sem() and growth()).
 *
 * Glue only: read the job's keys, build the parameter table (partable.c),
 * compute each group's sample moments in one pass (stats.h; ML divisor N,
 * as lavaan), fit (estimate.c) and write the tables of the contract:
 * `estimates` in parameterEstimates() order, `fit` with fitMeasures()
 * names, `r2`, and `modindices` when asked.
 *
 * Groups (`group = COLUMN`) are numbered 1..G in order of first appearance
 * in the data, as lavaan numbers them (it takes unique() of the column);
 * the `groups` table maps each number to its label.  With `by`, the view
 * the engine hands over is one `by` level, grouped again here.
 *
 * `invariance` (invariance.c) fits one model per step from the same
 * moments, through fit_step() below.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/model.h"
#include "estimate.h"
#include "fourth.h"
#include "invariance.h"
#include "partable.h"

static const char *const sem_keys[] = {
    "syntax",     "estimator", "ordered", "std_lv",     "group",    "group_equal", "meanstructure",
    "modindices", "items",     "shape",   "invariance", "max_iter", NULL};

static const char *const estimator_names[] = {"ml", "mlr", "wlsmv", NULL};

/* Everything the keys say, before any data is read. */
typedef struct sem_spec {
    char *syntax; /* owned: the key's value or the growth syntax */
    sem_options opt;
    sem_estimator estimator;
    const char *group; /* column name or NULL */
    int modindices;
    long max_iter;      /* lavaan's control = list(iter.max = ...); 0 = default */
    sem_invariance inv; /* `invariance` steps; n_steps 0 without the key */
} sem_spec;

static void spec_clear(sem_spec *s)
{
    free(s->syntax);
    memset(s, 0, sizeof *s);
}

/* growth with `items` and `shape`: i =~ 1*t1 + ...; s =~ 0*t1 + 1*t2 + ... */
static int growth_syntax(const cx_job *job, sem_spec *s, cx_error *err)
{
    size_t n = 0;
    const char *items = cx_section_get(job->section, "items");
    if (!items)
        return cx_job_error(job, "items", err, CX_EUSAGE,
                            "growth needs `items` (one column per wave, in time order) or "
                            "`syntax`");
    int shape = 0;
    static const char *const shapes[] = {"linear", "quadratic", NULL};
    int rc = cx_section_get_choice(job->config, job->section, "shape", shapes, &shape, err);
    if (rc != CX_OK)
        return rc;
    char **words = cx_words_split(items, &n, err);
    if (!words)
        return CX_ENOMEM;
    if (n < 3) {
        cx_words_free(words);
        return cx_job_error(job, "items", err, CX_EUSAGE, "a growth model needs at least 3 waves");
    }
    size_t size = 64 + 3 * n * (SEM_NAME_MAX + 16);
    s->syntax = cx_malloc(size, err);
    if (!s->syntax) {
        cx_words_free(words);
        return CX_ENOMEM;
    }
    size_t len = 0;
    static const char *const factors[] = {"i", "s", "q"};
    for (int f = 0; f <= 1 + shape; f++) {
        len += (size_t)snprintf(s->syntax + len, size - len, "%s =~ ", factors[f]);
        for (size_t t = 0; t < n; t++)
            len += (size_t)snprintf(s->syntax + len, size - len, "%s%.0f*%s", t ? " + " : "",
                                    pow((double)t, (double)f), words[t]);
        len += (size_t)snprintf(s->syntax + len, size - len, "\n");
    }
    cx_words_free(words);
    return CX_OK;
}

static int read_group_equal(const cx_job *job, sem_spec *s, cx_error *err)
{
    const char *value = cx_section_get(job->section, "group_equal");
    if (!value)
        return CX_OK;
    if (!s->group)
        return cx_job_error(job, "group_equal", err, CX_EUSAGE,
                            "group_equal needs `group` (the column that defines the groups)");
    size_t n = 0;
    char **words = cx_words_split(value, &n, err);
    if (!words)
        return CX_ENOMEM;
    int rc = CX_OK;
    for (size_t k = 0; k < n && rc == CX_OK; k++) {
        unsigned bit = sem_group_equal_bit(words[k]);
        if (!bit)
            rc = cx_job_error(job, "group_equal", err, CX_EUSAGE,
                              "unknown word '%s' (expected loadings, intercepts, residuals, "
                              "residual.covariances, lv.variances, lv.covariances, means, "
                              "regressions, thresholds)",
                              words[k]);
        s->opt.group_equal |= bit;
    }
    cx_words_free(words);
    return rc;
}

static int read_options(const cx_job *job, sem_spec *s, cx_error *err)
{
    int est = 0, std_lv = 0, mean = -1, mi = 0;
    int rc =
        cx_section_get_choice(job->config, job->section, "estimator", estimator_names, &est, err);
    if (rc == CX_OK && est == SEM_WLSMV)
        rc = cx_job_error(job, "estimator", err, CX_EUSAGE,
                          "estimator '%s' is not supported yet (only ml and mlr)",
                          estimator_names[est]);
    if (rc == CX_OK && cx_section_get(job->section, "ordered"))
        rc = cx_job_error(job, "ordered", err, CX_EUSAGE,
                          "ordinal items are not supported yet (they need estimator wlsmv)");
    if (rc == CX_OK)
        rc = cx_section_get_bool(job->config, job->section, "std_lv", &std_lv, err);
    if (rc == CX_OK && cx_section_get(job->section, "meanstructure"))
        rc = cx_section_get_bool(job->config, job->section, "meanstructure", &mean, err);
    if (rc == CX_OK)
        rc = cx_section_get_bool(job->config, job->section, "modindices", &mi, err);
    s->estimator = (sem_estimator)est;
    s->opt.std_lv = std_lv;
    s->opt.meanstructure = mean;
    s->opt.fixed_x = 1;
    s->opt.n_groups = 1;
    s->modindices = mi;
    s->max_iter = 0;
    if (rc == CX_OK && cx_section_get(job->section, "max_iter"))
        rc = cx_section_get_long(job->config, job->section, "max_iter", 1, 1000000, &s->max_iter,
                                 err);
    s->group = cx_section_get(job->section, "group");
    if (rc == CX_OK)
        rc = sem_invariance_read(job, s->group != NULL, &s->inv, err);
    if (rc == CX_OK)
        rc = read_group_equal(job, s, err);
    /* lavTestLRT() of MLR fits is a scaled (Satorra-Bentler 2001)
     * difference test; invariance.c computes the ML one only. */
    if (rc == CX_OK && s->estimator == SEM_MLR && s->inv.n_steps)
        rc = cx_job_error(job, "invariance", err, CX_EUSAGE,
                          "invariance with estimator mlr is not supported yet (it needs scaled "
                          "difference tests)");
    return rc;
}

static int read_spec(const cx_job *job, sem_kind kind, sem_spec *s, cx_error *err)
{
    memset(s, 0, sizeof *s);
    s->opt.kind = kind;
    int rc = read_options(job, s, err);
    if (rc != CX_OK)
        return rc;
    const char *syntax = cx_section_get(job->section, "syntax");
    if (kind == SEM_KIND_GROWTH && !syntax)
        return growth_syntax(job, s, err);
    if (!syntax || !*syntax)
        return cx_job_error(job, "syntax", err, CX_EUSAGE,
                            "expected lavaan model syntax, e.g. 'F =~ x1 + x2 + x3'");
    s->syntax = cx_strdup(syntax, err);
    return s->syntax ? CX_OK : CX_ENOMEM;
}

/* The parameter table, with syntax errors located at the key. */
static sem_partable *build_partable(const cx_job *job, const sem_spec *s, cx_error *err)
{
    sem_partable *pt = sem_partable_build(s->syntax, &s->opt, err);
    if (!pt && err && err->code != CX_ENOMEM) {
        char msg[CX_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        cx_job_error(job, cx_section_get(job->section, "syntax") ? "syntax" : "items", err,
                     CX_EUSAGE, "%s", msg);
    }
    return pt;
}

static int resolve_columns(const cx_job *job, const sem_partable *pt, int *cols, cx_error *err)
{
    int rc = cx_view_columns(job->view, pt->ov_names, pt->n_ov, cols, err);
    if (rc != CX_OK) {
        char msg[CX_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return cx_job_error(job, cx_section_get(job->section, "syntax") ? "syntax" : "items", err,
                            rc, "%s", msg);
    }
    return CX_OK;
}

/* ---- check ------------------------------------------------------------ */

static int check_group_column(const cx_job *job, const sem_spec *s, cx_error *err)
{
    if (!s->group)
        return CX_OK;
    char *name = (char *)s->group;
    int gcol;
    int rc = cx_view_columns(job->view, &name, 1, &gcol, err);
    return rc == CX_OK ? CX_OK : cx_job_error(job, "group", err, rc, "%s", err->msg);
}

/* Without reading rows the number of groups is unknown: check the syntax
 * as if there were two, and leave per-group modifier counts to the fit. */
static int sem_check_kind(const cx_job *job, sem_kind kind, cx_error *err)
{
    sem_spec s;
    int rc = read_spec(job, kind, &s, err);
    if (rc == CX_OK)
        rc = check_group_column(job, &s, err);
    if (rc != CX_OK) {
        spec_clear(&s);
        return rc;
    }
    s.opt.n_groups = s.group ? 2 : 1;
    if (s.inv.n_steps) /* the most constrained step has the most to check */
        s.opt.group_equal = s.inv.group_equal[s.inv.n_steps - 1];
    sem_partable *pt = build_partable(job, &s, err);
    if (!pt) {
        rc = err->code;
        if (s.group && strstr(err->msg, "values but the model has"))
            rc = CX_OK;
        spec_clear(&s);
        if (rc == CX_OK)
            cx_error_clear(err);
        return rc;
    }
    int *cols = cx_calloc(pt->n_ov, sizeof *cols, err);
    rc = cols ? resolve_columns(job, pt, cols, err) : CX_ENOMEM;
    free(cols);
    sem_partable_free(pt);
    spec_clear(&s);
    return rc;
}

/* ---- data ------------------------------------------------------------- */

typedef struct sem_data {
    cx_view grouped; /* the job's rows grouped by `group` */
    int have_grouped;
    int group_col;
    size_t *level_of_group; /* group g (lavaan's order) is view level level_of_group[g] */
    const cx_view *view;    /* the view the moments come from */
    size_t n_groups;
    cx_moments **moments; /* view->n_levels of them */
    double *cov;          /* n_groups x p x p */
    double *fourth;       /* mlr: n_groups x pstar x pstar, else NULL */
    sem_sample *samples;  /* n_groups */
} sem_data;

static void data_clear(sem_data *d)
{
    for (size_t g = 0; d->moments && d->view && g < d->view->n_levels; g++)
        cx_moments_free(d->moments[g]);
    free(d->moments);
    free(d->cov);
    free(d->fourth);
    free(d->samples);
    free(d->level_of_group);
    if (d->have_grouped)
        cx_view_free(&d->grouped);
    memset(d, 0, sizeof *d);
}

/* lavaan numbers groups by first appearance in the data: find that order
 * (reading the group column only until every level has been seen). */
static int order_by_appearance(sem_data *d, cx_error *err)
{
    size_t n = d->n_groups, seen = 0;
    d->level_of_group = cx_calloc(n, sizeof *d->level_of_group, err);
    char *is_seen = cx_calloc(n, 1, err);
    size_t ld = cx_view_block_rows(d->view);
    double *block = cx_calloc(ld, sizeof *block, err);
    size_t *levels = cx_calloc(ld, sizeof *levels, err);
    cx_view_iter it;
    int rc = d->level_of_group && is_seen && block && levels ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK)
        rc = cx_view_iter_begin(&it, d->view, &d->group_col, 1, err);
    long got = 0;
    while (rc == CX_OK && seen < n && (got = cx_view_iter_next(&it, block, levels, err)) > 0)
        for (long i = 0; i < got && seen < n; i++)
            if (!is_seen[levels[i]]) {
                is_seen[levels[i]] = 1;
                d->level_of_group[seen++] = levels[i];
            }
    if (rc == CX_OK) {
        cx_view_iter_end(&it);
        if (got < 0)
            rc = err->code;
    }
    free(is_seen);
    free(block);
    free(levels);
    return rc;
}

/* The rows to fit: the job's view, or (with `group`) a view of the same
 * rows grouped by that column, whose levels are the model's groups. */
static int prepare_view(const cx_job *job, const sem_spec *s, sem_data *d, cx_error *err)
{
    if (job->missing_fiml)
        return cx_job_error(job, "missing", err, CX_EUSAGE,
                            "missing = fiml is not supported yet for cfa/sem/growth");
    d->view = job->view;
    d->n_groups = 1;
    if (!s->group)
        return CX_OK;
    int rc = check_group_column(job, s, err);
    if (rc != CX_OK)
        return rc;
    char *name = (char *)s->group;
    int gcol;
    rc = cx_view_columns(job->view, &name, 1, &gcol, err);
    if (rc != CX_OK)
        return rc;
    d->grouped = *job->view; /* the same rows (and `by` level), grouped */
    rc = cx_view_set_groups(&d->grouped, &gcol, 1, err);
    if (rc != CX_OK)
        return rc;
    d->have_grouped = 1;
    d->group_col = gcol;
    d->view = &d->grouped;
    d->n_groups = d->grouped.n_levels;
    if (d->n_groups < 2)
        return cx_job_error(job, "group", err, CX_EUSAGE,
                            "column '%s' has %zu level(s); a multi-group model needs 2 or more",
                            s->group, d->n_groups);
    return order_by_appearance(d, err);
}

/* Sample moments per group with lavaan's ML convention (divisor N). */
static int load_samples(const cx_job *job, const sem_partable *pt, sem_data *d, cx_error *err)
{
    size_t p = pt->n_ov;
    int *cols = cx_calloc(p, sizeof *cols, err);
    if (!cols)
        return CX_ENOMEM;
    int rc = resolve_columns(job, pt, cols, err);
    if (rc == CX_OK) {
        /* cx_stats_compute fills one moments object per level of the view */
        d->moments = cx_calloc(d->view->n_levels, sizeof *d->moments, err);
        rc = d->moments ? cx_stats_compute(d->view, cols, p, job->weight_col, job->missing,
                                           d->moments, err)
                        : CX_ENOMEM;
    }
    free(cols);
    if (rc != CX_OK)
        return rc;
    d->cov = cx_calloc(d->n_groups * p * p, sizeof *d->cov, err);
    d->samples = cx_calloc(d->n_groups, sizeof *d->samples, err);
    if (!d->cov || !d->samples)
        return CX_ENOMEM;
    for (size_t g = 0; g < d->n_groups; g++) {
        const cx_moments *m = d->moments[d->level_of_group ? d->level_of_group[g] : g];
        double *cov = d->cov + g * p * p;
        cx_moments_covariance(m, 0.0, cov);
        d->samples[g] = (sem_sample){p, cx_moments_n(m), cov, m->mean, NULL};
    }
    return CX_OK;
}

/* ---- fourth moments (mlr) -------------------------------------------- */

/* A second streaming pass (the first gave the means): per group
 * M = (1/N) sum z z', the casewise fourth moments MLR's sandwich and
 * scaled test need (robust.c); the rows are never held. */
static int load_fourth(const cx_job *job, const sem_partable *pt, sem_data *d, cx_error *err)
{
    size_t p = pt->n_ov, ps = sem_pstar(p), G = d->n_groups;
    if (job->weight_col >= 0 || job->missing != CX_MISSING_LISTWISE)
        return cx_job_error(job, "estimator", err, CX_EUSAGE,
                            "estimator mlr is supported for unweighted, listwise-complete data "
                            "only");
    int *cols = cx_calloc(p, sizeof *cols, err);
    size_t ld = cx_view_block_rows(d->view);
    double *block = cx_malloc(sizeof(double) * ld * p, err);
    size_t *levels = cx_malloc(sizeof(size_t) * ld, err);
    double *count = cx_calloc(G, sizeof(double), err);
    sem_fourth_ws ws;
    int ws_rc = sem_fourth_ws_init(&ws, p, err);
    d->fourth = cx_calloc(G * ps * ps, sizeof(double), err);
    int rc = cols && block && levels && count && ws_rc == CX_OK && d->fourth ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK)
        rc = resolve_columns(job, pt, cols, err);
    cx_view_iter it;
    if (rc == CX_OK)
        rc = cx_view_iter_begin(&it, d->view, cols, p, err);
    if (rc == CX_OK) {
        long got;
        while ((got = cx_view_iter_next(&it, block, levels, err)) > 0)
            for (size_t g = 0; g < G; g++)
                sem_fourth_block(&ws, block, ld, got, levels,
                                 d->level_of_group ? d->level_of_group[g] : g, d->samples[g].mean,
                                 d->fourth + g * ps * ps, &count[g]);
        cx_view_iter_end(&it);
        if (got < 0)
            rc = err->code;
    }
    for (size_t g = 0; rc == CX_OK && g < G; g++) {
        double *m = d->fourth + g * ps * ps;
        if (count[g] != d->samples[g].n)
            rc = cx_error_set(err, CX_EFAIL, "group %zu: the second pass saw %.0f rows, not %.0f",
                              g + 1, count[g], d->samples[g].n);
        if (rc == CX_OK)
            sem_fourth_finish(m, ps, count[g]);
        d->samples[g].fourth = m;
    }
    free(cols);
    free(block);
    free(levels);
    free(count);
    sem_fourth_ws_free(&ws);
    return rc;
}

/* ---- results ---------------------------------------------------------- */

/* `estimates`: the contract's columns plus `std_lv` (lavaan's std.lv:
 * latent variables standardized, observed ones not). */
static int write_estimates(cx_result *res, const sem_partable *pt, cx_error *err)
{
    cx_rtable *t = cx_result_estimates_table(res, err);
    if (!t || (cx_rtable_find_column(t, "std_lv") < 0 && t->nrows == 0 &&
               cx_rtable_add_column(t, "std_lv", CX_RCOL_DOUBLE, err)))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t k = 0; k < pt->n_rows; k++) {
        const sem_param *r = &pt->rows[k];
        if (r->op == SEM_OP_EQUAL || r->op == SEM_OP_LESS || r->op == SEM_OP_GREATER)
            continue; /* parameterEstimates() leaves constraints out */
        int is_param = r->op <= SEM_OP_THRESHOLD;
        long long group = is_param && pt->n_groups > 1 ? r->group + 1 : 0;
        /* lavaan reports se = 0 for fixed parameters (exo ones included) */
        double se = is_param && !r->free ? 0.0 : r->se;
        long row = cx_result_add_estimate(res, r->lhs, sem_op_string(r->op), r->rhs, group, r->est,
                                          se, r->std_all, err);
        if (row < 0)
            return err->code;
        cx_rtable_set_double(t, (size_t)row, "std_lv", r->std_lv);
    }
    return CX_OK;
}

static int write_fit(cx_result *res, const sem_fit *fit, cx_error *err)
{
    for (size_t k = 0; k < fit->n_measures; k++)
        if (cx_result_add_fit(res, fit->measures[k].name, fit->measures[k].value, err) != CX_OK)
            return err->code;
    return CX_OK;
}

static int write_r2(cx_result *res, const sem_fit *fit, size_t n_groups, cx_error *err)
{
    cx_rtable *t = cx_result_table(res, "r2", err);
    if (!t || cx_rtable_add_column(t, "variable", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "group", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "r2", CX_RCOL_DOUBLE, err))
        return err->code;
    for (size_t k = 0; k < fit->n_r2; k++) {
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "variable", fit->r2_names[k], err))
            return err->code;
        cx_rtable_set_int(t, (size_t)row, "group", n_groups > 1 ? fit->r2_group[k] + 1 : 0);
        cx_rtable_set_double(t, (size_t)row, "r2", fit->r2[k]);
    }
    return CX_OK;
}

static int write_modindices(cx_result *res, const sem_fit *fit, size_t n_groups, cx_error *err)
{
    static const char *const num[] = {"mi", "epc", "sepc_lv", "sepc_all"};
    cx_rtable *t = cx_result_table(res, "modindices", err);
    if (!t || cx_rtable_add_column(t, "lhs", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "op", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "rhs", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "group", CX_RCOL_INT, err))
        return err->code;
    for (size_t c = 0; c < 4; c++)
        if (cx_rtable_add_column(t, num[c], CX_RCOL_DOUBLE, err))
            return err->code;
    for (size_t k = 0; k < fit->n_modindices; k++) {
        const sem_modindex *m = &fit->modindices[k];
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "lhs", m->lhs, err) ||
            cx_rtable_set_string(t, (size_t)row, "op", sem_op_string(m->op), err) ||
            cx_rtable_set_string(t, (size_t)row, "rhs", m->rhs, err))
            return err->code;
        cx_rtable_set_int(t, (size_t)row, "group", n_groups > 1 ? m->group + 1 : 0);
        const double v[4] = {m->mi, m->epc, m->sepc_lv, m->sepc_all};
        for (size_t c = 0; c < 4; c++)
            cx_rtable_set_double(t, (size_t)row, num[c], v[c]);
    }
    return CX_OK;
}

/* `groups`: each group number of the other tables with its label. */
static int write_groups(cx_result *res, const sem_data *d, cx_error *err)
{
    cx_rtable *t = cx_result_table(res, "groups", err);
    if (!t || cx_rtable_add_column(t, "group", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "label", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "nobs", CX_RCOL_DOUBLE, err))
        return err->code;
    const cx_column_info *c = cx_table_column(d->view->table, (size_t)d->group_col);
    for (size_t g = 0; g < d->n_groups; g++) {
        double value = d->view->level_values[d->level_of_group[g]];
        char label[64];
        if (c->kind == CX_COL_CATEGORICAL && value >= 0 && value < (double)c->n_categories)
            snprintf(label, sizeof label, "%s", c->categories[(size_t)value]);
        else
            snprintf(label, sizeof label, "%.15g", value);
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "label", label, err))
            return err->code;
        cx_rtable_set_int(t, (size_t)row, "group", (long long)g + 1);
        cx_rtable_set_double(t, (size_t)row, "nobs", d->samples[g].n);
    }
    return CX_OK;
}

static void report_status(cx_result *res, const sem_fit *fit)
{
    /* The estimator's own line says why (it names the largest gradient). */
    const char *why = strstr(fit->warnings, "did not converge");
    if (!fit->converged && !why)
        cx_result_set_status(res, CX_STATUS_NOT_CONVERGED,
                             "the optimizer did not converge after %d iterations", fit->iterations);
    /* one line of fit->warnings each: the non-convergence line becomes the
     * status message, the others (Heywood cases ...) warnings */
    const char *w = fit->warnings;
    while (*w) {
        const char *end = strchr(w, '\n');
        int len = end ? (int)(end - w) : (int)strlen(w);
        int is_why = why && why >= w && why < w + len;
        if (len > 0 && is_why && !fit->converged)
            cx_result_set_status(res, CX_STATUS_NOT_CONVERGED, "%.*s", len, w);
        else if (len > 0)
            cx_result_add_warning(res, "%.*s", len, w);
        w += len + (end ? 1 : 0);
    }
}

/* ---- fit -------------------------------------------------------------- */

static int fit_and_write(const cx_job *job, const sem_spec *s, sem_partable *pt, const sem_data *d,
                         cx_result *res, cx_error *err)
{
    sem_fit *fit = sem_fit_alloc();
    if (!fit)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    sem_fit_options fo = {.estimator = s->estimator,
                          .want_modindices = s->modindices,
                          .level = job->level,
                          .growth = s->opt.kind == SEM_KIND_GROWTH,
                          .max_iter = (int)s->max_iter};
    int rc = sem_estimate(pt, d->samples, &fo, fit, err);
    if (rc == CX_OK) {
        res->nobs = 0;
        for (size_t g = 0; g < d->n_groups; g++)
            res->nobs += d->samples[g].n;
        report_status(res, fit);
        rc = write_estimates(res, pt, err);
    }
    if (rc == CX_OK)
        rc = write_fit(res, fit, err);
    if (rc == CX_OK)
        rc = write_r2(res, fit, pt->n_groups, err);
    if (rc == CX_OK && s->modindices)
        rc = write_modindices(res, fit, pt->n_groups, err);
    if (rc == CX_OK && d->n_groups > 1)
        rc = write_groups(res, d, err);
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(res, "iterations", fit->iterations, err);
    sem_fit_free(fit);
    return rc;
}

/* ---- invariance ------------------------------------------------------ */

typedef struct step_context {
    const cx_job *job;
    const sem_spec *spec;
    const sem_data *data;
} step_context;

/* One step of `invariance`: the job's model with the step's group_equal,
 * fitted to the moments already computed. */
static int fit_step(void *ctx, unsigned group_equal, cx_result *res, cx_error *err)
{
    const step_context *c = ctx;
    sem_spec s = *c->spec; /* shallow: the syntax stays owned by c->spec */
    s.opt.group_equal = group_equal;
    sem_partable *pt = build_partable(c->job, &s, err);
    if (!pt)
        return err->code;
    int rc = fit_and_write(c->job, &s, pt, c->data, res, err);
    sem_partable_free(pt);
    return rc;
}

static int fit_invariance(const cx_job *job, const sem_spec *s, const sem_data *d, cx_result *res,
                          cx_error *err)
{
    step_context ctx = {job, s, d};
    return sem_invariance_run(job, &s->inv, d->n_groups, fit_step, &ctx, res, err);
}

/* ---- the model's entry points ----------------------------------------- */

static int sem_fit_kind(const cx_job *job, sem_kind kind, cx_result **results, cx_error *err)
{
    sem_spec s;
    sem_data d = {0};
    sem_partable *pt = NULL;
    int rc = read_spec(job, kind, &s, err);
    if (rc == CX_OK)
        rc = prepare_view(job, &s, &d, err);
    if (rc == CX_OK) {
        s.opt.n_groups = d.n_groups;
        if (s.inv.n_steps)
            s.opt.group_equal = s.inv.group_equal[0];
        pt = build_partable(job, &s, err);
        rc = pt ? CX_OK : err->code;
    }
    if (rc == CX_OK)
        rc = load_samples(job, pt, &d, err);
    if (rc == CX_OK && s.estimator == SEM_MLR)
        rc = load_fourth(job, pt, &d, err);
    /* the moments are computed once; every invariance step reuses them */
    if (rc == CX_OK)
        rc = s.inv.n_steps ? fit_invariance(job, &s, &d, results[0], err)
                           : fit_and_write(job, &s, pt, &d, results[0], err);
    data_clear(&d);
    sem_partable_free(pt);
    spec_clear(&s);
    return rc;
}

static int cfa_check(const cx_job *job, cx_error *err)
{
    return sem_check_kind(job, SEM_KIND_CFA, err);
}
static int sem_check(const cx_job *job, cx_error *err)
{
    return sem_check_kind(job, SEM_KIND_SEM, err);
}
static int growth_check(const cx_job *job, cx_error *err)
{
    return sem_check_kind(job, SEM_KIND_GROWTH, err);
}
static int cfa_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    return sem_fit_kind(job, SEM_KIND_CFA, results, err);
}
static int sem_fit_job(const cx_job *job, cx_result **results, cx_error *err)
{
    return sem_fit_kind(job, SEM_KIND_SEM, results, err);
}
static int growth_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    return sem_fit_kind(job, SEM_KIND_GROWTH, results, err);
}

const cx_model cx_model_cfa = {
    "cfa", "confirmatory factor analysis (lavaan's cfa())", sem_keys, 0, cfa_check, cfa_fit};
const cx_model cx_model_sem = {
    "sem", "structural equation model (lavaan's sem())", sem_keys, 0, sem_check, sem_fit_job};
const cx_model cx_model_growth = {"growth",     "latent growth curve model (lavaan's growth())",
                                  sem_keys,     0,
                                  growth_check, growth_fit};
