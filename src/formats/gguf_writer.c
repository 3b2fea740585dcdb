/* GGUF v3 writer. Metadata values are kept serialized (the bytes after the
 * type tag), so copy_kvs is a byte copy of the source file's value and every
 * value type, string arrays included, round-trips exactly. The file is
 * written to path.tmp, fsync'ed and renamed over path, so a reader never
 * sees a half-written model and a failed write leaves the old file alone. */
#define _POSIX_C_SOURCE 200809L
#include "formats/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "tensor/types.h"

#define GGUF_DEFAULT_ALIGNMENT 32

typedef struct {
    char *key;
    presso_gguf_value_type type;
    uint8_t *bytes; /* serialized value, after the type tag */
    size_t len;
} writer_kv;

typedef struct {
    presso_tensor t; /* t.data is NULL for fill tensors */
    presso_gguf_fill_fn fill;
    void *user;
    int64_t index;
} writer_tensor;

struct presso_gguf_writer {
    writer_kv *kvs;
    int64_t n_kv, cap_kv;
    writer_tensor *tensors;
    int64_t n_tensors, cap_tensors;
};

presso_gguf_writer *presso_gguf_writer_new(void) { return calloc(1, sizeof(presso_gguf_writer)); }

void presso_gguf_writer_free(presso_gguf_writer *w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].bytes);
    }
    free(w->kvs);
    free(w->tensors);
    free(w);
}

/* ---- serialized values ------------------------------------------------------ */

typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} bytes_buf;

static void buf_put(bytes_buf *b, const void *src, size_t n) {
    if (b->failed) return;
    if (n > SIZE_MAX - b->len) {
        b->failed = true;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n) cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void buf_le(bytes_buf *b, uint64_t v, int n) {
    uint8_t tmp[8];
    for (int i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    buf_put(b, tmp, (size_t)n);
}

static void buf_string(bytes_buf *b, const char *s, uint64_t len) {
    buf_le(b, len, 8);
    buf_put(b, s, (size_t)len);
}

/* Host-order element of n bytes at p, as a uint64 (to write little-endian). */
static uint64_t host_elem(const uint8_t *p, size_t n) {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (n) {
    case 1: memcpy(&u8, p, 1); return u8;
    case 2: memcpy(&u16, p, 2); return u16;
    case 4: memcpy(&u32, p, 4); return u32;
    default: memcpy(&u64, p, 8); return u64;
    }
}

/* Takes ownership of b->p on success and on failure. */
static presso_status set_serialized(presso_gguf_writer *w, const char *key, presso_gguf_value_type type,
                                    bytes_buf *b) {
    if (!w || !key || !*key) {
        free(b->p);
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: key must be a non-empty string");
    }
    if (b->failed) {
        free(b->p);
        return presso_fail(PRESSO_ERR_NOMEM, "gguf writer: out of memory for the value of '%s'", key);
    }
    for (int64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, key) == 0) { /* replace in place: keeps the key's position */
            free(w->kvs[i].bytes);
            w->kvs[i].type = type;
            w->kvs[i].bytes = b->p;
            w->kvs[i].len = b->len;
            return PRESSO_OK;
        }
    }
    char *k = malloc(strlen(key) + 1);
    if (!k || (w->n_kv == w->cap_kv && w->cap_kv > INT64_MAX / 2)) {
        free(k);
        free(b->p);
        return presso_fail(PRESSO_ERR_NOMEM, "gguf writer: out of memory for key '%s'", key);
    }
    if (w->n_kv == w->cap_kv) {
        int64_t cap = w->cap_kv ? w->cap_kv * 2 : 16;
        writer_kv *p = realloc(w->kvs, (size_t)cap * sizeof *p);
        if (!p) {
            free(k);
            free(b->p);
            return presso_fail(PRESSO_ERR_NOMEM, "gguf writer: out of memory for key '%s'", key);
        }
        w->kvs = p;
        w->cap_kv = cap;
    }
    strcpy(k, key);
    w->kvs[w->n_kv++] = (writer_kv){k, type, b->p, b->len};
    return PRESSO_OK;
}

