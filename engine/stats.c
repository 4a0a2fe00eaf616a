/*
 * stats.c — streaming means and centered cross-products (see stats.h).
 *
 * Listwise blocks are processed in chunks of CHUNK_ROWS complete rows:
 * each chunk gets its own (weighted) mean, is centered, scaled by sqrt(w)
 * and reduced with one cx_xprod_add (xprod.h); the chunk summary is then merged into the
 * running moments with the update of Chan, Golub & LeVeque (1979).
 * Centering before the cross-product keeps the digits that raw sums of
 * squares lose when means are large against the spread, and the small
 * chunk keeps the scratch buffer in cache and off the mmap path.
 *
 * Unweighted chunks whose values are all small integers (Likert items,
 * counts: the common case) take an exact path instead: one cx_xprod_add
 * on the raw values gives X'X and the column sums, no centring passes; see
 * lw_acc_add_exact.  Results differ from the two-pass path only in the
 * last bits, and are still identical for any number of threads.  Tiny
 * integers (|x| <= 1024: Likert items) get the same integers faster from
 * an int16/int32 kernel (try_tiny), bit-identical to the exact path.
 *
 * Pairwise moments use plain loops: per pair, a two-pass summary of the
 * rows where both values are present, merged the same way.
 *
 * The pass over a view is reducer.c's (cx_reduce_view with the moments
 * reducer); cx_stats_compute is a thin wrapper there, so the engine has
 * one streaming pass.
 */
#include "stats.h"
#include "table.h"
#include "xprod.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows per chunk: big enough for the cross-product kernel to run near
 * peak, small enough that the centered copy (CHUNK_ROWS x p doubles) stays in L2 for p ~ 25. */
#define CHUNK_ROWS 1024

/* ---- allocation ------------------------------------------------------ */

cx_moments *cx_moments_alloc(size_t p, cx_missing_mode mode, cx_error *err)
{
    cx_moments *m = cx_calloc(1, sizeof *m, err);
    if (!m)
        return NULL;
    m->p = p;
    m->mode = mode;
    size_t pp = p > 0 ? p * p : 1;
    m->mean = cx_calloc(p ? p : 1, sizeof *m->mean, err);
    int ok = m->mean != NULL;
    if (mode == CX_MISSING_PAIRWISE) {
        m->pair_w = cx_calloc(pp, sizeof *m->pair_w, err);
        m->pair_mean = cx_calloc(pp, sizeof *m->pair_mean, err);
        m->pair_m2 = cx_calloc(pp, sizeof *m->pair_m2, err);
        ok = ok && m->pair_w && m->pair_mean && m->pair_m2;
    } else {
        m->m2 = cx_calloc(pp, sizeof *m->m2, err);
        ok = ok && m->m2;
    }
    if (!ok) {
        cx_moments_free(m);
        return NULL;
    }
    cx_moments_reset(m);
    return m;
}

void cx_moments_free(cx_moments *m)
{
    if (!m)
        return;
    free(m->mean);
    free(m->m2);
    free(m->pair_w);
    free(m->pair_mean);
    free(m->pair_m2);
    free(m);
}

void cx_moments_reset(cx_moments *m)
{
    size_t p = m->p, pp = p * p;
    m->n_rows = 0;
    m->sum_w = 0;
    m->min_w = INFINITY; /* no row seen yet */
    memset(m->mean, 0, p * sizeof *m->mean);
    if (m->m2)
        memset(m->m2, 0, pp * sizeof *m->m2);
    if (m->pair_w) {
        memset(m->pair_w, 0, pp * sizeof *m->pair_w);
        memset(m->pair_mean, 0, pp * sizeof *m->pair_mean);
        memset(m->pair_m2, 0, pp * sizeof *m->pair_m2);
    }
}

/* ---- weights ----------------------------------------------------------- */

/* Weights are frequency weights (denominator sum_w - ddof), so their
 * scale matters and cannot be divided out; sums of weights and of
 * w (x - mean)^2 must stay finite and normal.  Weights are therefore 0 or
 * between CX_MIN_WEIGHT and CX_MAX_WEIGHT: a row count of 2^60 times the
 * largest stays far below DBL_MAX, and sqrt of the smallest far above the
 * subnormals.  A missing (NaN) weight drops its row. */
#define CX_MAX_WEIGHT 1e150
#define CX_MIN_WEIGHT 1e-150

/* Index of the first weight that is negative, infinite or outside the
 * range above, or -1 when all are usable (NaN counts as usable: missing). */
long cx_weights_first_bad(const double *w, size_t n)
{
    for (size_t i = 0; w && i < n; i++)
        if (w[i] < 0 || w[i] > CX_MAX_WEIGHT || (w[i] > 0 && w[i] < CX_MIN_WEIGHT))
            return (long)i;
    return -1;
}

/* What is wrong with weight w, for messages. */
const char *cx_weight_problem(double w)
{
    if (isinf(w))
        return "is not finite; weights must be finite numbers >= 0";
    if (w < 0)
        return "is negative; weights must be >= 0";
    return "is outside the range cxfit accepts for frequency weights (0, or 1e-150 to 1e150); "
           "rescale the weights";
}

/* The public entry point has no table to name: rows of the block. */
static int check_weights(const double *w, size_t n, cx_error *err)
{
    long i = cx_weights_first_bad(w, n);
    if (i >= 0)
        return cx_error_set(err, CX_EUSAGE, "weight %g in row %ld of the block %s", w[i], i + 1,
                            cx_weight_problem(w[i]));
    return CX_OK;
}

static double row_weight(const double *w, size_t i)
{
    return w ? w[i] : 1.0;
}

/* ---- listwise ---------------------------------------------------------- */

