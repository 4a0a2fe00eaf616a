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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "dist.h"
#include "bootci.h"
#include "model.h"
#include "reducer.h"
#include "resample.h"

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

/* ---- the reducer: sums per level and bootstrap replicate ---------------- */

/* Slot 0 of a level holds its sums; slots 1..B its bootstrap replicates
 * (rows weighted by their Poisson(1) counts, engine/resample.h). */
typedef struct nps_params {
    const cx_job *job;
    int score_col;
    size_t n_levels, n_slots; /* n_slots = 1 + B                       */
    int weighted;             /* block column 1 is the weight            */
    long cluster_at;          /* block column of bootstrap_cluster, -1   */
} nps_params;

typedef struct nps_acc {
    const nps_params *par;
    nps_sums *sums; /* n_levels x n_slots */
} nps_acc;

static void nps_acc_free(void *vacc)
{
    nps_acc *a = vacc;
    if (a)
        free(a->sums);
    free(a);
}

static void *nps_acc_alloc(const void *params, cx_error *err)
{
    const nps_params *par = params;
    nps_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->par = par;
    a->sums = cx_calloc(par->n_levels * par->n_slots, sizeof *a->sums, err);
    if (!a->sums) {
        free(a);
        return NULL;
    }
    return a;
}

static void nps_acc_reset(void *vacc)
{
    nps_acc *a = vacc;
    memset(a->sums, 0, a->par->n_levels * a->par->n_slots * sizeof *a->sums);
}

/* Replicate weights of one row: add it k times (weight w k, scaled as
 * add_score scales). */
static void add_replicates(nps_sums *slots, size_t n_slots, const cx_job *job, uint64_t key,
                           double score, double w)
{
    for (size_t r = 0; r + 1 < n_slots; r++) {
        unsigned k = cx_boot_count(job->seed, r, key);
        if (k == 0)
            continue;
        nps_sums *s = &slots[r + 1];
        double ws = scaled_weight(s, w), wk = ws * k;
        s->n += k;
        s->sum_w += wk;
        s->sum_w2 += ws * wk;
        if (score >= 9)
            s->w_promoters += wk;
        else if (score >= 7)
            s->w_passives += wk;
        else
            s->w_detractors += wk;
    }
}

/* A negative or infinite weight fails the job, naming column, value and
 * the table row (1-based). */
static int check_weight(const cx_job *job, size_t row, double w, cx_error *err)
{
    if (w >= 0 && !isinf(w))
        return CX_OK;
    const cx_column_info *info = cx_table_column(job->view->table, (size_t)job->weight_col);
    return cx_error_set(err, CX_EUSAGE,
                        "weight column '%s' has %s (%g) in row %zu of table %s; weights must be "
                        "finite numbers >= 0",
                        info->name, w < 0 ? "a negative value" : "a value that is not finite", w,
                        row + 1, cx_table_label(job->view->table));
}

/* Bring the sums to scale 2^e (e >= their own scale). */
static void rescale(nps_sums *s, int e)
{
    int shift = s->scale - e;
    s->sum_w = ldexp(s->sum_w, shift);
    s->sum_w2 = ldexp(s->sum_w2, 2 * shift);
    s->w_promoters = ldexp(s->w_promoters, shift);
    s->w_passives = ldexp(s->w_passives, shift);
    s->w_detractors = ldexp(s->w_detractors, shift);
    s->scale = e;
}

static int nps_acc_add(void *vacc, const cx_block *b, cx_error *err)
{
    nps_acc *a = vacc;
    const nps_params *par = a->par;
    for (size_t i = 0; i < b->n; i++) {
        double score = b->data[i], w = par->weighted ? b->data[b->ld + i] : 1.0;
        if (isnan(score) || isnan(w))
            continue;
        nps_sums *slots = &a->sums[b->level[i] * par->n_slots];
        int rc = par->weighted ? check_weight(par->job, b->row[i], w, err) : CX_OK;
        if (rc == CX_OK)
            rc = add_score(&slots[0], score, w, par->job, par->score_col, err);
        if (rc != CX_OK)
            return rc;
        if (par->n_slots > 1) {
            double unit = par->cluster_at >= 0 ? b->data[(size_t)par->cluster_at * b->ld + i] : 0;
            if (par->cluster_at >= 0 && isnan(unit))
                continue; /* a row without a unit is in no replicate */
            uint64_t key = par->cluster_at >= 0 ? cx_value_key(unit) : (uint64_t)b->row[i];
            add_replicates(slots, par->n_slots, par->job, key, score, w);
        }
    }
    return CX_OK;
}

