/*
 * test_rowpass_cache.c — the design cache of engine/rowpass.h gives the
 * passes a streamed pass gives, bit for bit: same rows, same blocks, same
 * merge order, for 1 and 2 threads, with validation slots, and when the
 * budget is too small (the cache gives up and every pass streams); and
 * without weights and with `by` levels (the cache stores no weights of
 * 1 and no levels 0, and hands out shared ones and zeros instead); a
 * cached pass that fails reports its first failing block.
 *
 * The table has 200k rows (four row blocks), missing values (rows the
 * fill drops), a categorical and a weight; the accumulator sums products
 * of the design rows in an order-sensitive way (a running polynomial
 * hash of the values), so a row out of place or a block merged out of
 * order changes the result.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "design.h"
#include "rowpass.h"

#define N_ROWS 200000

typedef struct sums {
    double sxy, sw, n, hash, levels;
    double slot_w[4];
} sums;

static void *s_alloc(const void *params, cx_error *err)
{
    (void)params;
    return cx_calloc(1, sizeof(sums), err);
}

static void s_reset(void *acc)
{
    memset(acc, 0, sizeof(sums));
}

static int s_add(void *acc, const cx_rows *r, const void *params, cx_error *err)
{
    (void)err;
    const double *beta = params;
    sums *s = acc;
    for (size_t i = 0; i < r->m; i++) {
        double eta = 0;
        for (size_t j = 0; j < r->p; j++)
            eta += r->x[i * r->p + j] * beta[j];
        s->sxy += r->w[i] * eta * r->y[i];
        s->sw += r->w[i];
        s->n += 1;
        s->levels += (double)r->level[i];
        /* order-sensitive: a row out of place changes it */
        s->hash = fmod(s->hash * 1.000001 + (double)r->row[i] + r->extra[i] +
                           0.25 * (double)r->level[i],
                       1e12);
        if (r->slot)
            s->slot_w[r->slot[i] % 4] += r->w[i];
    }
    return CX_OK;
}

static void s_merge(void *acc, const void *other)
{
    sums *a = acc;
    const sums *b = other;
    a->sxy += b->sxy;
    a->sw += b->sw;
    a->n += b->n;
    a->levels += b->levels;
    a->hash = fmod(a->hash * 1.000001 + b->hash, 1e12);
    for (int k = 0; k < 4; k++)
        a->slot_w[k] += b->slot_w[k];
}

static const cx_rowpass_type sums_type = {"sums", s_alloc, s_reset, s_add, s_merge, free};

/* Fails on the first row at or past table row 70001 (in the second block,
 * and every later one), naming it. */
static int failing_add(void *acc, const cx_rows *r, const void *params, cx_error *err)
{
    for (size_t i = 0; i < r->m; i++)
        if (r->row[i] >= 70001)
            return cx_error_set(err, CX_EFAIL, "bad row %zu", r->row[i]);
    return s_add(acc, r, params, err);
}

static const cx_rowpass_type failing_type = {"failing", s_alloc, s_reset, failing_add, s_merge, free};

static cx_table *make_table(cx_error *err)
{
    cx_table *t = cx_table_memory_alloc("test:/t", N_ROWS, err);
    double *v = malloc(N_ROWS * sizeof *v);
    uint64_t s = 99;
    const char *names[] = {"y", "x1", "x2", "g", "w", "c"};
    char *labels[] = {"a", "b", "c"};
    for (int c = 0; t && v && c < 6; c++) {
        for (size_t i = 0; i < N_ROWS; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(s >> 11) / 9007199254740992.0;
            v[i] = c == 3 ? floor(3 * u) : c == 4 ? 0.5 + u : c == 5 ? floor(50 * u) : u;
            if (c == 1 && i % 101 == 7)
                v[i] = NAN; /* dropped rows */
        }
        if (cx_table_memory_add_column(t, names[c], c == 3 ? CX_COL_CATEGORICAL : CX_COL_FLOAT, v,
                                       c == 3 ? labels : NULL, c == 3 ? 3 : 0, err))
            break;
    }
    free(v);
    return t;
}

