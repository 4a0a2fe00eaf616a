/*
 * test_json.c — the test-support JSON reader: values, escapes, key order,
 * NULL-tolerant accessors, error positions, and reading a reference file.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static void test_scalars(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *v = json_parse_string(" [1, -2.5e-3, 0.1, true, false, null, \"x\"] ", &err);
    assert_non_null(v);
    assert_int_equal(json_type_of(v), JSON_ARRAY);
    assert_int_equal(json_array_len(v), 7);
    assert_true(json_number(json_array_at(v, 0)) == 1.0);
    assert_true(json_number(json_array_at(v, 1)) == -2.5e-3);
    assert_true(json_number(json_array_at(v, 2)) == 0.1);
    assert_int_equal(json_bool(json_array_at(v, 3)), 1);
    assert_int_equal(json_bool(json_array_at(v, 4)), 0);
    assert_int_equal(json_type_of(json_array_at(v, 5)), JSON_NULL);
    assert_true(isnan(json_number(json_array_at(v, 5)))); /* R's NA */
    assert_string_equal(json_string(json_array_at(v, 6)), "x");
    assert_null(json_string(json_array_at(v, 0)));
    assert_null(json_array_at(v, 7));
    json_free(v);
}

/* 17 significant digits (what jsonlite writes with digits = NA) must
 * come back as the very same double. */
static void test_number_round_trip(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *v = json_parse_string("[0.0996651187683112, 2.79844001305207e-08, 1e308]", &err);
    assert_non_null(v);
    assert_true(json_number(json_array_at(v, 0)) == 0.0996651187683112);
    assert_true(json_number(json_array_at(v, 1)) == 2.79844001305207e-08);
    assert_true(json_number(json_array_at(v, 2)) == 1e308);
    json_free(v);
}

static void test_objects_keep_order(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *v =
        json_parse_string("{\"z\": 1, \"a\": {\"b\": [2, 3]}, \"m\": {}, \"e\": []}", &err);
    assert_non_null(v);
    assert_int_equal(json_object_len(v), 4);
    assert_string_equal(json_object_key(v, 0), "z");
    assert_string_equal(json_object_key(v, 1), "a");
    assert_string_equal(json_object_key(v, 3), "e");
    assert_true(json_number(json_array_at(json_get(json_get(v, "a"), "b"), 1)) == 3.0);
    assert_int_equal(json_object_len(json_get(v, "m")), 0);
    assert_int_equal(json_array_len(json_get(v, "e")), 0);
    /* Missing links give NULL / NAN instead of crashing. */
    assert_null(json_get(v, "nope"));
    assert_null(json_get(json_get(v, "nope"), "deeper"));
    assert_true(isnan(json_number(json_get(v, "nope"))));
    assert_null(json_get(json_get(v, "z"), "x"));
    json_free(v);
}

static void test_string_escapes(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *v = json_parse_string(
        "\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20ac \\ud83d\\ude00 \\u0041\"", &err);
    assert_non_null(v);
    assert_string_equal(json_string(v),
                        "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 A");
    json_free(v);
}

/* Each malformed input fails with the position of the problem. */
static void expect_error(const char *text, const char *where)
{
    cx_error err = {0};
    json_value *v = json_parse_string(text, &err);
    assert_null(v);
    assert_int_equal(err.code, CX_EUSAGE);
    if (!strstr(err.msg, where))
        fail_msg("error for %s was \"%s\", expected it to contain \"%s\"", text, err.msg, where);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("{\"a\": 1,\n  \"b\" 2}", "line 2, column 7");
    expect_error("[1, 2", "line 1, column 6");
    expect_error("[1 2]", "expected ',' or ']'");
    expect_error("{\"a\": tru}", "line 1, column 7");
    expect_error("\"abc", "unterminated string");
    expect_error("\"\\x\"", "invalid escape");
    expect_error("\"\\ud83d\"", "surrogate");
    expect_error("[1] x", "unexpected text");
    expect_error("", "unexpected end");
    expect_error("{1: 2}", "expected a string key");
    expect_error("-x", "expected a digit");
}

static void test_file(void **state)
{
    (void)state;
    const char *path = CX_BINARY_DIR "/test_json_sample.json";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\n  \"case\": \"demo\",\n  \"rows\": [{\"est\": 0.5, \"se\": null}]\n}\n", f);
    fclose(f);
    cx_error err = {0};
    json_value *v = json_parse_file(path, &err);
    assert_non_null(v);
    assert_string_equal(json_string(json_get(v, "case")), "demo");
    const json_value *row = json_array_at(json_get(v, "rows"), 0);
    assert_true(json_number(json_get(row, "est")) == 0.5);
    assert_true(isnan(json_number(json_get(row, "se"))));
    json_free(v);
    remove(path);

    assert_null(json_parse_file(CX_BINARY_DIR "/no/such/file.json", &err));
    assert_int_equal(err.code, CX_EIO);
    assert_non_null(strstr(err.msg, "no/such/file.json"));
}

/* The committed lavaan reference parses and has the agreed shape. */
static void test_reference_file(void **state)
{
    (void)state;
    cx_error err = {0};
    json_value *v = json_parse_file(CX_SOURCE_DIR "/tests/reference/hs_cfa_ml.json", &err);
    if (!v)
        fail_msg("%s", err.msg);
    assert_string_equal(json_string(json_get(v, "case")), "hs_cfa_ml");
    assert_true(json_number(json_get(v, "nobs")) == 301.0);
    const json_value *est = json_get(v, "estimates");
    assert_true(json_array_len(est) >= 21);
    const json_value *x2 = json_array_at(est, 1);
    assert_string_equal(json_string(json_get(x2, "rhs")), "x2");
    assert_true(fabs(json_number(json_get(x2, "est")) - 0.5535) < 1e-4);
    assert_true(json_number(json_get(json_get(v, "fit"), "df")) == 24.0);
    json_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_number_round_trip),
        cmocka_unit_test(test_objects_keep_order),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_reference_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
