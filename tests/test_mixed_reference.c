/*
 * test_mixed_reference.c — `model = mixed` end to end against lme4.
 *
 * configs/reference/mixed_lme4.ini (one job per case) runs through cx_run;
 * tests/reference/mixed_lme4.json (scripts/make_mixed_refs.R) holds lme4's
 * values: sleepstudy with a random intercept, a correlated slope
 * (Days | Subject) and an uncorrelated one (Days || Subject); Pastes with
 * nested groups (1 | batch/cask); Penicillin with crossed groups
 * (1 | plate) + (1 | sample); each by REML and ML.  Per case: every fixed
 * effect's estimate and SE, its Satterthwaite df and p-value (lmerTest), every variance component
 * (variance, SD, covariance, correlation, residual), logLik, AIC, BIC, the REML criterion (REML) or
 * deviance (ML) and, for REML fits, lme4's deviance(fit, REML = FALSE), sigma, nobs, npar, the
 * number of levels of each grouping factor and every conditional mode (BLUP).
 *
 * Tolerance 1e-6 relative.  Both sides stop their optimizers on theta
 * much tighter than that: lme4 was refitted with bobyqa rhoend = 1e-12
 * (its default 2e-7 would be about the tolerance itself), cxfit's
 * Nelder-Mead stops at a simplex size of 1e-10 and restarts.  The
 * criterion is flat at the optimum (an error e in theta moves it by
 * O(e^2)), so the fit statistics agree to ~1e-12 and the parameters to
 * ~1e-8.  BLUPs near zero are compared with an absolute floor of 1e-6
 * times the largest |BLUP| of their column.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "json.h"
#include "refcheck.h"
#include "tabletest.h"
#include "run.h"

#ifndef RTOL
#define RTOL 1e-6
#endif
#define ATOL 1e-10
/* Satterthwaite df and their t p-values (lmerTest 3.1): both sides take
 * numerical derivatives (lmerTest numDeriv's Richardson extrapolation,
 * cxfit central differences with Richardson) of a criterion whose
 * rounding noise is ~1e-12 relative; lmerTest's own df are 6e-8 off the
 * exact 161 and 9 of balanced designs.  Measured agreement on df: 6e-6
 * (Pastes, whose batch variance is weakly determined), 1e-7 elsewhere.
 * A far-tail p-value moves much faster than its df (Pastes: p = 5e-16 at
 * df = 10, d log p / d log df ~ 30), so p is compared at 1e-3. */
#define DF_RTOL 1e-5
#define P_RTOL 1e-3

typedef struct table {
    size_t n;
    char **s[3];
    double *d[2];
} table;

static void table_free(table *t)
{
    for (int k = 0; k < 3; k++)
        ref_strings_free(t->s[k], t->s[k] ? t->n : 0);
    for (int k = 0; k < 2; k++)
        free(t->d[k]);
}

/* Up to three string columns and two number columns of /job/name. */
static int table_read(ref_results *res, const char *job, const char *name, const char *const *scols,
                      size_t ns, const char *const *dcols, size_t nd, table *t)
{
    cx_error err = {0};
    size_t n = 0;
    memset(t, 0, sizeof *t);
    for (size_t k = 0; k < ns; k++)
        if (!(t->s[k] = ref_results_column_strings(res, job, name, scols[k], &t->n, &err)))
            return 0;
    for (size_t k = 0; k < nd; k++)
        if (!(t->d[k] = ref_results_column_double(res, job, name, dcols[k], &n, &err)))
            return 0;
    return 1;
}

static double fit_value(ref_results *res, const char *job, const char *name)
{
    static const char *const s[] = {"measure"}, *const d[] = {"value"};
    table t;
    double out = NAN;
    if (table_read(res, job, "fit", s, 1, d, 1, &t))
        for (size_t i = 0; i < t.n; i++)
            if (strcmp(t.s[0][i], name) == 0)
                out = t.d[0][i];
    table_free(&t);
    return out;
}

