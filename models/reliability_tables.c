/*
 * reliability_tables.c — the result tables of `model = reliability`
 * (docs/models/reliability.md): `reliability` per scale, `items` per
 * item, `estimates` (alpha as a defined parameter) and `bootstrap`.
 *
 * Names follow psych::alpha's output with R's dots as underscores:
 * raw_alpha, std_alpha, g6 (G6(smc)), average_r, median_r, var_r, s_n
 * (S/N), ase; per item raw_r, std_r, r_cor, r_drop, mean, sd and the
 * alpha-if-deleted block (alpha.drop).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "bootci.h"
#include "reliability_internal.h"

static const char *const scale_cols[] = {
    "raw_alpha", "std_alpha", "g6",   "average_r",   "median_r",    "var_r",
    "s_n",       "ase",       "mean", "sd",          "feldt_lower", "feldt_upper",
    "omega",     "omega_model", NULL};
static const char *const item_cols[] = {"raw_r",
                                        "std_r",
                                        "r_cor",
                                        "r_drop",
                                        "mean",
                                        "sd",
                                        "alpha_if_deleted",
                                        "std_alpha_if_deleted",
                                        "g6_if_deleted",
                                        "average_r_if_deleted",
                                        "median_r_if_deleted",
                                        "var_r_if_deleted",
                                        "s_n_if_deleted",
                                        NULL};

/* Table `name` of r, created with `first` string/int columns and the
 * double columns `doubles` when absent. */
static cx_rtable *table_of(cx_result *r, const char *name, const char *const *strings,
                           const char *const *ints, const char *const *doubles, cx_error *err)
{
    cx_rtable *t = cx_result_find_table(r, name);
    if (t)
        return t;
    if (!(t = cx_result_table(r, name, err)))
        return NULL;
    for (size_t i = 0; strings[i]; i++)
        if (cx_rtable_add_column(t, strings[i], CX_RCOL_STRING, err))
            return NULL;
    for (size_t i = 0; ints[i]; i++)
        if (cx_rtable_add_column(t, ints[i], CX_RCOL_INT, err))
            return NULL;
    for (size_t i = 0; doubles[i]; i++)
        if (cx_rtable_add_column(t, doubles[i], CX_RCOL_DOUBLE, err))
            return NULL;
    return t;
}

static int write_scale_row(const cx_job *job, const rel_scale *sc, const double *cov, size_t p,
                           double n, const double *mean, const rel_scale_result *res,
                           cx_result *r, cx_error *err)
{
    const rel_alpha *a = &res->total;
    static const char *const strings[] = {"scale", NULL}, *const ints[] = {"n_items", "n", NULL};
    cx_rtable *t = table_of(r, "reliability", strings, ints, scale_cols, err);
    long row = t ? cx_rtable_add_row(t, err) : -1;
    if (row < 0 || cx_rtable_set_string(t, (size_t)row, "scale", sc->name, err))
        return err->code ? err->code : CX_ENOMEM;
    size_t k = sc->k;
    double lo, hi;
    rel_feldt(a->raw, n, k, job->level, &lo, &hi, rel_quantile_f);
    const double v[] = {a->raw,   a->std,  a->g6,  a->av_r,
                        a->med_r, a->var_r, a->s_n, a->ase,
                        mean[k],  sqrt(cov[k * p + k]), lo, hi,
                        res->omega, res->omega_model};
    cx_rtable_set_int(t, (size_t)row, "n_items", (long long)k);
    cx_rtable_set_int(t, (size_t)row, "n", llround(n));
    for (size_t c = 0; scale_cols[c]; c++)
        cx_rtable_set_double(t, (size_t)row, scale_cols[c], v[c]);
    /* alpha as a defined parameter: psych's asymptotic se, Feldt's CI */
    long e = cx_result_add_estimate(r, sc->name, ":=", "alpha", 0, a->raw, a->ase, NAN, err);
    if (e < 0)
        return err->code ? err->code : CX_ENOMEM;
    cx_rtable *est = cx_result_find_table(r, "estimates");
    cx_rtable_set_double(est, (size_t)e, "ci_lower", lo);
    cx_rtable_set_double(est, (size_t)e, "ci_upper", hi);
    if (!isnan(res->omega) &&
        rel_add_point(r, sc->name, "omega", res->omega, err) < 0)
        return err->code ? err->code : CX_ENOMEM;
    return CX_OK;
}

/* psych's raw.r: cor(total, x_i); pairwise over the rows where x_i is
 * present (column k + 1 + i holds the score there). */
static double raw_r(const cx_moments *m, const double *cov, size_t k, size_t i)
{
    size_t p = m->p, t = m->mode == CX_MISSING_PAIRWISE ? k + 1 + i : k;
    return cov[t * p + i] / sqrt(cov[t * p + t] * cov[i * p + i]);
}

long rel_add_point(cx_result *r, const char *lhs, const char *rhs, double est, cx_error *err)
{
    long e = cx_result_add_estimate(r, lhs, ":=", rhs, 0, est, NAN, NAN, err);
    cx_rtable *t = e >= 0 ? cx_result_find_table(r, "estimates") : NULL;
    if (t) {
        cx_rtable_set_double(t, (size_t)e, "ci_lower", NAN);
        cx_rtable_set_double(t, (size_t)e, "ci_upper", NAN);
    }
    return e;
}

