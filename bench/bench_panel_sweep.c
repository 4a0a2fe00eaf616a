/*
 * bench_panel_sweep.c — issue 16's streaming goal: on a large panel read
 * from HDF5 (100k firms x 20 periods), one two-way demeaning sweep should
 * cost at most 2x one statistics pass over the same table.
 *
 *   bench_panel_sweep FILE.h5 [--table /data] [--repeats K]
 *
 * The table holds `firm` and `year` (whole numbers 1..N and 1..T, as
 * bench_panel.sh writes them) and `y x1 x2 x3`.  Median of K runs each:
 *   stats   cx_stats_compute of (y, x1, x2, x3): the engine's one streaming
 *           pass (read the HDF5 blocks, means and centred cross-products);
 *   load    cx_view_load of firm, year, y, x1..x3 (the rows a panel fit
 *           holds), streamed from the same file;
 *   demean  panel_twoway_demean of the four columns (models/panel: the
 *           alternating projections of a two-way within fit) on a fresh
 *           copy, and the sweeps it took;
 *   sweep   demean time / (sweeps / 4): one sweep over the four columns.
 * ratio = sweep / stats (goal <= 2).  Timings are printed, never asserted.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panel/panel.h"
#include "stats.h"
#include "table.h"
#include "view.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void die(const cx_error *err)
{
    fprintf(stderr, "bench_panel_sweep: %s\n", err->msg);
    exit(1);
}

/* The loaded rows as a panel: dense codes from firm/year values 1..max. */
static void make_panel(const double *data, size_t n, panel_data *d, size_t *unit, size_t *time)
{
    size_t nu = 0, nt = 0;
    for (size_t i = 0; i < n; i++) {
        unit[i] = (size_t)data[i] - 1;
        time[i] = (size_t)data[n + i] - 1;
        nu = unit[i] + 1 > nu ? unit[i] + 1 : nu;
        nt = time[i] + 1 > nt ? time[i] + 1 : nt;
    }
    memset(d, 0, sizeof *d);
    d->n = n;
    d->unit = unit;
    d->time = time;
    d->n_units = nu;
    d->n_times = nt;
    d->intercept = -1;
}

int main(int argc, char **argv)
{
    const char *file = NULL, *group = "/data";
    int reps = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--table") == 0 && i + 1 < argc)
            group = argv[++i];
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            file = argv[i];
    }
    if (!file || reps < 1) {
        fprintf(stderr, "usage: bench_panel_sweep FILE.h5 [--table /data] [--repeats K]\n");
        return 2;
    }
    cx_error err = {0};
    cx_table *t = cx_table_open(file, group, &err);
    if (!t)
        die(&err);
    static const char *const names[6] = {"firm", "year", "y", "x1", "x2", "x3"};
    int cols[6];
    for (int j = 0; j < 6; j++)
        if ((cols[j] = cx_table_find(t, names[j])) < 0) {
            fprintf(stderr, "bench_panel_sweep: %s has no column %s\n", file, names[j]);
            return 1;
        }
    cx_view v;
    cx_view_init(&v, t, NULL);
    double *ts = calloc((size_t)reps, sizeof *ts), *tl = calloc((size_t)reps, sizeof *tl);
    double *td = calloc((size_t)reps, sizeof *td), *tw = calloc((size_t)reps, sizeof *tw);
    long sweeps = 0;
    size_t n = 0;
    for (int r = 0; r < reps; r++) {
        cx_moments *m = NULL;
        double t0 = omp_get_wtime();
        if (cx_stats_compute(&v, cols + 2, 4, -1, CX_MISSING_LISTWISE, &m, &err))
            die(&err);
        ts[r] = omp_get_wtime() - t0;
        cx_moments_free(m);

        double *data = NULL;
        t0 = omp_get_wtime();
        if (cx_view_load(&v, cols, 6, &data, &n, NULL, &err))
            die(&err);
        tl[r] = omp_get_wtime() - t0;
        size_t *unit = malloc(n * sizeof *unit), *time = malloc(n * sizeof *time);
        panel_data d;
        make_panel(data, n, &d, unit, time);
        t0 = omp_get_wtime();
        sweeps = panel_twoway_demean(&d, data + 2 * n, 4, &err);
        td[r] = omp_get_wtime() - t0;
        if (sweeps < 0)
            die(&err);
        tw[r] = td[r] / ((double)sweeps / 4.0);
        free(unit);
        free(time);
        free(data);
    }
    double ms = median(ts, reps), ml = median(tl, reps), md = median(td, reps),
           mw = median(tw, reps);
    printf("%-12s %10s %8s %8s %8s %8s %8s %10s\n", "rows", "stats_s", "load_s", "demean_s",
           "sweeps", "sweep_s", "ratio", "threads");
    printf("%-12zu %10.4f %8.4f %8.4f %8.1f %8.4f %8.2f %10d\n", n, ms, ml, md,
           (double)sweeps / 4.0, mw, mw / ms, omp_get_max_threads());
    printf("(median of %d; sweeps per column; ratio = one sweep over y x1 x2 x3 / one "
           "statistics pass over them; goal <= 2)\n",
           reps);
    free(ts), free(tl), free(td), free(tw);
    cx_view_free(&v);
    cx_table_close(t);
    return 0;
}
