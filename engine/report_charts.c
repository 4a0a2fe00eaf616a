/*
 * report_charts.c — the report's charts (see report_charts.h), all but the
 * path diagram (report_path.c).
 *
 * Sizes are in SVG user units; the page scales each <svg> to its column
 * width (viewBox), so the same drawing serves a phone, a screen and print.
 * Text widths are estimated (about 6.5 units per character at the 11-unit
 * font of the style sheet) to size label columns so that no label is cut.
 */
#include "report_charts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "readback.h"
#include "report_chart_util.h"
#include "svg.h"

#define CHAR_W 7.0
#define MAX_LABEL_W 320.0

/* ---- shared pieces ------------------------------------------------------- */

/* A data range mapped onto a pixel range. */
typedef struct axis {
    double lo, hi; /* data */
    double p0, p1; /* pixels */
} axis;

static double ax(const axis *a, double v)
{
    return a->hi > a->lo ? a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0)
                         : (a->p0 + a->p1) / 2;
}

/* Round tick values (1, 2, 5 x 10^k) covering [lo, hi]; widens the range
 * to whole ticks.  Returns the count (at most max). */
static size_t nice_ticks(axis *a, double *ticks, size_t max)
{
    static const double mult[] = {1, 2, 2.5, 5, 10, 20};
    double range = a->hi - a->lo;
    if (!(range > 0) || !isfinite(range)) {
        a->lo -= 1;
        a->hi += 1;
        range = 2;
    }
    double base = pow(10, floor(log10(range / (double)(max - 1)))), step = base;
    for (size_t k = 0; k < sizeof mult / sizeof mult[0]; k++) {
        step = base * mult[k];
        if (ceil(a->hi / step) - floor(a->lo / step) <= (double)(max - 1))
            break;
    }
    a->lo = floor(a->lo / step) * step;
    a->hi = ceil(a->hi / step) * step;
    size_t n = 0;
    for (double t = a->lo; t <= a->hi + step / 2 && n < max; t += step)
        ticks[n++] = fabs(t) < step / 1e6 ? 0 : t;
    return n;
}

static int decimals_for(const double *ticks, size_t n)
{
    double step = n > 1 ? ticks[1] - ticks[0] : 1;
    return step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
}

/* Vertical grid lines with labels below, for a horizontal value axis. */
static void x_grid(FILE *out, const axis *a, const double *ticks, size_t n, double top,
                   double bottom)
{
    int dec = decimals_for(ticks, n);
    for (size_t k = 0; k < n; k++) {
        double x = ax(a, ticks[k]);
        svg_line(out, x, top, x, bottom, ticks[k] == 0 ? "zero" : "grid");
        svg_number(out, x, bottom + 13, SVG_MIDDLE, "tick", ticks[k], dec);
    }
}

static void y_grid(FILE *out, const axis *a, const double *ticks, size_t n, double left,
                   double right)
{
    int dec = decimals_for(ticks, n);
    for (size_t k = 0; k < n; k++) {
        double y = ax(a, ticks[k]);
        svg_line(out, left, y, right, y, ticks[k] == 0 ? "zero" : "grid");
        svg_number(out, left - 4, y + 4, SVG_END, "tick", ticks[k], dec);
    }
}

static double label_width(const char *const *labels, size_t n)
{
    size_t longest = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = labels[i] ? strlen(labels[i]) : 0;
        longest = len > longest ? len : longest;
    }
    double w = (double)longest * CHAR_W + 16;
    return w < 60 ? 60 : w > MAX_LABEL_W ? MAX_LABEL_W : w;
}

/* Index of `s` in names[0..n-1], or -1. */
static long find_name(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (long)i;
    return -1;
}

/* ---- item distributions ---------------------------------------------------- */

#define DIST_MAX_VALUES 11

static const cx_rcolumn *number_column(const cx_rtable *t, const char *name)
{
    const cx_rcolumn *c = cx_rb_column(t, name, CX_RCOL_DOUBLE);
    return c ? c : cx_rb_column(t, name, CX_RCOL_INT);
}

/* One item's answers: its distinct values (sorted) and their counts. */
typedef struct item_dist {
    const char *name;
    double values[DIST_MAX_VALUES + 1];
    double counts[DIST_MAX_VALUES + 1];
    size_t n; /* > DIST_MAX_VALUES: too many values to draw */
    long block; /* first item with the same values (one legend per scale) */
} item_dist;

