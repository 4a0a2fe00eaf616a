/*
 * design.c — resolving a formula against a table and coding its terms
 * into design columns exactly as R's model.matrix does (treatment
 * contrasts, first level the reference; R's rules for when an interaction
 * uses full indicator coding; R's column order and names, with factor
 * levels written `segment[b]` as the results contract wants).
 *
 * The passes over rows live in design_rows.c.
 */
#include "design_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "formula_expr.h"

#define MAX_DESIGN_COLS 1000000

/* ---- resolution ------------------------------------------------------------ */

static size_t slot_for(cx_design *d, int col, cx_error *err)
{
    for (size_t i = 0; i < d->n_table; i++)
        if (d->table_cols[i] == col)
            return i;
    if (d->n_table == d->cap_table) {
        size_t cap = d->cap_table ? 2 * d->cap_table : 16;
        int *c = realloc(d->table_cols, cap * sizeof *c);
        if (!c) {
            cx_error_set(err, CX_ENOMEM, "out of memory building the design");
            return (size_t)-1;
        }
        d->table_cols = c;
        d->cap_table = cap;
    }
    d->table_cols[d->n_table] = col;
    return d->n_table++;
}

/* Unknown name: say where, and what is close among columns and scales. */
static int unknown_name(const cx_design *d, const char *name, size_t pos, cx_error *err)
{
    size_t nc = cx_table_ncols(d->t), ns = d->spec.scores ? d->spec.scores->n : 0;
    const char **cand = calloc(nc + ns + 1, sizeof *cand);
    const char *hint = NULL;
    if (cand) {
        for (size_t i = 0; i < nc; i++)
            cand[i] = cx_table_column(d->t, i)->name;
        for (size_t i = 0; i < ns; i++)
            cand[nc + i] = d->spec.scores->scales[i].name;
        hint = cx_did_you_mean(name, cand);
    }
    cx_error_set(err, CX_EUSAGE,
                 "formula, at character %zu ('%s'): unknown column '%s' in table %s%s%s%s", pos,
                 name, name, cx_table_label(d->t), hint ? " (did you mean '" : "", hint ? hint : "",
                 hint ? "'?)" : "");
    free(cand);
    return CX_EUSAGE;
}

/* Strings and unusable datasets cannot enter a design (the table says why). */
static int numeric_column(const cx_design *d, int col, cx_error *err)
{
    return cx_table_check_numeric(d->t, (size_t)col, err);
}

static int resolve_score(cx_design *d, size_t k, long s, cx_error *err)
{
    const cx_score *scale = &d->spec.scores->scales[s];
    for (size_t i = 0; i < d->n_scores; i++)
        if (d->scores[i].scale == scale) {
            d->names[k] = (name_source){.is_score = 1, .score = i};
            return CX_OK;
        }
    size_t index = d->n_scores++; /* counted now so cx_design_free frees it */
    used_score *u = &d->scores[index];
    u->scale = scale;
    u->slots = cx_calloc(scale->n_items, sizeof *u->slots, err);
    u->lo = cx_calloc(scale->n_items, sizeof *u->lo, err);
    u->hi = cx_calloc(scale->n_items, sizeof *u->hi, err);
    u->observe = cx_calloc(scale->n_items, 1, err);
    if (!u->slots || !u->lo || !u->hi || !u->observe)
        return CX_ENOMEM;
    d->names[k] = (name_source){.is_score = 1, .score = index};
    if (scale->n_items > d->max_items)
        d->max_items = scale->n_items;
    for (size_t i = 0; i < scale->n_items; i++) {
        int col = cx_table_find(d->t, scale->items[i]);
        if (col < 0)
            return cx_error_set(err, CX_EUSAGE,
                                "scores: scale %s: unknown item column '%s' in "
                                "table %s",
                                scale->name, scale->items[i], cx_table_label(d->t));
        const cx_column_info *c = cx_table_column(d->t, (size_t)col);
        if (numeric_column(d, col, err)) {
            cx_error_prefix(err, "scores: scale %s", scale->name);
            return err->code;
        }
        if ((u->slots[i] = slot_for(d, col, err)) == (size_t)-1)
            return err->code;
        if (scale->reverse[i] && c->kind == CX_COL_CATEGORICAL) { /* declared range */
            u->lo[i] = 0;
            u->hi[i] = (double)c->n_categories - 1;
        } else if (scale->reverse[i]) {
            u->observe[i] = 1;
            u->lo[i] = INFINITY; /* min and max found by cx_design_scan_ranges */
            u->hi[i] = -INFINITY;
            d->needs_ranges = 1;
        }
    }
    return CX_OK;
}

