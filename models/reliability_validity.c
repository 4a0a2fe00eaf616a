/*
 * reliability_validity.c — `cfa_job = NAME`: reliability and validity of
 * a fitted CFA's factors, as semTools 0.5-6 computes them.
 *
 * The factor model is read from the cfa job's `estimates` (est of the
 * =~ and ~~ rows, lavaan's parameterEstimates layout); the sample
 * covariance of its indicators (listwise, divisor N: lavaan's sampstat)
 * comes from this job's own pass over the same table.  Tables:
 *   validity        per factor: n_indicators, cr (compRelSEM, obs.var =
 *                   TRUE), cr_model (obs.var = FALSE), ave (AVE),
 *                   sqrt_ave, max_r2 (largest squared correlation with
 *                   another factor), fornell_larcker (1 when ave > max_r2);
 *   fornell_larcker factor x factor: sqrt(AVE) on the diagonal, the
 *                   latent correlations off it;
 *   htmt            factor x factor: semTools::htmt's default (HTMT2:
 *                   geometric means of absolute correlations; 1 on the
 *                   diagonal);
 *   htmt1           the same with arithmetic means (htmt2 = FALSE, the
 *                   original HTMT of Henseler et al.).
 * Factors with a single indicator get NaN (semTools' dropSingle), AVE is
 * NaN for a factor with a cross-loading indicator (semTools' rule).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reducer.h"
#include "reliability_factor.h"
#include "reliability_internal.h"

static int est_column(const cx_job *job, const cx_rtable *t, const char *name, int type,
                      cx_error *err)
{
    int c = t ? cx_rtable_find_column(t, name) : -1;
    if (c >= 0 && (int)t->cols[c].type == type)
        return c;
    cx_job_error(job, "cfa_job", err, CX_EUSAGE,
                 "job '%s' has no estimates column '%s'; expected a cfa job's result",
                 cx_section_get(job->section, "cfa_job"), name);
    return -1;
}

/* Unique names of column `col` over the =~ rows (lhs: factors, rhs:
 * indicators that are not factors). */
static size_t collect(const cx_rtable *t, int op, int col, char (*out)[REL_NAME_MAX],
                      const char (*lv)[REL_NAME_MAX], size_t n_lv)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        if (strcmp(t->cols[op].s[i], "=~"))
            continue;
        const char *name = t->cols[col].s[i];
        int seen = 0;
        for (size_t k = 0; k < n && !seen; k++)
            seen = !strcmp(out[k], name);
        for (size_t k = 0; lv && k < n_lv && !seen; k++)
            seen = !strcmp(lv[k], name);
        if (!seen && strlen(name) < REL_NAME_MAX)
            snprintf(out[n++], REL_NAME_MAX, "%s", name);
    }
    return n;
}

int rel_input_model(const cx_job *job, rel_fmodel **out, cx_error *err)
{
    *out = NULL;
    const char *name = cx_section_get(job->section, "cfa_job");
    if (strcmp(job->input_model, "cfa"))
        return cx_job_error(job, "cfa_job", err, CX_EUSAGE,
                            "job '%s' is a %s job; expected a cfa job", name, job->input_model);
    const cx_rtable *t = cx_result_find_table(job->input, "estimates");
    if (!t || !t->ncols || strcmp(t->cols[0].name, "lhs"))
        return cx_job_error(job, "cfa_job", err, CX_EUSAGE,
                            "job '%s' was fitted per `by` level; expected one cfa fit", name);
    int lhs = est_column(job, t, "lhs", CX_RCOL_STRING, err);
    int op = lhs >= 0 ? est_column(job, t, "op", CX_RCOL_STRING, err) : -1;
    int rhs = op >= 0 ? est_column(job, t, "rhs", CX_RCOL_STRING, err) : -1;
    int grp = rhs >= 0 ? est_column(job, t, "group", CX_RCOL_INT, err) : -1;
    int est = grp >= 0 ? est_column(job, t, "est", CX_RCOL_DOUBLE, err) : -1;
    if (est < 0)
        return err->code;
    for (size_t i = 0; i < t->nrows; i++)
        if (t->cols[grp].i[i] != 0)
            return cx_job_error(job, "cfa_job", err, CX_EUSAGE,
                                "job '%s' is a multi-group cfa; expected one group", name);
    char(*lv)[REL_NAME_MAX] = cx_calloc(t->nrows + 1, sizeof *lv, err);
    char(*ov)[REL_NAME_MAX] = cx_calloc(t->nrows + 1, sizeof *ov, err);
    int rc = lv && ov ? CX_OK : CX_ENOMEM;
    size_t m = rc == CX_OK ? collect(t, op, lhs, lv, NULL, 0) : 0;
    size_t p = rc == CX_OK ? collect(t, op, rhs, ov, (const char(*)[REL_NAME_MAX])lv, m) : 0;
    if (rc == CX_OK && (m == 0 || p == 0))
        rc = cx_job_error(job, "cfa_job", err, CX_EUSAGE,
                          "job '%s' has no loadings (=~ rows); expected a cfa job", name);
    rel_fmodel *fm = rc == CX_OK ? rel_fmodel_alloc(p, m, err) : NULL;
    if (rc == CX_OK && !fm)
        rc = CX_ENOMEM;
    if (rc == CX_OK) {
        memcpy(fm->lv, lv, m * sizeof *lv);
        memcpy(fm->ov, ov, p * sizeof *ov);
        for (size_t i = 0; i < t->nrows; i++)
            rel_fmodel_set(fm, t->cols[lhs].s[i], t->cols[op].s[i], t->cols[rhs].s[i],
                           t->cols[est].d[i]);
        *out = fm;
    }
    free(lv), free(ov);
    return rc;
}

