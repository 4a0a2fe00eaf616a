/*
 * efa_extract.c — factor extraction from a correlation matrix as
 * psych::fa (psych 2.2.9, R/fa.R `fac`, R/factor.stats.R) computes it.
 *
 * minres and ml: psych minimizes over the uniquenesses Psi with optim's
 * L-BFGS-B (bounds 0.005 .. 1, parscale 0.01, default tolerances):
 *   minres: loadings from the top k eigenpairs of R - Psi; psych's
 *           gradient diag(L L' + Psi - R) is the gradient of
 *           1/2 sum_{j>k} lambda_j(R - Psi)^2 (the ULS discrepancy, whose
 *           stationary point is minres'), which is the objective here;
 *   ml:     the factanal discrepancy -sum_{j>k}(log e_j - e_j) - k + p,
 *           e = eigenvalues of Psi^-1/2 R Psi^-1/2, gradient
 *           diag(L L' + Psi - R) / Psi^2.
 * Here both are minimized with the engine optimizer (engine/optimize.h,
 * damped Newton) with psych's analytic gradient and the exact Hessians
 * from the same eigen decomposition (uls_hessian, ml_hessian; forward
 * differences of the gradient only where those are undefined).  The
 * optimizer converges much tighter than L-BFGS-B's default factr, so
 * results agree with psych to the precision psych's optimizer reaches
 * (the reference script records both psych as shipped and psych with a
 * tight optim).  Heywood cases: see projected_gradient; minres on a face
 * of the box minimizes psych's own objective, the off-diagonal residuals
 * (offdiag_value), which parts from the ULS one there.
 * pa: psych's iteration exactly (SMC start, stop when the sum of
 * communalities changes by less than 0.001, at most 50 iterations).
 *
 * After extraction psych signs each factor so its loadings sum positive;
 * efa_run then rotates (efa_rotate.c), signs again, orders factors by
 * variance accounted for and computes factor.stats' fit statistics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>
#include <lapacke.h>

#include "efa.h"
#include "optimize.h"

#define PSI_LOWER 0.005 /* psych's L-BFGS-B lower bound on Psi */

efa_fit *efa_fit_alloc(size_t p, size_t k, cx_error *err)
{
    efa_fit *f = cx_calloc(1, sizeof *f, err);
    if (!f)
        return NULL;
    f->p = p;
    f->k = k;
    f->loadings = cx_calloc(p * k, sizeof(double), err);
    f->phi = cx_calloc(k * k, sizeof(double), err);
    f->communality = cx_calloc(p, sizeof(double), err);
    f->uniqueness = cx_calloc(p, sizeof(double), err);
    f->complexity = cx_calloc(p, sizeof(double), err);
    f->values = cx_calloc(p, sizeof(double), err);
    f->reduced = cx_calloc(p, sizeof(double), err);
    f->ss_loadings = cx_calloc(k, sizeof(double), err);
    if (!f->loadings || !f->phi || !f->communality || !f->uniqueness || !f->complexity ||
        !f->values || !f->reduced || !f->ss_loadings) {
        efa_fit_free(f);
        return NULL;
    }
    return f;
}

void efa_fit_free(efa_fit *f)
{
    if (!f)
        return;
    free(f->loadings);
    free(f->phi);
    free(f->communality);
    free(f->uniqueness);
    free(f->complexity);
    free(f->values);
    free(f->reduced);
    free(f->ss_loadings);
    free(f);
}

int efa_eigen(const double *A, size_t p, double *values, double *vectors, cx_error *err)
{
    double *a = cx_malloc(p * p * sizeof *a, err);
    double *w = cx_malloc(p * sizeof *w, err);
    double *z = vectors ? cx_malloc(p * p * sizeof *z, err) : NULL;
    lapack_int *isuppz = cx_malloc(2 * p * sizeof *isuppz, err);
    int rc = (!a || !w || !isuppz || (vectors && !z)) ? CX_ENOMEM : CX_OK;
    if (rc == CX_OK) {
        memcpy(a, A, p * p * sizeof *a);
        lapack_int m = 0, n = (lapack_int)p;
        lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, vectors ? 'V' : 'N', 'A', 'L', n, a,
                                         n, 0, 0, 0, 0, 0, &m, w, z, n, isuppz);
        if (info != 0)
            rc = cx_error_set(err, CX_EFAIL, "eigen decomposition failed (dsyevr info %d)",
                              (int)info);
        /* dsyevr sorts ascending; psych (R's eigen) descending */
        for (size_t j = 0; rc == CX_OK && j < p; j++) {
            values[j] = w[p - 1 - j];
            if (vectors)
                memcpy(vectors + j * p, z + (p - 1 - j) * p, p * sizeof *z);
        }
    }
    free(a);
    free(w);
    free(z);
    free(isuppz);
    return rc;
}

/* inv = A^-1 of a symmetric positive definite p x p matrix; log det A. */
static int spd_inverse(const double *A, size_t p, double *inv, double *logdet)
{
    memcpy(inv, A, p * p * sizeof *inv);
    lapack_int n = (lapack_int)p;
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, inv, n) != 0)
        return -1;
    double ld = 0;
    for (size_t i = 0; i < p; i++)
        ld += 2 * log(inv[i * p + i]);
    if (logdet)
        *logdet = ld;
    if (LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', n, inv, n) != 0)
        return -1;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < j; i++)
            inv[j * p + i] = inv[i * p + j];
    return 0;
}

int efa_smc(const double *R, size_t p, double *smc, cx_error *err)
{
    double *inv = cx_malloc(p * p * sizeof *inv, err);
    if (!inv)
        return CX_ENOMEM;
    int rc = CX_OK;
    if (spd_inverse(R, p, inv, NULL) != 0)
        rc = cx_error_set(err, CX_EFAIL,
                          "the correlation matrix is not positive definite (an item is a "
                          "linear combination of others, or constant)");
    for (size_t i = 0; rc == CX_OK && i < p; i++) {
        double s = 1 - 1 / inv[i * p + i];
        smc[i] = s < 0 ? 0 : s > 1 ? 1 : s;
    }
    free(inv);
    return rc;
}

/* ---- minres and ml: the objective in Psi for the engine optimizer ------- */

