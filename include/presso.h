/* presso — compress, measure and run llama-family language models.
 *
 * Public API. Every fallible call returns a presso_status; on failure
 * presso_last_error() says what failed, on which file / tensor / offset.
 * The library never exits the process and never prints to stdout: it logs
 * through the callback set with presso_set_log_callback(). */
#ifndef PRESSO_H
#define PRESSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    PRESSO_OK = 0,
    PRESSO_ERR_IO,          /* a file could not be opened, read, mapped or written */
    PRESSO_ERR_FORMAT,      /* a file's bytes are not what its format requires */
    PRESSO_ERR_UNSUPPORTED, /* valid input that presso does not handle (yet) */
    PRESSO_ERR_INVALID_ARG, /* a caller's argument is out of range */
    PRESSO_ERR_NOMEM,       /* an allocation failed */
    PRESSO_ERR_SHAPE,       /* tensor shapes disagree with each other or the config */
    PRESSO_ERR_INTERNAL,    /* a bug in presso */
} presso_status;

/* The message of the last error on this thread ("" when none). */
const char *presso_last_error(void);
const char *presso_status_name(presso_status s);

typedef enum { PRESSO_LOG_DEBUG, PRESSO_LOG_INFO, PRESSO_LOG_WARN, PRESSO_LOG_ERROR } presso_log_level;
typedef void (*presso_log_fn)(presso_log_level level, const char *message, void *user);
/* NULL restores the default (messages at >= WARN to stderr). */
void presso_set_log_callback(presso_log_fn fn, void *user);

/* Weight types. The values are ggml's type ids, as stored in GGUF files. */
typedef enum {
    PRESSO_TYPE_F32 = 0,
    PRESSO_TYPE_F16 = 1,
    PRESSO_TYPE_Q4_0 = 2,
    PRESSO_TYPE_Q4_1 = 3,
    PRESSO_TYPE_Q5_0 = 6,
    PRESSO_TYPE_Q5_1 = 7,
    PRESSO_TYPE_Q8_0 = 8,
    PRESSO_TYPE_Q8_1 = 9,
    PRESSO_TYPE_Q2_K = 10,
    PRESSO_TYPE_Q3_K = 11,
    PRESSO_TYPE_Q4_K = 12,
    PRESSO_TYPE_Q5_K = 13,
    PRESSO_TYPE_Q6_K = 14,
    PRESSO_TYPE_Q8_K = 15,
    PRESSO_TYPE_BF16 = 30,
    /* presso-native, far above ggml's ids so llama.cpp refuses the file
     * (unknown type) instead of misreading it: SmoothQuant W8A8, int8
     * weights with one fp32 scale per row, int8 activations per token at
     * run time. Layout in src/tensor/w8a8.h. */
    PRESSO_TYPE_W8A8 = 1000,
    /* presso-native 3- and 2-bit types, groups of 32 with an f16 scale and
     * min each (asymmetric, GPTQ's grid), for widths no 256-wide K-quant
     * fits (layout: src/tensor/lowbit.h, docs/formats.md). */
    PRESSO_TYPE_Q3_G32 = 1001, /* 4.0 bits per weight */
    PRESSO_TYPE_Q2_G32 = 1002, /* 3.0 bits per weight */
    PRESSO_TYPE_COUNT = 1003, /* tables indexed by type id have this many rows */
    /* presso-native 2:4 sparse types, ids far above ggml's so no GGUF
     * runtime mistakes them for its own (layout: src/tensor/sparse.h,
     * docs/formats.md). */
    PRESSO_TYPE_SPARSE_FIRST = 1100,
    PRESSO_TYPE_S24_F16 = 1100, /* 2:4, kept values f16 + 2-bit positions */
    PRESSO_TYPE_S24_Q4 = 1101,  /* 2:4, kept values Q4_0-style 4-bit + 2-bit positions */
    PRESSO_TYPE_SPARSE_END = 1102
} presso_type;

/* "f32", "q4_k", ...; NULL for an id that is no known type. */
const char *presso_type_name(presso_type t);
/* Parses a name as printed by presso_type_name (case-insensitive). */
presso_status presso_type_from_name(const char *name, presso_type *out);

#ifdef __cplusplus
}
#endif
#endif /* PRESSO_H */
