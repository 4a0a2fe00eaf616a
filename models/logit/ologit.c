/*
 * ologit.c — `model = ologit`: the proportional-odds (cumulative logit)
 * model in MASS::polr's parameterization,
 *     logit P(y <= k) = zeta_k - eta,   eta = x'b (no intercept),
 * fitted by the engine's optimizer with one streaming pass per Newton
 * iteration (engine/rowpass.h).  docs/models/logit.md describes it.
 *
 * The outcome is a factor (factor(y) or a categorical column) whose
 * levels, in their order, are the ordered categories; levels without
 * complete rows are dropped (as R's drop.unused.levels).  The formula's
 * intercept column is not a parameter (the thresholds take its place),
 * so a formula without intercept (`- 1`) is refused.
 *
 * Per row of level k, with a = zeta_k - eta, c = zeta_{k-1} - eta (a = +inf
 * for the top level, c = -inf for the bottom one), F the logistic cdf,
 * f = F (1 - F) and f' = f (1 - 2F):
 *     P = F(a) - F(c),   log-likelihood += w log P,
 *     score: b -= w x (f(a) - f(c)) / P, zeta_k += w f(a) / P,
 *            zeta_{k-1} -= w f(c) / P,
 * and the observed information (minus the Hessian) from
 * d2 log P = (f'(a) da da' - f'(c) dc dc') / P - g g'.  The cumulative
 * logit likelihood is log-concave, so this is positive semi-definite and
 * the b-b block is one DSYRK of rows scaled by its (non-negative) weight.
 * Thresholds that cross at a trial point give P <= 0: the value is -inf
 * and the optimizer halves the step.
 *
 * Standard errors: classical (inverse observed information, as
 * ordinal::clm; MASS::polr's own come from a numerical Hessian and agree
 * to about 1e-5), hc0 / hc1 (sandwich's estfun/bread for clm/polr),
 * cluster(COL) (vcovCL's default for clm: HC0 with G / (G - 1)); hc2/hc3
 * refused (no hat values).  `validate` refits without the held-out rows
 * and predicts their level probabilities (lg_validate), `bootstrap`
 * refits each replicate (lg_bootstrap); passes after the first run over
 * the design cache (rowpass.h).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clusters.h"
#include "common.h"
#include "dist.h"
#include "optimize.h"
#include "rowpass.h"

static const char *const ologit_keys[] = {"formula", "scores", "se", NULL};

typedef struct ologit_params {
    size_t q;             /* slope columns                         */
    const size_t *active; /* their design column indices          */
    size_t K;             /* outcome levels                        */
    const double *theta;  /* q slopes, then K - 1 thresholds       */
    int final;            /* also the sandwich meat                */
    int cluster;          /* final: score sums per cluster (extra 0) */
    lg_boot boot;         /* a bootstrap replicate's weights      */
    long skip_slot, only_slot; /* validation: lg_row_used           */
    int predict;               /* also the prediction sums (validation)  */
} ologit_params;

typedef struct ologit_acc {
    size_t q, K, d; /* d = q + K - 1 */
    lg_newton_sums sums;
    double *xa, *s, *coef; /* row scratch, cap_rows rows (reserve) */
    double *yc, *wc, *kc;  /* the used rows' outcome, weight, cluster */
    double *prob;          /* K: one row's level probabilities        */
    size_t cap_rows;
} ologit_acc;

static void oacc_free(void *vacc)
{
    ologit_acc *a = vacc;
    if (!a)
        return;
    lg_sums_free(&a->sums);
    free(a->xa);
    free(a->s);
    free(a->coef);
    free(a->yc);
    free(a->wc);
    free(a->kc);
    free(a->prob);
    free(a);
}

static void oacc_reset(void *vacc)
{
    ologit_acc *a = vacc;
    lg_sums_reset(&a->sums);
}

