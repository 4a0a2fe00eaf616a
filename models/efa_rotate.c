/*
 * efa_rotate.c — factor rotations as psych::fa calls them (psych 2.2.9,
 * GPArotation 2022.10), step for step so that the same unrotated loadings
 * give the same rotated ones:
 *   varimax    stats::varimax (Kaiser normalization, eps 1e-5 on the
 *              relative change of the criterion);
 *   promax     psych::kaiser(., "Promax"): rows normalized, psych's Promax
 *              (stats::varimax, target x|x|^3, least squares, columns
 *              rescaled), rows scaled back;
 *   quartimax  GPArotation::quartimax: GPForth, no normalization;
 *   oblimin    GPArotation::oblimin (gamma 0): GPFoblq;
 *   quartimin  GPArotation::quartimin: GPFoblq;
 *   geomin     GPArotation::geominQ (delta 0.01): GPFoblq, from the
 *              identity (as psych) and then `random_starts` random
 *              orthogonal starts (GPArotation's Random.Start: Q of the QR
 *              of a normal matrix, drawn from a GSL generator seeded with
 *              the job's seed); the start with the lowest criterion wins.
 * GPForth/GPFoblq are Jennrich's gradient projection algorithms with
 * GPArotation's step doubling and halving and its convergence test (the
 * projected gradient's Frobenius norm below 1e-5, at most 1000 steps).
 * Matrices are column-major; L is p x k, T and phi k x k.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>

#include "efa.h"

#define GP_EPS 1e-5
#define GP_MAXIT 1000

/* C (m x n) = op(A) op(B), column-major, small and plain; the transpose
 * cases are separate loop nests so each inner loop runs down a column
 * (these products are most of a GPFoblq step at bfi's size). */
static void matmul(const double *A, int ta, const double *B, int tb, double *C, size_t m,
                   size_t n, size_t inner, size_t lda, size_t ldb)
{
    if (ta) { /* C_ij = sum_l A_li op(B)_lj: a dot product of two columns */
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < m; i++) {
                const double *a = A + i * lda;
                double s = 0;
                if (tb)
                    for (size_t l = 0; l < inner; l++)
                        s += a[l] * B[l * ldb + j];
                else
                    for (size_t l = 0; l < inner; l++)
                        s += a[l] * B[j * ldb + l];
                C[j * m + i] = s;
            }
        return;
    }
    /* C_.j = sum_l A_.l op(B)_lj: column axpys */
    for (size_t j = 0; j < n; j++) {
        double *c = C + j * m;
        memset(c, 0, m * sizeof *c);
        for (size_t l = 0; l < inner; l++) {
            double b = tb ? B[l * ldb + j] : B[j * ldb + l];
            const double *a = A + l * lda;
            for (size_t i = 0; i < m; i++)
                c[i] += a[i] * b;
        }
    }
}

/* inv = A^-1 (k x k) by Gauss-Jordan elimination with partial pivoting,
 * in a caller's 2 k^2 scratch (no allocation: GPFoblq inverts at every
 * step); 0 on success, -1 when singular. */
static int invert(const double *A, size_t k, double *inv, double *scratch)
{
    double *a = scratch;
    memcpy(a, A, k * k * sizeof *a);
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < k; i++)
            inv[j * k + i] = i == j;
    for (size_t c = 0; c < k; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < k; r++)
            if (fabs(a[c * k + r]) > fabs(a[c * k + piv]))
                piv = r;
        if (!(fabs(a[c * k + piv]) > 0))
            return -1;
        if (piv != c)
            for (size_t j = 0; j < k; j++) {
                double t = a[j * k + c];
                a[j * k + c] = a[j * k + piv], a[j * k + piv] = t;
                t = inv[j * k + c];
                inv[j * k + c] = inv[j * k + piv], inv[j * k + piv] = t;
            }
        double d = 1 / a[c * k + c];
        for (size_t j = 0; j < k; j++)
            a[j * k + c] *= d, inv[j * k + c] *= d;
        for (size_t r = 0; r < k; r++) {
            double m = a[c * k + r];
            if (r == c || m == 0)
                continue;
            for (size_t j = 0; j < k; j++) {
                a[j * k + r] -= m * a[j * k + c];
                inv[j * k + r] -= m * inv[j * k + c];
            }
        }
    }
    return isfinite(inv[0]) ? 0 : -1;
}

/* ---- criteria: value f and gradient Gq (p x k) at L ------------------------ */

