/*
 * test_config.c — the study config parser: sections, multi-line values,
 * comments, typed accessors, and every error path with its file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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
                                  "model  = cfa   ; inline comment\n"
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
    char longline[400] = "[job a]\nmodel = ";
    memset(longline + strlen(longline), 'x', 250);
    expect_error(longline, "bad.ini:2: line longer than");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_sections_and_multiline_values),
        cmocka_unit_test(reports_errors_with_file_and_line),
        cmocka_unit_test(typed_accessors_name_key_and_line),
        cmocka_unit_test(splits_words_across_lines),
        cmocka_unit_test(did_you_mean_finds_close_words),
        cmocka_unit_test(missing_file_is_an_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
