/* GGUF v2/v3 container: reader (mmap, every count and offset checked before
 * use) and writer (atomic: path.tmp, fsync, rename). Spec:
 * https://github.com/ggml-org/ggml/blob/master/docs/gguf.md */
#ifndef PRESSO_FORMATS_GGUF_H
#define PRESSO_FORMATS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mapped_file.h"
#include "presso.h"
#include "tensor/tensor.h"

typedef enum {
    PRESSO_GGUF_UINT8 = 0,
    PRESSO_GGUF_INT8 = 1,
    PRESSO_GGUF_UINT16 = 2,
    PRESSO_GGUF_INT16 = 3,
    PRESSO_GGUF_UINT32 = 4,
    PRESSO_GGUF_INT32 = 5,
    PRESSO_GGUF_FLOAT32 = 6,
    PRESSO_GGUF_BOOL = 7,
    PRESSO_GGUF_STRING = 8,
    PRESSO_GGUF_ARRAY = 9,
    PRESSO_GGUF_UINT64 = 10,
    PRESSO_GGUF_INT64 = 11,
    PRESSO_GGUF_FLOAT64 = 12,
} presso_gguf_value_type;

/* Bytes of one value of a fixed-size type; 0 for STRING, ARRAY and unknown ids. */
size_t presso_gguf_value_size(uint32_t type);

/* A string inside the mapped file: not NUL-terminated. */
typedef struct {
    const char *ptr;
    uint64_t len;
} presso_gguf_string;

typedef struct presso_gguf presso_gguf;

/* ---- reading ---------------------------------------------------------- */

/* Maps and parses `path`. On error *out is NULL and the message names the
 * file, the byte offset and what is wrong. Refused with PRESSO_ERR_FORMAT:
 * versions other than 2 and 3, big-endian files, arrays of arrays, duplicate
 * keys or tensor names, general.alignment that is not a u32 power of two,
 * n_dims outside 1..4, tensor names over PRESSO_MAX_NAME-1 bytes, tensor
 * types without a row in the type traits table, and any count, length or
 * data range that does not fit in the file. Zero-size dims are allowed. */
presso_status presso_gguf_open(const char *path, presso_gguf **out);
/* Parses a GGUF image already in memory (borrowed: must outlive the handle);
 * `name` stands for the file in error messages. Used by the fuzz target. */
presso_status presso_gguf_open_buffer(const uint8_t *data, size_t size, const char *name, presso_gguf **out);
void presso_gguf_close(presso_gguf *g);

uint32_t presso_gguf_version(const presso_gguf *g);
uint64_t presso_gguf_alignment(const presso_gguf *g);
const char *presso_gguf_path(const presso_gguf *g);
size_t presso_gguf_file_size(const presso_gguf *g);

/* Key/value metadata, in file order. */
int64_t presso_gguf_kv_count(const presso_gguf *g);
/* Index of key, or -1. */
int64_t presso_gguf_find_key(const presso_gguf *g, const char *key);
/* Out-of-range i: an empty key {NULL, 0} and type (presso_gguf_value_type)-1. */
presso_gguf_string presso_gguf_kv_key(const presso_gguf *g, int64_t i);
presso_gguf_value_type presso_gguf_kv_type(const presso_gguf *g, int64_t i);

/* Typed getters by key. They return PRESSO_ERR_FORMAT (message names file
 * and key) when the key exists with an incompatible type, and
 * PRESSO_ERR_FORMAT with "missing key" when absent; use find_key first for
 * optional keys. Integer getters accept any integer type whose value fits. */
presso_status presso_gguf_get_u32(const presso_gguf *g, const char *key, uint32_t *out);
presso_status presso_gguf_get_u64(const presso_gguf *g, const char *key, uint64_t *out);
presso_status presso_gguf_get_i64(const presso_gguf *g, const char *key, int64_t *out);
presso_status presso_gguf_get_f32(const presso_gguf *g, const char *key, float *out); /* f32 or f64 */
presso_status presso_gguf_get_bool(const presso_gguf *g, const char *key, bool *out);
presso_status presso_gguf_get_string(const presso_gguf *g, const char *key, presso_gguf_string *out);

/* Arrays: element type and count; then element access. For string arrays
 * presso_gguf_get_array_string gives element i; for numeric arrays
 * presso_gguf_get_array_data gives a pointer to the packed little-endian
 * elements inside the mapping (possibly unaligned: memcpy from it). */
presso_status presso_gguf_get_array_info(const presso_gguf *g, const char *key,
                                         presso_gguf_value_type *elem_type, uint64_t *count);
presso_status presso_gguf_get_array_string(const presso_gguf *g, const char *key, uint64_t i,
                                           presso_gguf_string *out);
presso_status presso_gguf_get_array_data(const presso_gguf *g, const char *key, const void **data);

/* Any pair by index (0 <= i < kv_count), for walking all metadata without
 * knowing the keys (dumps, copy_kvs, the fuzz target). */
