/*
 * design_rows.c — the design's passes over rows: item ranges for
 * reverse-keyed scores, the first pass that finds complete rows and factor
 * levels, and the block fill that writes X, Z, y, w and the extra columns
 * (see design.h).  A row is used when every variable of the formula, the
 * weight and every extra column is present (finite) — R's na.omit over the
 * model frame.
 */
#include "design_impl.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formula_expr.h"

#define MAX_FACTOR_LEVELS 10000

/* Per-thread scratch.  The fill works column by column over chunks of
 * `chunk` raw rows: each name's and variable's values over the chunk (a
 * table column is read in place; scores and expressions are evaluated per
 * row), the complete rows as a mask, the kept rows' values gathered into
 * vals / levs, then the design one column at a time with a loop
 * specialised to its kind, so the common columns (a numeric variable, a
 * factor level) are plain copies and compares rather than a generic
 * product per cell, and no row is interpreted term by term. */
struct cx_design_ws {
    double *names, *vars, *items; /* one row: cx_design_observe, expressions */
    size_t chunk;
    double *vals;      /* n_vars x chunk: the kept rows' variable values       */
    long *levs;        /* n_vars x chunk: their factor levels                   */
    const double **kv; /* n_vars: the kept rows' values (vals, or vcol when
                          every row of the chunk is kept: no copy)         */
    const long **kl;   /* n_vars: their levels likewise (levs or lraw)     */
    /* a chunk of raw rows evaluated column by column */
    const double **ncol; /* n_names: each name's values (raw column or nbuf) */
    double *nbuf;        /* n_names x chunk: score values                   */
    const double **vcol; /* n_vars: each variable's values                  */
    size_t *nlist;       /* n_names: the names an expression reads          */
    double *vbuf;        /* n_vars x chunk: expression values               */
    long *lraw;          /* n_vars x chunk: factor levels of the raw rows   */
    unsigned char *ok;   /* chunk: row complete                             */
    size_t *idx;         /* chunk: offsets of the kept rows                 */
    size_t seen, used;
};

int cx_design_eval_row(const cx_design *d, const double *raw, size_t ld, size_t i,
                       double *name_values, double *var_values, double *items)
{
    const cx_formula *f = d->f;
    for (size_t k = 0; k < f->n_names; k++) {
        const name_source *src = &d->names[k];
        if (!src->is_score) {
            name_values[k] = raw[src->slot * ld + i];
            continue;
        }
        const used_score *u = &d->scores[src->score];
        for (size_t j = 0; j < u->scale->n_items; j++)
            items[j] = raw[u->slots[j] * ld + i];
        name_values[k] = cx_score_value(u->scale, items, u->lo, u->hi);
    }
    for (size_t v = 0; v < f->n_vars; v++) {
        const cx_fvar *fv = &f->vars[v];
        double x = fv->kind == CX_FVAR_EXPR    ? cx_fexpr_eval(fv->expr, name_values)
                   : fv->kind == CX_FVAR_PANEL ? raw[d->vars[v].slot * ld + i]
                                               : name_values[fv->name];
        if (!isfinite(x))
            return 0;
        var_values[v] = x;
    }
    if (d->weight_slot >= 0 && isnan(raw[(size_t)d->weight_slot * ld + i]))
        return 0;
    for (size_t e = 0; e < d->n_extra; e++)
        if (isnan(raw[d->extra_slots[e] * ld + i]))
            return 0;
    return 1;
}

/* Binary search of x in the ascending levels of v: 1 and its index in
 * *at when there, else 0 and the index where it would go. */
static int find_level(const var_info *v, double x, size_t *at)
{
    size_t lo = 0, hi = v->n_levels;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->levels[mid] < x) {
            lo = mid + 1;
        } else if (v->levels[mid] > x) {
            hi = mid;
        } else {
            *at = mid;
            return 1;
        }
    }
    *at = lo;
    return 0;
}

