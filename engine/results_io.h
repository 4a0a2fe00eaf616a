/*
 * results_io.h — the results HDF5 file (shared/DESIGN.md §5).
 *
 * A run writes RESULTS.h5.tmp: root provenance attributes first, then one
 * group per job as each job finishes (flushed from time to time, so an
 * interrupted run keeps its finished jobs for --resume), and renames it to
 * RESULTS.h5 only when every job is written.  Tables are groups of 1-D columns: float64, int64
 * or variable-length UTF-8 strings.  Writing is results_io.c; reading back
 * (results_read.c) treats the file as untrusted input: every object is
 * checked before it is read and anything unexpected is refused with one
 * line naming the file and the object.
 */
#ifndef CX_RESULTS_IO_H
#define CX_RESULTS_IO_H

#include "result.h"

typedef struct cx_results_file cx_results_file;

typedef struct cx_provenance {
    const char *config_text;
    int threads;
    int ranks;
    /* `--shard I/N` only (NULL otherwise): "I/N", and every job name of the
     * config in order, one per line, for `cxfit merge`. */
    const char *shard;
    const char *job_names;
} cx_provenance;

/* Create `tmp_path` (truncating) and write the root attributes. */
cx_results_file *cx_results_create(const char *tmp_path, const cx_provenance *prov, cx_error *err);
/* Write one job group; `spec` is the job's canonical config text (used by
 * --resume to know whether a stored job is still the job asked for). */
int cx_results_write_job(cx_results_file *f, const char *job, const char *model, const char *spec,
                         double elapsed_s, unsigned long seed, const cx_result *r, cx_error *err);
/* Copy job group `job` from an existing results file (for --resume). */
int cx_results_copy_job(cx_results_file *f, const char *src_path, const char *job, cx_error *err);
/* Put what is written so far on disk, so that a killed run's finished
 * jobs can be kept by --resume (the run decides how often: a flush costs
 * far more than writing one small job). */
void cx_results_flush(cx_results_file *f);
/* Remove whatever a failed write of `job` left behind (nothing if none). */
void cx_results_remove_job(cx_results_file *f, const char *job);
/* Flush and close; a results file that did not close cleanly is not to be
 * committed. */
int cx_results_close(cx_results_file *f, cx_error *err);

/* Reading back (show, --resume, @job tables). */
typedef struct cx_stored_job {
    char *name;
    char *model;
    char *status;
    char *spec;
} cx_stored_job;

/* The jobs stored in `path`, in file order.  free with cx_stored_jobs_free. */
int cx_results_list_jobs(const char *path, cx_stored_job **jobs, size_t *n, cx_error *err);
void cx_stored_jobs_free(cx_stored_job *jobs, size_t n);
/* Read a job's whole result back into memory. */
cx_result *cx_results_read_job(const char *path, const char *job, cx_error *err);
/* A root string attribute ("" when absent, NULL with err set when it is
 * not a scalar string); caller frees. */
char *cx_results_root_attr(const char *path, const char *name, cx_error *err);

#endif