/* A listwise accumulator that keeps its mean as shift + offset.  The shift
 * is a data row (the first complete one), so offsets are of the size of
 * the spread, not of the mean: deltas between chunk means, and between
 * block summaries merged later, keep their digits even when the means are
 * 1e9 and the spread 1 (a plain double mean of 1e9 has a resolution of
 * 1.2e-7, which the Chan update would turn into errors of ~1e-8 relative). */
typedef struct lw_acc {
    size_t p;
    double n_rows, sum_w, min_w;
    int has_shift;
    double *shift; /* p                                             */
    double *off;   /* p: mean - shift                               */
    double *m2;    /* p x p, upper triangle (column-major) is valid */
} lw_acc;

static int lw_acc_alloc(lw_acc *a, size_t p, cx_error *err)
{
    memset(a, 0, sizeof *a);
    a->p = p;
    a->shift = cx_calloc(2 * p + p * p + 1, sizeof *a->shift, err);
    if (!a->shift)
        return CX_ENOMEM;
    a->off = a->shift + p;
    a->m2 = a->off + p;
    a->min_w = INFINITY;
    return CX_OK;
}

static void lw_acc_free(lw_acc *a)
{
    free(a->shift);
    a->shift = a->off = a->m2 = NULL;
}

static void lw_acc_reset(lw_acc *a)
{
    size_t p = a->p;
    memset(a->shift, 0, (2 * p + p * p) * sizeof *a->shift);
    a->n_rows = a->sum_w = 0;
    a->min_w = INFINITY;
    a->has_shift = 0;
}

/* Chan et al.: with delta = mean_b - mean_a (here built from shifts and
 * offsets), M2 = M2_a + M2_b + delta delta' w_a w_b / w.  `delta` is
 * scratch of p doubles. */
static void lw_acc_merge_summary(lw_acc *a, double w_b, const double *delta, const double *m2_b)
{
    size_t p = a->p;
    double w = a->sum_w + w_b, f = a->sum_w * w_b / w;
    for (size_t k = 0; k < p; k++)
        for (size_t j = 0; j <= k; j++)
            a->m2[j + k * p] += m2_b[j + k * p] + f * delta[j] * delta[k];
    for (size_t j = 0; j < p; j++)
        a->off[j] += delta[j] * (w_b / w);
    a->sum_w = w;
}

/* a += b.  An empty `a` takes b's shift, so nothing is rounded. */
static void lw_acc_merge(lw_acc *a, const lw_acc *b, double *delta)
{
    size_t p = a->p;
    a->n_rows += b->n_rows;
    if (b->min_w < a->min_w)
        a->min_w = b->min_w;
    if (b->sum_w <= 0)
        return;
    if (a->sum_w <= 0) {
        memcpy(a->shift, b->shift, (2 * p + p * p) * sizeof *a->shift);
        a->sum_w = b->sum_w;
        a->has_shift = 1;
        return;
    }
    for (size_t j = 0; j < p; j++)
        delta[j] = (b->shift[j] - a->shift[j]) + (b->off[j] - a->off[j]);
    lw_acc_merge_summary(a, b->sum_w, delta, b->m2);
}

/* Copy the complete rows (all p present, weight present) of X[r0, r0+rows)
 * into z (ld = CHUNK_ROWS) minus the shift, and their weights into wz;
 * returns the count.  The first complete row ever seen becomes the shift.
 * Works column by column (a row mask, then compacting copies) so the
 * loops stream through memory and vectorise; `ok` holds CHUNK_ROWS flags. */
static size_t gather_complete_rows(lw_acc *a, const double *X, size_t ld, const double *w,
                                   size_t r0, size_t rows, double *z, double *wz, unsigned char *ok)
{
    size_t p = a->p, k = 0;
    for (size_t i = 0; i < rows; i++)
        ok[i] = !isnan(row_weight(w, r0 + i));
    for (size_t j = 0; j < p; j++) {
        const double *col = X + j * ld + r0;
        for (size_t i = 0; i < rows; i++)
            ok[i] &= !isnan(col[i]);
    }
    for (size_t i = 0; i < rows; i++)
        k += ok[i];
    if (k == 0)
        return 0;
    if (!a->has_shift) {
        size_t first = 0;
        while (!ok[first])
            first++;
        for (size_t j = 0; j < p; j++)
            a->shift[j] = X[r0 + first + j * ld];
        a->has_shift = 1;
    }
    for (size_t j = 0; j < p; j++) {
        const double *col = X + j * ld + r0;
        double *dst = z + j * CHUNK_ROWS, shift = a->shift[j];
        if (k == rows) {
            for (size_t i = 0; i < rows; i++)
                dst[i] = col[i] - shift;
        } else {
            for (size_t i = 0, at = 0; i < rows; i++)
                if (ok[i])
                    dst[at++] = col[i] - shift;
        }
    }
    for (size_t i = 0, at = 0; i < rows; i++)
        if (ok[i])
            wz[at++] = row_weight(w, r0 + i);
    return k;
}

/* Weighted mean of z's columns, with the second-pass correction (the mean
 * of the residuals) that removes the rounding of the first pass. */
static void chunk_mean(const double *z, const double *wz, size_t k, size_t p, double sum_w,
                       double *mean)
{
    for (size_t j = 0; j < p; j++) {
        const double *col = z + j * CHUNK_ROWS;
        double s = 0;
        for (size_t i = 0; i < k; i++)
            s += wz[i] * col[i];
        double mj = s / sum_w, r = 0;
        for (size_t i = 0; i < k; i++)
            r += wz[i] * (col[i] - mj);
        mean[j] = mj + r / sum_w;
    }
}

