/*
 * logit.c — `model = logit`: binary logistic regression (R's
 * glm(family = binomial)), fitted by the engine's optimizer with one
 * streaming pass over the rows per Newton iteration (engine/rowpass.h,
 * logit_pass.c).  docs/models/logit.md is the user's description.
 *
 * Keys: `formula` (docs/FORMULA.md; the outcome is a 0/1 column, a
 * proportion in [0, 1], or a two-level factor — factor(y) or a categorical
 * column, the first level being 0), `scores`, `se` = classical | hc0 | hc1
 * | hc2 | hc3 | cluster(COL).  Engine keys: `weights` (R's prior weights), `by`,
 * `validate = kfold(K) | holdout(EXPR)` (held-out log loss, AUC, Brier,
 * accuracy), `bootstrap` (replicates over the design cache, common.c).
 *
 * Passes: one at b = 0 (X'WX for the aliasing check, as R's QR pivoting
 * reports NA coefficients; also the first Newton iteration's), one per
 * further Newton iteration but the last (the optimizer's predicted stop
 * takes that converged step without a pass), and a final one at the
 * estimates (sandwich meat, cluster sums, fitted probabilities).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "logit_pass.h"
#include "model.h"
#include "optimize.h"
#include "resample.h"

static const char *const logit_keys[] = {"formula", "scores", "se", NULL};

/* ---- the fit ------------------------------------------------------------ */

typedef struct logit_fit {
    const cx_job *job;
    const logit_spec *spec;
    cx_design *d;
    logit_params par;
    size_t p;                /* design columns                       */
    size_t *active;          /* q of them                            */
    int *aliased;            /* p                                    */
    double *beta;            /* q                                    */
    logit_acc *last;         /* the last pass (value() at beta)      */
    double *pass_beta;       /* q: where the last pass was run       */
    int last_final;          /* it collected the final extras        */
    cx_rowpass_split split;  /* the job's `validate`            */
    cx_rowpass_cache *cache; /* the design rows between passes  */
    cx_opt_report rep;
} logit_fit;

static int run_pass(logit_fit *F, const double *beta, int final, cx_error *err)
{
    F->par.beta = beta;
    F->par.final = final;
    /* the same rows as the last pass, unless it used other ones */
    F->par.expect_rows = F->last && F->par.only_slot < 0 ? F->last->n_rows : 0;
    memcpy(F->pass_beta, beta, F->par.q * sizeof *beta);
    F->last_final = final;
    if (F->last)
        logit_pass_type.free(F->last);
    F->last = NULL;
    void *acc;
    logit_pack_register();
    int rc = cx_rowpass_run_cached(F->job->view, F->d, &F->split, &logit_pass_type, &F->par, &acc,
                                   F->job->threads, F->cache, err);
    F->last = acc;
    if (rc == CX_OK && !isfinite(F->last->ll))
        rc = cx_error_set(err, CX_EFAIL, "logit: the log-likelihood is not finite");
    return rc;
}

static int obj_value(const double *x, double *f, void *data, cx_error *err)
{
    logit_fit *F = data;
    /* the optimizer starts where the aliasing pass was run: reuse it */
    int rc = CX_OK;
    if (!(F->last && memcmp(x, F->pass_beta, F->par.q * sizeof *x) == 0))
        rc = run_pass(F, x, 0, err);
    if (rc == CX_OK)
        *f = F->last->ll;
    return rc;
}

/* The pass that gave the value also gave score and information. */
static int obj_derivatives(const double *x, double *grad, double *curv, void *data, cx_error *err)
{
    (void)x;
    (void)err;
    logit_fit *F = data;
    size_t q = F->par.q;
    memcpy(grad, F->last->grad, q * sizeof *grad);
    /* column-major upper == row-major lower: the optimizer reads the lower */
    memcpy(curv, F->last->info, q * q * sizeof *curv);
    return CX_OK;
}

