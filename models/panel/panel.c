/*
 * panel.c — `model = panel`: linear panel models as R's plm fits them.
 *
 *   formula = growth ~ lag(nps, 1) + size
 *   index   = firm wave               (unit, then time)
 *   method  = pooling | within | between | random | fd     (default within)
 *   effect  = individual | time | twoways                  (default individual)
 *   se      = classical | cluster(UNIT) | cluster(TIME) | cluster(UNIT TIME)
 *             | dk | dk(L)                                 (default classical)
 *
 * The rows of the view (small: firms x periods) are loaded into memory,
 * sorted by (unit, time), and lag/lead/diff/growth are computed on the time
 * index (cx_panel_transform: a hole in the periods gives a missing value,
 * never the neighbouring row).  The design (design.h) then keeps the
 * complete rows, as plm's model.frame drops NA rows after the lags.
 * panel_fit.c estimates; this file reads keys, loads rows and writes the
 * estimates and fit tables (docs/models/panel.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_linalg.h>

#include "design.h"
#include "formula.h"
#include "model.h"
#include "panel.h"

static const char *const panel_keys[] = {"formula", "index", "method", "effect", "se", "tests",
                                         "compare", NULL};
static const char *const test_names[] = {"hausman", "f_effects", "bp", NULL};
static const char *const method_names[] = {"pooling", "within", "between", "random", "fd", NULL};
static const char *const effect_names[] = {"individual", "time", "twoways", NULL};

/* Everything the keys say. */
typedef struct panel_spec {
    cx_formula *formula;
    cx_formula *compare; /* `compare`: the second model, or NULL */
    int unit_col, time_col;
    panel_options opt;
    int want_test[3]; /* test_names[] asked for by `tests` */
} panel_spec;

static void panel_spec_free(panel_spec *s)
{
    cx_formula_free(s->formula);
    cx_formula_free(s->compare);
    s->formula = s->compare = NULL;
}

/* `se`: classical | cluster(COL [COL]) with index columns | dk | dk(L). */
static int parse_se(const cx_job *job, const char *text, panel_spec *s, cx_error *err)
{
    s->opt.dk_lag = -1;
    if (!text || strcmp(text, "classical") == 0) {
        s->opt.se = PANEL_SE_CLASSICAL;
        return CX_OK;
    }
    const char *unit = cx_table_column(job->view->table, (size_t)s->unit_col)->name;
    const char *time = cx_table_column(job->view->table, (size_t)s->time_col)->name;
    size_t len = strlen(text);
    if (strcmp(text, "dk") == 0) {
        s->opt.se = PANEL_SE_DK;
        return CX_OK;
    }
    if (strncmp(text, "dk(", 3) == 0 && text[len - 1] == ')') {
        char *end;
        long L = strtol(text + 3, &end, 10);
        if (end != text + 3 && *end == ')' && L >= 0 && L <= 1000) {
            s->opt.se = PANEL_SE_DK;
            s->opt.dk_lag = L;
            return CX_OK;
        }
    }
    if (strncmp(text, "cluster(", 8) == 0 && text[len - 1] == ')') {
        char inner[256];
        size_t m = len - 9 < sizeof inner - 1 ? len - 9 : sizeof inner - 1;
        memcpy(inner, text + 8, m);
        inner[m] = '\0';
        for (char *c = inner; *c; c++)
            if (*c == ',')
                *c = ' ';
        size_t nw;
        char **w = cx_words_split(inner, &nw, err);
        if (!w)
            return CX_ENOMEM;
        int has_u = 0, has_t = 0, bad = nw == 0 || nw > 2;
        for (size_t i = 0; i < nw; i++) {
            if (strcmp(w[i], unit) == 0)
                has_u = 1;
            else if (strcmp(w[i], time) == 0)
                has_t = 1;
            else
                bad = 1;
        }
        cx_words_free(w);
        if (!bad) {
            s->opt.se = has_u && has_t ? PANEL_SE_CLUSTER_TWO
                        : has_u        ? PANEL_SE_CLUSTER_UNIT
                                       : PANEL_SE_CLUSTER_TIME;
            return CX_OK;
        }
    }
    return cx_job_error(job, "se", err, CX_EUSAGE,
                        "expected classical, cluster(%s), cluster(%s), cluster(%s %s), dk or "
                        "dk(L), found '%s'",
                        unit, time, unit, time, text);
}