/* Every name of the formula: a table column or a scale. */
static int resolve_names(cx_design *d, cx_error *err)
{
    const cx_formula *f = d->f;
    const cx_scores *sc = d->spec.scores;
    for (size_t i = 0; sc && i < sc->n; i++)
        if (cx_table_find(d->t, sc->scales[i].name) >= 0)
            return cx_error_set(err, CX_EUSAGE,
                                "scores: scale %s has the name of a column of table %s; expected "
                                "a new name",
                                sc->scales[i].name, cx_table_label(d->t));
    for (size_t k = 0; k < f->n_names; k++) {
        long s = cx_scores_find(sc, f->names[k]);
        if (s >= 0) {
            if (resolve_score(d, k, s, err))
                return err->code;
            continue;
        }
        int col = cx_table_find(d->t, f->names[k]);
        if (col < 0)
            return unknown_name(d, f->names[k], f->name_pos[k], err);
        const cx_column_info *c = cx_table_column(d->t, (size_t)col);
        if (numeric_column(d, col, err)) {
            cx_error_prefix(err, "formula, at character %zu ('%s')", f->name_pos[k], f->names[k]);
            return err->code;
        }
        size_t slot = slot_for(d, col, err);
        if (slot == (size_t)-1)
            return err->code;
        d->names[k] = (name_source){.slot = slot, .info = c};
    }
    return CX_OK;
}

static int refuse_var(const cx_design *d, const cx_fvar *v, const char *why, cx_error *err)
{
    (void)d;
    return cx_error_set(err, CX_EUSAGE, "formula, at character %zu ('%s'): %s", v->pos, v->label,
                        why);
}

/* Arithmetic on category codes is meaningless (R refuses it too). */
static int uses_categorical(const cx_design *d, const cx_fexpr *e)
{
    if (!e)
        return 0;
    if (e->op == CX_FX_NAME)
        return !d->names[e->name].is_score && d->names[e->name].info->kind == CX_COL_CATEGORICAL;
    return uses_categorical(d, e->a) || uses_categorical(d, e->b);
}

/* The kind of every variable, now that its columns are known. */
static int resolve_vars(cx_design *d, cx_error *err)
{
    const cx_formula *f = d->f;
    for (size_t i = 0; i < f->n_vars; i++) {
        const cx_fvar *v = &f->vars[i];
        var_info *vi = &d->vars[i];
        const name_source *src = v->kind == CX_FVAR_EXPR ? NULL : &d->names[v->name];
        if (src && src->is_score && v->kind != CX_FVAR_COLUMN)
            return refuse_var(d, v, "expected a table column here, not a scale score", err);
        int categorical = src && !src->is_score && src->info->kind == CX_COL_CATEGORICAL;
        vi->is_factor = v->kind == CX_FVAR_FACTOR || (v->kind == CX_FVAR_COLUMN && categorical);
        vi->column = categorical ? src->info : NULL;
        d->needs_pass |= vi->is_factor;
        if (v->kind == CX_FVAR_EXPR && uses_categorical(d, v->expr))
            return refuse_var(d, v,
                              "a categorical column in arithmetic; expected numeric "
                              "columns (write factor(x) for categories)",
                              err);
        if (v->kind == CX_FVAR_PANEL) {
            if (!d->spec.allow_panel)
                return refuse_var(d, v,
                                  "a panel transform needs model = panel with index = "
                                  "unit time; expected plain columns",
                                  err);
            if (categorical)
                return refuse_var(d, v, "expected a numeric column to lag or difference", err);
            panel_input *p = realloc(d->panel, (d->n_panel + 1) * sizeof *p);
            if (!p)
                return cx_error_set(err, CX_ENOMEM, "out of memory building the design");
            d->panel = p;
            p[d->n_panel] = (panel_input){v->panel_op, v->panel_k, d->table_cols[src->slot]};
            vi->slot = d->n_panel++; /* made absolute once the table slots are final */
        }
    }
    return CX_OK;
}

