/*
 * ols_tables.c — an `ols` level's results in the contract's tables:
 *  - estimates: `y ~1` (the intercept) and `y ~ column` per design column,
 *    est, se (the `se` key's kind), z = the t value, pvalue and CI from
 *    Student's t with the residual df (R's summary.lm and lmtest's
 *    coeftest), std_all = b sd(x)/sd(y); aliased columns NA (NaN);
 *  - fit: nobs, rank, df_residual, r2, adj_r2, fstat (+ df and p-value,
 *    classical as summary.lm), sigma (R's sigma()), rmse (root of the
 *    weighted mean squared residual), logl, aic, bic (R's logLik/AIC/BIC
 *    of a weighted lm: log(w) terms, df = rank + 1), n_clusters;
 *  - vif: per term, car::vif's generalised VIF from the coefficients'
 *    correlation (one-df terms: the classic VIF), df and GVIF^(1/(2 df));
 *  - validation: per fold (or the holdout) n_train, n_test, r2, rmse, mae
 *    of the training fit's predictions on the test rows, and their mean.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <lapacke.h>

#include "ols_run.h"

static int add_fit(cx_result *res, const char *name, double v, cx_error *err)
{
    return cx_result_add_fit(res, name, v, err);
}

/* Weighted variance (up to a common factor) of design column j or of y
 * (j = p) from the cross-products; NaN without an intercept. */
static double col_var(const ols_xp *xp, size_t p, size_t j)
{
    size_t p1 = p + 1;
    double s = xp->c[j * p1 + 0], ss = xp->c[j * p1 + j];
    return (ss - s * s / xp->sw) / xp->sw;
}

static int write_estimates(const ols_setup *s, const ols_run *r, size_t l, const double *v,
                           cx_result *res, cx_error *err)
{
    const ols_fit *f = &r->fits[l];
    const char *y = ols_setup_outcome(s);
    double rdf = ols_fit_rdf(f);
    double tq = rdf > 0 ? gsl_cdf_tdist_Qinv((1 - res->level) / 2, rdf) : NAN;
    double sdy = s->intercept ? sqrt(col_var(&r->total[l], s->p, s->p)) : NAN;
    cx_rtable *est = cx_result_estimates_table(res, err);
    if (!est)
        return err->code ? err->code : CX_ENOMEM;
    size_t k = 0;
    for (size_t j = 0; j < s->p; j++) {
        int is_int = s->intercept && j == 0;
        double b = f->beta[j], se = NAN;
        if (!f->aliased[j]) {
            se = sqrt(v[k * f->q + k]);
            k++;
        }
        double std_all = NAN;
        if (!is_int && s->intercept && !f->aliased[j])
            std_all = b * sqrt(col_var(&r->total[l], s->p, j)) / sdy;
        long row = cx_result_add_estimate(res, y, is_int ? "~1" : "~", is_int ? "" : s->names[j], 0,
                                          b, se, std_all, err);
        if (row < 0)
            return err->code ? err->code : CX_ENOMEM;
        double t = b / se;
        cx_rtable_set_double(est, (size_t)row, "z", t);
        cx_rtable_set_double(est, (size_t)row, "pvalue",
                             rdf > 0 ? 2 * gsl_cdf_tdist_Q(fabs(t), rdf) : NAN);
        cx_rtable_set_double(est, (size_t)row, "ci_lower", b - tq * se);
        cx_rtable_set_double(est, (size_t)row, "ci_upper", b + tq * se);
    }
    return CX_OK;
}