static void check_fixed(ref_results *res, const char *job, const json_value *c, ref_report *rep)
{
    static const char *const s[] = {"op", "rhs"}, *const d[] = {"est", "se"};
    table t;
    cx_error err = {0};
    size_t n1 = 0, n2 = 0;
    double *df = ref_results_column_double(res, job, "estimates", "df", &n1, &err);
    double *pv = ref_results_column_double(res, job, "estimates", "pvalue", &n2, &err);
    if (!table_read(res, job, "estimates", s, 2, d, 2, &t) || !df || !pv) {
        free(df);
        free(pv);
        ref_report_fail(rep, "%s: no estimates table", job);
        table_free(&t);
        return;
    }
    const json_value *fx = json_get(c, "fixed"), *terms = json_get(fx, "term");
    if (t.n != json_array_len(terms))
        ref_report_fail(rep, "%s: %zu fixed effects, lme4 has %zu", job, t.n,
                        json_array_len(terms));
    for (size_t k = 0; k < json_array_len(terms); k++) {
        const char *term = json_string(json_array_at(terms, k));
        int icpt = term && strcmp(term, "(Intercept)") == 0;
        size_t row = t.n;
        for (size_t i = 0; term && i < t.n; i++)
            if (icpt ? strcmp(t.s[0][i], "~1") == 0
                     : strcmp(t.s[0][i], "~") == 0 && strcmp(t.s[1][i], term) == 0)
                row = i;
        if (row == t.n) {
            ref_report_fail(rep, "%s: no fixed effect '%s'", job, term ? term : "?");
            continue;
        }
        char what[256];
        snprintf(what, sizeof what, "%s: %s.est", job, term);
        ref_report_check_json(rep, what, t.d[0][row], json_array_at(json_get(fx, "est"), k), RTOL,
                              ATOL);
        snprintf(what, sizeof what, "%s: %s.se", job, term);
        ref_report_check_json(rep, what, t.d[1][row], json_array_at(json_get(fx, "se"), k), RTOL,
                              ATOL);
        snprintf(what, sizeof what, "%s: %s.df", job, term);
        ref_report_check_json(rep, what, df[row], json_array_at(json_get(fx, "df"), k), DF_RTOL, 0);
        snprintf(what, sizeof what, "%s: %s.pvalue", job, term);
        ref_report_check_json(rep, what, pv[row], json_array_at(json_get(fx, "p"), k), P_RTOL, 0);
    }
    free(df);
    free(pv);
    table_free(&t);
}

static void check_varcomp(ref_results *res, const char *job, const json_value *c, ref_report *rep)
{
    static const char *const s[] = {"grp", "var1", "var2"}, *const d[] = {"vcov", "sdcor"};
    table t;
    if (!table_read(res, job, "variance_components", s, 3, d, 2, &t)) {
        ref_report_fail(rep, "%s: no variance_components table", job);
        table_free(&t);
        return;
    }
    const json_value *vc = json_get(c, "varcomp"), *grp = json_get(vc, "grp");
    size_t n = json_array_len(grp);
    if (t.n != n)
        ref_report_fail(rep, "%s: %zu variance components, lme4 has %zu", job, t.n, n);
    for (size_t k = 0; k < n; k++) {
        const char *g = json_string(json_array_at(grp, k));
        const char *v1 = json_string(json_array_at(json_get(vc, "var1"), k));
        const char *v2 = json_string(json_array_at(json_get(vc, "var2"), k));
        size_t row = t.n;
        for (size_t i = 0; g && v1 && v2 && i < t.n; i++)
            if (!strcmp(t.s[0][i], g) && !strcmp(t.s[1][i], v1) && !strcmp(t.s[2][i], v2))
                row = i;
        if (row == t.n) {
            ref_report_fail(rep, "%s: no variance component %s %s %s", job, g ? g : "?",
                            v1 ? v1 : "?", v2 ? v2 : "?");
            continue;
        }
        char what[256];
        snprintf(what, sizeof what, "%s: vc[%s %s %s].vcov", job, g, v1, v2);
        ref_report_check_json(rep, what, t.d[0][row], json_array_at(json_get(vc, "vcov"), k), RTOL,
                              ATOL);
        snprintf(what, sizeof what, "%s: vc[%s %s %s].sdcor", job, g, v1, v2);
        ref_report_check_json(rep, what, t.d[1][row], json_array_at(json_get(vc, "sdcor"), k), RTOL,
                              ATOL);
    }
    table_free(&t);
}