typedef struct extract_ws {
    const double *R;
    size_t p, k;
    efa_method method;
    double *S, *vals, *vecs, *L, *g; /* p x p, p, p x p, p x k, 4p */
    /* Psi at the lower bound (a Heywood case) is held there: the optimizer
     * moves the free uniquenesses free[0..n_free-1] of psi (p). */
    size_t *free, n_free;
    double *psi;
    double *hw; /* uls_hessian's blocks: 2 p x HESS_BLOCK */
    /* minres on a face of the box (a Heywood case): psych's own objective,
     * the off-diagonal residuals (off_diagonal = 1; see offdiag_value);
     * ow: its gradient's 2 p x p workspace */
    int off_diagonal;
    double *ow;
} extract_ws;

#define HESS_BLOCK 128

/* The full Psi of the free coordinates x. */
static const double *full_psi(extract_ws *ws, const double *x)
{
    for (size_t i = 0; i < ws->n_free; i++)
        ws->psi[ws->free[i]] = x[i];
    return ws->psi;
}

/* Loadings of Psi into ws->L (FAout.wls for minres, FAout for ml) from the
 * top k eigenpairs (vectors = 1), or only the eigenvalues into ws->vals
 * (vectors = 0: the objective, no eigenvectors computed).  dsyevr's
 * RANGE = 'I' for the top k vectors only is slower here than all of them
 * (bisection and inverse iteration instead of MRRR). */
static int loadings_of(extract_ws *ws, const double *psi, int vectors, cx_error *err)
{
    size_t p = ws->p, k = ws->k;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++) {
            double r = ws->R[j * p + i];
            if (ws->method == EFA_ML)
                r /= sqrt(psi[i] * psi[j]);
            else if (i == j)
                r -= psi[i];
            ws->S[j * p + i] = r;
        }
    if (!vectors)
        return efa_eigen(ws->S, p, ws->vals, NULL, err);
    int rc = efa_eigen(ws->S, p, ws->vals, ws->vecs, err);
    for (size_t f = 0; rc == CX_OK && f < k; f++) {
        double e = ws->method == EFA_ML ? ws->vals[f] - 1 : ws->vals[f];
        double s = sqrt(e > 0 ? e : 0);
        for (size_t i = 0; i < p; i++)
            ws->L[f * p + i] =
                ws->vecs[f * p + i] * s * (ws->method == EFA_ML ? sqrt(psi[i]) : 1);
    }
    return rc;
}

/* psych's minres objective (fit.residuals): the sum over i > j of
 * (R - L L')_ij^2, L the loadings of Psi (ws->S = R - Psi after
 * loadings_of).  Inside the box its stationary points are those of the ULS
 * discrepancy 1/2 sum_{j>k} lambda_j^2 (the two differ by half the squared
 * diagonal residuals, which vanish there), so the Newton iteration runs on
 * the smooth ULS one; on a face of the box (a uniqueness held at 0.005) the
 * diagonal residual of the held item does not vanish and the two minima
 * part (HolzingerSwineford, 4 factors: 2.5e-4 in Psi), so there this one
 * is minimized, as psych does. */
static double offdiag_value(const extract_ws *ws)
{
    size_t p = ws->p, k = ws->k;
    double s = 0;
    for (size_t j = 0; j < p; j++)
        for (size_t i = j + 1; i < p; i++) {
            double m = 0;
            for (size_t f = 0; f < k; f++)
                m += ws->L[f * p + i] * ws->L[f * p + j];
            double r = ws->S[j * p + i] - m;
            s += r * r;
        }
    return s;
}

/* The gradient of offdiag_value in Psi.  With E = sum_{j not kept}
 * lambda_j v_j v_j' the residual of R - Psi (kept: the top k eigenpairs
 * with lambda > 0, as psych's pmax) and d = diag(E), the objective is
 * 1/2 ||E||^2 - 1/2 sum_i d_i^2; the first term's gradient is -d (psych's
 * FAgr.minres), the second's follows from the derivative of the spectral
 * function E(A) (Daleckii-Krein): dE = V (F o (V' dA V)) V', F_jl the
 * divided differences of lambda -> lambda [not kept] (1 between two
 * residual eigenvalues, 0 between two kept ones, lambda_j / (lambda_j -
 * lambda_l) from residual j to kept l), and dA / dPsi_a = -e_a e_a':
 *   g_a = -d_a + (V (F o (V' D V)) V')_aa,   D = diag(d).
 * Needs the eigenpairs in ws (loadings_of with vectors). */
static void offdiag_gradient(const extract_ws *ws, double *g)
{
    size_t p = ws->p, k = ws->k;
    const double *V = ws->vecs, *lam = ws->vals;
    double *B = ws->ow, *T = ws->ow + p * p, *d = g;
    for (size_t i = 0; i < p; i++) {
        double h = 0;
        for (size_t f = 0; f < k; f++)
            h += ws->L[f * p + i] * ws->L[f * p + i];
        d[i] = ws->S[i * p + i] - h;
    }
    for (size_t j = 0; j < p; j++) /* T = D V */
        for (size_t i = 0; i < p; i++)
            T[j * p + i] = d[i] * V[j * p + i];
    int n = (int)p;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0, V, n, T, n, 0.0, B, n);
    for (size_t l = 0; l < p; l++) /* B = F o B */
        for (size_t j = 0; j < p; j++) {
            int kj = j < k && lam[j] > 0, kl = l < k && lam[l] > 0;
            double F;
            if (kj == kl)
                F = kj ? 0 : 1;
            else {
                double r = kj ? lam[l] : lam[j], diff = lam[j] - lam[l];
                F = diff != 0 ? r / (kj ? -diff : diff) : 0.5;
            }
            B[l * p + j] *= F;
        }
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, V, n, B, n, 0.0, T, n);
    for (size_t a = 0; a < p; a++) {
        double s = 0;
        for (size_t l = 0; l < p; l++)
            s += T[l * p + a] * V[l * p + a];
        g[a] = -d[a] + s;
    }
}

