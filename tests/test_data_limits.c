/*
 * test_data_limits.c — the data layer against hostile and extreme input
 * (issue 12, items 8, 9 and 14):
 *
 *  - weights: an infinite weight fails nps and the statistics pass (cfa,
 *    sem) naming the column, the value and the table row; NaN weights drop
 *    their row; nps gives the same answer for weights 1 and 1e308 and is
 *    exact for weights spanning 1e-300..1e300; the statistics pass refuses
 *    weights outside 1e-150..1e150 instead of overflowing;
 *  - big integers: an int64/uint64 `missing_value` is compared in the
 *    column's type (2^53 + 1 no longer hides 2^53 and 2^53 + 2), values
 *    near 2^62 keep their spread in cx_stats_compute and describe;
 *  - resources and layouts: `by` levels above CX_MAX_LEVELS are refused
 *    with the count found; block buffers follow the table's length; a
 *    resizable column declaring 2^40 rows never written, a 2-D, 0-D,
 *    enum, compound or badly attributed dataset make only that column
 *    unusable, and using it is an error naming it and why.
 *
 * Fixtures are written with tests/support/h5fixture.c.
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

#include "h5fixture.h"
#include "model.h"

extern const cx_model cx_model_nps;
extern const cx_model cx_model_describe;

#define FILE_LAYOUT CX_BINARY_DIR "/test_data_limits_layout.h5"
#define FILE_BIGINT CX_BINARY_DIR "/test_data_limits_bigint.h5"

#define TWO53 9007199254740992LL         /* 2^53 */
#define TWO62 4611686018427387904LL      /* 2^62 */
#define TWO63U 9223372036854775808ULL    /* 2^63 */

static void expect_msg(const cx_error *err, const char *needle)
{
    if (!strstr(err->msg, needle))
        fail_msg("message '%s' lacks '%s'", err->msg, needle);
}

/* ---- running a model on a view, as the engine does ------------------------- */

typedef struct model_run {
    cx_config *config;
    cx_view view;
    cx_job job;
    cx_result *results[2];
    int rc;
    cx_error err;
} model_run;

static void run_model(model_run *run, const cx_model *model, cx_table *t, const char *text,
                      const char *weights)
{
    memset(run, 0, sizeof *run);
    run->config = cx_config_parse_string(text, "t.ini", &run->err);
    assert_non_null(run->config);
    cx_view_init(&run->view, t, NULL);
    run->job.name = run->config->jobs[0].name;
    run->job.config = run->config;
    run->job.section = &run->config->jobs[0];
    run->job.view = &run->view;
    run->job.weight_col = weights ? cx_table_find(t, weights) : -1;
    run->job.level = 0.95;
    run->results[0] = cx_result_alloc(0.95, &run->err);
    run->rc = model->check(&run->job, &run->err);
    if (run->rc == CX_OK)
        run->rc = model->fit(&run->job, run->results, &run->err);
}

static void run_free(model_run *run)
{
    cx_result_free(run->results[0]);
    cx_view_free(&run->view);
    cx_config_free(run->config);
}

static double cell(const cx_result *r, const char *table, const char *col, size_t row)
{
    cx_rtable *t = cx_result_find_table(r, table);
    assert_non_null(t);
    int c = cx_rtable_find_column(t, col);
    assert_true(c >= 0);
    return t->cols[c].type == CX_RCOL_INT ? (double)t->cols[c].i[row] : t->cols[c].d[row];
}

static cx_table *memory_table(size_t n, const char *const *names, const double *const *cols,
                              size_t ncols)
{
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("mem:/t", n, &err);
    assert_non_null(t);
    for (size_t j = 0; j < ncols; j++)
        assert_int_equal(
            cx_table_memory_add_column(t, names[j], CX_COL_FLOAT, cols[j], NULL, 0, &err), CX_OK);
    return t;
}

/* ---- item 8: weights in nps ------------------------------------------------- */

#define NPS_ROWS 12
static const double nps_scores[NPS_ROWS] = {10, 9, 9, 8, 7, 6, 5, 0, 10, 3, 9, 8};

static cx_table *nps_table(const double *w)
{
    const char *names[2] = {"ltr", "w"};
    const double *cols[2] = {nps_scores, w};
    return memory_table(NPS_ROWS, names, cols, 2);
}

static const char *nps_job = "[job n]\nmodel = nps\nscore = ltr\n";

