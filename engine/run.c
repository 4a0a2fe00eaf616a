/*
 * run.c — `cxfit run` / `cxfit check`: plan the jobs of a config, fit them
 * (in parallel where they are independent), and write one results file.
 *
 * The flow:
 *   1. plan: read every job's shared keys, find its model, reject unknown
 *      keys, resolve its table (a file/group, or `@job/table` made by an
 *      earlier job); any error here stops the run before anything is fitted
 *      (exit 2);
 *   2. check: open the data, parse filters, let the model check its keys
 *      against the columns (all `cxfit check` does);
 *   3. fit: jobs run in stages (a job that reads another job's table runs
 *      in a later stage); the jobs of a stage run on OpenMP threads; each
 *      job is written to RESULTS.h5.tmp, in config order, as soon as it and
 *      the jobs before it are done;
 *   4. rename RESULTS.h5.tmp to RESULTS.h5.
 */
#include "run.h"

#include <errno.h>
#include <math.h>
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "results_io.h"
#include "derived.h"

/* Keys every job takes (shared/DESIGN.md §4), plus `join`/`join_on`. */
static const char *const common_keys[] = {"model",   "file",    "table",   "where",     "by",
                                          "missing", "weights", "seed",    "bootstrap", "validate",
                                          "level",   "join",    "join_on", NULL};

typedef struct job_plan {
    cx_job job;
    const cx_model *model;
    char *file;       /* resolved data file (NULL for @job tables)  */
    char *table_path; /* group path, or "@job/table"                */
    int depends_on;   /* index of the job whose table this reads    */
    char *spec;       /* canonical text of the job (for --resume)   */
    cx_table *table;  /* opened at check/run time                   */
    int owns_table;
    cx_filter *where;
    cx_filter *holdout;
    char **by; /* by column names, NULL-terminated           */
    size_t n_by;
    cx_view view;
    int stage;
    int keep_stored;   /* --resume: copy from the old file           */
    cx_result *result; /* merged result once fitted                  */
    double elapsed;
    int done, written;
} job_plan;

typedef struct run_state {
    const cx_run_options *opt;
    cx_config *config;
    job_plan *plans;
    size_t n_plans;
    table_cache *tables;
    char *output, *tmp, *resume_src;
    cx_results_file *out;
    size_t next_to_write;
    int threads;
    int show_progress;
} run_state;

/* ---- planning ---------------------------------------------------------- */

static char *resolve_path(const cx_config *c, const char *path)
{
    if (path[0] == '/' || strcmp(c->dir, ".") == 0)
        return strdup(path);
    size_t n = strlen(c->dir) + strlen(path) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", c->dir, path);
    return out;
}

static int check_known_keys(const cx_config *c, const cx_config_section *s, const cx_model *m,
                            cx_error *err)
{
    for (size_t i = 0; i < s->n_keys; i++) {
        const char *key = s->keys[i].key;
        int known = 0;
        for (size_t j = 0; common_keys[j] && !known; j++)
            known = strcmp(common_keys[j], key) == 0;
        for (size_t j = 0; m->keys && m->keys[j] && !known; j++)
            known = strcmp(m->keys[j], key) == 0;
        if (known)
            continue;
        const char *hint = m->keys ? cx_did_you_mean(key, m->keys) : NULL;
        if (!hint)
            hint = cx_did_you_mean(key, common_keys);
        return cx_config_error(c, s, key, err, CX_EUSAGE, "unknown key for model '%s'%s%s%s",
                               m->name, hint ? " (did you mean '" : "", hint ? hint : "",
                               hint ? "'?)" : "");
    }
    return CX_OK;
}

