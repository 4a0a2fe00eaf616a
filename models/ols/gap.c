/*
 * gap.c — `model = gap`: expectation vs perception per touchpoint.
 *
 * Key `pairs`: `expected: perceived` pairs, e.g.
 *   pairs = exp_web: tp_web  exp_store: tp_store
 * (separated by spaces, newlines, ';' or ','; spaces around ':' allowed).
 * Engine keys: `by` (every level from one pass), `level`.
 *
 * For each pair, over the rows where both are present (pairwise by pair),
 * the gap d = perceived - expected (negative: below expectation):
 *   gap = mean(d); se = sd(d)/sqrt(n); t = gap/se, p and CI from Student's
 *   t with n - 1 df (R's t.test(perceived, expected, paired = TRUE));
 *   d_z = gap / sd(d), Cohen's d for paired data (the standardized mean
 *   difference of the paired differences, Lakens 2013), the effect size of
 *   the paired t test: t = d_z sqrt(n);
 *   below = the share of respondents with perceived < expected;
 *   rank = 1 for the most negative gap (the largest shortfall).
 * Sums are (n, mean, M2) per level and pair, merged with Chan et al.'s
 * pairwise update, so blocks and threads give the same numbers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "dist.h"
#include "model.h"
#include "reducer.h"

static const char *const gap_keys[] = {"pairs", NULL};

#define GAP_MAX_PAIRS 256

typedef struct gap_pairs {
    size_t n;
    int cols[2 * GAP_MAX_PAIRS]; /* expected, perceived per pair */
} gap_pairs;

static int is_sep(char c)
{
    return c == ' ' || c == ';' || c == ',' || c == '\n' || c == '\t' || c == '\r';
}

/* `a: b c:d` -> tokens "a:b", "c:d". */
static int parse_pairs(const cx_job *job, gap_pairs *gp, cx_error *err)
{
    const char *v = cx_section_get(job->section, "pairs");
    if (!v || !*v)
        return cx_job_error(job, "pairs", err, CX_EUSAGE,
                            "expected pairs `expected: perceived`, e.g. exp_web: tp_web");
    size_t len = strlen(v);
    char *buf = cx_malloc(len + 1, err);
    if (!buf)
        return CX_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = is_sep(v[i]) ? ' ' : v[i];
        if (c == ' ') {
            size_t j = i + 1;
            while (j < len && is_sep(v[j]))
                j++;
            /* drop spaces around ':' and repeated ones */
            if ((o && (buf[o - 1] == ':' || buf[o - 1] == ' ')) || (j < len && v[j] == ':'))
                continue;
        }
        buf[o++] = c;
    }
    buf[o] = '\0';
    int rc = CX_OK;
    gp->n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok && rc == CX_OK;
         tok = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon || colon == tok || !colon[1] || strchr(colon + 1, ':')) {
            rc = cx_job_error(job, "pairs", err, CX_EUSAGE,
                              "'%s' is not a pair; expected `expected: perceived`", tok);
            break;
        }
        if (gp->n == GAP_MAX_PAIRS) {
            rc = cx_job_error(job, "pairs", err, CX_EUSAGE, "more than %d pairs", GAP_MAX_PAIRS);
            break;
        }
        *colon = '\0';
        char *names[2] = {tok, colon + 1};
        if (cx_view_columns(job->view, names, 2, gp->cols + 2 * gp->n, err) != CX_OK)
            rc = cx_job_error(job, "pairs", err, CX_EUSAGE, "%s", err->msg);
        for (size_t k = 0; rc == CX_OK && k < 2; k++) {
            const cx_column_info *ci =
                cx_table_column(job->view->table, (size_t)gp->cols[2 * gp->n + k]);
            if (ci->kind == CX_COL_STRING)
                rc = cx_job_error(job, "pairs", err, CX_EUSAGE,
                                  "column '%s' is a string column; expected numeric ratings",
                                  ci->name);
        }
        gp->n++;
    }
    free(buf);
    if (rc == CX_OK && gp->n == 0)
        rc = cx_job_error(job, "pairs", err, CX_EUSAGE, "expected at least one pair");
    return rc;
}

/* ---- the reducer: per level and pair, moments of d, e, p ----------------- */

typedef struct gap_mom {
    double n, mean_d, m2_d, mean_e, mean_p, below;
} gap_mom;

typedef struct gap_params {
    size_t n_levels, n_pairs;
} gap_params;

typedef struct gap_acc {
    const gap_params *par;
    gap_mom *m; /* n_levels x n_pairs */
} gap_acc;

