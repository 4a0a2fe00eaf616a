/*
 * test_logit_bootstrap.c — `bootstrap` of logit, ologit and mlogit checked
 * exactly against replicates fitted by hand.
 *
 * The test copies bfi's columns into a new table and adds two weight
 * columns, c1 and c2: each row's Poisson(1) count in replicates 0 and 1
 * (cx_boot_count(seed, replicate, table row): the engine's replicate
 * weights).  A job with `bootstrap = 2` must then report, for every
 * estimate, boot_mean = (t1 + t2) / 2 and se = |t1 - t2| / sqrt(2) (sd with
 * divisor R - 1), where t1 and t2 are the estimates of the same model
 * fitted with `weights = c1` and `weights = c2` — the replicates by hand.
 * Agreement is to 1e-7 relative (two Newton runs from different starts,
 * each converged to 1e-8 in the step).  Also: `bootstrap_cluster` draws
 * one count per unit (every row of a unit weighted alike), checked the
 * same way with counts keyed by the unit's value.
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
#include "view.h"

#define SEED 11
#define N_COLS 9

static const char *const cols[N_COLS] = {"gender", "education", "A1", "A2", "C1",
                                         "E1",     "N1",        "O1", "age"};

/* bfi's columns plus c1, c2 (row counts) and u1, u2 (education-unit
 * counts) into dir/t.h5:/data. */
static void make_table(const char *path)
{
    cx_error err = {0};
    char src[1024];
    snprintf(src, sizeof src, "%s/datasets/bfi.h5", CX_SOURCE_DIR);
    cx_table *t = cx_table_open(src, "/data", &err);
    if (!t)
        fail_msg("%s: %s", src, err.msg);
    int idx[N_COLS];
    for (int c = 0; c < N_COLS; c++)
        assert_true((idx[c] = (int)cx_table_find(t, cols[c])) >= 0);
    cx_view v;
    cx_view_init(&v, t, NULL);
    size_t ld = cx_view_block_rows(&v), n = cx_table_nrows(t);
    assert_true(n <= ld); /* one block */
    double *block = malloc(ld * N_COLS * sizeof *block);
    cx_view_iter it;
    assert_int_equal(cx_view_iter_begin(&it, &v, idx, N_COLS, &err), CX_OK);
    assert_int_equal(cx_view_iter_next(&it, block, NULL, &err), (long)n);
    cx_view_iter_end(&it);
    cx_table_writer *w = cx_table_writer_alloc(path, "/data", n, &err);
    assert_non_null(w);
    double *c = malloc(n * sizeof *c);
    for (int k = 0; k < N_COLS + 4; k++) {
        char name[16];
        snprintf(name, sizeof name, "%s%d", k < N_COLS + 2 ? "c" : "u", (k - N_COLS) % 2 + 1);
        cx_column_spec spec = {.name = k < N_COLS ? cols[k] : name, .kind = CX_COL_FLOAT};
        size_t at;
        assert_int_equal(cx_table_writer_add(w, &spec, &at, &err), CX_OK);
        const double *values = k < N_COLS ? block + (size_t)k * ld : c;
        if (k >= N_COLS) {
            uint64_t rep = (uint64_t)((k - N_COLS) % 2);
            for (size_t i = 0; i < n; i++) {
                const double edu = block[1 * ld + i];
                uint64_t key = k < N_COLS + 2 ? (uint64_t)i : cx_value_key(edu);
                c[i] = cx_boot_count(SEED, rep, key);
                if (k >= N_COLS + 2 && isnan(edu))
                    c[i] = NAN; /* no unit: the bootstrap job drops the row too */
            }
        }
        assert_int_equal(cx_table_writer_write(w, at, 0, n, values, &err), CX_OK);
    }
    assert_int_equal(cx_table_writer_close(w, &err), CX_OK);
    free(c);
    free(block);
    cx_table_close(t);
}

/* One family: the bootstrap job and the two weighted fits by hand. */
typedef struct family {
    const char *model, *formula;
    int cluster; /* bootstrap_cluster = education (counts u1, u2) */
} family;

