/*
 * mlogit.c — `model = mlogit`: the multinomial (baseline-category) logit
 * of nnet::multinom, fitted by the engine's optimizer with one streaming
 * pass per Newton iteration (engine/rowpass.h).  docs/models/logit.md
 * describes it.
 *
 * The outcome is a factor (factor(y) or a categorical column) with K >= 2
 * levels; the first is the baseline.  For every other level j the model
 * has a coefficient vector b_j over the design's columns:
 *     P(y = j) = exp(x'b_j) / (1 + sum_l exp(x'b_l)),  P(y = 1) = 1 / (...).
 * Per row: loglik += w log pi_y; score_j += w (1{y = j} - pi_j) x;
 * information block (j, l) += w pi_j (1{j = l} - pi_l) x x' — the
 * observed and the expected information agree (canonical link), so this
 * is Newton.  Each block is one DGEMM of the block's rows.
 *
 * Estimates: lhs `y[level]` (the outcome and the level it compares with
 * the baseline), op `~` (or `~1` for the intercept), rhs the column.
 * SEs: classical, hc0, hc1 (n / (n - npar)), cluster(COL) (HC0 meat of
 * the cluster score sums, G / (G - 1), as vcovCL's default).  sandwich has
 * no estfun for multinom, so these robust SEs are checked by the same
 * formulas as logit/ologit (tests), not against an R package.  hc2/hc3
 * are refused (no hat values).  `validate` refits without the held-out
 * rows and predicts them (common.c: lg_validate); `bootstrap` refits each
 * replicate (lg_bootstrap).  Passes after the first run over the design
 * cache (rowpass.h).
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

static const char *const mlogit_keys[] = {"formula", "scores", "se", NULL};

typedef struct mlogit_params {
    size_t p;             /* active design columns                  */
    const size_t *active; /* their design indices                   */
    size_t K;             /* outcome levels                         */
    const double *theta;  /* (K - 1) x p, level-major               */
    int final;            /* also the sandwich meat                 */
    int cluster;          /* final: score sums per cluster (extra 0)  */
    lg_boot boot;         /* a bootstrap replicate's weights      */
    long skip_slot, only_slot; /* validation: lg_row_used            */
    int predict;               /* also the prediction sums (validation)   */
} mlogit_params;

typedef struct mlogit_acc {
    size_t p, K, D; /* D = (K - 1) p */
    lg_newton_sums sums;
    double *xa, *s, *eta; /* row scratch, cap_rows rows (reserve) */
    double *yc, *wc, *kc; /* the used rows' outcome, weight, cluster */
    double *prob;         /* K: one row's level probabilities        */
    size_t cap_rows;
} mlogit_acc;

static void macc_free(void *vacc)
{
    mlogit_acc *a = vacc;
    if (!a)
        return;
    lg_sums_free(&a->sums);
    free(a->xa);
    free(a->s);
    free(a->eta);
    free(a->yc);
    free(a->wc);
    free(a->kc);
    free(a->prob);
    free(a);
}

static void macc_reset(void *vacc)
{
    mlogit_acc *a = vacc;
    lg_sums_reset(&a->sums);
}

static void *macc_alloc(const void *vpar, cx_error *err)
{
    const mlogit_params *par = vpar;
    mlogit_acc *a = calloc(1, sizeof *a);
    if (a) {
        a->p = par->p;
        a->K = par->K;
        a->D = (par->K - 1) * par->p;
        a->prob = calloc(par->K, sizeof *a->prob);
    }
    if (!a || !a->prob || lg_sums_init(&a->sums, par->K, a->D, par->final, par->cluster) != CX_OK) {
        macc_free(a);
        cx_error_set(err, CX_ENOMEM, "mlogit: out of memory");
        return NULL;
    }
    return a;
}

static int reserve(mlogit_acc *a, size_t m, cx_error *err)
{
    if (m <= a->cap_rows)
        return CX_OK;
    size_t p = a->p ? a->p : 1, J = a->K - 1;
    free(a->xa);
    free(a->s);
    free(a->eta);
    free(a->yc);
    free(a->wc);
    free(a->kc);
    a->xa = malloc(m * p * sizeof *a->xa);
    a->s = malloc(m * p * sizeof *a->s);
    a->eta = malloc(m * (J + 1) * sizeof *a->eta);
    a->yc = malloc(m * sizeof *a->yc);
    a->wc = malloc(m * sizeof *a->wc);
    a->kc = malloc(m * sizeof *a->kc);
    a->cap_rows = m;
    if (!a->xa || !a->s || !a->eta || !a->yc || !a->wc || !a->kc) {
        a->cap_rows = 0;
        return cx_error_set(err, CX_ENOMEM, "mlogit: out of memory");
    }
    return CX_OK;
}

