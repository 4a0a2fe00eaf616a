/*
 * simulate.c — the simulated CX panel of `cxfit simulate` (see simulate.h;
 * the model, with every number, is written up in docs/SIMULATE.md).
 *
 * One firm-wave cell at a time: draw the firm's quality for the wave, then
 * its respondents (four correlated experience factors, 20 Likert items,
 * touchpoints and expectations, sat, ltr), append them to a block of rows
 * that is written when full, and keep the cell's NPS and mean sat for
 * /firms.  Growth is drawn afterwards from lagged NPS.  /truth lists the
 * generating parameters as lhs/op/rhs/value rows, the layout of cxfit's
 * own `estimates`, so a test can line estimates up against it.
 *
 * Random streams: a GSL mt19937 reseeded per firm (firm-level draws) and
 * per firm-wave cell (respondents), from a hash of (seed, firm, wave,
 * purpose).  Output depends on the options only, never on thread count or
 * the order cells are visited.
 *
 * Respondent panel (opt-in, `panel` percent): the first P respondents of
 * every firm-wave cell are the firm's panel members, the same people in
 * every wave.  What persists about a person (segment, weight, the stable
 * part of the factor scores and of the item residuals, the individual
 * ltr intercept and slope) comes from a stream of its own per (firm,
 * member), drawn again in every wave, so nothing has to be kept between
 * waves; the occasion's draws come from the cell's stream.  Without the
 * option not one draw changes: the default file stays byte-identical.
 */
#include "simulate.h"

#include <errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table_write.h"

/* ---------- the generating model (docs/SIMULATE.md) ---------- */

#define NF 4       /* experience factors                 */
#define NI 5       /* items per factor                   */
#define NT 4       /* touchpoints                        */
#define NSEG 3     /* customer segments                  */
#define NTHRESH 6  /* Likert 1-7 thresholds              */
#define BLOCK 8192 /* rows per write of /responses       */
#define MAX_ROWS 1000000000000.0
#define MAX_CELLS 100000000.0

static const char *const factor_names[NF] = {"PEX", "OUT", "MOT", "POM"};
static const char *const item_prefix[NF] = {"pex", "out", "mot", "pom"};
/* Standardized loadings on the latent response; out4 is reverse-keyed. */
static const double loadings[NF][NI] = {{0.80, 0.75, 0.70, 0.65, 0.72},
                                        {0.78, 0.74, 0.70, -0.68, 0.66},
                                        {0.76, 0.72, 0.69, 0.64, 0.70},
                                        {0.79, 0.73, 0.68, 0.66, 0.71}};
static const double phi[NF][NF] = {{1.00, 0.50, 0.40, 0.45},
                                   {0.50, 1.00, 0.35, 0.40},
                                   {0.40, 0.35, 1.00, 0.50},
                                   {0.45, 0.40, 0.50, 1.00}};
/* Likert category = 1 + number of thresholds below the latent response:
 * skewed towards agreement, as CX ratings are. */
static const double thresholds[NTHRESH] = {-2.0, -1.4, -0.8, -0.2, 0.5, 1.2};

static const char *const segment_names[NSEG] = {"consumer", "business", "premium"};
static const double segment_share[NSEG] = {0.5, 0.3, 0.2};

/* ltr (0-10) and sat (1-10): latent = intercept + beta . factors + segment
 * shift + normal residual, rounded and clamped to the scale. */
static const double ltr_intercept = 8.0, ltr_beta[NF] = {0.9, 0.6, 0.5, 0.4},
                    ltr_segment[NSEG] = {0.0, -0.3, 0.4}, ltr_sd = 1.2;
static const double sat_intercept = 7.0, sat_beta[NF] = {0.7, 0.5, 0.5, 0.3},
                    sat_segment[NSEG] = {0.0, -0.2, 0.3}, sat_sd = 1.0;

static const char *const touchpoints[NT] = {"web", "store", "call", "delivery"};
static const double tp_mean[NT] = {4.9, 5.3, 4.6, 5.0}, tp_mot = 0.9, tp_sd = 0.8;
static const double exp_mean[NT] = {5.2, 5.4, 5.0, 5.3}, exp_sd = 0.9;

/* Firm quality shifts all four factor means: a firm effect plus a random
 * walk over waves, so NPS differs between firms and drifts over time. */
static const double quality_sd = 0.25, drift_sd = 0.08;
static const double weight_sd = 0.3, missing_rate = 0.02;

/* revenue_growth[w] = a + b * nps[w-1] + firm effect + noise (w >= 2). */
static const double growth_a = 0.02, growth_b = 0.001, growth_firm_sd = 0.01, growth_sd = 0.01,
                    revenue_log_mean = 4.6, revenue_log_sd = 0.5;

/* Respondent panel (docs/SIMULATE.md "Respondent panels"): share of the
 * factor-score variance and of the item residual variance that persists
 * between a panel member's waves, and the individual ltr trajectory
 * a_i + b_i * wave (at wave 0, as `(wave | respondent)` parameterises it). */
static const double factor_stability = 0.5, item_stability = 0.3;
static const double own_intercept_sd = 0.5, slope_sd = 0.2, intercept_slope_cor = -0.4;

