/*
 * test_config.c — the study config parser: sections, multi-line values,
 * comments, typed accessors, and every error path with its file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char good_config[] = "[data]\n"
                                  "file  = datasets/cx_panel.h5\n"
                                  "table = /responses\n"
                                  "\n"
                                  "[output]\n"
                                  "file = results/exq_study.h5\n"
                                  "\n"
                                  "# a comment line\n"
                                  "[job exq_reliability]\n"
                                  "model  = reliability\n"
                                  "scales = PEX: pex1 pex2 pex3 pex4 pex5\n"
                                  "         OUT: out1 out2 out3 -out4 out5      # reverse\n"
                                  "\n"
                                  "[job exq_cfa]\n"
                                  "model  = cfa   # inline comment\n"
                                  "bootstrap   = 1000\n"
                                  "level = 0.9\n"
                                  "std_lv = yes\n";

static void parses_sections_and_multiline_values(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_config *c = cx_config_parse_string(good_config, "study.ini", &err);
    assert_non_null(c);
    assert_non_null(c->data);
    assert_string_equal(cx_section_get(c->data, "file"), "datasets/cx_panel.h5");
    assert_string_equal(cx_section_get(c->output, "file"), "results/exq_study.h5");
    assert_int_equal(c->n_jobs, 2);
    assert_string_equal(c->jobs[0].name, "exq_reliability");
    assert_string_equal(c->jobs[1].name, "exq_cfa");
    assert_string_equal(cx_section_get(&c->jobs[0], "scales"),
                        "PEX: pex1 pex2 pex3 pex4 pex5\nOUT: out1 out2 out3 -out4 out5");
    assert_string_equal(cx_section_get(&c->jobs[1], "model"), "cfa");
    assert_int_equal(cx_section_find(&c->jobs[1], "bootstrap")->line, 16);
    long b = 0;
    double level = 0;
    int yes = 0;
    assert_int_equal(cx_section_get_long(c, &c->jobs[1], "bootstrap", 0, 100000, &b, &err), 0);
    assert_int_equal(b, 1000);
    assert_int_equal(cx_section_get_double(c, &c->jobs[1], "level", 0.5, 1, &level, &err), 0);
    assert_true(level == 0.9);
    assert_int_equal(cx_section_get_bool(c, &c->jobs[1], "std_lv", &yes, &err), 0);
    assert_int_equal(yes, 1);
    assert_null(cx_section_get(&c->jobs[1], "absent"));
    cx_config_free(c);
}

/* Parse `text` expecting failure; the message must contain `expect`. */
static void expect_error(const char *text, const char *expect)
{
    cx_error err = {0};
    cx_config *c = cx_config_parse_string(text, "bad.ini", &err);
    if (c)
        fail_msg("parsed but expected an error containing '%s'", expect);
    assert_int_equal(err.code, CX_EUSAGE);
    if (!strstr(err.msg, expect))
        fail_msg("message '%s' lacks '%s'", err.msg, expect);
}

static void reports_errors_with_file_and_line(void **state)
{
    (void)state;
    expect_error("[data]\nfile = x.h5\n[job a]\nmodel = nps\nmodel = ols\n",
                 "bad.ini:5: key 'model' appears twice");
    expect_error("[job a]\nmodel = nps\n[job a]\nmodel = ols\n", "bad.ini:3: section [job a]");
    expect_error("[jobs a]\nmodel = nps\n", "bad.ini:1: unknown section [jobs a]");
    expect_error("model = nps\n", "bad.ini:1: key outside any section");
    expect_error("[job a]\nthis line has no equals sign\n", "bad.ini:2: expected 'key = value'");
    expect_error("[job a/b]\nmodel = nps\n", "job name 'a/b'");
    expect_error("[data]\nfile = x.h5\n", "no [job NAME] section");
    expect_error("[data]\nfiel = x.h5\n[job a]\nmodel = nps\n",
                 "bad.ini:2: [data] has no key 'fiel' (did you mean 'file'?)");
    expect_error("[job]\nmodel = nps\n", "bad.ini:1: job name '' is not allowed");
    expect_error("[job a] b\nmodel = nps\n", "bad.ini:1: unexpected text after");
    expect_error("[job a\nmodel = nps\n", "bad.ini:1: expected ']'");
    expect_error("[job a]\n = nps\n", "bad.ini:2: expected a key name before '='");
}

