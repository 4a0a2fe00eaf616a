/*
 * bootstrap.c — see bootstrap.h; the intervals are engine/bootci.h's
 * (lavaan's parameterEstimates() conventions for se = "bootstrap").
 */
#include "bootstrap.h"

#include "../../engine/bootci.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sem_boot {
    size_t n_levels, B;
    double **est; /* n_levels x B: the written rows' estimates, or NULL */
    size_t *n_est;
};

sem_boot *sem_boot_alloc(size_t n_levels, size_t n_replicates, cx_error *err)
{
    sem_boot *b = cx_calloc(1, sizeof *b, err);
    if (!b)
        return NULL;
    b->n_levels = n_levels;
    b->B = n_replicates;
    b->est = cx_calloc(n_levels * n_replicates, sizeof *b->est, err);
    b->n_est = cx_calloc(n_levels * n_replicates, sizeof *b->n_est, err);
    if (!b->est || !b->n_est) {
        sem_boot_free(b);
        return NULL;
    }
    return b;
}

void sem_boot_free(sem_boot *b)
{
    if (!b)
        return;
    for (size_t i = 0; b->est && i < b->n_levels * b->B; i++)
        free(b->est[i]);
    free(b->est);
    free(b->n_est);
    free(b);
}

/* The rows the `estimates` table holds (sem_model.c's write_estimates). */
static int is_written(const sem_param *r)
{
    return !(r->op == SEM_OP_EQUAL || r->op == SEM_OP_LESS || r->op == SEM_OP_GREATER);
}

void sem_boot_store(sem_boot *b, size_t l, size_t r, const sem_partable *pt)
{
    size_t i = l * b->B + r, n = 0;
    if (!pt)
        return;
    for (size_t k = 0; k < pt->n_rows; k++)
        n += is_written(&pt->rows[k]);
    double *est = malloc((n ? n : 1) * sizeof *est);
    if (!est)
        return; /* counted as failed */
    n = 0;
    for (size_t k = 0; k < pt->n_rows; k++)
        if (is_written(&pt->rows[k]))
            est[n++] = pt->rows[k].est;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(est[k])) {
            free(est);
            return;
        }
    b->est[i] = est;
    b->n_est[i] = n;
}

size_t sem_boot_pack(const sem_boot *b, size_t l, size_t r, void *buf)
{
    size_t i = l * b->B + r, n = b->est[i] ? b->n_est[i] : 0;
    if (buf && n)
        memcpy(buf, b->est[i], n * sizeof *b->est[i]);
    return n * sizeof *b->est[i];
}

int sem_boot_unpack(sem_boot *b, size_t l, size_t r, const void *buf, size_t size, cx_error *err)
{
    size_t i = l * b->B + r, n = size / sizeof(double);
    if (size % sizeof(double))
        return cx_error_set(err, CX_EFAIL, "bootstrap: a packed replicate has the wrong size");
    free(b->est[i]);
    b->est[i] = NULL;
    b->n_est[i] = 0;
    if (!n)
        return CX_OK; /* a failed replicate */
    if (!(b->est[i] = cx_malloc(size, err)))
        return CX_ENOMEM;
    memcpy(b->est[i], buf, size);
    b->n_est[i] = n;
    return CX_OK;
}

static int bootstrap_table(cx_result *res, cx_rtable **out, cx_error *err)
{
    static const char *const strings[] = {"lhs", "op", "rhs"};
    static const char *const doubles[] = {"est",        "se",         "boot_mean",
                                          "perc_lower", "perc_upper", "norm_lower",
                                          "norm_upper", "bca_lower",  "bca_upper"};
    cx_rtable *t = cx_result_table(res, "bootstrap", err);
    if (!t)
        return err->code;
    for (size_t i = 0; i < 3; i++)
        if (cx_rtable_add_column(t, strings[i], CX_RCOL_STRING, err))
            return err->code;
    if (cx_rtable_add_column(t, "group", CX_RCOL_INT, err))
        return err->code;
    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++)
        if (cx_rtable_add_column(t, doubles[i], CX_RCOL_DOUBLE, err))
            return err->code;
    *out = t;
    return CX_OK;
}

/* Write parameter i's summaries: into `estimates` row i and a new row of
 * the `bootstrap` table. */