static int add_extra(cx_design *d, const char *name, cx_error *err)
{
    for (size_t i = 0; i < d->n_extra; i++)
        if (!strcmp(d->extra_names[i], name))
            return CX_OK;
    int col = cx_table_find(d->t, name);
    if (col < 0) {
        const char *hint = NULL;
        size_t nc = cx_table_ncols(d->t);
        const char **cand = calloc(nc + 1, sizeof *cand);
        for (size_t i = 0; cand && i < nc; i++)
            cand[i] = cx_table_column(d->t, i)->name;
        hint = cand ? cx_did_you_mean(name, cand) : NULL;
        cx_error_set(err, CX_EUSAGE, "unknown column '%s' in table %s%s%s%s", name,
                     cx_table_label(d->t), hint ? " (did you mean '" : "", hint ? hint : "",
                     hint ? "'?)" : "");
        free(cand);
        return CX_EUSAGE;
    }
    if (numeric_column(d, col, err))
        return err->code;
    size_t slot = slot_for(d, col, err);
    char *copy = cx_strdup(name, err);
    if (slot == (size_t)-1 || !copy) {
        free(copy);
        return err->code;
    }
    d->extra_slots[d->n_extra] = slot;
    d->extra_names[d->n_extra++] = copy;
    return CX_OK;
}

static int resolve_roles(cx_design *d, cx_error *err)
{
    const cx_formula *f = d->f;
    size_t cap = d->spec.n_extra;
    for (size_t r = 0; r < f->n_random; r++)
        cap += f->random[r].n_group;
    d->extra_slots = cx_calloc(cap + 1, sizeof *d->extra_slots, err);
    d->extra_names = cx_calloc(cap + 1, sizeof *d->extra_names, err);
    if (!d->extra_slots || !d->extra_names)
        return CX_ENOMEM;
    for (size_t i = 0; i < d->spec.n_extra; i++)
        if (add_extra(d, d->spec.extra[i], err))
            return err->code;
    for (size_t r = 0; r < f->n_random; r++)
        for (size_t g = 0; g < f->random[r].n_group; g++) {
            size_t k = f->random[r].group[g];
            if (d->names[k].is_score)
                return cx_error_set(err, CX_EUSAGE,
                                    "formula: grouping factor %s is a scale "
                                    "score; expected a column",
                                    f->names[k]);
            if (add_extra(d, f->names[k], err))
                return err->code;
        }
    d->weight_slot = -1;
    if (d->spec.weights) {
        int col = cx_table_find(d->t, d->spec.weights);
        if (col < 0)
            return cx_error_set(err, CX_EUSAGE, "unknown weights column '%s' in table %s",
                                d->spec.weights, cx_table_label(d->t));
        if (numeric_column(d, col, err))
            return err->code;
        size_t slot = slot_for(d, col, err);
        if (slot == (size_t)-1)
            return err->code;
        d->weight_slot = (long)slot;
    }
    return CX_OK;
}

