/*
 * reliability.c — `model = reliability`: internal consistency of one or
 * more scales, as psych::alpha reports it, from one streamed pass.
 *
 *   scales = PEX: pex1 pex2 pex3 -pex4
 *            OUT: out1 out2 out3
 *
 * One scale per line (or ';'); items separated by spaces or commas; a
 * leading '-' reverse-keys an item on its range, min + max - x, with
 * engine/scores.h's rule (the declared range of a categorical column,
 * else the observed range over all rows of the table) so keyed items and
 * scale scores agree with `scores` everywhere.  Observed ranges come
 * from the engine's range reducer (engine/reducer_range.c) in a pass of
 * the reverse-keyed columns over the unfiltered table, before the main
 * pass (which reads only the job's rows and keys items as it goes).
 *
 * The pass: one reducer (engine/reducer.h) that keys each scale's items,
 * appends the respondent's scale score (psych's rowMeans of the present
 * items) and feeds the engine's moments reducer per scale — per `by`
 * level, and per bootstrap replicate when `bootstrap` is set.  Every
 * statistic then follows from the moments (reliability_stats.c).
 *
 * Missing values: `missing = listwise` (default) uses, per scale, the rows
 * with all of its items (psych::alpha on na.omit(x)); `pairwise` uses
 * pairwise covariances and, per item, the rows where it is present, as
 * psych::alpha(x, use = "pairwise") on the rows with at least one item.
 *
 * Tables: `reliability` (one row per scale), `items` (one row per item),
 * `estimates` (alpha per scale as a defined parameter, se = psych's
 * asymptotic se, CI = Feldt's), `bootstrap` with `bootstrap`; omega and
 * `bifactor` (omega hierarchical); with `cfa_job` validity tables.
 *
 * Files: this one (check, fit, levels); reliability_scales.c (the key);
 * reliability_pass.c (the pass); reliability_stats.c (psych's formulas);
 * reliability_tables.c; reliability_omega.c (omega, bootstrap);
 * reliability_factor.c (factor-model formulas, CFA fits);
 * reliability_validity.c (cfa_job).  docs/models/reliability.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "model.h"
#include "reducer.h"
#include "reliability_factor.h"
#include "reliability_internal.h"
#include "reliability_stats.h"

static const char *const rel_keys[] = {"scales", "cfa_job", NULL};

static int rel_check(const cx_job *job, cx_error *err)
{
    rel_scales *s;
    int rc = rel_scales_parse(job, &s, err);
    if (rc == CX_OK && job->bootstrap > 0 && job->missing == CX_MISSING_PAIRWISE)
        rc = cx_job_error(job, "bootstrap", err, CX_EUSAGE,
                          "reliability's bootstrap replicates are listwise; expected "
                          "missing = listwise with bootstrap");
    /* weights: a weighted covariance of the listwise rows; psych has no
     * weighted pairwise alpha, and the cfa_job statistics would need the
     * cfa fitted with the same weights */
    if (rc == CX_OK && cx_section_get(job->section, "weights") &&
        job->missing == CX_MISSING_PAIRWISE)
        rc = cx_job_error(job, "weights", err, CX_EUSAGE,
                          "weighted reliability is listwise only; expected missing = listwise "
                          "with weights");
    if (rc == CX_OK && cx_section_get(job->section, "weights") &&
        cx_section_get(job->section, "cfa_job"))
        rc = cx_job_error(job, "weights", err, CX_EUSAGE,
                          "weights are not supported with cfa_job (CR, AVE and HTMT of a "
                          "weighted cfa); use a job without cfa_job for weighted alpha");
    rel_scales_free(s);
    return rc;
}

/* ---- fitting ------------------------------------------------------------------- */

void rel_covariance(const cx_moments *m, double *C)
{
    size_t p = m->p;
    double n = m->n_rows;
    if (m->mode != CX_MISSING_LISTWISE || m->sum_w == n) {
        cx_moments_covariance(m, 1, C);
        return;
    }
    double s = n > 1 && m->sum_w > 0 ? n / (m->sum_w * (n - 1)) : NAN;
    for (size_t i = 0; i < p * p; i++)
        C[i] = m->m2[i] * s;
}

/* Statistics of one scale of one level into the result tables. */
static int write_scale(const cx_job *job, const rel_scale *sc, const cx_moments *m,
                       cx_result *r, cx_error *err)
{
    size_t k = sc->k, p = m->p;
    int pairwise = m->mode == CX_MISSING_PAIRWISE;
    double *cov = cx_malloc(p * p * sizeof *cov, err);
    double *C = cx_malloc(k * k * sizeof *C, err);
    double *work = cx_malloc(rel_work_size(k) * sizeof *work, err);
    rel_scale_result res = {.item = cx_calloc(k, sizeof *res.item, err)};
    int rc = cov && C && work && res.item ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK) {
        rel_covariance(m, cov);
        for (size_t j = 0; j < k; j++)
            for (size_t i = 0; i < k; i++)
                C[j * k + i] = cov[j * p + i];
    }
    double n = pairwise ? m->pair_w[k * p + k] : m->n_rows;
    int usable = rc == CX_OK && n > 2;
    for (size_t i = 0; usable && i < k; i++)
        usable = C[i * k + i] > 0;
    for (size_t i = 0; usable && i < k * k; i++)
        usable = isfinite(C[i]); /* pairwise: a pair without common rows */
    if (rc == CX_OK && !usable)
        cx_result_add_warning(r, "scale %s: fewer than 3 rows, an item without variance or a "
                                 "pair of items never answered together; no statistics",
                              sc->name);
    else if (rc == CX_OK && rel_scale_stats(C, k, n, &res, work))
        rc = cx_error_set(err, CX_EFAIL, "scale %s: eigen decomposition failed", sc->name);
    if (rc == CX_OK && usable)
        rc = rel_scale_omega(sc, m, C, n, &res, r, err);
    if (rc == CX_OK && usable)
        rc = rel_write_tables(job, sc, m, cov, n, &res, r, err);
    free(cov), free(C), free(work), free(res.item);
    return rc;
}