static void *oacc_alloc(const void *vpar, cx_error *err)
{
    const ologit_params *par = vpar;
    ologit_acc *a = calloc(1, sizeof *a);
    if (a) {
        a->q = par->q;
        a->K = par->K;
        a->d = par->q + par->K - 1;
        a->prob = calloc(par->K, sizeof *a->prob);
    }
    if (!a || !a->prob || lg_sums_init(&a->sums, par->K, a->d, par->final, par->cluster) != CX_OK) {
        oacc_free(a);
        cx_error_set(err, CX_ENOMEM, "ologit: out of memory");
        return NULL;
    }
    return a;
}

static int reserve(ologit_acc *a, size_t m, cx_error *err)
{
    if (m <= a->cap_rows)
        return CX_OK;
    size_t q = a->q ? a->q : 1;
    free(a->xa);
    free(a->s);
    free(a->coef);
    free(a->yc);
    free(a->wc);
    free(a->kc);
    a->xa = malloc(m * q * sizeof *a->xa);
    a->s = malloc(m * q * sizeof *a->s);
    a->coef = malloc(2 * m * sizeof *a->coef);
    a->yc = malloc(m * sizeof *a->yc);
    a->wc = malloc(m * sizeof *a->wc);
    a->kc = malloc(m * sizeof *a->kc);
    a->cap_rows = m;
    if (!a->xa || !a->s || !a->coef || !a->yc || !a->wc || !a->kc) {
        a->cap_rows = 0;
        return cx_error_set(err, CX_ENOMEM, "ologit: out of memory");
    }
    return CX_OK;
}

/* F, f and f' of the logistic at u (u = +-inf for the open ends). */
static void logistic(double u, double *F, double *f, double *fp)
{
    if (isinf(u)) {
        *F = u > 0 ? 1 : 0;
        *f = *fp = 0;
        return;
    }
    double e = exp(-fabs(u)), p = 1 / (1 + e); /* p = F(|u|) */
    *F = u >= 0 ? p : 1 - p;
    *f = p * (1 - p);
    *fp = *f * (1 - 2 * *F);
}

/* One row's contribution to the threshold parts of score, information and
 * (final) the meat; returns w log P (-inf when P <= 0). */
typedef struct row_terms {
    double s, A, C, ga, gc, v; /* see the header comment */
    double logp;
} row_terms;

static row_terms row_terms_of(const ologit_params *par, size_t k, double eta)
{
    const double *zeta = par->theta + par->q;
    double a = k + 1 < par->K ? zeta[k] - eta : INFINITY;
    double c = k > 0 ? zeta[k - 1] - eta : -INFINITY;
    double Fa, fa, fpa, Fc, fc, fpc;
    logistic(a, &Fa, &fa, &fpa);
    logistic(c, &Fc, &fc, &fpc);
    /* in the upper tail the difference of upper tail areas keeps precision */
    double P = Fa - Fc;
    if (c > 0)
        P = 1 / (1 + exp(c)) - (isinf(a) ? 0 : 1 / (1 + exp(a)));
    row_terms t = {.logp = P > 0 ? log(P) : -INFINITY};
    if (!(P > 0))
        return t;
    t.s = (fa - fc) / P;
    t.A = fpa / P;
    t.C = fpc / P;
    t.ga = fa / P;
    t.gc = fc / P;
    t.v = t.s * t.s - t.A + t.C;
    return t;
}

/* Upper-triangle element (i, j) of a d x d column-major matrix. */
static double *upper(double *m, size_t d, size_t i, size_t j)
{
    return i <= j ? &m[j * d + i] : &m[i * d + j];
}

/* The threshold rows/columns of the information for one row. */
static void add_threshold_info(ologit_acc *a, const double *x, size_t k, double w,
                               const row_terms *t)
{
    size_t q = a->q, d = a->d, K = a->K;
    if (k + 1 < K) { /* zeta_k present */
        size_t jk = q + k;
        for (size_t j = 0; j < q; j++)
            *upper(a->sums.info, d, j, jk) += w * x[j] * (-t->s * t->ga + t->A);
        *upper(a->sums.info, d, jk, jk) += w * (t->ga * t->ga - t->A);
        a->sums.grad[jk] += w * t->ga;
    }
    if (k > 0) { /* zeta_{k-1} present */
        size_t jc = q + k - 1;
        for (size_t j = 0; j < q; j++)
            *upper(a->sums.info, d, j, jc) += w * x[j] * (t->s * t->gc - t->C);
        *upper(a->sums.info, d, jc, jc) += w * (t->gc * t->gc + t->C);
        a->sums.grad[jc] -= w * t->gc;
    }
    if (k > 0 && k + 1 < K)
        *upper(a->sums.info, d, q + k - 1, q + k) -= w * t->ga * t->gc;
}

