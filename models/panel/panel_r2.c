/*
 * panel_r2.c — within, between and overall R² of a panel fit, as Stata's
 * xtreg reports them (plm reports one R², of the transformed regression).
 *
 * With b the fit's slopes (every estimated coefficient but the intercept)
 * and the rows of the estimating sample grouped by unit i:
 *   within  = cor(y_it - ybar_i, (x_it - xbar_i) b)²
 *   between = cor(ybar_i, xbar_i b)²            (one value per unit)
 *   overall = cor(y_it, x_it b)²
 * The same definitions for every method, so the numbers compare across
 * pooling, within, between, random and fd fits of one model: each says
 * how much of that part of the variation the method's slopes explain.
 */
#include <math.h>
#include <stdlib.h>

#include "panel.h"

/* Squared correlation of a and b over n values (NaN when one is constant). */
static double sq_cor(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++)
        ma += a[i], mb += b[i];
    ma /= (double)n;
    mb /= (double)n;
    double saa = 0, sbb = 0, sab = 0;
    for (size_t i = 0; i < n; i++) {
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
        sab += (a[i] - ma) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab * sab / (saa * sbb) : NAN;
}

void panel_r2_stata(const panel_data *d, const panel_fit *f, double out[3])
{
    size_t n = d->n, G = d->n_units;
    out[0] = out[1] = out[2] = NAN;
    /* y, xb, then their unit means, then the within deviations */
    double *w = malloc((4 * n + 4 * G + 1) * sizeof *w);
    if (!w || n < 2)
        goto done;
    double *xb = w, *dy = w + n, *dxb = w + 2 * n, *ym = w + 4 * n, *xm = ym + G, *cnt = xm + G;
    for (size_t g = 0; g < G; g++)
        ym[g] = xm[g] = cnt[g] = 0;
    for (size_t i = 0; i < n; i++) {
        xb[i] = 0;
        for (size_t j = 0; j < d->p; j++)
            if ((long)j != d->intercept && !isnan(f->beta[j]))
                xb[i] += d->x[j * n + i] * f->beta[j];
        ym[d->unit[i]] += d->y[i];
        xm[d->unit[i]] += xb[i];
        cnt[d->unit[i]]++;
    }
    for (size_t g = 0; g < G; g++)
        if (cnt[g] > 0)
            ym[g] /= cnt[g], xm[g] /= cnt[g];
    for (size_t i = 0; i < n; i++) {
        dy[i] = d->y[i] - ym[d->unit[i]];
        dxb[i] = xb[i] - xm[d->unit[i]];
    }
    out[0] = sq_cor(dy, dxb, n);
    out[1] = G > 1 ? sq_cor(ym, xm, G) : NAN;
    out[2] = sq_cor(d->y, xb, n);
done:
    free(w);
}
