/*
 * test_error.c — cx_error: messages that quote or extend themselves stay
 * intact (issue 12 item 13: a message formatted into its own buffer came
 * out as "starting values: starting values: lar"), and every message stays
 * NUL-terminated inside its buffer whatever the lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cx_error.h"

static const char *original = "group 1: implied covariance matrix is not positive definite";

static void test_set_quoting_itself(void **state)
{
    (void)state;
    cx_error err;
    cx_error_set(&err, CX_EUSAGE, "%s", original);
    assert_int_equal(cx_error_set(&err, CX_EFAIL, "starting values: %s", err.msg), CX_EFAIL);
    assert_string_equal(err.msg,
                        "starting values: group 1: implied covariance matrix is not positive "
                        "definite");
    assert_int_equal(err.code, CX_EFAIL);
    /* the message twice, both copies whole */
    cx_error_set(&err, CX_EIO, "abc");
    cx_error_set(&err, CX_EIO, "%s-%s", err.msg, err.msg);
    assert_string_equal(err.msg, "abc-abc");
}

static void test_wrap_and_prefix(void **state)
{
    (void)state;
    cx_error err;
    cx_error_set(&err, CX_EUSAGE, "%s", original);
    assert_int_equal(cx_error_wrap(&err, CX_EFAIL, "starting values"), CX_EFAIL);
    assert_int_equal(err.code, CX_EFAIL);
    assert_string_equal(err.msg,
                        "starting values: group 1: implied covariance matrix is not positive "
                        "definite");
    cx_error_prefix(&err, "job '%s'", "a");
    assert_int_equal(err.code, CX_EFAIL);
    assert_string_equal(err.msg, "job 'a': starting values: group 1: implied covariance matrix "
                                 "is not positive definite");
    /* the prefix may quote the message too */
    cx_error_set(&err, CX_EIO, "x");
    cx_error_prefix(&err, "%s%s", err.msg, err.msg);
    assert_string_equal(err.msg, "xx: x");
    /* NULL is allowed everywhere */
    assert_int_equal(cx_error_wrap(NULL, CX_EIO, "ctx"), CX_EIO);
    cx_error_prefix(NULL, "ctx");
}

/* Prefixes and messages of every length near the buffer size: the result
 * is always terminated inside the buffer and starts with the prefix. */
static void test_lengths(void **state)
{
    (void)state;
    static const size_t lengths[] = {0, 1, 500, 1019, 1020, 1021, 1022, 1023, 1024, 3000};
    char *long_text = malloc(4000);
    assert_non_null(long_text);
    for (size_t a = 0; a < sizeof lengths / sizeof lengths[0]; a++)
        for (size_t b = 0; b < sizeof lengths / sizeof lengths[0]; b++) {
            cx_error err;
            memset(long_text, 'm', lengths[a]);
            long_text[lengths[a]] = '\0';
            cx_error_set(&err, CX_EIO, "%s", long_text);
            assert_int_equal(strlen(err.msg), lengths[a] < 1023 ? lengths[a] : 1023);
            memset(long_text, 'p', lengths[b]);
            long_text[lengths[b]] = '\0';
            cx_error_wrap(&err, CX_EFAIL, "%s", long_text);
            size_t len = strnlen(err.msg, sizeof err.msg);
            assert_true(len < sizeof err.msg);
            size_t p = lengths[b] < 1021 ? lengths[b] : 1021;
            assert_true(len >= p + 2);
            assert_memory_equal(err.msg, long_text, p);
            assert_int_equal(err.msg[p], ':');
        }
    free(long_text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_quoting_itself),
        cmocka_unit_test(test_wrap_and_prefix),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
