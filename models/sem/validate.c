/*
 * validate.c — see validate.h.
 *
 * With Sigma_g, mu_g the training solution's implied moments of group g
 * and S_g, m_g, N_g the held-out ML covariance (divisor N), means and
 * rows (N = sum N_g, p variables, G groups):
 *   loglik_per_row = -1/(2N) sum_g N_g [p log 2pi + log|Sigma_g|
 *                      + tr(S_g Sigma_g^-1) + (m_g - mu_g)' Sigma_g^-1 (m_g - mu_g)]
 *     (mu_g = the training means when the model has no mean structure);
 *   F_g   = log|Sigma_g| + tr(S_g Sigma_g^-1) - log|S_g| - p
 *           [+ (m_g - mu_g)' Sigma_g^-1 (m_g - mu_g) with a mean structure];
 *   chisq = sum_g N_g F_g;  df = the training model's df;
 *   rmsea = sqrt(G) sqrt(max(0, (chisq - df) / (df N)))   (lavaan's form);
 *   srmr  = sqrt(mean over g and i <= j of ((s_ij - sigma_ij) / sqrt(s_ii s_jj))^2
 *           [and, with a mean structure, of ((m_i - mu_i) / sqrt(s_ii))^2]);
 *   cfi   = 1 - max(chisq - df, 0) / max(chisq - df, chisq_b - df_b, 0),
 *           chisq_b the same discrepancy for the independence model fitted
 *           to the training rows (diag of the training covariances, the
 *           training means), df_b its df; 1 when both are <= 0.
 *
 * missing = fiml (the samples carry missing patterns, fiml.h): with f_g
 * the held-out rows' casewise -2 loglikelihood / N_g without the 2 pi
 * terms (sem_patterns_f) at the training solution, h1_g the same at the
 * held-out rows' own EM saturated moments and V_g their observed cells,
 *   loglik_per_row = -1/(2N) sum_g [V_g log 2pi + N_g f_g],
 *   chisq = sum_g N_g (f_g - h1_g)  (the held-out FIML likelihood ratio),
 * rmsea as above; srmr as above with the held-out EM moments for S_g and
 * m_g (lavaan's srmr with missing = "ml" uses its EM h1 too); cfi's
 * independence model is the training rows' FIML one (its means and
 * variances), its chisq_b = sum_g N_g (f_b,g - h1_g) on the held-out rows.
 */
#include "validate.h"

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "est_internal.h"
#include "fiml.h"
#include "matrices.h"

/* Implied Sigma and mu of every group at pt's estimates. */
static int implied_moments(const sem_partable *pt, sem_model *mod, cx_error *err)
{
    int rc = sem_model_init(mod, pt, err);
    if (rc != CX_OK)
        return rc;
    sem_model_clear(mod);
    for (size_t k = 0; k < pt->n_rows && rc == CX_OK; k++) {
        const sem_param *r = &pt->rows[k];
        if (r->op > SEM_OP_THRESHOLD)
            continue; /* :=, ==, <, > */
        sem_target t;
        cx_error ignore = {0};
        if (sem_model_target(mod, r->lhs, r->op, r->rhs, r->group, &t, &ignore) != CX_OK ||
            t.mat == SEM_MAT_NONE)
            continue;
        sem_model_set(mod, &t, r->est);
    }
    return sem_model_implied(mod, err);
}

/* Discrepancy pieces of one group: log|Sigma|, tr(S Sigma^-1) and the
 * mean term d' Sigma^-1 d, with Sigma^-1 from a Cholesky factor. */
typedef struct group_fit {
    double logdet, trace, mean_term;
} group_fit;