static int fit_level(const cx_job *job, const rel_scales *s, const rel_fmodel *fm,
                     rel_pass *pass, size_t l, cx_result *r, cx_error *err)
{
    size_t B = job->bootstrap > 0 ? (size_t)job->bootstrap : 0;
    double nobs = 0;
    int rc = CX_OK;
    for (size_t i = 0; rc == CX_OK && i < s->n; i++) {
        cx_moments *m = cx_moments_result(rel_pass_main(pass, i), l, 0, err);
        if (!m)
            return err->code ? err->code : CX_ENOMEM;
        nobs = m->n_rows > nobs ? m->n_rows : nobs;
        cx_rtable *rel = cx_result_find_table(r, "reliability");
        size_t before = rel ? rel->nrows : 0;
        rc = write_scale(job, &s->scale[i], m, r, err);
        cx_moments_free(m);
        rel = cx_result_find_table(r, "reliability");
        int written = rel && rel->nrows > before;
        if (rc == CX_OK && B && written)
            rc = rel_scale_bootstrap(job, &s->scale[i], rel_pass_boot(pass, i), l, r, err);
    }
    r->nobs = nobs; /* the largest scale's rows; cfa_job's indicators may raise it */
    if (rc == CX_OK && rel_pass_instrument(pass))
        rc = rel_instrument_omega(s, rel_pass_instrument(pass), l, r, err);
    if (rc == CX_OK && fm)
        rc = rel_write_validity(job, fm, rel_pass_indicators(pass), rel_pass_indicators_boot(pass),
                                l, r, err);
    if (rc == CX_OK && s->n && !cx_result_find_table(r, "reliability"))
        cx_result_set_status(r, CX_STATUS_FAILED, "no scale has statistics (see the warnings)");
    return rc;
}

/* cfa_job: the fitted factor model and its indicators' columns here. */
static int input_model(const cx_job *job, rel_fmodel **fm, int **cols, cx_error *err)
{
    *fm = NULL;
    *cols = NULL;
    if (!job->input)
        return CX_OK;
    if (job->view->n_levels > 1)
        return cx_job_error(job, "cfa_job", err, CX_EUSAGE,
                            "one cfa fit cannot serve several `by` levels; expected no `by` "
                            "with cfa_job");
    int rc = rel_input_model(job, fm, err);
    if (rc == CX_OK && !(*cols = cx_calloc((*fm)->p, sizeof **cols, err)))
        rc = CX_ENOMEM;
    for (size_t i = 0; rc == CX_OK && i < (*fm)->p; i++) {
        int c = cx_table_find(job->view->table, (*fm)->ov[i]);
        if (c < 0)
            rc = cx_job_error(job, "cfa_job", err, CX_EUSAGE,
                              "indicator '%s' of job '%s' is not a column of table %s; "
                              "expected the cfa's data",
                              (*fm)->ov[i], cx_section_get(job->section, "cfa_job"),
                              cx_table_label(job->view->table));
        (*cols)[i] = c;
    }
    return rc;
}

/* One level from the pass's totals (cx_dist_fit_levels' callback). */
typedef struct level_fits {
    const cx_job *job;
    const rel_scales *s;
    const rel_fmodel *fm;
    rel_pass *pass;
} level_fits;

static int fit_one_level(void *ctx, size_t l, cx_result *r, cx_error *err)
{
    const level_fits *lf = ctx;
    return fit_level(lf->job, lf->s, lf->fm, lf->pass, l, r, err);
}

static int rel_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    rel_scales *s;
    int rc = rel_scales_parse(job, &s, err);
    if (rc != CX_OK)
        return rc;
    rel_fmodel *fm = NULL;
    int *ind = NULL;
    rc = input_model(job, &fm, &ind, err);
    if (rc == CX_OK)
        rc = rel_scan_ranges(job, s, err);
    rel_pass *pass = NULL;
    if (rc == CX_OK)
        rc = rel_pass_run(job, s, ind, fm ? fm->p : 0, &pass, err);
    size_t n_levels = job->view->n_levels ? job->view->n_levels : 1;
    level_fits lf = {job, s, fm, pass};
    if (rc == CX_OK) /* the levels dealt to MPI ranks (engine/dist.h) */
        rc = cx_dist_fit_levels(n_levels, fit_one_level, &lf, results, err);
    rel_pass_free(pass);
    rel_fmodel_free(fm);
    free(ind);
    rel_scales_free(s);
    return rc;
}

const cx_model cx_model_reliability = {
    .name = "reliability",
    .summary = "Scale reliability as psych::alpha: alpha, lambda 6, item statistics",
    .keys = rel_keys,
    .fits_all_levels = 1,
    .supports = CX_SUPPORTS_BY | CX_SUPPORTS_PAIRWISE | CX_SUPPORTS_BOOTSTRAP | CX_SUPPORTS_WEIGHTS,
    .input_key = "cfa_job",
    .check = rel_check,
    .fit = rel_fit,
};