static long value_index(const item_dist *d, double v)
{
    for (size_t k = 0; k < d->n && k <= DIST_MAX_VALUES; k++)
        if (d->values[k] == v)
            return (long)k;
    return -1;
}

static void add_value(item_dist *d, double v)
{
    if (d->n > DIST_MAX_VALUES || value_index(d, v) >= 0)
        return;
    size_t k = 0;
    while (k < d->n && d->values[k] < v)
        k++;
    memmove(d->values + k + 1, d->values + k, (d->n - k) * sizeof *d->values);
    d->values[k] = v;
    d->n++;
}

/* Items in table order with their values and counts (all `by` levels added). */
static size_t item_dists(const cx_rtable *freq, const cx_rcolumn *item, const cx_rcolumn *value,
                         const cx_rcolumn *count, item_dist *d)
{
    size_t ni = 0;
    for (size_t i = 0; i < freq->nrows; i++) {
        size_t k = 0;
        while (k < ni && strcmp(d[k].name, cx_rb_string(item, i)) != 0)
            k++;
        if (k == ni)
            d[ni++] = (item_dist){.name = cx_rb_string(item, i)};
        if (isfinite(cx_rb_number(value, i)))
            add_value(&d[k], cx_rb_number(value, i));
    }
    for (size_t i = 0; i < freq->nrows; i++) {
        size_t k = 0;
        while (strcmp(d[k].name, cx_rb_string(item, i)) != 0)
            k++;
        long j = value_index(&d[k], cx_rb_number(value, i));
        double c = cx_rb_number(count, i);
        if (j >= 0 && isfinite(c) && c > 0 && d[k].n <= DIST_MAX_VALUES)
            d[k].counts[j] += c;
    }
    for (size_t k = 0; k < ni; k++) {
        d[k].block = (long)k;
        for (size_t m = 0; m < k && d[k].block == (long)k; m++)
            if (d[m].n == d[k].n && memcmp(d[m].values, d[k].values, d[k].n * sizeof(double)) == 0)
                d[k].block = d[m].block;
    }
    return ni;
}

static void distribution_legend(FILE *out, const item_dist *d, double x0, double y)
{
    double x = x0;
    for (size_t k = 0; k < d->n; k++) {
        char colour[8], label[32];
        svg_ordinal(k, d->n, colour);
        svg_rect(out, x, y + 6, 12, 12, "swatch", colour);
        snprintf(label, sizeof label, "%g", d->values[k]);
        svg_text(out, x + 15, y + 16, SVG_START, "tick", label);
        x += 22 + (double)strlen(label) * CHAR_W;
    }
}

static void distribution_bar(FILE *out, const item_dist *d, const axis *a, double y, double row)
{
    double total = 0, cum = 0;
    for (size_t j = 0; j < d->n; j++)
        total += d->counts[j];
    svg_text(out, a->p0 - 6, y + 14, SVG_END, "label", d->name);
    for (size_t j = 0; j < d->n && total > 0; j++) {
        double pct = 100 * d->counts[j] / total;
        char colour[8], tip[160];
        svg_ordinal(j, d->n, colour);
        snprintf(tip, sizeof tip, "%g: %.0f (%.1f%%)", d->values[j], d->counts[j], pct);
        svg_group_begin(out, tip);
        svg_rect(out, ax(a, cum), y + 2, ax(a, cum + pct) - ax(a, cum), row - 5, "seg", colour);
        if (pct >= 7)
            svg_number(out, ax(a, cum + pct / 2), y + 14, SVG_MIDDLE, "inbar", pct, 0);
        svg_group_end(out);
        cum += pct;
    }
}