/* Columns of /responses, in order. */
enum {
    C_RESPONDENT,
    C_FIRM,
    C_WAVE,
    C_SEGMENT,
    C_WEIGHT,
    C_ITEMS,                  /* NF * NI Likert items      */
    C_TP = C_ITEMS + NF * NI, /* NT touchpoint ratings     */
    C_EXP = C_TP + NT,        /* NT expectations           */
    C_SAT = C_EXP + NT,
    C_LTR,
    NCOLS,
    /* respondent panel only */
    C_PANEL = NCOLS,
    C_LTR_LATENT,
    NCOLS_PANEL
};

enum { STREAM_FIRM = 1, STREAM_CELL = 2, STREAM_MEMBER = 3 };

/* ---------- random streams ---------- */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Reseed `r` for (seed, firm, wave, purpose): independent of everything
 * else, so any cell can be generated on its own. */
static void reseed(gsl_rng *r, long seed, long firm, long wave, int purpose)
{
    uint64_t h = splitmix64((uint64_t)seed);
    h = splitmix64(h ^ (uint64_t)firm);
    h = splitmix64(h ^ (uint64_t)wave);
    h = splitmix64(h ^ (uint64_t)purpose);
    gsl_rng_set(r, (unsigned long)(h >> 32) | 1ul);
}

/* ---------- state ---------- */

typedef struct sim {
    const cx_simulate_options *o;
    long panel;       /* respondent panel percent, 0 = none */
    const char *path; /* the .tmp file being written */
    gsl_rng *rng;
    double chol[NF][NF]; /* lower Cholesky factor of phi */
    size_t ncols;        /* NCOLS, or NCOLS_PANEL with a respondent panel */
    /* respondent panel: members per firm, the member stream, and per
     * respondent (in order of first appearance) its truth */
    long members;
    gsl_rng *member_rng;
    double *member_id; /* firms x members: id, 0 until first drawn */
    double next_id;
    double *rtruth; /* 5 x n_people: id, firm, panel, intercept, slope */
    size_t n_people, cap_people;
    double *quality; /* firms x waves: factor mean shift */
    double *nps, *sat_mean;
    long *n;
    char **firm_labels;
    /* /responses block */
    cx_table_writer *w;
    double *block; /* NCOLS x BLOCK */
    size_t fill, row0;
} sim;

static int factor_cholesky(sim *s, cx_error *err)
{
    gsl_matrix *m = gsl_matrix_alloc(NF, NF);
    if (!m)
        return cx_error_set(err, CX_ENOMEM, "simulate: out of memory");
    for (int i = 0; i < NF; i++)
        for (int j = 0; j < NF; j++)
            gsl_matrix_set(m, (size_t)i, (size_t)j, phi[i][j]);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = gsl_linalg_cholesky_decomp1(m);
    gsl_set_error_handler(old);
    for (int i = 0; i < NF; i++)
        for (int j = 0; j < NF; j++)
            s->chol[i][j] = j <= i ? gsl_matrix_get(m, (size_t)i, (size_t)j) : 0.0;
    gsl_matrix_free(m);
    return rc ? cx_error_set(err, CX_EFAIL, "simulate: factor correlations not positive definite")
              : CX_OK;
}

/* Members per firm: the panel percent of each cell's respondents. */
static long panel_members(const sim *s)
{
    return (long)floor((double)s->o->respondents * (double)s->panel / 100.0 + 0.5);
}

static int panel_init(sim *s, cx_error *err)
{
    const cx_simulate_options *o = s->o;
    s->members = panel_members(s);
    /* distinct people: every member once, every other respondent once */
    double people = (double)o->firms *
                    ((double)s->members + (double)o->waves * (double)(o->respondents - s->members));
    s->cap_people = (size_t)people;
    s->member_rng = gsl_rng_alloc(gsl_rng_mt19937);
    s->member_id = cx_calloc((size_t)o->firms * (size_t)(s->members ? s->members : 1),
                             sizeof *s->member_id, err);
    s->rtruth = cx_malloc(5 * s->cap_people * sizeof *s->rtruth, err);
    if (!s->member_rng || !s->member_id || !s->rtruth)
        return cx_error_set(err, CX_ENOMEM, "simulate: out of memory for %.0f panel respondents",
                            people);
    return CX_OK;
}

static int sim_init(sim *s, const cx_simulate_options *o, long panel, cx_error *err)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    s->panel = panel;
    size_t cells = (size_t)o->firms * (size_t)o->waves;
    s->ncols = panel > 0 ? NCOLS_PANEL : NCOLS;
    s->rng = gsl_rng_alloc(gsl_rng_mt19937);
    s->quality = cx_calloc(cells, sizeof *s->quality, err);
    s->nps = cx_calloc(cells, sizeof *s->nps, err);
    s->sat_mean = cx_calloc(cells, sizeof *s->sat_mean, err);
    s->n = cx_calloc(cells, sizeof *s->n, err);
    s->firm_labels = cx_calloc((size_t)o->firms, sizeof *s->firm_labels, err);
    s->block = cx_malloc(NCOLS_PANEL * BLOCK * sizeof *s->block, err);
    if (!s->rng || !s->quality || !s->nps || !s->sat_mean || !s->n || !s->firm_labels || !s->block)
        return cx_error_set(err, CX_ENOMEM, "simulate: out of memory for %zu firm-waves", cells);
    if (panel > 0 && panel_init(s, err) != CX_OK)
        return err ? err->code : CX_ENOMEM;
    /* firm01..firm12; more digits when there are more firms */
    int digits = 2;
    for (long f = o->firms; f >= 100; f /= 10)
        digits++;
    for (long f = 0; f < o->firms; f++) {
        char num[24], label[48] = "firm";
        int len = snprintf(num, sizeof num, "%ld", f + 1);
        for (int pad = len; pad < digits; pad++)
            strcat(label, "0");
        strcat(label, num);
        if (!(s->firm_labels[f] = cx_strdup(label, err)))
            return CX_ENOMEM;
    }
    return factor_cholesky(s, err);
}

