/*
 * test_table.c — column tables (engine/table.c): every HDF5 storage type,
 * missing values, categories, string columns, the layout errors, block
 * boundaries, thread-safe parallel reads, and the in-memory backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5fixture.h"
#include "table.h"

#define FILE_TYPES CX_BINARY_DIR "/test_table_types.h5"
#define FILE_BAD CX_BINARY_DIR "/test_table_bad.h5"
#define FILE_BIG CX_BINARY_DIR "/test_table_big.h5"

/* ---------- every storage type converts exactly ---------- */

static void write_types_file(void)
{
    hid_t f = fx_create(FILE_TYPES);
    assert_true(f >= 0);
    hid_t g = fx_group(f, "/t", 1);
    uint8_t u8[4] = {0, 1, 200, 255};
    int8_t i8[4] = {-128, -1, 0, 127};
    uint16_t u16[4] = {0, 7, 40000, 65535};
    int16_t i16[4] = {-32768, -5, 5, 32767};
    uint32_t u32[4] = {0, 1, 3000000000u, 4294967295u};
    int32_t i32[4] = {-2147483647 - 1, -9, 9, 2147483647};
    uint64_t u64[4] = {0, 1, 1ull << 40, 1ull << 53};
    int64_t i64[4] = {-(1ll << 53), -1, 1, 1ll << 53};
    float f32[4] = {-1.5f, 0.25f, NAN, 3e38f};
    double f64[4] = {-1e300, 0.1, NAN, 1e300};
    assert_int_equal(fx_column(g, "u8", H5T_STD_U8LE, H5T_NATIVE_UINT8, u8, 4, 0), 0);
    assert_int_equal(fx_column(g, "i8", H5T_STD_I8LE, H5T_NATIVE_INT8, i8, 4, 0), 0);
    assert_int_equal(fx_column(g, "u16", H5T_STD_U16BE, H5T_NATIVE_UINT16, u16, 4, 2), 0);
    assert_int_equal(fx_column(g, "i16", H5T_STD_I16LE, H5T_NATIVE_INT16, i16, 4, 0), 0);
    assert_int_equal(fx_column(g, "u32", H5T_STD_U32LE, H5T_NATIVE_UINT32, u32, 4, 0), 0);
    assert_int_equal(fx_column(g, "i32", H5T_STD_I32BE, H5T_NATIVE_INT32, i32, 4, 3), 0);
    assert_int_equal(fx_column(g, "u64", H5T_STD_U64LE, H5T_NATIVE_UINT64, u64, 4, 0), 0);
    assert_int_equal(fx_column(g, "i64", H5T_STD_I64LE, H5T_NATIVE_INT64, i64, 4, 0), 0);
    assert_int_equal(fx_column(g, "f32", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, f32, 4, 0), 0);
    assert_int_equal(fx_column(g, "f64", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, f64, 4, 0), 0);
    /* Likert item with 255 = missing; int16 with -99 = missing */
    uint8_t lik[4] = {1, 255, 7, 4};
    int16_t neg[4] = {-99, 3, -99, 2};
    assert_int_equal(fx_column(g, "likert", H5T_STD_U8LE, H5T_NATIVE_UINT8, lik, 4, 0), 0);
    assert_int_equal(fx_attr_number(g, "likert", "missing_value", H5T_STD_U8LE, 255), 0);
    assert_int_equal(fx_column(g, "neg", H5T_STD_I16LE, H5T_NATIVE_INT16, neg, 4, 0), 0);
    assert_int_equal(fx_attr_number(g, "neg", "missing_value", H5T_NATIVE_DOUBLE, -99), 0);
    /* categoricals: variable-length and fixed-length labels */
    uint8_t seg[4] = {2, 0, 1, 2};
    const char *seg_labels[3] = {"a", "bb", "ccc"};
    int16_t firm[4] = {1, 1, 0, -1};
    const char *firm_labels[2] = {"Acme", "Zeta Corp"};
    assert_int_equal(fx_column(g, "segment", H5T_STD_U8LE, H5T_NATIVE_UINT8, seg, 4, 0), 0);
    assert_int_equal(fx_attr_strings(g, "segment", "categories", seg_labels, 3, 1), 0);
    assert_int_equal(fx_column(g, "firm", H5T_STD_I16LE, H5T_NATIVE_INT16, firm, 4, 0), 0);
    assert_int_equal(fx_attr_strings(g, "firm", "categories", firm_labels, 2, 0), 0);
    assert_int_equal(fx_attr_number(g, "firm", "missing_value", H5T_STD_I16LE, -1), 0);
    const char *text[4] = {"x", "y", "z", "w"};
    assert_int_equal(fx_string_column(g, "lhs", text, 4), 0);
    /* a sub-group is not a column */
    hid_t sub = fx_group(g, "nested", 0);
    H5Gclose(sub);
    H5Gclose(g);
    H5Fclose(f);
}