static void gap_acc_free(void *v)
{
    gap_acc *a = v;
    if (a)
        free(a->m);
    free(a);
}

static void *gap_acc_alloc(const void *params, cx_error *err)
{
    const gap_params *par = params;
    gap_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    a->m = cx_calloc(par->n_levels * par->n_pairs, sizeof *a->m, err);
    if (!a->m) {
        free(a);
        return NULL;
    }
    return a;
}

static void gap_acc_reset(void *v)
{
    gap_acc *a = v;
    memset(a->m, 0, a->par->n_levels * a->par->n_pairs * sizeof *a->m);
}

/* Chan et al.: merge (n, means, M2) of b into a. */
static void mom_merge(gap_mom *a, const gap_mom *b)
{
    if (b->n == 0)
        return;
    double n = a->n + b->n, dd = b->mean_d - a->mean_d;
    a->m2_d += b->m2_d + dd * dd * a->n * b->n / n;
    a->mean_d += dd * b->n / n;
    a->mean_e += (b->mean_e - a->mean_e) * b->n / n;
    a->mean_p += (b->mean_p - a->mean_p) * b->n / n;
    a->below += b->below;
    a->n = n;
}

static int gap_acc_add(void *v, const cx_block *b, cx_error *err)
{
    (void)err;
    gap_acc *a = v;
    size_t P = a->par->n_pairs;
    for (size_t i = 0; i < b->n; i++) {
        gap_mom *row = &a->m[b->level[i] * P];
        for (size_t k = 0; k < P; k++) {
            double e = b->data[(2 * k) * b->ld + i], p = b->data[(2 * k + 1) * b->ld + i];
            if (isnan(e) || isnan(p))
                continue;
            gap_mom one = {1, p - e, 0, e, p, p < e ? 1 : 0};
            mom_merge(&row[k], &one);
        }
    }
    return CX_OK;
}

static void gap_acc_merge(void *v, const void *o)
{
    gap_acc *a = v;
    const gap_acc *b = o;
    for (size_t i = 0; i < a->par->n_levels * a->par->n_pairs; i++)
        mom_merge(&a->m[i], &b->m[i]);
}

static const cx_reducer_type gap_reducer = {
    "gap_moments", gap_acc_alloc, gap_acc_reset, gap_acc_add, gap_acc_merge, NULL, gap_acc_free};

/* MPI row splitting (engine/dist.h): the moments are plain data, so a
 * rank's totals travel as their bytes (the ranks run the same binary). */
static size_t gap_acc_pack(const void *v, void *buf)
{
    const gap_acc *a = v;
    size_t bytes = a->par->n_levels * a->par->n_pairs * sizeof *a->m;
    if (buf)
        memcpy(buf, a->m, bytes);
    return bytes;
}

static int gap_acc_unpack(void *v, const void *buf, size_t size, cx_error *err)
{
    gap_acc *a = v;
    if (size != a->par->n_levels * a->par->n_pairs * sizeof *a->m)
        return cx_error_set(err, CX_EFAIL, "gap: a packed total has the wrong size");
    memcpy(a->m, buf, size);
    return CX_OK;
}

static const cx_pack_ops gap_pack_ops = {gap_acc_pack, gap_acc_unpack, NULL};

/* ---- tables ---------------------------------------------------------------- */

static cx_rtable *gap_table(cx_result *res, cx_error *err)
{
    static const char *const d[] = {"mean_expected", "mean_perceived", "gap", "se",
                                    "ci_lower",      "ci_upper",       "t",   "pvalue",
                                    "d_z",           "below",          NULL};
    cx_rtable *t = cx_result_table(res, "gap", err);
    if (!t || cx_rtable_add_column(t, "expected", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "perceived", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "n", CX_RCOL_INT, err))
        return NULL;
    for (size_t i = 0; d[i]; i++)
        if (cx_rtable_add_column(t, d[i], CX_RCOL_DOUBLE, err))
            return NULL;
    return cx_rtable_add_column(t, "rank", CX_RCOL_INT, err) ? NULL : t;
}