static void typed_accessors_name_key_and_line(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_config *c = cx_config_parse_string(
        "[job fit]\nmodel = cfa\nseed = abc\nlevel = 2\nstd_lv = maybe\nrotation = varimx\n",
        "s.ini", &err);
    assert_non_null(c);
    long seed = 1;
    double level = 0.95;
    int flag = 0, choice = -1;
    assert_int_equal(cx_section_get_long(c, &c->jobs[0], "seed", 0, 100, &seed, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "s.ini:3: job 'fit', key 'seed': expected a whole number"));
    assert_int_equal(seed, 1);
    assert_int_equal(cx_section_get_double(c, &c->jobs[0], "level", 0.5, 0.99, &level, &err),
                     CX_EUSAGE);
    assert_non_null(strstr(err.msg, "s.ini:4:"));
    assert_int_equal(cx_section_get_bool(c, &c->jobs[0], "std_lv", &flag, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "expected yes or no, found 'maybe'"));
    static const char *const rotations[] = {"none", "varimax", "promax", NULL};
    assert_int_equal(cx_section_get_choice(c, &c->jobs[0], "rotation", rotations, &choice, &err),
                     CX_EUSAGE);
    assert_non_null(strstr(err.msg, "did you mean 'varimax'"));
    cx_config_free(c);
}

static void splits_words_across_lines(void **state)
{
    (void)state;
    size_t n = 0;
    char **w = cx_words_split("  firm wave\n  segment\t x ", &n, NULL);
    assert_non_null(w);
    assert_int_equal(n, 4);
    assert_string_equal(w[0], "firm");
    assert_string_equal(w[2], "segment");
    assert_null(w[4]);
    cx_words_free(w);
}

static void did_you_mean_finds_close_words(void **state)
{
    (void)state;
    static const char *const keys[] = {"formula", "weights", "bootstrap", NULL};
    assert_string_equal(cx_did_you_mean("fromula", keys), "formula");
    assert_string_equal(cx_did_you_mean("weight", keys), "weights");
    assert_null(cx_did_you_mean("zzzzzz", keys));
}