/* eta (m x J, row-major) -> probabilities of the J non-baseline levels in
 * place, the baseline's in *p0; returns the row's log-probability of its
 * own level. */
static double row_probs(double *pi, size_t J, size_t y, double *p0)
{
    double mx = 0; /* the baseline's eta */
    for (size_t j = 0; j < J; j++)
        mx = fmax(mx, pi[j]);
    double den = exp(-mx);
    for (size_t j = 0; j < J; j++)
        den += exp(pi[j] - mx);
    double own = y == 0 ? -mx : pi[y - 1] - mx;
    for (size_t j = 0; j < J; j++)
        pi[j] = exp(pi[j] - mx) / den;
    *p0 = exp(-mx) / den;
    return own - log(den);
}

/* info block (j, l) += X' diag(c) X for the block's m rows. */
static void add_block(mlogit_acc *a, size_t m, const double *c, size_t j, size_t l)
{
    size_t p = a->p;
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < p; k++)
            a->s[i * p + k] = a->xa[i * p + k] * c[i];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)p, (int)p, (int)m, 1.0, a->xa, (int)p,
                a->s, (int)p, 1.0, a->sums.info + (l * p) * a->D + j * p, (int)a->D);
}

/* meat += u u' with u the row's score; with clusters also u into the
 * row's cluster sum. */
static int add_meat(mlogit_acc *a, const double *x, const double *pi, size_t y, double w,
                    double key, cx_error *err)
{
    size_t p = a->p, J = a->K - 1, D = a->D;
    for (size_t j = 0; j < J; j++)
        for (size_t k = 0; k < p; k++)
            a->sums.u[j * p + k] = w * ((y == j + 1) - pi[j]) * x[k];
    for (size_t c = 0; c < D; c++)
        for (size_t r = 0; r <= c; r++)
            a->sums.meat[c * D + r] += a->sums.u[r] * a->sums.u[c];
    if (!a->sums.cluster)
        return CX_OK;
    double *s = lg_clusters_sums(&a->sums.clusters, key, err);
    if (!s)
        return CX_ENOMEM;
    for (size_t c = 0; c < D; c++)
        s[c] += a->sums.u[c];
    return CX_OK;
}

/* The rows the pass uses (validation slots): active columns into xa,
 * outcome, weight and cluster into yc, wc, kc; returns how many. */
static size_t compact_rows(mlogit_acc *a, const cx_rows *r, const mlogit_params *par)
{
    size_t m = 0, p = par->p;
    for (size_t i = 0; i < r->m; i++) {
        unsigned count = lg_boot_count(&par->boot, r, i);
        if (count == 0 || !lg_row_used(r, i, par->skip_slot, par->only_slot))
            continue;
        for (size_t k = 0; k < p; k++)
            a->xa[m * p + k] = r->x[i * r->p + par->active[k]];
        a->yc[m] = r->y[i];
        a->wc[m] = r->w[i] * count;
        a->kc[m] = par->cluster ? r->extra[i] : 0;
        m++;
    }
    return m;
}

static int macc_add_rows(void *vacc, const cx_rows *r, const void *vpar, cx_error *err)
{
    mlogit_acc *a = vacc;
    const mlogit_params *par = vpar;
    size_t p = par->p, J = par->K - 1;
    if (reserve(a, r->m, err) != CX_OK)
        return CX_ENOMEM;
    size_t m = compact_rows(a, r, par);
    if (m == 0)
        return CX_OK;
    /* eta = X Theta' : m x J */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)J, (int)p, 1.0, a->xa, (int)p,
                par->theta, (int)p, 0.0, a->eta, (int)J);
    double *resid = a->eta + m * J; /* m values: reused per level below */
    for (size_t i = 0; i < m; i++) {
        size_t y = (size_t)a->yc[i];
        double w = a->wc[i], *pi = a->eta + i * J, p0;
        double lp = row_probs(pi, J, y, &p0);
        a->sums.ll += w != 0 ? w * lp : 0;
        a->sums.sum_w += w;
        a->sums.nobs += w != 0;
        a->sums.count[y] += w;
        if (par->predict) {
            a->prob[0] = p0;
            memcpy(a->prob + 1, pi, J * sizeof *pi);
            lg_sums_predict(&a->sums, a->prob, y, w);
        }
        if (par->final && add_meat(a, a->xa + i * p, pi, y, w, a->kc[i], err) != CX_OK)
            return CX_ENOMEM;
    }
    for (size_t j = 0; j < J; j++) {
        for (size_t i = 0; i < m; i++)
            resid[i] = a->wc[i] * (((size_t)a->yc[i] == j + 1) - a->eta[i * J + j]);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)p, 1.0, a->xa, (int)p, resid, 1, 1.0,
                    a->sums.grad + j * p, 1);
        for (size_t l = j; l < J; l++) {
            for (size_t i = 0; i < m; i++) {
                double pj = a->eta[i * J + j], pl = a->eta[i * J + l];
                resid[i] = a->wc[i] * pj * ((j == l) - pl);
            }
            add_block(a, m, resid, j, l);
        }
    }
    return CX_OK;
}

