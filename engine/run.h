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
    int rank_part;           /* under mpirun: the shard is rank I-1 of N,  */
                             /* written to RESULTS.h5.rank-I-of-N.h5      */
} cx_run_options;

/* Returns the process exit status of the contract: 0 all jobs ok, 1 at
 * least one job failed, 2 usage/config error, 3 input/output error; `err`
 * says why for 2 and 3. */
int cx_run(const cx_run_options *opt, cx_error *err);

/* The results file a run of `opt` writes (-o, else [output] file). */
char *cx_run_results_path(const cx_run_options *opt, cx_error *err);
/* RESULTS.h5 -> RESULTS.part-I-of-N.h5 (the contract's name for a shard),
 * or RESULTS.h5.rank-I-of-N.h5 for a rank's part under mpirun (a working
 * file of the run, merged into RESULTS.h5 and removed by rank 0). */
char *cx_run_part_path(const char *path, int index, int count, int rank_part);

/* `mpirun -np R cxfit run ...` (engine/mpi_run.c): each rank runs its share
 * of the jobs, rank 0 merges the ranks' parts into the one results file.
 * cx_mpi_launched() tells whether this process was started by mpirun. */
int cx_mpi_launched(void);
int cx_run_mpi(const cx_run_options *opt, cx_error *err);

#endif
