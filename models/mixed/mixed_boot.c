/*
 * mixed_boot.c — `bootstrap = B` for `model = mixed`: a cluster bootstrap
 * by the grouping factor (the groups, not the rows, are the independent
 * units of a mixed model; rows within a group are not exchangeable).
 *
 * As every cxfit bootstrap (resample.h), replicate r gives each cluster a
 * Poisson(1) count cx_boot_count(seed, r, key of the cluster's value):
 * the replicate holds that many copies of the group, each a group of its
 * own (its own random effect).  Copies need no new pass: the replicate's
 * PLS system is the original one with group l's block counted c_l times
 * (mx_pls_set_replicate) and [X y]'[X y], n summed with the same weights
 * over the cells.  Each replicate is refitted from lme4's start; the
 * estimates' SEs become the replicates' SD and the CIs their percentile
 * intervals (bootci.h), for the fixed effects (estimates: se, z, pvalue,
 * ci_lower, ci_upper; df NaN) and the variance components (se, ci_lower,
 * ci_upper); the `bootstrap` table has per statistic (`table`, `row`
 * of estimates or variance_components) est, se, boot_mean and the
 * percentile and normal intervals.  Replicates that fail (fewer than two groups drawn, a
 * singular cross-product, no convergence) are left out and counted.
 *
 * Only designs with one grouping factor of one column (the dense path):
 * `cxfit check` refuses bootstrap for nested and crossed designs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "bootci.h"
#include "mixed.h"
#include "resample.h"

/* The replicate's counts per level, [X y]'[X y] and n; the number of
 * groups drawn. */
static size_t replicate_data(const cx_job *job, const mx_problem *pr, size_t r, double *mult,
                             double *xy, double *n)
{
    const mx_term *tm = &pr->terms[0];
    size_t drawn = 0, p1 = pr->p + 1, m = pr->m, nz = pr->nz;
    for (size_t l = 0; l < tm->n_levels; l++) {
        mult[l] = cx_boot_count(job->seed, r, cx_value_key(tm->levels[l]));
        drawn += mult[l] > 0;
    }
    memset(xy, 0, p1 * p1 * sizeof *xy);
    *n = 0;
    for (size_t c = 0; c < pr->n_cells; c++) {
        if (pr->cell_n[c] <= 0)
            continue;
        double w = mult[tm->cell_level[c]];
        const double *s = pr->cells + c * m * m;
        for (size_t j = 0; j < p1; j++)
            for (size_t i = 0; i < p1; i++)
                xy[j * p1 + i] += w * s[(nz + j) * m + nz + i];
        *n += w * pr->cell_n[c];
    }
    return drawn;
}

int mx_bootstrap(const cx_job *job, mx_pls *w, const mx_problem *pr, mx_boot *b, cx_error *err)
{
    size_t B = (size_t)job->bootstrap, p = pr->p, p1 = p + 1;
    b->nvc = mx_vc_count(pr);
    b->B = B;
    b->beta = cx_calloc(B * p + 1, sizeof *b->beta, err);
    b->vc = cx_calloc(B * b->nvc + 1, sizeof *b->vc, err);
    b->ok = cx_calloc(B + 1, sizeof *b->ok, err);
    double *mult = cx_calloc(pr->terms[0].n_levels + 1, sizeof *mult, err);
    double *xy = cx_calloc(p1 * p1, sizeof *xy, err);
    if (!b->beta || !b->vc || !b->ok || !mult || !xy) {
        free(mult);
        free(xy);
        return CX_ENOMEM;
    }
    int rc = CX_OK;
    for (size_t r = 0; r < B && !rc; r++) {
        double n;
        if (replicate_data(job, pr, r, mult, xy, &n) < 2 || n <= (double)p + 1)
            continue;
        mx_pls_set_replicate(w, mult, xy, n);
        mx_opt_result o = {0};
        rc = mx_optimize(w, pr, &o, err);
        double sigma2;
        if (!rc && o.converged && mx_pls_estimates(w, o.theta, b->beta + r * p, &sigma2) == 0) {
            mx_vc_values(pr, o.theta, sigma2, b->vc + r * b->nvc);
            b->ok[r] = 1;
        }
        free(o.theta);
    }
    mx_pls_set_replicate(w, NULL, NULL, 0);
    free(mult);
    free(xy);
    return rc;
}

void mx_boot_free(mx_boot *b)
{
    free(b->beta);
    free(b->vc);
    free(b->ok);
    memset(b, 0, sizeof *b);
}

