/*
 * formula_terms.c — term sets and R's formula algebra (see formula_terms.h).
 *
 * A term is the ascending list of its variables' indices.  Sets keep a hash
 * of their terms so a 10,000-term formula parses in linear time; every
 * operation that can multiply terms checks CX_FORMULA_MAX_TERMS first, so
 * `(a1 + ... + a50)^10` is refused instead of exhausting memory.
 */
#include "formula_terms.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- string map ---------------------------------------------------------- */

static uint64_t hash_string(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void cx_strmap_free(cx_strmap *m)
{
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

size_t cx_strmap_get(const cx_strmap *m, const char *key)
{
    if (!m->cap)
        return (size_t)-1;
    for (size_t i = hash_string(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return (size_t)-1;
        if (!strcmp(m->keys[i], key))
            return m->values[i];
    }
}

static int strmap_grow(cx_strmap *m, cx_error *err)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    const char **keys = cx_calloc(cap, sizeof *keys, err);
    size_t *values = cx_calloc(cap, sizeof *values, err);
    if (!keys || !values) {
        free(keys);
        free(values);
        return CX_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = hash_string(m->keys[i]) & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        values[j] = m->values[i];
    }
    free(m->keys);
    free(m->values);
    m->keys = keys;
    m->values = values;
    m->cap = cap;
    return CX_OK;
}

int cx_strmap_put(cx_strmap *m, const char *key, size_t value, cx_error *err)
{
    if (2 * (m->n + 1) > m->cap && strmap_grow(m, err))
        return CX_ENOMEM;
    size_t i = hash_string(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key))
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->n++;
    m->keys[i] = key;
    m->values[i] = value;
    return CX_OK;
}

/* ---- term sets ----------------------------------------------------------- */

static uint64_t hash_term(const size_t *vars, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)vars[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static int same_term(const cx_fterm *t, const size_t *vars, size_t n)
{
    return t->n_vars == n && (n == 0 || !memcmp(t->vars, vars, n * sizeof *vars));
}

void cx_frandom_clear(cx_frandom *r)
{
    cx_fterms_free(r->terms, r->n_terms);
    free(r->group);
    free(r->label);
    memset(r, 0, sizeof *r);
}

void cx_fterms_free(cx_fterm *terms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(terms[i].vars);
    free(terms);
}

void cx_tset_free(cx_tset *s)
{
    cx_fterms_free(s->terms, s->n);
    free(s->alive);
    free(s->slots);
    for (size_t i = 0; i < s->n_bars; i++)
        cx_frandom_clear(&s->bars[i]);
    free(s->bars);
    memset(s, 0, sizeof *s);
    s->icpt = CX_ICPT_UNSET;
}

/* Slot holding the term, or the empty slot where it would go. */
static size_t find_slot(const cx_tset *s, const size_t *vars, size_t n)
{
    size_t i = hash_term(vars, n) & (s->n_slots - 1);
    while (s->slots[i] && !same_term(&s->terms[s->slots[i] - 1], vars, n))
        i = (i + 1) & (s->n_slots - 1);
    return i;
}

static int rehash(cx_tset *s, cx_error *err)
{
    size_t n_slots = s->n_slots ? 2 * s->n_slots : 16;
    size_t *slots = cx_calloc(n_slots, sizeof *slots, err);
    if (!slots)
        return CX_ENOMEM;
    free(s->slots);
    s->slots = slots;
    s->n_slots = n_slots;
    for (size_t e = 0; e < s->n; e++)
        slots[find_slot(s, s->terms[e].vars, s->terms[e].n_vars)] = e + 1;
    return CX_OK;
}

int cx_tset_add(cx_tset *s, const size_t *vars, size_t n_vars, size_t pos, cx_error *err)
{
    if (2 * (s->n + 1) > s->n_slots && rehash(s, err))
        return CX_ENOMEM;
    size_t slot = find_slot(s, vars, n_vars);
    if (s->slots[slot]) {
        size_t e = s->slots[slot] - 1;
        s->n_alive += !s->alive[e];
        s->alive[e] = 1;
        return CX_OK;
    }
    if (s->n_alive >= CX_FORMULA_MAX_TERMS)
        return cx_error_set(err, CX_EUSAGE, "more than %d terms", CX_FORMULA_MAX_TERMS);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        cx_fterm *t = realloc(s->terms, cap * sizeof *t);
        if (t)
            s->terms = t;
        unsigned char *a = t ? realloc(s->alive, cap) : NULL;
        if (!a)
            return cx_error_set(err, CX_ENOMEM, "out of memory for formula terms");
        s->alive = a;
        s->cap = cap;
    }
    cx_fterm *t = &s->terms[s->n];
    t->vars = NULL;
    if (n_vars) {
        t->vars = cx_malloc(n_vars * sizeof *vars, err);
        if (!t->vars)
            return CX_ENOMEM;
        memcpy(t->vars, vars, n_vars * sizeof *vars);
    }
    t->n_vars = n_vars;
    t->pos = pos;
    s->alive[s->n] = 1;
    s->slots[slot] = ++s->n;
    s->n_alive++;
    return CX_OK;
}

void cx_tset_remove(cx_tset *s, const size_t *vars, size_t n_vars)
{
    if (!s->n_slots)
        return;
    size_t slot = find_slot(s, vars, n_vars);
    if (s->slots[slot] && s->alive[s->slots[slot] - 1]) {
        s->alive[s->slots[slot] - 1] = 0;
        s->n_alive--;
    }
}

int cx_tset_merge(cx_tset *a, const cx_tset *b, cx_error *err)
{
    for (size_t e = 0; e < b->n; e++)
        if (b->alive[e] &&
            cx_tset_add(a, b->terms[e].vars, b->terms[e].n_vars, b->terms[e].pos, err))
            return err->code;
    if (b->icpt != CX_ICPT_UNSET)
        a->icpt = b->icpt;
    return CX_OK;
}

void cx_tset_subtract(cx_tset *a, const cx_tset *b)
{
    for (size_t e = 0; e < b->n; e++)
        if (b->alive[e])
            cx_tset_remove(a, b->terms[e].vars, b->terms[e].n_vars);
    if (b->icpt == CX_ICPT_ON) /* `- 1` */
        a->icpt = CX_ICPT_OFF;
    else if (b->icpt == CX_ICPT_OFF) /* `- 0` puts it back */
        a->icpt = CX_ICPT_ON;
}

/* Union of two ascending lists into out (room for na + nb); returns length. */
static size_t union_vars(const size_t *a, size_t na, const size_t *b, size_t nb, size_t *out)
{
    size_t i = 0, j = 0, n = 0;
    while (i < na || j < nb) {
        if (j == nb || (i < na && a[i] < b[j]))
            out[n++] = a[i++];
        else if (i == na || b[j] < a[i])
            out[n++] = b[j++];
        else {
            out[n++] = a[i++];
            j++;
        }
    }
    return n;
}

static size_t max_order(const cx_tset *s)
{
    size_t m = 0;
    for (size_t e = 0; e < s->n; e++)
        if (s->alive[e] && s->terms[e].n_vars > m)
            m = s->terms[e].n_vars;
    return m;
}

int cx_tset_interact(const cx_tset *a, const cx_tset *b, cx_tset *out, cx_error *err)
{
    if ((double)a->n_alive * (double)b->n_alive > CX_FORMULA_MAX_TERMS)
        return cx_error_set(err, CX_EUSAGE, "the interaction gives %.0f terms (at most %d)",
                            (double)a->n_alive * (double)b->n_alive, CX_FORMULA_MAX_TERMS);
    size_t *buf = cx_malloc((max_order(a) + max_order(b) + 1) * sizeof *buf, err);
    if (!buf)
        return CX_ENOMEM;
    int rc = CX_OK;
    for (size_t i = 0; i < a->n && !rc; i++)
        for (size_t j = 0; j < b->n && !rc; j++) {
            if (!a->alive[i] || !b->alive[j])
                continue;
            const cx_fterm *x = &a->terms[i], *y = &b->terms[j];
            size_t n = union_vars(x->vars, x->n_vars, y->vars, y->n_vars, buf);
            rc = cx_tset_add(out, buf, n, x->pos, err);
        }
    free(buf);
    return rc;
}

/* a*b = a + b + a:b */
int cx_tset_cross(const cx_tset *a, const cx_tset *b, cx_tset *out, cx_error *err)
{
    if (cx_tset_merge(out, a, err) || cx_tset_merge(out, b, err))
        return err->code;
    cx_tset ab = {.icpt = CX_ICPT_UNSET};
    int rc = cx_tset_interact(a, b, &ab, err);
    if (!rc)
        rc = cx_tset_merge(out, &ab, err);
    cx_tset_free(&ab);
    out->icpt = CX_ICPT_UNSET;
    return rc;
}

/* a/b = a + (all variables of a):b, as R's terms.formula. */
int cx_tset_nest(const cx_tset *a, const cx_tset *b, cx_tset *out, cx_error *err)
{
    if (cx_tset_merge(out, a, err))
        return err->code;
    cx_tset all = {.icpt = CX_ICPT_UNSET};
    size_t total = 0, pos = 0;
    for (size_t e = 0; e < a->n; e++)
        if (a->alive[e]) {
            total += a->terms[e].n_vars;
            pos = pos ? pos : a->terms[e].pos;
        }
    size_t *u = cx_malloc((total + 1) * sizeof *u, err);
    size_t *tmp = cx_malloc((total + 1) * sizeof *tmp, err);
    int rc = u && tmp ? CX_OK : CX_ENOMEM;
    size_t n = 0;
    for (size_t e = 0; e < a->n && !rc; e++)
        if (a->alive[e]) {
            n = union_vars(u, n, a->terms[e].vars, a->terms[e].n_vars, tmp);
            memcpy(u, tmp, n * sizeof *u);
        }
    if (!rc)
        rc = cx_tset_add(&all, u, n, pos, err);
    cx_tset ab = {.icpt = CX_ICPT_UNSET};
    if (!rc)
        rc = cx_tset_interact(&all, b, &ab, err);
    if (!rc)
        rc = cx_tset_merge(out, &ab, err);
    cx_tset_free(&ab);
    cx_tset_free(&all);
    free(u);
    free(tmp);
    out->icpt = CX_ICPT_UNSET;
    return rc;
}

/* Sort key for R's term order: interaction order, then written order. */
typedef struct term_rank {
    size_t order, entry;
} term_rank;

static int compare_rank(const void *x, const void *y)
{
    const term_rank *a = x, *b = y;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    return a->entry < b->entry ? -1 : a->entry > b->entry;
}

int cx_tset_export(const cx_tset *s, cx_fterm **terms, size_t *n, cx_error *err)
{
    *terms = NULL;
    *n = 0;
    if (!s->n_alive)
        return CX_OK;
    term_rank *rank = cx_malloc(s->n_alive * sizeof *rank, err);
    cx_fterm *out = cx_calloc(s->n_alive, sizeof *out, err);
    if (!rank || !out) {
        free(rank);
        free(out);
        return CX_ENOMEM;
    }
    size_t count = 0;
    for (size_t e = 0; e < s->n; e++)
        if (s->alive[e] && s->terms[e].n_vars > 0) /* the intercept is a flag */
            rank[count++] = (term_rank){s->terms[e].n_vars, e};
    qsort(rank, count, sizeof *rank, compare_rank);
    for (size_t i = 0; i < count; i++) {
        const cx_fterm *t = &s->terms[rank[i].entry];
        out[i] = *t;
        out[i].vars = cx_malloc(t->n_vars * sizeof *t->vars, err);
        if (!out[i].vars) {
            cx_fterms_free(out, i);
            free(rank);
            return CX_ENOMEM;
        }
        memcpy(out[i].vars, t->vars, t->n_vars * sizeof *t->vars);
    }
    free(rank);
    *terms = out;
    *n = count;
    return CX_OK;
}