static double col_value(cx_table *t, const char *name, size_t row)
{
    int c = cx_table_find(t, name);
    assert_true(c >= 0);
    double out[4];
    cx_error err;
    assert_int_equal(cx_table_read_block(t, &c, 1, 0, 4, out, 4, &err), CX_OK);
    return out[row];
}

static void test_every_type(void **state)
{
    (void) state;
    write_types_file();
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_TYPES, "/t", &err);
    assert_non_null(t);
    assert_int_equal(cx_table_nrows(t), 4);
    assert_int_equal(cx_table_ncols(t), 15);
    assert_string_equal(cx_table_label(t), FILE_TYPES ":/t");
    /* creation order is kept */
    assert_string_equal(cx_table_column(t, 0)->name, "u8");
    assert_string_equal(cx_table_column(t, 9)->name, "f64");
    assert_null(cx_table_column(t, 15));
    assert_int_equal(cx_table_find(t, "nested"), -1);

    assert_true(col_value(t, "u8", 2) == 200 && col_value(t, "u8", 3) == 255);
    assert_true(col_value(t, "i8", 0) == -128 && col_value(t, "i8", 3) == 127);
    assert_true(col_value(t, "u16", 2) == 40000 && col_value(t, "u16", 3) == 65535);
    assert_true(col_value(t, "i16", 0) == -32768 && col_value(t, "i16", 1) == -5);
    assert_true(col_value(t, "u32", 2) == 3000000000.0 && col_value(t, "u32", 3) == 4294967295.0);
    assert_true(col_value(t, "i32", 0) == -2147483648.0 && col_value(t, "i32", 3) == 2147483647);
    assert_true(col_value(t, "u64", 2) == 1099511627776.0 &&
                col_value(t, "u64", 3) == 9007199254740992.0);
    assert_true(col_value(t, "i64", 0) == -9007199254740992.0 && col_value(t, "i64", 1) == -1);
    assert_true(col_value(t, "f32", 0) == -1.5 && col_value(t, "f32", 1) == 0.25);
    assert_true(isnan(col_value(t, "f32", 2)) && col_value(t, "f32", 3) == (double) 3e38f);
    assert_true(col_value(t, "f64", 1) == 0.1 && isnan(col_value(t, "f64", 2)));

    const cx_column_info *u8 = cx_table_column(t, (size_t) cx_table_find(t, "u8"));
    assert_int_equal(u8->kind, CX_COL_INT);
    assert_true(u8->is_unsigned);
    assert_int_equal(u8->bytes, 1);
    assert_false(u8->has_missing_value);
    const cx_column_info *i32 = cx_table_column(t, (size_t) cx_table_find(t, "i32"));
    assert_false(i32->is_unsigned);
    assert_int_equal(i32->bytes, 4);
    assert_int_equal(cx_table_column(t, (size_t) cx_table_find(t, "f32"))->kind, CX_COL_FLOAT);
    cx_table_close(t);
}

