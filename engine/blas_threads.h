/*
 * blas_threads.h — keeping OpenBLAS single-threaded.
 *
 * cxfit's own OpenMP threads split the rows; OpenBLAS threads inside them
 * would oversubscribe the cores (and do not help for p <= 50,
 * shared/TOOLCHAIN.md), so every BLAS call runs on the calling thread.
 */
#ifndef CX_BLAS_THREADS_H
#define CX_BLAS_THREADS_H

/* OpenBLAS (the pthread build) starts a thread pool when it is loaded, and
 * an idle pool thread spins on sched_yield for ~0.1 s before it sleeps: a
 * whole core for the length of a short run.  Called once at start-up
 * (main.c): one thread, and the pool stopped. */
void cx_blas_stop_pool(void);

/* One BLAS thread from here on.  Use this, not openblas_set_num_threads(1):
 * OpenBLAS restarts a stopped pool on every openblas_set_num_threads call,
 * so this calls it only when the count is not 1 already. */
void cx_blas_single_threaded(void);

#endif
