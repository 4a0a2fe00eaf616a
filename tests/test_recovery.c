/*
 * test_recovery.c — cxfit recovers the generating model of its own
 * simulated CX panel (docs/SIMULATE.md): simulate 12 firms x 6 waves x
 * 400 respondents (28 800 rows), fit the four-factor CFA (PEX, OUT, MOT,
 * POM; 5 items each; out4 reverse-keyed and left as answered) through
 * cx_run, and compare the standardized loadings and factor correlations
 * with the /truth table.  test_efa_recovers_truth does the same for
 * `model = efa` (ml, oblimin, 4 factors found, not given), below.
 *
 * What the truth says, and what an ML CFA of the 7-point items should give:
 *
 *  - Truth is on the latent scale WITHIN a firm-wave cell: eta ~ N(q_fw 1,
 *    Phi), y* = lambda eta + sqrt(1 - lambda^2) e, unit variance.  Pooled
 *    over cells, the firm quality q_fw adds var(q) (~0.07, and with only 12
 *    firms itself a noisy draw) to every factor variance and covariance,
 *    which would move pooled correlations by up to ~0.05.  So the CFA is
 *    fitted per cell (`by = firm wave`: 72 fits of ~270 complete rows) and
 *    the 72 estimates are averaged.
 *  - Within a cell (y*, eta) are jointly normal, so E[eta | y*] is linear
 *    in y* and, for the Likert item f(y*),
 *        corr(f(y*), eta) = lambda * c,  c = cov(f(Y), Y) / sd(f(Y)),
 *    Y ~ N(mu, 1), mu = lambda q.  By Stein's lemma cov(f(Y), Y) =
 *    sum_t phi(tau_t - mu), and var(f(Y)) follows from the threshold
 *    probabilities, so c is computed exactly here (c ~ 0.97; averaged over
 *    q ~ N(0, var_q) taken from /truth).  Expected std_all = lambda * c.
 *  - Factor correlations are not attenuated: every item covariance carries
 *    the same c_i c_j factor as the loadings, so the CFA's factor
 *    correlation targets Phi itself.
 *  - Both statements hold to first order in Mehler's (Hermite) expansion
 *    of cov(f(Y_i), f(Y_j)); the second-order term is a2_i a2_j r^2 / 2
 *    with |a2| ~ 0.1 for these thresholds and r <= 0.6, at most ~0.003 on
 *    a correlation.  Averaging c over the assumed rather than the realised
 *    q of 12 firms adds ~0.002.  Hence the tolerance per parameter:
 *        |mean of 72 cells - expected| <= 4 * SE + 0.005,
 *    SE = sd over cells / sqrt(72) (~0.005 for a loading, ~0.009 for a
 *    correlation): sampling error cannot fail it (4 SE), and the 0.005
 *    covers the approximations above.  That bound (~0.02) is about the
 *    size of the coarsening itself (lambda (1 - c) ~ 0.02), so one more
 *    check pools the 20 loadings: per cell, the mean over items of
 *    sign(lambda) (std_all - expected), then 4 SE + 0.005 over cells
 *    (~0.011): a fit that ignored coarsening (or over-corrected it) is
 *    ~0.02 off there and fails, as do a wrong sign or a swapped item.
 *
 * NPS -> revenue growth (the /firms truth) is checked in test_simulate.c.
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

#define FIRMS 12
#define WAVES 6
#define RESPONDENTS 400
#define NF 4
#define NI 5
#define NTHRESH 6
#ifndef EFA_FIRMS
#define EFA_FIRMS 4
#define EFA_WAVES 2
#define EFA_RESPONDENTS 6000
#endif

static const char *const factors[NF] = {"PEX", "OUT", "MOT", "POM"};
static const char *const prefixes[NF] = {"pex", "out", "mot", "pom"};

/* ---- the truth table ---------------------------------------------------- */

/* ---- expected attenuation of a Likert item --------------------------------- */

static double upper_tail(double x)
{
    return 0.5 * erfc(x / sqrt(2.0));
}

static double normal_pdf(double x)
{
    return exp(-0.5 * x * x) / 2.5066282746310002; /* sqrt(2 pi) */
}