static void test_missing_and_categories(void **state)
{
    (void) state;
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_TYPES, "/t", &err);
    assert_non_null(t);
    const cx_column_info *lik = cx_table_column(t, (size_t) cx_table_find(t, "likert"));
    assert_true(lik->has_missing_value);
    assert_true(lik->missing_value == 255);
    assert_true(col_value(t, "likert", 0) == 1 && isnan(col_value(t, "likert", 1)));
    assert_true(col_value(t, "likert", 2) == 7);
    assert_true(isnan(col_value(t, "neg", 0)) && col_value(t, "neg", 1) == 3);
    assert_true(isnan(col_value(t, "neg", 2)));

    const cx_column_info *seg = cx_table_column(t, (size_t) cx_table_find(t, "segment"));
    assert_int_equal(seg->kind, CX_COL_CATEGORICAL);
    assert_int_equal(seg->n_categories, 3);
    assert_string_equal(seg->categories[1], "bb");
    assert_string_equal(seg->categories[2], "ccc");
    assert_true(col_value(t, "segment", 0) == 2 && col_value(t, "segment", 1) == 0);
    const cx_column_info *firm = cx_table_column(t, (size_t) cx_table_find(t, "firm"));
    assert_int_equal(firm->kind, CX_COL_CATEGORICAL);
    assert_int_equal(firm->n_categories, 2);
    assert_string_equal(firm->categories[0], "Acme");
    assert_string_equal(firm->categories[1], "Zeta Corp");
    assert_true(isnan(col_value(t, "firm", 3)));
    cx_table_close(t);
}

static void test_string_column_is_not_numeric(void **state)
{
    (void) state;
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_TYPES, "/t", &err);
    assert_non_null(t);
    int c = cx_table_find(t, "lhs");
    assert_int_equal(cx_table_column(t, (size_t) c)->kind, CX_COL_STRING);
    double out[4];
    assert_int_equal(cx_table_read_block(t, &c, 1, 0, 4, out, 4, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "'lhs'"));
    assert_non_null(strstr(err.msg, "strings"));
    /* out-of-range requests */
    c = 0;
    assert_int_equal(cx_table_read_block(t, &c, 1, 2, 3, out, 4, &err), CX_EUSAGE);
    assert_int_equal(cx_table_read_block(t, &c, 1, 0, 4, out, 3, &err), CX_EUSAGE);
    c = 99;
    assert_int_equal(cx_table_read_block(t, &c, 1, 0, 4, out, 4, &err), CX_EUSAGE);
    cx_table_close(t);
}

/* ---------- layouts that must be rejected, with the column named ---------- */

static void write_bad_file(void)
{
    hid_t f = fx_create(FILE_BAD);
    double x[5] = {1, 2, 3, 4, 5};
    uint8_t codes[3] = {0, 3, 1};
    const char *labels[2] = {"no", "yes"};
    hid_t g = fx_group(f, "/unequal", 0);
    fx_column(g, "a", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 5, 0);
    fx_column(g, "b", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 4, 0);
    H5Gclose(g);
    g = fx_group(f, "/matrix", 0);
    fx_column(g, "a", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 2, 0);
    fx_matrix(g, "m", x, 2, 2);
    H5Gclose(g);
    g = fx_group(f, "/badcodes", 0);
    fx_column(g, "yn", H5T_STD_U8LE, H5T_NATIVE_UINT8, codes, 3, 0);
    fx_attr_strings(g, "yn", "categories", labels, 2, 1);
    H5Gclose(g);
    g = fx_group(f, "/floatcat", 0);
    fx_column(g, "x", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 2, 0);
    fx_attr_strings(g, "x", "categories", labels, 2, 1);
    H5Gclose(g);
    g = fx_group(f, "/compound", 0);
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(double));
    H5Tinsert(ct, "v", 0, H5T_NATIVE_DOUBLE);
    fx_column(g, "pair", ct, ct, x, 3, 0);
    H5Tclose(ct);
    H5Gclose(g);
    g = fx_group(f, "/empty", 0);
    H5Gclose(g);
    fx_column(f, "/justdata", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 5, 0);
    H5Fclose(f);
}

static void expect_open_error(const char *group, int code, const char *needle1,
                              const char *needle2)
{
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_BAD, group, &err);
    assert_null(t);
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.msg, needle1));
    if (needle2 && !strstr(err.msg, needle2))
        fail_msg("'%s' not in '%s'", needle2, err.msg);
}

/* A dataset that cannot be a column does not fail the open: the other
 * columns read, and reading it fails naming it and why. */
