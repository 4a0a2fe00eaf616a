/*
 * job.c — helpers models use to read their own keys (see model.h).
 */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int cx_job_error(const cx_job *job, const char *key, cx_error *err, int code, const char *fmt, ...)
{
    char msg[CX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cx_config_error(job->config, job->section, key, err, code, "%s", msg);
}

int cx_job_columns(const cx_job *job, const char *key, int **cols, size_t *n, cx_error *err)
{
    *cols = NULL;
    *n = 0;
    const char *value = cx_section_get(job->section, key);
    if (!value || !*value)
        return cx_job_error(job, key, err, CX_EUSAGE, "expected a list of column names");
    size_t count;
    char **words = cx_words_split(value, &count, err);
    if (!words)
        return CX_ENOMEM;
    int *out = cx_calloc(count, sizeof *out, err);
    int rc = out ? cx_view_columns(job->view, words, count, out, err) : CX_ENOMEM;
    cx_words_free(words);
    if (rc) {
        free(out);
        return cx_job_error(job, key, err, rc, "%s", err->msg);
    }
    *cols = out;
    *n = count;
    return CX_OK;
}
