/*
 * test_optimize.c — the engine's optimizer (engine/optimize.c) on problems
 * whose answers are known without it:
 *   - a quadratic: one Newton step lands on A^-1 b;
 *   - Rosenbrock's function with its exact Hessian, from (-1.2, 1), where
 *     the Hessian is not positive definite along the way: (1, 1);
 *   - a logistic regression on one binary covariate, maximized by Fisher
 *     scoring: the closed form is logit of the two observed proportions,
 *     and the inverse information gives the textbook standard errors;
 *   - an objective that cannot be evaluated past a boundary (x - log x
 *     from x = 3, whose first Newton step lands at -3): step halving
 *     recovers; one that is NaN or fails at the start: a status, not a
 *     crash;
 *   - max_iter reached, a singular curvature, a line search that cannot
 *     succeed (a gradient of the wrong sign), a workspace too small;
 *   - the protocol callers rely on: derivatives(x) only right after
 *     value(x), and the last calls at the returned x;
 *   - the predicted stop (predict_stop): the same logistic estimates to
 *     1e-12 with one value() call fewer, the returned point one Newton
 *     step past the last evaluated one; never taken on a damped step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optimize.h"

/* Every callback records where it was called, to check the protocol. */
typedef struct trace {
    double last_value_x[4];
    size_t n;
    int value_calls, derivative_calls;
    int out_of_order; /* derivatives at a point value() was not last called at */
} trace;

static void trace_value(trace *t, const double *x)
{
    memcpy(t->last_value_x, x, t->n * sizeof *x);
    t->value_calls++;
}

static void trace_derivatives(trace *t, const double *x)
{
    t->derivative_calls++;
    if (memcmp(t->last_value_x, x, t->n * sizeof *x) != 0)
        t->out_of_order++;
}

/* ---- a quadratic: f = x'Ax/2 - b'x ---------------------------------------- */

static const double quad_a[9] = {4, 1, 0, 1, 3, 1, 0, 1, 2};
static const double quad_b[3] = {1, 2, 3};

static int quad_value(const double *x, double *f, void *data, cx_error *err)
{
    (void)err;
    trace_value(data, x);
    double v = 0;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            v += 0.5 * x[i] * quad_a[i * 3 + j] * x[j];
        v -= quad_b[i] * x[i];
    }
    *f = v;
    return CX_OK;
}

static int quad_derivatives(const double *x, double *g, double *h, void *data, cx_error *err)
{
    (void)err;
    trace_derivatives(data, x);
    for (int i = 0; i < 3; i++) {
        g[i] = -quad_b[i];
        for (int j = 0; j < 3; j++)
            g[i] += quad_a[i * 3 + j] * x[j];
    }
    memcpy(h, quad_a, sizeof quad_a);
    return CX_OK;
}

static void test_quadratic(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_optimizer *w = cx_optimizer_alloc(3, &err);
    assert_non_null(w);
    trace t = {.n = 3};
    cx_objective obj = {3, CX_OPT_MINIMIZE, quad_value, quad_derivatives, &t};
    double x[3] = {10, -10, 5};
    cx_opt_report rep;
    assert_int_equal(cx_optimizer_run(w, &obj, x, NULL, &rep, &err), CX_OPT_CONVERGED);
    /* A^-1 b by hand: adj(A) b / det A, det A = 18, x = (4, 2, 26) / 18 */
    const double want[3] = {1.0 / 18.0 * (5 * 1 - 2 * 2 + 1 * 3), 1.0 / 18.0 * (-2 + 8 * 2 - 4 * 3),
                            1.0 / 18.0 * (1 - 4 * 2 + 11 * 3)};
    for (int i = 0; i < 3; i++)
        assert_true(fabs(x[i] - want[i]) < 1e-14);
    /* one Newton step, then one that confirms it (moves nothing) */
    assert_int_equal(rep.iterations, 2);
    assert_true(rep.grad_norm < 1e-14);
    assert_int_equal(rep.status, CX_OPT_CONVERGED);
    assert_int_equal(t.out_of_order, 0);
    assert_memory_equal(t.last_value_x, x, sizeof x);
    /* evaluate: the curvature at a point, without moving */
    double y[3] = {1, 1, 1};
    assert_int_equal(cx_optimizer_evaluate(w, &obj, y, &rep, &err), CX_OPT_CONVERGED);
    assert_int_equal(rep.iterations, 0);
    assert_true(rep.f == 0.5 * (4 + 3 + 2 + 2 * 1 + 2 * 1) - 6);
    assert_true(cx_optimizer_gradient(w)[0] == 4 + 1 - 1);
    assert_true(cx_optimizer_curvature(w)[4] == 3);
    cx_optimizer_free(w);
}

