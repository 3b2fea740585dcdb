#define _POSIX_C_SOURCE 200809L
#include "core/timer.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

double presso_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t presso_peak_rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long long kib = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            sscanf(line + 6, "%lld", &kib);
            break;
        }
    }
    fclose(f);
    return (int64_t)kib * 1024;
}