/* `tests`: words of test_names[]; hausman needs a one-way effect. */
static int parse_tests(const cx_job *job, panel_spec *s, cx_error *err)
{
    const char *text = cx_section_get(job->section, "tests");
    if (!text)
        return CX_OK;
    size_t nw;
    char **w = cx_words_split(text, &nw, err);
    if (!w)
        return CX_ENOMEM;
    int rc = nw ? CX_OK
                : cx_job_error(job, "tests", err, CX_EUSAGE,
                               "expected one or more of hausman, f_effects, bp");
    for (size_t i = 0; !rc && i < nw; i++) {
        size_t t = 0;
        while (test_names[t] && strcmp(test_names[t], w[i]) != 0)
            t++;
        if (!test_names[t]) {
            const char *hint = cx_did_you_mean(w[i], test_names);
            rc = cx_job_error(job, "tests", err, CX_EUSAGE,
                              "unknown test '%s'; expected hausman, f_effects or bp%s%s%s", w[i],
                              hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        } else
            s->want_test[t] = 1;
    }
    cx_words_free(w);
    if (!rc && s->want_test[0] && s->opt.effect == PANEL_TWOWAYS)
        rc = cx_job_error(job, "tests", err, CX_EUSAGE,
                          "hausman compares within and random, and random needs a one-way "
                          "effect; expected effect = individual or time");
    return rc;
}

/* Refuse the combinations plm does not define (or that are not built). */
static int check_combination(const cx_job *job, const panel_options *o, cx_error *err)
{
    if (o->effect == PANEL_TWOWAYS && (o->method == PANEL_BETWEEN || o->method == PANEL_FD))
        return cx_job_error(job, "effect", err, CX_EUSAGE,
                            "effect = twoways is not defined for method = %s; expected "
                            "individual or time",
                            method_names[o->method]);
    if (o->method == PANEL_FD && o->effect != PANEL_INDIVIDUAL)
        return cx_job_error(job, "effect", err, CX_EUSAGE,
                            "method = fd differences within units; expected effect = individual");
    if (job->validate == CX_VALIDATE_KFOLD)
        return cx_job_error(job, "validate", err, CX_EUSAGE,
                            "panel rows are not exchangeable across folds; expected "
                            "validate = holdout(EXPR), e.g. holdout(year >= 2015)");
    if (job->validate == CX_VALIDATE_HOLDOUT &&
        (o->method == PANEL_BETWEEN || o->method == PANEL_FD))
        return cx_job_error(job, "validate", err, CX_EUSAGE,
                            "validate predicts levels of the outcome; expected method = pooling, "
                            "within or random");
    if (o->method == PANEL_BETWEEN && o->se != PANEL_SE_CLASSICAL)
        return cx_job_error(job, "se", err, CX_EUSAGE,
                            "method = between has one row per group; expected se = classical");
    return CX_OK;
}

static int panel_parse(const cx_job *job, panel_spec *s, cx_error *err)
{
    memset(s, 0, sizeof *s);
    const char *text = cx_section_get(job->section, "formula");
    if (!text || !*text)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "expected a formula such as 'growth ~ lag(nps, 1) + size'");
    s->formula = cx_formula_parse(text, err);
    if (!s->formula || cx_formula_require_fixed(s->formula, err))
        return cx_job_error(job, "formula", err, CX_EUSAGE, "%s", err->msg);
    const char *other = cx_section_get(job->section, "compare");
    if (other) {
        s->compare = cx_formula_parse(other, err);
        if (!s->compare || cx_formula_require_fixed(s->compare, err))
            return cx_job_error(job, "compare", err, CX_EUSAGE, "%s", err->msg);
    }
    int *cols;
    size_t nc;
    if (cx_job_columns(job, "index", &cols, &nc, err))
        return err->code;
    if (nc != 2) {
        free(cols);
        return cx_job_error(job, "index", err, CX_EUSAGE,
                            "expected two columns, the unit then the time (e.g. 'firm wave'), "
                            "found %zu",
                            nc);
    }
    if (cols[0] == cols[1]) {
        free(cols);
        return cx_job_error(job, "index", err, CX_EUSAGE,
                            "expected two different columns, the unit then the time");
    }
    s->unit_col = cols[0];
    s->time_col = cols[1];
    free(cols);
    int m = PANEL_WITHIN, e = PANEL_INDIVIDUAL;
    if (cx_section_get_choice(job->config, job->section, "method", method_names, &m, err) ||
        cx_section_get_choice(job->config, job->section, "effect", effect_names, &e, err))
        return err->code;
    s->opt.method = (panel_method)m;
    s->opt.effect = (panel_effect)e;
    if (parse_se(job, cx_section_get(job->section, "se"), s, err))
        return err->code;
    if (parse_tests(job, s, err))
        return err->code;
    return check_combination(job, &s->opt, err);
}