static void macc_merge(void *vacc, const void *vother)
{
    mlogit_acc *a = vacc;
    const mlogit_acc *o = vother;
    lg_sums_merge(&a->sums, &o->sums);
}

static const cx_rowpass_type mlogit_pass = {"mlogit",      macc_alloc, macc_reset,
                                            macc_add_rows, macc_merge, macc_free};

/* MPI row splitting (engine/dist.h): the pass travels as its sums. */
static size_t pass_pack(const void *vacc, void *buf)
{
    return lg_sums_pack(&((const mlogit_acc *)vacc)->sums, buf);
}

static int pass_unpack(void *vacc, const void *buf, size_t size, cx_error *err)
{
    return lg_sums_unpack(&((mlogit_acc *)vacc)->sums, buf, size, err);
}

static const cx_pack_ops pass_pack_ops = {pass_pack, pass_unpack, NULL};

/* ---- the fit ------------------------------------------------------------ */

typedef struct mlogit_fit {
    const cx_job *job;
    const logit_spec *spec;
    cx_design *d;
    mlogit_params par;
    size_t P;       /* design columns                       */
    size_t *active; /* non-aliased ones                     */
    int *aliased;
    double *theta;
    const char *const *labels;
    mlogit_acc *last;
    cx_opt_report rep;
    cx_rowpass_split split;  /* the job's `validate`            */
    cx_rowpass_cache *cache; /* the design rows between passes  */
    cx_result *result;
} mlogit_fit;

static int mpass(mlogit_fit *F, const double *theta, int final, cx_error *err)
{
    F->par.theta = theta;
    F->par.final = final;
    if (F->last)
        macc_free(F->last);
    void *acc;
    cx_pack_register(&mlogit_pass, &pass_pack_ops);
    int rc = cx_rowpass_run_cached(F->job->view, F->d, &F->split, &mlogit_pass, &F->par, &acc,
                                   F->job->threads, F->cache, err);
    F->last = rc == CX_OK ? acc : NULL;
    return rc;
}

static int mvalue(const double *x, double *f, void *data, cx_error *err)
{
    mlogit_fit *F = data;
    int rc = mpass(F, x, 0, err);
    if (rc == CX_OK)
        *f = F->last->sums.ll;
    return rc;
}

static int mderivatives(const double *x, double *grad, double *curv, void *data, cx_error *err)
{
    (void)x;
    (void)err;
    const mlogit_fit *F = data;
    lg_sums_derivatives(&F->last->sums, grad, curv);
    return CX_OK;
}