static void missing_file_is_an_io_error(void **state)
{
    (void)state;
    cx_error err = {0};
    assert_null(cx_config_load("/nonexistent/study.ini", &err));
    assert_int_equal(err.code, CX_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/study.ini"));
}

/* Item 3 of issue 12: a job name becomes an HDF5 group at the results
 * file's root, so what HDF5 cannot hold (or would read as a path) and what
 * would look like a command-line option is refused, naming file and line. */
static void refuses_job_names_hdf5_cannot_hold(void **state)
{
    (void)state;
    static const char *const bad[] = {".", "..", "...", "a/b", "/a", "-a", ".hidden", "a b",
                                      "a\tb", "caf\xc3\xa9", "a\x01", "a;b", "a#b", "a[1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "# study\n[job %s]\nmodel = nps\n", bad[i]);
        cx_error err = {0};
        cx_config *c = cx_config_parse_string(text, "bad.ini", &err);
        if (c)
            fail_msg("job name '%s' was accepted", bad[i]);
        if (!strstr(err.msg, "bad.ini:2: job name '") || !strstr(err.msg, "is not allowed: use") ||
            strchr(err.msg, '\n') || strchr(err.msg, '\t') || strchr(err.msg, '\x01'))
            fail_msg("job name '%s': message '%s'", bad[i], err.msg);
    }
    char too_long[CX_JOB_NAME_MAX + 32] = "[job ";
    memset(too_long + 5, 'j', CX_JOB_NAME_MAX + 1);
    strcpy(too_long + 5 + CX_JOB_NAME_MAX + 1, "]\nmodel = nps\n");
    expect_error(too_long, "bad.ini:1: job name 'jjj");
    /* the longest allowed name, and every allowed character */
    too_long[5 + CX_JOB_NAME_MAX] = ']';
    too_long[5 + CX_JOB_NAME_MAX + 1] = '\n';
    cx_error err = {0};
    cx_config *c = cx_config_parse_string(too_long, "ok.ini", &err);
    assert_non_null(c);
    assert_int_equal(strlen(c->jobs[0].name), CX_JOB_NAME_MAX);
    cx_config_free(c);
    c = cx_config_parse_string("[job _Wave-3.v2]\nmodel = nps\n[job 9]\nmodel = nps\n", "ok.ini",
                               &err);
    assert_non_null(c);
    assert_string_equal(c->jobs[0].name, "_Wave-3.v2");
    cx_config_free(c);
}

/* Item 7: ';' inside a value is kept (lavaan separates formulas with it);
 * only a line starting with ';' or '#' is a comment, and after a value
 * only '#' after a blank, outside quotes. */
static void keeps_semicolons_inside_values(void **state)
{
    (void)state;
    cx_error err = {0};
    cx_config *c = cx_config_parse_string("; a comment line\n"
                                          "[job a]   ; header comment\n"
                                          "model = cfa\n"
                                          "syntax = F =~ a + b ; G =~ c + d  # two factors\n"
                                          "    ; an indented comment line\n"
                                          "         H =~ e + f;K =~ g + h\n"
                                          "where = segment == 'a #1' and x == 'b;c' # real comment\n"
                                          "items = it's # odd quote\n"
                                          "seed = 42 ; not a comment\n",
                                          "s.ini", &err);
    assert_non_null(c);
    assert_string_equal(cx_section_get(&c->jobs[0], "syntax"),
                        "F =~ a + b ; G =~ c + d\nH =~ e + f;K =~ g + h");
    assert_string_equal(cx_section_get(&c->jobs[0], "where"), "segment == 'a #1' and x == 'b;c'");
    assert_string_equal(cx_section_get(&c->jobs[0], "items"), "it's");
    long seed = 0;
    assert_int_equal(cx_section_get_long(c, &c->jobs[0], "seed", 0, 100, &seed, &err), CX_EUSAGE);
    assert_non_null(strstr(err.msg, "s.ini:9: job 'a', key 'seed': expected a whole number"));
    assert_non_null(strstr(err.msg, "found '42 ; not a comment' (';' does not start a comment"));
    cx_config_free(c);
}

/* Item 12: a UTF-8 byte-order mark, CRLF line ends and lines of any length. */
static void accepts_bom_crlf_and_long_lines(void **state)
{
    (void)state;
    size_t n_items = 2000; /* "it0001 " ... : about 10,000 characters */
    size_t size = 64 + 5 * n_items + 16;
    char *text = malloc(size);
    assert_non_null(text);
    int used = snprintf(text, size, "\xEF\xBB\xBF[job big]\r\nmodel = describe\r\nitems =");
    for (size_t i = 0; i < n_items; i++)
        used += snprintf(text + used, size - (size_t)used, " i%03zu", i % 1000);
    snprintf(text + used, size - (size_t)used, "\r\n  i999\r\n\r\nseed = 7\r\n");
    cx_error err = {0};
    cx_config *c = cx_config_parse_string(text, "crlf.ini", &err);
    if (!c)
        fail_msg("%s", err.msg);
    assert_string_equal(c->jobs[0].name, "big");
    const char *items = cx_section_get(&c->jobs[0], "items");
    assert_int_equal(strlen(items), 5 * n_items - 1 + 5);
    assert_null(strchr(items, '\r'));
    assert_string_equal(items + strlen(items) - 10, " i999\ni999");
    assert_int_equal(cx_section_find(&c->jobs[0], "seed")->line, 6);
    assert_string_equal(cx_section_get(&c->jobs[0], "seed"), "7");
    cx_config_free(c);
    free(text);
    expect_error("[job a]\rmodel = nps\r", "bad.ini:1: carriage return inside a line");
    /* a BOM anywhere but the start is an ordinary (bad) character */
    expect_error("[job a]\n\xEF\xBB\xBF[job b]\nmodel = nps\n", "bad.ini:2: expected 'key = value'");
}

/* One 100,000-character line and a 100,000-line value: no fixed buffer. */
static void reads_very_long_lines_and_values(void **state)
{
    (void)state;
    size_t n = 100000;
    char *text = malloc(2 * n + n / 2 + 64);
    assert_non_null(text);
    int used = sprintf(text, "[job a]\nmodel = nps\nwhere = ");
    memset(text + used, '(', n);
    strcpy(text + used + n, "\nsyntax = x\n");
    cx_error err = {0};
    cx_config *c = cx_config_parse_string(text, "long.ini", &err);
    if (!c)
        fail_msg("%s", err.msg);
    assert_int_equal(strlen(cx_section_get(&c->jobs[0], "where")), n);
    assert_int_equal(cx_section_find(&c->jobs[0], "syntax")->line, 4);
    cx_config_free(c);
    used = sprintf(text, "[job a]\nwhere = x\n");
    for (size_t i = 0; i < n / 2; i++)
        memcpy(text + used + 3 * i, " (\n", 3);
    text[used + 3 * (n / 2)] = '\0';
    c = cx_config_parse_string(text, "long.ini", &err);
    if (!c)
        fail_msg("%s", err.msg);
    free(text);
    /* "x" then "\n(" per continuation line */
    assert_int_equal(strlen(cx_section_get(&c->jobs[0], "where")), 1 + n);
    cx_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_sections_and_multiline_values),
        cmocka_unit_test(reports_errors_with_file_and_line),
        cmocka_unit_test(typed_accessors_name_key_and_line),
        cmocka_unit_test(splits_words_across_lines),
        cmocka_unit_test(did_you_mean_finds_close_words),
        cmocka_unit_test(missing_file_is_an_io_error),
        cmocka_unit_test(refuses_job_names_hdf5_cannot_hold),
        cmocka_unit_test(keeps_semicolons_inside_values),
        cmocka_unit_test(accepts_bom_crlf_and_long_lines),
        cmocka_unit_test(reads_very_long_lines_and_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
