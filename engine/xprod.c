/*
 * xprod.c — the cross-products X'X and column sums of a tall, narrow
 * block of doubles (column-major, a few dozen columns, thousands of rows):
 * the heart of every sufficient-statistics pass over numeric columns.
 *
 * Why not DSYRK: OpenBLAS's DSYRK is built for square-ish matrices.  For
 * 20 columns it packs the rows twice (once per operand) and runs its GEMM
 * kernel on thin panels: about 1.7 ms for 65536 x 21 on the machines this
 * was measured on (bench/README.md), a fifth of the core's peak.  Here
 * each 4 x 4 tile of column pairs (smaller at the edges, triangular on
 * the diagonal) keeps its running sums in AVX-512 registers while the rows stream from L1 (chunks
 * of XPROD_CHUNK rows), and carries them across chunks in memory: 16 multiply-adds per 8 loads, no
 * packing: 0.92 ms against DSYRK + DGEMV's 1.98 ms for 65536 x 21 (one thread, data in cache).
 * Machines without AVX-512 (and other compilers) take DSYRK + DGEMV: same sums up to rounding.
 *
 * Rounding: each of the 8 lanes sums every 8th row, then the lanes are
 * added; DSYRK sums in another order.  Both are within a few ulps of the
 * exact sum times the condition; callers compare at 1e-10, never bits.
 */
#include "xprod.h"

#include <string.h>

#include <cblas.h>

/* Rows per chunk: 256 rows of up to 32 columns (64 KB) stay in L1/L2
 * while every tile pair reads them. */
#define XPROD_CHUNK 256

/* DSYRK's chunks: 2048 rows (measured best for it, bench/README.md). */
#define BLAS_CHUNK 2048

static void xprod_blas(const double *x, size_t ld, size_t rows, size_t q, double *c, double *sum)
{
    for (size_t i0 = 0; i0 < rows; i0 += BLAS_CHUNK) {
        size_t k = rows - i0 < BLAS_CHUNK ? rows - i0 : BLAS_CHUNK;
        for (size_t j = 0; sum && j < q; j++) {
            const double *v = x + j * ld + i0;
            double s[4] = {0, 0, 0, 0};
            size_t i = 0;
            for (; i + 4 <= k; i += 4)
                for (int u = 0; u < 4; u++)
                    s[u] += v[i + (size_t)u];
            for (; i < k; i++)
                s[0] += v[i];
            sum[j] += (s[0] + s[1]) + (s[2] + s[3]);
        }
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)q, (int)k, 1.0, x + i0, (int)ld,
                    1.0, c, (int)q);
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define XPROD_AVX512 1
typedef double v8d __attribute__((vector_size(64), aligned(8)));

__attribute__((target("avx512f"))) static inline double hsum8(v8d v)
{
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

/* Tile (a0 .. a0+na-1) x (b0 .. b0+nb-1), na, nb <= 4, over rows [0, k8)
 * (a multiple of 8): its running sums s[4u + v] (8 lanes each) are
 * loaded, advanced and stored back, so they carry across chunks and are
 * reduced to numbers only at the end.  On a diagonal tile (diag: a0 ==
 * b0) only u <= v is summed.  Always inlined with constant na, nb and
 * diag (see tile_dispatch), so every case compiles to straight-line
 * code that does only the multiply-adds X'X needs. */
__attribute__((target("avx512f"), always_inline)) static inline void
tile(const double *const *col, size_t a0, size_t b0, size_t k8, v8d *s, int na, int nb, int diag)
{
    v8d t[16];
    memcpy(t, s, sizeof t);
    for (size_t i = 0; i < k8; i += 8) {
        v8d va[4], vb[4];
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) {
            if (u < na)
                memcpy(&va[u], col[a0 + (size_t)u] + i, sizeof va[u]);
            if (u < nb)
                memcpy(&vb[u], col[b0 + (size_t)u] + i, sizeof vb[u]);
        }
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++)
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++)
                if (u < na && v < nb && (!diag || u <= v))
                    t[4 * u + v] += va[u] * vb[v];
    }
    memcpy(s, t, sizeof t);
}