static void nps_acc_merge(void *vacc, const void *vother)
{
    nps_acc *a = vacc;
    const nps_acc *o = vother;
    for (size_t i = 0; i < a->par->n_levels * a->par->n_slots; i++) {
        nps_sums *s = &a->sums[i], t = o->sums[i];
        s->n += t.n;
        if (!t.scaled)
            continue; /* no positive weight: nothing else to add */
        /* a common scale: the larger exponent */
        if (!s->scaled) {
            s->scale = t.scale;
            s->scaled = 1;
        } else if (t.scale > s->scale) {
            rescale(s, t.scale);
        } else if (t.scale < s->scale) {
            rescale(&t, s->scale);
        }
        s->sum_w += t.sum_w;
        s->sum_w2 += t.sum_w2;
        s->w_promoters += t.w_promoters;
        s->w_passives += t.w_passives;
        s->w_detractors += t.w_detractors;
    }
}

static const cx_reducer_type nps_reducer = {"nps_sums",    nps_acc_alloc, nps_acc_reset, nps_acc_add,
                                            nps_acc_merge, NULL,          nps_acc_free};

/* MPI row splitting (engine/dist.h): the sums are plain data, so a rank's
 * totals travel as their bytes (the ranks run the same binary). */
static size_t nps_acc_pack(const void *vacc, void *buf)
{
    const nps_acc *a = vacc;
    size_t bytes = a->par->n_levels * a->par->n_slots * sizeof *a->sums;
    if (buf)
        memcpy(buf, a->sums, bytes);
    return bytes;
}

static int nps_acc_unpack(void *vacc, const void *buf, size_t size, cx_error *err)
{
    nps_acc *a = vacc;
    if (size != a->par->n_levels * a->par->n_slots * sizeof *a->sums)
        return cx_error_set(err, CX_EFAIL, "nps: a packed total has the wrong size");
    memcpy(a->sums, buf, size);
    return CX_OK;
}

static const cx_pack_ops nps_pack_ops = {nps_acc_pack, nps_acc_unpack, NULL};

