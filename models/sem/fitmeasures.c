/*
 * fitmeasures.c — lavaan 0.6.14's fitMeasures() for ML, in lavaan's order.
 *
 * Formulas (lav_fit_*.R): chisq = 2 N fmin; the baseline is the
 * independence model (free variances, saturated means, fixed.x block kept)
 * whose ML fit is closed form: F_b = sum log s_ii + log|S_xx| - log|S|.
 * CFI/TLI/RNI/NFI/PNFI/RFI/IFI from (chisq, df) and (chisq_b, df_b);
 * logl = -sum_g N_g/2 (p log 2pi + F_g + log|S_g| + p); RMSEA =
 * sqrt(max(chisq/N/df - 1/N, 0)) sqrt(G) with the Browne-Cudeck CI found
 * by R's uniroot (Brent's zeroin, tol = eps^0.25) on the noncentral
 * chi-square CDF, as lavaan does, so the bounds match lavaan's to its own
 * root tolerance; RMR/SRMR/CRMR as lav_residuals_summary (raw, Bentler-
 * and Bollen-standardized residuals; means included when there is a
 * meanstructure); GFI the LISREL form with the ML weight Sigma^-1.
 * Multiple groups: residual indices and GFI are N_g-weighted averages.
 */
#include "est_internal.h"
#include "fiml.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <stdio.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- noncentral chi-square and Brent's zeroin ------------------------ */

/* P(X <= x) for X ~ chi^2(df, ncp): Poisson(ncp/2) mixture of central
 * chi-squares, summed outward from the Poisson mode until the weights
 * are negligible. */
/* The Poisson mixture term by term, each term's central chi-square by its
 * own incomplete gamma: the reference for pnchisq_recurrence's edge cases. */
static double pnchisq_direct(double x, double df, double ncp)
{
    double lam = 0.5 * ncp, sum = 0.0;
    long mode = (long)floor(lam);
    for (int dir = 0; dir < 2; dir++) {
        for (long k = dir == 0 ? mode : mode + 1; k >= 0; k += dir == 0 ? -1 : 1) {
            double lw = -lam + (double)k * log(lam) - gsl_sf_lngamma((double)k + 1.0);
            double w = exp(lw);
            double term = w * gsl_cdf_chisq_P(x, df + 2.0 * (double)k);
            sum += term;
            if (w < 1e-18 && (double)labs(k - mode) > sqrt(lam) + 5.0)
                break;
            if (dir == 1 && term < 1e-18 * sum && k > mode + 5)
                break;
        }
    }
    return sum;
}

/* The same mixture with one incomplete gamma, at the Poisson mode, and the
 * neighbours by recurrence: with a = df/2 + k, h = x/2 and
 * t(a) = h^a e^-h / Gamma(a + 1), P(a, h) = P(a + 1, h) + t(a), and the
 * Poisson weights w(k + 1) = w(k) lam / (k + 1).  The RMSEA interval's root
 * finding calls this dozens of times per fit, and one incomplete gamma per
 * term was most of a small fit's time. */
static double pnchisq_recurrence(double x, double df, double ncp)
{
    double lam = 0.5 * ncp, h = 0.5 * x;
    long mode = (long)floor(lam);
    double a0 = 0.5 * df + (double)mode;
    double p0 = gsl_sf_gamma_inc_P(a0, h);
    double w0 = exp(-lam + (double)mode * log(lam) - gsl_sf_lngamma((double)mode + 1.0));
    double t0 = exp(a0 * log(h) - h - gsl_sf_lngamma(a0 + 1.0));
    if (!(t0 > 1e-280) || !isfinite(t0) || !(w0 > 0))
        return -1.0; /* the recurrence would start from an underflow */
    double sum = w0 * p0, reach = sqrt(lam) + 5.0;
    /* downward: k = mode - 1 ... 0 */
    double w = w0, p = p0, t = t0, a = a0;
    for (long k = mode - 1; k >= 0; k--) {
        t *= a / h; /* t(a - 1) */
        a -= 1.0;
        p += t;
        w *= (double)(k + 1) / lam;
        sum += w * p;
        if (w < 1e-18 && (double)(mode - k) > reach)
            break;
    }
    /* upward: k = mode + 1, ... */
    w = w0, p = p0, t = t0, a = a0;
    for (long k = mode + 1;; k++) {
        p -= t; /* P(a + 1) */
        if (p < 0)
            p = 0;
        t *= h / (a + 1.0);
        a += 1.0;
        w *= lam / (double)k;
        double term = w * p;
        sum += term;
        if ((w < 1e-18 && (double)(k - mode) > reach) ||
            (term < 1e-18 * sum && k > mode + 5) || p == 0)
            break;
    }
    return sum;
}