static int write_pair(const cx_job *job, const gap_pairs *gp, size_t k, const gap_mom *m,
                      long long rank, cx_rtable *t, cx_result *res, cx_error *err)
{
    const char *en = cx_table_column(job->view->table, (size_t)gp->cols[2 * k])->name;
    const char *pn = cx_table_column(job->view->table, (size_t)gp->cols[2 * k + 1])->name;
    double n = m->n, sd = n > 1 ? sqrt(m->m2_d / (n - 1)) : NAN, se = sd / sqrt(n);
    double tv = m->mean_d / se, df = n - 1;
    double tq = n > 1 ? gsl_cdf_tdist_Qinv((1 - job->level) / 2, df) : NAN;
    double p = n > 1 ? 2 * gsl_cdf_tdist_Q(fabs(tv), df) : NAN;
    long row = cx_rtable_add_row(t, err);
    if (row < 0 || cx_rtable_set_string(t, (size_t)row, "expected", en, err) ||
        cx_rtable_set_string(t, (size_t)row, "perceived", pn, err))
        return err->code ? err->code : CX_ENOMEM;
    const char *names[] = {"mean_expected", "mean_perceived", "gap", "se",
                           "ci_lower",      "ci_upper",       "t",   "pvalue",
                           "d_z",           "below"};
    double v[] = {m->mean_e,
                  m->mean_p,
                  m->mean_d,
                  se,
                  m->mean_d - tq * se,
                  m->mean_d + tq * se,
                  tv,
                  p,
                  m->mean_d / sd,
                  n > 0 ? m->below / n : NAN};
    cx_rtable_set_int(t, (size_t)row, "n", (long long)n);
    for (size_t i = 0; i < 10; i++)
        cx_rtable_set_double(t, (size_t)row, names[i], v[i]);
    cx_rtable_set_int(t, (size_t)row, "rank", rank);
    char lhs[2 * CX_NAME_MAX + 4];
    snprintf(lhs, sizeof lhs, "%s-%s", pn, en);
    cx_rtable *est = cx_result_estimates_table(res, err);
    long er =
        est ? cx_result_add_estimate(res, "gap", ":=", lhs, 0, m->mean_d, se, m->mean_d / sd, err)
            : -1;
    if (er < 0)
        return err->code ? err->code : CX_ENOMEM;
    cx_rtable_set_double(est, (size_t)er, "z", tv);
    cx_rtable_set_double(est, (size_t)er, "pvalue", p);
    cx_rtable_set_double(est, (size_t)er, "ci_lower", v[4]);
    cx_rtable_set_double(est, (size_t)er, "ci_upper", v[5]);
    return CX_OK;
}

static int write_level(const cx_job *job, const gap_pairs *gp, const gap_mom *m, cx_result *res,
                       cx_error *err)
{
    cx_rtable *t = gap_table(res, err);
    if (!t)
        return err->code ? err->code : CX_ENOMEM;
    double nmax = 0;
    for (size_t k = 0; k < gp->n; k++) {
        if (m[k].n < 2)
            cx_result_add_warning(res, "pair %zu has %g complete rows; its SE is undefined", k + 1,
                                  m[k].n);
        nmax = m[k].n > nmax ? m[k].n : nmax;
        long long rank = 1;
        for (size_t i = 0; i < gp->n; i++)
            if (m[i].mean_d < m[k].mean_d || (m[i].mean_d == m[k].mean_d && i < k))
                rank++;
        int rc = write_pair(job, gp, k, &m[k], rank, t, res, err);
        if (rc != CX_OK)
            return rc;
    }
    res->nobs = nmax;
    if (nmax == 0)
        cx_result_set_status(res, CX_STATUS_FAILED, "no row has both columns of any pair");
    return CX_OK;
}

static int gap_check(const cx_job *job, cx_error *err)
{
    gap_pairs gp;
    return parse_pairs(job, &gp, err);
}

static int gap_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    gap_pairs gp;
    int rc = parse_pairs(job, &gp, err);
    if (rc != CX_OK)
        return rc;
    size_t L = job->view->n_levels ? job->view->n_levels : 1;
    gap_params par = {L, gp.n};
    cx_reducer r = {&gap_reducer, &par, NULL};
    cx_pack_register(&gap_reducer, &gap_pack_ops);
    rc = cx_reduce_view(job->view, gp.cols, 2 * gp.n, &r, 1, job->threads, err);
    for (size_t l = 0; rc == CX_OK && l < L; l++)
        rc = write_level(job, &gp, ((gap_acc *)r.acc)->m + l * gp.n, results[l], err);
    cx_reducer_release(&r);
    return rc;
}

const cx_model cx_model_gap = {
    .name = "gap",
    .summary = "expectation vs perception gaps per touchpoint: paired SE, CI, d_z, share below",
    .keys = gap_keys,
    .fits_all_levels = 1,
    .supports = CX_SUPPORTS_BY,
    .check = gap_check,
    .fit = gap_fit,
};