/* The tile shapes X'X has: full 4 x 4 tiles off the diagonal and on it,
 * the last column block (nb = q % 4) against full rows, and the last
 * diagonal block. */
__attribute__((target("avx512f"))) static void
tile_dispatch(const double *const *col, size_t a0, size_t b0, size_t k8, v8d *s, int na, int nb)
{
    int diag = a0 == b0;
    switch (diag * 100 + na * 10 + nb) {
    case 44:
        tile(col, a0, b0, k8, s, 4, 4, 0);
        break;
    case 43:
        tile(col, a0, b0, k8, s, 4, 3, 0);
        break;
    case 42:
        tile(col, a0, b0, k8, s, 4, 2, 0);
        break;
    case 41:
        tile(col, a0, b0, k8, s, 4, 1, 0);
        break;
    case 144:
        tile(col, a0, b0, k8, s, 4, 4, 1);
        break;
    case 133:
        tile(col, a0, b0, k8, s, 3, 3, 1);
        break;
    case 122:
        tile(col, a0, b0, k8, s, 2, 2, 1);
        break;
    case 111:
        tile(col, a0, b0, k8, s, 1, 1, 1);
        break;
    default:
        break; /* no other shape occurs (b0 >= a0) */
    }
}

__attribute__((target("avx512f"))) static void xprod_avx512(const double *x, size_t ld, size_t rows,
                                                            size_t q, double *c, double *sum)
{
    enum { TILES = XPROD_MAX_COLS / 4, PAIRS = TILES * (TILES + 1) / 2 };
    v8d acc[PAIRS * 16], colsum[XPROD_MAX_COLS];
    const double *col[XPROD_MAX_COLS];
    size_t rest = rows % 8, k8all = rows - rest;
    memset(acc, 0, sizeof acc);
    memset(colsum, 0, sizeof colsum);
    for (size_t i0 = 0; i0 < k8all; i0 += XPROD_CHUNK) {
        size_t k8 = k8all - i0 < XPROD_CHUNK ? k8all - i0 : XPROD_CHUNK;
        for (size_t j = 0; j < q; j++)
            col[j] = x + j * ld + i0;
        size_t pair = 0;
        for (size_t a0 = 0; a0 < q; a0 += 4)
            for (size_t b0 = a0; b0 < q; b0 += 4, pair++)
                tile_dispatch(col, a0, b0, k8, acc + 16 * pair, q - a0 < 4 ? (int)(q - a0) : 4,
                              q - b0 < 4 ? (int)(q - b0) : 4);
        for (size_t j = 0; sum && j < q; j++)
            for (size_t i = 0; i < k8; i += 8) {
                v8d v;
                memcpy(&v, col[j] + i, sizeof v);
                colsum[j] += v;
            }
    }
    size_t pair = 0;
    for (size_t a0 = 0; a0 < q; a0 += 4)
        for (size_t b0 = a0; b0 < q; b0 += 4, pair++)
            for (size_t u = 0; u < 4; u++)
                for (size_t v = 0; v < 4; v++) {
                    size_t i = a0 + u, j = b0 + v;
                    if (i < q && j < q && i <= j)
                        c[j * q + i] += hsum8(acc[16 * pair + 4 * u + v]);
                }
    for (size_t j = 0; j < q; j++) {
        const double *xj = x + j * ld;
        double t = hsum8(colsum[j]);
        for (size_t r = k8all; r < rows; r++) { /* the last rows % 8 rows */
            t += xj[r];
            for (size_t i = 0; i <= j; i++)
                c[j * q + i] += x[i * ld + r] * xj[r];
        }
        if (sum)
            sum[j] += t;
    }
}
#endif

void cx_xprod_add(const double *x, size_t ld, size_t rows, size_t q, double *c, double *sum)
{
#ifdef XPROD_AVX512
    if (q <= XPROD_MAX_COLS && __builtin_cpu_supports("avx512f")) {
        xprod_avx512(x, ld, rows, q, c, sum);
        return;
    }
#endif
    xprod_blas(x, ld, rows, q, c, sum);
}
