/*
 * output.c — the results file's life cycle (output.h): refuse paths that
 * would destroy inputs or foreign files, gather --resume's sources without
 * touching the user's file, and commit a finished run atomically.
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "result.h"
#include "results_io.h"

static char *with_suffix(const char *path, const char *suffix, cx_error *err)
{
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *s = cx_calloc(n, 1, err);
    if (s)
        snprintf(s, n, "%s%s", path, suffix);
    return s;
}

int cx_output_init(cx_output *o, const char *path, cx_error *err)
{
    *o = (cx_output){0};
    o->path = cx_strdup(path, err);
    o->tmp = o->path ? with_suffix(path, ".tmp", err) : NULL;
    o->prev = o->tmp ? with_suffix(path, ".tmp.prev", err) : NULL;
    o->merge = o->prev ? with_suffix(path, ".tmp.merge", err) : NULL;
    return o->merge ? CX_OK : CX_ENOMEM;
}

void cx_output_free(cx_output *o)
{
    free(o->path);
    free(o->tmp);
    free(o->prev);
    free(o->merge);
    *o = (cx_output){0};
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Same file (device and inode), so links and ./x vs x are caught too. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int cx_output_refuse_inputs(const cx_output *o, const char *const *inputs,
                            const char *const *what, size_t n_inputs, cx_error *err)
{
    const char *mine[] = {o->path, o->tmp, o->prev, o->merge};
    for (size_t k = 0; k < sizeof mine / sizeof *mine; k++)
        for (size_t i = 0; i < n_inputs; i++)
            if (inputs[i] && same_file(mine[k], inputs[i]))
                return cx_error_set(err, CX_EUSAGE,
                                    "%s is %s of this run: a run never writes over what it "
                                    "reads; choose another results file (nothing was changed)",
                                    mine[k], what[i]);
    return CX_OK;
}

int cx_output_is_results_file(const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Fis_hdf5(path) <= 0)
        return 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return -1;
    htri_t version = H5Aexists(f, "cxfit_version"), config = H5Aexists(f, "config");
    H5Fclose(f);
    if (version < 0 || config < 0)
        return -1; /* damaged: its root object cannot be read */
    return version > 0 && config > 0;
}

static int make_parent_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* 1 when `path` is an empty file or an HDF5 file with nothing in it: what
 * a run killed right after creating its working file leaves behind. */
static int is_empty_start(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && sb.st_size == 0)
        return 1;
    if (H5Fis_hdf5(path) <= 0)
        return 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return 0;
    H5G_info_t members;
    H5O_info_t info;
    int empty = H5Gget_info(f, &members) >= 0 && members.nlinks == 0 &&
                H5Oget_info2(f, &info, H5O_INFO_NUM_ATTRS) >= 0 && info.num_attrs == 0;
    H5Fclose(f);
    return empty;
}

/* A working file may be replaced only when cxfit made it: a results file,
 * HDF5 that a killed run left unreadable, or an empty start. */
static int refuse_foreign_working_file(const char *path, cx_error *err)
{
    if (!file_exists(path) || cx_output_is_results_file(path) != 0 || is_empty_start(path))
        return CX_OK;
    return cx_error_set(err, CX_EUSAGE,
                        "%s exists and is not a cxfit working file; cxfit writes its results "
                        "there first, so move that file away (nothing was changed)",
                        path);
}

int cx_output_claim(cx_output *o, int force, int resume, cx_error *err)
{
    if (file_exists(o->path)) {
        int kind = cx_output_is_results_file(o->path);
        if (kind != 1)
            return cx_error_set(err, CX_EUSAGE,
                                "%s exists and is not a cxfit results file%s; cxfit replaces "
                                "only its own results files: choose another path (nothing "
                                "was changed)",
                                o->path, kind < 0 ? " (HDF5 that cannot be opened)" : "");
        if (!force && !resume)
            return cx_error_set(err, CX_EUSAGE,
                                "%s exists; use --resume to finish it or --force to replace "
                                "it",
                                o->path);
    }
    const char *work[] = {o->tmp, o->prev, o->merge};
    for (size_t k = 0; k < 3; k++)
        if (refuse_foreign_working_file(work[k], err))
            return CX_EUSAGE;
    if (make_parent_dirs(o->path) != 0)
        return cx_error_set(err, CX_EIO, "%s: cannot create its directory", o->path);
    return CX_OK;
}

/* ---- durability ----------------------------------------------------------- */

