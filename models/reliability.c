/*
 * reliability.c — `model = reliability`: internal consistency of one or
 * more scales, as psych::alpha reports it, from one streamed pass.
 *
 *   scales = PEX: pex1 pex2 pex3 -pex4
 *            OUT: out1 out2 out3
 *
 * One scale per line (or ';'); items separated by spaces or commas; a
 * leading '-' reverse-keys an item on its range, min + max - x, with
 * engine/scores.h's rule (the declared range of a categorical column,
 * else the observed range over all rows of the table) so keyed items and
 * scale scores agree with `scores` everywhere.  Finding observed ranges
 * takes a scan of the reverse-keyed columns before the pass.
 *
 * The pass: one reducer (engine/reducer.h) that keys each scale's items,
 * appends the respondent's scale score (psych's rowMeans of the present
 * items) and feeds the engine's moments reducer per scale — per `by`
 * level, and per bootstrap replicate when `bootstrap` is set.  Every
 * statistic then follows from the moments (reliability_stats.c).
 *
 * Missing values: `missing = listwise` (default) uses, per scale, the rows
 * with all of its items (psych::alpha on na.omit(x)); `pairwise` uses
 * pairwise covariances and, per item, the rows where it is present, as
 * psych::alpha(x, use = "pairwise") on the rows with at least one item.
 *
 * Tables: `reliability` (one row per scale), `items` (one row per item),
 * `estimates` (alpha per scale as a defined parameter, se = psych's
 * asymptotic se, CI = Feldt's), `bootstrap` with `bootstrap`.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "bootci.h"
#include "model.h"
#include "reducer.h"
#include "reliability_factor.h"
#include "reliability_internal.h"
#include "reliability_stats.h"

static const char *const rel_keys[] = {"scales", "cfa_job", NULL};

/* ---- the `scales` key ------------------------------------------------------ */

void rel_scales_free(rel_scales *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->scale[i].items);
        free(s->scale[i].reverse);
        free(s->scale[i].col);
        free(s->scale[i].lo);
        free(s->scale[i].hi);
    }
    free(s->scale);
    free(s);
}

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '.';
}

/* Copy the name at *p (advancing it) into out; 0 when there is none. */
static size_t read_name(const char **p, char *out)
{
    size_t n = 0;
    if (!isalpha((unsigned char)**p) && **p != '_' && **p != '.')
        return 0;
    while (is_name_char((unsigned char)(*p)[n]))
        n++;
    if (n >= CX_NAME_MAX)
        return 0;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return n;
}

static int add_item(rel_scale *sc, const char *name, int reverse)
{
    char(*items)[CX_NAME_MAX] = realloc(sc->items, (sc->k + 1) * sizeof *items);
    if (!items)
        return -1;
    sc->items = items;
    unsigned char *rev = realloc(sc->reverse, sc->k + 1);
    if (!rev)
        return -1;
    sc->reverse = rev;
    memcpy(sc->items[sc->k], name, CX_NAME_MAX);
    sc->reverse[sc->k++] = (unsigned char)reverse;
    return 0;
}

/* One scale "NAME: item -item ..." (line = its text, without separator). */
static int parse_scale(const cx_job *job, const char *line, size_t no, rel_scale *sc,
                       cx_error *err)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!read_name(&p, sc->name))
        return cx_job_error(job, "scales", err, CX_EUSAGE,
                            "scale %zu: expected a scale name, e.g. PEX: pex1 pex2 -pex3", no);
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != ':')
        return cx_job_error(job, "scales", err, CX_EUSAGE,
                            "scale %s: expected ':' after the scale name", sc->name);
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r')
            p++;
        if (!*p)
            break;
        int reverse = *p == '-';
        p += reverse;
        char item[CX_NAME_MAX];
        if (!read_name(&p, item))
            return cx_job_error(job, "scales", err, CX_EUSAGE,
                                "scale %s: expected an item column or '-item' (reverse-keyed) "
                                "at '%.20s'",
                                sc->name, p);
        for (size_t i = 0; i < sc->k; i++)
            if (!strcmp(sc->items[i], item))
                return cx_job_error(job, "scales", err, CX_EUSAGE,
                                    "scale %s: expected each item once; %s is listed twice",
                                    sc->name, item);
        if (add_item(sc, item, reverse))
            return cx_error_set(err, CX_ENOMEM, "out of memory reading scales");
    }
    if (sc->k < 2)
        return cx_job_error(job, "scales", err, CX_EUSAGE,
                            "scale %s: expected at least two items, found %zu", sc->name, sc->k);
    return CX_OK;
}