/* c(mu) = corr(f(Y), Y) for Y ~ N(mu, 1), f(Y) = 1 + #{t: Y > tau_t}. */
static double likert_attenuation(const double *tau, double mu)
{
    double cov = 0, var = 0;
    for (int s = 0; s < NTHRESH; s++) {
        cov += normal_pdf(tau[s] - mu);
        for (int t = 0; t < NTHRESH; t++) /* cov of the two step indicators */
            var += upper_tail(fmax(tau[s], tau[t]) - mu) -
                   upper_tail(tau[s] - mu) * upper_tail(tau[t] - mu);
    }
    return cov / sqrt(var);
}

/* E[c(lambda q)] over q ~ N(0, var_q): midpoint rule over +-8 sd. */
static double mean_attenuation(const double *tau, double lambda, double var_q)
{
    const int n = 400;
    double sd = sqrt(var_q), h = 16.0 * sd / n, sum = 0, wsum = 0;
    for (int i = 0; i < n; i++) {
        double q = -8.0 * sd + (i + 0.5) * h, w = normal_pdf(q / sd);
        sum += w * likert_attenuation(tau, lambda * q);
        wsum += w;
    }
    return sum / wsum;
}

/* ---- simulate and fit ------------------------------------------------------ */

typedef struct fixture {
    char dir[256], h5[320], ini[320], out[320];
    cx_simulate_options sim;
    int efa; /* 0: the cfa job `cells`; 1: the efa job `efa_cells` */
} fixture;

static void write_config(const fixture *f)
{
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fputs("[data]\nfile  = sim.h5\ntable = /responses\n", fp);
    if (f->efa) {
        fputs("\n[job efa_cells]\nmodel    = efa\nby       = firm wave\nfactors  = 4\n"
              "method   = ml\nrotation = oblimin\nitems    =",
              fp);
        for (int k = 0; k < NF; k++)
            for (int i = 1; i <= NI; i++)
                fprintf(fp, " %s%d", prefixes[k], i);
        fputc('\n', fp);
        fclose(fp);
        return;
    }
    fputs("\n[job cells]\nmodel  = cfa\nby     = firm wave\nsyntax =", fp);
    tt_write_sim_syntax(fp);
    fclose(fp);
}

static void simulate_and_fit(fixture *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/cx_recovery_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->h5, sizeof f->h5, "%s/sim.h5", f->dir);
    snprintf(f->ini, sizeof f->ini, "%s/recovery.ini", f->dir);
    snprintf(f->out, sizeof f->out, "%s/results.h5", f->dir);
    cx_error err = {0};
    if (cx_simulate(&f->sim, f->h5, &err) != CX_OK)
        fail_msg("simulate: %s", err.msg);
    write_config(f);
    cx_run_options opt = {.config_path = f->ini, .output_path = f->out, .threads = 2, .quiet = 1};
    int rc = cx_run(&opt, &err);
    if (rc != 0)
        fail_msg("cx_run: exit %d: %s", rc, err.msg);
}

static void fixture_remove(const fixture *f)
{
    unlink(f->out);
    unlink(f->ini);
    unlink(f->h5);
    rmdir(f->dir);
}

/* ---- the per-cell estimates ------------------------------------------------- */

typedef struct estimates {
    size_t n;
    char **lhs, **op, **rhs, **firm;
    double *std_all, *wave;
    size_t *cell; /* each row's firm-wave cell, 0..n_cells-1 */
    size_t n_cells;
} estimates;

/* Number the distinct (firm, wave) pairs of the `by` columns. */
static void number_cells(estimates *e)
{
    e->cell = calloc(e->n, sizeof *e->cell);
    size_t *first = calloc(e->n, sizeof *first); /* a row of each cell */
    e->n_cells = 0;
    for (size_t r = 0; r < e->n; r++) {
        size_t c = 0;
        while (c < e->n_cells &&
               !(strcmp(e->firm[first[c]], e->firm[r]) == 0 && e->wave[first[c]] == e->wave[r]))
            c++;
        if (c == e->n_cells)
            first[e->n_cells++] = r;
        e->cell[r] = c;
    }
    free(first);
}

