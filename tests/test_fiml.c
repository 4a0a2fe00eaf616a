/*
 * test_fiml.c — `missing = fiml` beyond the lavaan references
 * (test_reference_sem.c compares those):
 *   - the pattern reducer: per-pattern counts, means and covariances
 *     against a direct computation, and two blocks merged equal one block;
 *   - the EM saturated model on complete data is the sample moments;
 *   - `by`: each level's fit equals the fit of that level's rows alone
 *     (a `where` job), value for value;
 *   - complete data: FIML estimates and chi-square equal ML's with a
 *     meanstructure (only the SEs differ: observed vs expected information);
 *   - `bootstrap`: every replicate's patterns equal those of the rows
 *     repeated by their Poisson counts (by hand); the same SEs with 1 and
 *     2 threads; B = 1000 SEs against lavaan's se = "bootstrap" (B = 200)
 *     with missing = "ml" within Monte Carlo error
 *     (tests/reference/hs_fiml_bootstrap.json);
 *   - `validate = holdout(...)`: the held-out metrics against the same
 *     computed row by row in R from lavaan's training fit
 *     (tests/reference/hs_fiml_holdout.json, 1e-6); kfold runs and every
 *     fold scores.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../engine/resample.h"
#include "../models/sem/fiml.h"
#include "json.h"
#include "refcheck.h"
#include "run.h"

/* ---- the reducer ---------------------------------------------------------- */

#define N_ROWS 40
#define P 3

/* Pseudo-random values (an LCG: full-rank data) with a deterministic
 * missing pattern: cell (i, j) missing when (i * 7 + j * 3) % 5 == 0, and
 * row 0 entirely missing (dropped). */
static double lcg(unsigned long *state)
{
    *state = (*state * 6364136223846793005ul + 1442695040888963407ul);
    return (double)(*state >> 11) / 9007199254740992.0;
}

static void make_block(double *data)
{
    unsigned long state = 17;
    for (size_t i = 0; i < N_ROWS; i++)
        for (size_t j = 0, x0 = 0; j < P; j++) {
            double v = 3.0 * lcg(&state) + (double)j + 0.5 * (double)x0;
            x0 = (size_t)(10.0 * v) % 7; /* correlated columns */
            data[j * N_ROWS + i] = (i * 7 + j * 3) % 5 == 0 || i == 0 ? NAN : v;
        }
}

static void run_reducer_req(const double *data, size_t split, const unsigned char *required,
                            sem_patterns **out)
{
    sem_fiml_params par = {.p = P, .n_levels = 1, .required = required, .cluster_at = -1};
    cx_error err = {0};
    size_t level[N_ROWS] = {0}, row[N_ROWS];
    for (size_t i = 0; i < N_ROWS; i++)
        row[i] = i;
    void *a = sem_reducer_patterns.alloc(&par, &err);
    void *b = sem_reducer_patterns.alloc(&par, &err);
    assert_non_null(a);
    assert_non_null(b);
    size_t s1[2] = {0, split}, s2[2] = {0, N_ROWS - split};
    cx_block b1 = {split, N_ROWS, data, level, row, 1, s1, NULL};
    cx_block b2 = {N_ROWS - split, N_ROWS, data + split, level, row + split, 1, s2, NULL};
    assert_int_equal(sem_reducer_patterns.add_block(a, &b1, &err), CX_OK);
    assert_int_equal(sem_reducer_patterns.add_block(b, &b2, &err), CX_OK);
    sem_reducer_patterns.merge(a, b);
    *out = sem_patterns_result(a, 0, &err);
    assert_non_null(*out);
    sem_reducer_patterns.free(a);
    sem_reducer_patterns.free(b);
}

/* Row i observes exactly the pattern's variables. */
static int in_pattern(const double *data, size_t i, const sem_pattern *pt)
{
    size_t po = 0, same = 1;
    for (size_t j = 0; j < P; j++)
        po += !isnan(data[j * N_ROWS + i]);
    for (size_t a = 0; a < pt->po; a++)
        same &= !isnan(data[pt->idx[a] * N_ROWS + i]);
    return po == pt->po && same;
}