/* meat += u u' with u the row's score; with clusters also u into the
 * row's cluster sum. */
static int add_meat(ologit_acc *a, const double *x, size_t k, double w, const row_terms *t,
                    double key, cx_error *err)
{
    size_t q = a->q, d = a->d;
    memset(a->sums.u, 0, d * sizeof *a->sums.u);
    for (size_t j = 0; j < q; j++)
        a->sums.u[j] = -w * x[j] * t->s;
    if (k + 1 < a->K)
        a->sums.u[q + k] += w * t->ga;
    if (k > 0)
        a->sums.u[q + k - 1] -= w * t->gc;
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i <= j; i++)
            a->sums.meat[j * d + i] += a->sums.u[i] * a->sums.u[j];
    if (!a->sums.cluster)
        return CX_OK;
    double *s = lg_clusters_sums(&a->sums.clusters, key, err);
    if (!s)
        return CX_ENOMEM;
    for (size_t j = 0; j < d; j++)
        s[j] += a->sums.u[j];
    return CX_OK;
}

/* The rows the pass uses (validation slots): slope columns into xa,
 * outcome, weight and cluster into yc, wc, kc; returns how many. */
static size_t compact_rows(ologit_acc *a, const cx_rows *r, const ologit_params *par)
{
    size_t m = 0, q = par->q;
    for (size_t i = 0; i < r->m; i++) {
        unsigned count = lg_boot_count(&par->boot, r, i);
        if (count == 0 || !lg_row_used(r, i, par->skip_slot, par->only_slot))
            continue;
        for (size_t j = 0; j < q; j++)
            a->xa[m * q + j] = r->x[i * r->p + par->active[j]];
        a->yc[m] = r->y[i];
        a->wc[m] = r->w[i] * count;
        a->kc[m] = par->cluster ? r->extra[i] : 0;
        m++;
    }
    return m;
}

/* The K level probabilities of a row with linear predictor eta. */
static void level_probs(const ologit_params *par, double eta, double *prob)
{
    for (size_t k = 0; k < par->K; k++)
        prob[k] = exp(row_terms_of(par, k, eta).logp);
}

static int oacc_add_rows(void *vacc, const cx_rows *r, const void *vpar, cx_error *err)
{
    ologit_acc *a = vacc;
    const ologit_params *par = vpar;
    size_t q = par->q;
    if (reserve(a, r->m, err) != CX_OK)
        return CX_ENOMEM;
    size_t m = compact_rows(a, r, par);
    if (m == 0)
        return CX_OK;
    double *eta = a->coef, *gb = a->coef + m;
    if (q)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)q, 1.0, a->xa, (int)q, par->theta, 1,
                    0.0, eta, 1);
    else
        memset(eta, 0, m * sizeof *eta);
    for (size_t i = 0; i < m; i++) {
        size_t k = (size_t)a->yc[i];
        double w = a->wc[i];
        row_terms t = row_terms_of(par, k, eta[i]);
        if (par->predict) {
            level_probs(par, eta[i], a->prob);
            lg_sums_predict(&a->sums, a->prob, k, w);
        }
        a->sums.ll += w != 0 ? w * t.logp : 0;
        a->sums.sum_w += w;
        a->sums.nobs += w != 0;
        a->sums.count[k] += w;
        add_threshold_info(a, a->xa + i * q, k, w, &t);
        if (par->final && add_meat(a, a->xa + i * q, k, w, &t, a->kc[i], err) != CX_OK)
            return CX_ENOMEM;
        gb[i] = -w * t.s;
        double sv = sqrt(fmax(w * t.v, 0));
        for (size_t j = 0; j < q; j++)
            a->s[i * q + j] = a->xa[i * q + j] * sv;
    }
    if (q) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)q, 1.0, a->xa, (int)q, gb, 1, 1.0,
                    a->sums.grad, 1);
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)q, (int)m, 1.0, a->s, (int)q, 1.0,
                    a->sums.info, (int)a->d);
    }
    return CX_OK;
}

