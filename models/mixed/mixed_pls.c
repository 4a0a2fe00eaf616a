/*
 * mixed_pls.c — lme4's penalized least squares (Bates, Maechler, Bolker &
 * Walker 2015, "Fitting Linear Mixed-Effects Models Using lme4", JSS 67(1),
 * section 3): for a relative covariance factor Lambda(theta) (block
 * diagonal: one lower-triangular T_t per level of each grouping term),
 *
 *   L L'        = Lambda' Z'Z Lambda + I              (sparse Cholesky)
 *   [RZX  cu]   = L^-1 P Lambda' [Z'X  Z'y]
 *   U'U         = [X y]'[X y] - [RZX cu]'[RZX cu]     ((p+1) x (p+1) Cholesky:
 *                  U = [RX cbeta; 0 r], r^2 the penalized residual sum of squares)
 *   -2 logLik   = log|L|^2 + n (1 + log(2 pi r^2 / n))                         (ML)
 *   REML crit.  = log|L|^2 + log|RX|^2 + (n-p) (1 + log(2 pi r^2 / (n-p)))      (REML)
 *
 * and at the optimum beta = RX^-1 cbeta, u = P' L'^-1 (cu - RZX beta),
 * b = Lambda u, sigma^2 = r^2 / n (ML) or r^2 / (n - p) (REML),
 * Var(beta) = sigma^2 (RX'RX)^-1.
 *
 * Two ways to factor Lambda' Z'Z Lambda + I, chosen from the structure:
 *  - one grouping term (all bars on the same factor): the matrix is block
 *    diagonal, one q_t x q_t block per group, factored with LAPACK — no
 *    sparse machinery, O(groups) per evaluation;
 *  - several terms (nested or crossed): the blocks between levels of
 *    different terms make it a general sparse matrix, factored by
 *    SuiteSparse CHOLMOD (simplicial LL', AMD ordering analysed once; the
 *    pattern is fixed, only the values change with theta), as lme4 does.
 * Everything is allocated in mx_pls_alloc; an evaluation allocates nothing
 * (CHOLMOD's numeric factorization reuses its factor).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>
#include <suitesparse/cholmod.h>

#include "mixed.h"

struct mx_pls {
    const mx_problem *pr;
    int reml, sparse;
    size_t p1, qmax;
    double *T; /* per term q_t^2: the relative factors at theta      */
    size_t *T_at;
    double *Lb;         /* dense path: per level q_t^2 Cholesky factors        */
    double *R;          /* q x (p+1): [RZX cu]                                 */
    double *S;          /* (p+1)^2: the Schur complement, then its factor U    */
    double *tmp, *tmp2; /* qmax x max(qmax, p+1)                           */
    double ldL2;
    /* a cluster-bootstrap replicate (dense path): level l counts mult[l]
     * times, [X y]'[X y] and n are the replicate's; NULL / pr's otherwise */
    const double *mult;
    const double *xy;
    double n;
    /* sparse path */
    cholmod_common cm;
    int cm_started;
    cholmod_sparse *A;
    cholmod_factor *L;
    cholmod_dense *B, *X1, *X2, *Y, *E;
    size_t *diag_pos; /* q: position in A->x of column j's first diagonal-block row */
};

/* ---- the relative covariance factor ------------------------------------- */

void mx_term_factor(const mx_problem *pr, size_t t, const double *theta, double *T)
{
    size_t q = pr->terms[t].q;
    memset(T, 0, q * q * sizeof *T);
    for (size_t r = 0; r < pr->n_bars; r++) {
        const mx_bar *b = &pr->bars[r];
        if (b->term != t)
            continue;
        const double *th = theta + b->theta0;
        size_t at = 0;
        for (size_t j = 0; j < b->k; j++) /* lme4's order: lower triangle by columns */
            for (size_t i = j; i < (b->correlated ? b->k : j + 1); i++)
                T[(b->off + j) * q + b->off + i] = th[at++];
    }
}

/* W = T' M T (+ I when add_identity), M q x q (lda q), W q x q. */
static void congruence(const double *T, const double *M, size_t q, size_t lda, double *tmp,
                       double *W, size_t ldw, size_t q2, const double *T2, int add_identity)
{
    /* tmp = M T2 (q x q2), W = T' tmp */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)q, (int)q2, (int)q2, 1.0, M,
                (int)lda, T2, (int)q2, 0.0, tmp, (int)q);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)q, (int)q2, (int)q, 1.0, T, (int)q,
                tmp, (int)q, 0.0, W, (int)ldw);
    if (add_identity)
        for (size_t i = 0; i < q; i++)
            W[i * ldw + i] += 1.0;
}