/* ---- Rosenbrock: f = (1 - a)^2 + 100 (b - a^2)^2 ---------------------------- */

static int rosen_value(const double *x, double *f, void *data, cx_error *err)
{
    (void)err;
    trace_value(data, x);
    double a = x[0], b = x[1];
    *f = (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a);
    return CX_OK;
}

static int rosen_derivatives(const double *x, double *g, double *h, void *data, cx_error *err)
{
    (void)err;
    trace_derivatives(data, x);
    double a = x[0], b = x[1];
    g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
    g[1] = 200 * (b - a * a);
    h[0] = 2 - 400 * b + 1200 * a * a;
    h[1] = h[2] = -400 * a;
    h[3] = 200;
    return CX_OK;
}

static void test_rosenbrock(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_optimizer *w = cx_optimizer_alloc(2, &err);
    trace t = {.n = 2};
    cx_objective obj = {2, CX_OPT_MINIMIZE, rosen_value, rosen_derivatives, &t};
    double x[2] = {-1.2, 1.0};
    cx_opt_report rep;
    assert_int_equal(cx_optimizer_run(w, &obj, x, NULL, &rep, &err), CX_OPT_CONVERGED);
    assert_true(fabs(x[0] - 1) < 1e-10 && fabs(x[1] - 1) < 1e-10);
    assert_true(rep.f < 1e-20);
    assert_true(rep.iterations > 5 && rep.iterations < 50);
    assert_true(rep.evaluations > rep.iterations); /* some steps were halved */
    assert_int_equal(t.out_of_order, 0);
    assert_memory_equal(t.last_value_x, x, sizeof x);
    print_message("rosenbrock: %d iterations, %d evaluations\n", rep.iterations, rep.evaluations);

    /* the same with max_iter = 3: stopped, and it says so */
    double y[2] = {-1.2, 1.0};
    cx_opt_options few = {.max_iter = 3};
    assert_int_equal(cx_optimizer_run(w, &obj, y, &few, &rep, &err), CX_OPT_MAX_ITER);
    assert_int_equal(rep.iterations, 3);
    assert_true(rep.grad_norm > 1e-8);
    assert_true(rep.grad_norm ==
                fmax(fabs(cx_optimizer_gradient(w)[0]), fabs(cx_optimizer_gradient(w)[1])));
    assert_memory_equal(t.last_value_x, y, sizeof y);
    assert_string_equal(cx_opt_status_text(rep.status), "the iteration limit was reached");
    cx_optimizer_free(w);
}

/* ---- logistic regression by Fisher scoring ---------------------------------
 * y ~ 1 + x, x binary: group 0 has 10 successes in 40, group 1 39 in 60.
 * The MLE reproduces the two proportions: b0 = logit(p0),
 * b1 = logit(p1) - logit(p0); var b0 = 1/(n0 p0 q0),
 * var b1 = 1/(n0 p0 q0) + 1/(n1 p1 q1).  The rows are visited one by one,
 * as a streamed family would. */

#define LOGIT_N 100

typedef struct logit_data {
    trace t;
    double x[LOGIT_N], y[LOGIT_N];
} logit_data;

static void logit_data_init(logit_data *d)
{
    memset(d, 0, sizeof *d);
    d->t.n = 2;
    for (int i = 0; i < LOGIT_N; i++) {
        d->x[i] = i < 40 ? 0 : 1;
        d->y[i] = i < 40 ? (i < 10) : (i - 40 < 39);
    }
}

static int logit_value(const double *b, double *ll, void *data, cx_error *err)
{
    (void)err;
    logit_data *d = data;
    trace_value(&d->t, b);
    double s = 0;
    for (int i = 0; i < LOGIT_N; i++) {
        double eta = b[0] + b[1] * d->x[i];
        s += d->y[i] * eta - log1p(exp(eta));
    }
    *ll = s;
    return CX_OK;
}

/* score and Fisher information sum_i p_i (1 - p_i) x_i x_i' */
static int logit_derivatives(const double *b, double *score, double *info, void *data,
                             cx_error *err)
{
    (void)err;
    logit_data *d = data;
    trace_derivatives(&d->t, b);
    memset(score, 0, 2 * sizeof *score);
    memset(info, 0, 4 * sizeof *info);
    for (int i = 0; i < LOGIT_N; i++) {
        double p = 1 / (1 + exp(-(b[0] + b[1] * d->x[i]))), z[2] = {1, d->x[i]};
        for (int k = 0; k < 2; k++) {
            score[k] += (d->y[i] - p) * z[k];
            for (int l = 0; l < 2; l++)
                info[k * 2 + l] += p * (1 - p) * z[k] * z[l];
        }
    }
    return CX_OK;
}

