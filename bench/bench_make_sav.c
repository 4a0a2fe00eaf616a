/*
 * bench_make_sav.c — write a survey-shaped SPSS file for bench_import.sh.
 *
 * Usage: bench_make_sav OUT.sav [ROWS] [--zsav]
 * Columns (the shape of a CX tracker export): `id`; 20 Likert items
 * q1..q20 on 1..5 with value labels, scale measure and 9 = "Don't know"
 * user-missing (~2 % of cells); `nps` 0..10 with a 98-99 missing range;
 * 3 nominal labelled variables (region 1..8, channel 1..4, segment 1..6);
 * 4 float64 measures; a date; a short string.  31 columns in all.
 * Written with ReadStat's writer (bytecode-compressed, as SPSS writes by
 * default; --zsav for zlib).  Deterministic: the same ROWS give the same
 * file.
 */
#include <math.h>
#include <readstat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ssize_t write_bytes(const void *data, size_t len, void *ctx)
{
    return (ssize_t)fwrite(data, 1, len, (FILE *)ctx);
}

/* xorshift64*: fast, reproducible, good enough for benchmark data. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static readstat_label_set_t *labels(readstat_writer_t *w, const char *name, int n,
                                    const char *const *texts)
{
    readstat_label_set_t *s = readstat_add_label_set(w, READSTAT_TYPE_DOUBLE, name);
    for (int i = 0; i < n; i++)
        readstat_label_double_value(s, i + 1, texts[i]);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_make_sav OUT.sav [ROWS] [--zsav]\n");
        return 2;
    }
    long rows = argc > 2 && argv[2][0] != '-' ? atol(argv[2]) : 1000000;
    int zsav = argc > 2 && strcmp(argv[argc - 1], "--zsav") == 0;
    FILE *f = fopen(argv[1], "wb");
    if (!f) {
        perror(argv[1]);
        return 3;
    }
    readstat_writer_t *w = readstat_writer_init();
    readstat_set_data_writer(w, write_bytes);
    readstat_writer_set_compression(w, zsav ? READSTAT_COMPRESS_BINARY : READSTAT_COMPRESS_ROWS);

    static const char *const agree[] = {"Strongly disagree", "Disagree", "Neutral", "Agree",
                                        "Strongly agree"};
    static const char *const regions[] = {"North", "North-East", "East", "South-East",
                                          "South", "South-West", "West", "North-West"};
    static const char *const channels[] = {"Store", "Web", "App", "Phone"};
    static const char *const segments[] = {"A", "B", "C", "D", "E", "F"};
    readstat_label_set_t *agree_set = labels(w, "agree", 5, agree);
    readstat_label_double_value(agree_set, 9, "Don't know");
    readstat_label_set_t *nominal_sets[3] = {labels(w, "region", 8, regions),
                                             labels(w, "channel", 4, channels),
                                             labels(w, "segment", 6, segments)};

    readstat_variable_t *id = readstat_add_variable(w, "id", READSTAT_TYPE_DOUBLE, 0);
    readstat_variable_t *q[20];
    for (int k = 0; k < 20; k++) {
        char name[8], label[64];
        snprintf(name, sizeof name, "q%d", k + 1);
        snprintf(label, sizeof label, "Statement %d about the service", k + 1);
        q[k] = readstat_add_variable(w, name, READSTAT_TYPE_DOUBLE, 0);
        readstat_variable_set_label(q[k], label);
        readstat_variable_set_label_set(q[k], agree_set);
        readstat_variable_set_measure(q[k], READSTAT_MEASURE_SCALE);
        readstat_variable_add_missing_double_value(q[k], 9);
    }
    readstat_variable_t *nps = readstat_add_variable(w, "nps", READSTAT_TYPE_DOUBLE, 0);
    readstat_variable_add_missing_double_range(nps, 98, 99);
    static const char *const nominal_names[3] = {"region", "channel", "segment"};
    readstat_variable_t *nominal[3];
    for (int k = 0; k < 3; k++) {
        nominal[k] = readstat_add_variable(w, nominal_names[k], READSTAT_TYPE_DOUBLE, 0);
        readstat_variable_set_label_set(nominal[k], nominal_sets[k]);
        readstat_variable_set_measure(nominal[k], READSTAT_MEASURE_NOMINAL);
    }
    readstat_variable_t *measure[4];
    for (int k = 0; k < 4; k++) {
        char name[8];
        snprintf(name, sizeof name, "m%d", k + 1);
        measure[k] = readstat_add_variable(w, name, READSTAT_TYPE_DOUBLE, 0);
        readstat_variable_set_format(measure[k], "F10.4");
    }
    readstat_variable_t *day = readstat_add_variable(w, "day", READSTAT_TYPE_DOUBLE, 0);
    readstat_variable_set_format(day, "DATE11");
    readstat_variable_t *code = readstat_add_variable(w, "code", READSTAT_TYPE_STRING, 4);

    if (readstat_begin_writing_sav(w, f, rows) != READSTAT_OK) {
        fprintf(stderr, "bench_make_sav: cannot start writing\n");
        return 3;
    }
    for (long r = 0; r < rows; r++) {
        readstat_begin_row(w);
        readstat_insert_double_value(w, id, (double)(r + 1));
        double trait = uniform() + uniform() + uniform() - 1.5;
        for (int k = 0; k < 20; k++) {
            double x =
                uniform() < 0.02 ? 9 : fmin(5, fmax(1, round(3 + 1.5 * trait + uniform() - 0.5)));
            readstat_insert_double_value(w, q[k], x);
        }
        double u = uniform();
        readstat_insert_double_value(w, nps, u < 0.03 ? 98 + (u < 0.015) : round(10 * uniform()));
        for (int k = 0; k < 3; k++)
            readstat_insert_double_value(w, nominal[k],
                                         1 + floor(uniform() * (k == 0   ? 8
                                                                : k == 1 ? 4
                                                                         : 6)));
        for (int k = 0; k < 4; k++)
            readstat_insert_double_value(w, measure[k], 100 * uniform() + trait);
        readstat_insert_double_value(w, day, (141428.0 + 20000 + floor(365 * uniform())) * 86400);
        char s[5] = {(char)('A' + (int)(uniform() * 26)), (char)('A' + (int)(uniform() * 26)), 0};
        readstat_insert_string_value(w, code, s);
        readstat_end_row(w);
    }
    int ok = readstat_end_writing(w) == READSTAT_OK;
    readstat_writer_free(w);
    fclose(f);
    return ok ? 0 : 3;
}
