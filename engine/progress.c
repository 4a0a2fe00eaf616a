/*
 * progress.c — see progress.h.
 */
#include "progress.h"

#include <omp.h>
#include <stdio.h>

/* Short loops finish before anyone could read a bar: draw after 0.5 s. */
#define PROGRESS_DELAY 0.5
#define PROGRESS_PERIOD 0.2

void cx_progress_begin(cx_progress *p, int enabled, const char *job, const char *what,
                       size_t total)
{
    p->enabled = enabled && total > 1;
    p->job = job ? job : "";
    p->what = what;
    p->total = total;
    p->done = 0;
    p->start = p->last_draw = omp_get_wtime();
}

static void draw(const cx_progress *p, double now)
{
    double elapsed = now - p->start, rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
    int width = 24, filled = (int)((double)width * (double)p->done / (double)p->total);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\rcxfit: %s [%s] %zu/%zu %s, %.1f/s, ETA %.0f s\033[K", p->job, bar,
            p->done, p->total, p->what, rate, eta);
    fflush(stderr);
}

void cx_progress_tick(cx_progress *p)
{
    if (!p->enabled) {
#pragma omp atomic
        p->done++;
        return;
    }
#pragma omp critical(cx_progress)
    {
        p->done++;
        double now = omp_get_wtime();
        if (now - p->start >= PROGRESS_DELAY && now - p->last_draw >= PROGRESS_PERIOD) {
            p->last_draw = now;
            draw(p, now);
        }
    }
}

void cx_progress_end(cx_progress *p)
{
    if (p->enabled && p->last_draw > p->start) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    p->enabled = 0;
}