static void nps_expect_failure(const double *w, const char *n1, const char *n2)
{
    model_run run;
    cx_table *t = nps_table(w);
    run_model(&run, &cx_model_nps, t, nps_job, "w");
    assert_int_equal(run.rc, CX_EUSAGE);
    expect_msg(&run.err, "weight column 'w'");
    expect_msg(&run.err, n1);
    expect_msg(&run.err, n2);
    run_free(&run);
    cx_table_close(t);
}

static void test_nps_nonfinite_weight_fails_with_row(void **state)
{
    (void)state;
    double w[NPS_ROWS];
    for (size_t i = 0; i < NPS_ROWS; i++)
        w[i] = 1;
    w[6] = INFINITY;
    nps_expect_failure(w, "not finite", "row 7 ");
    w[6] = -INFINITY;
    nps_expect_failure(w, "negative", "row 7 ");
    /* a missing weight still drops its row (the documented rule) */
    w[6] = NAN;
    model_run run;
    cx_table *t = nps_table(w);
    run_model(&run, &cx_model_nps, t, nps_job, "w");
    assert_int_equal(run.rc, CX_OK);
    assert_true(cell(run.results[0], "nps", "n", 0) == NPS_ROWS - 1);
    run_free(&run);
    cx_table_close(t);
}

/* NPS, se, n_eff and shares of a run, for comparisons. */
static void nps_values(const double *w, double out[5])
{
    model_run run;
    cx_table *t = nps_table(w);
    run_model(&run, &cx_model_nps, t, nps_job, "w");
    assert_int_equal(run.rc, CX_OK);
    const char *cols[5] = {"nps", "se", "n_eff", "promoters", "detractors"};
    for (size_t k = 0; k < 5; k++) {
        out[k] = cell(run.results[0], "nps", cols[k], 0);
        assert_true(isfinite(out[k]));
    }
    run_free(&run);
    cx_table_close(t);
}

static void test_nps_huge_weights_scale_away(void **state)
{
    (void)state;
    double ones[NPS_ROWS], huge[NPS_ROWS], mixed[NPS_ROWS], ref[5], got[5];
    for (size_t i = 0; i < NPS_ROWS; i++) {
        ones[i] = 1;
        huge[i] = 1e308;
        mixed[i] = i % 2 ? 1e308 : 5e307;
    }
    nps_values(ones, ref);
    nps_values(huge, got);
    for (size_t k = 0; k < 5; k++)
        assert_true(fabs(got[k] - ref[k]) <= 1e-12 * fabs(ref[k]));
    /* weights 1 and 2 are weights 5e307 and 1e308 */
    for (size_t i = 0; i < NPS_ROWS; i++)
        ones[i] = i % 2 ? 2 : 1;
    nps_values(ones, ref);
    nps_values(mixed, got);
    for (size_t k = 0; k < 5; k++)
        assert_true(fabs(got[k] - ref[k]) <= 1e-12 * fabs(ref[k]));
}

static void test_nps_weights_spanning_600_decades(void **state)
{
    (void)state;
    /* rows 0-3 (10 9 9 8) weigh 1e300, the rest 1e-300: the answer is that
     * of the four heavy rows to double precision (3 promoters, 1 passive),
     * and n_eff is 4; the first weight seen is the smallest, so the sums
     * are rescaled on the way. */
    double w[NPS_ROWS], got[5];
    for (size_t i = 0; i < NPS_ROWS; i++)
        w[i] = i < 4 ? 1e300 : 1e-300;
    w[0] = 1e-300; /* row 0 light too: heavy rows are 9 9 8 (2 P, 1 passive) */
    nps_values(w, got);
    assert_true(fabs(got[0] - 100.0 * 2 / 3) < 1e-12);
    assert_true(fabs(got[2] - 3) < 1e-12);
    assert_true(fabs(got[3] - 100.0 * 2 / 3) < 1e-12);
    assert_true(got[4] == 0);
    double pp = 2.0 / 3, se = 100 * sqrt((pp - pp * pp) / 3);
    assert_true(fabs(got[1] - se) < 1e-9);
}

/* ---- item 8: weights in the statistics pass (cfa, sem) ----------------------- */

