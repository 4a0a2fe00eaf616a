/*
 * config.c — reading the study config (INI) into sections and keys.
 *
 * libinih does the tokenising.  We feed it lines through our own reader so
 * that we know the line number of every key (inih does not pass it to the
 * handler), can refuse over-long lines instead of letting inih split them,
 * and we add what the contract asks beyond inih: '#' comments after
 * values, multi-line values joined with '\n', [job NAME] sections, and
 * duplicate/unknown section and key errors that name file, line and key.
 */
#include "config.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* inih is built with 200-character lines (INI_MAX_LINE). */
#define CONFIG_MAX_LINE 200

typedef struct parse_state {
    const char *path;
    const char *text; /* next unread character */
    int lineno;       /* line most recently handed to inih */
    int line_too_long;
    cx_config *config;
    cx_error *err;
    int failed;
} parse_state;

static cx_config_section *open_section(parse_state *st, const char *section);
static void trim_in_place(char *s);

/* inih does not tell us when a section starts (it is built without
 * INI_CALL_HANDLER_ON_NEW_SECTION), so the reader spots header lines and
 * opens the section itself: that way a repeated or empty section is seen. */
static void note_section_header(parse_state *st, const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    const char *close = line[0] == '[' ? strchr(line, ']') : NULL;
    if (!close)
        return;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(close - line - 1), line + 1);
    trim_in_place(name);
    open_section(st, name);
}

/* ini_reader: hand inih one line, counting lines as we go. */
static char *read_line(char *str, int num, void *stream)
{
    parse_state *st = stream;
    if (st->failed || *st->text == '\0')
        return NULL;
    const char *end = strchr(st->text, '\n');
    size_t len = end ? (size_t)(end - st->text) + 1 : strlen(st->text);
    st->lineno++;
    if (len + 1 > (size_t)num) { /* would not fit with its NUL */
        st->line_too_long = 1;
        st->failed = 1;
        return NULL;
    }
    memcpy(str, st->text, len);
    str[len] = '\0';
    st->text += len;
    note_section_header(st, str);
    return str;
}

static void trim_in_place(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t start = 0;
    while (s[start] && isspace((unsigned char)s[start]))
        start++;
    memmove(s, s + start, n - start + 1);
}

/* Cut a '#' comment that follows whitespace (inih only knows ';'). */
static void strip_hash_comment(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            break;
        }
    }
    trim_in_place(s);
}

static int state_error(parse_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int state_error(parse_state *st, const char *fmt, ...)
{
    char msg[CX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cx_error_set(st->err, CX_EUSAGE, "%s:%d: %s", st->path, st->lineno, msg);
    st->failed = 1;
    return 0;
}

static int valid_job_name(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            return 0;
    return 1;
}

/* Open a new section named as written between [] (called by the reader). */
static cx_config_section *open_section(parse_state *st, const char *section)
{
    cx_config *c = st->config;
    if (st->failed)
        return NULL;
    int is_job = strncmp(section, "job", 3) == 0 && (section[3] == ' ' || section[3] == '\t');
    char name[256];
    snprintf(name, sizeof name, "%s", is_job ? section + 4 : section);
    trim_in_place(name);
    if (is_job && !valid_job_name(name)) {
        state_error(st, "job name '%s' must be letters, digits, '_', '-' or '.'", name);
        return NULL;
    }
    if (!is_job && strcmp(name, "data") != 0 && strcmp(name, "output") != 0) {
        state_error(st, "unknown section [%s]; expected [data], [output] or [job NAME]", section);
        return NULL;
    }
    for (size_t i = 0; i < c->n_sections; i++) {
        if (c->sections[i].is_job == is_job && strcmp(c->sections[i].name, name) == 0) {
            state_error(st, "section [%s] appears twice (first at line %d)", section,
                        c->sections[i].line);
            return NULL;
        }
    }
    cx_config_section *grown = realloc(c->sections, (c->n_sections + 1) * sizeof *grown);
    if (!grown) {
        state_error(st, "out of memory");
        return NULL;
    }
    c->sections = grown;
    cx_config_section *s = &c->sections[c->n_sections++];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    s->is_job = is_job;
    s->line = st->lineno;
    return s->name ? s : NULL;
}

static int add_key(parse_state *st, cx_config_section *s, const char *name, const char *value)
{
    /* Continuation lines never get here (handle_pair appends them). */
    for (size_t i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i].key, name) == 0)
            return state_error(st, "key '%s' appears twice in [%s%s] (first at line %d)", name,
                               s->is_job ? "job " : "", s->name, s->keys[i].line);
    cx_config_key *grown = realloc(s->keys, (s->n_keys + 1) * sizeof *grown);
    if (!grown)
        return state_error(st, "out of memory");
    s->keys = grown;
    cx_config_key *k = &s->keys[s->n_keys++];
    k->key = strdup(name);
    k->value = strdup(value);
    k->line = st->lineno;
    k->used = 0;
    return (k->key && k->value) ? 1 : state_error(st, "out of memory");
}

