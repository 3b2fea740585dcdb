/* Minimal test harness: CHECK records a failure and goes on; the test's main
 * returns presso_test_finish(), which prints "N passed, N failed". */
#ifndef PRESSO_TESTS_HARNESS_H
#define PRESSO_TESTS_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int presso_test_passed, presso_test_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            presso_test_passed++;                                                                  \
        } else {                                                                                   \
            presso_test_failed++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (cond) {                                                                                \
            presso_test_passed++;                                                                  \
        } else {                                                                                   \
            presso_test_failed++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        presso_status check_ok_status_ = (expr);                                                   \
        CHECK_MSG(check_ok_status_ == PRESSO_OK, "%s -> %s: %s", #expr,                            \
                  presso_status_name(check_ok_status_), presso_last_error());                      \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double check_a_ = (a), check_b_ = (b);                                                     \
        CHECK_MSG(fabs(check_a_ - check_b_) <= (tol), "%s = %.9g, %s = %.9g, tol %.3g", #a,        \
                  check_a_, #b, check_b_, (double)(tol));                                          \
    } while (0)

static inline int presso_test_finish(void) {
    printf("%d passed, %d failed\n", presso_test_passed, presso_test_failed);
    return presso_test_failed ? 1 : 0;
}

/* A whole file, NUL-terminated (the NUL is not counted in *size); NULL when
 * it cannot be read. Returned as void * so callers take char or byte views. */
static inline void *presso_test_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    *size = (size_t)n;
    return buf;
}

static inline int presso_test_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A path under ../shared; skips the whole test (exit 77) when missing. */
static inline const char *presso_test_shared(const char *relative) {
    static char buf[8][1024];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 1024, "%s/%s", PRESSO_SHARED_DIR, relative);
    if (!presso_test_file_exists(p)) {
        printf("skipped: %s not present\n", p);
        exit(77);
    }
    return p;
}

#endif