/* Is the mixture below 1e-20 (x far below its bulk)?  With K ~
 * Poisson(lam) and P_k decreasing in k, for any k*
 *   sum_k w_k P_k <= P(K <= k*) + P_{k*},
 * the Poisson tail by Chernoff's bound e^-lam (e lam / k*)^k*.  k* sits
 * 10 sd + 10 below the mode.  The RMSEA interval's root bracket and the
 * close-fit p-value evaluate the mixture at ncp of about N df 0.05^2, far
 * past x: there the recurrence underflows, and the direct sum (two
 * incomplete gammas per term, ~1000 terms) was most of a `by` level fit's
 * fit-measure time.  1e-20 is below half an ulp of every probability the
 * callers compare with or subtract from 1. */
static int pnchisq_negligible(double x, double df, double ncp)
{
    double lam = 0.5 * ncp, k = floor(lam - 10.0 * sqrt(lam) - 10.0);
    if (k < 1.0)
        return 0;
    double log_tail = -lam + k + k * log(lam / k), log_p = log(gsl_cdf_chisq_P(x, df + 2.0 * k));
    return log_tail < -46.0 && log_p < -46.0; /* e^-46 = 1.1e-20: sum < 2.3e-20 */
}

double sem_pnchisq(double x, double df, double ncp)
{
    if (!(x > 0))
        return 0.0;
    if (ncp <= 0)
        return gsl_cdf_chisq_P(x, df);
    double sum = pnchisq_recurrence(x, df, ncp);
    if (sum < 0)
        sum = pnchisq_negligible(x, df, ncp) ? 0.0 : pnchisq_direct(x, df, ncp);
    return sum > 1.0 ? 1.0 : sum;
}

typedef double (*root_fn)(double, void *);

