/*
 * result_pack.c — a job's in-memory result (result.h) as flat bytes and
 * back, so that under `mpirun` a `by` level fitted on one rank reaches
 * the rank that writes the job (engine/dist.h, dealing the tasks of a
 * row-split job).  Everything the results file holds travels: status,
 * message, nobs, level, the attributes in order, and every table with
 * its columns and cells in order, so the file written from an unpacked
 * result is the file written from the original.
 *
 * Layout: 8-byte words (uint64 counts and lengths, doubles, int64), and
 * strings as their length then their bytes padded to 8; a NULL string
 * (an unset cell, no message) has the length UINT64_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

#define NO_STRING UINT64_MAX

/* A writer that only counts when buf is NULL. */
typedef struct packer {
    unsigned char *buf;
    size_t at;
} packer;

static void put(packer *p, const void *bytes, size_t n)
{
    if (p->buf && n)
        memcpy(p->buf + p->at, bytes, n);
    p->at += (n + 7) / 8 * 8;
}

static void put_u64(packer *p, uint64_t v)
{
    put(p, &v, sizeof v);
}

static void put_double(packer *p, double v)
{
    put(p, &v, sizeof v);
}

static void put_string(packer *p, const char *s)
{
    uint64_t n = s ? strlen(s) : NO_STRING;
    put_u64(p, n);
    if (s)
        put(p, s, (size_t)n);
}

/* name, rows, columns; every column's name and type; then the cells,
 * column by column (result.h adds columns before rows). */
static void put_table(packer *p, const cx_rtable *t)
{
    put_string(p, t->name);
    put_u64(p, t->nrows);
    put_u64(p, t->ncols);
    for (size_t j = 0; j < t->ncols; j++) {
        put_string(p, t->cols[j].name);
        put_u64(p, (uint64_t)t->cols[j].type);
    }
    for (size_t j = 0; j < t->ncols; j++) {
        const cx_rcolumn *c = &t->cols[j];
        for (size_t i = 0; i < t->nrows; i++) {
            if (c->type == CX_RCOL_DOUBLE)
                put_double(p, c->d ? c->d[i] : 0);
            else if (c->type == CX_RCOL_INT)
                put_u64(p, c->i ? (uint64_t)c->i[i] : 0);
            else
                put_string(p, c->s ? c->s[i] : NULL);
        }
    }
}

size_t cx_result_pack(const cx_result *r, void *buf)
{
    packer p = {buf, 0};
    put_u64(&p, (uint64_t)r->status);
    put_string(&p, r->message);
    put_double(&p, r->nobs);
    put_double(&p, r->level);
    put_u64(&p, r->n_attrs);
    for (size_t i = 0; i < r->n_attrs; i++) {
        put_string(&p, r->attrs[i].name);
        put_u64(&p, (uint64_t)r->attrs[i].is_string);
        put_double(&p, r->attrs[i].d);
        put_string(&p, r->attrs[i].s);
    }
    put_u64(&p, r->n_tables);
    for (size_t i = 0; i < r->n_tables; i++)
        put_table(&p, r->tables[i]);
    return p.at;
}

/* ---- unpacking ---------------------------------------------------------- */

typedef struct reader {
    const unsigned char *buf;
    size_t at, size;
    int bad; /* read past the end, or a malformed length */
} reader;

static int get(reader *r, void *out, size_t n)
{
    size_t step = (n + 7) / 8 * 8;
    if (r->bad || step > r->size - r->at) {
        r->bad = 1;
        return -1;
    }
    if (n)
        memcpy(out, r->buf + r->at, n);
    r->at += step;
    return 0;
}

static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    get(r, &v, sizeof v);
    return v;
}

static double get_double(reader *r)
{
    double v = 0;
    get(r, &v, sizeof v);
    return v;
}

/* A fresh copy (NULL for NO_STRING; *ok = 0 when out of memory or bad). */
static char *get_string(reader *r, int *ok)
{
    uint64_t n = get_u64(r);
    if (r->bad || n == NO_STRING)
        return NULL;
    if (n > r->size - r->at) {
        r->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        *ok = 0;
        return NULL;
    }
    get(r, s, (size_t)n);
    s[n] = '\0';
    return s;
}