static void oacc_merge(void *vacc, const void *vother)
{
    ologit_acc *a = vacc;
    const ologit_acc *o = vother;
    lg_sums_merge(&a->sums, &o->sums);
}

static const cx_rowpass_type ologit_pass = {"ologit",      oacc_alloc, oacc_reset,
                                            oacc_add_rows, oacc_merge, oacc_free};

/* MPI row splitting (engine/dist.h): the pass travels as its sums. */
static size_t pass_pack(const void *vacc, void *buf)
{
    return lg_sums_pack(&((const ologit_acc *)vacc)->sums, buf);
}

static int pass_unpack(void *vacc, const void *buf, size_t size, cx_error *err)
{
    return lg_sums_unpack(&((ologit_acc *)vacc)->sums, buf, size, err);
}

static const cx_pack_ops pass_pack_ops = {pass_pack, pass_unpack, NULL};

/* ---- the fit ------------------------------------------------------------ */

typedef struct ologit_fit {
    const cx_job *job;
    const logit_spec *spec;
    cx_design *d;
    ologit_params par;
    size_t p;       /* design columns                      */
    size_t *active; /* slope columns                       */
    int *aliased;   /* p                                   */
    double *theta;  /* q + K - 1                           */
    const char *const *labels;
    ologit_acc *last;
    cx_opt_report rep;
    cx_rowpass_split split;  /* the job's `validate`            */
    cx_rowpass_cache *cache; /* the design rows between passes  */
    cx_result *result;
} ologit_fit;

static int opass(ologit_fit *F, const double *theta, int final, cx_error *err)
{
    F->par.theta = theta;
    F->par.final = final;
    if (F->last)
        oacc_free(F->last);
    void *acc;
    cx_pack_register(&ologit_pass, &pass_pack_ops);
    int rc = cx_rowpass_run_cached(F->job->view, F->d, &F->split, &ologit_pass, &F->par, &acc,
                                   F->job->threads, F->cache, err);
    F->last = rc == CX_OK ? acc : NULL;
    return rc;
}

static int ovalue(const double *x, double *f, void *data, cx_error *err)
{
    ologit_fit *F = data;
    int rc = opass(F, x, 0, err);
    if (rc == CX_OK)
        *f = F->last->sums.ll; /* -inf where thresholds cross: the step is halved */
    return rc;
}

static int oderivatives(const double *x, double *grad, double *curv, void *data, cx_error *err)
{
    (void)x;
    (void)err;
    const ologit_fit *F = data;
    lg_sums_derivatives(&F->last->sums, grad, curv);
    return CX_OK;
}

/* Slope columns: every design column but the intercept, less the aliased
 * ones (from the b-b block of the first pass). */
static int choose_columns(ologit_fit *F, cx_result *r, cx_error *err)
{
    size_t p = F->p, q = 0, d = F->last->d;
    double *xtx = calloc(p ? p * p : 1, sizeof *xtx);
    const char **names = calloc(p ? p : 1, sizeof *names);
    if (!xtx || !names) {
        free(xtx);
        free(names);
        return cx_error_set(err, CX_ENOMEM, "ologit: out of memory");
    }
    for (size_t j = 0; j < p; j++) {
        names[j] = cx_design_colname(F->d, F->active[j]);
        for (size_t i = 0; i <= j; i++)
            xtx[j * p + i] = F->last->sums.info[j * d + i];
    }
    char msg[512];
    long n = cx_design_aliased(xtx, p, names, 1e-7, F->aliased, msg, sizeof msg, err);
    free(xtx);
    free(names);
    if (n < 0)
        return err->code ? err->code : CX_EFAIL;
    if (msg[0])
        cx_result_add_warning(r, "%s (coefficients NA, as R reports them)", msg);
    size_t *cols = F->active;
    for (size_t j = 0; j < p; j++)
        if (!F->aliased[j])
            cols[q++] = cols[j];
    F->par.q = q;
    return CX_OK;
}

