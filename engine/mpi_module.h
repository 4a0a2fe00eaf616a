/*
 * mpi_module.h — the MPI calls cxfit makes, behind a table of functions
 * that a small shared module (engine/mpi/cxfit_mpi.c, built as
 * cxfit_mpi.so beside the cxfit binary) fills in.
 *
 * Why a module: linking libmpi into cxfit made every process, mpirun or
 * not, load Open MPI and its dependencies at start-up (a third of the
 * dynamic linking of a `cxfit --version`, bench/README.md).  cxfit itself
 * now links no MPI library; the module does, and it is dlopen()ed only
 * when the environment says an MPI launcher started the process
 * (cx_mpi_launched, mpi_run.c).  docs/DECISIONS.md "MPI as a module".
 *
 * Every collective of the table runs on MPI_COMM_WORLD and returns when
 * it is complete; the module waits asleep (0.1 ms naps between MPI_Test)
 * rather than spinning, so a rank that arrives early leaves its core to
 * the ranks still working.  The module knows nothing of cxfit's types:
 * the core (dist.c, mpi_run.c) keeps all the logic.
 */
#ifndef CX_MPI_MODULE_H
#define CX_MPI_MODULE_H

#include <stddef.h>

#include "cx_error.h"

/* Bumped whenever cx_mpi_ops changes: the core refuses a module of
 * another version (an installed module left from another build). */
#define CX_MPI_ABI 1
/* The function the module exports (looked up with dlsym). */
#define CX_MPI_ENTRY "cxfit_mpi_module"

typedef struct cx_mpi_ops {
    int abi;     /* CX_MPI_ABI of the module's build        */
    size_t size; /* sizeof(cx_mpi_ops) of the module's build */
    /* MPI_Init_thread (MPI_THREAD_FUNNELED), then this rank and the
     * number of ranks; 0, or -1 with a message in msg. */
    int (*init)(int *rank, int *ranks, char *msg, size_t size);
    void (*finalize)(void);
    /* Element-wise maximum over the ranks of n values. */
    void (*max_long)(const long *in, long *out, int n);
    void (*max_int)(const int *in, int *out, int n);
    /* `bytes` bytes of buf from rank `root` to every rank. */
    void (*bcast)(void *buf, int bytes, int root);
    /* all[q] = rank q's `mine`. */
    void (*allgather_int)(int mine, int *all);
    /* Rank q's `counts[q]` bytes land at all + displs[q] on every rank. */
    void (*allgatherv)(const void *mine, int bytes, void *all, const int *counts,
                       const int *displs);
    void (*barrier)(void);
    double (*wtime)(void);
    /* MPI_Abort: a collective that cannot be left half done. */
    void (*abort)(int code);
} cx_mpi_ops;

/* Load the module (once; later calls return the same table).  Looked up,
 * in order: $CXFIT_MPI_MODULE (a path), cxfit_mpi.so beside the running
 * executable (the build tree), then the install location relative to the
 * executable and the absolute one (CMakeLists.txt's install rules).  NULL
 * with CX_EUSAGE and a message naming what was tried when it cannot be
 * loaded, or when cxfit was built without MPI. */
const cx_mpi_ops *cx_mpi_load(cx_error *err);
/* The table loaded by cx_mpi_load, or NULL (a single process). */
const cx_mpi_ops *cx_mpi(void);

#endif
