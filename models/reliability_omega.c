/*
 * reliability_omega.c — McDonald's omega of `model = reliability`: per
 * scale a one-factor ML CFA of the keyed items, for the instrument a
 * bifactor CFA (omega hierarchical), both through models/sem's estimator
 * and semTools::compRelSEM's formulas (reliability_factor.c); and the
 * per-scale bootstrap of alpha and omega.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reducer.h"
#include "reliability_factor.h"
#include "reliability_internal.h"
#include "reliability_stats.h"

/* McDonald's omega of one scale: a one-factor ML CFA (lavaan's cfa(),
 * std.lv) of its keyed items on their covariance S (divisor N), then
 * semTools::compRelSEM with obs.var = TRUE (*omega) and FALSE
 * (*omega_model).  Both NaN with `why` set when the model cannot be fitted;
 * *converged and `warnings` say how the fit went. */
static int omega_fit(const rel_scale *sc, const double *S, const double *mean, double n,
                     double *omega, double *omega_model, int *converged, char *warnings,
                     size_t warn_len, cx_error *why, cx_error *err)
{
    size_t k = sc->k, len = 32;
    *omega = *omega_model = NAN;
    for (size_t i = 0; i < k; i++)
        len += strlen(sc->items[i]) + 3;
    char *syntax = cx_malloc(len, err);
    double *Sm = cx_malloc(k * k * sizeof *Sm, err);
    char(*names)[REL_NAME_MAX] = cx_calloc(k, sizeof *names, err);
    int rc = syntax && Sm && names ? CX_OK : CX_ENOMEM;
    rel_fmodel *fm = NULL;
    if (rc == CX_OK) {
        size_t at = (size_t)snprintf(syntax, len, "F_omega =~ ");
        for (size_t i = 0; i < k; i++) {
            at += (size_t)snprintf(syntax + at, len - at, "%s%s", i ? " + " : "", sc->items[i]);
            snprintf(names[i], REL_NAME_MAX, "%s", sc->items[i]);
        }
        rel_fsample smp = {.p = k, .names = names, .cov = S, .mean = mean, .n = n};
        if (rel_fit_cfa(syntax, &smp, 1, &fm, converged, warnings, warn_len, why) == CX_OK) {
            rc = rel_fmodel_sample(fm, &smp, Sm, err);
            if (rc == CX_OK) {
                *omega = rel_comp_rel(fm, 0, Sm, 1);
                *omega_model = rel_comp_rel(fm, 0, Sm, 0);
            }
        }
    }
    rel_fmodel_free(fm);
    free(syntax), free(Sm), free(names);
    return rc;
}

/* Omega of a scale's listwise moments into res (NaN under pairwise or
 * with fewer than 3 items: 2 do not identify one factor). */
int rel_scale_omega(const rel_scale *sc, const cx_moments *m, const double *C, double n,
                    rel_scale_result *res, cx_result *r, cx_error *err)
{
    size_t k = sc->k;
    res->omega = res->omega_model = NAN;
    if (k < 3 || m->mode != CX_MISSING_LISTWISE)
        return CX_OK;
    double *S = cx_malloc(k * k * sizeof *S, err);
    if (!S)
        return CX_ENOMEM;
    for (size_t i = 0; i < k * k; i++)
        S[i] = C[i] * (n - 1) / n;
    int converged = 0;
    char warnings[2048] = "";
    cx_error why = {0};
    int rc = omega_fit(sc, S, m->mean, n, &res->omega, &res->omega_model, &converged, warnings,
                       sizeof warnings, &why, err);
    if (rc == CX_OK && why.code)
        cx_result_add_warning(r, "scale %s: omega: %s", sc->name, why.msg);
    else if (rc == CX_OK && !converged)
        cx_result_add_warning(r, "scale %s: the one-factor model for omega did not converge",
                              sc->name);
    if (rc == CX_OK && warnings[0])
        cx_result_add_warning(r, "scale %s: omega: %s", sc->name, warnings);
    free(S);
    return rc;
}

/* Bootstrap of scale sc at level l: alpha of every replicate (and omega,
 * a one-factor CFA refitted per replicate, listwise with 3+ items), one
 * `bootstrap` row each. */