static void test_logistic_fisher_scoring(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_optimizer *w = cx_optimizer_alloc(2, &err);
    logit_data *d = malloc(sizeof *d);
    logit_data_init(d);
    cx_objective obj = {2, CX_OPT_MAXIMIZE, logit_value, logit_derivatives, d};
    double b[2] = {0, 0};
    cx_opt_report rep;
    assert_int_equal(cx_optimizer_run(w, &obj, b, NULL, &rep, &err), CX_OPT_CONVERGED);
    double p0 = 10.0 / 40.0, p1 = 39.0 / 60.0;
    double b0 = log(p0 / (1 - p0)), b1 = log(p1 / (1 - p1)) - b0;
    assert_true(fabs(b[0] - b0) < 1e-12 && fabs(b[1] - b1) < 1e-12);
    /* the maximum: log-likelihood of the two binomials at their proportions */
    double ll = 10 * log(p0) + 30 * log(1 - p0) + 39 * log(p1) + 21 * log(1 - p1);
    assert_true(fabs(rep.f - ll) < 1e-11);
    assert_true(rep.iterations <= 8);
    /* standard errors from the information at the solution */
    const double *info = cx_optimizer_curvature(w);
    double det = info[0] * info[3] - info[1] * info[2];
    double v0 = info[3] / det, v1 = info[0] / det;
    double w0 = 1 / (40 * p0 * (1 - p0)), w1 = w0 + 1 / (60 * p1 * (1 - p1));
    assert_true(fabs(v0 - w0) < 1e-12 * w0 && fabs(v1 - w1) < 1e-12 * w1);
    assert_int_equal(d->t.out_of_order, 0);
    print_message("logit: %d iterations, b = (%.15g, %.15g)\n", rep.iterations, b[0], b[1]);
    free(d);
    cx_optimizer_free(w);
}

/* The predicted stop: the last evaluated point plus its Newton step, the
 * same optimum, one evaluation fewer than the step test. */
static void test_predicted_stop(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_optimizer *w = cx_optimizer_alloc(2, &err);
    logit_data *d = malloc(sizeof *d);
    logit_data_init(d);
    cx_objective obj = {2, CX_OPT_MAXIMIZE, logit_value, logit_derivatives, d};
    double b[2] = {0, 0}, bp[2] = {0, 0};
    cx_opt_report rep, rp;
    cx_opt_options plain = {.xtol = 1e-4}, pred = {.xtol = 1e-4, .predict_stop = 1};
    assert_int_equal(cx_optimizer_run(w, &obj, b, &plain, &rep, &err), CX_OPT_CONVERGED);
    assert_int_equal(rep.unevaluated, 0);
    assert_int_equal(cx_optimizer_run(w, &obj, bp, &pred, &rp, &err), CX_OPT_CONVERGED);
    assert_int_equal(rp.unevaluated, 1);
    assert_int_equal(rp.evaluations, rep.evaluations - 1);
    assert_int_equal(rp.iterations, rep.iterations);
    double p0 = 10.0 / 40.0, p1 = 39.0 / 60.0;
    double b0 = log(p0 / (1 - p0)), b1 = log(p1 / (1 - p1)) - b0;
    assert_true(fabs(bp[0] - b0) < 1e-12 && fabs(bp[1] - b1) < 1e-12);
    /* the last value() call was at the point before the returned one */
    assert_int_equal(d->t.out_of_order, 0);
    assert_true(memcmp(d->t.last_value_x, bp, sizeof bp) != 0);
    free(d);
    /* Rosenbrock from (-1.2, 1): the first Newton steps are damped or
     * halved; the predicted stop waits for an undamped small step */
    trace t = {.n = 2};
    cx_objective ro = {2, CX_OPT_MINIMIZE, rosen_value, rosen_derivatives, &t};
    double x[2] = {-1.2, 1};
    cx_opt_options rpred = {.xtol = 1e-6, .predict_stop = 1};
    assert_int_equal(cx_optimizer_run(w, &ro, x, &rpred, &rp, &err), CX_OPT_CONVERGED);
    assert_true(fabs(x[0] - 1) < 1e-10 && fabs(x[1] - 1) < 1e-10);
    cx_optimizer_free(w);
}

/* ---- objectives that cannot be evaluated everywhere --------------------- */

/* f = x - log x, minimum at 1; undefined for x <= 0 (an error, as SEM's
 * covariance matrix that is not positive definite) */
