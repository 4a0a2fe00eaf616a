/*
 * test_simulate.c — `cxfit simulate` (engine/simulate.c): the three tables
 * have the contract's columns and shapes, values stay on their scales,
 * the same seed gives the same file, and the known truth shows through:
 * the scales correlate as the factor model says, the reverse-keyed item
 * runs the other way, and OLS of growth on lagged NPS recovers the
 * generating slope.  A respondent panel (--panel) re-surveys its members
 * in every wave, writes their trajectories' truth, and the data carry it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simulate.h"
#include "table.h"
#include "tabletest.h"

#define DIR CX_BINARY_DIR "/test_simulate_"

static void remove_outputs(const char *h5)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", h5);
    unlink(h5);
    unlink(tmp);
}

static void simulate(const char *h5, long firms, long waves, long respondents, long seed)
{
    cx_simulate_options o = {firms, waves, respondents, seed};
    cx_error err = {0};
    remove_outputs(h5);
    if (cx_simulate(&o, h5, &err) != CX_OK)
        fail_msg("%s", err.msg);
}

/* Sum of the 5 items with prefix p per row (NaN if any is missing). */
static double *sum_score(cx_table *t, const char *p)
{
    size_t n = cx_table_nrows(t);
    double *s = calloc(n, sizeof *s);
    for (int i = 1; i <= 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "%s%d", p, i);
        double *x = tt_read_column(t, name);
        for (size_t r = 0; r < n; r++)
            s[r] += x[r];
        free(x);
    }
    return s;
}

/* Pearson correlation over rows where both are present. */
static double correlation(const double *x, const double *y, size_t n)
{
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i]))
            continue;
        m++;
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        syy += y[i] * y[i];
        sxy += x[i] * y[i];
    }
    double cxy = sxy - sx * sy / m, cxx = sxx - sx * sx / m, cyy = syy - sy * sy / m;
    return cxy / sqrt(cxx * cyy);
}

/* ---------- shapes and scales ---------- */

static void test_defaults(void **state)
{
    (void)state;
    cx_simulate_options o;
    cx_simulate_defaults(&o);
    assert_int_equal(o.firms, 12);
    assert_int_equal(o.waves, 6);
    assert_int_equal(o.respondents, 150);
    assert_int_equal(o.seed, 1);
}

static const char *const response_columns[] = {
    "respondent",  "firm",    "wave",      "segment",  "weight",       "pex1",     "pex2",
    "pex3",        "pex4",    "pex5",      "out1",     "out2",         "out3",     "out4",
    "out5",        "mot1",    "mot2",      "mot3",     "mot4",         "mot5",     "pom1",
    "pom2",        "pom3",    "pom4",      "pom5",     "tp_web",       "tp_store", "tp_call",
    "tp_delivery", "exp_web", "exp_store", "exp_call", "exp_delivery", "sat",      "ltr"};

static void check_range(cx_table *t, const char *name, double lo, double hi, int may_miss)
{
    double *x = tt_read_column(t, name);
    size_t n = cx_table_nrows(t), missing = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) {
            missing++;
            continue;
        }
        if (x[i] < lo || x[i] > hi || x[i] != floor(x[i]))
            fail_msg("%s row %zu = %g outside %g..%g", name, i + 1, x[i], lo, hi);
    }
    if (!may_miss)
        assert_int_equal(missing, 0);
    free(x);
}

