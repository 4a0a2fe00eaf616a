/*
 * report_path.c — the path diagram of a fitted CFA/SEM (chart_path in
 * report_charts.h).
 *
 * Three rows: higher-order factors and covariate-only predictors on top,
 * the other latent and structural variables in the middle (outcomes right
 * of their predictors), indicators at the bottom side by side with each
 * factor centred above its own.  Loadings and regressions between rows are
 * straight arrows; regressions within a row and covariances are arcs
 * (up for the upper rows, down for indicators), labelled with std_all.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_chart_util.h"
#include "report_charts.h"
#include "svg.h"

/* Path diagram nodes. */
typedef struct pnode {
    const char *name;
    int latent;
    int row; /* 0 higher-order factors, 1 structural, 2 indicators */
    int layer;
    double x, y;
} pnode;

#define PATH_MAX_NODES 80
#define NODE_RX 46.0
#define NODE_RY 20.0
#define BOX_HW 28.0
#define BOX_HH 14.0

typedef struct pgraph {
    pnode n[PATH_MAX_NODES];
    size_t count;
    int too_many;
} pgraph;

static long node_index(const pgraph *g, const char *name)
{
    for (size_t i = 0; i < g->count; i++)
        if (strcmp(g->n[i].name, name) == 0)
            return (long)i;
    return -1;
}

static long add_node(pgraph *g, const char *name, int latent, int row)
{
    long k = node_index(g, name);
    if (k >= 0)
        return k;
    if (g->count == PATH_MAX_NODES) {
        g->too_many = 1;
        return -1;
    }
    g->n[g->count] = (pnode){.name = name, .latent = latent, .row = row};
    return (long)g->count++;
}

/* Latents first (a latent whose indicators are all latents is
 * higher-order, row 0), then indicators (row 2), then the other observed
 * variables of regressions (row 1). */
static void path_nodes(pgraph *g, const cx_rtable *est, const est_cols *c, long long group)
{
    for (size_t i = 0; i < est->nrows; i++)
        if (row_is(c, i, "=~", group))
            add_node(g, cx_rb_string(c->lhs, i), 1, 1);
    size_t n_latent = g->count;
    for (size_t i = 0; i < est->nrows; i++)
        if (row_is(c, i, "=~", group) && node_index(g, cx_rb_string(c->rhs, i)) < 0)
            add_node(g, cx_rb_string(c->rhs, i), 0, 2);
    for (size_t f = 0; f < n_latent; f++) {
        int all_latent = 1, any = 0;
        for (size_t i = 0; i < est->nrows; i++)
            if (row_is(c, i, "=~", group) && strcmp(cx_rb_string(c->lhs, i), g->n[f].name) == 0) {
                long k = node_index(g, cx_rb_string(c->rhs, i));
                any = 1;
                all_latent &= k >= 0 && g->n[k].latent;
            }
        if (any && all_latent)
            g->n[f].row = 0;
    }
    for (size_t i = 0; i < est->nrows; i++)
        if (row_is(c, i, "~", group)) {
            add_node(g, cx_rb_string(c->rhs, i), 0, 1);
            add_node(g, cx_rb_string(c->lhs, i), 0, 1);
        }
    /* observed covariates that are only predictors go on top (MIMIC) */
    for (size_t k = n_latent; k < g->count; k++) {
        int outcome = 0;
        for (size_t i = 0; i < est->nrows && !outcome; i++)
            outcome = row_is(c, i, "~", group) && strcmp(cx_rb_string(c->lhs, i), g->n[k].name) == 0;
        if (g->n[k].row == 1 && !outcome)
            g->n[k].row = 0;
    }
}

/* Regressions put an outcome right of its predictors: layer = longest
 * path from an exogenous variable (bounded, so a loop cannot hang). */
static void path_layers(pgraph *g, const cx_rtable *est, const est_cols *c, long long group)
{
    for (size_t pass = 0; pass < g->count; pass++)
        for (size_t i = 0; i < est->nrows; i++) {
            if (!row_is(c, i, "~", group))
                continue;
            long y = node_index(g, cx_rb_string(c->lhs, i)), x = node_index(g, cx_rb_string(c->rhs, i));
            if (y >= 0 && x >= 0 && g->n[y].layer <= g->n[x].layer)
                g->n[y].layer = g->n[x].layer + 1;
        }
}

static double place_row(pgraph *g, int row, double spacing, double y)
{
    size_t k = 0, n = 0;
    for (size_t i = 0; i < g->count; i++)
        n += g->n[i].row == row;
    /* stable order by layer within the row */
    for (int layer = 0; layer <= (int)g->count; layer++)
        for (size_t i = 0; i < g->count; i++)
            if (g->n[i].row == row && g->n[i].layer == layer) {
                g->n[i].x = ((double)k++ + 0.5) * spacing;
                g->n[i].y = y;
            }
    return (double)n * spacing;
}