static void run_reducer(const double *data, size_t split, sem_patterns **out)
{
    run_reducer_req(data, split, NULL, out);
}

/* fixed.x covariates: rows missing a required variable are dropped. */
static void test_reducer_required(void **state)
{
    (void)state;
    double data[N_ROWS * P];
    make_block(data);
    const unsigned char required[P] = {0, 1, 0};
    sem_patterns *s;
    run_reducer_req(data, 13, required, &s);
    double kept = 0;
    for (size_t i = 0; i < N_ROWS; i++)
        kept += !isnan(data[1 * N_ROWS + i]);
    assert_true(s->n == kept && kept < N_ROWS - 1);
    for (size_t k = 0; k < s->n_pat; k++) {
        int has = 0;
        for (size_t a = 0; a < s->pat[k].po; a++)
            has |= s->pat[k].idx[a] == 1;
        assert_true(has);
    }
    sem_patterns_free(s);
}

static void test_reducer_patterns(void **state)
{
    (void)state;
    double data[N_ROWS * P];
    make_block(data);
    sem_patterns *one, *two;
    run_reducer(data, N_ROWS, &one);
    run_reducer(data, 17, &two);
    assert_int_equal(one->n, N_ROWS - 1); /* the empty row is dropped */
    assert_int_equal(one->n_pat, two->n_pat);
    size_t checked = 0;
    for (size_t k = 0; k < one->n_pat; k++) {
        const sem_pattern *pt = &one->pat[k];
        /* direct: the rows whose observed set is exactly pt->idx */
        double cnt = 0, mean[P] = {0}, cov[P * P] = {0};
        for (size_t i = 0; i < N_ROWS; i++)
            if (in_pattern(data, i, pt)) {
                cnt += 1;
                for (size_t a = 0; a < pt->po; a++)
                    mean[a] += data[pt->idx[a] * N_ROWS + i];
            }
        for (size_t a = 0; a < pt->po; a++)
            mean[a] /= cnt;
        for (size_t i = 0; i < N_ROWS; i++)
            for (size_t a = 0; in_pattern(data, i, pt) && a < pt->po; a++)
                for (size_t b = 0; b < pt->po; b++)
                    cov[a * pt->po + b] += (data[pt->idx[a] * N_ROWS + i] - mean[a]) *
                                           (data[pt->idx[b] * N_ROWS + i] - mean[b]) / cnt;
        assert_true(pt->n == cnt);
        assert_true(two->pat[k].n == cnt);
        for (size_t a = 0; a < pt->po; a++) {
            assert_true(ref_close(pt->mean[a], mean[a], 1e-13, 1e-13));
            assert_true(ref_close(two->pat[k].mean[a], mean[a], 1e-13, 1e-13));
            for (size_t b = 0; b < pt->po; b++) {
                assert_true(ref_close(pt->cov[a * pt->po + b], cov[a * pt->po + b], 1e-12, 1e-13));
                assert_true(
                    ref_close(two->pat[k].cov[a * pt->po + b], cov[a * pt->po + b], 1e-12, 1e-13));
                checked++;
            }
        }
    }
    assert_true(one->n_pat >= 4 && checked >= 20);
    /* merged blocks give the same saturated model */
    for (size_t i = 0; i < P * P; i++)
        assert_true(ref_close(one->em_cov[i], two->em_cov[i], 1e-10, 1e-12));
    if (!ref_close(one->h1_f, two->h1_f, 1e-10, 1e-12))
        fail_msg("h1 %.17g vs %.17g", one->h1_f, two->h1_f);
    sem_patterns_free(one);
    sem_patterns_free(two);
}

/* Complete data: the EM moments are the sample moments (divisor N). */
static void test_em_complete(void **state)
{
    (void)state;
    double data[N_ROWS * P];
    for (size_t i = 0; i < N_ROWS; i++)
        for (size_t j = 0; j < P; j++)
            data[j * N_ROWS + i] = cos((double)(i + 3 * j)) + 0.1 * (double)(i % 7) * (double)j +
                                   0.01 * (double)((i * i * (j + 2)) % 11);
    sem_patterns *s;
    run_reducer(data, 11, &s);
    assert_int_equal(s->n_pat, 1);
    assert_true(s->em_converged);
    for (size_t a = 0; a < P; a++) {
        assert_true(ref_close(s->em_mean[a], s->pat[0].mean[a], 1e-14, 1e-14));
        for (size_t b = 0; b < P; b++)
            assert_true(ref_close(s->em_cov[a * P + b], s->pat[0].cov[a * P + b], 1e-12, 1e-14));
    }
    sem_patterns_free(s);
}