static int stats_pass(cx_table *t, const char *where, int by, cx_moments **m, cx_error *err)
{
    cx_view v;
    cx_view_init(&v, t, NULL);
    cx_filter *f = NULL;
    if (where) {
        f = cx_filter_parse(where, t, err);
        assert_non_null(f);
        v.where = f;
    }
    if (by) {
        int g = cx_table_find(t, "g");
        assert_int_equal(cx_view_set_groups(&v, &g, 1, err), CX_OK);
    }
    int x = cx_table_find(t, "x");
    int rc = cx_stats_compute(&v, &x, 1, cx_table_find(t, "w"), CX_MISSING_LISTWISE, m, err);
    cx_view_free(&v);
    cx_filter_free(f);
    return rc;
}

static void test_stats_weights_named_with_row(void **state)
{
    (void)state;
    enum { N = 70000 }; /* two blocks: the row is found in the second */
    double *x = malloc(N * sizeof *x), *w = malloc(N * sizeof *w), *g = malloc(N * sizeof *g);
    for (size_t i = 0; i < N; i++) {
        x[i] = (double)(i % 7);
        w[i] = 1 + (double)(i % 3);
        g[i] = (double)(i % 2);
    }
    w[68000] = INFINITY; /* table row 68001 */
    const char *names[3] = {"x", "w", "g"};
    const double *cols[3] = {x, w, g};
    cx_table *t = memory_table(N, names, cols, 3);
    cx_error err = {0};
    cx_moments *m[2] = {NULL, NULL};
    assert_int_equal(stats_pass(t, NULL, 0, m, &err), CX_EUSAGE);
    expect_msg(&err, "weight column 'w'");
    expect_msg(&err, "inf");
    expect_msg(&err, "row 68001 ");
    /* with a filter dropping rows before it and by levels regrouping rows,
     * the row named is still the table's */
    memset(&err, 0, sizeof err);
    assert_int_equal(stats_pass(t, "x != 3", 1, m, &err), CX_EUSAGE);
    expect_msg(&err, "row 68001 ");
    cx_table_close(t);

    w[68000] = 1e200; /* finite, but sums of w (x - mean)^2 could overflow */
    t = memory_table(N, names, cols, 3);
    memset(&err, 0, sizeof err);
    assert_int_equal(stats_pass(t, NULL, 0, m, &err), CX_EUSAGE);
    expect_msg(&err, "rescale");
    expect_msg(&err, "row 68001 ");
    cx_table_close(t);

    w[68000] = NAN; /* missing: the row is dropped */
    t = memory_table(N, names, cols, 3);
    assert_int_equal(stats_pass(t, NULL, 0, m, &err), CX_OK);
    assert_true(m[0]->n_rows == N - 1);
    cx_moments_free(m[0]);
    cx_table_close(t);
    free(x);
    free(w);
    free(g);
}

/* ---- item 9: integer missing values and big integers ------------------------ */

