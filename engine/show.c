/*
 * show.c — printing a results file for people (see show.h).
 *
 * Estimates are grouped the way lavaan's summary() groups them (latent
 * variables, regressions, covariances, intercepts, thresholds, variances,
 * defined parameters); the invariance table as lavTestLRT() prints it;
 * every other table is printed as aligned columns.
 */
#include "show.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "results_io.h"

#define SHOW_ROWS_OVERVIEW 10
#define SHOW_COLS_OVERVIEW 14 /* wider tables (correlations) are only named */

static void print_number(FILE *out, double v, int width)
{
    if (isnan(v))
        fprintf(out, "%*s", width, "");
    else if (v != 0 && (fabs(v) >= 1e7 || fabs(v) < 1e-3))
        fprintf(out, " %*.2e", width - 1, v); /* keep a blank between columns */
    else
        fprintf(out, "%*.3f", width, v);
}

/* A number column whose every value is whole (wave, n, value) prints
 * without decimals. */
static int column_is_whole(const cx_rcolumn *c, size_t nrows)
{
    if (c->type != CX_RCOL_DOUBLE)
        return 0;
    for (size_t i = 0; i < nrows; i++)
        if (!isnan(c->d[i]) && (c->d[i] != floor(c->d[i]) || fabs(c->d[i]) >= 1e9))
            return 0;
    return 1;
}

static void print_cell(FILE *out, const cx_rcolumn *c, size_t row, int width, int whole)
{
    if (c->type == CX_RCOL_STRING)
        fprintf(out, "%*.*s", width, width - 1, c->s[row] ? c->s[row] : "");
    else if (c->type == CX_RCOL_INT)
        fprintf(out, "%*lld", width, c->i[row]);
    else if (whole && !isnan(c->d[row]))
        fprintf(out, "%*.0f", width, c->d[row]);
    else
        print_number(out, c->d[row], width);
}

static int column_width(const cx_rcolumn *c, size_t nrows)
{
    int w = (int)strlen(c->name) + 2;
    if (c->type != CX_RCOL_STRING)
        return w < 11 ? 11 : w;
    for (size_t i = 0; i < nrows; i++) {
        int len = c->s[i] ? (int)strlen(c->s[i]) + 2 : 2;
        w = len > w ? len : w;
    }
    return w > 40 ? 40 : w;
}

static void print_table(FILE *out, const cx_rtable *t, size_t max_rows)
{
    fprintf(out, "\n  %s (%zu row%s)\n", t->name, t->nrows, t->nrows == 1 ? "" : "s");
    int widths[256], whole[256];
    size_t ncols = t->ncols < 256 ? t->ncols : 256;
    for (size_t j = 0; j < ncols; j++) {
        widths[j] = column_width(&t->cols[j], t->nrows);
        whole[j] = column_is_whole(&t->cols[j], t->nrows);
        fprintf(out, "%*s", widths[j], t->cols[j].name);
    }
    fputc('\n', out);
    size_t shown = t->nrows < max_rows ? t->nrows : max_rows;
    for (size_t i = 0; i < shown; i++) {
        for (size_t j = 0; j < ncols; j++)
            print_cell(out, &t->cols[j], i, widths[j], whole[j]);
        fputc('\n', out);
    }
    if (shown < t->nrows)
        fprintf(out, "  ... %zu more rows (cxfit show FILE JOB prints them all)\n",
                t->nrows - shown);
}

/* Column `name` of type `type` (-1 when absent); *mistyped is set when the
 * column exists with another type (an edited file): the caller then prints
 * the table generically instead of trusting the standard layout. */
static int standard_column(const cx_rtable *t, const char *name, cx_rcol_type type, int *mistyped)
{
    int j = cx_rtable_find_column_typed(t, name, type);
    if (j < 0 && cx_rtable_find_column(t, name) >= 0)
        *mistyped = 1;
    return j;
}

/* lavaan's summary() sections, in its order. */
static const struct {
    const char *op;
    const char *title;
} sections[] = {{"=~", "Latent Variables"},  {"~", "Regressions"}, {"~~", "Covariances"},
                {"~1", "Intercepts"},        {"|", "Thresholds"},  {"~~", "Variances"},
                {":=", "Defined Parameters"}};