static int psi_value(const double *x, double *f, void *data, cx_error *err)
{
    extract_ws *ws = data;
    const double *psi = full_psi(ws, x);
    for (size_t i = 0; i < ws->p; i++)
        if (!(psi[i] >= PSI_LOWER && psi[i] <= 1)) {
            *f = NAN; /* outside psych's box: the optimizer halves the step */
            return CX_OK;
        }
    if (ws->off_diagonal) {
        int rc = loadings_of(ws, psi, 1, err);
        *f = rc == CX_OK ? offdiag_value(ws) : NAN;
        return rc;
    }
    int rc = loadings_of(ws, psi, 0, err);
    if (rc)
        return rc;
    double s = 0;
    for (size_t j = ws->k; j < ws->p; j++) {
        double e = ws->vals[j];
        if (ws->method == EFA_ML)
            s -= log(e) - e;
        else
            s += 0.5 * e * e;
    }
    *f = ws->method == EFA_ML ? s - (double)ws->k + (double)ws->p : s;
    return CX_OK;
}

/* psych's gradient (FAgr / FAgr.minres) at psi into g. */
static int psi_gradient(extract_ws *ws, const double *psi, double *g, cx_error *err)
{
    int rc = loadings_of(ws, psi, 1, err);
    if (rc == CX_OK && ws->off_diagonal) {
        offdiag_gradient(ws, g);
        return CX_OK;
    }
    for (size_t i = 0; rc == CX_OK && i < ws->p; i++) {
        double h = 0;
        for (size_t f = 0; f < ws->k; f++)
            h += ws->L[f * ws->p + i] * ws->L[f * ws->p + i];
        double d = h + psi[i] - ws->R[i * ws->p + i];
        g[i] = ws->method == EFA_ML ? d / (psi[i] * psi[i]) : d;
    }
    return rc;
}

/* minres: the exact Hessian of f = 1/2 sum_{j>k} lambda_j^2 of R - Psi
 * from the eigenpairs already in ws (lambda, v): with d lambda_j / d psi_a
 * = -v_ja^2 and second-order perturbation theory,
 *   H_ab = sum_{j>k} [ v_ja^2 v_jb^2
 *                      + sum_{m != j} c_jm (v_ja v_ma)(v_jb v_mb) ],
 * c_jm = 2 lambda_j / (lambda_j - lambda_m) for m among the top k and 1
 * for m > k (the two orders of such a pair sum to 2).  One eigen
 * decomposition instead of 2p: parallel analysis fits two of these per
 * iteration.  Returns -1 where two eigenvalues across the split coincide
 * (the caller differences the gradient instead). */
static int uls_hessian(const extract_ws *ws, double *H)
{
    size_t p = ws->p, k = ws->k, m = ws->n_free, nb = 0;
    const double *v = ws->vecs, *lam = ws->vals;
    double *W = ws->hw, *Wc = W + m * HESS_BLOCK;
    for (size_t j = 0; j < k; j++)
        if (lam[j] < 0)
            return -1; /* pmax(., 0) in psych's loadings: not smooth there */
    memset(H, 0, m * m * sizeof *H);
    /* H = sum over pairs of c_jl w w', w = v_j o v_l on the free items: as
     * blocks of HESS_BLOCK pairs, H += (W diag(c)) W' by DGEMM */
    for (size_t j = k; j < p; j++)
        for (size_t l = 0; l < p; l++) {
            double c;
            if (l == j)
                c = 1; /* the v_ja^2 v_jb^2 term */
            else if (l < k) {
                if (fabs(lam[j] - lam[l]) < 1e-12)
                    return -1;
                c = 2 * lam[j] / (lam[j] - lam[l]);
            } else
                c = 1;
            for (size_t a = 0; a < m; a++) {
                size_t ia = ws->free[a];
                double w = v[j * p + ia] * v[l * p + ia];
                W[nb * m + a] = w;
                Wc[nb * m + a] = c * w;
            }
            if (++nb == HESS_BLOCK || (j == p - 1 && l == p - 1)) {
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)nb, 1.0,
                            Wc, (int)m, W, (int)m, 1.0, H, (int)m);
                nb = 0;
            }
        }
    for (size_t a = 0; a < m; a++) /* exact symmetry */
        for (size_t b = 0; b < a; b++)
            H[b * m + a] = H[a * m + b];
    return 0;
}

/* ml: the exact Hessian of f = sum_{j>k} (e_j - log e_j) (+ const), e the
 * eigenvalues of Q = Psi^-1/2 R Psi^-1/2, from the eigenpairs (e, v) and
 * Q already in ws.  With dQ / dpsi_a = -(E_a Q + Q E_a) / (2 psi_a):
 *   d e_j / d psi_a = -e_j v_ja^2 / psi_a,
 *   d2 e_j / d psi_a d psi_b = [ v_ja v_jb Q_ab / 2 + [a = b] 3/2 e_j v_ja^2
 *       + sum_{m != j} (e_j + e_m)^2 / (2 (e_j - e_m)) v_ja v_ma v_jb v_mb ]
 *       / (psi_a psi_b),
 * and with h(e) = e - log e (h' = 1 - 1/e, h'' e^2 = 1):
 *   H_ab psi_a psi_b = sum_{j>k} [ v_ja^2 v_jb^2 + h'(e_j) (v_ja v_jb Q_ab / 2
 *       + [a = b] 3/2 e_j v_ja^2) + sum_{m != j} c_jm (v_ja v_ma)(v_jb v_mb) ],
 * c_jm = h'(e_j) (e_j + e_m)^2 / (2 (e_j - e_m)) for m among the top k; for
 * m > k the two orders of a pair combine to the divided difference of h',
 * 1 / (e_j e_m), so c_jm = (e_j + e_m)^2 / (4 e_j e_m) each.  One eigen
 * decomposition per Newton step instead of p + 1.  Returns -1 where an
 * eigenvalue across the split coincides or one is not positive (the
 * caller differences the gradient instead). */