static void write_bigint_file(void)
{
    hid_t f = fx_create(FILE_BIGINT);
    assert_true(f >= 0);
    hid_t g = fx_group(f, "/t", 1);
    int64_t mv_i[4] = {TWO53, TWO53 + 1, TWO53 + 2, 5};
    uint64_t mv_u[4] = {UINT64_MAX, TWO63U + 1, TWO63U, TWO63U + 2};
    assert_int_equal(fx_column(g, "i64", H5T_STD_I64LE, H5T_NATIVE_INT64, mv_i, 4, 0), 0);
    assert_int_equal(fx_attr_int64(g, "i64", "missing_value", H5T_STD_I64LE, TWO53 + 1), 0);
    assert_int_equal(fx_column(g, "u64", H5T_STD_U64LE, H5T_NATIVE_UINT64, mv_u, 4, 0), 0);
    assert_int_equal(fx_attr_uint64(g, "u64", "missing_value", H5T_STD_U64LE, TWO63U + 1), 0);
    /* values near 2^62 (and -2^62, and 2^63 + 2^62 unsigned): spread 1..4 */
    int64_t big[4] = {TWO62 + 1, TWO62 + 2, TWO62 + 3, TWO62 + 4};
    int64_t neg[4] = {-TWO62 - 1, -TWO62 - 2, -TWO62 - 3, -TWO62 - 4};
    uint64_t ubig[4] = {TWO63U + TWO62 + 1, TWO63U + TWO62 + 2, TWO63U + TWO62 + 3,
                        TWO63U + TWO62 + 4};
    assert_int_equal(fx_column(g, "big", H5T_STD_I64LE, H5T_NATIVE_INT64, big, 4, 0), 0);
    assert_int_equal(fx_column(g, "neg", H5T_STD_I64LE, H5T_NATIVE_INT64, neg, 4, 0), 0);
    assert_int_equal(fx_column(g, "ubig", H5T_STD_U64LE, H5T_NATIVE_UINT64, ubig, 4, 0), 0);
    int64_t near53[4] = {TWO53 - 1, TWO53, TWO53 + 1, TWO53 + 2}; /* crosses 2^53 */
    assert_int_equal(fx_column(g, "near53", H5T_STD_I64LE, H5T_NATIVE_INT64, near53, 4, 0), 0);
    /* missing values that are not values of the column's type */
    uint8_t small[4] = {1, 2, 3, 4};
    assert_int_equal(fx_column(g, "u8neg", H5T_STD_U8LE, H5T_NATIVE_UINT8, small, 4, 0), 0);
    assert_int_equal(fx_attr_number(g, "u8neg", "missing_value", H5T_STD_I16LE, -1), 0);
    assert_int_equal(fx_column(g, "u8frac", H5T_STD_U8LE, H5T_NATIVE_UINT8, small, 4, 0), 0);
    assert_int_equal(fx_attr_number(g, "u8frac", "missing_value", H5T_NATIVE_DOUBLE, 2.5), 0);
    assert_int_equal(fx_column(g, "u8float", H5T_STD_U8LE, H5T_NATIVE_UINT8, small, 4, 0), 0);
    assert_int_equal(fx_attr_number(g, "u8float", "missing_value", H5T_NATIVE_DOUBLE, 3.0), 0);
    H5Gclose(g);
    H5Fclose(f);
}

static void read_column(cx_table *t, const char *name, double *out, int code, cx_error *err)
{
    int c = cx_table_find(t, name);
    assert_true(c >= 0);
    assert_int_equal(cx_table_read_block(t, &c, 1, 0, 4, out, 4, err), code);
}

static void test_int64_missing_value_exact(void **state)
{
    (void)state;
    write_bigint_file();
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_BIGINT, "/t", &err);
    assert_non_null(t);
    double x[4];
    read_column(t, "i64", x, CX_OK, &err);
    assert_true(x[0] == (double)TWO53 && isnan(x[1]) && x[2] == (double)(TWO53 + 2) && x[3] == 5);
    read_column(t, "u64", x, CX_OK, &err);
    assert_true(!isnan(x[0]) && isnan(x[1]) && !isnan(x[2]) && !isnan(x[3]));
    read_column(t, "u8float", x, CX_OK, &err); /* 3.0 is the uint8 value 3 */
    assert_true(x[0] == 1 && x[1] == 2 && isnan(x[2]) && x[3] == 4);
    read_column(t, "u8neg", x, CX_EUSAGE, &err);
    expect_msg(&err, "'u8neg'");
    expect_msg(&err, "outside the range of its uint8 type");
    read_column(t, "u8frac", x, CX_EUSAGE, &err);
    expect_msg(&err, "2.5, not a value of its integer type");
    cx_table_close(t);
}

static void test_big_integers_keep_their_spread(void **state)
{
    (void)state;
    write_bigint_file();
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_BIGINT, "/t", &err);
    assert_non_null(t);
    const char *names[4] = {"big", "neg", "ubig", "near53"};
    const double centre[4] = {(double)TWO62 + 2.5, -(double)TWO62 - 2.5,
                              (double)TWO63U + (double)TWO62 + 2.5, (double)TWO53 + 0.5};
    cx_view v;
    cx_view_init(&v, t, NULL);
    for (size_t k = 0; k < 4; k++) {
        int c = cx_table_find(t, names[k]);
        cx_moments *m = NULL;
        assert_int_equal(cx_stats_compute(&v, &c, 1, -1, CX_MISSING_LISTWISE, &m, &err), CX_OK);
        double var;
        cx_moments_covariance(m, 1.0, &var);
        assert_true(fabs(var - 5.0 / 3) < 1e-12); /* var of 1 2 3 4 */
        assert_true(m->mean[0] == centre[k]);     /* rounded once, to the double */
        cx_moments_free(m);
    }
    /* describe: sd, range, mad from the relative values, locations shifted back */
    model_run run;
    run_model(&run, &cx_model_describe, t,
              "[job d]\nmodel = describe\nitems = big neg ubig near53\n", NULL);
    assert_int_equal(run.rc, CX_OK);
    for (size_t k = 0; k < 4; k++) {
        assert_true(fabs(cell(run.results[0], "items", "sd", k) - sqrt(5.0 / 3)) < 1e-12);
        assert_true(cell(run.results[0], "items", "range", k) == 3);
        assert_true(cell(run.results[0], "items", "mean", k) == centre[k]);
        assert_true(cell(run.results[0], "items", "median", k) == centre[k]);
    }
    run_free(&run);
    /* a filter on the column still compares the values themselves */
    cx_filter *f = cx_filter_parse("big > 4611686018427387000", t, &err);
    assert_non_null(f);
    v.where = f;
    int c = cx_table_find(t, "big");
    cx_moments *m = NULL;
    assert_int_equal(cx_stats_compute(&v, &c, 1, -1, CX_MISSING_LISTWISE, &m, &err), CX_OK);
    assert_true(m->n_rows == 4);
    cx_moments_free(m);
    cx_filter_free(f);
    cx_table_close(t);
}

