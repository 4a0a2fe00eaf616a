/*
 * report_families.c — the charts of each model family in `cxfit report`.
 *
 * One function per family, found by the job's `model` in `families[]`: a
 * new family adds its entry (model name, charts function, the tables it
 * shows open) and nothing else changes.  Families of the contract that have
 * not landed yet already have their entry where their charts are known:
 * efa (scree plot with parallel analysis from table `eigen`, loadings heat
 * map from table `loadings`), drivers (importance bars from table
 * `importance`) and the regressions (coefficient plot from the `~` rows of
 * `estimates`).  docs/REPORT.md lists the columns each chart reads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_charts.h"
#include "report_internal.h"
#include "svg.h"

/* ---- by levels ---------------------------------------------------------- */

const cx_rtable *report_level_slice(const cx_rtable *t, const cx_rb_by *by, size_t first,
                                    cx_result **holder)
{
    cx_error err = {0};
    *holder = cx_result_alloc(0.95, &err);
    cx_rtable *s = *holder ? cx_result_table(*holder, t->name, &err) : NULL;
    for (size_t j = 0; s && j < t->ncols; j++)
        if (cx_rtable_add_column(s, t->cols[j].name, t->cols[j].type, &err))
            s = NULL;
    for (size_t i = first; s && i < t->nrows; i++) {
        if (!cx_rb_same_level(t, by, i, first))
            continue;
        long row = cx_rtable_add_row(s, &err);
        if (row < 0 || cx_rtable_copy_cells(s, (size_t)row, t, i, &err))
            s = NULL;
    }
    return s;
}

/* First rows of the `by` levels of t (all rows are one level without by). */
static size_t level_starts(const cx_rtable *t, const cx_rb_by *by, size_t *starts, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nrows && n < max; i++) {
        int seen = 0;
        for (size_t k = 0; k < n && !seen; k++)
            seen = cx_rb_same_level(t, by, starts[k], i);
        if (!seen)
            starts[n++] = i;
    }
    return n;
}

/* "Item distributions (firm=firm01)": a caption with the level, if any. */
static void caption_for(char *buf, size_t size, const char *what, const cx_rtable *t,
                        const cx_rb_by *by, size_t row, const char *group)
{
    char level[512] = "";
    if (by->n)
        cx_rb_level_label(t, by, row, level, sizeof level);
    snprintf(buf, size, "%s%s%s%s%s%s", what, *level || group ? " (" : "", level,
             *level && group ? ", " : "", group ? group : "", *level || group ? ")" : "");
}

/* ---- chart callbacks ------------------------------------------------------ */

typedef struct est_arg {
    const cx_rtable *t;
    long long group;
} est_arg;

static size_t draw_loadings(FILE *out, const void *a)
{
    const est_arg *e = a;
    return chart_loadings(out, e->t, e->group);
}

static size_t draw_path(FILE *out, const void *a)
{
    const est_arg *e = a;
    return chart_path(out, e->t, e->group);
}

