/*
 * optimize.h — the one optimizer of cxfit: damped Newton / Fisher scoring
 * with step halving, for every model that is fitted by iteration (SEM's
 * ML discrepancy now; logit, ordinal logit and mixed models next).
 *
 * A model describes its problem as a cx_objective: a dimension, a sense
 * (minimize a discrepancy or maximize a log-likelihood) and two callbacks
 * with user data:
 *   value(x)        the objective;
 *   derivatives(x)  its gradient and a curvature matrix C, always in the
 *                   "positive definite near the solution" convention:
 *                     minimize: the Hessian of f, or its expectation
 *                               (SEM: the expected information);
 *                     maximize: minus the Hessian of the log-likelihood
 *                               (observed information) or the expected
 *                               (Fisher) information — Fisher scoring.
 * The step solves C step = -gradient (minimize) or C step = score
 * (maximize) by Cholesky (LAPACKE dpotrf/dpotrs).  Where C is not
 * positive definite (away from the optimum) it is damped Levenberg-style,
 * C + mu diag(C), mu = 1e-10 .. 1e4; then the step is halved until the
 * objective does not get worse (beyond rounding).
 *
 * Protocol, relied on by callers that keep state between callbacks:
 * derivatives(x) is called only right after value(x) at the same x; and
 * on return the last calls were value and derivatives at the returned x,
 * so a model may reuse what they left behind (SEM's implied moments).  A
 * model whose rows are streamed (one pass gives log-likelihood, score and
 * information together) may compute everything in value() and hand the
 * cached derivatives out in derivatives().
 *
 * value() may fail (return a cx_error code) or return a non-finite value
 * at a trial point: the step is halved.  At the start point that ends the
 * run (CX_OPT_EVAL_FAILED with the callback's message / CX_OPT_NOT_FINITE).
 *
 * Converged: a step that moves every parameter by less than
 * xtol (1 + |x_k|) while the largest gradient element is below gtol, or
 * two such steps in a row; and, when the iteration stops otherwise (line
 * search, singular curvature, max_iter), a gradient below gtol.
 *
 * Predicted stop (option predict_stop, off by default): Newton converges
 * quadratically, so once the *undamped* Newton step computed at x_k moves
 * every parameter by less than xtol (1 + |x_k|), x_k + step is within
 * about xtol^2 of the optimum and evaluating it would only confirm that.
 * The run then returns x_k + step without calling value() there (one
 * evaluation fewer — one streaming pass for a model of rows) and says so
 * in rep->unevaluated; the last value/derivatives calls were at x_k, so
 * a model that relies on the protocol above must re-evaluate at the
 * returned x (or not ask for predict_stop).
 *
 * The workspace is allocated once for a dimension (cx_optimizer_alloc);
 * nothing is allocated per iteration.
 */
#ifndef CX_OPTIMIZE_H
#define CX_OPTIMIZE_H

#include <stddef.h>

#include "cx_error.h"

typedef enum cx_opt_sense {
    CX_OPT_MINIMIZE = 0, /* a discrepancy, a negative log-likelihood */
    CX_OPT_MAXIMIZE = 1  /* a log-likelihood                          */
} cx_opt_sense;

typedef enum cx_opt_status {
    CX_OPT_CONVERGED = 0,
    CX_OPT_MAX_ITER,           /* max_iter steps taken, gradient not small      */
    CX_OPT_LINE_SEARCH_FAILED, /* no halving of the step kept the objective    */
    CX_OPT_NOT_FINITE,         /* objective or derivatives not finite at x      */
    CX_OPT_SINGULAR_CURVATURE, /* no damping made the curvature positive def.   */
    CX_OPT_EVAL_FAILED         /* a callback failed at the start (err says why) */
} cx_opt_status;

typedef struct cx_objective {
    size_t n; /* parameters; at most the workspace's dimension */
    cx_opt_sense sense;
    /* *f = objective at x; CX_OK, or an error code (with err) where it
     * cannot be evaluated (e.g. a covariance matrix not positive definite). */
    int (*value)(const double *x, double *f, void *data, cx_error *err);
    /* grad[n] and curv[n x n] (row-major, symmetric; the lower triangle is
     * read) at x, the point of the last value() call. */
    int (*derivatives)(const double *x, double *grad, double *curv, void *data, cx_error *err);
    void *data;
} cx_objective;

/* Zero fields take the defaults. */
typedef struct cx_opt_options {
    int max_iter;     /* steps; default 100                                   */
    double xtol;      /* relative step size for convergence; default 1e-12    */
    double gtol;      /* largest |gradient element| for convergence; 1e-8     */
    int max_halvings; /* step halvings per iteration; default 40              */
    int predict_stop; /* 1: stop on a small undamped step before evaluating   */
} cx_opt_options;

typedef struct cx_opt_report {
    cx_opt_status status;
    int iterations;   /* accepted steps                                       */
    int evaluations;  /* value() calls                                        */
    double f;         /* objective at the returned x                          */
    double grad_norm; /* largest |gradient element| at the returned x         */
    /* 1: the run ended by the predicted stop: x is the last evaluated point
     * plus a converged Newton step, and f, grad_norm and the callbacks'
     * state are those of the last evaluated point */
    int unevaluated;
} cx_opt_report;

typedef struct cx_optimizer cx_optimizer;

/* Workspace for problems of up to n parameters (n may be 0). */
cx_optimizer *cx_optimizer_alloc(size_t n, cx_error *err);
void cx_optimizer_free(cx_optimizer *w);

/* Iterate from x (in: start; out: the last accepted point).  Returns the
 * status (also in rep->status); err is set only for CX_OPT_EVAL_FAILED
 * (the callback's message) and for an objective larger than the
 * workspace (CX_OPT_EVAL_FAILED, CX_EUSAGE). */
cx_opt_status cx_optimizer_run(cx_optimizer *w, const cx_objective *obj, double *x,
                               const cx_opt_options *opt, cx_opt_report *rep, cx_error *err);

/* Value and derivatives at x without moving (standard errors at given
 * estimates); CX_OPT_CONVERGED when both are finite. */
cx_opt_status cx_optimizer_evaluate(cx_optimizer *w, const cx_objective *obj, const double *x,
                                    cx_opt_report *rep, cx_error *err);

/* Gradient and curvature (n x n) at the returned x, as the callback gave
 * them; valid until the next run. */
const double *cx_optimizer_gradient(const cx_optimizer *w);
const double *cx_optimizer_curvature(const cx_optimizer *w);

/* A short English phrase for messages ("the line search failed"). */
const char *cx_opt_status_text(cx_opt_status s);

#endif