static void test_shapes_and_ranges(void **state)
{
    (void)state;
    const char *h5 = DIR "small.h5";
    simulate(h5, 3, 4, 50, 5);
    cx_table *t = tt_open_table(h5, "/responses");
    size_t ncols = sizeof response_columns / sizeof response_columns[0];
    assert_int_equal(cx_table_nrows(t), 3 * 4 * 50);
    assert_int_equal(cx_table_ncols(t), ncols);
    for (size_t j = 0; j < ncols; j++) /* in this order */
        assert_string_equal(cx_table_column(t, j)->name, response_columns[j]);
    const cx_column_info *firm = cx_table_column(t, 1), *seg = cx_table_column(t, 3);
    assert_int_equal(firm->kind, CX_COL_CATEGORICAL);
    assert_int_equal(firm->n_categories, 3);
    assert_string_equal(firm->categories[0], "firm01");
    assert_int_equal(seg->kind, CX_COL_CATEGORICAL);
    assert_string_equal(seg->categories[0], "consumer");
    const cx_column_info *pex1 = cx_table_column(t, 5);
    assert_int_equal(pex1->kind, CX_COL_INT); /* Likert items: uint8 */
    assert_int_equal(pex1->bytes, 1);
    assert_true(pex1->is_unsigned && pex1->has_missing_value);

    check_range(t, "respondent", 1, 600, 0);
    check_range(t, "firm", 0, 2, 0);
    check_range(t, "wave", 1, 4, 0);
    check_range(t, "segment", 0, 2, 0);
    for (size_t j = 5; j < 33; j++)
        check_range(t, response_columns[j], 1, 7, 1);
    check_range(t, "sat", 1, 10, 1);
    check_range(t, "ltr", 0, 10, 1);

    /* ~2% missing at random in the rated columns: 28 x 600 cells */
    size_t missing = 0, cells = 0;
    for (size_t j = 5; j < ncols; j++) {
        double *x = tt_read_column(t, response_columns[j]);
        for (size_t i = 0; i < 600; i++)
            missing += isnan(x[i]) != 0;
        cells += 600;
        free(x);
    }
    double rate = (double)missing / (double)cells; /* sd ~ 0.0007 at 18000 cells */
    assert_true(rate > 0.015 && rate < 0.025);
    cx_table_close(t);

    t = tt_open_table(h5, "/firms");
    assert_int_equal(cx_table_nrows(t), 12);
    const char *firm_cols[] = {"firm", "wave", "n", "nps", "sat_mean", "revenue", "revenue_growth"};
    for (size_t j = 0; j < 7; j++)
        assert_string_equal(cx_table_column(t, j)->name, firm_cols[j]);
    double *wave = tt_read_column(t, "wave"), *g = tt_read_column(t, "revenue_growth");
    double *nps = tt_read_column(t, "nps"), *n = tt_read_column(t, "n");
    for (size_t i = 0; i < 12; i++) {
        assert_true(n[i] == 50);
        assert_true(nps[i] >= -100 && nps[i] <= 100);
        assert_true(wave[i] == 1 ? isnan(g[i]) : !isnan(g[i])); /* no lag in wave 1 */
    }
    free(wave);
    free(g);
    free(nps);
    free(n);
    cx_table_close(t);

    t = tt_open_table(h5, "/truth");
    assert_int_equal(cx_table_ncols(t), 4);
    assert_true(cx_table_nrows(t) > 100);
    cx_table_close(t);
    remove_outputs(h5);
}

/* ---------- determinism ---------- */

static int same_table(const char *a, const char *b, const char *group)
{
    cx_table *ta = tt_open_table(a, group), *tb = tt_open_table(b, group);
    int same = cx_table_nrows(ta) == cx_table_nrows(tb) && cx_table_ncols(ta) == cx_table_ncols(tb);
    for (size_t j = 0; same && j < cx_table_ncols(ta); j++) {
        const char *name = cx_table_column(ta, j)->name;
        double *x = tt_read_column(ta, name), *y = tt_read_column(tb, name);
        for (size_t i = 0; i < cx_table_nrows(ta); i++)
            if (!(x[i] == y[i] || (isnan(x[i]) && isnan(y[i]))))
                same = 0;
        free(x);
        free(y);
    }
    cx_table_close(ta);
    cx_table_close(tb);
    return same;
}

static void test_deterministic(void **state)
{
    (void)state;
    const char *a = DIR "a.h5", *b = DIR "b.h5", *c = DIR "c.h5";
    simulate(a, 4, 3, 30, 11);
    simulate(b, 4, 3, 30, 11);
    simulate(c, 4, 3, 30, 12);
    assert_true(same_table(a, b, "/responses"));
    assert_true(same_table(a, b, "/firms"));
    assert_true(same_table(a, b, "/truth"));
    assert_false(same_table(a, c, "/responses"));
    /* a cell's respondents do not depend on how many firms come after it */
    const char *d = DIR "d.h5";
    simulate(d, 2, 3, 30, 11);
    cx_table *ta = tt_open_table(a, "/responses"), *td = tt_open_table(d, "/responses");
    double *x = tt_read_column(ta, "ltr"), *y = tt_read_column(td, "ltr");
    for (size_t i = 0; i < cx_table_nrows(td); i++)
        assert_true(x[i] == y[i] || (isnan(x[i]) && isnan(y[i])));
    free(x);
    free(y);
    cx_table_close(ta);
    cx_table_close(td);
    remove_outputs(a);
    remove_outputs(b);
    remove_outputs(c);
    remove_outputs(d);
}