/* R's zeroin (Brent 1973, as in R's R_zeroin2), f(a) and f(b) given. */
static double zeroin(root_fn f, void *ctx, double a, double b, double fa, double fb, double tol,
                     int maxit)
{
    double c = a, fc = fa;
    if (fa == 0.0)
        return a;
    if (fb == 0.0)
        return b;
    for (int it = 0; it <= maxit; it++) {
        double prev_step = b - a;
        if (fabs(fc) < fabs(fb)) {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        double tol_act = 2.0 * DBL_EPSILON * fabs(b) + tol / 2.0;
        double new_step = (c - b) / 2.0;
        if (fabs(new_step) <= tol_act || fb == 0.0)
            return b;
        if (fabs(prev_step) >= tol_act && fabs(fa) > fabs(fb)) {
            double t1, cb = c - b, p, q, t2;
            if (a == c) { /* linear interpolation */
                t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else { /* inverse quadratic interpolation */
                q = fa / fc;
                t1 = fb / fc;
                t2 = fb / fa;
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0));
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            if (p > 0)
                q = -q;
            else
                p = -p;
            if (p < (0.75 * cb * q - fabs(tol_act * q) / 2.0) && p < fabs(prev_step * q / 2.0))
                new_step = p / q;
        }
        if (fabs(new_step) < tol_act)
            new_step = new_step > 0 ? tol_act : -tol_act;
        a = b;
        fa = fb;
        b += new_step;
        fb = f(b, ctx);
        if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {
            c = a;
            fc = fa;
        }
    }
    return b;
}

typedef struct ci_ctx {
    double x2, df, target;
} ci_ctx;

static double ci_fn(double lambda, void *vctx)
{
    const ci_ctx *c = vctx;
    return sem_pnchisq(c->x2, c->df, lambda) - c->target;
}

static double uniroot(ci_ctx *c, double lo, double hi)
{
    double tol = pow(DBL_EPSILON, 0.25);
    return zeroin(ci_fn, c, lo, hi, ci_fn(lo, c), ci_fn(hi, c), tol, 1000);
}

/* lav_fit_rmsea_ci: lambda with pchisq(X2, df, lambda) = 0.95 / 0.05. */
static void rmsea_ci(double x2, double df, double n, double groups, double c_hat, double level,
                     double *lower, double *upper)
{
    ci_ctx c = {x2, df, 1.0 - (1.0 - level) / 2.0};
    if (df < 1 || ci_fn(0.0, &c) < 0.0) {
        *lower = 0.0;
    } else {
        double lam = uniroot(&c, 0.0, x2);
        *lower = sqrt(c_hat * lam / (n * df)) * (groups > 1 ? sqrt(groups) : 1.0);
    }
    c.target = (1.0 - level) / 2.0;
    double n_rmsea = n > 4.0 * x2 ? n : 4.0 * x2;
    if (df < 1 || ci_fn(n_rmsea, &c) > 0 || ci_fn(0.0, &c) < 0) {
        *upper = 0.0;
    } else {
        double lam = uniroot(&c, 0.0, n_rmsea);
        *upper = sqrt(c_hat * lam / (n * df)) * (groups > 1 ? sqrt(groups) : 1.0);
    }
}

/* ---- measure list ---------------------------------------------------- */

typedef struct measures {
    sem_measure *m;
    size_t n;
} measures;

static void put(measures *ms, const char *name, double value)
{
    snprintf(ms->m[ms->n].name, SEM_MEASURE_NAME_MAX, "%s", name);
    ms->m[ms->n++].value = value;
}

/* ---- ingredients ----------------------------------------------------- */

/* Observed variable i is a fixed.x covariate of group g. */
static int is_exo_ov(const sem_est *e, int g, size_t i)
{
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        const sem_param *row = &e->pt->rows[r];
        if (row->exo && row->free <= 0 && row->group == g && row->op == SEM_OP_COVARIANCE &&
            strcmp(row->lhs, e->mod.ov_names[i]) == 0)
            return 1;
    }
    return 0;
}

static size_t n_fixed_exo(const sem_est *e)
{
    size_t n = 0;
    for (size_t r = 0; r < e->pt->n_rows; r++) {
        const sem_param *row = &e->pt->rows[r];
        n += row->exo && row->free <= 0 &&
             (row->op == SEM_OP_COVARIANCE || row->op == SEM_OP_INTERCEPT);
    }
    return n;
}

/* log|S_xx| of the fixed.x covariates of group g (*nx of them). */
static int exo_logdet(const sem_est *e, size_t g, size_t *nx_out, double *ld, cx_error *err)
{
    size_t p = e->p, nx = 0;
    const double *s = e->smp[g].cov;
    size_t *ix = cx_malloc(sizeof(size_t) * (p + 1), err);
    double *sxx = cx_malloc(sizeof(double) * (p * p + 1), err);
    int rc = ix && sxx ? CX_OK : CX_ENOMEM;
    for (size_t i = 0; rc == CX_OK && i < p; i++)
        if (is_exo_ov(e, (int)g, i))
            ix[nx++] = i;
    for (size_t a = 0; rc == CX_OK && a < nx; a++)
        for (size_t b = 0; b < nx; b++)
            sxx[a * nx + b] = s[ix[a] * p + ix[b]];
    *ld = 0.0;
    if (rc == CX_OK && nx > 0 && sem_log_det_spd(sxx, nx, ld) != CX_OK)
        rc = cx_error_set(err, CX_EFAIL, "the exogenous covariates are collinear");
    free(ix);
    free(sxx);
    *nx_out = nx;
    return rc;
}

