/*
 * test_fuzz_results.c — a results file is untrusted input (issue 12 items
 * 4 and 5): `show` and what `run --resume` reads must refuse, never crash,
 * leak, hang or spam stderr, whatever the file holds.  Runs in every CI
 * build, ASan+UBSan included.
 *
 * Three parts:
 *  - structural mutations, one regression test each: a real results file
 *    (written by the engine's writer, fuzz_results_seed) is edited with the
 *    HDF5 API the way a user with h5py or an attacker could (an array where
 *    a scalar attribute belongs, a column of another type, ragged columns,
 *    2^40 declared rows, links, external storage, groups for datasets...),
 *    then read every way the engine reads (fuzz_results_file); the result
 *    is either accepted or refused with the expected one-line message;
 *  - the same reading on files the CLI's run wrote (cx_run on shipped
 *    configs), so the seeds follow the writer;
 *  - byte-level mutants of the seed (bit flips and interesting bytes at
 *    random offsets, reproducible), which must never crash or leak.
 * Coverage-guided fuzzing of the same entry point: tests/fuzz/fuzz_results.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_targets.h"
#include "result.h"
#include "results_io.h"
#include "run.h"
#include "show.h"

/* Byte mutants per run; fewer under ASan, where each child costs ~10x. */
#if defined(__SANITIZE_ADDRESS__)
#define BYTE_ROUNDS 150
#else
#define BYTE_ROUNDS 500
#endif

static char dir[64];
static char seed[128];   /* fuzz_results_seed's file */
static char mutant[128]; /* the copy a case edits   */
static H5E_auto2_t hdf5_printer; /* HDF5's default error printing */
static void *hdf5_printer_data;

static int setup(void **state)
{
    (void)state;
    H5Eget_auto2(H5E_DEFAULT, &hdf5_printer, &hdf5_printer_data);
    snprintf(dir, sizeof dir, "/tmp/cx_fuzzres_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(seed, sizeof seed, "%s/seed.h5", dir);
    snprintf(mutant, sizeof mutant, "%s/mutant.h5", dir);
    return fuzz_results_seed(seed);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* ---- building blocks of mutations -------------------------------------- */

static hid_t space_1d(hsize_t n)
{
    return H5Screate_simple(1, &n, NULL);
}

static hid_t vlen_string(H5T_cset_t cset)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, cset);
    return t;
}

static hid_t fixed_string(size_t size, H5T_str_t pad)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_strpad(t, pad);
    return t;
}

/* Replace attribute `name` of object `obj`; closes type and space. */
static int put_attr(hid_t f, const char *obj, const char *name, hid_t type, hid_t space,
                    const void *data)
{
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0)
        H5Adelete_by_name(f, obj, name, H5P_DEFAULT);
    hid_t a = H5Acreate_by_name(f, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || (data && H5Awrite(a, type, data) < 0) ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    H5Tclose(type);
    H5Sclose(space);
    return rc;
}

