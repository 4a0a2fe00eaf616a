/*
 * common.c — keys, design, Newton run, covariance and fit measures
 * shared by logit, mlogit and ologit (common.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <lapacke.h>

#include "bootci.h"
#include "common.h"
#include "resample.h"

void lg_spec_free(logit_spec *s)
{
    cx_formula_free(s->formula);
    cx_scores_free(s->scores);
}

/* `se`: classical | hc0 | hc1 | hc2 | hc3 | cluster(COL). */
static int parse_se(const cx_job *job, logit_spec *s, cx_error *err)
{
    const char *v = cx_section_get(job->section, "se");
    s->se = SE_CLASSICAL;
    if (!v || strcmp(v, "classical") == 0)
        return CX_OK;
    if (strcmp(v, "hc0") == 0) {
        s->se = SE_HC0;
        return CX_OK;
    }
    if (strcmp(v, "hc1") == 0) {
        s->se = SE_HC1;
        return CX_OK;
    }
    if (strcmp(v, "hc2") == 0 || strcmp(v, "hc3") == 0) {
        s->se = v[2] == '2' ? SE_HC2 : SE_HC3;
        return CX_OK;
    }
    size_t len = strlen(v);
    if (strncmp(v, "cluster(", 8) == 0 && len > 9 && v[len - 1] == ')' &&
        len - 9 < sizeof s->cluster) {
        memcpy(s->cluster, v + 8, len - 9);
        s->cluster[len - 9] = '\0';
        if (cx_table_find(job->view->table, s->cluster) < 0)
            return cx_job_error(job, "se", err, CX_EUSAGE, "no column '%s' in the table",
                                s->cluster);
        s->se = SE_CLUSTER;
        return CX_OK;
    }
    return cx_job_error(job, "se", err, CX_EUSAGE,
                        "'%s': expected classical, hc0, hc1, hc2, hc3 (logit only) or "
                        "cluster(COLUMN)",
                        v);
}

int lg_parse_spec(const cx_job *job, logit_spec *s, cx_error *err)
{
    memset(s, 0, sizeof *s);
    const char *f = cx_section_get(job->section, "formula");
    if (!f)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "missing: expected an R formula such as y ~ x1 + factor(x2)");
    cx_error e = {0};
    if (!(s->formula = cx_formula_parse(f, &e)) || cx_formula_require_fixed(s->formula, &e))
        return cx_job_error(job, "formula", err, CX_EUSAGE, "%s", e.msg);
    if (s->formula->needs_panel)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "lag/lead/diff/growth need model = panel");
    const char *sc = cx_section_get(job->section, "scores");
    if (sc && !(s->scores = cx_scores_parse(sc, &e)))
        return cx_job_error(job, "scores", err, CX_EUSAGE, "%s", e.msg);
    if (job->weight_col >= 0)
        s->weights = cx_table_column(job->view->table, (size_t)job->weight_col)->name;
    int rc = parse_se(job, s, err);
    s->boot_extra =
        job->bootstrap > 0 && job->bootstrap_cluster >= 0 ? (s->se == SE_CLUSTER ? 1 : 0) : -1;
    const char *model = cx_section_get(job->section, "model");
    if (rc == CX_OK && model && strcmp(model, "logit") != 0)
        rc = lg_refuse_hat_se(job, s, model, err);
    return rc;
}

cx_design *lg_design_for(const cx_job *job, const logit_spec *s, cx_error *err)
{
    /* extra 0: the se cluster; then the bootstrap_cluster column */
    const char *extra[2] = {s->cluster, NULL};
    size_t ne = s->se == SE_CLUSTER ? 1 : 0;
    if (s->boot_extra >= 0)
        extra[ne++] = cx_table_column(job->view->table, (size_t)job->bootstrap_cluster)->name;
    cx_design_spec ds = {.formula = s->formula,
                         .scores = s->scores,
                         .weights = s->weights,
                         .extra = extra,
                         .n_extra = ne};
    cx_error e = {0};
    cx_design *d = cx_design_alloc(&ds, job->view->table, &e);
    if (!d)
        cx_job_error(job, "formula", err, e.code ? e.code : CX_EUSAGE, "%s", e.msg);
    return d;
}

int lg_refuse_hat_se(const cx_job *job, const logit_spec *s, const char *model, cx_error *err)
{
    if (s->se != SE_HC2 && s->se != SE_HC3)
        return CX_OK;
    return cx_job_error(job, "se", err, CX_EUSAGE,
                        "'%s': %s has no hat values to scale the scores by (sandwich's HC2/HC3 "
                        "are for lm/glm); expected classical, hc0, hc1 or cluster(COLUMN)",
                        s->se == SE_HC2 ? "hc2" : "hc3", model);
}

