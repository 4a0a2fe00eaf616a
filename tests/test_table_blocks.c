/*
 * test_table_blocks.c — the stage's cache of decoded blocks
 * (engine/table_blocks.h): hits return the bytes put, the oldest block is
 * evicted first when the budget is full, a block over the budget is not
 * kept; and through an HDF5 table, reads with the cache give the same
 * doubles as reads without it, decoding each column block once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table.h"
#include "table_blocks.h"

static void test_hits_and_eviction(void **state)
{
    (void)state;
    cx_block_cache *c = cx_block_cache_alloc(2, 3, 200);
    assert_non_null(c);
    unsigned char a[100], b[100], d[100], out[100];
    memset(a, 1, sizeof a);
    memset(b, 2, sizeof b);
    memset(d, 3, sizeof d);
    assert_int_equal(cx_block_cache_get(c, 0, 0, out, 100), 0); /* miss */
    cx_block_cache_put(c, 0, 0, a, 100);
    cx_block_cache_put(c, 0, 1, b, 100);
    assert_int_equal(cx_block_cache_get(c, 0, 0, out, 100), 1);
    assert_memory_equal(out, a, 100);
    assert_int_equal(cx_block_cache_get(c, 0, 0, out, 50), 0); /* another size: not that block */
    cx_block_cache_put(c, 1, 2, d, 100);                       /* full: (0, 0), the oldest, goes */
    assert_int_equal(cx_block_cache_get(c, 0, 0, out, 100), 0);
    assert_int_equal(cx_block_cache_get(c, 0, 1, out, 100), 1);
    assert_memory_equal(out, b, 100);
    assert_int_equal(cx_block_cache_get(c, 1, 2, out, 100), 1);
    assert_memory_equal(out, d, 100);
    unsigned char big[300] = {0};
    cx_block_cache_put(c, 1, 0, big, 300); /* over the budget: not kept */
    assert_int_equal(cx_block_cache_get(c, 1, 0, big, 300), 0);
    assert_int_equal(cx_block_cache_get(c, 5, 0, out, 100), 0); /* out of range */
    size_t decoded, reused;
    cx_block_cache_stats(c, &decoded, &reused);
    assert_int_equal(reused, 3);
    assert_int_equal(decoded, 4);
    cx_block_cache_free(c);
}

/* Read every block of columns `cols` of t into a fresh array. */
static double *read_all(cx_table *t, const int *cols, size_t ncols)
{
    size_t n = cx_table_nrows(t);
    double *all = malloc(n * ncols * sizeof *all);
    assert_non_null(all);
    cx_error err = {0};
    for (size_t row0 = 0; row0 < n; row0 += CX_BLOCK_ROWS) {
        size_t m = n - row0 < CX_BLOCK_ROWS ? n - row0 : CX_BLOCK_ROWS;
        double *block = malloc(m * ncols * sizeof *block);
        assert_int_equal(cx_table_read_block(t, cols, ncols, row0, m, block, m, &err), CX_OK);
        for (size_t j = 0; j < ncols; j++)
            memcpy(all + j * n + row0, block + j * m, m * sizeof *block);
        free(block);
    }
    return all;
}

static void test_hdf5_reads_unchanged(void **state)
{
    (void)state;
    char path[] = "/tmp/cxfit-test-blocks-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    char cmd[512];
    /* 2 x 2 x 33,000 = 132,000 rows: two whole blocks and a short one */
    snprintf(cmd, sizeof cmd,
             "%s simulate %s --firms 2 --waves 2 --respondents 33000 --seed 4 >/dev/null 2>&1",
             CX_CXFIT, path);
    assert_int_equal(system(cmd), 0);
    cx_error err = {0};
    cx_table *t = cx_table_open(path, "/responses", &err);
    assert_non_null(t);
    int cols[4] = {cx_table_find(t, "pex1"), cx_table_find(t, "weight"), cx_table_find(t, "firm"),
                   cx_table_find(t, "sat")};
    double *plain = read_all(t, cols, 4);
    size_t decoded, reused;
    assert_int_equal(cx_table_block_stats(t, &decoded, &reused), 0); /* no cache yet */
    cx_table_cache_blocks(t, (size_t)64 << 20);
    double *first = read_all(t, cols, 4), *second = read_all(t, cols, 4);
    size_t n = cx_table_nrows(t);
    assert_memory_equal(plain, first, n * 4 * sizeof *plain);
    assert_memory_equal(plain, second, n * 4 * sizeof *plain);
    assert_int_equal(cx_table_block_stats(t, &decoded, &reused), 1);
    /* each block of the three deflated columns decoded once and reused
     * once; `weight` is stored unfiltered, so it is never kept (a re-read
     * is one copy from the OS, as a hit would be: engine/table.c) */
    assert_int_equal(decoded, 3 * 3);
    assert_int_equal(reused, 3 * 3);
    cx_table_cache_blocks(t, 0); /* off again */
    assert_int_equal(cx_table_block_stats(t, &decoded, &reused), 0);
    free(plain);
    free(first);
    free(second);
    cx_table_close(t);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits_and_eviction),
        cmocka_unit_test(test_hdf5_reads_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
