/*
 * show.c — printing a results file for people (see show.h).
 *
 * Per job: a header (model, estimator, standard errors, test, iterations,
 * observations per group), then per `by` level the model test, the
 * estimates grouped the way lavaan's summary() groups them (latent
 * variables, regressions, covariances, intercepts, thresholds, variances,
 * defined parameters, each block headed by level and group label) and the
 * fit measures (the headline ones unless --all); then the other tables as
 * aligned columns and the invariance table as lavTestLRT() prints it.
 * Column widths are measured from the values, so nothing is ever cut.
 */
#include "show.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "readback.h"
#include "result.h"
#include "results_io.h"

#define SHOW_ROWS_OVERVIEW 10
#define SHOW_COLS_OVERVIEW 14 /* wider tables (correlations) are only named */

typedef struct show_ctx {
    FILE *out;
    const cx_result *r;
    const char *name;
    cx_rb_by by;
    int overview; /* every job: long tables cut */
    int all;      /* every fit measure */
} show_ctx;

/* ---- formatting --------------------------------------------------------- */

/* lavaan's 3 decimals; exponent form where 3 decimals would hide the value. */
static void format_number(double v, int whole, char *buf, size_t size)
{
    if (isnan(v))
        buf[0] = '\0';
    else if (whole)
        snprintf(buf, size, "%.0f", v);
    else if (v != 0 && (fabs(v) >= 1e7 || fabs(v) < 1e-3))
        snprintf(buf, size, "%.3e", v);
    else
        snprintf(buf, size, "%.3f", v);
}

static int column_is_whole(const cx_rcolumn *c, size_t nrows)
{
    if (c->type == CX_RCOL_INT)
        return 1;
    if (c->type != CX_RCOL_DOUBLE)
        return 0;
    for (size_t i = 0; i < nrows; i++)
        if (!isnan(c->d[i]) && (c->d[i] != floor(c->d[i]) || fabs(c->d[i]) >= 1e9))
            return 0;
    return 1;
}

static void format_cell(const cx_rcolumn *c, size_t row, int whole, char *buf, size_t size)
{
    if (c->type == CX_RCOL_STRING)
        snprintf(buf, size, "%s", cx_rb_string(c, row));
    else
        format_number(cx_rb_number(c, row), whole, buf, size);
}

/* Width of a cell as printed (strings longer than the buffer are counted
 * whole: they are printed from the column, not the buffer). */
static int cell_width(const cx_rcolumn *c, size_t row, int whole)
{
    char buf[64];
    if (c->type == CX_RCOL_STRING)
        return (int)strlen(cx_rb_string(c, row));
    format_cell(c, row, whole, buf, sizeof buf);
    return (int)strlen(buf);
}

static void print_cell(FILE *out, const cx_rcolumn *c, size_t row, int width, int whole)
{
    char buf[64];
    if (c->type == CX_RCOL_STRING) {
        fprintf(out, "%*s", width, cx_rb_string(c, row));
        return;
    }
    format_cell(c, row, whole, buf, sizeof buf);
    fprintf(out, "%*s", width, buf);
}

/* ---- plain tables --------------------------------------------------------- */

static void print_table(FILE *out, const cx_rtable *t, size_t max_rows)
{
    size_t shown = t->nrows < max_rows ? t->nrows : max_rows;
    fprintf(out, "\n  %s (%zu row%s)\n", t->name, t->nrows, t->nrows == 1 ? "" : "s");
    int *width = calloc(t->ncols ? t->ncols : 1, sizeof *width);
    int *whole = calloc(t->ncols ? t->ncols : 1, sizeof *whole);
    if (!width || !whole) {
        free(width);
        free(whole);
        return;
    }
    fputs("  ", out);
    for (size_t j = 0; j < t->ncols; j++) {
        whole[j] = column_is_whole(&t->cols[j], t->nrows);
        width[j] = (int)strlen(t->cols[j].name);
        for (size_t i = 0; i < shown; i++) {
            int w = cell_width(&t->cols[j], i, whole[j]);
            width[j] = w > width[j] ? w : width[j];
        }
        fprintf(out, "%*s%s", width[j], t->cols[j].name, j + 1 < t->ncols ? "  " : "");
    }
    fputc('\n', out);
    for (size_t i = 0; i < shown; i++) {
        fputs("  ", out);
        for (size_t j = 0; j < t->ncols; j++) {
            print_cell(out, &t->cols[j], i, width[j], whole[j]);
            fputs(j + 1 < t->ncols ? "  " : "", out);
        }
        fputc('\n', out);
    }
    if (shown < t->nrows)
        fprintf(out, "  ... %zu more rows (cxfit show FILE JOB prints them all)\n",
                t->nrows - shown);
    free(width);
    free(whole);
}