/* The scale's columns: numeric, in the job's table. */
static int resolve_columns(const cx_job *job, rel_scale *sc, cx_error *err)
{
    const cx_table *t = job->view->table;
    sc->col = cx_calloc(sc->k, sizeof *sc->col, err);
    sc->lo = cx_calloc(sc->k, sizeof *sc->lo, err);
    sc->hi = cx_calloc(sc->k, sizeof *sc->hi, err);
    if (!sc->col || !sc->lo || !sc->hi)
        return CX_ENOMEM;
    for (size_t i = 0; i < sc->k; i++) {
        int c = cx_table_find(t, sc->items[i]);
        if (c < 0)
            return cx_job_error(job, "scales", err, CX_EUSAGE,
                                "scale %s: no column '%s' in table %s", sc->name, sc->items[i],
                                cx_table_label(t));
        const cx_column_info *info = cx_table_column(t, (size_t)c);
        if (info->kind == CX_COL_STRING || info->kind == CX_COL_UNUSABLE)
            return cx_job_error(job, "scales", err, CX_EUSAGE,
                                "scale %s: column '%s' is %s; expected numeric item scores",
                                sc->name, info->name,
                                info->kind == CX_COL_STRING ? "a string column" : "unusable");
        sc->col[i] = c;
        sc->lo[i] = INFINITY;
        sc->hi[i] = -INFINITY;
        if (info->kind == CX_COL_CATEGORICAL) { /* declared range: codes 0..k-1 */
            sc->lo[i] = 0;
            sc->hi[i] = info->n_categories ? (double)info->n_categories - 1 : 0;
        }
    }
    return CX_OK;
}