static presso_status set_scalar(presso_gguf_writer *w, const char *key, presso_gguf_value_type type, uint64_t bits) {
    bytes_buf b = {0};
    buf_le(&b, bits, (int)presso_gguf_value_size(type));
    return set_serialized(w, key, type, &b);
}

presso_status presso_gguf_writer_set_u8(presso_gguf_writer *w, const char *key, uint8_t v) {
    return set_scalar(w, key, PRESSO_GGUF_UINT8, v);
}
presso_status presso_gguf_writer_set_i8(presso_gguf_writer *w, const char *key, int8_t v) {
    return set_scalar(w, key, PRESSO_GGUF_INT8, (uint8_t)v);
}
presso_status presso_gguf_writer_set_u16(presso_gguf_writer *w, const char *key, uint16_t v) {
    return set_scalar(w, key, PRESSO_GGUF_UINT16, v);
}
presso_status presso_gguf_writer_set_i16(presso_gguf_writer *w, const char *key, int16_t v) {
    return set_scalar(w, key, PRESSO_GGUF_INT16, (uint16_t)v);
}
presso_status presso_gguf_writer_set_u32(presso_gguf_writer *w, const char *key, uint32_t v) {
    return set_scalar(w, key, PRESSO_GGUF_UINT32, v);
}
presso_status presso_gguf_writer_set_i32(presso_gguf_writer *w, const char *key, int32_t v) {
    return set_scalar(w, key, PRESSO_GGUF_INT32, (uint32_t)v);
}
presso_status presso_gguf_writer_set_u64(presso_gguf_writer *w, const char *key, uint64_t v) {
    return set_scalar(w, key, PRESSO_GGUF_UINT64, v);
}
presso_status presso_gguf_writer_set_i64(presso_gguf_writer *w, const char *key, int64_t v) {
    return set_scalar(w, key, PRESSO_GGUF_INT64, (uint64_t)v);
}
presso_status presso_gguf_writer_set_f32(presso_gguf_writer *w, const char *key, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return set_scalar(w, key, PRESSO_GGUF_FLOAT32, bits);
}
presso_status presso_gguf_writer_set_f64(presso_gguf_writer *w, const char *key, double v) {
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return set_scalar(w, key, PRESSO_GGUF_FLOAT64, bits);
}
presso_status presso_gguf_writer_set_bool(presso_gguf_writer *w, const char *key, bool v) {
    return set_scalar(w, key, PRESSO_GGUF_BOOL, v ? 1 : 0);
}

presso_status presso_gguf_writer_set_string_n(presso_gguf_writer *w, const char *key, const char *v, uint64_t len) {
    if (!v && len)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: key '%s': NULL string", key ? key : "(null)");
    bytes_buf b = {0};
    buf_string(&b, v, len);
    return set_serialized(w, key, PRESSO_GGUF_STRING, &b);
}

presso_status presso_gguf_writer_set_string(presso_gguf_writer *w, const char *key, const char *v) {
    if (!v) return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: key '%s': NULL string", key ? key : "(null)");
    return presso_gguf_writer_set_string_n(w, key, v, strlen(v));
}

presso_status presso_gguf_writer_set_array(presso_gguf_writer *w, const char *key, presso_gguf_value_type elem_type,
                                           const void *data, uint64_t count) {
    size_t n = presso_gguf_value_size(elem_type);
    if (n == 0)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: key '%s': element type %d is not numeric or bool",
                           key ? key : "(null)", (int)elem_type);
    if ((!data && count) || count > SIZE_MAX / n)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: key '%s': bad array (%llu elements)",
                           key ? key : "(null)", (unsigned long long)count);
    bytes_buf b = {0};
    buf_le(&b, (uint64_t)elem_type, 4);
    buf_le(&b, count, 8);
    const uint8_t *p = data;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t v = host_elem(p + i * n, n);
        if (elem_type == PRESSO_GGUF_BOOL) v = v != 0;
        buf_le(&b, v, (int)n);
    }
    return set_serialized(w, key, PRESSO_GGUF_ARRAY, &b);
}

