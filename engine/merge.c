/*
 * merge.c — `cxfit merge RESULTS.h5 PARTS...`: the part files of a study
 * run as `--shard I/N` (one per Slurm array task) become the results file
 * one run would have written: the same job groups, in config order, with
 * the root attributes of a single run.
 *
 * Parts are untrusted input like every results file: each must be a cxfit
 * results file written by `--shard`, all with the same config text and the
 * same N, every shard 1..N exactly once, and every job of the config in
 * exactly one part.  Anything else is refused, naming the part or shard,
 * before the output is created.  The output is written like a run's
 * (RESULTS.h5.tmp, fsync, rename; output.h).
 */
#include "merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "results_io.h"

typedef struct part_info {
    const char *path;
    char *config;
    int index, count;
    cx_stored_job *jobs;
    size_t n_jobs;
    char *job_names; /* the config's jobs, one per line */
} part_info;

static void part_free(part_info *p)
{
    free(p->config);
    free(p->job_names);
    cx_stored_jobs_free(p->jobs, p->n_jobs);
}

static int part_read(part_info *p, const char *path, cx_error *err)
{
    *p = (part_info){.path = path};
    if (cx_output_is_results_file(path) != 1)
        return cx_error_set(err, CX_EUSAGE, "%s: not a cxfit results file", path);
    char *shard = cx_results_root_attr(path, "shard", err);
    if (!shard)
        return err->code;
    int used = 0;
    int ok = sscanf(shard, "%d/%d%n", &p->index, &p->count, &used) == 2 &&
             shard[used] == '\0' && p->count >= 1 && p->index >= 1 && p->index <= p->count;
    free(shard);
    if (!ok)
        return cx_error_set(err, CX_EUSAGE,
                            "%s: not a shard's part (no valid root attribute 'shard' I/N); "
                            "parts are written by cxfit run --shard I/N",
                            path);
    if (!(p->config = cx_results_root_attr(path, "config", err)) ||
        !(p->job_names = cx_results_root_attr(path, "jobs", err)))
        return err->code;
    return cx_results_list_jobs(path, &p->jobs, &p->n_jobs, err);
}

/* Same study, same N, every shard exactly once. */
static int parts_agree(const part_info *parts, size_t n, cx_error *err)
{
    int count = parts[0].count;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(parts[i].config, parts[0].config) != 0)
            return cx_error_set(err, CX_EUSAGE,
                                "%s was run with another config than %s; merge parts of one "
                                "study",
                                parts[i].path, parts[0].path);
        if (parts[i].count != count)
            return cx_error_set(err, CX_EUSAGE, "%s is shard %d of %d, but %s is of %d",
                                parts[i].path, parts[i].index, parts[i].count, parts[0].path,
                                count);
    }
    for (int k = 1; k <= count; k++) {
        const part_info *seen = NULL;
        for (size_t i = 0; i < n; i++) {
            if (parts[i].index != k)
                continue;
            if (seen)
                return cx_error_set(err, CX_EUSAGE, "%s and %s are both shard %d of %d",
                                    seen->path, parts[i].path, k, count);
            seen = &parts[i];
        }
        if (!seen)
            return cx_error_set(err, CX_EUSAGE, "shard %d of %d is missing (give every part)",
                                k, count);
    }
    return CX_OK;
}

/* The part that holds `job`, or NULL. */
static const part_info *holder(const part_info *parts, size_t n, const char *job)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < parts[i].n_jobs; j++)
            if (strcmp(parts[i].jobs[j].name, job) == 0)
                return &parts[i];
    return NULL;
}

/* Every job of the config is in some part; none is in two. */
static int every_job_once(const part_info *parts, size_t n, cx_error *err)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < parts[i].n_jobs; j++)
            for (size_t k = i + 1; k < n; k++)
                for (size_t m = 0; m < parts[k].n_jobs; m++)
                    if (strcmp(parts[i].jobs[j].name, parts[k].jobs[m].name) == 0)
                        return cx_error_set(err, CX_EUSAGE, "job '%s' is in both %s and %s",
                                            parts[i].jobs[j].name, parts[i].path,
                                            parts[k].path);
    char *names = strdup(parts[0].job_names);
    if (!names)
        return cx_error_set(err, CX_ENOMEM, "out of memory");
    int rc = CX_OK;
    for (char *save = NULL, *job = strtok_r(names, "\n", &save); job && rc == CX_OK;
         job = strtok_r(NULL, "\n", &save))
        if (!holder(parts, n, job))
            rc = cx_error_set(err, CX_EUSAGE,
                              "job '%s' of the config is in no part (its shard was cut short; "
                              "run it again with --resume)",
                              job);
    free(names);
    return rc;
}

static int write_merged(cx_output *out, const part_info *parts, size_t n, int ranks,
                        cx_error *err)
{
    cx_provenance prov = {parts[0].config, 1, ranks, NULL, NULL};
    cx_results_file *f = cx_results_create(out->tmp, &prov, err);
    if (!f)
        return err->code;
    char *names = strdup(parts[0].job_names);
    int rc = names ? CX_OK : cx_error_set(err, CX_ENOMEM, "out of memory");
    for (char *save = NULL, *job = names ? strtok_r(names, "\n", &save) : NULL;
         job && rc == CX_OK; job = strtok_r(NULL, "\n", &save))
        rc = cx_results_copy_job(f, holder(parts, n, job)->path, job, err);
    free(names);
    int close_rc = cx_results_close(f, rc ? NULL : err);
    if (rc == CX_OK && close_rc == CX_OK)
        return cx_output_commit(out, err);
    remove(out->tmp);
    return rc ? rc : close_rc;
}

int cx_merge(const char *output, const char *const *paths, size_t n, int force, int ranks,
             cx_error *err)
{
    if (n == 0)
        return cx_error_set(err, CX_EUSAGE, "merge needs the part files");
    part_info *parts = cx_calloc(n, sizeof *parts, err);
    if (!parts)
        return CX_ENOMEM;
    cx_output out;
    int rc = cx_output_init(&out, output, err);
    for (size_t i = 0; i < n && rc == CX_OK; i++)
        rc = part_read(&parts[i], paths[i], err);
    if (rc == CX_OK)
        rc = parts_agree(parts, n, err);
    if (rc == CX_OK)
        rc = every_job_once(parts, n, err);
    const char **what = rc == CX_OK ? cx_calloc(n, sizeof *what, err) : NULL;
    if (rc == CX_OK && !what)
        rc = CX_ENOMEM;
    for (size_t i = 0; rc == CX_OK && i < n; i++)
        what[i] = "a part";
    if (rc == CX_OK)
        rc = cx_output_refuse_inputs(&out, paths, what, n, err);
    free(what);
    if (rc == CX_OK)
        rc = cx_output_claim(&out, force, 0, err);
    if (rc == CX_OK)
        rc = write_merged(&out, parts, n, ranks, err);
    for (size_t i = 0; i < n; i++)
        part_free(&parts[i]);
    free(parts);
    cx_output_free(&out);
    return rc;
}
