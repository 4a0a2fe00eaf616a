/*
 * mixed_validate.c — `validate = kfold(K)` and `holdout(EXPR)` for
 * `model = mixed` (docs/models/mixed.md, "Validation").
 *
 * The one pass (mixed_pass.c) kept the per-cell sums of v v', v = [z x y],
 * per slot (fold, or training / holdout side).  A split's training fit is
 * the ordinary fit of the merge of its training slots (the engine's rule:
 * one pass serves every fold).  Its predictions are linear in v: for a
 * held-out row of cell c, y - yhat = -w'v with w = [u_c, beta, -1], u_c the
 * training BLUPs of the cell's level in each grouping term (0 for a level
 * the training rows never saw, lme4's allow.new.levels = TRUE), so the
 * cell's held-out SSE is w' S_c w with S_c its held-out sums: no second
 * pass.  MAE needs the rows and is not written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mixed.h"
#include "reducer.h"

/* Out-of-sample sums of one split. */
typedef struct mx_oos {
    double n_train, n_test, sse, sy, syy;
    int ok;
} mx_oos;

/* Level of term tm whose grouping values are cell c's, by binary search
 * over its levels (sorted lexicographically); SIZE_MAX when unseen. */
static size_t find_level(const mx_term *tm, const cx_view *g, size_t c)
{
    const double *cv = g->level_values + c * g->n_group_cols;
    size_t lo = 0, hi = tm->n_levels;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const double *lv = tm->levels + mid * tm->n_gcols;
        int cmp = 0;
        for (size_t k = 0; k < tm->n_gcols && !cmp; k++) {
            double x = lv[k], y = cv[tm->gcol[k]];
            cmp = x < y ? -1 : x > y ? 1 : 0;
        }
        if (cmp == 0)
            return mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* The training problem of split k: the sums of every slot that trains. */
static int training_problem(const mx_refit_ctx *ctx, const mx_problem *pr, size_t test,
                            mx_problem *tp, cx_error *err)
{
    size_t C = pr->n_cells, mm = pr->m * pr->m;
    tp->p = pr->p;
    tp->nz = pr->nz;
    tp->m = pr->m;
    tp->n_cells = C;
    tp->n_slots = 1;
    tp->cells = cx_calloc(C * mm + 1, sizeof *tp->cells, err);
    tp->cell_n = cx_calloc(C + 1, sizeof *tp->cell_n, err);
    if (!tp->cells || !tp->cell_n)
        return CX_ENOMEM;
    for (size_t s = 0; s < pr->n_slots; s++) {
        if (s == test)
            continue;
        for (size_t i = 0; i < C * mm; i++)
            tp->cells[i] += pr->slot_cells[s * C * mm + i];
        for (size_t c = 0; c < C; c++)
            tp->cell_n[c] += pr->slot_n[s * C + c];
    }
    for (size_t c = 0; c < C; c++)
        tp->n += tp->cell_n[c];
    int rc = mx_terms_setup(ctx->f, ctx->d, ctx->gcols, ctx->n_gcols, ctx->t, tp, err);
    return rc ? rc : mx_system_build(tp, ctx->grouped, err);
}

/* Held-out sums of slot `test` under the training fit (tp, sol). */
static int score(const mx_refit_ctx *ctx, const mx_problem *pr, const mx_problem *tp,
                 const mx_solution *sol, size_t test, mx_oos *o, cx_error *err)
{
    size_t C = pr->n_cells, m = pr->m, mm = m * m;
    double *w = cx_malloc(m * sizeof *w, err), *sw = cx_malloc(m * sizeof *sw, err);
    int rc = w && sw ? CX_OK : CX_ENOMEM;
    for (size_t c = 0; rc == CX_OK && c < C; c++) {
        double nc = pr->slot_n[test * C + c];
        if (nc <= 0)
            continue;
        const double *S = pr->slot_cells + (test * C + c) * mm;
        for (size_t j = 0; j < pr->nz; j++)
            w[j] = 0;
        for (size_t t = 0; t < tp->n_terms; t++) {
            const mx_term *tm = &tp->terms[t];
            size_t l = find_level(tm, ctx->grouped, c);
            for (size_t j = 0; l != SIZE_MAX && j < tm->q; j++)
                w[tm->zcol[j]] += sol->b[tm->off + l * tm->q + j];
        }
        for (size_t j = 0; j < pr->p; j++)
            w[pr->nz + j] = sol->beta[j];
        w[m - 1] = -1;
        double sse = 0;
        for (size_t j = 0; j < m; j++) {
            sw[j] = 0;
            for (size_t i = 0; i < m; i++)
                sw[j] += S[j * m + i] * w[i];
            sse += w[j] * sw[j];
        }
        o->n_test += nc;
        o->sse += sse;
        o->sy += pr->slot_sy[test * C + c];
        o->syy += S[mm - 1];
    }
    free(w);
    free(sw);
    return rc;
}

/* Training fit of split `test` and its held-out sums; o->ok = 0 (with
 * the reason in why) when the training fit fails. */
static int run_split(const cx_job *job, const mx_refit_ctx *ctx, const mx_problem *pr, size_t test,
                     mx_oos *o, char *why, size_t why_len, cx_error *err)
{
    mx_problem tp = {0};
    mx_pls *w = NULL;
    mx_opt_result opt = {0};
    mx_solution sol = {0};
    cx_error e = {0};
    memset(o, 0, sizeof *o);
    int rc = training_problem(ctx, pr, test, &tp, &e);
    o->n_train = tp.n;
    if (!rc)
        rc = mx_check_sizes(job, &tp, &e);
    if (!rc && !(w = mx_pls_alloc(&tp, ctx->reml, &e)))
        rc = e.code ? e.code : CX_ENOMEM;
    if (!rc)
        rc = mx_optimize(w, &tp, &opt, &e);
    if (!rc)
        rc = mx_pls_solution(w, opt.theta, &sol, &e);
    if (!rc)
        rc = score(ctx, pr, &tp, &sol, test, o, &e);
    o->ok = rc == CX_OK;
    if (rc == CX_OK && !opt.converged)
        snprintf(why, why_len, "the training fit did not converge");
    else if (rc != CX_OK)
        snprintf(why, why_len, "%s", e.msg[0] ? e.msg : "the training fit failed");
    if (rc != CX_OK && rc != CX_ENOMEM) {
        /* the held-out rows count even though the training failed */
        double n_test = 0;
        for (size_t c = 0; c < pr->n_cells; c++)
            n_test += pr->slot_n[test * pr->n_cells + c];
        o->n_test = n_test;
        rc = CX_OK;
    } else if (rc == CX_ENOMEM) {
        cx_error_set(err, CX_ENOMEM, "%s", e.msg);
    }
    mx_solution_free(&sol);
    free(opt.theta);
    mx_pls_free(w);
    mx_problem_free(&tp);
    return rc;
}

static int write_split(cx_result *res, const char *split, const double *v, cx_error *err)
{
    static const char *const names[] = {"n_train", "n_test", "r2", "rmse"};
    for (size_t j = 0; j < 4; j++)
        if (cx_result_add_validation(res, split, names[j], v[j], err))
            return err->code;
    return CX_OK;
}

int mx_validate(const cx_job *job, const mx_refit_ctx *ctx, const mx_problem *pr, cx_result *res,
                cx_error *err)
{
    if (pr->n_slots < 2)
        return CX_OK;
    int kfold = job->validate == CX_VALIDATE_KFOLD;
    double sum[4] = {0};
    size_t used = 0;
    for (size_t k = kfold ? 0 : 1; k < pr->n_slots; k++) {
        mx_oos o;
        char why[CX_ERROR_MSG_MAX] = "", split[32];
        int rc = run_split(job, ctx, pr, k, &o, why, sizeof why, err);
        if (rc)
            return rc;
        if (kfold)
            snprintf(split, sizeof split, "fold%zu", k + 1);
        else
            snprintf(split, sizeof split, "holdout");
        if (why[0])
            cx_result_add_warning(res, "validation split %s: %s", split, why);
        double sst = o.syy - o.sy * o.sy / o.n_test;
        double v[4] = {o.n_train, o.n_test, NAN, NAN};
        if (o.ok && o.n_test > 0) {
            v[2] = sst > 0 ? 1 - o.sse / sst : NAN;
            v[3] = sqrt(o.sse / o.n_test);
        }
        if ((rc = write_split(res, split, v, err)))
            return rc;
        if (o.ok && !isnan(v[3])) {
            for (size_t j = 0; j < 4; j++)
                sum[j] += v[j];
            used++;
        }
    }
    if (!kfold || used == 0)
        return CX_OK;
    for (size_t j = 0; j < 4; j++)
        sum[j] /= (double)used;
    return write_split(res, "mean", sum, err);
}
