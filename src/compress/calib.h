/* Calibration: the token sequences a compression pass sees, and the
 * statistics of one linear layer's inputs gathered over them (shared by
 * every method: GPTQ's Hessian H = Σ x xᵀ, AWQ's mean|x_j|, SmoothQuant's
 * max|x_j|). */
#ifndef PRESSO_COMPRESS_CALIB_H
#define PRESSO_COMPRESS_CALIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/tokenizer.h"
#include "presso.h"

enum { PRESSO_CALIB_DEFAULT_COUNT = 128, PRESSO_CALIB_DEFAULT_LEN = 512 };

typedef struct {
    const char *file; /* text to calibrate on (never the evaluation text) */
    int32_t count;    /* sequences wanted; <= 0: 128 */
    int32_t len;      /* tokens per sequence, BOS included; <= 0: 512 */
    uint64_t seed;    /* picks the windows when the text holds more than count */
} presso_calib_params;

typedef struct {
    int32_t n_seqs, seq_len;
    int32_t *tokens;       /* [n_seqs][seq_len] */
    int64_t n_text_tokens; /* tokens in the whole text */
    int64_t n_windows;     /* non-overlapping windows the text holds */
    bool bos;              /* every sequence starts with BOS */
    char file[4096];
    char sha256[65];       /* of the file's bytes, hex */
} presso_calib_set;

/* Tokenizes text once (no BOS) and cuts it into non-overlapping windows of
 * len tokens (len-1 after a BOS when the tokenizer adds one, as every
 * evaluation chunk starts). When the text holds more windows than count,
 * count of them are picked with a seeded rng, in text order; fewer: all of
 * them; less than one: one shorter sequence. max_len (> 0) caps len (the
 * model's trained context). */
presso_status presso_calib_set_from_text(const presso_tokenizer *t, const char *text, size_t text_len,
                                         const presso_calib_params *p, int32_t max_len, presso_calib_set **out);
/* The same from p->file; also records its path and sha256. */
presso_status presso_calib_set_load(const presso_tokenizer *t, const presso_calib_params *p, int32_t max_len,
                                    presso_calib_set **out);
void presso_calib_set_free(presso_calib_set *c);

/* Statistics of the inputs x (rows of `width` floats) of one capture point. */
typedef struct {
    int64_t width;
    int64_t n_samples;
    double *h;        /* [width][width] Σ x xᵀ; NULL when not wanted. Symmetric after finish. */
    double *mean_abs; /* Σ|x_j| while adding, mean|x_j| after finish */
    float *max_abs;   /* max|x_j| */
    double *sum_sq;   /* Σ x_j²: Wanda's ‖X_j‖₂ = sqrt(sum_sq[j]), llama.cpp's imatrix numerator (the diagonal of h); a sum, also after finish */
    float *scratch;   /* one call's xᵀx in float (summed over <= one sequence, then into double) */
    bool finished;
} presso_calib_stats;

presso_status presso_calib_stats_init(presso_calib_stats *s, int64_t width, bool want_hessian);
/* Adds n rows x [n][width]. */
void presso_calib_stats_add(presso_calib_stats *s, const float *x, int64_t n);
/* Fills the lower triangle of H and turns sums into means. */
void presso_calib_stats_finish(presso_calib_stats *s);
void presso_calib_stats_free(presso_calib_stats *s);

/* SHA-256 of n bytes as 64 hex digits + NUL (FIPS 180-4). */
void presso_sha256_hex(const void *data, size_t n, char out[65]);

#endif
