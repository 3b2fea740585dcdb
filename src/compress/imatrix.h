/* Importance matrices as llama.cpp's llama-imatrix writes them: for each
 * weight matrix, the mean over calibration tokens of x_j² for every input
 * column j (the diagonal of GPTQ's Hessian divided by the token count).
 * llama-quantize --imatrix and presso quantize --imatrix use it as the
 * per-column weights of the block-scale search (tensor/quants_imatrix.c).
 *
 * Both file formats llama-imatrix writes are read:
 *   GGUF (its default): tensors NAME.in_sum2 (f32 [ne0][n_mat], Σx²) and
 *     NAME.counts (f32 [n_mat], tokens), general.type = "imatrix";
 *     importance = in_sum2 / counts (1 where a count is 0).
 *   legacy .dat (--output-format dat): int32 n_entries, then per entry
 *     int32 len, name, int32 ncall, int32 nval, f32[nval] (Σx²/count·ncall),
 *     then int32 chunk count, int32 len, dataset name;
 *     importance = value / ncall.
 * The division is done in float, as llama-quantize does, so the same file
 * gives the same bytes in both tools. */
#ifndef PRESSO_COMPRESS_IMATRIX_H
#define PRESSO_COMPRESS_IMATRIX_H

#include <stdbool.h>
#include <stdint.h>

#include "presso.h"

typedef struct {
    char name[128];  /* weight tensor name, e.g. blk.0.attn_q.weight */
    int64_t n;       /* values: the matrix's input width (× experts, which presso refuses) */
    float *values;   /* importance per input column */
} presso_imatrix_entry;

typedef struct {
    presso_imatrix_entry *entries;
    int64_t n_entries;
    int32_t chunk_count; /* chunks the statistics were gathered over (0 if unknown) */
    bool legacy;         /* read from the .dat format */
    char dataset[256];   /* the calibration text llama-imatrix names ("" if none) */
    char path[4096];
} presso_imatrix;

/* Reads a GGUF or legacy .dat imatrix; errors name the file and what is wrong. */
presso_status presso_imatrix_load(const char *path, presso_imatrix **out);
/* The entry for a tensor, NULL when the file has none. An entry whose
 * length is not `width` is an error (the file is for another model). */
presso_status presso_imatrix_find(const presso_imatrix *im, const char *tensor, int64_t width, const float **out);
void presso_imatrix_free(presso_imatrix *im);

#endif