size_t chart_distributions(FILE *out, const cx_rtable *freq)
{
    const cx_rcolumn *item = cx_rb_column(freq, "item", CX_RCOL_STRING);
    const cx_rcolumn *value = number_column(freq, "value"), *count = number_column(freq, "count");
    if (!item || !value || !count || freq->nrows == 0)
        return 0;
    item_dist *d = calloc(freq->nrows, sizeof *d);
    if (!d)
        return 0;
    size_t ni = item_dists(freq, item, value, count, d), drawn = 0, blocks = 0;
    const char **names = malloc(ni * sizeof *names);
    for (size_t k = 0; k < ni; k++) {
        names[k] = d[k].name;
        drawn += d[k].n > 0 && d[k].n <= DIST_MAX_VALUES;
        blocks += d[k].block == (long)k && d[k].n > 0 && d[k].n <= DIST_MAX_VALUES;
    }
    if (drawn && names) {
        double lw = label_width(names, ni), row = 22, y = 0, ticks[] = {0, 25, 50, 75, 100};
        axis a = {0, 100, lw, lw + 520};
        svg_begin(out, a.p1 + 10, (double)blocks * 46 + (double)drawn * row,
                  "Item distributions");
        for (size_t b = 0; b < ni; b++) { /* one block per answer scale */
            if (d[b].block != (long)b || d[b].n == 0 || d[b].n > DIST_MAX_VALUES)
                continue;
            distribution_legend(out, &d[b], a.p0, y);
            size_t rows = 0;
            for (size_t k = b; k < ni; k++)
                rows += d[k].block == (long)b;
            y += 24;
            x_grid(out, &a, ticks, 5, y, y + (double)rows * row);
            for (size_t k = b; k < ni; k++)
                if (d[k].block == (long)b) {
                    distribution_bar(out, &d[k], &a, y, row);
                    y += row;
                }
            y += 22;
        }
        svg_end(out);
    }
    free(names);
    free(d);
    return names ? drawn : 0;
}

/* ---- estimates: loadings and the path diagram ------------------------------ */

size_t chart_heatmap(FILE *out, const char *title, const char *const *rows, size_t nr,
                     const char *const *cols, size_t nc, const double *values)
{
    if (nr == 0 || nc == 0)
        return 0;
    double lw = label_width(rows, nr), cw = label_width(cols, nc), top = 26, rh = 22;
    size_t marks = 0;
    svg_begin(out, lw + (double)nc * cw + 10, top + (double)nr * rh + 8, title);
    for (size_t f = 0; f < nc; f++)
        svg_text(out, lw + ((double)f + 0.5) * cw, top - 8, SVG_MIDDLE, "label", cols[f]);
    for (size_t k = 0; k < nr; k++) {
        double y = top + (double)k * rh;
        svg_text(out, lw - 6, y + 15, SVG_END, "label", rows[k]);
        for (size_t f = 0; f < nc; f++) {
            double v = values[k * nc + f], x = lw + (double)f * cw;
            if (!isfinite(v)) {
                svg_rect(out, x + 1, y + 1, cw - 2, rh - 2, "cell-empty", NULL);
                continue;
            }
            char colour[8], tip[256];
            svg_diverging(v, colour);
            snprintf(tip, sizeof tip, "%s, %s: %.3f", rows[k], cols[f], v);
            svg_group_begin(out, tip);
            svg_rect(out, x + 1, y + 1, cw - 2, rh - 2, "cell", colour);
            svg_number(out, x + cw / 2, y + 15, SVG_MIDDLE,
                       fabs(v) > 0.6 ? "incell-dark" : "incell", v, 2);
            svg_group_end(out);
            marks++;
        }
    }
    svg_end(out);
    return marks;
}

size_t chart_loadings(FILE *out, const cx_rtable *est, long long group)
{
    est_cols c;
    if (!est_columns(est, &c) || est->nrows == 0)
        return 0;
    const char **factors = malloc(est->nrows * sizeof *factors);
    const char **items = malloc(est->nrows * sizeof *items);
    double *m = NULL;
    size_t nf = 0, ni = 0, marks = 0;
    for (size_t i = 0; factors && items && i < est->nrows; i++) {
        if (!row_is(&c, i, "=~", group))
            continue;
        if (find_name(factors, nf, cx_rb_string(c.lhs, i)) < 0)
            factors[nf++] = cx_rb_string(c.lhs, i);
        if (find_name(items, ni, cx_rb_string(c.rhs, i)) < 0)
            items[ni++] = cx_rb_string(c.rhs, i);
    }
    if (nf > 0 && ni > 0 && (m = malloc(nf * ni * sizeof *m)) != NULL) {
        for (size_t k = 0; k < nf * ni; k++)
            m[k] = NAN;
        for (size_t i = 0; i < est->nrows; i++)
            if (row_is(&c, i, "=~", group))
                m[(size_t)find_name(items, ni, cx_rb_string(c.rhs, i)) * nf +
                  (size_t)find_name(factors, nf, cx_rb_string(c.lhs, i))] = std_value(&c, i);
        marks = chart_heatmap(out, "Standardized loadings (std_all)", items, ni, factors, nf, m);
    }
    free(m);
    free(factors);
    free(items);
    return marks;
}

