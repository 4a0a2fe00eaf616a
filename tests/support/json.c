/*
 * json.c — recursive-descent JSON reader for tests (see json.h).
 *
 * The parser walks the text once with a cursor; each value kind has its
 * own short function.  Line and column for errors are computed from the
 * cursor only when an error happens, so the hot path stays simple.
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nesting deeper than this is surely a broken file; the limit keeps a
 * malicious or corrupt input from overflowing the C stack. */
#define JSON_MAX_DEPTH 256

typedef struct parser {
    const char *text;
    const char *p;
    int depth;
    cx_error *err;
} parser;

static json_value *parse_value(parser *ps);

/* Report an error at the cursor as "line L, column C: ...". */
static json_value *fail(parser *ps, const char *what)
{
    int line = 1, col = 1;
    for (const char *q = ps->text; q < ps->p && *q; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    cx_error_set(ps->err, CX_EUSAGE, "line %d, column %d: %s", line, col, what);
    return NULL;
}

static void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static json_value *new_value(parser *ps, json_type type)
{
    json_value *v = cx_calloc(1, sizeof *v, ps->err);
    if (v)
        v->type = type;
    return v;
}

/* Literals true, false, null. */
static json_value *parse_literal(parser *ps)
{
    static const struct {
        const char *word;
        json_type type;
        int b;
    } lits[] = {{"true", JSON_BOOL, 1}, {"false", JSON_BOOL, 0}, {"null", JSON_NULL, 0}};
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        size_t n = strlen(lits[i].word);
        if (strncmp(ps->p, lits[i].word, n) == 0) {
            json_value *v = new_value(ps, lits[i].type);
            if (v) {
                v->boolean = lits[i].b;
                ps->p += n;
            }
            return v;
        }
    }
    return fail(ps, "expected a value (object, array, string, number, true, false or null)");
}

/* Numbers follow JSON's grammar; strtod does the conversion (correctly
 * rounded in glibc, so 17-digit references round-trip exactly). */
static json_value *parse_number(parser *ps)
{
    const char *s = ps->p;
    const char *q = s;
    if (*q == '-')
        q++;
    if (*q < '0' || *q > '9')
        return fail(ps, "expected a digit");
    while ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' ||
           *q == '-')
        q++;
    char *end = NULL;
    double x = strtod(s, &end);
    if (end != q)
        return fail(ps, "malformed number");
    json_value *v = new_value(ps, JSON_NUMBER);
    if (v) {
        v->number = x;
        ps->p = q;
    }
    return v;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned u = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        u <<= 4;
        if (c >= '0' && c <= '9')
            u |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            u |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            u |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = u;
    return 0;
}

/* Append code point `cp` as UTF-8; returns bytes written (<= 4). */
static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* \uXXXX, combining a UTF-16 surrogate pair into one code point.  The
 * cursor is on the 'u'; on success it is left after the last hex digit. */
static int parse_unicode_escape(parser *ps, unsigned *cp)
{
    if (hex4(ps->p + 1, cp) != 0)
        return fail(ps, "expected 4 hex digits after \\u"), -1;
    ps->p += 5;
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
        unsigned lo;
        if (ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, &lo) != 0 || lo < 0xDC00 ||
            lo > 0xDFFF)
            return fail(ps, "unpaired UTF-16 surrogate in \\u escape"), -1;
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
        ps->p += 6;
    } else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
        return fail(ps, "unpaired UTF-16 surrogate in \\u escape"), -1;
    }
    return 0;
}

/* One escape after a backslash (cursor on the escape letter); appends the
 * decoded bytes to out and returns their count, or -1. */
static int parse_escape(parser *ps, char *out)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit = *ps->p ? strchr(from, *ps->p) : NULL;
    if (hit) {
        *out = to[hit - from];
        ps->p++;
        return 1;
    }
    if (*ps->p != 'u')
        return fail(ps, "invalid escape in string"), -1;
    unsigned cp;
    if (parse_unicode_escape(ps, &cp) != 0)
        return -1;
    return (int)put_utf8(out, cp);
}

/* A string; the decoded form is never longer than the source text, so one
 * buffer of the raw length suffices. */
static char *parse_string_raw(parser *ps, size_t *len)
{
    ps->p++; /* opening quote */
    const char *end = ps->p;
    while (*end && *end != '"')
        end += (*end == '\\' && end[1]) ? 2 : 1;
    char *buf = cx_malloc((size_t)(end - ps->p) + 1, ps->err);
    if (!buf)
        return NULL;
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '\0' || c < 0x20) {
            free(buf);
            fail(ps, c ? "control character in string" : "unterminated string");
            return NULL;
        }
        if (c == '\\') {
            ps->p++;
            int k = parse_escape(ps, buf + n);
            if (k < 0) {
                free(buf);
                return NULL;
            }
            n += (size_t)k;
        } else {
            buf[n++] = (char)c;
            ps->p++;
        }
    }
    ps->p++; /* closing quote */
    buf[n] = '\0';
    *len = n;
    return buf;
}

static json_value *parse_string(parser *ps)
{
    size_t len = 0;
    char *s = parse_string_raw(ps, &len);
    if (!s)
        return NULL;
    json_value *v = new_value(ps, JSON_STRING);
    if (!v) {
        free(s);
        return NULL;
    }
    v->string = s;
    v->len = len;
    return v;
}

