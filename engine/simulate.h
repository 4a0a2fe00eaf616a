/*
 * simulate.h — `cxfit simulate`: a longitudinal CX panel with known truth
 * (shared/DESIGN.md §6; the generating model is in docs/SIMULATE.md).
 *
 * Writes three tables: /responses (one row per respondent), /firms (one
 * row per firm and wave) and /truth (the generating parameters, in
 * lavaan's lhs/op/rhs convention).  The output depends only on the
 * options: every firm and wave draws from its own GSL mt19937 stream
 * derived from `seed`, so the file is the same on every machine.
 */
#ifndef CX_SIMULATE_H
#define CX_SIMULATE_H

#include "cx_error.h"

typedef struct cx_simulate_options {
    long firms;       /* number of firms                               */
    long waves;       /* number of survey waves (time points)          */
    long respondents; /* respondents per firm per wave                 */
    long seed;        /* random seed                                   */
} cx_simulate_options;

/* 12 firms, 6 waves, 150 respondents per firm and wave (10800 rows), seed 1. */
void cx_simulate_defaults(cx_simulate_options *o);

/* Simulate into `out_h5`, written as OUT.h5.tmp and renamed when complete.
 * An existing `out_h5` is refused (CX_EUSAGE), never overwritten. */
int cx_simulate(const cx_simulate_options *o, const char *out_h5, cx_error *err);

/* The same with a respondent panel: `panel_percent` (0..100) of each
 * firm-wave's respondents are the firm's panel members, re-surveyed in
 * every wave (0 is exactly cx_simulate).  With a panel, /responses gains
 * the columns `panel` and `ltr_latent`, /truth gains the individual
 * trajectory rows and /truth_respondents is written (docs/SIMULATE.md,
 * "Respondent panels").  A separate entry point, not an options field, so
 * that positional initialisers of cx_simulate_options stay complete. */
int cx_simulate_panel(const cx_simulate_options *o, long panel_percent, const char *out_h5,
                      cx_error *err);

#endif