/* Independence model: chisq and df (lav_object_independence). */
static int baseline(const sem_est *e, double *x2, double *df, cx_error *err)
{
    size_t p = e->p;
    *x2 = 0.0;
    *df = 0.0;
    for (size_t g = 0; g < e->n_groups; g++) {
        size_t nx;
        double ld;
        int rc = exo_logdet(e, g, &nx, &ld, err);
        if (rc != CX_OK)
            return rc;
        double f = ld - e->logdet_s[g];
        if (e->fiml) { /* the independence model's FIML fit is closed form too */
            char *exo = cx_calloc(p + 1, 1, err);
            if (!exo)
                return CX_ENOMEM;
            for (size_t i = 0; i < p; i++)
                exo[i] = (char)is_exo_ov(e, (int)g, i);
            f = sem_fiml_baseline_f(e, g, exo) + (nx ? ld + (double)nx : 0.0);
            free(exo);
        }
        for (size_t i = 0; !e->fiml && i < p; i++)
            if (!is_exo_ov(e, (int)g, i))
                f += log(e->smp[g].cov[i * p + i]);
        *x2 += e->smp[g].n * f;
        *df += (double)(p * (p + 1) / 2) - (double)(p - nx) - (double)(nx * (nx + 1) / 2);
    }
    return CX_OK;
}

/* ---- incremental indices (lav_fit_cfi.R) ----------------------------- */

static double near_zero(double v)
{
    return fabs(v) < 1.5e-8; /* R's isTRUE(all.equal(v, 0)) */
}

typedef struct incr {
    double cfi, tli, rfi, nfi, pnfi, ifi, rni;
} incr;

/* lav_fit_cfi / tli / rfi / nfi / pnfi / ifi / rni; c and cb (the
 * scaling factors) are 1 except for the robust variants, which then use
 * X2 - c df (Brosseau-Liard & Savalei 2014). */
static incr incremental(double x2, double df, double x2b, double dfb, double c, double cb)
{
    incr r;
    int robust = df > 0 && c != 1.0 && cb != 1.0;
    double cdf = robust ? c * df : df, cdfb = robust ? cb * dfb : dfb;
    double t1 = fmax(x2 - cdf, 0.0), t2 = fmax(fmax(x2 - cdf, x2b - cdfb), 0.0);
    r.cfi = near_zero(t1) && near_zero(t2) ? 1.0 : 1.0 - t1 / t2;
    double a = (x2 - cdf) * dfb, b = (x2b - cdfb) * df;
    r.tli = df > 0 && fabs(b) > 0 ? 1.0 - a / b : 1.0;
    r.rfi = 1.0;
    if (df > dfb) {
        r.rfi = NAN;
    } else if (df > 0 && dfb > 0) {
        double u1 = x2b / dfb - x2 / df, u2 = x2b / dfb;
        r.rfi = (u1 < 0 || u2 < 0) ? 1.0 : u1 / u2;
    }
    if (df > dfb || near_zero(x2b))
        r.nfi = NAN;
    else
        r.nfi = df > 0 ? (x2b - x2) / x2b : 1.0;
    r.pnfi = dfb > 0 && x2b > 0 ? (df / dfb) * ((x2b - x2) / x2b) : NAN;
    double i1 = x2b - x2, i2 = x2b - df;
    r.ifi = i2 < 0 ? 1.0 : near_zero(i2) ? NAN : i1 / i2;
    r.rni = near_zero(x2b - cdfb) ? NAN : 1.0 - (x2 - cdf) / (x2b - cdfb);
    return r;
}

/* The scaled test: lavaan's chisq.scaled = chisq / c with
 * c = trace.UGamma / df (lav_test_yuan_bentler). */
typedef struct scaled {
    int on;
    double c, cb;   /* scaling factors of the model and the baseline */
    double x2, x2b; /* scaled statistics                             */
    double trace;   /* trace.UGamma: the df of rmsea.scaled          */
    /* missing = fiml: lavaan's "robust" CFI/TLI/RMSEA for missing data
     * (Savalei's corrections) are not designed yet: not reported */
    int no_robust;
} scaled;