static void estimates_read(estimates *e, const char *path)
{
    cx_error err = {0};
    ref_results *r = ref_results_open(path, &err);
    if (!r)
        fail_msg("%s", err.msg);
    tt_expect_ok(r, "cells");
    size_t n[6];
    e->firm = ref_results_column_strings(r, "cells", "estimates", "firm", &n[4], &err);
    e->wave = ref_results_column_double(r, "cells", "estimates", "wave", &n[5], &err);
    e->lhs = ref_results_column_strings(r, "cells", "estimates", "lhs", &n[0], &err);
    e->op = ref_results_column_strings(r, "cells", "estimates", "op", &n[1], &err);
    e->rhs = ref_results_column_strings(r, "cells", "estimates", "rhs", &n[2], &err);
    e->std_all = ref_results_column_double(r, "cells", "estimates", "std_all", &n[3], &err);
    if (!e->lhs || !e->op || !e->rhs || !e->std_all || !e->firm || !e->wave)
        fail_msg("estimates: %s", err.msg);
    for (int k = 1; k < 6; k++)
        assert_true(n[k] == n[0]);
    e->n = n[0];
    ref_results_close(r);
    number_cells(e);
    assert_int_equal(e->n_cells, FIRMS * WAVES);
}

static void estimates_free(estimates *e)
{
    ref_strings_free(e->lhs, e->n);
    ref_strings_free(e->op, e->n);
    ref_strings_free(e->rhs, e->n);
    ref_strings_free(e->firm, e->n);
    free(e->std_all);
    free(e->wave);
    free(e->cell);
}

static void mean_se(const double *x, size_t m, double *mean, double *se)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < m; i++)
        s += x[i], ss += x[i] * x[i];
    *mean = s / (double)m;
    *se = sqrt((ss - s * s / (double)m) / (double)(m - 1) / (double)m);
}

/* Mean and standard error of std_all of lhs op rhs over the cells. */
static void over_cells(const estimates *e, const char *lhs, const char *op, const char *rhs,
                       double *mean, double *se)
{
    double *x = calloc(e->n_cells, sizeof *x);
    size_t m = 0;
    for (size_t r = 0; r < e->n; r++)
        if (strcmp(e->lhs[r], lhs) == 0 && strcmp(e->op[r], op) == 0 &&
            strcmp(e->rhs[r], rhs) == 0 && m < e->n_cells)
            x[m++] = e->std_all[r];
    /* one row per firm-wave cell, every one fitted */
    assert_int_equal(m, e->n_cells);
    mean_se(x, m, mean, se);
    free(x);
}

/* Per cell, the mean over the loadings of sign(lambda) (std_all - expected):
 * the coarsening shows in all items at once. */
static void pooled_loading_error(const estimates *e, const double *expected, double *mean,
                                 double *se)
{
    double *x = calloc(e->n_cells, sizeof *x);
    for (size_t r = 0; r < e->n; r++)
        for (int k = 0; k < NF && strcmp(e->op[r], "=~") == 0; k++)
            for (int i = 0; i < NI; i++) {
                char item[16];
                snprintf(item, sizeof item, "%s%d", prefixes[k], i + 1);
                if (strcmp(e->lhs[r], factors[k]) != 0 || strcmp(e->rhs[r], item) != 0)
                    continue;
                double want = expected[k * NI + i];
                x[e->cell[r]] += copysign(1.0, want) * (e->std_all[r] - want) / (NF * NI);
            }
    mean_se(x, e->n_cells, mean, se);
    free(x);
}

typedef struct tally {
    int checked, failed;
    double worst; /* largest |error| / tolerance */
} tally;

static void compare(tally *t, const char *what, double mean, double se, double want)
{
    double tol = 4 * se + 0.005, err = mean - want;
    t->checked++;
    t->worst = fmax(t->worst, fabs(err) / tol);
    int ok = isfinite(mean) && fabs(err) <= tol;
    t->failed += !ok;
    fprintf(stderr, "  %-14s mean %7.4f  expected %7.4f  diff %+.4f  tol %.4f%s\n", what, mean,
            want, err, tol, ok ? "" : "  MISMATCH");
}

/* compare() that prints only a mismatch (the 60 cross-loadings). */
static void compare_quiet(tally *t, const char *what, double mean, double se, double want)
{
    double tol = 4 * se + 0.005, err = mean - want;
    t->checked++;
    t->worst = fmax(t->worst, fabs(err) / tol);
    if (isfinite(mean) && fabs(err) <= tol)
        return;
    t->failed++;
    fprintf(stderr, "  %-14s mean %7.4f  expected %7.4f  diff %+.4f  tol %.4f  MISMATCH\n", what,
            mean, want, err, tol);
}

/* ---- the tests ---------------------------------------------------------------- */

