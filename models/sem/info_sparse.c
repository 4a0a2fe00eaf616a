/*
 * info_sparse.c — the ML gradient and expected information of complete
 * data from the low-rank structure of the model derivatives, instead of
 * dense p x p derivative matrices (sem_est_gradient/information).
 *
 * Every derivative of Sigma with respect to one model-matrix element is a
 * symmetric rank-two matrix s (a b' + b a') and every derivative of mu a
 * multiple of one vector c (matrices.h), with a, b, c taken from the
 * p + 2M columns of V = [I_p | G | LV] (G = Lambda B, LV = Lambda V):
 *   Lambda_ij: s = 1,  a = e_i,  b = LV_j;   dmu = eta_j e_i
 *   Beta_ij:   s = 1,  a = G_i,  b = LV_j;   dmu = eta_j G_i
 *   Psi_ij:    s = 1 (1/2 when i = j), a = G_i, b = G_j
 *   Theta_ij:  s = 1 (1/2 when i = j), a = e_i, b = e_j
 *   nu_i:      dmu = e_i;   alpha_i: dmu = G_i
 * With K = V' Sigma^-1 V and W = Sigma^-1 - Sigma^-1 (S + r r') Sigma^-1
 * (r = ybar - mu), KW = V' W V, u = V' Sigma^-1 r:
 *   tr(W dSigma) / 2 = s KW(a, b),   r' Sigma^-1 dmu = sm u(c),
 *   tr(Sigma^-1 dS_k Sigma^-1 dS_l) / 2
 *       = s_k s_l [K(a_k, a_l) K(b_k, b_l) + K(a_k, b_l) K(b_k, a_l)],
 *   dmu_k' Sigma^-1 dmu_l = sm_k sm_l K(c_k, c_l).
 * So one group costs four products of p x (p + 2M) shapes plus O(1) per
 * pair of parameters, where the dense form cost q p^3 + q^2 p^2.  The
 * formulas hold for every element type of the representation (loadings,
 * regressions, (co)variances, intercepts; equality-constrained slots
 * sum their entries), so the dense path remains only for FIML, whose
 * information is a sum over missing-data patterns (fiml.c).
 *
 * The same products also give the exact Hessian of fmin (observed_part),
 * for Newton steps near the optimum: Fisher scoring converges only
 * linearly, at a rate set by the misfit.
 */
#include "est_internal.h"

#include <cblas.h>
#include <string.h>

/* One entry's derivative: s (v_a v_b' + v_b v_a') and sm v_c (a < 0 or
 * c < 0: no Sigma / mu part). */
typedef struct dterm {
    int a, b, c;
    double s, sm;
} dterm;

static dterm entry_term(const sem_group_matrices *G, const sem_target *t, int p, int M, int means)
{
    dterm d = {-1, -1, -1, 0.0, 0.0};
    int i = t->i, j = t->j;
    switch (t->mat) {
    case SEM_MAT_LAMBDA:
        d = (dterm){i, p + M + j, i, 1.0, G->eta[j]};
        break;
    case SEM_MAT_BETA:
        d = (dterm){p + i, p + M + j, p + i, 1.0, G->eta[j]};
        break;
    case SEM_MAT_PSI:
        d = (dterm){p + i, p + j, -1, i == j ? 0.5 : 1.0, 0.0};
        break;
    case SEM_MAT_THETA:
        d = (dterm){i, j, -1, i == j ? 0.5 : 1.0, 0.0};
        break;
    case SEM_MAT_NU:
        d = (dterm){-1, -1, i, 0.0, 1.0};
        break;
    case SEM_MAT_ALPHA:
        d = (dterm){-1, -1, p + i, 0.0, 1.0};
        break;
    default:
        break;
    }
    if (!means)
        d.c = -1;
    return d;
}

/* V = [I | G | LV] (p x nv, row-major). */
static void fill_v(const sem_group_matrices *G, size_t p, size_t M, double *v)
{
    size_t nv = p + 2 * M;
    memset(v, 0, sizeof(double) * p * nv);
    for (size_t i = 0; i < p; i++) {
        v[i * nv + i] = 1.0;
        memcpy(v + i * nv + p, G->g + i * M, sizeof(double) * M);
        memcpy(v + i * nv + p + M, G->lv + i * M, sizeof(double) * M);
    }
}

/* K = V' Sigma^-1 V (exactly symmetric), KW = V' W V and u = V' Sigma^-1 r
 * of group g; work holds 3 p nv + p^2 + p doubles. */