typedef double (*vgq_fn)(const double *L, size_t p, size_t k, double *Gq);

static double vgq_quartimax(const double *L, size_t p, size_t k, double *Gq)
{
    double f = 0;
    for (size_t i = 0; i < p * k; i++) {
        double l2 = L[i] * L[i];
        Gq[i] = -l2 * L[i];
        f -= l2 * l2;
    }
    return f / 4;
}

/* quartimin = oblimin with gamma 0: X = L^2 (1 - I), Gq = L * X. */
static double vgq_quartimin(const double *L, size_t p, size_t k, double *Gq)
{
    double f = 0;
    for (size_t i = 0; i < p; i++) {
        double row = 0;
        for (size_t g = 0; g < k; g++)
            row += L[g * p + i] * L[g * p + i];
        for (size_t g = 0; g < k; g++) {
            double l = L[g * p + i], x = row - l * l;
            Gq[g * p + i] = l * x;
            f += l * l * x;
        }
    }
    return f / 4;
}

static double vgq_geomin(const double *L, size_t p, size_t k, double *Gq)
{
    const double delta = 0.01;
    double f = 0;
    for (size_t i = 0; i < p; i++) {
        /* exp(mean log(l^2 + delta)) with one log per row: the product
         * of k <= 64 factors >= delta = 0.01 stays above 1e-128 */
        double prod = 1;
        for (size_t g = 0; g < k; g++)
            prod *= L[g * p + i] * L[g * p + i] + delta;
        double pro = exp(log(prod) / (double)k);
        f += pro;
        for (size_t g = 0; g < k; g++) {
            double l = L[g * p + i];
            Gq[g * p + i] = (2.0 / (double)k) * (l / (l * l + delta)) * pro;
        }
    }
    return f;
}

/* ---- GPArotation's algorithms ---------------------------------------------- */

typedef struct gp_ws {
    double *L, *Gq, *G, *Gp, *X, *T, *Tt, *Ti, *M, *U, *VT, *s, *sup, *inv;
    double *svd_work; /* dgesvd's workspace, sized once (GPForth's SVDs) */
    lapack_int svd_lwork;
} gp_ws;

static void gp_free(gp_ws *w)
{
    free(w->L);
    free(w->svd_work);
}

static int gp_alloc(gp_ws *w, size_t p, size_t k)
{
    size_t kk = k * k;
    double *m = malloc((3 * p * k + 11 * kk + 2 * k) * sizeof *m);
    if (!m)
        return -1;
    w->L = m, w->Gq = m + p * k, w->M = m + 2 * p * k; /* M: p x k scratch */
    double *q = m + 3 * p * k;
    w->G = q, w->Gp = q + kk, w->X = q + 2 * kk, w->T = q + 3 * kk, w->Tt = q + 4 * kk;
    w->Ti = q + 5 * kk, w->U = q + 6 * kk, w->VT = q + 7 * kk, w->sup = q + 8 * kk;
    w->s = q + 9 * kk;
    w->inv = q + 9 * kk + 2 * k; /* invert's 2 k^2 scratch */
    /* the SVD's workspace: asked for once here, so that LAPACKE does not
     * allocate at every GPForth step */
    double query = 0;
    lapack_int n = (lapack_int)k;
    w->svd_work = NULL;
    if (LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'A', 'A', n, n, w->M, n, w->s, w->U, n, w->VT, n,
                            &query, -1) != 0 ||
        !(w->svd_work = malloc(((size_t)query + 1) * sizeof *w->svd_work))) {
        free(m);
        return -1;
    }
    w->svd_lwork = (lapack_int)query;
    return 0;
}

/* GPForth from T (k x k, in/out); L = A T on return.  Returns 1 when
 * converged; *f the criterion. */