/* The design: the formula plus the index columns, delivered alongside. */
static cx_design *panel_design(const cx_job *job, const panel_spec *s, const cx_formula *f,
                               const char *key, const char **extra, cx_error *err)
{
    extra[0] = cx_table_column(job->view->table, (size_t)s->unit_col)->name;
    extra[1] = cx_table_column(job->view->table, (size_t)s->time_col)->name;
    cx_design_spec spec = {
        .formula = f, .extra = extra, .n_extra = 2, .allow_panel = 1};
    cx_design *d = cx_design_alloc(&spec, job->view->table, err);
    if (!d)
        cx_job_error(job, key, err, err->code ? err->code : CX_EUSAGE, "%s", err->msg);
    return d;
}

static int panel_check(const cx_job *job, cx_error *err)
{
    panel_spec s;
    int rc = panel_parse(job, &s, err);
    const char *extra[2];
    cx_design *d = rc ? NULL : panel_design(job, &s, s.formula, "formula", extra, err);
    if (!rc && !d)
        rc = err->code;
    cx_design_free(d);
    if (!rc && s.compare) {
        d = panel_design(job, &s, s.compare, "compare", extra, err);
        rc = d ? CX_OK : err->code;
        cx_design_free(d);
    }
    panel_spec_free(&s);
    return rc;
}

/* ---- results ------------------------------------------------------------- */

/* The validation table of a holdout: the model fitted to the training rows
 * (the estimates come from all rows, as for ols/logit/cfa) predicts the
 * held-out rows (panel_holdout_metrics). */
static int holdout_validation(cx_result *res, const panel_rows *r, const panel_options *o,
                              cx_error *err)
{
    static const char *const names[5] = {"n_train", "n_test", "r2", "rmse", "mae"};
    panel_rows train = {0};
    panel_fit tf = {0};
    double m[4], skipped, v[5];
    int rc = panel_rows_training(r, &train, err);
    if (!rc)
        rc = panel_fit_alloc(&tf, train.d.p, err);
    if (!rc)
        rc = panel_estimate(&train.d, o, &tf, err);
    if (!rc)
        rc = panel_holdout_metrics(r, o, &tf, m, &skipped, err);
    v[0] = tf.nobs, v[1] = m[3], v[2] = m[2], v[3] = m[0], v[4] = m[1];
    panel_fit_free(&tf);
    panel_rows_free(&train);
    if (!rc && skipped > 0)
        cx_result_add_warning(res,
                              "validate: %.0f held-out rows have a unit or period without "
                              "training rows and are not predicted",
                              skipped);
    for (size_t k = 0; !rc && k < 5; k++)
        rc = cx_result_add_validation(res, "holdout", names[k], v[k], err);
    return rc;
}

static int write_estimates(cx_result *res, const panel_data *d, const cx_formula *f,
                           const panel_fit *pf, cx_error *err)
{
    const char *lhs = f->vars[f->outcome].label;
    for (size_t j = 0; j < d->p; j++) {
        if (isnan(pf->beta[j]))
            continue; /* the within intercept, aliased columns: plm omits them */
        int icpt = (long)j == d->intercept;
        if (cx_result_add_estimate(res, lhs, icpt ? "~1" : "~", icpt ? "" : d->names[j], 0,
                                   pf->beta[j], pf->se[j], NAN, err) < 0)
            return err->code;
    }
    return CX_OK;
}

