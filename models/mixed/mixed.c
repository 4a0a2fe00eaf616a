/*
 * mixed.c — `model = mixed`: linear mixed models as lme4's lmer fits them
 * (docs/models/mixed.md).
 *
 *   formula = ltr ~ pex + wave + (1 | firm)          random intercept
 *             ltr ~ wave + (wave | respondent)       correlated slope
 *             ltr ~ wave + (wave || respondent)      uncorrelated
 *             ltr ~ pex + (1 | firm/respondent)      nested
 *             y ~ 1 + (1 | plate) + (1 | sample)     crossed
 *   reml    = yes | no                               (default yes, as lme4)
 *
 * The fit: the view is grouped by every grouping column of the formula
 * (the engine's level machinery finds the cells), one streaming pass sums
 * [z x y]'[z x y] per cell (mixed_pass.c), the PLS pieces are assembled
 * from the cells (mixed_system.c), and theta is found by Nelder-Mead over
 * lme4's profiled criterion (mixed_opt.c, mixed_pls.c).  `by` is served
 * by the engine (one fit per level); `bootstrap` is a cluster bootstrap by
 * the grouping factor (mixed_boot.c); `validate` refits each split from
 * the pass's per-slot sums (mixed_validate.c).  Weights are not
 * supported, so `cxfit check` refuses them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "design.h"
#include "formula.h"
#include "mixed.h"
#include "model.h"

static const char *const mixed_keys[] = {"formula", "reml", NULL};

typedef struct mixed_spec {
    cx_formula *formula;
    int reml;
    int gcols[CX_MAX_GROUP_COLS];
    size_t n_gcols;
} mixed_spec;

/* The cluster bootstrap resamples the groups of one grouping column. */
static int check_bootstrap(const cx_job *job, const cx_formula *f, cx_error *err)
{
    size_t g0 = f->random[0].group[0];
    for (size_t r = 0; r < f->n_random; r++)
        if (f->random[r].n_group != 1 || f->random[r].group[0] != g0)
            return cx_job_error(job, "bootstrap", err, CX_EUSAGE,
                                "the cluster bootstrap resamples the groups of one grouping "
                                "column; '(%s)' makes a nested, crossed or interaction design "
                                "(expected bars on one column, e.g. (x | g))",
                                f->random[r].label);
    int col = cx_table_find(job->view->table, f->names[g0]);
    if (job->bootstrap_cluster >= 0 && col >= 0 && job->bootstrap_cluster != col)
        return cx_job_error(job, "bootstrap_cluster", err, CX_EUSAGE,
                            "a mixed model's bootstrap resamples its groups; expected the "
                            "grouping column %s (or no bootstrap_cluster)",
                            f->names[g0]);
    return CX_OK;
}

static int mixed_parse(const cx_job *job, mixed_spec *s, cx_error *err)
{
    memset(s, 0, sizeof *s);
    s->reml = 1;
    const char *text = cx_section_get(job->section, "formula");
    if (!text || !*text)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "expected a formula such as 'ltr ~ pex + (1 | firm)'");
    if (!(s->formula = cx_formula_parse(text, err)))
        return cx_job_error(job, "formula", err, CX_EUSAGE, "%s", err->msg);
    const cx_formula *f = s->formula;
    if (f->n_random == 0)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "expected at least one random-effect term such as '(1 | firm)' "
                            "(for fixed effects only use model = ols)");
    if (f->needs_panel)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "lag/lead/diff/growth need a panel index; expected plain terms "
                            "(model = panel has them)");
    if (cx_section_get_bool(job->config, job->section, "reml", &s->reml, err))
        return err->code;
    if (job->bootstrap > 0 && check_bootstrap(job, f, err))
        return err->code;
    for (size_t r = 0; r < f->n_random; r++)
        for (size_t g = 0; g < f->random[r].n_group; g++) {
            const char *name = f->names[f->random[r].group[g]];
            int col = cx_table_find(job->view->table, name);
            if (col < 0)
                continue; /* the design names the unknown column */
            size_t i = 0;
            while (i < s->n_gcols && s->gcols[i] != col)
                i++;
            if (i < s->n_gcols)
                continue;
            if (s->n_gcols == CX_MAX_GROUP_COLS)
                return cx_job_error(job, "formula", err, CX_EUSAGE,
                                    "more than %d grouping columns; expected at most %d",
                                    CX_MAX_GROUP_COLS, CX_MAX_GROUP_COLS);
            s->gcols[s->n_gcols++] = col;
        }
    return CX_OK;
}

static cx_design *mixed_design(const cx_job *job, const mixed_spec *s, cx_error *err)
{
    cx_design_spec spec = {.formula = s->formula, .allow_random = 1};
    cx_design *d = cx_design_alloc(&spec, job->view->table, err);
    if (!d)
        cx_job_error(job, "formula", err, err->code ? err->code : CX_EUSAGE, "%s", err->msg);
    return d;
}

static int mixed_check(const cx_job *job, cx_error *err)
{
    mixed_spec s;
    int rc = mixed_parse(job, &s, err);
    cx_design *d = rc ? NULL : mixed_design(job, &s, err);
    if (!rc && !d)
        rc = err->code;
    cx_design_free(d);
    cx_formula_free(s.formula);
    return rc;
}