long cx_design_level_of(const var_info *v, double x)
{
    size_t at;
    return find_level(v, x, &at) ? (long)at : -1;
}

/* ---- the first pass ---------------------------------------------------------- */

int cx_design_scan_ranges(cx_design *d, const cx_view *v, cx_error *err)
{
    if (!d->needs_ranges || d->ranges_done)
        return CX_OK;
    /* The whole table, so a scale scores alike in every job and level. */
    cx_view all;
    cx_view_init(&all, v->table, NULL);
    cx_view_iter it;
    size_t ld = cx_view_block_rows(&all);
    double *block = cx_malloc(ld * d->n_table * sizeof *block, err);
    if (!block || cx_view_iter_begin(&it, &all, d->table_cols, d->n_table, err)) {
        free(block);
        return err->code ? err->code : CX_ENOMEM;
    }
    long n;
    while ((n = cx_view_iter_next(&it, block, NULL, err)) > 0)
        for (size_t s = 0; s < d->n_scores; s++) {
            used_score *u = &d->scores[s];
            for (size_t j = 0; j < u->scale->n_items; j++) {
                if (!u->observe[j])
                    continue;
                const double *x = block + u->slots[j] * ld;
                for (long i = 0; i < n; i++)
                    if (!isnan(x[i])) {
                        u->lo[j] = x[i] < u->lo[j] ? x[i] : u->lo[j];
                        u->hi[j] = x[i] > u->hi[j] ? x[i] : u->hi[j];
                    }
            }
        }
    cx_view_iter_end(&it);
    free(block);
    if (n < 0)
        return err->code;
    for (size_t s = 0; s < d->n_scores; s++)
        for (size_t j = 0; j < d->scores[s].scale->n_items; j++)
            if (d->scores[s].observe[j] && d->scores[s].lo[j] > d->scores[s].hi[j])
                return cx_error_set(err, CX_EUSAGE,
                                    "scores: scale %s: item %s has no values in table %s, so it "
                                    "cannot be reverse-keyed; expected observed values",
                                    d->scores[s].scale->name, d->scores[s].scale->items[j],
                                    cx_table_label(d->t));
    d->ranges_done = 1;
    return CX_OK;
}

/* Insert x into the ascending level set of v (no duplicates). */
static int add_level(cx_design *d, size_t var, double x, cx_error *err)
{
    var_info *v = &d->vars[var];
    size_t lo;
    if (find_level(v, x, &lo))
        return CX_OK;
    if (v->n_levels >= MAX_FACTOR_LEVELS) {
        const cx_fvar *fv = &d->f->vars[var];
        return cx_error_set(err, CX_EUSAGE,
                            "formula, at character %zu ('%s'): more than %d distinct values; "
                            "expected a factor with fewer levels",
                            fv->pos, fv->label, MAX_FACTOR_LEVELS);
    }
    if ((v->n_levels & (v->n_levels - 1)) == 0) { /* grow at powers of two */
        double *l = realloc(v->levels, (v->n_levels ? 2 * v->n_levels : 4) * sizeof *l);
        if (!l)
            return cx_error_set(err, CX_ENOMEM, "out of memory collecting factor levels");
        v->levels = l;
    }
    memmove(v->levels + lo + 1, v->levels + lo, (v->n_levels - lo) * sizeof *v->levels);
    v->levels[lo] = x;
    v->n_levels++;
    return CX_OK;
}

int cx_design_observe(cx_design *d, const double *raw, size_t ld, size_t n, cx_error *err)
{
    if (d->needs_ranges && !d->ranges_done)
        return cx_error_set(err, CX_EUSAGE, "design: item ranges are needed before observing rows");
    if (!d->observe_ws && !(d->observe_ws = cx_design_ws_alloc(d, err)))
        return err->code; /* allocated once, not per block */
    cx_design_ws *w = d->observe_ws;
    int rc = CX_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        d->rows_seen++;
        if (!cx_design_eval_row(d, raw, ld, i, w->names, w->vars, w->items))
            continue;
        d->rows_used++;
        for (size_t v = 0; v < d->f->n_vars && !rc; v++)
            if (d->vars[v].is_factor)
                rc = add_level(d, v, w->vars[v], err);
    }
    return rc;
}