static int append_continuation(parse_state *st, cx_config_key *k, const char *value)
{
    size_t old = strlen(k->value), add = strlen(value);
    if (add == 0)
        return 1;
    char *grown = realloc(k->value, old + add + 2);
    if (!grown)
        return state_error(st, "out of memory");
    k->value = grown;
    if (old > 0)
        k->value[old++] = '\n';
    memcpy(k->value + old, value, add + 1);
    return 1;
}

/* Whether the current physical line starts with whitespace (continuation). */
static int line_is_continuation(const parse_state *st, const char *name)
{
    (void)name;
    /* st->text points past the current line; look back for its start. */
    const char *end = st->text;
    const char *p = end;
    if (p > st->config->text && p[-1] == '\n')
        p--;
    while (p > st->config->text && p[-1] != '\n')
        p--;
    return p < end && (*p == ' ' || *p == '\t');
}

static int handle_pair(void *user, const char *section, const char *name, const char *value)
{
    parse_state *st = user;
    if (st->failed)
        return 0;
    (void)section; /* the reader opened it: it is the last one */
    if (st->config->n_sections == 0)
        return state_error(st, "key outside any section; start with [data], [output] or "
                               "[job NAME]");
    cx_config_section *s = &st->config->sections[st->config->n_sections - 1];
    char buf[CONFIG_MAX_LINE + 1];
    snprintf(buf, sizeof buf, "%s", value);
    strip_hash_comment(buf);
    cx_config_key *last = s->n_keys ? &s->keys[s->n_keys - 1] : NULL;
    if (last && strcmp(last->key, name) == 0 && line_is_continuation(st, name))
        return append_continuation(st, last, buf);
    return add_key(st, s, name, buf);
}

static void link_sections(cx_config *c)
{
    size_t jobs = 0;
    for (size_t i = 0; i < c->n_sections; i++)
        jobs += c->sections[i].is_job;
    c->n_jobs = jobs;
    c->jobs = NULL;
    for (size_t i = 0; i < c->n_sections; i++) {
        cx_config_section *s = &c->sections[i];
        if (s->is_job && !c->jobs)
            c->jobs = s;
        else if (!s->is_job && strcmp(s->name, "data") == 0)
            c->data = s;
        else if (!s->is_job && strcmp(s->name, "output") == 0)
            c->output = s;
    }
}

/* Jobs must be contiguous in c->sections for c->jobs[i] to work: move the
 * [data]/[output] sections in front of them, keeping job order. */
static void order_sections(cx_config *c)
{
    size_t w = 0;
    for (size_t i = 0; i < c->n_sections; i++) {
        if (!c->sections[i].is_job) {
            cx_config_section tmp = c->sections[i];
            memmove(&c->sections[w + 1], &c->sections[w], (i - w) * sizeof tmp);
            c->sections[w++] = tmp;
        }
    }
}

