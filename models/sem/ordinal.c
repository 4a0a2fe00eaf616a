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
#include "sem_data.h"
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

/* Every word of `ordered` is "all" or an observed variable of the model:
 * a name the model does not use would be silently ignored otherwise. */
static int check_words(const cx_job *job, const sem_partable *pt, const char *ordered,
                       cx_error *err)
{
    size_t n = 0;
    char **words = cx_words_split(ordered, &n, err);
    if (!words)
        return CX_ENOMEM;
    int rc = n ? CX_OK
               : cx_job_error(job, "ordered", err, CX_EUSAGE,
                              "expected the ordinal items' names or 'all'");
    for (size_t k = 0; k < n && rc == CX_OK; k++) {
        int found = strcmp(words[k], "all") == 0;
        for (size_t i = 0; i < pt->n_ov && !found; i++)
            found = strcmp(words[k], pt->ov_names[i]) == 0;
        if (!found)
            rc = cx_job_error(job, "ordered", err, CX_EUSAGE,
                              "'%s' is not an observed variable of the model", words[k]);
    }
    cx_words_free(words);
    return rc;
}

int sem_ordinal_check(const cx_job *job, const sem_partable *pt, const char *ordered, cx_error *err)
{
    int wrc = check_words(job, pt, ordered, err);
    if (wrc != CX_OK)
        return wrc;
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

static int write_sampstat(cx_result *res, const sem_ord_stats *s, char **names, int group,
                          cx_error *err)
{
    cx_rtable *t = cx_result_table(res, "sampstat", err);
    if (!t)
        return err->code;
    if (group <= 1 && (cx_rtable_add_column(t, "lhs", CX_RCOL_STRING, err) ||
                       cx_rtable_add_column(t, "op", CX_RCOL_STRING, err) ||
                       cx_rtable_add_column(t, "rhs", CX_RCOL_STRING, err) ||
                       cx_rtable_add_column(t, "value", CX_RCOL_DOUBLE, err) ||
                       cx_rtable_add_column(t, "gamma", CX_RCOL_DOUBLE, err) ||
                       cx_rtable_add_column(t, "group", CX_RCOL_INT, err)))
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
            cx_rtable_set_int(t, (size_t)row, "group", group);
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
            cx_rtable_set_int(t, (size_t)row, "group", group);
            cx_rtable_set_double(t, (size_t)row, "value", s->rho[i * s->p + j]);
            cx_rtable_set_double(t, (size_t)row, "gamma", s->gamma[d * s->dim + d]);
        }
    return CX_OK;
}

static int write_results(cx_result *res, const sem_wls_result *w, int multi, int theta,
                         cx_error *err)
{
    cx_rtable *t = cx_result_estimates_table(res, err);
    if (!t || (cx_rtable_find_column(t, "std_lv") < 0 &&
               cx_rtable_add_column(t, "std_lv", CX_RCOL_DOUBLE, err)))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t k = 0; k < w->n_rows; k++) {
        const sem_wls_row *r = &w->rows[k];
        long row = cx_result_add_estimate(res, r->lhs, r->op, r->rhs, multi ? r->group + 1 : 0,
                                          r->est, r->se, r->std_all, err);
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
        cx_rtable_set_int(r2, (size_t)row, "group", multi ? w->fit->r2_group[k] + 1 : 0);
        cx_rtable_set_double(r2, (size_t)row, "r2", w->fit->r2[k]);
    }
    /* `ordered` implies WLSMV whether or not `estimator` says so */
    if (cx_result_set_attr_string(res, "estimator", "wlsmv", err) != CX_OK ||
        cx_result_set_attr_string(res, "parameterization", theta ? "theta" : "delta", err) !=
            CX_OK)
        return err->code;
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

/* `groups`: each group number with its label and N. */
static int write_groups(cx_result *res, const sem_data *d, const size_t *cell,
                        const sem_ord_stats *const *st, size_t G, cx_error *err)
{
    double *values = cx_calloc(2 * G, sizeof *values, err), *nobs = values + G;
    if (!values)
        return err->code;
    size_t k = d->view->n_group_cols;
    for (size_t g = 0; g < G; g++) {
        values[g] = d->view->level_values[cell[g] * k + k - 1];
        nobs[g] = st[g]->n;
    }
    int rc = sem_data_write_groups(res, d, G, values, nobs, err);
    free(values);
    return rc;
}

