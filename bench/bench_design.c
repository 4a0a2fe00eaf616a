/*
 * bench_design.c — what building the design matrix costs per row, against
 * reading the same columns alone: an in-memory table of N rows (default
 * 1M) with 20 numeric regressors and a 5-level categorical, and the
 * formula y ~ x1 + ... + x20 + seg + seg:x1 + I(x2^2) (30 columns),
 * filled row-major block by block as an OLS pass would.
 *
 *   ./build/bench_design [ROWS] [REPEATS]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "design.h"

#define N_X 20

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static cx_table *make_table(size_t n, cx_error *err)
{
    cx_table *t = cx_table_memory_alloc("bench:/t", n, err);
    double *v = malloc(n * sizeof *v);
    char name[16];
    uint64_t s = 12345;
    for (int c = 0; t && v && c <= N_X + 1; c++) {
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(s >> 11) / 9007199254740992.0;
            v[i] = c == N_X + 1 ? floor(5 * u) : (i % 997 == 3 && c == 1) ? NAN : u;
        }
        char *labels[] = {"a", "b", "c", "d", "e"};
        if (c == N_X + 1)
            cx_table_memory_add_column(t, "seg", CX_COL_CATEGORICAL, v, labels, 5, err);
        else {
            snprintf(name, sizeof name, c ? "x%d" : "y", c);
            cx_table_memory_add_column(t, name, CX_COL_FLOAT, v, NULL, 0, err);
        }
    }
    free(v);
    return t;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    cx_error err = {0};
    cx_table *t = make_table(n, &err);
    char text[512] = "y ~ x1";
    for (int c = 2; c <= N_X; c++)
        snprintf(text + strlen(text), sizeof text - strlen(text), " + x%d", c);
    strcat(text, " + seg + seg:x1 + I(x2^2)");
    cx_formula *f = cx_formula_parse(text, &err);
    cx_design_spec spec = {.formula = f};
    cx_design *d = f && t ? cx_design_alloc(&spec, t, &err) : NULL;
    cx_view v;
    if (d)
        cx_view_init(&v, t, NULL);
    if (!d || cx_design_prepare(d, &v, &err)) {
        fprintf(stderr, "bench_design: %s\n", err.msg);
        return 1;
    }
    size_t n_table, p = cx_design_ncols(d);
    const int *cols = cx_design_inputs(d, &n_table);
    size_t ld = cx_view_block_rows(&v);
    double *raw = malloc(ld * n_table * sizeof *raw);
    double *x = malloc(CX_BLOCK_ROWS * p * sizeof *x), *y = malloc(CX_BLOCK_ROWS * sizeof *y);
    cx_design_ws *ws = cx_design_ws_alloc(d, &err);
    double best_read = INFINITY, best_fill = INFINITY;
    size_t used = 0;
    for (int r = 0; r < repeats; r++) {
        for (int fill = 0; fill <= 1; fill++) {
            cx_view_iter it;
            cx_view_iter_begin(&it, &v, cols, n_table, &err);
            double t0 = now();
            long got;
            used = 0;
            while ((got = cx_view_iter_next(&it, raw, NULL, &err)) > 0) {
                if (!fill)
                    continue;
                cx_design_out out = {.row_major = 1, .x = x, .ldx = p, .y = y};
                used += (size_t)cx_design_fill(d, ws, raw, ld, (size_t)got, &out, &err);
            }
            double dt = now() - t0;
            cx_view_iter_end(&it);
            if (fill)
                best_fill = dt < best_fill ? dt : best_fill;
            else
                best_read = dt < best_read ? dt : best_read;
        }
    }
    printf("rows %zu, design columns %zu, rows used %zu\n", n, p, used);
    printf("read only      %8.3f s\n", best_read);
    printf("read + fill    %8.3f s   (fill %.1f ns/row, %.2f ns per cell; ratio %.2fx)\n",
           best_fill, 1e9 * (best_fill - best_read) / (double)n,
           1e9 * (best_fill - best_read) / (double)n / (double)p, best_fill / best_read);
    cx_design_ws_free(ws);
    free(raw);
    free(x);
    free(y);
    cx_design_free(d);
    cx_formula_free(f);
    cx_table_close(t);
    return 0;
}