/* Bootstrap replicates: replicate r's patterns are those of the rows
 * repeated cx_boot_count(seed, r, row) times, counts, means and
 * covariances alike (the weighted Welford update against plain rows). */
static void test_reducer_replicates(void **state)
{
    (void)state;
    enum { B = 6 };
    double data[N_ROWS * P];
    make_block(data);
    sem_fiml_params par = {.p = P, .n_levels = 1, .n_replicates = B, .seed = 99, .cluster_at = -1};
    cx_error err = {0};
    size_t level[N_ROWS] = {0}, row[N_ROWS];
    for (size_t i = 0; i < N_ROWS; i++)
        row[i] = i;
    void *a = sem_reducer_patterns.alloc(&par, &err);
    assert_non_null(a);
    size_t st[2] = {0, N_ROWS};
    cx_block blk = {N_ROWS, N_ROWS, data, level, row, 1, st, NULL};
    assert_int_equal(sem_reducer_patterns.add_block(a, &blk, &err), CX_OK);
    size_t compared = 0;
    for (size_t r = 0; r < B; r++) {
        /* the expanded rows, in row order */
        double *rep = calloc(8 * N_ROWS * P, sizeof *rep);
        size_t n = 0, *lv = calloc(8 * N_ROWS, sizeof *lv), *rw = calloc(8 * N_ROWS, sizeof *rw);
        for (size_t i = 0; i < N_ROWS; i++)
            for (unsigned k = cx_boot_count(99, r, i); k > 0 && n < 8 * N_ROWS; k--, n++)
                for (size_t j = 0; j < P; j++)
                    rep[j * 8 * N_ROWS + n] = data[j * N_ROWS + i];
        for (size_t i = 0; i < n; i++)
            rw[i] = i;
        sem_fiml_params one = {.p = P, .n_levels = 1, .cluster_at = -1};
        void *h = sem_reducer_patterns.alloc(&one, &err);
        size_t sh[2] = {0, n};
        cx_block bh = {n, 8 * N_ROWS, rep, lv, rw, 1, sh, NULL};
        assert_int_equal(sem_reducer_patterns.add_block(h, &bh, &err), CX_OK);
        sem_patterns *got = sem_patterns_result(a, r, &err),
                     *want = sem_patterns_result(h, 0, &err);
        assert_non_null(got);
        assert_non_null(want);
        assert_int_equal(got->n_pat, want->n_pat);
        assert_true(got->n == want->n);
        for (size_t k = 0; k < got->n_pat; k++) {
            const sem_pattern *x = &got->pat[k], *y = &want->pat[k];
            assert_int_equal(x->po, y->po);
            assert_true(x->n == y->n);
            for (size_t u = 0; u < x->po; u++) {
                assert_int_equal(x->idx[u], y->idx[u]);
                assert_true(ref_close(x->mean[u], y->mean[u], 1e-12, 1e-14));
                for (size_t v = 0; v < x->po; v++)
                    assert_true(
                        ref_close(x->cov[u * x->po + v], y->cov[u * y->po + v], 1e-10, 1e-13));
                compared += 1 + x->po;
            }
        }
        for (size_t i = 0; i < P * P; i++)
            assert_true(ref_close(got->em_cov[i], want->em_cov[i], 1e-9, 1e-12));
        sem_patterns_free(got);
        sem_patterns_free(want);
        sem_reducer_patterns.free(h);
        free(rep);
        free(lv);
        free(rw);
    }
    assert_true(compared > 100);
    sem_reducer_patterns.free(a);
}

/* ---- end to end ----------------------------------------------------------- */

static const char *const CFA_SYNTAX = "syntax  = visual =~ x1 + x2 + x3\n"
                                      "          textual =~ x4 + x5 + x6\n"
                                      "          speed =~ x7 + x8 + x9\n";