/* The average over waves w = 0..W-1 of var(q_f + w drifts). */
static double quality_variance(const tt_truth *tr, int waves)
{
    return tt_truth_find(tr, "firm_quality", "~~", "firm_quality") +
           tt_truth_find(tr, "quality_drift", "~~", "quality_drift") * (waves - 1) / 2.0;
}

/* lambda x the Likert attenuation c of item i of factor k, and lambda. */
static double expected_loading(const tt_truth *tr, int k, int i, double var_q, double *lambda)
{
    char item[16], th[8];
    double tau[NTHRESH];
    snprintf(item, sizeof item, "%s%d", prefixes[k], i + 1);
    for (int h = 0; h < NTHRESH; h++) {
        snprintf(th, sizeof th, "t%d", h + 1);
        tau[h] = tt_truth_find(tr, item, "|", th);
    }
    *lambda = tt_truth_find(tr, factors[k], "=~", item);
    return *lambda * mean_attenuation(tau, *lambda, var_q);
}

static void test_cfa_recovers_truth(void **state)
{
    (void)state;
    fixture f = {.sim = {FIRMS, WAVES, RESPONDENTS, 20240611}};
    simulate_and_fit(&f);
    tt_truth tr;
    tt_truth_open(&tr, f.h5);
    estimates e;
    estimates_read(&e, f.out);

    double var_q = quality_variance(&tr, WAVES);
    tally t = {0};
    double expected[NF * NI];
    fprintf(stderr, "standardized loadings (lambda x Likert attenuation c):\n");
    for (int k = 0; k < NF; k++)
        for (int i = 0; i < NI; i++) {
            double lambda, mean, se;
            char item[16], what[32];
            snprintf(item, sizeof item, "%s%d", prefixes[k], i + 1);
            expected[k * NI + i] = expected_loading(&tr, k, i, var_q, &lambda);
            over_cells(&e, factors[k], "=~", item, &mean, &se);
            snprintf(what, sizeof what, "%s =~ %s", factors[k], item);
            compare(&t, what, mean, se, expected[k * NI + i]);
        }
    double pooled, pooled_se;
    pooled_loading_error(&e, expected, &pooled, &pooled_se);
    compare(&t, "all loadings", pooled, pooled_se, 0.0);
    fprintf(stderr, "factor correlations (Phi, not attenuated):\n");
    for (int a = 0; a < NF; a++)
        for (int b = a + 1; b < NF; b++) {
            double mean, se;
            over_cells(&e, factors[a], "~~", factors[b], &mean, &se);
            char what[32];
            snprintf(what, sizeof what, "%s ~~ %s", factors[a], factors[b]);
            compare(&t, what, mean, se, tt_truth_find(&tr, factors[a], "~~", factors[b]));
        }
    fprintf(stderr, "recovery: %d values checked, %d outside tolerance, worst |err|/tol %.2f\n",
            t.checked, t.failed, t.worst);
    estimates_free(&e);
    tt_truth_close(&tr);
    fixture_remove(&f);
    assert_int_equal(t.checked, NF * NI + 1 + NF * (NF - 1) / 2);
    assert_int_equal(t.failed, 0);
}

/* ---- EFA: the same cells, the factors found rather than given ----------------
 *
 * `model = efa` (ml, oblimin, 4 factors) per firm-wave cell.  Within a cell
 * the items' correlations are, to the first order of the argument above,
 * Lambda* Phi Lambda*' off the diagonal with Lambda* = lambda c in
 * independent clusters.  The ML fit of that matrix has exactly that
 * pattern, and oblimin (quartimin: sum over factor pairs of products of
 * squared loadings, >= 0) reaches its minimum 0 there, so the rotated
 * pattern targets lambda c on each item's own factor, 0 off it, and the
 * factor correlations target Phi: the CFA's targets.  Per cell, the EFA's
 * columns are matched to the true factors (the permutation with the
 * largest sum of |loadings| on each factor's own items) and signed so
 * each factor's own loadings agree in sign with lambda.  Then, as for the
 * CFA, per loading, cross-loading and correlation: |mean over the cells
 * - expected| <= 4 SE + 0.005, and the pooled loading error.
 *
 * Its own simulation: 4 firms x 2 waves x 6000 respondents (8 cells).  The
 * oblimin factor correlations of an ML EFA are biased low in small
 * samples (the estimator's, not cxfit's: cxfit's fits are psych's to 1e-6,
 * tests/test_efa.c).  Measured on this simulator, mean over cells minus
 * Phi: about -0.055 with the CFA test's 72 cells of ~270 rows, -0.017
 * with cells of 2000, -0.007 with 6000, and -0.001 with one cell of
 * 100 000 rows against the CFA of the same rows.  Cells of 6000 keep that
 * bias well inside the tolerance (0.025-0.034 here) while the loadings'
 * SE (~0.004) still catches a wrong loading, a swapped item or a sign. */