static int find_model(const cx_config *c, const cx_config_section *s, const cx_model **out,
                      cx_error *err)
{
    const char *name = cx_section_get(s, "model");
    if (!name || !*name)
        return cx_config_error(c, s, NULL, err, CX_EUSAGE, "missing key 'model'");
    *out = cx_model_find(name);
    if (*out)
        return CX_OK;
    size_t n;
    const cx_model *const *all = cx_model_all(&n);
    const char *names[64];
    char list[512] = "";
    for (size_t i = 0; i < n && i < 63; i++) {
        names[i] = all[i]->name;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", all[i]->name);
    }
    names[n < 63 ? n : 63] = NULL;
    const char *hint = cx_did_you_mean(name, names);
    return cx_config_error(c, s, "model", err, CX_EUSAGE, "unknown model '%s'%s%s%s; known: %s",
                           name, hint ? " (did you mean '" : "", hint ? hint : "",
                           hint ? "'?)" : "", list);
}

/* `validate` = none | kfold(K) | holdout(EXPR); the holdout filter is
 * parsed once the table is open. */
static int parse_validate(job_plan *p, cx_error *err)
{
    const char *v = cx_section_get(p->job.section, "validate");
    p->job.validate = CX_VALIDATE_NONE;
    if (!v || strcmp(v, "none") == 0)
        return CX_OK;
    size_t len = strlen(v);
    if (strncmp(v, "kfold(", 6) == 0 && v[len - 1] == ')') {
        char *end;
        long k = strtol(v + 6, &end, 10);
        if (end != v + len - 1 || k < 2 || k > 1000)
            return cx_job_error(&p->job, "validate", err, CX_EUSAGE,
                                "kfold(K) needs K from 2 to 1000, found '%s'", v);
        p->job.validate = CX_VALIDATE_KFOLD;
        p->job.kfold = k;
        return CX_OK;
    }
    if (strncmp(v, "holdout(", 8) == 0 && v[strlen(v) - 1] == ')') {
        p->job.validate = CX_VALIDATE_HOLDOUT;
        return CX_OK;
    }
    return cx_job_error(&p->job, "validate", err, CX_EUSAGE,
                        "expected none, kfold(K) or holdout(EXPR), found '%s'", v);
}

static int parse_common_keys(const cx_config *c, job_plan *p, cx_error *err)
{
    const cx_config_section *s = p->job.section;
    static const char *const missing_modes[] = {"listwise", "pairwise", "fiml", NULL};
    int missing = 0;
    long seed = 1, bootstrap = 0;
    double level = 0.95;
    int rc = cx_section_get_choice(c, s, "missing", missing_modes, &missing, err);
    if (!rc)
        rc = cx_section_get_long(c, s, "seed", 0, 4294967295L, &seed, err);
    if (!rc)
        rc = cx_section_get_long(c, s, "bootstrap", 0, 10000000L, &bootstrap, err);
    if (!rc)
        rc = cx_section_get_double(c, s, "level", 0.5, 0.9999, &level, err);
    if (!rc)
        rc = parse_validate(p, err);
    if (rc)
        return rc;
    p->job.missing = missing == 1 ? CX_MISSING_PAIRWISE : CX_MISSING_LISTWISE;
    p->job.missing_fiml = missing == 2;
    p->job.seed = (unsigned long)seed;
    p->job.bootstrap = bootstrap;
    p->job.level = level;
    p->job.weight_col = -1;
    const char *by = cx_section_get(s, "by");
    if (by) {
        p->by = cx_words_split(by, &p->n_by, err);
        if (!p->by)
            return CX_ENOMEM;
        if (p->n_by == 0 || p->n_by > CX_MAX_GROUP_COLS)
            return cx_job_error(&p->job, "by", err, CX_EUSAGE, "expected 1 to %d column names",
                                CX_MAX_GROUP_COLS);
    }
    return CX_OK;
}

