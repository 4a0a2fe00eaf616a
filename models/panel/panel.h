/*
 * panel.h — internals of `model = panel` (models/panel/): the loaded,
 * sorted panel and the estimators that work on it.
 *
 * panel.c reads the job's keys, loads the view's rows sorted by (unit,
 * time), computes lag/lead/diff/growth on the time index and builds the
 * design matrix; panel_fit.c transforms it for each method (within,
 * between, first differences, random-effects quasi-demeaning), solves
 * the least-squares problem and computes the covariance matrices.
 */
#ifndef CX_PANEL_H
#define CX_PANEL_H

#include <stddef.h>

#include "cx_error.h"

typedef enum panel_method {
    PANEL_POOLING = 0,
    PANEL_WITHIN,
    PANEL_BETWEEN,
    PANEL_RANDOM,
    PANEL_FD
} panel_method;

typedef enum panel_effect { PANEL_INDIVIDUAL = 0, PANEL_TIME, PANEL_TWOWAYS } panel_effect;

typedef enum panel_se {
    PANEL_SE_CLASSICAL = 0,
    PANEL_SE_CLUSTER_UNIT, /* Arellano, plm's vcovHC(cluster = "group")  */
    PANEL_SE_CLUSTER_TIME, /* vcovHC(cluster = "time")                   */
    PANEL_SE_CLUSTER_TWO,  /* vcovDC: unit + time - white (HC0)          */
    PANEL_SE_DK            /* Driscoll-Kraay, plm's vcovSCC(maxlag = L)  */
} panel_se;

/* The complete rows of the panel, sorted by (unit, time). */
typedef struct panel_data {
    size_t n;       /* rows                                           */
    size_t p;       /* design columns, intercept included if any      */
    double *x;      /* n x p, column-major                            */
    double *y;      /* n                                              */
    size_t *unit;   /* dense unit code of each row, 0..n_units-1      */
    size_t *time;   /* dense period code of each row, 0..n_times-1    */
    size_t n_units; /* units and periods that have rows               */
    size_t n_times;
    long intercept; /* column of the intercept, -1 when none          */
    const char *const *names; /* column names (owned by the design)   */
} panel_data;

/* What a fit gives back; every array has p entries in the design's
 * column order, with NaN for columns the method cannot estimate
 * (the intercept of a within model, aliased columns). */
typedef struct panel_fit {
    double *beta, *se;
    double *vcov; /* p x p, column-major (NaN rows for dropped columns) */
    double r2, adj_r2;
    double nobs;        /* rows of the estimating regression          */
    double df_residual; /* as plm's df.residual                       */
    double sigma2;      /* RSS / df_residual                          */
    double stat;        /* F (chisq for random) of the slopes         */
    double stat_df1;
    double sigma2_idios, sigma2_effect, theta_mean; /* random only    */
    double sigma2_time; /* random twoways: the period component (effect = unit) */
    int n_dropped;           /* aliased columns dropped               */
    char dropped[256];       /* their names                           */
    int not_converged;       /* two-way demeaning did not converge    */
    double *resid;           /* n_resid residuals of the estimating
                                (transformed) regression, owned        */
    size_t n_resid;
} panel_fit;

typedef struct panel_options {
    panel_method method;
    panel_effect effect;
    panel_se se;
    long dk_lag; /* Driscoll-Kraay maximum lag, -1 = plm's default   */
} panel_options;

/* The loaded panel (panel_rows.c), with the buffers panel_data points into. */
typedef struct panel_rows {
    panel_data d;
    double *unit_value, *time_value; /* per kept row                         */
    size_t *table_row;               /* sorted position of each kept row     */
    unsigned char *held_out;         /* per kept row, NULL without holdout   */
} panel_rows;

struct cx_job;
struct cx_design;
/* Load the view's rows for design `des` (formula + the index columns as
 * extras), sorted by (unit, time), panel inputs computed, design built,
 * complete rows filled; held_out set when the job has a holdout. */
int panel_rows_load(const struct cx_job *job, struct cx_design *des, int unit_col, int time_col,
                    panel_rows *r, cx_error *err);
void panel_rows_free(panel_rows *r);
/* The rows with keep[i] != 0 (codes recomputed); the training rows. */
int panel_rows_select(const panel_rows *r, const unsigned char *keep, panel_rows *out,
                      cx_error *err);
int panel_rows_training(const panel_rows *r, panel_rows *out, cx_error *err);

int panel_fit_alloc(panel_fit *f, size_t p, cx_error *err);
void panel_fit_free(panel_fit *f);
/* Fit `opt` to `d`; CX_OK or CX_EFAIL with the reason. */
int panel_estimate(const panel_data *d, const panel_options *opt, panel_fit *f, cx_error *err);

/* Two-way within transform of the ncols columns v (n x ncols, column-
 * major) of panel d in place, by alternating projections as a two-way
 * within fit does; returns the total number of sweeps over all columns,
 * -1 (error set) when one did not converge.  For bench_panel_sweep. */
long panel_twoway_demean(const panel_data *d, double *v, size_t ncols, cx_error *err);

/* Stata's R² of any panel fit, by unit: with b the fit's slopes (no
 * intercept), within = cor(y - ybar_i, (x - xbar_i) b)², between =
 * cor(ybar_i, xbar_i b)², overall = cor(y, x b)² over the rows of d
 * (panel_r2.c).  out[0..2] = within, between, overall (NaN when a
 * correlation is undefined). */
void panel_r2_stata(const panel_data *d, const panel_fit *f, double out[3]);

/* Held-out rmse, mae, r2, n of a fit to the training rows of r (predict:
 * x b, plus training unit/period effects for within); *skipped counts the
 * held-out rows whose unit or period has no training rows. */
int panel_holdout_metrics(const panel_rows *r, const panel_options *o, const panel_fit *train,
                          double metrics[4], double *skipped, cx_error *err);

struct cx_result;
/* `compare` (panel_compare.c): the two models on their common rows; the
 * compare table and, through add_test(res, name, z, p), the J tests. */
int panel_compare(struct cx_result *res, const panel_rows *a, const panel_rows *b,
                  const char *fa_text, const char *fb_text, const panel_options *o,
                  int (*add_test)(struct cx_result *, const char *, double, double, cx_error *),
                  cx_error *err);

#endif
