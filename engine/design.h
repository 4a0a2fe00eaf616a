/*
 * design.h — a parsed formula resolved against a table: the design matrix
 * X (R's model.matrix columns, names and order), the outcome y, weights,
 * and the columns a family needs alongside (cluster, panel index, random
 * grouping factors), filled block by block as the rows stream.
 *
 * Life cycle (GSL style: the caller owns everything it passes in):
 *
 *   d = cx_design_alloc(&spec, view->table, err);  names resolved, no rows read
 *   cx_design_prepare(d, view, err);               first pass(es), columns fixed
 *   ws = cx_design_ws_alloc(d, err);               one per thread
 *   per block of raw rows (the view's rows of cx_design_inputs()):
 *       n_used = cx_design_fill(d, ws, raw, ld, n, &out, err);
 *   cx_design_ws_free(ws); cx_design_free(d);
 *
 * The first pass (cx_design_prepare) is needed only when the formula has
 * factors or reverse-keyed score items: it reads every column the design
 * uses, finds the complete rows (listwise, as R's na.omit) and, among
 * them, each factor's levels — for categorical columns the `categories`
 * that have rows, for factor(x) over a numeric column its sorted distinct
 * values.  Levels without complete rows are dropped, as lm() does
 * (model.frame(drop.unused.levels = TRUE)); cx_design_notes() says which.
 * Reverse-keyed score items need their range: the declared one
 * (categorical: 0..k-1) or the observed min and max over the whole table
 * (one extra pass over just those items).
 *
 * Panel families (lag/lead/diff/growth) cannot stream: they load the
 * view, sort it by (unit, time), compute the panel inputs with
 * cx_panel_transform and then call cx_design_scan_ranges,
 * cx_design_observe (on the loaded rows) and cx_design_build themselves.
 */
#ifndef CX_DESIGN_H
#define CX_DESIGN_H

#include <stddef.h>

#include "formula.h"
#include "scores.h"
#include "view.h"

typedef struct cx_design_spec {
    const cx_formula *formula;
    const cx_scores *scores;  /* may be NULL                                  */
    const char *weights;      /* weight column, or NULL for unit weights      */
    const char *const *extra; /* columns delivered alongside, listwise too    */
    size_t n_extra;
    int allow_panel;  /* the family supplies lag/lead/diff/growth inputs    */
    int allow_random; /* the family fits (x | g) terms (mixed)              */
} cx_design_spec;

typedef struct cx_design cx_design;

cx_design *cx_design_alloc(const cx_design_spec *spec, const cx_table *t, cx_error *err);
void cx_design_free(cx_design *d);

/* The raw block cx_design_fill reads: column-major, one column per input:
 * first the table columns *table_cols[0..n_table-1] (what to ask the view
 * for), then one column per panel input (cx_design_panel_input). */
const int *cx_design_inputs(const cx_design *d, size_t *n_table);
size_t cx_design_n_panel_inputs(const cx_design *d);
/* Panel input i is transform `op` of order k of table column *source. */
void cx_design_panel_input(const cx_design *d, size_t i, cx_panel_op *op, int *k, int *source);

/* The whole first pass for streaming families: ranges, observe, build. */
int cx_design_prepare(cx_design *d, const cx_view *v, cx_error *err);
/* Its three steps, for families that hold the rows themselves. */
int cx_design_scan_ranges(cx_design *d, const cx_view *v, cx_error *err);
int cx_design_observe(cx_design *d, const double *raw, size_t ld, size_t n, cx_error *err);
int cx_design_build(cx_design *d, cx_error *err);

/* After build: the fixed-effects columns, R's names ("(Intercept)",
 * "segment[b]", "segment[b]:pex", "I(x^2)"). */
size_t cx_design_ncols(const cx_design *d);
const char *cx_design_colname(const cx_design *d, size_t j);
/* Index of the formula term column j belongs to; -1 for the intercept. */
long cx_design_col_term(const cx_design *d, size_t j);
/* Random-effect columns (all bars, concatenated; lme4's names: "(Intercept)",
 * "wave") and which bar each belongs to. */
size_t cx_design_nzcols(const cx_design *d);
const char *cx_design_zcolname(const cx_design *d, size_t j);
size_t cx_design_zcol_bar(const cx_design *d, size_t j);
/* Extra columns: spec->extra, then every random grouping column once. */
size_t cx_design_nextra(const cx_design *d);
const char *cx_design_extraname(const cx_design *d, size_t j);
/* The raw block slot extra column j is read from. */
size_t cx_design_extra_slot(const cx_design *d, size_t j);
/* Factor outcome (factor(y) or a categorical y): its levels; y holds the
 * level index 0..k-1.  0 levels = numeric outcome. */
