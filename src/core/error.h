/* Error reporting: every fallible function returns a presso_status and
 * records a human-readable message in a thread-local buffer. */
#ifndef PRESSO_CORE_ERROR_H
#define PRESSO_CORE_ERROR_H

#include "presso.h"

/* Records the message (printf-style) and returns `code`, so callers can write
 * `return presso_fail(PRESSO_ERR_FORMAT, "%s: bad magic", path);`. */
presso_status presso_fail(presso_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends context to the current message ("loading x.gguf: " + old). */
presso_status presso_fail_context(presso_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void presso_clear_error(void);

/* Propagates a non-OK status to the caller. */
#define PRESSO_TRY(expr)                                                                           \
    do {                                                                                           \
        presso_status presso_try_status_ = (expr);                                                 \
        if (presso_try_status_ != PRESSO_OK) return presso_try_status_;                            \
    } while (0)

#endif
