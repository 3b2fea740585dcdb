/* The type traits table (as ggml's): one row per weight type. Adding a type
 * is adding a row in types.c plus its block layout in quants.h. */
#ifndef PRESSO_TENSOR_TYPES_H
#define PRESSO_TENSOR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "presso.h"

/* Converts n elements (a multiple of the block size) from the type to floats. */
typedef void (*presso_to_float_fn)(const void *src, float *dst, int64_t n);
/* Reference quantizer: n floats (a multiple of the block size) into blocks,
 * byte-identical to llama.cpp's reference quantizer for the type. */
typedef void (*presso_from_float_fn)(const float *src, void *dst, int64_t n);

typedef struct {
    const char *name;
    int64_t block_size;   /* elements per block (1 for plain float types) */
    size_t block_bytes;   /* bytes per block */
    bool is_quantized;
    /* Bytes before each row's blocks: 0 for ggml's types; W8A8 keeps its
     * fp32 row scale there, so its to_float/from_float_ref take one whole
     * row per call. */
    size_t row_header_bytes;
    presso_to_float_fn to_float;
    presso_from_float_fn from_float_ref; /* NULL where presso cannot write the type yet */
} presso_type_traits;

/* NULL for an id that is no known type (ids come from untrusted files). */
const presso_type_traits *presso_type_traits_of(int type_id);

/* Bytes of a row of n elements (its header included); -1 when n is not a
 * multiple of the block size. */
int64_t presso_row_bytes(presso_type type, int64_t n);

#endif
