/*
 * fuzz_targets.c — see fuzz_targets.h.
 */
#include "fuzz_targets.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "design.h"
#include "result.h"
#include "report.h"
#include "results_io.h"
#include "show.h"
#include "sem/partable.h"
#include "view.h"

/* The bytes as a NUL-terminated string (fuzzers hand us raw buffers). */
static char *as_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/* A rejection must say something, on one line. */
static int rejected_properly(const cx_error *err)
{
    return err->code != CX_OK && err->msg[0] != '\0' && !strchr(err->msg, '\n') ? 1 : -1;
}

static cx_table *where_table(void);

/* Feed a job's `where` and `syntax` values to their parsers, as `check`
 * does: the joined multi-line values reach them exactly as written. */
static int fuzz_job_values(const cx_config_section *job)
{
    int rc = 0;
    const char *where = cx_section_get(job, "where");
    cx_table *t = where ? where_table() : NULL;
    if (t) {
        cx_error err = {0};
        cx_filter *f = cx_filter_parse(where, t, &err);
        rc |= f ? 0 : rejected_properly(&err) < 0 ? -1 : 0;
        cx_filter_free(f);
        cx_table_close(t);
    }
    const char *syntax = cx_section_get(job, "syntax");
    if (syntax) {
        sem_options opt = {0};
        opt.kind = SEM_KIND_CFA;
        opt.meanstructure = -1;
        opt.n_groups = 1;
        opt.fixed_x = 1;
        cx_error err = {0};
        sem_partable *pt = sem_partable_build(syntax, &opt, &err);
        rc |= pt ? 0 : rejected_properly(&err) < 0 ? -1 : 0;
        sem_partable_free(pt);
    }
    return rc;
}

int fuzz_config(const uint8_t *data, size_t size)
{
    char *text = as_text(data, size);
    if (!text)
        return 0;
    int lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    cx_error err = {0};
    cx_config *c = cx_config_parse_string(text, "fuzz.ini", &err);
    int rc = 0;
    if (c) {
        /* Every job's keys: a value, no CR left from CRLF, a real line. */
        for (size_t j = 0; j < c->n_jobs; j++) {
            for (size_t k = 0; k < c->jobs[j].n_keys; k++) {
                const cx_config_key *key = &c->jobs[j].keys[k];
                if (!key->value || strchr(key->value, '\r') || key->line < 1 || key->line > lines)
                    rc = -1;
            }
            rc |= fuzz_job_values(&c->jobs[j]);
        }
        cx_config_free(c);
    } else {
        rc = rejected_properly(&err);
    }
    free(text);
    return rc;
}

/* A small table the where-expressions are parsed against and run on. */
static cx_table *where_table(void)
{
    static const double wave[] = {1, 2, 3, NAN, 5};
    static const double seg[] = {0, 1, 2, 1, 0};
    static const double x[] = {0.5, -1, 2e9, NAN, 3};
    char *labels[] = {"consumer", "business", "premium"};
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("fuzz:/t", 5, &err);
    if (t && (cx_table_memory_add_column(t, "wave", CX_COL_INT, wave, NULL, 0, &err) ||
              cx_table_memory_add_column(t, "segment", CX_COL_CATEGORICAL, seg, labels, 3, &err) ||
              cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err))) {
        cx_table_close(t);
        t = NULL;
    }
    return t;
}

int fuzz_where(const uint8_t *data, size_t size)
{
    char *text = as_text(data, size);
    cx_table *t = where_table();
    int rc = 0;
    if (text && t) {
        cx_error err = {0};
        cx_filter *f = cx_filter_parse(text, t, &err);
        if (f) {
            cx_view v;
            cx_view_init(&v, t, f);
            double *out = NULL;
            size_t n = 0;
            int col = 0;
            rc = cx_view_load(&v, &col, 1, &out, &n, NULL, &err) == CX_OK && n <= 5 ? 0 : -1;
            free(out);
            cx_view_free(&v);
            cx_filter_free(f);
        } else {
            rc = rejected_properly(&err);
        }
    }
    cx_table_close(t);
    free(text);
    return rc;
}

int fuzz_lavaan(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* The first byte chooses the options, so one corpus covers them all. */
    uint8_t knobs = data[0];
    char *text = as_text(data + 1, size - 1);
    if (!text)
        return 0;
    sem_options opt = {0};
    opt.kind = (sem_kind)(knobs % 3);
    opt.std_lv = (knobs >> 2) & 1;
    opt.meanstructure = -1;
    opt.n_groups = 1 + ((knobs >> 3) & 1);
    opt.group_equal = (knobs >> 4) & 1 ? SEM_EQ_LOADINGS | SEM_EQ_INTERCEPTS : 0;
    opt.fixed_x = 1;
    cx_error err = {0};
    sem_partable *pt = sem_partable_build(text, &opt, &err);
    int rc = 0;
    if (pt) {
        /* every row names a known op and a group in range */
        for (size_t k = 0; k < pt->n_rows; k++)
            if (pt->rows[k].group < 0 || (size_t)pt->rows[k].group >= pt->n_groups)
                rc = -1;
        sem_partable_free(pt);
    } else {
        rc = rejected_properly(&err);
    }
    free(text);
    return rc;
}