static int check_fixed_section(const cx_config *c, const cx_config_section *s,
                               const char *const *allowed, cx_error *err)
{
    if (!s)
        return CX_OK;
    for (size_t i = 0; i < s->n_keys; i++) {
        int ok = 0;
        for (size_t j = 0; allowed[j]; j++)
            ok |= strcmp(allowed[j], s->keys[i].key) == 0;
        if (!ok) {
            const char *hint = cx_did_you_mean(s->keys[i].key, allowed);
            return cx_error_set(err, CX_EUSAGE, "%s:%d: [%s] has no key '%s'%s%s%s", c->path,
                                s->keys[i].line, s->name, s->keys[i].key,
                                hint ? " (did you mean '" : "", hint ? hint : "",
                                hint ? "'?)" : "");
        }
    }
    return CX_OK;
}

static char *directory_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 2);
    if (dir) {
        memcpy(dir, path, n ? n : 1);
        dir[n ? n : 1] = '\0';
    }
    return dir;
}

cx_config *cx_config_parse_string(const char *text, const char *path, cx_error *err)
{
    cx_config *c = calloc(1, sizeof *c);
    if (!c) {
        cx_error_set(err, CX_ENOMEM, "out of memory");
        return NULL;
    }
    c->path = strdup(path);
    c->dir = directory_of(path);
    c->text = strdup(text);
    if (!c->path || !c->dir || !c->text) {
        cx_error_set(err, CX_ENOMEM, "out of memory");
        cx_config_free(c);
        return NULL;
    }
    parse_state st = {.path = path, .text = c->text, .config = c, .err = err};
    int bad_line = ini_parse_stream(read_line, &st, handle_pair, &st);
    if (st.line_too_long) {
        cx_error_set(err, CX_EUSAGE,
                     "%s:%d: line longer than %d characters; continue the value on indented "
                     "lines",
                     path, st.lineno, CONFIG_MAX_LINE - 2);
    } else if (!st.failed && bad_line > 0) {
        cx_error_set(err, CX_EUSAGE,
                     "%s:%d: expected 'key = value', a [section] header or an indented "
                     "continuation line",
                     path, bad_line);
        st.failed = 1;
    }
    if (st.failed || st.line_too_long) {
        cx_config_free(c);
        return NULL;
    }
    order_sections(c);
    link_sections(c);
    static const char *const data_keys[] = {"file", "table", NULL};
    static const char *const output_keys[] = {"file", NULL};
    if (check_fixed_section(c, c->data, data_keys, err) ||
        check_fixed_section(c, c->output, output_keys, err)) {
        cx_config_free(c);
        return NULL;
    }
    if (c->n_jobs == 0) {
        cx_error_set(err, CX_EUSAGE, "%s: no [job NAME] section; nothing to run", path);
        cx_config_free(c);
        return NULL;
    }
    return c;
}

cx_config *cx_config_load(const char *path, cx_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cx_error_set(err, CX_EIO, "%s: cannot open config file", path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *grown = realloc(text, cap *= 2);
            if (!grown) {
                free(text);
                text = NULL;
            }
            text = grown;
        }
    }
    fclose(f);
    if (!text) {
        cx_error_set(err, CX_ENOMEM, "%s: out of memory reading config", path);
        return NULL;
    }
    text[n] = '\0';
    if (strlen(text) != n) {
        free(text);
        cx_error_set(err, CX_EUSAGE, "%s: config contains a NUL byte; expected a text file", path);
        return NULL;
    }
    cx_config *c = cx_config_parse_string(text, path, err);
    free(text);
    return c;
}

static void free_section(cx_config_section *s)
{
    for (size_t i = 0; i < s->n_keys; i++) {
        free(s->keys[i].key);
        free(s->keys[i].value);
    }
    free(s->keys);
    free(s->name);
}

void cx_config_free(cx_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_sections; i++)
        free_section(&c->sections[i]);
    free(c->sections);
    free(c->path);
    free(c->dir);
    free(c->text);
    free(c);
}

const cx_config_key *cx_section_find(const cx_config_section *s, const char *key)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->n_keys; i++) {
        if (strcmp(s->keys[i].key, key) == 0) {
            /* `used` is bookkeeping, not part of the section's meaning. */
            ((cx_config_key *)&s->keys[i])->used = 1;
            return &s->keys[i];
        }
    }
    return NULL;
}

const char *cx_section_get(const cx_config_section *s, const char *key)
{
    const cx_config_key *k = cx_section_find(s, key);
    return k ? k->value : NULL;
}