/* Design columns that are linear combinations of earlier ones, from X'WX
 * of the pass at b = 0 (as glm reports NA coefficients). */
static int find_aliased(logit_fit *F, char *msg, size_t msg_size, cx_error *err)
{
    size_t p = F->p;
    const char **names = malloc((p ? p : 1) * sizeof *names);
    if (!names)
        return cx_error_set(err, CX_ENOMEM, "logit: out of memory");
    for (size_t j = 0; j < p; j++)
        names[j] = cx_design_colname(F->d, j);
    long n = cx_design_aliased(F->last->info, p, names, 1e-7, F->aliased, msg, msg_size, err);
    free(names);
    if (n < 0)
        return err->code ? err->code : CX_EFAIL;
    F->par.q = 0;
    for (size_t j = 0; j < p; j++)
        if (!F->aliased[j])
            F->active[F->par.q++] = j;
    return CX_OK;
}

/* The covariance of the estimates asked for by `se` (q x q), from the
 * final pass; n_clusters is set when it used the cluster sums. */
static int covariance(const logit_fit *F, logit_se se, double *V, size_t *n_clusters)
{
    const logit_acc *a = F->last;
    lg_vcov_parts parts = {.d = F->par.q,
                           .info = a->info,
                           .meat = a->meat,
                           .clusters = &a->clusters,
                           .n = (double)a->n_pred};
    int rc = lg_covariance(&parts, se, V);
    if (rc == CX_OK && se == SE_CLUSTER)
        *n_clusters = a->clusters.n;
    return rc;
}

/* ---- fit measures --------------------------------------------------------- */

typedef struct pred_row {
    double p, w1, w0; /* fitted probability; weight of the row as a 1 and as a 0 */
} pred_row;

/* Classification metrics from fitted probabilities p, outcomes y in
 * [0, 1] and weights w: a row counts w y as a 1 and w (1 - y) as a 0. */
typedef struct logit_metrics {
    double auc, brier, accuracy;
    double confusion[2][2]; /* [observed][predicted], weighted counts */
} logit_metrics;

/* LSD radix sorts, six 11-bit digits (2048 buckets: the scatter's write
 * positions stay in L1, where 16-bit digits thrashed the TLB), all six
 * histograms from one read of the keys; a pass whose digit is the same
 * for every key (the exponent's, for most fits) is skipped.  tmp has n
 * elements, count RADIX_PASSES x RADIX_BUCKETS.  Stable, O(n): a
 * comparison sort of 1M rows costs more than a streaming pass.
 * Non-negative doubles order as their bit patterns. */
#define RADIX_BITS 11
#define RADIX_PASSES 6
#define RADIX_BUCKETS ((size_t)1 << RADIX_BITS)
#define RADIX_DIGIT(bits, d) ((size_t)((bits) >> (RADIX_BITS * (d))) & (RADIX_BUCKETS - 1))

static uint64_t prob_bits(double p)
{
    uint64_t bits;
    memcpy(&bits, &p, sizeof bits);
    return bits;
}

/* count[d] := the first position of each digit value in pass d; run[d]
 * := 0 when one digit value holds all n keys (the pass would not move
 * anything). */
static void radix_offsets(size_t *count, size_t n, int *run)
{
    for (int d = 0; d < RADIX_PASSES; d++) {
        size_t sum = 0, *c = count + d * RADIX_BUCKETS;
        run[d] = 1;
        for (size_t v = 0; v < RADIX_BUCKETS; v++) {
            size_t k = c[v];
            run[d] &= k != n;
            c[v] = sum;
            sum += k;
        }
    }
}

