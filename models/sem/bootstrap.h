/*
 * bootstrap.h — `bootstrap = B` for cfa/sem/growth (internal to
 * models/sem): the replicate estimates of every `by` level, and from them
 * lavaan's se = "bootstrap" standard errors and percentile, normal and
 * BCa confidence intervals (docs/models/cfa.md, "Bootstrap").
 *
 * The replicates are fitted from Poisson-weighted moments of the job's
 * single pass (sem_data.h); this module only collects their estimates
 * (one slot per level and replicate, written by whichever thread fitted
 * it) and turns them into the job's tables.
 */
#ifndef CX_SEM_BOOTSTRAP_H
#define CX_SEM_BOOTSTRAP_H

#include "../../engine/result.h"
#include "partable.h"

typedef struct sem_boot sem_boot;

sem_boot *sem_boot_alloc(size_t n_levels, size_t n_replicates, cx_error *err);
void sem_boot_free(sem_boot *b);
/* Replicate r of level l: the estimates of a converged fit, or NULL for
 * a replicate that failed (not converged, not identified ...). */
void sem_boot_store(sem_boot *b, size_t l, size_t r, const sem_partable *pt);
/* Replicate r of level l's estimates as bytes (none: a failed replicate)
 * and back, for MPI ranks that fitted different replicates (dist.h). */
size_t sem_boot_pack(const sem_boot *b, size_t l, size_t r, void *buf);
int sem_boot_unpack(sem_boot *b, size_t l, size_t r, const void *buf, size_t size, cx_error *err);

/* Level l's bootstrap into its result: `estimates` se (and z, pvalue)
 * become the bootstrap SEs and ci_lower/ci_upper the percentile CI; the
 * `bootstrap` table holds every interval; attributes say the se type and
 * how many replicates failed. */
int sem_boot_write(const sem_boot *b, size_t l, cx_result *res, cx_error *err);

#endif