/* One pass over the view: sums per level (and replicate). */
static int accumulate(const cx_job *job, int score_col, nps_sums *sums, size_t n_levels,
                      size_t n_slots, cx_error *err)
{
    int cols[3] = {score_col, job->weight_col, job->bootstrap_cluster};
    size_t ncols = 1;
    if (job->weight_col >= 0)
        cols[ncols++] = job->weight_col;
    long cluster_at = -1;
    if (n_slots > 1 && job->bootstrap_cluster >= 0) {
        cluster_at = (long)ncols;
        cols[ncols++] = job->bootstrap_cluster;
    }
    nps_params par = {job, score_col, n_levels, n_slots, job->weight_col >= 0, cluster_at};
    cx_reducer r = {&nps_reducer, &par, NULL};
    cx_pack_register(&nps_reducer, &nps_pack_ops);
    int rc = cx_reduce_view(job->view, cols, ncols, &r, 1, job->threads, err);
    if (rc == CX_OK)
        memcpy(sums, ((nps_acc *)r.acc)->sums, n_levels * n_slots * sizeof *sums);
    cx_reducer_release(&r);
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

/* NPS of a replicate's sums (NaN without positive weight). */
static double nps_of(const nps_sums *s)
{
    return s->sum_w > 0 ? 100 * (s->w_promoters - s->w_detractors) / s->sum_w : NAN;
}

/* Bootstrap: `estimates` se = sd of the replicate NPS values and the CI
 * their percentile interval; the `bootstrap` table has every interval
 * (engine/bootci.h); the `nps` table keeps the multinomial se and CI. */
static int write_bootstrap(const nps_sums *slots, size_t B, double level, cx_result *r,
                           cx_error *err)
{
    cx_rtable *est = cx_result_find_table(r, "estimates");
    if (!est || est->nrows != 1)
        return CX_OK; /* the level failed before its estimate */
    double *t = cx_malloc((B ? B : 1) * sizeof *t, err);
    if (!t)
        return CX_ENOMEM;
    size_t ok = 0;
    for (size_t b = 0; b < B; b++)
        if (!isnan(t[ok] = nps_of(&slots[b + 1])))
            ok++;
    int rc = cx_result_set_attr_string(r, "se", "bootstrap", err);
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(r, "bootstrap_replicates", (double)B, err);
    if (rc == CX_OK)
        rc = cx_result_set_attr_double(r, "bootstrap_failed", (double)(B - ok), err);
    if (rc == CX_OK && B > ok)
        cx_result_add_warning(r, "%zu of %zu bootstrap replicates had no scores and were left out",
                              B - ok, B);
    if (rc == CX_OK && ok < 2)
        cx_result_set_status(r, CX_STATUS_FAILED, "bootstrap: fewer than 2 usable replicates");
    cx_rtable *bt = rc == CX_OK && ok >= 2 ? cx_result_table(r, "bootstrap", err) : NULL;
    static const char *const names[] = {"est",        "se",         "boot_mean",
                                        "perc_lower", "perc_upper", "norm_lower",
                                        "norm_upper", "bca_lower",  "bca_upper"};
    if (bt && (cx_rtable_add_column(bt, "lhs", CX_RCOL_STRING, err) ||
               cx_rtable_add_column(bt, "op", CX_RCOL_STRING, err) ||
               cx_rtable_add_column(bt, "rhs", CX_RCOL_STRING, err) ||
               cx_rtable_add_column(bt, "group", CX_RCOL_INT, err)))
        rc = err->code;
    for (size_t c = 0; bt && rc == CX_OK && c < 9; c++)
        rc = cx_rtable_add_column(bt, names[c], CX_RCOL_DOUBLE, err);
    if (bt && rc == CX_OK) {
        double t0 = nps_of(&slots[0]);
        cx_boot_summary s;
        cx_boot_summarise(t, ok, t0, level, &s);
        double z = s.se > 0 ? t0 / s.se : NAN;
        cx_rtable_set_double(est, 0, "se", s.se);
        cx_rtable_set_double(est, 0, "z", z);
        cx_rtable_set_double(est, 0, "pvalue", 2 * gsl_cdf_ugaussian_Q(fabs(z)));
        cx_rtable_set_double(est, 0, "ci_lower", s.perc[0]);
        cx_rtable_set_double(est, 0, "ci_upper", s.perc[1]);
        long row = cx_rtable_add_row(bt, err);
        if (row < 0 || cx_rtable_set_string(bt, 0, "lhs", "nps", err) ||
            cx_rtable_set_string(bt, 0, "op", ":=", err) ||
            cx_rtable_set_string(bt, 0, "rhs", "100*(promoters-detractors)", err))
            rc = err->code ? err->code : CX_ENOMEM;
        const double v[] = {t0,        s.se,      s.mean,   s.perc[0], s.perc[1],
                            s.norm[0], s.norm[1], s.bca[0], s.bca[1]};
        for (size_t c = 0; rc == CX_OK && c < 9; c++)
            cx_rtable_set_double(bt, 0, names[c], v[c]);
    }
    free(t);
    return rc;
}

static int nps_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    int score_col = -1;
    int rc = nps_score_column(job, &score_col, err);
    if (rc)
        return rc;
    size_t n_levels = job->view->n_levels ? job->view->n_levels : 1;
    size_t B = job->bootstrap > 0 ? (size_t)job->bootstrap : 0, n_slots = 1 + B;
    nps_sums *sums = cx_calloc(n_levels * n_slots, sizeof *sums, err);
    if (!sums)
        return CX_ENOMEM;
    rc = accumulate(job, score_col, sums, n_levels, n_slots, err);
    for (size_t l = 0; rc == CX_OK && l < n_levels; l++) {
        rc = write_level(&sums[l * n_slots], job->level, results[l], err);
        if (rc == CX_OK && B)
            rc = write_bootstrap(&sums[l * n_slots], B, job->level, results[l], err);
    }
    free(sums);
    return rc;
}

const cx_model cx_model_nps = {
    .name = "nps",
    .summary = "Net Promoter Score with multinomial SE and CI, per `by` level",
    .keys = nps_keys,
    .fits_all_levels = 1,
    .supports = CX_SUPPORTS_WEIGHTS | CX_SUPPORTS_BY | CX_SUPPORTS_PAIRWISE | CX_SUPPORTS_BOOTSTRAP,
    .check = nps_check,
    .fit = nps_fit,
};
