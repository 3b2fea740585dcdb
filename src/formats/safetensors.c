/* Hugging Face safetensors reader: single files and sharded models.
 *
 * Layout (https://github.com/huggingface/safetensors): u64 LE header length N,
 * N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}},
 * then the data; offsets are relative to the first byte after the header.
 * Everything read from the file is untrusted: every number is range-checked
 * before it is used in pointer arithmetic, as the reference Rust reader does
 * (it caps the header at 100 MB for the same reason). Tensors point into the
 * read-only mapping; nothing is copied. */
#define _POSIX_C_SOURCE 200809L
#include "formats/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/mapped_file.h"

#define HEADER_MAX_BYTES ((uint64_t)100 * 1000 * 1000)
#define INDEX_MAX_BYTES ((size_t)100 * 1000 * 1000)
#define PATH_CAPACITY 4096
/* Doubles hold integers exactly up to 2^53; JSON numbers past that cannot be
 * a real offset or dimension anyway. */
#define MAX_EXACT_INT 9007199254740992.0

struct presso_safetensors {
    presso_mapped_file *files;
    int n_files;
    presso_tensor *tensors;
    int64_t n_tensors;
    const presso_tensor **sorted; /* by name, for find() and duplicate checks */
};

static int compare_tensor_names(const void *a, const void *b) {
    const presso_tensor *ta = *(const presso_tensor *const *)a;
    const presso_tensor *tb = *(const presso_tensor *const *)b;
    return strcmp(ta->name, tb->name);
}

static presso_status parse_dtype(const char *dtype, presso_type *type, size_t *elem_size) {
    if (strcmp(dtype, "F32") == 0) {
        *type = PRESSO_TYPE_F32;
        *elem_size = 4;
    } else if (strcmp(dtype, "F16") == 0) {
        *type = PRESSO_TYPE_F16;
        *elem_size = 2;
    } else if (strcmp(dtype, "BF16") == 0) {
        *type = PRESSO_TYPE_BF16;
        *elem_size = 2;
    } else {
        return PRESSO_ERR_UNSUPPORTED;
    }
    return PRESSO_OK;
}

/* A JSON number that is a non-negative integer below 2^53. */
static int json_uint(const cJSON *item, int64_t *out) {
    if (!cJSON_IsNumber(item)) return 0;
    double v = item->valuedouble;
    if (!(v >= 0.0 && v < MAX_EXACT_INT) || v != (double)(int64_t)v) return 0;
    *out = (int64_t)v;
    return 1;
}

/* Duplicate keys are legal for cJSON (it keeps both) but ambiguous for us. */
static presso_status check_entry_keys(const cJSON *entry, const char *file, const char *name) {
    int seen_dtype = 0, seen_shape = 0, seen_offsets = 0;
    for (const cJSON *c = entry->child; c; c = c->next) {
        int *seen = NULL;
        if (c->string && strcmp(c->string, "dtype") == 0) seen = &seen_dtype;
        if (c->string && strcmp(c->string, "shape") == 0) seen = &seen_shape;
        if (c->string && strcmp(c->string, "data_offsets") == 0) seen = &seen_offsets;
        if (seen && (*seen)++)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s': duplicate key \"%s\"", file,
                               name, c->string);
    }
    return PRESSO_OK;
}