int rel_scales_parse(const cx_job *job, rel_scales **out, cx_error *err)
{
    *out = NULL;
    const char *text = cx_section_get(job->section, "scales");
    int cfa_only = !text && cx_section_get(job->section, "cfa_job");
    if (!cfa_only && (!text || !*text))
        return cx_job_error(job, "scales", err, CX_EUSAGE,
                            "expected one scale per line, e.g. PEX: pex1 pex2 -pex3 (or "
                            "cfa_job = a cfa job)");
    rel_scales *s = cx_calloc(1, sizeof *s, err);
    if (!s)
        return CX_ENOMEM;
    if (cfa_only) {
        *out = s;
        return CX_OK;
    }
    int rc = CX_OK;
    const char *p = text;
    while (rc == CX_OK && *p) {
        size_t len = strcspn(p, "\n;");
        char *line = cx_malloc(len + 1, err);
        if (!line) {
            rc = CX_ENOMEM;
            break;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (p[len] != '\0');
        if (strspn(line, " \t\r") == len) {
            free(line);
            continue;
        }
        rel_scale *grown = realloc(s->scale, (s->n + 1) * sizeof *grown);
        if (!grown) {
            free(line);
            rc = cx_error_set(err, CX_ENOMEM, "out of memory reading scales");
            break;
        }
        s->scale = grown;
        memset(&s->scale[s->n], 0, sizeof *grown);
        rel_scale *sc = &s->scale[s->n++];
        rc = parse_scale(job, line, s->n, sc, err);
        free(line);
        for (size_t i = 0; rc == CX_OK && i + 1 < s->n; i++)
            if (!strcmp(s->scale[i].name, sc->name))
                rc = cx_job_error(job, "scales", err, CX_EUSAGE,
                                  "expected each scale once; %s is defined twice", sc->name);
        if (rc == CX_OK)
            rc = resolve_columns(job, sc, err);
    }
    if (rc == CX_OK && !s->n)
        rc = cx_job_error(job, "scales", err, CX_EUSAGE,
                          "expected one scale per line, e.g. PEX: pex1 pex2 -pex3");
    if (rc != CX_OK) {
        rel_scales_free(s);
        return rc;
    }
    *out = s;
    return CX_OK;
}

/* Observed ranges of the reverse-keyed non-categorical items over every
 * row of the table (scores.h's rule), one scan of those columns. */
static int scan_ranges(const cx_job *job, rel_scales *s, cx_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->scale[i].k; j++)
            n += s->scale[i].reverse[j] && isinf(s->scale[i].lo[j]);
    if (!n)
        return CX_OK;
    int *cols = cx_calloc(n, sizeof *cols, err);
    double **lo = cx_calloc(n, sizeof *lo, err), **hi = cx_calloc(n, sizeof *hi, err);
    if (!cols || !lo || !hi) {
        free(cols), free(lo), free(hi);
        return CX_ENOMEM;
    }
    size_t c = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->scale[i].k; j++)
            if (s->scale[i].reverse[j] && isinf(s->scale[i].lo[j])) {
                cols[c] = s->scale[i].col[j];
                lo[c] = &s->scale[i].lo[j];
                hi[c++] = &s->scale[i].hi[j];
            }
    cx_view all;
    cx_view_init(&all, job->view->table, NULL);
    size_t ld = cx_view_block_rows(&all);
    double *block = cx_malloc(ld * n * sizeof *block, err);
    cx_view_iter it;
    long got = -1;
    if (block && cx_view_iter_begin(&it, &all, cols, n, err) == CX_OK) {
        while ((got = cx_view_iter_next(&it, block, NULL, err)) > 0)
            for (size_t k = 0; k < n; k++)
                for (long r = 0; r < got; r++) {
                    double x = block[k * ld + (size_t)r];
                    if (!isnan(x)) {
                        *lo[k] = x < *lo[k] ? x : *lo[k];
                        *hi[k] = x > *hi[k] ? x : *hi[k];
                    }
                }
        cx_view_iter_end(&it);
    }
    int rc = got < 0 ? (err->code ? err->code : CX_ENOMEM) : CX_OK;
    for (size_t k = 0; rc == CX_OK && k < n; k++)
        if (isinf(*lo[k]))
            rc = cx_job_error(job, "scales", err, CX_EUSAGE,
                              "column '%s' has no values in table %s, so it cannot be "
                              "reverse-keyed; expected observed values",
                              cx_table_column(job->view->table, (size_t)cols[k])->name,
                              cx_table_label(job->view->table));
    free(block), free(cols), free(lo), free(hi);
    return rc;
}

static int rel_check(const cx_job *job, cx_error *err)
{
    rel_scales *s;
    int rc = rel_scales_parse(job, &s, err);
    if (rc == CX_OK && job->bootstrap > 0 && job->missing == CX_MISSING_PAIRWISE)
        rc = cx_job_error(job, "bootstrap", err, CX_EUSAGE,
                          "reliability's bootstrap replicates are listwise; expected "
                          "missing = listwise with bootstrap");
    rel_scales_free(s);
    return rc;
}

/* ---- fitting ------------------------------------------------------------------- */

/* McDonald's omega of one scale: a one-factor ML CFA (lavaan's cfa(),
 * std.lv) of its keyed items on their covariance S (divisor N), then
 * semTools::compRelSEM with obs.var = TRUE (*omega) and FALSE
 * (*omega_model).  Both NaN with `why` set when the model cannot be fitted;
 * *converged and `warnings` say how the fit went. */
