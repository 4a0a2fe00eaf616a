/*
 * partable.c — from model syntax to lavaan's parameter table.
 *
 * Follows lavaan 0.6 (lavaanify() and lav_partable_flat()) rule by rule so
 * that rows, their order and their free/fixed status match parTable(fit):
 *   1. the user's elements, in the order written, then the defaults:
 *      residual variances of the non-exogenous observed variables and the
 *      variances of the latent ones, covariances of exogenous latent
 *      variables, covariances of pure dependent variables, (co)variances of
 *      exogenous observed covariates, and with a mean structure the
 *      intercepts of all observed then latent variables;
 *   2. the defaults of cfa()/sem()/growth(): first loading fixed to 1 (or
 *      latent variances to 1 with std_lv), observed intercepts free
 *      (cfa/sem) or fixed to 0 (growth), latent means fixed to 0 (cfa/sem)
 *      or free (growth), exogenous covariates fixed to their sample
 *      moments (fixed.x: exo = 1);
 *   3. the table repeated per group, then the user's modifiers (1*x, a*x,
 *      NA*x, start(), c() per group);
 *   4. equal labels — the user's, or lavaan's "lhs op rhs" labels made equal
 *      across groups by group_equal — make parameters equal.  lavaan 0.6
 *      numbers every free row and adds ".p2. == .p38." rows; here rows of
 *      one equality class share their `free` number instead (free_lavaan
 *      keeps lavaan's numbering, id and plabel its row ids).
 */
#include "partable.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syntax.h"

static const char *const op_strings[] = {"=~", "~", "~~", "~1", "|", ":=", "==", "<", ">"};

const char *sem_op_string(sem_op op)
{
    return (unsigned)op < sizeof op_strings / sizeof op_strings[0] ? op_strings[op] : "?";
}

unsigned sem_group_equal_bit(const char *word)
{
    static const struct {
        const char *word;
        unsigned bit;
    } words[] = {{"loadings", SEM_EQ_LOADINGS},
                 {"intercepts", SEM_EQ_INTERCEPTS},
                 {"residuals", SEM_EQ_RESIDUALS},
                 {"residual.covariances", SEM_EQ_RESIDUAL_COVARIANCES},
                 {"lv.variances", SEM_EQ_LV_VARIANCES},
                 {"lv.covariances", SEM_EQ_LV_COVARIANCES},
                 {"means", SEM_EQ_MEANS},
                 {"regressions", SEM_EQ_REGRESSIONS},
                 {"thresholds", SEM_EQ_THRESHOLDS}};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
        if (strcmp(words[k].word, word) == 0)
            return words[k].bit;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Name lists                                                           */
/* ------------------------------------------------------------------ */

typedef struct name_list {
    char (*v)[SEM_NAME_MAX];
    size_t n, cap;
} name_list;

static int nl_has(const name_list *l, const char *s)
{
    for (size_t k = 0; k < l->n; k++)
        if (strcmp(l->v[k], s) == 0)
            return 1;
    return 0;
}

static int nl_add(name_list *l, const char *s, cx_error *err)
{
    if (nl_has(l, s))
        return CX_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        void *p = realloc(l->v, cap * sizeof *l->v);
        if (!p)
            return cx_error_set(err, CX_ENOMEM, "out of memory building the parameter table");
        l->v = p;
        l->cap = cap;
    }
    snprintf(l->v[l->n++], SEM_NAME_MAX, "%s", s);
    return CX_OK;
}

