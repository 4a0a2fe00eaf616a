/*
 * nps.c — `model = nps`: Net Promoter Score per `by` level, with its
 * standard error and confidence interval.
 *
 * Key `score`: one 0-10 column (likelihood to recommend).  Engine keys
 * used: `by` (one row per level, all levels from one pass over the data:
 * fits_all_levels), `weights`, `level`.
 *
 * Promoters score 9-10, passives 7-8, detractors 0-6.  With shares p_P and
 * p_D (weighted shares when weighted), NPS = 100 (p_P - p_D).  Its
 * variance is the multinomial one, var = (p_P + p_D - (p_P - p_D)^2) / n;
 * with weights n is Kish's effective sample size (sum w)^2 / sum w^2.
 * se = 100 sqrt(var), CI = NPS -/+ z se at `level`.
 *
 * Choices:
 *  - a score outside 0..10 or not a whole number fails the job with a
 *    message naming the column and the value: such a value means a wrong
 *    column or a coding error, and counting it anywhere would bias NPS;
 *  - missing scores and rows with a missing weight are left out; negative
 *    or infinite weights fail the job, naming the row; a zero weight counts
 *    in `n` but not in shares;
 *  - NPS, its shares and Kish's n_eff do not change when every weight is
 *    multiplied by one number, so the sums are kept relative to a power of
 *    two near the largest weight seen so far (rescaled exactly when a
 *    larger one comes): weights of 1e308 or spanning 1e-300..1e300 give
 *    the right answer instead of overflowing (sum w^2 would at 1e155);
 *  - `promoters`, `passives`, `detractors` are (weighted) percentages, so
 *    nps = promoters - detractors; `n` is the number of rows used and
 *    `n_eff` the effective sample size (= n unweighted);
 *  - the estimates table holds one defined parameter per level,
 *    lhs `nps`, op `:=`, rhs `100*(promoters-detractors)`.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "model.h"

static const char *const nps_keys[] = {"score", NULL};

/* Running sums of one level, every weight divided by 2^scale (scale: the
 * exponent of the largest weight seen, so scaled weights are <= 1). */
typedef struct nps_sums {
    long long n;
    int scaled; /* a positive weight has set `scale` */
    int scale;
    double sum_w, sum_w2;
    double w_promoters, w_passives, w_detractors;
} nps_sums;

/* w / 2^scale, first raising the scale (and rescaling the sums, exactly:
 * a power of two) when w is the largest weight so far. */
static double scaled_weight(nps_sums *s, double w)
{
    if (w <= 0)
        return 0;
    int e;
    frexp(w, &e);
    if (!s->scaled || e > s->scale) {
        int shift = s->scaled ? s->scale - e : 0;
        s->sum_w = ldexp(s->sum_w, shift);
        s->sum_w2 = ldexp(s->sum_w2, 2 * shift);
        s->w_promoters = ldexp(s->w_promoters, shift);
        s->w_passives = ldexp(s->w_passives, shift);
        s->w_detractors = ldexp(s->w_detractors, shift);
        s->scale = e;
        s->scaled = 1;
    }
    return ldexp(w, -s->scale);
}

static int nps_score_column(const cx_job *job, int *col, cx_error *err)
{
    int *cols;
    size_t n;
    int rc = cx_job_columns(job, "score", &cols, &n, err);
    if (rc)
        return rc;
    if (n != 1) {
        free(cols);
        return cx_job_error(job, "score", err, CX_EUSAGE,
                            "expected one column (0-10 likelihood to recommend), found %zu", n);
    }
    *col = cols[0];
    free(cols);
    const cx_column_info *info = cx_table_column(job->view->table, (size_t)*col);
    if (info->kind == CX_COL_STRING || info->kind == CX_COL_CATEGORICAL)
        return cx_job_error(job, "score", err, CX_EUSAGE,
                            "column '%s' is %s; expected numeric scores 0-10", info->name,
                            info->kind == CX_COL_STRING ? "a string column" : "categorical");
    return CX_OK;
}

static int nps_check(const cx_job *job, cx_error *err)
{
    int col = -1;
    return nps_score_column(job, &col, err);
}

/* Add one row; fails on a score that is not a whole number 0..10. */
static int add_score(nps_sums *s, double score, double w, const cx_job *job, int score_col,
                     cx_error *err)
{
    if (score < 0 || score > 10 || score != floor(score)) {
        const cx_column_info *info = cx_table_column(job->view->table, (size_t)score_col);
        return cx_error_set(err, CX_EFAIL,
                            "column '%s' has the value %g; NPS scores must be whole numbers "
                            "from 0 to 10",
                            info->name, score);
    }
    s->n++;
    w = scaled_weight(s, w);
    s->sum_w += w;
    s->sum_w2 += w * w;
    if (score >= 9)
        s->w_promoters += w;
    else if (score >= 7)
        s->w_passives += w;
    else
        s->w_detractors += w;
    return CX_OK;
}

/* A negative or infinite weight fails the job, naming column, value and
 * the table row (1-based). */