static void sim_free(sim *s)
{
    if (s->rng)
        gsl_rng_free(s->rng);
    for (long f = 0; s->firm_labels && f < s->o->firms; f++)
        free(s->firm_labels[f]);
    free(s->firm_labels);
    free(s->quality);
    free(s->nps);
    free(s->sat_mean);
    free(s->n);
    free(s->block);
    if (s->member_rng)
        gsl_rng_free(s->member_rng);
    free(s->member_id);
    free(s->rtruth);
}

/* ---------- firm level ---------- */

/* Quality of every firm in every wave: q_f + random walk. */
static void draw_quality(sim *s)
{
    long W = s->o->waves;
    for (long f = 0; f < s->o->firms; f++) {
        reseed(s->rng, s->o->seed, f, 0, STREAM_FIRM);
        double q = gsl_ran_gaussian(s->rng, quality_sd);
        for (long w = 0; w < W; w++) {
            if (w > 0)
                q += gsl_ran_gaussian(s->rng, drift_sd);
            s->quality[f * W + w] = q;
        }
    }
}

/* ---------- respondents ---------- */

static double clamp_round(double x, double lo, double hi)
{
    double r = floor(x + 0.5);
    return r < lo ? lo : r > hi ? hi : r;
}

static double likert(double latent)
{
    int k = 1;
    for (int t = 0; t < NTHRESH; t++)
        k += latent > thresholds[t];
    return k;
}

/* Missing completely at random with probability missing_rate. */
static double maybe_missing(gsl_rng *r, double x)
{
    return gsl_rng_uniform(r) < missing_rate ? NAN : x;
}

static int draw_segment(gsl_rng *r)
{
    double u = gsl_rng_uniform(r), acc = 0;
    for (int k = 0; k < NSEG - 1; k++)
        if (u < (acc += segment_share[k]))
            return k;
    return NSEG - 1;
}

/* What one answer sheet is drawn from: factor scores, segment, weight,
 * the persistent part of each item residual (NULL: none) and the
 * individual ltr trajectory at this wave (0 without a panel). */
typedef struct occasion {
    double eta[NF];
    int seg;
    double weight;
    const double *item_u; /* NF * NI, or NULL */
    double trend;
} occasion;

/* Item residual: all fresh, or item_stability of its variance persistent. */
static double item_noise(gsl_rng *r, const occasion *oc, int item)
{
    double e = gsl_ran_gaussian(r, 1.0);
    if (!oc->item_u)
        return e;
    return sqrt(item_stability) * oc->item_u[item] + sqrt(1 - item_stability) * e;
}

/* The answers of one occasion into row `row` of `x` (x[c * BLOCK + row] is
 * column c); returns the latent ltr.  Draw order is the original one, so
 * the default file does not change. */
static double fill_answers(sim *s, const occasion *oc, double *x, size_t row)
{
    gsl_rng *r = s->rng;
#define AT(c) x[(size_t)(c)*BLOCK + row]
    AT(C_SEGMENT) = oc->seg;
    AT(C_WEIGHT) = oc->weight;
    for (int k = 0; k < NF; k++)
        for (int i = 0; i < NI; i++) {
            double l = loadings[k][i];
            double y = l * oc->eta[k] + sqrt(1 - l * l) * item_noise(r, oc, k * NI + i);
            AT(C_ITEMS + k * NI + i) = maybe_missing(r, likert(y));
        }
    for (int t = 0; t < NT; t++) {
        double tp = tp_mean[t] + tp_mot * oc->eta[2] + gsl_ran_gaussian(r, tp_sd);
        double ex = exp_mean[t] + gsl_ran_gaussian(r, exp_sd);
        AT(C_TP + t) = maybe_missing(r, clamp_round(tp, 1, 7));
        AT(C_EXP + t) = maybe_missing(r, clamp_round(ex, 1, 7));
    }
    double ltr = ltr_intercept + ltr_segment[oc->seg], sat = sat_intercept + sat_segment[oc->seg];
    for (int k = 0; k < NF; k++) {
        ltr += ltr_beta[k] * oc->eta[k];
        sat += sat_beta[k] * oc->eta[k];
    }
    AT(C_SAT) = maybe_missing(r, clamp_round(sat + gsl_ran_gaussian(r, sat_sd), 1, 10));
    ltr += oc->trend + gsl_ran_gaussian(r, ltr_sd);
    AT(C_LTR) = maybe_missing(r, clamp_round(ltr, 0, 10));
#undef AT
    return ltr;
}

/* eta = firm-wave quality + L z */
static void factor_scores(const sim *s, double q, const double *z, double *eta)
{
    for (int k = 0; k < NF; k++) {
        eta[k] = q;
        for (int j = 0; j <= k; j++)
            eta[k] += s->chol[k][j] * z[j];
    }
}