/* lavaan's fitMeasures() order: standard, scaled, robust per family. */
static void incremental_measures(measures *ms, double x2, double df, double x2b, double dfb,
                                 const scaled *sc)
{
    incr st = incremental(x2, df, x2b, dfb, 1.0, 1.0), s = st, rb = st;
    if (sc->on) {
        s = incremental(sc->x2, df, sc->x2b, dfb, 1.0, 1.0);
        rb = incremental(x2, df, x2b, dfb, sc->c, sc->cb);
    }
    put(ms, "cfi", st.cfi);
    put(ms, "tli", st.tli);
    if (sc->on) {
        put(ms, "cfi.scaled", s.cfi);
        put(ms, "tli.scaled", s.tli);
    }
    if (sc->on && !sc->no_robust) {
        put(ms, "cfi.robust", rb.cfi);
        put(ms, "tli.robust", rb.tli);
    }
    put(ms, "nnfi", st.tli);
    put(ms, "rfi", st.rfi);
    put(ms, "nfi", st.nfi);
    put(ms, "pnfi", st.pnfi);
    put(ms, "ifi", st.ifi);
    put(ms, "rni", st.rni);
    if (sc->on) {
        put(ms, "nnfi.scaled", s.tli);
        put(ms, "rfi.scaled", s.rfi);
        put(ms, "nfi.scaled", s.nfi);
        put(ms, "pnfi.scaled", s.pnfi);
        put(ms, "ifi.scaled", s.ifi);
        put(ms, "rni.scaled", s.rni);
    }
    if (sc->on && !sc->no_robust) {
        put(ms, "nnfi.robust", rb.tli);
        put(ms, "rni.robust", rb.rni);
    }
}

/* ---- likelihood and information criteria ---------------------------- */

/* With fixed.x the likelihood is conditional on the covariates: their
 * marginal normal loglikelihood (at the sample moments) is subtracted. */
static int likelihood(measures *ms, const sem_est *e, double npar, const scaled *sc, cx_error *err)
{
    const double log2pi = log(2.0 * 3.14159265358979323846);
    double logl = 0.0, logl1 = 0.0, p = (double)e->p, n = e->n_total;
    if (e->fiml) /* casewise: the observed cells' normal densities */
        sem_fiml_logl(e, &logl, &logl1);
    for (size_t g = 0; g < e->n_groups; g++) {
        size_t nx;
        double ldx;
        int rc = exo_logdet(e, g, &nx, &ldx, err);
        if (rc != CX_OK)
            return rc;
        double c = p * log2pi + e->logdet_s[g] + p;
        double cx = (double)nx * log2pi + ldx + (double)nx;
        if (e->fiml) { /* the covariates (complete rows) drop out as below */
            logl -= -0.5 * e->smp[g].n * cx;
            logl1 -= -0.5 * e->smp[g].n * cx;
            continue;
        }
        logl += -0.5 * e->smp[g].n * (c + e->f_g[g] - cx);
        logl1 += -0.5 * e->smp[g].n * (c - cx);
    }
    put(ms, "logl", logl);
    put(ms, "unrestricted.logl", logl1);
    put(ms, "aic", -2.0 * logl + 2.0 * npar);
    put(ms, "bic", -2.0 * logl + npar * log(n));
    put(ms, "ntotal", n);
    put(ms, "bic2", -2.0 * logl + npar * log((n + 2.0) / 24.0));
    if (sc->on) { /* lav_test_yuan_bentler: h1 and h0 parts of trace.UGamma */
        put(ms, "scaling.factor.h1", e->rob->trace_h1 / e->rob->ndat);
        put(ms, "scaling.factor.h0", e->rob->trace_h0 / e->rob->nx_free);
    }
    return CX_OK;
}

/* lav_fit_rmsea: sqrt(max(X2 / N / df - c / N, 0)) sqrt(G). */
static double rmsea_value(double x2, double df, double n, double groups, double c)
{
    return df > 0 ? sqrt(fmax(x2 / n / df - c / n, 0.0)) * sqrt(groups) : 0.0;
}

/* lav_fit_rmsea_closefit / notclosefit: ncp = N df h0^2 / (c G). */
static double rmsea_close(double x2, double df, double n, double groups, double c, double h0,
                          int notclose)
{
    if (!(df > 0))
        return NAN;
    double pr = sem_pnchisq(x2, df, n * df / c * h0 * h0 / groups);
    return notclose ? pr : 1.0 - pr;
}

/* lav_fit_rmsea_lavobject: the scaled RMSEA is the unscaled X2 on
 * df = trace.UGamma; the robust one (Brosseau-Liard, Savalei & Li 2012)
 * subtracts c / N, its CI and p-values use the scaled X2 with c. */