static int omega_fit(const rel_scale *sc, const double *S, const double *mean, double n,
                     double *omega, double *omega_model, int *converged, char *warnings,
                     size_t warn_len, cx_error *why, cx_error *err)
{
    size_t k = sc->k, len = 32;
    *omega = *omega_model = NAN;
    for (size_t i = 0; i < k; i++)
        len += strlen(sc->items[i]) + 3;
    char *syntax = cx_malloc(len, err);
    double *Sm = cx_malloc(k * k * sizeof *Sm, err);
    char(*names)[REL_NAME_MAX] = cx_calloc(k, sizeof *names, err);
    int rc = syntax && Sm && names ? CX_OK : CX_ENOMEM;
    rel_fmodel *fm = NULL;
    if (rc == CX_OK) {
        size_t at = (size_t)snprintf(syntax, len, "F_omega =~ ");
        for (size_t i = 0; i < k; i++) {
            at += (size_t)snprintf(syntax + at, len - at, "%s%s", i ? " + " : "", sc->items[i]);
            snprintf(names[i], REL_NAME_MAX, "%s", sc->items[i]);
        }
        rel_fsample smp = {.p = k, .names = names, .cov = S, .mean = mean, .n = n};
        if (rel_fit_cfa(syntax, &smp, 1, &fm, converged, warnings, warn_len, why) == CX_OK) {
            rc = rel_fmodel_sample(fm, &smp, Sm, err);
            if (rc == CX_OK) {
                *omega = rel_comp_rel(fm, 0, Sm, 1);
                *omega_model = rel_comp_rel(fm, 0, Sm, 0);
            }
        }
    }
    rel_fmodel_free(fm);
    free(syntax), free(Sm), free(names);
    return rc;
}

/* Omega of a scale's listwise moments into res (NaN under pairwise or
 * with fewer than 3 items: 2 do not identify one factor). */
static int scale_omega(const rel_scale *sc, const cx_moments *m, const double *C, double n,
                       rel_scale_result *res, cx_result *r, cx_error *err)
{
    size_t k = sc->k;
    res->omega = res->omega_model = NAN;
    if (k < 3 || m->mode != CX_MISSING_LISTWISE)
        return CX_OK;
    double *S = cx_malloc(k * k * sizeof *S, err);
    if (!S)
        return CX_ENOMEM;
    for (size_t i = 0; i < k * k; i++)
        S[i] = C[i] * (n - 1) / n;
    int converged = 0;
    char warnings[2048] = "";
    cx_error why = {0};
    int rc = omega_fit(sc, S, m->mean, n, &res->omega, &res->omega_model, &converged, warnings,
                       sizeof warnings, &why, err);
    if (rc == CX_OK && why.code)
        cx_result_add_warning(r, "scale %s: omega: %s", sc->name, why.msg);
    else if (rc == CX_OK && !converged)
        cx_result_add_warning(r, "scale %s: the one-factor model for omega did not converge",
                              sc->name);
    if (rc == CX_OK && warnings[0])
        cx_result_add_warning(r, "scale %s: omega: %s", sc->name, warnings);
    free(S);
    return rc;
}

/* Statistics of one scale of one level into the result tables. */
static int write_scale(const cx_job *job, const rel_scale *sc, const cx_moments *m,
                       cx_result *r, cx_error *err)
{
    size_t k = sc->k, p = m->p;
    int pairwise = m->mode == CX_MISSING_PAIRWISE;
    double *cov = cx_malloc(p * p * sizeof *cov, err);
    double *C = cx_malloc(k * k * sizeof *C, err);
    double *work = cx_malloc(rel_work_size(k) * sizeof *work, err);
    rel_scale_result res = {.item = cx_calloc(k, sizeof *res.item, err)};
    int rc = cov && C && work && res.item ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK) {
        cx_moments_covariance(m, 1, cov);
        for (size_t j = 0; j < k; j++)
            for (size_t i = 0; i < k; i++)
                C[j * k + i] = cov[j * p + i];
    }
    double n = pairwise ? m->pair_w[k * p + k] : m->n_rows;
    int usable = rc == CX_OK && n > 2;
    for (size_t i = 0; usable && i < k; i++)
        usable = C[i * k + i] > 0;
    if (rc == CX_OK && !usable)
        cx_result_add_warning(r, "scale %s: fewer than 3 rows or an item without variance; "
                                 "no statistics",
                              sc->name);
    else if (rc == CX_OK && rel_scale_stats(C, k, n, &res, work))
        rc = cx_error_set(err, CX_EFAIL, "scale %s: eigen decomposition failed", sc->name);
    if (rc == CX_OK && usable)
        rc = scale_omega(sc, m, C, n, &res, r, err);
    if (rc == CX_OK && usable)
        rc = rel_write_tables(job, sc, m, cov, n, &res, r, err);
    free(cov), free(C), free(work), free(res.item);
    return rc;
}

/* Bootstrap of scale sc at level l: alpha of every replicate (and omega,
 * a one-factor CFA refitted per replicate, listwise with 3+ items), one
 * `bootstrap` row each. */
