/*
 * test_fuzz.c — deterministic mutation fuzzing of the parsers, run in every
 * CI build (and so under ASan+UBSan too).  Seeds come from
 * tests/fuzz/corpus/<target>/; each seed is mutated many times (byte
 * flips, insertions of syntax-relevant characters, deletions, splices of
 * two seeds, truncation).  The properties: no crash, no leak, and every
 * rejection is a non-empty one-line message.  Seeds are valid input, except
 * those named reject_* (hostile: 100,000-style nesting, bad job names),
 * which must be refused cleanly.  Coverage-guided fuzzing with
 * libFuzzer uses the same entry points (tests/fuzz/, -DCXFIT_FUZZ=ON).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_targets.h"

#define MAX_SEEDS 32
#define MAX_INPUT 8192
#define ROUNDS 4000

typedef struct corpus {
    uint8_t *seed[MAX_SEEDS];
    size_t size[MAX_SEEDS];
    int reject[MAX_SEEDS]; /* seed named reject_*: must be refused cleanly */
    size_t n;
} corpus;

static void load_corpus(const char *name, corpus *c)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", CX_SOURCE_DIR, name);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    memset(c, 0, sizeof *c);
    while ((e = readdir(d)) && c->n < MAX_SEEDS) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        c->seed[c->n] = malloc(MAX_INPUT);
        c->size[c->n] = fread(c->seed[c->n], 1, MAX_INPUT, f);
        c->reject[c->n] = strncmp(e->d_name, "reject_", 7) == 0;
        fclose(f);
        c->n++;
    }
    closedir(d);
    assert_true(c->n > 0);
}

static void free_corpus(corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->seed[i]);
}

static uint64_t next_random(uint64_t *s)
{ /* xorshift64*: reproducible everywhere */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* One mutant of a seed into buf; returns its length. */
static size_t mutate(const corpus *c, uint64_t *rng, uint8_t *buf)
{
    static const char interesting[] = "=~+*()[]'\"#;:\n\t -1e309|&!<>\\\xff\x80/^`,";
    size_t k = next_random(rng) % c->n;
    size_t n = c->size[k];
    memcpy(buf, c->seed[k], n);
    int edits = 1 + (int)(next_random(rng) % 8);
    for (int e = 0; e < edits; e++) {
        size_t at = n ? next_random(rng) % n : 0;
        switch (next_random(rng) % 5) {
        case 0: /* flip bits */
            if (n)
                buf[at] ^= (uint8_t)(1u << (next_random(rng) % 8));
            break;
        case 1: /* insert a character the grammar cares about */
            if (n + 1 < MAX_INPUT) {
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = (uint8_t)interesting[next_random(rng) % (sizeof interesting - 1)];
                n++;
            }
            break;
        case 2: /* delete a run */
            if (n) {
                size_t len = 1 + next_random(rng) % 16;
                if (at + len > n)
                    len = n - at;
                memmove(buf + at, buf + at + len, n - at - len);
                n -= len;
            }
            break;
        case 3: { /* splice in part of another seed */
            size_t o = next_random(rng) % c->n;
            size_t from = c->size[o] ? next_random(rng) % c->size[o] : 0;
            size_t len = c->size[o] - from;
            if (len > 64)
                len = 64;
            if (n + len < MAX_INPUT) {
                memmove(buf + at + len, buf + at, n - at);
                memcpy(buf + at, c->seed[o] + from, len);
                n += len;
            }
            break;
        }
        default: /* truncate */
            n = at;
            break;
        }
    }
    return n;
}

static void fuzz_target(const char *name, int (*target)(const uint8_t *, size_t))
{
    corpus c;
    load_corpus(name, &c);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(target(c.seed[i], c.size[i]), c.reject[i]); /* 0: accepted */
    uint8_t *buf = malloc(MAX_INPUT);
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    size_t accepted = 0;
    for (int r = 0; r < ROUNDS; r++) {
        size_t n = mutate(&c, &rng, buf);
        int rc = target(buf, n);
        if (rc < 0)
            fail_msg("%s: round %d: a rejection without a one-line message", name, r);
        accepted += rc == 0;
    }
    printf("%s: %d mutants, %zu accepted, %zu rejected cleanly\n", name, ROUNDS, accepted,
           (size_t)ROUNDS - accepted);
    free(buf);
    free_corpus(&c);
}

static void test_fuzz_config(void **state)
{
    (void)state;
    fuzz_target("config", fuzz_config);
}

static void test_fuzz_where(void **state)
{
    (void)state;
    fuzz_target("where", fuzz_where);
}

static void test_fuzz_lavaan(void **state)
{
    (void)state;
    fuzz_target("lavaan", fuzz_lavaan);
}

static void test_fuzz_formula(void **state)
{
    (void)state;
    fuzz_target("formula", fuzz_formula);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_config),
        cmocka_unit_test(test_fuzz_where),
        cmocka_unit_test(test_fuzz_lavaan),
        cmocka_unit_test(test_fuzz_formula),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
