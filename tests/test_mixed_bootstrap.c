/*
 * test_mixed_bootstrap.c — `model = mixed` with `bootstrap`: the cluster
 * bootstrap by group equals refitting data with the groups duplicated.
 *
 * sleepstudy, `Reaction ~ Days + (Days | Subject)`, bootstrap = 2, seed
 * 12 (both replicates regular fits; at a boundary, singular, fit theta
 * comes from Nelder-Mead alone and two equivalent computations agree to
 * ~1e-6 only, e.g. seed 11's first replicate).  With two replicates the
 * `bootstrap` table's boot_mean m and se s (divisor R - 1 = 1) give the
 * replicates' values exactly: m -/+ s/sqrt(2).
 * The test rebuilds both replicates by hand — every subject copied
 * cx_boot_count(12, r, key(subject)) times, each copy a subject of its own
 * — fits them as ordinary jobs and checks that the two fits' fixed effects
 * and variance components are those two values (1e-6 relative), for all 6
 * statistics.  Also: `bootstrap` is refused for nested designs and for a
 * bootstrap_cluster other than the grouping column (integration/mixed.sh).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "refcheck.h"
#include "resample.h"
#include "run.h"
#include "table.h"
#include "table_write.h"
#include "tabletest.h"

#define SEED 12

/* Replicate r of sleepstudy written to /rep<r> of h5. */
static void write_replicate(const char *h5, int r, cx_table *t)
{
    double *y = tt_read_column(t, "Reaction"), *x = tt_read_column(t, "Days"),
           *g = tt_read_column(t, "Subject");
    size_t n = cx_table_nrows(t), m = 0;
    for (size_t i = 0; i < n; i++)
        m += cx_boot_count(SEED, (uint64_t)r, cx_value_key(g[i]));
    double *cols[3];
    for (int k = 0; k < 3; k++)
        cols[k] = malloc((m + 1) * sizeof(double));
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = cx_boot_count(SEED, (uint64_t)r, cx_value_key(g[i]));
        for (unsigned k = 0; k < c; k++, at++) {
            cols[0][at] = y[i];
            cols[1][at] = x[i];
            cols[2][at] = g[i] * 100 + k; /* copy k: a subject of its own */
        }
    }
    char group[16];
    snprintf(group, sizeof group, "/rep%d", r);
    cx_error err = {0};
    cx_table_writer *w = cx_table_writer_alloc(h5, group, m, &err);
    assert_non_null(w);
    const char *names[3] = {"Reaction", "Days", "Subject"};
    for (int k = 0; k < 3; k++) {
        cx_column_spec spec = {.name = names[k], .kind = CX_COL_FLOAT};
        size_t idx;
        assert_int_equal(cx_table_writer_add(w, &spec, &idx, &err), CX_OK);
        assert_int_equal(cx_table_writer_write(w, idx, 0, m, cols[k], &err), CX_OK);
        free(cols[k]);
    }
    assert_int_equal(cx_table_writer_close(w, &err), CX_OK);
    free(y);
    free(x);
    free(g);
}

/* The 6 statistics of a plain fit: 2 fixed effects, 4 variance components. */
static void stats_of(ref_results *res, const char *job, double *out)
{
    cx_error err = {0};
    size_t n1, n2;
    double *b = ref_results_column_double(res, job, "estimates", "est", &n1, &err);
    double *v = ref_results_column_double(res, job, "variance_components", "vcov", &n2, &err);
    assert_non_null(b && v);
    assert_int_equal(n1, 2);
    assert_int_equal(n2, 4);
    memcpy(out, b, 2 * sizeof *out);
    memcpy(out + 2, v, 4 * sizeof *out);
    free(b);
    free(v);
}

static void test_cluster_bootstrap(void **state)
{
    (void)state;
    char dir[] = "/tmp/cx_mixedboot_XXXXXX", h5[512], ini[512], out[512], src[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(h5, sizeof h5, "%s/reps.h5", dir);
    snprintf(ini, sizeof ini, "%s/boot.ini", dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    snprintf(src, sizeof src, "%s/datasets/sleepstudy.h5", CX_SOURCE_DIR);
    cx_error err = {0};
    cx_table *t = cx_table_open(src, "/data", &err);
    assert_non_null(t);
    write_replicate(h5, 0, t);
    write_replicate(h5, 1, t);
    cx_table_close(t);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    const char *formula = "Reaction ~ Days + (Days | Subject)";
    fprintf(f,
            "[data]\nfile = %s\ntable = /data\n\n[job boot]\nmodel = mixed\nformula = %s\n"
            "bootstrap = 2\nseed = %d\n\n",
            src, formula, SEED);
    for (int r = 0; r < 2; r++)
        fprintf(f, "[job rep%d]\nmodel = mixed\nfile = reps.h5\ntable = /rep%d\nformula = %s\n\n",
                r, r, formula);
    fclose(f);
    ref_results *res = tt_run_to(ini, out);
    double fit[2][6];
    stats_of(res, "rep0", fit[0]);
    stats_of(res, "rep1", fit[1]);
    size_t n, n2, n3;
    double *mean = ref_results_column_double(res, "boot", "bootstrap", "boot_mean", &n, &err);
    double *se = ref_results_column_double(res, "boot", "bootstrap", "se", &n2, &err);
    double *bse = ref_results_column_double(res, "boot", "estimates", "se", &n3, &err);
    assert_non_null(mean && se && bse);
    assert_int_equal(n, 6);
    ref_report rep;
    ref_report_init(&rep, "mixed_bootstrap", "refit");
    for (size_t k = 0; k < 6; k++) {
        double d = se[k] / sqrt(2.0), hi = mean[k] + d, lo = mean[k] - d;
        int order = fabs(fit[0][k] - hi) < fabs(fit[0][k] - lo); /* which replicate is higher */
        char what[64];
        snprintf(what, sizeof what, "statistic %zu, replicate 0", k);
        ref_report_check(&rep, what, fit[0][k], order ? hi : lo, 1e-6, 1e-9);
        snprintf(what, sizeof what, "statistic %zu, replicate 1", k);
        ref_report_check(&rep, what, fit[1][k], order ? lo : hi, 1e-6, 1e-9);
    }
    /* the estimates table carries the bootstrap SEs */
    ref_report_check(&rep, "estimates.se[0]", bse[0], se[0], 1e-12, 0);
    ref_report_check(&rep, "estimates.se[1]", bse[1], se[1], 1e-12, 0);
    ref_report_require(&rep, 14);
    if (rep.n_failed)
        fputs(ref_report_text(&rep), stderr);
    int failed = rep.n_failed;
    ref_report_free(&rep);
    free(mean);
    free(se);
    free(bse);
    ref_results_close(res);
    unlink(out);
    unlink(h5);
    unlink(ini);
    rmdir(dir);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cluster_bootstrap)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
