/*
 * ordinal.c — see ordinal.h.  Pass 1 (frequency tables) gives thresholds
 * and polychorics, pass 2 (score cross-products at those estimates) gives
 * Gamma; the fit reads only these statistics.  Besides the contract's
 * tables the job writes `sampstat`: every threshold and polychoric with
 * its asymptotic variance (the diagonal of Gamma / N, DWLS's weights),
 * lavaan's lavInspect(fit, "sampstat") and diag(lavInspect(fit, "gamma")).
 */
#include "ordinal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/reducer.h"
#include "polychoric.h"
#include "wls.h"

static int is_ordered(const char *ordered, const char *name, cx_error *err, int *yes)
{
    size_t n = 0;
    *yes = 0;
    char **words = cx_words_split(ordered, &n, err);
    if (!words)
        return CX_ENOMEM;
    for (size_t k = 0; k < n; k++)
        *yes |= strcmp(words[k], "all") == 0 || strcmp(words[k], name) == 0;
    cx_words_free(words);
    return CX_OK;
}

int sem_ordinal_check(const cx_job *job, const sem_partable *pt, const char *ordered,
                      cx_error *err)
{
    for (size_t i = 0; i < pt->n_ov; i++) {
        int yes = 0;
        int rc = is_ordered(ordered, pt->ov_names[i], err, &yes);
        if (rc != CX_OK)
            return rc;
        if (!yes)
            return cx_job_error(job, "ordered", err, CX_EUSAGE,
                                "'%s' is not ordered: models mixing continuous and ordinal "
                                "observed variables are not supported yet (list every item, or "
                                "ordered = all)",
                                pt->ov_names[i]);
    }
    return CX_OK;
}

static int write_sampstat(cx_result *res, const sem_ord_stats *s, char **names, cx_error *err)
{
    cx_rtable *t = cx_result_table(res, "sampstat", err);
    if (!t || cx_rtable_add_column(t, "lhs", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "op", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "rhs", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "value", CX_RCOL_DOUBLE, err) ||
        cx_rtable_add_column(t, "gamma", CX_RCOL_DOUBLE, err))
        return err->code;
    size_t d = 0;
    for (size_t i = 0; i < s->p; i++)
        for (size_t k = 0; k + 1 < s->ncat[i]; k++, d++) {
            char th[32];
            snprintf(th, sizeof th, "t%zu", k + 1);
            long row = cx_rtable_add_row(t, err);
            if (row < 0 || cx_rtable_set_string(t, (size_t)row, "lhs", names[i], err) ||
                cx_rtable_set_string(t, (size_t)row, "op", "|", err) ||
                cx_rtable_set_string(t, (size_t)row, "rhs", th, err))
                return err->code;
            cx_rtable_set_double(t, (size_t)row, "value", s->th[d]);
            cx_rtable_set_double(t, (size_t)row, "gamma", s->gamma[d * s->dim + d]);
        }
    for (size_t j = 0; j + 1 < s->p; j++)
        for (size_t i = j + 1; i < s->p; i++, d++) {
            long row = cx_rtable_add_row(t, err);
            if (row < 0 || cx_rtable_set_string(t, (size_t)row, "lhs", names[i], err) ||
                cx_rtable_set_string(t, (size_t)row, "op", "~~", err) ||
                cx_rtable_set_string(t, (size_t)row, "rhs", names[j], err))
                return err->code;
            cx_rtable_set_double(t, (size_t)row, "value", s->rho[i * s->p + j]);
            cx_rtable_set_double(t, (size_t)row, "gamma", s->gamma[d * s->dim + d]);
        }
    return CX_OK;
}