static int row_in_section(const cx_rtable *t, size_t i, size_t s)
{
    int lhs = cx_rtable_find_column_typed(t, "lhs", CX_RCOL_STRING),
        op = cx_rtable_find_column_typed(t, "op", CX_RCOL_STRING),
        rhs = cx_rtable_find_column_typed(t, "rhs", CX_RCOL_STRING);
    if (lhs < 0 || op < 0 || rhs < 0 || strcmp(t->cols[op].s[i], sections[s].op) != 0)
        return 0;
    if (strcmp(sections[s].op, "~~") != 0)
        return 1;
    int same = strcmp(t->cols[lhs].s[i], t->cols[rhs].s[i]) == 0;
    return strcmp(sections[s].title, "Variances") == 0 ? same : !same;
}

typedef struct group_row {
    long long group;
    size_t row;
} group_row;

static int by_group_then_row(const void *a, const void *b)
{
    const group_row *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static void print_estimate_row(FILE *out, const cx_rtable *t, size_t i, int lhs, int op, int rhs,
                               const int cols[7])
{
    char label[128];
    const char *o = t->cols[op].s[i];
    snprintf(label, sizeof label, "%s %s %s", t->cols[lhs].s[i], strcmp(o, "~1") == 0 ? "" : o,
             t->cols[rhs].s[i]);
    fprintf(out, "    %-27.27s", label);
    for (size_t k = 0; k < 7; k++) {
        double v = cols[k] >= 0 ? t->cols[cols[k]].d[i] : NAN;
        if (k == 1 && v == 0)
            v = NAN; /* fixed parameter: blank like lavaan */
        if (k == 3 && !isnan(v))
            fprintf(out, "%9.3f", v); /* lavaan prints p < .0005 as 0.000 */
        else
            print_number(out, v, 9);
    }
    fputc('\n', out);
}

static void print_estimates(FILE *out, const cx_rtable *t)
{
    const char *names[] = {"est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_all"};
    int cols[7], mistyped = 0;
    for (size_t k = 0; k < 7; k++)
        cols[k] = standard_column(t, names[k], CX_RCOL_DOUBLE, &mistyped);
    int lhs = standard_column(t, "lhs", CX_RCOL_STRING, &mistyped),
        rhs = standard_column(t, "rhs", CX_RCOL_STRING, &mistyped);
    int group = standard_column(t, "group", CX_RCOL_INT, &mistyped),
        op = standard_column(t, "op", CX_RCOL_STRING, &mistyped);
    if (mistyped || lhs < 0 || rhs < 0 || op < 0 || cols[0] < 0) {
        print_table(out, t, (size_t)-1);
        return;
    }
    /* Rows by group, file order within a group: a file may hold any group
     * numbers (2^62 of them), so walk the groups present, not a range. */
    group_row *order = malloc((t->nrows ? t->nrows : 1) * sizeof *order);
    if (!order) {
        print_table(out, t, (size_t)-1);
        return;
    }
    for (size_t i = 0; i < t->nrows; i++)
        order[i] = (group_row){group >= 0 ? t->cols[group].i[i] : 0, i};
    qsort(order, t->nrows, sizeof *order, by_group_then_row);
    int several = t->nrows && (order[0].group != 0 || order[t->nrows - 1].group != 0);
    for (size_t from = 0, to; from < t->nrows; from = to) {
        for (to = from; to < t->nrows && order[to].group == order[from].group;)
            to++;
        if (several)
            fprintf(out, "\n  Group %lld:\n", order[from].group);
        for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
            int header = 0;
            for (size_t k = from; k < to; k++) {
                size_t i = order[k].row;
                if (!row_in_section(t, i, s))
                    continue;
                if (!header++)
                    fprintf(out, "\n  %s:%*s%9s%9s%9s%9s%9s%9s%9s\n", sections[s].title,
                            (int)(28 - strlen(sections[s].title)), "", "Estimate", "Std.Err",
                            "z-value", "P(>|z|)", "ci.lower", "ci.upper", "Std.all");
                print_estimate_row(out, t, i, lhs, op, rhs, cols);
            }
        }
    }
    free(order);
}

/* The fit measures an overview shows when a table has them (lavaan's
 * summary(fit.measures = TRUE) headline). */
static int headline_measure(const char *name)
{
    static const char *const headline[] = {
        "npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
        "rmsea.ci.upper", "srmr", "aic", "bic", "r2", "adj_r2", "rmse", NULL};
    for (size_t k = 0; headline[k]; k++)
        if (strcmp(name, headline[k]) == 0)
            return 1;
    return 0;
}

