/* GGUF reader. The whole file is one image (mmap or a borrowed buffer); keys,
 * strings, arrays and tensor bytes are views into it. Every number read from
 * the image is untrusted: counts and lengths are checked against the bytes
 * that remain before anything is allocated or indexed (llama.cpp's parser had
 * CVE-2024-21825/21836 for exactly these), so a hostile header can make us
 * allocate at most a small multiple of the file's own size. */
#include "formats/gguf.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "tensor/types.h"

#define GGUF_DEFAULT_ALIGNMENT 32
/* The smallest encodings, used to bound counts by the bytes left: a kv is a
 * key length (8) + type (4) + at least a 1-byte value; a tensor info is a
 * name length (8) + n_dims (4) + one dim (8) + type (4) + offset (8). */
#define GGUF_MIN_KV_BYTES 13
#define GGUF_MIN_TENSOR_INFO_BYTES 32

typedef struct {
    presso_gguf_string key;
    size_t key_offset; /* where the kv begins, for messages */
    presso_gguf_value value;
    uint64_t *str_offsets; /* string arrays: offset of element j's length field in the image */
} gguf_kv;

/* Open-addressing index over names (keys or tensor names): slot holds index+1. */
typedef struct {
    int64_t *slots;
    uint64_t mask;
} name_index;

struct presso_gguf {
    presso_mapped_file map; /* empty for open_buffer */
    const uint8_t *base;
    size_t size;
    char *name;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    gguf_kv *kvs;
    int64_t n_kv;
    presso_tensor *tensors;
    int64_t n_tensors;
    name_index key_index;
    name_index tensor_index;
};

/* ---- little-endian cursor over the untrusted image --------------------- */

typedef struct {
    const uint8_t *base;
    size_t size;
    size_t pos;
    const char *name;
} cursor;

static size_t remaining(const cursor *c) { return c->size - c->pos; }

static presso_status truncated(const cursor *c, const char *what) {
    return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: unexpected end of file reading %s", c->name,
                       c->pos, what);
}

static uint64_t load_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static presso_status read_le(cursor *c, int n, uint64_t *out, const char *what) {
    if (remaining(c) < (size_t)n) return truncated(c, what);
    *out = load_le(c->base + c->pos, n);
    c->pos += (size_t)n;
    return PRESSO_OK;
}

static presso_status read_u32(cursor *c, uint32_t *out, const char *what) {
    uint64_t v = 0;
    PRESSO_TRY(read_le(c, 4, &v, what));
    *out = (uint32_t)v;
    return PRESSO_OK;
}

static presso_status read_u64(cursor *c, uint64_t *out, const char *what) { return read_le(c, 8, out, what); }

/* `what` names the string for messages ("key 3", "tensor 7 name"). */
static presso_status read_string(cursor *c, presso_gguf_string *out, const char *what) {
    size_t at = c->pos;
    uint64_t len = 0;
    PRESSO_TRY(read_u64(c, &len, what));
    if (len > remaining(c))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: %s: string length %llu exceeds file size",
                           c->name, at, what, (unsigned long long)len);
    out->ptr = (const char *)c->base + c->pos;
    out->len = len;
    c->pos += (size_t)len;
    return PRESSO_OK;
}

size_t presso_gguf_value_size(uint32_t type) {
    switch (type) {
    case PRESSO_GGUF_UINT8:
    case PRESSO_GGUF_INT8:
    case PRESSO_GGUF_BOOL: return 1;
    case PRESSO_GGUF_UINT16:
    case PRESSO_GGUF_INT16: return 2;
    case PRESSO_GGUF_UINT32:
    case PRESSO_GGUF_INT32:
    case PRESSO_GGUF_FLOAT32: return 4;
    case PRESSO_GGUF_UINT64:
    case PRESSO_GGUF_INT64:
    case PRESSO_GGUF_FLOAT64: return 8;
    default: return 0; /* STRING, ARRAY, unknown */
    }
}