/* Center z in place and scale each row by sqrt(w), so that Z'Z is the
 * weighted centered cross-product. */
static void center_and_scale(double *z, const double *wz, size_t k, size_t p, const double *mean,
                             int weighted)
{
    for (size_t j = 0; j < p; j++) {
        double *col = z + j * CHUNK_ROWS;
        for (size_t i = 0; i < k; i++)
            col[i] -= mean[j];
        if (weighted)
            for (size_t i = 0; i < k; i++)
                col[i] *= sqrt(wz[i]);
    }
}

/* Scratch for lw_acc_add_rows: the chunk, its weights, the row mask (one
 * double's worth of room per row), mean, delta, the cross-products and
 * column sums. */
static double *chunk_scratch_alloc(size_t p, cx_error *err)
{
    return cx_malloc((CHUNK_ROWS * (p + 2) + 3 * p + p * p + 1) * sizeof(double), err);
}

/* One chunk of k gathered rows: mean, centre, cross-products, merge into a. */
static void lw_acc_add_chunk(lw_acc *a, double *z, const double *wz, size_t k, int weighted,
                             double *tail)
{
    size_t p = a->p;
    double *mean = tail, *delta = tail + p, *c = tail + 2 * p;
    double sum_w = 0;
    for (size_t i = 0; i < k; i++) {
        sum_w += wz[i];
        if (wz[i] < a->min_w)
            a->min_w = wz[i];
    }
    a->n_rows += (double)k;
    if (sum_w <= 0)
        return; /* rows with weight 0 count as used but carry no mass */
    chunk_mean(z, wz, k, p, sum_w, mean);
    center_and_scale(z, wz, k, p, mean, weighted);
    if (p > 0) { /* the centred chunk's X'X */
        memset(c, 0, p * p * sizeof *c);
        cx_xprod_add(z, CHUNK_ROWS, k, p, c, NULL);
    }
    /* chunk mean and a's offset share the shift: their difference is exact */
    for (size_t j = 0; j < p; j++)
        delta[j] = mean[j] - a->off[j];
    lw_acc_merge_summary(a, sum_w, delta, c);
}

/* ---- the exact path for small integers ---------------------------------- */

/* Survey items (Likert scales, counts, codes) are small integers.  Their
 * sums and cross-products over a chunk are integers below 2^53, which
 * doubles, and so any summation order, hold exactly: the cross-products of
 * the raw values and their column sums then give the centred cross-products
 * M2 = (k X'X - s s') / k with a single rounding, and no centring passes.
 * EXACT_MAX bounds |x| so that k X'X and s s' stay below 2^53 for k up to
 * CHUNK_ROWS (2^15 * 2^15 * 2^10 * 2^10 = 2^50). */
#define EXACT_MAX 32768.0

/* Is x a whole number with |x| <= EXACT_MAX?  Adding and removing 1.5 *
 * 2^52 rounds to an integer without libm; NaN fails both tests. */
static int small_int(double x)
{
    const double round_magic = 6755399441055744.0;
    return (x + round_magic) - round_magic == x && fabs(x) <= EXACT_MAX;
}

/* The exact paths centre on a shift: the first complete row the
 * accumulator sees (row `first` of X when it has none yet).  They apply
 * only while that shift is a small integer; returns 1 when it is. */
static int integer_shift(lw_acc *a, const double *X, size_t ld, size_t first)
{
    if (!a->has_shift) {
        for (size_t j = 0; j < a->p; j++)
            a->shift[j] = X[first + j * ld];
        a->has_shift = 1;
    }
    for (size_t j = 0; j < a->p; j++)
        if (!small_int(a->shift[j]))
            return 0;
    return 1;
}

/* One pass over a chunk's columns, per row: miss[i] > 0 when a value of
 * row i is missing (NaN), bad[i] > 0 when a present value is not a small
 * integer.  Flags are doubles added up per row, not a reduction, so the
 * loop vectorises without reassociating anything. */
static void scan_chunk(const double *X, size_t ld, size_t rows, size_t p, double *miss, double *bad)
{
    const double round_magic = 6755399441055744.0;
    memset(miss, 0, rows * sizeof *miss);
    memset(bad, 0, rows * sizeof *bad);
    for (size_t j = 0; j < p; j++) {
        const double *col = X + j * ld;
        for (size_t i = 0; i < rows; i++) {
            double v = col[i], r = (v + round_magic) - round_magic;
            int present = v == v;
            miss[i] += present ? 0.0 : 1.0;
            bad[i] += (present & ((r != v) | (fabs(v) > EXACT_MAX))) ? 1.0 : 0.0;
        }
    }
}

/* Merge a chunk's exact integer summary into a: c (upper triangle) holds
 * X'X and sum the column sums over its k complete rows, all exact
 * integers, so M2 = (k X'X - s s') / k and the offsets round only once. */
static void lw_acc_merge_exact(lw_acc *a, double dk, double *c, const double *sum, double *tail)
{
    size_t p = a->p;
    double *off = tail, *delta = tail + p;
    for (size_t q = 0; q < p; q++)
        for (size_t j = 0; j <= q; j++)
            c[j + q * p] = (dk * c[j + q * p] - sum[j] * sum[q]) / dk;
    /* mean - shift: sum - k*shift is exact, so only the division rounds */
    for (size_t j = 0; j < p; j++) {
        off[j] = (sum[j] - dk * a->shift[j]) / dk;
        delta[j] = off[j] - a->off[j];
    }
    if (a->min_w > 1.0)
        a->min_w = 1.0;
    a->n_rows += dk;
    lw_acc_merge_summary(a, dk, delta, c);
}