/* ---- levels --------------------------------------------------------------- */

/* Row j of table b is in the level of row i of table a (by-column values
 * compared as text, so a level matches across tables). */
static int same_level_across(const cx_rtable *a, size_t i, const cx_rtable *b, size_t j,
                             const cx_rb_by *by)
{
    char la[512], lb[512];
    cx_rb_level_label(a, by, i, la, sizeof la);
    cx_rb_level_label(b, by, j, lb, sizeof lb);
    return strcmp(la, lb) == 0;
}

/* ---- estimates -------------------------------------------------------------- */

static const char *const est_names[] = {"est",      "se",       "z",      "pvalue",
                                        "ci_lower", "ci_upper", "std_all"};
static const char *const est_heads[] = {"Estimate", "Std.Err",  "z-value", "P(>|z|)",
                                        "ci.lower", "ci.upper", "Std.all"};
#define N_EST 7

typedef struct est_view {
    const cx_rtable *t;
    const cx_rcolumn *lhs, *op, *rhs, *grp, *num[N_EST];
    int label_w, num_w[N_EST];
} est_view;

static double est_value(const est_view *v, int k, size_t i)
{
    double x = v->num[k] ? v->num[k]->d[i] : NAN;
    return k == 1 && x == 0 ? NAN : x; /* fixed parameter: no SE, blank like lavaan */
}

static void est_label(const est_view *v, size_t i, char *buf, size_t size)
{
    const char *op = cx_rb_string(v->op, i);
    if (strcmp(op, "~1") == 0)
        snprintf(buf, size, "%s", cx_rb_string(v->lhs, i));
    else
        snprintf(buf, size, "%s %s %s", cx_rb_string(v->lhs, i), op, cx_rb_string(v->rhs, i));
}

static int est_view_init(est_view *v, const cx_rtable *t)
{
    memset(v, 0, sizeof *v);
    v->t = t;
    v->lhs = cx_rb_column(t, "lhs", CX_RCOL_STRING);
    v->op = cx_rb_column(t, "op", CX_RCOL_STRING);
    v->rhs = cx_rb_column(t, "rhs", CX_RCOL_STRING);
    v->grp = cx_rb_group_column(t);
    if (!v->lhs || !v->op || !v->rhs)
        return 0;
    v->label_w = (int)strlen("Defined Parameters:");
    for (int k = 0; k < N_EST; k++) {
        v->num[k] = cx_rb_column(t, est_names[k], CX_RCOL_DOUBLE);
        v->num_w[k] = (int)strlen(est_heads[k]);
    }
    for (size_t i = 0; i < t->nrows; i++) {
        char label[1024], num[64];
        est_label(v, i, label, sizeof label);
        int w = (int)(strlen(cx_rb_string(v->lhs, i)) + strlen(cx_rb_string(v->rhs, i)) + 4);
        v->label_w = w > v->label_w ? w : v->label_w;
        for (int k = 0; k < N_EST; k++) {
            double x = est_value(v, k, i);
            num[0] = '\0';
            if (!isnan(x))
                snprintf(num, sizeof num, "%.3f", x);
            v->num_w[k] = (int)strlen(num) > v->num_w[k] ? (int)strlen(num) : v->num_w[k];
        }
    }
    return 1;
}

static int same_group(const est_view *v, size_t i, size_t j)
{
    return !v->grp || cx_rb_number(v->grp, i) == cx_rb_number(v->grp, j);
}