static const char *value_type_name(uint32_t type) {
    static const char *const names[] = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

/* ---- name index ---------------------------------------------------------- */

static uint64_t hash_bytes(const char *p, uint64_t n) {
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (uint64_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static presso_status index_init(name_index *ix, int64_t n) {
    uint64_t cap = 8;
    while (cap < (uint64_t)n * 2) cap *= 2;
    ix->slots = calloc(cap, sizeof *ix->slots);
    if (!ix->slots) return presso_fail(PRESSO_ERR_NOMEM, "out of memory for a %llu-slot name index",
                                       (unsigned long long)cap);
    ix->mask = cap - 1;
    return PRESSO_OK;
}

/* Inserts index i under `name`, or returns the index already there (else -1).
 * names_at(i) gives the stored name for comparisons. */
typedef presso_gguf_string (*name_at_fn)(const presso_gguf *g, int64_t i);

static int64_t index_lookup(const name_index *ix, const presso_gguf *g, name_at_fn name_at, const char *p,
                            uint64_t n, int64_t insert) {
    if (!ix->slots) return -1;
    for (uint64_t s = hash_bytes(p, n) & ix->mask;; s = (s + 1) & ix->mask) {
        int64_t v = ix->slots[s];
        if (v == 0) {
            if (insert >= 0) ix->slots[s] = insert + 1;
            return -1;
        }
        presso_gguf_string other = name_at(g, v - 1);
        if (other.len == n && memcmp(other.ptr, p, (size_t)n) == 0) return v - 1;
    }
}

static presso_gguf_string kv_name_at(const presso_gguf *g, int64_t i) { return g->kvs[i].key; }

static presso_gguf_string tensor_name_at(const presso_gguf *g, int64_t i) {
    presso_gguf_string s = {g->tensors[i].name, strlen(g->tensors[i].name)};
    return s;
}

/* ---- parsing ------------------------------------------------------------- */

static presso_status parse_value(cursor *c, gguf_kv *kv, int64_t i) {
    size_t at = c->pos;
    uint32_t type = 0;
    PRESSO_TRY(read_u32(c, &type, "value type"));
    presso_gguf_value *v = &kv->value;
    v->raw = c->base + c->pos;
    if (type > PRESSO_GGUF_FLOAT64)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: key %lld: unknown value type %u", c->name, at,
                           (long long)i, type);
    v->type = v->elem_type = (presso_gguf_value_type)type;
    if (type == PRESSO_GGUF_STRING) {
        char what[64];
        snprintf(what, sizeof what, "key %lld value", (long long)i);
        presso_gguf_string s = {NULL, 0};
        PRESSO_TRY(read_string(c, &s, what));
        v->data = s.ptr;
        v->count = s.len;
    } else if (type == PRESSO_GGUF_ARRAY) {
        uint32_t elem = 0;
        uint64_t count = 0;
        size_t elem_at = c->pos;
        PRESSO_TRY(read_u32(c, &elem, "array element type"));
        PRESSO_TRY(read_u64(c, &count, "array length"));
        if (elem > PRESSO_GGUF_FLOAT64)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: key %lld: unknown array element type %u",
                               c->name, elem_at, (long long)i, elem);
        if (elem == PRESSO_GGUF_ARRAY)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: key %lld: nested arrays are not supported",
                               c->name, elem_at, (long long)i);
        v->elem_type = (presso_gguf_value_type)elem;
        size_t min_elem = elem == PRESSO_GGUF_STRING ? 8 : presso_gguf_value_size(elem);
        if (count > remaining(c) / min_elem)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: key %lld: array length %llu exceeds file size",
                               c->name, elem_at + 4, (long long)i, (unsigned long long)count);
        v->count = count;
        if (elem == PRESSO_GGUF_STRING) {
            v->data = NULL;
            /* Bounded above: count <= bytes left / 8. */
            kv->str_offsets = malloc((size_t)(count ? count : 1) * sizeof *kv->str_offsets);
            if (!kv->str_offsets)
                return presso_fail(PRESSO_ERR_NOMEM, "%s: key %lld: out of memory for %llu strings", c->name,
                                   (long long)i, (unsigned long long)count);
            char what[64];
            for (uint64_t j = 0; j < count; j++) {
                kv->str_offsets[j] = c->pos;
                snprintf(what, sizeof what, "key %lld element %llu", (long long)i, (unsigned long long)j);
                presso_gguf_string s;
                PRESSO_TRY(read_string(c, &s, what));
            }
        } else {
            v->data = c->base + c->pos;
            c->pos += (size_t)(count * min_elem);
        }
    } else {
        size_t n = presso_gguf_value_size(type);
        if (remaining(c) < n) return truncated(c, "value");
        v->data = c->base + c->pos;
        v->count = 1;
        c->pos += n;
    }
    v->raw_len = (uint64_t)(c->base + c->pos - v->raw);
    return PRESSO_OK;
}

