#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { ERROR_CAPACITY = 1024 };
static _Thread_local char error_message[ERROR_CAPACITY];

const char *presso_last_error(void) { return error_message; }

void presso_clear_error(void) { error_message[0] = '\0'; }

presso_status presso_fail(presso_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return code;
}

presso_status presso_fail_context(presso_status code, const char *fmt, ...) {
    char previous[ERROR_CAPACITY];
    memcpy(previous, error_message, sizeof previous);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof error_message)
        snprintf(error_message + n, sizeof error_message - (size_t)n, "%s", previous);
    return code;
}

const char *presso_status_name(presso_status s) {
    switch (s) {
    case PRESSO_OK: return "ok";
    case PRESSO_ERR_IO: return "i/o error";
    case PRESSO_ERR_FORMAT: return "format error";
    case PRESSO_ERR_UNSUPPORTED: return "unsupported";
    case PRESSO_ERR_INVALID_ARG: return "invalid argument";
    case PRESSO_ERR_NOMEM: return "out of memory";
    case PRESSO_ERR_SHAPE: return "shape mismatch";
    case PRESSO_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}