int rel_scale_bootstrap(const cx_job *job, const rel_scale *sc, const void *boot, size_t l,
                        cx_result *r, cx_error *err)
{
    size_t B = (size_t)job->bootstrap, k = sc->k, n_alpha = 0, n_omega = 0;
    int want_omega = k >= 3;
    double *C = cx_malloc(k * k * sizeof *C, err), *work = cx_malloc(rel_work_size(k) * 8, err);
    double *ta = cx_malloc(B * sizeof *ta, err), *to = cx_malloc(B * sizeof *to, err);
    int rc = C && work && ta && to ? CX_OK : CX_ENOMEM;
    for (size_t b = 0; rc == CX_OK && b < B; b++) {
        cx_moments *m = cx_moments_result(boot, l, b, err);
        if (!m) {
            rc = CX_ENOMEM;
            break;
        }
        double n = m->n_rows;
        rel_covariance(m, C);
        rel_alpha a;
        if (n > 2 && rel_alpha_of(C, k, n, &a, work) == 0 && isfinite(a.raw))
            ta[n_alpha++] = a.raw;
        if (want_omega && n > (double)k) {
            for (size_t i = 0; i < k * k; i++)
                C[i] *= (n - 1) / n;
            double omega, omega_model;
            int converged = 0;
            char warnings[2048];
            cx_error why = {0};
            rc = omega_fit(sc, C, m->mean, n, &omega, &omega_model, &converged, warnings,
                           sizeof warnings, &why, err);
            if (rc == CX_OK && converged && isfinite(omega))
                to[n_omega++] = omega;
        }
        cx_moments_free(m);
    }
    const cx_rtable *rel = cx_result_find_table(r, "reliability");
    size_t last = rel ? rel->nrows - 1 : 0;
    if (rc == CX_OK)
        rc = rel_boot_row(job, r, sc->name, ":=", "alpha",
                          rel->cols[cx_rtable_find_column(rel, "raw_alpha")].d[last], ta, n_alpha,
                          B, err);
    if (rc == CX_OK && want_omega)
        rc = rel_boot_row(job, r, sc->name, ":=", "omega",
                          rel->cols[cx_rtable_find_column(rel, "omega")].d[last], to, n_omega, B,
                          err);
    free(C), free(work), free(ta), free(to);
    return rc;
}

/* lavaan syntax of the bifactor model: `general` on every item, one
 * group factor per scale, all factors orthogonal. */
static char *bifactor_syntax(const rel_scales *s, cx_error *err)
{
    size_t len = 64;
    for (size_t i = 0; i < s->n; i++) {
        len += 2 * strlen(s->scale[i].name) + 64 + 16 * s->n;
        for (size_t j = 0; j < s->scale[i].k; j++)
            len += 2 * strlen(s->scale[i].items[j]) + 8;
    }
    char *t = cx_malloc(len, err);
    if (!t)
        return NULL;
    size_t at = (size_t)snprintf(t, len, "general =~ ");
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->scale[i].k; j++)
            at += (size_t)snprintf(t + at, len - at, "%s%s", i + j ? " + " : "",
                                   s->scale[i].items[j]);
    for (size_t i = 0; i < s->n; i++) {
        at += (size_t)snprintf(t + at, len - at, "\n%s =~ ", s->scale[i].name);
        for (size_t j = 0; j < s->scale[i].k; j++)
            at += (size_t)snprintf(t + at, len - at, "%s%s", j ? " + " : "", s->scale[i].items[j]);
        at += (size_t)snprintf(t + at, len - at, "\ngeneral ~~ 0*%s", s->scale[i].name);
        for (size_t i2 = i + 1; i2 < s->n; i2++)
            at += (size_t)snprintf(t + at, len - at, "\n%s ~~ 0*%s", s->scale[i].name,
                                   s->scale[i2].name);
    }
    return t;
}

/* A factor name that is also an item (or `general`) would make the
 * bifactor syntax mean something else. */
static const char *name_clash(const rel_scales *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->scale[i].name, "general"))
            return s->scale[i].name;
        for (size_t i2 = 0; i2 < s->n; i2++)
            for (size_t j = 0; j < s->scale[i2].k; j++)
                if (!strcmp(s->scale[i].name, s->scale[i2].items[j]) ||
                    !strcmp(s->scale[i2].items[j], "general"))
                    return s->scale[i2].items[j];
    }
    return NULL;
}