static int gp_orth(const double *A, size_t p, size_t k, vgq_fn vgq, gp_ws *w, double *f,
                   int *iters)
{
    size_t kk = k * k;
    double al = 1, s = 0;
    matmul(A, 0, w->T, 0, w->L, p, k, k, p, k);
    *f = vgq(w->L, p, k, w->Gq);
    matmul(A, 1, w->Gq, 0, w->G, k, k, p, p, p);
    int iter;
    for (iter = 0; iter <= GP_MAXIT; iter++) {
        matmul(w->T, 1, w->G, 0, w->X, k, k, k, k, k); /* M = T'G */
        for (size_t a = 0; a < k; a++)                  /* S = (M + M')/2 into U */
            for (size_t b = 0; b < k; b++)
                w->U[b * k + a] = 0.5 * (w->X[b * k + a] + w->X[a * k + b]);
        matmul(w->T, 0, w->U, 0, w->Gp, k, k, k, k, k);
        s = 0;
        for (size_t i = 0; i < kk; i++) {
            w->Gp[i] = w->G[i] - w->Gp[i];
            s += w->Gp[i] * w->Gp[i];
        }
        s = sqrt(s);
        if (s < GP_EPS)
            break;
        al *= 2;
        double ft = *f;
        for (int i = 0; i <= 10; i++) {
            for (size_t j = 0; j < kk; j++)
                w->X[j] = w->T[j] - al * w->Gp[j];
            lapack_int n = (lapack_int)k;
            memcpy(w->M, w->X, kk * sizeof *w->X);
            if (LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'A', 'A', n, n, w->M, n, w->s, w->U, n,
                                    w->VT, n, w->svd_work, w->svd_lwork) != 0)
                return 0;
            matmul(w->U, 0, w->VT, 0, w->Tt, k, k, k, k, k);
            matmul(A, 0, w->Tt, 0, w->L, p, k, k, p, k);
            ft = vgq(w->L, p, k, w->Gq);
            if (ft < *f - 0.5 * s * s * al)
                break;
            al /= 2;
        }
        memcpy(w->T, w->Tt, kk * sizeof *w->T);
        *f = ft;
        matmul(A, 1, w->Gq, 0, w->G, k, k, p, p, p);
    }
    *iters = iter;
    return s < GP_EPS;
}

/* G = -(L' Gq Ti)' for GPFoblq. */
static void oblq_gradient(gp_ws *w, size_t p, size_t k)
{
    matmul(w->L, 1, w->Gq, 0, w->X, k, k, p, p, p);       /* L'Gq */
    matmul(w->X, 0, w->Ti, 0, w->U, k, k, k, k, k);       /* L'Gq Ti */
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++)
            w->G[b * k + a] = -w->U[a * k + b];
}

/* GPFoblq from T (in/out); L = A (T^-1)' on return. */
static int gp_oblq(const double *A, size_t p, size_t k, vgq_fn vgq, gp_ws *w, double *f,
                   int *iters)
{
    size_t kk = k * k;
    double al = 1, s = 0;
    if (invert(w->T, k, w->Ti, w->inv))
        return 0;
    matmul(A, 0, w->Ti, 1, w->L, p, k, k, p, k);
    *f = vgq(w->L, p, k, w->Gq);
    oblq_gradient(w, p, k);
    int iter;
    for (iter = 0; iter <= GP_MAXIT; iter++) {
        s = 0;
        for (size_t b = 0; b < k; b++) { /* Gp = G - T diag(colSums(T * G)) */
            double d = 0;
            for (size_t a = 0; a < k; a++)
                d += w->T[b * k + a] * w->G[b * k + a];
            for (size_t a = 0; a < k; a++) {
                w->Gp[b * k + a] = w->G[b * k + a] - w->T[b * k + a] * d;
                s += w->Gp[b * k + a] * w->Gp[b * k + a];
            }
        }
        s = sqrt(s);
        if (s < GP_EPS)
            break;
        al *= 2;
        double ft = *f;
        for (int i = 0; i <= 10; i++) {
            for (size_t b = 0; b < k; b++) {
                double v = 0;
                for (size_t a = 0; a < k; a++) {
                    double x = w->T[b * k + a] - al * w->Gp[b * k + a];
                    w->X[b * k + a] = x;
                    v += x * x;
                }
                for (size_t a = 0; a < k; a++)
                    w->Tt[b * k + a] = w->X[b * k + a] / sqrt(v);
            }
            if (invert(w->Tt, k, w->Ti, w->inv))
                return 0;
            matmul(A, 0, w->Ti, 1, w->L, p, k, k, p, k);
            ft = vgq(w->L, p, k, w->Gq);
            if (*f - ft > 0.5 * s * s * al)
                break;
            al /= 2;
        }
        memcpy(w->T, w->Tt, kk * sizeof *w->T);
        *f = ft;
        oblq_gradient(w, p, k);
    }
    *iters = iter;
    return s < GP_EPS;
}

/* ---- stats::varimax and psych's promax -------------------------------------- */

/* stats::varimax(x, normalize = TRUE, eps = 1e-5): x rotated in place,
 * TT (k x k) the rotation. */