static ref_results *run_ini_threads(const char *body, char *dir, size_t dir_size, int threads)
{
    snprintf(dir, dir_size, "/tmp/cx_fiml_XXXXXX");
    assert_non_null(mkdtemp(dir));
    char ini[512], out[512];
    snprintf(ini, sizeof ini, "%s/t.ini", dir);
    snprintf(out, sizeof out, "%s/r.h5", dir);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fputs(body, f);
    fclose(f);
    cx_run_options opt = {.config_path = ini, .output_path = out, .threads = threads, .quiet = 1};
    cx_error err = {0};
    int rc = cx_run(&opt, &err);
    if (rc != 0)
        fail_msg("cx_run: exit %d: %s", rc, err.msg);
    ref_results *res = ref_results_open(out, &err);
    assert_non_null(res);
    unlink(ini);
    return res;
}

static ref_results *run_ini(const char *body, char *dir, size_t dir_size)
{
    return run_ini_threads(body, dir, dir_size, 2);
}

static void cleanup(ref_results *res, const char *dir)
{
    char path[512];
    ref_results_close(res);
    snprintf(path, sizeof path, "%s/r.h5", dir);
    unlink(path);
    rmdir(dir);
}

static double *column(ref_results *res, const char *job, const char *table, const char *col,
                      size_t *n)
{
    cx_error err = {0};
    double *v = ref_results_column_double(res, job, table, col, n, &err);
    if (!v)
        fail_msg("%s/%s/%s: %s", job, table, col, err.msg);
    return v;
}

static void test_by_levels(void **state)
{
    (void)state;
    char body[4096], dir[64];
    snprintf(body, sizeof body,
             "[data]\nfile = %s/datasets/HolzingerSwineford1939_missing.h5\ntable = /data\n\n"
             "[job by]\nmodel = cfa\nmissing = fiml\nby = school\n%s\n"
             "[job pasteur]\nmodel = cfa\nmissing = fiml\nwhere = school == \"Pasteur\"\n%s\n"
             "[job grant]\nmodel = cfa\nmissing = fiml\nwhere = school == \"Grant-White\"\n%s",
             CX_SOURCE_DIR, CFA_SYNTAX, CFA_SYNTAX, CFA_SYNTAX);
    ref_results *res = run_ini(body, dir, sizeof dir);
    cx_error err = {0};
    size_t n_by = 0, n_lvl = 0;
    char **school = ref_results_column_strings(res, "by", "estimates", "school", &n_by, &err);
    assert_non_null(school);
    static const char *const cols[] = {"est", "se", "std_all"};
    static const char *const jobs[] = {"pasteur", "grant"}, *const labels[] = {"Pasteur",
                                                                               "Grant-White"};
    size_t compared = 0;
    for (size_t c = 0; c < 3; c++) {
        size_t n = 0;
        double *by = column(res, "by", "estimates", cols[c], &n);
        assert_int_equal(n, n_by);
        for (size_t j = 0; j < 2; j++) {
            double *one = column(res, jobs[j], "estimates", cols[c], &n_lvl);
            size_t k = 0;
            for (size_t r = 0; r < n_by; r++) {
                if (strcmp(school[r], labels[j]) != 0)
                    continue;
                assert_true(k < n_lvl);
                if (!ref_close(by[r], one[k], 1e-12, 1e-14))
                    fail_msg("%s %s row %zu: by %.17g vs where %.17g", labels[j], cols[c], k, by[r],
                             one[k]);
                k++;
                compared++;
            }
            assert_int_equal(k, n_lvl);
            free(one);
        }
        free(by);
    }
    assert_true(compared >= 3 * 72);
    ref_strings_free(school, n_by);
    cleanup(res, dir);
}

static double fit_value(ref_results *res, const char *job, const char *name)
{
    cx_error err = {0};
    size_t n = 0, m = 0;
    char **names = ref_results_column_strings(res, job, "fit", "measure", &n, &err);
    double *v = column(res, job, "fit", "value", &m);
    double out = NAN;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            out = v[i];
    ref_strings_free(names, n);
    free(v);
    return out;
}