/* One respondent of firm f in wave w (0-based) into row `row` of `x`. */
static void draw_respondent(sim *s, long f, long w, double id, double *x, size_t row)
{
    gsl_rng *r = s->rng;
    occasion oc = {.item_u = NULL, .trend = 0.0};
    double z[NF];
    for (int k = 0; k < NF; k++)
        z[k] = gsl_ran_gaussian(r, 1.0);
    factor_scores(s, s->quality[f * s->o->waves + w], z, oc.eta);
    oc.seg = draw_segment(r);
    oc.weight = exp(gsl_ran_gaussian(r, weight_sd) - 0.5 * weight_sd * weight_sd);
    x[(size_t)C_RESPONDENT * BLOCK + row] = id;
    x[(size_t)C_FIRM * BLOCK + row] = (double)f;
    x[(size_t)C_WAVE * BLOCK + row] = (double)(w + 1);
    fill_answers(s, &oc, x, row);
}

/* ---------- respondent panel ---------- */

/* What persists about a person between waves. */
typedef struct person {
    double zs[NF];     /* stable part of the factor scores */
    double u[NF * NI]; /* stable part of the item residuals */
    int seg;
    double weight;
    double a, b; /* own ltr intercept (at wave 0) and slope per wave */
} person;

static void draw_person(gsl_rng *r, person *p)
{
    for (int k = 0; k < NF; k++)
        p->zs[k] = gsl_ran_gaussian(r, 1.0);
    for (int i = 0; i < NF * NI; i++)
        p->u[i] = gsl_ran_gaussian(r, 1.0);
    p->seg = draw_segment(r);
    p->weight = exp(gsl_ran_gaussian(r, weight_sd) - 0.5 * weight_sd * weight_sd);
    double n1 = gsl_ran_gaussian(r, 1.0), n2 = gsl_ran_gaussian(r, 1.0);
    p->a = own_intercept_sd * n1;
    p->b = slope_sd *
           (intercept_slope_cor * n1 + sqrt(1 - intercept_slope_cor * intercept_slope_cor) * n2);
}

/* The person's whole ltr intercept: its own a plus what its stable factor
 * scores add, beta' L sqrt(stability) zs (segment is a fixed effect). */
static double person_intercept(const sim *s, const person *p)
{
    double v = p->a;
    for (int k = 0; k < NF; k++)
        for (int j = 0; j <= k; j++)
            v += ltr_beta[k] * s->chol[k][j] * sqrt(factor_stability) * p->zs[j];
    return v;
}

static void record_person(sim *s, double id, long f, int member, const person *p)
{
    size_t n = s->n_people++, cap = s->cap_people;
    s->rtruth[n] = id;
    s->rtruth[cap + n] = (double)f;
    s->rtruth[2 * cap + n] = member;
    s->rtruth[3 * cap + n] = person_intercept(s, p);
    s->rtruth[4 * cap + n] = p->b;
}

/* Respondent i of firm f in wave w: panel member i when i < members (its
 * own stream), otherwise a fresh person drawn from the cell's stream. */
static void draw_panel_respondent(sim *s, long f, long w, long i, double *x, size_t row)
{
    person p;
    int member = i < s->members;
    double id;
    if (member) {
        double *slot = &s->member_id[f * s->members + i];
        reseed(s->member_rng, s->o->seed, f, i, STREAM_MEMBER);
        draw_person(s->member_rng, &p);
        if (*slot == 0) {
            *slot = ++s->next_id;
            record_person(s, *slot, f, 1, &p);
        }
        id = *slot;
    } else {
        draw_person(s->rng, &p);
        id = ++s->next_id;
        record_person(s, id, f, 0, &p);
    }
    occasion oc = {.seg = p.seg, .weight = p.weight, .item_u = p.u};
    double z[NF];
    for (int k = 0; k < NF; k++)
        z[k] = sqrt(factor_stability) * p.zs[k] +
               sqrt(1 - factor_stability) * gsl_ran_gaussian(s->rng, 1.0);
    factor_scores(s, s->quality[f * s->o->waves + w], z, oc.eta);
    oc.trend = p.a + p.b * (double)(w + 1);
    x[(size_t)C_RESPONDENT * BLOCK + row] = id;
    x[(size_t)C_FIRM * BLOCK + row] = (double)f;
    x[(size_t)C_WAVE * BLOCK + row] = (double)(w + 1);
    x[(size_t)C_PANEL * BLOCK + row] = member;
    x[(size_t)C_LTR_LATENT * BLOCK + row] = fill_answers(s, &oc, x, row);
}

static int flush_block(sim *s, cx_error *err)
{
    for (size_t c = 0; c < s->ncols; c++)
        if (cx_table_writer_write(s->w, c, s->row0, s->fill, s->block + c * BLOCK, err) != CX_OK)
            return err ? err->code : CX_EIO;
    s->row0 += s->fill;
    s->fill = 0;
    return CX_OK;
}

/* All respondents of one firm-wave; NPS and mean sat of the cell. */
static int draw_cell(sim *s, long f, long w, cx_error *err)
{
    long W = s->o->waves;
    long prom = 0, detr = 0, n_ltr = 0, n_sat = 0;
    double sat_sum = 0;
    reseed(s->rng, s->o->seed, f, w + 1, STREAM_CELL);
    for (long i = 0; i < s->o->respondents; i++) {
        if (s->panel > 0)
            draw_panel_respondent(s, f, w, i, s->block, s->fill);
        else
            draw_respondent(s, f, w, (double)(s->row0 + s->fill + 1), s->block, s->fill);
        double ltr = s->block[(size_t)C_LTR * BLOCK + s->fill];
        double sat = s->block[(size_t)C_SAT * BLOCK + s->fill];
        if (!isnan(ltr)) {
            n_ltr++;
            prom += ltr >= 9;
            detr += ltr <= 6;
        }
        if (!isnan(sat)) {
            n_sat++;
            sat_sum += sat;
        }
        if (++s->fill == BLOCK && flush_block(s, err) != CX_OK)
            return err ? err->code : CX_EIO;
    }
    s->n[f * W + w] = s->o->respondents;
    s->nps[f * W + w] = n_ltr ? 100.0 * (double)(prom - detr) / (double)n_ltr : NAN;
    s->sat_mean[f * W + w] = n_sat ? sat_sum / (double)n_sat : NAN;
    return CX_OK;
}