/* Number of levels per group, and every BLUP; returns how many BLUPs. */
static int check_groups_blups(ref_results *res, const char *job, const json_value *c,
                              ref_report *rep)
{
    static const char *const gs[] = {"group"}, *const gd[] = {"n_levels"};
    table g;
    if (table_read(res, job, "groups", gs, 1, gd, 1, &g)) {
        const json_value *ng = json_get(c, "ngrps");
        if (g.n != json_object_len(ng))
            ref_report_fail(rep, "%s: %zu groups, lme4 has %zu", job, g.n, json_object_len(ng));
        for (size_t k = 0; k < json_object_len(ng); k++) {
            double got = NAN;
            for (size_t i = 0; i < g.n; i++)
                if (strcmp(g.s[0][i], json_object_key(ng, k)) == 0)
                    got = g.d[0][i];
            char what[256];
            snprintf(what, sizeof what, "%s: n_levels[%s]", job, json_object_key(ng, k));
            ref_report_check_json(rep, what, got, json_object_value(ng, k), 0, 0);
        }
    } else
        ref_report_fail(rep, "%s: no groups table", job);
    table_free(&g);
    static const char *const s[] = {"group", "level", "term"}, *const d[] = {"value"};
    table t;
    int count = 0;
    if (!table_read(res, job, "ranef", s, 3, d, 1, &t)) {
        ref_report_fail(rep, "%s: no ranef table", job);
        table_free(&t);
        return 0;
    }
    const json_value *blup = json_get(c, "blup");
    for (size_t k = 0; k < json_array_len(blup); k++) {
        const json_value *b = json_array_at(blup, k);
        const char *grp = ref_json_string(rep, b, "group"), *term = ref_json_string(rep, b, "term");
        const json_value *lv = json_get(b, "level"), *val = json_get(b, "value");
        double scale = 0;
        for (size_t j = 0; j < json_array_len(val); j++)
            scale = fmax(scale, fabs(json_number(json_array_at(val, j))));
        for (size_t j = 0; j < json_array_len(lv); j++) {
            const char *level = json_string(json_array_at(lv, j));
            double got = NAN;
            for (size_t i = 0; level && i < t.n; i++)
                if (!strcmp(t.s[0][i], grp) && !strcmp(t.s[1][i], level) &&
                    !strcmp(t.s[2][i], term))
                    got = t.d[0][i];
            char what[256];
            snprintf(what, sizeof what, "%s: ranef[%s %s %s]", job, grp, level ? level : "?", term);
            ref_report_check_json(rep, what, got, json_array_at(val, j), RTOL, 1e-6 * scale);
            count++;
        }
    }
    if (t.n != (size_t)count)
        ref_report_fail(rep, "%s: %zu BLUPs, lme4 has %d", job, t.n, count);
    table_free(&t);
    return count;
}

static void test_mixed_lme4(void **state)
{
    (void)state;
    char ini[1024], dir[] = "/tmp/cx_mixedref_XXXXXX", out[512];
    snprintf(ini, sizeof ini, "%s/configs/reference/mixed_lme4.ini", CX_SOURCE_DIR);
    cx_error err = {0};
    json_value *ref = tt_reference_json("mixed_lme4");
    ref_results *res = tt_run_config(ini, dir, out, sizeof out);
    size_t ncases = json_object_len(ref);
    assert_int_equal(ncases, 10);
    int failed = 0, total = 0;
    for (size_t k = 0; k < ncases; k++) {
        const json_value *c = json_object_value(ref, k);
        const char *job = json_object_key(ref, k);
        ref_report rep;
        ref_report_init(&rep, job, "lme4");
        char *status = ref_results_attr_string(res, job, "status", &err);
        if (!status || strcmp(status, "ok") != 0)
            ref_report_fail(&rep, "%s: status '%s', expected ok", job, status ? status : "none");
        free(status);
        check_fixed(res, job, c, &rep);
        check_varcomp(res, job, c, &rep);
        int reml = json_bool(json_get(c, "reml"));
        char what[256];
        static const char *const fits[][2] = {{"logl", "logLik"}, {"aic", "AIC"},
                                              {"bic", "BIC"},     {"sigma", "sigma"},
                                              {"nobs", "nobs"},   {"npar", "npar"}};
        for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
            snprintf(what, sizeof what, "%s: fit %s", job, fits[i][0]);
            ref_report_check_field(&rep, what, fit_value(res, job, fits[i][0]), c, fits[i][1], RTOL,
                                   ATOL);
        }
        snprintf(what, sizeof what, "%s: fit deviance", job);
        ref_report_check_field(&rep, what, fit_value(res, job, "deviance"), c,
                               reml ? "deviance_ml_at_reml" : "deviance", RTOL, ATOL);
        if (reml) {
            snprintf(what, sizeof what, "%s: fit reml_criterion", job);
            ref_report_check_field(&rep, what, fit_value(res, job, "reml_criterion"), c, "REMLcrit",
                                   RTOL, ATOL);
        }
        int nblup = check_groups_blups(res, job, c, &rep);
        int want = 4 * (int)json_array_len(json_get(json_get(c, "fixed"), "term")) +
                   2 * (int)json_array_len(json_get(json_get(c, "varcomp"), "grp")) + 7 + reml +
                   (int)json_object_len(json_get(c, "ngrps")) + nblup;
        assert_true(nblup >= 18);
        ref_report_require(&rep, want);
        total += rep.n_checked;
        failed += ref_report_finish(&rep);
    }
    fprintf(stderr, "mixed_lme4: %d values compared in %zu cases\n", total, ncases);
    ref_results_close(res);
    json_free(ref);
    unlink(out);
    rmdir(dir);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mixed_lme4)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