/* Where the job's rows come from: its own file/table, or [data]'s. */
static int resolve_table(const cx_config *c, job_plan *p, size_t index, cx_error *err)
{
    const cx_config_section *s = p->job.section;
    const char *table = cx_section_get(s, "table");
    const char *file = cx_section_get(s, "file");
    if (!table)
        table = cx_section_get(c->data, "table");
    if (!file)
        file = cx_section_get(c->data, "file");
    if (!table)
        return cx_config_error(c, s, NULL, err, CX_EUSAGE,
                               "no table: set 'table' here or in [data]");
    p->depends_on = -1;
    p->table_path = strdup(table);
    if (table[0] == '@') {
        char job[256];
        const char *slash = strchr(table, '/');
        size_t n = slash ? (size_t)(slash - table - 1) : 0;
        if (!slash || n == 0 || n >= sizeof job || !slash[1])
            return cx_config_error(c, s, "table", err, CX_EUSAGE,
                                   "expected @JOB/TABLE (e.g. @nps_by_firm/nps), found '%s'",
                                   table);
        memcpy(job, table + 1, n);
        job[n] = '\0';
        for (size_t j = 0; j < index; j++)
            if (strcmp(c->jobs[j].name, job) == 0)
                p->depends_on = (int)j;
        if (p->depends_on < 0)
            return cx_config_error(c, s, "table", err, CX_EUSAGE,
                                   "'%s' names no earlier job '%s'; a job can read the tables "
                                   "of jobs written before it",
                                   table, job);
        return CX_OK;
    }
    if (!file)
        return cx_config_error(c, s, NULL, err, CX_EUSAGE,
                               "no data file: set 'file' here or in [data]");
    p->file = resolve_path(c, file);
    return p->file && p->table_path ? CX_OK : CX_ENOMEM;
}

/* The job's keys as text, to recognise the same job in an older file. */
static char *job_spec(const cx_config_section *s, const job_plan *p)
{
    size_t n = 64 + strlen(p->table_path) + (p->file ? strlen(p->file) : 0);
    for (size_t i = 0; i < s->n_keys; i++)
        n += strlen(s->keys[i].key) + strlen(s->keys[i].value) + 4;
    char *spec = malloc(n);
    if (!spec)
        return NULL;
    size_t used =
        (size_t)snprintf(spec, n, "file=%s\ntable=%s\n", p->file ? p->file : "", p->table_path);
    for (size_t i = 0; i < s->n_keys; i++)
        used +=
            (size_t)snprintf(spec + used, n - used, "%s=%s\n", s->keys[i].key, s->keys[i].value);
    return spec;
}

static int plan_jobs(run_state *st, cx_error *err)
{
    cx_config *c = st->config;
    st->plans = cx_calloc(c->n_jobs, sizeof *st->plans, err);
    if (!st->plans)
        return CX_ENOMEM;
    st->n_plans = c->n_jobs;
    for (size_t i = 0; i < c->n_jobs; i++) {
        job_plan *p = &st->plans[i];
        p->job.name = c->jobs[i].name;
        p->job.config = c;
        p->job.section = &c->jobs[i];
        p->job.view = &p->view;
        p->depends_on = -1;
        int rc = find_model(c, p->job.section, &p->model, err);
        if (!rc)
            rc = check_known_keys(c, p->job.section, p->model, err);
        if (!rc)
            rc = parse_common_keys(c, p, err);
        if (!rc)
            rc = resolve_table(c, p, i, err);
        if (rc)
            return rc;
        p->stage = p->depends_on >= 0 ? st->plans[p->depends_on].stage + 1 : 0;
        p->spec = job_spec(p->job.section, p);
        if (!p->spec)
            return cx_error_set(err, CX_ENOMEM, "out of memory");
    }
    return CX_OK;
}

/* ---- per-job data ----------------------------------------------------- */