/* Labels for the levels found; the note on dropped rows and levels. */
int cx_design_finish_levels(cx_design *d, cx_error *err)
{
    size_t used = 0;
    if (d->rows_seen > d->rows_used)
        used += (size_t)snprintf(d->notes, sizeof d->notes,
                                 "%zu of %zu rows dropped (a used value missing)",
                                 d->rows_seen - d->rows_used, d->rows_seen);
    for (size_t v = 0; v < d->f->n_vars; v++) {
        var_info *vi = &d->vars[v];
        if (!vi->is_factor || vi->labels)
            continue;
        vi->labels = cx_calloc(vi->n_levels + 1, sizeof *vi->labels, err);
        if (!vi->labels)
            return CX_ENOMEM;
        for (size_t l = 0; l < vi->n_levels; l++) {
            char num[64];
            size_t code = (size_t)vi->levels[l];
            int known = vi->column && vi->levels[l] >= 0 && code < vi->column->n_categories;
            cx_format_number(vi->levels[l], num, sizeof num);
            vi->labels[l] = cx_strdup(known ? vi->column->categories[code] : num, err);
            if (!vi->labels[l])
                return CX_ENOMEM;
        }
        for (size_t c = 0; vi->column && c < vi->column->n_categories; c++)
            if (cx_design_level_of(vi, (double)c) < 0 && used < sizeof d->notes)
                used += (size_t)snprintf(d->notes + used, sizeof d->notes - used,
                                         "%s%s: level '%s' has no rows and is dropped (as lm)",
                                         used ? "; " : "", d->f->vars[v].label,
                                         vi->column->categories[c]);
    }
    return CX_OK;
}

int cx_design_prepare(cx_design *d, const cx_view *v, cx_error *err)
{
    if (d->n_panel)
        return cx_error_set(err, CX_EUSAGE,
                            "design: panel inputs are computed by the family; "
                            "expected cx_design_observe on the sorted rows");
    if (cx_design_scan_ranges(d, v, err))
        return err->code;
    if (d->needs_pass) {
        cx_view_iter it;
        size_t ld = cx_view_block_rows(v);
        double *block = cx_malloc(ld * (d->n_table ? d->n_table : 1) * sizeof *block, err);
        if (!block || cx_view_iter_begin(&it, v, d->table_cols, d->n_table, err)) {
            free(block);
            return err->code ? err->code : CX_ENOMEM;
        }
        long n;
        int rc = CX_OK;
        while (!rc && (n = cx_view_iter_next(&it, block, NULL, err)) > 0)
            rc = cx_design_observe(d, block, ld, (size_t)n, err);
        cx_view_iter_end(&it);
        free(block);
        if (rc || n < 0)
            return err->code;
    }
    return cx_design_build(d, err);
}

/* ---- the fill ----------------------------------------------------------------- */

