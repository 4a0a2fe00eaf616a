/*
 * mixed_opt.c — theta, the relative covariance factor's parameters, by
 * minimizing the profiled deviance (ML) or REML criterion of mixed_pls.c.
 *
 * lme4 uses bobyqa (then Nelder-Mead) with lower bounds 0 on the diagonal
 * elements of each T.  Here: GSL's Nelder-Mead (gsl_multimin
 * nmsimplex2) without bounds, which needs none: the criterion depends on
 * theta only through T T', and flipping the sign of a column of T leaves
 * T T' unchanged, so a negative diagonal is as good as its mirror image;
 * at the end each column with a negative diagonal is flipped, giving
 * lme4's canonical theta (diagonal >= 0).  The start is lme4's (diagonal
 * 1, off-diagonal 0), the initial steps 0.25.  Stopping rule: the
 * simplex's size (mean distance of its vertices from their centre) below
 * 1e-7, followed by restarts from the best vertex until a restart no
 * longer lowers the criterion by more than 1e-12 (Nelder-Mead can stall
 * on a flat valley; the restart is the usual remedy).  At most 50000
 * evaluations in all, else the job is not_converged.
 *
 * Polish: the criterion is flat at the optimum, so Nelder-Mead's theta is
 * only ~1e-5..1e-7 from it (a covariance near zero is then 1e-5 off
 * relative).  Up to 3 Newton steps with central-difference gradient and
 * Hessian follow, each kept unless the criterion rises by more than 1e-8
 * relative (its rounding noise is ~1e-12 relative, so comparing values
 * cannot tell points this close apart; the Newton step can).  The step
 * 1e-3 keeps the gradient's noise (noise / step) near 1e-9 while the
 * smooth criterion's truncation error stays far below.  Skipped for a
 * singular fit (theta on the boundary, where the criterion is not smooth
 * in the sense Newton needs).
 *
 * Singular fit: as lme4's isSingular(tol = 1e-4), a diagonal element of
 * theta below 1e-4 (a variance, or a variance given the others, on the
 * boundary zero).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <gsl/gsl_multimin.h>
#include <lapacke.h>

#include "mixed.h"

#define MX_SIZE_TOL 1e-7
#define MX_MAX_EVALS 50000
#define MX_SINGULAR_TOL 1e-4

typedef struct opt_ctx {
    mx_pls *w;
    long evals;
} opt_ctx;

static double objective(const gsl_vector *x, void *params)
{
    opt_ctx *c = params;
    c->evals++;
    return mx_pls_deviance(c->w, x->data);
}

/* One Nelder-Mead run from x; returns the minimum, x updated. */
static double nm_run(opt_ctx *ctx, gsl_vector *x, gsl_vector *step, gsl_multimin_fminimizer *s,
                     gsl_multimin_function *fn, int *hit_max)
{
    gsl_multimin_fminimizer_set(s, fn, x, step);
    int status = GSL_CONTINUE;
    while (status == GSL_CONTINUE && ctx->evals < MX_MAX_EVALS) {
        if (gsl_multimin_fminimizer_iterate(s))
            break;
        status = gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), MX_SIZE_TOL);
    }
    *hit_max = status == GSL_CONTINUE;
    gsl_vector_memcpy(x, gsl_multimin_fminimizer_x(s));
    return gsl_multimin_fminimizer_minimum(s);
}

/* Flip columns of each T with a negative diagonal (T T' unchanged). */
static void canonical(const mx_problem *pr, double *theta)
{
    for (size_t r = 0; r < pr->n_bars; r++) {
        const mx_bar *b = &pr->bars[r];
        double *th = theta + b->theta0;
        size_t at = 0;
        for (size_t j = 0; j < b->k; j++) {
            size_t len = b->correlated ? b->k - j : 1;
            if (th[at] < 0)
                for (size_t i = 0; i < len; i++)
                    th[at + i] = -th[at + i];
            at += len;
        }
    }
}

static int is_singular(const mx_problem *pr, const double *theta)
{
    for (size_t r = 0; r < pr->n_bars; r++) {
        const mx_bar *b = &pr->bars[r];
        size_t at = 0;
        for (size_t j = 0; j < b->k; j++) {
            if (fabs(theta[b->theta0 + at]) < MX_SINGULAR_TOL)
                return 1;
            at += b->correlated ? b->k - j : 1;
        }
    }
    return 0;
}

/* f at x + hi e_i + hj e_j (i, j may be SIZE_MAX: no step). */
static double shifted(mx_fn f, void *ctx, double *x, size_t i, double hi, size_t j, double hj)
{
    if (i != SIZE_MAX)
        x[i] += hi;
    if (j != SIZE_MAX)
        x[j] += hj;
    double v = f(ctx, x);
    if (i != SIZE_MAX)
        x[i] -= hi;
    if (j != SIZE_MAX)
        x[j] -= hj;
    return v;
}

