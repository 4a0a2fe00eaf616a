/*
 * start.c — lavaan 0.6.14's default starting values (lav_start(),
 * start = "default", mimic = "lavaan").
 *
 * The ML optimum does not depend on them when the likelihood has one
 * maximum, but they decide where the optimizer goes when it does not: a
 * factor whose marker item is reverse keyed (bfi's A1, E1) has negative
 * loadings, and from loadings of +1 the scoring steps run to a degenerate
 * point with the factor variance at zero.  lavaan avoids that with FABIN 3
 * loadings (Hägglund, 1982), which have the right signs, and so must cxfit.
 *
 *   - loadings 1; then, for cfa/sem (not growth), per group and per factor
 *     whose indicators are all observed, lav_cfa_1fac_fabin(): FABIN 3 for
 *     4+ indicators, the closed-form 3-indicator solution for fewer;
 *   - latent variances 0.05, observed (residual) variances half the sample
 *     variance, exogenous covariate moments their sample values, intercepts
 *     the sample means, everything else 0;
 *   - models without latent variables: regressions start at their OLS
 *     coefficients (and residual variances at the OLS residual variance
 *     when that lies between 1% and 99% of the sample variance);
 *   - a user's start() value wins over all of these.
 */
#include "est_internal.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* S[i,j] of the submatrix of the p x p sample covariance `cov` on `idx`. */
static double sub(const double *cov, size_t p, const int *idx, size_t i, size_t j)
{
    return cov[(size_t)idx[i] * p + (size_t)idx[j]];
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* lav_cfa_1fac_3ind(): one factor, 1..3 indicators, closed form.  With
 * fewer than 3 the covariance is padded as lavaan does.  Returns 1 when the
 * product of the three covariances is negative (lavaan then discards the
 * result). */
static int one_factor_3ind(const double *cov, size_t p, const int *idx, size_t n, int std_lv,
                           double *lambda)
{
    double s[3][3];
    if (n == 1) {
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                s[i][j] = 1.0;
    } else {
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 3; j++)
                s[i][j] = i < n && j < n ? sub(cov, p, idx, i, j) : 0.0;
        if (n == 2) { /* extra row/column: (mean variance, s21), max variance */
            s[0][2] = s[2][0] = 0.5 * (s[0][0] + s[1][1]);
            s[1][2] = s[2][1] = s[1][0];
            s[2][2] = fmax(s[0][0], s[1][1]);
        }
    }
    double s21 = s[1][0], s31 = s[2][0], s32 = s[2][1];
    int neg_triad = s21 * s31 * s32 < 0.0;
    double lower_psi = 0.1 * s[0][0];
    double psi = clamp(s21 * s31 / s32, lower_psi, s[0][0]);
    double l2_bound = sqrt(s[1][1] / lower_psi), l3_bound = sqrt(s[2][2] / lower_psi);
    double l[3] = {1.0, clamp(s32 / s31, -l2_bound, l2_bound),
                   clamp(s32 / s21, -l3_bound, l3_bound)};
    double scale = std_lv ? (psi < 0 ? -1.0 : 1.0) * sqrt(fabs(psi)) : 1.0;
    for (size_t i = 0; i < n; i++)
        lambda[i] = l[i] * scale;
    return neg_triad;
}

/* FABIN 3 loading of indicator i (i >= 1) with indicator 0 as the marker
 * and the others as instruments: s_i3' S33^-1 s_31 / s_13' S33^-1 s_31. */
static double fabin3_loading(const double *cov, size_t p, const int *idx, size_t n, size_t i,
                             double *work)
{
    size_t m = n - 2;
    double *s33 = work, *t = work + m * m;
    int *rest = (int *)(t + m);
    for (size_t k = 1, r = 0; k < n; k++)
        if (k != i)
            rest[r++] = (int)k;
    for (size_t a = 0; a < m; a++) {
        t[a] = sub(cov, p, idx, (size_t)rest[a], 0);
        for (size_t b = 0; b < m; b++)
            s33[a * m + b] = sub(cov, p, idx, (size_t)rest[a], (size_t)rest[b]);
    }
    int solved =
        LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)m, 1, s33, (lapack_int)m, t, 1) == 0;
    double num = 0.0, den = 0.0;
    for (size_t a = 0; a < m; a++) {
        double s13 = sub(cov, p, idx, (size_t)rest[a], 0);
        double w = solved ? t[a] : s13; /* lavaan's fallback: FABIN 2 */
        num += sub(cov, p, idx, i, (size_t)rest[a]) * w;
        den += s13 * w;
    }
    return num / den;
}