/* ---- coefficient plots, lines with CIs, scree, bars ----------------------- */

/* Charts of one row per label (coefficients, bars): rows of ROW_CHART_ROW
 * pixels below a margin of ROW_CHART_TOP. */
enum { ROW_CHART_ROW = 20, ROW_CHART_TOP = 8 };

/* Open a chart of n labelled rows over the data range of a: the labels'
 * column, then a 420-pixel x axis with its grid.  Returns the labels'
 * width (where the axis starts). */
static double begin_row_chart(FILE *out, const char *title, const char *const *labels, size_t n,
                              axis *a)
{
    double ticks[12], lw = label_width(labels, n), top = ROW_CHART_TOP;
    size_t nt = nice_ticks(a, ticks, 8);
    a->p0 = lw;
    a->p1 = lw + 420;
    double bottom = top + (double)n * ROW_CHART_ROW;
    svg_begin(out, a->p1 + 16, bottom + 22, title);
    x_grid(out, a, ticks, nt, top, bottom);
    return lw;
}

size_t chart_coefs(FILE *out, const char *title, const char *const *labels, const double *est,
                   const double *lo, const double *hi, size_t n)
{
    axis a = {0, 0, 0, 0};
    size_t drawn = 0;
    for (size_t i = 0; i < n; i++) {
        const double v[3] = {est[i], lo ? lo[i] : NAN, hi ? hi[i] : NAN};
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k])) {
                a.lo = fmin(a.lo, v[k]);
                a.hi = fmax(a.hi, v[k]);
            }
        drawn += isfinite(est[i]);
    }
    if (drawn == 0)
        return 0;
    double lw = begin_row_chart(out, title, labels, n, &a), row = ROW_CHART_ROW,
           top = ROW_CHART_TOP;
    for (size_t i = 0; i < n; i++) {
        double y = top + ((double)i + 0.5) * row;
        char tip[256], a1[32], a2[32], a3[32];
        snprintf(tip, sizeof tip, "%s: %s [%s, %s]", labels[i], num_text(est[i], 3, a1),
                 num_text(lo ? lo[i] : NAN, 3, a2), num_text(hi ? hi[i] : NAN, 3, a3));
        svg_text(out, lw - 6, y + 4, SVG_END, "label", labels[i]);
        svg_group_begin(out, tip);
        if (lo && hi)
            svg_line(out, ax(&a, lo[i]), y, ax(&a, hi[i]), y, "whisker");
        svg_circle(out, ax(&a, est[i]), y, 4, "dot");
        svg_group_end(out);
    }
    svg_end(out);
    return drawn;
}

size_t chart_line_ci(FILE *out, const char *title, const char *xlabel, const double *x,
                     const double *y, const double *lo, const double *hi, size_t n, double ymin,
                     double ymax)
{
    axis ax_x = {INFINITY, -INFINITY, 44, 300}, ax_y = {ymin, ymax, 170, 28};
    size_t drawn = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            ax_x.lo = fmin(ax_x.lo, x[i]);
            ax_x.hi = fmax(ax_x.hi, x[i]);
            drawn++;
        }
    if (drawn == 0)
        return 0;
    double yt[12], xt[12];
    size_t nyt = nice_ticks(&ax_y, yt, 6);
    axis probe = ax_x;
    size_t nxt = nice_ticks(&probe, xt, 7); /* tick values only: keep the data range */
    svg_begin(out, 310, 208, title);
    svg_text(out, 172, 16, SVG_MIDDLE, "ptitle", title);
    y_grid(out, &ax_y, yt, nyt, ax_x.p0, ax_x.p1);
    for (size_t k = 0; k < nxt; k++)
        if (xt[k] >= ax_x.lo && xt[k] <= ax_x.hi)
            svg_number(out, ax(&ax_x, xt[k]), 186, SVG_MIDDLE, "tick", xt[k],
                       decimals_for(xt, nxt));
    svg_text(out, 172, 203, SVG_MIDDLE, "tick", xlabel);
    double *px = malloc(2 * n * sizeof *px), *py = malloc(2 * n * sizeof *py);
    if (px && py && lo && hi) { /* the band: lower bounds forward, upper back */
        for (size_t i = 0; i < n; i++) {
            px[i] = px[2 * n - 1 - i] = ax(&ax_x, x[i]);
            py[i] = isfinite(lo[i]) ? ax(&ax_y, fmax(lo[i], ax_y.lo)) : NAN;
            py[2 * n - 1 - i] = isfinite(hi[i]) ? ax(&ax_y, fmin(hi[i], ax_y.hi)) : NAN;
        }
        svg_poly(out, px, py, 2 * n, 1, "band");
    }
    for (size_t i = 0; px && py && i < n; i++) {
        px[i] = ax(&ax_x, x[i]);
        py[i] = isfinite(y[i]) ? ax(&ax_y, y[i]) : NAN;
    }
    if (px && py)
        svg_poly(out, px, py, n, 0, "series");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        char tip[160], a1[32], a2[32], a3[32];
        snprintf(tip, sizeof tip, "%g: %s [%s, %s]", x[i], num_text(y[i], 1, a1),
                 num_text(lo ? lo[i] : NAN, 1, a2), num_text(hi ? hi[i] : NAN, 1, a3));
        svg_group_begin(out, tip);
        svg_circle(out, ax(&ax_x, x[i]), isfinite(y[i]) ? ax(&ax_y, y[i]) : NAN, 3, "dot");
        svg_group_end(out);
    }
    free(px);
    free(py);
    svg_end(out);
    return drawn;
}