size_t cx_design_outcome_levels(const cx_design *d, const char *const **labels);
/* Rows the first pass saw and kept (0/0 when no pass was needed), and a
 * one-line note about dropped rows and empty levels ("" when none). */
void cx_design_rows(const cx_design *d, size_t *seen, size_t *used);
const char *cx_design_notes(const cx_design *d);

typedef struct cx_design_ws cx_design_ws;
cx_design_ws *cx_design_ws_alloc(const cx_design *d, cx_error *err);
void cx_design_ws_free(cx_design_ws *w);
/* Rows seen and used by all fills through this workspace. */
void cx_design_ws_rows(const cx_design_ws *w, size_t *seen, size_t *used);

/* Where a fill writes, for the m <= n rows it keeps (NULL = not wanted).
 * x: m x ncols, row-major (x[i*ldx + j]) or column-major (x[j*ldx + i]);
 * z likewise with ldz; y, w: m values (w is 1 without a weights column);
 * extra: m x nextra column-major with lde; kept: the raw row of each. */
typedef struct cx_design_out {
    int row_major;
    double *x;
    size_t ldx;
    double *z;
    size_t ldz;
    double *y;
    double *w;
    double *extra;
    size_t lde;
    size_t *kept;
} cx_design_out;

/* Rows whose used values are all present (and whose factor levels are
 * known to the design) are kept; returns how many, or -1 with err set
 * (a negative weight). */
long cx_design_fill(const cx_design *d, cx_design_ws *w, const double *raw, size_t ld, size_t n,
                    const cx_design_out *out, cx_error *err);

/* One block's kept design rows: the buffers every streaming consumer of a
 * design fills (engine/rowpass.c, the ols cross-products and scores),
 * allocated once per thread and grown to the block size on demand.
 * Layouts: CX_ROWS_ROW_MAJOR, X row-major (x[i*p + j]) with y apart; or
 * CX_ROWS_XY_COLUMNS, column-major [X y] (x[j*cap + i], y = column p):
 * what one DSYRK of the cross-products Z'Z reads.  extra: column-major,
 * leading dimension cap; kept: the raw block row of each kept row. */
typedef enum cx_rows_layout { CX_ROWS_ROW_MAJOR, CX_ROWS_XY_COLUMNS } cx_rows_layout;

typedef struct cx_design_buf {
    cx_rows_layout layout;
    size_t p, ne; /* design columns, extra columns                     */
    size_t cap;   /* rows the buffers hold                             */
    size_t m;     /* rows kept by the last fill                        */
    double *x, *y, *w, *extra;
    size_t *kept;
} cx_design_buf;

/* Empty buffers for d's rows in `layout` (nothing allocated yet). */
void cx_design_buf_init(cx_design_buf *r, const cx_design *d, cx_rows_layout layout);
/* Room for n rows (contents are lost when they grow). */
int cx_design_buf_reserve(cx_design_buf *r, size_t n, cx_error *err);
void cx_design_buf_free(cx_design_buf *r);
/* cx_design_fill of n raw rows into r (reserving room): r->m rows kept;
 * returns r->m or -1 with err set. */
long cx_design_buf_fill(const cx_design *d, cx_design_ws *ws, cx_design_buf *r, const double *raw,
                        size_t ld, size_t n, cx_error *err);

/* The direct map of a design read straight from the raw block: when
 * every column of X is the intercept or a numeric table column as it is
 * (no factor, expression, score, panel input, interaction or random
 * term), the outcome too, and there is no weights column, a block whose
 * rows are all complete has X = those raw columns, so its cross-products
 * can be taken from the raw block with no fill.  Returns 1 with
 * xslot[j] = the raw slot of X column j (-1: the intercept), *yslot the
 * outcome's, and check[0..*n_check-1] every slot a row needs present
 * (variables and extra columns, once each; room for cx_design_inputs'
 * n_table); 0 when the design is not direct. */
int cx_design_direct(const cx_design *d, long *xslot, size_t *yslot, size_t *check,
                     size_t *n_check);
/* Counts rows a caller took directly (cx_design_direct) as seen and used
 * by this workspace, as a fill keeping them all would. */
void cx_design_ws_count(cx_design_ws *w, size_t seen, size_t used);

/* Which columns are aliased (linear combinations of earlier ones), as R's
 * lm reports NA coefficients: a Cholesky factorisation of the p x p
 * cross-product matrix xtx (column-major, upper triangle used) that skips
 * a column whose residual norm is below tol (R: 1e-7) times its own norm.
 * aliased[j] = 1 for those; msg gets "aliased: a, b" or "".  Returns the
 * number aliased, or -1 with err set. */
long cx_design_aliased(const double *xtx, size_t p, const char *const *names, double tol,
                       int *aliased, char *msg, size_t msg_size, cx_error *err);

#endif
