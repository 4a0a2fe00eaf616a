/*
 * cx_error.c — error reporting helpers (see cx_error.h).
 */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#include "cx_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

int cx_error_set(cx_error *err, int code, const char *fmt, ...)
{
    if (err) {
        /* vsnprintf into the buffer an argument points into is undefined
         * (and garbles "x: %s", err->msg), so format aside, then copy. */
        char text[CX_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        memcpy(err->msg, text, sizeof err->msg);
        err->code = code;
    }
    return code;
}

/* Put "prefix: " in front of err->msg. */
static void put_prefix(cx_error *err, const char *prefix)
{
    /* Shift the old message right and put "prefix: " in front; truncate
     * at the buffer's end rather than fail. */
    size_t plen = strlen(prefix);
    if (plen + 3 >= sizeof err->msg)
        plen = sizeof err->msg - 3;
    size_t room = sizeof err->msg - plen - 2;
    size_t mlen = strnlen(err->msg, sizeof err->msg - 1);
    if (mlen >= room)
        mlen = room - 1;
    memmove(err->msg + plen + 2, err->msg, mlen);
    err->msg[plen + 2 + mlen] = '\0';
    memcpy(err->msg, prefix, plen);
    err->msg[plen] = ':';
    err->msg[plen + 1] = ' ';
}

void cx_error_prefix(cx_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[CX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    put_prefix(err, prefix);
}

int cx_error_wrap(cx_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    char prefix[CX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    put_prefix(err, prefix);
    err->code = code;
    return code;
}

void cx_error_clear(cx_error *err)
{
    if (err) {
        err->code = CX_OK;
        err->msg[0] = '\0';
    }
}

void *cx_malloc_block_buffer(size_t size, cx_error *err)
{
    const size_t huge = (size_t)2 << 20;
    if (size < huge)
        return cx_malloc(size, err);
    void *p = NULL;
    size_t rounded = (size + huge - 1) / huge * huge;
    if (posix_memalign(&p, huge, rounded) != 0) {
        cx_error_set(err, CX_ENOMEM, "out of memory allocating %zu bytes", size);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE); /* a hint: failure only costs speed */
#endif
    return p;
}

void *cx_malloc(size_t size, cx_error *err)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        cx_error_set(err, CX_ENOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *cx_calloc(size_t count, size_t size, cx_error *err)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        cx_error_set(err, CX_ENOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

char *cx_strdup(const char *s, cx_error *err)
{
    size_t n = strlen(s) + 1;
    char *p = cx_malloc(n, err);
    if (p)
        memcpy(p, s, n);
    return p;
}