static void rmsea(measures *ms, double x2, double df, double n, double groups, const scaled *sc)
{
    double lo, hi;
    put(ms, "rmsea", rmsea_value(x2, df, n, groups, 1.0));
    rmsea_ci(x2, df, n, groups, 1.0, 0.90, &lo, &hi);
    put(ms, "rmsea.ci.lower", lo);
    put(ms, "rmsea.ci.upper", hi);
    put(ms, "rmsea.ci.level", 0.90);
    /* Dudgeon 2004 eq 16: ncp = N df h0^2 / G */
    put(ms, "rmsea.pvalue", rmsea_close(x2, df, n, groups, 1.0, 0.05, 0));
    put(ms, "rmsea.close.h0", 0.05);
    put(ms, "rmsea.notclose.pvalue", rmsea_close(x2, df, n, groups, 1.0, 0.08, 1));
    put(ms, "rmsea.notclose.h0", 0.08);
    if (!sc->on)
        return;
    double df2 = sc->trace;
    put(ms, "rmsea.scaled", rmsea_value(x2, df2, n, groups, 1.0));
    rmsea_ci(x2, df2, n, groups, 1.0, 0.90, &lo, &hi);
    put(ms, "rmsea.ci.lower.scaled", lo);
    put(ms, "rmsea.ci.upper.scaled", hi);
    put(ms, "rmsea.pvalue.scaled", rmsea_close(x2, df2, n, groups, 1.0, 0.05, 0));
    put(ms, "rmsea.notclose.pvalue.scaled", rmsea_close(x2, df2, n, groups, 1.0, 0.08, 1));
    if (sc->no_robust)
        return;
    put(ms, "rmsea.robust", rmsea_value(x2, df, n, groups, sc->c));
    rmsea_ci(sc->x2, df, n, groups, sc->c, 0.90, &lo, &hi);
    put(ms, "rmsea.ci.lower.robust", lo);
    put(ms, "rmsea.ci.upper.robust", hi);
    put(ms, "rmsea.pvalue.robust", rmsea_close(sc->x2, df, n, groups, sc->c, 0.05, 0));
    put(ms, "rmsea.notclose.pvalue.robust", rmsea_close(sc->x2, df, n, groups, sc->c, 0.08, 1));
}

/* ---- residual-based indices (lav_residuals_summary, lav_fit_srmr) --- */

typedef struct resid_sums {
    double rmr[2], srmr[2], crmr[2], mplus[2]; /* [0] total, [1] covariances only */
} resid_sums;

static void group_residuals(const sem_est *e, size_t g, resid_sums *out)
{
    size_t p = e->p;
    const double *s = e->smp[g].cov, *sig = e->mod.grp[g].sigma, *mu = e->mod.grp[g].mu;
    const double *m = e->smp[g].mean;
    double raw = 0, bent = 0, boll = 0, mp_off = 0, mp_diag = 0;
    double raw_m = 0, bent_m = 0, boll_m = 0;
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j <= i; j++) {
            double rij = s[i * p + j] - sig[i * p + j];
            double sd = sqrt(s[i * p + i] * s[j * p + j]);
            double cor = s[i * p + j] / sd - sig[i * p + j] / sqrt(sig[i * p + i] * sig[j * p + j]);
            raw += rij * rij;
            bent += (rij / sd) * (rij / sd);
            if (i != j) {
                boll += cor * cor;
                mp_off += cor * cor;
            } else {
                double d = (s[i * p + i] - sig[i * p + i]) / s[i * p + i];
                mp_diag += d * d;
            }
        }
    int ms = e->pt->meanstructure;
    double mp_mean = 0;
    for (size_t i = 0; ms && i < p; i++) {
        double r = m[i] - mu[i], sd = sqrt(s[i * p + i]);
        double c = m[i] / sd - mu[i] / sqrt(sig[i * p + i]);
        raw_m += r * r;
        bent_m += (r / sd) * (r / sd);
        boll_m += (r / sd) * (r / sd); /* lavaan 0.6.14: crmr's means as srmr's */
        mp_mean += c * c;
    }
    double pstar = (double)(p * (p + 1) / 2), poff = (double)(p * (p - 1) / 2), dp = (double)p;
    out->rmr[1] = sqrt(raw / pstar);
    out->srmr[1] = sqrt(bent / pstar);
    out->crmr[1] = sqrt(boll / poff);
    out->mplus[1] = sqrt((mp_off + mp_diag) / pstar);
    out->rmr[0] = ms ? sqrt((raw + raw_m) / (pstar + dp)) : out->rmr[1];
    out->srmr[0] = ms ? sqrt((bent + bent_m) / (pstar + dp)) : out->srmr[1];
    out->crmr[0] = ms ? sqrt((boll + boll_m) / (poff + dp)) : out->crmr[1];
    out->mplus[0] = ms ? sqrt((mp_off + mp_mean + mp_diag) / (pstar + dp)) : out->mplus[1];
}