presso_status presso_gguf_writer_set_array_string(presso_gguf_writer *w, const char *key,
                                                  const char *const *strings, const uint64_t *lens, uint64_t count) {
    if (!strings && count)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: key '%s': NULL string array", key ? key : "(null)");
    bytes_buf b = {0};
    buf_le(&b, PRESSO_GGUF_STRING, 4);
    buf_le(&b, count, 8);
    for (uint64_t i = 0; i < count; i++) {
        if (!strings[i] && (!lens || lens[i])) {
            free(b.p);
            return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: key '%s': string %llu is NULL",
                               key ? key : "(null)", (unsigned long long)i);
        }
        buf_string(&b, strings[i], lens ? lens[i] : strlen(strings[i]));
    }
    return set_serialized(w, key, PRESSO_GGUF_ARRAY, &b);
}

presso_status presso_gguf_writer_copy_kvs(presso_gguf_writer *w, const presso_gguf *src, const char *prefix) {
    if (!w || !src) return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: copy_kvs with a NULL argument");
    size_t plen = prefix ? strlen(prefix) : 0;
    for (int64_t i = 0; i < presso_gguf_kv_count(src); i++) {
        presso_gguf_string k = presso_gguf_kv_key(src, i);
        if (k.len < plen || memcmp(k.ptr, prefix, plen) != 0) continue;
        if (k.len == 0 || memchr(k.ptr, '\0', (size_t)k.len))
            return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: key %lld is empty or holds a NUL byte; cannot copy it",
                               presso_gguf_path(src), (long long)i);
        presso_gguf_value v;
        PRESSO_TRY(presso_gguf_kv_value(src, i, &v));
        char *key = malloc((size_t)k.len + 1);
        if (!key) return presso_fail(PRESSO_ERR_NOMEM, "gguf writer: out of memory copying keys");
        memcpy(key, k.ptr, (size_t)k.len);
        key[k.len] = '\0';
        bytes_buf b = {0};
        buf_put(&b, v.raw, (size_t)v.raw_len);
        presso_status st = set_serialized(w, key, v.type, &b);
        free(key);
        PRESSO_TRY(st);
    }
    return PRESSO_OK;
}

/* ---- tensors -------------------------------------------------------------------- */

static presso_status check_tensor(const presso_gguf_writer *w, const char *name, presso_type type, int n_dims,
                                  const int64_t *ne, size_t *nbytes) {
    if (!w || !name || !ne) return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: add_tensor with a NULL argument");
    size_t len = strlen(name);
    if (len == 0 || len >= PRESSO_MAX_NAME)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor name '%.64s' must have 1..%d bytes", name,
                           PRESSO_MAX_NAME - 1);
    for (int64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].t.name, name) == 0)
            return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: duplicate tensor name '%s'", name);
    const presso_type_traits *traits = presso_type_traits_of((int)type);
    if (!traits)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor '%s': unknown type %d", name, (int)type);
    if (n_dims < 1 || n_dims > PRESSO_MAX_DIMS)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor '%s': n_dims %d is not in 1..%d", name,
                           n_dims, PRESSO_MAX_DIMS);
    for (int d = 0; d < n_dims; d++)
        if (ne[d] < 0)
            return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor '%s': ne[%d] = %lld is negative", name,
                               d, (long long)ne[d]);
    if (ne[0] / traits->block_size > (INT64_MAX - (int64_t)traits->row_header_bytes) / (int64_t)traits->block_bytes)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor '%s': byte size overflows", name);
    int64_t bytes = presso_row_bytes(type, ne[0]);
    if (bytes < 0)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor '%s': ne[0] = %lld is not a multiple of the %s block size",
                           name, (long long)ne[0], presso_type_name(type));
    for (int d = 1; d < n_dims; d++)
        if (__builtin_mul_overflow(bytes, ne[d], &bytes))
            return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor '%s': byte size overflows", name);
    *nbytes = (size_t)bytes;
    return PRESSO_OK;
}