static int xlogx_value(const double *x, double *f, void *data, cx_error *err)
{
    trace_value(data, x);
    if (x[0] <= 0)
        return cx_error_set(err, CX_EFAIL, "x = %g is outside the domain", x[0]);
    *f = x[0] - log(x[0]);
    return CX_OK;
}

static int xlogx_derivatives(const double *x, double *g, double *h, void *data, cx_error *err)
{
    (void)err;
    trace_derivatives(data, x);
    g[0] = 1 - 1 / x[0];
    h[0] = 1 / (x[0] * x[0]);
    return CX_OK;
}

static int nan_value(const double *x, double *f, void *data, cx_error *err)
{
    (void)x;
    (void)data;
    (void)err;
    *f = NAN;
    return CX_OK;
}

static void test_not_finite(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_optimizer *w = cx_optimizer_alloc(1, &err);
    trace t = {.n = 1};
    cx_objective obj = {1, CX_OPT_MINIMIZE, xlogx_value, xlogx_derivatives, &t};
    double x[1] = {3};
    cx_opt_report rep;
    /* the first Newton step goes to -3; halving brings it back into the domain */
    assert_int_equal(cx_optimizer_run(w, &obj, x, NULL, &rep, &err), CX_OPT_CONVERGED);
    assert_true(fabs(x[0] - 1) < 1e-12);
    assert_true(rep.evaluations > rep.iterations + 1);
    assert_int_equal(err.code, CX_OK); /* trial failures do not leak into err */
    /* outside the domain at the start: the callback's message */
    x[0] = -1;
    assert_int_equal(cx_optimizer_run(w, &obj, x, NULL, &rep, &err), CX_OPT_EVAL_FAILED);
    assert_string_equal(err.msg, "x = -1 is outside the domain");
    assert_int_equal(rep.iterations, 0);
    /* NaN at the start */
    cx_objective nan_obj = {1, CX_OPT_MINIMIZE, nan_value, xlogx_derivatives, &t};
    x[0] = 2;
    assert_int_equal(cx_optimizer_run(w, &nan_obj, x, NULL, &rep, &err), CX_OPT_NOT_FINITE);
    assert_true(x[0] == 2);
    assert_true(isnan(rep.f));
    cx_optimizer_free(w);
}

/* ---- failures with a status -------------------------------------------------- */

static int zero_curvature(const double *x, double *g, double *h, void *data, cx_error *err)
{
    (void)err;
    trace_derivatives(data, x);
    g[0] = 1 - 1 / x[0];
    h[0] = 0;
    return CX_OK;
}

/* the gradient of -f: every step goes uphill */
static int wrong_gradient(const double *x, double *g, double *h, void *data, cx_error *err)
{
    (void)err;
    trace_derivatives(data, x);
    g[0] = -(1 - 1 / x[0]);
    h[0] = 1 / (x[0] * x[0]);
    return CX_OK;
}

static void test_failures(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_optimizer *w = cx_optimizer_alloc(1, &err);
    trace t = {.n = 1};
    double x[1] = {3};
    cx_opt_report rep;
    cx_objective singular = {1, CX_OPT_MINIMIZE, xlogx_value, zero_curvature, &t};
    assert_int_equal(cx_optimizer_run(w, &singular, x, NULL, &rep, &err),
                     CX_OPT_SINGULAR_CURVATURE);
    assert_true(x[0] == 3 && rep.iterations == 0);
    cx_objective uphill = {1, CX_OPT_MINIMIZE, xlogx_value, wrong_gradient, &t};
    assert_int_equal(cx_optimizer_run(w, &uphill, x, NULL, &rep, &err), CX_OPT_LINE_SEARCH_FAILED);
    assert_true(x[0] == 3);
    /* the rejected trials are not where the model was left */
    assert_true(t.last_value_x[0] == 3);
    assert_int_equal(t.out_of_order, 0);
    assert_true(rep.f == 3 - log(3.0));
    /* a workspace for 1 parameter cannot take 2 */
    trace t2 = {.n = 2};
    cx_objective two = {2, CX_OPT_MINIMIZE, rosen_value, rosen_derivatives, &t2};
    double y[2] = {0, 0};
    assert_int_equal(cx_optimizer_run(w, &two, y, NULL, &rep, &err), CX_OPT_EVAL_FAILED);
    assert_int_equal(err.code, CX_EUSAGE);
    assert_int_equal(t2.value_calls, 0);
    cx_optimizer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quadratic),
        cmocka_unit_test(test_rosenbrock),
        cmocka_unit_test(test_logistic_fisher_scoring),
        cmocka_unit_test(test_predicted_stop),
        cmocka_unit_test(test_not_finite),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