static void residual_indices(measures *ms, const sem_est *e)
{
    resid_sums acc = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
    for (size_t g = 0; g < e->n_groups; g++) {
        resid_sums one;
        group_residuals(e, g, &one);
        for (int k = 0; k < 2; k++) {
            acc.rmr[k] += e->w[g] * one.rmr[k];
            acc.srmr[k] += e->w[g] * one.srmr[k];
            acc.crmr[k] += e->w[g] * one.crmr[k];
            acc.mplus[k] += e->w[g] * one.mplus[k];
        }
    }
    put(ms, "rmr", acc.rmr[0]);
    put(ms, "rmr_nomean", acc.rmr[1]);
    put(ms, "srmr", acc.srmr[0]);
    put(ms, "srmr_bentler", acc.srmr[0]);
    put(ms, "srmr_bentler_nomean", acc.srmr[1]);
    put(ms, "crmr", acc.crmr[0]);
    put(ms, "crmr_nomean", acc.crmr[1]);
    put(ms, "srmr_mplus", acc.mplus[0]);
    put(ms, "srmr_mplus_nomean", acc.mplus[1]);
}

/* LISREL GFI with the ML weight: 1 - e'We / s'Ws, where for the covariance
 * part e'We = tr((Sigma^-1 (S - Sigma))^2) / 2 and s'Ws = tr((Sigma^-1 S)^2) / 2,
 * plus (ybar - mu)' Sigma^-1 (ybar - mu) and ybar' Sigma^-1 ybar with a
 * meanstructure.  lavaan's weight (lav_mvnorm_information_expected with
 * x.idx) zeroes the moments of the fixed.x covariates: the covariate block
 * of S and their means drop out of s'Ws (in e'We they are zero anyway). */
static double group_gfi(const sem_est *e, size_t g)
{
    size_t p = e->p;
    const double *si = e->sinv + g * p * p, *sig = e->mod.grp[g].sigma;
    double *a = malloc(sizeof(double) * (3 * p * p + p)), *b = a + p * p, *s = b + p * p;
    double *m = s + p * p;
    char *x = calloc(p + 1, 1);
    for (size_t i = 0; i < p; i++)
        x[i] = (char)is_exo_ov(e, (int)g, i);
    for (size_t i = 0; i < p; i++) {
        m[i] = x[i] ? 0.0 : e->smp[g].mean[i];
        for (size_t j = 0; j < p; j++)
            s[i * p + j] = x[i] && x[j] ? 0.0 : e->smp[g].cov[i * p + j];
    }
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++) {
            double u = 0, v = 0;
            for (size_t k = 0; k < p; k++) {
                double sk = e->smp[g].cov[k * p + j];
                u += si[i * p + k] * (sk - sig[k * p + j]);
                v += si[i * p + k] * s[k * p + j];
            }
            a[i * p + j] = u;
            b[i * p + j] = v;
        }
    double t1 = 0, t2 = 0;
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++) {
            t1 += 0.5 * a[i * p + j] * a[j * p + i];
            t2 += 0.5 * b[i * p + j] * b[j * p + i];
        }
    if (e->pt->meanstructure) {
        const double *ybar = e->smp[g].mean, *mu = e->mod.grp[g].mu;
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < p; j++) {
                t1 += (ybar[i] - mu[i]) * si[i * p + j] * (ybar[j] - mu[j]);
                t2 += m[i] * si[i * p + j] * m[j];
            }
    }
    free(a);
    free(x);
    return 1.0 - t1 / t2;
}