/* Add the complete rows of a chunk of small integers X (ld) to a
 * (unweighted): incomplete rows are zeroed in a copy, which leaves X'X and
 * the sums unchanged; cx_xprod_add gives both exactly (integer sums
 * below 2^53 in any order).  `miss` flags the incomplete rows; z is room
 * for the copy. */
static void lw_acc_add_exact(lw_acc *a, const double *X, size_t ld, size_t rows, size_t k,
                             const double *miss, double *z, double *tail)
{
    size_t p = a->p;
    double *c = tail + 2 * p, *sum = c + p * p;
    if (k < rows) {
        for (size_t j = 0; j < p; j++)
            for (size_t i = 0; i < rows; i++) {
                double x = X[j * ld + i]; /* loaded always, so the select vectorises */
                z[j * CHUNK_ROWS + i] = miss[i] == 0 ? x : 0.0;
            }
        X = z;
        ld = CHUNK_ROWS;
    }
    if (p > 0) { /* integers: every order of the sums is exact */
        memset(c, 0, p * p * sizeof *c);
        memset(sum, 0, p * sizeof *sum);
        cx_xprod_add(X, ld, rows, p, c, sum);
    }
    lw_acc_merge_exact(a, (double)k, c, sum, tail);
}

/* ---- the integer kernel for tiny integers -------------------------------- */

/* Likert items are tiny integers, and for them even doubles are the slow way:
 * a chunk is copied once into int16 columns (the NaN and integer checks
 * fused with the copy), incomplete rows are zeroed, and X'X and the sums
 * are accumulated in int32, which the compiler vectorises (pmaddwd: 8 or
 * 16 products per instruction against 4 or 8 in doubles).  With |x| <=
 * TINY_MAX every product is <= 2^20 and a chunk's sum of CHUNK_ROWS of
 * them <= 2^30: no summation order overflows.  The integers are the ones
 * the exact path gets, so the results are bit-identical to it. */
#define TINY_MAX 1024.0

/* One value: its int16 (NaN -> 0), whether it is present, and whether a
 * present value fails to be an integer with |x| <= TINY_MAX. */
static int16_t tiny_value(double v, int *present, int *bad)
{
    const double round_magic = 6755399441055744.0;
    *present = v == v;
    double t = *present ? v : 0.0;
    int big = fabs(t) > TINY_MAX;
    *bad |= ((t + round_magic) - round_magic != t) | big;
    return (int16_t)(int32_t)(big ? 0.0 : t);
}

#ifdef __SSE2__
/* Eight values at a time with SSE2 (gcc does not vectorise the double to
 * int16 narrowing by itself): NaN lanes masked to 0, the checks or-ed into
 * *bad, int32 conversions packed to int16, and the NaN masks packed to one
 * int16 per row for keep. */
static size_t tiny_column_sse2(const double *col, size_t rows, int16_t *zi, int16_t *keep, int *bad)
{
    const __m128d magic = _mm_set1_pd(6755399441055744.0), limit = _mm_set1_pd(TINY_MAX);
    const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(INT64_MAX));
    __m128d flags = _mm_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        __m128i conv[4], mask[4];
        _mm_prefetch((const char *)(col + i + CHUNK_ROWS), _MM_HINT_T0); /* as in the AVX2 loop */
        for (int h = 0; h < 4; h++) {
            __m128d v = _mm_loadu_pd(col + i + 2 * h), m = _mm_cmpord_pd(v, v);
            __m128d t = _mm_and_pd(v, m);
            __m128d back = _mm_sub_pd(_mm_add_pd(t, magic), magic);
            __m128d big = _mm_cmpgt_pd(_mm_and_pd(t, abs_mask), limit);
            flags = _mm_or_pd(flags, _mm_or_pd(_mm_cmpneq_pd(back, t), big));
            conv[h] = _mm_cvttpd_epi32(_mm_andnot_pd(big, t));
            mask[h] = _mm_castpd_si128(m);
        }
        __m128i lo = _mm_unpacklo_epi64(conv[0], conv[1]),
                hi = _mm_unpacklo_epi64(conv[2], conv[3]);
        _mm_storeu_si128((__m128i *)(zi + i), _mm_packs_epi32(lo, hi));
        __m128i m =
            _mm_packs_epi16(_mm_packs_epi32(mask[0], mask[1]), _mm_packs_epi32(mask[2], mask[3]));
        __m128i k = _mm_loadu_si128((const __m128i *)(keep + i));
        _mm_storeu_si128((__m128i *)(keep + i), _mm_and_si128(k, m));
    }
    *bad |= _mm_movemask_pd(flags) != 0;
    return i;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define TINY_AVX2 1
#include <immintrin.h>
/* Sixteen values at a time with AVX2, cheaper than the SSE2 checks: a
 * value is a whole number in int32 range when converting to int32 and
 * back gives it again, and then in range when its int16 (saturated by the
 * pack) plus TINY_MAX is at most 2 * TINY_MAX as an unsigned number.  The
 * NaN masks become one bit per row (movemask), expanded to int16 masks. */