cx_design_ws *cx_design_ws_alloc(const cx_design *d, cx_error *err)
{
    cx_design_ws *w = cx_calloc(1, sizeof *w, err);
    if (!w)
        return NULL;
    size_t nv = d->f->n_vars + 1, nn = d->f->n_names + 1;
    /* chunks small enough to stay in cache next to their output rows */
    w->chunk = 32768 / nv < 8 ? 8 : 32768 / nv > 512 ? 512 : 32768 / nv;
    size_t C = w->chunk;
    w->names = cx_calloc(nn, sizeof *w->names, err);
    w->vars = cx_calloc(nv, sizeof *w->vars, err);
    w->items = cx_calloc(d->max_items + 1, sizeof *w->items, err);
    w->vals = cx_calloc(nv * C, sizeof *w->vals, err);
    w->levs = cx_calloc(nv * C, sizeof *w->levs, err);
    w->ncol = cx_calloc(nn, sizeof *w->ncol, err);
    w->nbuf = cx_calloc(nn * C, sizeof *w->nbuf, err);
    w->vcol = cx_calloc(nv, sizeof *w->vcol, err);
    w->vbuf = cx_calloc(nv * C, sizeof *w->vbuf, err);
    w->lraw = cx_calloc(nv * C, sizeof *w->lraw, err);
    w->ok = cx_calloc(C, sizeof *w->ok, err);
    w->kv = cx_calloc(nv, sizeof *w->kv, err);
    w->nlist = cx_calloc(nn, sizeof *w->nlist, err);
    w->kl = cx_calloc(nv, sizeof *w->kl, err);
    w->idx = cx_calloc(C, sizeof *w->idx, err);
    if (!w->names || !w->vars || !w->items || !w->vals || !w->levs || !w->ncol || !w->nbuf ||
        !w->vcol || !w->vbuf || !w->lraw || !w->ok || !w->idx || !w->kv || !w->kl || !w->nlist) {
        cx_design_ws_free(w);
        return NULL;
    }
    return w;
}

void cx_design_ws_free(cx_design_ws *w)
{
    if (!w)
        return;
    free(w->names);
    free(w->vars);
    free(w->items);
    free(w->vals);
    free(w->levs);
    free(w->ncol);
    free(w->nbuf);
    free(w->vcol);
    free(w->vbuf);
    free(w->lraw);
    free(w->ok);
    free(w->idx);
    free(w->kv);
    free(w->kl);
    free(w->nlist);
    free(w);
}

void cx_design_ws_rows(const cx_design_ws *w, size_t *seen, size_t *used)
{
    *seen = w->seen;
    *used = w->used;
}

void cx_design_ws_count(cx_design_ws *w, size_t seen, size_t used)
{
    w->seen += seen;
    w->used += used;
}

/* Slot of variable v when it is a numeric table column as it is, else -1. */
static long direct_var_slot(const cx_design *d, size_t v)
{
    const cx_fvar *fv = &d->f->vars[v];
    if (fv->kind != CX_FVAR_COLUMN || d->vars[v].is_factor || d->names[fv->name].is_score)
        return -1;
    return (long)d->names[fv->name].slot;
}

/* check[] gets slot s unless it is there already. */
static void add_check_slot(size_t *check, size_t *n, size_t s)
{
    for (size_t k = 0; k < *n; k++)
        if (check[k] == s)
            return;
    check[(*n)++] = s;
}

int cx_design_direct(const cx_design *d, long *xslot, size_t *yslot, size_t *check, size_t *n_check)
{
    const cx_formula *f = d->f;
    if (!d->built || d->n_panel || d->z.n || d->weight_slot >= 0)
        return 0;
    *n_check = 0;
    for (size_t v = 0; v < f->n_vars; v++) {
        long s = direct_var_slot(d, v);
        if (s < 0)
            return 0;
        add_check_slot(check, n_check, (size_t)s);
    }
    for (size_t e = 0; e < d->n_extra; e++)
        add_check_slot(check, n_check, d->extra_slots[e]);
    for (size_t j = 0; j < d->x.n; j++) {
        const col_spec *c = &d->x.cols[j];
        if (c->term < 0) {
            xslot[j] = -1;
            continue;
        }
        if (!c->fterm || c->fterm->n_vars != 1)
            return 0;
        xslot[j] = direct_var_slot(d, c->fterm->vars[0]);
    }
    long ys = direct_var_slot(d, f->outcome);
    if (ys < 0)
        return 0;
    *yslot = (size_t)ys;
    return 1;
}

/* Column c of the design for the chunk's `rows` rows; out steps `stride`
 * between rows. */