static int write_fit(cx_result *res, const panel_data *d, const panel_options *o,
                     const panel_fit *pf, cx_error *err)
{
    int random = o->method == PANEL_RANDOM;
    double p_stat = random ? gsl_cdf_chisq_Q(pf->stat, pf->stat_df1)
                           : gsl_cdf_fdist_Q(pf->stat, pf->stat_df1, pf->df_residual);
    struct {
        const char *name;
        double v;
    } rows[] = {{"r2", pf->r2},
                {"adj_r2", pf->adj_r2},
                {"nobs", pf->nobs},
                {"n_units", (double)d->n_units},
                {"n_periods", (double)d->n_times},
                {"df_residual", pf->df_residual},
                {"sigma2", pf->sigma2},
                {random ? "wald_chisq" : "fstat", pf->stat},
                {random ? "wald_chisq_df" : "fstat_df1", pf->stat_df1},
                {random ? "wald_chisq_pvalue" : "fstat_pvalue", p_stat},
                {"sigma2_idios", pf->sigma2_idios},
                {"sigma2_effect", pf->sigma2_effect},
                {"theta", pf->theta_mean},
                {"sigma2_time", pf->sigma2_time}};
    size_t nrows = sizeof rows / sizeof rows[0];
    if (!random)
        nrows -= 4;
    else if (o->effect != PANEL_TWOWAYS)
        nrows -= 1;
    for (size_t i = 0; i < nrows; i++)
        if (cx_result_add_fit(res, rows[i].name, rows[i].v, err))
            return err->code;
    /* Stata's within, between and overall R² (panel_r2.c) */
    static const char *const r2_names[3] = {"r2_within", "r2_between", "r2_overall"};
    double r2[3];
    panel_r2_stata(d, pf, r2);
    for (size_t i = 0; i < 3; i++)
        if (cx_result_add_fit(res, r2_names[i], r2[i], err))
            return err->code;
    return CX_OK;
}

/* ---- specification tests (plm's phtest, pFtest, plmtest "bp") ----------- */

typedef struct test_row {
    const char *name;
    double stat, df1, df2, pvalue;
} test_row;

static int add_test_row(cx_result *res, const test_row *t, cx_error *err)
{
    cx_rtable *tab = cx_result_table(res, "tests", err);
    if (!tab)
        return err->code;
    if (tab->ncols == 0 && (cx_rtable_add_column(tab, "test", CX_RCOL_STRING, err) ||
                            cx_rtable_add_column(tab, "statistic", CX_RCOL_DOUBLE, err) ||
                            cx_rtable_add_column(tab, "df1", CX_RCOL_DOUBLE, err) ||
                            cx_rtable_add_column(tab, "df2", CX_RCOL_DOUBLE, err) ||
                            cx_rtable_add_column(tab, "pvalue", CX_RCOL_DOUBLE, err)))
        return err->code;
    long row = cx_rtable_add_row(tab, err);
    if (row < 0 || cx_rtable_set_string(tab, (size_t)row, "test", t->name, err))
        return err->code ? err->code : CX_ENOMEM;
    cx_rtable_set_double(tab, (size_t)row, "statistic", t->stat);
    cx_rtable_set_double(tab, (size_t)row, "df1", t->df1);
    cx_rtable_set_double(tab, (size_t)row, "df2", t->df2);
    cx_rtable_set_double(tab, (size_t)row, "pvalue", t->pvalue);
    return CX_OK;
}

/* Fit `method` with the job's effect and classical SEs. */
static int fit_with(const panel_data *d, const panel_spec *s, panel_method method, panel_fit *f,
                    cx_error *err)
{
    panel_options o = s->opt;
    o.method = method;
    o.se = PANEL_SE_CLASSICAL;
    if (method == PANEL_POOLING)
        o.effect = PANEL_INDIVIDUAL;
    if (panel_fit_alloc(f, d->p, err))
        return CX_ENOMEM;
    return panel_estimate(d, &o, f, err);
}