__attribute__((target("avx2"))) static size_t tiny_column_avx2(const double *col, size_t rows,
                                                               int16_t *zi, int16_t *keep, int *bad)
{
    const __m256i bit = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
                                          8192, 16384, (short)0x8000);
    const __m256i lim = _mm256_set1_epi16((short)TINY_MAX),
                  span = _mm256_set1_epi16((short)(2 * TINY_MAX));
    __m256d notint = _mm256_setzero_pd();
    __m256i outside = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 16 <= rows; i += 16) {
        __m128i conv[4];
        int present = 0;
        /* the same rows of the next chunk: each column is a run of only
         * CHUNK_ROWS doubles, too short for the hardware prefetcher */
        _mm_prefetch((const char *)(col + i + CHUNK_ROWS), _MM_HINT_T0);
        _mm_prefetch((const char *)(col + i + CHUNK_ROWS + 8), _MM_HINT_T0);
        for (int h = 0; h < 4; h++) {
            __m256d v = _mm256_loadu_pd(col + i + 4 * h), m = _mm256_cmp_pd(v, v, _CMP_ORD_Q);
            __m256d t = _mm256_and_pd(v, m);
            conv[h] = _mm256_cvttpd_epi32(t);
            notint =
                _mm256_or_pd(notint, _mm256_cmp_pd(_mm256_cvtepi32_pd(conv[h]), t, _CMP_NEQ_UQ));
            present |= _mm256_movemask_pd(m) << (4 * h);
        }
        __m256i x =
            _mm256_set_m128i(_mm_packs_epi32(conv[2], conv[3]), _mm_packs_epi32(conv[0], conv[1]));
        __m256i u = _mm256_add_epi16(x, lim);
        outside = _mm256_or_si256(outside, _mm256_xor_si256(_mm256_max_epu16(u, span), span));
        _mm256_storeu_si256((__m256i *)(zi + i), x);
        __m256i m =
            _mm256_cmpeq_epi16(_mm256_and_si256(_mm256_set1_epi16((short)present), bit), bit);
        __m256i k = _mm256_loadu_si256((const __m256i *)(keep + i));
        _mm256_storeu_si256((__m256i *)(keep + i), _mm256_and_si256(k, m));
    }
    *bad |= _mm256_movemask_pd(notint) != 0 || !_mm256_testz_si256(outside, outside);
    return i;
}
#endif

/* Copy one column into int16 (NaN -> 0), clear keep[i] where it is NaN;
 * nonzero when a present value is not an integer with |x| <= TINY_MAX. */
static int tiny_column(const double *col, size_t rows, int16_t *zi, int16_t *keep)
{
    int bad = 0, present;
    size_t i = 0;
#ifdef TINY_AVX2
    if (__builtin_cpu_supports("avx2"))
        i = tiny_column_avx2(col, rows, zi, keep, &bad);
#endif
#ifdef __SSE2__
    if (i == 0)
        i = tiny_column_sse2(col, rows, zi, keep, &bad);
#endif
    for (; i < rows; i++) {
        zi[i] = tiny_value(col[i], &present, &bad);
        keep[i] &= (int16_t)-present;
    }
    return bad;
}

/* X'X (upper triangle) and column sums of the int16 chunk zi, as doubles. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void
tiny_cross(const int16_t *zi, size_t rows, size_t p, double *c, double *sum)
{
    for (size_t q = 0; q < p; q++) {
        const int16_t *b = zi + q * CHUNK_ROWS;
        int32_t s = 0;
        for (size_t i = 0; i < rows; i++)
            s += b[i];
        sum[q] = s;
        for (size_t j = 0; j <= q; j++) {
            const int16_t *x = zi + j * CHUNK_ROWS;
            int32_t d = 0;
            for (size_t i = 0; i < rows; i++)
                d += (int32_t)x[i] * b[i];
            c[j + q * p] = d;
        }
    }
}

void cx_tiny_cross(const int16_t *z, size_t rows, size_t p, double *c, double *sum)
{
    tiny_cross(z, rows, p, c, sum);
}

_Static_assert(CX_TINY_CHUNK == CHUNK_ROWS && CX_TINY_MAX == (int)TINY_MAX,
               "cx_tiny_cross's layout is the moments pass's chunk");

/* The kept rows (keep[i] = -1; k of the rows) of the int16 chunk zi:
 * the others zeroed, then the integer cross-products and the exact merge. */
static void tiny_add_kept(lw_acc *a, int16_t *zi, const int16_t *keep, size_t rows, size_t k,
                          double *tail)
{
    size_t p = a->p;
    if (k < rows)
        for (size_t j = 0; j < p; j++)
            for (size_t i = 0; i < rows; i++)
                zi[j * CHUNK_ROWS + i] &= keep[i];
    double *c = tail + 2 * p, *sum = c + p * p;
    tiny_cross(zi, rows, p, c, sum);
    lw_acc_merge_exact(a, (double)k, c, sum, tail);
}

/* The tiny-integer path for an unweighted chunk: 0 (nothing done) when a
 * present value or the shift does not qualify.  keep: rows int16s;
 * zi: CHUNK_ROWS x p int16s. */
static int try_tiny(lw_acc *a, const double *X, size_t ld, size_t rows, int16_t *keep, int16_t *zi,
                    double *tail)
{
    size_t p = a->p, k = 0;
    for (size_t i = 0; i < rows; i++)
        keep[i] = -1;
    for (size_t j = 0; j < p; j++)
        if (tiny_column(X + j * ld, rows, zi + j * CHUNK_ROWS, keep))
            return 0;
    for (size_t i = 0; i < rows; i++)
        k += keep[i] != 0;
    if (k == 0)
        return 1; /* no complete row: nothing to add */
    size_t first = 0;
    while (!a->has_shift && keep[first] == 0)
        first++;
    if (!integer_shift(a, X, ld, first))
        return 0;
    tiny_add_kept(a, zi, keep, rows, k, tail);
    return 1;
}

/* The exact path for an unweighted chunk X[0, rows): taken when every
 * present value, and the shift, is a small integer.  Returns 0 (nothing
 * done) otherwise.  miss, bad: rows doubles each; z: the chunk copy. */