static int ml_hessian(const extract_ws *ws, const double *psi, double *H)
{
    size_t p = ws->p, k = ws->k, m = ws->n_free, nb = 0;
    const double *v = ws->vecs, *e = ws->vals, *S = ws->S;
    double *W = ws->hw, *Wc = W + m * HESS_BLOCK;
    for (size_t j = 0; j < p; j++)
        if (!(e[j] > 0) || (j < k && e[j] <= 1))
            return -1; /* log undefined, or pmax(e - 1, 0) in the loadings */
    memset(H, 0, m * m * sizeof *H);
    /* the pair terms sum_{j>k} sum_l c_jl w w', w = v_j o v_l on the free
     * items (c_jj = 1: the v_ja^2 v_jb^2 term), as blocks of HESS_BLOCK
     * pairs: H += (W diag(c)) W' by DGEMM, as uls_hessian */
    for (size_t j = k; j < p; j++) {
        double hp = 1 - 1 / e[j];
        for (size_t l = 0; l < p; l++) {
            double c;
            if (l == j)
                c = 1;
            else if (l < k) {
                if (fabs(e[j] - e[l]) < 1e-12)
                    return -1;
                c = hp * (e[j] + e[l]) * (e[j] + e[l]) / (2 * (e[j] - e[l]));
            } else {
                c = (e[j] + e[l]) * (e[j] + e[l]) / (4 * e[j] * e[l]);
            }
            for (size_t a = 0; a < m; a++) {
                size_t ia = ws->free[a];
                double w = v[j * p + ia] * v[l * p + ia];
                W[nb * m + a] = w;
                Wc[nb * m + a] = c * w;
            }
            if (++nb == HESS_BLOCK || (j == p - 1 && l == p - 1)) {
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)nb, 1.0,
                            Wc, (int)m, W, (int)m, 1.0, H, (int)m);
                nb = 0;
            }
        }
    }
    /* h'(e_j) (v_ja v_jb Q_ab / 2 + [a = b] 3/2 e_j v_ja^2): with
     * N = sum_{j>k} h'(e_j) v_j v_j', the term N_ab Q_ab / 2 */
    for (size_t a = 0; a < m; a++) {
        size_t ia = ws->free[a];
        double diag = 0;
        for (size_t b = 0; b <= a; b++) {
            size_t ib = ws->free[b];
            double nab = 0;
            for (size_t j = k; j < p; j++) {
                double hpv = (1 - 1 / e[j]) * v[j * p + ia];
                nab += hpv * v[j * p + ib];
                if (b == a)
                    diag += hpv * 1.5 * e[j] * v[j * p + ia];
            }
            H[b * m + a] += 0.5 * nab * S[ib * p + ia];
        }
        H[a * m + a] += diag;
    }
    for (size_t a = 0; a < m; a++)
        for (size_t b = 0; b <= a; b++) {
            H[b * m + a] /= psi[ws->free[a]] * psi[ws->free[b]];
            H[a * m + b] = H[b * m + a];
        }
    return 0;
}

/* Gradient, and the curvature: the exact Hessians of minres and ml, or
 * (where those are undefined) forward differences of the gradient. */
static int psi_derivatives(const double *xf, double *grad, double *curv, void *data,
                           cx_error *err)
{
    extract_ws *ws = data;
    size_t p = ws->p, m = ws->n_free;
    double *x = ws->g + p, *gp = x + p, *gm = gp + p;
    memcpy(x, full_psi(ws, xf), p * sizeof *x);
    int rc = psi_gradient(ws, x, ws->g, err);
    for (size_t a = 0; rc == CX_OK && a < m; a++)
        grad[a] = ws->g[ws->free[a]];
    if (rc == CX_OK && ws->method != EFA_ML && !ws->off_diagonal && uls_hessian(ws, curv) == 0)
        return CX_OK;
    if (rc == CX_OK && ws->method == EFA_ML && ml_hessian(ws, x, curv) == 0)
        return CX_OK;
    /* forward differences: the curvature only steers the steps (the
     * solution is where the analytic gradient vanishes), and they cost
     * half the eigen decompositions of central ones */
    memcpy(gm, ws->g, p * sizeof *gm);
    for (size_t b = 0; rc == CX_OK && b < m; b++) {
        size_t j = ws->free[b];
        double x0 = x[j], h = 1e-6 * fmax(x0, 0.01);
        x[j] = x0 + h;
        rc = psi_gradient(ws, x, gp, err);
        x[j] = x0;
        for (size_t a = 0; rc == CX_OK && a < m; a++)
            curv[a * m + b] = (gp[ws->free[a]] - gm[ws->free[a]]) / h;
    }
    for (size_t a = 0; rc == CX_OK && a < m; a++)
        for (size_t b = 0; b < a; b++)
            curv[a * m + b] = curv[b * m + a] = 0.5 * (curv[a * m + b] + curv[b * m + a]);
    return rc;
}

/* Newton (the engine optimizer) on the free uniquenesses from ws->psi; a
 * uniqueness that ends at psych's lower bound with the objective still
 * falling towards it is held at the bound and the rest refitted.  *n_fixed
 * counts the uniquenesses held (by this call and before it). */
static int newton_rounds(extract_ws *ws, cx_optimizer *opt, double *x, int *iterations,
                         int *converged, int *n_fixed, cx_error *err)
{
    int rc = CX_OK;
    for (size_t round = 0; round <= ws->p; round++) {
        for (size_t a = 0; a < ws->n_free; a++)
            x[a] = ws->psi[ws->free[a]];
        cx_objective obj = {ws->n_free, CX_OPT_MINIMIZE, psi_value, psi_derivatives, ws};
        cx_opt_options o = {.max_iter = 200, .gtol = 1e-10, .xtol = 1e-12};
        cx_opt_report rep;
        cx_opt_status st = cx_optimizer_run(opt, &obj, x, &o, &rep, err);
        if (st == CX_OPT_EVAL_FAILED)
            return err->code ? err->code : CX_EFAIL;
        full_psi(ws, x);
        *iterations += rep.iterations;
        *converged = st == CX_OPT_CONVERGED;
        if ((rc = psi_gradient(ws, ws->psi, ws->g, err)))
            break;
        /* the optimizer also stops (tiny steps) when pressed against the
         * box with the gradient still pointing out of it: hold those */
        size_t m = 0, held = 0;
        for (size_t a = 0; a < ws->n_free; a++) {
            size_t i = ws->free[a];
            if (ws->psi[i] < PSI_LOWER + 1e-3 && ws->g[i] > (*converged ? 1e-8 : 0)) {
                ws->psi[i] = PSI_LOWER;
                held++;
            } else {
                ws->free[m++] = i;
            }
        }
        if (!held || !m)
            break;
        ws->n_free = m;
        *n_fixed += (int)held;
    }
    return rc;
}

