/*
 * panel_compare.c — `compare = FORMULA`: a second, non-nested model (e.g.
 * growth on last wave's satisfaction instead of NPS) fitted side by side
 * with the job's `formula`, on exactly the same rows, with the same index,
 * method, effect and SEs.
 *
 * The `compare` table has one row per model (`a` = formula, `b` = compare):
 * nobs, r2, adj_r2, aic, bic and, with validate = holdout(EXPR), the
 * held-out rmse, mae and r2.  AIC/BIC use the Gaussian log-likelihood of
 * the estimating regression, -n/2 (log(2 pi RSS/n) + 1), with k = the
 * coefficients + the effects the method absorbs (units, periods) + 1
 * (the variance): comparable between the two models because rows, method
 * and effect are the same.  The `tests` table gets the two Davidson-
 * MacKinnon J tests: `j_b_in_a` adds the fitted values x b_B of model b
 * to model a (then transformed as the method transforms every column) and
 * tests its coefficient with the job's SEs (z, normal p); a small p
 * rejects model a in favour of what b adds, and `j_a_in_b` the reverse.
 * `vuong` is Vuong's (1989) non-nested likelihood-ratio test on the same
 * rows: m_i = l_a,i - l_b,i, the Gaussian log-likelihood contributions of
 * the two estimating regressions (sigma² = RSS/n each), z = sum(m) /
 * (sqrt(n) omega), omega² = the variance of m with divisor n (as
 * nonnest2::vuongtest, no AIC/BIC correction); z > 0 favours a, p is
 * two-sided (the one-sided p of either direction is p/2 on its side).
 * Coefficients, r2, AIC/BIC and the tests use all common rows (with a
 * holdout too, as every family reports estimates); the holdout columns
 * come from fits to the training rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "panel.h"
#include "result.h"

/* Rows of a and b with the same (unit, time) (both sorted, pairs unique). */
static int common_rows(const panel_rows *a, const panel_rows *b, panel_rows *ca, panel_rows *cb,
                       cx_error *err)
{
    unsigned char *ka = cx_calloc(a->d.n + 1, 1, err), *kb = cx_calloc(b->d.n + 1, 1, err);
    int rc = ka && kb ? CX_OK : CX_ENOMEM;
    for (size_t i = 0, j = 0; !rc && i < a->d.n && j < b->d.n;) {
        double du = a->unit_value[i] - b->unit_value[j], dt = a->time_value[i] - b->time_value[j];
        if (du < 0 || (du == 0 && dt < 0))
            i++;
        else if (du > 0 || (du == 0 && dt > 0))
            j++;
        else
            ka[i++] = kb[j++] = 1;
    }
    if (!rc)
        rc = panel_rows_select(a, ka, ca, err);
    if (!rc)
        rc = panel_rows_select(b, kb, cb, err);
    free(ka);
    free(kb);
    return rc;
}

static int fit_rows(const panel_rows *r, const panel_options *o, panel_fit *f, cx_error *err)
{
    if (panel_fit_alloc(f, r->d.p, err))
        return CX_ENOMEM;
    return panel_estimate(&r->d, o, f, err);
}

/* Effects absorbed by the method (count toward k of AIC/BIC). */
static double absorbed(const panel_data *d, const panel_options *o)
{
    if (o->method != PANEL_WITHIN)
        return 0;
    return o->effect == PANEL_INDIVIDUAL ? (double)d->n_units
           : o->effect == PANEL_TIME     ? (double)d->n_times
                                         : (double)(d->n_units + d->n_times - 1);
}

/* x b of fit f on the rows of d (aliased coefficients count as 0). */
static void fitted_levels(const panel_data *d, const panel_fit *f, double *out)
{
    for (size_t i = 0; i < d->n; i++) {
        out[i] = 0;
        for (size_t j = 0; j < d->p; j++)
            if (!isnan(f->beta[j]))
                out[i] += d->x[j * d->n + i] * f->beta[j];
    }
}

/* J test: a's rows plus the column x b_B; z of its coefficient. */
static int j_test(const panel_data *a, const panel_data *b, const panel_fit *fb,
                  const panel_options *o, double *z, cx_error *err)
{
    panel_data aug = *a;
    aug.p = a->p + 1;
    aug.x = cx_malloc((a->n * aug.p + 1) * sizeof *aug.x, err);
    const char **names = cx_malloc(aug.p * sizeof *names, err);
    panel_fit f = {0};
    int rc = aug.x && names ? CX_OK : CX_ENOMEM;
    if (!rc) {
        memcpy(aug.x, a->x, a->n * a->p * sizeof *aug.x);
        fitted_levels(b, fb, aug.x + a->n * a->p);
        for (size_t j = 0; j < a->p; j++)
            names[j] = a->names[j];
        names[a->p] = "fitted(b)";
        aug.names = names;
        rc = panel_fit_alloc(&f, aug.p, err);
    }
    if (!rc)
        rc = panel_estimate(&aug, o, &f, err);
    *z = rc ? NAN : f.beta[a->p] / f.se[a->p];
    panel_fit_free(&f);
    free(aug.x);
    free(names);
    return rc;
}