/* Replace dataset `path` (dcpl may be H5P_DEFAULT); closes type and space. */
static int put_dataset(hid_t f, const char *path, hid_t type, hid_t space, hid_t dcpl,
                       const void *data)
{
    if (H5Lexists(f, path, H5P_DEFAULT) > 0)
        H5Ldelete(f, path, H5P_DEFAULT);
    hid_t d = H5Dcreate2(f, path, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = d < 0 || (data && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) ? -1 : 0;
    if (d >= 0)
        H5Dclose(d);
    H5Tclose(type);
    H5Sclose(space);
    if (dcpl != H5P_DEFAULT)
        H5Pclose(dcpl);
    return rc;
}

static const double six[6] = {1, 2, 3, 4, 5, 6};

/* ---- the mutations: one function each --------------------------------- */

static int nobs_array(hid_t f)
{
    return put_attr(f, "/cfa", "nobs", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(3), six);
}
static int nobs_one_element(hid_t f)
{
    return put_attr(f, "/cfa", "nobs", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(1), six);
}
static int nobs_matrix(hid_t f)
{
    hsize_t dims[2] = {2, 2};
    return put_attr(f, "/cfa", "nobs", H5Tcopy(H5T_NATIVE_DOUBLE), H5Screate_simple(2, dims, NULL),
                    six);
}
static int nobs_null_space(hid_t f)
{
    return put_attr(f, "/cfa", "nobs", H5Tcopy(H5T_NATIVE_DOUBLE), H5Screate(H5S_NULL), NULL);
}
static int nobs_string(hid_t f)
{
    const char *v = "301";
    return put_attr(f, "/cfa", "nobs", vlen_string(H5T_CSET_UTF8), H5Screate(H5S_SCALAR), &v);
}
static int nobs_enum(hid_t f)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_INT);
    int v = 1;
    H5Tenum_insert(t, "one", &v);
    return put_attr(f, "/cfa", "nobs", t, H5Screate(H5S_SCALAR), &v);
}
static int status_array(hid_t f)
{
    const char *v[3] = {"ok", "ok", "ok"};
    return put_attr(f, "/cfa", "status", vlen_string(H5T_CSET_UTF8), space_1d(3), v);
}
static int message_fixed_array(hid_t f)
{
    static char v[2][1000];
    memset(v, 'm', sizeof v);
    return put_attr(f, "/cfa", "message", fixed_string(1000, H5T_STR_NULLPAD), space_1d(2), v);
}
static int spec_array(hid_t f)
{
    const char *v[2] = {"spec a", "spec b"};
    return put_attr(f, "/cfa", "spec", vlen_string(H5T_CSET_UTF8), space_1d(2), v);
}
static int version_array(hid_t f)
{
    const char *v[4] = {"0.1.0", "x", "y", "z"};
    return put_attr(f, "/", "cxfit_version", vlen_string(H5T_CSET_UTF8), space_1d(4), v);
}
static int created_number(hid_t f)
{
    double v = 2026;
    return put_attr(f, "/", "created", H5Tcopy(H5T_NATIVE_DOUBLE), H5Screate(H5S_SCALAR), &v);
}
static int config_integer(hid_t f)
{
    long long v = 7;
    return put_attr(f, "/", "config", H5Tcopy(H5T_NATIVE_LLONG), H5Screate(H5S_SCALAR), &v);
}
static int status_fixed_nullpad(hid_t f)
{
    char v[16] = "ok";
    return put_attr(f, "/cfa", "status", fixed_string(16, H5T_STR_NULLPAD), H5Screate(H5S_SCALAR),
                    v);
}
static int status_fixed_spacepad(hid_t f)
{
    char v[9] = "ok      ";
    return put_attr(f, "/cfa", "status", fixed_string(8, H5T_STR_SPACEPAD), H5Screate(H5S_SCALAR),
                    v);
}
static int status_ascii(hid_t f)
{
    const char *v = "ok";
    return put_attr(f, "/cfa", "status", vlen_string(H5T_CSET_ASCII), H5Screate(H5S_SCALAR), &v);
}
static int model_empty(hid_t f)
{
    const char *v = "";
    return put_attr(f, "/cfa", "model", vlen_string(H5T_CSET_UTF8), H5Screate(H5S_SCALAR), &v);
}
static int extra_compound(hid_t f)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(double));
    H5Tinsert(t, "x", 0, H5T_NATIVE_DOUBLE);
    return put_attr(f, "/cfa", "weird", t, H5Screate(H5S_SCALAR), six);
}
static int extra_array_newline_name(hid_t f)
{
    return put_attr(f, "/cfa", "a\nb", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(2), six);
}