/* The factor variance implied by loadings `lambda` (lavaan's psi step of
 * lav_cfa_1fac_fabin, used only to rescale under std.lv). */
static double fabin_psi(const double *cov, size_t p, const int *idx, size_t n, const double *lambda,
                        double *work)
{
    double l2 = 0.0;
    for (size_t i = 0; i < n; i++)
        l2 += lambda[i] * lambda[i];
    double *a = work, *theta = work + n * n, *d = theta + n;
    /* D = lambda lambda' / l2; theta solves (I - D.*D) theta = diag(S - D S D) */
    for (size_t i = 0; i < n; i++) {
        double dsd = 0.0;
        for (size_t k = 0; k < n; k++)
            for (size_t l = 0; l < n; l++)
                dsd += lambda[i] * lambda[k] * sub(cov, p, idx, k, l) * lambda[l] * lambda[i];
        theta[i] = sub(cov, p, idx, i, i) - dsd / (l2 * l2);
        for (size_t j = 0; j < n; j++) {
            double dij = lambda[i] * lambda[j] / l2;
            a[i * n + j] = (i == j) - dij * dij;
        }
    }
    lapack_int *piv = (lapack_int *)(d + n);
    if (LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, 1, a, (lapack_int)n, piv, theta, 1) != 0)
        return NAN;
    double q = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            q += lambda[i] * (sub(cov, p, idx, i, j) - (i == j ? theta[i] : 0.0)) * lambda[j];
    return q / (l2 * l2);
}

/* lav_cfa_1fac_fabin(method = "fabin3", lambda.only = TRUE) for 4+
 * indicators, with lavaan's bounds on the loadings. */
static void one_factor_fabin3(const double *cov, size_t p, const int *idx, size_t n, int std_lv,
                              double *lambda, double *work)
{
    double lower_psi = 0.1 * sub(cov, p, idx, 0, 0);
    lambda[0] = 1.0;
    for (size_t i = 1; i < n; i++) {
        double bound = sqrt(sub(cov, p, idx, i, i) / lower_psi);
        lambda[i] = clamp(fabin3_loading(cov, p, idx, n, i, work), -bound, bound);
    }
    if (std_lv) {
        double psi = fabin_psi(cov, p, idx, n, lambda, work);
        double scale = (psi < 0 ? -1.0 : 1.0) * sqrt(fabs(psi));
        for (size_t i = 0; i < n; i++)
            lambda[i] *= scale;
    }
}

/* lavaan's std.lv test for the FABIN scale: the factor's variance row is
 * fixed at 1 (std.lv = TRUE, or `f ~~ 1*f`). */
static int unit_variance(const sem_partable *pt, const char *f, int g)
{
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (row->group == g && row->op == SEM_OP_COVARIANCE && strcmp(row->lhs, f) == 0 &&
            strcmp(row->rhs, f) == 0)
            return !row->free && row->fixed_value == 1.0;
    }
    return 0;
}

/* FABIN start values for the loadings of factor f in group g, into
 * row_start (rows in partable order).  Skipped when an indicator is latent
 * (second-order factors keep 1) or the factor has no loadings. */