/* Vuong's z of fits a and b with residuals of the same rows. */
static double vuong_z(const panel_fit *a, const panel_fit *b)
{
    size_t n = a->n_resid;
    if (n < 2 || b->n_resid != n)
        return NAN;
    double ra = 0, rb = 0;
    for (size_t i = 0; i < n; i++)
        ra += a->resid[i] * a->resid[i], rb += b->resid[i] * b->resid[i];
    double sa = ra / (double)n, sb = rb / (double)n, sum = 0, sum2 = 0;
    for (size_t i = 0; i < n; i++) {
        /* the log(2 pi) terms cancel */
        double m = -0.5 * log(sa) - a->resid[i] * a->resid[i] / (2 * sa) + 0.5 * log(sb) +
                   b->resid[i] * b->resid[i] / (2 * sb);
        sum += m, sum2 += m * m;
    }
    double mean = sum / (double)n, omega2 = sum2 / (double)n - mean * mean;
    return omega2 > 0 ? sum / (sqrt((double)n) * sqrt(omega2)) : NAN;
}

static int compare_row(cx_rtable *t, const char *model, const char *formula, const panel_rows *r,
                       const panel_rows *train, const panel_options *o, const panel_fit *f,
                       const panel_fit *ftrain, cx_error *err)
{
    long row = cx_rtable_add_row(t, err);
    if (row < 0 || cx_rtable_set_string(t, (size_t)row, "model", model, err) ||
        cx_rtable_set_string(t, (size_t)row, "formula", formula, err))
        return err->code ? err->code : CX_ENOMEM;
    double n = f->nobs, rss = f->sigma2 * f->df_residual, k = absorbed(&train->d, o) + 1;
    for (size_t j = 0; j < train->d.p; j++)
        k += !isnan(f->beta[j]);
    double ll = -n / 2 * (log(2 * 3.14159265358979323846 * rss / n) + 1);
    cx_rtable_set_double(t, (size_t)row, "nobs", n);
    cx_rtable_set_double(t, (size_t)row, "r2", f->r2);
    cx_rtable_set_double(t, (size_t)row, "adj_r2", f->adj_r2);
    cx_rtable_set_double(t, (size_t)row, "aic", -2 * ll + 2 * k);
    cx_rtable_set_double(t, (size_t)row, "bic", -2 * ll + log(n) * k);
    if (r->held_out) {
        double m[4], skipped;
        if (panel_holdout_metrics(r, o, ftrain, m, &skipped, err))
            return err->code;
        cx_rtable_set_double(t, (size_t)row, "holdout_rmse", m[0]);
        cx_rtable_set_double(t, (size_t)row, "holdout_mae", m[1]);
        cx_rtable_set_double(t, (size_t)row, "holdout_r2", m[2]);
        cx_rtable_set_double(t, (size_t)row, "holdout_n", m[3]);
    }
    return CX_OK;
}

static cx_rtable *compare_table(cx_result *res, int holdout, cx_error *err)
{
    static const char *const num[] = {"nobs",         "r2",          "adj_r2",     "aic",
                                      "bic",          "holdout_rmse", "holdout_mae", "holdout_r2",
                                      "holdout_n"};
    cx_rtable *t = cx_result_table(res, "compare", err);
    if (!t || cx_rtable_add_column(t, "model", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "formula", CX_RCOL_STRING, err))
        return NULL;
    for (size_t i = 0; i < (holdout ? 9u : 5u); i++)
        if (cx_rtable_add_column(t, num[i], CX_RCOL_DOUBLE, err))
            return NULL;
    return t;
}

int panel_compare(cx_result *res, const panel_rows *a, const panel_rows *b, const char *fa_text,
                  const char *fb_text, const panel_options *o,
                  int (*add_test)(cx_result *, const char *, double, double, cx_error *),
                  cx_error *err)
{
    panel_rows ca = {0}, cb = {0}, ta = {0}, tb = {0};
    panel_fit fa = {0}, fb = {0}, fta = {0}, ftb = {0};
    int rc = common_rows(a, b, &ca, &cb, err);
    const panel_rows *xa = &ca, *xb = &cb;
    if (!rc)
        rc = fit_rows(xa, o, &fa, err);
    if (!rc)
        rc = fit_rows(xb, o, &fb, err);
    if (!rc && a->held_out) /* the holdout columns: fits to the training rows */
        rc = panel_rows_training(&ca, &ta, err);
    if (!rc && a->held_out)
        rc = panel_rows_training(&cb, &tb, err);
    if (!rc && a->held_out)
        rc = fit_rows(&ta, o, &fta, err);
    if (!rc && a->held_out)
        rc = fit_rows(&tb, o, &ftb, err);
    cx_rtable *t = rc ? NULL : compare_table(res, a->held_out != NULL, err);
    if (!rc && !t)
        rc = err->code ? err->code : CX_ENOMEM;
    if (!rc)
        rc = compare_row(t, "a", fa_text, &ca, xa, o, &fa, &fta, err);
    if (!rc)
        rc = compare_row(t, "b", fb_text, &cb, xb, o, &fb, &ftb, err);
    double z;
    if (!rc && !(rc = j_test(&xa->d, &xb->d, &fb, o, &z, err)))
        rc = add_test(res, "j_b_in_a", z, 2 * gsl_cdf_ugaussian_Q(fabs(z)), err);
    if (!rc && !(rc = j_test(&xb->d, &xa->d, &fa, o, &z, err)))
        rc = add_test(res, "j_a_in_b", z, 2 * gsl_cdf_ugaussian_Q(fabs(z)), err);
    if (!rc) {
        z = vuong_z(&fa, &fb);
        rc = add_test(res, "vuong", z, 2 * gsl_cdf_ugaussian_Q(fabs(z)), err);
    }
    panel_fit_free(&fa);
    panel_fit_free(&fb);
    panel_fit_free(&fta);
    panel_fit_free(&ftb);
    panel_rows_free(&ca);
    panel_rows_free(&cb);
    panel_rows_free(&ta);
    panel_rows_free(&tb);
    return rc;
}