static presso_status parse_kvs(presso_gguf *g, cursor *c, uint64_t n_kv) {
    int64_t cap = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        if (g->n_kv == cap) {
            int64_t ncap = cap ? cap * 2 : 16;
            if ((uint64_t)ncap > n_kv) ncap = (int64_t)n_kv;
            gguf_kv *p = realloc(g->kvs, (size_t)ncap * sizeof *p);
            if (!p) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory for %lld keys", g->name,
                                       (long long)ncap);
            g->kvs = p;
            cap = ncap;
        }
        gguf_kv *kv = &g->kvs[g->n_kv];
        memset(kv, 0, sizeof *kv);
        g->n_kv++; /* counted now so close() frees str_offsets of a half-parsed kv */
        kv->key_offset = c->pos;
        char what[64];
        snprintf(what, sizeof what, "key %llu", (unsigned long long)i);
        PRESSO_TRY(read_string(c, &kv->key, what));
        PRESSO_TRY(parse_value(c, kv, (int64_t)i));
    }
    PRESSO_TRY(index_init(&g->key_index, g->n_kv));
    for (int64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kvs[i];
        int64_t prev = index_lookup(&g->key_index, g, kv_name_at, kv->key.ptr, kv->key.len, i);
        if (prev >= 0)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: key %lld: duplicate key '%.*s' (also key %lld)",
                               g->name, kv->key_offset, (long long)i, (int)(kv->key.len > 64 ? 64 : kv->key.len),
                               kv->key.ptr, (long long)prev);
    }
    return PRESSO_OK;
}

static presso_status parse_alignment(presso_gguf *g) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t i = presso_gguf_find_key(g, "general.alignment");
    if (i < 0) return PRESSO_OK;
    const gguf_kv *kv = &g->kvs[i];
    if (kv->value.type != PRESSO_GGUF_UINT32)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: general.alignment has type %s, expected u32",
                           g->name, kv->key_offset, value_type_name(kv->value.type));
    uint64_t a = load_le(kv->value.data, 4);
    if (a == 0 || (a & (a - 1)) != 0)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: general.alignment %llu is not a power of two",
                           g->name, kv->key_offset, (unsigned long long)a);
    g->alignment = a;
    return PRESSO_OK;
}

