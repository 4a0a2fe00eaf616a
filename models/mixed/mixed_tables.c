/*
 * mixed_tables.c — what a `model = mixed` job writes (docs/models/mixed.md):
 *
 *  - estimates: the fixed effects in the contract's layout (`y ~1` for the
 *    intercept, `y ~ x`), est and se as lme4's summary; the t value is in
 *    column z, `df` the Satterthwaite degrees of freedom (lmerTest's), and
 *    pvalue / CI from the t distribution with those df (normal where df is
 *    NaN: a singular fit);
 *  - variance_components: lme4's as.data.frame(VarCorr(fit)): grp, var1,
 *    var2, vcov (variance or covariance), sdcor (SD or correlation), then
 *    the residual; with Wald SEs of vcov (delta method on the covariance of
 *    (theta, sigma), mixed_vcov.c) and the normal CI at `level`;
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

#include <gsl/gsl_cdf.h>

#include "mixed.h"

static int add_estimates(cx_result *res, const mx_problem *pr, const cx_design *d,
                         const cx_formula *f, const mx_solution *s, const double *df, double level,
                         cx_error *err)
{
    const char *lhs = f->vars[f->outcome].label;
    cx_rtable *t = cx_result_estimates_table(res, err);
    if (!t || cx_rtable_add_column(t, "df", CX_RCOL_DOUBLE, err))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t j = 0; j < pr->p; j++) {
        const char *name = cx_design_colname(d, j);
        int icpt = strcmp(name, "(Intercept)") == 0;
        double se = sqrt(s->vcov[j * pr->p + j]);
        long r = cx_result_add_estimate(res, lhs, icpt ? "~1" : "~", icpt ? "" : name, 0,
                                        s->beta[j], se, NAN, err);
        if (r < 0)
            return err->code;
        cx_rtable_set_double(t, (size_t)r, "df", df[j]);
        if (isfinite(df[j]) && df[j] > 0) {
            double tv = s->beta[j] / se, q = gsl_cdf_tdist_Pinv(0.5 + level / 2, df[j]);
            cx_rtable_set_double(t, (size_t)r, "pvalue", 2 * gsl_cdf_tdist_Q(fabs(tv), df[j]));
            cx_rtable_set_double(t, (size_t)r, "ci_lower", s->beta[j] - q * se);
            cx_rtable_set_double(t, (size_t)r, "ci_upper", s->beta[j] + q * se);
        }
    }
    return CX_OK;
}

typedef struct vc_ctx {
    const mx_problem *pr;
    const double *V; /* (ntheta+1)^2 covariance of (theta, sigma) */
    const double *theta;
    double sigma, z;
    double *T, *C, *phi; /* scratch */
} vc_ctx;

static void term_cov(const mx_problem *pr, size_t t, const double *theta, double sigma2, double *T,
                     double *C);

/* sigma^2 (T T')[i, j] of term t at phi = (theta, sigma); t = SIZE_MAX: sigma^2. */
static double vc_value(vc_ctx *c, const double *phi, size_t t, size_t i, size_t j)
{
    double s = phi[c->pr->ntheta];
    if (t == (size_t)-1)
        return s * s;
    term_cov(c->pr, t, phi, s * s, c->T, c->C);
    return c->C[j * c->pr->terms[t].q + i];
}

/* Delta-method SE of vc_value. */
static double vc_se(vc_ctx *c, size_t t, size_t i, size_t j)
{
    size_t n = c->pr->ntheta + 1;
    double *g = c->phi + n;
    for (size_t k = 0; k < n; k++)
        c->phi[k] = k + 1 < n ? c->theta[k] : c->sigma;
    for (size_t k = 0; k < n; k++) {
        double h = 1e-6 * fmax(fabs(c->phi[k]), 1.0), x = c->phi[k];
        c->phi[k] = x + h;
        double up = vc_value(c, c->phi, t, i, j);
        c->phi[k] = x - h;
        double down = vc_value(c, c->phi, t, i, j);
        c->phi[k] = x;
        g[k] = (up - down) / (2 * h);
    }
    double v = 0;
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++)
            v += g[a] * c->V[b * n + a] * g[b];
    return v >= 0 ? sqrt(v) : NAN;
}

static int vc_row(cx_rtable *t, const char *grp, const char *v1, const char *v2, double vcov,
                  double sdcor, double se, double z, cx_error *err)
{
    long r = cx_rtable_add_row(t, err);
    if (r < 0 || cx_rtable_set_string(t, (size_t)r, "grp", grp, err) ||
        cx_rtable_set_string(t, (size_t)r, "var1", v1, err) ||
        cx_rtable_set_string(t, (size_t)r, "var2", v2, err))
        return err->code ? err->code : CX_ENOMEM;
    cx_rtable_set_double(t, (size_t)r, "vcov", vcov);
    cx_rtable_set_double(t, (size_t)r, "sdcor", sdcor);
    cx_rtable_set_double(t, (size_t)r, "se", se);
    cx_rtable_set_double(t, (size_t)r, "ci_lower", vcov - z * se);
    cx_rtable_set_double(t, (size_t)r, "ci_upper", vcov + z * se);
    return CX_OK;
}

/* sigma^2 T T' of term t (q x q). */
static void term_cov(const mx_problem *pr, size_t t, const double *theta, double sigma2, double *T,
                     double *C)
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

/* The rows of add_varcomp below, in its order: per bar its variances,
 * then (correlated bars) its covariances, then the residual. */