/* Grow the element arrays of an array/object by one slot. */
static int push(parser *ps, json_value *c, json_value *item, char *key)
{
    json_value **items = realloc(c->items, (c->len + 1) * sizeof *items);
    if (!items)
        return cx_error_set(ps->err, CX_ENOMEM, "out of memory");
    c->items = items;
    if (c->type == JSON_OBJECT) {
        char **keys = realloc(c->keys, (c->len + 1) * sizeof *keys);
        if (!keys)
            return cx_error_set(ps->err, CX_ENOMEM, "out of memory");
        c->keys = keys;
        c->keys[c->len] = key;
    }
    c->items[c->len++] = item;
    return CX_OK;
}

/* One object member "key": value; appended to obj. */
static int parse_member(parser *ps, json_value *obj)
{
    skip_ws(ps);
    if (*ps->p != '"')
        return fail(ps, "expected a string key"), -1;
    size_t klen;
    char *key = parse_string_raw(ps, &klen);
    if (!key)
        return -1;
    skip_ws(ps);
    if (*ps->p != ':') {
        free(key);
        return fail(ps, "expected ':' after object key"), -1;
    }
    ps->p++;
    json_value *val = parse_value(ps);
    if (!val || push(ps, obj, val, key) != CX_OK) {
        free(key);
        json_free(val);
        return -1;
    }
    return 0;
}

static int parse_element(parser *ps, json_value *arr)
{
    json_value *val = parse_value(ps);
    if (!val || push(ps, arr, val, NULL) != CX_OK) {
        json_free(val);
        return -1;
    }
    return 0;
}

/* Arrays and objects share the loop: elements separated by ',' up to the
 * closing bracket. */
static json_value *parse_container(parser *ps, json_type type)
{
    char close = type == JSON_OBJECT ? '}' : ']';
    if (++ps->depth > JSON_MAX_DEPTH)
        return fail(ps, "nesting too deep");
    json_value *c = new_value(ps, type);
    if (!c)
        return NULL;
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        ps->depth--;
        return c;
    }
    for (;;) {
        int rc = type == JSON_OBJECT ? parse_member(ps, c) : parse_element(ps, c);
        if (rc != 0)
            break;
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            ps->depth--;
            return c;
        }
        fail(ps, type == JSON_OBJECT ? "expected ',' or '}' in object"
                                     : "expected ',' or ']' in array");
        break;
    }
    json_free(c);
    return NULL;
}

static json_value *parse_value(parser *ps)
{
    skip_ws(ps);
    switch (*ps->p) {
    case '{':
        return parse_container(ps, JSON_OBJECT);
    case '[':
        return parse_container(ps, JSON_ARRAY);
    case '"':
        return parse_string(ps);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return parse_number(ps);
    case '\0':
        return fail(ps, "unexpected end of input");
    default:
        return parse_literal(ps);
    }
}

json_value *json_parse_string(const char *text, cx_error *err)
{
    parser ps = {text, text, 0, err};
    json_value *v = parse_value(&ps);
    if (!v)
        return NULL;
    skip_ws(&ps);
    if (*ps.p != '\0') {
        json_free(v);
        return fail(&ps, "unexpected text after the JSON value");
    }
    return v;
}

/* Slurp a whole file into a NUL-terminated buffer. */
static char *read_file(const char *path, cx_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cx_error_set(err, CX_EIO, "%s: cannot open", path);
        return NULL;
    }
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = cx_malloc((size_t)size + 1, err);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) {
        cx_error_set(err, CX_EIO, "%s: cannot read", path);
        return NULL;
    }
    buf[size] = '\0';
    return buf;
}

json_value *json_parse_file(const char *path, cx_error *err)
{
    char *text = read_file(path, err);
    if (!text)
        return NULL;
    json_value *v = json_parse_string(text, err);
    free(text);
    if (!v)
        cx_error_prefix(err, "%s", path);
    return v;
}

void json_free(json_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->len && v->items; i++) {
        json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

json_type json_type_of(const json_value *v)
{
    return v ? v->type : JSON_NULL;
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT || !key)
        return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}

size_t json_object_len(const json_value *obj)
{
    return obj && obj->type == JSON_OBJECT ? obj->len : 0;
}

const char *json_object_key(const json_value *obj, size_t i)
{
    return i < json_object_len(obj) ? obj->keys[i] : NULL;
}

const json_value *json_object_value(const json_value *obj, size_t i)
{
    return i < json_object_len(obj) ? obj->items[i] : NULL;
}

size_t json_array_len(const json_value *arr)
{
    return arr && arr->type == JSON_ARRAY ? arr->len : 0;
}

const json_value *json_array_at(const json_value *arr, size_t i)
{
    return i < json_array_len(arr) ? arr->items[i] : NULL;
}

double json_number(const json_value *v)
{
    return v && v->type == JSON_NUMBER ? v->number : NAN;
}

const char *json_string(const json_value *v)
{
    return v && v->type == JSON_STRING ? v->string : NULL;
}

int json_bool(const json_value *v)
{
    return v && v->type == JSON_BOOL ? v->boolean : -1;
}