/* ---- item 14: layouts ------------------------------------------------------- */

static void write_layout_file(void)
{
    hid_t f = fx_create(FILE_LAYOUT);
    assert_true(f >= 0);
    double x[4] = {1, 2, 3, 4}, m[8] = {0};
    hid_t g = fx_group(f, "/mixed", 1);
    assert_int_equal(fx_matrix(g, "m2d", m, 4, 2), 0); /* first: sets no length */
    assert_int_equal(fx_column(g, "x", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 4, 0), 0);
    assert_int_equal(fx_scalar(g, "s0d", 1.0), 0);
    hid_t et = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t fv = 0, tv = 1;
    H5Tenum_insert(et, "FALSE", &fv);
    H5Tenum_insert(et, "TRUE", &tv);
    int8_t b[4] = {0, 1, 1, 0};
    assert_int_equal(fx_column(g, "flag", et, et, b, 4, 0), 0);
    H5Tclose(et);
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(double));
    H5Tinsert(ct, "v", 0, H5T_NATIVE_DOUBLE);
    assert_int_equal(fx_column(g, "rec", ct, ct, x, 4, 0), 0);
    H5Tclose(ct);
    const char *txt[4] = {"a", "b", "c", "d"};
    assert_int_equal(fx_string_column(g, "txt", txt, 4), 0);
    assert_int_equal(fx_column(g, "badmv", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 4, 0), 0);
    const char *lab[1] = {"a"};
    assert_int_equal(fx_attr_strings(g, "badmv", "missing_value", lab, 1, 1), 0);
    H5Gclose(g);
    /* a resizable column declaring 2^40 rows, never written */
    g = fx_group(f, "/huge", 1);
    assert_int_equal(fx_declared_column(g, "y", (size_t)1 << 40, 0, 65536), 0);
    H5Gclose(g);
    /* 2^25 rows declared, one chunk of 65536 written: refused; a sparse
     * column of 200,000 rows with 65536 written is a valid layout (fill) */
    g = fx_group(f, "/sparse", 1);
    assert_int_equal(fx_declared_column(g, "y", (size_t)1 << 25, 65536, 65536), 0);
    H5Gclose(g);
    g = fx_group(f, "/fill", 1);
    assert_int_equal(fx_declared_column(g, "y", 200000, 65536, 65536), 0);
    H5Gclose(g);
    /* 1-D columns of unequal length after a 2-D one */
    g = fx_group(f, "/unequal", 1);
    assert_int_equal(fx_matrix(g, "m2d", m, 4, 2), 0);
    assert_int_equal(fx_column(g, "a", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 4, 0), 0);
    assert_int_equal(fx_column(g, "b", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 3, 0), 0);
    H5Gclose(g);
    H5Fclose(f);
}

static void expect_unusable(cx_table *t, const char *col, const char *why)
{
    cx_error err = {0};
    int c = cx_table_find(t, col);
    assert_true(c >= 0);
    double out[4];
    assert_int_equal(cx_table_read_block(t, &c, 1, 0, cx_table_nrows(t) < 4 ? cx_table_nrows(t) : 4,
                                         out, 4, &err),
                     CX_EUSAGE);
    expect_msg(&err, why);
    char quoted[CX_NAME_MAX + 2];
    snprintf(quoted, sizeof quoted, "'%s'", col);
    expect_msg(&err, quoted);
    /* and through a job's keys, as `cxfit check` resolves them */
    cx_view v;
    cx_view_init(&v, t, NULL);
    char *name = (char *)col;
    assert_int_equal(cx_view_columns(&v, &name, 1, &c, &err), CX_EUSAGE);
    expect_msg(&err, quoted);
}

