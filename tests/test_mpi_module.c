/*
 * test_mpi_module.c — when cxfit loads its MPI module and what it says
 * when it cannot (engine/mpi_run.c, engine/mpi_module.c): the launcher
 * variables that mean "started by an MPI launcher", and the refusals of a
 * module that is missing or is some other library.  Loading the real
 * module and running ranks is tests/integration/mpi.sh's (it needs
 * mpirun); nothing here initialises MPI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_module.h"
#include "run.h"

static const char *const launcher_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                                            "PMI_RANK"};

static void clear_launcher(void)
{
    for (size_t k = 0; k < sizeof launcher_vars / sizeof launcher_vars[0]; k++)
        unsetenv(launcher_vars[k]);
}

static void test_launcher_detection(void **state)
{
    (void)state;
    clear_launcher();
    assert_int_equal(cx_mpi_launched(), 0); /* a plain run */
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    assert_int_equal(cx_mpi_launched(), 1);
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1); /* mpirun -np 1: a plain run */
    setenv("PMIX_RANK", "0", 1);            /* the size wins over a rank */
    assert_int_equal(cx_mpi_launched(), 0);
    clear_launcher();
    setenv("PMI_SIZE", "4", 1); /* Hydra (MPICH, Intel MPI), Slurm pmi2 */
    assert_int_equal(cx_mpi_launched(), 1);
    clear_launcher();
    setenv("PMIX_RANK", "3", 1); /* srun --mpi=pmix: a rank, no size */
    assert_int_equal(cx_mpi_launched(), 1);
    clear_launcher();
    setenv("PMI_RANK", "0", 1);
    assert_int_equal(cx_mpi_launched(), 1);
    clear_launcher();
    setenv("OMPI_COMM_WORLD_SIZE", "two", 1); /* not a number: no launcher */
    assert_int_equal(cx_mpi_launched(), 0);
    clear_launcher();
}

static void test_missing_module_refused(void **state)
{
    (void)state;
    cx_error err = {0};
    setenv("CXFIT_MPI_MODULE", "/nonexistent/cxfit_mpi.so", 1);
    assert_null(cx_mpi_load(&err));
    assert_int_equal(err.code, CX_EUSAGE);
#ifdef CXFIT_HAVE_MPI
    assert_string_equal(err.msg, "cannot load the MPI module named by CXFIT_MPI_MODULE: "
                                 "/nonexistent/cxfit_mpi.so (no such file)");
#else
    assert_non_null(strstr(err.msg, "built without MPI"));
#endif
    assert_null(cx_mpi());
    unsetenv("CXFIT_MPI_MODULE");
}

/* A shared library that is not cxfit's module (libz, which every build
 * links) is refused by name, and nothing stays loaded. */
static void test_foreign_library_refused(void **state)
{
    (void)state;
#ifdef CXFIT_HAVE_MPI
    const char *const candidates[] = {"/usr/lib/x86_64-linux-gnu/libz.so.1",
                                      "/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib64/libz.so.1",
                                      "/usr/lib/libz.so.1"};
    const char *found = NULL;
    for (size_t k = 0; !found && k < sizeof candidates / sizeof candidates[0]; k++)
        if (access(candidates[k], F_OK) == 0)
            found = candidates[k];
    if (!found)
        skip();
    cx_error err = {0};
    setenv("CXFIT_MPI_MODULE", found, 1);
    assert_null(cx_mpi_load(&err));
    assert_non_null(strstr(err.msg, "is not the MPI module of this cxfit"));
    assert_non_null(strstr(err.msg, found));
    assert_null(cx_mpi());
    unsetenv("CXFIT_MPI_MODULE");
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launcher_detection),
        cmocka_unit_test(test_missing_module_refused),
        cmocka_unit_test(test_foreign_library_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