static void write_column(const col_spec *c, const cx_design_ws *w, size_t rows, double *out,
                         size_t stride)
{
    const cx_fterm *t = c->fterm;
    if (!t) {
        for (size_t r = 0; r < rows; r++)
            out[r * stride] = 1.0;
    } else if (t->n_vars == 1 && c->level[0] < 0) {
        const double *x = w->kv[t->vars[0]];
        if (stride == 1)
            memcpy(out, x, rows * sizeof *out);
        else
            for (size_t r = 0; r < rows; r++)
                out[r * stride] = x[r];
    } else if (t->n_vars == 1) {
        const long *l = w->kl[t->vars[0]], want = c->level[0];
        for (size_t r = 0; r < rows; r++)
            out[r * stride] = l[r] == want ? 1.0 : 0.0;
    } else {
        for (size_t r = 0; r < rows; r++) {
            double x = 1.0;
            for (size_t k = 0; k < t->n_vars; k++) {
                size_t v = t->vars[k];
                x *= c->level[k] < 0 ? w->kv[v][r] : (w->kl[v][r] == c->level[k] ? 1.0 : 0.0);
            }
            out[r * stride] = x;
        }
    }
}

/* The chunk's rows of X (or Z), starting at output row m0. */
static void write_chunk(const col_set *s, const cx_design_ws *w, size_t rows, double *out,
                        size_t ld, int row_major, size_t m0)
{
    for (size_t j = 0; j < s->n; j++)
        write_column(&s->cols[j], w, rows, row_major ? out + m0 * ld + j : out + j * ld + m0,
                     row_major ? ld : 1);
}

/* Every name's values over raw rows [i0, i0 + n): a table column is the
 * raw column itself, a score is computed row by row. */
static void chunk_names(const cx_design *d, cx_design_ws *w, const double *raw, size_t ld,
                        size_t i0, size_t n)
{
    for (size_t k = 0; k < d->f->n_names; k++) {
        const name_source *src = &d->names[k];
        if (!src->is_score) {
            w->ncol[k] = raw + src->slot * ld + i0;
            continue;
        }
        const used_score *u = &d->scores[src->score];
        double *out = w->nbuf + k * w->chunk;
        for (size_t r = 0; r < n; r++) {
            for (size_t j = 0; j < u->scale->n_items; j++)
                w->items[j] = raw[u->slots[j] * ld + i0 + r];
            out[r] = cx_score_value(u->scale, w->items, u->lo, u->hi);
        }
        w->ncol[k] = out;
    }
}

/* The names expression e reads, appended to list (no duplicates). */
static void expr_names(const cx_fexpr *e, size_t *list, size_t *n)
{
    if (!e)
        return;
    if (e->op == CX_FX_NAME) {
        size_t k = 0;
        while (k < *n && list[k] != e->name)
            k++;
        if (k == *n)
            list[(*n)++] = e->name;
    }
    expr_names(e->a, list, n);
    expr_names(e->b, list, n);
}

/* Variable v's values over the chunk (an expression evaluated per row,
 * from just the names it reads). */
static const double *chunk_var(const cx_design *d, cx_design_ws *w, size_t v, const double *raw,
                               size_t ld, size_t i0, size_t n)
{
    const cx_fvar *fv = &d->f->vars[v];
    if (fv->kind == CX_FVAR_PANEL)
        return raw + d->vars[v].slot * ld + i0;
    if (fv->kind != CX_FVAR_EXPR)
        return w->ncol[fv->name];
    double *out = w->vbuf + v * w->chunk;
    size_t nl = 0;
    expr_names(fv->expr, w->nlist, &nl);
    for (size_t r = 0; r < n; r++) {
        for (size_t k = 0; k < nl; k++)
            w->names[w->nlist[k]] = w->ncol[w->nlist[k]][r];
        out[r] = cx_fexpr_eval(fv->expr, w->names);
    }
    return out;
}

/* Raw rows [i0, i0 + n) evaluated column by column (cx_design_eval_row's
 * rules, then take_row's: factor levels known, weight >= 0): w->vcol, the
 * levels in w->lraw, the kept rows' offsets in w->idx; returns how many
 * are kept, or -1 with err set (a negative weight). */