static void expect_unusable(const char *group, const char *col, const char *needle)
{
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_BAD, group, &err);
    assert_non_null(t);
    int c = cx_table_find(t, col);
    assert_true(c >= 0);
    assert_int_equal(cx_table_column(t, (size_t) c)->kind, CX_COL_UNUSABLE);
    double out[8];
    assert_int_equal(cx_table_read_block(t, &c, 1, 0, cx_table_nrows(t), out, 8, &err),
                     CX_EUSAGE);
    if (!strstr(err.msg, needle) || !strstr(err.msg, col) || !strstr(err.msg, group))
        fail_msg("'%s' / '%s' not in '%s'", needle, col, err.msg);
    int other = c == 0 ? 1 : 0;
    if ((size_t) other < cx_table_ncols(t) &&
        cx_table_column(t, (size_t) other)->kind != CX_COL_UNUSABLE)
        assert_int_equal(cx_table_read_block(t, &other, 1, 0, cx_table_nrows(t), out, 8, &err),
                         CX_OK);
    cx_table_close(t);
}

static void test_layout_errors(void **state)
{
    (void) state;
    write_bad_file();
    expect_open_error("/unequal", CX_EUSAGE, "column 'b' has 4 rows", "test_table_bad.h5");
    expect_unusable("/matrix", "m", "it has 2 dimensions");
    expect_unusable("/floatcat", "x", "integer codes");
    expect_unusable("/compound", "pair", "a compound");
    expect_open_error("/empty", CX_EUSAGE, "no datasets", NULL);
    expect_open_error("/nope", CX_EIO, "no table", "/nope");
    expect_open_error("/justdata", CX_EIO, "no table", NULL);

    cx_error err = {0};
    assert_null(cx_table_open(CX_BINARY_DIR "/does_not_exist.h5", "/t", &err));
    assert_int_equal(err.code, CX_EIO);
    assert_non_null(strstr(err.msg, "does_not_exist.h5"));
    assert_null(cx_table_open(CX_SOURCE_DIR "/CMakeLists.txt", "/t", &err));
    assert_int_equal(err.code, CX_EIO);
    assert_non_null(strstr(err.msg, "not an HDF5 file"));

    /* a code outside the categories is caught when read, with its row */
    cx_table *t = cx_table_open(FILE_BAD, "/badcodes", &err);
    assert_non_null(t);
    int c = 0;
    double out[3];
    assert_int_equal(cx_table_read_block(t, &c, 1, 0, 3, out, 3, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "'yn', row 2: code 3"));
    assert_int_equal(cx_table_read_block(t, &c, 1, 2, 1, out, 1, &err), CX_OK);
    assert_true(out[0] == 1);
    cx_table_close(t);
}

/* ---------- block boundaries and parallel reads ---------- */

static double big_value(size_t row, size_t col)
{
    return (double) ((row * 7 + col * 13) % 7 + 1);
}

static void write_big(size_t n, const char *group, size_t chunk)
{
    hid_t f = access(FILE_BIG, F_OK) == 0 ? H5Fopen(FILE_BIG, H5F_ACC_RDWR, H5P_DEFAULT)
                                          : fx_create(FILE_BIG);
    hid_t g = fx_group(f, group, 1);
    uint8_t *u = malloc(n + 1);
    double *d = malloc((n + 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) {
        u[i] = (uint8_t) big_value(i, 0);
        d[i] = big_value(i, 1) + 0.5;
    }
    assert_int_equal(fx_column(g, "item", H5T_STD_U8LE, H5T_NATIVE_UINT8, u, n, chunk), 0);
    assert_int_equal(fx_column(g, "score", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, d, n, chunk), 0);
    free(u);
    free(d);
    H5Gclose(g);
    H5Fclose(f);
}

static void check_blocks(const char *group, size_t n)
{
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_BIG, group, &err);
    assert_non_null(t);
    assert_int_equal(cx_table_nrows(t), n);
    int cols[2] = {0, 1};
    double *out = malloc(2 * CX_BLOCK_ROWS * sizeof *out);
    size_t seen = 0;
    for (size_t r0 = 0; r0 < n; r0 += CX_BLOCK_ROWS) {
        size_t m = n - r0 < CX_BLOCK_ROWS ? n - r0 : CX_BLOCK_ROWS;
        assert_int_equal(cx_table_read_block(t, cols, 2, r0, m, out, CX_BLOCK_ROWS, &err), CX_OK);
        for (size_t i = 0; i < m; i++) {
            assert_true(out[i] == big_value(r0 + i, 0));
            assert_true(out[CX_BLOCK_ROWS + i] == big_value(r0 + i, 1) + 0.5);
        }
        seen += m;
    }
    assert_int_equal(seen, n);
    free(out);
    cx_table_close(t);
}

