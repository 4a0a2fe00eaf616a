/*
 * mixed_tables.c — what a `model = mixed` job writes (docs/models/mixed.md):
 *
 *  - estimates: the fixed effects in the contract's layout (`y ~1` for the
 *    intercept, `y ~ x`), est and se as lme4's summary; the t value is in
 *    column z, and pvalue / CI are the Wald normal ones (lme4 gives no
 *    p-values; no Satterthwaite or Kenward-Roger degrees of freedom);
 *  - variance_components: lme4's as.data.frame(VarCorr(fit)): grp, var1,
 *    var2, vcov (variance or covariance), sdcor (SD or correlation), then
 *    the residual;
 *  - ranef: the conditional modes (BLUPs) b, one row per group level and
 *    random-effect column (lme4's ranef(fit) in long form);
 *  - groups: per grouping term its number of levels and ICC (its intercept
 *    variance over all intercept variances plus the residual; NaN for a
 *    term without an intercept);
 *  - fit: logl, aic, bic, deviance, reml_criterion (REML), sigma, nobs,
 *    npar, icc (random intercepts only), singular, converged.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mixed.h"

static int add_estimates(cx_result *res, const mx_problem *pr, const cx_design *d,
                         const cx_formula *f, const mx_solution *s, cx_error *err)
{
    const char *lhs = f->vars[f->outcome].label;
    for (size_t j = 0; j < pr->p; j++) {
        const char *name = cx_design_colname(d, j);
        int icpt = strcmp(name, "(Intercept)") == 0;
        if (cx_result_add_estimate(res, lhs, icpt ? "~1" : "~", icpt ? "" : name, 0, s->beta[j],
                                   sqrt(s->vcov[j * pr->p + j]), NAN, err) < 0)
            return err->code;
    }
    return CX_OK;
}

static int vc_row(cx_rtable *t, const char *grp, const char *v1, const char *v2, double vcov,
                  double sdcor, cx_error *err)
{
    long r = cx_rtable_add_row(t, err);
    if (r < 0 || cx_rtable_set_string(t, (size_t)r, "grp", grp, err) ||
        cx_rtable_set_string(t, (size_t)r, "var1", v1, err) ||
        cx_rtable_set_string(t, (size_t)r, "var2", v2, err))
        return err->code ? err->code : CX_ENOMEM;
    cx_rtable_set_double(t, (size_t)r, "vcov", vcov);
    cx_rtable_set_double(t, (size_t)r, "sdcor", sdcor);
    return CX_OK;
}

/* sigma^2 T T' of term t (q x q). */
static void term_cov(const mx_problem *pr, size_t t, const double *theta, double sigma2,
                     double *T, double *C)
{
    size_t q = pr->terms[t].q;
    mx_term_factor(pr, t, theta, T);
    for (size_t i = 0; i < q; i++)
        for (size_t j = 0; j < q; j++) {
            double v = 0;
            for (size_t k = 0; k < q; k++)
                v += T[k * q + i] * T[k * q + j];
            C[j * q + i] = sigma2 * v;
        }
}