static int group_pieces(const double *sigma, const double *mu, const sem_sample *test, size_t p,
                        group_fit *out, cx_error *err)
{
    double *inv = malloc(p * p * sizeof *inv), *d = malloc(p * sizeof *d);
    if (!inv || !d) {
        free(inv);
        free(d);
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    }
    memcpy(inv, sigma, p * p * sizeof *inv);
    int rc = sem_log_det_spd(inv, p, &out->logdet);
    if (rc == CX_OK) {
        memcpy(inv, sigma, p * p * sizeof *inv);
        if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)p, inv, (lapack_int)p) != 0 ||
            LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', (lapack_int)p, inv, (lapack_int)p) != 0)
            rc = CX_EFAIL;
    }
    if (rc != CX_OK) {
        free(inv);
        free(d);
        return cx_error_set(err, CX_EFAIL, "the training solution's implied covariance matrix "
                                           "is not positive definite");
    }
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < i; j++)
            inv[i * p + j] = inv[j * p + i];
    out->trace = out->mean_term = 0;
    for (size_t i = 0; i < p; i++) {
        d[i] = test->mean[i] - mu[i];
        for (size_t j = 0; j < p; j++)
            out->trace += test->cov[i * p + j] * inv[j * p + i];
    }
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            out->mean_term += d[i] * inv[i * p + j] * d[j];
    free(inv);
    free(d);
    return CX_OK;
}

/* log|S| of a held-out covariance. */
static int logdet_of(const double *s, size_t p, double *out, cx_error *err)
{
    double *a = malloc(p * p * sizeof *a);
    if (!a)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    memcpy(a, s, p * p * sizeof *a);
    int rc = sem_log_det_spd(a, p, out);
    free(a);
    if (rc != CX_OK)
        return cx_error_set(err, CX_EFAIL,
                            "the held-out covariance matrix is not positive definite");
    return CX_OK;
}

/* The independence model of the training rows on the held-out ones:
 * sum_g N_g F_g with Sigma = diag(training variances), mu = training means. */
static double baseline_chisq(const sem_sample *train, const sem_sample *test, size_t G, size_t p,
                             int meanstructure, const double *logdet_s)
{
    double chisq = 0;
    for (size_t g = 0; g < G; g++) {
        double f = -logdet_s[g] - (double)p;
        for (size_t i = 0; i < p; i++) {
            double v = train[g].cov[i * p + i], d = test[g].mean[i] - train[g].mean[i];
            f += log(v) + test[g].cov[i * p + i] / v + (meanstructure ? d * d / v : 0);
        }
        chisq += test[g].n * f;
    }
    return chisq;
}

/* missing = fiml: the held-out pieces of group g (see the header comment):
 * V log 2pi + N f, N (f - h1) and N (f_b - h1) with the training
 * independence model. */
static int fiml_pieces(const double *sigma, const double *mu, const sem_sample *train,
                       const sem_sample *test, size_t p, double *ll2, double *chisq,
                       double *chisq_b, cx_error *err)
{
    const sem_patterns *s = test->patterns, *tr = train->patterns;
    double *work = malloc(sizeof(double) * (4 * p * p + p + 1));
    if (!work)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    double *diag = work + 3 * p * p + p, f = 0, fb = 0;
    memset(diag, 0, sizeof(double) * p * p);
    for (size_t i = 0; i < p; i++)
        diag[i * p + i] = tr->base_var[i];
    int rc = sem_patterns_f(s, sigma, mu, work, &f) == CX_OK &&
                     sem_patterns_f(s, diag, tr->base_mean, work, &fb) == CX_OK
                 ? CX_OK
                 : cx_error_set(err, CX_EFAIL,
                                "an implied covariance matrix is not positive definite on the "
                                "held-out rows' patterns");
    free(work);
    *ll2 = s->n_values * log(2 * 3.14159265358979323846) + s->n * f;
    *chisq = s->n * (f - s->h1_f);
    *chisq_b = s->n * (fb - s->h1_f);
    return rc;
}

