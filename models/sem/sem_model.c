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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/model.h"
#include "estimate.h"
#include <omp.h>

#include "../../engine/dist.h"
#include "../../engine/progress.h"
#include "bootstrap.h"
#include "validate.h"
#include "invariance.h"
#include "ordinal.h"
#include "partable.h"
#include "sem_data.h"

static const char *const sem_keys[] = {
    "syntax",        "estimator",        "ordered", "std_lv", "group",      "group_equal",
    "meanstructure", "modindices",       "items",   "shape",  "invariance", "max_iter",
    "weights_are",   "parameterization", NULL};

static const char *const estimator_names[] = {"ml", "mlr", "wlsmv", NULL};

/* Everything the keys say, before any data is read. */
typedef struct sem_spec {
    char *syntax; /* owned: the key's value or the growth syntax */
    sem_options opt;
    sem_estimator estimator;
    const char *group; /* column name or NULL */
    int modindices;
    long max_iter;       /* lavaan's control = list(iter.max = ...); 0 = default */
    sem_invariance inv;  /* `invariance` steps; n_steps 0 without the key */
    const char *ordered; /* `ordered` (ordinal.c) or NULL */
    int theta;           /* parameterization = theta (ordered items)       */
    sem_weights weights; /* `weights` and `weights_are`                     */
} sem_spec;

/* Sampling weights get lavaan's sampling.weights inference: robust
 * (Huber-White) SEs and the Yuan-Bentler-Mplus test, whatever the
 * estimator, as MLR. */
static sem_estimator effective_estimator(const sem_spec *s)
{
    return s->weights == SEM_WEIGHTS_SAMPLING ? SEM_MLR : s->estimator;
}

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

/* Keys the WLSMV fit of ordinal items cannot honour (yet), refused with
 * the key named. */
static int read_ordinal_options(const cx_job *job, int est, cx_error *err)
{
    static const char *const refused[] = {"modindices", "bootstrap", "validate", NULL};
    if (cx_section_get(job->section, "estimator") && est != SEM_WLSMV)
        return cx_job_error(job, "estimator", err, CX_EUSAGE,
                            "ordered items are fitted by estimator wlsmv only");
    for (size_t k = 0; refused[k]; k++)
        if (cx_section_get(job->section, refused[k]))
            return cx_job_error(job, refused[k], err, CX_EUSAGE,
                                "`%s` is not supported with ordered items yet", refused[k]);
    /* sampling weights: lavaan's sampling.weights with WLSMV (ordinal.c);
     * lavaan has no frequency weights to check repeated rows against */
    const char *wa = cx_section_get(job->section, "weights_are");
    if (job->weight_col >= 0 && wa && strcmp(wa, "sampling") != 0)
        return cx_job_error(job, "weights_are", err, CX_EUSAGE,
                            "ordered items take sampling weights only (weights_are = sampling, "
                            "lavaan's sampling.weights); frequency weights are not supported "
                            "with them");
    /* the scaled difference tests of weighted WLSMV fits have no reference yet */
    if (job->weight_col >= 0 && cx_section_get(job->section, "invariance"))
        return cx_job_error(job, "invariance", err, CX_EUSAGE,
                            "invariance with sampling weights is not supported with ordered "
                            "items yet");
    if (job->missing != CX_MISSING_LISTWISE || job->missing_fiml)
        return cx_job_error(job, "missing", err, CX_EUSAGE,
                            "ordered items are fitted to listwise-complete rows only (lavaan's "
                            "default); missing = pairwise or fiml is not supported with them");
    if (job->bootstrap > 0)
        return cx_job_error(job, "bootstrap", err, CX_EUSAGE,
                            "`bootstrap` is not supported with ordered items yet");
    if (job->validate != CX_VALIDATE_NONE)
        return cx_job_error(job, "validate", err, CX_EUSAGE,
                            "`validate` is not supported with ordered items yet");
    const char *ms = cx_section_get(job->section, "meanstructure");
    if (ms && (strcmp(ms, "no") == 0 || strcmp(ms, "false") == 0))
        return cx_job_error(job, "meanstructure", err, CX_EUSAGE,
                            "models of ordered items always have a mean structure (thresholds)");
    return CX_OK;
}

/* `weights_are` = sampling (default: lavaan's sampling.weights) |
 * frequency (each row stands for w identical rows: model-based SEs). */