cx_design *cx_design_alloc(const cx_design_spec *spec, const cx_table *t, cx_error *err)
{
    const cx_formula *f = spec->formula;
    if (!spec->allow_random && cx_formula_require_fixed(f, err))
        return NULL;
    cx_design *d = cx_calloc(1, sizeof *d, err);
    if (!d)
        return NULL;
    d->spec = *spec;
    d->f = f;
    d->t = t;
    d->names = cx_calloc(f->n_names + 1, sizeof *d->names, err);
    d->vars = cx_calloc(f->n_vars, sizeof *d->vars, err);
    d->scores = cx_calloc(f->n_names + 1, sizeof *d->scores, err);
    int rc = d->names && d->vars && d->scores ? CX_OK : CX_ENOMEM;
    if (!rc)
        rc = resolve_names(d, err);
    if (!rc)
        rc = resolve_vars(d, err);
    if (!rc)
        rc = resolve_roles(d, err);
    if (rc) {
        cx_design_free(d);
        return NULL;
    }
    for (size_t i = 0; i < f->n_vars; i++) /* panel inputs follow the table columns */
        if (f->vars[i].kind == CX_FVAR_PANEL)
            d->vars[i].slot += d->n_table;
    d->needs_pass |= d->needs_ranges;
    return d;
}

static void free_cols(col_set *s)
{
    for (size_t j = 0; j < s->n; j++) {
        free(s->cols[j].name);
        free(s->cols[j].level);
    }
    free(s->cols);
    memset(s, 0, sizeof *s);
}

void cx_design_free(cx_design *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->vars && i < d->f->n_vars; i++) {
        var_info *v = &d->vars[i];
        for (size_t l = 0; v->labels && l < v->n_levels; l++)
            free(v->labels[l]);
        free(v->labels);
        free(v->levels);
    }
    for (size_t i = 0; d->scores && i < d->n_scores; i++) {
        free(d->scores[i].slots);
        free(d->scores[i].lo);
        free(d->scores[i].hi);
        free(d->scores[i].observe);
    }
    for (size_t i = 0; d->extra_names && i < d->n_extra; i++)
        free(d->extra_names[i]);
    free_cols(&d->x);
    free_cols(&d->z);
    free(d->z_bar);
    cx_design_ws_free(d->observe_ws);
    free(d->extra_names);
    free(d->extra_slots);
    free(d->scores);
    free(d->vars);
    free(d->names);
    free(d->panel);
    free(d->table_cols);
    free(d);
}

/* ---- coding terms into columns (R's model.matrix) --------------------------- */

/* Is the term t without variable `skip` contained in term u? */
static int margin_in(const cx_fterm *t, size_t skip, const cx_fterm *u)
{
    size_t j = 0;
    for (size_t i = 0; i < t->n_vars; i++) {
        if (t->vars[i] == skip)
            continue;
        while (j < u->n_vars && u->vars[j] < t->vars[i])
            j++;
        if (j == u->n_vars || u->vars[j] != t->vars[i])
            return 0;
    }
    return 1;
}

/* R's TermCode: a factor in a term is coded by contrasts (1) when the term
 * without it is empty or contained in an earlier term, else by indicators
 * of every level (2).  Without an intercept, the first factor of the first
 * term that has one gets indicators (model.c, modelmatrix). */
static void term_codes(const cx_design *d, const cx_fterm *terms, size_t nt, int intercept,
                       int **codes)
{
    int adjusted = intercept;
    for (size_t t = 0; t < nt; t++)
        for (size_t k = 0; k < terms[t].n_vars; k++) {
            size_t v = terms[t].vars[k];
            if (!d->vars[v].is_factor) {
                codes[t][k] = 0;
                continue;
            }
            int code = 2;
            if (terms[t].n_vars == 1)
                code = 1;
            for (size_t u = 0; u < t && code == 2; u++)
                if (margin_in(&terms[t], v, &terms[u]))
                    code = 1;
            codes[t][k] = code;
        }
    for (size_t t = 0; t < nt && !adjusted; t++)
        for (size_t k = 0; k < terms[t].n_vars && !adjusted; k++)
            if (codes[t][k]) { /* vars are ascending: this is the first factor */
                codes[t][k] = 2;
                adjusted = 1;
            }
}