static int get_table(reader *rd, cx_result *res, cx_error *err)
{
    int ok = 1;
    char *name = get_string(rd, &ok);
    uint64_t nrows = get_u64(rd), ncols = get_u64(rd);
    cx_rtable *t = !rd->bad && ok && name ? cx_result_table(res, name, err) : NULL;
    free(name);
    if (!t)
        return rd->bad || !ok ? (ok ? CX_EFAIL : CX_ENOMEM) : (err->code ? err->code : CX_ENOMEM);
    if (nrows > rd->size / 8 || ncols > rd->size / 8 || t->ncols || t->nrows)
        return CX_EFAIL; /* absurd sizes, or a table name twice */
    for (uint64_t j = 0; j < ncols; j++) {
        char *col = get_string(rd, &ok);
        uint64_t type = get_u64(rd);
        int rc = !ok ? CX_ENOMEM : rd->bad || !col || type > CX_RCOL_STRING ? CX_EFAIL : CX_OK;
        if (rc == CX_OK && cx_rtable_find_column(t, col) >= 0)
            rc = CX_EFAIL;
        if (rc == CX_OK)
            rc = cx_rtable_add_column(t, col, (cx_rcol_type)type, err);
        free(col);
        if (rc != CX_OK)
            return rc;
    }
    for (uint64_t i = 0; i < nrows; i++)
        if (cx_rtable_add_row(t, err) < 0)
            return err->code ? err->code : CX_ENOMEM;
    for (size_t j = 0; j < t->ncols && !rd->bad; j++) {
        cx_rcolumn *c = &t->cols[j];
        for (size_t i = 0; i < t->nrows && !rd->bad; i++) {
            if (c->type == CX_RCOL_DOUBLE) {
                c->d[i] = get_double(rd);
            } else if (c->type == CX_RCOL_INT) {
                c->i[i] = (long long)get_u64(rd);
            } else {
                c->s[i] = get_string(rd, &ok);
                if (!ok)
                    return CX_ENOMEM;
            }
        }
    }
    return rd->bad ? CX_EFAIL : CX_OK;
}

/* The attributes: set as result.c's setters would (in order). */
static int get_attrs(reader *rd, cx_result *res, cx_error *err)
{
    uint64_t n = get_u64(rd);
    if (n > rd->size / 8)
        return CX_EFAIL;
    for (uint64_t i = 0; i < n && !rd->bad; i++) {
        int ok = 1;
        char *name = get_string(rd, &ok);
        int is_string = get_u64(rd) != 0;
        double d = get_double(rd);
        char *s = get_string(rd, &ok);
        int rc = !ok ? CX_ENOMEM : rd->bad || !name || (is_string && !s) ? CX_EFAIL : CX_OK;
        if (rc == CX_OK)
            rc = is_string ? cx_result_set_attr_string(res, name, s, err)
                           : cx_result_set_attr_double(res, name, d, err);
        free(name);
        free(s);
        if (rc != CX_OK)
            return rc;
    }
    return rd->bad ? CX_EFAIL : CX_OK;
}

int cx_result_unpack(cx_result *r, const void *buf, size_t size, cx_error *err)
{
    reader rd = {buf, 0, size, 0};
    cx_result *fresh = cx_result_alloc(r->level, err);
    if (!fresh)
        return CX_ENOMEM;
    int ok = 1;
    fresh->status = (cx_job_status)get_u64(&rd);
    fresh->message = get_string(&rd, &ok);
    fresh->nobs = get_double(&rd);
    fresh->level = get_double(&rd);
    int rc = !ok ? CX_ENOMEM : rd.bad || fresh->status > CX_STATUS_FAILED ? CX_EFAIL : CX_OK;
    if (rc == CX_OK)
        rc = get_attrs(&rd, fresh, err);
    uint64_t n_tables = rc == CX_OK ? get_u64(&rd) : 0;
    if (rc == CX_OK && n_tables > size / 8)
        rc = CX_EFAIL;
    for (uint64_t i = 0; rc == CX_OK && i < n_tables; i++)
        rc = get_table(&rd, fresh, err);
    if (rc == CX_OK && (rd.bad || rd.at != size))
        rc = CX_EFAIL;
    if (rc == CX_OK) { /* swap the contents: the caller's pointer stays valid */
        cx_result old = *r;
        *r = *fresh;
        *fresh = old;
    } else if (rc == CX_EFAIL) {
        cx_error_set(err, CX_EFAIL, "a packed result is malformed");
    } else if (!err->code) {
        cx_error_set(err, rc, "out of memory unpacking a result");
    }
    cx_result_free(fresh);
    return rc;
}
