/*
 * test_wlsmv_recovery.c — WLSMV recovers the generating model of cxfit's
 * simulated CX panel (docs/SIMULATE.md) from its 7-point items.
 *
 * One firm, one wave, 30 000 respondents: a single cell, so the latent
 * responses are exactly y* = lambda eta + sqrt(1 - lambda^2) e with
 * eta ~ N(q 1, Phi) (no mixture over firms, unlike test_recovery.c), and
 * the item is 1 + the number of thresholds tau below y*.  The polychoric
 * model of WLSMV is then the true model, so with std_lv:
 *   - the loadings (std_all = est, Sigma* has a unit diagonal) are lambda,
 *     out4's negative (reverse keyed);
 *   - the factor correlations are Phi;
 *   - the thresholds are tau - lambda q (q, the firm's quality, shifts
 *     y*'s mean), so differences t_k - t_1 are tau_k - tau_1.
 * Each estimate must lie within 4 of its own robust standard errors of
 * the truth (a threshold difference: 4 (se_k + se_1)); sampling cannot
 * fail that, a wrong polychoric, weight or parameterization would (SEs
 * are ~0.005 here).  Also: the job converged, no warning, and the scaled
 * test of a true model is not significant at 0.001.
 *
 * A second case runs `by = firm` on two firms (one wave each): every
 * level is its own single cell, fitted from the same two passes, and
 * must recover the same truth.
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

#include "refcheck.h"
#include "run.h"
#include "simulate.h"
#include "table.h"
#include "tabletest.h"

#define NF 4
#define NI 5
#define NT 6

static const char *const factors[NF] = {"PEX", "OUT", "MOT", "POM"};
static const char *const prefixes[NF] = {"pex", "out", "mot", "pom"};

typedef struct results {
    char **lhs, **op, **rhs, **firm; /* firm: NULL without `by` */
    double *est, *se;
    size_t n;
    const char *level; /* the firm whose rows find() looks at */
} results;

static long find(const results *r, const char *lhs, const char *op, const char *rhs)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->lhs[i], lhs) == 0 && strcmp(r->op[i], op) == 0 &&
            strcmp(r->rhs[i], rhs) == 0 && (!r->firm || strcmp(r->firm[i], r->level) == 0))
            return (long)i;
    fail_msg("no estimate %s %s %s", lhs, op, rhs);
    return -1;
}

static int check(const char *what, double est, double want, double tol)
{
    if (fabs(est - want) <= tol)
        return 0;
    fprintf(stderr, "%s: %.4f, truth %.4f (tolerance %.4f)\n", what, est, want, tol);
    return 1;
}

/* Loadings, threshold spacings and factor correlations of one level
 * against the truth; returns the number outside 4 SE, counts in *checked. */
static int check_level(const results *r, const tt_truth *tr, int *checked)
{
    int bad = 0;
    char item[16], what[64], tk[8], t1[8] = "t1";
    for (int f = 0; f < NF; f++)
        for (int i = 1; i <= NI; i++, (*checked)++) {
            snprintf(item, sizeof item, "%s%d", prefixes[f], i);
            long e = find(r, factors[f], "=~", item);
            snprintf(what, sizeof what, "%s =~ %s", factors[f], item);
            bad += check(what, r->est[e], tt_truth_find(tr, factors[f], "=~", item), 4 * r->se[e]);
            long e1 = find(r, item, "|", t1);
            for (int k = 2; k <= NT; k++, (*checked)++) {
                snprintf(tk, sizeof tk, "t%d", k);
                long ek = find(r, item, "|", tk);
                double want = tt_truth_find(tr, item, "|", tk) - tt_truth_find(tr, item, "|", t1);
                snprintf(what, sizeof what, "%s | %s - t1", item, tk);
                bad += check(what, r->est[ek] - r->est[e1], want, 4 * (r->se[ek] + r->se[e1]));
            }
        }
    for (int a = 0; a < NF; a++)
        for (int b = a + 1; b < NF; b++, (*checked)++) {
            long e = find(r, factors[a], "~~", factors[b]);
            snprintf(what, sizeof what, "%s ~~ %s", factors[a], factors[b]);
            bad +=
                check(what, r->est[e], tt_truth_find(tr, factors[a], "~~", factors[b]), 4 * r->se[e]);
        }
    return bad;
}