static int scale_bootstrap(const cx_job *job, const rel_scale *sc, const void *boot, size_t l,
                           cx_result *r, cx_error *err)
{
    size_t B = (size_t)job->bootstrap, k = sc->k, n_alpha = 0, n_omega = 0;
    int want_omega = k >= 3;
    double *C = cx_malloc(k * k * sizeof *C, err), *work = cx_malloc(rel_work_size(k) * 8, err);
    double *ta = cx_malloc(B * sizeof *ta, err), *to = cx_malloc(B * sizeof *to, err);
    int rc = C && work && ta && to ? CX_OK : CX_ENOMEM;
    for (size_t b = 0; rc == CX_OK && b < B; b++) {
        cx_moments *m = cx_moments_result(boot, l, b, err);
        if (!m) {
            rc = CX_ENOMEM;
            break;
        }
        double n = m->n_rows;
        cx_moments_covariance(m, 1, C);
        rel_alpha a;
        if (n > 2 && rel_alpha_of(C, k, n, &a, work) == 0 && isfinite(a.raw))
            ta[n_alpha++] = a.raw;
        if (want_omega && n > (double)k) {
            for (size_t i = 0; i < k * k; i++)
                C[i] *= (n - 1) / n;
            double omega, omega_model;
            int converged = 0;
            char warnings[2048];
            cx_error why = {0};
            rc = omega_fit(sc, C, m->mean, n, &omega, &omega_model, &converged, warnings,
                           sizeof warnings, &why, err);
            if (rc == CX_OK && converged && isfinite(omega))
                to[n_omega++] = omega;
        }
        cx_moments_free(m);
    }
    const cx_rtable *rel = cx_result_find_table(r, "reliability");
    size_t last = rel ? rel->nrows - 1 : 0;
    if (rc == CX_OK)
        rc = rel_boot_row(job, r, sc->name, ":=", "alpha",
                          rel->cols[cx_rtable_find_column(rel, "raw_alpha")].d[last], ta, n_alpha,
                          B, err);
    if (rc == CX_OK && want_omega)
        rc = rel_boot_row(job, r, sc->name, ":=", "omega",
                          rel->cols[cx_rtable_find_column(rel, "omega")].d[last], to, n_omega, B,
                          err);
    free(C), free(work), free(ta), free(to);
    return rc;
}

/* lavaan syntax of the bifactor model: `general` on every item, one
 * group factor per scale, all factors orthogonal. */
static char *bifactor_syntax(const rel_scales *s, cx_error *err)
{
    size_t len = 64;
    for (size_t i = 0; i < s->n; i++) {
        len += 2 * strlen(s->scale[i].name) + 64 + 16 * s->n;
        for (size_t j = 0; j < s->scale[i].k; j++)
            len += 2 * strlen(s->scale[i].items[j]) + 8;
    }
    char *t = cx_malloc(len, err);
    if (!t)
        return NULL;
    size_t at = (size_t)snprintf(t, len, "general =~ ");
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->scale[i].k; j++)
            at += (size_t)snprintf(t + at, len - at, "%s%s", i + j ? " + " : "",
                                   s->scale[i].items[j]);
    for (size_t i = 0; i < s->n; i++) {
        at += (size_t)snprintf(t + at, len - at, "\n%s =~ ", s->scale[i].name);
        for (size_t j = 0; j < s->scale[i].k; j++)
            at += (size_t)snprintf(t + at, len - at, "%s%s", j ? " + " : "", s->scale[i].items[j]);
        at += (size_t)snprintf(t + at, len - at, "\ngeneral ~~ 0*%s", s->scale[i].name);
        for (size_t i2 = i + 1; i2 < s->n; i2++)
            at += (size_t)snprintf(t + at, len - at, "\n%s ~~ 0*%s", s->scale[i].name,
                                   s->scale[i2].name);
    }
    return t;
}

/* A factor name that is also an item (or `general`) would make the
 * bifactor syntax mean something else. */