/* ---- allocation ------------------------------------------------------------ */

/* The fixed pattern of Lambda'Z'Z Lambda + I (upper triangle, CSC). */
static int sparse_pattern(mx_pls *w, cx_error *err)
{
    const mx_problem *pr = w->pr;
    size_t q = pr->q, nnz = 0;
    /* blocks are sorted by (b, ub, a, ua): each column unit's blocks are a run */
    size_t *first = cx_calloc(q + 1, sizeof *first, err),
           *count = cx_calloc(q + 1, sizeof *count, err);
    w->diag_pos = cx_calloc(q + 1, sizeof *w->diag_pos, err);
    if (!first || !count || !w->diag_pos) {
        free(first);
        free(count);
        return CX_ENOMEM;
    }
    for (size_t k = pr->n_blocks; k-- > 0;) {
        const mx_block *bl = &pr->blocks[k];
        size_t unit0 = pr->terms[bl->b].off + bl->ub * pr->terms[bl->b].q;
        first[unit0] = k;
        count[unit0]++;
    }
    for (size_t t = 0; t < pr->n_terms; t++) {
        const mx_term *tm = &pr->terms[t];
        for (size_t l = 0; l < tm->n_levels; l++) {
            size_t unit0 = tm->off + l * tm->q;
            for (size_t c = 0; c < tm->q; c++) {
                for (size_t k = first[unit0]; k < first[unit0] + count[unit0]; k++)
                    nnz += pr->terms[pr->blocks[k].a].q;
                nnz += c + 1;
            }
        }
    }
    w->A = cholmod_allocate_sparse(q, q, nnz, 1, 1, 1, CHOLMOD_REAL, &w->cm);
    if (!w->A) {
        free(first);
        free(count);
        return cx_error_set(err, CX_ENOMEM, "out of memory (CHOLMOD: %zu nonzeros)", nnz);
    }
    int *Ap = w->A->p, *Ai = w->A->i;
    size_t at = 0;
    for (size_t t = 0; t < pr->n_terms; t++) {
        const mx_term *tm = &pr->terms[t];
        for (size_t l = 0; l < tm->n_levels; l++) {
            size_t unit0 = tm->off + l * tm->q;
            for (size_t c = 0; c < tm->q; c++) {
                Ap[unit0 + c] = (int)at;
                for (size_t k = first[unit0]; k < first[unit0] + count[unit0]; k++) {
                    mx_block *bl = &pr->blocks[k];
                    const mx_term *ta = &pr->terms[bl->a];
                    bl->colpos[c] = at;
                    for (size_t r = 0; r < ta->q; r++)
                        Ai[at++] = (int)(ta->off + bl->ua * ta->q + r);
                }
                w->diag_pos[unit0 + c] = at;
                for (size_t r = 0; r <= c; r++)
                    Ai[at++] = (int)(unit0 + r);
            }
        }
    }
    Ap[q] = (int)at;
    free(first);
    free(count);
    return CX_OK;
}

static int sparse_alloc(mx_pls *w, cx_error *err)
{
    const mx_problem *pr = w->pr;
    if (pr->q > (size_t)0x7fffffff / 2)
        return cx_error_set(err, CX_EUSAGE, "too many random effects (%zu) for CHOLMOD", pr->q);
    cholmod_start(&w->cm);
    w->cm_started = 1;
    w->cm.supernodal = CHOLMOD_SIMPLICIAL;
    w->cm.final_ll = 1;
    w->cm.print = 0;
    w->cm.error_handler = NULL;
    if (sparse_pattern(w, err))
        return err->code;
    /* the analysis needs values only for the pattern: any will do */
    double *Ax = w->A->x;
    for (size_t i = 0; i < w->A->nzmax; i++)
        Ax[i] = 0;
    w->L = cholmod_analyze(w->A, &w->cm);
    w->B = cholmod_allocate_dense(pr->q, w->p1, pr->q, CHOLMOD_REAL, &w->cm);
    if (!w->L || !w->B)
        return cx_error_set(err, CX_ENOMEM,
                            "CHOLMOD could not analyse the random-effects matrix "
                            "(status %d)",
                            w->cm.status);
    return CX_OK;
}