/* Indicators of factor f. */
static size_t n_indicators(const rel_fmodel *fm, size_t f)
{
    size_t n = 0;
    for (size_t i = 0; i < fm->p; i++)
        n += fm->lambda[f * fm->p + i] != 0;
    return n;
}

/* A factor with an indicator that loads on another factor too. */
static int cross_loaded(const rel_fmodel *fm, size_t f)
{
    for (size_t i = 0; i < fm->p; i++) {
        if (fm->lambda[f * fm->p + i] == 0)
            continue;
        for (size_t g = 0; g < fm->m; g++)
            if (g != f && fabs(fm->lambda[g * fm->p + i]) >= 5e-6) /* semTools: round(x, 5) */
                return 1;
    }
    return 0;
}

static double lv_cor(const rel_fmodel *fm, size_t f, size_t g)
{
    size_t m = fm->m;
    return fm->psi[f * m + g] / sqrt(fm->psi[f * m + f] * fm->psi[g * m + g]);
}

/* A factor x factor table: column `factor`, then one column per factor. */
static cx_rtable *square_table(const rel_fmodel *fm, cx_result *r, const char *name,
                               cx_error *err)
{
    cx_rtable *t = cx_result_table(r, name, err);
    if (!t || cx_rtable_add_column(t, "factor", CX_RCOL_STRING, err))
        return NULL;
    for (size_t f = 0; f < fm->m; f++)
        if (cx_rtable_add_column(t, fm->lv[f], CX_RCOL_DOUBLE, err))
            return NULL;
    for (size_t f = 0; f < fm->m; f++)
        if (cx_rtable_add_row(t, err) < 0 || cx_rtable_set_string(t, f, "factor", fm->lv[f], err))
            return NULL;
    return t;
}

static int write_validity(const rel_fmodel *fm, const double *S, const double *ave, cx_result *r,
                          cx_error *err)
{
    static const char *const cols[] = {"cr", "cr_model", "ave", "sqrt_ave", "max_r2", NULL};
    cx_rtable *t = cx_result_table(r, "validity", err);
    if (!t || cx_rtable_add_column(t, "factor", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "n_indicators", CX_RCOL_INT, err))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t c = 0; cols[c]; c++)
        if (cx_rtable_add_column(t, cols[c], CX_RCOL_DOUBLE, err))
            return err->code;
    if (cx_rtable_add_column(t, "fornell_larcker", CX_RCOL_INT, err))
        return err->code;
    for (size_t f = 0; f < fm->m; f++) {
        size_t k = n_indicators(fm, f);
        double max_r2 = 0;
        for (size_t g = 0; g < fm->m; g++)
            if (g != f && n_indicators(fm, g) > 1) {
                double c = lv_cor(fm, f, g);
                max_r2 = c * c > max_r2 ? c * c : max_r2;
            }
        const double v[] = {k > 1 ? rel_comp_rel(fm, f, S, 1) : NAN,
                            k > 1 ? rel_comp_rel(fm, f, S, 0) : NAN, ave[f], sqrt(ave[f]),
                            max_r2};
        if (cx_rtable_add_row(t, err) < 0 || cx_rtable_set_string(t, f, "factor", fm->lv[f], err))
            return err->code ? err->code : CX_ENOMEM;
        cx_rtable_set_int(t, f, "n_indicators", (long long)k);
        for (size_t c = 0; cols[c]; c++)
            cx_rtable_set_double(t, f, cols[c], v[c]);
        cx_rtable_set_int(t, f, "fornell_larcker", !isnan(ave[f]) && ave[f] > max_r2);
        if (!isnan(v[0]) &&
            rel_add_point(r, fm->lv[f], "cr", v[0], err) < 0)
            return err->code ? err->code : CX_ENOMEM;
        if (!isnan(ave[f]) &&
            rel_add_point(r, fm->lv[f], "ave", ave[f], err) < 0)
            return err->code ? err->code : CX_ENOMEM;
    }
    return CX_OK;
}