static int push_col(col_set *s, size_t *cap, char *name, long term, const cx_fterm *fterm,
                    long *level, cx_error *err)
{
    if (s->n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        col_spec *cols = realloc(s->cols, c * sizeof *cols);
        if (!cols) {
            free(name);
            free(level);
            return cx_error_set(err, CX_ENOMEM, "out of memory building the design");
        }
        s->cols = cols;
        *cap = c;
    }
    s->cols[s->n++] = (col_spec){name, term, level, fterm};
    return CX_OK;
}

/* Name piece of variable v at level l (-1 numeric): "x", "seg[b]". */
static void piece(const cx_design *d, size_t v, long l, cx_strbuf *b)
{
    const cx_fvar *fv = &d->f->vars[v];
    if (l < 0) {
        cx_strbuf_put(b, fv->label);
        return;
    }
    cx_strbuf_put(b, d->f->names[fv->name]);
    cx_strbuf_put(b, "[");
    cx_strbuf_put(b, d->vars[v].labels[l]);
    cx_strbuf_put(b, "]");
}

/* The columns of one term: its variables' codings multiplied out, the
 * first variable varying fastest (as R). */
static int term_columns(const cx_design *d, const cx_fterm *t, long index, const int *code,
                        col_set *s, size_t *cap, cx_error *err)
{
    size_t n = t->n_vars, count = 1;
    long first[64], last[64], at[64];
    if (n > 64)
        return cx_error_set(err, CX_EUSAGE, "formula: term with %zu variables; expected at most 64",
                            n);
    for (size_t k = 0; k < n; k++) {
        const var_info *v = &d->vars[t->vars[k]];
        first[k] = code[k] == 0 ? -1 : code[k] == 1 ? 1 : 0;
        last[k] = code[k] == 0 ? -1 : (long)v->n_levels - 1;
        if (code[k] == 1 && v->n_levels < 2)
            return cx_error_set(err, CX_EUSAGE,
                                "formula, at character %zu ('%s'): %s has %zu level%s among the "
                                "rows used; expected at least 2 for treatment contrasts",
                                d->f->vars[t->vars[k]].pos, d->f->vars[t->vars[k]].label,
                                d->f->vars[t->vars[k]].label, v->n_levels,
                                v->n_levels == 1 ? "" : "s");
        count *= (size_t)(last[k] - first[k] + 1);
        if (count + s->n > MAX_DESIGN_COLS)
            return cx_error_set(err, CX_EUSAGE, "formula: more than %d design columns",
                                MAX_DESIGN_COLS);
        at[k] = first[k];
    }
    for (size_t c = 0; c < count; c++) {
        cx_strbuf b = {0};
        long *level = cx_malloc(n * sizeof *level, err);
        if (!level)
            return CX_ENOMEM;
        for (size_t k = 0; k < n; k++) {
            if (k)
                cx_strbuf_put(&b, ":");
            piece(d, t->vars[k], at[k], &b);
            level[k] = at[k];
        }
        if (b.failed || !b.s) {
            free(b.s);
            free(level);
            return cx_error_set(err, CX_ENOMEM, "out of memory building the design");
        }
        if (push_col(s, cap, b.s, index, t, level, err))
            return err->code;
        for (size_t k = 0; k < n; k++) { /* odometer, first variable fastest */
            if (at[k] < last[k]) {
                at[k]++;
                break;
            }
            at[k] = first[k];
        }
    }
    return CX_OK;
}