static void test_block_boundaries(void **state)
{
    (void) state;
    remove(FILE_BIG);
    size_t n = 2 * CX_BLOCK_ROWS + 17;
    write_big(n, "/big", 10000);
    write_big(n, "/contig", 0);
    write_big(1, "/one", 0);
    write_big(0, "/zero", 0);
    write_big(CX_BLOCK_ROWS, "/exact", 4096);
    check_blocks("/big", n);
    check_blocks("/contig", n);
    check_blocks("/one", 1);
    check_blocks("/zero", 0);
    check_blocks("/exact", CX_BLOCK_ROWS);
}

static void test_parallel_reads(void **state)
{
    (void) state;
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_BIG, "/big", &err);
    assert_non_null(t);
    size_t n = cx_table_nrows(t), nblocks = (n + 999) / 1000;
    double *par = malloc(2 * n * sizeof *par), *seq = malloc(2 * n * sizeof *seq);
    int cols[2] = {1, 0};
    assert_int_equal(cx_table_read_block(t, cols, 2, 0, n, seq, n, &err), CX_OK);
    int failures = 0;
#pragma omp parallel for schedule(dynamic) reduction(+ : failures)
    for (size_t b = 0; b < nblocks; b++) {
        size_t r0 = b * 1000, m = n - r0 < 1000 ? n - r0 : 1000;
        double buf[2 * 1000];
        cx_error e;
        if (cx_table_read_block(t, cols, 2, r0, m, buf, 1000, &e) != CX_OK) {
            failures++;
            continue;
        }
        memcpy(par + r0, buf, m * sizeof *buf);
        memcpy(par + n + r0, buf + 1000, m * sizeof *buf);
    }
    assert_int_equal(failures, 0);
    assert_memory_equal(par, seq, 2 * n * sizeof *par);
    assert_true(seq[0] == big_value(0, 1) + 0.5 && seq[n] == big_value(0, 0));
    free(par);
    free(seq);
    cx_table_close(t);
}

/* ---------- hand-decoded chunks equal H5Dread ---------- */

#define FILE_CHUNKS CX_BINARY_DIR "/test_table_chunks.h5"
#define CHUNK_TEST_ROWS 5003 /* 5 chunks of 1024 rows, the last one partial */

/* Layouts the own chunk decoder must agree with H5Dread on (or decline). */
typedef enum chunk_layout {
    LAYOUT_PLAIN,     /* chunked, no filter                                  */
    LAYOUT_DEFLATE,   /* [deflate]                                           */
    LAYOUT_SHUFFLE,   /* [shuffle, deflate]                                  */
    LAYOUT_UNALIGNED, /* [shuffle, deflate], 1000-row chunks                 */
    LAYOUT_MASKED,    /* [shuffle, deflate], chunk 1 stored with both skipped */
    LAYOUT_SPARSE,    /* [shuffle, deflate], only chunks 0-1 written (fill)  */
    LAYOUT_SHUF_ONLY, /* [shuffle]: declined, H5Dread                         */
    LAYOUT_CONTIG,    /* contiguous: declined, H5Dread                        */
    N_LAYOUTS
} chunk_layout;

static const char *const LAYOUT_NAMES[N_LAYOUTS] = {"plain",  "deflate", "shuffle",   "unaligned",
                                                    "masked", "sparse",  "shuf_only", "contig"};

/* Values that use every byte of each type (so a wrong unshuffle shows),
 * and for doubles NaN and infinities too. */
static void chunk_test_values(hid_t type, size_t n, unsigned char *buf)
{
    size_t size = H5Tget_size(type);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (H5Tget_class(type) == H5T_FLOAT) {
            double d = (double)(int64_t)x * 1e-9;
            if (i % 97 == 0)
                d = i % 2 ? NAN : INFINITY;
            memcpy(buf + i * size, &d, size);
        } else {
            memcpy(buf + i * size, &x, size); /* little-endian: low bytes */
        }
    }
}