/* ---------- tables ---------- */

static int add_uint8_item(cx_table_writer *w, const char *name, cx_error *err)
{
    cx_column_spec c = {.name = name,
                        .kind = CX_COL_INT,
                        .bytes = 1,
                        .is_unsigned = 1,
                        .has_missing_value = 1,
                        .missing_value = 255};
    return cx_table_writer_add(w, &c, NULL, err);
}

/* Smallest unsigned type for values up to max (no missing values). */
static cx_column_spec count_spec(const char *name, double max)
{
    cx_column_spec c = {.name = name, .kind = CX_COL_INT, .is_unsigned = 1};
    c.bytes = max <= 255 ? 1 : max <= 65535 ? 2 : max <= 4294967295.0 ? 4 : 8;
    if (c.bytes == 8)
        c.is_unsigned = 0;
    return c;
}

static int add_response_columns(sim *s, cx_error *err)
{
    double nrows = s->panel > 0
                       ? (double)s->cap_people
                       : (double)s->o->firms * (double)s->o->waves * (double)s->o->respondents;
    cx_column_spec id = count_spec("respondent", nrows), wave = count_spec("wave", s->o->waves);
    cx_column_spec firm = {.name = "firm",
                           .kind = CX_COL_CATEGORICAL,
                           .categories = s->firm_labels,
                           .n_categories = (size_t)s->o->firms};
    cx_column_spec seg = {.name = "segment",
                          .kind = CX_COL_CATEGORICAL,
                          .categories = (char *const *)segment_names,
                          .n_categories = NSEG};
    cx_column_spec weight = {.name = "weight", .kind = CX_COL_FLOAT};
    const cx_column_spec *lead[] = {&id, &firm, &wave, &seg, &weight};
    for (size_t c = 0; c < 5; c++)
        if (cx_table_writer_add(s->w, lead[c], NULL, err) != CX_OK)
            return err ? err->code : CX_EIO;
    char name[32];
    int rc = CX_OK;
    for (int k = 0; rc == CX_OK && k < NF; k++)
        for (int i = 0; rc == CX_OK && i < NI; i++) {
            snprintf(name, sizeof name, "%s%d", item_prefix[k], i + 1);
            rc = add_uint8_item(s->w, name, err);
        }
    for (int pass = 0; pass < 2; pass++)
        for (int t = 0; rc == CX_OK && t < NT; t++) {
            snprintf(name, sizeof name, "%s_%s", pass ? "exp" : "tp", touchpoints[t]);
            rc = add_uint8_item(s->w, name, err);
        }
    if (rc == CX_OK)
        rc = add_uint8_item(s->w, "sat", err);
    if (rc == CX_OK)
        rc = add_uint8_item(s->w, "ltr", err);
    if (rc == CX_OK && s->panel > 0) {
        cx_column_spec member = count_spec("panel", 1),
                       latent = {.name = "ltr_latent", .kind = CX_COL_FLOAT};
        rc = cx_table_writer_add(s->w, &member, NULL, err);
        if (rc == CX_OK)
            rc = cx_table_writer_add(s->w, &latent, NULL, err);
    }
    return rc;
}

static int write_responses(sim *s, cx_error *err)
{
    size_t nrows = (size_t)s->o->firms * (size_t)s->o->waves * (size_t)s->o->respondents;
    s->w = cx_table_writer_alloc(s->path, "/responses", nrows, err);
    if (!s->w)
        return err ? err->code : CX_EIO;
    int rc = add_response_columns(s, err);
    for (long f = 0; rc == CX_OK && f < s->o->firms; f++)
        for (long w = 0; rc == CX_OK && w < s->o->waves; w++)
            rc = draw_cell(s, f, w, err);
    if (rc == CX_OK && s->fill)
        rc = flush_block(s, err);
    int close_rc = cx_table_writer_close(s->w, rc == CX_OK ? err : NULL);
    s->w = NULL;
    return rc != CX_OK ? rc : close_rc;
}

/* Growth and revenue of every firm-wave from lagged NPS. */
static void draw_growth(sim *s, double *growth, double *revenue)
{
    long W = s->o->waves;
    for (long f = 0; f < s->o->firms; f++) {
        /* Its own purpose number: the quality draws' stream stays untouched. */
        reseed(s->rng, s->o->seed, f, 0, STREAM_FIRM + 16);
        double u = gsl_ran_gaussian(s->rng, growth_firm_sd);
        double rev = exp(revenue_log_mean + gsl_ran_gaussian(s->rng, revenue_log_sd));
        for (long w = 0; w < W; w++) {
            size_t at = (size_t)(f * W + w);
            double g = NAN;
            if (w > 0) {
                double e = gsl_ran_gaussian(s->rng, growth_sd);
                g = growth_a + growth_b * s->nps[at - 1] + u + e;
                if (!isnan(g)) /* NaN only when no ltr in the last wave */
                    rev *= 1 + g;
            }
            growth[at] = g;
            revenue[at] = rev;
        }
    }
}