/* The cfa job's syntax and std_lv, to refit it on bootstrap replicates. */
static const char *cfa_syntax(const cx_job *job, int *std_lv, cx_error *err)
{
    const char *name = cx_section_get(job->section, "cfa_job");
    for (size_t i = 0; name && i < job->config->n_jobs; i++) {
        const cx_config_section *sec = &job->config->jobs[i];
        if (strcmp(sec->name, name))
            continue;
        *std_lv = 0;
        if (cx_section_get(sec, "std_lv") &&
            cx_section_get_bool(job->config, sec, "std_lv", std_lv, err))
            return NULL;
        return cx_section_get(sec, "syntax");
    }
    return NULL;
}

/* Replicate values of CR and AVE (the cfa refitted on each replicate's
 * covariance) and HTMT (from the covariance alone). */
typedef struct boot_values {
    size_t B, m;
    double *cr, *ave, *htmt; /* B x m, B x m, B x m x m (NaN: unusable) */
} boot_values;

static int replicate(const cx_job *job, const rel_fmodel *fm, const char *syntax, int std_lv,
                     const cx_moments *mb, size_t b, boot_values *bv, double *S, cx_error *err)
{
    size_t m = fm->m, p = fm->p;
    cx_moments_covariance(mb, 0, S);
    for (size_t f = 0; f < m; f++)
        for (size_t g = 0; g < m; g++)
            bv->htmt[(b * m + f) * m + g] =
                n_indicators(fm, f) > 1 && n_indicators(fm, g) > 1 ? rel_htmt(fm, f, g, S, 1)
                                                                   : NAN;
    if (!syntax)
        return CX_OK;
    char(*names)[REL_NAME_MAX] = cx_calloc(p, sizeof *names, err);
    double *Sm = cx_malloc(p * p * sizeof *Sm, err);
    int rc = names && Sm ? CX_OK : CX_ENOMEM;
    rel_fmodel *fb = NULL;
    int converged = 0;
    char warnings[2048];
    cx_error why = {0};
    if (rc == CX_OK) {
        memcpy(names, fm->ov, p * sizeof *names);
        rel_fsample smp = {.p = p, .names = names, .cov = S, .mean = mb->mean, .n = mb->n_rows};
        if (rel_fit_cfa(syntax, &smp, std_lv, &fb, &converged, warnings, sizeof warnings, &why) ==
                CX_OK &&
            converged)
            rc = rel_fmodel_sample(fb, &smp, Sm, err);
    }
    for (size_t f = 0; rc == CX_OK && fb && converged && f < m; f++) {
        long fr = rel_fmodel_lv(fb, fm->lv[f]);
        if (fr < 0 || n_indicators(fb, (size_t)fr) < 2)
            continue;
        bv->cr[b * m + f] = rel_comp_rel(fb, (size_t)fr, Sm, 1);
        if (!cross_loaded(fb, (size_t)fr))
            bv->ave[b * m + f] = rel_ave(fb, (size_t)fr, Sm);
    }
    (void)job;
    rel_fmodel_free(fb);
    free(names), free(Sm);
    return rc;
}

/* Replicates of column `at` (stride) that are finite into t; count. */
static size_t usable(const double *v, size_t B, size_t stride, size_t at, double *t)
{
    size_t ok = 0;
    for (size_t b = 0; b < B; b++)
        if (isfinite(v[b * stride + at]))
            t[ok++] = v[b * stride + at];
    return ok;
}

/* `bootstrap` rows: F := cr, F := ave, F htmt G (f < g). */
static int write_boot(const cx_job *job, const rel_fmodel *fm, const boot_values *bv,
                      const double *cr, const double *ave, const double *S, cx_result *r,
                      cx_error *err)
{
    size_t m = fm->m, B = bv->B;
    double *t = cx_malloc(B * sizeof *t, err);
    int rc = t ? CX_OK : CX_ENOMEM;
    for (size_t f = 0; rc == CX_OK && f < m; f++) {
        size_t ok = usable(bv->cr, B, m, f, t);
        rc = rel_boot_row(job, r, fm->lv[f], ":=", "cr", cr[f], t, ok, B, err);
        if (rc == CX_OK) {
            ok = usable(bv->ave, B, m, f, t);
            rc = rel_boot_row(job, r, fm->lv[f], ":=", "ave", ave[f], t, ok, B, err);
        }
    }
    for (size_t f = 0; rc == CX_OK && f < m; f++)
        for (size_t g = f + 1; rc == CX_OK && g < m; g++) {
            if (n_indicators(fm, f) < 2 || n_indicators(fm, g) < 2)
                continue;
            size_t ok = usable(bv->htmt, B, m * m, f * m + g, t);
            rc = rel_boot_row(job, r, fm->lv[f], "htmt", fm->lv[g], rel_htmt(fm, f, g, S, 1), t,
                              ok, B, err);
        }
    free(t);
    return rc;
}