/* The ordinal statistics of every cell (`by` level x group) of the pass
 * view; a cell whose statistics cannot be computed (an item with one
 * category there) fails only its level. */
typedef struct ordinal_data {
    sem_data d;
    size_t *cell;            /* cells by level, then first appearance      */
    size_t *level_start;     /* n_levels + 1 offsets into cell             */
    sem_ord_stats *stats;    /* per cell                                   */
    sem_ord_stats **by_cell; /* per cell; NULL when its statistics failed */
    int *cell_rc;
    char (*cell_msg)[CX_ERROR_MSG_MAX];
} ordinal_data;

static void ordinal_data_clear(ordinal_data *o)
{
    for (size_t c = 0; o->stats && c < o->d.n_cells; c++)
        sem_ord_stats_clear(&o->stats[c]);
    free(o->stats);
    free(o->cell);
    free(o->level_start);
    free(o->by_cell);
    free(o->cell_rc);
    free(o->cell_msg);
    sem_data_clear(&o->d);
    memset(o, 0, sizeof *o);
}

/* Cells by `by` level, within a level in order of first appearance
 * (lavaan numbers groups so). */
static void order_cells(ordinal_data *o, const void *first)
{
    size_t C = o->d.n_cells;
    const size_t *lv = o->d.level_of_cell;
    for (size_t c = 0; c < C; c++)
        o->cell[c] = c;
    for (size_t i = 1; i < C; i++)
        for (size_t j = i; j > 0; j--) {
            size_t a = o->cell[j - 1], b = o->cell[j];
            int before = lv[b] < lv[a] ||
                         (lv[b] == lv[a] && cx_first_row_of(first, b) < cx_first_row_of(first, a));
            if (!before)
                break;
            o->cell[j - 1] = b;
            o->cell[j] = a;
        }
    for (size_t l = 0; l <= o->d.n_levels; l++)
        o->level_start[l] = 0;
    for (size_t c = 0; c < C; c++)
        o->level_start[lv[c] + 1]++;
    for (size_t l = 0; l < o->d.n_levels; l++)
        o->level_start[l + 1] += o->level_start[l];
}

static void cell_failed(ordinal_data *o, size_t c, int rc, cx_error *err)
{
    o->cell_rc[c] = rc;
    snprintf(o->cell_msg[c], CX_ERROR_MSG_MAX, "%s", err->msg);
    o->by_cell[c] = NULL;
    cx_error_clear(err);
}

/* Pass 1 (counts, first rows), the statistics, pass 2 (Gamma). */
static int ordinal_passes(const cx_job *job, const int *cols, char **names, size_t p,
                          ordinal_data *o, cx_error *err)
{
    size_t C = o->d.n_cells;
    o->cell = cx_calloc(C, sizeof *o->cell, err);
    o->level_start = cx_calloc(o->d.n_levels + 1, sizeof *o->level_start, err);
    o->stats = cx_calloc(C, sizeof *o->stats, err);
    o->by_cell = cx_calloc(C, sizeof *o->by_cell, err);
    o->cell_rc = cx_calloc(C, sizeof *o->cell_rc, err);
    o->cell_msg = cx_calloc(C, sizeof *o->cell_msg, err);
    if (!o->cell || !o->level_start || !o->stats || !o->by_cell || !o->cell_rc || !o->cell_msg)
        return CX_ENOMEM;
    sem_ord_count_params cp = {p, C, (const char *const *)names};
    cx_first_row_params fp = {C};
    cx_reducer r[2] = {{&sem_ord_counts, &cp, NULL}, {&cx_reducer_first_row, &fp, NULL}};
    int rc = cx_reduce_view(o->d.view, cols, p, r, 2, job->threads, err);
    if (rc == CX_OK)
        order_cells(o, r[1].acc);
    for (size_t c = 0; c < C && rc == CX_OK; c++) {
        int crc =
            sem_ord_stats_from_counts(r[0].acc, c, (const char *const *)names, &o->stats[c], err);
        if (crc == CX_ENOMEM)
            rc = crc;
        else if (crc != CX_OK)
            cell_failed(o, c, crc, err);
        else
            o->by_cell[c] = &o->stats[c];
    }
    cx_reducer_release(&r[0]);
    cx_reducer_release(&r[1]);
    sem_ord_inner_params ip = {p, C, o->by_cell};
    cx_reducer inner = {&sem_ord_inner, &ip, NULL};
    if (rc == CX_OK)
        rc = cx_reduce_view(o->d.view, cols, p, &inner, 1, job->threads, err);
    for (size_t c = 0; c < C && rc == CX_OK; c++) {
        if (!o->by_cell[c])
            continue;
        int crc = sem_ord_gamma(inner.acc, c, &o->stats[c], err);
        if (crc == CX_ENOMEM)
            rc = crc;
        else if (crc != CX_OK)
            cell_failed(o, c, crc, err);
    }
    cx_reducer_release(&inner);
    return rc;
}