static void group_products(const sem_est *e, size_t g, double *k, double *kw, double *u,
                           double *work)
{
    size_t p = e->p, M = e->mod.n_nodes, nv = p + 2 * M;
    const sem_group_matrices *G = &e->mod.grp[g];
    const double *si = e->sinv + g * p * p, *s = e->smp[g].cov;
    double *v = work, *sv = v + p * nv, *csv = sv + p * nv, *c = csv + p * nv, *r = c + p * p;
    int ip = (int)p, in = (int)nv;
    for (size_t i = 0; i < p; i++)
        r[i] = e->pt->meanstructure ? e->smp[g].mean[i] - G->mu[i] : 0.0;
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            c[i * p + j] = s[i * p + j] + r[i] * r[j];
    fill_v(G, p, M, v);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ip, in, ip, 1.0, si, ip, v, in, 0.0, sv,
                in);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, in, ip, 1.0, v, in, sv, in, 0.0, k,
                in);
    for (size_t a = 0; a < nv; a++)
        for (size_t b = 0; b < a; b++)
            k[a * nv + b] = k[b * nv + a] = 0.5 * (k[a * nv + b] + k[b * nv + a]);
    /* V' W V = K - (Sigma^-1 V)' C (Sigma^-1 V), C = S + r r' */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ip, in, ip, 1.0, c, ip, sv, in, 0.0, csv,
                in);
    memcpy(kw, k, sizeof(double) * nv * nv);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, in, ip, -1.0, sv, in, csv, in, 1.0, kw,
                in);
    for (size_t a = 0; a < nv; a++)
        for (size_t b = 0; b < a; b++)
            kw[a * nv + b] = kw[b * nv + a] = 0.5 * (kw[a * nv + b] + kw[b * nv + a]);
    if (e->pt->meanstructure)
        cblas_dgemv(CblasRowMajor, CblasTrans, ip, in, 1.0, sv, in, r, 1, 0.0, u, 1);
    else
        memset(u, 0, sizeof(double) * nv);
}

/* Order of element types in the pair tables below. */
static int type_rank(sem_mat m)
{
    switch (m) {
    case SEM_MAT_LAMBDA:
        return 0;
    case SEM_MAT_BETA:
        return 1;
    case SEM_MAT_PSI:
        return 2;
    case SEM_MAT_ALPHA:
        return 3;
    default:
        return 4;
    }
}

/* Matrices of group G read by (row, column) and the columns of V. */
typedef struct hess_ctx {
    const sem_group_matrices *G;
    size_t p, M, nv;
    const double *k, *kw, *u;
} hess_ctx;

static double bij(const hess_ctx *h, int r, int c)
{
    return h->G->b[(size_t)r * h->M + (size_t)c];
}

static double kwv(const hess_ctx *h, size_t x, size_t y)
{
    return h->kw[x * h->nv + y];
}

/* tr(W d2Sigma_kl) / 2 with B = (I - Beta)^-1, V = B Psi B', G = Lambda B,
 * for tk's type ranked before (or with) tl's.  With b_k, V_l the columns of
 * B and V, dB / dBeta_kl = b_k B_l. gives dG_i = G_k B_li,
 * dV = b_k V_l' + V_l b_k', dLV_j = G_k V_lj + LV_l B_jk, and
 * dPsi_ab: dLV_j = G_a B_jb + G_b B_ja (a != b; G_a B_ja when a = b):
 *   Lambda_ij Lambda_kl: V_lj W(e_i, e_k)
 *   Lambda_ij Beta_kl:   V_lj W(e_i, G_k) + B_jk W(e_i, LV_l)
 *   Lambda_ij Psi_ab:    B_jb W(e_i, G_a) + B_ja W(e_i, G_b)
 *   Beta_ij Beta_kl:     B_li W(G_k, LV_j) + V_lj W(G_i, G_k) + B_jk W(G_i, LV_l)
 *   Beta_ij Psi_ab:      B_jb W(G_i, G_a) + B_ja W(G_i, G_b)
 * (W(x, y) = x' W y = KW; the Psi_ab second terms only for a != b). */
