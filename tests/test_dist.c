/*
 * test_dist.c — what travels between MPI ranks when a row-split job deals
 * its tasks (engine/dist.h): a job's whole result (engine/result_pack.c)
 * packed and unpacked cell for cell, malformed (truncated) bytes refused
 * without reading past them, and the dealing round trip of
 * CXFIT_TEST_FAKE_RANKS (the tasks of ranks 1..R-1 packed, then unpacked
 * over the originals; rank 0's untouched).  No MPI here: mpi.sh runs the
 * same code under mpirun.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../engine/dist.h"
#include "../engine/result.h"

/* A result with every kind of content: status and message, nobs and
 * level, double and string attributes, and two tables with double, int
 * and string columns (one string cell left unset). */
static cx_result *sample_result(void)
{
    cx_error err = {0};
    cx_result *r = cx_result_alloc(0.9, &err);
    assert_non_null(r);
    r->nobs = 1234;
    cx_result_set_status(r, CX_STATUS_NOT_CONVERGED, "did not converge after %d", 7);
    cx_result_add_warning(r, "a Heywood case");
    assert_int_equal(cx_result_set_attr_double(r, "iterations", 42, &err), CX_OK);
    assert_int_equal(cx_result_set_attr_string(r, "se", "robust", &err), CX_OK);
    cx_rtable *t = cx_result_table(r, "estimates", &err);
    assert_non_null(t);
    assert_int_equal(cx_rtable_add_column(t, "lhs", CX_RCOL_STRING, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(t, "est", CX_RCOL_DOUBLE, &err), CX_OK);
    assert_int_equal(cx_rtable_add_column(t, "free", CX_RCOL_INT, &err), CX_OK);
    for (int i = 0; i < 5; i++) {
        long row = cx_rtable_add_row(t, &err);
        assert_true(row >= 0);
        if (i != 3) /* row 3's lhs stays unset (NULL) */
            assert_int_equal(cx_rtable_set_string(t, (size_t)row, "lhs", i ? "F1" : "x1", &err),
                             CX_OK);
        cx_rtable_set_double(t, (size_t)row, "est", i == 2 ? NAN : 0.1 * i - 1e-300);
        cx_rtable_set_int(t, (size_t)row, "free", -3LL + i * 1000000000000LL);
    }
    cx_rtable *f = cx_result_table(r, "fit", &err);
    assert_non_null(f);
    assert_int_equal(cx_rtable_add_column(f, "value", CX_RCOL_DOUBLE, &err), CX_OK);
    assert_non_null(cx_result_table(r, "empty", &err)); /* no columns, no rows */
    return r;
}

/* Same content, cell for cell (NaN equal to NaN); returns values compared. */
static size_t assert_same_result(const cx_result *a, const cx_result *b)
{
    size_t n = 0;
    assert_int_equal(a->status, b->status);
    assert_string_equal(a->message, b->message);
    assert_true(a->nobs == b->nobs && a->level == b->level);
    assert_int_equal(a->n_attrs, b->n_attrs);
    for (size_t i = 0; i < a->n_attrs; i++, n++) {
        assert_string_equal(a->attrs[i].name, b->attrs[i].name);
        assert_int_equal(a->attrs[i].is_string, b->attrs[i].is_string);
        if (a->attrs[i].is_string)
            assert_string_equal(a->attrs[i].s, b->attrs[i].s);
        else
            assert_true(a->attrs[i].d == b->attrs[i].d);
    }
    assert_int_equal(a->n_tables, b->n_tables);
    for (size_t k = 0; k < a->n_tables; k++) {
        const cx_rtable *s = a->tables[k], *t = b->tables[k];
        assert_string_equal(s->name, t->name);
        assert_int_equal(s->nrows, t->nrows);
        assert_int_equal(s->ncols, t->ncols);
        for (size_t j = 0; j < s->ncols; j++) {
            assert_string_equal(s->cols[j].name, t->cols[j].name);
            assert_int_equal(s->cols[j].type, t->cols[j].type);
            for (size_t i = 0; i < s->nrows; i++, n++) {
                if (s->cols[j].type == CX_RCOL_DOUBLE) {
                    double x = s->cols[j].d[i], y = t->cols[j].d[i];
                    assert_true(x == y || (isnan(x) && isnan(y)));
                } else if (s->cols[j].type == CX_RCOL_INT) {
                    assert_true(s->cols[j].i[i] == t->cols[j].i[i]);
                } else if (!s->cols[j].s[i]) {
                    assert_null(t->cols[j].s[i]);
                } else {
                    assert_string_equal(s->cols[j].s[i], t->cols[j].s[i]);
                }
            }
        }
    }
    return n;
}

static void *packed(const cx_result *r, size_t *size)
{
    *size = cx_result_pack(r, NULL);
    void *buf = malloc(*size);
    assert_non_null(buf);
    assert_int_equal(cx_result_pack(r, buf), *size);
    return buf;
}

/* Unpacked into a result that already held something: it is replaced. */
static void test_result_round_trip(void **state)
{
    (void)state;
    cx_result *a = sample_result();
    size_t size;
    void *buf = packed(a, &size);
    cx_error err = {0};
    cx_result *b = cx_result_alloc(0.95, &err);
    assert_non_null(b);
    cx_result_set_status(b, CX_STATUS_FAILED, "stale");
    assert_non_null(cx_result_table(b, "stale", &err));
    assert_int_equal(cx_result_unpack(b, buf, size, &err), CX_OK);
    size_t n = assert_same_result(a, b);
    assert_int_equal(n, 2 + 5 * 3); /* 2 attributes, 15 cells */
    /* and again: what an unpacked result packs is the same bytes */
    size_t size2;
    void *buf2 = packed(b, &size2);
    assert_int_equal(size, size2);
    assert_memory_equal(buf, buf2, size);
    free(buf2);
    free(buf);
    cx_result_free(a);
    cx_result_free(b);
}

/* Every truncation (and one byte too many) is refused as malformed, and
 * the result keeps what it held. */
static void test_result_malformed(void **state)
{
    (void)state;
    cx_result *a = sample_result();
    size_t size;
    unsigned char *buf = packed(a, &size);
    size_t refused = 0;
    for (size_t cut = 0; cut < size; cut++) {
        unsigned char *part = malloc(cut ? cut : 1); /* exact size: ASan sees an overread */
        assert_non_null(part);
        memcpy(part, buf, cut);
        cx_error err = {0};
        cx_result *b = sample_result();
        int rc = cx_result_unpack(b, part, cut, &err);
        assert_int_not_equal(rc, CX_OK);
        assert_int_equal(err.code, rc);
        assert_same_result(a, b);
        refused++;
        cx_result_free(b);
        free(part);
    }
    unsigned char *longer = calloc(size + 8, 1);
    assert_non_null(longer);
    memcpy(longer, buf, size);
    cx_error err = {0};
    cx_result *b = sample_result();
    assert_int_equal(cx_result_unpack(b, longer, size + 8, &err), CX_EFAIL);
    refused++;
    assert_int_equal(refused, size + 1);
    cx_result_free(b);
    free(longer);
    free(buf);
    cx_result_free(a);
}

/* ---- dealing ------------------------------------------------------------ */

#define N_TASKS 11

typedef struct tasks {
    double value[N_TASKS]; /* task t's "result": 3 doubles from it       */
    int unpacked[N_TASKS]; /* times each task's result arrived          */
    int corrupt;           /* pack writes wrong bytes for task 4        */
} tasks;

static size_t task_pack(void *ctx, size_t t, void *buf)
{
    tasks *k = ctx;
    if (buf) {
        double v[3] = {k->value[t], (double)t, k->corrupt && t == 4 ? -1.0 : k->value[t] * 2};
        memcpy(buf, v, sizeof v);
    }
    return 3 * sizeof(double);
}

static int task_unpack(void *ctx, size_t t, const void *buf, size_t size, cx_error *err)
{
    tasks *k = ctx;
    double v[3];
    if (size != sizeof v)
        return cx_error_set(err, CX_EFAIL, "wrong size");
    memcpy(v, buf, sizeof v);
    if (v[1] != (double)t || v[2] != 2 * v[0])
        return cx_error_set(err, CX_EFAIL, "task %zu: wrong bytes", t);
    k->value[t] = v[0];
    k->unpacked[t]++;
    return CX_OK;
}

/* Not under mpirun: every task runs here; with CXFIT_TEST_FAKE_RANKS=3
 * the tasks of ranks 1 and 2 (t mod 3 != 0) come back through pack and
 * unpack once each, rank 0's are left alone; a task whose bytes are
 * wrong fails the call. */
static void test_fake_deal(void **state)
{
    (void)state;
    int rank = -1;
    assert_int_equal(cx_dist_deal_begin(&rank), 1);
    assert_int_equal(rank, 0);
    tasks k = {0};
    for (size_t t = 0; t < N_TASKS; t++)
        k.value[t] = 0.5 + (double)t;
    cx_task_ops ops = {task_pack, task_unpack, &k};
    cx_error err = {0};
    unsetenv("CXFIT_TEST_FAKE_RANKS");
    assert_int_equal(cx_dist_deal_end(N_TASKS, &ops, CX_OK, &err), CX_OK);
    for (size_t t = 0; t < N_TASKS; t++)
        assert_int_equal(k.unpacked[t], 0);
    setenv("CXFIT_TEST_FAKE_RANKS", "3", 1);
    assert_int_equal(cx_dist_deal_end(N_TASKS, &ops, CX_OK, &err), CX_OK);
    size_t checked = 0;
    for (size_t t = 0; t < N_TASKS; t++, checked++) {
        assert_int_equal(k.unpacked[t], t % 3 ? 1 : 0);
        assert_true(k.value[t] == 0.5 + (double)t);
    }
    assert_int_equal(checked, N_TASKS);
    /* an error before the dealing is passed on untouched */
    assert_int_equal(cx_dist_deal_end(N_TASKS, &ops, CX_EIO, &err), CX_EIO);
    k.corrupt = 1;
    assert_int_equal(cx_dist_deal_end(N_TASKS, &ops, CX_OK, &err), CX_EFAIL);
    assert_non_null(strstr(err.msg, "task 4"));
    unsetenv("CXFIT_TEST_FAKE_RANKS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_round_trip),
        cmocka_unit_test(test_result_malformed),
        cmocka_unit_test(test_fake_deal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