static int read_weights(const cx_job *job, sem_spec *s, cx_error *err)
{
    static const char *const kinds[] = {"sampling", "frequency", NULL};
    int kind = 0;
    s->weights = SEM_WEIGHTS_NONE;
    /* the fourth moments and sizes are listwise; lavaan has no weighted
     * pairwise covariances either */
    if (job->weight_col >= 0 && job->missing == CX_MISSING_PAIRWISE)
        return cx_job_error(job, "weights", err, CX_EUSAGE,
                            "weights with missing = pairwise are not supported (use listwise)");
    if (!cx_section_get(job->section, "weights_are"))
        return job->weight_col >= 0 ? (s->weights = SEM_WEIGHTS_SAMPLING, CX_OK) : CX_OK;
    int rc = cx_section_get_choice(job->config, job->section, "weights_are", kinds, &kind, err);
    if (rc != CX_OK)
        return rc;
    if (job->weight_col < 0)
        return cx_job_error(job, "weights_are", err, CX_EUSAGE,
                            "weights_are needs `weights` (the column of weights)");
    s->weights = kind == 0 ? SEM_WEIGHTS_SAMPLING : SEM_WEIGHTS_FREQUENCY;
    return CX_OK;
}

/* missing = fiml (fiml.c): lavaan's missing = "ml" implies a
 * meanstructure; what it is not designed with yet is refused by key. */
static int sem_fiml_check(const cx_job *job, sem_spec *s, cx_error *err)
{
    if (s->opt.meanstructure == 0)
        return cx_job_error(job, "meanstructure", err, CX_EUSAGE,
                            "missing = fiml always has a meanstructure (as lavaan's missing = "
                            "\"ml\"); remove 'meanstructure = no'");
    s->opt.meanstructure = 1;
    static const char *const refused[] = {"weights"};
    for (size_t k = 0; k < sizeof refused / sizeof *refused; k++)
        if (cx_section_get(job->section, refused[k]))
            return cx_job_error(job, refused[k], err, CX_EUSAGE,
                                "'%s' with missing = fiml is not supported yet", refused[k]);
    return CX_OK;
}

/* `parameterization` = delta (default) | theta: lavaan's, ordered items only. */
static int read_parameterization(const cx_job *job, sem_spec *s, cx_error *err)
{
    static const char *const names[] = {"delta", "theta", NULL};
    int which = 0;
    if (!cx_section_get(job->section, "parameterization"))
        return CX_OK;
    if (!s->ordered)
        return cx_job_error(job, "parameterization", err, CX_EUSAGE,
                            "parameterization (delta | theta) applies to ordered items only");
    int rc =
        cx_section_get_choice(job->config, job->section, "parameterization", names, &which, err);
    s->theta = which == 1;
    return rc;
}

static int read_options(const cx_job *job, sem_spec *s, cx_error *err)
{
    int est = 0, std_lv = 0, mean = -1, mi = 0;
    int rc =
        cx_section_get_choice(job->config, job->section, "estimator", estimator_names, &est, err);
    s->ordered = cx_section_get(job->section, "ordered");
    if (rc == CX_OK && s->ordered) {
        rc = read_ordinal_options(job, est, err);
        est = SEM_WLSMV; /* lavaan's default for ordered items */
    } else if (rc == CX_OK && est == SEM_WLSMV) {
        rc = cx_job_error(job, "estimator", err, CX_EUSAGE,
                          "estimator wlsmv needs ordinal items: list them in `ordered`");
    }
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
    /* ordered items: lavaan's group.equal and invariance steps for them
     * (ordinal.c, invariance.c) */
    if (rc == CX_OK)
        rc = read_parameterization(job, s, err);
    if (rc == CX_OK && s->ordered)
        rc = sem_ordinal_group_equal(job, &s->opt.group_equal, s->theta, err);
    if (rc == CX_OK && s->ordered)
        rc = sem_invariance_ordinal(job, &s->inv, s->theta, err);
    /* an invariance job writes one table set per step; replicates and
     * splits of every step are not designed yet */
    if (rc == CX_OK && s->inv.n_steps && job->bootstrap > 0)
        rc = cx_job_error(job, "bootstrap", err, CX_EUSAGE,
                          "bootstrap with invariance is not supported yet");
    if (rc == CX_OK && s->inv.n_steps && job->validate != CX_VALIDATE_NONE)
        rc = cx_job_error(job, "validate", err, CX_EUSAGE,
                          "validate with invariance is not supported yet");
    if (rc == CX_OK)
        rc = read_weights(job, s, err);
    /* invariance with estimator mlr or sampling weights: scaled
     * (Satorra-Bentler 2001) difference tests, invariance.c */
    if (rc == CX_OK && job->missing_fiml)
        rc = sem_fiml_check(job, s, err);
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

/* Robust inference (estimator mlr, sampling weights) with missing = fiml
 * has no fixed.x covariates yet (estimate.c, check_mlr): refused by
 * `check`, naming the key that asked for it, rather than failing the fit. */
static int check_robust_exo(const cx_job *job, const sem_spec *s, const sem_partable *pt,
                            cx_error *err)
{
    if (effective_estimator(s) != SEM_MLR || !job->missing_fiml)
        return CX_OK;
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (!row->exo || row->free > 0 ||
            (row->op != SEM_OP_COVARIANCE && row->op != SEM_OP_INTERCEPT))
            continue;
        if (s->estimator == SEM_MLR)
            return cx_job_error(job, "estimator", err, CX_EUSAGE,
                                "estimator mlr with observed exogenous covariates ('%s') and "
                                "missing = fiml is not supported yet",
                                row->lhs);
        return cx_job_error(job, "weights_are", err, CX_EUSAGE,
                            "sampling weights (robust SEs) with observed exogenous covariates "
                            "('%s') and missing = fiml are not supported yet",
                            row->lhs);
    }
    return CX_OK;
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
    if (rc == CX_OK && s.ordered)
        rc = sem_ordinal_check(job, pt, s.ordered, err);
    free(cols);
    if (rc == CX_OK)
        rc = check_robust_exo(job, &s, pt, err);
    sem_partable_free(pt);
    spec_clear(&s);
    return rc;
}