size_t chart_scree(FILE *out, const double *eigen, const double *parallel, size_t n)
{
    axis ax_x = {1, (double)n, 50, 450}, ax_y = {0, 1, 220, 30};
    for (size_t i = 0; i < n; i++) {
        ax_y.hi = isfinite(eigen[i]) ? fmax(ax_y.hi, eigen[i]) : ax_y.hi;
        ax_y.hi = parallel && isfinite(parallel[i]) ? fmax(ax_y.hi, parallel[i]) : ax_y.hi;
    }
    if (n < 2)
        return 0;
    double yt[12];
    size_t nyt = nice_ticks(&ax_y, yt, 7);
    svg_begin(out, 470, 260, "Scree plot with parallel analysis");
    y_grid(out, &ax_y, yt, nyt, ax_x.p0, ax_x.p1);
    svg_line(out, ax_x.p0, ax(&ax_y, 1), ax_x.p1, ax(&ax_y, 1), "kaiser");
    double *px = malloc(n * sizeof *px), *py = malloc(n * sizeof *py);
    for (size_t i = 0; px && py && i < n; i++) {
        px[i] = ax(&ax_x, (double)(i + 1));
        py[i] = ax(&ax_y, eigen[i]);
        svg_number(out, px[i], 238, SVG_MIDDLE, "tick", (double)(i + 1), 0);
        svg_circle(out, px[i], py[i], 3.5, "dot");
    }
    if (px && py) {
        svg_poly(out, px, py, n, 0, "series");
        for (size_t i = 0; parallel && i < n; i++)
            py[i] = ax(&ax_y, parallel[i]);
        if (parallel)
            svg_poly(out, px, py, n, 0, "parallel");
    }
    svg_text(out, 250, 255, SVG_MIDDLE, "tick", "factor");
    svg_text(out, ax_x.p1, 22, SVG_END, "tick",
             parallel ? "solid: data, dashed: parallel analysis, dotted: 1" : "dotted: 1");
    free(px);
    free(py);
    svg_end(out);
    return n;
}

size_t chart_bars(FILE *out, const char *title, const char *const *labels, const double *values,
                  size_t n)
{
    axis a = {0, 0, 0, 0};
    size_t drawn = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(values[i])) {
            a.lo = fmin(a.lo, values[i]);
            a.hi = fmax(a.hi, values[i]);
            drawn++;
        }
    if (drawn == 0)
        return 0;
    double lw = begin_row_chart(out, title, labels, n, &a), row = ROW_CHART_ROW,
           top = ROW_CHART_TOP;
    for (size_t i = 0; i < n; i++) {
        double y = top + (double)i * row, x0 = ax(&a, fmin(0, values[i]));
        svg_text(out, lw - 6, y + 14, SVG_END, "label", labels[i]);
        svg_rect(out, x0, y + 3, fabs(ax(&a, values[i]) - ax(&a, 0)), row - 6, "bar", NULL);
    }
    svg_end(out);
    return drawn;
}
