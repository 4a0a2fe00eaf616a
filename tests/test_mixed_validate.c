/*
 * test_mixed_validate.c — `validate` for `model = mixed`.
 *
 * holdout: configs/reference/mixed_validate.ini against
 * tests/reference/mixed_validate_lme4.json (scripts/make_mixed_refs.R):
 * lme4 fitted on the training rows of sleepstudy, predict(fit, newdata =
 * heldout, allow.new.levels = TRUE) on the held-out rows (Days >= 8 or
 * Subject 372, a subject the training never sees, so its BLUPs are 0), and
 * Penicillin's crossed (1 | plate) + (1 | sample) holding out diameter >= 25
 * (new cells whose plate and sample were seen: CHOLMOD path, level lookup);
 * n_train, n_test, RMSE and R^2 of the held-out rows, 1e-6 relative (both
 * fits' theta are polished to ~1e-9, see test_mixed_reference.c).
 *
 * kfold: every row is held out exactly once (the folds' n_test sum to N,
 * and n_train + n_test = N in each fold), and the mean row is the mean of
 * the folds.
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

#define RTOL 1e-6

/* Value of (split, metric) in /job/validation; NaN when absent. */
static double vvalue(ref_results *res, const char *job, const char *split, const char *metric)
{
    cx_error err = {0};
    size_t n = 0, n2 = 0, n3 = 0;
    char **s = ref_results_column_strings(res, job, "validation", "split", &n, &err);
    char **m = ref_results_column_strings(res, job, "validation", "metric", &n2, &err);
    double *v = ref_results_column_double(res, job, "validation", "value", &n3, &err);
    double out = NAN;
    for (size_t i = 0; s && m && v && i < n; i++)
        if (strcmp(s[i], split) == 0 && strcmp(m[i], metric) == 0)
            out = v[i];
    ref_strings_free(s, s ? n : 0);
    ref_strings_free(m, m ? n2 : 0);
    free(v);
    return out;
}

static void test_holdout_lme4(void **state)
{
    (void)state;
    char ini[1024], dir[] = "/tmp/cx_mixedval_XXXXXX", out[512];
    snprintf(ini, sizeof ini, "%s/configs/reference/mixed_validate.ini", CX_SOURCE_DIR);
    json_value *ref = tt_reference_json("mixed_validate_lme4");
    ref_results *res = tt_run_config(ini, dir, out, sizeof out);
    size_t ncases = json_object_len(ref);
    assert_int_equal(ncases, 3);
    int failed = 0, total = 0;
    for (size_t k = 0; k < ncases; k++) {
        const json_value *c = json_object_value(ref, k);
        const char *job = json_object_key(ref, k);
        ref_report rep;
        ref_report_init(&rep, job, "lme4 predict(allow.new.levels = TRUE)");
        static const char *const m[] = {"n_train", "n_test", "rmse", "r2"};
        for (size_t i = 0; i < 4; i++) {
            char what[256];
            snprintf(what, sizeof what, "%s: holdout %s", job, m[i]);
            ref_report_check_field(&rep, what, vvalue(res, job, "holdout", m[i]), c, m[i], RTOL, 0);
        }
        ref_report_require(&rep, 4);
        total += rep.n_checked;
        failed += ref_report_finish(&rep);
    }
    fprintf(stderr, "mixed_validate: %d values compared in %zu cases\n", total, ncases);
    ref_results_close(res);
    json_free(ref);
    unlink(out);
    rmdir(dir);
    assert_int_equal(failed, 0);
}

static void test_kfold_covers_rows(void **state)
{
    (void)state;
    char dir[] = "/tmp/cx_mixedkf_XXXXXX", ini[512], out[512];
    assert_non_null(mkdtemp(dir));
    snprintf(ini, sizeof ini, "%s/kf.ini", dir);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fprintf(f,
            "[data]\nfile = %s/datasets/sleepstudy.h5\ntable = /data\n\n"
            "[job kf]\nmodel = mixed\nformula = Reaction ~ Days + (Days | Subject)\n"
            "validate = kfold(5)\nseed = 7\n",
            CX_SOURCE_DIR);
    fclose(f);
    char dir2[] = "/tmp/cx_mixedkf2_XXXXXX";
    ref_results *res = tt_run_config(ini, dir2, out, sizeof out);
    double n_test = 0, rmse = 0;
    for (int k = 1; k <= 5; k++) {
        char split[16];
        snprintf(split, sizeof split, "fold%d", k);
        double tr = vvalue(res, "kf", split, "n_train"), te = vvalue(res, "kf", split, "n_test");
        double r = vvalue(res, "kf", split, "rmse");
        assert_true(te > 0);
        assert_true(tr + te == 180);
        assert_true(isfinite(r) && r > 0);
        assert_true(isfinite(vvalue(res, "kf", split, "r2")));
        n_test += te;
        rmse += r;
    }
    assert_true(n_test == 180); /* every row held out exactly once */
    assert_true(fabs(vvalue(res, "kf", "mean", "rmse") - rmse / 5) < 1e-9 * rmse);
    ref_results_close(res);
    unlink(out);
    rmdir(dir2);
    unlink(ini);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_holdout_lme4),
                                       cmocka_unit_test(test_kfold_covers_rows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
