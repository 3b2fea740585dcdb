/* Logging through the user's callback (the library never prints to stdout). */
#ifndef PRESSO_CORE_LOG_H
#define PRESSO_CORE_LOG_H

#include "presso.h"

void presso_log(presso_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
