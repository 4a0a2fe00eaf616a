/* Keeps the test-support library non-empty before helpers exist. */
int cx_test_support_dummy(void);
int cx_test_support_dummy(void)
{
    return 0;
}