/* Parses one header entry into t (pointing into data[0, data_size)). */
static presso_status parse_entry(const cJSON *entry, const char *file, const uint8_t *data,
                                 uint64_t data_size, uint64_t data_start, presso_tensor *t) {
    const char *name = entry->string;
    size_t name_len = strlen(name);
    if (name_len == 0) return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor with an empty name", file);
    if (name_len >= PRESSO_MAX_NAME)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: tensor name '%.60s...' is %zu bytes (max %d)",
                           file, name, name_len, PRESSO_MAX_NAME - 1);
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, name_len + 1);
    if (!cJSON_IsObject(entry))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s': entry is not a JSON object", file, name);
    PRESSO_TRY(check_entry_keys(entry, file, name));

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    if (!cJSON_IsString(dtype))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s': \"dtype\" missing or not a string",
                           file, name);
    size_t elem_size = 0;
    if (parse_dtype(dtype->valuestring, &t->type, &elem_size) != PRESSO_OK)
        return presso_fail(PRESSO_ERR_UNSUPPORTED,
                           "%s: tensor '%s': dtype %.32s is not supported (F32, F16, BF16 only)",
                           file, name, dtype->valuestring);

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    if (!cJSON_IsArray(shape))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s': \"shape\" missing or not an array",
                           file, name);
    int n_dims = cJSON_GetArraySize(shape);
    if (n_dims > PRESSO_MAX_DIMS)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: tensor '%s': %d dimensions (max %d)", file,
                           name, n_dims, PRESSO_MAX_DIMS);
    for (int d = 0; d < PRESSO_MAX_DIMS; d++) t->ne[d] = 1;
    /* A scalar (shape []) is a 1-element vector, so consumers can always read ne[n_dims-1]. */
    t->n_dims = n_dims > 0 ? n_dims : 1;
    int64_t n_elements = 1;
    int d = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, d++) {
        int64_t v;
        if (!json_uint(dim, &v))
            return presso_fail(PRESSO_ERR_FORMAT,
                               "%s: tensor '%s': shape entry %d is not a non-negative integer",
                               file, name, d);
        /* safetensors lists the slowest dimension first; ggml order is the reverse. */
        t->ne[n_dims - 1 - d] = v;
        if (v != 0 && n_elements > INT64_MAX / v)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s': shape overflows 64 bits", file, name);
        n_elements *= v;
    }
    if (n_elements > INT64_MAX / (int64_t)elem_size)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s': byte size overflows 64 bits", file, name);
    uint64_t nbytes = (uint64_t)n_elements * elem_size;

    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    int64_t begin, end;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_uint(offsets->child, &begin) || !json_uint(offsets->child->next, &end))
        return presso_fail(PRESSO_ERR_FORMAT,
                           "%s: tensor '%s': \"data_offsets\" must be two non-negative integers",
                           file, name);
    if (begin > end)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] begin > end",
                           file, name, (long long)begin, (long long)end);
    if ((uint64_t)end > data_size)
        return presso_fail(PRESSO_ERR_FORMAT,
                           "%s: tensor '%s': data_offsets end %lld is past the data (%llu bytes from "
                           "file offset %llu)",
                           file, name, (long long)end, (unsigned long long)data_size,
                           (unsigned long long)data_start);
    if ((uint64_t)(end - begin) != nbytes)
        return presso_fail(PRESSO_ERR_FORMAT,
                           "%s: tensor '%s': data_offsets [%lld, %lld] hold %lld bytes but %s x shape "
                           "needs %llu",
                           file, name, (long long)begin, (long long)end, (long long)(end - begin),
                           dtype->valuestring, (unsigned long long)nbytes);
    t->data = data + begin;
    t->nbytes = (size_t)nbytes;
    /* Kernels read these as float / uint16 arrays; a misaligned view would be UB. */
    if (nbytes > 0 && (uintptr_t)t->data % elem_size != 0)
        return presso_fail(PRESSO_ERR_UNSUPPORTED,
                           "%s: tensor '%s': data at file offset %llu is not %zu-byte aligned", file,
                           name, (unsigned long long)(data_start + (uint64_t)begin), elem_size);
    return PRESSO_OK;
}

