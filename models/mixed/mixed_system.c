/*
 * mixed_system.c — from the formula's bars and the per-cell sums of the
 * pass to the pieces of lme4's penalized least-squares system:
 *
 *  - grouping terms: the distinct grouping factors (`Subject`,
 *    `batch:cask`), each with the columns of every bar on it, and its
 *    levels (the distinct projections of the cells that have rows, sorted
 *    ascending as R sorts factor levels);
 *  - Z'Z as dense blocks: one q_t x q_t block per level of each term on
 *    the diagonal, and the blocks between levels of two different terms
 *    that share rows (nested or crossed designs) off the diagonal;
 *  - [Z'X Z'y] (q x (p+1)) and [X y]'[X y].
 *
 * Levels without rows are dropped, as lme4 drops unused factor levels.
 */
#include <stdlib.h>
#include <string.h>

#include "mixed.h"

void mx_problem_free(mx_problem *pr)
{
    if (!pr)
        return;
    free(pr->cells);
    free(pr->cell_n);
    free(pr->slot_cells);
    free(pr->slot_n);
    free(pr->slot_sy);
    free(pr->xy);
    for (size_t t = 0; pr->terms && t < pr->n_terms; t++) {
        free(pr->terms[t].name);
        free(pr->terms[t].zcol);
        free(pr->terms[t].levels);
        free(pr->terms[t].cell_level);
    }
    free(pr->terms);
    free(pr->bars);
    free(pr->diag);
    free(pr->diag_at);
    free(pr->zxy);
    for (size_t k = 0; pr->blocks && k < pr->n_blocks; k++) {
        free(pr->blocks[k].v);
        free(pr->blocks[k].colpos);
    }
    free(pr->blocks);
    memset(pr, 0, sizeof *pr);
}

/* Position of table column `col` in the cell tuple. */
static size_t gpos(const int *gcols, size_t n, int col)
{
    for (size_t i = 0; i < n; i++)
        if (gcols[i] == col)
            return i;
    return (size_t)-1;
}

static int same_set(const size_t *a, size_t na, const size_t *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        int found = 0;
        for (size_t j = 0; j < nb; j++)
            found |= a[i] == b[j];
        if (!found)
            return 0;
    }
    return 1;
}

/* The term of bar r: an existing one with the same set of columns, or a new one. */
static int term_of_bar(const cx_formula *f, size_t r, const int *gcols, size_t n_gcols,
                       const cx_table *t, mx_problem *pr, size_t *out, cx_error *err)
{
    const cx_frandom *bar = &f->random[r];
    size_t pos[8];
    if (bar->n_group > 8)
        return cx_error_set(err, CX_EUSAGE, "formula: '(%s)' has more than 8 grouping columns",
                            bar->label);
    for (size_t g = 0; g < bar->n_group; g++)
        pos[g] = gpos(gcols, n_gcols, cx_table_find(t, f->names[bar->group[g]]));
    for (size_t k = 0; k < pr->n_terms; k++)
        if (same_set(pos, bar->n_group, pr->terms[k].gcol, pr->terms[k].n_gcols)) {
            *out = k;
            return CX_OK;
        }
    mx_term *tm = &pr->terms[pr->n_terms];
    size_t len = 1;
    for (size_t g = 0; g < bar->n_group; g++)
        len += strlen(f->names[bar->group[g]]) + 1;
    if (!(tm->name = cx_calloc(len, 1, err)))
        return CX_ENOMEM;
    for (size_t g = 0; g < bar->n_group; g++) {
        if (g)
            strcat(tm->name, ":");
        strcat(tm->name, f->names[bar->group[g]]);
        tm->gcol[g] = pos[g];
    }
    tm->n_gcols = bar->n_group;
    *out = pr->n_terms++;
    return CX_OK;
}