int lg_check(const cx_job *job, cx_error *err)
{
    logit_spec s;
    int rc = lg_parse_spec(job, &s, err);
    if (rc == CX_OK) {
        cx_design *d = lg_design_for(job, &s, err);
        rc = d ? CX_OK : err->code;
        cx_design_free(d);
    }
    lg_spec_free(&s);
    return rc;
}

/* Inverse of the q x q information in place (Cholesky); CX_EFAIL when
 * it is singular. */
int lg_invert_spd(double *a, size_t q)
{
    if (q == 0)
        return CX_OK;
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)q, a, (lapack_int)q) != 0 ||
        LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)q, a, (lapack_int)q) != 0)
        return CX_EFAIL;
    for (size_t j = 0; j < q; j++)
        for (size_t i = j + 1; i < q; i++)
            a[j * q + i] = a[i * q + j];
    return CX_OK;
}

/* V = B M B (B = the inverse information, both q x q, symmetric). */
void lg_sandwich(const double *B, const double *M, size_t q, double scale, double *V)
{
    double *T = calloc(q ? q * q : 1, sizeof *T);
    if (!T) {
        for (size_t k = 0; k < q * q; k++)
            V[k] = NAN;
        return;
    }
    for (size_t i = 0; i < q; i++)
        for (size_t j = 0; j < q; j++) {
            double s = 0;
            for (size_t k = 0; k < q; k++)
                s += B[i + k * q] * M[k + j * q];
            T[i + j * q] = s;
        }
    for (size_t i = 0; i < q; i++)
        for (size_t j = 0; j < q; j++) {
            double s = 0;
            for (size_t k = 0; k < q; k++)
                s += T[i + k * q] * B[k + j * q];
            V[i + j * q] = scale * s;
        }
    free(T);
}

/* Full symmetric copy of a column-major upper triangle. */
void lg_symmetrize(double *a, size_t q)
{
    for (size_t j = 0; j < q; j++)
        for (size_t i = j + 1; i < q; i++)
            a[j * q + i] = a[i * q + j];
}

/* lhs of every estimate: the outcome's column (or its label). */
const char *lg_outcome_name(const cx_formula *f)
{
    const cx_fvar *v = &f->vars[f->outcome];
    return v->kind == CX_FVAR_EXPR ? v->label : f->names[v->name];
}

int lg_add_fits(cx_result *r, const char *const *names, const double *values, size_t n,
                cx_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (cx_result_add_fit(r, names[i], values[i], err) != CX_OK)
            return err->code ? err->code : CX_ENOMEM;
    return CX_OK;
}

size_t lg_weakest(const double *V, const double *info, size_t d, size_t n)
{
    size_t best = 0;
    double worst = -1;
    for (size_t k = 0; k < n; k++) {
        double infl = V[k * d + k] * info[k * d + k];
        if (!(infl <= worst)) { /* a NaN (singular) counts as the worst */
            worst = infl;
            best = k;
        }
    }
    return best;
}

/* The sandwich meat M (d x d, full) that `se` asks for. */
static void robust_meat(const lg_vcov_parts *in, logit_se se, double *M)
{
    if (se == SE_CLUSTER) {
        lg_clusters_meat(in->clusters, M);
        return;
    }
    memcpy(M, in->meat, in->d * in->d * sizeof *M);
    lg_symmetrize(M, in->d);
}

/* The scale of the sandwich: hc1's n / (n - d), the clusters' G / (G - 1). */
static double robust_scale(const lg_vcov_parts *in, logit_se se)
{
    if (se == SE_CLUSTER) {
        double G = (double)in->clusters->n;
        return G / (G - 1);
    }
    return se == SE_HC1 ? in->n / (in->n - (double)in->d) : 1.0;
}

int lg_covariance(const lg_vcov_parts *in, logit_se se, double *V)
{
    size_t d = in->d, dd = d ? d * d : 1;
    double *B = malloc(dd * sizeof *B);
    if (!B)
        return CX_ENOMEM;
    memcpy(B, in->info, d * d * sizeof *B);
    lg_symmetrize(B, d);
    if (lg_invert_spd(B, d) != CX_OK) {
        free(B);
        return CX_EFAIL;
    }
    int rc = CX_OK;
    if (se == SE_CLASSICAL) {
        memcpy(V, B, d * d * sizeof *V);
    } else {
        double *M = malloc(dd * sizeof *M);
        if (M) {
            robust_meat(in, se, M);
            lg_sandwich(B, M, d, robust_scale(in, se), V);
        } else {
            rc = CX_ENOMEM;
        }
        free(M);
    }
    free(B);
    return rc;
}

