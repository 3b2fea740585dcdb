#include "eval/results.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void presso_results_free(presso_results *r) {
    if (!r) return;
    for (int64_t i = 0; i < r->n_records; i++) cJSON_Delete(r->records[i]);
    free(r->records);
    free(r);
}

const cJSON *presso_results_find(const presso_results *r, const char *key) {
    for (int64_t i = 0; i < r->n_records; i++) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(r->records[i], "key");
        if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0) return r->records[i];
    }
    return NULL;
}

static presso_status read_all(const char *path, bool missing_ok, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (missing_ok && errno == ENOENT) return PRESSO_OK;
        return presso_fail(PRESSO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *grown = realloc(buf, cap * 2 + 1);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    const int failed = ferror(f);
    fclose(f);
    if (!buf) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory reading it", path);
    if (failed) {
        free(buf);
        return presso_fail(PRESSO_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return PRESSO_OK;
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
    return true;
}

static presso_status add_record(presso_results *r, cJSON *rec, int64_t *cap) {
    const char *key = cJSON_GetObjectItemCaseSensitive(rec, "key")->valuestring;
    for (int64_t i = 0; i < r->n_records; i++) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(r->records[i], "key");
        if (strcmp(k->valuestring, key) == 0) { /* a retried cell: the later record wins */
            cJSON_Delete(r->records[i]);
            r->records[i] = rec;
            return PRESSO_OK;
        }
    }
    if (r->n_records == *cap) {
        int64_t c = *cap ? *cap * 2 : 16;
        cJSON **g = realloc(r->records, (size_t)c * sizeof *g);
        if (!g) return presso_fail(PRESSO_ERR_NOMEM, "out of memory for %lld results", (long long)c);
        r->records = g;
        *cap = c;
    }
    r->records[r->n_records++] = rec;
    return PRESSO_OK;
}

presso_status presso_results_load(const char *path, bool tolerate_torn_tail, bool missing_ok, presso_results **out) {
    *out = NULL;
    char *buf;
    size_t len;
    PRESSO_TRY(read_all(path, missing_ok, &buf, &len));
    presso_results *r = calloc(1, sizeof *r);
    if (!r) {
        free(buf);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    }
    int64_t cap = 0, line = 0;
    presso_status st = PRESSO_OK;
    for (size_t pos = 0; buf && pos < len && st == PRESSO_OK;) {
        char *nl = memchr(buf + pos, '\n', len - pos);
        const size_t end = nl ? (size_t)(nl - buf) : len, next = nl ? end + 1 : len;
        line++;
        const bool last = next >= len || blank(buf + next, len - next);
        if (blank(buf + pos, end - pos)) {
            if (nl) r->valid_bytes = (int64_t)next;
            pos = next;
            continue;
        }
        buf[end] = '\0';
        const char *parse_end = NULL;
        cJSON *rec = cJSON_ParseWithOpts(buf + pos, &parse_end, 1);
        const char *why = NULL;
        if (!rec) why = "not valid JSON";
        else if (!cJSON_IsObject(rec)) why = "not a JSON object";
        else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(rec, "key"))) why = "no string \"key\"";
        else if (!nl && tolerate_torn_tail) why = "no terminating newline (a record cut short)";
        if (why && tolerate_torn_tail && last) {
            r->torn_line = line;
            cJSON_Delete(rec);
            break;
        }
        if (why) {
            cJSON_Delete(rec);
            st = presso_fail(PRESSO_ERR_FORMAT, "%s:%lld: bad result line: %s", path, (long long)line, why);
            break;
        }
        st = add_record(r, rec, &cap);
        if (st != PRESSO_OK) cJSON_Delete(rec);
        r->n_lines++;
        r->valid_bytes = (int64_t)next;
        pos = next;
    }
    free(buf);
    if (st != PRESSO_OK) {
        presso_results_free(r);
        return st;
    }
    *out = r;
    return PRESSO_OK;
}