typedef struct fixture {
    cx_table *t;
    cx_formula *f;
    cx_design *d;
    cx_view v;
    cx_design *d_unweighted;
    cx_view v_by; /* levels of g */
    int unweighted, by; /* which design and view the passes use */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    cx_error err = {0};
    fx->t = make_table(&err);
    fx->f = cx_formula_parse("y ~ x1 + x2 + g + g:x2", &err);
    const char *extra[] = {"c"};
    cx_design_spec spec = {.formula = fx->f, .weights = "w", .extra = extra, .n_extra = 1};
    fx->d = fx->f && fx->t ? cx_design_alloc(&spec, fx->t, &err) : NULL;
    cx_design_spec plain = {.formula = fx->f, .extra = extra, .n_extra = 1};
    fx->d_unweighted = fx->d ? cx_design_alloc(&plain, fx->t, &err) : NULL;
    int g = 3; /* column g */
    if (fx->d) {
        cx_view_init(&fx->v, fx->t, NULL);
        cx_view_init(&fx->v_by, fx->t, NULL);
    }
    if (!fx->d || !fx->d_unweighted || cx_view_set_groups(&fx->v_by, &g, 1, &err) ||
        cx_design_prepare(fx->d, &fx->v, &err) ||
        cx_design_prepare(fx->d_unweighted, &fx->v, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    cx_design_free(fx->d);
    cx_design_free(fx->d_unweighted);
    cx_view_free(&fx->v_by);
    cx_formula_free(fx->f);
    cx_table_close(fx->t);
    free(fx);
    return 0;
}

static void pass(const fixture *fx, const cx_rowpass_split *split, const double *beta,
                 cx_rowpass_cache *c, int threads, sums *out)
{
    cx_error err = {0};
    void *total = NULL;
    int rc = cx_rowpass_run_cached(fx->by ? &fx->v_by : &fx->v,
                                   fx->unweighted ? fx->d_unweighted : fx->d, split, &sums_type,
                                   beta, &total, threads, c, &err);
    if (rc != CX_OK)
        fail_msg("pass: %s", err.msg);
    *out = *(sums *)total;
    free(total);
}

static void assert_same(const sums *a, const sums *b)
{
    assert_true(memcmp(a, b, sizeof *a) == 0); /* bit for bit */
}

/* streamed vs cached, three parameter values, 1 and 2 threads */
static void check_split(const fixture *fx, const cx_rowpass_split *split, size_t budget,
                        int expect_complete)
{
    size_t p = cx_design_ncols(fx->d);
    double beta[16];
    for (int threads = 1; threads <= 2; threads++) {
        cx_error err = {0};
        cx_rowpass_cache *c = cx_rowpass_cache_alloc(budget, &err);
        assert_non_null(c);
        for (int it = 0; it < 3; it++) {
            for (size_t j = 0; j < p; j++)
                beta[j] = 0.1 * (double)(j + 1) * (it + 1);
            sums streamed, cached;
            pass(fx, split, beta, NULL, threads, &streamed);
            pass(fx, split, beta, c, threads, &cached);
            assert_same(&streamed, &cached);
            assert_int_equal(cx_rowpass_cache_complete(c), expect_complete);
            /* some rows were dropped, most kept */
            assert_true(streamed.n > 0.98 * N_ROWS && streamed.n < N_ROWS);
            /* the rows carry levels exactly when the view has `by` */
            assert_int_equal(streamed.levels > 0, fx->by);
            assert_int_equal(streamed.sw == streamed.n, fx->unweighted);
        }
        cx_rowpass_cache_free(c);
    }
}

static void test_cache_same_passes(void **state)
{
    const fixture *fx = *state;
    check_split(fx, NULL, CX_ROWPASS_CACHE_BUDGET, 1);
}

static void test_cache_with_slots(void **state)
{
    const fixture *fx = *state;
    cx_rowpass_split kf = {.kind = CX_VALIDATE_KFOLD, .k = 4, .seed = 7};
    check_split(fx, &kf, CX_ROWPASS_CACHE_BUDGET, 1);
}

static void test_cache_over_budget(void **state)
{
    const fixture *fx = *state;
    check_split(fx, NULL, 1 << 20, 0); /* 1 MiB: the rows do not fit */
}

/* No weights (every weight 1: not stored), and `by` levels (stored only
 * for blocks with a level other than 0). */
static void test_cache_unweighted_and_levels(void **state)
{
    fixture *fx = *state;
    fx->unweighted = 1;
    check_split(fx, NULL, CX_ROWPASS_CACHE_BUDGET, 1);
    fx->by = 1;
    check_split(fx, NULL, CX_ROWPASS_CACHE_BUDGET, 1);
    fx->unweighted = 0;
    check_split(fx, NULL, CX_ROWPASS_CACHE_BUDGET, 1);
    fx->by = 0;
}

/* A cached pass whose blocks fail from the second on reports the first
 * failing block's error, whatever the threads, and leaks nothing. */
static void test_cache_pass_fails(void **state)
{
    const fixture *fx = *state;
    double beta[16] = {0};
    for (int threads = 1; threads <= 2; threads++) {
        cx_error err = {0};
        cx_rowpass_cache *c = cx_rowpass_cache_alloc(CX_ROWPASS_CACHE_BUDGET, &err);
        sums s;
        pass(fx, NULL, beta, c, threads, &s); /* fills the cache */
        assert_true(cx_rowpass_cache_complete(c));
        void *total = NULL;
        assert_int_equal(cx_rowpass_run_cached(&fx->v, fx->d, NULL, &failing_type, beta, &total,
                                               threads, c, &err),
                         CX_EFAIL);
        assert_null(total);
        assert_non_null(strstr(err.msg, "bad row 70001"));
        cx_rowpass_cache_free(c);
    }
}

/* A cache filled for one split refuses a pass with another. */
static void test_cache_refuses_other_split(void **state)
{
    const fixture *fx = *state;
    double beta[16] = {0};
    cx_error err = {0};
    cx_rowpass_cache *c = cx_rowpass_cache_alloc(CX_ROWPASS_CACHE_BUDGET, &err);
    sums s;
    pass(fx, NULL, beta, c, 1, &s);
    cx_rowpass_split kf = {.kind = CX_VALIDATE_KFOLD, .k = 4, .seed = 7};
    void *total = NULL;
    assert_int_not_equal(
        cx_rowpass_run_cached(&fx->v, fx->d, &kf, &sums_type, beta, &total, 1, c, &err), CX_OK);
    assert_null(total);
    cx_rowpass_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_same_passes),
        cmocka_unit_test(test_cache_with_slots),
        cmocka_unit_test(test_cache_over_budget),
        cmocka_unit_test(test_cache_unweighted_and_levels),
        cmocka_unit_test(test_cache_pass_fails),
        cmocka_unit_test(test_cache_refuses_other_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