typedef struct {
    presso_gguf_value_type type;
    presso_gguf_value_type elem_type; /* arrays: the element type; else == type */
    uint64_t count;                   /* arrays: elements; strings: bytes; scalars: 1 */
    const void *data;    /* scalars, numeric arrays: packed little-endian bytes (maybe
                            unaligned); strings: the characters; string arrays: NULL */
    const uint8_t *raw;  /* the value exactly as serialized after its type tag */
    uint64_t raw_len;
} presso_gguf_value;
presso_status presso_gguf_kv_value(const presso_gguf *g, int64_t i, presso_gguf_value *out);
/* Element j of a string array at index i. */
presso_status presso_gguf_kv_array_string(const presso_gguf *g, int64_t i, uint64_t j, presso_gguf_string *out);
presso_status presso_gguf_get_f64(const presso_gguf *g, const char *key, double *out); /* f32 or f64 */
/* Start of the image (the mapping, or the buffer given to open_buffer) and the
 * byte offset of the aligned data section inside it. */
const uint8_t *presso_gguf_base(const presso_gguf *g);
uint64_t presso_gguf_data_offset(const presso_gguf *g);
/* The file mapping behind the image (data NULL when opened from a buffer). */
presso_mapped_file presso_gguf_mapping(const presso_gguf *g);

/* Tensors: name, type, dims and a data pointer into the mapping; the tensor's
 * byte range is checked to lie inside the file. */
int64_t presso_gguf_tensor_count(const presso_gguf *g);
const presso_tensor *presso_gguf_tensor(const presso_gguf *g, int64_t i);
const presso_tensor *presso_gguf_find_tensor(const presso_gguf *g, const char *name); /* NULL if absent */

/* ---- writing ---------------------------------------------------------- */

typedef struct presso_gguf_writer presso_gguf_writer;

presso_gguf_writer *presso_gguf_writer_new(void); /* NULL on out-of-memory */
void presso_gguf_writer_free(presso_gguf_writer *w);

/* Values are copied. Adding a key twice replaces it. */
presso_status presso_gguf_writer_set_u32(presso_gguf_writer *w, const char *key, uint32_t v);
presso_status presso_gguf_writer_set_i32(presso_gguf_writer *w, const char *key, int32_t v);
presso_status presso_gguf_writer_set_u64(presso_gguf_writer *w, const char *key, uint64_t v);
presso_status presso_gguf_writer_set_f32(presso_gguf_writer *w, const char *key, float v);
presso_status presso_gguf_writer_set_bool(presso_gguf_writer *w, const char *key, bool v);
presso_status presso_gguf_writer_set_u8(presso_gguf_writer *w, const char *key, uint8_t v);
presso_status presso_gguf_writer_set_i8(presso_gguf_writer *w, const char *key, int8_t v);
presso_status presso_gguf_writer_set_u16(presso_gguf_writer *w, const char *key, uint16_t v);
presso_status presso_gguf_writer_set_i16(presso_gguf_writer *w, const char *key, int16_t v);
presso_status presso_gguf_writer_set_i64(presso_gguf_writer *w, const char *key, int64_t v);
presso_status presso_gguf_writer_set_f64(presso_gguf_writer *w, const char *key, double v);
presso_status presso_gguf_writer_set_string(presso_gguf_writer *w, const char *key, const char *v);
presso_status presso_gguf_writer_set_string_n(presso_gguf_writer *w, const char *key, const char *v, uint64_t len);
/* Numeric array of elem_type (UINT8..FLOAT64 except BOOL/STRING/ARRAY allowed; BOOL too).
 * data holds count host-order values of that type (bool for BOOL). */
presso_status presso_gguf_writer_set_array(presso_gguf_writer *w, const char *key,
                                           presso_gguf_value_type elem_type, const void *data, uint64_t count);
/* String array; strings[i] has lens[i] bytes (lens may be NULL for NUL-terminated). */
presso_status presso_gguf_writer_set_array_string(presso_gguf_writer *w, const char *key,
                                                  const char *const *strings, const uint64_t *lens, uint64_t count);
/* Copies every key/value of a parsed file whose key starts with prefix
 * ("" for all), e.g. to carry "tokenizer." over unchanged. */
presso_status presso_gguf_writer_copy_kvs(presso_gguf_writer *w, const presso_gguf *src, const char *prefix);

/* The tensor's bytes are NOT copied: t->data must stay valid until write
 * returns. Tensors are written in the order added. */
presso_status presso_gguf_writer_add_tensor(presso_gguf_writer *w, const presso_tensor *t);

/* A tensor whose bytes are produced at write time, so a converter or a
 * random-weight generator never holds the whole model in memory: fill(user,
 * index, dst) must write exactly nbytes bytes (nbytes = row bytes of ne[0]
 * elements times the other dims). `index` is the value given here. */
typedef presso_status (*presso_gguf_fill_fn)(void *user, int64_t index, void *dst, size_t nbytes);
presso_status presso_gguf_writer_add_tensor_fn(presso_gguf_writer *w, const char *name, presso_type type,
                                               int n_dims, const int64_t *ne, presso_gguf_fill_fn fill,
                                               void *user, int64_t index);

/* Writes the file atomically (GGUF v3, alignment general.alignment or 32).
 * On failure nothing exists at path that was not there before, and an
 * existing file at path is untouched. */
presso_status presso_gguf_writer_write(presso_gguf_writer *w, const char *path);

#endif