/* The objective at the full psi (every uniqueness free). */
static int value_at(extract_ws *ws, const double *psi, double *f, cx_error *err)
{
    for (size_t i = 0; i < ws->p; i++)
        ws->free[i] = i;
    ws->n_free = ws->p;
    return psi_value(psi, f, ws, err);
}

/* Which uniquenesses rest on a bound, found as R's optimizer finds them.
 * psych (and factanal) minimize with L-BFGS-B, whose every step starts
 * along the projected gradient path (its generalized Cauchy point); where
 * the optimum is on the boundary, which bound becomes active is decided by
 * that path, and Newton's curvature-weighted path can end on another face
 * (HolzingerSwineford's 4-factor ml: x7 held instead of psych's and
 * factanal's x5, a lower discrepancy, but not R's answer).  So, after a
 * Newton run that ended on the bound: projected gradient steps from
 * psych's start (Barzilai-Borwein step lengths, Armijo backtracking along
 * the projection arc) until the objective settles; the uniquenesses then
 * at the lower bound with a positive gradient are held there, and
 * newton_rounds polishes the rest.  ws->psi: the start in, the projected
 * gradient's point out; held[i] set for the held ones. */
static int projected_gradient(extract_ws *ws, unsigned char *held, cx_error *err)
{
    size_t p = ws->p;
    /* value_at writes its argument into ws->psi: the iterate lives apart */
    double *psi = ws->g, *g = psi + p, *q = g + p, *gq = q + p, f, fq;
    memcpy(psi, ws->psi, p * sizeof *psi);
    int rc = value_at(ws, psi, &f, err);
    if (rc == CX_OK)
        rc = psi_gradient(ws, psi, g, err);
    double gn = 0;
    for (size_t i = 0; i < p; i++)
        gn += g[i] * g[i];
    double step = 0.01 / sqrt(gn > 0 ? gn : 1); /* psych's parscale: moves of ~0.01 */
    for (int it = 0; rc == CX_OK && it < 5000 && isfinite(f); it++) {
        double dec = 0;
        for (int halve = 0; halve < 60; halve++) {
            dec = 0;
            for (size_t i = 0; i < p; i++) {
                q[i] = fmin(1, fmax(PSI_LOWER, psi[i] - step * g[i]));
                dec += g[i] * (psi[i] - q[i]);
            }
            if ((rc = value_at(ws, q, &fq, err)) || (isfinite(fq) && fq <= f - 1e-4 * dec))
                break;
            step /= 2;
        }
        if (rc || !(isfinite(fq) && fq <= f - 1e-4 * dec) || dec <= 0)
            break; /* no descent left along the arc */
        if ((rc = psi_gradient(ws, q, gq, err)))
            break;
        double ss = 0, sy = 0, df = f - fq;
        for (size_t i = 0; i < p; i++) {
            double si = q[i] - psi[i];
            ss += si * si;
            sy += si * (gq[i] - g[i]);
            psi[i] = q[i];
            g[i] = gq[i];
        }
        f = fq;
        if (df <= 1e-15 * fmax(1, fabs(f)) || ss < 1e-24)
            break;
        step = sy > 0 ? ss / sy : 10 * step;
    }
    for (size_t i = 0; rc == CX_OK && i < p; i++)
        held[i] = psi[i] <= PSI_LOWER * (1 + 1e-12) && g[i] > 0;
    memcpy(ws->psi, psi, p * sizeof *psi);
    return rc;
}

/* Minimize over Psi in psych's box [0.005, 1], from psych's start 1 - SMC.
 * Newton from the start; when it ends with a uniqueness held at the lower
 * bound (a Heywood case), the bounds are chosen as R's optimizer chooses
 * them (projected_gradient) and Newton refits the free uniquenesses. */
static int extract_optim(const double *R, size_t p, size_t k, efa_method method,
                         const double *smc, double *L, int *iterations, int *converged,
                         int *n_fixed, cx_error *err)
{
    extract_ws ws = {R, p, k, method, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, NULL};
    ws.hw = cx_malloc(2 * p * HESS_BLOCK * sizeof(double), err);
    ws.ow = cx_malloc(2 * p * p * sizeof(double), err);
    ws.S = cx_malloc(p * p * sizeof(double), err);
    ws.vecs = cx_malloc(p * p * sizeof(double), err);
    ws.vals = cx_malloc(p * sizeof(double), err);
    ws.L = cx_malloc(p * k * sizeof(double), err);
    ws.g = cx_malloc(4 * p * sizeof(double), err);
    ws.psi = cx_malloc(p * sizeof(double), err);
    ws.free = cx_malloc(p * sizeof(size_t), err);
    double *x = cx_malloc(p * sizeof *x, err);
    unsigned char *held = cx_malloc(p, err);
    cx_optimizer *opt = cx_optimizer_alloc(p, err);
    int rc = (!ws.S || !ws.vecs || !ws.vals || !ws.L || !ws.g || !ws.psi || !ws.free || !x ||
              !held || !opt || !ws.hw || !ws.ow)
                 ? CX_ENOMEM
                 : CX_OK;
    *iterations = 0;
    *n_fixed = 0;
    for (int pass = 0; rc == CX_OK && pass < 2; pass++) {
        /* psych's start: diag(S) - smc, i.e. 1 - smc, kept inside the box */
        for (size_t i = 0; i < p; i++) {
            ws.psi[i] = fmin(1, fmax(PSI_LOWER, 1 - smc[i]));
            ws.free[i] = i;
        }
        ws.n_free = p;
        *n_fixed = 0;
        if (pass == 1) {
            rc = projected_gradient(&ws, held, err);
            size_t m = 0;
            for (size_t i = 0; rc == CX_OK && i < p; i++) {
                if (held[i])
                    ws.psi[i] = PSI_LOWER, (*n_fixed)++;
                else
                    ws.free[m++] = i;
            }
            ws.n_free = m;
            if (rc || !m)
                break;
            /* minres on the face: psych's objective itself (offdiag_value) */
            ws.off_diagonal = method != EFA_ML;
        }
        rc = rc ? rc : newton_rounds(&ws, opt, x, iterations, converged, n_fixed, err);
        if (*n_fixed == 0 && *converged)
            break; /* an interior optimum: no bound to choose */
        /* on the bound, or Newton failed from psych's start (an indefinite
         * curvature no damping cured: HS with 5 ml factors): the projected
         * gradient's path as L-BFGS-B's, then Newton from there */
    }
    if (rc == CX_OK)
        rc = loadings_of(&ws, ws.psi, 1, err);
    if (rc == CX_OK)
        memcpy(L, ws.L, p * k * sizeof *L);
    cx_optimizer_free(opt);
    free(x);
    free(held);
    free(ws.S);
    free(ws.vecs);
    free(ws.vals);
    free(ws.L);
    free(ws.g);
    free(ws.psi);
    free(ws.free);
    free(ws.hw);
    free(ws.ow);
    return rc;
}

