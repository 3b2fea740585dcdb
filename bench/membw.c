/* STREAM-like read bandwidth: T OpenMP threads sum disjoint slices of one
 * large buffer (touched first, so no page fault is timed); best of R passes.
 * Decode of a model whose weights do not fit in cache is such a read, so
 * bytes-per-token / this bandwidth bounds its tokens/s.
 *
 *   cc -O2 -march=native -fopenmp bench/membw.c -o membw
 *   membw [MiB=1024] [threads...=1 2]        prints one JSON object
 *
 * A bench tool (built by bench/run_bench.sh), not part of the library. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Wall seconds of one pass; *cpu gets the CPU seconds per thread (on a
 * shared machine the wall time also counts the time others held the cores). */
static double read_pass(const uint64_t *buf, int64_t n, int threads, uint64_t *sink, double *cpu) {
    uint64_t total = 0;
    const double c0 = cpu_seconds(), t0 = omp_get_wtime();
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total)
    for (int64_t i = 0; i < n; i += 8) /* 64 bytes a step: four independent sums vectorize */
        total += (buf[i] + buf[i + 1]) + (buf[i + 2] + buf[i + 3]) + (buf[i + 4] + buf[i + 5]) + (buf[i + 6] + buf[i + 7]);
    const double dt = omp_get_wtime() - t0;
    *cpu = (cpu_seconds() - c0) / threads;
    *sink += total;
    return dt;
}

int main(int argc, char **argv) {
    const int64_t mib = argc > 1 ? atoll(argv[1]) : 1024;
    if (mib < 64 || mib > (1 << 16)) {
        fprintf(stderr, "membw: buffer size %lld MiB outside 64..65536\n", (long long)mib);
        return 2;
    }
    const int64_t n = mib * 1048576 / 8;
    uint64_t *buf = malloc((size_t)n * 8);
    if (!buf) {
        fprintf(stderr, "membw: cannot allocate %lld MiB\n", (long long)mib);
        return 1;
    }
    for (int64_t i = 0; i < n; i++) buf[i] = (uint64_t)i;
    uint64_t sink = 0;
    printf("{\"method\": \"read (sum) of a %lld MiB buffer, OpenMP static slices, best of 7 passes\", \"bytes\": %lld",
           (long long)mib, (long long)(n * 8));
    int first_arg = 2, default_threads[2] = {1, 2};
    const int count = argc > first_arg ? argc - first_arg : 2;
    double wall_gbps[64], cpu_gbps[64];
    int thread_list[64];
    for (int k = 0; k < count && k < 64; k++) {
        const int threads = argc > first_arg ? atoi(argv[first_arg + k]) : default_threads[k];
        if (threads < 1 || threads > 1024) {
            fprintf(stderr, "membw: bad thread count '%s'\n", argv[first_arg + k]);
            free(buf);
            return 2;
        }
        double best = 1e30, best_cpu = 1e30;
        for (int pass = 0; pass < 7; pass++) {
            double cpu;
            const double dt = read_pass(buf, n, threads, &sink, &cpu);
            if (dt < best) best = dt;
            if (cpu < best_cpu) best_cpu = cpu;
        }
        thread_list[k] = threads;
        wall_gbps[k] = (double)n * 8 / best / 1e9;
        cpu_gbps[k] = (double)n * 8 / best_cpu / 1e9;
    }
    const int shown = count < 64 ? count : 64;
    printf(", \"read_GBps\": {");
    for (int k = 0; k < shown; k++) printf("%s\"%d\": %.2f", k ? ", " : "", thread_list[k], wall_gbps[k]);
    printf("}, \"read_GBps_per_cpu_second\": {");
    for (int k = 0; k < shown; k++) printf("%s\"%d\": %.2f", k ? ", " : "", thread_list[k], cpu_gbps[k]);
    printf("}, \"checksum\": %llu}\n", (unsigned long long)(sink & 0xFFFF));
    free(buf);
    return 0;
}
