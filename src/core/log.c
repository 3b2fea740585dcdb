#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static presso_log_fn log_callback;
static void *log_user;

void presso_set_log_callback(presso_log_fn fn, void *user) {
    log_callback = fn;
    log_user = user;
}

void presso_log(presso_log_level level, const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (log_callback) {
        log_callback(level, message, log_user);
    } else if (level >= PRESSO_LOG_WARN) {
        fprintf(stderr, "presso: %s\n", message);
    }
}