/* psych's iterated principal axes; `reduced` receives the eigenvalues of
 * the last iteration's matrix (psych's $values). */
static int extract_pa(const double *R, size_t p, size_t k, const double *smc, double *L,
                      double *reduced, int *iterations, int *converged, cx_error *err)
{
    double *M = cx_malloc(p * p * sizeof *M, err), *V = cx_malloc(p * p * sizeof *V, err);
    int rc = (!M || !V) ? CX_ENOMEM : CX_OK;
    double comm = 0;
    if (rc == CX_OK) {
        memcpy(M, R, p * p * sizeof *M);
        for (size_t i = 0; i < p; i++)
            comm += M[i * p + i] = smc[i];
    }
    *converged = 0;
    int i = 1;
    while (rc == CX_OK) {
        rc = efa_eigen(M, p, reduced, V, err);
        if (rc)
            break;
        double comm1 = 0;
        for (size_t f = 0; f < k; f++)
            for (size_t r = 0; r < p; r++)
                L[f * p + r] = V[f * p + r] * sqrt(reduced[f]);
        for (size_t r = 0; r < p; r++) {
            double h = 0;
            for (size_t f = 0; f < k; f++)
                h += L[f * p + r] * L[f * p + r];
            comm1 += M[r * p + r] = h;
        }
        double change = fabs(comm - comm1);
        comm = comm1;
        i++;
        if (!isfinite(change)) {
            rc = cx_error_set(err, CX_EFAIL,
                              "principal axes: a negative eigenvalue among the first %zu "
                              "(too many factors for these items)",
                              k);
            break;
        }
        if (change < 0.001) {
            *converged = 1;
            break;
        }
        if (i > 50)
            break; /* psych: "maximum iteration exceeded" */
    }
    *iterations = i - 1;
    free(M);
    free(V);
    return rc;
}

/* ---- psych's signs and order ------------------------------------------------ */

static void sign_factors(double *L, size_t p, size_t k, double *phi)
{
    for (size_t f = 0; f < k; f++) {
        double s = 0;
        for (size_t i = 0; i < p; i++)
            s += L[f * p + i];
        if (s >= 0)
            continue;
        for (size_t i = 0; i < p; i++)
            L[f * p + i] = -L[f * p + i];
        if (phi)
            for (size_t g = 0; g < k; g++)
                if (g != f) {
                    phi[f * k + g] = -phi[f * k + g];
                    phi[g * k + f] = -phi[g * k + f];
                }
    }
}

/* Variance accounted for: diag(Phi L'L). */
static void ss_loadings(const double *L, size_t p, size_t k, const double *phi, double *ss)
{
    for (size_t f = 0; f < k; f++) {
        double s = 0;
        for (size_t g = 0; g < k; g++) {
            double c = 0;
            for (size_t i = 0; i < p; i++)
                c += L[g * p + i] * L[f * p + i];
            s += phi[g * k + f] * c;
        }
        ss[f] = s;
    }
}

/* Order factors by decreasing variance accounted for (R's order(), stable). */
static int order_factors(double *L, size_t p, size_t k, double *phi, double *ss, cx_error *err)
{
    size_t *idx = cx_malloc(k * sizeof *idx, err);
    double *L2 = cx_malloc(p * k * sizeof *L2, err), *phi2 = cx_malloc(k * k * sizeof *phi2, err);
    double *ss2 = cx_malloc(k * sizeof *ss2, err);
    if (!idx || !L2 || !phi2 || !ss2) {
        free(idx), free(L2), free(phi2), free(ss2);
        return CX_ENOMEM;
    }
    for (size_t f = 0; f < k; f++)
        idx[f] = f;
    for (size_t a = 1; a < k; a++) /* insertion sort: stable */
        for (size_t b = a; b > 0 && ss[idx[b]] > ss[idx[b - 1]]; b--) {
            size_t t = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = t;
        }
    for (size_t f = 0; f < k; f++) {
        memcpy(L2 + f * p, L + idx[f] * p, p * sizeof *L2);
        ss2[f] = ss[idx[f]];
        for (size_t g = 0; g < k; g++)
            phi2[f * k + g] = phi[idx[f] * k + idx[g]];
    }
    memcpy(L, L2, p * k * sizeof *L);
    memcpy(phi, phi2, k * k * sizeof *phi);
    memcpy(ss, ss2, k * sizeof *ss);
    free(idx), free(L2), free(phi2), free(ss2);
    return CX_OK;
}

/* ---- factor.stats ---------------------------------------------------------- */

/* P(X <= x) for a noncentral chi-square (df, ncp): the Poisson mixture of
 * central chi-squares, summed outward from the Poisson mode.  One
 * incomplete gamma function at the mode; its neighbours follow from
 * P(a + 1, y) = P(a, y) - y^a e^-y / Gamma(a + 1) (y = x/2, a = df/2 + j)
 * and the Poisson weights from w_{j+1} = w_j lam / (j + 1), both as
 * recurrences (hundreds of terms when ncp is large). */
