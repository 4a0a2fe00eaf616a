/*
 * config.h — the study config file (INI, shared/DESIGN.md §4).
 *
 * config.c reads the INI dialect itself (see its header for the rules):
 * line numbers for every key, lines of any length, multi-line values joined
 * with '\n', '#' comments after values (';' is kept inside values), an
 * optional UTF-8 BOM, duplicate and unknown sections, and the typed
 * accessors models use to read their keys.  Every error names the file,
 * the line and the key and says what was expected.
 */
#ifndef CX_CONFIG_H
#define CX_CONFIG_H

#include <stddef.h>

#include "cx_error.h"

/* Longest job name in bytes (job names become HDF5 group names). */
#define CX_JOB_NAME_MAX 64

typedef struct cx_config_key {
    char *key;
    char *value; /* continuation lines joined with '\n', trimmed */
    int line;    /* line of the key in the file                  */
    int used;    /* set by accessors; unread keys are reported   */
} cx_config_key;

/* One [section]: [data], [output] or [job NAME]. */
typedef struct cx_config_section {
    char *name; /* for jobs: the job name; else "data" / "output" */
    int is_job;
    int line;
    cx_config_key *keys;
    size_t n_keys;
} cx_config_section;

typedef struct cx_config {
    char *path;                /* as given on the command line           */
    char *dir;                 /* directory of the file: relative paths  */
    char *text;                /* the whole file, stored in results      */
    cx_config_section *data;   /* may be NULL                            */
    cx_config_section *output; /* may be NULL                            */
    cx_config_section *jobs;   /* n_jobs, in file order                  */
    size_t n_jobs;
    cx_config_section *sections; /* all sections (owner)                  */
    size_t n_sections;
} cx_config;

cx_config *cx_config_load(const char *path, cx_error *err);
/* Parse from memory (tests, fuzzing); `path` is used in messages only. */
cx_config *cx_config_parse_string(const char *text, const char *path, cx_error *err);
void cx_config_free(cx_config *c);

/* Key lookup in a section: NULL when absent.  Marks the key used. */
const cx_config_key *cx_section_find(const cx_config_section *s, const char *key);
const char *cx_section_get(const cx_config_section *s, const char *key);

/* "FILE:LINE: job 'NAME', key 'KEY': <message>" with the key's line (or the
 * section's line when the key is absent).  Returns `code`. */
int cx_config_error(const cx_config *c, const cx_config_section *s, const char *key, cx_error *err,
                    int code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Typed accessors; each returns CX_OK, or CX_EUSAGE with a located message.
 * A missing key leaves *out at the default the caller put there. */
int cx_section_get_long(const cx_config *c, const cx_config_section *s, const char *key, long min,
                        long max, long *out, cx_error *err);
int cx_section_get_double(const cx_config *c, const cx_config_section *s, const char *key,
                          double min, double max, double *out, cx_error *err);
int cx_section_get_bool(const cx_config *c, const cx_config_section *s, const char *key, int *out,
                        cx_error *err);
/* One of `choices` (NULL-terminated); *out is the index. */
int cx_section_get_choice(const cx_config *c, const cx_config_section *s, const char *key,
                          const char *const *choices, int *out, cx_error *err);

/* Split a value into whitespace-separated words (newlines count as
 * whitespace).  Returns a NULL-terminated array; free with cx_words_free. */
char **cx_words_split(const char *value, size_t *n, cx_error *err);
void cx_words_free(char **words);

/* The closest of `candidates` (NULL-terminated) to `word` by edit distance,
 * or NULL when none is close: for "did you mean" hints. */
const char *cx_did_you_mean(const char *word, const char *const *candidates);

#endif