static int check_weight(const cx_job *job, const cx_view_iter *it, long i, double w,
                        cx_error *err)
{
    if (w >= 0 && !isinf(w))
        return CX_OK;
    const cx_column_info *info = cx_table_column(job->view->table, (size_t)job->weight_col);
    return cx_error_set(err, CX_EUSAGE,
                        "weight column '%s' has %s (%g) in row %zu of table %s; weights must be "
                        "finite numbers >= 0",
                        info->name, w < 0 ? "a negative value" : "a value that is not finite", w,
                        cx_view_iter_row(it, (size_t)i) + 1, cx_table_label(job->view->table));
}

/* One pass over the view: sums per level. */
static int accumulate(const cx_job *job, int score_col, nps_sums *sums, size_t n_levels,
                      cx_error *err)
{
    int cols[2] = {score_col, job->weight_col};
    size_t ncols = job->weight_col >= 0 ? 2 : 1;
    cx_view_iter it;
    if (cx_view_iter_begin(&it, job->view, cols, ncols, err))
        return err->code;
    size_t ld = cx_view_block_rows(job->view);
    double *block = cx_malloc_block_buffer(ld * ncols * sizeof *block, err);
    size_t *level = cx_malloc(ld * sizeof *level, err);
    int rc = block && level ? CX_OK : CX_ENOMEM;
    long got;
    while (rc == CX_OK && (got = cx_view_iter_next(&it, block, level, err)) > 0)
        for (long i = 0; rc == CX_OK && i < got; i++) {
            double score = block[i], w = ncols == 2 ? block[ld + i] : 1.0;
            size_t l = n_levels == 1 ? 0 : level[i];
            if (isnan(score) || isnan(w))
                continue;
            if ((rc = check_weight(job, &it, i, w, err)) != CX_OK)
                break;
            if (l >= n_levels)
                rc = cx_error_set(err, CX_EFAIL, "row level %zu out of range", l);
            else
                rc = add_score(&sums[l], score, w, job, score_col, err);
        }
    if (rc == CX_OK && got < 0)
        rc = err->code ? err->code : CX_EIO;
    free(block);
    free(level);
    cx_view_iter_end(&it);
    return rc;
}

static cx_rtable *nps_table(cx_result *r, cx_error *err)
{
    static const char *const doubles[] = {"promoters", "passives", "detractors", "nps", "se",
                                          "ci_lower",  "ci_upper", "n_eff",      NULL};
    cx_rtable *t = cx_result_table(r, "nps", err);
    if (!t || cx_rtable_add_column(t, "n", CX_RCOL_INT, err))
        return NULL;
    for (size_t i = 0; doubles[i]; i++)
        if (cx_rtable_add_column(t, doubles[i], CX_RCOL_DOUBLE, err))
            return NULL;
    return t;
}

/* Shares, NPS, se and CI of one level into its result. */
static int write_level(const nps_sums *s, double level, cx_result *r, cx_error *err)
{
    cx_rtable *t = nps_table(r, err);
    long row = t ? cx_rtable_add_row(t, err) : -1;
    if (row < 0)
        return err->code ? err->code : CX_ENOMEM;
    r->nobs = (double)s->n;
    cx_rtable_set_int(t, (size_t)row, "n", s->n);
    if (s->sum_w <= 0) {
        cx_result_set_status(r, CX_STATUS_FAILED, "no scores with positive weight");
        return CX_OK;
    }
    double p_p = s->w_promoters / s->sum_w, p_d = s->w_detractors / s->sum_w;
    double n_eff = s->sum_w * s->sum_w / s->sum_w2;
    double nps = 100 * (p_p - p_d);
    double var = (p_p + p_d - (p_p - p_d) * (p_p - p_d)) / n_eff;
    double se = 100 * sqrt(var > 0 ? var : 0);
    double z = gsl_cdf_ugaussian_Qinv((1 - level) / 2);
    double values[] = {
        100 * p_p, 100 * s->w_passives / s->sum_w, 100 * p_d, nps, se, nps - z * se, nps + z * se,
        n_eff};
    static const char *const names[] = {"promoters", "passives", "detractors", "nps",
                                        "se",        "ci_lower", "ci_upper",   "n_eff"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        cx_rtable_set_double(t, (size_t)row, names[i], values[i]);
    if (cx_result_add_estimate(r, "nps", ":=", "100*(promoters-detractors)", 0, nps, se, NAN, err) <
        0)
        return err->code ? err->code : CX_ENOMEM;
    return CX_OK;
}

static int nps_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    int score_col = -1;
    int rc = nps_score_column(job, &score_col, err);
    if (rc)
        return rc;
    size_t n_levels = job->view->n_levels ? job->view->n_levels : 1;
    nps_sums *sums = cx_calloc(n_levels, sizeof *sums, err);
    if (!sums)
        return CX_ENOMEM;
    rc = accumulate(job, score_col, sums, n_levels, err);
    for (size_t l = 0; rc == CX_OK && l < n_levels; l++)
        rc = write_level(&sums[l], job->level, results[l], err);
    free(sums);
    return rc;
}

const cx_model cx_model_nps = {
    .name = "nps",
    .summary = "Net Promoter Score with multinomial SE and CI, per `by` level",
    .keys = nps_keys,
    .fits_all_levels = 1,
    .check = nps_check,
    .fit = nps_fit,
};