/* Sort 64-bit keys; returns where the sorted keys are (keys or tmp). */
static uint64_t *sort_keys(uint64_t *keys, uint64_t *tmp, size_t *count, size_t n)
{
    int run[RADIX_PASSES];
    memset(count, 0, RADIX_PASSES * RADIX_BUCKETS * sizeof *count);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < RADIX_PASSES; d++)
            count[d * RADIX_BUCKETS + RADIX_DIGIT(keys[i], d)]++;
    radix_offsets(count, n, run);
    uint64_t *src = keys, *dst = tmp;
    for (int d = 0; d < RADIX_PASSES; d++) {
        if (!run[d])
            continue;
        size_t *c = count + d * RADIX_BUCKETS;
        for (size_t i = 0; i < n; i++)
            dst[c[RADIX_DIGIT(src[i], d)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* Sort rows by p; returns where the sorted rows are (rows or tmp). */
static pred_row *sort_by_prob(pred_row *rows, pred_row *tmp, size_t *count, size_t n)
{
    int run[RADIX_PASSES];
    memset(count, 0, RADIX_PASSES * RADIX_BUCKETS * sizeof *count);
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = prob_bits(rows[i].p);
        for (int d = 0; d < RADIX_PASSES; d++)
            count[d * RADIX_BUCKETS + RADIX_DIGIT(bits, d)]++;
    }
    radix_offsets(count, n, run);
    pred_row *src = rows, *dst = tmp;
    for (int d = 0; d < RADIX_PASSES; d++) {
        if (!run[d])
            continue;
        size_t *c = count + d * RADIX_BUCKETS;
        for (size_t i = 0; i < n; i++)
            dst[c[RADIX_DIGIT(prob_bits(src[i].p), d)]++] = src[i];
        pred_row *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* The Mann-Whitney sums of the AUC over rows sorted by p: a group of tied
 * p with outcome weights w1 (y = 1) and w0 (y = 0) counts its pairs with
 * every y = 0 row below it, and half of those within it. */
typedef struct auc_sums {
    double below0, num, sum1, sum0;
} auc_sums;

static void auc_add_tie_group(auc_sums *a, double w1, double w0)
{
    a->num += w1 * (a->below0 + 0.5 * w0);
    a->below0 += w0;
    a->sum1 += w1;
    a->sum0 += w0;
}

static double auc_value(const auc_sums *a)
{
    return a->sum1 > 0 && a->sum0 > 0 ? a->num / (a->sum1 * a->sum0) : NAN;
}

/* AUC = P(p of a 1 > p of a 0) + P(tie) / 2 (the Mann-Whitney statistic;
 * pROC / ROCR's value), exact: one sort. */
static double auc_of(pred_row *rows, pred_row *tmp, size_t *count, size_t n)
{
    rows = sort_by_prob(rows, tmp, count, n);
    auc_sums acc = {0};
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double w1 = 0, w0 = 0;
        while (j < n && rows[j].p == rows[i].p) {
            w1 += rows[j].w1;
            w0 += rows[j].w0;
            j++;
        }
        auc_add_tie_group(&acc, w1, w0);
        i = j;
    }
    return auc_value(&acc);
}

/* The same for unit weights and 0/1 outcomes (every fit without weights):
 * a row is one 64-bit key, p's bits shifted up by one (p <= 1 leaves the
 * top bit free) with y in the lowest bit, a third of a pred_row's bytes
 * to sort; rows with equal p stay adjacent. */
static double auc_of_unit(const double *p, const double *y, uint64_t *keys, size_t *count, size_t n)
{
    for (size_t i = 0; i < n; i++)
        keys[i] = prob_bits(p[i]) << 1 | (y[i] == 1);
    keys = sort_keys(keys, keys + n, count, n);
    auc_sums acc = {0};
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double w1 = 0, w0 = 0;
        while (j < n && keys[j] >> 1 == keys[i] >> 1) {
            double one = (double)(keys[j] & 1);
            w1 += one;
            w0 += 1 - one;
            j++;
        }
        auc_add_tie_group(&acc, w1, w0);
        i = j;
    }
    return auc_value(&acc);
}

/* Brier, accuracy, confusion and AUC of fitted probabilities p, outcomes
 * y in [0, 1], weights w; the log loss is -ll / sum w of the pass that
 * made the predictions (the caller's), exact from eta. */
static int metrics_of(const double *p, const double *y, const double *w, size_t n, logit_metrics *m)
{
    memset(m, 0, sizeof *m);
    double sw = 0, brier = 0;
    int unit = 1;
    for (size_t i = 0; i < n; i++) {
        double pi = p[i], yi = y[i], wi = w[i];
        sw += wi;
        brier += wi * (yi - pi) * (yi - pi);
        int pred = pi >= 0.5;
        m->confusion[1][pred] += wi * yi;
        m->confusion[0][pred] += wi * (1 - yi);
        unit &= wi == 1 && (yi == 0 || yi == 1) && pi >= 0 && pi <= 1;
    }
    m->brier = brier / sw;
    m->accuracy = (m->confusion[0][0] + m->confusion[1][1]) / sw;
    cx_error ignore; /* the caller reports out of memory */
    size_t *count = malloc(RADIX_PASSES * RADIX_BUCKETS * sizeof *count);
    void *rows = cx_malloc_block_buffer(
        2 * (n ? n : 1) * (unit ? sizeof(uint64_t) : sizeof(pred_row)), &ignore);
    if (!rows || !count) {
        free(rows);
        free(count);
        return CX_ENOMEM;
    }
    if (unit) {
        m->auc = auc_of_unit(p, y, rows, count, n);
    } else {
        pred_row *pr = rows;
        for (size_t i = 0; i < n; i++)
            pr[i] = (pred_row){p[i], w[i] * y[i], w[i] * (1 - y[i])};
        m->auc = auc_of(pr, pr + n, count, n);
    }
    free(rows);
    free(count);
    return CX_OK;
}

/* One row per design column, R's order; aliased columns as R's NA. */
static int write_estimates(const logit_fit *F, const double *V, cx_result *r, cx_error *err)
{
    const char *lhs = lg_outcome_name(F->spec->formula);
    size_t q = F->par.q, k = 0;
    for (size_t j = 0; j < F->p; j++) {
        int intercept = cx_design_col_term(F->d, j) < 0;
        double est = NAN, se = NAN;
        if (!F->aliased[j]) {
            est = F->beta[k];
            se = sqrt(V[k * q + k]);
            k++;
        }
        if (cx_result_add_estimate(r, lhs, intercept ? "~1" : "~",
                                   intercept ? "" : cx_design_colname(F->d, j), 0, est, se, NAN,
                                   err) < 0)
            return err->code ? err->code : CX_ENOMEM;
    }
    return CX_OK;
}

/* Likelihood-based measures (R's logLik, deviance, AIC, BIC; McFadden's
 * and Nagelkerke's pseudo-R2 with n = the sum of weights) and the
 * classification metrics at a 0.5 cut. */
static int write_fit(const logit_fit *F, const logit_metrics *m, cx_result *r, cx_error *err)
{
    const logit_acc *a = F->last;
    double q = (double)F->par.q, sw = a->sum_w, ll = a->ll;
    double ll0;
    if (F->spec->formula->intercept) {
        double ybar = a->sum_wy / sw;
        ll0 = (a->sum_wy > 0 ? a->sum_wy * log(ybar) : 0) +
              (sw - a->sum_wy > 0 ? (sw - a->sum_wy) * log1p(-ybar) : 0);
    } else {
        ll0 = sw * log(0.5); /* R: the null model of a no-intercept fit is mu = 1/2 */
    }
    double cox_snell = 1 - exp(2 * (ll0 - ll) / sw);
    const char *names[] = {"logl", "deviance", "null_deviance", "aic",         "bic",
                           "npar", "nobs",     "df_residual",   "r2_mcfadden", "r2_nagelkerke",
                           "auc",  "brier",    "logloss",       "accuracy",    "iterations"};
    double values[] = {ll,
                       2 * (a->ll_sat - ll),
                       2 * (a->ll_sat - ll0),
                       -2 * ll + 2 * q,
                       -2 * ll + log(a->nobs) * q,
                       q,
                       a->nobs,
                       a->nobs - q,
                       1 - ll / ll0,
                       cox_snell / (1 - exp(2 * ll0 / sw)),
                       m->auc,
                       m->brier,
                       -ll / sw,
                       m->accuracy,
                       (double)F->rep.iterations};
    return lg_add_fits(r, names, values, sizeof values / sizeof values[0], err);
}

/* Table `confusion`: observed x predicted (cut 0.5), weighted counts. */
static int write_confusion(const logit_metrics *m, cx_result *r, cx_error *err)
{
    cx_rtable *t = cx_result_table(r, "confusion", err);
    if (!t || cx_rtable_add_column(t, "observed", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "predicted", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "n", CX_RCOL_DOUBLE, err))
        return err->code ? err->code : CX_ENOMEM;
    for (int o = 0; o < 2; o++)
        for (int p = 0; p < 2; p++) {
            long row = cx_rtable_add_row(t, err);
            if (row < 0)
                return err->code ? err->code : CX_ENOMEM;
            cx_rtable_set_int(t, (size_t)row, "observed", o);
            cx_rtable_set_int(t, (size_t)row, "predicted", p);
            cx_rtable_set_double(t, (size_t)row, "n", m->confusion[o][p]);
        }
    return CX_OK;
}

/* The coefficient least determined by the data: the largest variance
 * inflation V_jj I_jj (it explodes for a term that separates the
 * outcome), for naming the term in separation and non-convergence. */
static const char *weakest_term(const logit_fit *F, const double *V)
{
    size_t q = F->par.q, best = 0;
    double worst = -1;
    for (size_t k = 0; k < q; k++) {
        if (cx_design_col_term(F->d, F->active[k]) < 0 && q > 1)
            continue;
        double infl = V[k * q + k] * F->last->info[k * q + k];
        if (!(infl <= worst)) {
            worst = infl;
            best = k;
        }
    }
    return q ? cx_design_colname(F->d, F->active[best]) : "(none)";
}

static void report_status(const logit_fit *F, const double *V, cx_result *r)
{
    const char *term = weakest_term(F, V);
    if (F->rep.status != CX_OPT_CONVERGED)
        cx_result_set_status(r, CX_STATUS_NOT_CONVERGED,
                             "logit did not converge after %d iterations (%s); the least "
                             "determined term is %s (separation?)",
                             F->rep.iterations, cx_opt_status_text(F->rep.status), term);
    if (F->last->n_extreme > 0)
        cx_result_add_warning(r,
                              "fitted probabilities within 1e-8 of 0 or 1 for %zu rows: "
                              "(quasi-)separation, most likely by %s; its coefficient and SE "
                              "are not meaningful",
                              F->last->n_extreme, term);
}

static void fit_free(logit_fit *F)
{
    if (F->last)
        logit_pass_type.free(F->last);
    free(F->active);
    free(F->aliased);
    free(F->beta);
    free(F->pass_beta);
    cx_rowpass_cache_free(F->cache);
    cx_design_free(F->d);
}

static int outcome_kind(logit_fit *F, const cx_job *job, cx_error *err)
{
    const char *const *labels;
    size_t k = cx_design_outcome_levels(F->d, &labels);
    if (k != 0 && k != 2)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "the outcome has %zu levels: logit needs two (use ologit or "
                            "mlogit for more)",
                            k);
    F->par.factor_outcome = k == 2;
    return CX_OK;
}

/* Maximize the log-likelihood from beta (in: start, out: estimates) over
 * the rows the params select; one pass per iteration. */
static int newton(logit_fit *F, double *beta, cx_opt_report *rep, cx_error *err)
{
    double sum_w = F->last ? F->last->sum_w : 1;
    cx_optimizer *opt = cx_optimizer_alloc(F->par.q, err);
    if (!opt)
        return err->code;
    cx_objective obj = {.n = F->par.q,
                        .sense = CX_OPT_MAXIMIZE,
                        .value = obj_value,
                        .derivatives = obj_derivatives,
                        .data = F};
    /* the score grows with the data: the gradient test is relative to it.
     * Newton converges quadratically: once the (undamped) Newton step at
     * b_k moves every estimate by less than 1e-4 relative, b_k + step is
     * within ~1e-8 of the optimum (the next step would be ~1e-9: measured
     * on 1M rows).  The optimizer's predicted stop takes that step without
     * evaluating it — one streaming pass fewer than testing the evaluated
     * step — and the caller's final pass is at the returned point anyway */
    cx_opt_options o = {.gtol = 1e-8 * fmax(1.0, sum_w), .xtol = 1e-4, .predict_stop = 1};
    cx_optimizer_run(opt, &obj, beta, &o, rep, err);
    cx_optimizer_free(opt);
    if (rep->status == CX_OPT_EVAL_FAILED)
        return err->code ? err->code : CX_EFAIL;
    return CX_OK;
}

/* se = hc2 / hc3: the final pass needs (X'WX)^-1 at the estimates for
 * the hat values, so it follows a pass there (the optimizer's last). */
static int hat_pass(logit_fit *F, cx_error *err)
{
    size_t q = F->par.q;
    int rc = CX_OK;
    if (!F->last || memcmp(F->pass_beta, F->beta, q * sizeof *F->beta) != 0)
        rc = run_pass(F, F->beta, 0, err);
    double *A = malloc((q ? q * q : 1) * sizeof *A);
    if (rc == CX_OK && !A)
        rc = cx_error_set(err, CX_ENOMEM, "logit: out of memory");
    if (rc == CX_OK) {
        memcpy(A, F->last->info, q * q * sizeof *A);
        lg_symmetrize(A, q);
        /* singular: no hat values, and the covariance fails on its own */
        int ok = lg_invert_spd(A, q) == CX_OK;
        F->par.hat_inv = ok ? A : NULL;
        F->par.hat_power = F->spec->se == SE_HC2 ? 1 : 2;
        rc = run_pass(F, F->beta, 1, err);
        F->par.hat_inv = NULL;
    }
    free(A);
    return rc;
}

/* Prepare the design, drop aliased columns, iterate. */
static int fit_coefficients(logit_fit *F, cx_result *r, cx_error *err)
{
    const cx_job *job = F->job;
    int rc = cx_design_prepare(F->d, job->view, err);
    if (rc != CX_OK)
        return cx_job_error(job, "formula", err, rc, "%s", err->msg);
    if ((rc = outcome_kind(F, job, err)) != CX_OK)
        return rc;
    F->p = cx_design_ncols(F->d);
    F->active = calloc(F->p ? F->p : 1, sizeof *F->active);
    F->aliased = calloc(F->p ? F->p : 1, sizeof *F->aliased);
    F->beta = calloc(F->p ? F->p : 1, sizeof *F->beta);
    F->pass_beta = calloc(F->p ? F->p : 1, sizeof *F->pass_beta);
    F->cache = cx_rowpass_cache_alloc(CX_ROWPASS_CACHE_BUDGET, err);
    if (!F->active || !F->aliased || !F->beta || !F->pass_beta || !F->cache)
        return cx_error_set(err, CX_ENOMEM, "logit: out of memory");
    for (size_t j = 0; j < F->p; j++)
        F->active[j] = j;
    F->par.q = F->p;
    F->par.active = F->active;
    F->par.cluster = F->spec->se == SE_CLUSTER;
    F->par.meat = F->spec->se != SE_CLASSICAL && F->spec->se != SE_CLUSTER;
    F->par.skip_slot = F->par.only_slot = -1;
    F->par.boot = (lg_boot){.rep = -1, .seed = job->seed, .key_extra = F->spec->boot_extra};
    F->split = (cx_rowpass_split){.kind = job->validate,
                                  .k = job->kfold > 0 ? (size_t)job->kfold : 0,
                                  .seed = job->seed,
                                  .holdout = job->holdout};
    if ((rc = run_pass(F, F->beta, 0, err)) != CX_OK)
        return rc;
    if (F->last->nobs == 0)
        return cx_error_set(err, CX_EFAIL, "logit: no complete rows to fit");
    char msg[512];
    if ((rc = find_aliased(F, msg, sizeof msg, err)) != CX_OK)
        return rc;
    if (msg[0])
        cx_result_add_warning(r, "%s (coefficients NA, as R reports them)", msg);
    if (F->par.q < F->p) { /* the first pass had more columns: not reusable */
        logit_pass_type.free(F->last);
        F->last = NULL;
    }
    /* the optimizer starts at b = 0, where the first pass was run (its
     * value() reuses it).  The Newton passes collect nothing for the
     * estimates' extras (meat, cluster sums, fitted probabilities): the
     * optimizer's predicted stop returns a point past its last pass, so
     * one final pass at the estimates collects them, streamed or cached */
    rc = newton(F, F->beta, &F->rep, err);
    if (rc != CX_OK)
        return rc;
    if (F->spec->se == SE_HC2 || F->spec->se == SE_HC3)
        return hat_pass(F, err);
    if (F->last_final && memcmp(F->pass_beta, F->beta, F->par.q * sizeof *F->beta) == 0)
        return CX_OK;
    return run_pass(F, F->beta, 1, err);
}

static int write_results(logit_fit *F, cx_result *r, cx_error *err)
{
    size_t q = F->par.q, G = 0;
    double *V = malloc((q ? q * q : 1) * sizeof *V);
    if (!V)
        return cx_error_set(err, CX_ENOMEM, "logit: out of memory");
    int rc = covariance(F, F->spec->se, V, &G);
    if (rc == CX_EFAIL)
        rc = lg_singular_covariance(V, q, r,
                                    "the information matrix is singular: no standard errors");
    logit_metrics m;
    if (rc == CX_OK)
        rc = metrics_of(F->last->pred, F->last->y, F->last->w, F->last->n_pred, &m);
    if (rc == CX_ENOMEM)
        rc = cx_error_set(err, CX_ENOMEM, "logit: out of memory");
    r->nobs = F->last->nobs;
    if (rc == CX_OK)
        rc = write_estimates(F, V, r, err);
    if (rc == CX_OK)
        rc = write_fit(F, &m, r, err);
    if (rc == CX_OK && F->spec->se == SE_CLUSTER)
        rc = cx_result_add_fit(r, "clusters", (double)G, err);
    if (rc == CX_OK)
        rc = write_confusion(&m, r, err);
    if (rc == CX_OK)
        report_status(F, V, r);
    free(V);
    return rc;
}

/* ---- validation ------------------------------------------------------- */

/* Refit on the rows outside `slot`, predict the rows in it: held-out log
 * loss, AUC, Brier and accuracy (what R's predict(type = "response") on
 * those rows gives). */
static int validate_slot(logit_fit *F, size_t slot, const char *split, cx_result *r, cx_error *err)
{
    size_t q = F->par.q;
    double *beta = calloc(q ? q : 1, sizeof *beta);
    if (!beta)
        return cx_error_set(err, CX_ENOMEM, "logit: out of memory");
    cx_opt_report rep;
    logit_pass_type.free(F->last); /* a pass over other rows: never reuse it */
    F->last = NULL;
    F->par.skip_slot = (long)slot;
    F->par.cluster = F->par.meat = 0; /* held-out metrics need neither */
    int rc = newton(F, beta, &rep, err);
    F->par.skip_slot = -1;
    if (rc == CX_OK && rep.status != CX_OPT_CONVERGED)
        cx_result_add_warning(r, "validation %s: the training fit did not converge (%s)", split,
                              cx_opt_status_text(rep.status));
    F->par.only_slot = (long)slot;
    if (rc == CX_OK)
        rc = run_pass(F, beta, 1, err);
    F->par.only_slot = -1;
    free(beta);
    if (rc != CX_OK)
        return rc;
    logit_metrics m;
    if (metrics_of(F->last->pred, F->last->y, F->last->w, F->last->n_pred, &m) != CX_OK)
        return cx_error_set(err, CX_ENOMEM, "logit: out of memory");
    const char *names[] = {"n", "logloss", "auc", "brier", "accuracy"};
    double values[] = {(double)F->last->n_pred, -F->last->ll / F->last->sum_w, m.auc, m.brier,
                       m.accuracy};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (cx_result_add_validation(r, split, names[i], values[i], err) != CX_OK)
            return err->code ? err->code : CX_ENOMEM;
    return CX_OK;
}

static int validate(logit_fit *F, cx_result *r, cx_error *err)
{
    char split[32];
    if (F->split.kind == CX_VALIDATE_HOLDOUT)
        return validate_slot(F, 1, "holdout", r, err);
    for (size_t k = 0; F->split.kind == CX_VALIDATE_KFOLD && k < F->split.k; k++) {
        snprintf(split, sizeof split, "fold%zu", k + 1);
        int rc = validate_slot(F, k, split, r, err);
        if (rc != CX_OK)
            return rc;
    }
    return CX_OK;
}

/* ---- bootstrap ---------------------------------------------------------- */

/* Replicate rep: Newton from the sample's estimates with the replicate's
 * weights; its estimates in the order of the `estimates` rows. */
static int replicate(void *vF, size_t rep, double *est, size_t n, cx_error *err)
{
    logit_fit *F = vF;
    size_t q = F->par.q;
    double *beta = malloc((q ? q : 1) * sizeof *beta);
    if (!beta)
        return cx_error_set(err, CX_ENOMEM, "logit: out of memory");
    memcpy(beta, F->beta, q * sizeof *beta);
    logit_pass_type.free(F->last); /* a pass with other weights: never reuse it */
    F->last = NULL;
    F->par.boot.rep = (long)rep;
    F->par.cluster = 0;
    cx_opt_report rep_report;
    int rc = newton(F, beta, &rep_report, err);
    F->par.boot.rep = -1;
    if (rc == CX_OK && rep_report.status != CX_OPT_CONVERGED)
        rc = CX_EFAIL;
    for (size_t j = 0, k = 0; j < n && j < F->p; j++)
        est[j] = F->aliased[j] ? NAN : beta[k++];
    free(beta);
    return rc;
}

static int logit_fit_job(const cx_job *job, cx_result **results, cx_error *err)
{
    logit_spec s;
    logit_fit F = {.job = job, .spec = &s};
    int rc = lg_open_job(job, &s, &F.d, err);
    if (rc == CX_OK)
        rc = fit_coefficients(&F, results[0], err);
    if (rc == CX_OK)
        rc = write_results(&F, results[0], err);
    if (rc == CX_OK && job->validate != CX_VALIDATE_NONE)
        rc = validate(&F, results[0], err);
    if (rc == CX_OK && job->bootstrap > 0)
        rc = lg_bootstrap(job, results[0], replicate, &F, err);
    fit_free(&F);
    lg_spec_free(&s);
    return rc;
}

const cx_model cx_model_logit = {
    .name = "logit",
    .summary = "binary logistic regression (glm binomial): robust/cluster SEs, AUC, Brier",
    .keys = logit_keys,
    .fits_all_levels = 0,
    .supports = CX_SUPPORTS_WEIGHTS | CX_SUPPORTS_BY | CX_SUPPORTS_VALIDATE | CX_SUPPORTS_BOOTSTRAP,
    .check = lg_check,
    .fit = logit_fit_job,
};