size_t mx_vc_count(const mx_problem *pr)
{
    size_t n = 1;
    for (size_t r = 0; r < pr->n_bars; r++) {
        size_t k = pr->bars[r].k;
        n += k + (pr->bars[r].correlated ? k * (k - 1) / 2 : 0);
    }
    return n;
}

void mx_vc_values(const mx_problem *pr, const double *theta, double sigma2, double *out)
{
    size_t qmax = 1, at = 0;
    for (size_t k = 0; k < pr->n_terms; k++)
        qmax = pr->terms[k].q > qmax ? pr->terms[k].q : qmax;
    double *T = malloc(qmax * qmax * sizeof *T), *C = malloc(qmax * qmax * sizeof *C);
    for (size_t r = 0; T && C && r < pr->n_bars; r++) {
        const mx_bar *b = &pr->bars[r];
        size_t q = pr->terms[b->term].q;
        term_cov(pr, b->term, theta, sigma2, T, C);
        for (size_t i = 0; i < b->k; i++)
            out[at++] = C[(b->off + i) * q + b->off + i];
        for (size_t i = 0; b->correlated && i < b->k; i++)
            for (size_t j = i + 1; j < b->k; j++)
                out[at++] = C[(b->off + j) * q + b->off + i];
    }
    if (!T || !C)
        for (; at + 1 < mx_vc_count(pr); at++)
            out[at] = NAN;
    out[at] = sigma2;
    free(T);
    free(C);
}

static int add_varcomp(cx_result *res, const mx_problem *pr, const cx_design *d,
                       const double *theta, double sigma2, const double *V, double level,
                       double *icpt_var, cx_error *err)
{
    cx_rtable *t = cx_result_table(res, "variance_components", err);
    if (!t || cx_rtable_add_column(t, "grp", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "var1", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "var2", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "vcov", CX_RCOL_DOUBLE, err) ||
        cx_rtable_add_column(t, "sdcor", CX_RCOL_DOUBLE, err) ||
        cx_rtable_add_column(t, "se", CX_RCOL_DOUBLE, err) ||
        cx_rtable_add_column(t, "ci_lower", CX_RCOL_DOUBLE, err) ||
        cx_rtable_add_column(t, "ci_upper", CX_RCOL_DOUBLE, err))
        return err->code ? err->code : CX_ENOMEM;
    size_t qmax = 1;
    for (size_t k = 0; k < pr->n_terms; k++)
        qmax = pr->terms[k].q > qmax ? pr->terms[k].q : qmax;
    double *T = cx_calloc(qmax * qmax, sizeof *T, err), *C = cx_calloc(qmax * qmax, sizeof *C, err);
    vc_ctx vc = {pr,
                 V,
                 theta,
                 sqrt(sigma2),
                 gsl_cdf_ugaussian_Pinv(0.5 + level / 2),
                 cx_calloc(qmax * qmax, sizeof *T, err),
                 cx_calloc(qmax * qmax, sizeof *C, err),
                 cx_calloc(2 * (pr->ntheta + 1), sizeof(double), err)};
    int rc = T && C && vc.T && vc.C && vc.phi ? CX_OK : CX_ENOMEM;
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
            rc = vc_row(t, tm->name, name, "", v, sqrt(v), vc_se(&vc, b->term, ci, ci), vc.z, err);
        }
        for (size_t i = 0; !rc && b->correlated && i < b->k; i++)
            for (size_t j = i + 1; !rc && j < b->k; j++) {
                size_t ci = b->off + i, cj = b->off + j;
                double cov = C[cj * q + ci], den = sqrt(C[ci * q + ci] * C[cj * q + cj]);
                rc = vc_row(t, tm->name, cx_design_zcolname(d, tm->zcol[ci]),
                            cx_design_zcolname(d, tm->zcol[cj]), cov, den > 0 ? cov / den : NAN,
                            vc_se(&vc, b->term, ci, cj), vc.z, err);
            }
    }
    if (!rc)
        rc = vc_row(t, "Residual", "", "", sigma2, sqrt(sigma2), vc_se(&vc, (size_t)-1, 0, 0), vc.z,
                    err);
    free(T);
    free(C);
    free(vc.T);
    free(vc.C);
    free(vc.phi);
    return rc;
}

/* A level's label: category labels or numbers, joined by ':' for interactions. */
static void level_label(const mx_term *tm, size_t l, const cx_table *t, const int *gcols, char *buf,
                        size_t size)
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
                    cx_rtable_set_string(tab, (size_t)r, "term", cx_design_zcolname(d, tm->zcol[c]),
                                         err))
                    return err->code ? err->code : CX_ENOMEM;
                cx_rtable_set_double(tab, (size_t)r, "value", s->b[tm->off + l * tm->q + c]);
            }
        }
    }
    return CX_OK;
}

static int add_groups(cx_result *res, const mx_problem *pr, const double *icpt_var, double sigma2,
                      double *icc_all, cx_error *err)
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

int mx_write_tables(cx_result *res, const mx_problem *pr, const cx_design *d, const cx_formula *f,
                    const cx_table *t, const int *gcols, int reml, const mx_opt_result *o,
                    const mx_solution *s, const double *V, const double *df, int sparse,
                    double level, cx_error *err)
{
    double *icpt_var = cx_calloc(pr->n_terms + 1, sizeof *icpt_var, err);
    if (!icpt_var)
        return CX_ENOMEM;
    double icc = NAN;
    int rc = add_estimates(res, pr, d, f, s, df, level, err);
    if (!rc)
        rc = add_varcomp(res, pr, d, o->theta, s->sigma2, V, level, icpt_var, err);
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