/* Start: b = 0, zeta_k = logit of the cumulative share up to level k. */
static void start_values(const ologit_fit *F, const double *count, double sum_w, double *theta)
{
    size_t q = F->par.q, K = F->par.K;
    memset(theta, 0, q * sizeof *theta);
    double cum = 0;
    for (size_t k = 0; k + 1 < K; k++) {
        cum += count[k];
        double s = (cum + 0.5) / (sum_w + 1);
        theta[q + k] = log(s / (1 - s));
    }
}

/* The thresholds' first guess before any pass: ordered, centred. */
static void ordered_guess(size_t q, size_t K, double *theta)
{
    memset(theta, 0, q * sizeof *theta);
    for (size_t k = 0; k + 1 < K; k++)
        theta[q + k] = (double)k - (double)(K - 2) / 2;
}

static int prepare(ologit_fit *F, cx_result *r, cx_error *err)
{
    const cx_job *job = F->job;
    int rc = cx_design_prepare(F->d, job->view, err);
    if (rc != CX_OK)
        return cx_job_error(job, "formula", err, rc, "%s", err->msg);
    size_t K = cx_design_outcome_levels(F->d, &F->labels);
    if (K < 2)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "ologit needs an ordered factor outcome: write factor(y) or use a "
                            "categorical column (levels in their order)");
    if (!F->spec->formula->intercept)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "ologit: the thresholds replace the intercept; remove '- 1' / '+ 0'");
    size_t P = cx_design_ncols(F->d);
    F->active = calloc(P ? P : 1, sizeof *F->active);
    F->aliased = calloc(P ? P : 1, sizeof *F->aliased);
    F->theta = calloc(P + K, sizeof *F->theta);
    F->cache = cx_rowpass_cache_alloc(CX_ROWPASS_CACHE_BUDGET, err);
    F->split = lg_split_of(job);
    if (!F->active || !F->aliased || !F->theta || !F->cache)
        return cx_error_set(err, CX_ENOMEM, "ologit: out of memory");
    for (size_t j = 0; j < P; j++)
        if (cx_design_col_term(F->d, j) >= 0)
            F->active[F->p++] = j;
    F->par =
        (ologit_params){.q = F->p,
                        .active = F->active,
                        .K = K,
                        .cluster = F->spec->se == SE_CLUSTER,
                        .boot = {.rep = -1, .seed = job->seed, .key_extra = F->spec->boot_extra},
                        .skip_slot = -1,
                        .only_slot = -1};
    ordered_guess(F->p, K, F->theta);
    if ((rc = opass(F, F->theta, 0, err)) != CX_OK)
        return rc;
    if (F->last->sums.nobs == 0)
        return cx_error_set(err, CX_EFAIL, "ologit: no complete rows to fit");
    double *count = malloc(K * sizeof *count), sum_w = F->last->sums.sum_w;
    if (!count)
        return cx_error_set(err, CX_ENOMEM, "ologit: out of memory");
    memcpy(count, F->last->sums.count, K * sizeof *count);
    if ((rc = choose_columns(F, r, err)) == CX_OK)
        start_values(F, count, sum_w, F->theta);
    free(count);
    return rc;
}

static int iterate(ologit_fit *F, cx_error *err)
{
    size_t d = F->par.q + F->par.K - 1;
    cx_objective obj = {
        .n = d, .sense = CX_OPT_MAXIMIZE, .value = ovalue, .derivatives = oderivatives, .data = F};
    int rc = lg_maximize(&obj, F->last->sums.sum_w, F->theta, &F->rep, err);
    return rc == CX_OK ? opass(F, F->theta, 1, err) : rc;
}

static int covariance(const ologit_fit *F, double *V)
{
    const ologit_acc *a = F->last;
    lg_vcov_parts parts = {
        .d = a->d, .info = a->sums.info, .meat = a->sums.meat, .clusters = &a->sums.clusters, .n = a->sums.nobs};
    return lg_covariance(&parts, F->spec->se, V);
}

