/*
 * report_charts.h — the charts of `cxfit report`, each one inline <svg>.
 *
 * A chart takes plain arrays or one stored table and writes one complete
 * <svg> element; it returns the number of marks drawn, and writes nothing
 * and returns 0 when there is nothing to draw (the report then leaves the
 * figure out).  Every label is escaped by the SVG writer.
 */
#ifndef CX_REPORT_CHARTS_H
#define CX_REPORT_CHARTS_H

#include <stdio.h>

#include "result.h"

/* Item distributions: one 100 % stacked bar per item from a describe
 * `frequencies` table (item, value, count); counts of all `by` levels are
 * added up.  Items with more than 11 distinct values are left out. */
size_t chart_distributions(FILE *out, const cx_rtable *freq);

/* Heat map of values in [-1, 1] (loadings): rows x cols, row-major, NaN
 * cells left empty. */
size_t chart_heatmap(FILE *out, const char *title, const char *const *rows, size_t nr,
                     const char *const *cols, size_t nc, const double *values);

/* Loadings heat map: std_all of the `=~` rows of group `group` (0 = single
 * group) of an estimates table; indicators down, factors across. */
size_t chart_loadings(FILE *out, const cx_rtable *est, long long group);

/* Path diagram of a fitted CFA/SEM, group `group`: latent variables as
 * ellipses, observed ones as boxes, loadings and regressions as arrows and
 * covariances as dashed arcs, labelled with standardized estimates. */
size_t chart_path(FILE *out, const cx_rtable *est, long long group);

/* Coefficient plot: a dot per estimate with its confidence interval as a
 * whisker and a line at zero. */
size_t chart_coefs(FILE *out, const char *title, const char *const *labels, const double *est,
                   const double *lo, const double *hi, size_t n);

/* A line over x with a confidence band (lo, hi), on the y range [ymin, ymax]
 * (shared by the panels of one figure). */
size_t chart_line_ci(FILE *out, const char *title, const char *xlabel, const double *x,
                     const double *y, const double *lo, const double *hi, size_t n, double ymin,
                     double ymax);

/* Scree plot: eigenvalues by factor number, with the parallel-analysis
 * eigenvalues (NULL when not computed) as a dashed line. */
size_t chart_scree(FILE *out, const double *eigen, const double *parallel, size_t n);

/* Horizontal bars (driver importance), longest first as given. */
size_t chart_bars(FILE *out, const char *title, const char *const *labels, const double *values,
                  size_t n);

#endif