/* Ordinal items: their own passes and estimator (ordinal.c). */
typedef struct ordinal_ctx {
    const cx_job *job;
    sem_spec *spec;
} ordinal_ctx;

static sem_partable *ordinal_partable(void *vctx, size_t n_groups, unsigned group_equal,
                                      cx_error *err)
{
    ordinal_ctx *c = vctx;
    c->spec->opt.meanstructure = 0; /* thresholds are added by the ordinal fit */
    c->spec->opt.n_groups = n_groups;
    c->spec->opt.group_equal = group_equal;
    return build_partable(c->job, c->spec, err);
}

static int fit_ordinal(const cx_job *job, sem_spec *s, cx_result **results, cx_error *err)
{
    ordinal_ctx ctx = {job, s};
    sem_ordinal_spec os = {s->ordered, s->group,         s->opt.group_equal, &s->inv,
                           s->theta,   (int)s->max_iter, ordinal_partable,   &ctx};
    return sem_ordinal_fit(job, &os, results, err);
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
static int write_groups(cx_result *res, const sem_data *d, const sem_level *v, cx_error *err)
{
    double *nobs = cx_calloc(v->n_groups, sizeof *nobs, err);
    if (!nobs)
        return err->code;
    /* lavaan's nobs: rows, also when sampling weights make N_g their sum */
    for (size_t g = 0; g < v->n_groups; g++)
        nobs[g] =
            d->weights == SEM_WEIGHTS_SAMPLING ? cx_moments_n(v->moments[g]) : v->samples[g].n;
    int rc = sem_data_write_groups(res, d, v->n_groups, v->label, nobs, err);
    free(nobs);
    return rc;
}

/* `coverage` (missing = fiml): lavInspect(fit, "coverage"), the share of
 * rows observing both variables, lower triangle with the diagonal. */
static int write_coverage(cx_result *res, const sem_partable *pt, const sem_level *v, cx_error *err)
{
    cx_rtable *t = cx_result_table(res, "coverage", err);
    if (!t || cx_rtable_add_column(t, "lhs", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "rhs", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "group", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "coverage", CX_RCOL_DOUBLE, err))
        return err->code;
    size_t p = pt->n_ov;
    for (size_t g = 0; g < v->n_groups; g++)
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j <= i; j++) {
                long row = cx_rtable_add_row(t, err);
                if (row < 0 || cx_rtable_set_string(t, (size_t)row, "lhs", pt->ov_names[i], err) ||
                    cx_rtable_set_string(t, (size_t)row, "rhs", pt->ov_names[j], err))
                    return err->code;
                cx_rtable_set_int(t, (size_t)row, "group", v->n_groups > 1 ? (long long)g + 1 : 0);
                cx_rtable_set_double(t, (size_t)row, "coverage",
                                     v->patterns[g]->coverage[i * p + j]);
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
                         const sem_level *v, cx_result *res, cx_error *err)
{
    sem_fit *fit = sem_fit_alloc();
    if (!fit)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    sem_fit_options fo = {.estimator = effective_estimator(s),
                          .want_modindices = s->modindices,
                          .level = job->level,
                          .growth = s->opt.kind == SEM_KIND_GROWTH,
                          .max_iter = (int)s->max_iter};
    int rc = sem_estimate(pt, v->samples, &fo, fit, err);
    if (rc == CX_OK) {
        res->nobs = 0;
        for (size_t g = 0; g < v->n_groups; g++)
            res->nobs += v->samples[g].n;
        report_status(res, fit);
        rc = write_estimates(res, pt, err);
    }
    if (rc == CX_OK)
        rc = write_fit(res, fit, err);
    if (rc == CX_OK)
        rc = write_r2(res, fit, pt->n_groups, err);
    if (rc == CX_OK && s->modindices)
        rc = write_modindices(res, fit, pt->n_groups, err);
    if (rc == CX_OK && v->n_groups > 1 && d->group_col >= 0)
        rc = write_groups(res, d, v, err);
    if (rc == CX_OK && v->patterns)
        rc = write_coverage(res, pt, v, err);
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(res, "iterations", fit->iterations, err);
    /* what the weights made of the inference (cxfit show, report) */
    if (rc == CX_OK && s->weights != SEM_WEIGHTS_NONE)
        rc = cx_result_set_attr_string(
            res, "weights_are", s->weights == SEM_WEIGHTS_SAMPLING ? "sampling" : "frequency", err);
    if (rc == CX_OK && s->weights == SEM_WEIGHTS_SAMPLING)
        rc = cx_result_set_attr_string(res, "se", "robust.huber.white", err);
    sem_fit_free(fit);
    return rc;
}

/* ---- invariance ------------------------------------------------------ */

typedef struct step_context {
    const cx_job *job;
    const sem_spec *spec;
    const sem_data *data;
    const sem_level *level;
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
    int rc = fit_and_write(c->job, &s, pt, c->data, c->level, res, err);
    sem_partable_free(pt);
    return rc;
}

static int fit_invariance(const cx_job *job, const sem_spec *s, const sem_data *d,
                          const sem_level *v, cx_result *res, cx_error *err)
{
    step_context ctx = {job, s, d, v};
    return sem_invariance_run(job, &s->inv, v->n_groups, fit_step, &ctx, res, err);
}

/* ---- the model's entry points ----------------------------------------- */

/* A job's fits share the spec and the statistics of one pass; each task
 * (a `by` level's fit, a bootstrap replicate, a validation split) writes
 * only its own slots, so tasks run on any thread in any order. */
typedef struct job_fits {
    const cx_job *job;
    const sem_spec *spec;
    sem_data *data;
    cx_result **results;
    int *level_rc; /* per level: CX_OK or the error    */
    char (*level_msg)[CX_ERROR_MSG_MAX];
    sem_boot *boot;        /* NULL without `bootstrap`         */
    sem_validation *valid; /* NULL without `validate`          */
} job_fits;

/* The spec of level v's model: its number of groups, and invariance's
 * first step. */
static sem_spec level_spec(const sem_spec *spec, const sem_level *v)
{
    sem_spec s = *spec; /* shallow: the syntax stays owned by spec */
    s.opt.n_groups = v->n_groups ? v->n_groups : 1;
    if (s.inv.n_steps)
        s.opt.group_equal = s.inv.group_equal[0];
    return s;
}

/* Can level v be fitted at all?  (A multi-group model needs 2 groups.) */
static int level_usable(const job_fits *jf, const sem_level *v, cx_error *err)
{
    if (jf->spec->group && v->n_groups < 2)
        return cx_job_error(jf->job, "group", err, CX_EUSAGE,
                            "column '%s' has %zu level(s); a multi-group model needs 2 or more",
                            jf->spec->group, v->n_groups);
    return CX_OK;
}

static int fit_level(const job_fits *jf, size_t l, cx_error *err)
{
    const sem_level *v = &jf->data->levels[l];
    int rc = level_usable(jf, v, err);
    if (rc != CX_OK)
        return rc;
    sem_spec s = level_spec(jf->spec, v);
    if (s.inv.n_steps)
        return fit_invariance(jf->job, &s, jf->data, v, jf->results[l], err);
    sem_partable *pt = build_partable(jf->job, &s, err);
    if (!pt)
        return err->code;
    rc = fit_and_write(jf->job, &s, pt, jf->data, v, jf->results[l], err);
    sem_partable_free(pt);
    return rc;
}

#define SEM_AUX_MAX_ITER 1000

/* Fit level l's model to other samples (a replicate, a training set):
 * ML estimates only.  The caller frees *pt_out. */
static int fit_samples(const job_fits *jf, size_t l, const sem_sample *samples, int estimates_only,
                       sem_fit *fit, sem_partable **pt_out, cx_error *err)
{
    const sem_level *v = &jf->data->levels[l];
    *pt_out = NULL;
    int rc = level_usable(jf, v, err);
    if (rc != CX_OK)
        return rc;
    sem_spec s = level_spec(jf->spec, v);
    sem_partable *pt = build_partable(jf->job, &s, err);
    if (!pt)
        return err->code;
    /* a replicate or training fit that needs more than SEM_AUX_MAX_ITER
     * iterations (or the job's max_iter) counts as failed: a fit that
     * wanders (a Heywood case in a small replicate) must not cost as
     * much as hundreds of good ones */
    sem_fit_options fo = {.estimator = SEM_ML,
                          .level = jf->job->level,
                          .growth = s.opt.kind == SEM_KIND_GROWTH,
                          .max_iter =
                              jf->spec->max_iter ? (int)jf->spec->max_iter : SEM_AUX_MAX_ITER,
                          .estimates_only = estimates_only};
    rc = sem_estimate(pt, samples, &fo, fit, err);
    *pt_out = pt;
    return rc;
}

/* missing = fiml: replicate r of level l from its missing patterns. */
static void fit_replicate_fiml(const job_fits *jf, size_t l, size_t r)
{
    size_t G = jf->data->levels[l].n_groups ? jf->data->levels[l].n_groups : 1;
    sem_sample *samples = calloc(G, sizeof *samples);
    sem_patterns **owned = calloc(G, sizeof *owned);
    sem_fit *fit = sem_fit_alloc();
    sem_partable *pt = NULL;
    cx_error err = {0};
    int rc = samples && owned && fit ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK)
        rc = sem_data_replicate_fiml(jf->data, l, r, samples, owned, &err);
    if (rc == CX_OK)
        rc = fit_samples(jf, l, samples, 1, fit, &pt, &err);
    sem_boot_store(jf->boot, l, r, rc == CX_OK && fit->converged ? pt : NULL);
    sem_partable_free(pt);
    sem_fit_free(fit);
    for (size_t g = 0; owned && g < G; g++)
        sem_patterns_free(owned[g]);
    free(owned);
    free(samples);
}