static int prepare(mlogit_fit *F, cx_result *r, cx_error *err)
{
    const cx_job *job = F->job;
    int rc = cx_design_prepare(F->d, job->view, err);
    if (rc != CX_OK)
        return cx_job_error(job, "formula", err, rc, "%s", err->msg);
    size_t K = cx_design_outcome_levels(F->d, &F->labels);
    if (K < 2)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "mlogit needs a factor outcome: write factor(y) or use a "
                            "categorical column");
    F->P = cx_design_ncols(F->d);
    size_t P = F->P ? F->P : 1;
    F->active = calloc(P, sizeof *F->active);
    F->aliased = calloc(P, sizeof *F->aliased);
    F->theta = calloc((K - 1) * P, sizeof *F->theta);
    F->cache = cx_rowpass_cache_alloc(CX_ROWPASS_CACHE_BUDGET, err);
    F->split = lg_split_of(job);
    if (!F->active || !F->aliased || !F->theta || !F->cache)
        return cx_error_set(err, CX_ENOMEM, "mlogit: out of memory");
    for (size_t j = 0; j < F->P; j++)
        F->active[j] = j;
    F->par =
        (mlogit_params){.p = F->P,
                        .active = F->active,
                        .K = K,
                        .cluster = F->spec->se == SE_CLUSTER,
                        .boot = {.rep = -1, .seed = job->seed, .key_extra = F->spec->boot_extra},
                        .skip_slot = -1,
                        .only_slot = -1};
    if ((rc = mpass(F, F->theta, 0, err)) != CX_OK)
        return rc;
    if (F->last->sums.nobs == 0)
        return cx_error_set(err, CX_EFAIL, "mlogit: no complete rows to fit");
    /* aliasing from block (0, 0) at theta = 0: X'WX (K-1)/K^2 */
    const char **names = calloc(P, sizeof *names);
    double *xtx = calloc(P * P, sizeof *xtx);
    if (!names || !xtx) {
        free(names);
        free(xtx);
        return cx_error_set(err, CX_ENOMEM, "mlogit: out of memory");
    }
    for (size_t j = 0; j < F->P; j++) {
        names[j] = cx_design_colname(F->d, j);
        for (size_t i = 0; i <= j; i++)
            xtx[j * F->P + i] = F->last->sums.info[j * F->last->D + i];
    }
    char msg[512];
    long n = cx_design_aliased(xtx, F->P, names, 1e-7, F->aliased, msg, sizeof msg, err);
    free(names);
    free(xtx);
    if (n < 0)
        return err->code ? err->code : CX_EFAIL;
    if (msg[0])
        cx_result_add_warning(r, "%s (coefficients NA, as R reports them)", msg);
    size_t p = 0;
    for (size_t j = 0; j < F->P; j++)
        if (!F->aliased[j])
            F->active[p++] = j;
    F->par.p = p;
    return CX_OK;
}

static int iterate(mlogit_fit *F, cx_error *err)
{
    size_t D = (F->par.K - 1) * F->par.p;
    memset(F->theta, 0, D * sizeof *F->theta);
    cx_objective obj = {
        .n = D, .sense = CX_OPT_MAXIMIZE, .value = mvalue, .derivatives = mderivatives, .data = F};
    int rc = lg_maximize(&obj, F->last->sums.sum_w, F->theta, &F->rep, err);
    return rc == CX_OK ? mpass(F, F->theta, 1, err) : rc;
}

static int covariance(const mlogit_fit *F, double *V)
{
    const mlogit_acc *a = F->last;
    lg_vcov_parts parts = {
        .d = a->D, .info = a->sums.info, .meat = a->sums.meat, .clusters = &a->sums.clusters, .n = a->sums.nobs};
    return lg_covariance(&parts, F->spec->se, V);
}

static int write_estimates(const mlogit_fit *F, const double *V, cx_result *r, cx_error *err)
{
    const char *y = lg_outcome_name(F->spec->formula);
    size_t p = F->par.p, D = F->last->D;
    for (size_t j = 0; j + 1 < F->par.K; j++) {
        char lhs[2 * CX_NAME_MAX];
        snprintf(lhs, sizeof lhs, "%s[%s]", y, F->labels[j + 1]);
        size_t k = 0;
        for (size_t c = 0; c < F->P; c++) {
            int intercept = cx_design_col_term(F->d, c) < 0;
            double est = NAN, se = NAN;
            if (k < p && F->active[k] == c) {
                size_t i = j * p + k;
                est = F->theta[i];
                se = sqrt(V[i * D + i]);
                k++;
            }
            if (cx_result_add_estimate(r, lhs, intercept ? "~1" : "~",
                                       intercept ? "" : cx_design_colname(F->d, c), 0, est, se, NAN,
                                       err) < 0)
                return err->code ? err->code : CX_ENOMEM;
        }
    }
    return CX_OK;
}

static int write_fit(const mlogit_fit *F, cx_result *r, cx_error *err)
{
    const mlogit_acc *a = F->last;
    return lg_add_level_fits(r, a->sums.ll, a->sums.sum_w, (double)a->D, a->sums.count, a->K,
                             F->rep.iterations, err);
}

static int write_results(mlogit_fit *F, cx_result *r, cx_error *err)
{
    size_t D = F->last->D;
    double *V = malloc((D ? D * D : 1) * sizeof *V);
    if (!V)
        return cx_error_set(err, CX_ENOMEM, "mlogit: out of memory");
    int rc = covariance(F, V);
    if (rc == CX_EFAIL)
        rc = lg_singular_covariance(V, D, r,
                                    "the information matrix is singular (separation or an "
                                    "empty level?): no standard errors");
    if (rc == CX_ENOMEM)
        rc = cx_error_set(err, CX_ENOMEM, "mlogit: out of memory");
    r->nobs = F->last->sums.nobs;
    if (rc == CX_OK)
        rc = write_estimates(F, V, r, err);
    if (rc == CX_OK)
        rc = write_fit(F, r, err);
    if (rc == CX_OK && F->rep.status != CX_OPT_CONVERGED && D > 0) {
        size_t k = lg_weakest(V, F->last->sums.info, D, D), p = F->par.p;
        cx_result_set_status(r, CX_STATUS_NOT_CONVERGED,
                             "mlogit did not converge after %d iterations (%s); the least "
                             "determined term is %s for level %s (separation?)",
                             F->rep.iterations, cx_opt_status_text(F->rep.status),
                             cx_design_colname(F->d, F->active[k % p]), F->labels[k / p + 1]);
    }
    free(V);
    return rc;
}