static int write_column(cx_table_writer *w, const cx_column_spec *spec, const double *x, size_t n,
                        cx_error *err)
{
    size_t col;
    if (cx_table_writer_add(w, spec, &col, err) != CX_OK)
        return err ? err->code : CX_EIO;
    return cx_table_writer_write(w, col, 0, n, x, err);
}

static int write_firm_columns(sim *s, cx_table_writer *w, double *tmp, cx_error *err)
{
    long F = s->o->firms, W = s->o->waves;
    size_t cells = (size_t)(F * W);
    double *growth = tmp + 2 * cells, *revenue = tmp + 3 * cells;
    for (size_t i = 0; i < cells; i++) {
        tmp[i] = (double)(i / (size_t)W);             /* firm code */
        tmp[cells + i] = (double)(i % (size_t)W + 1); /* wave */
    }
    draw_growth(s, growth, revenue);
    double *n = tmp + 4 * cells;
    for (size_t i = 0; i < cells; i++)
        n[i] = (double)s->n[i];
    cx_column_spec firm = {.name = "firm",
                           .kind = CX_COL_CATEGORICAL,
                           .categories = s->firm_labels,
                           .n_categories = (size_t)F};
    cx_column_spec wave = count_spec("wave", (double)W),
                   nspec = count_spec("n", (double)s->o->respondents);
    cx_column_spec fl[4] = {{.name = "nps", .kind = CX_COL_FLOAT},
                            {.name = "sat_mean", .kind = CX_COL_FLOAT},
                            {.name = "revenue", .kind = CX_COL_FLOAT},
                            {.name = "revenue_growth", .kind = CX_COL_FLOAT}};
    const double *fx[4] = {s->nps, s->sat_mean, revenue, growth};
    int rc = write_column(w, &firm, tmp, cells, err);
    if (rc == CX_OK)
        rc = write_column(w, &wave, tmp + cells, cells, err);
    if (rc == CX_OK)
        rc = write_column(w, &nspec, n, cells, err);
    for (int k = 0; rc == CX_OK && k < 4; k++)
        rc = write_column(w, &fl[k], fx[k], cells, err);
    return rc;
}

static int write_firms(sim *s, cx_error *err)
{
    size_t cells = (size_t)(s->o->firms * s->o->waves);
    double *tmp = cx_malloc(5 * cells * sizeof *tmp, err);
    if (!tmp)
        return CX_ENOMEM;
    cx_table_writer *w = cx_table_writer_alloc(s->path, "/firms", cells, err);
    int rc = w ? write_firm_columns(s, w, tmp, err) : (err ? err->code : CX_EIO);
    free(tmp);
    if (w) {
        int close_rc = cx_table_writer_close(w, rc == CX_OK ? err : NULL);
        rc = rc != CX_OK ? rc : close_rc;
    }
    return rc;
}

/* ---------- /truth ---------- */

/* Rows of lhs/op/rhs labels (categorical, labels in order of first
 * appearance) and values. */
typedef struct truth {
    size_t n, cap;
    char **label[3]; /* distinct labels per column            */
    size_t nlabel[3], caplabel[3];
    double *code[3]; /* per row: code into label[k]            */
    double *value;
} truth;

static int truth_code(truth *t, int k, const char *s, double *code, cx_error *err)
{
    for (size_t i = 0; i < t->nlabel[k]; i++)
        if (strcmp(t->label[k][i], s) == 0) {
            *code = (double)i;
            return CX_OK;
        }
    if (t->nlabel[k] == t->caplabel[k]) {
        size_t cap = t->caplabel[k] ? 2 * t->caplabel[k] : 64;
        char **l = realloc(t->label[k], cap * sizeof *l);
        if (!l)
            return cx_error_set(err, CX_ENOMEM, "simulate: out of memory");
        t->label[k] = l;
        t->caplabel[k] = cap;
    }
    if (!(t->label[k][t->nlabel[k]] = cx_strdup(s, err)))
        return CX_ENOMEM;
    *code = (double)t->nlabel[k]++;
    return CX_OK;
}

static int truth_add(truth *t, const char *lhs, const char *op, const char *rhs, double v,
                     cx_error *err)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        for (int k = 0; k < 3; k++) {
            double *c = realloc(t->code[k], cap * sizeof *c);
            if (!c)
                return cx_error_set(err, CX_ENOMEM, "simulate: out of memory");
            t->code[k] = c;
        }
        double *val = realloc(t->value, cap * sizeof *val);
        if (!val)
            return cx_error_set(err, CX_ENOMEM, "simulate: out of memory");
        t->value = val;
        t->cap = cap;
    }
    const char *parts[3] = {lhs, op, rhs};
    for (int k = 0; k < 3; k++)
        if (truth_code(t, k, parts[k], &t->code[k][t->n], err) != CX_OK)
            return CX_ENOMEM;
    t->value[t->n++] = v;
    return CX_OK;
}

static void truth_free(truth *t)
{
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < t->nlabel[k]; i++)
            free(t->label[k][i]);
        free(t->label[k]);
        free(t->code[k]);
    }
    free(t->value);
}

