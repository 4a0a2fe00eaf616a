/*
 * ols_setup.c — from a job's keys to a design ready to stream: `formula`
 * and `scores` parsed, the weights, cluster and bootstrap-cluster columns
 * attached as design extras (so rows missing any of them are dropped
 * listwise, as R's na.omit on the model frame), and the pass's column list
 * (the design's inputs, then the holdout expression's columns).
 *
 * Shared by `ols` and `drivers`; `cxfit check` runs the same code without
 * the first pass, so every name error is found before any row is read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/filter_eval.h"
#include "ols_setup.h"

void ols_setup_clear(ols_setup *s)
{
    cx_design_free(s->d);
    cx_scores_free(s->sc);
    cx_formula_free(s->f);
    free(s->cols);
    free(s->names);
    memset(s, 0, sizeof *s);
}

/* `se` = classical | hc0 | hc1 | hc2 | hc3 | cluster(COL [COL2]). */
static int parse_se(const cx_job *job, ols_setup *s, cx_error *err)
{
    const char *v = cx_section_get(job->section, "se");
    s->se = OLS_SE_CLASSICAL;
    if (!v || !*v)
        return CX_OK;
    static const char *const names[] = {"classical", "hc0", "hc1", "hc2", "hc3"};
    for (int i = 0; i < 5; i++)
        if (strcmp(v, names[i]) == 0) {
            s->se = (ols_se)i;
            return CX_OK;
        }
    size_t len = strlen(v);
    if (strncmp(v, "cluster(", 8) != 0 || v[len - 1] != ')')
        return cx_job_error(job, "se", err, CX_EUSAGE,
                            "expected classical, hc0, hc1, hc2, hc3, cluster(COL) or "
                            "cluster(COL1 COL2), found '%s'",
                            v);
    char inner[2 * CX_NAME_MAX + 8];
    snprintf(inner, sizeof inner, "%.*s", (int)(len - 9), v + 8);
    size_t n = 0;
    char **words = cx_words_split(inner, &n, err);
    if (!words)
        return CX_ENOMEM;
    int rc = CX_OK, cols[2];
    if (n < 1 || n > 2)
        rc = cx_job_error(job, "se", err, CX_EUSAGE,
                          "cluster() takes one or two columns (two-way), found %zu", n);
    else if (cx_view_columns(job->view, words, n, cols, err) != CX_OK)
        rc = cx_job_error(job, "se", err, CX_EUSAGE, "%s", err->msg);
    for (size_t i = 0; rc == CX_OK && i < n; i++)
        snprintf(s->cluster[i], sizeof s->cluster[i], "%s", words[i]);
    cx_words_free(words);
    s->n_cluster = n;
    s->se = OLS_SE_CLUSTER;
    return rc;
}

static int parse_formula(const cx_job *job, ols_setup *s, cx_error *err)
{
    const char *text = cx_section_get(job->section, "formula");
    if (!text || !*text)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "expected a formula such as `ltr ~ pex + factor(segment)`");
    cx_error e = {0};
    s->f = cx_formula_parse(text, &e);
    if (!s->f || cx_formula_require_fixed(s->f, &e) != CX_OK)
        return cx_job_error(job, "formula", err, e.code ? e.code : CX_EUSAGE, "%s", e.msg);
    const char *sc = cx_section_get(job->section, "scores");
    if (sc && *sc) {
        s->sc = cx_scores_parse(sc, &e);
        if (!s->sc)
            return cx_job_error(job, "scores", err, e.code ? e.code : CX_EUSAGE, "%s", e.msg);
    }
    return CX_OK;
}

int ols_setup_init(const cx_job *job, int with_se, ols_setup *s, cx_error *err)
{
    memset(s, 0, sizeof *s);
    s->boot_cluster_extra = -1;
    s->cluster_extra[0] = s->cluster_extra[1] = -1;
    int rc = parse_formula(job, s, err);
    if (rc == CX_OK && with_se)
        rc = parse_se(job, s, err);
    if (rc != CX_OK)
        return rc;
    const cx_table *t = job->view->table;
    const char *extra[3];
    size_t ne = 0;
    for (size_t i = 0; i < s->n_cluster; i++) {
        s->cluster_extra[i] = (long)ne;
        extra[ne++] = s->cluster[i];
    }
    if (job->bootstrap > 0 && job->bootstrap_cluster >= 0) {
        s->boot_cluster_extra = (long)ne;
        extra[ne++] = cx_table_column(t, (size_t)job->bootstrap_cluster)->name;
    }
    cx_design_spec spec = {
        .formula = s->f,
        .scores = s->sc,
        .weights = job->weight_col >= 0 ? cx_table_column(t, (size_t)job->weight_col)->name : NULL,
        .extra = extra,
        .n_extra = ne};
    cx_error e = {0};
    s->d = cx_design_alloc(&spec, job->view->table, &e);
    if (!s->d)
        return cx_job_error(job, "formula", err, e.code ? e.code : CX_EUSAGE, "%s", e.msg);
    return CX_OK;
}

/* The pass's columns: design inputs, then the holdout filter's. */
static int pass_columns(const cx_job *job, ols_setup *s, cx_error *err)
{
    size_t n_table;
    const int *in = cx_design_inputs(s->d, &n_table);
    size_t nf = job->validate == CX_VALIDATE_HOLDOUT ? filter_n_columns(job->holdout) : 0;
    if (nf > 64)
        return cx_job_error(job, "validate", err, CX_EUSAGE,
                            "a holdout expression may read at most 64 columns");
    s->cols = cx_malloc((n_table + nf + 1) * sizeof *s->cols, err);
    if (!s->cols)
        return CX_ENOMEM;
    memcpy(s->cols, in, n_table * sizeof *in);
    for (size_t j = 0; j < nf; j++)
        s->cols[n_table + j] = filter_column(job->holdout, j);
    s->n_inputs = n_table;
    s->holdout_at = n_table;
    s->ncols = n_table + nf;
    return CX_OK;
}

int ols_setup_prepare(const cx_job *job, ols_setup *s, cx_error *err)
{
    if (cx_design_n_panel_inputs(s->d) > 0)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "lag/lead/diff/growth need model = panel with index = unit time");
    cx_error e = {0};
    if (cx_design_prepare(s->d, job->view, &e) != CX_OK)
        return cx_job_error(job, "formula", err, e.code ? e.code : CX_EUSAGE, "%s", e.msg);
    s->p = cx_design_ncols(s->d);
    s->names = cx_calloc(s->p ? s->p : 1, sizeof *s->names, err);
    if (!s->names)
        return CX_ENOMEM;
    for (size_t j = 0; j < s->p; j++)
        s->names[j] = cx_design_colname(s->d, j);
    s->intercept = s->p > 0 && strcmp(s->names[0], "(Intercept)") == 0;
    const char *const *labels;
    if (cx_design_outcome_levels(s->d, &labels) > 0)
        return cx_job_error(job, "formula", err, CX_EUSAGE,
                            "the outcome is a factor; expected a numeric outcome (model = logit, "
                            "ologit or mlogit fit categorical outcomes)");
    return pass_columns(job, s, err);
}

const char *ols_setup_outcome(const ols_setup *s)
{
    return s->f->vars[s->f->outcome].label;
}