int lg_singular_covariance(double *V, size_t d, cx_result *r, const char *why)
{
    for (size_t k = 0; k < d * d; k++)
        V[k] = NAN;
    cx_result_add_warning(r, "%s", why);
    return CX_OK;
}

int lg_maximize(const cx_objective *obj, double sum_w, double *theta, cx_opt_report *rep,
                cx_error *err)
{
    cx_optimizer *opt = cx_optimizer_alloc(obj->n, err);
    if (!opt)
        return err->code;
    /* Newton converges quadratically: after a step below 1e-8 (relative)
     * the estimates are exact to rounding, so that step ends it — taken
     * without a pass (the optimizer's predicted stop): every caller runs
     * its final or prediction pass at the returned point anyway */
    cx_opt_options o = {.gtol = 1e-10 * fmax(1.0, sum_w), .xtol = 1e-8, .predict_stop = 1};
    cx_optimizer_run(opt, obj, theta, &o, rep, err);
    cx_optimizer_free(opt);
    if (rep->status == CX_OPT_EVAL_FAILED)
        return err->code ? err->code : CX_EFAIL;
    return CX_OK;
}

int lg_add_level_fits(cx_result *r, double ll, double sum_w, double npar, const double *count,
                      size_t K, int iterations, cx_error *err)
{
    double ll0 = 0; /* the null model: each level's share */
    for (size_t k = 0; k < K; k++)
        if (count[k] > 0)
            ll0 += count[k] * log(count[k] / sum_w);
    double cox_snell = 1 - exp(2 * (ll0 - ll) / sum_w);
    const char *names[] = {"logl", "deviance", "null_deviance", "aic",           "bic",
                           "npar", "nobs",     "r2_mcfadden",   "r2_nagelkerke", "iterations"};
    double values[] = {ll,
                       -2 * ll,
                       -2 * ll0,
                       -2 * ll + 2 * npar,
                       -2 * ll + log(sum_w) * npar,
                       npar,
                       sum_w, /* multinom, polr and clm count frequency weights */
                       1 - ll / ll0,
                       cox_snell / (1 - exp(2 * ll0 / sum_w)),
                       (double)iterations};
    return lg_add_fits(r, names, values, sizeof values / sizeof values[0], err);
}

int lg_open_job(const cx_job *job, logit_spec *s, cx_design **d, cx_error *err)
{
    *d = NULL;
    int rc = lg_parse_spec(job, s, err);
    if (rc == CX_OK && !(*d = lg_design_for(job, s, err)))
        rc = err->code ? err->code : CX_EUSAGE;
    return rc;
}

int lg_sums_init(lg_newton_sums *s, size_t K, size_t d, int final, int cluster)
{
    memset(s, 0, sizeof *s);
    s->K = K;
    s->d = d;
    s->cluster = final && cluster;
    lg_clusters_init(&s->clusters, d);
    size_t d1 = d ? d : 1;
    s->count = calloc(K, sizeof *s->count);
    s->grad = calloc(d1, sizeof *s->grad);
    s->info = calloc(d1 * d1, sizeof *s->info);
    s->u = calloc(d1, sizeof *s->u);
    if (final)
        s->meat = calloc(d1 * d1, sizeof *s->meat);
    if (!s->count || !s->grad || !s->info || !s->u || (final && !s->meat))
        return CX_ENOMEM;
    return CX_OK;
}

void lg_sums_free(lg_newton_sums *s)
{
    free(s->count);
    free(s->grad);
    free(s->info);
    free(s->meat);
    free(s->u);
    lg_clusters_free(&s->clusters);
}

void lg_sums_reset(lg_newton_sums *s)
{
    s->ll = s->sum_w = s->nobs = 0;
    s->rows = s->hits = s->brier = 0;
    memset(s->count, 0, s->K * sizeof *s->count);
    memset(s->grad, 0, s->d * sizeof *s->grad);
    memset(s->info, 0, s->d * s->d * sizeof *s->info);
    if (s->meat)
        memset(s->meat, 0, s->d * s->d * sizeof *s->meat);
    lg_clusters_reset(&s->clusters);
}

