#include "compress/imatrix.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "tensor/tensor.h"

void presso_imatrix_free(presso_imatrix *im) {
    if (!im) return;
    for (int64_t i = 0; i < im->n_entries; i++) free(im->entries[i].values);
    free(im->entries);
    free(im);
}

static presso_status add_entry(presso_imatrix *im, const char *name, size_t name_len, int64_t n,
                               presso_imatrix_entry **out) {
    if (name_len == 0 || name_len >= sizeof im->entries[0].name)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: entry %lld has a name of %zu bytes", im->path,
                           (long long)im->n_entries, name_len);
    if (n < 1 || n > ((int64_t)1 << 28))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: entry %.*s has %lld values", im->path, (int)name_len, name,
                           (long long)n);
    presso_imatrix_entry *grown = realloc(im->entries, sizeof *grown * (size_t)(im->n_entries + 1));
    if (!grown) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", im->path);
    im->entries = grown;
    presso_imatrix_entry *e = &im->entries[im->n_entries];
    memset(e, 0, sizeof *e);
    e->values = malloc(sizeof(float) * (size_t)n);
    if (!e->values) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", im->path);
    memcpy(e->name, name, name_len);
    e->n = n;
    im->n_entries++;
    for (int64_t i = 0; i + 1 < im->n_entries; i++)
        if (strcmp(im->entries[i].name, e->name) == 0)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor %s appears twice", im->path, e->name);
    *out = e;
    return PRESSO_OK;
}

static bool all_finite(const float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return false;
    return true;
}

/* The GGUF format: NAME.in_sum2 and NAME.counts pairs. */
static presso_status load_gguf(presso_imatrix *im) {
    presso_gguf *g;
    PRESSO_TRY(presso_gguf_open(im->path, &g));
    presso_status st = PRESSO_OK;
    presso_gguf_string s;
    if (presso_gguf_find_key(g, "general.type") >= 0 &&
        (presso_gguf_get_string(g, "general.type", &s) != PRESSO_OK || s.len != 7 || memcmp(s.ptr, "imatrix", 7) != 0))
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: a GGUF file but not an importance matrix (general.type is not "
                         "\"imatrix\"; is this a model?)", im->path);
    uint32_t chunks = 0;
    if (st == PRESSO_OK && presso_gguf_find_key(g, "imatrix.chunk_count") >= 0 &&
        presso_gguf_get_u32(g, "imatrix.chunk_count", &chunks) == PRESSO_OK)
        im->chunk_count = (int32_t)chunks;
    presso_gguf_value_type et;
    uint64_t n_ds = 0;
    if (st == PRESSO_OK && presso_gguf_find_key(g, "imatrix.datasets") >= 0 &&
        presso_gguf_get_array_info(g, "imatrix.datasets", &et, &n_ds) == PRESSO_OK && n_ds > 0 &&
        presso_gguf_get_array_string(g, "imatrix.datasets", 0, &s) == PRESSO_OK)
        snprintf(im->dataset, sizeof im->dataset, "%.*s", (int)(s.len < 255 ? s.len : 255), s.ptr);
    static const char sum_suffix[] = ".in_sum2";
    const size_t sl = sizeof sum_suffix - 1;
    for (int64_t i = 0; i < presso_gguf_tensor_count(g) && st == PRESSO_OK; i++) {
        const presso_tensor *sums = presso_gguf_tensor(g, i);
        const size_t len = strlen(sums->name);
        if (len <= sl || strcmp(sums->name + len - sl, sum_suffix) != 0) continue;
        char counts_name[PRESSO_MAX_NAME + 8];
        snprintf(counts_name, sizeof counts_name, "%.*s.counts", (int)(len - sl), sums->name);
        const presso_tensor *counts = presso_gguf_find_tensor(g, counts_name);
        if (!counts) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: %s has no %s", im->path, sums->name, counts_name);
            break;
        }
        if (sums->type != PRESSO_TYPE_F32 || counts->type != PRESSO_TYPE_F32) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: %s and %s must be f32", im->path, sums->name, counts_name);
            break;
        }
        const int64_t nval = presso_tensor_nelements(sums), ncounts = presso_tensor_nelements(counts);
        if (ncounts < 1 || nval % ncounts != 0) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: %s holds %lld values for %lld counts", im->path, sums->name,
                             (long long)nval, (long long)ncounts);
            break;
        }
        if (ncounts != 1) {
            st = presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: %.*s has %lld expert matrices; presso quantizes dense "
                             "models only", im->path, (int)(len - sl), sums->name, (long long)ncounts);
            break;
        }
        presso_imatrix_entry *e;
        st = add_entry(im, sums->name, len - sl, nval, &e);
        if (st != PRESSO_OK) break;
        float count_f;
        memcpy(&count_f, counts->data, sizeof count_f);
        /* llama.cpp: counts are rounded to integers on load, then divided as float */
        const float count = isfinite(count_f) ? (float)lroundf(count_f) : 0.0f;
        memcpy(e->values, sums->data, sizeof(float) * (size_t)nval);
        for (int64_t j = 0; j < nval; j++) e->values[j] = count > 0.0f ? e->values[j] / count : 1.0f;
        if (!all_finite(e->values, nval))
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: %s holds inf or nan", im->path, sums->name);
    }
    if (st == PRESSO_OK && im->n_entries == 0)
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: no *.in_sum2 tensors: not an importance matrix", im->path);
    presso_gguf_close(g);
    return st;
}