/* Coefficient plot of the `y ~ x` rows (est with its CI). */
static size_t draw_regressions(FILE *out, const void *a)
{
    const est_arg *e = a;
    const cx_rtable *t = e->t;
    const cx_rcolumn *lhs = cx_rb_column(t, "lhs", CX_RCOL_STRING),
                     *op = cx_rb_column(t, "op", CX_RCOL_STRING),
                     *rhs = cx_rb_column(t, "rhs", CX_RCOL_STRING),
                     *est = cx_rb_column(t, "est", CX_RCOL_DOUBLE),
                     *lo = cx_rb_column(t, "ci_lower", CX_RCOL_DOUBLE),
                     *hi = cx_rb_column(t, "ci_upper", CX_RCOL_DOUBLE), *grp = cx_rb_group_column(t);
    if (!lhs || !op || !rhs || !est || t->nrows == 0)
        return 0;
    char **labels = calloc(t->nrows, sizeof *labels);
    double *v = malloc(3 * t->nrows * sizeof *v);
    size_t n = 0, drawn = 0;
    for (size_t i = 0; labels && v && i < t->nrows; i++) {
        if (strcmp(cx_rb_string(op, i), "~") != 0 ||
            (grp && cx_rb_number(grp, i) != (double)e->group))
            continue;
        size_t len = strlen(cx_rb_string(lhs, i)) + strlen(cx_rb_string(rhs, i)) + 4;
        if (!(labels[n] = malloc(len)))
            break;
        snprintf(labels[n], len, "%s ~ %s", cx_rb_string(lhs, i), cx_rb_string(rhs, i));
        v[n] = est->d[i];
        v[t->nrows + n] = lo ? lo->d[i] : NAN;
        v[2 * t->nrows + n] = hi ? hi->d[i] : NAN;
        n++;
    }
    if (n > 0)
        drawn = chart_coefs(out, "Regression coefficients", (const char *const *)labels, v,
                            v + t->nrows, v + 2 * t->nrows, n);
    for (size_t i = 0; labels && i < n; i++)
        free(labels[i]);
    free(labels);
    free(v);
    return drawn;
}

/* A wide table (a string column `label`, then number columns) as a heat
 * map: correlations, EFA loadings. */
typedef struct wide_arg {
    const cx_rtable *t;
    const char *label;
    const char *title;
} wide_arg;

static size_t draw_wide(FILE *out, const void *a)
{
    const wide_arg *w = a;
    const cx_rtable *t = w->t;
    const cx_rcolumn *label = cx_rb_column(t, w->label, CX_RCOL_STRING);
    if (!label || t->nrows == 0 || t->ncols < 2)
        return 0;
    const char **rows = malloc(t->nrows * sizeof *rows);
    const char **cols = malloc(t->ncols * sizeof *cols);
    double *m = malloc(t->nrows * t->ncols * sizeof *m);
    size_t nc = 0, drawn = 0;
    for (size_t j = 0; rows && cols && m && j < t->ncols; j++)
        if (t->cols[j].type == CX_RCOL_DOUBLE)
            cols[nc++] = t->cols[j].name;
    for (size_t i = 0; rows && cols && m && nc && i < t->nrows; i++) {
        rows[i] = cx_rb_string(label, i);
        for (size_t k = 0; k < nc; k++)
            m[i * nc + k] = cx_rb_column(t, cols[k], CX_RCOL_DOUBLE)->d[i];
    }
    if (rows && cols && m && nc)
        drawn = chart_heatmap(out, w->title, (const char *const *)rows, t->nrows,
                              (const char *const *)cols, nc, m);
    free(rows);
    free(cols);
    free(m);
    return drawn;
}

static size_t draw_distributions(FILE *out, const void *a)
{
    return chart_distributions(out, a);
}

/* ---- describe --------------------------------------------------------------- */

static void describe_charts(FILE *out, const cx_report_job *job, const cx_rb_by *by)
{
    const cx_rtable *freq = cx_result_find_table(job->result, "frequencies");
    if (freq)
        report_figure(out,
                      by->n ? "Item distributions (all levels together; % of answers per value)"
                            : "Item distributions (% of answers per value)",
                      draw_distributions, freq);
    const cx_rtable *cor = cx_result_find_table(job->result, "correlations");
    size_t starts[REPORT_MAX_LEVELS];
    size_t n = cor ? level_starts(cor, by, starts, REPORT_MAX_LEVELS) : 0;
    for (size_t l = 0; l < n; l++) {
        cx_result *holder = NULL;
        const cx_rtable *slice = by->n ? report_level_slice(cor, by, starts[l], &holder) : cor;
        wide_arg w = {slice, "item", "Correlations"};
        char caption[700];
        caption_for(caption, sizeof caption, "Correlations", cor, by, starts[l], NULL);
        if (slice)
            report_figure(out, caption, draw_wide, &w);
        cx_result_free(holder);
    }
}

/* ---- nps -------------------------------------------------------------------- */

/* The `by` column that is time: a number column named like time, else the
 * last number column; -1 when none. */