static int write_row(cx_rtable *est, size_t i, cx_rtable *bt, const cx_boot_summary *s, double level,
                     cx_error *err)
{
    int e_lhs = cx_rtable_find_column(est, "lhs"), e_op = cx_rtable_find_column(est, "op");
    int e_rhs = cx_rtable_find_column(est, "rhs"), e_grp = cx_rtable_find_column(est, "group");
    int e_est = cx_rtable_find_column(est, "est"), e_se = cx_rtable_find_column(est, "se");
    double t0 = est->cols[e_est].d[i];
    int fixed = est->cols[e_se].d[i] == 0; /* fixed parameters keep se 0 */
    double se = fixed ? 0 : s->se;
    if (!fixed) {
        double z = t0 / se;
        est->cols[e_se].d[i] = se;
        cx_rtable_set_double(est, i, "z", z);
        cx_rtable_set_double(est, i, "pvalue", 2 * gsl_cdf_ugaussian_Q(fabs(z)));
        cx_rtable_set_double(est, i, "ci_lower", s->perc[0]);
        cx_rtable_set_double(est, i, "ci_upper", s->perc[1]);
    }
    (void)level;
    long row = cx_rtable_add_row(bt, err);
    if (row < 0 || cx_rtable_set_string(bt, (size_t)row, "lhs", est->cols[e_lhs].s[i], err) ||
        cx_rtable_set_string(bt, (size_t)row, "op", est->cols[e_op].s[i], err) ||
        cx_rtable_set_string(bt, (size_t)row, "rhs", est->cols[e_rhs].s[i], err))
        return err->code;
    cx_rtable_set_int(bt, (size_t)row, "group", est->cols[e_grp].i[i]);
    const double v[] = {t0,         se,         s->mean,    s->perc[0], s->perc[1],
                        s->norm[0], s->norm[1], s->bca[0],  s->bca[1]};
    static const char *const names[] = {"est",        "se",         "boot_mean",
                                        "perc_lower", "perc_upper", "norm_lower",
                                        "norm_upper", "bca_lower",  "bca_upper"};
    for (size_t c = 0; c < sizeof v / sizeof *v; c++)
        cx_rtable_set_double(bt, (size_t)row, names[c], fixed && c > 1 ? t0 : v[c]);
    return CX_OK;
}

int sem_boot_write(const sem_boot *b, size_t l, cx_result *res, cx_error *err)
{
    cx_rtable *est = cx_result_find_table(res, "estimates");
    if (!est)
        return CX_OK; /* the level wrote nothing (failed before estimates) */
    size_t n = est->nrows, ok = 0;
    for (size_t r = 0; r < b->B; r++)
        ok += b->est[l * b->B + r] && b->n_est[l * b->B + r] == n;
    size_t failed = b->B - ok;
    int rc = cx_result_set_attr_string(res, "se", "bootstrap", err);
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(res, "bootstrap_replicates", (double)b->B, err);
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(res, "bootstrap_failed", (double)failed, err);
    if (rc == CX_OK)
        rc = cx_result_add_fit(res, "bootstrap_replicates", (double)b->B, err);
    if (rc == CX_OK)
        rc = cx_result_add_fit(res, "bootstrap_failed", (double)failed, err);
    if (rc != CX_OK)
        return rc;
    if (failed)
        cx_result_add_warning(res, "%zu of %zu bootstrap replicates failed (not converged or "
                                   "not identified) and were left out",
                              failed, b->B);
    if (ok < 2) {
        cx_result_set_status(res, CX_STATUS_FAILED,
                             "bootstrap: only %zu of %zu replicates converged", ok, b->B);
        return CX_OK;
    }
    cx_rtable *bt = NULL;
    double *t = cx_malloc(ok * sizeof *t, err);
    rc = t ? bootstrap_table(res, &bt, err) : CX_ENOMEM;
    int e_est = cx_rtable_find_column(est, "est");
    for (size_t i = 0; rc == CX_OK && i < n; i++) {
        size_t m = 0;
        for (size_t r = 0; r < b->B; r++) {
            const double *v = b->est[l * b->B + r];
            if (v && b->n_est[l * b->B + r] == n)
                t[m++] = v[i];
        }
        cx_boot_summary s;
        cx_boot_summarise(t, m, est->cols[e_est].d[i], res->level, &s);
        rc = write_row(est, i, bt, &s, res->level, err);
    }
    free(t);
    return rc;
}