/* Bootstrap replicate r of level l: its estimates, or a failure. */
static void fit_replicate(const job_fits *jf, size_t l, size_t r)
{
    if (jf->job->missing_fiml) {
        fit_replicate_fiml(jf, l, r);
        return;
    }
    const sem_level *v = &jf->data->levels[l];
    size_t G = v->n_groups ? v->n_groups : 1, p = jf->data->p;
    sem_sample *samples = calloc(G, sizeof *samples);
    cx_moments **owned = calloc(G, sizeof *owned);
    double *cov = calloc(G * p * p + 1, sizeof *cov);
    sem_fit *fit = sem_fit_alloc();
    sem_partable *pt = NULL;
    cx_error err = {0};
    int rc = samples && owned && cov && fit ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK)
        rc = sem_data_replicate(jf->data, l, r, samples, owned, cov, &err);
    if (rc == CX_OK)
        rc = fit_samples(jf, l, samples, 1, fit, &pt, &err);
    sem_boot_store(jf->boot, l, r, rc == CX_OK && fit->converged ? pt : NULL);
    sem_partable_free(pt);
    sem_fit_free(fit);
    sem_owned_free(owned, G);
    free(owned);
    free(samples);
    free(cov);
}

/* Split k of level l, its training samples[0..G) and held-out
 * samples[G..2G) ready (rc CX_OK): fit the training rows, score the
 * held-out ones; any failure is the split's row of the validation table. */