/* Filters and columns the engine handles for every model. */
static int bind_job_to_table(job_plan *p, cx_error *err)
{
    cx_view_init(&p->view, p->table, NULL);
    const char *where = cx_section_get(p->job.section, "where");
    if (where) {
        p->where = cx_filter_parse(where, p->table, err);
        if (!p->where)
            return cx_job_error(&p->job, "where", err, CX_EUSAGE, "%s", err->msg);
        p->view.where = p->where;
    }
    if (p->job.validate == CX_VALIDATE_HOLDOUT) {
        const char *v = cx_section_get(p->job.section, "validate");
        char expr[CX_ERROR_MSG_MAX];
        snprintf(expr, sizeof expr, "%.*s", (int)(strlen(v) - 9), v + 8);
        p->holdout = cx_filter_parse(expr, p->table, err);
        if (!p->holdout)
            return cx_job_error(&p->job, "validate", err, CX_EUSAGE, "%s", err->msg);
        p->job.holdout = p->holdout;
    }
    const char *weights = cx_section_get(p->job.section, "weights");
    if (weights) {
        char *name = (char *)weights;
        if (cx_view_columns(&p->view, &name, 1, &p->job.weight_col, err))
            return cx_job_error(&p->job, "weights", err, CX_EUSAGE, "%s", err->msg);
    }
    int by_cols[CX_MAX_GROUP_COLS];
    if (p->n_by && cx_view_columns(&p->view, p->by, p->n_by, by_cols, err))
        return cx_job_error(&p->job, "by", err, CX_EUSAGE, "%s", err->msg);
    return CX_OK;
}

/* Open the job's table: from a file, or built from an earlier job's result. */
static int open_job_table(run_state *st, job_plan *p, cx_error *err)
{
    if (p->depends_on < 0) {
        p->table = table_cache_open(st->tables, p->file, p->table_path, err);
        if (!p->table)
            return cx_job_error(&p->job, "table", err, err->code, "%s", err->msg);
    } else {
        const job_plan *dep = &st->plans[p->depends_on];
        if (!dep->result)
            return cx_job_error(&p->job, "table", err, CX_EFAIL,
                                "job '%s' produced no result to read", dep->job.name);
        p->table = table_from_result(dep->result, p->table_path, err);
        if (!p->table)
            return cx_job_error(&p->job, "table", err, CX_EFAIL, "%s", err->msg);
        p->owns_table = 1;
    }
    const char *join = cx_section_get(p->job.section, "join");
    if (join) {
        cx_table *joined = table_join(st->tables, st->config, p->job.section, p->table, err);
        if (!joined)
            return err->code;
        if (p->owns_table)
            cx_table_close(p->table);
        p->table = joined;
        p->owns_table = 1;
    }
    return bind_job_to_table(p, err);
}

static int check_job(run_state *st, job_plan *p, cx_error *err)
{
    int rc = open_job_table(st, p, err);
    if (!rc && p->model->check)
        rc = p->model->check(&p->job, err);
    return rc;
}

static void release_job_data(job_plan *p)
{
    cx_view_free(&p->view);
    cx_filter_free(p->where);
    cx_filter_free(p->holdout);
    p->where = p->holdout = NULL;
    if (p->owns_table)
        cx_table_close(p->table);
    p->table = NULL;
    p->owns_table = 0;
}

/* ---- fitting ------------------------------------------------------------ */

static int fit_levels(job_plan *p, cx_result **results, size_t n_levels, cx_error *err)
{
    if (p->model->fits_all_levels || n_levels == 1)
        return p->model->fit(&p->job, results, err);
    cx_view all = p->view;
    int rc = CX_OK;
    for (size_t l = 0; l < n_levels && rc == CX_OK; l++) {
        p->view = cx_view_restrict_level(&all, l);
        cx_error level_err = {0};
        if (p->model->fit(&p->job, &results[l], &level_err) != CX_OK)
            cx_result_set_status(results[l], CX_STATUS_FAILED, "%s", level_err.msg);
    }
    p->view = all;
    return rc;
}