static presso_status parse_tensor_info(presso_gguf *g, cursor *c, int64_t i, uint64_t *offset) {
    presso_tensor *t = &g->tensors[i];
    size_t at = c->pos;
    char what[64];
    snprintf(what, sizeof what, "tensor %lld name", (long long)i);
    presso_gguf_string name = {NULL, 0};
    PRESSO_TRY(read_string(c, &name, what));
    if (name.len >= PRESSO_MAX_NAME)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor %lld: name of %llu bytes is longer than %d",
                           g->name, at, (long long)i, (unsigned long long)name.len, PRESSO_MAX_NAME - 1);
    if (memchr(name.ptr, '\0', (size_t)name.len))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor %lld: name contains a NUL byte", g->name,
                           at, (long long)i);
    memcpy(t->name, name.ptr, (size_t)name.len);
    t->name[name.len] = '\0';

    size_t dims_at = c->pos;
    uint32_t n_dims = 0;
    PRESSO_TRY(read_u32(c, &n_dims, "tensor n_dims"));
    if (n_dims < 1 || n_dims > PRESSO_MAX_DIMS)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor '%s': n_dims %u is not in 1..%d", g->name,
                           dims_at, t->name, n_dims, PRESSO_MAX_DIMS);
    t->n_dims = (int)n_dims;
    for (int d = 0; d < PRESSO_MAX_DIMS; d++) t->ne[d] = 1;
    int64_t nelements = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        size_t ne_at = c->pos;
        uint64_t ne = 0;
        PRESSO_TRY(read_u64(c, &ne, "tensor dimension"));
        if (ne > (uint64_t)INT64_MAX)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor '%s': ne[%u] = %llu is negative as int64",
                               g->name, ne_at, t->name, d, (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
        if (__builtin_mul_overflow(nelements, t->ne[d], &nelements))
            return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor '%s': element count overflows int64",
                               g->name, ne_at, t->name);
    }
    size_t type_at = c->pos;
    uint32_t type = 0;
    PRESSO_TRY(read_u32(c, &type, "tensor type"));
    const presso_type_traits *traits = presso_type_traits_of(type > INT32_MAX ? -1 : (int)type);
    if (!traits)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor '%s': unknown tensor type %u", g->name,
                           type_at, t->name, type);
    t->type = (presso_type)type;
    if (t->ne[0] / traits->block_size > (INT64_MAX - (int64_t)traits->row_header_bytes) / (int64_t)traits->block_bytes)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor '%s': row of %lld elements overflows int64 bytes",
                           g->name, dims_at, t->name, (long long)t->ne[0]);
    int64_t row = presso_row_bytes(t->type, t->ne[0]);
    if (row < 0)
        return presso_fail(PRESSO_ERR_FORMAT,
                           "%s: offset %zu: tensor '%s': ne[0] = %lld is not a multiple of the %s block size %lld",
                           g->name, dims_at, t->name, (long long)t->ne[0], traits->name,
                           (long long)traits->block_size);
    int64_t nbytes = row;
    for (int d = 1; d < PRESSO_MAX_DIMS; d++)
        if (__builtin_mul_overflow(nbytes, t->ne[d], &nbytes))
            return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor '%s': byte size overflows int64",
                               g->name, dims_at, t->name);
    t->nbytes = (size_t)nbytes;
    PRESSO_TRY(read_u64(c, offset, "tensor offset"));
    return PRESSO_OK;
}