static void test_refusals(void **state)
{
    (void)state;
    const char *h5 = DIR "exists.h5";
    simulate(h5, 1, 1, 1, 1);
    cx_simulate_options o;
    cx_simulate_defaults(&o);
    cx_error err = {0};
    assert_int_equal(cx_simulate(&o, h5, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "already exists"));
    o.firms = 0;
    assert_int_equal(cx_simulate(&o, DIR "zero.h5", &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "at least 1"));
    assert_int_equal(access(DIR "zero.h5", F_OK), -1);
    assert_int_equal(access(DIR "zero.h5.tmp", F_OK), -1);
    remove_outputs(h5);
}

/* ---------- the truth shows through ---------- */

/* Value of the /truth row lhs op rhs. */
static double truth_value(cx_table *t, const char *lhs, const char *op, const char *rhs)
{
    const char *want[3] = {lhs, op, rhs};
    const char *cols[3] = {"lhs", "op", "rhs"};
    double *code[3], *value = tt_read_column(t, "value"), found = NAN;
    for (int k = 0; k < 3; k++)
        code[k] = tt_read_column(t, cols[k]);
    for (size_t i = 0; i < cx_table_nrows(t) && isnan(found); i++) {
        int match = 1;
        for (int k = 0; k < 3; k++) {
            const cx_column_info *c = cx_table_column(t, (size_t)cx_table_find(t, cols[k]));
            match = match && strcmp(c->categories[(size_t)code[k][i]], want[k]) == 0;
        }
        if (match)
            found = value[i];
    }
    for (int k = 0; k < 3; k++)
        free(code[k]);
    free(value);
    if (isnan(found))
        fail_msg("no truth row %s %s %s", lhs, op, rhs);
    return found;
}

static void test_scales_recoverable(void **state)
{
    (void)state;
    const char *h5 = DIR "demo.h5";
    simulate(h5, 12, 6, 150, 1); /* the defaults: 10800 rows */
    cx_table *t = tt_open_table(h5, "/truth");
    assert_true(truth_value(t, "PEX", "=~", "pex1") == 0.80);
    assert_true(truth_value(t, "OUT", "=~", "out4") < 0); /* reverse-keyed */
    assert_true(truth_value(t, "PEX", "~~", "MOT") == 0.40);
    assert_true(truth_value(t, "ltr", "~", "PEX") == 0.9);
    cx_table_close(t);

    t = tt_open_table(h5, "/responses");
    size_t n = cx_table_nrows(t);
    double *pex = sum_score(t, "pex"), *mot = sum_score(t, "mot"), *ltr = tt_read_column(t, "ltr");
    double *out1 = tt_read_column(t, "out1"), *out4 = tt_read_column(t, "out4");
    double *pex1 = tt_read_column(t, "pex1"), *pex2 = tt_read_column(t, "pex2");
    /* Latent correlation PEX~MOT is 0.40 (a little more with the firm
     * effect); sum scores of 5 items with reliability ~0.85 and Likert
     * coarsening attenuate it to ~0.33.  With n ~ 9000 complete rows the
     * sampling sd of r is ~0.01, so 0.25..0.45 cannot fail by chance. */
    double r = correlation(pex, mot, n);
    assert_true(r > 0.25 && r < 0.45);
    /* items of one factor: 0.80 * 0.75 = 0.60 latent, ~0.55 on Likert */
    r = correlation(pex1, pex2, n);
    assert_true(r > 0.45 && r < 0.65);
    /* the reverse-keyed item runs against its scale */
    assert_true(correlation(out1, out4, n) < -0.3);
    /* ltr is driven by the factors: its latent R^2 is 3.4 / (3.4 + 1.44) */
    assert_true(correlation(pex, ltr, n) > 0.4);
    free(pex);
    free(mot);
    free(ltr);
    free(out1);
    free(out4);
    free(pex1);
    free(pex2);
    cx_table_close(t);
    remove_outputs(h5);
}

/* OLS of revenue_growth on lag(nps) over firm-waves 2..W recovers the
 * generating slope b = 0.001. */
