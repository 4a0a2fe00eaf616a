/*
 * cx_error.h — how errors travel through cxfit.
 *
 * Library code never prints and never exits: a function that can fail takes
 * a `cx_error *` as its last argument, fills it with a code and a one-line
 * message, and returns the code (or NULL for allocators).  The CLI decides
 * what to print and which exit status to use.  The codes double as the
 * process exit statuses of the contract (shared/DESIGN.md §2).
 */
#ifndef CX_ERROR_H
#define CX_ERROR_H

#include <stddef.h>

enum cx_status {
    CX_OK = 0,
    CX_EFAIL = 1,  /* a model could not be fitted (job failed)           */
    CX_EUSAGE = 2, /* bad command line, config or job specification      */
    CX_EIO = 3,    /* file could not be read or written                  */
    CX_ENOMEM = 4, /* allocation failed (reported as an I/O-class error) */
    CX_ENOCONV = 5 /* optimizer did not converge (job status)            */
};

#define CX_ERROR_MSG_MAX 1024

typedef struct cx_error {
    int code;
    char msg[CX_ERROR_MSG_MAX];
} cx_error;

/* Set `err` (may be NULL) to `code` with a printf-style message; returns code.
 * The arguments may include err->msg itself (it is formatted into a
 * separate buffer first), though cx_error_wrap says that better. */
int cx_error_set(cx_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with "context: " (e.g. a job or file name). */
void cx_error_prefix(cx_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the message with "context: " and change its code; returns code
 * (`return cx_error_wrap(err, CX_EFAIL, "starting values");`). */
int cx_error_wrap(cx_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void cx_error_clear(cx_error *err);

/* Allocation helpers that report failure through `err` instead of aborting. */
void *cx_malloc(size_t size, cx_error *err);
/* For block buffers of several MB that are filled once per block: aligned
 * to 2 MB and marked for transparent huge pages, so first touching them
 * costs a few page faults instead of thousands.  Release with free(). */
void *cx_malloc_block_buffer(size_t size, cx_error *err);
void *cx_calloc(size_t count, size_t size, cx_error *err);
char *cx_strdup(const char *s, cx_error *err);

#endif