static int add_varcomp(cx_result *res, const mx_problem *pr, const cx_design *d,
                       const double *theta, double sigma2, double *icpt_var, cx_error *err)
{
    cx_rtable *t = cx_result_table(res, "variance_components", err);
    if (!t || cx_rtable_add_column(t, "grp", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "var1", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "var2", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "vcov", CX_RCOL_DOUBLE, err) ||
        cx_rtable_add_column(t, "sdcor", CX_RCOL_DOUBLE, err))
        return err->code ? err->code : CX_ENOMEM;
    size_t qmax = 1;
    for (size_t k = 0; k < pr->n_terms; k++)
        qmax = pr->terms[k].q > qmax ? pr->terms[k].q : qmax;
    double *T = cx_calloc(qmax * qmax, sizeof *T, err), *C = cx_calloc(qmax * qmax, sizeof *C, err);
    int rc = T && C ? CX_OK : CX_ENOMEM;
    for (size_t k = 0; k < pr->n_terms; k++)
        icpt_var[k] = NAN;
    for (size_t r = 0; !rc && r < pr->n_bars; r++) {
        const mx_bar *b = &pr->bars[r];
        const mx_term *tm = &pr->terms[b->term];
        size_t q = tm->q;
        term_cov(pr, b->term, theta, sigma2, T, C);
        for (size_t i = 0; !rc && i < b->k; i++) {
            size_t ci = b->off + i;
            const char *name = cx_design_zcolname(d, tm->zcol[ci]);
            double v = C[ci * q + ci];
            if (strcmp(name, "(Intercept)") == 0)
                icpt_var[b->term] = v;
            rc = vc_row(t, tm->name, name, "", v, sqrt(v), err);
        }
        for (size_t i = 0; !rc && b->correlated && i < b->k; i++)
            for (size_t j = i + 1; !rc && j < b->k; j++) {
                size_t ci = b->off + i, cj = b->off + j;
                double cov = C[cj * q + ci], den = sqrt(C[ci * q + ci] * C[cj * q + cj]);
                rc = vc_row(t, tm->name, cx_design_zcolname(d, tm->zcol[ci]),
                            cx_design_zcolname(d, tm->zcol[cj]), cov, den > 0 ? cov / den : NAN,
                            err);
            }
    }
    if (!rc)
        rc = vc_row(t, "Residual", "", "", sigma2, sqrt(sigma2), err);
    free(T);
    free(C);
    return rc;
}

/* A level's label: category labels or numbers, joined by ':' for interactions. */
static void level_label(const mx_term *tm, size_t l, const cx_table *t, const int *gcols,
                        char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t g = 0; g < tm->n_gcols && len < size; g++) {
        double v = tm->levels[l * tm->n_gcols + g];
        const cx_column_info *ci = cx_table_column(t, (size_t)gcols[tm->gcol[g]]);
        const char *sep = g ? ":" : "";
        int w;
        if (ci->kind == CX_COL_CATEGORICAL && v >= 0 && v < (double)ci->n_categories)
            w = snprintf(buf + len, size - len, "%s%s", sep, ci->categories[(size_t)v]);
        else
            w = snprintf(buf + len, size - len, "%s%.15g", sep, v);
        len += w > 0 ? (size_t)w : 0;
    }
}