static presso_status push_tensor(presso_gguf_writer *w, const writer_tensor *wt) {
    if (w->n_tensors == w->cap_tensors) {
        int64_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
        writer_tensor *p = realloc(w->tensors, (size_t)cap * sizeof *p);
        if (!p) return presso_fail(PRESSO_ERR_NOMEM, "gguf writer: out of memory for tensor '%s'", wt->t.name);
        w->tensors = p;
        w->cap_tensors = cap;
    }
    w->tensors[w->n_tensors++] = *wt;
    return PRESSO_OK;
}

static writer_tensor make_tensor(const char *name, presso_type type, int n_dims, const int64_t *ne, size_t nbytes) {
    writer_tensor wt;
    memset(&wt, 0, sizeof wt);
    strcpy(wt.t.name, name); /* length checked: < PRESSO_MAX_NAME */
    wt.t.type = type;
    wt.t.n_dims = n_dims;
    for (int d = 0; d < PRESSO_MAX_DIMS; d++) wt.t.ne[d] = d < n_dims ? ne[d] : 1;
    wt.t.nbytes = nbytes;
    return wt;
}

presso_status presso_gguf_writer_add_tensor(presso_gguf_writer *w, const presso_tensor *t) {
    if (!t) return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: add_tensor with a NULL tensor");
    if (strnlen(t->name, PRESSO_MAX_NAME) == PRESSO_MAX_NAME)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor name is not NUL-terminated");
    size_t nbytes;
    PRESSO_TRY(check_tensor(w, t->name, t->type, t->n_dims, t->ne, &nbytes));
    if (t->nbytes != nbytes)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor '%s': nbytes %zu, but its shape needs %zu",
                           t->name, t->nbytes, nbytes);
    if (!t->data && nbytes)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor '%s' has no data", t->name);
    writer_tensor wt = make_tensor(t->name, t->type, t->n_dims, t->ne, nbytes);
    wt.t.data = t->data;
    return push_tensor(w, &wt);
}

presso_status presso_gguf_writer_add_tensor_fn(presso_gguf_writer *w, const char *name, presso_type type, int n_dims,
                                               const int64_t *ne, presso_gguf_fill_fn fill, void *user, int64_t index) {
    size_t nbytes;
    PRESSO_TRY(check_tensor(w, name, type, n_dims, ne, &nbytes));
    if (!fill) return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: tensor '%s': NULL fill function", name);
    writer_tensor wt = make_tensor(name, type, n_dims, ne, nbytes);
    wt.fill = fill;
    wt.user = user;
    wt.index = index;
    return push_tensor(w, &wt);
}

/* ---- writing --------------------------------------------------------------------- */

static presso_status writer_alignment(const presso_gguf_writer *w, uint64_t *out) {
    *out = GGUF_DEFAULT_ALIGNMENT;
    for (int64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, "general.alignment") != 0) continue;
        uint64_t a = 0;
        if (w->kvs[i].type == PRESSO_GGUF_UINT32)
            for (int b = 3; b >= 0; b--) a = (a << 8) | w->kvs[i].bytes[b];
        if (a == 0 || (a & (a - 1)) != 0)
            return presso_fail(PRESSO_ERR_INVALID_ARG,
                               "gguf writer: general.alignment must be a u32 power of two (got type %d, value %llu)",
                               (int)w->kvs[i].type, (unsigned long long)a);
        *out = a;
    }
    return PRESSO_OK;
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

typedef struct {
    FILE *f;
    const char *path;
    uint64_t written;
} out_file;

static presso_status out_write(out_file *o, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, o->f) != n)
        return presso_fail(PRESSO_ERR_IO, "%s: write failed at offset %llu: %s", o->path,
                           (unsigned long long)o->written, strerror(errno));
    o->written += n;
    return PRESSO_OK;
}