static void train_and_score(const job_fits *jf, size_t l, size_t k, int rc, sem_sample *samples,
                            size_t G, sem_fit *fit, sem_partable **pt, cx_error *err)
{
    if (rc == CX_OK)
        rc = fit_samples(jf, l, samples, 0, fit, pt, err);
    if (rc == CX_OK && !fit->converged)
        rc = cx_error_set(err, CX_EFAIL, "the training fit did not converge");
    if (rc == CX_OK)
        rc = sem_validation_score(jf->valid, l, k, *pt, fit, samples, samples + G, err);
    if (rc != CX_OK)
        sem_validation_fail(jf->valid, l, k, err->msg);
}

/* missing = fiml: split k of level l from the splits' missing patterns. */
static void fit_split_fiml(const job_fits *jf, size_t l, size_t k)
{
    size_t G = jf->data->levels[l].n_groups ? jf->data->levels[l].n_groups : 1;
    sem_sample *samples = calloc(2 * G, sizeof *samples);
    sem_patterns **owned = calloc(2 * G, sizeof *owned);
    sem_fit *fit = sem_fit_alloc();
    sem_partable *pt = NULL;
    cx_error err = {0};
    int rc = samples && owned && fit ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK)
        rc = sem_data_split_fiml(jf->data, l, k, 0, samples, owned, &err);
    if (rc == CX_OK)
        rc = sem_data_split_fiml(jf->data, l, k, 1, samples + G, owned + G, &err);
    train_and_score(jf, l, k, rc, samples, G, fit, &pt, &err);
    sem_partable_free(pt);
    sem_fit_free(fit);
    for (size_t g = 0; owned && g < 2 * G; g++)
        sem_patterns_free(owned[g]);
    free(owned);
    free(samples);
}