static void test_unusable_columns_only_when_used(void **state)
{
    (void)state;
    write_layout_file();
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_LAYOUT, "/mixed", &err);
    assert_non_null(t);
    assert_int_equal(cx_table_nrows(t), 4);
    int x = cx_table_find(t, "x");
    double out[4];
    assert_int_equal(cx_table_read_block(t, &x, 1, 0, 4, out, 4, &err), CX_OK);
    assert_true(out[3] == 4);
    expect_unusable(t, "m2d", "2 dimensions");
    expect_unusable(t, "s0d", "scalar (0-D dataset)");
    expect_unusable(t, "flag", "an enum (e.g. a bool)");
    expect_unusable(t, "rec", "a compound");
    expect_unusable(t, "txt", "strings");
    expect_unusable(t, "badmv", "'missing_value' must be one number");
    /* a job using only x runs; one using the enum fails at check, naming it */
    model_run run;
    run_model(&run, &cx_model_describe, t, "[job d]\nmodel = describe\nitems = x\n", NULL);
    assert_int_equal(run.rc, CX_OK);
    run_free(&run);
    run_model(&run, &cx_model_describe, t, "[job d]\nmodel = describe\nitems = x flag\n", NULL);
    assert_int_equal(run.rc, CX_EUSAGE);
    expect_msg(&run.err, "'flag'");
    expect_msg(&run.err, "enum");
    run_free(&run);
    cx_table_close(t);

    assert_null(cx_table_open(FILE_LAYOUT, "/unequal", &err));
    expect_msg(&err, "column 'b' has 3 rows but column 'a' has 4");
}

static void test_declared_rows_never_written(void **state)
{
    (void)state;
    write_layout_file();
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_LAYOUT, "/huge", &err);
    assert_non_null(t); /* opening is instant: nothing is read */
    expect_unusable(t, "y", "declares 1099511627776 rows but only 0 were ever written");
    cx_table_close(t);
    t = cx_table_open(FILE_LAYOUT, "/sparse", &err);
    assert_non_null(t);
    expect_unusable(t, "y", "declares 33554432 rows but only 65536 were ever written");
    cx_table_close(t);
    t = cx_table_open(FILE_LAYOUT, "/fill", &err);
    assert_non_null(t);
    int y = 0;
    double out[4];
    assert_int_equal(cx_table_read_block(t, &y, 1, 199996, 4, out, 4, &err), CX_OK);
    assert_true(out[3] == 0); /* HDF5's fill value */
    cx_table_close(t);
}

/* ---- item 14: by levels and buffers ------------------------------------------ */

static cx_table *levels_table(size_t n, size_t distinct)
{
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        /* scattered, so blocks overlap in values and arrive unsorted */
        x[i] = (double)((i * 7919) % distinct) * 0.5;
        y[i] = (double)(i % 3);
    }
    x[n / 2] = NAN; /* missing: not a level */
    const char *names[2] = {"x", "y"};
    const double *cols[2] = {x, y};
    cx_table *t = memory_table(n, names, cols, 2);
    free(x);
    free(y);
    return t;
}