int mx_terms_setup(const cx_formula *f, const cx_design *d, const int *gcols, size_t n_gcols,
                   const cx_table *t, mx_problem *pr, cx_error *err)
{
    size_t nb = f->n_random, nz = cx_design_nzcols(d);
    pr->terms = cx_calloc(nb + 1, sizeof *pr->terms, err);
    pr->bars = cx_calloc(nb + 1, sizeof *pr->bars, err);
    if (!pr->terms || !pr->bars)
        return CX_ENOMEM;
    pr->n_bars = nb;
    for (size_t r = 0; r < nb; r++) {
        mx_bar *b = &pr->bars[r];
        if (term_of_bar(f, r, gcols, n_gcols, t, pr, &b->term, err))
            return err->code;
        for (size_t j = 0; j < nz; j++)
            b->k += cx_design_zcol_bar(d, j) == r;
        if (b->k == 0)
            return cx_error_set(err, CX_EUSAGE,
                                "formula: '(%s)' has no random-effect column (expected e.g. "
                                "'(1 | g)' or '(x | g)')",
                                f->random[r].label);
        b->correlated = f->random[r].correlated;
        b->ntheta = b->correlated ? b->k * (b->k + 1) / 2 : b->k;
        b->theta0 = pr->ntheta;
        pr->ntheta += b->ntheta;
        b->off = pr->terms[b->term].q;
        pr->terms[b->term].q += b->k;
    }
    for (size_t k = 0; k < pr->n_terms; k++) {
        mx_term *tm = &pr->terms[k];
        if (!(tm->zcol = cx_calloc(tm->q, sizeof *tm->zcol, err)))
            return CX_ENOMEM;
        size_t at = 0;
        for (size_t r = 0; r < nb; r++)
            if (pr->bars[r].term == k)
                for (size_t j = 0; j < nz; j++)
                    if (cx_design_zcol_bar(d, j) == r)
                        tm->zcol[at++] = j;
    }
    return CX_OK;
}

/* ---- levels of a term ------------------------------------------------------ */

typedef struct proj_ctx {
    const double *values; /* the grouped view's level tuples */
    size_t ncols;
    const mx_term *tm;
} proj_ctx;

static _Thread_local const proj_ctx *sort_ctx;