static void print_est_row(FILE *out, const est_view *v, size_t i)
{
    char label[1024];
    est_label(v, i, label, sizeof label);
    if (strlen(label) + 1 >= sizeof label) /* never cut: print the parts */
        fprintf(out, "    %s %s %s", cx_rb_string(v->lhs, i), cx_rb_string(v->op, i),
                cx_rb_string(v->rhs, i));
    else
        fprintf(out, "    %-*s", v->label_w, label);
    for (int k = 0; k < N_EST; k++) {
        double x = est_value(v, k, i);
        if (isnan(x))
            fprintf(out, "  %*s", v->num_w[k], "");
        else
            fprintf(out, "  %*.3f", v->num_w[k], x); /* lavaan prints p < .0005 as 0.000 */
    }
    fputc('\n', out);
}

/* The sections of one level and group, starting at row `first`. */
static void print_est_block(FILE *out, const est_view *v, const cx_rb_by *by, size_t first)
{
    const cx_rtable *t = v->t;
    for (int s = 0; s < CX_RB_N_SECTIONS; s++) {
        int header = 0;
        for (size_t i = first; i < t->nrows; i++) {
            if (!cx_rb_same_level(t, by, i, first) || !same_group(v, i, first) ||
                cx_rb_section(cx_rb_string(v->lhs, i), cx_rb_string(v->op, i),
                              cx_rb_string(v->rhs, i)) != s)
                continue;
            if (!header++) {
                char title[64];
                snprintf(title, sizeof title, "%s:", cx_rb_section_title(s));
                fprintf(out, "\n  %-*s", v->label_w + 2, title);
                for (int k = 0; k < N_EST; k++)
                    fprintf(out, "  %*s", v->num_w[k], est_heads[k]);
                fputc('\n', out);
            }
            print_est_row(out, v, i);
        }
    }
}

/* Every group of the level of row `level_row`, each headed by its label. */
static void print_estimates_level(const show_ctx *c, const est_view *v, size_t level_row)
{
    const cx_rtable *t = v->t;
    for (size_t first = 0; first < t->nrows; first++) {
        if (!cx_rb_same_level(t, &c->by, first, level_row))
            continue;
        int seen = 0;
        for (size_t i = 0; i < first && !seen; i++)
            seen = cx_rb_same_level(t, &c->by, i, first) && same_group(v, i, first);
        if (seen)
            continue;
        double g = cx_rb_number(v->grp, first);
        if (isfinite(g) && g > 0 && g < 0x1p62) { /* a forged 2^63 must not overflow */
            const char *label = cx_rb_group_label(c->r, (long long)g);
            fprintf(c->out, "\n\n  Group %.0f%s%s%s:\n", g, label ? " [" : "", label ? label : "",
                    label ? "]" : "");
        }
        print_est_block(c->out, v, &c->by, first);
    }
}

/* ---- fit ------------------------------------------------------------------ */

typedef struct fit_view {
    const cx_rtable *t;
    const cx_rcolumn *m, *v;
} fit_view;

static int fit_view_init(fit_view *f, const cx_rtable *t)
{
    f->t = t;
    f->m = cx_rb_column(t, "measure", CX_RCOL_STRING);
    f->v = cx_rb_column(t, "value", CX_RCOL_DOUBLE);
    return t && f->m && f->v;
}

/* Measure `name` in the level of row `row` of table `lt`. */
static double fit_at(const fit_view *f, const cx_rtable *lt, size_t row, const cx_rb_by *by,
                     const char *name)
{
    for (size_t i = 0; i < f->t->nrows; i++)
        if (strcmp(cx_rb_string(f->m, i), name) == 0 &&
            (!by->n || same_level_across(lt, row, f->t, i, by)))
            return f->v->d[i];
    return NAN;
}

static int is_count_measure(const char *name)
{
    return strcmp(name, "npar") == 0 || strcmp(name, "ntotal") == 0 || strcmp(name, "df") == 0 ||
           strcmp(name, "baseline.df") == 0 || strcmp(name, "nobs") == 0;
}

