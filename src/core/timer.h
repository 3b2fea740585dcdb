#ifndef PRESSO_CORE_TIMER_H
#define PRESSO_CORE_TIMER_H
#include <stdint.h>
/* Monotonic wall-clock seconds. */
double presso_now_seconds(void);
/* Peak resident set size of this process in bytes (VmHWM), 0 if unknown. */
int64_t presso_peak_rss_bytes(void);
#endif
