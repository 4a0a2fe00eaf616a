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

static void truth_attach(tt_truth *tr, cx_table *t)
{
    static const char *const cols[3] = {"lhs", "op", "rhs"};
    tr->t = t;
    for (int k = 0; k < 3; k++)
        tr->code[k] = tt_read_column(t, cols[k]);
    tr->value = tt_read_column(t, "value");
    tr->n = cx_table_nrows(t);
}

/* Frees the columns only: the table belongs to whoever opened it. */
static void truth_detach(tt_truth *tr)
{
    for (int k = 0; k < 3; k++)
        free(tr->code[k]);
    free(tr->value);
}

void tt_truth_open(tt_truth *tr, const char *h5)
{
    truth_attach(tr, tt_open_table(h5, "/truth"));
}

void tt_truth_close(tt_truth *tr)
{
    truth_detach(tr);
    cx_table_close(tr->t);
}

/* Row of (lhs, op, rhs), or n when absent. */
static size_t truth_row(const tt_truth *tr, const char *lhs, const char *op, const char *rhs)
{
    const char *want[3] = {lhs, op, rhs}, *cols[3] = {"lhs", "op", "rhs"};
    for (size_t i = 0; i < tr->n; i++) {
        int match = 1;
        for (int k = 0; k < 3 && match; k++) {
            const cx_column_info *c = cx_table_column(tr->t, (size_t)cx_table_find(tr->t, cols[k]));
            match = strcmp(c->categories[(size_t)tr->code[k][i]], want[k]) == 0;
        }
        if (match)
            return i;
    }
    return tr->n;
}

double tt_truth_find(const tt_truth *tr, const char *lhs, const char *op, const char *rhs)
{
    size_t i = truth_row(tr, lhs, op, rhs);
    if (i == tr->n)
        fail_msg("no /truth row %s %s %s", lhs, op, rhs);
    return tr->value[i];
}

double tt_truth_value(cx_table *t, const char *lhs, const char *op, const char *rhs)
{
    tt_truth tr;
    truth_attach(&tr, t);
    size_t i = truth_row(&tr, lhs, op, rhs);
    double out = i < tr.n ? tr.value[i] : NAN;
    truth_detach(&tr);
    if (i == tr.n)
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

void tt_write_sim_syntax(FILE *fp)
{
    static const char *const factors[] = {"PEX", "OUT", "MOT", "POM"};
    static const char *const prefixes[] = {"pex", "out", "mot", "pom"};
    for (int k = 0; k < 4; k++) {
        fprintf(fp, "%s%s =~", k ? "         " : " ", factors[k]);
        for (int i = 1; i <= 5; i++)
            fprintf(fp, "%s %s%d", i > 1 ? " +" : "", prefixes[k], i);
        fputc('\n', fp);
    }
}

ref_results *tt_run_to(const char *ini, const char *out)
{
    cx_error err = {0};
    cx_run_options opt = {.config_path = ini, .output_path = out, .threads = 2, .quiet = 1};
    int rc = cx_run(&opt, &err);
    if (rc != 0)
        fail_msg("cx_run %s: exit %d: %s", ini, rc, err.msg);
    ref_results *res = ref_results_open(out, &err);
    if (!res)
        fail_msg("%s: %s", out, err.msg);
    return res;
}

ref_results *tt_run_config(const char *ini, char *dir, char *out, size_t outlen)
{
    if (!mkdtemp(dir))
        fail_msg("mkdtemp %s failed", dir);
    snprintf(out, outlen, "%s/results.h5", dir);
    return tt_run_to(ini, out);
}

void tt_expect_ok(ref_results *res, const char *job)
{
    cx_error err = {0};
    char *status = ref_results_attr_string(res, job, "status", &err);
    if (!status || strcmp(status, "ok") != 0) {
        char *msg = ref_results_attr_string(res, job, "message", &err);
        fail_msg("job %s: status %s: %s", job, status ? status : "?", msg ? msg : "");
    }
    free(status);
}

void tt_config_with_data(const char *src, const char *data_line, const char *h5,
                         const char *ini)
{
    FILE *in = fopen(src, "r"), *out = fopen(ini, "w");
    assert_non_null(in);
    assert_non_null(out);
    char line[1024];
    int replaced = 0;
    while (fgets(line, sizeof line, in)) {
        if (strncmp(line, data_line, strlen(data_line)) == 0) {
            fprintf(out, "file  = %s\n", h5);
            replaced = 1;
        } else if (strncmp(line, "file = ../results/", 18) != 0)
            fputs(line, out);
    }
    fclose(in);
    fclose(out);
    if (!replaced)
        fail_msg("%s has no line '%s'", src, data_line);
}

json_value *tt_reference_json_in(const char *source_dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/reference/%s.json", source_dir, name);
    cx_error err = {0};
    json_value *ref = json_parse_file(path, &err);
    if (!ref)
        fail_msg("%s: %s", path, err.msg);
    return ref;
}
