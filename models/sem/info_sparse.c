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
    cblas_dgemv(CblasRowMajor, CblasTrans, ip, in, 1.0, sv, in, r, 1, 0.0, u, 1);
}

/* Gradient and information of group g's entries (terms[] of the group's
 * entries, listed in idx[0..n)), accumulated into the slots. */
static void group_accumulate(const sem_entry *entries, const dterm *terms, const int *idx, size_t n,
                             size_t nv, const double *k, const double *kw, const double *u,
                             double w, size_t n_slots, double *grad, double *info)
{
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
            v *= w;
            info[s1 * n_slots + s2] += v;
            if (x != y || s1 != s2)
                info[s2 * n_slots + s1] += v;
        }
    }
}

int sem_est_ml_derivatives(sem_est *e, const sem_entry *entries, size_t n_entries, size_t n_slots,
                           double *grad, double *info)
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
        group_accumulate(entries, terms, idx, n, nv, k, kw, u, e->w[g], n_slots, grad, info);
    }
    return CX_OK;
}