static presso_status parse_tensors(presso_gguf *g, cursor *c, uint64_t n_tensors) {
    /* Bounded by the caller: n_tensors * GGUF_MIN_TENSOR_INFO_BYTES <= file size. */
    g->tensors = calloc((size_t)(n_tensors ? n_tensors : 1), sizeof *g->tensors);
    uint64_t *offsets = calloc((size_t)(n_tensors ? n_tensors : 1), sizeof *offsets);
    size_t *info_at = calloc((size_t)(n_tensors ? n_tensors : 1), sizeof *info_at);
    presso_status st = PRESSO_OK;
    if (!g->tensors || !offsets || !info_at) {
        st = presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory for %llu tensors", g->name,
                         (unsigned long long)n_tensors);
        goto done;
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        info_at[i] = c->pos;
        st = parse_tensor_info(g, c, (int64_t)i, &offsets[i]);
        if (st != PRESSO_OK) goto done;
        g->n_tensors++;
    }
    st = index_init(&g->tensor_index, g->n_tensors);
    if (st != PRESSO_OK) goto done;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const presso_tensor *t = &g->tensors[i];
        int64_t prev = index_lookup(&g->tensor_index, g, tensor_name_at, t->name, strlen(t->name), i);
        if (prev >= 0) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor %lld: duplicate tensor name '%s'", g->name,
                             info_at[i], (long long)i, t->name);
            goto done;
        }
    }

    /* The data section starts at the next multiple of the alignment. */
    uint64_t a = g->alignment;
    uint64_t start = ((uint64_t)c->pos + a - 1) / a * a; /* pos < 2^63, a <= 2^32: no overflow */
    g->data_offset = start;
    if (n_tensors > 0 && start > g->size) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: data section at %llu starts past the end of the file",
                         g->name, c->pos, (unsigned long long)start);
        goto done;
    }
    uint64_t data_size = g->size - (start < g->size ? start : g->size);
    for (int64_t i = 0; i < g->n_tensors; i++) {
        presso_tensor *t = &g->tensors[i];
        uint64_t off = offsets[i];
        /* The offset field is the last 8 bytes of the tensor's info. */
        size_t off_at = (i + 1 < g->n_tensors ? info_at[i + 1] : c->pos) - 8;
        if (off % a != 0) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: offset %zu: tensor '%s': data offset %llu is not a multiple of the alignment %llu",
                             g->name, off_at, t->name, (unsigned long long)off, (unsigned long long)a);
            goto done;
        }
        if (off > data_size || t->nbytes > data_size - off) {
            st = presso_fail(PRESSO_ERR_FORMAT,
                             "%s: offset %zu: tensor '%s': data [%llu, +%zu) relative to the data section at %llu lies past the end of the file (%zu bytes)",
                             g->name, off_at, t->name, (unsigned long long)off, t->nbytes,
                             (unsigned long long)start, g->size);
            goto done;
        }
        t->data = g->base ? g->base + start + off : NULL;
    }
done:
    free(offsets);
    free(info_at);
    return st;
}

static presso_status parse(presso_gguf *g) {
    cursor c = {g->base, g->size, 0, g->name};
    if (g->size < 4 || memcmp(g->base, "GGUF", 4) != 0) {
        if (g->size < 4) return truncated(&c, "magic");
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset 0: bad magic %02x %02x %02x %02x (expected \"GGUF\")",
                           g->name, g->base[0], g->base[1], g->base[2], g->base[3]);
    }
    c.pos = 4;
    PRESSO_TRY(read_u32(&c, &g->version, "version"));
    uint32_t v = g->version;
    uint32_t swapped = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
    if ((v & 0xffffu) == 0 && swapped >= 1 && swapped <= 3)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset 4: big-endian GGUF (version %u byte-swapped) is not supported",
                           g->name, swapped);
    if (v == 1)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset 4: GGUF version 1 is not supported (only 2 and 3)",
                           g->name);
    if (v != 2 && v != 3)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset 4: unsupported GGUF version %u (only 2 and 3)", g->name,
                           v);
    uint64_t n_tensors = 0, n_kv = 0;
    PRESSO_TRY(read_u64(&c, &n_tensors, "tensor count"));
    PRESSO_TRY(read_u64(&c, &n_kv, "key/value count"));
    size_t left = remaining(&c);
    if (n_tensors > left / GGUF_MIN_TENSOR_INFO_BYTES)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset 8: tensor count %llu exceeds file size", g->name,
                           (unsigned long long)n_tensors);
    if (n_kv > left / GGUF_MIN_KV_BYTES)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: offset 16: key/value count %llu exceeds file size", g->name,
                           (unsigned long long)n_kv);
    PRESSO_TRY(parse_kvs(g, &c, n_kv));
    PRESSO_TRY(parse_alignment(g));
    return parse_tensors(g, &c, n_tensors);
}

