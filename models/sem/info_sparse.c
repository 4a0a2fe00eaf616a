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
 * For models without regressions (B = I: CFA, multi-group CFA with means
 * and equality constraints, growth models) the same products also give
 * the exact Hessian of fmin (second_order_part, mean_part), for Newton
 * steps near the optimum: Fisher scoring converges only linearly, at a
 * rate set by the misfit.
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

/* The observed part of the Hessian of F_ML / 2 for one pair of entries of
 * a model without regressions (B = I, G = Lambda) nor means, where
 * F = log|Sigma| + tr(S Sigma^-1) has
 *   d2F/dk dl = tr(Si dS_k Si dS_l) - 2 tr(Si dS_l W dS_k) + tr(W d2S_kl)
 * (Si = Sigma^-1, W = Si - Si S Si).  The first term is the expected
 * information; this returns the other two over 2:
 *   -s_k s_l [KW(d,a) K(b,c) + KW(d,b) K(a,c) + KW(c,a) K(b,d) + KW(c,b) K(a,d)]
 * for dS_k = s_k (a b' + b a'), dS_l = s_l (c d' + d c'), plus
 * tr(W d2S_kl) / 2, non-zero only for
 *   Lambda_ij, Lambda_kl:  d2S = Psi_lj (e_i e_k' + e_k e_i')   -> Psi_lj W_ik
 *   Lambda_ij, Psi_ab:     d2S = e_i dLV_j' + dLV_j e_i',
 *                          dLV_j = Lambda_a [b = j] + Lambda_b [a = j] (a != b),
 *                                  Lambda_a [a = j] (a = b)  -> (W dLV_j)_i. */
static double second_order_part(const sem_group_matrices *G, size_t M, const sem_target *tk,
                                const dterm *k1, const sem_target *tl, const dterm *k2, size_t nv,
                                const double *k, const double *kw, int p)
{
    double v = 0.0;
    if (k1->a >= 0 && k2->a >= 0) {
        size_t a = (size_t)k1->a, b = (size_t)k1->b, c = (size_t)k2->a, d = (size_t)k2->b;
        v -= k1->s * k2->s *
             (kw[d * nv + a] * k[b * nv + c] + kw[d * nv + b] * k[a * nv + c] +
              kw[c * nv + a] * k[b * nv + d] + kw[c * nv + b] * k[a * nv + d]);
    }
    if (tk->mat == SEM_MAT_PSI && tl->mat == SEM_MAT_LAMBDA) {
        const sem_target *t = tk;
        tk = tl;
        tl = t;
    }
    if (tk->mat != SEM_MAT_LAMBDA)
        return v;
    size_t i = (size_t)tk->i;
    int j = tk->j;
    if (tl->mat == SEM_MAT_LAMBDA) {
        v += G->psi[(size_t)tl->j * M + (size_t)j] * kw[i * nv + (size_t)tl->i];
    } else if (tl->mat == SEM_MAT_PSI) {
        int a = tl->i, b = tl->j;
        if (b == j)
            v += kw[i * nv + (size_t)(p + a)];
        if (a == j && a != b)
            v += kw[i * nv + (size_t)(p + b)];
    }
    return v;
}

/* The mean structure's share of the same Hessian (F adds r' Si r, which
 * also makes W's S into S + r r'):
 *   sm_l s_k [K(c_l,a_k) u(b_k) + K(c_l,b_k) u(a_k)] + (k <-> l) - r' Si d2mu_kl,
 * from d(S + r r')/dl = -(dmu_l r' + r dmu_l') and d(-2 r' Si dmu_k)/dl;
 * with B = I, mu = nu + Lambda alpha has the one second derivative
 * d2mu / dLambda_ij dalpha_j = e_i, so r' Si d2mu = u(i). */
static double mean_part(const sem_target *tk, const dterm *k1, const sem_target *tl,
                        const dterm *k2, size_t nv, const double *k, const double *u)
{
    double v = 0.0;
    if (k2->c >= 0 && k1->a >= 0)
        v += k2->sm * k1->s *
             (k[(size_t)k2->c * nv + (size_t)k1->a] * u[k1->b] +
              k[(size_t)k2->c * nv + (size_t)k1->b] * u[k1->a]);
    if (k1->c >= 0 && k2->a >= 0)
        v += k1->sm * k2->s *
             (k[(size_t)k1->c * nv + (size_t)k2->a] * u[k2->b] +
              k[(size_t)k1->c * nv + (size_t)k2->b] * u[k2->a]);
    if (tk->mat == SEM_MAT_ALPHA && tl->mat == SEM_MAT_LAMBDA) {
        const sem_target *t = tk;
        tk = tl;
        tl = t;
    }
    if (tk->mat == SEM_MAT_LAMBDA && tl->mat == SEM_MAT_ALPHA && tk->j == tl->i)
        v -= u[tk->i];
    return v;
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
                v += second_order_part(&e->mod.grp[g], M, &entries[idx[x]].t, t1,
                                       &entries[idx[y]].t, t2, nv, k, kw, (int)p) +
                     mean_part(&entries[idx[x]].t, t1, &entries[idx[y]].t, t2, nv, k, u);
            v *= w;
            info[s1 * n_slots + s2] += v;
            if (x != y || s1 != s2)
                info[s2 * n_slots + s1] += v;
        }
    }
}

/* 1 when the model has no regressions (B = I), the class
 * second_order_part() and mean_part() cover. */
static int hessian_applies(const sem_est *e, const sem_entry *entries, size_t n_entries)
{
    size_t M = e->mod.n_nodes;
    if (e->fiml)
        return 0;
    for (size_t x = 0; x < n_entries; x++)
        if (entries[x].t.mat == SEM_MAT_BETA)
            return 0;
    for (size_t g = 0; g < e->n_groups; g++)
        for (size_t i = 0; i < M * M; i++)
            if (e->mod.grp[g].beta[i] != 0.0)
                return 0;
    return 1;
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
            terms[x] = entry_term(&e->mod.grp[g], &entries[x].t, (int)p, (int)M,
                                  e->pt->meanstructure);
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
    if (!hessian_applies(e, entries, n_entries))
        return CX_EUSAGE;
    return derivatives(e, entries, n_entries, n_slots, 1, grad, hess);
}