static cx_result *fit_job(job_plan *p, cx_error *err)
{
    int by_cols[CX_MAX_GROUP_COLS];
    if (p->n_by) {
        if (cx_view_columns(&p->view, p->by, p->n_by, by_cols, err) ||
            cx_view_set_groups(&p->view, by_cols, p->n_by, err)) {
            cx_job_error(&p->job, "by", err, err->code, "%s", err->msg); /* name job and key */
            return NULL;
        }
        if (p->view.n_levels == 0) {
            cx_error_set(err, CX_EFAIL, "no rows with values of the 'by' columns");
            return NULL;
        }
    }
    size_t n_levels = p->view.n_levels ? p->view.n_levels : 1;
    cx_result **results = cx_calloc(n_levels, sizeof *results, err);
    int rc = results ? CX_OK : CX_ENOMEM;
    for (size_t l = 0; l < n_levels && rc == CX_OK; l++)
        if (!(results[l] = cx_result_alloc(p->job.level, err)))
            rc = CX_ENOMEM;
    if (rc == CX_OK)
        rc = fit_levels(p, results, n_levels, err);
    cx_result *merged = NULL;
    if (rc == CX_OK)
        merged = p->n_by ? merge_levels(results, n_levels, &p->view, p->by, err) : results[0];
    for (size_t l = 0; results && l < n_levels; l++)
        if (!(merged && merged == results[l]))
            cx_result_free(results[l]);
    free(results);
    return merged;
}

static void run_one_job(run_state *st, job_plan *p)
{
    double t0 = omp_get_wtime();
    cx_error err = {0};
    cx_result *r = NULL;
    if (check_job(st, p, &err) == CX_OK)
        r = fit_job(p, &err);
    if (!r) {
        r = cx_result_alloc(p->job.level, NULL);
        if (r)
            cx_result_set_status(r, CX_STATUS_FAILED, "%s", err.msg);
    }
    release_job_data(p);
    p->result = r;
    p->elapsed = omp_get_wtime() - t0;
}

/* ---- writing -------------------------------------------------------------- */

static void report_job(const run_state *st, const job_plan *p)
{
    const char *status = p->result ? p->result->status : CX_STATUS_FAILED;
    int ok = strcmp(status, CX_STATUS_OK) == 0;
    if (st->opt->quiet)
        return;
    if (!ok)
        fprintf(stderr, "cxfit: job '%s' %s: %s\n", p->job.name, status,
                p->result && p->result->message ? p->result->message : "out of memory");
    else if (st->show_progress)
        fprintf(stderr, "cxfit: [%zu/%zu] %s (%s) ok, %.3f s\n", (size_t)(p - st->plans) + 1,
                st->n_plans, p->job.name, p->model->name, p->elapsed);
}

/* Write every finished job that has all jobs before it written, so the file
 * keeps config order whatever order the threads finish in. */
static int write_ready_jobs(run_state *st, cx_error *err)
{
    int rc = CX_OK;
#pragma omp critical(cx_hdf5)
    while (rc == CX_OK && st->next_to_write < st->n_plans && st->plans[st->next_to_write].done) {
        job_plan *p = &st->plans[st->next_to_write++];
        if (p->keep_stored)
            rc = cx_results_copy_job(st->out, st->resume_src, p->job.name, err);
        else if (!p->result)
            rc = cx_error_set(err, CX_ENOMEM, "out of memory in job '%s'", p->job.name);
        else
            rc = cx_results_write_job(st->out, p->job.name, p->model->name, p->spec, p->elapsed,
                                      p->job.seed, p->result, err);
        p->written = rc == CX_OK;
        if (!p->keep_stored)
            report_job(st, p);
        if (getenv("CXFIT_TEST_INTERRUPT_AFTER") &&
            (size_t)atol(getenv("CXFIT_TEST_INTERRUPT_AFTER")) == st->next_to_write) {
            /* Test hook: die like a killed process, leaving only the .tmp. */
            _exit(137);
        }
    }
    return rc;
}

/* A kept job's result is needed in memory only when a later job reads it. */
static int load_kept_result(run_state *st, job_plan *p, cx_error *err)
{
    for (size_t j = 0; j < st->n_plans; j++)
        if (st->plans[j].depends_on == (int)(p - st->plans) && !p->result) {
            p->result = cx_results_read_job(st->resume_src, p->job.name, err);
            return p->result ? CX_OK : err->code;
        }
    return CX_OK;
}