void lg_sums_merge(lg_newton_sums *s, const lg_newton_sums *o)
{
    s->ll += o->ll;
    s->sum_w += o->sum_w;
    s->nobs += o->nobs;
    s->rows += o->rows;
    s->hits += o->hits;
    s->brier += o->brier;
    for (size_t k = 0; k < s->K; k++)
        s->count[k] += o->count[k];
    for (size_t j = 0; j < s->d; j++)
        s->grad[j] += o->grad[j];
    for (size_t j = 0; j < s->d * s->d; j++)
        s->info[j] += o->info[j];
    if (s->meat)
        for (size_t j = 0; j < s->d * s->d; j++)
            s->meat[j] += o->meat[j];
    cx_error err = {0};
    if (s->cluster && lg_clusters_merge(&s->clusters, &o->clusters, &err) != CX_OK)
        s->ll = NAN;
}

void lg_sums_derivatives(const lg_newton_sums *s, double *grad, double *curv)
{
    memcpy(grad, s->grad, s->d * sizeof *grad);
    memcpy(curv, s->info, s->d * s->d * sizeof *curv);
}

/* ---- validation ------------------------------------------------------------ */

void lg_sums_predict(lg_newton_sums *s, const double *prob, size_t y, double w)
{
    size_t best = 0;
    double brier = 0;
    for (size_t k = 0; k < s->K; k++) {
        if (prob[k] > prob[best])
            best = k;
        double e = prob[k] - (k == y);
        brier += e * e;
    }
    s->rows += 1;
    s->hits += best == y ? w : 0;
    s->brier += w * brier;
}

int lg_write_validation(cx_result *r, const char *split, const lg_newton_sums *s, cx_error *err)
{
    const char *names[] = {"n", "logloss", "brier", "accuracy"};
    double values[] = {s->rows, -s->ll / s->sum_w, s->brier / s->sum_w, s->hits / s->sum_w};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (cx_result_add_validation(r, split, names[i], values[i], err) != CX_OK)
            return err->code ? err->code : CX_ENOMEM;
    return CX_OK;
}

int lg_row_used(const cx_rows *r, size_t i, long skip, long only)
{
    if (!r->slot)
        return 1;
    return !((skip >= 0 && r->slot[i] == (size_t)skip) ||
             (only >= 0 && r->slot[i] != (size_t)only));
}

int lg_validate(const cx_rowpass_split *split, lg_refit_fn refit, void *fit, cx_error *err)
{
    if (split->kind == CX_VALIDATE_HOLDOUT)
        return refit(fit, 1, "holdout", err);
    for (size_t k = 0; split->kind == CX_VALIDATE_KFOLD && k < split->k; k++) {
        char name[32];
        snprintf(name, sizeof name, "fold%zu", k + 1);
        int rc = refit(fit, k, name, err);
        if (rc != CX_OK)
            return rc;
    }
    return CX_OK;
}

cx_rowpass_split lg_split_of(const cx_job *job)
{
    return (cx_rowpass_split){.kind = job->validate,
                              .k = job->kfold > 0 ? (size_t)job->kfold : 0,
                              .seed = job->seed,
                              .holdout = job->holdout};
}

/* ---- bootstrap ---------------------------------------------------------------- */

unsigned lg_boot_count(const lg_boot *b, const cx_rows *r, size_t i)
{
    if (b->rep < 0)
        return 1;
    uint64_t key = b->key_extra >= 0 ? cx_value_key(r->extra[(size_t)b->key_extra * r->lde + i])
                                     : (uint64_t)r->row[i];
    return cx_boot_count(b->seed, (uint64_t)b->rep, key);
}

static cx_rtable *boot_table(cx_result *res, cx_error *err)
{
    static const char *const strings[] = {"lhs", "op", "rhs"};
    static const char *const doubles[] = {"est",        "se",         "boot_mean",
                                          "perc_lower", "perc_upper", "norm_lower",
                                          "norm_upper", "bca_lower",  "bca_upper"};
    cx_rtable *t = cx_result_table(res, "bootstrap", err);
    for (size_t i = 0; t && i < 3; i++)
        if (cx_rtable_add_column(t, strings[i], CX_RCOL_STRING, err))
            return NULL;
    for (size_t i = 0; t && i < sizeof doubles / sizeof *doubles; i++)
        if (cx_rtable_add_column(t, doubles[i], CX_RCOL_DOUBLE, err))
            return NULL;
    return t;
}

/* Estimate i from its replicates t[0..m): the `bootstrap` row, and the
 * bootstrap se, z, p-value and percentile CI in `estimates`. */