static presso_status open_image(const uint8_t *data, size_t size, const char *name, presso_mapped_file map,
                                presso_gguf **out) {
    *out = NULL;
    presso_gguf *g = calloc(1, sizeof *g);
    char *copy = malloc(strlen(name) + 1);
    if (!g || !copy) {
        free(g);
        free(copy);
        presso_unmap_file(&map);
        return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", name);
    }
    strcpy(copy, name);
    g->map = map;
    g->base = data;
    g->size = size;
    g->name = copy;
    presso_status st = parse(g);
    if (st != PRESSO_OK) {
        presso_gguf_close(g);
        return st;
    }
    *out = g;
    return PRESSO_OK;
}

presso_status presso_gguf_open(const char *path, presso_gguf **out) {
    *out = NULL;
    presso_mapped_file map;
    PRESSO_TRY(presso_map_file(path, &map));
    return open_image(map.data, map.size, path, map, out);
}

presso_status presso_gguf_open_buffer(const uint8_t *data, size_t size, const char *name, presso_gguf **out) {
    presso_mapped_file none = {NULL, 0};
    if (!data) size = 0;
    return open_image(data, size, name ? name : "<buffer>", none, out);
}

void presso_gguf_close(presso_gguf *g) {
    if (!g) return;
    for (int64_t i = 0; i < g->n_kv; i++) free(g->kvs[i].str_offsets);
    free(g->kvs);
    free(g->tensors);
    free(g->key_index.slots);
    free(g->tensor_index.slots);
    presso_unmap_file(&g->map);
    free(g->name);
    free(g);
}

/* ---- accessors ------------------------------------------------------------ */

uint32_t presso_gguf_version(const presso_gguf *g) { return g->version; }
uint64_t presso_gguf_alignment(const presso_gguf *g) { return g->alignment; }
const char *presso_gguf_path(const presso_gguf *g) { return g->name; }
size_t presso_gguf_file_size(const presso_gguf *g) { return g->size; }
const uint8_t *presso_gguf_base(const presso_gguf *g) { return g->base; }
presso_mapped_file presso_gguf_mapping(const presso_gguf *g) { return g->map; }
uint64_t presso_gguf_data_offset(const presso_gguf *g) { return g->data_offset; }
int64_t presso_gguf_kv_count(const presso_gguf *g) { return g->n_kv; }

int64_t presso_gguf_find_key(const presso_gguf *g, const char *key) {
    if (!key) return -1;
    return index_lookup(&g->key_index, g, kv_name_at, key, strlen(key), -1);
}

presso_gguf_string presso_gguf_kv_key(const presso_gguf *g, int64_t i) {
    presso_gguf_string none = {NULL, 0};
    return i >= 0 && i < g->n_kv ? g->kvs[i].key : none;
}

presso_gguf_value_type presso_gguf_kv_type(const presso_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kvs[i].value.type : (presso_gguf_value_type)-1;
}

presso_status presso_gguf_kv_value(const presso_gguf *g, int64_t i, presso_gguf_value *out) {
    if (i < 0 || i >= g->n_kv)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: key index %lld out of range (%lld keys)", g->name,
                           (long long)i, (long long)g->n_kv);
    *out = g->kvs[i].value;
    return PRESSO_OK;
}

presso_status presso_gguf_kv_array_string(const presso_gguf *g, int64_t i, uint64_t j, presso_gguf_string *out) {
    if (i < 0 || i >= g->n_kv)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: key index %lld out of range (%lld keys)", g->name,
                           (long long)i, (long long)g->n_kv);
    const gguf_kv *kv = &g->kvs[i];
    if (kv->value.type != PRESSO_GGUF_ARRAY || kv->value.elem_type != PRESSO_GGUF_STRING)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: key '%.*s' is not a string array", g->name,
                           (int)(kv->key.len > 64 ? 64 : kv->key.len), kv->key.ptr);
    if (j >= kv->value.count)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: key '%.*s': element %llu out of range (%llu elements)",
                           g->name, (int)(kv->key.len > 64 ? 64 : kv->key.len), kv->key.ptr,
                           (unsigned long long)j, (unsigned long long)kv->value.count);
    const uint8_t *p = g->base + kv->str_offsets[j];
    out->len = load_le(p, 8); /* validated while parsing */
    out->ptr = (const char *)p + 8;
    return PRESSO_OK;
}