static double sigma_second(const hess_ctx *h, const sem_target *tk, const sem_target *tl)
{
    size_t p = h->p, M = h->M;
    int i = tk->i, j = tk->j, k = tl->i, l = tl->j;
    size_t x = tk->mat == SEM_MAT_LAMBDA ? (size_t)i : p + (size_t)i; /* e_i or G_i */
    const double *V = h->G->v;
    if (tl->mat == SEM_MAT_PSI) {
        double v = bij(h, j, l) * kwv(h, x, p + (size_t)k);
        if (k != l)
            v += bij(h, j, k) * kwv(h, x, p + (size_t)l);
        return v;
    }
    if (tk->mat == SEM_MAT_LAMBDA && tl->mat == SEM_MAT_LAMBDA)
        return V[(size_t)l * M + (size_t)j] * kwv(h, x, (size_t)k);
    if (tl->mat != SEM_MAT_BETA)
        return 0.0;
    double v = V[(size_t)l * M + (size_t)j] * kwv(h, x, p + (size_t)k) +
               bij(h, j, k) * kwv(h, x, p + M + (size_t)l);
    if (tk->mat == SEM_MAT_BETA)
        v += bij(h, l, i) * kwv(h, p + (size_t)k, p + M + (size_t)j);
    return v;
}

/* r' Si d2mu_kl, mu = nu + Lambda B alpha (eta = B alpha), tk ranked first:
 *   Lambda_ij alpha_a: u(e_i) B_ja      Lambda_ij Beta_kl: u(e_i) B_jk eta_l
 *   Beta_ij alpha_a:   u(G_i) B_ja      Beta_ij Beta_kl:   u(G_k) B_li eta_j + u(G_i) B_jk eta_l */
static double mu_second(const hess_ctx *h, const sem_target *tk, const sem_target *tl)
{
    size_t p = h->p;
    int i = tk->i, j = tk->j, k = tl->i, l = tl->j;
    size_t x = tk->mat == SEM_MAT_LAMBDA ? (size_t)i : p + (size_t)i;
    const double *eta = h->G->eta;
    if (tk->mat != SEM_MAT_LAMBDA && tk->mat != SEM_MAT_BETA)
        return 0.0;
    if (tl->mat == SEM_MAT_ALPHA)
        return h->u[x] * bij(h, j, k);
    if (tl->mat != SEM_MAT_BETA)
        return 0.0;
    double v = h->u[x] * bij(h, j, k) * eta[l];
    if (tk->mat == SEM_MAT_BETA)
        v += h->u[p + (size_t)k] * bij(h, l, i) * eta[j];
    return v;
}

/* The observed part of the Hessian of fmin for one pair of entries (the
 * expected part is the information), over w_g: with Si = Sigma^-1,
 * C = S + r r', W = Si - Si C Si, F = log|Sigma| + tr(C Si) has
 *   d2F/dk dl = tr(Si dS_k Si dS_l) + 2 dmu_k' Si dmu_l     (2 x information)
 *             - 2 tr(Si dS_l W dS_k) + tr(W d2S_kl)
 *             + 2 dmu_l' Si dS_k Si r + 2 dmu_k' Si dS_l Si r - 2 r' Si d2mu_kl
 * (dC/dl = -(dmu_l r' + r dmu_l')); halved, in the rank-two terms:
 *   -s_k s_l [KW(d,a) K(b,c) + KW(d,b) K(a,c) + KW(c,a) K(b,d) + KW(c,b) K(a,d)]
 *   + sm_l s_k [K(c_l,a_k) u(b_k) + K(c_l,b_k) u(a_k)] + (k <-> l)
 *   + sigma_second - mu_second
 * for dS_k = s_k (a b' + b a'), dS_l = s_l (c d' + d c'). */
static double observed_part(const hess_ctx *h, const sem_target *tk, const dterm *k1,
                            const sem_target *tl, const dterm *k2)
{
    size_t nv = h->nv;
    const double *k = h->k, *kw = h->kw, *u = h->u;
    double v = 0.0;
    if (k1->a >= 0 && k2->a >= 0) {
        size_t a = (size_t)k1->a, b = (size_t)k1->b, c = (size_t)k2->a, d = (size_t)k2->b;
        v -= k1->s * k2->s *
             (kw[d * nv + a] * k[b * nv + c] + kw[d * nv + b] * k[a * nv + c] +
              kw[c * nv + a] * k[b * nv + d] + kw[c * nv + b] * k[a * nv + d]);
    }
    if (k2->c >= 0 && k1->a >= 0)
        v += k2->sm * k1->s *
             (k[(size_t)k2->c * nv + (size_t)k1->a] * u[k1->b] +
              k[(size_t)k2->c * nv + (size_t)k1->b] * u[k1->a]);
    if (k1->c >= 0 && k2->a >= 0)
        v += k1->sm * k2->s *
             (k[(size_t)k1->c * nv + (size_t)k2->a] * u[k2->b] +
              k[(size_t)k1->c * nv + (size_t)k2->b] * u[k2->a]);
    if (type_rank(tk->mat) > type_rank(tl->mat)) {
        const sem_target *t = tk;
        tk = tl;
        tl = t;
    }
    if (type_rank(tk->mat) > 1) /* Psi, Theta, nu, alpha with themselves: linear */
        return v;
    return v + sigma_second(h, tk, tl) - mu_second(h, tk, tl);
}