static long eval_chunk(const cx_design *d, cx_design_ws *w, const double *raw, size_t ld, size_t i0,
                       size_t n, cx_error *err)
{
    const cx_formula *f = d->f;
    unsigned char *ok = w->ok;
    memset(ok, 1, n);
    chunk_names(d, w, raw, ld, i0, n);
    for (size_t v = 0; v < f->n_vars; v++) {
        const double *x = w->vcol[v] = chunk_var(d, w, v, raw, ld, i0, n);
        for (size_t r = 0; r < n; r++) /* isfinite, in a form that vectorizes */
            ok[r] &= (unsigned char)(fabs(x[r]) <= DBL_MAX);
    }
    const double *wt = d->weight_slot >= 0 ? raw + (size_t)d->weight_slot * ld + i0 : NULL;
    for (size_t r = 0; wt && r < n; r++)
        ok[r] &= (unsigned char)!isnan(wt[r]);
    for (size_t e = 0; e < d->n_extra; e++) {
        const double *x = raw + d->extra_slots[e] * ld + i0;
        for (size_t r = 0; r < n; r++)
            ok[r] &= (unsigned char)!isnan(x[r]);
    }
    for (size_t v = 0; v < f->n_vars; v++) {
        if (!d->vars[v].is_factor)
            continue;
        long *l = w->lraw + v * w->chunk;
        for (size_t r = 0; r < n; r++)
            if (ok[r] && (l[r] = cx_design_level_of(&d->vars[v], w->vcol[v][r])) < 0)
                ok[r] = 0; /* a level the first pass did not see (other rows) */
    }
    size_t m = 0;
    for (size_t r = 0; r < n; r++)
        if (ok[r])
            w->idx[m++] = r;
    for (size_t k = 0; wt && k < m; k++)
        if (wt[w->idx[k]] < 0) {
            cx_error_set(err, CX_EUSAGE, "weights column %s: expected weights >= 0, found %g",
                         d->spec.weights, wt[w->idx[k]]);
            return -1;
        }
    return (long)m;
}

/* The kept rows' variable values (and levels): the chunk's own columns
 * when every row is kept, else gathered into vals / levs. */
static void gather_kept(const cx_design *d, cx_design_ws *w, size_t rows, size_t n)
{
    size_t C = w->chunk;
    for (size_t v = 0; v < d->f->n_vars; v++) {
        w->kv[v] = w->vcol[v];
        w->kl[v] = w->lraw + v * C;
        if (rows == n)
            continue;
        const double *x = w->vcol[v];
        double *out = w->vals + v * C;
        for (size_t k = 0; k < rows; k++)
            out[k] = x[w->idx[k]];
        w->kv[v] = out;
        if (!d->vars[v].is_factor)
            continue;
        const long *l = w->lraw + v * C;
        long *lo = w->levs + v * C;
        for (size_t k = 0; k < rows; k++)
            lo[k] = l[w->idx[k]];
        w->kl[v] = lo;
    }
}

/* y, w, the extra columns and the raw row of the chunk's kept rows. */
static void write_row_values(const cx_design *d, const cx_design_ws *w, const double *raw,
                             size_t ld, size_t i0, size_t rows, size_t m0, const cx_design_out *out)
{
    const cx_formula *f = d->f;
    if (out->y) {
        const double *y = w->kv[f->outcome];
        const long *l = w->kl[f->outcome];
        for (size_t k = 0; k < rows; k++)
            out->y[m0 + k] = d->vars[f->outcome].is_factor ? (double)l[k] : y[k];
    }
    if (out->w) {
        const double *wt = d->weight_slot >= 0 ? raw + (size_t)d->weight_slot * ld + i0 : NULL;
        for (size_t k = 0; k < rows; k++)
            out->w[m0 + k] = wt ? wt[w->idx[k]] : 1.0;
    }
    for (size_t e = 0; out->extra && e < d->n_extra; e++) {
        const double *x = raw + d->extra_slots[e] * ld + i0;
        for (size_t k = 0; k < rows; k++)
            out->extra[e * out->lde + m0 + k] = x[w->idx[k]];
    }
    for (size_t k = 0; out->kept && k < rows; k++)
        out->kept[m0 + k] = i0 + w->idx[k];
}