typedef struct efa_cells {
    size_t n_cells;
    double *L;   /* n_cells x (NF*NI items) x NF, truth's factor order */
    double *phi; /* n_cells x NF x NF                                  */
} efa_cells;

static int item_index(const char *name)
{
    for (int k = 0; k < NF; k++)
        for (int i = 0; i < NI; i++) {
            char item[16];
            snprintf(item, sizeof item, "%s%d", prefixes[k], i + 1);
            if (strcmp(item, name) == 0)
                return k * NI + i;
        }
    fail_msg("unknown item %s", name);
    return -1;
}

/* The permutation perm[g] = truth factor of EFA column g with the largest
 * sum of |loadings| on the true factors' own items (4! candidates). */
static void match_factors(const double *raw, int *perm)
{
    int p[NF] = {0, 1, 2, 3}, best[NF] = {0, 1, 2, 3};
    double best_score = -1;
    for (int a = 0; a < NF; a++)
        for (int b = 0; b < NF; b++)
            for (int c = 0; c < NF; c++)
                for (int d = 0; d < NF; d++) {
                    p[0] = a, p[1] = b, p[2] = c, p[3] = d;
                    if (a == b || a == c || a == d || b == c || b == d || c == d)
                        continue;
                    double score = 0;
                    for (int g = 0; g < NF; g++)
                        for (int i = 0; i < NI; i++)
                            score += fabs(raw[(p[g] * NI + i) * NF + g]);
                    if (score > best_score)
                        best_score = score, memcpy(best, p, sizeof best);
                }
    memcpy(perm, best, sizeof best);
}

static double *column(ref_results *r, const char *table, const char *name, size_t *n)
{
    cx_error err = {0};
    double *x = ref_results_column_double(r, "efa_cells", table, name, n, &err);
    if (!x)
        fail_msg("efa_cells/%s.%s: %s", table, name, err.msg);
    return x;
}

/* Per cell: rows of `loadings` (item x ML1..ML4) and `phi`, matched and
 * signed to the truth's factors. */
static void efa_cells_read(efa_cells *c, const char *path, const tt_truth *tr, size_t want_cells)
{
    cx_error err = {0};
    ref_results *r = ref_results_open(path, &err);
    if (!r)
        fail_msg("%s", err.msg);
    tt_expect_ok(r, "efa_cells");
    size_t n, m, n2;
    char **item = ref_results_column_strings(r, "efa_cells", "loadings", "item", &n, &err);
    char **firm = ref_results_column_strings(r, "efa_cells", "loadings", "firm", &n2, &err);
    assert_non_null(item);
    assert_non_null(firm);
    double *wave = column(r, "loadings", "wave", &n2);
    double *ml[NF], *ph[NF];
    for (int g = 0; g < NF; g++) {
        char name[8];
        snprintf(name, sizeof name, "ML%d", g + 1);
        ml[g] = column(r, "loadings", name, &n2);
        assert_int_equal(n2, n);
        ph[g] = column(r, "phi", name, &m);
    }
    c->n_cells = n / (NF * NI);
    assert_int_equal(c->n_cells, want_cells);
    assert_int_equal(m, c->n_cells * NF);
    c->L = calloc(c->n_cells * NF * NI * NF, sizeof *c->L);
    c->phi = calloc(c->n_cells * NF * NF, sizeof *c->phi);
    double raw[NF * NI * NF];
    for (size_t cell = 0; cell < c->n_cells; cell++) {
        size_t r0 = cell * NF * NI;
        for (size_t row = r0; row < r0 + NF * NI; row++) {
            /* a cell's rows are contiguous: one firm and wave */
            assert_string_equal(firm[row], firm[r0]);
            assert_true(wave[row] == wave[r0]);
            int it = item_index(item[row]);
            for (int g = 0; g < NF; g++)
                raw[it * NF + g] = ml[g][row];
        }
        int perm[NF];
        double sign[NF];
        match_factors(raw, perm);
        for (int g = 0; g < NF; g++) {
            double s = 0;
            for (int i = 0; i < NI; i++) {
                char name[16];
                snprintf(name, sizeof name, "%s%d", prefixes[perm[g]], i + 1);
                s += raw[(perm[g] * NI + i) * NF + g] *
                     copysign(1.0, tt_truth_find(tr, factors[perm[g]], "=~", name));
            }
            sign[g] = s < 0 ? -1 : 1;
        }
        double *L = c->L + cell * NF * NI * NF, *P = c->phi + cell * NF * NF;
        for (int it = 0; it < NF * NI; it++)
            for (int g = 0; g < NF; g++)
                L[it * NF + perm[g]] = sign[g] * raw[it * NF + g];
        for (int g = 0; g < NF; g++)
            for (int h = 0; h < NF; h++)
                P[perm[g] * NF + perm[h]] = sign[g] * sign[h] * ph[h][cell * NF + (size_t)g];
    }
    for (int g = 0; g < NF; g++)
        free(ml[g]), free(ph[g]);
    free(wave);
    ref_strings_free(item, n);
    ref_strings_free(firm, n);
    ref_results_close(r);
}