static void print_fit(FILE *out, const cx_rtable *t, const char *title, int overview)
{
    int m = cx_rtable_find_column_typed(t, "measure", CX_RCOL_STRING),
        v = cx_rtable_find_column_typed(t, "value", CX_RCOL_DOUBLE);
    if (m < 0 || v < 0) {
        print_table(out, t, (size_t)-1);
        return;
    }
    int any_headline = 0;
    for (size_t i = 0; i < t->nrows; i++)
        any_headline |= headline_measure(t->cols[m].s[i]);
    fprintf(out, "\n  %s:\n", title);
    for (size_t i = 0; i < t->nrows; i++) {
        if (overview && any_headline && !headline_measure(t->cols[m].s[i]))
            continue;
        fprintf(out, "    %-32s", t->cols[m].s[i]);
        print_number(out, t->cols[v].d[i], 14);
        fputc('\n', out);
    }
}

/* A row's label: the `by` values (the columns before `step`), then the step. */
static void invariance_label(const cx_rtable *t, size_t i, int step, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int j = 0; j < step && len < size; j++) {
        const cx_rcolumn *c = &t->cols[j];
        if (c->type == CX_RCOL_STRING)
            len +=
                (size_t)snprintf(out + len, size - len, "%s=%s ", c->name, c->s[i] ? c->s[i] : "");
        else if (c->type == CX_RCOL_INT)
            len += (size_t)snprintf(out + len, size - len, "%s=%lld ", c->name, c->i[i]);
        else
            len += (size_t)snprintf(out + len, size - len, "%s=%g ", c->name, c->d[i]);
    }
    if (len < size)
        snprintf(out + len, size - len, "%s", t->cols[step].s[i]);
}

/* One block of the invariance table: `cols` (NULL-terminated) per step,
 * headed by `heads`; rows without a value in cols[0] are left out. */
static void print_invariance_block(FILE *out, const cx_rtable *t, const char *title,
                                   const char *const *cols, const char *const *heads)
{
    int step = cx_rtable_find_column_typed(t, "step", CX_RCOL_STRING),
        conv = cx_rtable_find_column_typed(t, "converged", CX_RCOL_INT);
    int width = step > 0 ? 24 : 12; /* room for the `by` values */
    fprintf(out, "\n  %s\n    %-*s", title, width, "");
    for (size_t k = 0; cols[k]; k++)
        fprintf(out, "%11s", heads[k]);
    fputc('\n', out);
    for (size_t i = 0; i < t->nrows; i++) {
        int first = cx_rtable_find_column_typed(t, cols[0], CX_RCOL_DOUBLE);
        if (first < 0 || isnan(t->cols[first].d[i]))
            continue;
        char label[64];
        invariance_label(t, i, step, label, sizeof label);
        fprintf(out, "    %-*.*s", width, width, label);
        for (size_t k = 0; cols[k]; k++) {
            int c = cx_rtable_find_column_typed(t, cols[k], CX_RCOL_DOUBLE);
            double v = c >= 0 ? t->cols[c].d[i] : NAN;
            if (strcmp(cols[k], "npar") == 0 || strncmp(cols[k], "df", 2) == 0)
                fprintf(out, "%11.0f", v); /* counts */
            else
                print_number(out, v, 11);
        }
        if (conv >= 0 && t->cols[conv].i[i] == 0)
            fprintf(out, "  (not converged)");
        fputc('\n', out);
    }
}

/* The invariance table as lavTestLRT() and semTools print it: fit per
 * step, then each step against the one before. */
static void print_invariance(FILE *out, const cx_rtable *t)
{
    static const char *const fit[] = {"npar",  "chisq", "df",  "pvalue", "cfi", "tli",
                                      "rmsea", "srmr",  "aic", "bic",    NULL};
    static const char *const fit_heads[] = {"npar", "Chisq", "Df",   "P(>Chisq)", "CFI",
                                            "TLI",  "RMSEA", "SRMR", "AIC",       "BIC"};
    static const char *const diff[] = {"chisq_diff", "df_diff",     "pvalue_diff", "rmsea_d",
                                       "delta_cfi",  "delta_rmsea", NULL};
    static const char *const diff_heads[] = {"Chisq diff", "Df diff",  "Pr(>Chisq)",
                                             "RMSEA.D",    "CFI diff", "RMSEA diff"};
    if (cx_rtable_find_column_typed(t, "step", CX_RCOL_STRING) < 0 ||
        cx_rtable_find_column_typed(t, "chisq", CX_RCOL_DOUBLE) < 0) {
        print_table(out, t, (size_t)-1);
        return;
    }
    print_invariance_block(out, t, "Measurement invariance, fit per step:", fit, fit_heads);
    print_invariance_block(
        out, t, "Chi-squared difference tests (each step vs the one before):", diff, diff_heads);
}

/* Per-step tables of `invariance` (estimates_metric, fit_metric ...):
 * printed like their namesakes when a job is shown, listed on one line in
 * an overview (*listed counts them). */