static void write_config(const char *ini, const char *data, const family *f)
{
    FILE *fp = fopen(ini, "w");
    assert_non_null(fp);
    fprintf(fp, "[data]\nfile = %s\ntable = /data\n\n", data);
    fprintf(fp, "[job boot]\nmodel = %s\nformula = %s\nbootstrap = 2\nseed = %d\n%s\n", f->model,
            f->formula, SEED, f->cluster ? "bootstrap_cluster = education\n" : "");
    for (int r = 1; r <= 2; r++)
        fprintf(fp, "[job r%d]\nmodel = %s\nformula = %s\nweights = %s%d\n\n", r, f->model,
                f->formula, f->cluster ? "u" : "c", r);
    fclose(fp);
}

static int check_family(const char *dir, const char *data, const family *f)
{
    char ini[1024], out[1024];
    snprintf(ini, sizeof ini, "%s/%s.ini", dir, f->model);
    snprintf(out, sizeof out, "%s/%s.h5", dir, f->model);
    write_config(ini, data, f);
    cx_error err = {0};
    cx_run_options opt = {.config_path = ini, .output_path = out, .threads = 2, .quiet = 1};
    if (cx_run(&opt, &err) != 0)
        fail_msg("cx_run %s: %s", ini, err.msg);
    ref_results *res = ref_results_open(out, &err);
    assert_non_null(res);
    size_t nb, n1, n2, nm;
    double *se = ref_results_column_double(res, "boot", "bootstrap", "se", &nb, &err);
    double *mean = ref_results_column_double(res, "boot", "bootstrap", "boot_mean", &nm, &err);
    double *t1 = ref_results_column_double(res, "r1", "estimates", "est", &n1, &err);
    double *t2 = ref_results_column_double(res, "r2", "estimates", "est", &n2, &err);
    assert_non_null(se);
    assert_non_null(t1);
    assert_non_null(t2);
    assert_int_equal(n1, n2);
    assert_int_equal(nb, n1); /* nothing aliased: a bootstrap row per estimate */
    ref_report rep;
    ref_report_init(&rep, f->model, "replicates fitted by hand");
    for (size_t i = 0; i < nb; i++) {
        char what[64];
        snprintf(what, sizeof what, "boot_mean[%zu]", i);
        ref_report_check(&rep, what, mean[i], (t1[i] + t2[i]) / 2, 1e-7, 1e-9);
        snprintf(what, sizeof what, "se[%zu]", i);
        ref_report_check(&rep, what, se[i], fabs(t1[i] - t2[i]) / sqrt(2.0), 1e-6, 1e-9);
    }
    ref_report_require(&rep, (int)(2 * nb));
    printf("%s%s: %d values compared, %d mismatches\n", f->model,
           f->cluster ? " (bootstrap_cluster)" : "", rep.n_checked, rep.n_failed);
    if (rep.n_failed)
        fputs(ref_report_text(&rep), stderr);
    int failed = rep.n_failed;
    ref_report_free(&rep);
    free(se);
    free(mean);
    free(t1);
    free(t2);
    ref_results_close(res);
    unlink(out);
    unlink(ini);
    return failed;
}

static void test_replicates_by_hand(void **state)
{
    (void)state;
    char dir[] = "/tmp/cx_lgboot_XXXXXX", data[512];
    assert_non_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/t.h5", dir);
    make_table(data);
    static const family fams[] = {
        {"logit", "factor(gender) ~ A1 + C1 + E1 + N1 + O1 + age", 0},
        {"logit", "factor(gender) ~ A1 + C1 + E1 + age", 1},
        {"ologit", "factor(E1) ~ A1 + C1 + N1 + age + factor(gender)", 0},
        {"mlogit", "factor(education) ~ A1 + C1 + age + factor(gender)", 0},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        failed += check_family(dir, data, &fams[i]);
    unlink(data);
    rmdir(dir);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicates_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