/* lme4's checks before fitting: enough rows, fewer levels than rows. */
int mx_check_sizes(const cx_job *job, const mx_problem *pr, cx_error *err)
{
    if (pr->n <= (double)pr->p)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "%.0f complete rows for %zu fixed effects; expected more rows", pr->n,
                            pr->p);
    for (size_t t = 0; t < pr->n_terms; t++) {
        const mx_term *tm = &pr->terms[t];
        if ((double)tm->n_levels >= pr->n)
            return cx_job_error(job, "formula", err, CX_EUSAGE,
                                "grouping factor %s has %zu levels for %.0f rows; expected "
                                "fewer levels than rows (as lme4)",
                                tm->name, tm->n_levels, pr->n);
        if ((double)(tm->n_levels * tm->q) > pr->n)
            return cx_job_error(job, "formula", err, CX_EUSAGE,
                                "grouping factor %s: %zu random effects for %.0f rows; expected "
                                "no more random effects than rows (as lme4)",
                                tm->name, tm->n_levels * tm->q, pr->n);
    }
    return CX_OK;
}

/* Everything from the grouped view to the tables. */
static int fit_grouped(const cx_job *job, const mixed_spec *s, cx_design *d, const cx_view *g,
                       cx_result *res, cx_error *err)
{
    mx_problem pr = {0};
    mx_pls *w = NULL;
    mx_opt_result o = {0};
    mx_solution sol = {0};
    pr.p = cx_design_ncols(d);
    pr.nz = cx_design_nzcols(d);
    pr.m = pr.nz + pr.p + 1;
    pr.n_cells = g->n_levels;
    int rc = mx_terms_setup(s->formula, d, s->gcols, s->n_gcols, job->view->table, &pr, err);
    if (rc)
        rc = cx_job_error(job, "formula", err, rc, "%s", err->msg);
    if (!rc)
        rc = mx_pass(job, g, d, &pr, err);
    if (!rc)
        rc = mx_system_build(&pr, g, err);
    if (!rc)
        rc = mx_check_sizes(job, &pr, err);
    if (!rc && !(w = mx_pls_alloc(&pr, s->reml, err)))
        rc = err->code;
    if (!rc)
        rc = mx_optimize(w, &pr, &o, err);
    double *V = rc ? NULL : cx_calloc((pr.ntheta + 1) * (pr.ntheta + 1), sizeof *V, err);
    if (!rc && !V)
        rc = CX_ENOMEM;
    if (!rc)
        rc = mx_pls_solution(w, o.theta, &sol, err);
    if (!rc)
        rc = mx_param_cov(w, &pr, o.theta, sqrt(sol.sigma2), V, err);
    double *df = rc ? NULL : cx_calloc(pr.p + 1, sizeof *df, err);
    if (!rc && !df)
        rc = CX_ENOMEM;
    if (!rc)
        rc = mx_satterthwaite(w, &pr, o.theta, sqrt(sol.sigma2), V, df, err);
    if (!rc) {
        res->nobs = pr.n;
        if (!o.converged)
            cx_result_set_status(res, CX_STATUS_NOT_CONVERGED,
                                 "Nelder-Mead over theta did not converge in %ld evaluations",
                                 o.evals);
        if (o.singular)
            cx_result_add_warning(res, "boundary (singular) fit: a variance component is zero "
                                       "(theta below 1e-4, as lme4's isSingular)");
        if (*cx_design_notes(d))
            cx_result_add_warning(res, "%s", cx_design_notes(d));
        rc = mx_write_tables(res, &pr, d, s->formula, job->view->table, s->gcols, s->reml, &o, &sol,
                             V, df, mx_pls_sparse(w), job->level, err);
    }
    if (!rc && job->bootstrap > 0) {
        mx_boot b = {0};
        rc = mx_bootstrap(job, w, &pr, &b, err);
        if (!rc)
            rc = mx_boot_write(res, &pr, &b, err);
        mx_boot_free(&b);
    }
    if (!rc && pr.n_slots > 1) {
        mx_refit_ctx ctx = {s->formula, d, s->gcols, s->n_gcols, job->view->table, g, s->reml};
        rc = mx_validate(job, &ctx, &pr, res, err);
    }
    free(V);
    free(df);
    mx_solution_free(&sol);
    free(o.theta);
    mx_pls_free(w);
    mx_problem_free(&pr);
    return rc;
}

static int mixed_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    mixed_spec s;
    cx_design *d = NULL;
    int rc = mixed_parse(job, &s, err);
    if (!rc && !(d = mixed_design(job, &s, err)))
        rc = err->code;
    cx_view g = *job->view;
    int grouped = 0;
    if (!rc && !(rc = cx_view_set_groups(&g, s.gcols, s.n_gcols, err)))
        grouped = 1;
    else if (d && rc == CX_EUSAGE) /* the cells (distinct grouping tuples) are the view's levels */
        rc = cx_job_error(job, "formula", err, rc,
                          "at most %d cells (distinct combinations of the grouping columns) per "
                          "fit: %s",
                          CX_MAX_LEVELS, err->msg);
    if (!rc)
        rc = cx_design_prepare(d, &g, err);
    if (!rc)
        rc = fit_grouped(job, &s, d, &g, results[0], err);
    if (grouped)
        cx_view_free(&g);
    cx_design_free(d);
    cx_formula_free(s.formula);
    return rc;
}

const cx_model cx_model_mixed = {
    .name = "mixed",
    .summary = "linear mixed model (lme4's lmer): random intercepts and slopes, nested and "
               "crossed groups, REML or ML",
    .keys = mixed_keys,
    .fits_all_levels = 0,
    .supports = CX_SUPPORTS_BY | CX_SUPPORTS_BOOTSTRAP | CX_SUPPORTS_VALIDATE,
    .check = mixed_check,
    .fit = mixed_fit,
};