static hid_t chunk_test_dcpl(chunk_layout layout, hid_t type)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk = layout == LAYOUT_UNALIGNED ? 1000 : 1024;
    unsigned char fill[8] = {0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};
    H5Pset_fill_value(dcpl, type, fill);
    if (layout == LAYOUT_CONTIG)
        return dcpl;
    H5Pset_chunk(dcpl, 1, &chunk);
    if (layout != LAYOUT_PLAIN && layout != LAYOUT_DEFLATE)
        H5Pset_shuffle(dcpl);
    if (layout != LAYOUT_PLAIN && layout != LAYOUT_SHUF_ONLY)
        H5Pset_deflate(dcpl, 1);
    return dcpl;
}

static void write_chunk_dataset(hid_t g, const char *name, hid_t type, chunk_layout layout)
{
    size_t size = H5Tget_size(type);
    hsize_t n = CHUNK_TEST_ROWS, written = layout == LAYOUT_SPARSE ? 2048 : n;
    unsigned char *buf = malloc(n * size);
    chunk_test_values(type, n, buf);
    hid_t space = H5Screate_simple(1, &n, NULL), dcpl = chunk_test_dcpl(layout, type);
    hid_t d = H5Dcreate2(g, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t mspace = H5Screate_simple(1, &written, NULL), fspace = H5Dget_space(d);
    hsize_t start = 0;
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &written, NULL);
    assert_true(H5Dwrite(d, type, mspace, fspace, H5P_DEFAULT, buf) >= 0);
    if (layout == LAYOUT_MASKED) { /* chunk 1 as raw bytes, both filters skipped */
        hsize_t offset = 1024;
        assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 0x3, &offset, 1024 * size, buf + 1024 * size) >=
                    0);
    }
    H5Sclose(fspace);
    H5Sclose(mspace);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Dclose(d);
    free(buf);
}

static const char *const CHUNK_TYPE_NAMES[] = {"u8",  "i8",  "u16", "i16", "u32",
                                               "i32", "u64", "i64", "f64"};
#define N_CHUNK_TYPES (sizeof CHUNK_TYPE_NAMES / sizeof CHUNK_TYPE_NAMES[0])

static void write_chunks_file(void)
{
    const hid_t types[N_CHUNK_TYPES] = {H5T_STD_U8LE,  H5T_STD_I8LE,  H5T_STD_U16LE,
                                        H5T_STD_I16LE, H5T_STD_U32LE, H5T_STD_I32LE,
                                        H5T_STD_U64LE, H5T_STD_I64LE, H5T_IEEE_F64LE};
    hid_t f = fx_create(FILE_CHUNKS);
    assert_true(f >= 0);
    hid_t g = fx_group(f, "/t", 1);
    for (int l = 0; l < N_LAYOUTS; l++)
        for (size_t k = 0; k < N_CHUNK_TYPES; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s_%s", LAYOUT_NAMES[l], CHUNK_TYPE_NAMES[k]);
            write_chunk_dataset(g, name, types[k], (chunk_layout)l);
        }
    H5Gclose(g);
    H5Fclose(f);
}

/* Read rows [row0, row0 + n) of every column with the chunk path on and
 * off; the doubles must be the same bits. */
static void compare_chunk_paths(cx_table *t, size_t row0, size_t n)
{
    size_t ncols = cx_table_ncols(t), ld = n + 3;
    int *cols = malloc(ncols * sizeof *cols);
    double *fast = malloc(ncols * ld * sizeof *fast), *slow = malloc(ncols * ld * sizeof *slow);
    for (size_t j = 0; j < ncols; j++)
        cols[j] = (int)j;
    cx_error err = {0};
    cx_table_set_chunk_path(t, 1);
    assert_int_equal(cx_table_read_block(t, cols, ncols, row0, n, fast, ld, &err), CX_OK);
    cx_table_set_chunk_path(t, 0);
    assert_int_equal(cx_table_read_block(t, cols, ncols, row0, n, slow, ld, &err), CX_OK);
    for (size_t j = 0; j < ncols; j++)
        if (memcmp(fast + j * ld, slow + j * ld, n * sizeof *fast) != 0)
            fail_msg("column %s, rows %zu+%zu: chunk path differs from H5Dread",
                     cx_table_column(t, j)->name, row0, n);
    free(slow);
    free(fast);
    free(cols);
}