static void test_growth_slope(void **state)
{
    (void)state;
    const char *h5 = DIR "growth.h5";
    const long F = 60, W = 10;
    simulate(h5, F, W, 40, 3);
    cx_table *t = tt_open_table(h5, "/truth");
    double b_true = truth_value(t, "revenue_growth", "~", "lag(nps, 1)");
    cx_table_close(t);
    t = tt_open_table(h5, "/firms");
    double *nps = tt_read_column(t, "nps"), *g = tt_read_column(t, "revenue_growth");
    double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0, m = 0;
    for (long f = 0; f < F; f++) /* rows are firm-major, waves in order */
        for (long w = 1; w < W; w++) {
            double x = nps[f * W + w - 1], y = g[f * W + w];
            m++, sx += x, sy += y, sxx += x * x, sxy += x * y, syy += y * y;
        }
    double vxx = sxx - sx * sx / m, vxy = sxy - sx * sy / m, vyy = syy - sy * sy / m;
    double b = vxy / vxx;
    double se = sqrt((vyy - b * vxy) / (m - 2) / vxx);
    /* 540 firm-waves; NPS from 40 respondents varies by ~13 points and the
     * error (firm effect + noise) has sd ~0.014, so se ~ 5e-5, about 5% of
     * b.  The firm effect makes errors correlate within firm, but the
     * regressor is mostly sampling noise, independent across waves, so the
     * iid se is close; 4 se keeps the check meaningful and not flaky. */
    assert_true(se < 0.15 * b_true);
    if (fabs(b - b_true) > 4 * se)
        fail_msg("growth slope %g, truth %g, se %g", b, b_true, se);
    free(nps);
    free(g);
    cx_table_close(t);
    remove_outputs(h5);
}

/* ---------- respondent panel ---------- */

static void simulate_panel(const char *h5, long firms, long waves, long respondents, long seed,
                           long panel)
{
    cx_simulate_options o = {firms, waves, respondents, seed};
    cx_error err = {0};
    remove_outputs(h5);
    if (cx_simulate_panel(&o, panel, h5, &err) != CX_OK)
        fail_msg("%s", err.msg);
}

/* Least-squares slope of y on x. */
static double ls_slope(const double *x, const double *y, size_t n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++)
        sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
    return (sxy - sx * sy / (double)n) / (sxx - sx * sx / (double)n);
}

static double sample_cov(const double *x, const double *y, size_t n)
{
    double sx = 0, sy = 0, sxy = 0;
    for (size_t i = 0; i < n; i++)
        sx += x[i], sy += y[i], sxy += x[i] * y[i];
    return (sxy - sx * sy / (double)n) / (double)(n - 1);
}

/* Layout: members answer every wave under one id, others once; the extra
 * columns and /truth_respondents are there; ltr is latent ltr rounded. */
static void test_panel_layout(void **state)
{
    (void)state;
    const char *h5 = DIR "panel_layout.h5";
    const long F = 3, W = 4, R = 40, P = 10; /* 25% of 40 */
    simulate_panel(h5, F, W, R, 9, 25);
    cx_table *t = tt_open_table(h5, "/responses");
    size_t n = cx_table_nrows(t), base = sizeof response_columns / sizeof response_columns[0];
    assert_int_equal(n, F * W * R);
    assert_int_equal(cx_table_ncols(t), base + 2);
    for (size_t j = 0; j < base; j++) /* the default columns first, unchanged */
        assert_string_equal(cx_table_column(t, j)->name, response_columns[j]);
    assert_string_equal(cx_table_column(t, base)->name, "panel");
    assert_string_equal(cx_table_column(t, base + 1)->name, "ltr_latent");
    double *id = tt_read_column(t, "respondent"), *member = tt_read_column(t, "panel");
    double *ltr = tt_read_column(t, "ltr"), *lat = tt_read_column(t, "ltr_latent");
    size_t people = (size_t)(F * P + F * W * (R - P));
    size_t *count = calloc(people + 1, sizeof *count);
    for (size_t r = 0; r < n; r++) {
        assert_true(id[r] >= 1 && id[r] <= (double)people);
        count[(size_t)id[r]]++;
        assert_int_equal(member[r], (r % (size_t)R) < (size_t)P); /* members first in a cell */
        if (!isnan(ltr[r])) {
            double want = floor(lat[r] + 0.5);
            assert_true(ltr[r] == (want < 0 ? 0 : want > 10 ? 10 : want));
        }
    }
    for (size_t r = 0; r < n; r++)
        assert_int_equal(count[(size_t)id[r]], member[r] ? (size_t)W : 1);
    free(count);
    free(id), free(member), free(ltr), free(lat);
    cx_table_close(t);
    t = tt_open_table(h5, "/truth_respondents");
    assert_int_equal(cx_table_nrows(t), people);
    cx_table_close(t);
    t = tt_open_table(h5, "/truth");
    assert_true(truth_value(t, "panel_share", ":=", "") == 0.25);
    cx_table_close(t);
    remove_outputs(h5);

    /* without the option: the default layout, no /truth_respondents */
    simulate_panel(h5, 2, 2, 5, 9, 0);
    t = tt_open_table(h5, "/responses");
    assert_int_equal(cx_table_ncols(t), base);
    cx_table_close(t);
    cx_error err = {0};
    assert_null(cx_table_open(h5, "/truth_respondents", &err));
    remove_outputs(h5);

    cx_simulate_options o;
    cx_simulate_defaults(&o);
    assert_int_equal(cx_simulate_panel(&o, 101, DIR "bad.h5", &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "--panel"));
}