static int varimax(double *x, size_t p, size_t k, double *TT, int *iters)
{
    double *sc = malloc(p * sizeof *sc), *z = malloc(p * k * sizeof *z);
    double *B = malloc(4 * k * k * sizeof *B + k * sizeof *B), *colsq = malloc(k * sizeof *colsq);
    if (!sc || !z || !B || !colsq) {
        free(sc), free(z), free(B), free(colsq);
        return -1;
    }
    double *U = B + k * k, *VT = U + k * k, *sv = VT + k * k, *sup = sv + k;
    for (size_t i = 0; i < p; i++) {
        double s = 0;
        for (size_t g = 0; g < k; g++)
            s += x[g * p + i] * x[g * p + i];
        sc[i] = sqrt(s);
        for (size_t g = 0; g < k; g++)
            x[g * p + i] /= sc[i];
    }
    memset(TT, 0, k * k * sizeof *TT);
    for (size_t g = 0; g < k; g++)
        TT[g * k + g] = 1;
    double d = 0;
    int it, ok = 1;
    for (it = 1; it <= 1000; it++) {
        matmul(x, 0, TT, 0, z, p, k, k, p, k);
        for (size_t g = 0; g < k; g++) {
            double s = 0;
            for (size_t i = 0; i < p; i++)
                s += z[g * p + i] * z[g * p + i];
            colsq[g] = s / (double)p;
        }
        for (size_t g = 0; g < k; g++) /* z^3 - z diag(colSums(z^2))/p */
            for (size_t i = 0; i < p; i++) {
                double v = z[g * p + i];
                z[g * p + i] = v * v * v - v * colsq[g];
            }
        matmul(x, 1, z, 0, B, k, k, p, p, p);
        lapack_int n = (lapack_int)k;
        if (LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'A', 'A', n, n, B, n, sv, U, n, VT, n, sup) != 0) {
            ok = 0;
            break;
        }
        matmul(U, 0, VT, 0, TT, k, k, k, k, k);
        double dpast = d;
        d = 0;
        for (size_t g = 0; g < k; g++)
            d += sv[g];
        if (d < dpast * (1 + 1e-5))
            break;
    }
    if (it > 1000)
        ok = 0;
    matmul(x, 0, TT, 0, z, p, k, k, p, k);
    for (size_t g = 0; g < k; g++)
        for (size_t i = 0; i < p; i++)
            x[g * p + i] = z[g * p + i] * sc[i];
    *iters = it;
    free(sc), free(z), free(B), free(colsq);
    return ok;
}

/* psych::kaiser(x, "Promax") with m = 4. */
static int promax(double *x, size_t p, size_t k, double *phi, int *iters)
{
    size_t kk = k * k;
    double *h = malloc(p * sizeof *h), *Q = malloc(p * k * sizeof *Q);
    double *W = malloc(8 * kk * sizeof *W);
    if (!h || !Q || !W) {
        free(h), free(Q), free(W);
        return -1;
    }
    double *TT = W, *XtX = W + kk, *U = W + 2 * kk, *UtU = W + 3 * kk, *Ui = W + 4 * kk,
           *V = W + 5 * kk, *scratch = W + 6 * kk;
    for (size_t i = 0; i < p; i++) {
        double s = 0;
        for (size_t g = 0; g < k; g++)
            s += x[g * p + i] * x[g * p + i];
        h[i] = sqrt(s);
        for (size_t g = 0; g < k; g++)
            x[g * p + i] /= h[i];
    }
    int conv = varimax(x, p, k, TT, iters), ok = conv < 0 ? -1 : 1;
    if (ok > 0) {
        for (size_t i = 0; i < p * k; i++)
            Q[i] = x[i] * fabs(x[i]) * fabs(x[i]) * fabs(x[i]);
        /* U = (x'x)^-1 x'Q: lm.fit's least squares */
        matmul(x, 1, x, 0, XtX, k, k, p, p, p);
        matmul(x, 1, Q, 0, V, k, k, p, p, p);
        lapack_int n = (lapack_int)k;
        if (LAPACKE_dposv(LAPACK_COL_MAJOR, 'L', n, n, XtX, n, V, n) != 0)
            ok = 0;
        memcpy(U, V, kk * sizeof *U);
        matmul(U, 1, U, 0, UtU, k, k, k, k, k);
        if (ok > 0 && invert(UtU, k, Ui, scratch) != 0)
            ok = 0;
        for (size_t g = 0; ok > 0 && g < k; g++)
            for (size_t a = 0; a < k; a++)
                U[g * k + a] *= sqrt(Ui[g * k + g]);
        if (ok > 0) {
            matmul(x, 0, U, 0, Q, p, k, k, p, k); /* z = x U */
            matmul(TT, 0, U, 0, V, k, k, k, k, k); /* U <- rotmat U */
            if (invert(V, k, Ui, scratch) != 0)
                ok = 0;
            else
                matmul(Ui, 0, Ui, 1, phi, k, k, k, k, k);
            for (size_t g = 0; g < k; g++)
                for (size_t i = 0; i < p; i++)
                    x[g * p + i] = Q[g * p + i] * h[i];
        }
    }
    free(h), free(Q), free(W);
    return ok < 0 ? -1 : ok == 0 ? 0 : conv;
}