static int cmp_proj(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const proj_ctx *c = sort_ctx;
    for (size_t g = 0; g < c->tm->n_gcols; g++) {
        double x = c->values[a * c->ncols + c->tm->gcol[g]];
        double y = c->values[b * c->ncols + c->tm->gcol[g]];
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

static int term_levels(mx_problem *pr, mx_term *tm, const cx_view *v, size_t *order, cx_error *err)
{
    size_t na = 0;
    for (size_t c = 0; c < pr->n_cells; c++)
        if (pr->cell_n[c] > 0)
            order[na++] = c;
    proj_ctx ctx = {v->level_values, v->n_group_cols, tm};
    sort_ctx = &ctx;
    qsort(order, na, sizeof *order, cmp_proj);
    tm->cell_level = cx_malloc((pr->n_cells + 1) * sizeof *tm->cell_level, err);
    tm->levels = cx_malloc((na + 1) * tm->n_gcols * sizeof *tm->levels, err);
    if (!tm->cell_level || !tm->levels)
        return CX_ENOMEM;
    for (size_t c = 0; c < pr->n_cells; c++)
        tm->cell_level[c] = (size_t)-1;
    tm->n_levels = 0;
    for (size_t i = 0; i < na; i++) {
        if (i == 0 || cmp_proj(&order[i - 1], &order[i]) != 0) {
            for (size_t g = 0; g < tm->n_gcols; g++)
                tm->levels[tm->n_levels * tm->n_gcols + g] =
                    v->level_values[order[i] * v->n_group_cols + tm->gcol[g]];
            tm->n_levels++;
        }
        tm->cell_level[order[i]] = tm->n_levels - 1;
    }
    return CX_OK;
}

/* ---- Z'Z blocks ------------------------------------------------------------- */

typedef struct blk_key {
    size_t b, ub, a, ua, cell;
} blk_key;

static int cmp_key(const void *pa, const void *pb)
{
    const blk_key *x = pa, *y = pb;
    const size_t kx[4] = {x->b, x->ub, x->a, x->ua}, ky[4] = {y->b, y->ub, y->a, y->ua};
    for (int i = 0; i < 4; i++)
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    return 0;
}

static int off_diagonal(mx_problem *pr, cx_error *err)
{
    size_t npairs = pr->n_terms * (pr->n_terms - 1) / 2, nk = 0;
    if (npairs == 0)
        return CX_OK;
    blk_key *keys = cx_malloc((pr->n_cells * npairs + 1) * sizeof *keys, err);
    if (!keys)
        return CX_ENOMEM;
    for (size_t c = 0; c < pr->n_cells; c++) {
        if (pr->cell_n[c] <= 0)
            continue;
        for (size_t b = 1; b < pr->n_terms; b++)
            for (size_t a = 0; a < b; a++)
                keys[nk++] =
                    (blk_key){b, pr->terms[b].cell_level[c], a, pr->terms[a].cell_level[c], c};
    }
    qsort(keys, nk, sizeof *keys, cmp_key);
    size_t nblk = 0;
    for (size_t i = 0; i < nk; i++)
        nblk += i == 0 || cmp_key(&keys[i - 1], &keys[i]) != 0;
    pr->blocks = cx_calloc(nblk + 1, sizeof *pr->blocks, err);
    int rc = pr->blocks ? CX_OK : CX_ENOMEM;
    size_t m = pr->m;
    for (size_t i = 0; !rc && i < nk; i++) {
        const blk_key *k = &keys[i];
        const mx_term *ta = &pr->terms[k->a], *tb = &pr->terms[k->b];
        if (i == 0 || cmp_key(&keys[i - 1], k) != 0) {
            mx_block *bl = &pr->blocks[pr->n_blocks++];
            *bl = (mx_block){k->a, k->ua, k->b, k->ub, NULL, NULL};
            bl->v = cx_calloc(ta->q * tb->q, sizeof *bl->v, err);
            bl->colpos = cx_calloc(tb->q, sizeof *bl->colpos, err);
            if (!bl->v || !bl->colpos) {
                rc = CX_ENOMEM;
                break;
            }
        }
        mx_block *bl = &pr->blocks[pr->n_blocks - 1];
        const double *s = pr->cells + k->cell * m * m;
        for (size_t j = 0; j < tb->q; j++)
            for (size_t r = 0; r < ta->q; r++)
                bl->v[j * ta->q + r] += s[tb->zcol[j] * m + ta->zcol[r]];
    }
    free(keys);
    return rc;
}

int mx_system_build(mx_problem *pr, const cx_view *grouped, cx_error *err)
{
    size_t *order = cx_malloc((pr->n_cells + 1) * sizeof *order, err);
    if (!order)
        return CX_ENOMEM;
    int rc = CX_OK;
    size_t ndiag = 0;
    pr->diag_at = cx_calloc(pr->n_terms + 1, sizeof *pr->diag_at, err);
    if (!pr->diag_at)
        rc = CX_ENOMEM;
    for (size_t t = 0; !rc && t < pr->n_terms; t++) {
        mx_term *tm = &pr->terms[t];
        rc = term_levels(pr, tm, grouped, order, err);
        tm->off = pr->q;
        pr->q += tm->n_levels * tm->q;
        pr->diag_at[t] = ndiag;
        ndiag += tm->n_levels * tm->q * tm->q;
    }
    free(order);
    size_t p1 = pr->p + 1, m = pr->m, nz = pr->nz;
    if (!rc) {
        pr->diag = cx_calloc(ndiag + 1, sizeof *pr->diag, err);
        pr->zxy = cx_calloc(pr->q * p1 + 1, sizeof *pr->zxy, err);
        pr->xy = cx_calloc(p1 * p1, sizeof *pr->xy, err);
        if (!pr->diag || !pr->zxy || !pr->xy)
            rc = CX_ENOMEM;
    }
    for (size_t c = 0; !rc && c < pr->n_cells; c++) {
        if (pr->cell_n[c] <= 0)
            continue;
        const double *s = pr->cells + c * m * m;
        for (size_t j = 0; j < p1; j++)
            for (size_t i = 0; i < p1; i++)
                pr->xy[j * p1 + i] += s[(nz + j) * m + nz + i];
        for (size_t t = 0; t < pr->n_terms; t++) {
            const mx_term *tm = &pr->terms[t];
            size_t l = tm->cell_level[c], q = tm->q, row0 = tm->off + l * q;
            double *dg = pr->diag + pr->diag_at[t] + l * q * q;
            for (size_t j = 0; j < q; j++)
                for (size_t i = 0; i < q; i++)
                    dg[j * q + i] += s[tm->zcol[j] * m + tm->zcol[i]];
            for (size_t j = 0; j < p1; j++)
                for (size_t i = 0; i < q; i++)
                    pr->zxy[j * pr->q + row0 + i] += s[(nz + j) * m + tm->zcol[i]];
        }
    }
    return rc ? rc : off_diagonal(pr, err);
}