static void test_complete_data(void **state)
{
    (void)state;
    char body[4096], dir[64];
    snprintf(body, sizeof body,
             "[data]\nfile = %s/datasets/HolzingerSwineford1939.h5\ntable = /data\n\n"
             "[job fiml]\nmodel = cfa\nmissing = fiml\n%s\n"
             "[job ml]\nmodel = cfa\nmeanstructure = yes\n%s",
             CX_SOURCE_DIR, CFA_SYNTAX, CFA_SYNTAX);
    ref_results *res = run_ini(body, dir, sizeof dir);
    size_t n1 = 0, n2 = 0;
    double *a = column(res, "fiml", "estimates", "est", &n1);
    double *b = column(res, "ml", "estimates", "est", &n2);
    assert_int_equal(n1, n2);
    for (size_t r = 0; r < n1; r++)
        if (!ref_close(a[r], b[r], 1e-8, 1e-10))
            fail_msg("row %zu: fiml %.17g vs ml %.17g", r, a[r], b[r]);
    static const char *const m[] = {"chisq", "df", "cfi", "tli", "rmsea", "srmr", "logl", "bic"};
    for (size_t k = 0; k < sizeof m / sizeof *m; k++) {
        double x = fit_value(res, "fiml", m[k]), y = fit_value(res, "ml", m[k]);
        if (!ref_close(x, y, 1e-8, 1e-10))
            fail_msg("%s: fiml %.17g vs ml %.17g", m[k], x, y);
    }
    free(a);
    free(b);
    cleanup(res, dir);
}

/* `bootstrap` with missing = fiml: the job's bootstrap SEs. */
static double *boot_se(int threads, long B, size_t *n)
{
    char body[4096], dir[64];
    snprintf(body, sizeof body,
             "[data]\nfile = %s/datasets/HolzingerSwineford1939_missing.h5\ntable = /data\n\n"
             "[job boot]\nmodel = cfa\nmissing = fiml\nbootstrap = %ld\nseed = 11\n%s",
             CX_SOURCE_DIR, B, CFA_SYNTAX);
    ref_results *res = run_ini_threads(body, dir, sizeof dir, threads);
    double *se = column(res, "boot", "estimates", "se", n);
    cleanup(res, dir);
    return se;
}

/* Each replicate is fitted on its own: threads change nothing. */
static void test_bootstrap_threads(void **state)
{
    (void)state;
    size_t n1 = 0, n2 = 0;
    double *a = boot_se(1, 40, &n1), *b = boot_se(2, 40, &n2);
    assert_int_equal(n1, n2);
    size_t nonzero = 0;
    for (size_t i = 0; i < n1; i++) {
        if (a[i] != b[i])
            fail_msg("row %zu: se %.17g (1 thread) vs %.17g (2)", i, a[i], b[i]);
        nonzero += a[i] > 0;
    }
    assert_true(nonzero >= 21); /* the 21 free parameters */
    free(a);
    free(b);
}

/* lavaan's SEs (B = 200, multinomial row resampling, each replicate a
 * FIML fit: ~0.5 s of CPU each, so not 1000) and cxfit's (B = 1000,
 * Poisson counts) are two Monte Carlo estimates of the same bootstrap SE.
 * An SE from B replicates has a relative Monte Carlo sd of about
 * sqrt((kurtosis - 1) / (4B)): for the two together 4.2 % with normal
 * replicates, up to ~8 % for the heavy-tailed speed loadings (kurtosis
 * ~6).  20 % is ~5 sd for the former and ~2.5 sd for the latter; both
 * runs are seeded, so the outcome is fixed, not flaky. */