static int boot_row(cx_rtable *bt, const char *table, size_t row, double t0,
                    const cx_boot_summary *s, cx_error *err)
{
    long r = cx_rtable_add_row(bt, err);
    if (r < 0 || cx_rtable_set_string(bt, (size_t)r, "table", table, err))
        return err->code ? err->code : CX_ENOMEM;
    cx_rtable_set_int(bt, (size_t)r, "row", (long long)row);
    const double v[] = {t0, s->se, s->mean, s->perc[0], s->perc[1], s->norm[0], s->norm[1]};
    static const char *const names[] = {"est",        "se",         "boot_mean", "perc_lower",
                                        "perc_upper", "norm_lower", "norm_upper"};
    for (size_t c = 0; c < sizeof v / sizeof *v; c++)
        cx_rtable_set_double(bt, (size_t)r, names[c], v[c]);
    return CX_OK;
}

static cx_rtable *boot_table(cx_result *res, cx_error *err)
{
    static const char *const names[] = {"est",        "se",         "boot_mean", "perc_lower",
                                        "perc_upper", "norm_lower", "norm_upper"};
    cx_rtable *bt = cx_result_table(res, "bootstrap", err);
    if (!bt || cx_rtable_add_column(bt, "table", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(bt, "row", CX_RCOL_INT, err))
        return NULL;
    for (size_t c = 0; c < sizeof names / sizeof *names; c++)
        if (cx_rtable_add_column(bt, names[c], CX_RCOL_DOUBLE, err))
            return NULL;
    return bt;
}

/* Replicate values of statistic k (stride n, B replicates) that succeeded. */
static size_t gather(const mx_boot *b, const double *v, size_t n, size_t k, double *t)
{
    size_t m = 0;
    for (size_t r = 0; r < b->B; r++)
        if (b->ok[r])
            t[m++] = v[r * n + k];
    return m;
}

int mx_boot_write(cx_result *res, const mx_problem *pr, const mx_boot *b, cx_error *err)
{
    size_t ok = 0;
    for (size_t r = 0; r < b->B; r++)
        ok += b->ok[r] != 0;
    int rc = cx_result_set_attr_string(res, "se", "bootstrap", err);
    if (!rc)
        rc = cx_result_set_attr_double(res, "bootstrap_replicates", (double)b->B, err);
    if (!rc)
        rc = cx_result_add_fit(res, "bootstrap_replicates", (double)b->B, err);
    if (!rc)
        rc = cx_result_add_fit(res, "bootstrap_failed", (double)(b->B - ok), err);
    if (rc)
        return rc;
    if (ok < b->B)
        cx_result_add_warning(res,
                              "%zu of %zu bootstrap replicates failed (fewer than two "
                              "groups drawn, or not converged) and were left out",
                              b->B - ok, b->B);
    if (ok < 2) {
        cx_result_set_status(res, CX_STATUS_FAILED, "bootstrap: only %zu of %zu replicates fitted",
                             ok, b->B);
        return CX_OK;
    }
    cx_rtable *est = cx_result_find_table(res, "estimates");
    cx_rtable *vc = cx_result_find_table(res, "variance_components");
    int e_est = est ? cx_rtable_find_column(est, "est") : -1;
    int v_est = vc ? cx_rtable_find_column(vc, "vcov") : -1;
    if (e_est < 0 || v_est < 0 || est->nrows != pr->p || vc->nrows != b->nvc)
        return cx_error_set(err, CX_EFAIL, "bootstrap: the estimates tables do not match");
    cx_rtable *bt = boot_table(res, err);
    double *t = bt ? cx_malloc((ok + 1) * sizeof *t, err) : NULL;
    if (!t)
        return err->code ? err->code : CX_ENOMEM;
    cx_boot_summary s;
    for (size_t j = 0; j < pr->p && !rc; j++) {
        double t0 = est->cols[e_est].d[j];
        cx_boot_summarise(t, gather(b, b->beta, pr->p, j, t), t0, res->level, &s);
        cx_rtable_set_double(est, j, "se", s.se);
        cx_rtable_set_double(est, j, "z", t0 / s.se);
        cx_rtable_set_double(est, j, "pvalue", 2 * gsl_cdf_ugaussian_Q(fabs(t0 / s.se)));
        cx_rtable_set_double(est, j, "ci_lower", s.perc[0]);
        cx_rtable_set_double(est, j, "ci_upper", s.perc[1]);
        cx_rtable_set_double(est, j, "df", NAN);
        rc = boot_row(bt, "estimates", j, t0, &s, err);
    }
    for (size_t k = 0; k < b->nvc && !rc; k++) {
        double t0 = vc->cols[v_est].d[k];
        cx_boot_summarise(t, gather(b, b->vc, b->nvc, k, t), t0, res->level, &s);
        cx_rtable_set_double(vc, k, "se", s.se);
        cx_rtable_set_double(vc, k, "ci_lower", s.perc[0]);
        cx_rtable_set_double(vc, k, "ci_upper", s.perc[1]);
        rc = boot_row(bt, "variance_components", k, t0, &s, err);
    }
    free(t);
    return rc;
}