long mx_hessian(mx_fn f, void *ctx, double *x, size_t n, const double *h, double f0, double *g,
                double *H)
{
    long evals = 0;
    for (size_t i = 0; i < n; i++) {
        double fp = shifted(f, ctx, x, i, h[i], SIZE_MAX, 0);
        double fm = shifted(f, ctx, x, i, -h[i], SIZE_MAX, 0);
        g[i] = (fp - fm) / (2 * h[i]);
        H[i * n + i] = (fp - 2 * f0 + fm) / (h[i] * h[i]);
        for (size_t j = 0; j < i; j++) {
            double v =
                shifted(f, ctx, x, i, h[i], j, h[j]) - shifted(f, ctx, x, i, h[i], j, -h[j]) -
                shifted(f, ctx, x, i, -h[i], j, h[j]) + shifted(f, ctx, x, i, -h[i], j, -h[j]);
            H[j * n + i] = H[i * n + j] = v / (4 * h[i] * h[j]);
        }
        evals += 2 + 4 * (long)i;
    }
    return evals;
}

static double deviance_fn(void *ctx, const double *x)
{
    return mx_pls_deviance(((opt_ctx *)ctx)->w, x);
}

/* Newton steps on central differences; work: n*(n+4) doubles. */
static double polish(opt_ctx *c, double *x, size_t n, double f0, double *work)
{
    double *g = work, *H = work + n, *trial = work + n + n * n, *h = trial + n;
    for (size_t i = 0; i < n; i++)
        h[i] = 1e-3;
    for (int it = 0; it < 3; it++) {
        c->evals += mx_hessian(deviance_fn, c, x, n, h, f0, g, H);
        if (LAPACKE_dposv(LAPACK_COL_MAJOR, 'L', (lapack_int)n, 1, H, (lapack_int)n, g,
                          (lapack_int)n) != 0)
            break; /* not positive definite: stay with Nelder-Mead's point */
        for (size_t i = 0; i < n; i++)
            trial[i] = x[i] - g[i];
        c->evals++;
        double f1 = mx_pls_deviance(c->w, trial);
        if (!(f1 <= f0 + 1e-8 * fmax(1.0, fabs(f0))))
            break;
        for (size_t i = 0; i < n; i++)
            x[i] = trial[i];
        f0 = f1;
    }
    return f0;
}

int mx_optimize(mx_pls *w, const mx_problem *pr, mx_opt_result *o, cx_error *err)
{
    size_t n = pr->ntheta;
    o->theta = cx_calloc(n + 1, sizeof *o->theta, err);
    if (!o->theta)
        return CX_ENOMEM;
    gsl_vector *x = gsl_vector_alloc(n), *step = gsl_vector_alloc(n);
    gsl_multimin_fminimizer *s =
        x && step ? gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, n) : NULL;
    if (!s) {
        gsl_vector_free(x);
        gsl_vector_free(step);
        return cx_error_set(err, CX_ENOMEM, "out of memory for the optimizer");
    }
    for (size_t r = 0; r < pr->n_bars; r++) { /* lme4's start: T = I */
        const mx_bar *b = &pr->bars[r];
        size_t at = 0;
        for (size_t j = 0; j < b->k; j++) {
            size_t len = b->correlated ? b->k - j : 1;
            for (size_t i = 0; i < len; i++)
                gsl_vector_set(x, b->theta0 + at + i, i == 0 ? 1.0 : 0.0);
            at += len;
        }
    }
    opt_ctx ctx = {w, 0};
    gsl_multimin_function fn = {objective, n, &ctx};
    gsl_vector_set_all(step, 0.25);
    int hit_max = 0;
    double best = nm_run(&ctx, x, step, s, &fn, &hit_max);
    for (int restart = 0; restart < 20 && !hit_max; restart++) {
        gsl_vector_set_all(step, 1e-3);
        double again = nm_run(&ctx, x, step, s, &fn, &hit_max);
        int better = again < best - 1e-12;
        if (again < best)
            best = again;
        if (!better)
            break;
    }
    for (size_t i = 0; i < n; i++)
        o->theta[i] = gsl_vector_get(x, i);
    canonical(pr, o->theta);
    double *work =
        is_singular(pr, o->theta) || hit_max ? NULL : cx_malloc(n * (n + 4) * sizeof *work, err);
    if (work) {
        best = polish(&ctx, o->theta, n, mx_pls_deviance(w, o->theta), work);
        canonical(pr, o->theta);
        free(work);
    }
    o->dev = best;
    o->evals = ctx.evals;
    o->converged = !hit_max && isfinite(best);
    o->singular = is_singular(pr, o->theta);
    gsl_multimin_fminimizer_free(s);
    gsl_vector_free(x);
    gsl_vector_free(step);
    return CX_OK;
}