static int write_fit(const ols_setup *s, const ols_run *r, size_t l, cx_result *res, cx_error *err)
{
    const ols_fit *f = &r->fits[l];
    double rdf = ols_fit_rdf(f), q = (double)f->q, dfint = s->intercept ? 1 : 0;
    double rss = f->rss, mss = f->tss - rss;
    double r2 = f->tss > 0 ? mss / f->tss : NAN;
    double adj = rdf > 0 ? 1 - (1 - r2) * ((f->npos - dfint) / rdf) : NAN;
    double df1 = q - dfint;
    double fstat = df1 > 0 && rdf > 0 ? (mss / df1) / (rss / rdf) : NAN;
    double fp = isfinite(fstat) ? gsl_cdf_fdist_Q(fstat, df1, rdf) : NAN;
    double N = f->npos;
    double logl = 0.5 * (f->slogw - N * (log(2 * 3.14159265358979323846) + 1 - log(N) + log(rss)));
    const char *names[] = {"nobs",  "rank",      "df_residual", "r2",           "adj_r2",
                           "fstat", "fstat_df1", "fstat_df2",   "fstat_pvalue", "sigma",
                           "rmse",  "logl",      "aic",         "bic"};
    double values[] = {f->npos, /* R's nobs(lm): rows with w != 0 */
                       q,
                       rdf,
                       r2,
                       adj,
                       fstat,
                       df1,
                       rdf,
                       fp,
                       rdf > 0 ? sqrt(rss / rdf) : NAN,
                       sqrt(rss / f->sw),
                       logl,
                       -2 * logl + 2 * (q + 1),
                       -2 * logl + log(N) * (q + 1)};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++)
        if (add_fit(res, names[i], values[i], err))
            return err->code;
    if (s->se == OLS_SE_CLUSTER && r->have_scores) {
        const double *g = r->scores.n_clusters + 3 * l;
        if (add_fit(res, "n_clusters", g[0], err) ||
            (s->n_cluster == 2 && add_fit(res, "n_clusters2", g[1], err)))
            return err->code;
    }
    return CX_OK;
}

/* log det of the symmetric positive definite n x n `a` restricted to the
 * index set idx (copy; Cholesky); NaN when not positive definite. */
static double logdet_sub(const double *a, size_t q, const size_t *idx, size_t n, double *work)
{
    if (n == 0)
        return 0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++)
            work[j * n + i] = a[idx[j] * q + idx[i]];
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, work, (lapack_int)n) != 0)
        return NAN;
    double ld = 0;
    for (size_t i = 0; i < n; i++)
        ld += 2 * log(work[i * n + i]);
    return ld;
}

/* car::vif: R = cov2cor(vcov without the intercept); per term
 * GVIF = det(R11) det(R22) / det(R). */
static int write_vif(const ols_setup *s, const ols_run *r, size_t l, cx_result *res, cx_error *err)
{
    const ols_fit *f = &r->fits[l];
    size_t q = f->q;
    if (!s->intercept || q < 2 || s->f->n_terms < 2)
        return CX_OK; /* car::vif needs an intercept and two terms */
    double *cor = cx_malloc(q * q * sizeof *cor, err), *work = cx_malloc(q * q * sizeof *work, err);
    size_t *in = cx_malloc(q * sizeof *in, err), *out = cx_malloc(q * sizeof *out, err);
    cx_rtable *t = cor && work && in && out ? cx_result_table(res, "vif", err) : NULL;
    int rc = t ? CX_OK : (err->code ? err->code : CX_ENOMEM);
    if (rc == CX_OK && (cx_rtable_add_column(t, "term", CX_RCOL_STRING, err) ||
                        cx_rtable_add_column(t, "df", CX_RCOL_INT, err) ||
                        cx_rtable_add_column(t, "vif", CX_RCOL_DOUBLE, err) ||
                        cx_rtable_add_column(t, "vif_adj", CX_RCOL_DOUBLE, err)))
        rc = err->code;
    if (rc == CX_OK) {
        for (size_t j = 0; j < q; j++)
            for (size_t i = 0; i < q; i++)
                cor[j * q + i] = f->a[j * q + i] / sqrt(f->a[i * q + i] * f->a[j * q + j]);
        size_t *all = in;
        for (size_t k = 1; k < q; k++)
            all[k - 1] = k;
        double ldr = logdet_sub(cor, q, all, q - 1, work);
        for (size_t term = 0; rc == CX_OK && term < s->f->n_terms; term++) {
            size_t ni = 0, no = 0;
            for (size_t k = 1; k < q; k++) {
                if (cx_design_col_term(s->d, f->keep[k]) == (long)term)
                    in[ni++] = k;
                else
                    out[no++] = k;
            }
            if (ni == 0)
                continue; /* every column aliased */
            double l1 = logdet_sub(cor, q, in, ni, work), l2 = logdet_sub(cor, q, out, no, work);
            double gvif = exp(l1 + l2 - ldr);
            char label[512];
            cx_formula_term_label(s->f, &s->f->terms[term], label, sizeof label);
            long row = cx_rtable_add_row(t, err);
            if (row < 0 || cx_rtable_set_string(t, (size_t)row, "term", label, err)) {
                rc = err->code ? err->code : CX_ENOMEM;
                break;
            }
            cx_rtable_set_int(t, (size_t)row, "df", (long long)ni);
            cx_rtable_set_double(t, (size_t)row, "vif", gvif);
            cx_rtable_set_double(t, (size_t)row, "vif_adj", pow(gvif, 1.0 / (2.0 * (double)ni)));
        }
    }
    free(cor);
    free(work);
    free(in);
    free(out);
    return rc;
}