static void run_case(int firms, int respondents, int by)
{
    char dir[] = "/tmp/cx_wlsmv_rec_XXXXXX", h5[256], ini[256], out[256];
    assert_non_null(mkdtemp(dir));
    snprintf(h5, sizeof h5, "%s/sim.h5", dir);
    snprintf(ini, sizeof ini, "%s/w.ini", dir);
    snprintf(out, sizeof out, "%s/results.h5", dir);
    cx_simulate_options o = {firms, 1, respondents, 20261202};
    cx_error err = {0};
    if (cx_simulate(&o, h5, &err) != CX_OK)
        fail_msg("simulate: %s", err.msg);
    FILE *fp = fopen(ini, "w");
    assert_non_null(fp);
    fputs("[data]\nfile = sim.h5\ntable = /responses\n\n[job w]\nmodel = cfa\nordered = all\n"
          "std_lv = yes\n",
          fp);
    fputs(by ? "by = firm\nsyntax =" : "syntax =", fp);
    tt_write_sim_syntax(fp);
    fclose(fp);
    ref_results *res = tt_run_to(ini, out);
    tt_expect_ok(res, "w");
    results r = {0};
    size_t n[5];
    r.lhs = ref_results_column_strings(res, "w", "estimates", "lhs", &n[0], &err);
    r.op = ref_results_column_strings(res, "w", "estimates", "op", &n[1], &err);
    r.rhs = ref_results_column_strings(res, "w", "estimates", "rhs", &n[2], &err);
    r.est = ref_results_column_double(res, "w", "estimates", "est", &n[3], &err);
    r.se = ref_results_column_double(res, "w", "estimates", "se", &n[4], &err);
    assert_true(r.lhs && r.op && r.rhs && r.est && r.se);
    r.n = n[0];

    tt_truth tr;
    tt_truth_open(&tr, h5);

    int bad = 0, checked = 0;
    if (by) {
        size_t nf = 0;
        r.firm = ref_results_column_strings(res, "w", "estimates", "firm", &nf, &err);
        assert_non_null(r.firm);
        assert_int_equal(nf, r.n);
        static const char *const names[2] = {"firm01", "firm02"};
        for (int l = 0; l < firms; l++) {
            r.level = names[l];
            bad += check_level(&r, &tr, &checked);
        }
    } else {
        bad = check_level(&r, &tr, &checked);
    }
    double p = 1;
    size_t nf = 0, nv = 0;
    char **measures = ref_results_column_strings(res, "w", "fit", "measure", &nf, &err);
    double *values = ref_results_column_double(res, "w", "fit", "value", &nv, &err);
    for (size_t k = 0; measures && values && k < nf; k++)
        if (strcmp(measures[k], "pvalue.scaled") == 0 && values[k] < p)
            p = values[k];
    fprintf(stderr,
            "wlsmv recovery (%d level(s)): %d values within 4 SE of the truth, %d "
            "outside; smallest pvalue.scaled %.3f\n",
            by ? firms : 1, checked - bad, bad, p);
    assert_int_equal(checked, (by ? firms : 1) * (20 + 20 * 5 + 6));
    assert_int_equal(bad, 0);
    assert_true(p > 0.001);
    if (r.firm)
        ref_strings_free(r.firm, r.n);

    ref_strings_free(measures, nf);
    free(values);
    tt_truth_close(&tr);
    ref_strings_free(r.lhs, r.n);
    ref_strings_free(r.op, n[1]);
    ref_strings_free(r.rhs, n[2]);
    free(r.est);
    free(r.se);
    ref_results_close(res);
    unlink(out);
    unlink(ini);
    unlink(h5);
    rmdir(dir);
}

static void test_wlsmv_recovers_simulation(void **state)
{
    (void)state;
    run_case(1, 30000, 0);
}

static void test_wlsmv_by_levels(void **state)
{
    (void)state;
    run_case(2, 15000, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wlsmv_recovers_simulation),
        cmocka_unit_test(test_wlsmv_by_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
