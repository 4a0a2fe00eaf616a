/*
 * mpi_module.c — finding and loading the MPI module (mpi_module.h).
 *
 * cxfit links no MPI library: under an MPI launcher, mpi_run.c asks for
 * the module here, which dlopen()s cxfit_mpi.so (and with it libmpi) and
 * checks that it was built for this cxfit's table of functions.  A module
 * that cannot be found or loaded is an error naming every place tried:
 * under mpirun a process must never quietly run the whole study alone.
 *
 * Where (the first that exists wins): $CXFIT_MPI_MODULE; the directory of
 * the running executable (/proc/self/exe: the build tree puts the module
 * beside cxfit); that directory joined with the install rules' relative
 * path from bin to the module (an installed tree, even moved elsewhere);
 * the absolute install directory.  The last three are set by CMakeLists.txt.
 */
#include "mpi_module.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CX_MPI_MODULE_NAME
#define CX_MPI_MODULE_NAME "cxfit_mpi.so"
#endif

static const cx_mpi_ops *loaded;

const cx_mpi_ops *cx_mpi(void)
{
    return loaded;
}

#ifndef CXFIT_HAVE_MPI

const cx_mpi_ops *cx_mpi_load(cx_error *err)
{
    cx_error_set(err, CX_EUSAGE,
                 "this cxfit was built without MPI: run it without mpirun, or use "
                 "--shard I/N and cxfit merge");
    return NULL;
}

#else

/* The directory of the running executable, with a trailing '/'; "" when
 * it cannot be told. */
static void exe_dir(char *dir, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", dir, size - 1);
    dir[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = '\0';
    else
        dir[0] = '\0';
}

/* Open `path` and check its table; 0, or -1 with why in `why`. */
static int try_open(const char *path, char *why, size_t size)
{
    if (access(path, F_OK) != 0) {
        snprintf(why, size, "%s (no such file)", path);
        return -1;
    }
    /* RTLD_GLOBAL: Open MPI's own plugins, which it dlopen()s in turn,
     * resolve libmpi's symbols through the global scope. */
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, size, "%s", e ? e : path);
        return -1;
    }
    const cx_mpi_ops *(*entry)(void);
    void *sym = dlsym(h, CX_MPI_ENTRY);
    memcpy(&entry, &sym, sizeof entry); /* object to function pointer, as POSIX allows */
    const cx_mpi_ops *ops = sym ? entry() : NULL;
    if (!ops || ops->abi != CX_MPI_ABI || ops->size != sizeof *ops) {
        snprintf(why, size, "%s is not the MPI module of this cxfit (another build's?)", path);
        dlclose(h);
        return -1;
    }
    loaded = ops; /* never closed: MPI stays loaded to the end of the process */
    return 0;
}

const cx_mpi_ops *cx_mpi_load(cx_error *err)
{
    if (loaded)
        return loaded;
    const char *env = getenv("CXFIT_MPI_MODULE");
    char dir[4096], path[4096 + 512], why[3][1024 + 64];
    if (env && *env) {
        if (try_open(env, why[0], sizeof why[0]) == 0)
            return loaded;
        cx_error_set(err, CX_EUSAGE, "cannot load the MPI module named by CXFIT_MPI_MODULE: %s",
                     why[0]);
        return NULL;
    }
    exe_dir(dir, sizeof dir);
    const char *where[3] = {"", CX_MPI_INSTALL_REL "/", CX_MPI_INSTALL_DIR "/"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s%s" CX_MPI_MODULE_NAME, k < 2 ? dir : "", where[k]);
        if (try_open(path, why[k], sizeof why[k]) == 0)
            return loaded;
    }
    cx_error_set(err, CX_EUSAGE,
                 "started by an MPI launcher, but the MPI module cannot be loaded (tried %s; %s; "
                 "%s): reinstall cxfit, set CXFIT_MPI_MODULE to the module's path, or run "
                 "without mpirun",
                 why[0], why[1], why[2]);
    return NULL;
}

#endif