static int fsync_path(const char *path, int directory)
{
    int fd = open(path, O_RDONLY | (directory ? O_DIRECTORY : 0));
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int fsync_parent_dir(const char *path)
{
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return -1;
    char *slash = strrchr(dir, '/');
    if (!slash)
        return fsync_path(".", 1);
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    return fsync_path(dir, 1);
}

/* rename(2) with the file's bytes and the new name both on disk. */
static int durable_rename(const char *from, const char *to, cx_error *err)
{
    if (fsync_path(from, 0) != 0)
        return cx_error_set(err, CX_EIO, "%s: cannot sync to disk: %s", from, strerror(errno));
    if (rename(from, to) != 0)
        return cx_error_set(err, CX_EIO, "%s: cannot rename to %s: %s", from, to,
                            strerror(errno));
    if (fsync_parent_dir(to) != 0)
        return cx_error_set(err, CX_EIO, "%s: cannot sync its directory: %s", to,
                            strerror(errno));
    return CX_OK;
}

void cx_test_die_at(const char *point)
{
    const char *at = getenv("CXFIT_TEST_DIE_AT");
    if (at && strcmp(at, point) == 0)
        _exit(137);
}

int cx_output_commit(cx_output *o, cx_error *err)
{
    cx_test_die_at("before_commit");
    int rc = durable_rename(o->tmp, o->path, err);
    if (rc)
        return rc;
    cx_test_die_at("after_commit");
    /* The interrupted run's jobs now live in the committed file. */
    if (file_exists(o->prev) && remove(o->prev) == 0)
        fsync_parent_dir(o->prev);
    return CX_OK;
}

/* ---- --resume's sources ----------------------------------------------------- */

static int already_listed(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* Copy the usable jobs of `srcs` (newest first; a name is taken once) into
 * a new file `dst`. */
static int merge_partials(const char *dst, const char *const *srcs, size_t n_srcs,
                          const char *config_text, cx_error *err)
{
    cx_provenance prov = {config_text, 1, 1, NULL, NULL};
    cx_results_file *f = cx_results_create(dst, &prov, err);
    if (!f)
        return err->code;
    char **names = NULL;
    size_t n_names = 0;
    int rc = CX_OK;
    for (size_t s = 0; s < n_srcs && rc == CX_OK; s++) {
        cx_stored_job *jobs;
        size_t n;
        if (cx_results_list_jobs(srcs[s], &jobs, &n, err) != CX_OK)
            continue; /* unreadable: a run killed while writing it */
        for (size_t j = 0; j < n && rc == CX_OK; j++) {
            cx_job_status status;
            if (cx_status_parse(jobs[j].status, &status) != 0 || status == CX_STATUS_FAILED ||
                already_listed(names, n_names, jobs[j].name))
                continue;
            char **grown = realloc(names, (n_names + 1) * sizeof *names);
            if (!grown || !(grown[n_names] = strdup(jobs[j].name))) {
                names = grown ? grown : names;
                rc = cx_error_set(err, CX_ENOMEM, "out of memory");
                break;
            }
            names = grown;
            n_names++;
            rc = cx_results_copy_job(f, srcs[s], jobs[j].name, err);
        }
        cx_stored_jobs_free(jobs, n);
    }
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    int close_rc = cx_results_close(f, rc ? NULL : err);
    return rc ? rc : close_rc;
}

/* Leave at most one interrupted run's file, RESULTS.h5.tmp.prev, holding
 * every finished job of earlier interrupted runs, and free the .tmp name. */
static int gather_partials(cx_output *o, const char *config_text, cx_error *err)
{
    int have_tmp = cx_output_is_results_file(o->tmp) == 1;
    int have_prev = cx_output_is_results_file(o->prev) == 1;
    if (have_tmp && !have_prev)
        return durable_rename(o->tmp, o->prev, err);
    if (have_tmp && have_prev) {
        const char *srcs[] = {o->tmp, o->prev};
        int rc = merge_partials(o->merge, srcs, 2, config_text, err);
        if (rc == CX_OK)
            rc = durable_rename(o->merge, o->prev, err);
        if (rc != CX_OK) {
            remove(o->merge);
            return rc;
        }
        cx_test_die_at("after_merge");
    }
    return CX_OK;
}

int cx_output_prepare_resume(cx_output *o, const char *config_text, cx_error *err)
{
    int rc = gather_partials(o, config_text, err);
    if (rc)
        return rc;
    o->n_sources = 0;
    if (cx_output_is_results_file(o->prev) == 1)
        o->sources[o->n_sources++] = o->prev;
    if (file_exists(o->path))
        o->sources[o->n_sources++] = o->path;
    return CX_OK;
}

void cx_file_fingerprint(const char *path, char *buf, size_t size)
{
    struct stat sb;
    if (!path || stat(path, &sb) != 0) {
        snprintf(buf, size, "missing");
        return;
    }
    snprintf(buf, size, "size=%lld mtime=%lld.%09ld", (long long)sb.st_size,
             (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
}
