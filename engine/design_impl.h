/*
 * design_impl.h — the inside of cx_design, shared by design.c (resolving
 * names, coding terms into columns) and design_rows.c (the passes over
 * rows and the block fill).  Not for models: they use design.h.
 */
#ifndef CX_DESIGN_IMPL_H
#define CX_DESIGN_IMPL_H

#include "design.h"

/* Where a formula name's value comes from. */
typedef struct name_source {
    int is_score;
    size_t slot;                /* table name: its raw input column            */
    size_t score;               /* score name: index into cx_design.scores     */
    const cx_column_info *info; /* table name: the column        */
} name_source;

typedef struct used_score {
    const cx_score *scale;
    size_t *slots;          /* raw input column of each item              */
    double *lo, *hi;        /* each item's range (reverse keying)        */
    unsigned char *observe; /* range to be observed (no declared one) */
} used_score;

typedef struct var_info {
    int is_factor;
    size_t slot; /* panel variable: its raw input column          */
    /* factors: the levels found among complete rows, ascending raw values
     * (category codes or numbers), and their labels */
    size_t n_levels;
    double *levels;
    char **labels;
    const cx_column_info *column; /* categorical source, else NULL */
} var_info;

typedef struct col_spec {
    char *name;
    long term;             /* index into the term list; -1 = intercept       */
    long *level;           /* per variable of the term: level, -1 = numeric  */
    const cx_fterm *fterm; /* NULL for an intercept               */
} col_spec;

typedef struct col_set {
    size_t n;
    col_spec *cols;
} col_set;

typedef struct panel_input {
    cx_panel_op op;
    int k;
    int source; /* table column */
} panel_input;

struct cx_design {
    cx_design_spec spec;
    const cx_formula *f;
    const cx_table *t;
    size_t n_table, cap_table;
    int *table_cols;
    size_t n_panel;
    panel_input *panel;
    name_source *names; /* f->n_names */
    size_t n_scores;
    used_score *scores;
    var_info *vars;   /* f->n_vars */
    long weight_slot; /* -1: unit weights */
    size_t n_extra;
    size_t *extra_slots;
    char **extra_names;
    col_set x, z;
    size_t *z_bar;
    int needs_pass, needs_ranges, ranges_done, built;
    size_t rows_seen, rows_used;
    size_t max_items;         /* largest scale: scratch size */
    cx_design_ws *observe_ws; /* scratch of cx_design_observe    */
    char notes[1024];
};

/* One row's evaluation: name and variable values; 0 when the row is
 * incomplete.  Factor variables hold their raw value (code or number). */
int cx_design_eval_row(const cx_design *d, const double *raw, size_t ld, size_t i,
                       double *name_values, double *var_values, double *items);
/* Labels of the levels found, and the note on dropped rows and levels. */
int cx_design_finish_levels(cx_design *d, cx_error *err);
/* Level index of raw value x of factor variable v, or -1. */
long cx_design_level_of(const var_info *v, double x);

#endif