/* Resolve a parsed formula against the where-table and stream its rows:
 * every design error must be a proper message, every fill must keep at
 * most the table's rows. */
static int fuzz_design(const cx_formula *f, cx_table *t)
{
    cx_error err = {0};
    cx_scores *scores = cx_scores_parse("S: mean(wave -x)", &err);
    cx_design_spec spec = {.formula = f, .scores = scores, .allow_random = 1};
    cx_design *d = scores ? cx_design_alloc(&spec, t, &err) : NULL;
    int rc = 0;
    cx_view v;
    cx_view_init(&v, t, NULL);
    if (!d || cx_design_prepare(d, &v, &err)) {
        rc = rejected_properly(&err) < 0 ? -1 : 0;
    } else {
        size_t n_table, p = cx_design_ncols(d), q = cx_design_nzcols(d);
        const int *cols = cx_design_inputs(d, &n_table);
        double *raw = NULL, *x = malloc(5 * (p + 1) * sizeof *x), *z = malloc(5 * (q + 1) * sizeof *z);
        size_t n = 0;
        cx_design_ws *ws = cx_design_ws_alloc(d, &err);
        if (ws && x && z && cx_view_load(&v, cols, n_table, &raw, &n, NULL, &err) == CX_OK) {
            double y[5], w[5];
            cx_design_out out = {.x = x, .ldx = 5, .z = z, .ldz = 5, .y = y, .w = w};
            long m = cx_design_fill(d, ws, raw, n, n, &out, &err);
            rc = m >= 0 && m <= 5 ? 0 : -1;
        }
        free(raw);
        free(x);
        free(z);
        cx_design_ws_free(ws);
    }
    cx_design_free(d);
    cx_scores_free(scores);
    return rc;
}

int fuzz_formula(const uint8_t *data, size_t size)
{
    char *text = as_text(data, size);
    if (!text)
        return 0;
    cx_error err = {0};
    cx_formula *f = cx_formula_parse(text, &err);
    int rc = 0;
    if (f) {
        char label[256];
        for (size_t i = 0; i < f->n_terms; i++) /* touch every term */
            rc |= cx_formula_term_label(f, &f->terms[i], label, sizeof label)[0] ? 0 : -1;
        cx_table *t = where_table();
        if (t && fuzz_design(f, t) < 0)
            rc = -1;
        cx_table_close(t);
        cx_formula_free(f);
    } else {
        rc = rejected_properly(&err);
    }
    free(text);
    return rc;
}

/* ---- results files ----------------------------------------------------- */

/* Fold one read's outcome into the call's: a bug sticks, a proper
 * refusal is kept (its message too, the first one). */
static int note_outcome(int rc, const cx_error *err, char *msg, size_t msg_size)
{
    int this_rc = rejected_properly(err);
    if (msg && msg_size && !msg[0])
        snprintf(msg, msg_size, "%s", err->msg);
    return rc < 0 || this_rc < 0 ? -1 : 1;
}

/* What --resume reads, and `show JOB`, for every job of the list. */
static int read_each_job(const char *path, FILE *sink, char *msg, size_t msg_size)
{
    cx_stored_job *jobs;
    size_t n;
    cx_error err = {0};
    if (cx_results_list_jobs(path, &jobs, &n, &err) != CX_OK)
        return note_outcome(0, &err, msg, msg_size);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        cx_error_clear(&err);
        cx_result *r = cx_results_read_job(path, jobs[i].name, &err);
        if (!r)
            rc = note_outcome(rc, &err, msg, msg_size);
        cx_result_free(r);
        cx_error_clear(&err);
        if (cx_show(path, jobs[i].name, 1, sink, &err) != CX_OK)
            rc = note_outcome(rc, &err, msg, msg_size);
    }
    cx_stored_jobs_free(jobs, n);
    return rc;
}