mx_pls *mx_pls_alloc(const mx_problem *pr, int reml, cx_error *err)
{
    mx_pls *w = cx_calloc(1, sizeof *w, err);
    if (!w)
        return NULL;
    w->pr = pr;
    w->reml = reml;
    w->sparse = pr->n_blocks > 0;
    w->xy = pr->xy;
    w->n = pr->n;
    w->p1 = pr->p + 1;
    size_t nT = 0, nL = 0;
    w->T_at = cx_calloc(pr->n_terms + 1, sizeof *w->T_at, err);
    for (size_t t = 0; w->T_at && t < pr->n_terms; t++) {
        size_t q = pr->terms[t].q;
        w->T_at[t] = nT;
        nT += q * q;
        nL += pr->terms[t].n_levels * q * q;
        if (q > w->qmax)
            w->qmax = q;
    }
    size_t wide = w->qmax > w->p1 ? w->qmax : w->p1;
    w->T = cx_calloc(nT + 1, sizeof *w->T, err);
    w->Lb = w->sparse ? NULL : cx_calloc(nL + 1, sizeof *w->Lb, err);
    w->R = cx_calloc(pr->q * w->p1 + 1, sizeof *w->R, err);
    w->S = cx_calloc(w->p1 * w->p1, sizeof *w->S, err);
    w->tmp = cx_calloc(w->qmax * wide + 1, sizeof *w->tmp, err);
    w->tmp2 = cx_calloc(w->qmax * wide + 1, sizeof *w->tmp2, err);
    int ok = w->T_at && w->T && (w->sparse || w->Lb) && w->R && w->S && w->tmp && w->tmp2;
    if (!ok || (w->sparse && sparse_alloc(w, err))) {
        if (!ok)
            cx_error_set(err, CX_ENOMEM, "out of memory for the mixed model's workspace");
        mx_pls_free(w);
        return NULL;
    }
    return w;
}

void mx_pls_free(mx_pls *w)
{
    if (!w)
        return;
    if (w->cm_started) {
        cholmod_free_sparse(&w->A, &w->cm);
        cholmod_free_factor(&w->L, &w->cm);
        cholmod_free_dense(&w->B, &w->cm);
        cholmod_free_dense(&w->X1, &w->cm);
        cholmod_free_dense(&w->X2, &w->cm);
        cholmod_free_dense(&w->Y, &w->cm);
        cholmod_free_dense(&w->E, &w->cm);
        cholmod_finish(&w->cm);
    }
    free(w->diag_pos);
    free(w->T_at);
    free(w->T);
    free(w->Lb);
    free(w->R);
    free(w->S);
    free(w->tmp);
    free(w->tmp2);
    free(w);
}

int mx_pls_sparse(const mx_pls *w)
{
    return w->sparse;
}

void mx_pls_set_replicate(mx_pls *w, const double *mult, const double *xy, double n)
{
    w->mult = mult;
    w->xy = mult ? xy : w->pr->xy;
    w->n = mult ? n : w->pr->n;
}

/* ---- one evaluation -------------------------------------------------------- */

/* Rows of level l of term t of R: T' [Z'X Z'y] (q x (p+1), ld = total q). */
static void scaled_rhs(mx_pls *w, size_t t, size_t l, double *out, size_t ldo)
{
    const mx_problem *pr = w->pr;
    const mx_term *tm = &pr->terms[t];
    size_t q = tm->q, row0 = tm->off + l * q;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)q, (int)w->p1, (int)q, 1.0,
                w->T + w->T_at[t], (int)q, pr->zxy + row0, (int)pr->q, 0.0, out + row0, (int)ldo);
}

/* Small dense kernels for the per-group blocks of the dense path: a group
 * has q = 1..a few random effects, where a BLAS/LAPACK call costs more
 * than the arithmetic (OpenBLAS takes a lock per call: 10k groups x 5
 * calls per evaluation made a 1M-row fit take minutes). */

/* W = T' D T + I (q x q, full), T lower triangular. */
static void small_congruence(const double *T, const double *D, size_t q, double *tmp, double *W)
{
    for (size_t j = 0; j < q; j++) /* tmp = D T */
        for (size_t i = 0; i < q; i++) {
            double v = 0;
            for (size_t k = j; k < q; k++)
                v += D[k * q + i] * T[j * q + k];
            tmp[j * q + i] = v;
        }
    for (size_t j = 0; j < q; j++) /* W = T' tmp */
        for (size_t i = 0; i < q; i++) {
            double v = 0;
            for (size_t k = i; k < q; k++)
                v += T[i * q + k] * tmp[j * q + k];
            W[j * q + i] = v + (i == j);
        }
}