/* lavaan's "Model Test User Model" block (standard and scaled columns). */
static void print_model_test(FILE *out, const fit_view *f, const cx_rtable *lt, size_t row,
                             const cx_rb_by *by)
{
    static const char *const rows[][3] = {
        {"Test Statistic", "chisq", "chisq.scaled"},
        {"Degrees of freedom", "df", "df.scaled"},
        {"P-value (Chi-square)", "pvalue", "pvalue.scaled"},
        {"Scaling correction factor", NULL, "chisq.scaling.factor"}};
    if (isnan(fit_at(f, lt, row, by, "chisq")))
        return;
    int scaled = !isnan(fit_at(f, lt, row, by, "chisq.scaled"));
    fprintf(out, "\n  Model Test User Model:\n");
    fprintf(out, "  %-28s  %12s%s\n", "", "Standard", scaled ? "        Scaled" : "");
    for (size_t k = 0; k < (scaled ? 4u : 3u); k++) {
        char a[64] = "", b[64] = "";
        int whole = k == 1;
        if (rows[k][1])
            format_number(fit_at(f, lt, row, by, rows[k][1]), whole, a, sizeof a);
        if (scaled)
            format_number(fit_at(f, lt, row, by, rows[k][2]), whole, b, sizeof b);
        fprintf(out, "    %-28s%12s%s%*s\n", rows[k][0], a, scaled ? "  " : "", scaled ? 12 : 0, b);
    }
}

static void print_fit_level(const show_ctx *c, const fit_view *f, const cx_rtable *lt, size_t row,
                            const char *title)
{
    int name_w = 0, value_w = 0, any = 0, hidden = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < f->t->nrows; i++) {
            const char *name = cx_rb_string(f->m, i);
            if (c->by.n && !same_level_across(lt, row, f->t, i, &c->by))
                continue;
            if (!c->all && !cx_rb_headline_measure(name)) {
                hidden += pass == 0;
                continue;
            }
            char num[64];
            format_number(f->v->d[i], is_count_measure(name), num, sizeof num);
            if (pass == 0) {
                name_w = (int)strlen(name) > name_w ? (int)strlen(name) : name_w;
                value_w = (int)strlen(num) > value_w ? (int)strlen(num) : value_w;
                any = 1;
            } else {
                fprintf(c->out, "    %-*s  %*s\n", name_w, name, value_w, num);
            }
        }
        if (pass == 0 && !any)
            return;
        if (pass == 0)
            fprintf(c->out, "\n  %s%s:\n", title,
                    hidden ? " (headline measures; show --all prints all)" : "");
    }
}

/* ---- the job header ---------------------------------------------------------- */

typedef struct header_line {
    char key[600];
    char value[160];
} header_line;

#define MAX_HEADER_LINES 40

static size_t header_add(header_line *h, size_t n, const char *key, const char *value)
{
    if (n < MAX_HEADER_LINES && value && *value) {
        snprintf(h[n].key, sizeof h[n].key, "%s", key);
        snprintf(h[n].value, sizeof h[n].value, "%s", value);
        return n + 1;
    }
    return n;
}

static size_t header_number(header_line *h, size_t n, const char *key, double v, int decimals)
{
    char buf[64];
    if (!isfinite(v))
        return n;
    snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return header_add(h, n, key, buf);
}

/* Observations per group (the `groups` table), each with its label. */
static size_t header_groups(const show_ctx *c, header_line *h, size_t n)
{
    const cx_rtable *g = cx_result_find_table(c->r, "groups");
    const cx_rcolumn *label = cx_rb_column(g, "label", CX_RCOL_STRING);
    const cx_rcolumn *nobs = cx_rb_column(g, "nobs", CX_RCOL_DOUBLE);
    const cx_rcolumn *num = cx_rb_group_column(g);
    for (size_t i = 0; label && nobs && i < g->nrows; i++) {
        char key[600], level[512];
        cx_rb_level_label(g, &c->by, i, level, sizeof level);
        snprintf(key, sizeof key, "  %s%sGroup %.0f [%s]", level, *level ? ", " : "",
                 cx_rb_number(num, i), cx_rb_string(label, i));
        n = header_number(h, n, key, nobs->d[i], 0);
    }
    return n;
}

