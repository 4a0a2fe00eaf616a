/*
 * merge.h — `cxfit merge RESULTS.h5 PARTS...` (shared/DESIGN.md §7): the
 * parts written by `cxfit run --shard I/N` become one results file.
 */
#ifndef CX_MERGE_H
#define CX_MERGE_H

#include <stddef.h>

#include "cx_error.h"

/* Merge `n` part files into `output` (an existing results file is replaced
 * only with `force`); `ranks` is the root attribute to record (1, or the
 * number of MPI ranks whose parts these are).  CX_EUSAGE when the parts do not make one whole
 * study (another config, a shard missing or given twice, a job in no part
 * or in two), naming the part, shard or job; nothing is written then. */
int cx_merge(const char *output, const char *const *parts, size_t n, int force, int ranks,
             cx_error *err);

#endif