/* In-place lower Cholesky; -1 when not positive definite. */
static int small_chol(double *A, size_t q)
{
    for (size_t j = 0; j < q; j++) {
        double d = A[j * q + j];
        for (size_t k = 0; k < j; k++)
            d -= A[k * q + j] * A[k * q + j];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        A[j * q + j] = d;
        for (size_t i = j + 1; i < q; i++) {
            double v = A[j * q + i];
            for (size_t k = 0; k < j; k++)
                v -= A[k * q + i] * A[k * q + j];
            A[j * q + i] = v / d;
        }
    }
    return 0;
}

/* out = L^-1 T' B, B q x nc rows of a matrix with leading dimension ld. */
static void small_rhs_solve(const double *L, const double *T, const double *B, size_t q, size_t nc,
                            size_t ld, double *out)
{
    for (size_t c = 0; c < nc; c++) {
        const double *b = B + c * ld;
        double *o = out + c * ld;
        for (size_t i = 0; i < q; i++) { /* T' b */
            double v = 0;
            for (size_t k = i; k < q; k++)
                v += T[i * q + k] * b[k];
            o[i] = v;
        }
        for (size_t i = 0; i < q; i++) { /* forward substitution */
            double v = o[i];
            for (size_t k = 0; k < i; k++)
                v -= L[k * q + i] * o[k];
            o[i] = v / L[i * q + i];
        }
    }
}

/* One grouping term: factor each group's block and solve for its rows of R. */
static int dense_factor(mx_pls *w)
{
    const mx_problem *pr = w->pr;
    const mx_term *tm = &pr->terms[0];
    size_t q = tm->q;
    const double *T = w->T;
    double ld = 0;
    for (size_t l = 0; l < tm->n_levels; l++) {
        double *Lb = w->Lb + l * q * q;
        small_congruence(T, pr->diag + l * q * q, q, w->tmp, Lb);
        if (small_chol(Lb, q) != 0)
            return -1;
        double c = w->mult ? w->mult[l] : 1;
        size_t row0 = tm->off + l * q;
        if (c == 0) { /* a group left out of a bootstrap replicate */
            for (size_t j = 0; j < w->p1; j++)
                memset(w->R + j * pr->q + row0, 0, q * sizeof *w->R);
            continue;
        }
        for (size_t i = 0; i < q; i++)
            ld += c * log(Lb[i * q + i]);
        small_rhs_solve(Lb, T, pr->zxy + row0, q, w->p1, pr->q, w->R + row0);
        if (c != 1) /* c copies of the group: R'R gains c R_l'R_l */
            for (size_t j = 0; j < w->p1; j++)
                for (size_t i = 0; i < q; i++)
                    w->R[j * pr->q + row0 + i] *= sqrt(c);
    }
    w->ldL2 = 2 * ld;
    return 0;
}

/* Several terms: fill the values of Lambda'Z'Z Lambda + I, factor with CHOLMOD. */
static int sparse_factor(mx_pls *w)
{
    const mx_problem *pr = w->pr;
    double *Ax = w->A->x;
    for (size_t t = 0; t < pr->n_terms; t++) {
        const mx_term *tm = &pr->terms[t];
        size_t q = tm->q;
        const double *T = w->T + w->T_at[t];
        for (size_t l = 0; l < tm->n_levels; l++) {
            congruence(T, pr->diag + pr->diag_at[t] + l * q * q, q, q, w->tmp, w->tmp2, q, q, T, 1);
            size_t unit0 = tm->off + l * q;
            for (size_t c = 0; c < q; c++)
                for (size_t r = 0; r <= c; r++)
                    Ax[w->diag_pos[unit0 + c] + r] = w->tmp2[c * q + r];
        }
    }
    for (size_t k = 0; k < pr->n_blocks; k++) {
        const mx_block *bl = &pr->blocks[k];
        size_t qa = pr->terms[bl->a].q, qb = pr->terms[bl->b].q;
        congruence(w->T + w->T_at[bl->a], bl->v, qa, qa, w->tmp, w->tmp2, qa, qb,
                   w->T + w->T_at[bl->b], 0);
        for (size_t c = 0; c < qb; c++)
            memcpy(Ax + bl->colpos[c], w->tmp2 + c * qa, qa * sizeof *Ax);
    }
    if (!cholmod_factorize(w->A, w->L, &w->cm) || w->cm.status != CHOLMOD_OK)
        return -1;
    const int *Lp = w->L->p;
    const double *Lx = w->L->x;
    w->ldL2 = 0;
    for (size_t j = 0; j < pr->q; j++)
        w->ldL2 += 2 * log(Lx[Lp[j]]);
    double *Bx = w->B->x;
    for (size_t t = 0; t < pr->n_terms; t++)
        for (size_t l = 0; l < pr->terms[t].n_levels; l++)
            scaled_rhs(w, t, l, Bx, pr->q);
    if (!cholmod_solve2(CHOLMOD_P, w->L, w->B, NULL, &w->X1, NULL, &w->Y, &w->E, &w->cm) ||
        !cholmod_solve2(CHOLMOD_L, w->L, w->X1, NULL, &w->X2, NULL, &w->Y, &w->E, &w->cm))
        return -1;
    memcpy(w->R, w->X2->x, pr->q * w->p1 * sizeof *w->R);
    return 0;
}