static int truth_measurement(truth *t, cx_error *err)
{
    char item[32], th[8];
    int rc = CX_OK;
    for (int k = 0; k < NF; k++)
        for (int i = 0; rc == CX_OK && i < NI; i++) {
            snprintf(item, sizeof item, "%s%d", item_prefix[k], i + 1);
            rc = truth_add(t, factor_names[k], "=~", item, loadings[k][i], err);
        }
    for (int k = 0; k < NF; k++)
        for (int j = k; rc == CX_OK && j < NF; j++)
            rc = truth_add(t, factor_names[k], "~~", factor_names[j], phi[k][j], err);
    for (int k = 0; k < NF; k++)
        for (int i = 0; rc == CX_OK && i < NI; i++) {
            snprintf(item, sizeof item, "%s%d", item_prefix[k], i + 1);
            double l = loadings[k][i];
            rc = truth_add(t, item, "~~", item, 1 - l * l, err);
            for (int h = 0; rc == CX_OK && h < NTHRESH; h++) {
                snprintf(th, sizeof th, "t%d", h + 1);
                rc = truth_add(t, item, "|", th, thresholds[h], err);
            }
        }
    return rc;
}

static int truth_outcome(truth *t, const char *y, double icept, const double *beta,
                         const double *seg, double sd, cx_error *err)
{
    char name[64];
    int rc = truth_add(t, y, "~1", "", icept, err);
    for (int k = 0; rc == CX_OK && k < NF; k++)
        rc = truth_add(t, y, "~", factor_names[k], beta[k], err);
    for (int g = 1; rc == CX_OK && g < NSEG; g++) {
        snprintf(name, sizeof name, "segment[%s]", segment_names[g]);
        rc = truth_add(t, y, "~", name, seg[g], err);
    }
    return rc == CX_OK ? truth_add(t, y, "~~", y, sd * sd, err) : rc;
}

static int truth_rest(truth *t, cx_error *err)
{
    char tp[32], ex[32];
    int rc = CX_OK;
    for (int i = 0; rc == CX_OK && i < NT; i++) {
        snprintf(tp, sizeof tp, "tp_%s", touchpoints[i]);
        snprintf(ex, sizeof ex, "exp_%s", touchpoints[i]);
        rc = truth_add(t, tp, "~1", "", tp_mean[i], err);
        if (rc == CX_OK)
            rc = truth_add(t, tp, "~", "MOT", tp_mot, err);
        if (rc == CX_OK)
            rc = truth_add(t, tp, "~~", tp, tp_sd * tp_sd, err);
        if (rc == CX_OK)
            rc = truth_add(t, ex, "~1", "", exp_mean[i], err);
        if (rc == CX_OK)
            rc = truth_add(t, ex, "~~", ex, exp_sd * exp_sd, err);
    }
    struct {
        const char *lhs, *op, *rhs;
        double v;
    } rows[] = {
        {"revenue_growth", "~1", "", growth_a},
        {"revenue_growth", "~", "lag(nps, 1)", growth_b},
        {"revenue_growth", "~~", "revenue_growth", growth_sd * growth_sd},
        {"firm_growth_effect", "~~", "firm_growth_effect", growth_firm_sd * growth_firm_sd},
        {"firm_quality", "~~", "firm_quality", quality_sd * quality_sd},
        {"quality_drift", "~~", "quality_drift", drift_sd * drift_sd},
        {"weight", "~~", "weight", weight_sd * weight_sd},
        {"missing_rate", ":=", "", missing_rate},
    };
    for (size_t i = 0; rc == CX_OK && i < sizeof rows / sizeof rows[0]; i++)
        rc = truth_add(t, rows[i].lhs, rows[i].op, rows[i].rhs, rows[i].v, err);
    return rc;
}

static int write_truth_table(const sim *s, truth *t, cx_error *err)
{
    cx_table_writer *w = cx_table_writer_alloc(s->path, "/truth", t->n, err);
    if (!w)
        return err ? err->code : CX_EIO;
    static const char *const names[3] = {"lhs", "op", "rhs"};
    int rc = CX_OK;
    for (int k = 0; rc == CX_OK && k < 3; k++) {
        cx_column_spec c = {.name = names[k],
                            .kind = CX_COL_CATEGORICAL,
                            .categories = t->label[k],
                            .n_categories = t->nlabel[k]};
        rc = write_column(w, &c, t->code[k], t->n, err);
    }
    cx_column_spec v = {.name = "value", .kind = CX_COL_FLOAT};
    if (rc == CX_OK)
        rc = write_column(w, &v, t->value, t->n, err);
    int close_rc = cx_table_writer_close(w, rc == CX_OK ? err : NULL);
    return rc != CX_OK ? rc : close_rc;
}

/* beta' Phi beta: the variance the four factors give latent ltr. */
static double ltr_factor_variance(void)
{
    double v = 0;
    for (int k = 0; k < NF; k++)
        for (int j = 0; j < NF; j++)
            v += ltr_beta[k] * phi[k][j] * ltr_beta[j];
    return v;
}

/* The individual ltr trajectories of a respondent panel, named for a
 * `ltr_latent ~ wave + (wave | respondent)` fit (docs/SIMULATE.md). */
static int truth_panel(const sim *s, truth *t, cx_error *err)
{
    double fv = ltr_factor_variance(), cov = intercept_slope_cor * own_intercept_sd * slope_sd;
    struct {
        const char *lhs, *op, *rhs;
        double v;
    } rows[] = {
        {"respondent_intercept", "~~", "respondent_intercept",
         own_intercept_sd * own_intercept_sd + factor_stability * fv},
        {"respondent_slope", "~~", "respondent_slope", slope_sd * slope_sd},
        {"respondent_intercept", "~~", "respondent_slope", cov},
        {"ltr_latent", "~", "wave", 0.0},
        {"ltr_latent", "~~", "ltr_latent", (1 - factor_stability) * fv + ltr_sd * ltr_sd},
        {"panel_share", ":=", "", (double)s->members / (double)s->o->respondents},
        {"factor_stability", ":=", "", factor_stability},
        {"item_stability", ":=", "", item_stability},
    };
    int rc = CX_OK;
    for (size_t i = 0; rc == CX_OK && i < sizeof rows / sizeof rows[0]; i++)
        rc = truth_add(t, rows[i].lhs, rows[i].op, rows[i].rhs, rows[i].v, err);
    return rc;
}