static void test_efa_recovers_truth(void **state)
{
    (void)state;
    fixture f = {.sim = {EFA_FIRMS, EFA_WAVES, EFA_RESPONDENTS, 20261202}, .efa = 1};
    simulate_and_fit(&f);
    tt_truth tr;
    tt_truth_open(&tr, f.h5);
    efa_cells c;
    efa_cells_read(&c, f.out, &tr, EFA_FIRMS * EFA_WAVES);
    double var_q = quality_variance(&tr, EFA_WAVES);
    size_t nc = c.n_cells;
    double *x = calloc(nc, sizeof *x), *pooled = calloc(nc, sizeof *pooled), mean, se;
    tally t = {0};
    fprintf(stderr, "efa pattern loadings (own factor: lambda x c; cross-loadings: 0):\n");
    for (int k = 0; k < NF; k++)
        for (int i = 0; i < NI; i++) {
            int it = k * NI + i;
            double lambda, want = expected_loading(&tr, k, i, var_q, &lambda);
            for (int g = 0; g < NF; g++) {
                for (size_t cell = 0; cell < nc; cell++)
                    x[cell] = c.L[(cell * NF * NI + (size_t)it) * NF + (size_t)g];
                mean_se(x, nc, &mean, &se);
                char what[32];
                snprintf(what, sizeof what, "%s -> %s%d", factors[g], prefixes[k], i + 1);
                if (g == k) {
                    compare(&t, what, mean, se, want);
                    for (size_t cell = 0; cell < nc; cell++)
                        pooled[cell] += copysign(1.0, want) * (x[cell] - want) / (NF * NI);
                } else {
                    compare_quiet(&t, what, mean, se, 0.0);
                }
            }
        }
    mean_se(pooled, nc, &mean, &se);
    compare(&t, "all loadings", mean, se, 0.0);
    fprintf(stderr, "efa factor correlations (Phi):\n");
    for (int a = 0; a < NF; a++)
        for (int b = a + 1; b < NF; b++) {
            for (size_t cell = 0; cell < nc; cell++)
                x[cell] = c.phi[cell * NF * NF + (size_t)a * NF + (size_t)b];
            mean_se(x, nc, &mean, &se);
            char what[32];
            snprintf(what, sizeof what, "%s ~~ %s", factors[a], factors[b]);
            compare(&t, what, mean, se, tt_truth_find(&tr, factors[a], "~~", factors[b]));
        }
    fprintf(stderr,
            "efa recovery: %d values checked (20 loadings, 60 cross-loadings, pooled, 6 "
            "correlations), %d outside tolerance, worst |err|/tol %.2f\n",
            t.checked, t.failed, t.worst);
    free(x), free(pooled), free(c.L), free(c.phi);
    tt_truth_close(&tr);
    fixture_remove(&f);
    assert_int_equal(t.checked, NF * NI * NF + 1 + NF * (NF - 1) / 2);
    assert_int_equal(t.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfa_recovers_truth),
        cmocka_unit_test(test_efa_recovers_truth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