/* The mean x of the nodes that `name` loads on (NaN when none). */
static double above_indicators(const pgraph *g, const cx_rtable *est, const est_cols *c,
                               long long group, const char *name)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < est->nrows; i++)
        if (row_is(c, i, "=~", group) && strcmp(cx_rb_string(c->lhs, i), name) == 0) {
            long k = node_index(g, cx_rb_string(c->rhs, i));
            if (k >= 0 && g->n[k].x > 0) {
                sum += g->n[k].x;
                n++;
            }
        }
    return n ? sum / (double)n : NAN;
}

/* Indicators side by side at the bottom; each factor above its indicators
 * (other nodes where the even spread puts them), pushed right where two
 * would overlap.  Returns the drawing's width. */
static double path_layout(pgraph *g, const cx_rtable *est, const est_cols *c, long long group,
                          double y0)
{
    double w = place_row(g, 2, 66, y0 + 240) + 40;
    for (int row = 1; row >= 0; row--) {
        double rw = place_row(g, row, 140, y0 + 120.0 * row);
        double scale = rw > 0 && w > rw ? w / rw : 1, last = -INFINITY;
        for (int layer = 0; layer <= (int)g->count; layer++)
            for (size_t i = 0; i < g->count; i++) {
                pnode *n = &g->n[i];
                if (n->row != row || n->layer != layer)
                    continue;
                double ideal = above_indicators(g, est, c, group, n->name);
                n->x = isfinite(ideal) ? ideal : n->x * scale;
                n->x = fmax(n->x, fmax(last + 110, NODE_RX + 10));
                last = n->x;
            }
        w = fmax(w, last + NODE_RX + 20);
    }
    for (size_t i = 0; i < g->count; i++)
        g->n[i].x += 20;
    return w;
}

/* Where the segment from node a's centre towards (tx, ty) leaves a. */
static void node_edge(const pnode *a, double tx, double ty, double *x, double *y)
{
    double dx = tx - a->x, dy = ty - a->y, t;
    if (dx == 0 && dy == 0) {
        *x = a->x;
        *y = a->y;
        return;
    }
    if (a->latent)
        t = 1 / sqrt(dx * dx / (NODE_RX * NODE_RX) + dy * dy / (NODE_RY * NODE_RY));
    else
        t = fmin(dx != 0 ? BOX_HW / fabs(dx) : INFINITY, dy != 0 ? BOX_HH / fabs(dy) : INFINITY);
    *x = a->x + t * dx;
    *y = a->y + t * dy;
}

static void arrow_head(FILE *out, double fx, double fy, double x, double y)
{
    double dx = x - fx, dy = y - fy, len = sqrt(dx * dx + dy * dy);
    if (!(len > 0))
        return;
    dx /= len;
    dy /= len;
    double px[3] = {x, x - 8 * dx + 4 * dy, x - 8 * dx - 4 * dy};
    double py[3] = {y, y - 8 * dy - 4 * dx, y - 8 * dy + 4 * dx};
    svg_poly(out, px, py, 3, 1, "head");
}

/* An arrow (or a two-headed arc, `both`) from node a to node b. */
static void path_edge(FILE *out, const pnode *a, const pnode *b, int both, double v, size_t nth)
{
    double x1, y1, x2, y2, qx, qy;
    int curved = both || (a->row == b->row);
    if (curved) {
        /* arcs of equal span would share their label spot: vary the bow */
        double dist = fabs(b->x - a->x), bow = 30 + 0.12 * dist + (double)(nth % 3) * 10;
        double dir = a->row == 2 ? 1 : -1; /* indicators bow down, others up */
        qx = (a->x + b->x) / 2;
        qy = a->y + dir * (bow + (a->latent ? NODE_RY : BOX_HH));
        node_edge(a, qx, qy, &x1, &y1);
        node_edge(b, qx, qy, &x2, &y2);
        svg_curve(out, x1, y1, qx, qy, x2, y2, both ? "cov" : "edge");
        arrow_head(out, qx, qy, x2, y2);
        if (both)
            arrow_head(out, qx, qy, x1, y1);
        svg_number(out, qx, (y1 + 2 * qy + y2) / 4 + 4, SVG_MIDDLE, "elabel", v, 2);
        return;
    }
    node_edge(a, b->x, b->y, &x1, &y1);
    node_edge(b, a->x, a->y, &x2, &y2);
    svg_line(out, x1, y1, x2, y2, "edge");
    arrow_head(out, x1, y1, x2, y2);
    /* the label sits nearer the head, where lines fan out */
    svg_number(out, x1 + 0.72 * (x2 - x1), y1 + 0.72 * (y2 - y1) + 4, SVG_MIDDLE, "elabel", v, 2);
}

