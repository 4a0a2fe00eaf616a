/*
 * tabletest.c — see tabletest.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "tabletest.h"

cx_table *tt_open_table(const char *h5, const char *group)
{
    cx_error err = {0};
    cx_table *t = cx_table_open(h5, group, &err);
    if (!t)
        fail_msg("%s", err.msg);
    return t;
}

double *tt_read_column(cx_table *t, const char *name)
{
    int j = cx_table_find(t, name);
    if (j < 0)
        fail_msg("%s has no column '%s'", cx_table_label(t), name);
    size_t n = cx_table_nrows(t);
    double *x = malloc((n ? n : 1) * sizeof *x);
    cx_error err = {0};
    if (cx_table_read_block(t, &j, 1, 0, n, x, n ? n : 1, &err) != CX_OK)
        fail_msg("%s", err.msg);
    return x;
}

double tt_truth_value(cx_table *t, const char *lhs, const char *op, const char *rhs)
{
    const char *want[3] = {lhs, op, rhs}, *cols[3] = {"lhs", "op", "rhs"};
    double *code[3];
    for (int k = 0; k < 3; k++)
        code[k] = tt_read_column(t, cols[k]);
    double *value = tt_read_column(t, "value"), out = NAN;
    for (size_t i = 0; i < cx_table_nrows(t) && isnan(out); i++) {
        int match = 1;
        for (int k = 0; k < 3 && match; k++) {
            const cx_column_info *c = cx_table_column(t, (size_t)cx_table_find(t, cols[k]));
            match = strcmp(c->categories[(size_t)code[k][i]], want[k]) == 0;
        }
        if (match)
            out = value[i];
    }
    for (int k = 0; k < 3; k++)
        free(code[k]);
    free(value);
    if (isnan(out))
        fail_msg("no /truth row %s %s %s", lhs, op, rhs);
    return out;
}

double tt_truth_value_in(const char *h5, const char *lhs, const char *op, const char *rhs)
{
    cx_table *t = tt_open_table(h5, "/truth");
    double out = tt_truth_value(t, lhs, op, rhs);
    cx_table_close(t);
    return out;
}

ref_results *tt_run_config(const char *ini, char *dir, char *out, size_t outlen)
{
    cx_error err = {0};
    if (!mkdtemp(dir))
        fail_msg("mkdtemp %s failed", dir);
    snprintf(out, outlen, "%s/results.h5", dir);
    cx_run_options opt = {.config_path = ini, .output_path = out, .threads = 2, .quiet = 1};
    int rc = cx_run(&opt, &err);
    if (rc != 0)
        fail_msg("cx_run %s: exit %d: %s", ini, rc, err.msg);
    ref_results *res = ref_results_open(out, &err);
    if (!res)
        fail_msg("%s: %s", out, err.msg);
    return res;
}