/* Gradient and information of group g's entries (terms[] of the group's
 * entries, listed in idx[0..n)), accumulated into the slots. */
static void group_accumulate(const sem_est *e, size_t g, const sem_entry *entries,
                             const dterm *terms, const int *idx, size_t n, const double *k,
                             const double *kw, const double *u, int hessian, size_t n_slots,
                             double *grad, double *info)
{
    size_t p = e->p, M = e->mod.n_nodes, nv = p + 2 * M;
    double w = e->w[g];
    const hess_ctx h = {&e->mod.grp[g], p, M, nv, k, kw, u};
    for (size_t x = 0; x < n; x++) {
        const dterm *t1 = &terms[idx[x]];
        size_t s1 = (size_t)entries[idx[x]].slot;
        double gx = 0.0;
        if (t1->a >= 0)
            gx += t1->s * kw[(size_t)t1->a * nv + (size_t)t1->b];
        if (t1->c >= 0)
            gx -= t1->sm * u[t1->c];
        grad[s1] += w * gx;
        if (!info)
            continue;
        const double *ka = t1->a >= 0 ? k + (size_t)t1->a * nv : NULL;
        const double *kb = t1->a >= 0 ? k + (size_t)t1->b * nv : NULL;
        const double *kc = t1->c >= 0 ? k + (size_t)t1->c * nv : NULL;
        for (size_t y = 0; y <= x; y++) {
            const dterm *t2 = &terms[idx[y]];
            size_t s2 = (size_t)entries[idx[y]].slot;
            double v = 0.0;
            if (ka && t2->a >= 0)
                v += t1->s * t2->s * (ka[t2->a] * kb[t2->b] + ka[t2->b] * kb[t2->a]);
            if (kc && t2->c >= 0)
                v += t1->sm * t2->sm * kc[t2->c];
            if (hessian)
                v += observed_part(&h, &entries[idx[x]].t, t1, &entries[idx[y]].t, t2);
            v *= w;
            info[s1 * n_slots + s2] += v;
            if (x != y || s1 != s2)
                info[s2 * n_slots + s1] += v;
        }
    }
}

static int derivatives(sem_est *e, const sem_entry *entries, size_t n_entries, size_t n_slots,
                       int hessian, double *grad, double *info)
{
    size_t p = e->p, M = e->mod.n_nodes, nv = p + 2 * M;
    size_t len = 2 * nv * nv + nv + 3 * p * nv + p * p + p + 1;
    size_t n_terms = sizeof(dterm) * n_entries + sizeof(int) * n_entries;
    double *k = sem_est_scratch(e, len + n_terms / sizeof(double) + 2);
    if (!k)
        return CX_ENOMEM;
    double *kw = k + nv * nv, *u = kw + nv * nv, *work = u + nv;
    dterm *terms = (dterm *)(work + 3 * p * nv + p * p + p + 1);
    int *idx = (int *)(terms + n_entries);
    memset(grad, 0, sizeof(double) * n_slots);
    if (info)
        memset(info, 0, sizeof(double) * n_slots * n_slots);
    for (size_t g = 0; g < e->n_groups; g++) {
        size_t n = 0;
        for (size_t x = 0; x < n_entries; x++) {
            if ((size_t)entries[x].t.group != g)
                continue;
            terms[x] =
                entry_term(&e->mod.grp[g], &entries[x].t, (int)p, (int)M, e->pt->meanstructure);
            idx[n++] = (int)x;
        }
        if (n == 0)
            continue;
        group_products(e, g, k, kw, u, work);
        group_accumulate(e, g, entries, terms, idx, n, k, kw, u, hessian, n_slots, grad, info);
    }
    return CX_OK;
}

int sem_est_ml_derivatives(sem_est *e, const sem_entry *entries, size_t n_entries, size_t n_slots,
                           double *grad, double *info)
{
    return derivatives(e, entries, n_entries, n_slots, 0, grad, info);
}

int sem_est_ml_hessian(sem_est *e, const sem_entry *entries, size_t n_entries, size_t n_slots,
                       double *grad, double *hess)
{
    if (e->fiml)
        return CX_EUSAGE;
    return derivatives(e, entries, n_entries, n_slots, 1, grad, hess);
}