int rel_write_tables(const cx_job *job, const rel_scale *sc, const cx_moments *m,
                     const double *cov, double n, const rel_scale_result *res, cx_result *r,
                     cx_error *err)
{
    int rc = write_scale_row(job, sc, cov, m->p, n, m->mean, res, r, err);
    static const char *const strings[] = {"scale", "item", NULL},
                             *const ints[] = {"reverse", "n", NULL};
    cx_rtable *t = rc == CX_OK ? table_of(r, "items", strings, ints, item_cols, err) : NULL;
    if (!t)
        return err->code ? err->code : CX_ENOMEM;
    size_t p = m->p;
    int pairwise = m->mode == CX_MISSING_PAIRWISE;
    for (size_t i = 0; i < sc->k; i++) {
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "scale", sc->name, err) ||
            cx_rtable_set_string(t, (size_t)row, "item", sc->items[i], err))
            return err->code ? err->code : CX_ENOMEM;
        const rel_item_result *it = &res->item[i];
        const rel_alpha *d = &it->dropped;
        const double v[] = {raw_r(m, cov, sc->k, i),
                            it->std_r,
                            it->r_cor,
                            it->r_drop,
                            m->mean[i],
                            sqrt(cov[i * p + i]),
                            d->raw,
                            d->std,
                            d->g6,
                            d->av_r,
                            d->med_r,
                            d->var_r,
                            d->s_n};
        cx_rtable_set_int(t, (size_t)row, "reverse", sc->reverse[i]);
        cx_rtable_set_int(t, (size_t)row, "n", llround(pairwise ? m->pair_w[i * p + i] : n));
        for (size_t c = 0; item_cols[c]; c++)
            cx_rtable_set_double(t, (size_t)row, item_cols[c], v[c]);
    }
    return CX_OK;
}

int rel_boot_row(const cx_job *job, cx_result *r, const char *lhs, const char *op,
                 const char *rhs, double t0, double *t, size_t ok, size_t B, cx_error *err)
{
    if (isnan(t0))
        return CX_OK; /* no estimate to summarise */
    if (B > ok)
        cx_result_add_warning(r, "%s %s %s: %zu of %zu bootstrap replicates gave no value", lhs,
                              op, rhs, B - ok, B);
    if (ok < 2) {
        cx_result_add_warning(r, "%s %s %s: fewer than 2 usable bootstrap replicates", lhs, op,
                              rhs);
        return CX_OK;
    }
    static const char *const strings[] = {"lhs", "op", "rhs", NULL}, *const ints[] = {"group", NULL};
    static const char *const names[] = {"est",        "se",         "boot_mean",
                                        "perc_lower", "perc_upper", "norm_lower",
                                        "norm_upper", "bca_lower",  "bca_upper", NULL};
    cx_rtable *bt = table_of(r, "bootstrap", strings, ints, names, err);
    long row = bt ? cx_rtable_add_row(bt, err) : -1;
    if (row < 0 || cx_rtable_set_string(bt, (size_t)row, "lhs", lhs, err) ||
        cx_rtable_set_string(bt, (size_t)row, "op", op, err) ||
        cx_rtable_set_string(bt, (size_t)row, "rhs", rhs, err))
        return err->code ? err->code : CX_ENOMEM;
    cx_boot_summary s;
    cx_boot_summarise(t, ok, t0, job->level, &s);
    const double v[] = {t0,        s.se,      s.mean,   s.perc[0], s.perc[1],
                        s.norm[0], s.norm[1], s.bca[0], s.bca[1]};
    for (size_t c = 0; names[c]; c++)
        cx_rtable_set_double(bt, (size_t)row, names[c], v[c]);
    /* the matching `estimates` row, if any: bootstrap se, percentile CI */
    cx_rtable *est = cx_result_find_table(r, "estimates");
    int cl = est ? cx_rtable_find_column(est, "lhs") : -1;
    int co = est ? cx_rtable_find_column(est, "op") : -1;
    int cr = est ? cx_rtable_find_column(est, "rhs") : -1;
    for (size_t i = 0; cl >= 0 && co >= 0 && cr >= 0 && i < est->nrows; i++) {
        if (strcmp(est->cols[cl].s[i], lhs) || strcmp(est->cols[co].s[i], op) ||
            strcmp(est->cols[cr].s[i], rhs))
            continue;
        double z = s.se > 0 ? t0 / s.se : NAN;
        cx_rtable_set_double(est, i, "se", s.se);
        cx_rtable_set_double(est, i, "z", z);
        cx_rtable_set_double(est, i, "pvalue", 2 * gsl_cdf_ugaussian_Q(fabs(z)));
        cx_rtable_set_double(est, i, "ci_lower", s.perc[0]);
        cx_rtable_set_double(est, i, "ci_upper", s.perc[1]);
    }
    return cx_result_set_attr_double(r, "bootstrap_replicates", (double)B, err);
}