/* Validation split k of level l: fit the training rows, score the
 * held-out ones. */
static void fit_split(const job_fits *jf, size_t l, size_t k)
{
    if (jf->job->missing_fiml) {
        fit_split_fiml(jf, l, k);
        return;
    }
    const sem_level *v = &jf->data->levels[l];
    size_t G = v->n_groups ? v->n_groups : 1, p = jf->data->p;
    sem_sample *samples = calloc(2 * G, sizeof *samples);
    cx_moments **owned = calloc(2 * G, sizeof *owned);
    double *cov = calloc(2 * G * p * p + 1, sizeof *cov);
    sem_fit *fit = sem_fit_alloc();
    sem_partable *pt = NULL;
    cx_error err = {0};
    int rc = samples && owned && cov && fit ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK)
        rc = sem_data_split(jf->data, l, k, 0, samples, owned, cov, &err);
    if (rc == CX_OK)
        rc = sem_data_split(jf->data, l, k, 1, samples + G, owned + G, cov + G * p * p, &err);
    train_and_score(jf, l, k, rc, samples, G, fit, &pt, &err);
    sem_partable_free(pt);
    sem_fit_free(fit);
    sem_owned_free(owned, 2 * G);
    free(owned);
    free(samples);
    free(cov);
}

/* MPI (engine/dist.h): task t's result as bytes.  A level's fit: its
 * status code and message, then its whole result; a replicate: its
 * estimates; a split: its scores. */
#define TASK_HEAD (8 + (CX_ERROR_MSG_MAX + 7) / 8 * 8)

static size_t task_pack(void *ctx, size_t t, void *vbuf)
{
    const job_fits *jf = ctx;
    size_t B = (size_t)jf->data->n_replicates, per = 1 + B + jf->data->n_splits;
    size_t l = t / per, j = t % per;
    unsigned char *buf = vbuf;
    if (j > 0)
        return j <= B ? sem_boot_pack(jf->boot, l, j - 1, buf)
                      : sem_validation_pack(jf->valid, l, j - 1 - B, buf);
    if (buf) {
        int64_t code = jf->level_rc[l];
        memcpy(buf, &code, sizeof code);
        memcpy(buf + 8, jf->level_msg[l], CX_ERROR_MSG_MAX);
    }
    return TASK_HEAD + cx_result_pack(jf->results[l], buf ? buf + TASK_HEAD : NULL);
}

static int task_unpack(void *ctx, size_t t, const void *vbuf, size_t size, cx_error *err)
{
    job_fits *jf = ctx;
    size_t B = (size_t)jf->data->n_replicates, per = 1 + B + jf->data->n_splits;
    size_t l = t / per, j = t % per;
    const unsigned char *buf = vbuf;
    if (j > 0)
        return j <= B ? sem_boot_unpack(jf->boot, l, j - 1, buf, size, err)
                      : sem_validation_unpack(jf->valid, l, j - 1 - B, buf, size, err);
    if (size < TASK_HEAD)
        return cx_error_set(err, CX_EFAIL, "a packed level fit is too short");
    int64_t code;
    memcpy(&code, buf, sizeof code);
    jf->level_rc[l] = (int)code;
    memcpy(jf->level_msg[l], buf + 8, CX_ERROR_MSG_MAX);
    jf->level_msg[l][CX_ERROR_MSG_MAX - 1] = '\0';
    return cx_result_unpack(jf->results[l], buf + TASK_HEAD, size - TASK_HEAD, err);
}