int cx_config_error(const cx_config *c, const cx_config_section *s, const char *key, cx_error *err,
                    int code, const char *fmt, ...)
{
    char msg[CX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const cx_config_key *k = NULL;
    if (s && key)
        for (size_t i = 0; i < s->n_keys && !k; i++)
            if (strcmp(s->keys[i].key, key) == 0)
                k = &s->keys[i];
    int line = k ? k->line : (s ? s->line : 0);
    const char *kind = s && s->is_job ? "job '" : "[";
    const char *close = s && s->is_job ? "'" : "]";
    if (s && key)
        return cx_error_set(err, code, "%s:%d: %s%s%s, key '%s': %s", c ? c->path : "?", line, kind,
                            s->name, close, key, msg);
    if (s)
        return cx_error_set(err, code, "%s:%d: %s%s%s: %s", c ? c->path : "?", line, kind, s->name,
                            close, msg);
    return cx_error_set(err, code, "%s: %s", c ? c->path : "?", msg);
}

int cx_section_get_long(const cx_config *c, const cx_config_section *s, const char *key, long min,
                        long max, long *out, cx_error *err)
{
    const char *v = cx_section_get(s, key);
    if (!v)
        return CX_OK;
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end != '\0' || x < min || x > max)
        return cx_config_error(c, s, key, err, CX_EUSAGE,
                               "expected a whole number from %ld to %ld, found '%s'", min, max, v);
    *out = x;
    return CX_OK;
}

int cx_section_get_double(const cx_config *c, const cx_config_section *s, const char *key,
                          double min, double max, double *out, cx_error *err)
{
    const char *v = cx_section_get(s, key);
    if (!v)
        return CX_OK;
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || !(x >= min && x <= max))
        return cx_config_error(c, s, key, err, CX_EUSAGE,
                               "expected a number from %g to %g, found '%s'", min, max, v);
    *out = x;
    return CX_OK;
}

int cx_section_get_bool(const cx_config *c, const cx_config_section *s, const char *key, int *out,
                        cx_error *err)
{
    static const char *const words[] = {"no", "yes", "false", "true", "0", "1", "off", "on", NULL};
    int idx;
    const char *v = cx_section_get(s, key);
    if (!v)
        return CX_OK;
    for (idx = 0; words[idx]; idx++)
        if (strcmp(words[idx], v) == 0) {
            *out = idx % 2;
            return CX_OK;
        }
    return cx_config_error(c, s, key, err, CX_EUSAGE, "expected yes or no, found '%s'", v);
}

int cx_section_get_choice(const cx_config *c, const cx_config_section *s, const char *key,
                          const char *const *choices, int *out, cx_error *err)
{
    const char *v = cx_section_get(s, key);
    if (!v)
        return CX_OK;
    char list[512] = "";
    for (int i = 0; choices[i]; i++) {
        if (strcmp(choices[i], v) == 0) {
            *out = i;
            return CX_OK;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? " | " : "", choices[i]);
    }
    const char *hint = cx_did_you_mean(v, choices);
    return cx_config_error(c, s, key, err, CX_EUSAGE, "expected %s, found '%s'%s%s%s", list, v,
                           hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
}

char **cx_words_split(const char *value, size_t *n, cx_error *err)
{
    size_t count = 0, cap = 8;
    char **words = calloc(cap + 1, sizeof *words);
    int failed = words == NULL;
    const char *p = value;
    while (!failed && *p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (count == cap) {
            char **grown = realloc(words, (2 * cap + 1) * sizeof *grown);
            failed = grown == NULL;
            if (failed)
                break;
            words = grown;
            cap *= 2;
        }
        words[count] = strndup(start, (size_t)(p - start));
        failed = words[count] == NULL;
        if (!failed)
            words[++count] = NULL;
    }
    if (failed) {
        cx_words_free(words);
        cx_error_set(err, CX_ENOMEM, "out of memory splitting a value");
        return NULL;
    }
    if (n)
        *n = count;
    return words;
}

void cx_words_free(char **words)
{
    if (!words)
        return;
    for (char **w = words; *w; w++)
        free(*w);
    free(words);
}