/* S = [X y]'[X y] - R'R, factored: U (upper) in S.  -1 when not positive definite. */
static int schur(mx_pls *w)
{
    const mx_problem *pr = w->pr;
    size_t p1 = w->p1;
    memcpy(w->S, w->xy, p1 * p1 * sizeof *w->S);
    if (pr->q)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)p1, (int)pr->q, -1.0, w->R,
                    (int)pr->q, 1.0, w->S, (int)p1);
    return LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)p1, w->S, (lapack_int)p1) == 0 ? 0
                                                                                            : -1;
}

static int evaluate(mx_pls *w, const double *theta)
{
    const mx_problem *pr = w->pr;
    for (size_t t = 0; t < pr->n_terms; t++)
        mx_term_factor(pr, t, theta, w->T + w->T_at[t]);
    if ((w->sparse ? sparse_factor(w) : dense_factor(w)) != 0)
        return -1;
    return schur(w);
}

/* The criterion from the factors of the last evaluation. */
static double criterion(const mx_pls *w, double *ldRX2, double *pwrss)
{
    const mx_problem *pr = w->pr;
    size_t p = pr->p, p1 = w->p1;
    double r = w->S[p * p1 + p], r2 = r * r, ld = 0;
    for (size_t j = 0; j < p; j++)
        ld += 2 * log(fabs(w->S[j * p1 + j]));
    *ldRX2 = ld;
    *pwrss = r2;
    double n = w->n;
    if (w->reml) {
        double nmp = n - (double)p;
        return w->ldL2 + ld + nmp * (1 + log(MX_TWO_PI * r2 / nmp));
    }
    return w->ldL2 + n * (1 + log(MX_TWO_PI * r2 / n));
}

double mx_pls_deviance(mx_pls *w, const double *theta)
{
    double ld, r2;
    if (evaluate(w, theta) != 0)
        return INFINITY;
    double d = criterion(w, &ld, &r2);
    return isfinite(d) ? d : INFINITY;
}

double mx_pls_minus2ll(mx_pls *w, const double *theta, double sigma)
{
    double ld, r2;
    if (!(sigma > 0) || evaluate(w, theta) != 0)
        return INFINITY;
    criterion(w, &ld, &r2);
    double nn = w->reml ? w->n - (double)w->pr->p : w->n, s2 = sigma * sigma;
    return w->ldL2 + (w->reml ? ld : 0) + nn * log(MX_TWO_PI * s2) + r2 / s2;
}

int mx_pls_beta_vcov(mx_pls *w, const double *theta, double sigma, double *vcov)
{
    size_t p = w->pr->p, p1 = w->p1;
    if (evaluate(w, theta) != 0)
        return -1;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i <= j; i++)
            vcov[j * p + i] = w->S[j * p1 + i];
    if (p && LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)p, vcov, (lapack_int)p) != 0)
        return -1;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i <= j; i++) {
            vcov[j * p + i] *= sigma * sigma;
            vcov[i * p + j] = vcov[j * p + i];
        }
    return 0;
}

int mx_pls_estimates(mx_pls *w, const double *theta, double *beta, double *sigma2)
{
    size_t p = w->pr->p, p1 = w->p1;
    if (evaluate(w, theta) != 0)
        return -1;
    double ld, r2;
    criterion(w, &ld, &r2);
    for (size_t j = 0; j < p; j++)
        beta[j] = w->S[p * p1 + j];
    if (p)
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)p, w->S, (int)p1,
                    beta, 1);
    *sigma2 = r2 / (w->reml ? w->n - (double)p : w->n);
    return 0;
}