static int boot_row(cx_rtable *est, size_t i, cx_rtable *bt, double *t, size_t m, double level,
                    cx_error *err)
{
    double t0 = est->cols[cx_rtable_find_column(est, "est")].d[i];
    cx_boot_summary s;
    cx_boot_summarise(t, m, t0, level, &s);
    double z = t0 / s.se;
    cx_rtable_set_double(est, i, "se", s.se);
    cx_rtable_set_double(est, i, "z", z);
    cx_rtable_set_double(est, i, "pvalue", 2 * gsl_cdf_ugaussian_Q(fabs(z)));
    cx_rtable_set_double(est, i, "ci_lower", s.perc[0]);
    cx_rtable_set_double(est, i, "ci_upper", s.perc[1]);
    long row = cx_rtable_add_row(bt, err);
    const char *names[] = {"lhs", "op", "rhs"};
    for (size_t c = 0; row >= 0 && c < 3; c++)
        if (cx_rtable_set_string(bt, (size_t)row, names[c],
                                 est->cols[cx_rtable_find_column(est, names[c])].s[i], err))
            return err->code;
    if (row < 0)
        return err->code ? err->code : CX_ENOMEM;
    const char *dn[] = {"est",        "se",         "boot_mean", "perc_lower", "perc_upper",
                        "norm_lower", "norm_upper", "bca_lower", "bca_upper"};
    const double v[] = {t0,        s.se,      s.mean,   s.perc[0], s.perc[1],
                        s.norm[0], s.norm[1], s.bca[0], s.bca[1]};
    for (size_t c = 0; c < sizeof v / sizeof *v; c++)
        cx_rtable_set_double(bt, (size_t)row, dn[c], v[c]);
    return CX_OK;
}

/* The replicates' summaries; reps: B x n, row r NaN-filled when failed. */
static int boot_write(cx_result *r, const double *reps, const int *ok, size_t B, size_t n,
                      double level, cx_error *err)
{
    size_t good = 0;
    for (size_t b = 0; b < B; b++)
        good += ok[b] != 0;
    int rc = cx_result_set_attr_string(r, "se", "bootstrap", err);
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(r, "bootstrap_replicates", (double)B, err);
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(r, "bootstrap_failed", (double)(B - good), err);
    if (rc == CX_OK)
        rc = cx_result_add_fit(r, "bootstrap_replicates", (double)B, err);
    if (rc == CX_OK)
        rc = cx_result_add_fit(r, "bootstrap_failed", (double)(B - good), err);
    if (rc != CX_OK)
        return rc;
    if (good < B)
        cx_result_add_warning(
            r, "%zu of %zu bootstrap replicates did not converge and were left out", B - good, B);
    if (good < 2) {
        cx_result_set_status(r, CX_STATUS_FAILED, "bootstrap: only %zu of %zu replicates converged",
                             good, B);
        return CX_OK;
    }
    cx_rtable *est = cx_result_find_table(r, "estimates");
    cx_rtable *bt = est ? boot_table(r, err) : NULL;
    double *t = cx_malloc(good * sizeof *t, err);
    if (!est || !bt || !t) {
        free(t);
        return est ? (err->code ? err->code : CX_ENOMEM) : CX_OK;
    }
    int e_est = cx_rtable_find_column(est, "est");
    for (size_t i = 0; rc == CX_OK && i < n && i < est->nrows; i++) {
        if (!isfinite(est->cols[e_est].d[i]))
            continue; /* aliased: NA as R reports it */
        size_t m = 0;
        for (size_t b = 0; b < B; b++)
            if (ok[b])
                t[m++] = reps[b * n + i];
        rc = boot_row(est, i, bt, t, m, level, err);
    }
    free(t);
    return rc;
}

int lg_bootstrap(const cx_job *job, cx_result *r, lg_replicate_fn fn, void *fit, cx_error *err)
{
    size_t B = (size_t)job->bootstrap;
    cx_rtable *est = cx_result_find_table(r, "estimates");
    size_t n = est ? est->nrows : 0;
    double *reps = cx_malloc((B * n > 0 ? B * n : 1) * sizeof *reps, err);
    int *ok = cx_calloc(B ? B : 1, sizeof *ok, err);
    int rc = reps && ok ? CX_OK : CX_ENOMEM;
    for (size_t b = 0; rc == CX_OK && b < B; b++) {
        rc = fn(fit, b, reps + b * n, n, err);
        ok[b] = rc == CX_OK;
        if (rc == CX_EFAIL) /* not converged: left out */
            rc = CX_OK;
    }
    if (rc == CX_OK)
        rc = boot_write(r, reps, ok, B, n, r->level, err);
    free(reps);
    free(ok);
    return rc;
}