static int print_step_table(FILE *out, const cx_rtable *t, int overview, int *listed)
{
    static const char *const bases[] = {"estimates_", "fit_", "modindices_"};
    for (size_t b = 0; b < 3; b++) {
        size_t len = strlen(bases[b]);
        if (strncmp(t->name, bases[b], len) != 0)
            continue;
        const char *step = t->name + len;
        if (overview)
            fprintf(out, "%s %s", (*listed)++ ? "" : "\n  per-step tables:", t->name);
        else if (b == 0) {
            fprintf(out, "\n  == step %s ==\n", step);
            print_estimates(out, t);
        } else if (b == 1) {
            char title[96];
            snprintf(title, sizeof title, "Fit, step %s", step);
            print_fit(out, t, title, 0);
        } else
            print_table(out, t, (size_t)-1);
        return 1;
    }
    return 0;
}

/* Estimates beyond means (`~1`) and derived numbers (`:=`): what a
 * model fitted.  An overview skips the others (describe's item means and
 * nps's definition repeat the job's own tables). */
static int has_model_parameters(const cx_rtable *t)
{
    int op = cx_rtable_find_column_typed(t, "op", CX_RCOL_STRING);
    for (size_t i = 0; op >= 0 && i < t->nrows; i++)
        if (strcmp(t->cols[op].s[i], "~1") != 0 && strcmp(t->cols[op].s[i], ":=") != 0)
            return 1;
    return 0;
}

static void print_job(FILE *out, const char *name, const char *model, const cx_result *r,
                      int overview)
{
    const char *elapsed = NULL;
    double secs = NAN;
    for (size_t i = 0; i < r->n_attrs; i++)
        if (strcmp(r->attrs[i].name, "elapsed_s") == 0 && !r->attrs[i].is_string)
            secs = r->attrs[i].d;
    (void)elapsed;
    fprintf(out, "\n== job %s (%s): %s", name, model ? model : "?", r->status);
    if (!isnan(r->nobs))
        fprintf(out, ", %.0f observations", r->nobs);
    if (!isnan(secs))
        fprintf(out, ", %.3f s", secs);
    fputc('\n', out);
    if (r->message && *r->message)
        fprintf(out, "  %s\n", r->message);
    int listed = 0;
    for (size_t t = 0; t < r->n_tables; t++) {
        const cx_rtable *tab = r->tables[t];
        if (strcmp(tab->name, "estimates") == 0) {
            if (!overview || has_model_parameters(tab))
                print_estimates(out, tab);
        } else if (strcmp(tab->name, "fit") == 0)
            print_fit(out, tab, "Fit", overview);
        else if (strcmp(tab->name, "invariance") == 0)
            print_invariance(out, tab);
        else if (overview && tab->ncols > SHOW_COLS_OVERVIEW)
            fprintf(out, "\n  %s (%zu x %zu; cxfit show FILE %s prints it)\n", tab->name,
                    tab->nrows, tab->ncols, name);
        else if (!print_step_table(out, tab, overview, &listed))
            print_table(out, tab, overview ? SHOW_ROWS_OVERVIEW : (size_t)-1);
    }
    if (listed)
        fprintf(out, "\n  (cxfit show FILE %s prints them)\n", name);
}

int cx_show(const char *path, const char *job, FILE *out, cx_error *err)
{
    cx_stored_job *jobs;
    size_t n;
    if (cx_results_list_jobs(path, &jobs, &n, err))
        return err->code;
    char *version = cx_results_root_attr(path, "cxfit_version", NULL);
    char *created = cx_results_root_attr(path, "created", NULL);
    fprintf(out, "cxfit %s results: %s (created %s, %zu job%s)\n", version ? version : "?", path,
            created ? created : "?", n, n == 1 ? "" : "s");
    free(version);
    free(created);
    int found = 0, rc = CX_OK;
    for (size_t i = 0; i < n && rc == CX_OK; i++) {
        if (job && strcmp(job, jobs[i].name) != 0)
            continue;
        found = 1;
        cx_result *r = cx_results_read_job(path, jobs[i].name, err);
        if (!r) {
            rc = err->code;
            break;
        }
        print_job(out, jobs[i].name, jobs[i].model, r, job == NULL);
        cx_result_free(r);
    }
    if (rc == CX_OK && job && !found) {
        char list[512] = "";
        for (size_t i = 0; i < n; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", jobs[i].name);
        }
        rc = cx_error_set(err, CX_EUSAGE, "%s: no job '%s' (jobs: %s)", path, job, list);
    }
    cx_stored_jobs_free(jobs, n);
    return rc;
}