/* ---- the solution at the optimum ------------------------------------------- */

void mx_solution_free(mx_solution *s)
{
    free(s->beta);
    free(s->vcov);
    free(s->b);
    memset(s, 0, sizeof *s);
}

/* u = P' L'^-1 v (v: q values, overwritten by u). */
static int back_solve(mx_pls *w, double *v)
{
    const mx_problem *pr = w->pr;
    if (!w->sparse) {
        const mx_term *tm = &pr->terms[0];
        size_t q = tm->q;
        for (size_t l = 0; l < tm->n_levels; l++)
            cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, (int)q,
                        w->Lb + l * q * q, (int)q, v + tm->off + l * q, 1);
        return 0;
    }
    cholmod_dense *rhs = cholmod_allocate_dense(pr->q, 1, pr->q, CHOLMOD_REAL, &w->cm);
    cholmod_dense *x1 = NULL, *x2 = NULL;
    if (!rhs)
        return -1;
    memcpy(rhs->x, v, pr->q * sizeof *v);
    int ok = cholmod_solve2(CHOLMOD_Lt, w->L, rhs, NULL, &x1, NULL, &w->Y, &w->E, &w->cm) &&
             cholmod_solve2(CHOLMOD_Pt, w->L, x1, NULL, &x2, NULL, &w->Y, &w->E, &w->cm);
    if (ok)
        memcpy(v, x2->x, pr->q * sizeof *v);
    cholmod_free_dense(&rhs, &w->cm);
    cholmod_free_dense(&x1, &w->cm);
    cholmod_free_dense(&x2, &w->cm);
    return ok ? 0 : -1;
}

int mx_pls_solution(mx_pls *w, const double *theta, mx_solution *s, cx_error *err)
{
    const mx_problem *pr = w->pr;
    size_t p = pr->p, p1 = w->p1, q = pr->q;
    memset(s, 0, sizeof *s);
    s->beta = cx_calloc(p + 1, sizeof *s->beta, err);
    s->vcov = cx_calloc(p * p + 1, sizeof *s->vcov, err);
    s->b = cx_calloc(q + 1, sizeof *s->b, err);
    if (!s->beta || !s->vcov || !s->b)
        return CX_ENOMEM;
    if (evaluate(w, theta) != 0)
        return cx_error_set(err, CX_EFAIL,
                            "the fixed-effects cross-product is singular at the optimum (an "
                            "aliased fixed effect or a perfect fit)");
    s->dev = criterion(w, &s->ldRX2, &s->pwrss);
    s->ldL2 = w->ldL2;
    s->sigma2 = s->pwrss / (w->reml ? w->n - (double)p : w->n);
    /* beta = RX^-1 cbeta */
    for (size_t j = 0; j < p; j++)
        s->beta[j] = w->S[p * p1 + j];
    if (p)
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)p, w->S, (int)p1,
                    s->beta, 1);
    /* vcov = sigma^2 (RX'RX)^-1 */
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i <= j; i++)
            s->vcov[j * p + i] = w->S[j * p1 + i];
    if (p && LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)p, s->vcov, (lapack_int)p) != 0)
        return cx_error_set(err, CX_EFAIL, "cannot invert RX'RX for the fixed effects' covariance");
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i <= j; i++) {
            s->vcov[j * p + i] *= s->sigma2;
            s->vcov[i * p + j] = s->vcov[j * p + i];
        }
    /* u = P' L'^-1 (cu - RZX beta), then b = Lambda u per level */
    double *u = s->b;
    for (size_t i = 0; i < q; i++) {
        double v = w->R[p * q + i];
        for (size_t j = 0; j < p; j++)
            v -= w->R[j * q + i] * s->beta[j];
        u[i] = v;
    }
    if (back_solve(w, u) != 0)
        return cx_error_set(err, CX_EFAIL, "CHOLMOD could not solve for the random effects");
    for (size_t t = 0; t < pr->n_terms; t++) {
        const mx_term *tm = &pr->terms[t];
        for (size_t l = 0; l < tm->n_levels; l++) {
            double *ul = u + tm->off + l * tm->q;
            cblas_dtrmv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)tm->q,
                        w->T + w->T_at[t], (int)tm->q, ul, 1);
        }
    }
    return CX_OK;
}