static int time_column(const cx_rtable *t, const cx_rb_by *by)
{
    static const char *const names[] = {"wave", "time", "year", "period", "month", "quarter",
                                        "week", "date", NULL};
    int last = -1;
    for (size_t k = 0; k < by->n; k++) {
        int j = cx_rtable_find_column(t, by->names[k]);
        if (j < 0 || !cx_rb_is_number(&t->cols[j]))
            continue;
        for (size_t m = 0; names[m]; m++)
            if (strcmp(by->names[k], names[m]) == 0)
                return (int)k;
        last = (int)k;
    }
    return last;
}

typedef struct line_arg {
    const char *title, *xlabel;
    const double *x, *y, *lo, *hi;
    size_t n;
    double ymin, ymax;
} line_arg;

static size_t draw_line(FILE *out, const void *a)
{
    const line_arg *l = a;
    return chart_line_ci(out, l->title, l->xlabel, l->x, l->y, l->lo, l->hi, l->n, l->ymin,
                         l->ymax);
}

typedef struct coef_arg {
    const char *title;
    const char *const *labels;
    const double *est, *lo, *hi;
    size_t n;
} coef_arg;

static size_t draw_coefs(FILE *out, const void *a)
{
    const coef_arg *c = a;
    return chart_coefs(out, c->title, c->labels, c->est, c->lo, c->hi, c->n);
}

#define NPS_MAX_SERIES 60

/* One panel per series (the other `by` columns), NPS over time with its CI. */
static void nps_panels(FILE *out, const cx_rtable *t, const cx_rb_by *by, int tk)
{
    const cx_rcolumn *x = &t->cols[cx_rtable_find_column(t, by->names[tk])];
    const cx_rcolumn *y = cx_rb_column(t, "nps", CX_RCOL_DOUBLE),
                     *lo = cx_rb_column(t, "ci_lower", CX_RCOL_DOUBLE),
                     *hi = cx_rb_column(t, "ci_upper", CX_RCOL_DOUBLE);
    cx_rb_by series = {0};
    for (size_t k = 0; k < by->n; k++)
        if ((int)k != tk)
            series.names[series.n++] = by->names[k];
    double *v = malloc(4 * t->nrows * sizeof *v);
    size_t starts[NPS_MAX_SERIES];
    size_t ns = v ? level_starts(t, &series, starts, NPS_MAX_SERIES) : 0;
    double ymin = 0, ymax = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        double a = lo ? lo->d[i] : y->d[i], b = hi ? hi->d[i] : y->d[i];
        ymin = isfinite(a) ? fmin(ymin, fmax(a, -100)) : ymin;
        ymax = isfinite(b) ? fmax(ymax, fmin(b, 100)) : ymax;
    }
    fputs("<div class=\"panels\">\n", out);
    for (size_t s = 0; s < ns; s++) {
        size_t n = 0;
        for (size_t i = starts[s]; i < t->nrows; i++) {
            if (!cx_rb_same_level(t, &series, i, starts[s]))
                continue;
            size_t k = n++; /* insertion by time */
            double xi = cx_rb_number(x, i);
            while (k > 0 && v[k - 1] > xi) {
                for (int c = 0; c < 4; c++)
                    v[c * t->nrows + k] = v[c * t->nrows + k - 1];
                k--;
            }
            v[k] = xi;
            v[t->nrows + k] = y->d[i];
            v[2 * t->nrows + k] = lo ? lo->d[i] : NAN;
            v[3 * t->nrows + k] = hi ? hi->d[i] : NAN;
        }
        char title[512] = "NPS";
        if (series.n)
            cx_rb_level_label(t, &series, starts[s], title, sizeof title);
        line_arg l = {title, by->names[tk], v, v + t->nrows, v + 2 * t->nrows,
                      v + 3 * t->nrows, n, ymin, ymax};
        report_figure(out, "", draw_line, &l);
    }
    fputs("</div>\n", out);
    if (ns == NPS_MAX_SERIES)
        report_note(out, "Only the first 60 series are drawn; the table has them all.");
    free(v);
}