static void factor_starts(const sem_est *e, const char *f, int g, double *row_start)
{
    const sem_partable *pt = e->pt;
    size_t n = 0, p = e->p;
    int *idx = malloc(sizeof(int) * (pt->n_rows + 1));
    size_t *rows = malloc(sizeof(size_t) * (pt->n_rows + 1));
    double *lambda = malloc(sizeof(double) * (pt->n_rows + 1));
    double *work = malloc(sizeof(double) * (2 * p * p + 8 * p + 16));
    int ok = idx && rows && lambda && work;
    for (size_t r = 0; ok && r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (row->group != g || row->op != SEM_OP_LOADING || strcmp(row->lhs, f) != 0)
            continue;
        idx[n] = sem_model_ov_index(&e->mod, row->rhs);
        rows[n++] = r;
        ok = idx[n - 1] >= 0;
    }
    if (ok && n > 0) {
        const double *cov = e->smp[g].cov;
        int std_lv = unit_variance(pt, f, g), neg_triad = 0;
        if (n < 4)
            neg_triad = one_factor_3ind(cov, p, idx, n, std_lv, lambda);
        else
            one_factor_fabin3(cov, p, idx, n, std_lv, lambda, work);
        for (size_t i = 0; i < n; i++) {
            double v = isfinite(lambda[i]) ? lambda[i] : 1.0;
            row_start[rows[i]] = neg_triad ? (std_lv ? 0.7 : 1.0) : v;
        }
    }
    free(idx);
    free(rows);
    free(lambda);
    free(work);
}

/* OLS start values of one equation y ~ x1 + ... (observed-only models). */
static void regression_starts(const sem_est *e, const char *y, int g, double *row_start)
{
    const sem_partable *pt = e->pt;
    size_t p = e->p, n = 0;
    const double *cov = e->smp[g].cov;
    int *xi = malloc(sizeof(int) * (p + 1));
    size_t *rows = malloc(sizeof(size_t) * (pt->n_rows + 1));
    double *sxx = malloc(sizeof(double) * (p * p + p + 1));
    int yi = sem_model_ov_index(&e->mod, y), ok = xi && rows && sxx && yi >= 0;
    for (size_t r = 0; ok && r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (row->group == g && row->op == SEM_OP_REGRESSION && strcmp(row->lhs, y) == 0) {
            xi[n] = sem_model_ov_index(&e->mod, row->rhs);
            rows[n++] = r;
            ok = xi[n - 1] >= 0 && n <= p;
        }
    }
    if (ok && n > 0) {
        double *b = sxx + n * n;
        for (size_t a = 0; a < n; a++) {
            b[a] = cov[(size_t)xi[a] * p + (size_t)yi];
            for (size_t c = 0; c < n; c++)
                sxx[a * n + c] = cov[(size_t)xi[a] * p + (size_t)xi[c]];
        }
        int solved =
            LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, 1, sxx, (lapack_int)n, b, 1) == 0;
        double syy = cov[(size_t)yi * p + (size_t)yi], res = syy;
        for (size_t a = 0; a < n; a++) {
            row_start[rows[a]] = solved ? b[a] : 0.0;
            res -= solved ? b[a] * cov[(size_t)xi[a] * p + (size_t)yi] : 0.0;
        }
        for (size_t r = 0; r < pt->n_rows; r++) {
            const sem_param *row = &pt->rows[r];
            if (row->group == g && row->op == SEM_OP_COVARIANCE && strcmp(row->lhs, y) == 0 &&
                strcmp(row->rhs, y) == 0 && res > 0.01 * syy && res < 0.99 * syy)
                row_start[r] = res;
        }
    }
    free(xi);
    free(rows);
    free(sxx);
}

/* The first row r' < r with the same lhs, op and group ("seen before"). */
static int seen_lhs(const sem_partable *pt, size_t r)
{
    for (size_t k = 0; k < r; k++)
        if (pt->rows[k].op == pt->rows[r].op && pt->rows[k].group == pt->rows[r].group &&
            strcmp(pt->rows[k].lhs, pt->rows[r].lhs) == 0)
            return 1;
    return 0;
}

void sem_start_refine(const sem_est *e, int growth, double *row_start)
{
    const sem_partable *pt = e->pt;
    for (size_t r = 0; r < pt->n_rows; r++) {
        const sem_param *row = &pt->rows[r];
        if (seen_lhs(pt, r))
            continue; /* one pass per factor / equation and group */
        if (row->op == SEM_OP_LOADING && !growth)
            factor_starts(e, row->lhs, row->group, row_start);
        else if (row->op == SEM_OP_REGRESSION && pt->n_lv == 0)
            regression_starts(e, row->lhs, row->group, row_start);
    }
}