/* Hausman: |(b_fe - b_re)' (V_fe - V_re)^-1 (b_fe - b_re)| on the common slopes. */
static double hausman(const panel_data *d, const panel_fit *fe, const panel_fit *re, double *df)
{
    size_t idx[64], q = 0;
    for (size_t j = 0; j < d->p && q < 64; j++)
        if ((long)j != d->intercept && !isnan(fe->beta[j]) && !isnan(re->beta[j]))
            idx[q++] = j;
    gsl_matrix *m = gsl_matrix_alloc(q ? q : 1, q ? q : 1);
    gsl_permutation *perm = gsl_permutation_alloc(q ? q : 1);
    gsl_vector *b = gsl_vector_alloc(q ? q : 1), *x = gsl_vector_alloc(q ? q : 1);
    double stat = NAN;
    int sign;
    if (m && perm && b && x && q) {
        for (size_t a = 0; a < q; a++) {
            gsl_vector_set(b, a, fe->beta[idx[a]] - re->beta[idx[a]]);
            for (size_t c = 0; c < q; c++)
                gsl_matrix_set(m, a, c,
                               fe->vcov[idx[c] * d->p + idx[a]] - re->vcov[idx[c] * d->p + idx[a]]);
        }
        if (gsl_linalg_LU_decomp(m, perm, &sign) == 0 && gsl_linalg_LU_solve(m, perm, b, x) == 0)
            gsl_blas_ddot(b, x, &stat);
    stat = fabs(stat); /* as phtest: a non-positive-definite difference gives a negative form */
    }
    gsl_matrix_free(m);
    gsl_permutation_free(perm);
    gsl_vector_free(b);
    gsl_vector_free(x);
    *df = (double)q;
    return stat;
}

/* Breusch-Pagan LM on pooled OLS residuals (plm's plmtest, type "bp",
 * unbalanced form): LM_g = n / sqrt(2 (sum_g T_g^2 - n)) A_g with
 * A_g = sum_g (sum e)^2 / sum e^2 - 1; one-way LM_g^2, two-way the sum. */
static double bp_component(const panel_data *d, const double *e, int by_time, cx_error *err)
{
    size_t G = by_time ? d->n_times : d->n_units;
    const size_t *code = by_time ? d->time : d->unit;
    double *sum = cx_calloc(G + 1, sizeof *sum, err), *cnt = cx_calloc(G + 1, sizeof *cnt, err);
    double lm = NAN;
    if (sum && cnt) {
        double ee = 0, ss = 0, tt = 0, n = (double)d->n;
        for (size_t i = 0; i < d->n; i++) {
            sum[code[i]] += e[i];
            cnt[code[i]] += 1;
            ee += e[i] * e[i];
        }
        for (size_t g = 0; g < G; g++) {
            ss += sum[g] * sum[g];
            tt += cnt[g] * cnt[g];
        }
        lm = n / sqrt(2 * (tt - n)) * (ss / ee - 1);
    }
    free(sum);
    free(cnt);
    return lm;
}

static int specification_tests(cx_result *res, const panel_data *d, const panel_spec *s,
                               cx_error *err)
{
    panel_fit fe = {0}, po = {0}, re = {0};
    int rc = fit_with(d, s, PANEL_WITHIN, &fe, err);
    if (!rc)
        rc = fit_with(d, s, PANEL_POOLING, &po, err);
    if (!rc && s->want_test[0]) {
        rc = fit_with(d, s, PANEL_RANDOM, &re, err);
        test_row t = {"hausman", NAN, NAN, NAN, NAN};
        if (!rc)
            t.stat = hausman(d, &fe, &re, &t.df1);
        t.pvalue = gsl_cdf_chisq_Q(t.stat, t.df1);
        if (!rc)
            rc = add_test_row(res, &t, err);
    }
    if (!rc && s->want_test[1]) {
        double rss_fe = fe.sigma2 * fe.df_residual, rss_po = po.sigma2 * po.df_residual;
        test_row t = {"f_effects", NAN, po.df_residual - fe.df_residual, fe.df_residual, NAN};
        t.stat = (rss_po - rss_fe) / t.df1 / (rss_fe / t.df2);
        t.pvalue = gsl_cdf_fdist_Q(t.stat, t.df1, t.df2);
        rc = add_test_row(res, &t, err);
    }
    if (!rc && s->want_test[2]) {
        double *e = cx_malloc((d->n + 1) * sizeof *e, err);
        if (!e)
            rc = CX_ENOMEM;
        for (size_t i = 0; !rc && i < d->n; i++) {
            e[i] = d->y[i];
            for (size_t j = 0; j < d->p; j++)
                if (!isnan(po.beta[j]))
                    e[i] -= d->x[j * d->n + i] * po.beta[j];
        }
        test_row t = {"bp", 0, 0, NAN, NAN};
        for (int by_time = 0; !rc && by_time < 2; by_time++)
            if ((by_time == 0 && s->opt.effect != PANEL_TIME) ||
                (by_time == 1 && s->opt.effect != PANEL_INDIVIDUAL)) {
                double lm = bp_component(d, e, by_time, err);
                t.stat += lm * lm;
                t.df1 += 1;
            }
        t.pvalue = gsl_cdf_chisq_Q(t.stat, t.df1);
        free(e);
        if (!rc)
            rc = add_test_row(res, &t, err);
    }
    panel_fit_free(&fe);
    panel_fit_free(&po);
    panel_fit_free(&re);
    return rc;
}