static void nps_charts(FILE *out, const cx_report_job *job, const cx_rb_by *by)
{
    const cx_rtable *t = cx_result_find_table(job->result, "nps");
    if (!t || !cx_rb_column(t, "nps", CX_RCOL_DOUBLE))
        return;
    int tk = time_column(t, by);
    if (tk >= 0) {
        fputs("<h3>NPS over time, with its confidence interval</h3>\n", out);
        nps_panels(out, t, by, tk);
        return;
    }
    /* no time: one dot and CI per level */
    size_t n = t->nrows < NPS_MAX_SERIES ? t->nrows : NPS_MAX_SERIES;
    char **labels = calloc(n ? n : 1, sizeof *labels);
    for (size_t i = 0; labels && i < n; i++)
        if ((labels[i] = malloc(512)) != NULL) {
            cx_rb_level_label(t, by, i, labels[i], 512);
            if (!labels[i][0])
                snprintf(labels[i], 512, "all");
        }
    const cx_rcolumn *lo = cx_rb_column(t, "ci_lower", CX_RCOL_DOUBLE),
                     *hi = cx_rb_column(t, "ci_upper", CX_RCOL_DOUBLE);
    coef_arg c = {"NPS", (const char *const *)labels, cx_rb_column(t, "nps", CX_RCOL_DOUBLE)->d,
                  lo ? lo->d : NULL, hi ? hi->d : NULL, n};
    int ok = labels != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = labels[i] != NULL;
    if (ok)
        report_figure(out, "NPS with its confidence interval", draw_coefs, &c);
    for (size_t i = 0; labels && i < n; i++)
        free(labels[i]);
    free(labels);
}

/* ---- cfa, sem, growth --------------------------------------------------------- */

/* Group numbers in an estimates table (0 when single-group), in order. */
static size_t groups_of(const cx_rtable *t, long long *groups, size_t max)
{
    const cx_rcolumn *g = cx_rb_group_column(t);
    size_t n = 0;
    if (!g) {
        groups[0] = 0;
        return 1;
    }
    for (size_t i = 0; i < t->nrows && n < max; i++) {
        double v = cx_rb_number(g, i);
        int seen = !isfinite(v) || fabs(v) >= 0x1p62; /* no overflow on a forged value */
        for (size_t k = 0; k < n && !seen; k++)
            seen = (double)groups[k] == v;
        if (!seen)
            groups[n++] = (long long)v;
    }
    return n;
}

static void sem_level_charts(FILE *out, const cx_report_job *job, const cx_rtable *est,
                             const cx_rtable *full, const cx_rb_by *by, size_t row)
{
    long long groups[REPORT_MAX_LEVELS];
    size_t ng = groups_of(est, groups, REPORT_MAX_LEVELS);
    for (size_t k = 0; k < ng; k++) {
        char group[300] = "", caption[900];
        const char *label = groups[k] > 0 ? cx_rb_group_label(job->result, groups[k]) : NULL;
        if (groups[k] > 0)
            snprintf(group, sizeof group, "Group %lld%s%s%s", groups[k], label ? " [" : "",
                     label ? label : "", label ? "]" : "");
        est_arg e = {est, groups[k]};
        caption_for(caption, sizeof caption, "Path diagram, standardized estimates (std_all)",
                    full, by, row, *group ? group : NULL);
        report_figure(out, caption, draw_path, &e);
        caption_for(caption, sizeof caption, "Loadings heat map (std_all)", full, by, row,
                    *group ? group : NULL);
        report_figure(out, caption, draw_loadings, &e);
        caption_for(caption, sizeof caption,
                    "Regression coefficients (unstandardized) with confidence intervals", full, by,
                    row, *group ? group : NULL);
        report_figure(out, caption, draw_regressions, &e);
    }
}

/* The invariance fit table: per step its fit, then the difference test
 * against the step before (lavTestLRT's columns; no cut-offs applied). */