static int write_results(cx_result *res, const sem_wls_result *w, cx_error *err)
{
    cx_rtable *t = cx_result_estimates_table(res, err);
    if (!t || (cx_rtable_find_column(t, "std_lv") < 0 &&
               cx_rtable_add_column(t, "std_lv", CX_RCOL_DOUBLE, err)))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t k = 0; k < w->n_rows; k++) {
        const sem_wls_row *r = &w->rows[k];
        long row = cx_result_add_estimate(res, r->lhs, r->op, r->rhs, 0, r->est, r->se,
                                          r->std_all, err);
        if (row < 0)
            return err->code;
        cx_rtable_set_double(t, (size_t)row, "std_lv", r->std_lv);
    }
    for (size_t k = 0; k < w->fit->n_measures; k++)
        if (cx_result_add_fit(res, w->fit->measures[k].name, w->fit->measures[k].value, err))
            return err->code;
    cx_rtable *r2 = cx_result_table(res, "r2", err);
    if (!r2 || cx_rtable_add_column(r2, "variable", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(r2, "group", CX_RCOL_INT, err) ||
        cx_rtable_add_column(r2, "r2", CX_RCOL_DOUBLE, err))
        return err->code;
    for (size_t k = 0; k < w->fit->n_r2; k++) {
        long row = cx_rtable_add_row(r2, err);
        if (row < 0 || cx_rtable_set_string(r2, (size_t)row, "variable", w->fit->r2_names[k], err))
            return err->code;
        cx_rtable_set_int(r2, (size_t)row, "group", 0);
        cx_rtable_set_double(r2, (size_t)row, "r2", w->fit->r2[k]);
    }
    return cx_result_set_attr_double(res, "iterations", w->fit->iterations, err);
}

static void write_status(cx_result *res, const sem_fit *fit)
{
    const char *p = fit->warnings;
    while (*p) {
        const char *end = strchr(p, '\n');
        int len = end ? (int)(end - p) : (int)strlen(p);
        if (len > 0 && !fit->converged && strstr(p, "did not converge") == p)
            cx_result_set_status(res, CX_STATUS_NOT_CONVERGED, "%.*s", len, p);
        else if (len > 0)
            cx_result_add_warning(res, "%.*s", len, p);
        p += len + (end ? 1 : 0);
    }
}

int sem_ordinal_fit(const cx_job *job, const sem_partable *pt, const char *ordered, int max_iter,
                    cx_result *res, cx_error *err)
{
    int rc = sem_ordinal_check(job, pt, ordered, err);
    if (rc != CX_OK)
        return rc;
    size_t p = pt->n_ov;
    int *cols = cx_calloc(p + 1, sizeof *cols, err);
    if (!cols)
        return CX_ENOMEM;
    rc = cx_view_columns(job->view, pt->ov_names, p, cols, err);
    const cx_view *v = job->view;
    size_t n_cells = v->n_levels ? v->n_levels : 1;
    sem_ord_count_params cp = {p, n_cells, (const char *const *)pt->ov_names};
    cx_reducer counts = {&sem_ord_counts, &cp, NULL}, inner = {&sem_ord_inner, NULL, NULL};
    sem_ord_stats s = {0};
    sem_ord_stats *cell[1] = {&s};
    sem_ord_inner_params ip = {p, 1, cell};
    if (rc == CX_OK)
        rc = cx_reduce_view(v, cols, p, &counts, 1, job->threads, err);
    if (rc == CX_OK)
        rc = sem_ord_stats_from_counts(counts.acc, 0, (const char *const *)pt->ov_names, &s, err);
    if (rc == CX_OK) {
        inner.params = &ip;
        rc = cx_reduce_view(v, cols, p, &inner, 1, job->threads, err);
    }
    if (rc == CX_OK)
        rc = sem_ord_gamma(inner.acc, 0, &s, err);
    sem_wls_result w = {0};
    if (rc == CX_OK)
        rc = sem_wls_fit(pt, &s, max_iter, &w, err);
    if (rc == CX_OK) {
        res->nobs = s.n;
        write_status(res, w.fit);
        rc = write_results(res, &w, err);
    }
    if (rc == CX_OK)
        rc = write_sampstat(res, &s, pt->ov_names, err);
    sem_wls_result_clear(&w);
    sem_ord_stats_clear(&s);
    cx_reducer_release(&counts);
    cx_reducer_release(&inner);
    free(cols);
    return rc;
}