static void test_bootstrap_matches_lavaan(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *ref =
        json_parse_file(CX_SOURCE_DIR "/tests/reference/hs_fiml_bootstrap.json", &err);
    if (!ref)
        fail_msg("%s", err.msg);
    const json_value *rows = json_get(ref, "estimates");
    size_t n = 0;
    double *se = boot_se(2, 1000, &n);
    assert_int_equal(n, json_array_len(rows));
    ref_report rep;
    ref_report_init(&rep, "hs_fiml_bootstrap", "lavaan");
    for (size_t i = 0; i < n; i++) {
        const json_value *w = json_array_at(rows, i);
        char what[96];
        snprintf(what, sizeof what, "row %zu (%s %s %s).se", i, json_string(json_get(w, "lhs")),
                 json_string(json_get(w, "op")), json_string(json_get(w, "rhs")));
        double want = json_number(json_get(w, "se"));
        if (want == 0)
            ref_report_check(&rep, what, se[i], 0, 0, 0);
        else
            ref_report_check(&rep, what, se[i], want, 0.20, 0);
    }
    if (rep.n_failed)
        fail_msg("%s", ref_report_text(&rep));
    /* every row of the estimates (36: with the latent means fixed at 0) */
    assert_int_equal(rep.n_checked, (int)json_array_len(rows));
    print_message("hs_fiml_bootstrap: %d SEs compared with lavaan\n", rep.n_checked);
    ref_report_free(&rep);
    free(se);
    json_free(ref);
}

/* Holdout validation: loglik_per_row, chisq, rmsea, srmr, cfi and the
 * row counts against scripts/make_fiml_holdout_refs.R.  lavaan's training
 * fit is tight (BFGS reltol 1e-16), so 1e-6 holds. */
static void test_holdout_matches_r(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *ref = json_parse_file(CX_SOURCE_DIR "/tests/reference/hs_fiml_holdout.json", &err);
    if (!ref)
        fail_msg("%s", err.msg);
    char body[4096], dir[64];
    snprintf(body, sizeof body,
             "[data]\nfile = %s/datasets/HolzingerSwineford1939_missing.h5\ntable = /data\n\n"
             "[job h]\nmodel = cfa\nmissing = fiml\nvalidate = holdout(school == \"Pasteur\")\n"
             "%s\n[job k]\nmodel = cfa\nmissing = fiml\nvalidate = kfold(3)\n%s",
             CX_SOURCE_DIR, CFA_SYNTAX, CFA_SYNTAX);
    ref_results *res = run_ini(body, dir, sizeof dir);
    size_t n = 0, m = 0;
    char **metric = ref_results_column_strings(res, "h", "validation", "metric", &n, &err);
    assert_non_null(metric);
    double *value = column(res, "h", "validation", "value", &m);
    assert_int_equal(n, m);
    const json_value *want = json_get(ref, "metrics");
    static const char *const names[] = {"n_train", "n_test", "loglik_per_row", "chisq", "rmsea",
                                        "srmr",    "cfi"};
    ref_report rep;
    ref_report_init(&rep, "hs_fiml_holdout", "R");
    for (size_t k = 0; k < 7; k++) {
        size_t i = 0;
        while (i < n && strcmp(metric[i], names[k]) != 0)
            i++;
        if (i == n) {
            ref_report_fail(&rep, "no metric %s", names[k]);
            continue;
        }
        ref_report_check_field(&rep, names[k], value[i], want, names[k], 1e-6, 1e-12);
    }
    ref_report_require(&rep, 7);
    if (rep.n_failed)
        fail_msg("%s", ref_report_text(&rep));
    print_message("hs_fiml_holdout: %d values compared with R\n", rep.n_checked);
    ref_report_free(&rep);
    ref_strings_free(metric, n);
    free(value);
    /* kfold(3): three folds and their mean, every metric finite */
    char **split = ref_results_column_strings(res, "k", "validation", "split", &n, &err);
    assert_non_null(split);
    double *kv = column(res, "k", "validation", "value", &m);
    size_t folds = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(isfinite(kv[i]));
        folds += strncmp(split[i], "fold", 4) == 0;
    }
    assert_int_equal(folds, 3 * 7);
    ref_strings_free(split, n);
    free(kv);
    cleanup(res, dir);
    json_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reducer_patterns),  cmocka_unit_test(test_reducer_required),
        cmocka_unit_test(test_em_complete),       cmocka_unit_test(test_by_levels),
        cmocka_unit_test(test_complete_data),     cmocka_unit_test(test_reducer_replicates),
        cmocka_unit_test(test_bootstrap_threads), cmocka_unit_test(test_bootstrap_matches_lavaan),
        cmocka_unit_test(test_holdout_matches_r),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