static int group_col(const cx_job *job, const char *group, int *gcol, cx_error *err)
{
    *gcol = -1;
    if (!group)
        return CX_OK;
    char *name = (char *)group;
    int rc = cx_view_columns(job->view, &name, 1, gcol, err);
    return rc == CX_OK ? CX_OK : cx_job_error(job, "group", err, rc, "%s", err->msg);
}

/* Fit the groups' statistics with group_equal and write res; the fit's
 * internals stay in *w (the caller clears it). */
static int fit_groups(const sem_ordinal_spec *spec, const ordinal_data *o, const size_t *cells,
                      const sem_ord_stats *const *group, size_t G, unsigned group_equal,
                      sem_wls_result *w, cx_result *res, cx_error *err)
{
    sem_partable *pt = spec->build(spec->ctx, G, group_equal, err);
    if (!pt)
        return err->code;
    int rc = sem_wls_fit(pt, group, group_equal, spec->theta, spec->max_iter, w, err);
    if (rc == CX_OK) {
        res->nobs = 0;
        for (size_t g = 0; g < G; g++)
            res->nobs += group[g]->n;
        write_status(res, w->fit);
        rc = write_results(res, w, G > 1, spec->theta, err);
    }
    for (size_t g = 0; rc == CX_OK && g < G; g++)
        rc = write_sampstat(res, group[g], pt->ov_names, G > 1 ? (int)g + 1 : 0, err);
    if (rc == CX_OK && G > 1)
        rc = write_groups(res, &o->d, cells, group, G, err);
    sem_partable_free(pt);
    return rc;
}

/* `invariance`: one fit per step (invariance.c calls fit_step in step
 * order), compared by the scaled difference test of wls.c. */
typedef struct inv_ctx {
    const sem_ordinal_spec *spec;
    const ordinal_data *o;
    const size_t *cells;
    const sem_ord_stats *const *group;
    size_t G, n_fitted;
    sem_wls_result w[SEM_INV_MAX_STEPS];
} inv_ctx;

static int fit_step(void *vctx, unsigned group_equal, cx_result *res, cx_error *err)
{
    inv_ctx *c = vctx;
    if (c->n_fitted >= SEM_INV_MAX_STEPS)
        return cx_error_set(err, CX_EFAIL, "too many invariance steps");
    sem_wls_result *w = &c->w[c->n_fitted++];
    return fit_groups(c->spec, c->o, c->cells, c->group, c->G, group_equal, w, res, err);
}

static int diff_step(void *vctx, size_t prev, size_t cur, sem_inv_diff *out, cx_error *err)
{
    inv_ctx *c = vctx;
    sem_wls_diff d;
    int rc = sem_wls_diff_test(c->group, c->G, &c->w[prev], &c->w[cur], &d, err);
    out->stat = d.stat, out->df = d.df, out->pvalue = d.pvalue;
    out->scale = d.a, out->shift = d.b;
    return rc;
}

static int fit_invariance(const cx_job *job, const sem_ordinal_spec *spec, const ordinal_data *o,
                          const size_t *cells, const sem_ord_stats *const *group, size_t G,
                          cx_result *res, cx_error *err)
{
    inv_ctx c = {spec, o, cells, group, G, 0, {{0}}};
    int rc = sem_invariance_run_scaled(job, spec->inv, G, fit_step, diff_step, &c, res, err);
    for (size_t k = 0; k < c.n_fitted; k++)
        sem_wls_result_clear(&c.w[k]);
    return rc;
}