static int add_ranef(cx_result *res, const mx_problem *pr, const cx_design *d, const cx_table *t,
                     const int *gcols, const mx_solution *s, cx_error *err)
{
    cx_rtable *tab = cx_result_table(res, "ranef", err);
    if (!tab || cx_rtable_add_column(tab, "group", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(tab, "level", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(tab, "term", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(tab, "value", CX_RCOL_DOUBLE, err))
        return err->code ? err->code : CX_ENOMEM;
    char label[512];
    for (size_t k = 0; k < pr->n_terms; k++) {
        const mx_term *tm = &pr->terms[k];
        for (size_t l = 0; l < tm->n_levels; l++) {
            level_label(tm, l, t, gcols, label, sizeof label);
            for (size_t c = 0; c < tm->q; c++) {
                long r = cx_rtable_add_row(tab, err);
                if (r < 0 || cx_rtable_set_string(tab, (size_t)r, "group", tm->name, err) ||
                    cx_rtable_set_string(tab, (size_t)r, "level", label, err) ||
                    cx_rtable_set_string(tab, (size_t)r, "term",
                                         cx_design_zcolname(d, tm->zcol[c]), err))
                    return err->code ? err->code : CX_ENOMEM;
                cx_rtable_set_double(tab, (size_t)r, "value", s->b[tm->off + l * tm->q + c]);
            }
        }
    }
    return CX_OK;
}

static int add_groups(cx_result *res, const mx_problem *pr, const double *icpt_var,
                      double sigma2, double *icc_all, cx_error *err)
{
    cx_rtable *tab = cx_result_table(res, "groups", err);
    if (!tab || cx_rtable_add_column(tab, "group", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(tab, "n_levels", CX_RCOL_INT, err) ||
        cx_rtable_add_column(tab, "icc", CX_RCOL_DOUBLE, err))
        return err->code ? err->code : CX_ENOMEM;
    double total = sigma2, sum = 0;
    int only_intercepts = 1;
    for (size_t k = 0; k < pr->n_terms; k++) {
        if (!isnan(icpt_var[k])) {
            total += icpt_var[k];
            sum += icpt_var[k];
        }
        only_intercepts &= pr->terms[k].q == 1 && !isnan(icpt_var[k]);
    }
    for (size_t k = 0; k < pr->n_terms; k++) {
        long r = cx_rtable_add_row(tab, err);
        if (r < 0 || cx_rtable_set_string(tab, (size_t)r, "group", pr->terms[k].name, err))
            return err->code ? err->code : CX_ENOMEM;
        cx_rtable_set_int(tab, (size_t)r, "n_levels", (long long)pr->terms[k].n_levels);
        cx_rtable_set_double(tab, (size_t)r, "icc", icpt_var[k] / total);
    }
    *icc_all = only_intercepts ? sum / total : NAN;
    return CX_OK;
}

int mx_write_tables(cx_result *res, const mx_problem *pr, const cx_design *d,
                    const cx_formula *f, const cx_table *t, const int *gcols, int reml,
                    const mx_opt_result *o, const mx_solution *s, int sparse, cx_error *err)
{
    double *icpt_var = cx_calloc(pr->n_terms + 1, sizeof *icpt_var, err);
    if (!icpt_var)
        return CX_ENOMEM;
    double icc = NAN;
    int rc = add_estimates(res, pr, d, f, s, err);
    if (!rc)
        rc = add_varcomp(res, pr, d, o->theta, s->sigma2, icpt_var, err);
    if (!rc)
        rc = add_ranef(res, pr, d, t, gcols, s, err);
    if (!rc)
        rc = add_groups(res, pr, icpt_var, s->sigma2, &icc, err);
    free(icpt_var);
    double n = pr->n, npar = (double)(pr->p + pr->ntheta + 1);
    double logl = -s->dev / 2;
    /* the ML deviance at these estimates (lme4's deviance(fit, REML = FALSE)) */
    double dev_ml = s->ldL2 + n * (1 + log(MX_TWO_PI * s->pwrss / n));
    struct {
        const char *name;
        double v;
    } rows[] = {{"logl", logl},
                {"aic", -2 * logl + 2 * npar},
                {"bic", -2 * logl + log(n) * npar},
                {"deviance", dev_ml},
                {"reml_criterion", reml ? s->dev : NAN},
                {"sigma", sqrt(s->sigma2)},
                {"nobs", n},
                {"npar", npar},
                {"icc", icc},
                {"singular", o->singular},
                {"converged", o->converged},
                {"evaluations", (double)o->evals}};
    for (size_t i = 0; !rc && i < sizeof rows / sizeof rows[0]; i++)
        if (!(i == 4 && !reml))
            rc = cx_result_add_fit(res, rows[i].name, rows[i].v, err);
    cx_rtable *th = rc ? NULL : cx_result_table(res, "theta", err);
    if (!rc && (!th || cx_rtable_add_column(th, "group", CX_RCOL_STRING, err) ||
                cx_rtable_add_column(th, "value", CX_RCOL_DOUBLE, err)))
        rc = err->code ? err->code : CX_ENOMEM;
    for (size_t r = 0; !rc && r < pr->n_bars; r++)
        for (size_t i = 0; !rc && i < pr->bars[r].ntheta; i++) {
            long row = cx_rtable_add_row(th, err);
            if (row < 0 || cx_rtable_set_string(th, (size_t)row, "group",
                                                pr->terms[pr->bars[r].term].name, err))
                rc = err->code ? err->code : CX_ENOMEM;
            else
                cx_rtable_set_double(th, (size_t)row, "value", o->theta[pr->bars[r].theta0 + i]);
        }
    if (!rc)
        rc = cx_result_set_attr_string(res, "solver", sparse ? "cholmod" : "dense_blocks", err);
    if (!rc)
        rc = cx_result_set_attr_string(res, "optimizer", "gsl_nmsimplex2", err);
    return rc;
}