static void test_chunk_path_matches_h5dread(void **state)
{
    (void)state;
    remove(FILE_CHUNKS);
    write_chunks_file();
    cx_error err = {0};
    cx_table *t = cx_table_open(FILE_CHUNKS, "/t", &err);
    assert_non_null(t);
    assert_int_equal(cx_table_ncols(t), N_LAYOUTS * N_CHUNK_TYPES);
    const size_t ranges[][2] = {{0, CHUNK_TEST_ROWS},           {0, 1024},    {1000, 2500},
                                {4096, CHUNK_TEST_ROWS - 4096}, {4000, 1003}, {5002, 1}};
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        compare_chunk_paths(t, ranges[r][0], ranges[r][1]);
    /* the decoder served the five always-qualifying layouts in all six
     * reads; the sparse columns only in {0, 1024}, the one read that stays
     * within written chunks (the others fell back to H5Dread for the fill
     * value); shuffle-only and contiguous columns never */
    size_t served = cx_table_direct_chunk_reads(t);
    assert_int_equal(served, 6 * 5 * N_CHUNK_TYPES + N_CHUNK_TYPES);
    /* one sparse read within the written chunks is decoded by hand too */
    int col = cx_table_find(t, "sparse_u16");
    double a[100], b[100];
    cx_table_set_chunk_path(t, 1);
    assert_int_equal(cx_table_read_block(t, &col, 1, 100, 100, a, 100, &err), CX_OK);
    assert_true(cx_table_direct_chunk_reads(t) == served + 1);
    cx_table_set_chunk_path(t, 0);
    assert_int_equal(cx_table_read_block(t, &col, 1, 100, 100, b, 100, &err), CX_OK);
    assert_memory_equal(a, b, sizeof a);
    cx_table_close(t);
}

/* ---------- in-memory tables ---------- */

static void test_memory_table(void **state)
{
    (void) state;
    cx_error err = {0};
    cx_table *t = cx_table_memory_alloc("@job/nps", 3, &err);
    assert_non_null(t);
    double x[3] = {1.5, NAN, -2}, codes[3] = {1, 0, 1};
    char *labels[2] = {"promoter", "detractor"};
    assert_int_equal(cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err), CX_OK);
    assert_int_equal(
        cx_table_memory_add_column(t, "kind", CX_COL_CATEGORICAL, codes, labels, 2, &err), CX_OK);
    x[0] = 99; /* the table copied its data */
    assert_int_equal(cx_table_memory_add_column(t, "x", CX_COL_FLOAT, x, NULL, 0, &err),
                     CX_EUSAGE);
    assert_non_null(strstr(err.msg, "duplicate column 'x'"));
    assert_int_equal(cx_table_memory_add_column(t, "s", CX_COL_STRING, x, NULL, 0, &err),
                     CX_EUSAGE);
    assert_int_equal(cx_table_ncols(t), 2);
    assert_string_equal(cx_table_label(t), "@job/nps");
    assert_string_equal(cx_table_column(t, 1)->categories[1], "detractor");
    int cols[2] = {1, 0};
    double out[2 * 4];
    assert_int_equal(cx_table_read_block(t, cols, 2, 1, 2, out, 4, &err), CX_OK);
    assert_true(out[0] == 0 && out[1] == 1);
    assert_true(isnan(out[4]) && out[5] == -2);
    cx_table_close(t);

    cx_table *empty = cx_table_memory_alloc("@empty", 0, &err);
    assert_int_equal(cx_table_memory_add_column(empty, "x", CX_COL_FLOAT, NULL, NULL, 0, &err),
                     CX_OK);
    assert_int_equal(cx_table_read_block(empty, cols + 1, 1, 0, 0, out, 0, &err), CX_OK);
    cx_table_close(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_missing_and_categories),
        cmocka_unit_test(test_string_column_is_not_numeric),
        cmocka_unit_test(test_layout_errors),
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_parallel_reads),
        cmocka_unit_test(test_chunk_path_matches_h5dread),
        cmocka_unit_test(test_memory_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