static int run_stage(run_state *st, int stage, cx_error *err)
{
    size_t *idx = cx_calloc(st->n_plans ? st->n_plans : 1, sizeof *idx, err), n = 0;
    if (!idx)
        return CX_ENOMEM;
    for (size_t i = 0; i < st->n_plans; i++)
        if (st->plans[i].stage == stage)
            idx[n++] = i;
    /* Several jobs: one thread each (their inner loops then run serially);
     * one job: it gets every thread for its own parallel passes. */
    int outer = n >= 2 && st->threads >= 2;
    int rc = CX_OK;
#pragma omp parallel for schedule(dynamic, 1) num_threads(st->threads) if (outer)
    for (size_t k = 0; k < n; k++) {
        job_plan *p = &st->plans[idx[k]];
        cx_error job_err = {0};
        if (p->keep_stored) {
            if (load_kept_result(st, p, &job_err) != CX_OK)
                p->keep_stored = 0;
        }
        if (!p->keep_stored)
            run_one_job(st, p);
        p->done = 1;
        if (write_ready_jobs(st, &job_err) != CX_OK) {
#pragma omp critical(cx_run_error)
            if (rc == CX_OK) {
                rc = job_err.code;
                *err = job_err;
            }
        }
    }
    free(idx);
    return rc;
}

/* ---- output file handling ----------------------------------------------- */

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int make_parent_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

static int choose_output(run_state *st, cx_error *err)
{
    const char *out = st->opt->output_path;
    if (out) {
        st->output = strdup(out);
    } else {
        const char *cfg = cx_section_get(st->config->output, "file");
        if (!cfg)
            return cx_error_set(err, CX_EUSAGE,
                                "%s: no results file: give -o RESULTS.h5 or set [output] file",
                                st->config->path);
        st->output = resolve_path(st->config, cfg);
    }
    size_t n = strlen(st->output) + 16;
    st->tmp = malloc(n);
    st->resume_src = malloc(n);
    if (!st->output || !st->tmp || !st->resume_src)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    snprintf(st->tmp, n, "%s.tmp", st->output);
    snprintf(st->resume_src, n, "%s.resume", st->output);
    return CX_OK;
}

/* --resume: find the jobs an earlier (finished or interrupted) run wrote
 * with the same spec and a usable status. */
static int prepare_resume(run_state *st, cx_error *err)
{
    const char *src =
        file_exists(st->tmp) ? st->tmp : (file_exists(st->output) ? st->output : NULL);
    if (!src) {
        free(st->resume_src);
        st->resume_src = NULL;
        return CX_OK;
    }
    if (rename(src, st->resume_src) != 0)
        return cx_error_set(err, CX_EIO, "%s: cannot move aside for --resume", src);
    cx_stored_job *stored;
    size_t n;
    if (cx_results_list_jobs(st->resume_src, &stored, &n, err))
        return CX_EIO;
    size_t kept = 0;
    for (size_t i = 0; i < st->n_plans; i++)
        for (size_t j = 0; j < n; j++) {
            job_plan *p = &st->plans[i];
            if (strcmp(stored[j].name, p->job.name) == 0 && stored[j].spec &&
                strcmp(stored[j].spec, p->spec) == 0 && stored[j].status &&
                strcmp(stored[j].status, CX_STATUS_FAILED) != 0) {
                p->keep_stored = 1;
                kept++;
            }
        }
    cx_stored_jobs_free(stored, n);
    if (!st->opt->quiet)
        fprintf(stderr, "cxfit: resuming: %zu of %zu jobs already done\n", kept, st->n_plans);
    return CX_OK;
}

static int open_output(run_state *st, cx_error *err)
{
    int rc = choose_output(st, err);
    if (rc)
        return rc;
    if (file_exists(st->output) && !st->opt->force && !st->opt->resume)
        return cx_error_set(err, CX_EUSAGE,
                            "%s exists; use --force to overwrite it or --resume to finish it",
                            st->output);
    if (make_parent_dirs(st->output) != 0)
        return cx_error_set(err, CX_EIO, "%s: cannot create its directory", st->output);
    if (st->opt->resume && (rc = prepare_resume(st, err)))
        return rc;
    cx_provenance prov = {st->config->text, st->threads, 1};
    st->out = cx_results_create(st->tmp, &prov, err);
    return st->out ? CX_OK : CX_EIO;
}

