/*
 * test_recovery.c — cxfit recovers the generating model of its own
 * simulated CX panel (docs/SIMULATE.md): simulate 12 firms x 6 waves x
 * 400 respondents (28 800 rows), fit the four-factor CFA (PEX, OUT, MOT,
 * POM; 5 items each; out4 reverse-keyed and left as answered) through
 * cx_run, and compare the standardized loadings and factor correlations
 * with the /truth table.
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

static const char *const factors[NF] = {"PEX", "OUT", "MOT", "POM"};
static const char *const prefixes[NF] = {"pex", "out", "mot", "pom"};

/* ---- the truth table ---------------------------------------------------- */

typedef struct truth {
    cx_table *t;
    size_t n;
    double *code[3], *value;
} truth;

static void truth_open(truth *tr, const char *h5)
{
    cx_error err = {0};
    tr->t = cx_table_open(h5, "/truth", &err);
    if (!tr->t)
        fail_msg("%s", err.msg);
    static const char *const cols[3] = {"lhs", "op", "rhs"};
    for (int k = 0; k < 3; k++)
        tr->code[k] = tt_read_column(tr->t, cols[k]);
    tr->value = tt_read_column(tr->t, "value");
    tr->n = cx_table_nrows(tr->t);
}

static void truth_close(truth *tr)
{
    for (int k = 0; k < 3; k++)
        free(tr->code[k]);
    free(tr->value);
    cx_table_close(tr->t);
}

/* The generating value of lhs op rhs (categorical columns hold labels). */
static double truth_value(const truth *tr, const char *lhs, const char *op, const char *rhs)
{
    const char *want[3] = {lhs, op, rhs}, *cols[3] = {"lhs", "op", "rhs"};
    for (size_t i = 0; i < tr->n; i++) {
        int match = 1;
        for (int k = 0; k < 3 && match; k++) {
            const cx_column_info *c = cx_table_column(tr->t, (size_t)cx_table_find(tr->t, cols[k]));
            match = strcmp(c->categories[(size_t)tr->code[k][i]], want[k]) == 0;
        }
        if (match)
            return tr->value[i];
    }
    fail_msg("no truth row %s %s %s", lhs, op, rhs);
    return NAN;
}

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
} fixture;

static void write_config(const fixture *f)
{
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fputs("[data]\nfile  = sim.h5\ntable = /responses\n\n"
          "[job cells]\nmodel  = cfa\nby     = firm wave\nsyntax =",
          fp);
    for (int k = 0; k < NF; k++) {
        fprintf(fp, "%s%s =~", k ? "         " : " ", factors[k]);
        for (int i = 1; i <= NI; i++)
            fprintf(fp, "%s %s%d", i > 1 ? " +" : "", prefixes[k], i);
        fputc('\n', fp);
    }
    fclose(fp);
}

static void simulate_and_fit(fixture *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/cx_recovery_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->h5, sizeof f->h5, "%s/sim.h5", f->dir);
    snprintf(f->ini, sizeof f->ini, "%s/recovery.ini", f->dir);
    snprintf(f->out, sizeof f->out, "%s/results.h5", f->dir);
    cx_simulate_options o = {FIRMS, WAVES, RESPONDENTS, 20240611};
    cx_error err = {0};
    if (cx_simulate(&o, f->h5, &err) != CX_OK)
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
    char *status = ref_results_attr_string(r, "cells", "status", &err);
    if (!status || strcmp(status, "ok") != 0) {
        char *msg = ref_results_attr_string(r, "cells", "message", &err);
        fail_msg("job status %s: %s", status ? status : "?", msg ? msg : "");
    }
    free(status);
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

/* ---- the test ---------------------------------------------------------------- */

static void test_cfa_recovers_truth(void **state)
{
    (void)state;
    fixture f;
    simulate_and_fit(&f);
    truth tr;
    truth_open(&tr, f.h5);
    estimates e;
    estimates_read(&e, f.out);

    /* the average over waves w = 0..W-1 of var(q_f + w drifts) */
    double var_q = truth_value(&tr, "firm_quality", "~~", "firm_quality") +
                   truth_value(&tr, "quality_drift", "~~", "quality_drift") * (WAVES - 1) / 2.0;
    tally t = {0};
    double expected[NF * NI];
    fprintf(stderr, "standardized loadings (lambda x Likert attenuation c):\n");
    for (int k = 0; k < NF; k++)
        for (int i = 0; i < NI; i++) {
            char item[16], th[8];
            double tau[NTHRESH], mean, se;
            snprintf(item, sizeof item, "%s%d", prefixes[k], i + 1);
            for (int h = 0; h < NTHRESH; h++) {
                snprintf(th, sizeof th, "t%d", h + 1);
                tau[h] = truth_value(&tr, item, "|", th);
            }
            double lambda = truth_value(&tr, factors[k], "=~", item);
            over_cells(&e, factors[k], "=~", item, &mean, &se);
            char what[32];
            snprintf(what, sizeof what, "%s =~ %s", factors[k], item);
            expected[k * NI + i] = lambda * mean_attenuation(tau, lambda, var_q);
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
            compare(&t, what, mean, se, truth_value(&tr, factors[a], "~~", factors[b]));
        }
    fprintf(stderr, "recovery: %d values checked, %d outside tolerance, worst |err|/tol %.2f\n",
            t.checked, t.failed, t.worst);
    estimates_free(&e);
    truth_close(&tr);
    fixture_remove(&f);
    assert_int_equal(t.checked, NF * NI + 1 + NF * (NF - 1) / 2);
    assert_int_equal(t.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfa_recovers_truth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
