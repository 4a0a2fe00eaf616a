/*
 * dist_levels.c — a model's `by` levels fitted from finished statistics,
 * dealt to the MPI ranks of a row-split job (dist.h): level l on rank
 * l mod R, every level's result then gathered on every rank.  The model's
 * serial loop stopped at the first level that failed and failed the job
 * with its error; so does this: every rank returns the error of the lowest
 * failed level (a rank skips its levels above its own first failure,
 * which can never be the lowest), so the file equals one process's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "result.h"

typedef struct level_state {
    cx_result **results;
    int *rc;
    char (*msg)[CX_ERROR_MSG_MAX];
} level_state;

#define LEVEL_HEAD (8 + (CX_ERROR_MSG_MAX + 7) / 8 * 8)

/* A level: its status code and message, then its result. */
static size_t level_pack(void *ctx, size_t l, void *vbuf)
{
    const level_state *s = ctx;
    unsigned char *buf = vbuf;
    if (buf) {
        int64_t code = s->rc[l];
        memcpy(buf, &code, sizeof code);
        memcpy(buf + 8, s->msg[l], CX_ERROR_MSG_MAX);
    }
    return LEVEL_HEAD + cx_result_pack(s->results[l], buf ? buf + LEVEL_HEAD : NULL);
}

static int level_unpack(void *ctx, size_t l, const void *vbuf, size_t size, cx_error *err)
{
    level_state *s = ctx;
    const unsigned char *buf = vbuf;
    if (size < LEVEL_HEAD)
        return cx_error_set(err, CX_EFAIL, "a packed level fit is too short");
    int64_t code;
    memcpy(&code, buf, sizeof code);
    s->rc[l] = (int)code;
    memcpy(s->msg[l], buf + 8, CX_ERROR_MSG_MAX);
    s->msg[l][CX_ERROR_MSG_MAX - 1] = '\0';
    return cx_result_unpack(s->results[l], buf + LEVEL_HEAD, size - LEVEL_HEAD, err);
}

int cx_dist_fit_levels(size_t n_levels, cx_level_fit_fn fit, void *ctx, cx_result **results,
                       cx_error *err)
{
    level_state s = {results, cx_calloc(n_levels ? n_levels : 1, sizeof *s.rc, err),
                     cx_calloc(n_levels ? n_levels : 1, sizeof *s.msg, err)};
    int rc = s.rc && s.msg ? CX_OK : CX_ENOMEM;
    int rank, ranks = cx_dist_deal_begin(&rank);
    int failed = 0;
    for (size_t l = (size_t)rank; rc == CX_OK && !failed && l < n_levels; l += (size_t)ranks) {
        cx_error e = {0};
        s.rc[l] = fit(ctx, l, results[l], &e);
        if (s.rc[l] != CX_OK) {
            snprintf(s.msg[l], CX_ERROR_MSG_MAX, "%s", e.msg);
            failed = 1;
        }
    }
    cx_task_ops ops = {level_pack, level_unpack, &s};
    if (s.rc && s.msg)
        rc = cx_dist_deal_end(n_levels, &ops, rc, err);
    for (size_t l = 0; rc == CX_OK && l < n_levels; l++)
        if (s.rc[l] != CX_OK) {
            rc = s.rc[l];
            cx_error_set(err, rc, "%s", s.msg[l]);
        }
    free(s.rc);
    free(s.msg);
    return rc;
}