static int try_exact(lw_acc *a, const double *X, size_t ld, size_t rows, double *miss, double *bad,
                     double *z, double *tail)
{
    size_t p = a->p, k = 0, first = 0;
    scan_chunk(X, ld, rows, p, miss, bad);
    for (size_t i = 0; i < rows; i++) {
        if (bad[i] != 0)
            return 0;
        k += miss[i] == 0;
    }
    if (k == 0)
        return 1; /* no complete row: nothing to add */
    while (!a->has_shift && miss[first] != 0)
        first++;
    if (!integer_shift(a, X, ld, first))
        return 0;
    lw_acc_add_exact(a, X, ld, rows, k, miss, z, tail);
    return 1;
}

static void lw_acc_add_rows(lw_acc *a, const double *X, size_t n, size_t ld, const double *w,
                            double *scratch)
{
    size_t p = a->p;
    double *z = scratch, *wz = scratch + CHUNK_ROWS * p, *tail = wz + 2 * CHUNK_ROWS;
    double *flags = wz + CHUNK_ROWS; /* CHUNK_ROWS doubles: ok bytes or row flags */
    unsigned char *ok = (unsigned char *)flags;
    for (size_t r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
        size_t rows = n - r0 < CHUNK_ROWS ? n - r0 : CHUNK_ROWS;
        if (!w && try_tiny(a, X + r0, ld, rows, (int16_t *)flags, (int16_t *)z, tail))
            continue;
        if (!w && try_exact(a, X + r0, ld, rows, wz, flags, z, tail))
            continue;
        size_t k = gather_complete_rows(a, X, ld, w, r0, rows, z, wz, ok);
        lw_acc_add_chunk(a, z, wz, k, w != NULL, tail);
    }
}

/* m += a, where m keeps a plain mean: delta = (shift - mean) + offset. */
static void lw_acc_into_moments(cx_moments *m, const lw_acc *a)
{
    size_t p = m->p;
    m->n_rows += a->n_rows;
    if (a->min_w < m->min_w)
        m->min_w = a->min_w;
    if (a->sum_w <= 0)
        return;
    double w = m->sum_w + a->sum_w, f = m->sum_w * a->sum_w / w;
    for (size_t k = 0; k < p; k++) {
        double dk = (a->shift[k] - m->mean[k]) + a->off[k];
        for (size_t j = 0; j <= k; j++) {
            double dj = (a->shift[j] - m->mean[j]) + a->off[j];
            double v = m->m2[j + k * p] + a->m2[j + k * p] + f * dj * dk;
            m->m2[j + k * p] = m->m2[k + j * p] = v;
        }
    }
    for (size_t j = 0; j < p; j++) {
        double dj = (a->shift[j] - m->mean[j]) + a->off[j];
        m->mean[j] = m->sum_w > 0 ? m->mean[j] + dj * (a->sum_w / w) : a->shift[j] + a->off[j];
    }
    m->sum_w = w;
}

static int add_block_listwise(cx_moments *m, const double *X, size_t n, size_t ld, const double *w,
                              cx_error *err)
{
    lw_acc a;
    double *scratch = chunk_scratch_alloc(m->p, err);
    if (!scratch || lw_acc_alloc(&a, m->p, err)) {
        free(scratch);
        return CX_ENOMEM;
    }
    lw_acc_add_rows(&a, X, n, ld, w, scratch);
    lw_acc_into_moments(m, &a);
    lw_acc_free(&a);
    free(scratch);
    return CX_OK;
}

/* ---- pairwise ---------------------------------------------------------- */

/* Merge one pair's summary (w_b, means mj_b, mk_b, cross-product c_b) into
 * entry (j,k) of m; (k,j) gets the mirrored means. */
static void merge_pair(cx_moments *m, size_t j, size_t k, double w_b, double mj_b, double mk_b,
                       double c_b)
{
    size_t p = m->p, jk = j * p + k, kj = k * p + j;
    double w_a = m->pair_w[jk], w = w_a + w_b;
    if (w_b <= 0)
        return;
    double dj = mj_b - m->pair_mean[jk], dk = mk_b - m->pair_mean[kj];
    double c = m->pair_m2[jk] + c_b + dj * dk * (w_a * w_b / w);
    m->pair_m2[jk] = m->pair_m2[kj] = c;
    m->pair_mean[jk] += dj * (w_b / w);
    if (jk != kj)
        m->pair_mean[kj] += dk * (w_b / w);
    m->pair_w[jk] = m->pair_w[kj] = w;
}

/* Two-pass summary of the rows of block X where x_j, x_k and the weight
 * are all present. */
static void add_pair(cx_moments *m, const double *X, size_t n, size_t ld, const double *w, size_t j,
                     size_t k)
{
    const double *xj = X + j * ld, *xk = X + k * ld;
    double sw = 0, sj = 0, sk = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = row_weight(w, i);
        if (isnan(xj[i]) || isnan(xk[i]) || isnan(wi))
            continue;
        sw += wi;
        sj += wi * xj[i];
        sk += wi * xk[i];
    }
    if (sw <= 0)
        return;
    double mj = sj / sw, mk = sk / sw, rj = 0, rk = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = row_weight(w, i);
        if (isnan(xj[i]) || isnan(xk[i]) || isnan(wi))
            continue;
        double dj = xj[i] - mj, dk = xk[i] - mk;
        rj += wi * dj;
        rk += wi * dk;
        c += wi * dj * dk;
    }
    /* c is about the uncorrected means; shift it to the corrected ones. */
    double cj = rj / sw, ck = rk / sw;
    merge_pair(m, j, k, sw, mj + cj, mk + ck, c - sw * cj * ck);
}

