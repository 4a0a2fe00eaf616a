/*
 * config.c — reading the study config (INI) into sections and keys.
 *
 * The INI dialect is small and the contract needs things libinih (as
 * Debian builds it) cannot give: lines of any length (its INI_MAX_LINE is
 * 200, fixed at compile time), the line number of every key, ';' kept
 * inside values (lavaan separates formulas with it; inih's compile-time
 * inline-comment rule would cut "F =~ a + b ; G =~ c + d" silently), and a
 * UTF-8 byte-order mark before the first section.  So the file is read
 * here, line by line (docs/DECISIONS.md, "Config"):
 *   - a line whose first non-blank character is '#' or ';' is a comment;
 *   - after a value, '#' preceded by a blank and outside quotes starts a
 *     comment; ';' is an ordinary character;
 *   - an indented line after a key continues its value (joined with '\n');
 *   - LF or CRLF line ends, an optional UTF-8 BOM.
 * Errors name the file, the line and the key, and say what was expected.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parse_state {
    const char *path;
    int lineno;            /* line being read, 1-based                  */
    cx_config_key *last;   /* key an indented line would continue       */
    size_t last_len;       /* strlen(last->value)                       */
    size_t last_cap;       /* bytes allocated for last->value           */
    cx_config *config;
    cx_error *err;
    int failed;
} parse_state;

static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
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

/* Cut a '#' comment that follows a blank (or starts the value), unless the
 * '#' sits inside a quoted string closed on the same line: `where =
 * segment == 'a #1'` keeps its label.  ';' never starts a comment here. */
static void strip_inline_comment(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '\'' || *p == '"') {
            char *close = strchr(p + 1, *p);
            if (close)
                p = close;
        } else if (*p == '#' && (p == s || is_blank((unsigned char)p[-1]))) {
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

/* A name as it may be shown in a one-line message: control and non-ASCII
 * bytes as \xNN, at most `n` - 1 bytes. */
static void printable(const char *name, char *out, size_t n)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && o + 5 < n; p++) {
        if (*p >= 0x20 && *p < 0x7f)
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", *p);
    }
    out[o] = '\0';
}

/* Job names become HDF5 group names at the results file's root and appear
 * in `@JOB/TABLE` references and on command lines: see
 * docs/DECISIONS.md ("Job names"). */
static int valid_job_name(const char *name)
{
    /* ASCII by hand: isalnum() would follow the locale (Latin-1 letters) */
    size_t n = strlen(name);
    if (n == 0 || n > CX_JOB_NAME_MAX || name[0] == '-' || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
        if (!ok)
            return 0;
    }
    return 1;
}

/* Open a new section named as written between []. */
static void open_section(parse_state *st, const char *section)
{
    cx_config *c = st->config;
    int is_job = strncmp(section, "job", 3) == 0 && (section[3] == '\0' || is_blank(section[3]));
    const char *name = is_job ? section + 3 : section;
    while (is_blank((unsigned char)*name))
        name++;
    char shown[4 * CX_JOB_NAME_MAX + 16];
    printable(name, shown, sizeof shown);
    if (is_job && !valid_job_name(name)) {
        state_error(st,
                    "job name '%s' is not allowed: use 1 to %d letters, digits, '_', '-' or '.', "
                    "starting with a letter, digit or '_'",
                    shown, CX_JOB_NAME_MAX);
        return;
    }
    if (!is_job && strcmp(name, "data") != 0 && strcmp(name, "output") != 0) {
        state_error(st, "unknown section [%s]; expected [data], [output] or [job NAME]", shown);
        return;
    }
    for (size_t i = 0; i < c->n_sections; i++) {
        if (c->sections[i].is_job == is_job && strcmp(c->sections[i].name, name) == 0) {
            state_error(st, "section [%s%s] appears twice (first at line %d)",
                        is_job ? "job " : "", shown, c->sections[i].line);
            return;
        }
    }
    cx_config_section *grown = realloc(c->sections, (c->n_sections + 1) * sizeof *grown);
    if (!grown) {
        state_error(st, "out of memory");
        return;
    }
    c->sections = grown;
    cx_config_section *s = &c->sections[c->n_sections++];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    s->is_job = is_job;
    s->line = st->lineno;
    if (!s->name)
        state_error(st, "out of memory");
}

/* "[NAME]" optionally followed by a comment; `start` is at the '['. */
static void read_section_header(parse_state *st, char *start)
{
    char *close = strchr(start, ']');
    if (!close) {
        state_error(st, "expected ']' closing the section header");
        return;
    }
    const char *rest = close + 1;
    while (is_blank((unsigned char)*rest))
        rest++;
    if (*rest && *rest != '#' && *rest != ';') {
        state_error(st, "unexpected text after the section header ']'");
        return;
    }
    *close = '\0';
    trim_in_place(start + 1);
    open_section(st, start + 1);
}