int sem_validation_metrics(const sem_partable *pt, double df, double baseline_df,
                           const sem_sample *train, const sem_sample *test, sem_oos *out,
                           cx_error *err)
{
    size_t p = pt->n_ov, G = pt->n_groups ? pt->n_groups : 1;
    sem_model mod = {0};
    double *logdet_s = calloc(G, sizeof *logdet_s);
    int rc = logdet_s ? implied_moments(pt, &mod, err) : CX_ENOMEM;
    double N = 0, ntr = 0, ll = 0, chisq = 0, ss = 0, count = 0, fiml_chisq_b = 0;
    for (size_t g = 0; rc == CX_OK && g < G; g++) {
        const sem_group_matrices *m = &mod.grp[g];
        const double *mu = pt->meanstructure ? m->mu : train[g].mean;
        group_fit gf;
        double n = test[g].n;
        if (test[g].patterns) { /* missing = fiml */
            double ll2 = 0, x2 = 0, x2b = 0;
            rc = fiml_pieces(m->sigma, mu, &train[g], &test[g], p, &ll2, &x2, &x2b, err);
            ll -= 0.5 * ll2;
            chisq += x2;
            fiml_chisq_b += x2b;
        } else {
            rc = group_pieces(m->sigma, mu, &test[g], p, &gf, err);
            if (rc == CX_OK)
                rc = logdet_of(test[g].cov, p, &logdet_s[g], err);
            ll += -0.5 * n * ((double)p * log(2 * 3.14159265358979323846) + gf.logdet +
                              gf.trace + gf.mean_term);
            chisq += n * (gf.logdet + gf.trace - logdet_s[g] - (double)p +
                          (pt->meanstructure ? gf.mean_term : 0));
        }
        if (rc != CX_OK)
            break;
        N += n;
        ntr += train[g].n;
        for (size_t i = 0; i < p; i++) {
            double sii = test[g].cov[i * p + i];
            for (size_t j = 0; j <= i; j++) {
                double sjj = test[g].cov[j * p + j];
                double r = (test[g].cov[i * p + j] - m->sigma[i * p + j]) / sqrt(sii * sjj);
                ss += r * r;
                count++;
            }
            if (pt->meanstructure) {
                double r = (test[g].mean[i] - mu[i]) / sqrt(sii);
                ss += r * r;
                count++;
            }
        }
    }
    if (rc == CX_OK) {
        double chisq_b = test[0].patterns
                             ? fiml_chisq_b
                             : baseline_chisq(train, test, G, p, pt->meanstructure, logdet_s);
        double num = fmax(chisq - df, 0), den = fmax(fmax(chisq - df, chisq_b - baseline_df), 0);
        out->n_train = ntr;
        out->n_test = N;
        out->loglik_per_row = ll / N;
        out->chisq = chisq;
        out->rmsea = df > 0 ? sqrt((double)G) * sqrt(fmax(0, (chisq - df) / (df * N))) : NAN;
        out->srmr = sqrt(ss / count);
        out->cfi = den > 0 ? 1 - num / den : 1;
    }
    if (logdet_s)
        sem_model_free(&mod);
    free(logdet_s);
    return rc;
}

/* ---- per job ---------------------------------------------------------------- */

struct sem_validation {
    size_t n_levels, n_splits;
    int kfold;
    sem_oos *oos;   /* n_levels x n_splits */
    char (*why)[CX_ERROR_MSG_MAX]; /* "" when scored */
};

sem_validation *sem_validation_alloc(const cx_job *job, size_t n_levels, size_t n_splits,
                                     cx_error *err)
{
    sem_validation *v = cx_calloc(1, sizeof *v, err);
    if (!v)
        return NULL;
    v->n_levels = n_levels;
    v->n_splits = n_splits;
    v->kfold = job->validate == CX_VALIDATE_KFOLD;
    v->oos = cx_calloc(n_levels * n_splits, sizeof *v->oos, err);
    v->why = cx_calloc(n_levels * n_splits, sizeof *v->why, err);
    if (!v->oos || !v->why) {
        sem_validation_free(v);
        return NULL;
    }
    for (size_t i = 0; i < n_levels * n_splits; i++)
        snprintf(v->why[i], sizeof v->why[i], "not fitted");
    return v;
}

void sem_validation_free(sem_validation *v)
{
    if (!v)
        return;
    free(v->oos);
    free(v->why);
    free(v);
}