static void nl_free(name_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* lavaan's variable classes (lav_partable_vnames) of the user's model. */
typedef struct var_names {
    name_list lv;     /* lhs of =~, in order                         */
    name_list ov;     /* indicators, dependent, exogenous, others    */
    name_list ov_x;   /* pure exogenous observed covariates          */
    name_list ov_nox; /* ov without ov_x                             */
    name_list lv_x;   /* exogenous latent variables                  */
    name_list lvov_y; /* pure dependent latent, then observed        */
    name_list v_ind;  /* rhs of =~                                   */
    name_list eqs_y;  /* lhs of ~                                    */
    name_list eqs_x;  /* rhs of ~                                    */
} var_names;

static void names_free(var_names *n)
{
    nl_free(&n->lv);
    nl_free(&n->ov);
    nl_free(&n->ov_x);
    nl_free(&n->ov_nox);
    nl_free(&n->lv_x);
    nl_free(&n->lvov_y);
    nl_free(&n->v_ind);
    nl_free(&n->eqs_y);
    nl_free(&n->eqs_x);
}

/* Variables named by ~~ and ~1 elements that are not latent, in lavaan's
 * order: all ~~ lhs, all ~~ rhs, then ~1 lhs. */
static int names_orphans(const sem_flat *f, const var_names *n, name_list *out, cx_error *err)
{
    int rc = CX_OK;
    for (int pass = 0; pass < 3 && rc == CX_OK; pass++) {
        for (size_t k = 0; k < f->n_elems && rc == CX_OK; k++) {
            const sem_flat_elem *e = &f->elems[k];
            sem_op want = pass < 2 ? SEM_OP_COVARIANCE : SEM_OP_INTERCEPT;
            const char *name = pass == 1 ? e->rhs : e->lhs;
            if ((e->op == want || (pass == 2 && e->op == SEM_OP_THRESHOLD)) &&
                !nl_has(&n->lv, name))
                rc = nl_add(out, name, err);
        }
    }
    return rc;
}

/* Exogenous covariates lose that status when the user gives them a
 * variance, covariance or intercept (lavaan warns and treats them as
 * endogenous). */
static int user_mentions(const sem_flat *f, const char *name)
{
    for (size_t k = 0; k < f->n_elems; k++) {
        const sem_flat_elem *e = &f->elems[k];
        if ((e->op == SEM_OP_INTERCEPT && strcmp(e->lhs, name) == 0) ||
            (e->op == SEM_OP_COVARIANCE &&
             (strcmp(e->lhs, name) == 0 || strcmp(e->rhs, name) == 0)))
            return 1;
    }
    return 0;
}

static int names_basic(const sem_flat *f, var_names *n, cx_error *err)
{
    int rc = CX_OK;
    for (size_t k = 0; k < f->n_elems && rc == CX_OK; k++) {
        const sem_flat_elem *e = &f->elems[k];
        if (e->op == SEM_OP_LOADING) {
            rc = nl_add(&n->lv, e->lhs, err);
            if (rc == CX_OK)
                rc = nl_add(&n->v_ind, e->rhs, err);
        } else if (e->op == SEM_OP_REGRESSION) {
            rc = nl_add(&n->eqs_y, e->lhs, err);
            if (rc == CX_OK)
                rc = nl_add(&n->eqs_x, e->rhs, err);
        }
    }
    return rc;
}

/* ov = indicators, dependent ov, exogenous ov, then orphans. */
static int names_observed(const sem_flat *f, var_names *n, name_list *ov_x0, cx_error *err)
{
    name_list ov_y = {0}, extra = {0};
    int rc = CX_OK;
    for (size_t k = 0; k < n->v_ind.n && rc == CX_OK; k++)
        if (!nl_has(&n->lv, n->v_ind.v[k]))
            rc = nl_add(&n->ov, n->v_ind.v[k], err);
    for (size_t k = 0; k < n->eqs_y.n && rc == CX_OK; k++)
        if (!nl_has(&n->lv, n->eqs_y.v[k]) && !nl_has(&n->ov, n->eqs_y.v[k]))
            rc = nl_add(&ov_y, n->eqs_y.v[k], err);
    for (size_t k = 0; k < ov_y.n && rc == CX_OK; k++)
        rc = nl_add(&n->ov, ov_y.v[k], err);
    for (size_t k = 0; k < n->eqs_x.n && rc == CX_OK; k++)
        if (!nl_has(&n->lv, n->eqs_x.v[k]) && !nl_has(&n->ov, n->eqs_x.v[k]))
            rc = nl_add(ov_x0, n->eqs_x.v[k], err);
    for (size_t k = 0; k < ov_x0->n && rc == CX_OK; k++)
        rc = nl_add(&n->ov, ov_x0->v[k], err);
    if (rc == CX_OK)
        rc = names_orphans(f, n, &extra, err);
    for (size_t k = 0; k < extra.n && rc == CX_OK; k++)
        rc = nl_add(&n->ov, extra.v[k], err);
    nl_free(&ov_y);
    nl_free(&extra);
    return rc;
}

static int names_compute(const sem_flat *f, var_names *n, cx_error *err)
{
    name_list ov_x0 = {0};
    int rc = names_basic(f, n, err);
    if (rc == CX_OK)
        rc = names_observed(f, n, &ov_x0, err);
    for (size_t k = 0; k < ov_x0.n && rc == CX_OK; k++)
        if (!user_mentions(f, ov_x0.v[k]))
            rc = nl_add(&n->ov_x, ov_x0.v[k], err);
    nl_free(&ov_x0);
    for (size_t k = 0; k < n->ov.n && rc == CX_OK; k++)
        if (!nl_has(&n->ov_x, n->ov.v[k]))
            rc = nl_add(&n->ov_nox, n->ov.v[k], err);
    /* exogenous lv: neither an indicator nor a dependent variable */
    for (size_t k = 0; k < n->lv.n && rc == CX_OK; k++)
        if (!nl_has(&n->v_ind, n->lv.v[k]) && !nl_has(&n->eqs_y, n->lv.v[k]))
            rc = nl_add(&n->lv_x, n->lv.v[k], err);
    /* pure dependent variables: latent ones first, then observed */
    for (int latent = 1; latent >= 0 && rc == CX_OK; latent--) {
        const name_list *order = latent ? &n->lv : &n->ov;
        for (size_t k = 0; k < order->n && rc == CX_OK; k++) {
            const char *v = order->v[k];
            if (nl_has(&n->eqs_y, v) && !nl_has(&n->v_ind, v) && !nl_has(&n->eqs_x, v) &&
                (latent || !nl_has(&n->lv, v)))
                rc = nl_add(&n->lvov_y, v, err);
        }
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Rows                                                                 */
/* ------------------------------------------------------------------ */

/* What the build keeps per row besides the sem_param. */
typedef struct build_row {
    int mod_idx; /* index of the flat element, -1 for defaults */
    double ustart;
    char eq_label[SEM_NAME_MAX * 2]; /* lavaan's LABEL: what makes rows equal */
} build_row;

typedef struct builder {
    sem_partable *pt;
    build_row *extra; /* parallel to pt->rows */
    const sem_options *opt;
    const sem_flat *flat;
    var_names names;
    int meanstructure;
    int int_ov_free, int_lv_free, auto_fix_first;
    cx_error *err;
} builder;

static int rows_reserve(builder *b, size_t n)
{
    sem_partable *pt = b->pt;
    if (pt->n_rows + n <= pt->capacity)
        return CX_OK;
    size_t cap = pt->capacity ? pt->capacity : 64;
    while (cap < pt->n_rows + n)
        cap *= 2;
    sem_param *rows = realloc(pt->rows, cap * sizeof *rows);
    if (rows)
        pt->rows = rows;
    build_row *extra = realloc(b->extra, cap * sizeof *extra);
    if (extra)
        b->extra = extra;
    if (!rows || !extra)
        return cx_error_set(b->err, CX_ENOMEM, "out of memory building the parameter table");
    pt->capacity = cap;
    return CX_OK;
}

static int row_exists(const builder *b, const char *lhs, sem_op op, const char *rhs)
{
    for (size_t k = 0; k < b->pt->n_rows; k++) {
        const sem_param *r = &b->pt->rows[k];
        if (r->op == op && strcmp(r->lhs, lhs) == 0 && strcmp(r->rhs, rhs) == 0)
            return 1;
    }
    return 0;
}

/* Append a group-1 row; defaults that repeat a user element are dropped. */
static int add_row(builder *b, const char *lhs, sem_op op, const char *rhs, int user, int mod_idx)
{
    if (!user && row_exists(b, lhs, op, rhs))
        return CX_OK;
    int rc = rows_reserve(b, 1);
    if (rc != CX_OK)
        return rc;
    sem_param *r = &b->pt->rows[b->pt->n_rows];
    build_row *x = &b->extra[b->pt->n_rows];
    b->pt->n_rows++;
    memset(r, 0, sizeof *r);
    memset(x, 0, sizeof *x);
    snprintf(r->lhs, sizeof r->lhs, "%s", lhs);
    snprintf(r->rhs, sizeof r->rhs, "%s", rhs);
    r->op = op;
    r->user = user;
    r->free = 1;
    r->est = r->se = r->std_lv = r->std_all = NAN;
    x->mod_idx = mod_idx;
    x->ustart = NAN;
    return CX_OK;
}

/* Pairs (a[i], a[j]), i < j, in R's combn() order. */
static int add_pairs(builder *b, const name_list *a)
{
    int rc = CX_OK;
    for (size_t i = 0; i < a->n && rc == CX_OK; i++)
        for (size_t j = i + 1; j < a->n && rc == CX_OK; j++)
            rc = add_row(b, a->v[i], SEM_OP_COVARIANCE, a->v[j], 0, -1);
    return rc;
}

/* The defaults of lav_partable_flat(), after the user's rows. */
static int add_defaults(builder *b)
{
    const var_names *n = &b->names;
    int rc = CX_OK;
    for (size_t k = 0; k < n->ov_nox.n && rc == CX_OK; k++)
        rc = add_row(b, n->ov_nox.v[k], SEM_OP_COVARIANCE, n->ov_nox.v[k], 0, -1);
    for (size_t k = 0; k < n->lv.n && rc == CX_OK; k++)
        rc = add_row(b, n->lv.v[k], SEM_OP_COVARIANCE, n->lv.v[k], 0, -1);
    if (rc == CX_OK)
        rc = add_pairs(b, &n->lv_x); /* auto.cov.lv.x */
    if (rc == CX_OK)
        rc = add_pairs(b, &n->lvov_y); /* auto.cov.y */
    /* exogenous covariates: lower triangle, column by column */
    for (size_t j = 0; j < n->ov_x.n && rc == CX_OK; j++)
        for (size_t i = j; i < n->ov_x.n && rc == CX_OK; i++)
            rc = add_row(b, n->ov_x.v[j], SEM_OP_COVARIANCE, n->ov_x.v[i], 0, -1);
    if (b->meanstructure) {
        for (size_t k = 0; k < n->ov.n && rc == CX_OK; k++)
            rc = add_row(b, n->ov.v[k], SEM_OP_INTERCEPT, "", 0, -1);
        for (size_t k = 0; k < n->lv.n && rc == CX_OK; k++)
            rc = add_row(b, n->lv.v[k], SEM_OP_INTERCEPT, "", 0, -1);
    }
    return rc;
}

static void fix_row(builder *b, size_t k, double value)
{
    b->pt->rows[k].free = 0;
    b->extra[k].ustart = value;
}

static void free_row(builder *b, size_t k)
{
    b->pt->rows[k].free = 1;
    b->extra[k].ustart = NAN;
}

/* Scale of the latent variables: std.lv or the first indicator. */
static void rule_metric(builder *b)
{
    sem_partable *pt = b->pt;
    for (size_t k = 0; k < pt->n_rows; k++) {
        sem_param *r = &pt->rows[k];
        if (b->opt->std_lv && r->op == SEM_OP_COVARIANCE && strcmp(r->lhs, r->rhs) == 0 &&
            nl_has(&b->names.lv, r->lhs))
            fix_row(b, k, 1.0);
        if (b->auto_fix_first && r->op == SEM_OP_LOADING) {
            int first = 1;
            for (size_t j = 0; j < k; j++)
                if (pt->rows[j].op == SEM_OP_LOADING && strcmp(pt->rows[j].lhs, r->lhs) == 0)
                    first = 0;
            if (first)
                fix_row(b, k, 1.0);
        }
    }
}

static size_t count_loadings(const sem_partable *pt, const char *field_value, int by_rhs)
{
    size_t c = 0;
    for (size_t k = 0; k < pt->n_rows; k++)
        if (pt->rows[k].op == SEM_OP_LOADING &&
            strcmp(by_rhs ? pt->rows[k].rhs : pt->rows[k].lhs, field_value) == 0)
            c++;
    return c;
}

/* auto.fix.single: the residual variance of the only indicator of a
 * latent variable is 0, when that indicator loads on nothing else. */
static void rule_single_indicator(builder *b)
{
    sem_partable *pt = b->pt;
    for (size_t k = 0; k < pt->n_rows; k++) {
        const sem_param *r = &pt->rows[k];
        if (r->op != SEM_OP_LOADING || strcmp(r->lhs, r->rhs) == 0 ||
            count_loadings(pt, r->lhs, 0) != 1 || count_loadings(pt, r->rhs, 1) != 1)
            continue;
        for (size_t j = 0; j < pt->n_rows; j++) {
            const sem_param *v = &pt->rows[j];
            if (v->op == SEM_OP_COVARIANCE && !v->user && strcmp(v->lhs, r->rhs) == 0 &&
                strcmp(v->rhs, r->rhs) == 0)
                fix_row(b, j, 0.0);
        }
    }
}

static void rule_intercepts_exo(builder *b)
{
    sem_partable *pt = b->pt;
    const var_names *n = &b->names;
    for (size_t k = 0; k < pt->n_rows; k++) {
        sem_param *r = &pt->rows[k];
        if (r->user)
            continue;
        if (r->op == SEM_OP_INTERCEPT && !b->int_ov_free && nl_has(&n->ov, r->lhs))
            fix_row(b, k, 0.0);
        if (r->op == SEM_OP_INTERCEPT && !b->int_lv_free && nl_has(&n->lv, r->lhs))
            fix_row(b, k, 0.0);
        if (!b->opt->fixed_x)
            continue;
        /* fixed.x: moments of the covariates are their sample values */
        if ((r->op == SEM_OP_COVARIANCE && nl_has(&n->ov_x, r->lhs) && nl_has(&n->ov_x, r->rhs)) ||
            (r->op == SEM_OP_INTERCEPT && nl_has(&n->ov_x, r->lhs))) {
            fix_row(b, k, NAN);
            r->exo = 1;
        }
    }
}

/* Copies of the group-1 rows for groups 2..G, with lavaan's per-group
 * changes: latent means free when intercepts are equal (but means not),
 * latent variances free with std.lv and equal loadings. */
static int replicate_groups(builder *b)
{
    sem_partable *pt = b->pt;
    size_t n1 = pt->n_rows, G = b->opt->n_groups;
    int rc = rows_reserve(b, n1 * (G - 1));
    if (rc != CX_OK)
        return rc;
    unsigned eq = b->opt->group_equal;
    for (size_t g = 1; g < G; g++) {
        for (size_t k = 0; k < n1; k++) {
            size_t d = pt->n_rows++;
            pt->rows[d] = pt->rows[k];
            b->extra[d] = b->extra[k];
            pt->rows[d].group = (int)g;
            const sem_param *r = &pt->rows[d];
            int lv = nl_has(&b->names.lv, r->lhs);
            if (r->user || !lv)
                continue;
            if (b->meanstructure && r->op == SEM_OP_INTERCEPT && !b->int_lv_free &&
                (eq & SEM_EQ_INTERCEPTS) && !(eq & SEM_EQ_MEANS))
                free_row(b, d);
            if (b->opt->std_lv && (eq & SEM_EQ_LOADINGS) && !(eq & SEM_EQ_LV_VARIANCES) &&
                r->op == SEM_OP_COVARIANCE && strcmp(r->lhs, r->rhs) == 0)
                free_row(b, d);
        }
    }
    return CX_OK;
}

/* ------------------------------------------------------------------ */
/* Modifiers                                                            */
/* ------------------------------------------------------------------ */

static int check_count(builder *b, const sem_flat_elem *e, size_t n, const char *what)
{
    if (n == 0 || n == 1 || n == b->opt->n_groups)
        return CX_OK;
    return cx_error_set(b->err, CX_EUSAGE,
                        "line %d, column %d: the %s of '%s %s %s' has %zu values but the model "
                        "has %zu group%s",
                        e->line, e->column, what, e->lhs, sem_op_string(e->op), e->rhs, n,
                        b->opt->n_groups, b->opt->n_groups == 1 ? "" : "s");
}

static void apply_modifier(builder *b, size_t k, const sem_modifier *m)
{
    size_t g = (size_t)b->pt->rows[k].group;
    if (m->n_fixed) {
        double v = m->fixed[m->n_fixed == 1 ? 0 : g];
        if (isnan(v))
            free_row(b, k);
        else
            fix_row(b, k, v);
    }
    if (m->n_start)
        b->extra[k].ustart = m->start[m->n_start == 1 ? 0 : g];
    if (m->n_label)
        snprintf(b->pt->rows[k].label, SEM_NAME_MAX, "%s", m->label[m->n_label == 1 ? 0 : g]);
}

static int apply_modifiers(builder *b)
{
    for (size_t i = 0; i < b->flat->n_elems; i++) {
        const sem_flat_elem *e = &b->flat->elems[i];
        int rc = check_count(b, e, e->mod.n_fixed, "fixed value");
        if (rc == CX_OK)
            rc = check_count(b, e, e->mod.n_start, "start value");
        if (rc == CX_OK)
            rc = check_count(b, e, e->mod.n_label, "label");
        if (rc != CX_OK)
            return rc;
    }
    for (size_t k = 0; k < b->pt->n_rows; k++)
        if (b->extra[k].mod_idx >= 0)
            apply_modifier(b, k, &b->flat->elems[b->extra[k].mod_idx].mod);
    return CX_OK;
}

/* ------------------------------------------------------------------ */
/* Labels and equality constraints                                      */
/* ------------------------------------------------------------------ */

/* Is row r of group 1 made equal across groups by group_equal? */
static int group_equal_flag(const builder *b, const sem_param *r)
{
    unsigned eq = b->opt->group_equal;
    const var_names *n = &b->names;
    int ov_nox = nl_has(&n->ov_nox, r->lhs), lv = nl_has(&n->lv, r->lhs);
    int var = strcmp(r->lhs, r->rhs) == 0;
    switch (r->op) {
    case SEM_OP_LOADING:
        return (eq & SEM_EQ_LOADINGS) != 0;
    case SEM_OP_INTERCEPT:
        return ((eq & SEM_EQ_INTERCEPTS) && ov_nox) || ((eq & SEM_EQ_MEANS) && lv);
    case SEM_OP_THRESHOLD:
        return (eq & SEM_EQ_THRESHOLDS) != 0;
    case SEM_OP_REGRESSION:
        return (eq & SEM_EQ_REGRESSIONS) != 0;
    case SEM_OP_COVARIANCE:
        return (ov_nox && var && (eq & SEM_EQ_RESIDUALS)) ||
               (ov_nox && !var && (eq & SEM_EQ_RESIDUAL_COVARIANCES)) ||
               (lv && var && (eq & SEM_EQ_LV_VARIANCES)) ||
               (lv && !var && (eq & SEM_EQ_LV_COVARIANCES));
    default:
        return 0;
    }
}

/* lavaan's LABEL: "lhs op rhs" (".gG" appended in group G > 1), made the
 * same across groups by group_equal, overridden by the user's labels. */
static void compute_eq_labels(builder *b)
{
    sem_partable *pt = b->pt;
    for (size_t k = 0; k < pt->n_rows; k++) {
        const sem_param *r = &pt->rows[k];
        char *lab = b->extra[k].eq_label;
        snprintf(lab, sizeof b->extra[k].eq_label, "%s%s%s", r->lhs, sem_op_string(r->op), r->rhs);
        if (r->group > 0)
            snprintf(lab + strlen(lab), sizeof b->extra[k].eq_label - strlen(lab), ".g%d",
                     r->group + 1);
    }
    size_t n1 = pt->n_rows / b->opt->n_groups;
    for (size_t k = 0; b->opt->n_groups > 1 && k < n1; k++) {
        if (!group_equal_flag(b, &pt->rows[k]))
            continue;
        for (size_t j = n1; j < pt->n_rows; j++) {
            const sem_param *r = &pt->rows[j];
            if (r->op == pt->rows[k].op && strcmp(r->lhs, pt->rows[k].lhs) == 0 &&
                strcmp(r->rhs, pt->rows[k].rhs) == 0)
                memcpy(b->extra[j].eq_label, b->extra[k].eq_label, sizeof b->extra[j].eq_label);
        }
    }
    for (size_t k = 0; k < pt->n_rows; k++)
        if (pt->rows[k].label[0])
            snprintf(b->extra[k].eq_label, sizeof b->extra[k].eq_label, "%s", pt->rows[k].label);
}

/* ref[k]: the first row with row k's label when that label is shared by
 * free rows (k itself for the first), -1 otherwise.  A set holding a
 * fixed row is fixed entirely, to that row's value (lavaan's rule). */
static void resolve_equalities(builder *b, int *ref)
{
    sem_partable *pt = b->pt;
    for (size_t k = 0; k < pt->n_rows; k++)
        ref[k] = -2; /* not visited */
    for (size_t k = 0; k < pt->n_rows; k++) {
        if (ref[k] != -2)
            continue;
        ref[k] = -1;
        size_t count = 1;
        long fixed = pt->rows[k].free ? -1 : (long)k;
        for (size_t j = k + 1; j < pt->n_rows; j++) {
            if (strcmp(b->extra[j].eq_label, b->extra[k].eq_label) != 0)
                continue;
            count++;
            if (fixed < 0 && !pt->rows[j].free)
                fixed = (long)j;
        }
        if (count == 1)
            continue;
        for (size_t j = k; j < pt->n_rows; j++) {
            if (strcmp(b->extra[j].eq_label, b->extra[k].eq_label) != 0)
                continue;
            if (fixed >= 0) {
                ref[j] = -1;
                fix_row(b, j, b->extra[fixed].ustart);
            } else {
                ref[j] = (int)k;
                /* lavaan shows the set's first plabel in empty label cells */
                if (!pt->rows[j].label[0])
                    snprintf(pt->rows[j].label, SEM_NAME_MAX, ".p%zu.", k + 1);
            }
        }
    }
}

/* free: shared per equality class; free_lavaan: one number per free row. */
static void number_free(builder *b, const int *ref)
{
    sem_partable *pt = b->pt;
    int next = 0, next_lavaan = 0;
    for (size_t k = 0; k < pt->n_rows; k++) {
        sem_param *r = &pt->rows[k];
        r->id = (int)k + 1;
        snprintf(r->plabel, sizeof r->plabel, ".p%zu.", k + 1);
        if (!r->free) {
            r->free_lavaan = 0;
            continue;
        }
        r->free_lavaan = ++next_lavaan;
        r->free = ref[k] >= 0 && (size_t)ref[k] != k ? pt->rows[ref[k]].free : ++next;
    }
    pt->n_free = (size_t)next;
}

/* ------------------------------------------------------------------ */
/* Defined parameters and constraints                                   */
/* ------------------------------------------------------------------ */

typedef struct label_check {
    const builder *b;
    size_t n_defined; /* := names before this one are known */
    const sem_flat_con *con;
} label_check;

static int label_known(const char *label, int line, int column, void *ctx)
{
    const label_check *lc = ctx;
    const sem_partable *pt = lc->b->pt;
    for (size_t k = 0; k < pt->n_rows; k++)
        if (strcmp(pt->rows[k].label, label) == 0 || strcmp(pt->rows[k].plabel, label) == 0)
            return 0;
    for (size_t k = 0; k < lc->n_defined; k++)
        if (strcmp(lc->b->flat->cons[k].lhs, label) == 0)
            return 0;
    return cx_error_set(lc->b->err, CX_EUSAGE,
                        "line %d, column %d: unknown label '%s' in '%s %s %s' (labels are set "
                        "with modifiers such as a*x)",
                        line, column, label, lc->con->lhs, sem_op_string(lc->con->op),
                        lc->con->rhs);
}

static int add_constraints(builder *b, sem_flat *flat)
{
    for (size_t i = 0; i < flat->n_cons; i++) {
        sem_flat_con *c = &flat->cons[i];
        label_check lc = {b, c->op == SEM_OP_DEFINED ? i : flat->n_cons, c};
        if (sem_expr_visit_labels(c->expr, label_known, &lc) != 0)
            return b->err ? b->err->code : CX_EUSAGE;
        int rc = rows_reserve(b, 1);
        if (rc != CX_OK)
            return rc;
        sem_param *r = &b->pt->rows[b->pt->n_rows++];
        memset(r, 0, sizeof *r);
        snprintf(r->lhs, sizeof r->lhs, "%s", c->lhs);
        snprintf(r->rhs, sizeof r->rhs, "%s", c->rhs);
        r->op = c->op;
        r->user = 1;
        r->fixed_value = r->start = NAN;
        r->est = r->se = r->std_lv = r->std_all = NAN;
        r->id = (int)b->pt->n_rows;
        if (c->op == SEM_OP_DEFINED)
            snprintf(r->label, sizeof r->label, "%s", c->lhs);
        r->expr = c->expr; /* the partable owns it now */
        c->expr = NULL;
    }
    return CX_OK;
}

/* ------------------------------------------------------------------ */
/* Build                                                                */
/* ------------------------------------------------------------------ */

static int copy_names(char ***dst, size_t *n, const name_list *src, cx_error *err)
{
    *dst = cx_calloc(src->n + 1, sizeof **dst, err);
    if (!*dst)
        return CX_ENOMEM;
    for (size_t k = 0; k < src->n; k++) {
        (*dst)[k] = cx_strdup(src->v[k], err);
        if (!(*dst)[k])
            return CX_ENOMEM;
        *n = k + 1;
    }
    return CX_OK;
}

static int flat_has_intercepts(const sem_flat *f)
{
    for (size_t k = 0; k < f->n_elems; k++)
        if (f->elems[k].op == SEM_OP_INTERCEPT)
            return 1;
    return 0;
}

static int check_supported(const sem_options *opt, const sem_flat *f, cx_error *err)
{
    if (opt->n_groups < 1)
        return cx_error_set(err, CX_EUSAGE, "a model needs at least one group");
    if (opt->ordered && opt->ordered[0])
        return cx_error_set(err, CX_EUSAGE, "ordinal items (ordered) are not supported yet");
    for (size_t k = 0; k < f->n_elems; k++)
        if (f->elems[k].op == SEM_OP_THRESHOLD)
            return cx_error_set(err, CX_EUSAGE,
                                "line %d, column %d: thresholds ('|') of ordinal items are not "
                                "supported yet",
                                f->elems[k].line, f->elems[k].column);
    return CX_OK;
}

/* The options of cfa()/sem() or growth(). */
static void builder_setup(builder *b, const sem_options *opt, const sem_flat *flat)
{
    int growth = opt->kind == SEM_KIND_GROWTH;
    b->int_ov_free = !growth;
    b->int_lv_free = growth;
    b->auto_fix_first = !opt->std_lv;
    b->meanstructure = opt->meanstructure;
    if (b->meanstructure < 0)
        b->meanstructure = growth || opt->n_groups > 1;
    if (flat_has_intercepts(flat))
        b->meanstructure = 1;
}

static int build_rows(builder *b)
{
    int rc = names_compute(b->flat, &b->names, b->err);
    for (size_t k = 0; k < b->flat->n_elems && rc == CX_OK; k++) {
        const sem_flat_elem *e = &b->flat->elems[k];
        rc = add_row(b, e->lhs, e->op, e->rhs, 1, (int)k);
    }
    if (rc == CX_OK)
        rc = add_defaults(b);
    if (rc != CX_OK)
        return rc;
    rule_metric(b);
    rule_single_indicator(b);
    if (b->meanstructure || b->opt->fixed_x)
        rule_intercepts_exo(b);
    rc = replicate_groups(b);
    if (rc == CX_OK)
        rc = apply_modifiers(b);
    return rc;
}

static int finish_rows(builder *b, sem_flat *flat)
{
    sem_partable *pt = b->pt;
    int *ref = cx_malloc(pt->n_rows * sizeof *ref, b->err);
    if (!ref)
        return CX_ENOMEM;
    compute_eq_labels(b);
    resolve_equalities(b, ref);
    number_free(b, ref);
    free(ref);
    for (size_t k = 0; k < pt->n_rows; k++) {
        sem_param *r = &pt->rows[k];
        r->start = b->extra[k].ustart;
        r->fixed_value = r->free ? NAN : b->extra[k].ustart;
    }
    int rc = add_constraints(b, flat);
    if (rc == CX_OK)
        rc = copy_names(&pt->ov_names, &pt->n_ov, &b->names.ov, b->err);
    if (rc == CX_OK)
        rc = copy_names(&pt->lv_names, &pt->n_lv, &b->names.lv, b->err);
    return rc;
}

sem_partable *sem_partable_build(const char *syntax, const sem_options *opt, cx_error *err)
{
    sem_flat flat = {0};
    builder b = {0};
    b.err = err;
    b.opt = opt;
    b.flat = &flat;
    b.pt = cx_calloc(1, sizeof *b.pt, err);
    if (!b.pt)
        return NULL;
    int rc = sem_syntax_parse(syntax, &flat, err);
    if (rc == CX_OK)
        rc = check_supported(opt, &flat, err);
    if (rc == CX_OK) {
        builder_setup(&b, opt, &flat);
        b.pt->n_groups = opt->n_groups;
        b.pt->meanstructure = b.meanstructure;
        rc = build_rows(&b);
    }
    if (rc == CX_OK)
        rc = finish_rows(&b, &flat);
    free(b.extra);
    names_free(&b.names);
    sem_flat_clear(&flat);
    if (rc != CX_OK) {
        sem_partable_free(b.pt);
        return NULL;
    }
    return b.pt;
}

static void free_names(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
}

void sem_partable_free(sem_partable *pt)
{
    if (!pt)
        return;
    for (size_t k = 0; k < pt->n_rows; k++)
        sem_expr_free(pt->rows[k].expr);
    free(pt->rows);
    free_names(pt->ov_names, pt->n_ov);
    free_names(pt->lv_names, pt->n_lv);
    free(pt);
}
