/*
 * run.h — `cxfit run` and `cxfit check`: from a config to a results file.
 */
#ifndef CX_RUN_H
#define CX_RUN_H

#include "cx_error.h"

typedef struct cx_run_options {
    const char *config_path;
    const char *output_path; /* -o; NULL = [output] file of the config     */
    int threads;             /* -j; 0 = all cores                          */
    int force;               /* overwrite an existing results file         */
    int resume;              /* keep finished jobs of an existing file     */
    int quiet;               /* no progress on stderr                      */
    int check_only;          /* `cxfit check`: validate, fit nothing       */
    int shard_index;         /* --shard I/N: I (1-based); 0 = no sharding  */
    int shard_count;         /* N                                          */
} cx_run_options;

/* Returns the process exit status of the contract: 0 all jobs ok, 1 at
 * least one job failed, 2 usage/config error, 3 input/output error; `err`
 * says why for 2 and 3. */
int cx_run(const cx_run_options *opt, cx_error *err);

#endif