static int measure_float(hid_t f)
{
    return put_dataset(f, "/cfa/fit/measure", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(3),
                       H5P_DEFAULT, six);
}
static int op_int(hid_t f)
{
    const long long v[6] = {1, 2, 3, 4, 5, 6};
    return put_dataset(f, "/cfa/estimates/op", H5Tcopy(H5T_NATIVE_LLONG), space_1d(6), H5P_DEFAULT,
                       v);
}
static int lhs_float(hid_t f)
{
    return put_dataset(f, "/cfa/estimates/lhs", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(6),
                       H5P_DEFAULT, six);
}
static int group_float(hid_t f)
{
    return put_dataset(f, "/cfa/estimates/group", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(6),
                       H5P_DEFAULT, six);
}
static int group_huge(hid_t f)
{
    const long long v[6] = {1LL << 62, -5, 0, 1LL << 62, -(1LL << 62), 3};
    return put_dataset(f, "/cfa/estimates/group", H5Tcopy(H5T_NATIVE_LLONG), space_1d(6),
                       H5P_DEFAULT, v);
}
static int est_uint64(hid_t f)
{
    const unsigned long long v[6] = {~0ULL, 0, 1, ~0ULL, 2, 3};
    return put_dataset(f, "/cfa/estimates/est", H5Tcopy(H5T_NATIVE_ULLONG), space_1d(6),
                       H5P_DEFAULT, v);
}
static int est_deleted(hid_t f)
{
    return H5Ldelete(f, "/cfa/estimates/est", H5P_DEFAULT) < 0 ? -1 : 0;
}
static int se_longer(hid_t f)
{
    const double v[7] = {0};
    return put_dataset(f, "/cfa/estimates/se", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(7),
                       H5P_DEFAULT, v);
}
static int z_matrix(hid_t f)
{
    hsize_t dims[2] = {2, 3};
    return put_dataset(f, "/cfa/estimates/z", H5Tcopy(H5T_NATIVE_DOUBLE),
                       H5Screate_simple(2, dims, NULL), H5P_DEFAULT, six);
}
static int z_scalar(hid_t f)
{
    return put_dataset(f, "/cfa/estimates/z", H5Tcopy(H5T_NATIVE_DOUBLE), H5Screate(H5S_SCALAR),
                       H5P_DEFAULT, six);
}
static int z_compound(hid_t f)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(double));
    H5Tinsert(t, "x", 0, H5T_NATIVE_DOUBLE);
    return put_dataset(f, "/cfa/estimates/z", t, space_1d(6), H5P_DEFAULT, six);
}
static int z_vlen_ints(hid_t f)
{
    return put_dataset(f, "/cfa/estimates/z", H5Tvlen_create(H5T_NATIVE_INT), space_1d(6),
                       H5P_DEFAULT, NULL);
}
static int z_group(hid_t f)
{
    H5Ldelete(f, "/cfa/estimates/z", H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "/cfa/estimates/z", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    return g < 0 ? -1 : H5Gclose(g);
}
static int fit_dataset(hid_t f)
{
    H5Ldelete(f, "/cfa/fit", H5P_DEFAULT);
    return put_dataset(f, "/cfa/fit", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(3), H5P_DEFAULT, six);
}
static int root_dataset(hid_t f)
{
    return put_dataset(f, "/notes", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(3), H5P_DEFAULT, six);
}
static int root_dataset_newline_name(hid_t f)
{
    return put_dataset(f, "x\ny", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(3), H5P_DEFAULT, six);
}
static int empty_table(hid_t f)
{
    hid_t g = H5Gcreate2(f, "/cfa/empty", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    return g < 0 ? -1 : H5Gclose(g);
}

/* A resizable column grown to 2^40 rows without writing any (h5py's
 * resize()): reading it would allocate 8 TB. */
static int extendible(hid_t f, int compressed)
{
    hsize_t dims = 6, max = H5S_UNLIMITED, chunk = 1024, big = (hsize_t)1 << 40;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    if (compressed)
        H5Pset_deflate(dcpl, 6);
    int rc = put_dataset(f, "/cfa/estimates/pvalue", H5Tcopy(H5T_NATIVE_DOUBLE),
                         H5Screate_simple(1, &dims, &max), dcpl, six);
    hid_t d = rc ? -1 : H5Dopen2(f, "/cfa/estimates/pvalue", H5P_DEFAULT);
    if (d < 0 || H5Dset_extent(d, &big) < 0)
        rc = -1;
    if (d >= 0)
        H5Dclose(d);
    return rc;
}
static int pvalue_huge(hid_t f)
{
    return extendible(f, 0);
}
static int pvalue_huge_deflate(hid_t f)
{
    return extendible(f, 1);
}
static int est_deflate(hid_t f)
{ /* h5repack -f GZIP=6: a compressed column is still a column */
    hsize_t chunk = 4;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_deflate(dcpl, 6);
    return put_dataset(f, "/cfa/estimates/est", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(6), dcpl,
                       six);
}
static int z_external(hid_t f)
{ /* raw data in another file: reading it would read that file */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_external(dcpl, "/etc/hostname", 0, 6 * sizeof(double));
    return put_dataset(f, "/cfa/estimates/z", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(6), dcpl, NULL);
}
static int soft_link_job(hid_t f)
{
    return H5Lcreate_soft("/cfa", f, "alias", H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
}
static int external_link_job(hid_t f)
{
    return H5Lcreate_external("other.h5", "/cfa", f, "ext", H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1
                                                                                           : 0;
}
static int hard_link_cycle(hid_t f)
{ /* a "table" that is the root group itself */
    return H5Lcreate_hard(f, "/", f, "/cfa/loop", H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
}
static int named_datatype(hid_t f)
{
    hid_t t = H5Tcopy(H5T_NATIVE_DOUBLE);
    herr_t rc = H5Tcommit2(f, "/cfa/estimates/typ", t, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Tclose(t);
    return rc < 0 ? -1 : 0;
}
static int lhs_fixed(hid_t f)
{
    char v[6][8] = {"f", "f", "f", "f", "f", "f"};
    return put_dataset(f, "/cfa/estimates/lhs", fixed_string(8, H5T_STR_NULLTERM), space_1d(6),
                       H5P_DEFAULT, v);
}
static int lhs_fixed_huge_width(hid_t f)
{
    return put_dataset(f, "/cfa/estimates/lhs", fixed_string((size_t)1 << 30, H5T_STR_NULLPAD),
                       space_1d(0), H5P_DEFAULT, NULL);
}
static int rhs_null_strings(hid_t f)
{
    const char *v[6] = {NULL, "x1", NULL, "", NULL, NULL};
    return put_dataset(f, "/cfa/estimates/rhs", vlen_string(H5T_CSET_UTF8), space_1d(6),
                       H5P_DEFAULT, v);
}
static int step_float(hid_t f)
{
    return put_dataset(f, "/inv/invariance/step", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(2),
                       H5P_DEFAULT, six);
}
static int converged_float(hid_t f)
{
    return put_dataset(f, "/inv/invariance/converged", H5Tcopy(H5T_NATIVE_DOUBLE), space_1d(2),
                       H5P_DEFAULT, six);
}
static int chisq_string(hid_t f)
{
    const char *v[2] = {"a", "b"};
    return put_dataset(f, "/inv/invariance/chisq", vlen_string(H5T_CSET_UTF8), space_1d(2),
                       H5P_DEFAULT, v);
}

/* ---- the cases --------------------------------------------------------- */

typedef struct mutation {
    const char *name;
    int (*apply)(hid_t file);
    const char *refusal; /* expected in the message; NULL: the file reads */
} mutation;

static const mutation mutations[] = {
    {"nobs array", nobs_array, ": /cfa attribute 'nobs': expected a scalar number, found a 1-D array of 3"},
    {"nobs 1-element", nobs_one_element, NULL},
    {"nobs 2-D", nobs_matrix, "'nobs': expected a scalar number, found a 2-D array of 2 x 2"},
    {"nobs null space", nobs_null_space, "'nobs': expected a scalar number, found an empty dataspace"},
    {"nobs string", nobs_string, "'nobs': expected a scalar number, found a string"},
    {"nobs enum", nobs_enum, "'nobs': expected a scalar number, found an enum"},
    {"status array", status_array, "/cfa attribute 'status': expected a scalar string, found a 1-D array of 3"},
    {"message fixed array", message_fixed_array, "'message': expected a scalar string, found a 1-D array of 2"},
    {"spec array", spec_array, "/cfa attribute 'spec': expected a scalar string, found a 1-D array of 2"},
    {"cxfit_version array", version_array, ": / attribute 'cxfit_version': expected a scalar string, found a 1-D array of 4"},
    {"created number", created_number, "'created': expected a scalar string, found a float"},
    {"config integer", config_integer, "'config': expected a scalar string, found an integer"},
    {"status fixed nullpad", status_fixed_nullpad, NULL},
    {"status fixed spacepad", status_fixed_spacepad, NULL},
    {"status ASCII", status_ascii, NULL},
    {"model empty", model_empty, NULL},
    {"extra compound attribute", extra_compound, "'weird': expected a scalar string or number, found a compound"},
    {"attribute name with newline", extra_array_newline_name, "attribute 'a?b': expected"},
    {"fit/measure float", measure_float, NULL},
    {"estimates/op int", op_int, NULL},
    {"estimates/lhs float", lhs_float, NULL},
    {"estimates/group float", group_float, NULL},
    {"estimates/group 2^62", group_huge, NULL},
    {"estimates/est uint64", est_uint64, NULL},
    {"estimates/est deleted", est_deleted, NULL},
    {"estimates/se longer", se_longer, "/cfa/estimates/se: has 7 rows, expected 6 like 'lhs'"},
    {"estimates/z 2-D", z_matrix, "/cfa/estimates/z: expected a 1-D column, found a 2-D array of 2 x 3"},
    {"estimates/z scalar", z_scalar, "/cfa/estimates/z: expected a 1-D column, found a scalar"},
    {"estimates/z compound", z_compound, "z: expected a column of numbers or strings, found a compound"},
    {"estimates/z vlen ints", z_vlen_ints, "found a variable-length sequence"},
    {"estimates/z group", z_group, "/cfa/estimates/z: expected a dataset (a column), found a group"},
    {"fit a dataset", fit_dataset, "/cfa/fit: expected a group (a table), found a dataset"},
    {"root dataset", root_dataset, "/notes: expected a group (a job), found a dataset"},
    {"root name with newline", root_dataset_newline_name, "/x?y: expected a group (a job)"},
    {"empty table", empty_table, NULL},
    {"2^40 rows", pvalue_huge, "/cfa/estimates/pvalue: declares 1099511627776 rows, more than the file stores"},
    {"2^40 rows compressed", pvalue_huge_deflate, "declares 1099511627776 rows"},
    {"compressed column", est_deflate, NULL},
    {"external storage", z_external, "/cfa/estimates/z: expected data stored in this file"},
    {"soft link job", soft_link_job, "/alias: expected a group (a job), found a soft or external link"},
    {"external link job", external_link_job, "/ext: expected a group (a job), found a soft or external link"},
    {"hard link cycle", hard_link_cycle, "/cfa/loop/cfa: expected a dataset (a column), found a group"},
    {"named datatype", named_datatype, "/cfa/estimates/typ: expected a dataset (a column), found a named datatype"},
    {"lhs fixed-length", lhs_fixed, NULL},
    {"lhs 1 GB fixed width", lhs_fixed_huge_width, "lhs: expected ASCII or UTF-8 strings of at most"},
    {"rhs NULL strings", rhs_null_strings, NULL},
    {"invariance/step float", step_float, NULL},
    {"invariance/converged float", converged_float, NULL},
    {"invariance/chisq string", chisq_string, NULL},
};

/* Apply m to a copy of the seed and read it every way; returns the
 * outcome, the first refusal in msg. */
static int run_mutation(const mutation *m, char *msg, size_t size)
{
    copy_file(seed, mutant);
    hid_t f = H5Fopen(mutant, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    if (m->apply(f) != 0)
        fail_msg("%s: the mutation itself failed", m->name);
    assert_true(H5Fclose(f) >= 0);
    return fuzz_results_file(mutant, msg, size);
}

static void test_structural_mutations(void **state)
{
    (void)state;
    char msg[CX_ERROR_MSG_MAX];
    assert_int_equal(fuzz_results_file(seed, msg, sizeof msg), 0); /* the seed reads */
    for (size_t k = 0; k < sizeof mutations / sizeof mutations[0]; k++) {
        const mutation *m = &mutations[k];
        int rc = run_mutation(m, msg, sizeof msg);
        if (rc < 0)
            fail_msg("%s: a refusal without a proper message or a leaked handle: '%s'", m->name,
                     msg);
        if (!m->refusal && rc != 0)
            fail_msg("%s: should read, was refused: %s", m->name, msg);
        if (m->refusal && (rc != 1 || !strstr(msg, m->refusal)))
            fail_msg("%s: expected a refusal with '%s', got %d '%s'", m->name, m->refusal, rc,
                     msg);
        if (m->refusal && strncmp(msg, mutant, strlen(mutant)) != 0)
            fail_msg("%s: the refusal does not name the file: %s", m->name, msg);
    }
}

/* Space-padded and fixed-length strings read back as their text. */
static void test_fixed_strings_read_as_text(void **state)
{
    (void)state;
    char msg[CX_ERROR_MSG_MAX];
    const mutation m[] = {{"spacepad", status_fixed_spacepad, NULL}, {"lhs", lhs_fixed, NULL}};
    assert_int_equal(run_mutation(&m[0], msg, sizeof msg), 0);
    cx_error err = {0};
    cx_result *r = cx_results_read_job(mutant, "cfa", &err);
    assert_non_null(r);
    assert_int_equal(r->status, CX_STATUS_OK);
    cx_result_free(r);
    assert_int_equal(run_mutation(&m[1], msg, sizeof msg), 0);
    r = cx_results_read_job(mutant, "cfa", &err);
    assert_non_null(r);
    const cx_rcolumn *lhs = cx_rtable_column_typed(cx_result_find_table(r, "estimates"), "lhs",
                                                   CX_RCOL_STRING);
    assert_non_null(lhs);
    assert_string_equal(lhs->s[5], "f");
    cx_result_free(r);
}

/* A standard column of another type: show looks columns up with their
 * type (cx_rtable_column_typed, cx_rb_column) and leaves the table's
 * standard layout out instead of dereferencing a missing typed array
 * (item 5); the rest of the job still prints. */
static void test_show_mistyped_columns(void **state)
{
    (void)state;
    char msg[CX_ERROR_MSG_MAX];
    const mutation m = {"measure", measure_float, NULL};
    assert_int_equal(run_mutation(&m, msg, sizeof msg), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cx_error err = {0};
    assert_int_equal(cx_show(mutant, "cfa", 1, out, &err), CX_OK);
    fclose(out);
    assert_non_null(strstr(text, "Latent Variables"));
    assert_null(strstr(text, "chisq"));
    free(text);
    /* and the typed lookup itself */
    cx_result *r = cx_results_read_job(mutant, "cfa", &err);
    assert_non_null(r);
    const cx_rtable *fit = cx_result_find_table(r, "fit");
    assert_null(cx_rtable_column_typed(fit, "measure", CX_RCOL_STRING));
    assert_non_null(cx_rtable_column_typed(fit, "measure", CX_RCOL_DOUBLE));
    assert_int_equal(cx_rtable_find_column_typed(fit, "measure", CX_RCOL_INT), -1);
    assert_int_equal(cx_rtable_find_column_typed(fit, "nope", CX_RCOL_DOUBLE), -1);
    cx_result_free(r);
}

/* Job names that are paths or absent are refused, not followed. */
static void test_job_names(void **state)
{
    (void)state;
    static const char *const names[] = {".", "/", "cfa/estimates", "", "nope", "../cfa"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        cx_error err = {0};
        assert_null(cx_results_read_job(seed, names[k], &err));
        assert_int_equal(err.code, CX_EUSAGE);
        assert_non_null(strstr(err.msg, "no job"));
    }
}

/* Reading never prints HDF5's error stack (a refused file and a file that
 * is not HDF5 at all): the one-line message is the whole report. */
static void test_no_hdf5_error_spam(void **state)
{
    (void)state;
    char msg[CX_ERROR_MSG_MAX], junk[128], spill[128];
    snprintf(junk, sizeof junk, "%s/junk.h5", dir);
    snprintf(spill, sizeof spill, "%s/stderr.txt", dir);
    FILE *j = fopen(junk, "w");
    assert_non_null(j);
    fputs("not an HDF5 file\n", j);
    fclose(j);
    const mutation m = {"nobs array", nobs_array, NULL};
    assert_int_equal(run_mutation(&m, msg, sizeof msg), 1);
    H5Eset_auto2(H5E_DEFAULT, hdf5_printer, hdf5_printer_data); /* as in a fresh process */
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = fopen(spill, "w+");
    assert_non_null(cap);
    dup2(fileno(cap), 2);
    int rc1 = fuzz_results_file(mutant, msg, sizeof msg);
    int rc2 = fuzz_results_file(junk, msg, sizeof msg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(cap, 0, SEEK_END);
    long size = ftell(cap);
    fclose(cap);
    assert_int_equal(rc1, 1);
    assert_int_equal(rc2, 1);
    assert_non_null(strstr(msg, "cannot open"));
    assert_int_equal(size, 0);
}

/* Results files written by `run` itself (the CLI's engine on shipped
 * configs) read cleanly, and their structural mutants are refused or read. */
static void test_run_outputs(void **state)
{
    (void)state;
    static const char *const configs[] = {"configs/reference/hs_cfa_fixed.ini",
                                          "configs/exq_invariance.ini"};
    for (size_t k = 0; k < 2; k++) {
        char ini[512], out[128], msg[CX_ERROR_MSG_MAX];
        snprintf(ini, sizeof ini, "%s/%s", CX_SOURCE_DIR, configs[k]);
        snprintf(out, sizeof out, "%s/run%zu.h5", dir, k);
        cx_run_options opt = {.config_path = ini, .output_path = out, .threads = 2, .quiet = 1};
        cx_error err = {0};
        if (cx_run(&opt, &err) != 0)
            fail_msg("cx_run %s: %s", ini, err.msg);
        if (fuzz_results_file(out, msg, sizeof msg) != 0)
            fail_msg("%s: %s", out, msg);
        /* every job's nobs an array: each refused by name */
        copy_file(out, mutant);
        cx_stored_job *jobs;
        size_t n;
        assert_int_equal(cx_results_list_jobs(out, &jobs, &n, &err), CX_OK);
        hid_t f = H5Fopen(mutant, H5F_ACC_RDWR, H5P_DEFAULT);
        assert_true(f >= 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(put_attr(f, jobs[i].name, "nobs", H5Tcopy(H5T_NATIVE_DOUBLE),
                                      space_1d(3), six),
                             0);
        assert_true(H5Fclose(f) >= 0);
        assert_int_equal(fuzz_results_file(mutant, msg, sizeof msg), 1);
        assert_non_null(strstr(msg, "attribute 'nobs': expected a scalar number"));
        cx_stored_jobs_free(jobs, n);
    }
}

/* ---- byte-level mutants, each in a child process ------------------------
 *
 * libhdf5 1.10 itself crashes or loops on many corrupt files (valgrind and
 * gdb on samples: its global heap reads and writes out of bounds in
 * H5HG_read, dense link storage frees garbage in H5G__dense_iterate, the
 * global heap loader loops), which no caller can prevent; a crash it
 * causes by corrupting the heap may even surface later in any frame.  So
 * each mutant is read in a forked child, with a time limit: a child that
 * dies or hangs is counted (and shown), a child that lives must report a
 * proper outcome (no refusal without a one-line message, no HDF5 handle
 * left open).  Our code's memory safety on the same kinds of damage is
 * proven in-process by the structural cases above, under ASan and LSan. */

enum { CHILD_READ = 10, CHILD_REFUSED = 11, CHILD_BUG = 12, CHILD_DIED = 13 };

/* Read one mutant in a child; returns a CHILD_* outcome. */
static int read_in_child(const uint8_t *data, size_t size)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* die, rather than return into cmocka's handlers */
        static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM};
        for (size_t k = 0; k < sizeof fatal / sizeof fatal[0]; k++)
            signal(fatal[k], SIG_DFL);
        alarm(3); /* a hang dies too */
        int rc = fuzz_results(data, size);
        _exit(rc == 0 ? CHILD_READ : rc == 1 ? CHILD_REFUSED : CHILD_BUG);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    int outcome = WIFEXITED(status) ? WEXITSTATUS(status) : CHILD_DIED;
    return outcome >= CHILD_READ && outcome <= CHILD_BUG ? outcome : CHILD_DIED;
}

static uint64_t next_random(uint64_t *s)
{ /* xorshift64*: reproducible everywhere */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Byte-level mutants of the seed: 1 to 8 edits each (a bit flipped, or an
 * interesting byte: 0, 0xff, 0x7f, 0x80, 1), at random offsets. */
static void test_byte_mutations(void **state)
{
    (void)state;
    static const uint8_t interesting[] = {0x00, 0xff, 0x7f, 0x80, 0x01};
    FILE *in = fopen(seed, "rb");
    assert_non_null(in);
    uint8_t *orig = malloc(1 << 20), *buf = malloc(1 << 20);
    size_t n = fread(orig, 1, 1 << 20, in);
    fclose(in);
    assert_true(n > 0 && n < (1 << 20));
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    size_t count[CHILD_DIED + 1] = {0};
    time_t start = time(NULL);
    for (int r = 0; r < BYTE_ROUNDS; r++) {
        memcpy(buf, orig, n);
        int edits = 1 + (int)(next_random(&rng) % 8);
        for (int e = 0; e < edits; e++) {
            size_t at = next_random(&rng) % n;
            if (next_random(&rng) % 2)
                buf[at] ^= (uint8_t)(1u << (next_random(&rng) % 8));
            else
                buf[at] = interesting[next_random(&rng) % sizeof interesting];
        }
        int outcome = read_in_child(buf, n);
        if (outcome == CHILD_BUG)
            fail_msg("byte round %d: a refusal without a proper message or a leaked handle", r);
        count[outcome]++;
    }
    printf("results bytes: %d mutants of %zu bytes: %zu read, %zu refused cleanly, %zu killed "
           "inside libhdf5 (crash or hang), %.0f s\n",
           BYTE_ROUNDS, n, count[CHILD_READ], count[CHILD_REFUSED], count[CHILD_DIED],
           difftime(time(NULL), start));
    free(orig);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structural_mutations),
        cmocka_unit_test(test_fixed_strings_read_as_text),
        cmocka_unit_test(test_show_mistyped_columns),
        cmocka_unit_test(test_job_names),
        cmocka_unit_test(test_no_hdf5_error_spam),
        cmocka_unit_test(test_run_outputs),
        cmocka_unit_test(test_byte_mutations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
