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

#include "blas_threads.h"
#include "dist.h"
#include "model.h"
#include "results_io.h"
#include "derived.h"
#include "output.h"

/* Keys every job takes (shared/DESIGN.md §4), plus `join`/`join_on` and
 * `wide`/`wide_columns` (derived.h). */
static const char *const common_keys[] = {
    "model", "file",         "table",    "where", "by",   "missing", "weights",
    "seed",  "bootstrap",    "validate", "level", "join", "join_on", "bootstrap_cluster",
    "wide",  "wide_columns", NULL};

typedef struct job_plan {
    cx_job job;
    const cx_model *model;
    char *file;       /* resolved data file (NULL for @job tables)  */
    char *table_path; /* group path, or "@job/table"                */
    int depends_on;   /* index of the job whose table this reads    */
    int input_of;     /* index of the job whose result the model's
                         input_key names (job.input), -1 if none    */
    char *spec;       /* canonical text of the job (for --resume)   */
    cx_table *table;  /* opened at check/run time                   */
    int owns_table;
    cx_filter *where;
    cx_filter *holdout;
    char **by; /* by column names, NULL-terminated           */
    size_t n_by;
    cx_view view;
    int stage;
    int other_shard;       /* --shard: another shard runs this job         */
    int everywhere;        /* mpirun: every rank fitted it (a row-split stage) */
    const char *keep_from; /* --resume: the file to copy it from      */
    cx_result *result;     /* merged result once fitted                  */
    double elapsed;
    int done, written;
} job_plan;