static void test_by_level_limit(void **state)
{
    (void)state;
    cx_error err = {0};
    /* exactly the limit: fine, levels sorted and distinct over two blocks */
    cx_table *t = levels_table(CX_MAX_LEVELS + 1, CX_MAX_LEVELS);
    cx_view v;
    cx_view_init(&v, t, NULL);
    int x = cx_table_find(t, "x");
    assert_int_equal(cx_view_set_groups(&v, &x, 1, &err), CX_OK);
    /* one of the CX_MAX_LEVELS values sits only in the row made missing */
    assert_true(v.n_levels == CX_MAX_LEVELS || v.n_levels == CX_MAX_LEVELS - 1);
    for (size_t l = 1; l < v.n_levels; l++)
        assert_true(v.level_values[l - 1] < v.level_values[l]);
    cx_view_free(&v);
    cx_table_close(t);

    /* one over: refused, naming the column and the count found */
    t = levels_table(2 * CX_MAX_LEVELS, 2 * CX_MAX_LEVELS);
    cx_view_init(&v, t, NULL);
    x = cx_table_find(t, "x");
    assert_int_equal(cx_view_set_groups(&v, &x, 1, &err), CX_EUSAGE);
    expect_msg(&err, "'x'");
    expect_msg(&err, "over the limit of 100000");
    expect_msg(&err, "distinct levels in the first 131072 rows");
    cx_view_free(&v);

    /* two columns: tuples, in lexicographic order */
    int xy[2] = {cx_table_find(t, "y"), x};
    cx_table_close(t);
    t = levels_table(1000, 10);
    cx_view_init(&v, t, NULL);
    assert_int_equal(cx_view_set_groups(&v, xy, 2, &err), CX_OK);
    assert_int_equal(v.n_levels, 30);
    for (size_t l = 1; l < v.n_levels; l++) {
        const double *a = v.level_values + 2 * (l - 1), *b = a + 2;
        assert_true(a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]));
    }
    cx_view_free(&v);
    cx_table_close(t);
}

/* A 300-row table gets 300-row buffers: the iterator, the filtered path
 * and the statistics pass all use ld = cx_view_block_rows (ASan checks
 * that nothing writes past a buffer of exactly that size). */
static void test_block_rows_follow_the_table(void **state)
{
    (void)state;
    enum { N = 300 };
    double x[N], y[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = (double)(i % 11);
        y[i] = (double)i * 0.25;
    }
    const char *names[2] = {"x", "y"};
    const double *cols[2] = {x, y};
    cx_table *t = memory_table(N, names, cols, 2);
    cx_error err = {0};
    cx_view v;
    cx_view_init(&v, t, NULL);
    assert_int_equal(cx_view_block_rows(&v), N);
    cx_filter *f = cx_filter_parse("x > 2", t, &err);
    assert_non_null(f);
    for (int filtered = 0; filtered < 2; filtered++) {
        v.where = filtered ? f : NULL;
        int c[2] = {0, 1};
        double *block = malloc(2 * N * sizeof *block);
        cx_view_iter it;
        assert_int_equal(cx_view_iter_begin(&it, &v, c, 2, &err), CX_OK);
        long got = cx_view_iter_next(&it, block, NULL, &err);
        size_t expect = 0;
        for (size_t i = 0; i < N; i++)
            expect += !filtered || x[i] > 2;
        assert_int_equal(got, (long)expect);
        size_t k = 0;
        for (size_t i = 0; i < N; i++)
            if (!filtered || x[i] > 2) {
                assert_true(block[k] == x[i] && block[N + k] == y[i]);
                assert_int_equal(cx_view_iter_row(&it, k), i);
                k++;
            }
        assert_int_equal(cx_view_iter_next(&it, block, NULL, &err), 0);
        cx_view_iter_end(&it);
        free(block);
        cx_moments *m = NULL;
        assert_int_equal(cx_stats_compute(&v, c, 2, -1, CX_MISSING_LISTWISE, &m, &err), CX_OK);
        assert_true(m->n_rows == expect);
        cx_moments_free(m);
    }
    cx_filter_free(f);
    /* an item listed twice shares one correlations column (filled by index) */
    model_run run;
    run_model(&run, &cx_model_describe, t, "[job d]\nmodel = describe\nitems = y x y\n", NULL);
    assert_int_equal(run.rc, CX_OK);
    cx_rtable *cor = cx_result_find_table(run.results[0], "correlations");
    assert_non_null(cor);
    assert_int_equal(cor->ncols, 3);
    assert_int_equal(cor->nrows, 3);
    assert_true(fabs(cell(run.results[0], "correlations", "y", 0) - 1) < 1e-12);
    run_free(&run);
    cx_table_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nps_nonfinite_weight_fails_with_row),
        cmocka_unit_test(test_nps_huge_weights_scale_away),
        cmocka_unit_test(test_nps_weights_spanning_600_decades),
        cmocka_unit_test(test_stats_weights_named_with_row),
        cmocka_unit_test(test_int64_missing_value_exact),
        cmocka_unit_test(test_big_integers_keep_their_spread),
        cmocka_unit_test(test_unusable_columns_only_when_used),
        cmocka_unit_test(test_declared_rows_never_written),
        cmocka_unit_test(test_by_level_limit),
        cmocka_unit_test(test_block_rows_follow_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