/* /truth_respondents: every respondent's own intercept and slope. */
static int write_truth_respondents(const sim *s, cx_error *err)
{
    size_t n = s->n_people, cap = s->cap_people;
    cx_table_writer *w = cx_table_writer_alloc(s->path, "/truth_respondents", n, err);
    if (!w)
        return err ? err->code : CX_EIO;
    cx_column_spec cols[5] = {count_spec("respondent", (double)cap),
                              {.name = "firm",
                               .kind = CX_COL_CATEGORICAL,
                               .categories = s->firm_labels,
                               .n_categories = (size_t)s->o->firms},
                              count_spec("panel", 1),
                              {.name = "intercept", .kind = CX_COL_FLOAT},
                              {.name = "slope", .kind = CX_COL_FLOAT}};
    int rc = CX_OK;
    for (size_t c = 0; rc == CX_OK && c < 5; c++)
        rc = write_column(w, &cols[c], s->rtruth + c * cap, n, err);
    int close_rc = cx_table_writer_close(w, rc == CX_OK ? err : NULL);
    return rc != CX_OK ? rc : close_rc;
}

static int write_truth(const sim *s, cx_error *err)
{
    truth t = {0};
    int rc = truth_measurement(&t, err);
    if (rc == CX_OK)
        rc = truth_outcome(&t, "ltr", ltr_intercept, ltr_beta, ltr_segment, ltr_sd, err);
    if (rc == CX_OK)
        rc = truth_outcome(&t, "sat", sat_intercept, sat_beta, sat_segment, sat_sd, err);
    if (rc == CX_OK)
        rc = truth_rest(&t, err);
    if (rc == CX_OK && s->panel > 0)
        rc = truth_panel(s, &t, err);
    if (rc == CX_OK)
        rc = write_truth_table(s, &t, err);
    if (rc == CX_OK && s->panel > 0)
        rc = write_truth_respondents(s, err);
    truth_free(&t);
    return rc;
}

/* ---------- entry points ---------- */

void cx_simulate_defaults(cx_simulate_options *o)
{
    o->firms = 12;
    o->waves = 6;
    o->respondents = 150;
    o->seed = 1;
}

static int check_options(const cx_simulate_options *o, long panel, const char *out, cx_error *err)
{
    if (o->firms < 1 || o->waves < 1 || o->respondents < 1)
        return cx_error_set(err, CX_EUSAGE,
                            "simulate: --firms, --waves and --respondents must be at least 1 "
                            "(got %ld, %ld, %ld)",
                            o->firms, o->waves, o->respondents);
    if (panel < 0 || panel > 100)
        return cx_error_set(err, CX_EUSAGE,
                            "simulate: --panel is a percent of each firm-wave's respondents, "
                            "0..100 (got %ld)",
                            panel);
    double cells = (double)o->firms * (double)o->waves;
    if (cells > MAX_CELLS || cells * (double)o->respondents > MAX_ROWS)
        return cx_error_set(err, CX_EUSAGE,
                            "simulate: %ld firms x %ld waves x %ld respondents is too many "
                            "(at most %.0f firm-waves and %.0f rows)",
                            o->firms, o->waves, o->respondents, MAX_CELLS, MAX_ROWS);
    if (access(out, F_OK) == 0)
        return cx_error_set(err, CX_EUSAGE,
                            "%s: already exists; simulate never overwrites a file (remove it or "
                            "choose another name)",
                            out);
    return CX_OK;
}

static int simulate_into(const cx_simulate_options *o, long panel, const char *tmp, cx_error *err)
{
    sim s;
    int rc = sim_init(&s, o, panel, err);
    s.path = tmp;
    if (rc == CX_OK) {
        draw_quality(&s);
        rc = write_responses(&s, err);
    }
    if (rc == CX_OK)
        rc = write_firms(&s, err);
    if (rc == CX_OK)
        rc = write_truth(&s, err);
    sim_free(&s);
    return rc;
}

int cx_simulate(const cx_simulate_options *o, const char *out_h5, cx_error *err)
{
    return cx_simulate_panel(o, 0, out_h5, err);
}

int cx_simulate_panel(const cx_simulate_options *o, long panel_percent, const char *out_h5,
                      cx_error *err)
{
    if (check_options(o, panel_percent, out_h5, err) != CX_OK)
        return err ? err->code : CX_EUSAGE;
    size_t n = strlen(out_h5) + 5;
    char *tmp = cx_malloc(n, err);
    if (!tmp)
        return CX_ENOMEM;
    snprintf(tmp, n, "%s.tmp", out_h5);
    unlink(tmp); /* left over from an interrupted run */
    int rc = simulate_into(o, panel_percent, tmp, err);
    if (rc == CX_OK && rename(tmp, out_h5) != 0)
        rc = cx_error_set(err, CX_EIO, "%s: cannot rename %s: %s", out_h5, tmp, strerror(errno));
    if (rc != CX_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}
