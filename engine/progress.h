/*
 * progress.h — a progress line on a terminal for a job's long loops
 * (bootstrap replicates, folds, `by` levels): done/total, rate and ETA,
 * redrawn at most 5 times a second on stderr and erased at the end.
 * Off unless stderr is a terminal (and not --quiet, not CXFIT_PROGRESS=0):
 * logs and test output never see it.  Ticks come from any thread.
 */
#ifndef CX_PROGRESS_H
#define CX_PROGRESS_H

#include <stddef.h>

typedef struct cx_progress {
    int enabled;
    const char *job;  /* job name, for the line                     */
    const char *what; /* "fits"                                      */
    size_t total, done;
    double start, last_draw;
} cx_progress;

/* Start a loop of `total` steps; enabled = the job may draw (cx_job). */
void cx_progress_begin(cx_progress *p, int enabled, const char *job, const char *what,
                       size_t total);
/* One step done (thread-safe). */
void cx_progress_tick(cx_progress *p);
/* Erase the line. */
void cx_progress_end(cx_progress *p);

#endif