static double pnchisq(double x, double df, double ncp)
{
    if (ncp <= 0)
        return gsl_cdf_chisq_P(x, df);
    if (!(x > 0))
        return 0;
    double lam = ncp / 2, y = x / 2;
    long mode = (long)floor(lam);
    double a0 = df / 2 + (double)mode;
    double w0 = exp(-lam + (double)mode * log(lam) - gsl_sf_lngamma((double)mode + 1));
    double P0 = gsl_cdf_chisq_P(x, df + 2.0 * (double)mode);
    double t0 = exp(a0 * log(y) - y - gsl_sf_lngamma(a0 + 1)); /* y^a0 e^-y / G(a0+1) */
    double sum = w0 * P0;
    double w = w0, P = P0, t = t0, a = a0;
    for (long j = mode + 1;; j++) { /* upward: P(a + 1) = P(a) - t(a) */
        P = fmax(P - t, 0);
        t *= y / (a + 1);
        a += 1;
        w *= lam / (double)j;
        sum += w * P;
        if ((w < 1e-17 && j - mode > 10) || j - mode > 100000)
            break;
    }
    w = w0, P = P0, a = a0, t = t0;
    for (long j = mode - 1; j >= 0; j--) { /* downward: P(a - 1) = P(a) + t(a - 1) */
        t *= a / y;
        a -= 1;
        P = fmin(P + t, 1);
        w *= (double)(j + 1) / lam;
        sum += w * P;
        if (w < 1e-17 && mode - j > 10)
            break;
    }
    return sum;
}

/* The ncp in [0, hi] with pnchisq(x, df, ncp) = target (decreasing in
 * ncp); NaN when not bracketed (psych: uniroot fails).  Regula falsi with
 * the Illinois modification: each pnchisq sums many incomplete gamma
 * functions, and it needs a fraction of bisection's evaluations while
 * keeping the bracket (GSL's root solvers would call the aborting error
 * handler on a non-finite value, from a fit that may run on any thread). */
static double ncp_root(double x, double df, double target, double hi)
{
    double lo = 0, flo = pnchisq(x, df, lo) - target, fhi = pnchisq(x, df, hi) - target;
    if (!(flo * fhi <= 0))
        return NAN;
    int side = 0;
    for (int it = 0; it < 200 && hi - lo > 1e-13 * fmax(1, hi); it++) {
        double mid = flo != fhi ? (lo * fhi - hi * flo) / (fhi - flo) : 0.5 * (lo + hi);
        if (!(mid > lo && mid < hi))
            mid = 0.5 * (lo + hi);
        double fm = pnchisq(x, df, mid) - target;
        if (fm == 0)
            return mid;
        if ((fm > 0) == (flo > 0)) {
            lo = mid, flo = fm;
            if (side == -1)
                fhi /= 2; /* Illinois: the stale end's value halved */
            side = -1;
        } else {
            hi = mid, fhi = fm;
            if (side == 1)
                flo /= 2;
            side = 1;
        }
    }
    return 0.5 * (lo + hi);
}

/* RMSEA and its 90% interval as factor.stats computes them (alpha = .1). */
static void rmsea_ci(efa_fit *f, double n)
{
    double chisq = f->chisq, df = f->df, tail = 0.05;
    f->rmsea = sqrt(fmax(chisq / (df * n) - 1 / (n - 1), 0));
    double hi = fmax(n, chisq) + 2 * n, pc = gsl_cdf_chisq_P(chisq, df);
    double up = 0, lo = 0;
    if (pc > tail) {
        double x = ncp_root(chisq, df, tail, hi);
        up = isnan(x) ? (f->rmsea <= 0 ? 0 : NAN) : sqrt(x / (n - 1) / df);
    }
    if (pc > 1 - tail) {
        double x = ncp_root(chisq, df, 1 - tail, hi);
        lo = isnan(x) ? NAN : sqrt(x / (n - 1) / df);
    }
    f->rmsea_upper = !isnan(up) && up < f->rmsea ? NAN : up;
    f->rmsea_lower = !isnan(lo) && lo > f->rmsea ? NAN : lo;
}

static int fit_statistics(const double *R, size_t p, double n, efa_fit *f, cx_error *err)
{
    size_t k = f->k;
    double *model = cx_calloc(p * p, sizeof *model, err), *LP = cx_calloc(p * k, sizeof *LP, err);
    double *inv = cx_malloc(p * p * sizeof *inv, err);
    if (!model || !LP || !inv) {
        free(model), free(LP), free(inv);
        return CX_ENOMEM;
    }
    for (size_t g = 0; g < k; g++) /* LP = L Phi */
        for (size_t h = 0; h < k; h++)
            for (size_t i = 0; i < p; i++)
                LP[g * p + i] += f->loadings[h * p + i] * f->phi[g * k + h];
    double r2 = 0, rstar2 = 0, r_off = 0, res_off = 0, trr = 0;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++) {
            double m = 0;
            for (size_t g = 0; g < k; g++)
                m += LP[g * p + i] * f->loadings[g * p + j];
            model[j * p + i] = m;
            double r = R[j * p + i], res = r - m;
            r2 += r * r;
            rstar2 += res * res;
            if (i != j)
                r_off += r * r, res_off += res * res;
            else
                trr += r;
        }
    double dp = (double)p, dk = (double)k;
    f->df = dp * (dp - 1) / 2 - dp * dk + dk * (dk - 1) / 2;
    /* np.obs = n for every pair (complete data) */
    f->e_chisq = res_off * n;
    f->rms = sqrt(res_off / (dp * (dp - 1)));
    f->crms = f->df > 0 ? sqrt(res_off / (2 * f->df)) : NAN;
    f->e_pvalue = f->df > 0 ? gsl_cdf_chisq_Q(f->e_chisq, f->df) : NAN;
    f->e_bic = f->df > 0 ? f->e_chisq - f->df * log(n) : NAN;
    f->fit = 1 - rstar2 / r2;
    f->fit_off = 1 - res_off / r_off;
    for (size_t i = 0; i < p; i++)
        model[i * p + i] = R[i * p + i];
    double ld_model, ld_r;
    int rc = CX_OK;
    if (spd_inverse(model, p, inv, &ld_model) != 0 || spd_inverse(R, p, inv, &ld_r) != 0) {
        rc = cx_error_set(err, CX_EFAIL, "the model or the correlation matrix is singular");
    } else {
        /* tr(model^-1 R) - log det(model^-1 R) - p */
        spd_inverse(model, p, inv, NULL);
        double tr = 0;
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < p; j++)
                tr += inv[j * p + i] * R[i * p + j];
        f->objective = tr - (ld_r - ld_model) - dp;
        double nm = (n - 1) - (2 * dp + 5) / 6 - 2 * dk / 3;
        f->chisq = fmax(f->objective * nm, 0);
        f->pvalue = f->df > 0 ? gsl_cdf_chisq_Q(f->chisq, f->df) : NAN;
        double F0 = trr - ld_r - dp;
        double Mm = f->objective / f->df, M0 = F0 * 2 / (dp * (dp - 1));
        f->null_chisq = F0 * ((n - 1) - (2 * dp + 5) / 6);
        f->null_df = dp * (dp - 1) / 2;
        f->tli = (M0 - Mm) / (M0 - 1 / nm);
        double nd = fmax(f->null_chisq - f->null_df, 0);
        f->cfi = (nd - fmax(f->chisq - f->df, 0)) / nd;
        if (f->df > 0) {
            rmsea_ci(f, n);
            f->bic = f->chisq - f->df * log(n);
            f->sabic = f->chisq - f->df * log((n + 2) / 24);
        } else {
            f->rmsea = f->rmsea_lower = f->rmsea_upper = f->bic = f->sabic = NAN;
        }
    }
    free(model), free(LP), free(inv);
    return rc;
}