/* Appends the tensors of one safetensors image to st->tensors. */
static presso_status parse_image(presso_safetensors *st, const uint8_t *buf, size_t size,
                                 const char *file) {
    if (size < 8)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: %zu bytes, too short for the 8-byte header length",
                           file, size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | buf[i];
    if (header_len > size - 8)
        return presso_fail(PRESSO_ERR_FORMAT,
                           "%s: header length %llu is past the end of the file (%zu bytes; truncated?)",
                           file, (unsigned long long)header_len, size);
    if (header_len > HEADER_MAX_BYTES)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: header length %llu exceeds the 100 MB limit", file,
                           (unsigned long long)header_len);
    /* cJSON wants a NUL-terminated string; the file's header is not one. */
    char *text = malloc((size_t)header_len + 1);
    if (!text) return presso_fail(PRESSO_ERR_NOMEM, "%s: header of %llu bytes", file,
                                  (unsigned long long)header_len);
    memcpy(text, buf + 8, (size_t)header_len);
    text[header_len] = '\0';
    presso_status status = PRESSO_OK;
    cJSON *root = NULL;
    /* JSON text has no NUL bytes, but cJSON skips them as whitespace. */
    const char *nul = memchr(text, 0, (size_t)header_len);
    if (nul) {
        status = presso_fail(PRESSO_ERR_FORMAT, "%s: header holds a NUL byte at header byte %zu", file,
                             (size_t)(nul - text));
        goto done;
    }
    const char *parse_end = NULL;
    root = cJSON_ParseWithLengthOpts(text, (size_t)header_len + 1, &parse_end, 1);
    if (!root) {
        size_t at = parse_end && parse_end >= text ? (size_t)(parse_end - text) : 0;
        status = presso_fail(PRESSO_ERR_FORMAT, "%s: header is not valid JSON (near header byte %zu)",
                             file, at);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        status = presso_fail(PRESSO_ERR_FORMAT, "%s: header is not a JSON object", file);
        goto done;
    }
    int64_t n_entries = 0;
    for (const cJSON *e = root->child; e; e = e->next) n_entries++;
    presso_tensor *grown = realloc(st->tensors, (size_t)(st->n_tensors + n_entries + 1) * sizeof *grown);
    if (!grown) {
        status = presso_fail(PRESSO_ERR_NOMEM, "%s: %lld tensors", file, (long long)n_entries);
        goto done;
    }
    st->tensors = grown;
    const uint64_t data_start = 8 + header_len;
    const uint8_t *data = buf + data_start;
    const uint64_t data_size = size - data_start;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!e->string) {
            status = presso_fail(PRESSO_ERR_FORMAT, "%s: header entry without a name", file);
            goto done;
        }
        if (strcmp(e->string, "__metadata__") == 0) continue;
        status = parse_entry(e, file, data, data_size, data_start, &st->tensors[st->n_tensors]);
        if (status != PRESSO_OK) goto done;
        st->n_tensors++;
    }
done:
    cJSON_Delete(root);
    free(text);
    return status;
}

/* Builds the sorted name index; two tensors with one name are refused. */
static presso_status build_index(presso_safetensors *st, const char *file) {
    st->sorted = malloc((size_t)(st->n_tensors + 1) * sizeof *st->sorted);
    if (!st->sorted) return presso_fail(PRESSO_ERR_NOMEM, "%s: tensor index", file);
    for (int64_t i = 0; i < st->n_tensors; i++) st->sorted[i] = &st->tensors[i];
    qsort(st->sorted, (size_t)st->n_tensors, sizeof *st->sorted, compare_tensor_names);
    for (int64_t i = 1; i < st->n_tensors; i++)
        if (strcmp(st->sorted[i - 1]->name, st->sorted[i]->name) == 0)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s' appears twice", file,
                               st->sorted[i]->name);
    return PRESSO_OK;
}

static presso_safetensors *new_container(void) { return calloc(1, sizeof(presso_safetensors)); }

presso_status presso_safetensors_open_buffer(const uint8_t *data, size_t size, const char *name,
                                             presso_safetensors **out) {
    *out = NULL;
    if (!name) name = "<buffer>";
    if (!data && size > 0) return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: NULL data", name);
    presso_safetensors *st = new_container();
    if (!st) return presso_fail(PRESSO_ERR_NOMEM, "%s", name);
    presso_status s = parse_image(st, data, size, name);
    if (s == PRESSO_OK) s = build_index(st, name);
    if (s != PRESSO_OK) {
        presso_safetensors_close(st);
        return s;
    }
    *out = st;
    return PRESSO_OK;
}