typedef struct run_state {
    const cx_run_options *opt;
    cx_config *config;
    job_plan *plans;
    size_t n_plans;
    table_cache *tables;
    cx_output paths; /* RESULTS.h5 and its working files (output.h) */
    cx_results_file *out;
    size_t next_to_write;
    double last_flush; /* omp_get_wtime() of the last flush to disk */
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

/* The shared keys the job uses that its model declares it cannot honour
 * are refused here, at plan time, so `cxfit check` catches them (exit 2,
 * the key named) and nothing is silently ignored. */
static int refuse_unsupported(const job_plan *p, cx_error *err)
{
    const cx_job *j = &p->job;
    const cx_config_section *s = j->section;
    unsigned has = p->model->supports;
    const char *name = p->model->name;
    if (cx_section_get(s, "weights") && !(has & CX_SUPPORTS_WEIGHTS))
        return cx_job_error(j, "weights", err, CX_EUSAGE,
                            "model '%s' does not take weights; remove 'weights'", name);
    if (p->n_by && !(has & CX_SUPPORTS_BY))
        return cx_job_error(j, "by", err, CX_EUSAGE, "model '%s' does not take 'by'", name);
    if (j->missing_fiml && !(has & CX_SUPPORTS_FIML))
        return cx_job_error(j, "missing", err, CX_EUSAGE,
                            "missing = fiml is not supported by model '%s' (use listwise%s)", name,
                            has & CX_SUPPORTS_PAIRWISE ? " or pairwise" : "");
    if (j->missing == CX_MISSING_PAIRWISE && !(has & CX_SUPPORTS_PAIRWISE))
        return cx_job_error(j, "missing", err, CX_EUSAGE,
                            "missing = pairwise is not supported by model '%s' (use listwise)",
                            name);
    if (j->bootstrap > 0 && !(has & CX_SUPPORTS_BOOTSTRAP))
        return cx_job_error(j, "bootstrap", err, CX_EUSAGE,
                            "model '%s' does not support bootstrap; remove 'bootstrap'", name);
    if (cx_section_get(s, "bootstrap_cluster") && j->bootstrap <= 0)
        return cx_job_error(j, "bootstrap_cluster", err, CX_EUSAGE,
                            "bootstrap_cluster needs bootstrap = B (the number of replicates)");
    if (j->validate != CX_VALIDATE_NONE && !(has & CX_SUPPORTS_VALIDATE))
        return cx_job_error(j, "validate", err, CX_EUSAGE,
                            "model '%s' does not support validate; remove 'validate'", name);
    return CX_OK;
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
        rc = cx_section_get_long(c, s, "bootstrap", 0, 100000L, &bootstrap, err);
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
    p->job.bootstrap_cluster = -1;
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

/* Marks where a stored spec's keys end and its inputs' fingerprints begin. */
#define SPEC_INPUTS "[inputs]\n"

/* The job's keys, then what it reads (file sizes and times, or the spec
 * of the job whose table it reads), to recognise the same job on the same
 * data in an older results file. */
static char *job_spec(const cx_config *c, const cx_config_section *s, const job_plan *p,
                      const char *dep_spec)
{
    char data[128], joined[128];
    const char *group = NULL;
    char *join_file = table_join_file(c, s, &group);
    cx_file_fingerprint(p->file, data, sizeof data);
    cx_file_fingerprint(join_file, joined, sizeof joined);
    size_t n = 128 + strlen(p->table_path) + 2 * (p->file ? strlen(p->file) : 0) +
               (join_file ? strlen(join_file) : 0) + (dep_spec ? strlen(dep_spec) : 0);
    for (size_t i = 0; i < s->n_keys; i++)
        n += strlen(s->keys[i].key) + strlen(s->keys[i].value) + 4;
    char *spec = malloc(n);
    if (!spec) {
        free(join_file);
        return NULL;
    }
    size_t used =
        (size_t)snprintf(spec, n, "file=%s\ntable=%s\n", p->file ? p->file : "", p->table_path);
    for (size_t i = 0; i < s->n_keys; i++)
        used +=
            (size_t)snprintf(spec + used, n - used, "%s=%s\n", s->keys[i].key, s->keys[i].value);
    used += (size_t)snprintf(spec + used, n - used, SPEC_INPUTS);
    if (p->file)
        used += (size_t)snprintf(spec + used, n - used, "%s %s\n", p->file, data);
    if (join_file)
        used += (size_t)snprintf(spec + used, n - used, "%s %s\n", join_file, joined);
    if (dep_spec)
        snprintf(spec + used, n - used, "@{\n%s}\n", dep_spec);
    free(join_file);
    return spec;
}

/* The model's input_key (e.g. `cfa_job`): an earlier job of the config. */
static int resolve_input_job(const cx_config *c, job_plan *p, size_t index, cx_error *err)
{
    p->input_of = -1;
    const char *key = p->model->input_key;
    const char *name = key ? cx_section_get(p->job.section, key) : NULL;
    if (!name)
        return CX_OK;
    for (size_t j = 0; j < index; j++)
        if (strcmp(c->jobs[j].name, name) == 0)
            p->input_of = (int)j;
    if (p->input_of < 0)
        return cx_config_error(c, p->job.section, key, err, CX_EUSAGE,
                               "'%s' names no earlier job; expected the name of a job written "
                               "before this one",
                               name);
    return CX_OK;
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
        p->input_of = -1;
        int rc = find_model(c, p->job.section, &p->model, err);
        if (!rc)
            rc = check_known_keys(c, p->job.section, p->model, err);
        if (!rc)
            rc = parse_common_keys(c, p, err);
        if (!rc)
            rc = refuse_unsupported(p, err);
        if (!rc)
            rc = resolve_table(c, p, i, err);
        if (!rc)
            rc = resolve_input_job(c, p, i, err);
        if (rc)
            return rc;
        p->stage = p->depends_on >= 0 ? st->plans[p->depends_on].stage + 1 : 0;
        if (p->input_of >= 0 && st->plans[p->input_of].stage + 1 > p->stage)
            p->stage = st->plans[p->input_of].stage + 1;
        int dep = p->depends_on >= 0 ? p->depends_on : p->input_of;
        p->spec = job_spec(c, p->job.section, p, dep >= 0 ? st->plans[dep].spec : NULL);
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
    if (where && !cx_section_get(p->job.section, "wide")) { /* wide: where chose the long rows */
        p->where = cx_filter_parse(where, p->table, err);
        if (!p->where)
            return cx_job_error(&p->job, "where", err, CX_EUSAGE, "%s", err->msg);
        p->view.where = p->where;
    }
    if (p->job.validate == CX_VALIDATE_HOLDOUT) {
        const char *v = cx_section_get(p->job.section, "validate");
        char *expr = strndup(v + 8, strlen(v) - 9); /* any length: never cut */
        if (!expr)
            return cx_error_set(err, CX_ENOMEM, "out of memory");
        p->holdout = cx_filter_parse(expr, p->table, err);
        free(expr);
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
    p->job.bootstrap_cluster = -1;
    const char *cluster = cx_section_get(p->job.section, "bootstrap_cluster");
    if (cluster) {
        char *name = (char *)cluster;
        if (cx_view_columns(&p->view, &name, 1, &p->job.bootstrap_cluster, err))
            return cx_job_error(&p->job, "bootstrap_cluster", err, CX_EUSAGE, "%s", err->msg);
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
        if (dep->result->status == CX_STATUS_FAILED)
            return cx_job_error(&p->job, "table", err, CX_EFAIL,
                                "reads '%s', but job '%s' failed: %s", p->table_path, dep->job.name,
                                dep->result->message ? dep->result->message : "no reason given");
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
    if (cx_section_get(p->job.section, "wide")) {
        cx_table *wide = table_wide(st->config, p->job.section, p->table, err);
        if (!wide)
            return err->code;
        if (p->owns_table)
            cx_table_close(p->table);
        p->table = wide;
        p->owns_table = 1;
    } else if (cx_section_get(p->job.section, "wide_columns"))
        return cx_job_error(&p->job, "wide_columns", err, CX_EUSAGE,
                            "'wide_columns' needs 'wide' (the id and time columns)");
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

/* A level's result travels whole between MPI ranks (dist.h). */
static size_t level_pack(void *ctx, size_t l, void *buf)
{
    return cx_result_pack(((cx_result **)ctx)[l], buf);
}

static int level_unpack(void *ctx, size_t l, const void *buf, size_t size, cx_error *err)
{
    return cx_result_unpack(((cx_result **)ctx)[l], buf, size, err);
}

/* A model fitted level by level: in an MPI row-split job the levels are
 * dealt to the ranks, each fitting its levels whole (their passes are not
 * split: cx_dist_hold), and the results gathered on every rank. */
static int fit_levels(job_plan *p, cx_result **results, size_t n_levels, cx_error *err)
{
    if (p->model->fits_all_levels || n_levels == 1)
        return p->model->fit(&p->job, results, err);
    cx_view all = p->view;
    int rank, ranks = cx_dist_deal_begin(&rank);
    long held = cx_dist_hold();
    for (size_t l = (size_t)rank; l < n_levels; l += (size_t)ranks) {
        p->view = cx_view_restrict_level(&all, l);
        cx_error level_err = {0};
        if (p->model->fit(&p->job, &results[l], &level_err) != CX_OK)
            cx_result_set_status(results[l], CX_STATUS_FAILED, "%s", level_err.msg);
    }
    cx_dist_release(held);
    p->view = all;
    cx_task_ops ops = {level_pack, level_unpack, results};
    return cx_dist_deal_end(n_levels, &ops, CX_OK, err);
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

/* job.input: the result of the job the model's input_key names. */
static int bind_input(run_state *st, job_plan *p, cx_error *err)
{
    if (p->input_of < 0)
        return CX_OK;
    const job_plan *in = &st->plans[p->input_of];
    if (!in->result)
        return cx_job_error(&p->job, p->model->input_key, err, CX_EFAIL,
                            "job '%s' produced no result to read", in->job.name);
    if (in->result->status == CX_STATUS_FAILED)
        return cx_job_error(&p->job, p->model->input_key, err, CX_EFAIL, "job '%s' failed: %s",
                            in->job.name, in->result->message ? in->result->message : "");
    p->job.input = in->result;
    p->job.input_model = in->model->name;
    return CX_OK;
}

static void run_one_job(run_state *st, job_plan *p)
{
    double t0 = omp_get_wtime();
    cx_error err = {0};
    cx_result *r = NULL;
    cx_test_die_at("fitting");
    if (check_job(st, p, &err) == CX_OK && bind_input(st, p, &err) == CX_OK)
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

/* One line on stderr for a job that is not plainly ok (failed, not
 * converged, or ok with warnings such as a Heywood case): never silenced,
 * since --quiet silences progress, not problems. */
static void report_job(const run_state *st, const job_plan *p)
{
    cx_job_status status = p->result ? p->result->status : CX_STATUS_FAILED;
    const char *message = p->result ? p->result->message : "out of memory";
    int ok = status == CX_STATUS_OK;
    if (!ok || (message && *message)) {
        /* keep it one line whatever the message holds */
        char line[CX_ERROR_MSG_MAX];
        snprintf(line, sizeof line, "%s", message && *message ? message : "no reason given");
        for (char *c = line; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        fprintf(stderr, "cxfit: job '%s' %s: %s\n", p->job.name,
                ok ? "ok with warnings" : cx_status_name(status), line);
    } else if (st->show_progress) {
        fprintf(stderr, "cxfit: [%zu/%zu] %s (%s) ok, %.3f s\n", (size_t)(p - st->plans) + 1,
                st->n_plans, p->job.name, p->model->name, p->elapsed);
    }
}

/* A job whose results cannot be written fails alone: whatever it left in
 * the file is removed, a failed job group saying why takes its place
 * (when even that cannot be written, the reason still reaches stderr), and
 * the other jobs are written as usual. */
static void record_write_failure(run_state *st, job_plan *p, const cx_error *why)
{
    cx_results_remove_job(st->out, p->job.name);
    cx_result *failed = cx_result_alloc(p->job.level, NULL);
    if (failed) {
        cx_result_set_status(failed, CX_STATUS_FAILED, "cannot write its results: %s", why->msg);
        cx_error again = {0};
        if (cx_results_write_job(st->out, p->job.name, p->model->name, p->spec, p->elapsed,
                                 p->job.seed, failed, &again) != CX_OK)
            cx_results_remove_job(st->out, p->job.name);
    }
    cx_result_free(p->result);
    p->result = failed;
    p->keep_from = NULL;
    if (!failed)
        fprintf(stderr, "cxfit: job '%s' failed: cannot write its results: %s\n", p->job.name,
                why->msg);
}

/* Test hook: CXFIT_TEST_FAIL_WRITE=JOB makes writing that job's results
 * fail, as a full disk or an unwritable name would. */
static int test_write_fails(const job_plan *p)
{
    const char *name = getenv("CXFIT_TEST_FAIL_WRITE");
    return name && strcmp(name, p->job.name) == 0;
}

/* Finished jobs reach the disk at least every FLUSH_INTERVAL_S seconds: a
 * kill then loses at most that much finished work, and a study of many
 * small jobs does not pay an HDF5 flush (~0.4 ms) per job. */
#define FLUSH_INTERVAL_S 1.0

static void flush_now_and_then(run_state *st)
{
    double now = omp_get_wtime();
    if (now - st->last_flush >= FLUSH_INTERVAL_S) {
        cx_results_flush(st->out);
        st->last_flush = now;
    }
}

/* Write every finished job that has all jobs before it written, so the file
 * keeps config order whatever order the threads finish in. */
static void write_ready_jobs(run_state *st)
{
#pragma omp critical(cx_hdf5)
    while (st->next_to_write < st->n_plans &&
           (st->plans[st->next_to_write].done || st->plans[st->next_to_write].other_shard)) {
        job_plan *p = &st->plans[st->next_to_write++];
        if (p->other_shard)
            continue;
        cx_error err = {0};
        int rc;
        if (p->keep_from)
            rc = cx_results_copy_job(st->out, p->keep_from, p->job.name, &err);
        else if (!p->result)
            rc = cx_error_set(&err, CX_ENOMEM, "out of memory");
        else if (test_write_fails(p))
            rc = cx_error_set(&err, CX_EIO, "test hook CXFIT_TEST_FAIL_WRITE");
        else
            rc = cx_results_write_job(st->out, p->job.name, p->model->name, p->spec, p->elapsed,
                                      p->job.seed, p->result, &err);
        if (rc != CX_OK)
            record_write_failure(st, p, &err);
        p->written = 1;
        if (!p->keep_from)
            report_job(st, p);
        flush_now_and_then(st);
        if (getenv("CXFIT_TEST_INTERRUPT_AFTER") &&
            (size_t)atol(getenv("CXFIT_TEST_INTERRUPT_AFTER")) == st->next_to_write) {
            /* Test hook: die like a process killed after a flush. */
            cx_results_flush(st->out);
            _exit(137);
        }
    }
}

/* A kept job's result is needed in memory only when a later job reads it. */
static int load_kept_result(run_state *st, job_plan *p, cx_error *err)
{
    for (size_t j = 0; j < st->n_plans; j++)
        if ((st->plans[j].depends_on == (int)(p - st->plans) ||
             st->plans[j].input_of == (int)(p - st->plans)) &&
            !p->result) {
            p->result = cx_results_read_job(p->keep_from, p->job.name, err);
            return p->result ? CX_OK : err->code;
        }
    return CX_OK;
}

/* mpirun: does this stage split the row blocks of its jobs' passes across
 * the ranks (every rank runs every job of the stage, dist.h), rather than
 * the jobs?  CXFIT_MPI_SPLIT = rows | jobs | auto (default).  auto splits
 * rows when the stage has fewer than 2 jobs a rank, where a split of whole
 * jobs would leave ranks idle or badly balanced; many jobs are split
 * whole (no collective at all).  Rows only when every job the stage reads
 * was fitted on every rank.  The same answer on every rank. */
static int stage_splits_rows(const run_state *st, int stage)
{
    int ranks = cx_dist_ranks();
    if (!st->opt->rank_part || ranks < 2)
        return 0;
    const char *mode = getenv("CXFIT_MPI_SPLIT");
    if (mode && strcmp(mode, "jobs") == 0)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < st->n_plans; i++) {
        const job_plan *p = &st->plans[i];
        if (p->stage != stage)
            continue;
        n++;
        if ((p->depends_on >= 0 && !st->plans[p->depends_on].everywhere) ||
            (p->input_of >= 0 && !st->plans[p->input_of].everywhere))
            return 0;
    }
    if (mode && strcmp(mode, "rows") == 0)
        return n > 0;
    return n > 0 && n < 2 * (size_t)ranks;
}

/* After a row-split job: the ranks agree on how it went.  A job that
 * failed on some ranks only fails on all of them, naming the rank. */
static void agree_on_job(job_plan *p)
{
    int failed = !p->result || p->result->status == CX_STATUS_FAILED;
    char msg[CX_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s",
             p->result && p->result->message ? p->result->message : "out of memory");
    int rank = -1, rc = cx_dist_job_end(failed, msg, sizeof msg, &rank);
    if (rc == 0)
        return;
    cx_result *r = cx_result_alloc(p->job.level, NULL);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "rank %d", rank);
    if (r && rc == 1 && strncmp(msg, prefix, strlen(prefix)) != 0)
        cx_result_set_status(r, CX_STATUS_FAILED, "%s: %s", prefix, msg);
    else if (r)
        cx_result_set_status(r, CX_STATUS_FAILED, "%s", msg);
    cx_result_free(p->result);
    p->result = r;
}

/* A row-split stage: every rank runs every job, one at a time with all
 * its threads, in config order; the owner of each (its shard) writes it. */
static void run_stage_rows(run_state *st, int stage)
{
    for (size_t i = 0; i < st->n_plans; i++) {
        job_plan *p = &st->plans[i];
        if (p->stage != stage)
            continue;
        p->job.threads = st->threads;
        omp_set_num_threads(st->threads);
        p->job.progress = 0;
        cx_dist_job_begin((long)i);
        run_one_job(st, p);
        agree_on_job(p);
        p->everywhere = 1;
        p->done = 1;
        write_ready_jobs(st);
    }
}

/* A job whose data file's table has many row blocks per thread (its
 * passes can use every thread).  Joined, wide and result tables count as
 * small; a table that cannot be opened too (the job reports it). */
static int job_table_is_large(run_state *st, const job_plan *p)
{
    if (p->depends_on >= 0 || p->keep_from || !p->file)
        return 0;
    cx_error ignored = {0};
    const cx_table *t = table_cache_open(st->tables, p->file, p->table_path, &ignored);
    /* tests lower the bar to reach this path on small tables */
    const char *test_rows = getenv("CXFIT_TEST_LARGE_ROWS");
    size_t large = test_rows && *test_rows ? (size_t)strtoull(test_rows, NULL, 10)
                                           : (size_t)8 * (size_t)st->threads * CX_BLOCK_ROWS;
    return t && cx_table_nrows(t) >= large;
}

/* One job of a stage on `threads` threads; `shared`: other jobs run at
 * the same time (no progress line then). */
static void run_stage_job(run_state *st, job_plan *p, int threads, int shared)
{
    cx_error job_err = {0};
    p->job.threads = threads;
    /* every parallel region the job opens (its passes ask
     * omp_get_max_threads()) stays within its share */
    omp_set_num_threads(p->job.threads);
    /* one job at a time may draw its progress line on a terminal */
    p->job.progress = !shared && !st->opt->quiet && isatty(2) &&
                      !(getenv("CXFIT_PROGRESS") && strcmp(getenv("CXFIT_PROGRESS"), "0") == 0);
    if (p->keep_from && load_kept_result(st, p, &job_err) != CX_OK)
        p->keep_from = NULL; /* unreadable after all: fit it again */
    if (!p->keep_from)
        run_one_job(st, p);
    p->done = 1;
    write_ready_jobs(st);
}

static int run_stage(run_state *st, int stage, cx_error *err)
{
    /* one decode of each block for all the stage's jobs (a stage of one
     * job keeps no blocks: derived.c) */
    size_t jobs = 0;
    for (size_t i = 0; i < st->n_plans; i++)
        jobs += st->plans[i].stage == stage && !st->plans[i].other_shard;
    table_cache_new_stage(st->tables, stage > 0 && getenv("CXFIT_BLOCK_STATS"), jobs >= 2);
    if (stage_splits_rows(st, stage)) {
        run_stage_rows(st, stage);
        return CX_OK;
    }
    size_t *idx = cx_calloc(st->n_plans ? st->n_plans : 1, sizeof *idx, err), n = 0;
    if (!idx)
        return CX_ENOMEM;
    for (size_t i = 0; i < st->n_plans; i++)
        if (st->plans[i].stage == stage && !st->plans[i].other_shard)
            idx[n++] = i;
    /* Jobs on large tables first, one at a time with every thread: their
     * row-block passes keep all threads busy, while a share of the threads
     * would leave the longest of them (a bootstrap of 5M rows) on its
     * share and the others' threads idle once they finish (bench_scaling:
     * 2 threads 70 % efficient before, see bench/README.md). */
    size_t n_small = 0;
    for (size_t k = 0; k < n; k++) {
        job_plan *p = &st->plans[idx[k]];
        if (st->threads >= 2 && job_table_is_large(st, p))
            run_stage_job(st, p, st->threads, 0);
        else
            idx[n_small++] = idx[k];
    }
    n = n_small;
    /* Several jobs: the threads are shared out, min(jobs, threads) jobs at
     * a time with threads / that many each for their own passes and fits
     * (two jobs on 64 cores: 32 threads each, not 1); one job: it gets
     * every thread. */
    int outer = n >= 2 && st->threads >= 2;
    int at_once = outer ? (n < (size_t)st->threads ? (int)n : st->threads) : 1;
    int per_job = outer ? st->threads / at_once : st->threads;
    int levels = omp_get_max_active_levels();
    if (outer && per_job > 1 && levels < 2)
        omp_set_max_active_levels(2);
#pragma omp parallel for schedule(dynamic, 1) num_threads(at_once) if (outer)
    for (size_t k = 0; k < n; k++)
        run_stage_job(st, &st->plans[idx[k]], per_job > 0 ? per_job : 1, outer);
    if (omp_get_max_active_levels() != levels)
        omp_set_max_active_levels(levels);
    free(idx);
    return CX_OK;
}

/* ---- the results file ------------------------------------------------------ */

char *cx_run_part_path(const char *path, int index, int count, int rank_part)
{
    size_t len = strlen(path), n = len + 48;
    if (!rank_part && len > 3 && strcmp(path + len - 3, ".h5") == 0)
        len -= 3;
    char *part = malloc(n);
    if (part)
        snprintf(part, n, "%.*s.%s-%d-of-%d.h5", (int)len, path, rank_part ? "rank" : "part", index,
                 count);
    return part;
}

/* --shard I/N: a job and every job that reads its tables (directly or
 * not) form a family that runs in one shard; families are dealt to the
 * shards in config order, family k to shard k mod N + 1. */
static void assign_shards(run_state *st)
{
    int *family = calloc(st->n_plans ? st->n_plans : 1, sizeof *family);
    int families = 0;
    for (size_t i = 0; i < st->n_plans; i++) {
        job_plan *p = &st->plans[i];
        int dep = p->depends_on >= 0 ? p->depends_on : p->input_of;
        int f = dep >= 0 && family ? family[dep] : families++;
        if (family)
            family[i] = f;
        p->other_shard = f % st->opt->shard_count + 1 != st->opt->shard_index;
    }
    free(family);
}

/* "a\nb\nc": the config's job names in order, for `cxfit merge`. */
static char *all_job_names(const run_state *st)
{
    size_t n = 1;
    for (size_t i = 0; i < st->n_plans; i++)
        n += strlen(st->plans[i].job.name) + 1;
    char *names = calloc(n, 1);
    for (size_t i = 0; names && i < st->n_plans; i++) {
        strcat(names, st->plans[i].job.name);
        strcat(names, "\n");
    }
    return names;
}

/* -o, else [output] file (relative to the config's directory). */
static char *results_path(const cx_run_options *opt, const cx_config *config, cx_error *err)
{
    if (opt->output_path)
        return cx_strdup(opt->output_path, err);
    const char *cfg = cx_section_get(config->output, "file");
    if (!cfg) {
        cx_error_set(err, CX_EUSAGE, "%s: no results file: give -o RESULTS.h5 or set [output] file",
                     config->path);
        return NULL;
    }
    char *path = resolve_path(config, cfg);
    if (!path)
        cx_error_set(err, CX_ENOMEM, "out of memory");
    return path;
}

char *cx_run_results_path(const cx_run_options *opt, cx_error *err)
{
    cx_config *config = cx_config_load(opt->config_path, err);
    char *path = config ? results_path(opt, config, err) : NULL;
    cx_config_free(config);
    return path;
}

static int choose_output(run_state *st, cx_error *err)
{
    char *path = results_path(st->opt, st->config, err);
    if (!path)
        return err->code;
    if (st->opt->shard_count) {
        char *part =
            cx_run_part_path(path, st->opt->shard_index, st->opt->shard_count, st->opt->rank_part);
        free(path);
        if (!(path = part))
            return cx_error_set(err, CX_ENOMEM, "out of memory");
    }
    int rc = cx_output_init(&st->paths, path, err);
    free(path);
    return rc;
}

/* Every file the run reads, so that none of them is taken as the output. */
static int refuse_input_as_output(run_state *st, cx_error *err)
{
    size_t cap = 1 + 2 * st->n_plans, n = 0;
    const char **inputs = cx_calloc(cap, sizeof *inputs, err);
    char **what = cx_calloc(cap, sizeof *what, err);
    char **owned = cx_calloc(cap, sizeof *owned, err);
    int rc = inputs && what && owned ? CX_OK : CX_ENOMEM;
    if (rc == CX_OK) {
        inputs[n] = st->config->path;
        what[n++] = strdup("the config file");
    }
    for (size_t i = 0; rc == CX_OK && i < st->n_plans; i++) {
        job_plan *p = &st->plans[i];
        char label[320];
        snprintf(label, sizeof label, "the data of job '%s'", p->job.name);
        if (p->file) {
            inputs[n] = p->file;
            what[n++] = strdup(label);
        }
        const char *group;
        char *join = table_join_file(st->config, p->job.section, &group);
        if (join) {
            snprintf(label, sizeof label, "the joined data of job '%s'", p->job.name);
            inputs[n] = owned[n] = join;
            what[n++] = strdup(label);
        }
    }
    for (size_t i = 0; rc == CX_OK && i < n; i++)
        if (!what[i])
            rc = cx_error_set(err, CX_ENOMEM, "out of memory");
    if (rc == CX_OK)
        rc = cx_output_refuse_inputs(&st->paths, inputs, (const char *const *)what, n, err);
    for (size_t i = 0; i < n; i++) {
        free(what[i]);
        free(owned[i]);
    }
    free(inputs);
    free(what);
    free(owned);
    return rc;
}

/* Split a stored spec into its keys and its inputs' fingerprints. */
static int spec_part_equal(const char *a, const char *b, int inputs)
{
    const char *ma = strstr(a, SPEC_INPUTS), *mb = strstr(b, SPEC_INPUTS);
    if (!ma || !mb)
        return inputs ? 0 : strcmp(a, b) == 0;
    if (inputs)
        return strcmp(ma, mb) == 0;
    return ma - a == mb - b && strncmp(a, b, (size_t)(ma - a)) == 0;
}

/* Why a job is fitted again rather than kept; NULL = keep it. */
static const char *resume_reason(const job_plan *p, const cx_stored_job *stored)
{
    if (!stored)
        return "not in the results file";
    cx_job_status status;
    if (cx_status_parse(stored->status, &status) != 0 || status == CX_STATUS_FAILED)
        return "it failed before";
    if (!stored->spec || !spec_part_equal(stored->spec, p->spec, 0))
        return "its keys changed";
    if (p->depends_on >= 0)
        return spec_part_equal(stored->spec, p->spec, 1) ? NULL : "the job it reads changed";
    if (p->input_of >= 0)
        return spec_part_equal(stored->spec, p->spec, 1) ? NULL
                                                         : "its data or the job it reads changed";
    return spec_part_equal(stored->spec, p->spec, 1) ? NULL : "its data file changed";
}

/* A stored job is copied only after the validating read (results_read.c
 * checks every object's kind, shape, type and size): a damaged or forged
 * job is fitted again, never copied into the new file. */
static int stored_job_readable(const char *path, const char *job)
{
    cx_error err = {0};
    cx_result *r = cx_results_read_job(path, job, &err);
    int readable = r != NULL;
    cx_result_free(r);
    return readable;
}

/* Append "name (reason)" to a growing one-line list. */
static void list_add(char *list, size_t size, const char *name, const char *reason)
{
    size_t used = strlen(list);
    if (used + 8 >= size)
        return;
    if (reason)
        snprintf(list + used, size - used, "%s%s (%s)", used ? ", " : "", name, reason);
    else
        snprintf(list + used, size - used, "%s%s", used ? ", " : "", name);
}

/* --resume: decide, per job, whether a stored result is still the job
 * asked for on the same data; say what is kept, re-run and dropped. */
static int choose_kept_jobs(run_state *st, cx_error *err)
{
    cx_stored_job *stored[2] = {NULL, NULL};
    size_t n_stored[2] = {0, 0}, n_listed = 0, in_config = 0;
    int rc = CX_OK;
    for (size_t s = 0; s < st->paths.n_sources && rc == CX_OK; s++, n_listed++)
        rc = cx_results_list_jobs(st->paths.sources[s], &stored[s], &n_stored[s], err);
    char kept[1024] = "", rerun[2048] = "", dropped[1024] = "";
    size_t n_kept = 0, n_rerun = 0, n_dropped = 0;
    for (size_t i = 0; rc == CX_OK && i < st->n_plans; i++) {
        job_plan *p = &st->plans[i];
        const cx_stored_job *found = NULL;
        for (size_t s = 0; s < n_listed && !found; s++)
            for (size_t j = 0; j < n_stored[s] && !found; j++)
                if (strcmp(stored[s][j].name, p->job.name) == 0) {
                    found = &stored[s][j];
                    p->keep_from = st->paths.sources[s];
                }
        in_config += found != NULL;
        const char *why = resume_reason(p, found);
        if (!why && !stored_job_readable(p->keep_from, p->job.name))
            why = "its stored results cannot be read";
        if (!why && p->depends_on >= 0 && !st->plans[p->depends_on].keep_from)
            why = "the job it reads is fitted again";
        if (!why && p->input_of >= 0 && !st->plans[p->input_of].keep_from)
            why = "the job it reads is fitted again";
        if (why) {
            p->keep_from = NULL;
            list_add(rerun, sizeof rerun, p->job.name, why);
            n_rerun++;
        } else {
            list_add(kept, sizeof kept, p->job.name, NULL);
            n_kept++;
        }
    }
    /* Jobs of the existing file that this config no longer has. */
    for (size_t s = 0; rc == CX_OK && s < n_listed; s++)
        for (size_t j = 0; j < n_stored[s]; j++) {
            int known = 0;
            for (size_t i = 0; i < st->n_plans && !known; i++)
                known = strcmp(stored[s][j].name, st->plans[i].job.name) == 0;
            if (!known && st->paths.sources[s] == st->paths.path) {
                list_add(dropped, sizeof dropped, stored[s][j].name, NULL);
                n_dropped++;
            }
        }
    size_t n_path_jobs = st->paths.n_sources ? n_stored[st->paths.n_sources - 1] : 0;
    int path_is_source =
        st->paths.n_sources && st->paths.sources[st->paths.n_sources - 1] == st->paths.path;
    if (rc == CX_OK && path_is_source && n_path_jobs > 0 && in_config == 0 && n_dropped > 0)
        rc = cx_error_set(err, CX_EUSAGE,
                          "%s holds the results of another study (none of its %zu jobs is in "
                          "%s); --resume finishes a results file of this config (nothing was "
                          "changed)",
                          st->paths.path, n_path_jobs, st->config->path);
    if (rc == CX_OK && !st->opt->quiet) {
        fprintf(stderr, "cxfit: resuming: %zu of %zu jobs already done%s%s\n", n_kept, st->n_plans,
                n_kept ? ": " : "", kept);
        if (n_rerun)
            fprintf(stderr, "cxfit: resuming: fitting %zu: %s\n", n_rerun, rerun);
        if (n_dropped)
            fprintf(stderr, "cxfit: resuming: dropping %zu no longer in the config: %s\n",
                    n_dropped, dropped);
    }
    for (size_t s = 0; s < 2; s++)
        cx_stored_jobs_free(stored[s], n_stored[s]);
    return rc;
}

static int open_output(run_state *st, cx_error *err)
{
    int rc = choose_output(st, err);
    if (!rc)
        rc = refuse_input_as_output(st, err);
    if (!rc)
        rc =
            cx_output_claim(&st->paths, st->opt->force || st->opt->rank_part, st->opt->resume, err);
    if (!rc && st->opt->resume)
        rc = cx_output_prepare_resume(&st->paths, st->config->text, err);
    if (!rc && st->opt->resume)
        rc = choose_kept_jobs(st, err);
    if (rc)
        return rc;
    cx_provenance prov = {st->config->text, st->threads, 1, NULL, NULL};
    char shard[64], *names = NULL;
    if (st->opt->shard_count) {
        snprintf(shard, sizeof shard, "%d/%d", st->opt->shard_index, st->opt->shard_count);
        if (!(names = all_job_names(st)))
            return cx_error_set(err, CX_ENOMEM, "out of memory");
        prov.shard = shard;
        prov.job_names = names;
    }
    st->out = cx_results_create(st->paths.tmp, &prov, err);
    free(names);
    return st->out ? CX_OK : CX_EIO;
}

static int finish_output(run_state *st, cx_error *err)
{
    int rc = cx_results_close(st->out, err);
    st->out = NULL;
    if (rc)
        return rc;
    return cx_output_commit(&st->paths, err);
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
        remove(st->paths.tmp); /* cxfit's own working file, never the user's */
    }
    cx_output_free(&st->paths);
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
    cx_blas_single_threaded();
    /* -j bounds every parallel region, the engine's passes over the rows
     * included (they ask omp_get_max_threads()). */
    omp_set_num_threads(st.threads);
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
    if (rc == CX_OK && opt->shard_count)
        assign_shards(&st);
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
    if (getenv("CXFIT_BLOCK_STATS")) /* bench: what the last stage decoded */
        table_cache_new_stage(st.tables, 1, 0);
    if (rc == CX_OK)
        rc = finish_output(&st, err);
    size_t failed = 0, not_converged = 0, written = 0;
    for (size_t i = 0; i < st.n_plans; i++) {
        const cx_result *r = st.plans[i].keep_from ? NULL : st.plans[i].result;
        written += !st.plans[i].other_shard;
        failed += r && r->status == CX_STATUS_FAILED;
        not_converged += r && r->status == CX_STATUS_NOT_CONVERGED;
    }
    if (rc == CX_OK && !opt->quiet && !opt->rank_part)
        fprintf(stderr, "cxfit: wrote %s (%zu jobs, %zu failed, %zu not converged)\n",
                st.paths.path, written, failed, not_converged);
    free_state(&st);
    if (rc != CX_OK)
        return exit_status_for(rc);
    /* exit 0 means every job is ok: a fit that did not converge is not */
    return failed || not_converged ? 1 : 0;
}