long cx_design_fill(const cx_design *d, cx_design_ws *w, const double *raw, size_t ld, size_t n,
                    const cx_design_out *out, cx_error *err)
{
    if (!d->built) {
        cx_error_set(err, CX_EUSAGE, "design: cx_design_prepare/build must run before a fill");
        return -1;
    }
    size_t m = 0;
    w->seen += n;
    /* column by column over chunks of raw rows: every variable's values,
     * the complete rows, then the design's columns of the kept ones */
    for (size_t i0 = 0; i0 < n; i0 += w->chunk) {
        size_t nr = n - i0 < w->chunk ? n - i0 : w->chunk;
        long rows = eval_chunk(d, w, raw, ld, i0, nr, err);
        if (rows < 0)
            return -1;
        gather_kept(d, w, (size_t)rows, nr);
        write_row_values(d, w, raw, ld, i0, (size_t)rows, m, out);
        if (out->x)
            write_chunk(&d->x, w, (size_t)rows, out->x, out->ldx, out->row_major, m);
        if (out->z)
            write_chunk(&d->z, w, (size_t)rows, out->z, out->ldz, out->row_major, m);
        m += (size_t)rows;
    }
    w->used += m;
    return (long)m;
}

/* ---- a block's design rows ---------------------------------------------------- */

void cx_design_buf_init(cx_design_buf *r, const cx_design *d, cx_rows_layout layout)
{
    memset(r, 0, sizeof *r);
    r->layout = layout;
    r->p = cx_design_ncols(d);
    r->ne = cx_design_nextra(d);
}

void cx_design_buf_free(cx_design_buf *r)
{
    free(r->x);
    if (r->layout == CX_ROWS_ROW_MAJOR)
        free(r->y);
    free(r->w);
    free(r->extra);
    free(r->kept);
    r->x = r->y = r->w = r->extra = NULL;
    r->kept = NULL;
    r->cap = r->m = 0;
}

int cx_design_buf_reserve(cx_design_buf *r, size_t n, cx_error *err)
{
    if (n <= r->cap)
        return CX_OK;
    cx_rows_layout layout = r->layout;
    size_t p = r->p, ne = r->ne;
    cx_design_buf_free(r);
    int xy = layout == CX_ROWS_XY_COLUMNS;
    r->x = cx_malloc(n * (p + (size_t)xy + 1) * sizeof *r->x, err);
    r->y = xy ? (r->x ? r->x + p * n : NULL) : cx_malloc(n * sizeof *r->y, err);
    r->w = cx_malloc(n * sizeof *r->w, err);
    r->extra = cx_malloc(n * (ne ? ne : 1) * sizeof *r->extra, err);
    r->kept = cx_malloc(n * sizeof *r->kept, err);
    if (!r->x || !r->y || !r->w || !r->extra || !r->kept) {
        cx_design_buf_free(r);
        return err->code ? err->code : CX_ENOMEM;
    }
    r->cap = n;
    return CX_OK;
}

long cx_design_buf_fill(const cx_design *d, cx_design_ws *ws, cx_design_buf *r, const double *raw,
                        size_t ld, size_t n, cx_error *err)
{
    r->m = 0;
    if (cx_design_buf_reserve(r, n, err) != CX_OK)
        return -1;
    int rm = r->layout == CX_ROWS_ROW_MAJOR;
    cx_design_out out = {.row_major = rm,
                         .x = r->x,
                         .ldx = rm ? r->p : r->cap,
                         .y = r->y,
                         .w = r->w,
                         .extra = r->extra,
                         .lde = r->cap,
                         .kept = r->kept};
    long m = cx_design_fill(d, ws, raw, ld, n, &out, err);
    if (m >= 0)
        r->m = (size_t)m;
    return m;
}