/* The written trajectories are the data's: each member's own OLS slope of
 * ltr_latent on wave regresses on its true slope with slope 1, and the
 * people's intercepts and slopes have the /truth variances. */
static void test_panel_truth(void **state)
{
    (void)state;
    const char *h5 = DIR "panel_truth.h5";
    const long F = 10, W = 6, R = 100, P = 80;
    simulate_panel(h5, F, W, R, 4, P);
    cx_table *t = tt_open_table(h5, "/truth");
    double v_int = truth_value(t, "respondent_intercept", "~~", "respondent_intercept");
    double v_slope = truth_value(t, "respondent_slope", "~~", "respondent_slope");
    double c_is = truth_value(t, "respondent_intercept", "~~", "respondent_slope");
    double v_res = truth_value(t, "ltr_latent", "~~", "ltr_latent");
    cx_table_close(t);
    t = tt_open_table(h5, "/truth_respondents");
    size_t np = cx_table_nrows(t);
    double *icpt = tt_read_column(t, "intercept"), *slope = tt_read_column(t, "slope");
    double *tmember = tt_read_column(t, "panel");
    cx_table_close(t);
    /* ~5600 people: the sampling sd of a variance is ~2% of it, of the
     * covariance ~0.006 (0.2 * sqrt(2 / 5600) * ...); 5 sd bounds */
    assert_true(fabs(sample_cov(icpt, icpt, np) / v_int - 1) < 0.1);
    assert_true(fabs(sample_cov(slope, slope, np) / v_slope - 1) < 0.1);
    assert_true(fabs(sample_cov(icpt, slope, np) - c_is) < 0.015);

    t = tt_open_table(h5, "/responses");
    size_t n = cx_table_nrows(t);
    double *id = tt_read_column(t, "respondent"), *wave = tt_read_column(t, "wave");
    double *lat = tt_read_column(t, "ltr_latent");
    cx_table_close(t);
    size_t nm = (size_t)(F * P);
    double *own = calloc(nm, sizeof *own), *truth = calloc(nm, sizeof *truth);
    double xs[16], ys[16];
    size_t m = 0;
    for (size_t p = 0; p < np; p++) {
        if (!tmember[p])
            continue;
        size_t k = 0; /* this member's rows, one per wave */
        for (size_t r = 0; r < n && k < (size_t)W; r++)
            if (id[r] == p + 1)
                xs[k] = wave[r], ys[k++] = lat[r];
        assert_int_equal(k, W);
        own[m] = ls_slope(xs, ys, k);
        truth[m++] = slope[p];
    }
    assert_int_equal(m, nm);
    /* own slope = true slope + firm drift + noise of var ~ v_res / 17.5:
     * regressed on the truth its slope is 1 with se ~ 0.08 (800 members) */
    double b = ls_slope(truth, own, m);
    double se = sqrt((v_res / 17.5) / ((double)m * v_slope));
    if (fabs(b - 1) > 4 * se)
        fail_msg("member slopes on true slopes: %g (se %g)", b, se);
    free(own), free(truth), free(id), free(wave), free(lat);
    free(icpt), free(slope), free(tmember);
    remove_outputs(h5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),           cmocka_unit_test(test_shapes_and_ranges),
        cmocka_unit_test(test_deterministic),      cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_scales_recoverable), cmocka_unit_test(test_growth_slope),
        cmocka_unit_test(test_panel_layout),       cmocka_unit_test(test_panel_truth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