static void print_header(const show_ctx *c, const char *model, const char *spec)
{
    const cx_result *r = c->r;
    fprintf(c->out, "\n== job %s (%s): %s ==\n", c->name, model ? model : "?",
            cx_status_name(r->status));
    if (r->message && *r->message)
        fprintf(c->out, "  %s\n", r->message);
    header_line *h = calloc(MAX_HEADER_LINES, sizeof *h);
    if (!h)
        return;
    cx_rb_method m;
    cx_rb_job_method(model, spec, r, &m);
    size_t n = 0;
    n = header_add(h, n, "Estimator", m.estimator);
    n = header_add(h, n, "Standard errors", m.se);
    n = header_add(h, n, "Test statistic", m.test);
    n = header_add(h, n, "Parameterization", cx_rb_attr_string(r, "parameterization"));
    n = header_number(h, n, "Optimizer iterations", cx_rb_attr_double(r, "iterations"), 0);
    n = header_number(h, n, "Number of observations used", r->nobs, 0);
    n = header_groups(c, h, n);
    if (c->by.n) {
        char list[512] = "";
        for (size_t k = 0; k < c->by.n; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? " " : "",
                     c->by.names[k]);
        n = header_add(h, n, "By (one fit per level)", list);
    }
    n = header_number(h, n, "Elapsed (s)", cx_rb_attr_double(r, "elapsed_s"), 3);
    int kw = 0, vw = 0;
    for (size_t i = 0; i < n; i++) {
        kw = (int)strlen(h[i].key) > kw ? (int)strlen(h[i].key) : kw;
        vw = (int)strlen(h[i].value) > vw ? (int)strlen(h[i].value) : vw;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(c->out, "  %-*s  %*s\n", kw, h[i].key, vw, h[i].value);
    free(h);
}

/* ---- invariance ------------------------------------------------------------ */

/* A row's label: the `by` values (the columns before `step`), then the step. */
static void invariance_label(const cx_rtable *t, size_t i, const cx_rb_by *by, char *out,
                             size_t size)
{
    char level[512];
    cx_rb_level_label(t, by, i, level, sizeof level);
    snprintf(out, size, "%s%s%s", level, *level ? " " : "",
             cx_rb_string(cx_rb_column(t, "step", CX_RCOL_STRING), i));
}

/* One block of the invariance table: `cols` (NULL-terminated) per step,
 * headed by `heads`; rows without a value in cols[0] are left out. */
static void print_invariance_block(const show_ctx *c, const cx_rtable *t, const char *title,
                                   const char *const *cols, const char *const *heads)
{
    const cx_rcolumn *conv = cx_rb_column(t, "converged", CX_RCOL_INT);
    const cx_rcolumn *first = cx_rb_column(t, cols[0], CX_RCOL_DOUBLE);
    int label_w = 0, w[16] = {0};
    char label[700], num[64];
    for (size_t k = 0; cols[k]; k++)
        w[k] = (int)strlen(heads[k]);
    for (size_t i = 0; i < t->nrows; i++) {
        invariance_label(t, i, &c->by, label, sizeof label);
        label_w = (int)strlen(label) > label_w ? (int)strlen(label) : label_w;
        for (size_t k = 0; cols[k]; k++) {
            format_number(cx_rb_number(cx_rb_column(t, cols[k], CX_RCOL_DOUBLE), i),
                          strcmp(cols[k], "npar") == 0 || strncmp(cols[k], "df", 2) == 0, num,
                          sizeof num);
            w[k] = (int)strlen(num) > w[k] ? (int)strlen(num) : w[k];
        }
    }
    fprintf(c->out, "\n  %s\n    %-*s", title, label_w, "");
    for (size_t k = 0; cols[k]; k++)
        fprintf(c->out, "  %*s", w[k], heads[k]);
    fputc('\n', c->out);
    for (size_t i = 0; i < t->nrows; i++) {
        if (!first || isnan(first->d[i]))
            continue;
        invariance_label(t, i, &c->by, label, sizeof label);
        fprintf(c->out, "    %-*s", label_w, label);
        for (size_t k = 0; cols[k]; k++) {
            format_number(cx_rb_number(cx_rb_column(t, cols[k], CX_RCOL_DOUBLE), i),
                          strcmp(cols[k], "npar") == 0 || strncmp(cols[k], "df", 2) == 0, num,
                          sizeof num);
            fprintf(c->out, "  %*s", w[k], num);
        }
        if (conv && conv->i[i] == 0)
            fprintf(c->out, "  (not converged)");
        fputc('\n', c->out);
    }
}

/* The invariance table as lavTestLRT() and semTools print it: fit per
 * step, then each step against the one before. */
static void print_invariance(const show_ctx *c, const cx_rtable *t)
{
    static const char *const fit[] = {"npar",  "chisq", "df",  "pvalue", "cfi", "tli",
                                      "rmsea", "srmr",  "aic", "bic",    NULL};
    static const char *const fit_heads[] = {"npar", "Chisq", "Df",   "P(>Chisq)", "CFI",
                                            "TLI",  "RMSEA", "SRMR", "AIC",       "BIC"};
    static const char *const diff[] = {"chisq_diff", "df_diff",     "pvalue_diff", "rmsea_d",
                                       "delta_cfi",  "delta_rmsea", NULL};
    static const char *const diff_heads[] = {"Chisq diff", "Df diff",  "Pr(>Chisq)",
                                             "RMSEA.D",    "CFI diff", "RMSEA diff"};
    if (!cx_rb_column(t, "step", CX_RCOL_STRING) || !cx_rb_column(t, "chisq", CX_RCOL_DOUBLE)) {
        print_table(c->out, t, (size_t)-1);
        return;
    }
    /* ordered items' WLSMV: scaled fit and scaled-shifted differences */
    static const char *const sfit[] = {
        "npar",       "chisq_scaled", "df",           "pvalue_scaled",
        "cfi_scaled", "tli_scaled",   "rmsea_scaled", NULL};
    static const char *const sfit_heads[] = {
        "npar", "Chisq.scaled", "Df", "P(>Chisq)", "CFI.scaled", "TLI.scaled", "RMSEA.scaled"};
    static const char *const shdiff[] = {"chisq_diff",         "df_diff",    "pvalue_diff",
                                         "diff_scale",         "diff_shift", "delta_cfi_scaled",
                                         "delta_rmsea_scaled", NULL};
    static const char *const shdiff_heads[] = {"Chisq diff",       "Df diff", "Pr(>Chisq)",
                                               "scale a",          "shift b", "CFI.scaled diff",
                                               "RMSEA.scaled diff"};
    /* scaled (MLR, sampling weights) steps: lavTestLRT()'s Satorra-Bentler
     * (2001) differences, their scaling factor in place of the RMSEA */
    static const char *const sdiff[] = {"chisq_diff", "df_diff",     "pvalue_diff", "scaling_diff",
                                        "delta_cfi",  "delta_rmsea", NULL};
    static const char *const sdiff_heads[] = {"Chisq diff", "Df diff",  "Pr(>Chisq)",
                                              "Scaling",    "CFI diff", "RMSEA diff"};
    int shifted = cx_rb_column(t, "diff_scale", CX_RCOL_DOUBLE) != NULL;
    const cx_rcolumn *sc = cx_rb_column(t, "scaling_diff", CX_RCOL_DOUBLE);
    int scaled = 0;
    for (size_t i = 0; sc && i < t->nrows; i++)
        scaled |= !isnan(cx_rb_number(sc, i));
    print_invariance_block(c, t, "Measurement invariance, fit per step:", fit, fit_heads);
    if (shifted) {
        print_invariance_block(c, t, "Robust (scaled) fit per step:", sfit, sfit_heads);
        print_invariance_block(c, t,
                               "Scaled chi-squared difference tests (satorra.2000, scaled and "
                               "shifted):",
                               shdiff, shdiff_heads);
    } else if (scaled) {
        print_invariance_block(c, t,
                               "Scaled chi-squared difference tests (Satorra-Bentler 2001), each "
                               "step vs the one before:",
                               sdiff, sdiff_heads);
    } else {
        print_invariance_block(
            c, t, "Chi-squared difference tests (each step vs the one before):", diff, diff_heads);
    }
    const cx_rcolumn *eq = cx_rb_column(t, "group_equal", CX_RCOL_STRING);
    if (!eq)
        return;
    int width = 0;
    char label[700];
    for (size_t i = 0; i < t->nrows; i++) {
        invariance_label(t, i, &c->by, label, sizeof label);
        width = (int)strlen(label) > width ? (int)strlen(label) : width;
    }
    fprintf(c->out, "\n  Equal across groups, per step:\n");
    for (size_t i = 0; i < t->nrows; i++) {
        invariance_label(t, i, &c->by, label, sizeof label);
        fprintf(c->out, "    %-*s  %s\n", width, label,
                *cx_rb_string(eq, i) ? cx_rb_string(eq, i) : "(nothing)");
    }
}

/* ---- a job ----------------------------------------------------------------- */

#define SHOW_LEVELS_OVERVIEW 3

/* Estimates beyond means (`~1`) and derived numbers (`:=`): what a model
 * fitted.  An overview skips the others (describe's item means and nps's
 * definition repeat the job's own tables). */
static int has_model_parameters(const est_view *v)
{
    for (size_t i = 0; i < v->t->nrows; i++)
        if (strcmp(cx_rb_string(v->op, i), "~1") != 0 && strcmp(cx_rb_string(v->op, i), ":=") != 0)
            return 1;
    return 0;
}

/* Per `by` level: the model test, the estimates, the fit measures. */
static void print_model(const show_ctx *c, const cx_rtable *est, const cx_rtable *fit,
                        const char *fit_title)
{
    est_view v;
    fit_view f;
    int have_est = est && est_view_init(&v, est) && has_model_parameters(&v);
    int have_fit = fit_view_init(&f, fit);
    /* without model parameters (describe's means, nps's definition) the
     * estimates repeat the job's own tables: one plain table, levels as
     * columns, when the job is shown alone */
    if (est && (!v.lhs || (!have_est && !c->overview)))
        print_table(c->out, est, c->overview ? SHOW_ROWS_OVERVIEW : (size_t)-1);
    const cx_rtable *lt = have_est ? est : have_fit ? fit : NULL; /* whose levels to walk */
    size_t levels = 0;
    for (size_t row = 0; lt && row < lt->nrows; row++) {
        if (row > 0 && (!c->by.n || cx_rb_same_level(lt, &c->by, row - 1, row)))
            continue; /* not the first row of a level */
        if (c->overview && levels == SHOW_LEVELS_OVERVIEW) {
            fprintf(c->out, "\n  ... more levels (cxfit show FILE %s prints them all)\n", c->name);
            break;
        }
        levels++;
        if (c->by.n) {
            char level[512];
            cx_rb_level_label(lt, &c->by, row, level, sizeof level);
            double n = have_fit ? fit_at(&f, lt, row, &c->by, "ntotal") : NAN;
            fprintf(c->out, "\n-- level %s", level);
            if (!isnan(n))
                fprintf(c->out, " (%.0f observations)", n);
            fputs(" --\n", c->out);
        }
        if (have_fit)
            print_model_test(c->out, &f, lt, row, &c->by);
        if (have_est)
            print_estimates_level(c, &v, row);
        if (have_fit)
            print_fit_level(c, &f, lt, row, fit_title);
    }
}

/* Per-step tables of `invariance` (estimates_metric, fit_metric ...): the
 * first step is the job's model itself, printed above, so it is skipped. */
static int is_step_table(const cx_rtable *t)
{
    return strncmp(t->name, "estimates_", 10) == 0 || strncmp(t->name, "fit_", 4) == 0 ||
           strncmp(t->name, "modindices_", 11) == 0;
}

static void print_steps(const show_ctx *c, const cx_rtable *inv)
{
    const cx_rcolumn *step = cx_rb_column(inv, "step", CX_RCOL_STRING);
    if (!step || inv->nrows == 0)
        return;
    if (c->overview) {
        fputs("\n  per-step tables:", c->out);
        for (size_t t = 0; t < c->r->n_tables; t++)
            if (is_step_table(c->r->tables[t]))
                fprintf(c->out, " %s", c->r->tables[t]->name);
        fprintf(c->out, "\n  (cxfit show FILE %s prints them)\n", c->name);
        return;
    }
    for (size_t i = 1; i < inv->nrows; i++) {
        const char *name = cx_rb_string(step, i);
        int seen = strcmp(name, cx_rb_string(step, 0)) == 0;
        for (size_t k = 1; k < i && !seen; k++)
            seen = strcmp(name, cx_rb_string(step, k)) == 0;
        if (seen)
            continue; /* another level's row of the same step */
        char est[128], fit[128], mi[128], title[160];
        snprintf(est, sizeof est, "estimates_%s", name);
        snprintf(fit, sizeof fit, "fit_%s", name);
        snprintf(mi, sizeof mi, "modindices_%s", name);
        snprintf(title, sizeof title, "Fit, step %s", name);
        fprintf(c->out, "\n== step %s ==\n", name);
        print_model(c, cx_result_find_table(c->r, est), cx_result_find_table(c->r, fit), title);
        if (cx_result_find_table(c->r, mi))
            print_table(c->out, cx_result_find_table(c->r, mi), (size_t)-1);
    }
}

static void print_job(show_ctx *c, const char *model, const char *spec)
{
    const cx_result *r = c->r;
    cx_rb_by_columns(spec, &c->by);
    print_header(c, model, spec);
    const cx_rtable *steps = cx_result_find_table(r, "invariance");
    const cx_rcolumn *step = cx_rb_column(steps, "step", CX_RCOL_STRING);
    if (step && steps->nrows > 0)
        fprintf(c->out, "\n== step %s (the job's model) ==\n", cx_rb_string(step, 0));
    print_model(c, cx_result_find_table(r, "estimates"), cx_result_find_table(r, "fit"), "Fit");
    const cx_rtable *inv = NULL;
    for (size_t t = 0; t < r->n_tables; t++) {
        const cx_rtable *tab = r->tables[t];
        if (strcmp(tab->name, "estimates") == 0 || strcmp(tab->name, "fit") == 0 ||
            is_step_table(tab))
            continue;
        if (strcmp(tab->name, "invariance") == 0)
            inv = tab;
        else if (c->overview && tab->ncols > SHOW_COLS_OVERVIEW)
            fprintf(c->out, "\n  %s (%zu x %zu; cxfit show FILE %s prints it)\n", tab->name,
                    tab->nrows, tab->ncols, c->name);
        else
            print_table(c->out, tab, c->overview ? SHOW_ROWS_OVERVIEW : (size_t)-1);
    }
    if (inv) {
        print_invariance(c, inv);
        print_steps(c, inv);
    }
}

/* The job list, or an error naming the jobs there are when `job` is not
 * one of them (checked before anything is printed). */
static int find_job(const char *path, const char *job, const cx_stored_job *jobs, size_t n,
                    cx_error *err)
{
    if (!job)
        return CX_OK;
    for (size_t i = 0; i < n; i++)
        if (strcmp(job, jobs[i].name) == 0)
            return CX_OK;
    char list[512] = "";
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", jobs[i].name);
    }
    return cx_error_set(err, CX_EUSAGE, "%s: no job '%s' (jobs: %s)", path, job, list);
}

