/*
 * blas_threads.c — keeping OpenBLAS single-threaded (blas_threads.h).
 */
#include "blas_threads.h"

#include <cblas.h>

/* OpenBLAS exports this (its fork handler uses it) but no header declares
 * it; a weak reference, so another BLAS, or an OpenBLAS without it, just
 * keeps its pool. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void cx_blas_stop_pool(void)
{
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_)
        blas_thread_shutdown_();
}

void cx_blas_single_threaded(void)
{
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}