int sem_validation_score(sem_validation *v, size_t l, size_t k, const sem_partable *pt,
                         const sem_fit *fit, const sem_sample *train, const sem_sample *test,
                         cx_error *err)
{
    size_t i = l * v->n_splits + k;
    int rc = sem_validation_metrics(pt, sem_fit_measure(fit, "df"),
                                    sem_fit_measure(fit, "baseline.df"), train, test, &v->oos[i],
                                    err);
    if (rc == CX_OK)
        v->why[i][0] = '\0';
    return rc;
}

void sem_validation_fail(sem_validation *v, size_t l, size_t k, const char *why)
{
    snprintf(v->why[l * v->n_splits + k], CX_ERROR_MSG_MAX, "%s", why && *why ? why : "failed");
}

size_t sem_validation_pack(const sem_validation *v, size_t l, size_t k, void *buf)
{
    size_t i = l * v->n_splits + k;
    if (buf) {
        memcpy(buf, &v->oos[i], sizeof v->oos[i]);
        memcpy((char *)buf + sizeof v->oos[i], v->why[i], sizeof v->why[i]);
    }
    return sizeof v->oos[i] + sizeof v->why[i];
}

int sem_validation_unpack(sem_validation *v, size_t l, size_t k, const void *buf, size_t size,
                          cx_error *err)
{
    size_t i = l * v->n_splits + k;
    if (size != sizeof v->oos[i] + sizeof v->why[i])
        return cx_error_set(err, CX_EFAIL, "validation: a packed split has the wrong size");
    memcpy(&v->oos[i], buf, sizeof v->oos[i]);
    memcpy(v->why[i], (const char *)buf + sizeof v->oos[i], sizeof v->why[i]);
    v->why[i][sizeof v->why[i] - 1] = '\0';
    return CX_OK;
}

static int write_split(cx_result *res, const char *split, const sem_oos *o, cx_error *err)
{
    const char *names[] = {"n_train", "n_test", "loglik_per_row", "chisq", "rmsea", "srmr", "cfi"};
    const double values[] = {o->n_train, o->n_test, o->loglik_per_row, o->chisq,
                             o->rmsea,   o->srmr,   o->cfi};
    for (size_t m = 0; m < sizeof values / sizeof *values; m++)
        if (cx_result_add_validation(res, split, names[m], values[m], err) != CX_OK)
            return err->code;
    return CX_OK;
}

int sem_validation_write(const sem_validation *v, size_t l, cx_result *res, cx_error *err)
{
    sem_oos mean = {0};
    size_t ok = 0;
    for (size_t k = 0; k < v->n_splits; k++) {
        const sem_oos *o = &v->oos[l * v->n_splits + k];
        const char *why = v->why[l * v->n_splits + k];
        char split[32];
        if (v->kfold)
            snprintf(split, sizeof split, "fold%zu", k + 1);
        else
            snprintf(split, sizeof split, "holdout");
        if (*why) {
            cx_result_add_warning(res, "validation split %s failed: %s", split, why);
            sem_oos nan = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
            int rc = write_split(res, split, &nan, err);
            if (rc != CX_OK)
                return rc;
            continue;
        }
        int rc = write_split(res, split, o, err);
        if (rc != CX_OK)
            return rc;
        ok++;
        mean.n_train += o->n_train;
        mean.n_test += o->n_test;
        mean.loglik_per_row += o->loglik_per_row;
        mean.chisq += o->chisq;
        mean.rmsea += o->rmsea;
        mean.srmr += o->srmr;
        mean.cfi += o->cfi;
    }
    if (!v->kfold)
        return CX_OK;
    /* kfold: the mean over the folds that were scored */
    double d = ok ? (double)ok : NAN;
    sem_oos m = {mean.n_train / d, mean.n_test / d, mean.loglik_per_row / d, mean.chisq / d,
                 mean.rmsea / d,   mean.srmr / d,   mean.cfi / d};
    return write_split(res, "mean", &m, err);
}