int fuzz_results_file(const char *path, char *msg, size_t msg_size)
{
    if (msg && msg_size)
        msg[0] = '\0';
    FILE *sink = fopen("/dev/null", "w");
    if (!sink)
        return 0;
    cx_error err = {0};
    int rc = 0;
    if (cx_show(path, NULL, 0, sink, &err) != CX_OK)
        rc = note_outcome(rc, &err, msg, msg_size);
    /* `cxfit report` reads the same file its own way. */
    char html[96];
    snprintf(html, sizeof html, "/tmp/cxfit_fuzz_report_%ld.html", (long)getpid());
    cx_error_clear(&err);
    if (cx_report(path, html, &err) != CX_OK)
        rc = note_outcome(rc, &err, msg, msg_size);
    remove(html);
    int each = read_each_job(path, sink, msg, msg_size);
    rc = rc < 0 || each < 0 ? -1 : (rc > each ? rc : each);
    static const char *const root[] = {"cxfit_version", "created", "config"};
    for (size_t k = 0; k < 3; k++) {
        cx_error_clear(&err);
        char *v = cx_results_root_attr(path, root[k], &err);
        if (!v)
            rc = note_outcome(rc, &err, msg, msg_size);
        free(v);
    }
    fclose(sink);
    /* Every handle the reader opened is closed again, whatever failed. */
    if (H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
        rc = -1;
    return rc;
}

int fuzz_results(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cxfit_fuzz_results_%ld.h5", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    size_t written = fwrite(data, 1, size, f);
    fclose(f);
    int rc = written == size ? fuzz_results_file(path, NULL, 0) : 0;
    unlink(path);
    return rc;
}

/* Job "cfa": estimates of two groups, fit measures, extra attributes. */
static cx_result *seed_cfa(cx_error *err)
{
    static const char *const ops[] = {"=~", "~~", "~1"};
    cx_result *r = cx_result_alloc(0.95, err);
    int rc = r ? CX_OK : CX_ENOMEM;
    for (long long g = 1; g <= 2 && rc == CX_OK; g++)
        for (size_t k = 0; k < 3 && rc == CX_OK; k++)
            rc = cx_result_add_estimate(r, "f", ops[k], k == 2 ? "" : "x1", g, 0.5 * (double)k,
                                        0.1, 0.4, err) < 0
                     ? CX_EFAIL
                     : CX_OK;
    if (rc == CX_OK)
        rc = cx_result_add_fit(r, "chisq", 3.5, err) || cx_result_add_fit(r, "df", 2, err) ||
             cx_result_add_fit(r, "srmr", 0.02, err) ||
             cx_result_set_attr_double(r, "iterations", 12, err) ||
             cx_result_set_attr_string(r, "estimator", "ML", err);
    if (r)
        r->nobs = 301;
    if (rc != CX_OK) {
        cx_result_free(r);
        return NULL;
    }
    return r;
}

/* Job "inv": an invariance table (step, converged, fit and differences). */
static cx_result *seed_invariance(cx_error *err)
{
    static const char *const steps[] = {"configural", "metric"};
    cx_result *r = cx_result_alloc(0.95, err);
    cx_rtable *t = r ? cx_result_table(r, "invariance", err) : NULL;
    int rc = !t || cx_rtable_add_column(t, "step", CX_RCOL_STRING, err) ||
             cx_rtable_add_column(t, "converged", CX_RCOL_INT, err) ||
             cx_rtable_add_column(t, "npar", CX_RCOL_DOUBLE, err) ||
             cx_rtable_add_column(t, "chisq", CX_RCOL_DOUBLE, err) ||
             cx_rtable_add_column(t, "df", CX_RCOL_DOUBLE, err) ||
             cx_rtable_add_column(t, "chisq_diff", CX_RCOL_DOUBLE, err);
    for (size_t i = 0; i < 2 && !rc; i++) {
        long row = cx_rtable_add_row(t, err);
        rc = row < 0 || cx_rtable_set_string(t, (size_t)row, "step", steps[i], err);
        if (!rc) {
            cx_rtable_set_int(t, (size_t)row, "converged", 1);
            cx_rtable_set_double(t, (size_t)row, "npar", 20 - 3.0 * (double)i);
            cx_rtable_set_double(t, (size_t)row, "chisq", 10 + (double)i);
            cx_rtable_set_double(t, (size_t)row, "df", 5 + 3.0 * (double)i);
            cx_rtable_set_double(t, (size_t)row, "chisq_diff", i ? 1.0 : NAN);
        }
    }
    if (rc) {
        cx_result_free(r);
        return NULL;
    }
    return r;
}

int fuzz_results_seed(const char *path)
{
    cx_error err = {0};
    cx_provenance prov = {.config_text = "[job cfa]\nmodel = cfa\n", .threads = 1, .ranks = 1};
    cx_results_file *f = cx_results_create(path, &prov, &err);
    cx_result *cfa = f ? seed_cfa(&err) : NULL;
    cx_result *inv = cfa ? seed_invariance(&err) : NULL;
    cx_result *failed = inv ? cx_result_alloc(0.95, &err) : NULL;
    int rc = failed ? 0 : -1;
    if (failed)
        cx_result_set_status(failed, CX_STATUS_FAILED, "a reason");
    if (!rc)
        rc = cx_results_write_job(f, "cfa", "cfa", "spec a", 0.5, 1, cfa, &err) ||
                     cx_results_write_job(f, "inv", "cfa", "spec b", 0.5, 2, inv, &err) ||
                     cx_results_write_job(f, "bad", "nps", "spec c", 0.1, 3, failed, &err)
                 ? -1
                 : 0;
    cx_result_free(cfa);
    cx_result_free(inv);
    cx_result_free(failed);
    if (f && cx_results_close(f, &err))
        rc = -1;
    return rc;
}