/* Every task of the job over the job's threads: task t is level t / per,
 * and within it the main fit, the replicates, then the splits.  In an MPI
 * row-split job the tasks are dealt to the ranks and their results
 * gathered (dist.h), so every rank ends with every task's result. */
static int run_tasks(job_fits *jf, cx_error *err)
{
    const sem_data *d = jf->data;
    size_t B = (size_t)d->n_replicates, S = d->n_splits, per = 1 + B + S;
    size_t n_tasks = d->n_levels * per;
    int rank, ranks = cx_dist_deal_begin(&rank);
    size_t mine = (n_tasks + (size_t)(ranks - 1 - rank)) / (size_t)ranks;
    int threads = jf->job->threads > 0 ? jf->job->threads : omp_get_max_threads();
    if ((size_t)threads > mine)
        threads = mine ? (int)mine : 1;
    cx_progress bar;
    cx_progress_begin(&bar, jf->job->progress, jf->job->name, "fits", mine);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (size_t t = (size_t)rank; t < n_tasks; t += (size_t)ranks) {
        size_t l = t / per, j = t % per;
        if (j == 0) {
            cx_error e = {0};
            jf->level_rc[l] = fit_level(jf, l, &e);
            if (jf->level_rc[l] != CX_OK)
                snprintf(jf->level_msg[l], CX_ERROR_MSG_MAX, "%s", e.msg);
        } else if (j <= B) {
            fit_replicate(jf, l, j - 1);
        } else {
            fit_split(jf, l, j - 1 - B);
        }
        cx_progress_tick(&bar);
    }
    cx_progress_end(&bar);
    cx_task_ops ops = {task_pack, task_unpack, jf};
    return cx_dist_deal_end(n_tasks, &ops, CX_OK, err);
}

/* After the tasks: bootstrap SEs and CIs, validation tables; a level
 * that failed says why in its own result. */
static int finish_levels(job_fits *jf, cx_error *err)
{
    const sem_data *d = jf->data;
    for (size_t l = 0; l < d->n_levels; l++) {
        if (jf->level_rc[l] != CX_OK) {
            if (d->n_levels == 1) /* no `by`: the job fails, as it always did */
                return cx_error_set(err, jf->level_rc[l], "%s", jf->level_msg[l]);
            cx_result_set_status(jf->results[l], CX_STATUS_FAILED, "%s", jf->level_msg[l]);
            continue;
        }
        int rc = CX_OK;
        if (jf->boot)
            rc = sem_boot_write(jf->boot, l, jf->results[l], err);
        if (rc == CX_OK && jf->valid)
            rc = sem_validation_write(jf->valid, l, jf->results[l], err);
        if (rc != CX_OK)
            return rc;
    }
    return CX_OK;
}

/* The partable for the columns: the first level's number of groups. */
/* The fixed.x covariates among the observed variables (p flags): with
 * missing = fiml, lavaan deletes the rows where one is missing. */
static int exo_flags(const sem_partable *pt, unsigned char **flags, cx_error *err)
{
    *flags = cx_calloc(pt->n_ov + 1, 1, err);
    if (!*flags)
        return CX_ENOMEM;
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (!(row->exo && row->free <= 0 && row->op == SEM_OP_COVARIANCE))
            continue;
        for (size_t i = 0; i < pt->n_ov; i++)
            if (strcmp(pt->ov_names[i], row->lhs) == 0)
                (*flags)[i] = 1;
    }
    return CX_OK;
}

static int job_columns(const cx_job *job, const sem_spec *spec, const sem_data *d, int **cols,
                       size_t *p, unsigned char **exo, cx_error *err)
{
    sem_spec s = *spec;
    s.opt.n_groups = 1;
    for (size_t l = 0; l < d->n_levels; l++)
        if (d->levels[l].n_groups >= 2) {
            s.opt.n_groups = d->levels[l].n_groups;
            break;
        }
    if (s.inv.n_steps)
        s.opt.group_equal = s.inv.group_equal[0];
    sem_partable *pt = build_partable(job, &s, err);
    if (!pt)
        return err->code;
    *p = pt->n_ov;
    *cols = cx_calloc(pt->n_ov ? pt->n_ov : 1, sizeof **cols, err);
    int rc = *cols ? resolve_columns(job, pt, *cols, err) : CX_ENOMEM;
    if (rc == CX_OK)
        rc = exo_flags(pt, exo, err);
    sem_partable_free(pt);
    return rc;
}