static const char *name_clash(const rel_scales *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->scale[i].name, "general"))
            return s->scale[i].name;
        for (size_t i2 = 0; i2 < s->n; i2++)
            for (size_t j = 0; j < s->scale[i2].k; j++)
                if (!strcmp(s->scale[i].name, s->scale[i2].items[j]) ||
                    !strcmp(s->scale[i2].items[j], "general"))
                    return s->scale[i2].items[j];
    }
    return NULL;
}

/* The `bifactor` table: semTools::compRelSEM of every factor of the
 * bifactor CFA; the general factor's is omega hierarchical. */
static int write_bifactor(const rel_fmodel *fm, const double *S, double n, cx_result *r,
                          cx_error *err)
{
    cx_rtable *t = cx_result_table(r, "bifactor", err);
    if (!t || cx_rtable_add_column(t, "factor", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "n", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "omega", CX_RCOL_DOUBLE, err) ||
        cx_rtable_add_column(t, "omega_model", CX_RCOL_DOUBLE, err))
        return err->code ? err->code : CX_ENOMEM;
    for (size_t f = 0; f < fm->m; f++) {
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "factor", fm->lv[f], err))
            return err->code ? err->code : CX_ENOMEM;
        cx_rtable_set_int(t, (size_t)row, "n", llround(n));
        cx_rtable_set_double(t, (size_t)row, "omega", rel_comp_rel(fm, f, S, 1));
        cx_rtable_set_double(t, (size_t)row, "omega_model", rel_comp_rel(fm, f, S, 0));
    }
    long g = rel_fmodel_lv(fm, "general");
    if (g >= 0 && rel_add_point(r, "general", "omega_h", rel_comp_rel(fm, (size_t)g, S, 1), err) < 0)
        return err->code ? err->code : CX_ENOMEM;
    return CX_OK;
}

/* Omega hierarchical of the instrument: a bifactor ML CFA on the
 * listwise covariance (divisor N) of every scale's keyed items. */
static int instrument_omega(const rel_scales *s, const void *acc, size_t l, cx_result *r,
                            cx_error *err)
{
    const char *clash = name_clash(s);
    if (clash) {
        cx_result_add_warning(r, "no omega hierarchical: '%s' is both a factor and an item "
                                 "name (or 'general')",
                              clash);
        return CX_OK;
    }
    cx_moments *m = cx_moments_result(acc, l, 0, err);
    if (!m)
        return err->code ? err->code : CX_ENOMEM;
    size_t p = m->p;
    double *S = cx_malloc(p * p * sizeof *S, err);
    char(*names)[REL_NAME_MAX] = cx_calloc(p, sizeof *names, err);
    char *syntax = bifactor_syntax(s, err);
    int rc = S && names && syntax ? CX_OK : CX_ENOMEM;
    rel_fmodel *fm = NULL;
    if (rc == CX_OK && m->n_rows <= (double)p) {
        cx_result_add_warning(r, "no omega hierarchical: %g complete rows for %zu items",
                              m->n_rows, p);
    } else if (rc == CX_OK) {
        cx_moments_covariance(m, 0, S);
        size_t at = 0;
        for (size_t i = 0; i < s->n; i++)
            for (size_t j = 0; j < s->scale[i].k; j++)
                snprintf(names[at++], REL_NAME_MAX, "%s", s->scale[i].items[j]);
        rel_fsample smp = {.p = p, .names = names, .cov = S, .mean = m->mean, .n = m->n_rows};
        int converged = 0;
        char warnings[2048];
        cx_error ferr = {0};
        double *Sm = cx_malloc(p * p * sizeof *Sm, err);
        if (!Sm)
            rc = CX_ENOMEM;
        else if (rel_fit_cfa(syntax, &smp, 1, &fm, &converged, warnings, sizeof warnings, &ferr))
            cx_result_add_warning(r, "no omega hierarchical: the bifactor model: %s", ferr.msg);
        else if ((rc = rel_fmodel_sample(fm, &smp, Sm, err)) == CX_OK) {
            rc = write_bifactor(fm, Sm, m->n_rows, r, err);
            if (!converged)
                cx_result_add_warning(r, "the bifactor model for omega hierarchical did not "
                                         "converge");
            if (warnings[0])
                cx_result_add_warning(r, "bifactor model: %s", warnings);
        }
        free(Sm);
    }
    rel_fmodel_free(fm);
    cx_moments_free(m);
    free(S), free(names), free(syntax);
    return rc;
}