/* Maps one file and appends its tensors; the mapping is owned by st. */
static presso_status add_file(presso_safetensors *st, const char *path) {
    presso_mapped_file *grown = realloc(st->files, (size_t)(st->n_files + 1) * sizeof *grown);
    if (!grown) return presso_fail(PRESSO_ERR_NOMEM, "%s", path);
    st->files = grown;
    PRESSO_TRY(presso_map_file(path, &st->files[st->n_files]));
    st->n_files++;
    const presso_mapped_file *f = &st->files[st->n_files - 1];
    return parse_image(st, f->data, f->size, path);
}

static int is_directory(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_regular(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* One weight_map row: tensor name -> index into the list of distinct shards. */
typedef struct {
    const char *tensor;
    int shard;
    int found;
} index_row;

static int compare_rows(const void *a, const void *b) {
    return strcmp(((const index_row *)a)->tensor, ((const index_row *)b)->tensor);
}

static index_row *find_row(index_row *rows, int64_t n, const char *name) {
    index_row key = {.tensor = name};
    return bsearch(&key, rows, (size_t)n, sizeof *rows, compare_rows);
}

/* A shard name from the index: a plain file name beside the index. Paths
 * would let an index reach any file on the machine. */
static int valid_shard_name(const char *s) {
    return s[0] != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static presso_status open_index(presso_safetensors *st, const char *index_path) {
    presso_mapped_file f;
    PRESSO_TRY(presso_map_file(index_path, &f));
    presso_status status = PRESSO_OK;
    char *text = NULL;
    cJSON *root = NULL;
    index_row *rows = NULL;
    const char **shards = NULL;
    int n_shards = 0;
    int64_t n_rows = 0;
    char dir[PATH_CAPACITY], shard_path[PATH_CAPACITY];

    if (f.size > INDEX_MAX_BYTES) {
        status = presso_fail(PRESSO_ERR_FORMAT, "%s: %zu bytes, over the 100 MB limit for an index",
                             index_path, f.size);
        goto done;
    }
    text = malloc(f.size + 1);
    if (!text) {
        status = presso_fail(PRESSO_ERR_NOMEM, "%s", index_path);
        goto done;
    }
    if (f.size) memcpy(text, f.data, f.size);
    text[f.size] = '\0';
    root = cJSON_ParseWithLength(text, f.size + 1);
    const cJSON *map = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    if (!cJSON_IsObject(map)) {
        status = presso_fail(PRESSO_ERR_FORMAT, "%s: %s", index_path,
                             root ? "no \"weight_map\" object" : "not valid JSON");
        goto done;
    }
    for (const cJSON *e = map->child; e; e = e->next) n_rows++;
    if (n_rows == 0) {
        status = presso_fail(PRESSO_ERR_FORMAT, "%s: \"weight_map\" is empty", index_path);
        goto done;
    }
    rows = calloc((size_t)n_rows, sizeof *rows);
    shards = calloc((size_t)n_rows, sizeof *shards);
    if (!rows || !shards) {
        status = presso_fail(PRESSO_ERR_NOMEM, "%s: %lld index entries", index_path, (long long)n_rows);
        goto done;
    }
    int64_t r = 0;
    for (const cJSON *e = map->child; e; e = e->next, r++) {
        if (!e->string || !cJSON_IsString(e) || !valid_shard_name(e->valuestring)) {
            status = presso_fail(PRESSO_ERR_FORMAT,
                                 "%s: weight_map entry '%s' is not a shard file name beside the index",
                                 index_path, e->string ? e->string : "");
            goto done;
        }
        int s = 0;
        /* Shard counts are small (tens); a linear search keeps first-seen order. */
        while (s < n_shards && strcmp(shards[s], e->valuestring) != 0) s++;
        if (s == n_shards) shards[n_shards++] = e->valuestring;
        rows[r] = (index_row){.tensor = e->string, .shard = s};
    }
    qsort(rows, (size_t)n_rows, sizeof *rows, compare_rows);
    for (int64_t i = 1; i < n_rows; i++)
        if (strcmp(rows[i - 1].tensor, rows[i].tensor) == 0) {
            status = presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s' is listed twice in weight_map",
                                 index_path, rows[i].tensor);
            goto done;
        }

    snprintf(dir, sizeof dir, "%s", index_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = '\0';
    else
        dir[0] = '\0';
    for (int s = 0; s < n_shards; s++) {
        if ((size_t)snprintf(shard_path, sizeof shard_path, "%s%s", dir, shards[s]) >= sizeof shard_path) {
            status = presso_fail(PRESSO_ERR_INVALID_ARG, "%s: shard path too long", index_path);
            goto done;
        }
        int64_t first = st->n_tensors;
        status = add_file(st, shard_path);
        if (status != PRESSO_OK) {
            presso_fail_context(status, "%s: ", index_path);
            goto done;
        }
        for (int64_t i = first; i < st->n_tensors; i++) {
            index_row *row = find_row(rows, n_rows, st->tensors[i].name);
            if (!row || row->shard != s) {
                status = presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s' is in shard %s but the index %s",
                                     index_path, st->tensors[i].name, shards[s],
                                     row ? "names another shard" : "does not list it");
                goto done;
            }
            row->found++;
        }
    }
    for (int64_t i = 0; i < n_rows; i++)
        if (!rows[i].found) {
            status = presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s' is not in shard %s", index_path,
                                 rows[i].tensor, shards[rows[i].shard]);
            goto done;
        }
    status = build_index(st, index_path);
done:
    free(shards);
    free(rows);
    cJSON_Delete(root);
    free(text);
    presso_unmap_file(&f);
    return status;
}

presso_status presso_safetensors_open(const char *path, presso_safetensors **out) {
    *out = NULL;
    if (!path) return presso_fail(PRESSO_ERR_INVALID_ARG, "safetensors: NULL path");
    presso_safetensors *st = new_container();
    if (!st) return presso_fail(PRESSO_ERR_NOMEM, "%s", path);
    char buf[PATH_CAPACITY];
    presso_status s;
    if (is_directory(path)) {
        const char *sep = ends_with(path, "/") ? "" : "/";
        snprintf(buf, sizeof buf, "%s%smodel.safetensors.index.json", path, sep);
        if (is_regular(buf)) {
            s = open_index(st, buf);
        } else {
            snprintf(buf, sizeof buf, "%s%smodel.safetensors", path, sep);
            if (is_regular(buf)) {
                s = add_file(st, buf);
                if (s == PRESSO_OK) s = build_index(st, buf);
            } else {
                s = presso_fail(PRESSO_ERR_IO,
                                "%s: directory holds neither model.safetensors.index.json nor "
                                "model.safetensors",
                                path);
            }
        }
    } else if (ends_with(path, ".json")) {
        s = open_index(st, path);
    } else {
        s = add_file(st, path);
        if (s == PRESSO_OK) s = build_index(st, path);
    }
    if (s != PRESSO_OK) {
        presso_safetensors_close(st);
        return s;
    }
    *out = st;
    return PRESSO_OK;
}

void presso_safetensors_close(presso_safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n_files; i++) presso_unmap_file(&st->files[i]);
    free(st->files);
    free(st->tensors);
    free(st->sorted);
    free(st);
}

int64_t presso_safetensors_tensor_count(const presso_safetensors *st) { return st ? st->n_tensors : 0; }

const presso_tensor *presso_safetensors_tensor(const presso_safetensors *st, int64_t i) {
    if (!st || i < 0 || i >= st->n_tensors) return NULL;
    return &st->tensors[i];
}

const presso_tensor *presso_safetensors_find(const presso_safetensors *st, const char *name) {
    if (!st || !name || !st->sorted) return NULL;
    int64_t lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->sorted[mid]->name, name);
        if (c == 0) return st->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