/* Rows with at least one value count towards n_rows / sum_w. */
static void count_rows_pairwise(cx_moments *m, const double *X, size_t n, size_t ld,
                                const double *w)
{
    for (size_t i = 0; i < n; i++) {
        double wi = row_weight(w, i);
        if (isnan(wi))
            continue;
        int any = 0;
        for (size_t j = 0; j < m->p && !any; j++)
            any = !isnan(X[i + j * ld]);
        if (!any)
            continue;
        m->n_rows += 1;
        m->sum_w += wi;
        if (wi < m->min_w)
            m->min_w = wi;
    }
}

static void add_block_pairwise(cx_moments *m, const double *X, size_t n, size_t ld, const double *w)
{
    count_rows_pairwise(m, X, n, ld, w);
    for (size_t j = 0; j < m->p; j++)
        for (size_t k = j; k < m->p; k++)
            add_pair(m, X, n, ld, w, j, k);
    for (size_t j = 0; j < m->p; j++)
        m->mean[j] = m->pair_mean[j * m->p + j];
}

/* ---- public moments API ------------------------------------------------ */

int cx_moments_add_block(cx_moments *m, const double *X, size_t n, size_t ld, const double *w,
                         cx_error *err)
{
    int rc = check_weights(w, n, err);
    if (rc)
        return rc;
    if (m->mode == CX_MISSING_PAIRWISE) {
        add_block_pairwise(m, X, n, ld, w);
        return CX_OK;
    }
    return add_block_listwise(m, X, n, ld, w, err);
}

/* Chan et al. on two plain summaries (the public merge; cx_stats_compute
 * merges shifted accumulators instead, see lw_acc). */
static void merge_listwise_moments(cx_moments *m, const cx_moments *o)
{
    size_t p = m->p;
    m->n_rows += o->n_rows;
    if (o->sum_w <= 0)
        return;
    double w = m->sum_w + o->sum_w, f = m->sum_w * o->sum_w / w;
    for (size_t k = 0; k < p; k++)
        for (size_t j = 0; j <= k; j++) {
            double v = m->m2[j + k * p] + o->m2[j + k * p] +
                       f * (o->mean[j] - m->mean[j]) * (o->mean[k] - m->mean[k]);
            m->m2[j + k * p] = m->m2[k + j * p] = v;
        }
    for (size_t j = 0; j < p; j++)
        m->mean[j] += (o->mean[j] - m->mean[j]) * (o->sum_w / w);
    m->sum_w = w;
}

void cx_moments_merge(cx_moments *m, const cx_moments *other)
{
    size_t p = m->p;
    if (other->min_w < m->min_w)
        m->min_w = other->min_w;
    if (m->mode == CX_MISSING_PAIRWISE) {
        for (size_t j = 0; j < p; j++)
            for (size_t k = j; k < p; k++)
                merge_pair(m, j, k, other->pair_w[j * p + k], other->pair_mean[j * p + k],
                           other->pair_mean[k * p + j], other->pair_m2[j * p + k]);
        for (size_t j = 0; j < p; j++)
            m->mean[j] = m->pair_mean[j * p + j];
        m->sum_w += other->sum_w;
        m->n_rows += other->n_rows;
    } else {
        merge_listwise_moments(m, other);
    }
}

void cx_moments_covariance(const cx_moments *m, double ddof, double *out)
{
    size_t p = m->p;
    for (size_t i = 0; i < p * p; i++) {
        double w = m->mode == CX_MISSING_PAIRWISE ? m->pair_w[i] : m->sum_w;
        double s = m->mode == CX_MISSING_PAIRWISE ? m->pair_m2[i] : m->m2[i];
        out[i] = w - ddof > 0 ? s / (w - ddof) : NAN;
    }
}

double cx_moments_n(const cx_moments *m)
{
    return m->n_rows;
}

/* ---- accumulators for reducers ----------------------------------------- */

/* A moments accumulator is the pass's own per-level summary (a shifted
 * listwise accumulator, or pairwise moments) made public, so reducers
 * (reducer.c) can keep one per level, fold or bootstrap replicate and
 * merge them in a fixed order with exactly the arithmetic of
 * cx_stats_compute. */
struct cx_moments_acc {
    cx_missing_mode mode;
    lw_acc lw;      /* listwise */
    cx_moments *pw; /* pairwise */
};

cx_moments_acc *cx_moments_acc_alloc(size_t p, cx_missing_mode mode, cx_error *err)
{
    cx_moments_acc *a = cx_calloc(1, sizeof *a, err);
    if (!a)
        return NULL;
    a->mode = mode;
    int ok = mode == CX_MISSING_PAIRWISE ? (a->pw = cx_moments_alloc(p, mode, err)) != NULL
                                         : lw_acc_alloc(&a->lw, p, err) == CX_OK;
    if (!ok) {
        free(a);
        return NULL;
    }
    return a;
}

void cx_moments_acc_free(cx_moments_acc *a)
{
    if (!a)
        return;
    if (a->mode == CX_MISSING_PAIRWISE)
        cx_moments_free(a->pw);
    else
        lw_acc_free(&a->lw);
    free(a);
}

void cx_moments_acc_reset(cx_moments_acc *a)
{
    if (a->mode == CX_MISSING_PAIRWISE)
        cx_moments_reset(a->pw);
    else
        lw_acc_reset(&a->lw);
}

double *cx_moments_scratch_alloc(size_t p, cx_error *err)
{
    return chunk_scratch_alloc(p, err);
}

int cx_moments_acc_add(cx_moments_acc *a, const double *X, size_t n, size_t ld, const double *w,
                       double *scratch, cx_error *err)
{
    if (a->mode == CX_MISSING_PAIRWISE)
        return cx_moments_add_block(a->pw, X, n, ld, w, err);
    int rc = check_weights(w, n, err);
    if (rc == CX_OK)
        lw_acc_add_rows(&a->lw, X, n, ld, w, scratch);
    return rc;
}