/* ---- the whole fit ------------------------------------------------------------ */

/* Communalities, uniquenesses and psych's reduced eigenvalues from the
 * unrotated loadings. */
static int unrotated_summary(const double *R, size_t p, efa_fit *f, cx_error *err)
{
    size_t k = f->k;
    double *S = cx_malloc(p * p * sizeof *S, err);
    if (!S)
        return CX_ENOMEM;
    memcpy(S, R, p * p * sizeof *S);
    f->heywood = 0;
    for (size_t i = 0; i < p; i++) {
        double h = 0;
        for (size_t g = 0; g < k; g++)
            h += f->loadings[g * p + i] * f->loadings[g * p + i];
        f->communality[i] = h;
        f->uniqueness[i] = R[i * p + i] - h;
        S[i * p + i] = h;
        if (h >= 1 - PSI_LOWER - 1e-6)
            f->heywood++;
    }
    int rc = CX_OK;
    if (f->reduced[0] == 0) /* pa leaves its own */
        rc = efa_eigen(S, p, f->reduced, NULL, err);
    free(S);
    return rc;
}

int efa_run(const double *R, size_t p, double n, const efa_options *opt, efa_fit *f,
            cx_error *err)
{
    size_t k = opt->factors;
    double *smc = cx_malloc(p * sizeof *smc, err);
    if (!smc)
        return CX_ENOMEM;
    int rc = efa_smc(R, p, smc, err), converged = 0, n_fixed = 0;
    if (rc == CX_OK)
        rc = efa_eigen(R, p, f->values, NULL, err);
    memset(f->reduced, 0, p * sizeof *f->reduced);
    if (rc == CX_OK && opt->method == EFA_PA)
        rc = extract_pa(R, p, k, smc, f->loadings, f->reduced, &f->iterations, &converged, err);
    else if (rc == CX_OK)
        rc = extract_optim(R, p, k, opt->method, smc, f->loadings, &f->iterations, &converged,
                           &n_fixed, err);
    free(smc);
    if (rc)
        return rc;
    f->status = converged ? EFA_OK : EFA_NOT_CONVERGED;
    sign_factors(f->loadings, p, k, NULL);
    rc = unrotated_summary(R, p, f, err);
    if (rc)
        return rc;
    if (n_fixed > f->heywood)
        f->heywood = n_fixed;
    memset(f->phi, 0, k * k * sizeof *f->phi);
    for (size_t g = 0; g < k; g++)
        f->phi[g * k + g] = 1;
    f->rotation_iterations = 0;
    if (k > 1 && opt->rotation != EFA_ROT_NONE) {
        int ok = efa_rotate(f->loadings, p, k, opt->rotation, opt->seed, opt->random_starts,
                            f->phi, &f->rotation_iterations);
        if (ok < 0)
            return cx_error_set(err, CX_ENOMEM, "out of memory in the rotation");
        if (!ok && f->status == EFA_OK)
            f->status = EFA_ROTATION_NOT_CONVERGED;
        sign_factors(f->loadings, p, k, f->phi);
    }
    ss_loadings(f->loadings, p, k, f->phi, f->ss_loadings);
    if (k > 1 && (rc = order_factors(f->loadings, p, k, f->phi, f->ss_loadings, err)))
        return rc;
    for (size_t i = 0; i < p; i++) {
        double s2 = 0, s4 = 0;
        for (size_t g = 0; g < k; g++) {
            double x2 = f->loadings[g * p + i] * f->loadings[g * p + i];
            s2 += x2;
            s4 += x2 * x2;
        }
        f->complexity[i] = s2 * s2 / s4;
    }
    return fit_statistics(R, p, n, f, err);
}

int efa_reduced_eigen(const double *R, size_t p, size_t k, efa_method method, double *reduced,
                      cx_error *err)
{
    double *smc = cx_malloc(p * sizeof *smc, err), *L = cx_malloc(p * k * sizeof *L, err);
    double *S = cx_malloc(p * p * sizeof *S, err);
    int rc = (!smc || !L || !S) ? CX_ENOMEM : CX_OK, iterations = 0, converged = 0, fixed = 0;
    if (rc == CX_OK)
        rc = efa_smc(R, p, smc, err);
    if (rc == CX_OK && method == EFA_PA)
        rc = extract_pa(R, p, k, smc, L, reduced, &iterations, &converged, err);
    else if (rc == CX_OK) {
        rc = extract_optim(R, p, k, method, smc, L, &iterations, &converged, &fixed, err);
        memcpy(S, R, p * p * sizeof *S);
        for (size_t i = 0; rc == CX_OK && i < p; i++) {
            double h = 0;
            for (size_t g = 0; g < k; g++)
                h += L[g * p + i] * L[g * p + i];
            S[i * p + i] = h;
        }
        if (rc == CX_OK)
            rc = efa_eigen(S, p, reduced, NULL, err);
    }
    free(smc), free(L), free(S);
    return rc;
}
