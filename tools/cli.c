#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

int cli_fail(void) {
    fprintf(stderr, "presso: error: %s\n", presso_last_error());
    return 1;
}

int cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "presso: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 2;
}

bool cli_flag(const char *arg, const char *short_name, const char *long_name) {
    return (short_name && strcmp(arg, short_name) == 0) || (long_name && strcmp(arg, long_name) == 0);
}

bool cli_option(char **argv, int argc, int *i, const char *short_name, const char *long_name, const char **value) {
    if (!cli_flag(argv[*i], short_name, long_name)) return false;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

bool cli_int(const char *option, const char *value, int64_t lo, int64_t hi, int64_t *out) {
    if (!value) {
        cli_usage_error("%s needs a value", option);
        return false;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < lo || v > hi) {
        cli_usage_error("%s: '%s' is not an integer in %lld..%lld", option, value, (long long)lo, (long long)hi);
        return false;
    }
    *out = v;
    return true;
}

bool cli_float(const char *option, const char *value, double lo, double hi, double *out) {
    if (!value) {
        cli_usage_error("%s needs a value", option);
        return false;
    }
    errno = 0;
    char *end = NULL;
    double v = strtod(value, &end);
    if (errno || end == value || *end != '\0' || !isfinite(v) || v < lo || v > hi) {
        cli_usage_error("%s: '%s' is not a number in [%g, %g]", option, value, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

char *cli_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "presso: error: %s: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        cap *= 2;
        char *grown = realloc(buf, cap + 1);
        if (!grown) {
            free(buf);
            buf = NULL;
        } else {
            buf = grown;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        free(buf);
        fprintf(stderr, "presso: error: %s: cannot read\n", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cli_open_model(const char *path, const char *tokenizer, presso_model **out) {
    if (presso_model_open(path, tokenizer, out) != PRESSO_OK) return cli_fail();
    return 0;
}

int cli_open_model_to_run(const char *path, const char *tokenizer, presso_model **out) {
    int rc = cli_open_model(path, tokenizer, out);
    if (rc) return rc;
    const char *env = getenv("PRESSO_REPACK");
    if (env && strcmp(env, "0") == 0) return 0;
    presso_repack_stats stats;
    if (presso_model_repack(*out, &stats) != PRESSO_OK) {
        presso_model_free(*out);
        *out = NULL;
        return cli_fail();
    }
    if (stats.tensors)
        presso_log(PRESSO_LOG_DEBUG, "repacked %lld tensors (%.1f MiB) for the CPU matmul", (long long)stats.tensors,
                   (double)stats.bytes / (1 << 20));
    return 0;
}

int cli_load_prompt(const char *path, const presso_model *m, presso_prompt **out, presso_llama_prefix *prefix) {
    *out = NULL;
    presso_prompt *p = NULL;
    if (presso_prompt_load(path, &p) != PRESSO_OK) return cli_fail();
    if (presso_prompt_check(p, m, path) != PRESSO_OK) {
        presso_prompt_free(p);
        return cli_fail();
    }
    presso_prompt_as_prefix(p, prefix);
    *out = p;
    return 0;
}