/* Out-of-sample metrics of one test set. */
static void oos_metrics(const ols_oos *o, double *r2, double *rmse, double *mae)
{
    double sst = o->swy2 - o->swy * o->swy / o->sw;
    *r2 = o->sw > 0 && sst > 0 ? 1 - o->swe2 / sst : NAN;
    *rmse = o->sw > 0 ? sqrt(o->swe2 / o->sw) : NAN;
    *mae = o->sw > 0 ? o->swae / o->sw : NAN;
}

static int write_validation(const ols_run *r, size_t l, cx_result *res, cx_error *err)
{
    if (r->split == CX_SPLIT_NONE || !r->have_scores)
        return CX_OK;
    double sum[5] = {0};
    size_t used = 0;
    for (size_t k = 0; k < r->n_slots; k++) {
        if (r->split == CX_SPLIT_HOLDOUT && k != 1)
            continue;
        size_t i = l * r->n_slots + k;
        const ols_oos *o = &r->scores.oos[i];
        char split[32];
        if (r->split == CX_SPLIT_KFOLD)
            snprintf(split, sizeof split, "fold%zu", k + 1);
        else
            snprintf(split, sizeof split, "holdout");
        double v[5] = {r->train[i].n, o->n, NAN, NAN, NAN};
        if (r->train_ok[i])
            oos_metrics(o, &v[2], &v[3], &v[4]);
        else
            cx_result_add_warning(res, "validation split %s: the training fit failed", split);
        static const char *const m[] = {"n_train", "n_test", "r2", "rmse", "mae"};
        for (size_t j = 0; j < 5; j++)
            if (cx_result_add_validation(res, split, m[j], v[j], err))
                return err->code;
        if (r->train_ok[i] && !isnan(v[3])) {
            for (size_t j = 0; j < 5; j++)
                sum[j] += v[j];
            used++;
        }
    }
    if (r->split != CX_SPLIT_KFOLD || used == 0)
        return CX_OK;
    static const char *const m[] = {"n_train", "n_test", "r2", "rmse", "mae"};
    for (size_t j = 0; j < 5; j++)
        if (cx_result_add_validation(res, "mean", m[j], sum[j] / (double)used, err))
            return err->code;
    return CX_OK;
}

int ols_write_level(const cx_job *job, const ols_setup *s, const ols_run *r, size_t l,
                    cx_result *res, cx_error *err)
{
    (void)job;
    const ols_fit *f = &r->fits[l];
    res->nobs = r->total[l].n;
    if (r->why[l][0]) {
        cx_result_set_status(res, CX_STATUS_FAILED, "%s", r->why[l]);
        return CX_OK;
    }
    if (f->alias_msg[0])
        cx_result_add_warning(res, "%s (coefficients NA, as lm)", f->alias_msg);
    const char *notes = cx_design_notes(s->d);
    if (notes && *notes)
        cx_result_add_warning(res, "%s", notes);
    double *v = cx_malloc(f->q * f->q * sizeof *v, err);
    if (!v)
        return CX_ENOMEM;
    ols_vcov(s, r, l, v);
    int rc = write_estimates(s, r, l, v, res, err);
    free(v);
    if (rc == CX_OK)
        rc = write_fit(s, r, l, res, err);
    if (rc == CX_OK)
        rc = write_vif(s, r, l, res, err);
    if (rc == CX_OK)
        rc = write_validation(r, l, res, err);
    if (rc == CX_OK && s->se != OLS_SE_CLASSICAL) {
        static const char *const kinds[] = {"classical", "hc0", "hc1", "hc2", "hc3", "cluster"};
        rc = cx_result_set_attr_string(res, "se", kinds[s->se], err);
    }
    return rc;
}