/* ---- random starts --------------------------------------------------------- */

/* GPArotation's Random.Start: Q of the QR decomposition of a k x k normal
 * matrix. */
static void random_start(gsl_rng *rng, size_t k, double *T)
{
    double tau[64];
    for (size_t i = 0; i < k * k; i++)
        T[i] = gsl_ran_gaussian(rng, 1);
    lapack_int n = (lapack_int)k;
    LAPACKE_dgeqrf(LAPACK_COL_MAJOR, n, n, T, n, tau);
    LAPACKE_dorgqr(LAPACK_COL_MAJOR, n, n, n, T, n, tau);
}

static int gp_rotate(double *L, size_t p, size_t k, efa_rotation rot, unsigned long seed,
                     int random_starts, double *phi, int *iterations)
{
    int oblique = rot != EFA_ROT_QUARTIMAX;
    vgq_fn vgq = rot == EFA_ROT_QUARTIMAX ? vgq_quartimax
                 : rot == EFA_ROT_GEOMIN  ? vgq_geomin
                                          : vgq_quartimin;
    gp_ws w;
    double *A = malloc(p * k * sizeof *A), *best = malloc((p * k + k * k) * sizeof *best);
    if (!A || !best || k > 64 || gp_alloc(&w, p, k)) {
        free(A), free(best);
        return -1;
    }
    memcpy(A, L, p * k * sizeof *A);
    gsl_rng *rng = NULL;
    int starts = rot == EFA_ROT_GEOMIN ? 1 + (random_starts > 0 ? random_starts : 0) : 1;
    double fbest = INFINITY;
    int ok_best = 0;
    for (int s = 0; s < starts; s++) {
        if (s == 0) {
            memset(w.T, 0, k * k * sizeof *w.T);
            for (size_t g = 0; g < k; g++)
                w.T[g * k + g] = 1;
        } else {
            if (!rng && !(rng = gsl_rng_alloc(gsl_rng_mt19937)))
                break;
            if (s == 1)
                gsl_rng_set(rng, seed);
            random_start(rng, k, w.T);
        }
        double f = INFINITY;
        int it = 0;
        int ok = oblique ? gp_oblq(A, p, k, vgq, &w, &f, &it) : gp_orth(A, p, k, vgq, &w, &f, &it);
        /* a random start must beat the identity start clearly, so that
         * ties (the same solution reached again) keep psych's answer */
        if (s == 0 || f < fbest - 1e-9 * fmax(1, fabs(fbest))) {
            fbest = f;
            ok_best = ok;
            *iterations = it;
            memcpy(best, w.L, p * k * sizeof *best);
            matmul(w.T, 1, w.T, 0, best + p * k, k, k, k, k, k); /* Phi = T'T */
        }
    }
    memcpy(L, best, p * k * sizeof *L);
    if (oblique)
        memcpy(phi, best + p * k, k * k * sizeof *phi);
    gsl_rng_free(rng);
    gp_free(&w);
    free(A), free(best);
    return ok_best;
}

int efa_rotate(double *L, size_t p, size_t k, efa_rotation rot, unsigned long seed,
               int random_starts, double *phi, int *iterations)
{
    if (k < 2 || rot == EFA_ROT_NONE)
        return 1;
    if (rot == EFA_ROT_VARIMAX) {
        double *T = malloc(k * k * sizeof *T);
        if (!T)
            return -1;
        int ok = varimax(L, p, k, T, iterations);
        free(T);
        return ok;
    }
    if (rot == EFA_ROT_PROMAX)
        return promax(L, p, k, phi, iterations);
    return gp_rotate(L, p, k, rot, seed, random_starts, phi, iterations);
}