static int add_j_test(cx_result *res, const char *name, double z, double p, cx_error *err)
{
    test_row t = {name, z, NAN, NAN, p};
    return add_test_row(res, &t, err);
}

/* `compare`: load the second formula's rows and fit both side by side. */
static int compare_models(const cx_job *job, const panel_spec *s, const panel_rows *a,
                          cx_result *res, cx_error *err)
{
    const char *extra[2];
    panel_rows b = {0};
    const char **names = NULL;
    cx_design *des = panel_design(job, s, s->compare, "compare", extra, err);
    int rc = des ? panel_rows_load(job, des, s->unit_col, s->time_col, &b, err) : err->code;
    if (!rc && !(names = cx_malloc(b.d.p * sizeof *names, err)))
        rc = CX_ENOMEM;
    if (!rc) {
        for (size_t j = 0; j < b.d.p; j++)
            names[j] = cx_design_colname(des, j);
        b.d.names = names;
        rc = panel_compare(res, a, &b, s->formula->text, s->compare->text, &s->opt, add_j_test,
                           err);
    }
    free(names);
    panel_rows_free(&b);
    cx_design_free(des);
    return rc;
}

static int panel_fit_job(const cx_job *job, cx_result **results, cx_error *err)
{
    cx_result *res = results[0];
    panel_spec s;
    panel_rows r = {0};
    panel_fit pf = {0};
    const char *extra[2];
    cx_design *des = NULL;
    const char **names = NULL;
    int rc = panel_parse(job, &s, err);
    if (!rc && !(des = panel_design(job, &s, s.formula, "formula", extra, err)))
        rc = err->code;
    if (!rc)
        rc = panel_rows_load(job, des, s.unit_col, s.time_col, &r, err);
    if (!rc && !(names = cx_malloc(r.d.p * sizeof *names, err)))
        rc = CX_ENOMEM;
    if (!rc) {
        for (size_t j = 0; j < r.d.p; j++)
            names[j] = cx_design_colname(des, j);
        r.d.names = names;
        rc = panel_fit_alloc(&pf, r.d.p, err);
    }
    const panel_rows *fit_rows = &r; /* all rows, holdout or not (DECISIONS.md) */
    if (!rc)
        rc = panel_estimate(&fit_rows->d, &s.opt, &pf, err);
    if (!rc) {
        res->nobs = pf.nobs;
        if (pf.n_dropped)
            cx_result_add_warning(res, "%s (dropped, as plm)", pf.dropped);
        if (pf.not_converged)
            cx_result_set_status(res, CX_STATUS_NOT_CONVERGED,
                                 "two-way demeaning did not converge in 100000 sweeps (the "
                                 "units and periods are weakly connected)");
        if (*cx_design_notes(des))
            cx_result_add_warning(res, "%s", cx_design_notes(des));
        rc = write_estimates(res, &fit_rows->d, s.formula, &pf, err);
    }
    if (!rc)
        rc = write_fit(res, &fit_rows->d, &s.opt, &pf, err);
    if (!rc && (s.want_test[0] || s.want_test[1] || s.want_test[2]))
        rc = specification_tests(res, &fit_rows->d, &s, err);
    if (!rc && r.held_out)
        rc = holdout_validation(res, &r, &s.opt, err);
    if (!rc && s.compare)
        rc = compare_models(job, &s, &r, res, err);
    panel_fit_free(&pf);
    free(names);
    panel_rows_free(&r);
    cx_design_free(des);
    panel_spec_free(&s);
    return rc;
}

const cx_model cx_model_panel = {
    .name = "panel",
    .summary = "linear panel models (pooling, within, between, random, fd) as plm",
    .keys = panel_keys,
    .fits_all_levels = 0,
    .supports = CX_SUPPORTS_BY | CX_SUPPORTS_VALIDATE,
    .check = panel_check,
    .fit = panel_fit_job,
};