static void gfi_family(measures *ms, const sem_est *e, double df)
{
    double gfi = 0.0, nel = 0.0;
    /* missing = fiml: lavaan's GFI weighs its "sample" moments (available-
     * case means, a pairwise-type covariance) by the h1 expected information
     * of the missing-data likelihood; not designed yet, so not reported. */
    if (e->fiml)
        return;
    for (size_t g = 0; g < e->n_groups; g++) {
        gfi += e->w[g] * group_gfi(e, g);
        nel += (double)(e->p * (e->p + 1) / 2) + (e->pt->meanstructure ? (double)e->p : 0.0);
    }
    put(ms, "gfi", gfi);
    put(ms, "agfi", df > 0 ? 1.0 - (nel / df) * (1.0 - gfi) : 1.0);
    put(ms, "pgfi", nel > 0 ? (df / nel) * gfi : NAN);
}

int sem_fit_measures(sem_est *e, double fmin, sem_fit *fit, cx_error *err)
{
    measures ms = {cx_calloc(96, sizeof(sem_measure), err), 0};
    if (!ms.m)
        return CX_ENOMEM;
    double n = e->n_total, groups = (double)e->n_groups, npar = (double)e->q;
    double moments = 0.0;
    for (size_t g = 0; g < e->n_groups; g++)
        moments += (double)(e->p * (e->p + 1) / 2) + (e->pt->meanstructure ? (double)e->p : 0.0);
    double df = moments - npar - (double)n_fixed_exo(e);
    double x2 = 2.0 * n * fmin, x2b, dfb;
    int rc = baseline(e, &x2b, &dfb, err);
    if (rc != CX_OK) {
        free(ms.m);
        return rc;
    }
    scaled sc = {0};
    if (e->rob && df > 0) {
        sc.on = 1;
        sc.trace = e->rob->trace_h1 - e->rob->trace_h0;
        sc.c = sc.trace / df;
        sc.cb = (e->rob->trace_h1 - e->rob->trace_h0_base) / dfb;
        sc.x2 = x2 / sc.c;
        sc.x2b = x2b / sc.cb;
        sc.no_robust = e->fiml != NULL;
    }
    put(&ms, "npar", npar);
    put(&ms, "fmin", fmin);
    put(&ms, "chisq", x2);
    put(&ms, "df", df);
    put(&ms, "pvalue", df > 0 ? gsl_cdf_chisq_Q(x2, df) : NAN);
    if (sc.on) {
        put(&ms, "chisq.scaled", sc.x2);
        put(&ms, "df.scaled", df);
        put(&ms, "pvalue.scaled", gsl_cdf_chisq_Q(sc.x2, df));
        put(&ms, "chisq.scaling.factor", sc.c);
    }
    put(&ms, "baseline.chisq", x2b);
    put(&ms, "baseline.df", dfb);
    put(&ms, "baseline.pvalue", dfb > 0 ? gsl_cdf_chisq_Q(x2b, dfb) : NAN);
    if (sc.on) {
        put(&ms, "baseline.chisq.scaled", sc.x2b);
        put(&ms, "baseline.df.scaled", dfb);
        put(&ms, "baseline.pvalue.scaled", gsl_cdf_chisq_Q(sc.x2b, dfb));
        put(&ms, "baseline.chisq.scaling.factor", sc.cb);
    }
    incremental_measures(&ms, x2, df, x2b, dfb, &sc);
    if ((rc = likelihood(&ms, e, npar, &sc, err)) != CX_OK) {
        free(ms.m);
        return rc;
    }
    rmsea(&ms, x2, df, n, groups, &sc);
    residual_indices(&ms, e);
    int cn_ok = !(df == 0 && x2 < sqrt(DBL_EPSILON));
    put(&ms, "cn_05", cn_ok ? gsl_cdf_chisq_Pinv(0.95, df) / (x2 / n) + 1.0 : NAN);
    put(&ms, "cn_01", cn_ok ? gsl_cdf_chisq_Pinv(0.99, df) / (x2 / n) + 1.0 : NAN);
    gfi_family(&ms, e, df);
    put(&ms, "mfi", exp(-0.5 * (x2 - df) / n));
    put(&ms, "ecvi", x2 / n + 2.0 * npar / n);
    free(fit->measures);
    fit->measures = ms.m;
    fit->n_measures = ms.n;
    return CX_OK;
}