static int validity_bootstrap(const cx_job *job, const rel_fmodel *fm, const void *boot,
                              size_t l, const double *cr, const double *ave, const double *S,
                              cx_result *r, cx_error *err)
{
    size_t B = (size_t)job->bootstrap, m = fm->m, p = fm->p;
    int std_lv = 0;
    const char *syntax = cfa_syntax(job, &std_lv, err);
    if (err->code)
        return err->code;
    if (!syntax)
        cx_result_add_warning(r, "no bootstrap of CR and AVE: the cfa job's syntax is not in "
                                 "this config");
    boot_values bv = {B, m, cx_malloc(B * m * sizeof(double), err),
                      cx_malloc(B * m * sizeof(double), err),
                      cx_malloc(B * m * m * sizeof(double), err)};
    double *Sb = cx_malloc(p * p * sizeof *Sb, err);
    int rc = bv.cr && bv.ave && bv.htmt && Sb ? CX_OK : CX_ENOMEM;
    for (size_t i = 0; rc == CX_OK && i < B * m; i++)
        bv.cr[i] = bv.ave[i] = NAN;
    for (size_t b = 0; rc == CX_OK && b < B; b++) {
        cx_moments *mb = cx_moments_result(boot, l, b, err);
        if (!mb) {
            rc = err->code ? err->code : CX_ENOMEM;
            break;
        }
        if (mb->n_rows > (double)p)
            rc = replicate(job, fm, syntax, std_lv, mb, b, &bv, Sb, err);
        else
            for (size_t i = 0; i < m * m; i++)
                bv.htmt[b * m * m + i] = NAN;
        cx_moments_free(mb);
    }
    if (rc == CX_OK)
        rc = write_boot(job, fm, &bv, cr, ave, S, r, err);
    free(bv.cr), free(bv.ave), free(bv.htmt), free(Sb);
    return rc;
}

int rel_write_validity(const cx_job *job, const rel_fmodel *fm, const void *acc, const void *boot,
                       size_t l, cx_result *r, cx_error *err)
{
    cx_moments *m = cx_moments_result(acc, l, 0, err);
    if (!m)
        return err->code ? err->code : CX_ENOMEM;
    size_t p = fm->p;
    double *S = cx_malloc(p * p * sizeof *S, err), *ave = cx_malloc(fm->m * sizeof *ave, err);
    int rc = S && ave ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK && m->n_rows < 2)
        rc = cx_job_error(job, "cfa_job", err, CX_EFAIL,
                          "fewer than 2 complete rows of the cfa's indicators");
    if (rc == CX_OK) {
        r->nobs = m->n_rows > r->nobs ? m->n_rows : r->nobs;
        cx_moments_covariance(m, 0, S);
        if (job->input->nobs > 0 && fabs(job->input->nobs - m->n_rows) > 0.5)
            cx_result_add_warning(r, "cfa_job used %g rows, this job %g complete rows of its "
                                     "indicators; CR, AVE and HTMT use this job's",
                                  job->input->nobs, m->n_rows);
        for (size_t f = 0; f < fm->m; f++)
            ave[f] = n_indicators(fm, f) > 1 && !cross_loaded(fm, f) ? rel_ave(fm, f, S) : NAN;
        rc = write_validity(fm, S, ave, r, err);
    }
    cx_rtable *fl = rc == CX_OK ? square_table(fm, r, "fornell_larcker", err) : NULL;
    cx_rtable *ht = fl ? square_table(fm, r, "htmt", err) : NULL;
    cx_rtable *h1 = ht ? square_table(fm, r, "htmt1", err) : NULL;
    if (rc == CX_OK && !h1)
        rc = err->code ? err->code : CX_ENOMEM;
    for (size_t f = 0; rc == CX_OK && f < fm->m; f++)
        for (size_t g = 0; g < fm->m; g++) {
            int ok = n_indicators(fm, f) > 1 && n_indicators(fm, g) > 1;
            cx_rtable_set_double(fl, f, fm->lv[g], f == g ? sqrt(ave[f]) : lv_cor(fm, f, g));
            cx_rtable_set_double(ht, f, fm->lv[g], ok ? rel_htmt(fm, f, g, S, 1) : NAN);
            cx_rtable_set_double(h1, f, fm->lv[g], ok ? rel_htmt(fm, f, g, S, 0) : NAN);
        }
    if (rc == CX_OK && boot) {
        const cx_rtable *v = cx_result_find_table(r, "validity");
        const double *cr = v->cols[cx_rtable_find_column(v, "cr")].d;
        rc = validity_bootstrap(job, fm, boot, l, cr, ave, S, r, err);
    }
    cx_moments_free(m);
    free(S), free(ave);
    return rc;
}
