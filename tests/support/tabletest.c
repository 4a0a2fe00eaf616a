/*
 * tabletest.c — see tabletest.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

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