static void add_key(parse_state *st, cx_config_section *s, const char *name, const char *value)
{
    for (size_t i = 0; i < s->n_keys; i++) {
        if (strcmp(s->keys[i].key, name) == 0) {
            state_error(st, "key '%s' appears twice in [%s%s] (first at line %d)", name,
                        s->is_job ? "job " : "", s->name, s->keys[i].line);
            return;
        }
    }
    cx_config_key *grown = realloc(s->keys, (s->n_keys + 1) * sizeof *grown);
    if (!grown) {
        state_error(st, "out of memory");
        return;
    }
    s->keys = grown;
    cx_config_key *k = &s->keys[s->n_keys++];
    k->key = strdup(name);
    k->value = strdup(value);
    k->line = st->lineno;
    k->used = 0;
    if (!k->key || !k->value)
        state_error(st, "out of memory");
    st->last = k;
    st->last_len = strlen(value);
    st->last_cap = st->last_len + 1;
}

/* Values grow by doubling: a 100,000-line value costs linear time (and
 * under ASan, whose realloc always copies, linear memory). */
static void append_continuation(parse_state *st, const char *value)
{
    cx_config_key *k = st->last;
    size_t old = st->last_len, add = strlen(value);
    if (add == 0)
        return;
    if (old + add + 2 > st->last_cap) {
        size_t cap = 2 * st->last_cap > old + add + 2 ? 2 * st->last_cap : old + add + 2;
        char *grown = realloc(k->value, cap);
        if (!grown) {
            state_error(st, "out of memory");
            return;
        }
        k->value = grown;
        st->last_cap = cap;
    }
    if (old > 0)
        k->value[old++] = '\n';
    memcpy(k->value + old, value, add + 1);
    st->last_len = old + add;
}

/* "key = value"; `start` is at the key's first character. */
static void read_key_line(parse_state *st, char *start)
{
    char *eq = strchr(start, '=');
    if (!eq) {
        state_error(st, "expected 'key = value', a [section] header or an indented "
                        "continuation line");
        return;
    }
    *eq = '\0';
    char *value = eq + 1;
    trim_in_place(start);
    strip_inline_comment(value);
    if (!*start) {
        state_error(st, "expected a key name before '='");
        return;
    }
    if (st->config->n_sections == 0) {
        state_error(st, "key outside any section; start with [data], [output] or [job NAME]");
        return;
    }
    add_key(st, &st->config->sections[st->config->n_sections - 1], start, value);
}

/* One physical line (no line break; may be modified). */
static void read_line(parse_state *st, char *line)
{
    char *start = line;
    while (is_blank((unsigned char)*start))
        start++;
    if (*start == '\0' || *start == '#' || *start == ';')
        return; /* blank or comment: a value may continue after it */
    if (start > line && st->last) {
        strip_inline_comment(start);
        append_continuation(st, start);
    } else if (*start == '[') {
        st->last = NULL;
        read_section_header(st, start);
    } else {
        read_key_line(st, start);
    }
}

/* Split `text` into lines (LF or CRLF; a CR anywhere else is refused, as
 * old Mac files would otherwise read as one line) and read each; a UTF-8
 * byte-order mark before the first line is skipped. */
static void read_lines(parse_state *st, const char *text)
{
    if (strncmp(text, "\xEF\xBB\xBF", 3) == 0)
        text += 3;
    char *line = NULL;
    size_t cap = 0;
    while (*text && !st->failed) {
        const char *end = strchr(text, '\n');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        if (len + 1 > cap) {
            char *grown = realloc(line, len + 1);
            if (!grown) {
                state_error(st, "out of memory");
                break;
            }
            line = grown;
            cap = len + 1;
        }
        memcpy(line, text, len);
        line[len] = '\0';
        st->lineno++;
        if (len > 0 && line[len - 1] == '\r')
            line[len - 1] = '\0'; /* CRLF */
        if (strchr(line, '\r'))
            state_error(st, "carriage return inside a line; save the file with LF or CRLF "
                            "line ends");
        else
            read_line(st, line);
        text += len + (end != NULL);
    }
    free(line);
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
    parse_state st = {.path = path, .config = c, .err = err};
    read_lines(&st, c->text);
    if (st.failed) {
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

/* A value that looks like it carries a ';' comment gets a hint: ';' is
 * kept inside values (lavaan syntax uses it), so "42 ; the seed" is not 42. */
static const char *semicolon_hint(const char *v)
{
    return strchr(v, ';') ? " (';' does not start a comment after a value; use '#')" : "";
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
                               "expected a whole number from %ld to %ld, found '%s'%s", min, max, v,
                               semicolon_hint(v));
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
                               "expected a number from %g to %g, found '%s'%s", min, max, v,
                               semicolon_hint(v));
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
    return cx_config_error(c, s, key, err, CX_EUSAGE, "expected yes or no, found '%s'%s", v,
                           semicolon_hint(v));
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
    return cx_config_error(c, s, key, err, CX_EUSAGE, "expected %s, found '%s'%s%s%s%s", list, v,
                           hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "",
                           semicolon_hint(v));
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