static int group_column(const cx_job *job, const sem_spec *s, int *gcol, cx_error *err)
{
    *gcol = -1;
    if (!s->group)
        return CX_OK;
    int rc = check_group_column(job, s, err);
    char *name = (char *)s->group;
    return rc == CX_OK ? cx_view_columns(job->view, &name, 1, gcol, err) : rc;
}

static int sem_fit_kind(const cx_job *job, sem_kind kind, cx_result **results, cx_error *err)
{
    sem_spec s;
    sem_data d = {0};
    int *cols = NULL;
    unsigned char *exo = NULL;
    size_t p = 0;
    int gcol = -1;
    job_fits jf = {job, &s, &d, results, NULL, NULL, NULL, NULL};
    int rc = read_spec(job, kind, &s, err);
    if (rc == CX_OK && s.ordered) {
        rc = fit_ordinal(job, &s, results, err);
        spec_clear(&s);
        return rc;
    }
    if (rc == CX_OK)
        rc = group_column(job, &s, &gcol, err);
    if (rc == CX_OK)
        rc = sem_data_prepare(job, gcol, &d, err);
    if (rc == CX_OK)
        rc = job_columns(job, &s, &d, &cols, &p, &exo, err);
    if (rc == CX_OK && s.estimator == SEM_MLR && job->missing != CX_MISSING_LISTWISE)
        rc = cx_job_error(job, "estimator", err, CX_EUSAGE,
                          "estimator mlr is supported for listwise-complete data only");
    if (rc == CX_OK) {
        sem_data_request rq = {.p = p,
                               .cols = cols,
                               .mlr = effective_estimator(&s) == SEM_MLR,
                               .weights = s.weights,
                               .fiml = job->missing_fiml,
                               .required = exo};
        rc = sem_data_load(job, &rq, &d, err);
    }
    if (rc == CX_OK) {
        jf.level_rc = cx_calloc(d.n_levels, sizeof *jf.level_rc, err);
        jf.level_msg = cx_calloc(d.n_levels, sizeof *jf.level_msg, err);
        rc = jf.level_rc && jf.level_msg ? CX_OK : CX_ENOMEM;
    }
    if (rc == CX_OK && d.n_replicates > 0)
        rc =
            (jf.boot = sem_boot_alloc(d.n_levels, (size_t)d.n_replicates, err)) ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK && d.n_splits > 0)
        rc =
            (jf.valid = sem_validation_alloc(job, d.n_levels, d.n_splits, err)) ? CX_OK : CX_ENOMEM;
    /* the statistics are final: every level, replicate and split fits
     * from them, on every thread */
    if (rc == CX_OK) {
        rc = run_tasks(&jf, err);
        if (rc == CX_OK)
            rc = finish_levels(&jf, err);
    }
    sem_boot_free(jf.boot);
    sem_validation_free(jf.valid);
    free(jf.level_rc);
    free(jf.level_msg);
    free(cols);
    free(exo);
    sem_data_clear(&d);
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

/* What the SEM models honour of the shared keys. */
#define SEM_SUPPORTS                                                                               \
    (CX_SUPPORTS_WEIGHTS | CX_SUPPORTS_BY | CX_SUPPORTS_PAIRWISE | CX_SUPPORTS_BOOTSTRAP |         \
     CX_SUPPORTS_VALIDATE | CX_SUPPORTS_FIML)

const cx_model cx_model_cfa = {.name = "cfa",
                               .summary = "confirmatory factor analysis (lavaan's cfa())",
                               .keys = sem_keys,
                               .fits_all_levels = 1,
                               .supports = SEM_SUPPORTS,
                               .check = cfa_check,
                               .fit = cfa_fit};
const cx_model cx_model_sem = {.name = "sem",
                               .summary = "structural equation model (lavaan's sem())",
                               .keys = sem_keys,
                               .fits_all_levels = 1,
                               .supports = SEM_SUPPORTS,
                               .check = sem_check,
                               .fit = sem_fit_job};
const cx_model cx_model_growth = {.name = "growth",
                                  .summary = "latent growth curve model (lavaan's growth())",
                                  .keys = sem_keys,
                                  .fits_all_levels = 1,
                                  .supports = SEM_SUPPORTS,
                                  .check = growth_check,
                                  .fit = growth_fit};
