/* How OpenMP's idle threads wait, chosen from how busy the machine is.
 *
 * libgomp reads OMP_WAIT_POLICY once, when it loads (before main), and by
 * default a thread that reaches a barrier first spins for a while. On a
 * quiet machine that is what decode wants (about 110 parallel regions per
 * token, each a few milliseconds; measured on synth-1b Q4_0 at 2 threads:
 * passive waiting is ~25% slower). When another process holds a core, the
 * spinner burns the time slice the late thread needs, and every barrier
 * waits for the scheduler: with one busy-looping process beside it, tg at
 * 2 threads fell to 11.7 tok/s (19.7 at 1 thread), and to 27.4 with
 * OMP_WAIT_POLICY=passive. So when other processes are running and the
 * user has not chosen a policy, presso sets passive and re-executes itself
 * (the only way the setting reaches libgomp). */
#define _DEFAULT_SOURCE /* setenv */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Busy and total jiffies of all CPUs so far (the "cpu" line of /proc/stat:
 * every field but idle and iowait is busy); false when unreadable. */
static bool cpu_jiffies(unsigned long long *busy, unsigned long long *total) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return false;
    unsigned long long v[10] = {0};
    const int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                         &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 5) return false;
    *total = 0;
    for (int i = 0; i < 8; i++) *total += v[i]; /* guest time is already in user */
    *busy = *total - v[3] - v[4];
    return true;
}

/* CPU jiffies this process (all its threads: OpenBLAS's pool spins a while
 * after it starts) has used, user + system; 0 when unreadable. */
static unsigned long long own_jiffies(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return 0;
    char buf[1024];
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return 0;
    return utime + stime;
}

void cli_choose_wait_policy(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return; /* the user's choice */
    /* Busy: while this process's main thread sleeps 40 ms, the other
     * processes use at least half a CPU (a background blip of a few percent
     * is not a competitor). */
    unsigned long long b0, t0, b1, t1;
    const unsigned long long own0 = own_jiffies();
    if (!cpu_jiffies(&b0, &t0)) return;
    const struct timespec pause = {0, 40000000};
    nanosleep(&pause, NULL);
    if (!cpu_jiffies(&b1, &t1) || t1 <= t0) return;
    const unsigned long long own = own_jiffies() - own0, busy = b1 - b0;
    const double others = (double)(busy > own ? busy - own : 0);
    if (others / (double)(t1 - t0) * (double)sysconf(_SC_NPROCESSORS_ONLN) < 0.5) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv); /* returns only on failure: go on as we are */
}