/* validation: refit from theta = 0 on the rows outside `slot`, then
 * predict the rows in it (what predict(multinom, newdata, "probs") gives). */
static int refit_slot(void *vF, size_t slot, const char *split, cx_error *err)
{
    mlogit_fit *F = vF;
    size_t D = (F->par.K - 1) * F->par.p;
    double *theta = calloc(D ? D : 1, sizeof *theta);
    if (!theta)
        return cx_error_set(err, CX_ENOMEM, "mlogit: out of memory");
    F->par.skip_slot = (long)slot;
    F->par.cluster = 0;
    int rc = mpass(F, theta, 0, err);
    cx_opt_report rep;
    cx_objective obj = {
        .n = D, .sense = CX_OPT_MAXIMIZE, .value = mvalue, .derivatives = mderivatives, .data = F};
    if (rc == CX_OK)
        rc = lg_maximize(&obj, F->last->sums.sum_w, theta, &rep, err);
    F->par.skip_slot = -1;
    if (rc == CX_OK && rep.status != CX_OPT_CONVERGED)
        cx_result_add_warning(F->result, "validation %s: the training fit did not converge (%s)",
                              split, cx_opt_status_text(rep.status));
    F->par.only_slot = (long)slot;
    F->par.predict = 1;
    if (rc == CX_OK)
        rc = mpass(F, theta, 0, err);
    F->par.only_slot = -1;
    F->par.predict = 0;
    free(theta);
    return rc == CX_OK ? lg_write_validation(F->result, split, &F->last->sums, err) : rc;
}

/* bootstrap replicate rep: Newton from the sample's estimates with the
 * replicate's weights; per non-baseline level every design column (NaN
 * where aliased), as the `estimates` rows. */
static int replicate(void *vF, size_t rep, double *est, size_t n, cx_error *err)
{
    mlogit_fit *F = vF;
    size_t p = F->par.p, D = (F->par.K - 1) * p;
    double *theta = malloc((D ? D : 1) * sizeof *theta);
    if (!theta)
        return cx_error_set(err, CX_ENOMEM, "mlogit: out of memory");
    memcpy(theta, F->theta, D * sizeof *theta);
    F->par.boot.rep = (long)rep;
    F->par.cluster = 0;
    cx_opt_report rep_report;
    cx_objective obj = {
        .n = D, .sense = CX_OPT_MAXIMIZE, .value = mvalue, .derivatives = mderivatives, .data = F};
    int rc = lg_maximize(&obj, F->last->sums.sum_w, theta, &rep_report, err);
    F->par.boot.rep = -1;
    if (rc == CX_OK && rep_report.status != CX_OPT_CONVERGED)
        rc = CX_EFAIL;
    size_t i = 0;
    for (size_t j = 0; j + 1 < F->par.K; j++)
        for (size_t c = 0, k = 0; c < F->P && i < n; c++)
            est[i++] = k < p && F->active[k] == c ? theta[j * p + k++] : NAN;
    free(theta);
    return rc;
}

static int mlogit_fit_job(const cx_job *job, cx_result **results, cx_error *err)
{
    logit_spec s;
    mlogit_fit F = {.job = job, .spec = &s, .result = results[0]};
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
        macc_free(F.last);
    cx_rowpass_cache_free(F.cache);
    free(F.active);
    free(F.aliased);
    free(F.theta);
    cx_design_free(F.d);
    lg_spec_free(&s);
    return rc;
}

const cx_model cx_model_mlogit = {
    .name = "mlogit",
    .summary = "multinomial logit as nnet::multinom (first level the baseline)",
    .keys = mlogit_keys,
    .fits_all_levels = 0,
    .supports = CX_SUPPORTS_WEIGHTS | CX_SUPPORTS_BY | CX_SUPPORTS_VALIDATE | CX_SUPPORTS_BOOTSTRAP,
    .check = lg_check,
    .fit = mlogit_fit_job,
};