static bool read_i32(FILE *f, int32_t *v) { return fread(v, sizeof *v, 1, f) == 1; }

/* The legacy .dat format (little-endian, as written by the x86/ARM tools). */
static presso_status load_legacy(presso_imatrix *im, FILE *f) {
    int32_t n_entries;
    if (!read_i32(f, &n_entries) || n_entries < 1 || n_entries > 1 << 20)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: neither GGUF nor a legacy .dat importance matrix (bad entry "
                           "count)", im->path);
    for (int32_t i = 0; i < n_entries; i++) {
        int32_t len, ncall, nval;
        char name[128];
        if (!read_i32(f, &len) || len < 1 || len >= (int32_t)sizeof name || fread(name, 1, (size_t)len, f) != (size_t)len)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: entry %d: bad or truncated name", im->path, (int)i);
        if (!read_i32(f, &ncall) || !read_i32(f, &nval))
            return presso_fail(PRESSO_ERR_FORMAT, "%s: entry %d (%.*s): truncated", im->path, (int)i, (int)len, name);
        presso_imatrix_entry *e;
        PRESSO_TRY(add_entry(im, name, (size_t)len, nval, &e));
        if (fread(e->values, sizeof(float), (size_t)nval, f) != (size_t)nval)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: entry %s: truncated values", im->path, e->name);
        /* llama.cpp: value / ncall in float when ncall > 0, else as stored */
        if (ncall > 0)
            for (int32_t j = 0; j < nval; j++) e->values[j] = e->values[j] / (float)ncall;
        if (!all_finite(e->values, nval))
            return presso_fail(PRESSO_ERR_FORMAT, "%s: %s holds inf or nan", im->path, e->name);
    }
    int32_t chunks, len;
    if (read_i32(f, &chunks)) {
        im->chunk_count = chunks;
        if (read_i32(f, &len) && len > 0) {
            char buf[256];
            const size_t want = (size_t)len < sizeof buf - 1 ? (size_t)len : sizeof buf - 1;
            const size_t got = fread(buf, 1, want, f);
            snprintf(im->dataset, sizeof im->dataset, "%.*s", (int)got, buf);
        }
    }
    im->legacy = true;
    return PRESSO_OK;
}

presso_status presso_imatrix_load(const char *path, presso_imatrix **out) {
    *out = NULL;
    presso_imatrix *im = calloc(1, sizeof *im);
    if (!im) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    snprintf(im->path, sizeof im->path, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        presso_imatrix_free(im);
        return presso_fail(PRESSO_ERR_IO, "%s: cannot open importance matrix: %s", path, strerror(errno));
    }
    char magic[4] = {0};
    const bool is_gguf = fread(magic, 1, 4, f) == 4 && memcmp(magic, "GGUF", 4) == 0;
    presso_status st;
    if (is_gguf) {
        fclose(f);
        st = load_gguf(im);
    } else {
        rewind(f);
        st = load_legacy(im, f);
        fclose(f);
    }
    if (st != PRESSO_OK) {
        presso_imatrix_free(im);
        return st;
    }
    *out = im;
    return PRESSO_OK;
}

presso_status presso_imatrix_find(const presso_imatrix *im, const char *tensor, int64_t width, const float **out) {
    *out = NULL;
    for (int64_t i = 0; i < im->n_entries; i++) {
        if (strcmp(im->entries[i].name, tensor) != 0) continue;
        if (im->entries[i].n != width)
            return presso_fail(PRESSO_ERR_SHAPE, "%s: %s has %lld importance values but the tensor's rows hold %lld "
                               "(an importance matrix of another model?)", im->path, tensor,
                               (long long)im->entries[i].n, (long long)width);
        *out = im->entries[i].values;
        return PRESSO_OK;
    }
    return PRESSO_OK;
}