static int fit_level(const cx_job *job, const rel_scales *s, const rel_fmodel *fm,
                     rel_pass *pass, size_t l, cx_result *r, cx_error *err)
{
    size_t B = job->bootstrap > 0 ? (size_t)job->bootstrap : 0;
    double nobs = 0;
    int rc = CX_OK;
    for (size_t i = 0; rc == CX_OK && i < s->n; i++) {
        cx_moments *m = cx_moments_result(rel_pass_main(pass, i), l, 0, err);
        if (!m)
            return err->code ? err->code : CX_ENOMEM;
        nobs = m->n_rows > nobs ? m->n_rows : nobs;
        cx_rtable *rel = cx_result_find_table(r, "reliability");
        size_t before = rel ? rel->nrows : 0;
        rc = write_scale(job, &s->scale[i], m, r, err);
        cx_moments_free(m);
        rel = cx_result_find_table(r, "reliability");
        int written = rel && rel->nrows > before;
        if (rc == CX_OK && B && written)
            rc = scale_bootstrap(job, &s->scale[i], rel_pass_boot(pass, i), l, r, err);
    }
    if (rc == CX_OK && rel_pass_instrument(pass))
        rc = instrument_omega(s, rel_pass_instrument(pass), l, r, err);
    if (rc == CX_OK && fm)
        rc = rel_write_validity(job, fm, rel_pass_indicators(pass), rel_pass_indicators_boot(pass),
                                l, r, err);
    r->nobs = nobs;
    return rc;
}

/* cfa_job: the fitted factor model and its indicators' columns here. */
static int input_model(const cx_job *job, rel_fmodel **fm, int **cols, cx_error *err)
{
    *fm = NULL;
    *cols = NULL;
    if (!job->input)
        return CX_OK;
    if (job->view->n_levels > 1)
        return cx_job_error(job, "cfa_job", err, CX_EUSAGE,
                            "one cfa fit cannot serve several `by` levels; expected no `by` "
                            "with cfa_job");
    int rc = rel_input_model(job, fm, err);
    if (rc == CX_OK && !(*cols = cx_calloc((*fm)->p, sizeof **cols, err)))
        rc = CX_ENOMEM;
    for (size_t i = 0; rc == CX_OK && i < (*fm)->p; i++) {
        int c = cx_table_find(job->view->table, (*fm)->ov[i]);
        if (c < 0)
            rc = cx_job_error(job, "cfa_job", err, CX_EUSAGE,
                              "indicator '%s' of job '%s' is not a column of table %s; "
                              "expected the cfa's data",
                              (*fm)->ov[i], cx_section_get(job->section, "cfa_job"),
                              cx_table_label(job->view->table));
        (*cols)[i] = c;
    }
    return rc;
}

static int rel_fit(const cx_job *job, cx_result **results, cx_error *err)
{
    rel_scales *s;
    int rc = rel_scales_parse(job, &s, err);
    if (rc != CX_OK)
        return rc;
    rel_fmodel *fm = NULL;
    int *ind = NULL;
    rc = input_model(job, &fm, &ind, err);
    if (rc == CX_OK)
        rc = scan_ranges(job, s, err);
    rel_pass *pass = NULL;
    if (rc == CX_OK)
        rc = rel_pass_run(job, s, ind, fm ? fm->p : 0, &pass, err);
    size_t n_levels = job->view->n_levels ? job->view->n_levels : 1;
    for (size_t l = 0; rc == CX_OK && l < n_levels; l++)
        rc = fit_level(job, s, fm, pass, l, results[l], err);
    rel_pass_free(pass);
    rel_fmodel_free(fm);
    free(ind);
    rel_scales_free(s);
    return rc;
}

const cx_model cx_model_reliability = {
    .name = "reliability",
    .summary = "Scale reliability as psych::alpha: alpha, lambda 6, item statistics",
    .keys = rel_keys,
    .fits_all_levels = 1,
    .supports = CX_SUPPORTS_BY | CX_SUPPORTS_PAIRWISE | CX_SUPPORTS_BOOTSTRAP,
    .input_key = "cfa_job",
    .check = rel_check,
    .fit = rel_fit,
};