static int finish_output(run_state *st, cx_error *err)
{
    int rc = cx_results_close(st->out, err);
    st->out = NULL;
    if (rc)
        return rc;
    if (rename(st->tmp, st->output) != 0)
        return cx_error_set(err, CX_EIO, "%s: cannot rename to %s", st->tmp, st->output);
    if (st->resume_src)
        remove(st->resume_src);
    return CX_OK;
}

/* ---- the run -------------------------------------------------------------- */

static void free_state(run_state *st)
{
    for (size_t i = 0; st->plans && i < st->n_plans; i++) {
        job_plan *p = &st->plans[i];
        release_job_data(p);
        cx_result_free(p->result);
        cx_words_free(p->by);
        free(p->file);
        free(p->table_path);
        free(p->spec);
    }
    free(st->plans);
    table_cache_free(st->tables);
    if (st->out) {
        cx_results_close(st->out, NULL);
        remove(st->tmp);
    }
    free(st->output);
    free(st->tmp);
    free(st->resume_src);
    cx_config_free(st->config);
}

/* `cxfit check`: every job whose data exists now is opened and checked. */
static int check_all(run_state *st, cx_error *err)
{
    for (size_t i = 0; i < st->n_plans; i++) {
        job_plan *p = &st->plans[i];
        if (p->depends_on >= 0)
            continue; /* its table exists only after the run */
        int rc = check_job(st, p, err);
        release_job_data(p);
        if (rc)
            return rc;
    }
    return CX_OK;
}

static int exit_status_for(int code)
{
    return code == CX_EUSAGE ? 2 : (code == CX_OK ? 0 : 3);
}

int cx_run(const cx_run_options *opt, cx_error *err)
{
    run_state st = {.opt = opt};
    st.threads = opt->threads > 0 ? opt->threads : omp_get_num_procs();
    /* cxfit parallelises with OpenMP itself (jobs, blocks): OpenBLAS
     * threads inside those regions would oversubscribe the cores. */
    openblas_set_num_threads(1);
    st.show_progress = !opt->quiet && (isatty(2) || getenv("CXFIT_PROGRESS"));
    st.config = cx_config_load(opt->config_path, err);
    if (!st.config)
        return exit_status_for(err->code);
    st.tables = table_cache_alloc(err);
    int rc = st.tables ? plan_jobs(&st, err) : CX_ENOMEM;
    /* Everything that can be checked before fitting is checked first, so a
     * config error never leaves a half-run study behind. */
    if (rc == CX_OK)
        rc = check_all(&st, err);
    if (rc != CX_OK || opt->check_only) {
        free_state(&st);
        return exit_status_for(rc);
    }
    rc = open_output(&st, err);
    int max_stage = 0;
    for (size_t i = 0; i < st.n_plans; i++)
        max_stage = st.plans[i].stage > max_stage ? st.plans[i].stage : max_stage;
    for (int s = 0; rc == CX_OK && s <= max_stage; s++)
        rc = run_stage(&st, s, err);
    if (rc == CX_OK)
        rc = finish_output(&st, err);
    size_t failed = 0, not_converged = 0;
    for (size_t i = 0; i < st.n_plans; i++) {
        const cx_result *r = st.plans[i].keep_stored ? NULL : st.plans[i].result;
        failed += r && strcmp(r->status, CX_STATUS_FAILED) == 0;
        not_converged += r && strcmp(r->status, CX_STATUS_NOT_CONVERGED) == 0;
    }
    if (rc == CX_OK && !opt->quiet)
        fprintf(stderr, "cxfit: wrote %s (%zu jobs, %zu failed, %zu not converged)\n", st.output,
                st.n_plans, failed, not_converged);
    free_state(&st);
    if (rc != CX_OK)
        return exit_status_for(rc);
    /* exit 0 means every job is ok: a fit that did not converge is not */
    return failed || not_converged ? 1 : 0;
}