static void invariance_table(FILE *out, const cx_rtable *t, const cx_rb_by *by)
{
    static const char *const cols[] = {"npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea",
                                       "srmr", "chisq_diff", "df_diff", "pvalue_diff",
                                       "delta_cfi", "delta_rmsea"};
    static const char *const heads[] = {"npar", "&#967;&#178;", "df", "p", "CFI", "TLI", "RMSEA",
                                        "SRMR", "&#916;&#967;&#178;", "&#916;df", "p(&#916;&#967;&#178;)",
                                        "&#916;CFI", "&#916;RMSEA"};
    const size_t n = sizeof cols / sizeof cols[0];
    const cx_rcolumn *step = cx_rb_column(t, "step", CX_RCOL_STRING);
    const cx_rcolumn *eq = cx_rb_column(t, "group_equal", CX_RCOL_STRING);
    if (!step)
        return;
    fputs("<h3>Measurement invariance</h3>\n<div class=\"scroll\"><table><thead><tr>"
          "<th>Step</th><th>Equal across groups</th>", out);
    for (size_t k = 0; k < n; k++)
        fprintf(out, "<th class=\"num\">%s</th>", heads[k]);
    fputs("</tr></thead><tbody>\n", out);
    for (size_t i = 0; i < t->nrows; i++) {
        char level[512] = "";
        if (by->n)
            cx_rb_level_label(t, by, i, level, sizeof level);
        fputs("<tr><td>", out);
        cx_xml_text(out, level);
        fputs(*level ? " " : "", out);
        cx_xml_text(out, cx_rb_string(step, i));
        fputs("</td><td>", out);
        cx_xml_text(out, eq ? cx_rb_string(eq, i) : "");
        fputs("</td>", out);
        for (size_t k = 0; k < n; k++) {
            double v = cx_rb_number(cx_rb_column(t, cols[k], CX_RCOL_DOUBLE), i);
            int whole = strcmp(cols[k], "npar") == 0 || strncmp(cols[k], "df", 2) == 0;
            if (!isfinite(v))
                fputs("<td class=\"num\"></td>", out);
            else
                fprintf(out, "<td class=\"num\">%.*f</td>", whole ? 0 : 3, v);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table></div>\n", out);
}

static void sem_charts(FILE *out, const cx_report_job *job, const cx_rb_by *by)
{
    const cx_rtable *inv = cx_result_find_table(job->result, "invariance");
    if (inv) {
        invariance_table(out, inv, by);
        report_note(out, "The charts show the first step, the job's model; every step's "
                         "estimates are in the per-step tables.");
    }
    const cx_rtable *est = cx_result_find_table(job->result, "estimates");
    if (!est)
        return;
    size_t starts[REPORT_MAX_LEVELS];
    size_t n = level_starts(est, by, starts, REPORT_MAX_LEVELS);
    for (size_t l = 0; l < n; l++) {
        cx_result *holder = NULL;
        const cx_rtable *slice = by->n ? report_level_slice(est, by, starts[l], &holder) : est;
        if (slice)
            sem_level_charts(out, job, slice, est, by, starts[l]);
        cx_result_free(holder);
    }
    if (n == REPORT_MAX_LEVELS)
        report_note(out, "Charts are drawn for the first 12 levels; the tables have them all.");
}

/* ---- families not built yet: their charts are ready for the tables the
 * contract names (docs/REPORT.md) ------------------------------------------- */

typedef struct scree_arg {
    const double *eigen, *parallel;
    size_t n;
} scree_arg;

static size_t draw_scree(FILE *out, const void *a)
{
    const scree_arg *s = a;
    return chart_scree(out, s->eigen, s->parallel, s->n);
}

/* efa: table `eigen` (number columns `eigenvalue` and, with parallel
 * analysis, `parallel`), table `loadings` (column `item`, one per factor). */
static void efa_charts(FILE *out, const cx_report_job *job, const cx_rb_by *by)
{
    (void)by;
    const cx_rtable *eigen = cx_result_find_table(job->result, "eigen");
    const cx_rcolumn *ev = cx_rb_column(eigen, "eigenvalue", CX_RCOL_DOUBLE);
    const cx_rcolumn *pa = cx_rb_column(eigen, "parallel", CX_RCOL_DOUBLE);
    if (ev) {
        scree_arg s = {ev->d, pa ? pa->d : NULL, eigen->nrows};
        report_figure(out, "Scree plot with parallel analysis", draw_scree, &s);
    }
    wide_arg w = {cx_result_find_table(job->result, "loadings"), "item", "Loadings"};
    if (w.t)
        report_figure(out, "Loadings heat map", draw_wide, &w);
}

typedef struct bars_arg {
    const char *const *labels;
    const double *values;
    size_t n;
} bars_arg;

static size_t draw_bars(FILE *out, const void *a)
{
    const bars_arg *b = a;
    return chart_bars(out, "Driver importance", b->labels, b->values, b->n);
}

/* drivers: table `drivers` (column `driver`, the LMG share of R^2 `lmg`),
 * then the coefficient plot of its estimates. */
static void drivers_charts(FILE *out, const cx_report_job *job, const cx_rb_by *by)
{
    (void)by;
    const cx_rtable *t = cx_result_find_table(job->result, "drivers");
    const cx_rcolumn *d = cx_rb_column(t, "driver", CX_RCOL_STRING);
    const cx_rcolumn *v = cx_rb_column(t, "lmg", CX_RCOL_DOUBLE);
    if (d && v) {
        bars_arg b = {(const char *const *)d->s, v->d, t->nrows};
        report_figure(out, "Driver importance", draw_bars, &b);
    }
    est_arg e = {cx_result_find_table(job->result, "estimates"), 0};
    if (e.t)
        report_figure(out, "Coefficients with confidence intervals", draw_regressions, &e);
}

/* ols, logit, ologit, mlogit, panel, mixed: the `y ~ x` rows of estimates. */
static void regression_charts(FILE *out, const cx_report_job *job, const cx_rb_by *by)
{
    (void)by;
    est_arg e = {cx_result_find_table(job->result, "estimates"), 0};
    if (e.t)
        report_figure(out, "Coefficients with confidence intervals", draw_regressions, &e);
}

/* ---- the dispatch ------------------------------------------------------------- */

static const struct family {
    const char *model;
    report_charts_fn charts;
    const char *open[3]; /* tables shown unfolded */
} families[] = {
    {"describe", describe_charts, {"items"}},
    {"nps", nps_charts, {"nps"}},
    {"cfa", sem_charts, {"estimates"}},
    {"sem", sem_charts, {"estimates"}},
    {"growth", sem_charts, {"estimates"}},
    {"efa", efa_charts, {"loadings", "eigen"}},
    {"reliability", NULL, {"reliability", "validity", "htmt"}}, /* tables only */
    {"drivers", drivers_charts, {"drivers", "estimates"}},
    {"gap", NULL, {"gap"}},
    {"ols", regression_charts, {"estimates"}},
    {"logit", regression_charts, {"estimates", "confusion"}},
    {"ologit", regression_charts, {"estimates"}},
    {"mlogit", regression_charts, {"estimates"}},
    {"panel", regression_charts, {"estimates", "tests", "compare"}},
    {"mixed", regression_charts, {"estimates"}},
};

static const struct family *family_of(const char *model)
{
    for (size_t k = 0; model && k < sizeof families / sizeof families[0]; k++)
        if (strcmp(families[k].model, model) == 0)
            return &families[k];
    return NULL;
}

report_charts_fn report_family_charts(const char *model)
{
    const struct family *f = family_of(model);
    return f ? f->charts : NULL;
}

int report_table_open(const char *model, const char *table)
{
    const struct family *f = family_of(model);
    if (!f)
        return strcmp(table, "estimates") == 0;
    for (size_t k = 0; k < 3 && f->open[k]; k++)
        if (strcmp(f->open[k], table) == 0)
            return 1;
    return 0;
}