/* One chunk of small integers: try_tiny's steps on int16 columns that
 * need no conversion — copy with missing values zeroed and their rows
 * cleared in keep, then the shift, the integer cross-products and the
 * exact merge. */
static void lw_acc_add_small_chunk(lw_acc *a, const int16_t *X, size_t ld, size_t rows,
                                   int16_t *keep, int16_t *zi, double *tail)
{
    size_t p = a->p, k = 0;
    for (size_t i = 0; i < rows; i++)
        keep[i] = -1;
    for (size_t j = 0; j < p; j++) {
        const int16_t *col = X + j * ld;
        int16_t *dst = zi + j * CHUNK_ROWS;
        for (size_t i = 0; i < rows; i++) {
            int16_t present = (int16_t) - (col[i] != CX_SMALL_MISSING);
            dst[i] = (int16_t)(col[i] & present);
            keep[i] &= present;
        }
    }
    for (size_t i = 0; i < rows; i++)
        k += keep[i] != 0;
    if (k == 0)
        return;
    size_t first = 0;
    while (!a->has_shift && keep[first] == 0)
        first++;
    if (!a->has_shift) {
        for (size_t j = 0; j < p; j++)
            a->shift[j] = zi[j * CHUNK_ROWS + first];
        a->has_shift = 1;
    }
    tiny_add_kept(a, zi, keep, rows, k, tail);
}

void cx_moments_acc_add_small(cx_moments_acc *a, const int16_t *X, size_t n, size_t ld,
                              double *scratch)
{
    lw_acc *lw = &a->lw;
    size_t p = lw->p;
    double *z = scratch, *wz = scratch + CHUNK_ROWS * p, *tail = wz + 2 * CHUNK_ROWS;
    double *flags = wz + CHUNK_ROWS; /* the same scratch layout as lw_acc_add_rows */
    for (size_t r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
        size_t rows = n - r0 < CHUNK_ROWS ? n - r0 : CHUNK_ROWS;
        lw_acc_add_small_chunk(lw, X + r0, ld, rows, (int16_t *)flags, (int16_t *)z, tail);
    }
}

void cx_moments_acc_merge(cx_moments_acc *a, const cx_moments_acc *b, double *delta)
{
    if (a->mode == CX_MISSING_PAIRWISE)
        cx_moments_merge(a->pw, b->pw);
    else
        lw_acc_merge(&a->lw, &b->lw, delta);
}

void cx_moments_acc_export(const cx_moments_acc *a, cx_moments *out)
{
    cx_moments_reset(out);
    if (a->mode == CX_MISSING_PAIRWISE)
        cx_moments_merge(out, a->pw);
    else
        lw_acc_into_moments(out, &a->lw);
}

/* ---- packing (dist.h: a rank's totals travel as flat doubles) ---------- */

size_t cx_moments_pack(const cx_moments *m, double *buf)
{
    size_t p = m->p, pp = p * p;
    size_t n = 3 + p + (m->mode == CX_MISSING_PAIRWISE ? 3 * pp : pp);
    if (!buf)
        return n;
    buf[0] = m->n_rows;
    buf[1] = m->sum_w;
    buf[2] = m->min_w;
    memcpy(buf + 3, m->mean, p * sizeof *buf);
    if (m->mode == CX_MISSING_PAIRWISE) {
        memcpy(buf + 3 + p, m->pair_w, pp * sizeof *buf);
        memcpy(buf + 3 + p + pp, m->pair_mean, pp * sizeof *buf);
        memcpy(buf + 3 + p + 2 * pp, m->pair_m2, pp * sizeof *buf);
    } else {
        memcpy(buf + 3 + p, m->m2, pp * sizeof *buf);
    }
    return n;
}

void cx_moments_unpack(cx_moments *m, const double *buf)
{
    size_t p = m->p, pp = p * p;
    m->n_rows = buf[0];
    m->sum_w = buf[1];
    m->min_w = buf[2];
    memcpy(m->mean, buf + 3, p * sizeof *buf);
    if (m->mode == CX_MISSING_PAIRWISE) {
        memcpy(m->pair_w, buf + 3 + p, pp * sizeof *buf);
        memcpy(m->pair_mean, buf + 3 + p + pp, pp * sizeof *buf);
        memcpy(m->pair_m2, buf + 3 + p + 2 * pp, pp * sizeof *buf);
    } else {
        memcpy(m->m2, buf + 3 + p, pp * sizeof *buf);
    }
}

/* Listwise: the counts, then shift, offsets and M2 exactly as they are, so
 * a merge after unpacking is the merge the rank itself would have done. */
size_t cx_moments_acc_pack(const cx_moments_acc *a, double *buf)
{
    if (a->mode == CX_MISSING_PAIRWISE)
        return cx_moments_pack(a->pw, buf);
    size_t p = a->lw.p, n = 4 + 2 * p + p * p;
    if (!buf)
        return n;
    buf[0] = a->lw.n_rows;
    buf[1] = a->lw.sum_w;
    buf[2] = a->lw.min_w;
    buf[3] = a->lw.has_shift;
    memcpy(buf + 4, a->lw.shift, (2 * p + p * p) * sizeof *buf);
    return n;
}

void cx_moments_acc_unpack(cx_moments_acc *a, const double *buf)
{
    if (a->mode == CX_MISSING_PAIRWISE) {
        cx_moments_unpack(a->pw, buf);
        return;
    }
    size_t p = a->lw.p;
    a->lw.n_rows = buf[0];
    a->lw.sum_w = buf[1];
    a->lw.min_w = buf[2];
    a->lw.has_shift = buf[3] != 0;
    memcpy(a->lw.shift, buf + 4, (2 * p + p * p) * sizeof *buf);
}