static presso_status out_le(out_file *o, uint64_t v, int n) {
    uint8_t tmp[8];
    for (int i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    return out_write(o, tmp, (size_t)n);
}

static presso_status out_pad(out_file *o, uint64_t alignment) {
    static const uint8_t zeros[256];
    uint64_t pad = align_up(o->written, alignment) - o->written;
    while (pad) {
        size_t n = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        PRESSO_TRY(out_write(o, zeros, n));
        pad -= n;
    }
    return PRESSO_OK;
}

static presso_status write_body(const presso_gguf_writer *w, out_file *o, uint64_t alignment) {
    PRESSO_TRY(out_write(o, "GGUF", 4));
    PRESSO_TRY(out_le(o, 3, 4));
    PRESSO_TRY(out_le(o, (uint64_t)w->n_tensors, 8));
    PRESSO_TRY(out_le(o, (uint64_t)w->n_kv, 8));
    for (int64_t i = 0; i < w->n_kv; i++) {
        const writer_kv *kv = &w->kvs[i];
        PRESSO_TRY(out_le(o, strlen(kv->key), 8));
        PRESSO_TRY(out_write(o, kv->key, strlen(kv->key)));
        PRESSO_TRY(out_le(o, (uint64_t)kv->type, 4));
        PRESSO_TRY(out_write(o, kv->bytes, kv->len));
    }
    uint64_t offset = 0;
    for (int64_t i = 0; i < w->n_tensors; i++) {
        const presso_tensor *t = &w->tensors[i].t;
        PRESSO_TRY(out_le(o, strlen(t->name), 8));
        PRESSO_TRY(out_write(o, t->name, strlen(t->name)));
        PRESSO_TRY(out_le(o, (uint64_t)t->n_dims, 4));
        for (int d = 0; d < t->n_dims; d++) PRESSO_TRY(out_le(o, (uint64_t)t->ne[d], 8));
        PRESSO_TRY(out_le(o, (uint64_t)t->type, 4));
        PRESSO_TRY(out_le(o, offset, 8));
        offset = align_up(offset + t->nbytes, alignment);
    }
    PRESSO_TRY(out_pad(o, alignment));

    /* One tensor-sized buffer for fill tensors, grown to the largest. */
    void *scratch = NULL;
    size_t scratch_size = 0;
    presso_status st = PRESSO_OK;
    for (int64_t i = 0; i < w->n_tensors && st == PRESSO_OK; i++) {
        const writer_tensor *wt = &w->tensors[i];
        const void *data = wt->t.data;
        if (wt->fill && wt->t.nbytes) {
            if (wt->t.nbytes > scratch_size) {
                free(scratch);
                scratch = malloc(wt->t.nbytes);
                scratch_size = scratch ? wt->t.nbytes : 0;
                if (!scratch) {
                    st = presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory for tensor '%s' (%zu bytes)", o->path,
                                     wt->t.name, wt->t.nbytes);
                    break;
                }
            }
            st = wt->fill(wt->user, wt->index, scratch, wt->t.nbytes);
            if (st != PRESSO_OK) {
                presso_fail_context(st, "%s: filling tensor '%s': ", o->path, wt->t.name);
                break;
            }
            data = scratch;
        }
        st = out_write(o, data, wt->t.nbytes);
        if (st == PRESSO_OK) st = out_pad(o, alignment);
    }
    free(scratch);
    return st;
}

presso_status presso_gguf_writer_write(presso_gguf_writer *w, const char *path) {
    if (!w || !path || !*path) return presso_fail(PRESSO_ERR_INVALID_ARG, "gguf writer: write with no path");
    uint64_t alignment;
    PRESSO_TRY(writer_alignment(w, &alignment));
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    presso_status st = PRESSO_OK;
    out_file o = {fopen(tmp, "wb"), tmp, 0};
    if (!o.f) {
        st = presso_fail(PRESSO_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    st = write_body(w, &o, alignment);
    if (st == PRESSO_OK && fflush(o.f) != 0)
        st = presso_fail(PRESSO_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    if (st == PRESSO_OK && fsync(fileno(o.f)) != 0)
        st = presso_fail(PRESSO_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (fclose(o.f) != 0 && st == PRESSO_OK)
        st = presso_fail(PRESSO_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == PRESSO_OK && rename(tmp, path) != 0)
        st = presso_fail(PRESSO_ERR_IO, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
    if (st != PRESSO_OK) {
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    /* Make the rename itself durable: fsync the directory (best effort). */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? malloc((size_t)(slash - path) + 2) : NULL;
    if (dir) {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir ? dir : ".", O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
    return PRESSO_OK;
}