/* The `bifactor` table: semTools::compRelSEM of every factor of the
 * bifactor CFA; the general factor's is omega hierarchical. */
static int write_bifactor(const rel_fmodel *fm, const double *S, double n, cx_result *r,
                          cx_error *err)
{
    cx_rtable *t = cx_result_table(r, "bifactor", err);
    if (!t || cx_rtable_add_column(t, "factor", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "n", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "omega", CX_RCOL_DOUBLE, err) ||
        cx_rtable_add_column(t, "omega_model", CX_RCOL_DOUBLE, err))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t f = 0; f < fm->m; f++) {
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "factor", fm->lv[f], err))
            return err->code ? err->code : CX_ENOMEM;
        cx_rtable_set_int(t, (size_t)row, "n", llround(n));
        cx_rtable_set_double(t, (size_t)row, "omega", rel_comp_rel(fm, f, S, 1));
        cx_rtable_set_double(t, (size_t)row, "omega_model", rel_comp_rel(fm, f, S, 0));
    }
    long g = rel_fmodel_lv(fm, "general");
    if (g >= 0 && rel_add_point(r, "general", "omega_h", rel_comp_rel(fm, (size_t)g, S, 1), err) < 0)
        return err->code ? err->code : CX_ENOMEM;
    return CX_OK;
}

/* Omega hierarchical of the instrument: a bifactor ML CFA on the
 * listwise covariance (divisor N) of every scale's keyed items. */
int rel_instrument_omega(const rel_scales *s, const void *acc, size_t l, cx_result *r,
                         cx_error *err)
{
    const char *clash = name_clash(s);
    if (clash) {
        cx_result_add_warning(r, "no omega hierarchical: '%s' is both a factor and an item "
                                 "name (or 'general')",
                              clash);
        return CX_OK;
    }
    cx_moments *m = cx_moments_result(acc, l, 0, err);
    if (!m)
        return err->code ? err->code : CX_ENOMEM;
    size_t p = m->p;
    double *S = cx_malloc(p * p * sizeof *S, err);
    char(*names)[REL_NAME_MAX] = cx_calloc(p, sizeof *names, err);
    char *syntax = bifactor_syntax(s, err);
    int rc = S && names && syntax ? CX_OK : CX_ENOMEM;
    rel_fmodel *fm = NULL;
    if (rc == CX_OK && m->n_rows <= (double)p) {
        cx_result_add_warning(r, "no omega hierarchical: %g complete rows for %zu items",
                              m->n_rows, p);
    } else if (rc == CX_OK) {
        cx_moments_covariance(m, 0, S);
        size_t at = 0;
        for (size_t i = 0; i < s->n; i++)
            for (size_t j = 0; j < s->scale[i].k; j++)
                snprintf(names[at++], REL_NAME_MAX, "%s", s->scale[i].items[j]);
        rel_fsample smp = {.p = p, .names = names, .cov = S, .mean = m->mean, .n = m->n_rows};
        int converged = 0;
        char warnings[2048];
        cx_error ferr = {0};
        double *Sm = cx_malloc(p * p * sizeof *Sm, err);
        if (!Sm)
            rc = CX_ENOMEM;
        else if (rel_fit_cfa(syntax, &smp, 1, &fm, &converged, warnings, sizeof warnings, &ferr))
            cx_result_add_warning(r, "no omega hierarchical: the bifactor model: %s", ferr.msg);
        else if ((rc = rel_fmodel_sample(fm, &smp, Sm, err)) == CX_OK) {
            rc = write_bifactor(fm, Sm, m->n_rows, r, err);
            if (!converged)
                cx_result_add_warning(r, "the bifactor model for omega hierarchical did not "
                                         "converge");
            if (warnings[0])
                cx_result_add_warning(r, "bifactor model: %s", warnings);
        }
        free(Sm);
    }
    rel_fmodel_free(fm);
    cx_moments_free(m);
    free(S), free(names), free(syntax);
    return rc;
}