static int write_estimates(const ologit_fit *F, const double *V, cx_result *r, cx_error *err)
{
    const char *lhs = lg_outcome_name(F->spec->formula);
    size_t d = F->last->d, q = F->par.q, k = 0;
    size_t P = cx_design_ncols(F->d);
    for (size_t j = 0; j < P; j++) {
        if (cx_design_col_term(F->d, j) < 0)
            continue;
        double est = NAN, se = NAN;
        if (k < q && F->active[k] == j) {
            est = F->theta[k];
            se = sqrt(V[k * d + k]);
            k++;
        }
        if (cx_result_add_estimate(r, lhs, "~", cx_design_colname(F->d, j), 0, est, se, NAN, err) <
            0)
            return err->code ? err->code : CX_ENOMEM;
    }
    for (size_t t = 0; t + 1 < F->par.K; t++) {
        char name[32];
        snprintf(name, sizeof name, "t%zu", t + 1);
        size_t i = q + t;
        if (cx_result_add_estimate(r, lhs, "|", name, 0, F->theta[i], sqrt(V[i * d + i]), NAN,
                                   err) < 0)
            return err->code ? err->code : CX_ENOMEM;
    }
    return CX_OK;
}

static int write_fit(const ologit_fit *F, cx_result *r, cx_error *err)
{
    const ologit_acc *a = F->last;
    return lg_add_level_fits(r, a->sums.ll, a->sums.sum_w, (double)a->d, a->sums.count, a->K,
                             F->rep.iterations, err);
}

static int write_results(ologit_fit *F, cx_result *r, cx_error *err)
{
    size_t d = F->last->d;
    double *V = malloc(d * d * sizeof *V);
    if (!V)
        return cx_error_set(err, CX_ENOMEM, "ologit: out of memory");
    int rc = covariance(F, V);
    if (rc == CX_EFAIL)
        rc = lg_singular_covariance(V, d, r,
                                    "the information matrix is singular: no standard errors");
    if (rc == CX_ENOMEM)
        rc = cx_error_set(err, CX_ENOMEM, "ologit: out of memory");
    r->nobs = F->last->sums.nobs;
    if (rc == CX_OK)
        rc = write_estimates(F, V, r, err);
    if (rc == CX_OK)
        rc = write_fit(F, r, err);
    if (rc == CX_OK && F->rep.status != CX_OPT_CONVERGED) {
        size_t q = F->par.q, k = lg_weakest(V, F->last->sums.info, d, q ? q : d);
        char term[64];
        if (q)
            snprintf(term, sizeof term, "%s", cx_design_colname(F->d, F->active[k]));
        else
            snprintf(term, sizeof term, "t%zu", k + 1);
        cx_result_set_status(r, CX_STATUS_NOT_CONVERGED,
                             "ologit did not converge after %d iterations (%s); the least "
                             "determined term is %s (separation, or an empty category?)",
                             F->rep.iterations, cx_opt_status_text(F->rep.status), term);
    }
    free(V);
    return rc;
}

/* check(): the shared keys, and an intercept to replace by thresholds. */
static int ologit_check(const cx_job *job, cx_error *err)
{
    int rc = lg_check(job, err);
    if (rc != CX_OK)
        return rc;
    cx_formula *f = cx_formula_parse(cx_section_get(job->section, "formula"), err);
    if (!f)
        return err->code;
    int intercept = f->intercept;
    cx_formula_free(f);
    if (!intercept)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "ologit: the thresholds replace the intercept; remove '- 1' / '+ 0'");
    return CX_OK;
}

/* validation: refit on the rows outside `slot` (start values from their
 * level shares), then predict the rows in it (predict(polr, newdata,
 * "probs")). */