/* Fit `by` level l (all of the job without `by`) and write res. */
static int fit_level(const cx_job *job, const sem_ordinal_spec *spec, ordinal_data *o, size_t l,
                     cx_result *res, cx_error *err)
{
    size_t G = o->level_start[l + 1] - o->level_start[l];
    const size_t *cells = o->cell + o->level_start[l];
    if (spec->group && G < 2)
        return cx_job_error(job, "group", err, CX_EUSAGE,
                            "column '%s' has %zu level(s); a multi-group model needs 2 or more",
                            spec->group, G);
    if (G == 0)
        return cx_error_set(err, CX_EUSAGE, "no rows");
    const sem_ord_stats **group = cx_calloc(G, sizeof *group, err);
    if (!group)
        return CX_ENOMEM;
    int rc = CX_OK;
    for (size_t g = 0; g < G && rc == CX_OK; g++) {
        group[g] = o->by_cell[cells[g]];
        if (!group[g]) {
            rc = o->cell_rc[cells[g]];
            if (G > 1)
                cx_error_set(err, rc, "group %zu: %.900s", g + 1, o->cell_msg[cells[g]]);
            else
                cx_error_set(err, rc, "%s", o->cell_msg[cells[g]]);
        }
    }
    if (rc == CX_OK && spec->inv && spec->inv->n_steps) {
        rc = fit_invariance(job, spec, o, cells, group, G, res, err);
    } else if (rc == CX_OK) {
        sem_wls_result w = {0};
        rc = fit_groups(spec, o, cells, group, G, spec->group_equal, &w, res, err);
        sem_wls_result_clear(&w);
    }
    free(group);
    return rc;
}

int sem_ordinal_group_equal(const cx_job *job, unsigned *eq, int theta, cx_error *err)
{
    if (!theta && (*eq & SEM_EQ_RESIDUALS))
        return cx_job_error(job, "group_equal", err, CX_EUSAGE,
                            "with ordered items 'residuals' needs parameterization = theta: "
                            "residual variances are no parameters in the delta "
                            "parameterization (lavaan's group.equal = \"residuals\" changes "
                            "nothing there)");
    if ((*eq & (SEM_EQ_INTERCEPTS | SEM_EQ_MEANS | SEM_EQ_RESIDUALS)) &&
        !(*eq & SEM_EQ_THRESHOLDS))
        return cx_job_error(job, "group_equal", err, CX_EUSAGE,
                            "with ordered items 'intercepts', 'means' and 'residuals' need "
                            "'thresholds' (the latent means and residual variances are "
                            "identified by equal thresholds; an ordered item's intercept is "
                            "fixed at 0)");
    *eq &= ~(unsigned)SEM_EQ_INTERCEPTS;
    return CX_OK;
}

int sem_ordinal_fit(const cx_job *job, const sem_ordinal_spec *spec, cx_result **results,
                    cx_error *err)
{
    ordinal_data o = {0};
    int gcol = -1, *cols = NULL;
    sem_partable *pt = spec->build(spec->ctx, 1, 0u, err);
    if (!pt)
        return err->code;
    int rc = sem_ordinal_check(job, pt, spec->ordered, err);
    if (rc == CX_OK)
        rc = (cols = cx_calloc(pt->n_ov + 1, sizeof *cols, err)) ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK)
        rc = cx_view_columns(job->view, pt->ov_names, pt->n_ov, cols, err);
    if (rc == CX_OK)
        rc = group_col(job, spec->group, &gcol, err);
    if (rc == CX_OK)
        rc = sem_data_prepare(job, gcol, &o.d, err);
    if (rc == CX_OK)
        rc = ordinal_passes(job, cols, pt->ov_names, pt->n_ov, &o, err);
    /* one result per `by` level; a level that fails says why in its own
     * result (without `by` the job fails) */
    for (size_t l = 0; rc == CX_OK && l < o.d.n_levels; l++) {
        cx_error lerr = {0};
        int lrc = fit_level(job, spec, &o, l, results[l], &lerr);
        if (lrc != CX_OK && (o.d.n_levels == 1 || lrc == CX_ENOMEM))
            rc = cx_error_set(err, lrc, "%s", lerr.msg);
        else if (lrc != CX_OK)
            cx_result_set_status(results[l], CX_STATUS_FAILED, "%s", lerr.msg);
    }
    ordinal_data_clear(&o);
    sem_partable_free(pt);
    free(cols);
    return rc;
}
