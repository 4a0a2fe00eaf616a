/*
 * cxfit_mpi.c — the MPI module (engine/mpi_module.h): the only code of
 * cxfit that calls MPI, built as cxfit_mpi.so and linked with libmpi, so
 * that cxfit itself loads no MPI library unless an MPI launcher started it.
 *
 * Each collective is started nonblocking and completed asleep: a rank that
 * arrives early (its share done, or its jobs) sleeps in 0.1 ms steps
 * instead of polling at 100 % of a core that the ranks still working need
 * when cores are shared or oversubscribed.  The latency added is ~0.1 ms a
 * collective, against passes of milliseconds to seconds.
 */
#include "mpi_module.h"

#include <mpi.h>
#include <stdio.h>
#include <time.h>

static void wait_asleep(MPI_Request *req)
{
    int done = 0;
    struct timespec nap = {0, 100000};
    MPI_Test(req, &done, MPI_STATUS_IGNORE);
    while (!done) {
        nanosleep(&nap, NULL);
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
    }
}

static int mod_init(int *rank, int *ranks, char *msg, size_t size)
{
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS ||
        MPI_Comm_rank(MPI_COMM_WORLD, rank) != MPI_SUCCESS ||
        MPI_Comm_size(MPI_COMM_WORLD, ranks) != MPI_SUCCESS) {
        snprintf(msg, size, "MPI_Init_thread failed");
        return -1;
    }
    return 0;
}

static void mod_finalize(void)
{
    MPI_Finalize();
}

static void mod_max_long(const long *in, long *out, int n)
{
    MPI_Request req;
    MPI_Iallreduce(in, out, n, MPI_LONG, MPI_MAX, MPI_COMM_WORLD, &req);
    wait_asleep(&req);
}

static void mod_max_int(const int *in, int *out, int n)
{
    MPI_Request req;
    MPI_Iallreduce(in, out, n, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req);
    wait_asleep(&req);
}

static void mod_bcast(void *buf, int bytes, int root)
{
    MPI_Request req;
    MPI_Ibcast(buf, bytes, MPI_BYTE, root, MPI_COMM_WORLD, &req);
    wait_asleep(&req);
}

static void mod_allgather_int(int mine, int *all)
{
    MPI_Request req;
    MPI_Iallgather(&mine, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD, &req);
    wait_asleep(&req);
}

static void mod_allgatherv(const void *mine, int bytes, void *all, const int *counts,
                           const int *displs)
{
    MPI_Request req;
    MPI_Iallgatherv(mine, bytes, MPI_BYTE, all, counts, displs, MPI_BYTE, MPI_COMM_WORLD, &req);
    wait_asleep(&req);
}

static void mod_barrier(void)
{
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    wait_asleep(&req);
}

static double mod_wtime(void)
{
    return MPI_Wtime();
}

static void mod_abort(int code)
{
    MPI_Abort(MPI_COMM_WORLD, code);
}

static const cx_mpi_ops ops = {
    .abi = CX_MPI_ABI,
    .size = sizeof(cx_mpi_ops),
    .init = mod_init,
    .finalize = mod_finalize,
    .max_long = mod_max_long,
    .max_int = mod_max_int,
    .bcast = mod_bcast,
    .allgather_int = mod_allgather_int,
    .allgatherv = mod_allgatherv,
    .barrier = mod_barrier,
    .wtime = mod_wtime,
    .abort = mod_abort,
};

/* The module's one exported symbol (CX_MPI_ENTRY); visibility is hidden
 * for everything else (CMakeLists.txt). */
__attribute__((visibility("default"))) const cx_mpi_ops *cxfit_mpi_module(void);
const cx_mpi_ops *cxfit_mpi_module(void)
{
    return &ops;
}