static int refit_slot(void *vF, size_t slot, const char *split, cx_error *err)
{
    ologit_fit *F = vF;
    size_t q = F->par.q, K = F->par.K, d = q + K - 1;
    double *theta = calloc(d, sizeof *theta);
    if (!theta)
        return cx_error_set(err, CX_ENOMEM, "ologit: out of memory");
    F->par.skip_slot = (long)slot;
    F->par.cluster = 0;
    ordered_guess(q, K, theta);
    int rc = opass(F, theta, 0, err);
    if (rc == CX_OK)
        start_values(F, F->last->sums.count, F->last->sums.sum_w, theta);
    cx_opt_report rep;
    cx_objective obj = {
        .n = d, .sense = CX_OPT_MAXIMIZE, .value = ovalue, .derivatives = oderivatives, .data = F};
    if (rc == CX_OK)
        rc = lg_maximize(&obj, F->last->sums.sum_w, theta, &rep, err);
    F->par.skip_slot = -1;
    if (rc == CX_OK && rep.status != CX_OPT_CONVERGED)
        cx_result_add_warning(F->result, "validation %s: the training fit did not converge (%s)",
                              split, cx_opt_status_text(rep.status));
    F->par.only_slot = (long)slot;
    F->par.predict = 1;
    if (rc == CX_OK)
        rc = opass(F, theta, 0, err);
    F->par.only_slot = -1;
    F->par.predict = 0;
    free(theta);
    return rc == CX_OK ? lg_write_validation(F->result, split, &F->last->sums, err) : rc;
}

/* bootstrap replicate rep: Newton from the sample's estimates with the
 * replicate's weights; slopes (NaN where aliased), then thresholds, as
 * the `estimates` rows. */
static int replicate(void *vF, size_t rep, double *est, size_t n, cx_error *err)
{
    ologit_fit *F = vF;
    size_t q = F->par.q, d = q + F->par.K - 1;
    double *theta = malloc(d * sizeof *theta);
    if (!theta)
        return cx_error_set(err, CX_ENOMEM, "ologit: out of memory");
    memcpy(theta, F->theta, d * sizeof *theta);
    F->par.boot.rep = (long)rep;
    F->par.cluster = 0;
    cx_opt_report rep_report;
    cx_objective obj = {
        .n = d, .sense = CX_OPT_MAXIMIZE, .value = ovalue, .derivatives = oderivatives, .data = F};
    int rc = lg_maximize(&obj, F->last->sums.sum_w, theta, &rep_report, err);
    F->par.boot.rep = -1;
    if (rc == CX_OK && rep_report.status != CX_OPT_CONVERGED)
        rc = CX_EFAIL;
    size_t P = cx_design_ncols(F->d), i = 0, k = 0;
    for (size_t j = 0; j < P && i < n; j++) {
        if (cx_design_col_term(F->d, j) < 0)
            continue;
        est[i++] = k < q && F->active[k] == j ? theta[k++] : NAN;
    }
    for (size_t t = 0; t + 1 < F->par.K && i < n; t++)
        est[i++] = theta[q + t];
    free(theta);
    return rc;
}

static int ologit_fit_job(const cx_job *job, cx_result **results, cx_error *err)
{
    logit_spec s;
    ologit_fit F = {.job = job, .spec = &s, .result = results[0]};
    int rc = lg_open_job(job, &s, &F.d, err);
    if (rc == CX_OK)
        rc = prepare(&F, results[0], err);
    if (rc == CX_OK)
        rc = iterate(&F, err);
    if (rc == CX_OK)
        rc = write_results(&F, results[0], err);
    if (rc == CX_OK && F.split.kind != CX_VALIDATE_NONE)
        rc = lg_validate(&F.split, refit_slot, &F, err);
    if (rc == CX_OK && job->bootstrap > 0)
        rc = lg_bootstrap(job, results[0], replicate, &F, err);
    if (F.last)
        oacc_free(F.last);
    cx_rowpass_cache_free(F.cache);
    free(F.active);
    free(F.aliased);
    free(F.theta);
    cx_design_free(F.d);
    lg_spec_free(&s);
    return rc;
}

const cx_model cx_model_ologit = {
    .name = "ologit",
    .summary = "ordinal (proportional odds) logit as MASS::polr: thresholds y | t1 ...",
    .keys = ologit_keys,
    .fits_all_levels = 0,
    .supports = CX_SUPPORTS_WEIGHTS | CX_SUPPORTS_BY | CX_SUPPORTS_VALIDATE | CX_SUPPORTS_BOOTSTRAP,
    .check = ologit_check,
    .fit = ologit_fit_job,
};