static int code_terms(const cx_design *d, const cx_fterm *terms, size_t nt, int intercept,
                      col_set *s, cx_error *err)
{
    size_t cap = 0;
    int **codes = cx_calloc(nt + 1, sizeof *codes, err);
    int rc = codes ? CX_OK : CX_ENOMEM;
    for (size_t t = 0; t < nt && !rc; t++)
        if (!(codes[t] = cx_calloc(terms[t].n_vars, sizeof **codes, err)))
            rc = CX_ENOMEM;
    if (!rc && intercept) {
        char *name = cx_strdup("(Intercept)", err);
        rc = name ? push_col(s, &cap, name, -1, NULL, NULL, err) : CX_ENOMEM;
    }
    if (!rc)
        term_codes(d, terms, nt, intercept, codes);
    for (size_t t = 0; t < nt && !rc; t++)
        rc = term_columns(d, &terms[t], (long)t, codes[t], s, &cap, err);
    for (size_t t = 0; codes && t < nt; t++)
        free(codes[t]);
    free(codes);
    return rc;
}

int cx_design_build(cx_design *d, cx_error *err)
{
    const cx_formula *f = d->f;
    free_cols(&d->x);
    free_cols(&d->z);
    free(d->z_bar);
    d->z_bar = NULL;
    if (cx_design_finish_levels(d, err) ||
        code_terms(d, f->terms, f->n_terms, f->intercept, &d->x, err))
        return err->code;
    for (size_t r = 0; r < f->n_random; r++) {
        size_t before = d->z.n;
        col_set one = {0};
        if (code_terms(d, f->random[r].terms, f->random[r].n_terms, f->random[r].intercept, &one,
                       err)) {
            free_cols(&one);
            return err->code;
        }
        col_spec *cols = realloc(d->z.cols, (before + one.n + 1) * sizeof *cols);
        size_t *bar = cols ? realloc(d->z_bar, (before + one.n + 1) * sizeof *bar) : NULL;
        if (cols)
            d->z.cols = cols;
        if (!bar) {
            free_cols(&one);
            return cx_error_set(err, CX_ENOMEM, "out of memory building the design");
        }
        d->z_bar = bar;
        for (size_t j = 0; j < one.n; j++) {
            d->z.cols[before + j] = one.cols[j];
            bar[before + j] = r;
        }
        d->z.n = before + one.n;
        free(one.cols);
    }
    d->built = 1;
    return CX_OK;
}

/* ---- accessors -------------------------------------------------------------- */

const int *cx_design_inputs(const cx_design *d, size_t *n_table)
{
    *n_table = d->n_table;
    return d->table_cols;
}

size_t cx_design_n_panel_inputs(const cx_design *d)
{
    return d->n_panel;
}

void cx_design_panel_input(const cx_design *d, size_t i, cx_panel_op *op, int *k, int *source)
{
    *op = d->panel[i].op;
    *k = d->panel[i].k;
    *source = d->panel[i].source;
}

size_t cx_design_ncols(const cx_design *d)
{
    return d->x.n;
}

const char *cx_design_colname(const cx_design *d, size_t j)
{
    return d->x.cols[j].name;
}

long cx_design_col_term(const cx_design *d, size_t j)
{
    return d->x.cols[j].term;
}

size_t cx_design_nzcols(const cx_design *d)
{
    return d->z.n;
}

const char *cx_design_zcolname(const cx_design *d, size_t j)
{
    return d->z.cols[j].name;
}

size_t cx_design_zcol_bar(const cx_design *d, size_t j)
{
    return d->z_bar[j];
}

size_t cx_design_nextra(const cx_design *d)
{
    return d->n_extra;
}

const char *cx_design_extraname(const cx_design *d, size_t j)
{
    return d->extra_names[j];
}

size_t cx_design_extra_slot(const cx_design *d, size_t j)
{
    return d->extra_slots[j];
}

size_t cx_design_outcome_levels(const cx_design *d, const char *const **labels)
{
    const var_info *v = &d->vars[d->f->outcome];
    *labels = (const char *const *)v->labels;
    return v->is_factor ? v->n_levels : 0;
}

void cx_design_rows(const cx_design *d, size_t *seen, size_t *used)
{
    *seen = d->rows_seen;
    *used = d->rows_used;
}

const char *cx_design_notes(const cx_design *d)
{
    return d->notes;
}
