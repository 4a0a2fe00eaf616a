/*
 * output.h — the results file's life cycle: which path a run may write,
 * what it may replace, where `--resume` finds finished jobs, and the
 * atomic commit that makes a new results file appear whole or not at all.
 *
 * The rule (SQLite's and Redis's recipe): the user's results file is never
 * moved or removed.  A run writes RESULTS.h5.tmp, fsyncs it, renames it
 * over RESULTS.h5 and fsyncs the directory, so a kill at any moment leaves
 * the old complete file or the new complete one at the path.  The only
 * files cxfit itself moves or removes are its own working files next to
 * it, all named after the output:
 *   RESULTS.h5.tmp        the run being written;
 *   RESULTS.h5.tmp.prev   an interrupted run's finished jobs, kept for
 *                         `--resume` until a later run commits;
 *   RESULTS.h5.tmp.merge  two interrupted runs' jobs being merged into one
 *                         .tmp.prev (only while `--resume` starts).
 */
#ifndef CX_OUTPUT_H
#define CX_OUTPUT_H

#include <stddef.h>

#include "cx_error.h"

typedef struct cx_output {
    char *path;  /* RESULTS.h5                                        */
    char *tmp;   /* RESULTS.h5.tmp                                    */
    char *prev;  /* RESULTS.h5.tmp.prev                               */
    char *merge; /* RESULTS.h5.tmp.merge                              */
    /* --resume: results files to take finished jobs from, newest first
     * (RESULTS.h5.tmp.prev, then RESULTS.h5); they stay untouched. */
    const char *sources[2];
    size_t n_sources;
} cx_output;

int cx_output_init(cx_output *o, const char *path, cx_error *err);
void cx_output_free(cx_output *o);

/* Refuse (CX_EUSAGE) when the results path or one of its working files is
 * one of the run's inputs (`what[i]` says which: "the config", "data of
 * job 'x'"): a run never writes over what it reads. */
int cx_output_refuse_inputs(const cx_output *o, const char *const *inputs,
                            const char *const *what, size_t n_inputs, cx_error *err);

/* May this run write the path?  A new path always; an existing file only
 * with --force or --resume, and only when it is a cxfit results file.  The
 * working files must be cxfit's own (or absent).  Creates the parent
 * directories.  Nothing is moved or removed. */
int cx_output_claim(cx_output *o, int force, int resume, cx_error *err);

/* --resume: merge the finished jobs of interrupted runs (RESULTS.h5.tmp,
 * RESULTS.h5.tmp.prev) into RESULTS.h5.tmp.prev and list the sources. */
int cx_output_prepare_resume(cx_output *o, const char *config_text, cx_error *err);

/* The written RESULTS.h5.tmp (closed) becomes RESULTS.h5: fsync the file,
 * rename, fsync the directory, then remove RESULTS.h5.tmp.prev. */
int cx_output_commit(cx_output *o, cx_error *err);

/* 1 when `path` is an HDF5 file with the root attributes of a cxfit
 * results file, 0 when it is not, -1 when it is HDF5 that cannot be
 * opened or read (e.g. a run killed while writing it). */
int cx_output_is_results_file(const char *path);

/* "size=N mtime=S.NNNNNNNNN" of a file, to notice data that changed under
 * the same path; "missing" when it cannot be read. */
void cx_file_fingerprint(const char *path, char *buf, size_t size);

/* A test hook: when CXFIT_TEST_DIE_AT equals `point`, die at once as a
 * killed process would (no cleanup).  Used by the kill-safety tests. */
void cx_test_die_at(const char *point);

#endif