static presso_status find_kv(const presso_gguf *g, const char *key, const gguf_kv **out) {
    int64_t i = presso_gguf_find_key(g, key);
    if (i < 0) return presso_fail(PRESSO_ERR_FORMAT, "%s: missing key '%s'", g->name, key ? key : "(null)");
    *out = &g->kvs[i];
    return PRESSO_OK;
}

static presso_status wrong_type(const presso_gguf *g, const char *key, const presso_gguf_value *v,
                                const char *expected) {
    if (v->type == PRESSO_GGUF_ARRAY)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: key '%s' is an array of %s, expected %s", g->name, key,
                           value_type_name(v->elem_type), expected);
    return presso_fail(PRESSO_ERR_FORMAT, "%s: key '%s' has type %s, expected %s", g->name, key,
                       value_type_name(v->type), expected);
}

/* Integer value of any integer type, as sign + magnitude so that u64 and
 * i64 both fit. */
static bool get_integer(const presso_gguf_value *v, bool *negative, uint64_t *magnitude) {
    size_t n = presso_gguf_value_size(v->type);
    if (n == 0 || v->type == PRESSO_GGUF_BOOL || v->type == PRESSO_GGUF_FLOAT32 || v->type == PRESSO_GGUF_FLOAT64)
        return false;
    uint64_t raw = load_le(v->data, (int)n);
    bool is_signed = v->type == PRESSO_GGUF_INT8 || v->type == PRESSO_GGUF_INT16 ||
                     v->type == PRESSO_GGUF_INT32 || v->type == PRESSO_GGUF_INT64;
    uint64_t sign_bit = 1ull << (8 * n - 1);
    *negative = is_signed && (raw & sign_bit);
    if (*negative) {
        uint64_t mask = n == 8 ? ~0ull : (1ull << (8 * n)) - 1;
        *magnitude = ((~raw) & mask) + 1; /* two's complement magnitude, exact for INT64_MIN */
    } else {
        *magnitude = raw;
    }
    return true;
}

static presso_status get_int_range(const presso_gguf *g, const char *key, bool allow_negative, uint64_t max,
                                   bool *neg, uint64_t *mag) {
    const gguf_kv *kv;
    PRESSO_TRY(find_kv(g, key, &kv));
    if (!get_integer(&kv->value, neg, mag)) return wrong_type(g, key, &kv->value, "an integer");
    if ((*neg && (!allow_negative || *mag > (uint64_t)INT64_MAX + 1)) || (!*neg && *mag > max))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: key '%s': value %s%llu out of range", g->name, key,
                           *neg ? "-" : "", (unsigned long long)*mag);
    return PRESSO_OK;
}

presso_status presso_gguf_get_u32(const presso_gguf *g, const char *key, uint32_t *out) {
    bool neg;
    uint64_t mag = 0;
    PRESSO_TRY(get_int_range(g, key, false, UINT32_MAX, &neg, &mag));
    *out = (uint32_t)mag;
    return PRESSO_OK;
}

presso_status presso_gguf_get_u64(const presso_gguf *g, const char *key, uint64_t *out) {
    bool neg;
    uint64_t mag = 0;
    PRESSO_TRY(get_int_range(g, key, false, UINT64_MAX, &neg, &mag));
    *out = mag;
    return PRESSO_OK;
}

presso_status presso_gguf_get_i64(const presso_gguf *g, const char *key, int64_t *out) {
    bool neg;
    uint64_t mag = 0;
    PRESSO_TRY(get_int_range(g, key, true, (uint64_t)INT64_MAX, &neg, &mag));
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag; /* 0 - mag wraps to the two's complement value */
    return PRESSO_OK;
}