int cx_show(const char *path, const char *job, int all, FILE *out, cx_error *err)
{
    cx_stored_job *jobs;
    size_t n;
    if (cx_results_list_jobs(path, &jobs, &n, err))
        return err->code;
    int rc = find_job(path, job, jobs, n, err);
    if (rc != CX_OK) {
        cx_stored_jobs_free(jobs, n);
        return rc;
    }
    char *version = cx_results_root_attr(path, "cxfit_version", NULL);
    char *created = cx_results_root_attr(path, "created", NULL);
    fprintf(out, "cxfit %s results: %s (created %s, %zu job%s)\n", version ? version : "?", path,
            created ? created : "?", n, n == 1 ? "" : "s");
    free(version);
    free(created);
    for (size_t i = 0; i < n && rc == CX_OK; i++) {
        if (job && strcmp(job, jobs[i].name) != 0)
            continue;
        cx_result *r = cx_results_read_job(path, jobs[i].name, err);
        if (!r) {
            rc = err->code;
            break;
        }
        show_ctx c = {
            .out = out, .r = r, .name = jobs[i].name, .overview = job == NULL, .all = all};
        print_job(&c, jobs[i].model, jobs[i].spec);
        cx_result_free(r);
    }
    cx_stored_jobs_free(jobs, n);
    return rc;
}