static void path_draw_nodes(FILE *out, const pgraph *g)
{
    for (size_t i = 0; i < g->count; i++) {
        const pnode *n = &g->n[i];
        if (n->latent)
            svg_ellipse(out, n->x, n->y, NODE_RX, NODE_RY, "latent");
        else
            svg_rect(out, n->x - BOX_HW, n->y - BOX_HH, 2 * BOX_HW, 2 * BOX_HH, "observed", NULL);
        svg_text(out, n->x, n->y + 4, SVG_MIDDLE, strlen(n->name) > 8 ? "node small" : "node",
                 n->name);
    }
}

/* A covariance drawn as an arc: between different variables, and not one
 * between two observed covariates on top (lavaan's fixed.x: their sample
 * covariances, not parameters of the model). */
static int drawn_cov(const pgraph *g, const est_cols *c, long long group, size_t i)
{
    if (!row_is(c, i, "~~", group) || strcmp(cx_rb_string(c->lhs, i), cx_rb_string(c->rhs, i)) == 0)
        return 0;
    long l = node_index(g, cx_rb_string(c->lhs, i)), r = node_index(g, cx_rb_string(c->rhs, i));
    return !(l >= 0 && r >= 0 && !g->n[l].latent && !g->n[r].latent && g->n[l].row == 0 &&
             g->n[r].row == 0);
}

/* The widest span of the arcs (covariances, same-row regressions) above
 * the top row (*up) and below the indicators (*down). */
static void path_arc_spans(const pgraph *g, const cx_rtable *est, const est_cols *c,
                           long long group, int top_row, double *up, double *down)
{
    for (size_t i = 0; i < est->nrows; i++) {
        int cov = drawn_cov(g, c, group, i);
        if (!cov && !row_is(c, i, "~", group))
            continue;
        long l = node_index(g, cx_rb_string(c->lhs, i)), r = node_index(g, cx_rb_string(c->rhs, i));
        if (l < 0 || r < 0 || (!cov && g->n[l].row != g->n[r].row))
            continue;
        double span = fabs(g->n[l].x - g->n[r].x) + 20; /* + the bow's variation */
        int row = cov ? g->n[l].row : g->n[r].row; /* an arc bows by its first node */
        if (row == 2)
            *down = fmax(*down, span);
        else if (row == top_row) /* a lower row has the space between rows */
            *up = fmax(*up, span);
    }
}

size_t chart_path(FILE *out, const cx_rtable *est, long long group)
{
    est_cols c;
    pgraph *g = calloc(1, sizeof *g);
    if (!g || !est_columns(est, &c)) {
        free(g);
        return 0;
    }
    path_nodes(g, est, &c, group);
    path_layers(g, est, &c, group);
    size_t marks = 0;
    if (g->count >= 2 && !g->too_many) {
        int have_top = 0;
        for (size_t i = 0; i < g->count; i++)
            have_top |= g->n[i].row == 0;
        double y0 = have_top ? 60 : -60;
        double w = path_layout(g, est, &c, group, y0);
        /* room for the widest arcs: above the top row, below the indicators
         * (an arc rises about half its bow: 15 + 0.06 span + 15) */
        double up = 0, down = 0;
        path_arc_spans(g, est, &c, group, have_top ? 0 : 1, &up, &down);
        double top = y0 + (have_top ? 0 : 120);
        double shift = fmax(0, NODE_RY + 20 + (up > 0 ? 35 + 0.06 * up : 0) - top);
        for (size_t i = 0; i < g->count; i++)
            g->n[i].y += shift;
        double height = y0 + shift + 240 + BOX_HH + 12 + (down > 0 ? 35 + 0.06 * down : 0);
        svg_begin(out, w + 40, height, "Path diagram (standardized estimates)");
        for (size_t i = 0; i < est->nrows; i++) {
            const char *op = cx_rb_string(c.op, i);
            int load = row_is(&c, i, "=~", group), reg = row_is(&c, i, "~", group);
            int cov = drawn_cov(g, &c, group, i);
            if (!load && !reg && !cov)
                continue;
            long l = node_index(g, cx_rb_string(c.lhs, i)), r = node_index(g, cx_rb_string(c.rhs, i));
            if (l < 0 || r < 0)
                continue;
            char tip[256], v[32];
            snprintf(tip, sizeof tip, "%s %s %s: std_all %s", cx_rb_string(c.lhs, i), op,
                     cx_rb_string(c.rhs, i), num_text(std_value(&c, i), 3, v));
            svg_group_begin(out, tip);
            if (reg) /* y ~ x: the arrow goes from x to y */
                path_edge(out, &g->n[r], &g->n[l], 0, std_value(&c, i), marks);
            else
                path_edge(out, &g->n[l], &g->n[r], cov, std_value(&c, i), marks);
            svg_group_end(out);
            marks++;
        }
        path_draw_nodes(out, g);
        svg_end(out);
    }
    free(g);
    return marks;
}