presso_status presso_gguf_get_f64(const presso_gguf *g, const char *key, double *out) {
    const gguf_kv *kv;
    PRESSO_TRY(find_kv(g, key, &kv));
    if (kv->value.type == PRESSO_GGUF_FLOAT32) {
        uint32_t bits = (uint32_t)load_le(kv->value.data, 4);
        float f;
        memcpy(&f, &bits, 4);
        *out = f;
    } else if (kv->value.type == PRESSO_GGUF_FLOAT64) {
        uint64_t bits = load_le(kv->value.data, 8);
        memcpy(out, &bits, 8);
    } else {
        return wrong_type(g, key, &kv->value, "f32 or f64");
    }
    return PRESSO_OK;
}

presso_status presso_gguf_get_f32(const presso_gguf *g, const char *key, float *out) {
    double d;
    PRESSO_TRY(presso_gguf_get_f64(g, key, &d));
    /* Converting a finite double beyond the float range is undefined behaviour. */
    if (isnan(d)) {
        *out = NAN;
    } else if (isfinite(d) && fabs(d) > FLT_MAX) {
        return presso_fail(PRESSO_ERR_FORMAT, "%s: key '%s': value %g does not fit in f32", g->name, key, d);
    } else {
        *out = (float)d;
    }
    return PRESSO_OK;
}

presso_status presso_gguf_get_bool(const presso_gguf *g, const char *key, bool *out) {
    const gguf_kv *kv;
    PRESSO_TRY(find_kv(g, key, &kv));
    if (kv->value.type != PRESSO_GGUF_BOOL) return wrong_type(g, key, &kv->value, "bool");
    *out = *(const uint8_t *)kv->value.data != 0;
    return PRESSO_OK;
}

presso_status presso_gguf_get_string(const presso_gguf *g, const char *key, presso_gguf_string *out) {
    const gguf_kv *kv;
    PRESSO_TRY(find_kv(g, key, &kv));
    if (kv->value.type != PRESSO_GGUF_STRING) return wrong_type(g, key, &kv->value, "string");
    out->ptr = kv->value.data;
    out->len = kv->value.count;
    return PRESSO_OK;
}

presso_status presso_gguf_get_array_info(const presso_gguf *g, const char *key, presso_gguf_value_type *elem_type,
                                         uint64_t *count) {
    const gguf_kv *kv;
    PRESSO_TRY(find_kv(g, key, &kv));
    if (kv->value.type != PRESSO_GGUF_ARRAY) return wrong_type(g, key, &kv->value, "an array");
    *elem_type = kv->value.elem_type;
    *count = kv->value.count;
    return PRESSO_OK;
}

presso_status presso_gguf_get_array_string(const presso_gguf *g, const char *key, uint64_t i,
                                           presso_gguf_string *out) {
    const gguf_kv *kv;
    PRESSO_TRY(find_kv(g, key, &kv));
    if (kv->value.type != PRESSO_GGUF_ARRAY || kv->value.elem_type != PRESSO_GGUF_STRING)
        return wrong_type(g, key, &kv->value, "an array of string");
    return presso_gguf_kv_array_string(g, kv - g->kvs, i, out);
}

presso_status presso_gguf_get_array_data(const presso_gguf *g, const char *key, const void **data) {
    const gguf_kv *kv;
    PRESSO_TRY(find_kv(g, key, &kv));
    if (kv->value.type != PRESSO_GGUF_ARRAY || kv->value.elem_type == PRESSO_GGUF_STRING)
        return wrong_type(g, key, &kv->value, "a numeric array");
    *data = kv->value.data;
    return PRESSO_OK;
}

int64_t presso_gguf_tensor_count(const presso_gguf *g) { return g->n_tensors; }

const presso_tensor *presso_gguf_tensor(const presso_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const presso_tensor *presso_gguf_find_tensor(const presso_gguf *g, const char *name) {
    if (!name) return NULL;
    int64_t i = index_lookup(&g->tensor_index, g, tensor_name_at, name, strlen(name), -1);
    return i >= 0 ? &g->tensors[i] : NULL;
}
