/* GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for
 * Generative Pre-trained Transformers", Alg. 1) onto GGUF block grids. */
#ifndef PRESSO_COMPRESS_GPTQ_H
#define PRESSO_COMPRESS_GPTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/pass.h"
#include "presso.h"

/* Quantizes W [rows][cols] to `type` (cols a multiple of its block size,
 * presso_grid_supported(type)), minimizing ‖(W−Q)X‖² for inputs with
 * h = Σ x xᵀ [cols][cols] over n_samples rows x.
 * Each block's scale(s)/min(s) come from the type's reference quantizer
 * (or, with opts->imatrix, the importance-weighted one of llama-quantize
 * --imatrix) run on the block's current (error-updated) weights when GPTQ
 * reaches the block's first column (in processing order); each column then goes onto
 * exactly that grid. dst receives rows*cols/block_size blocks; q (may be
 * NULL) the dequantized values [rows][cols], bit-identical to
 * dequantize(dst). A Hessian that is not positive definite after dampening
 * gets 10× more dampening, up to 1.0·mean(diag H), then a clear error. */
presso_status presso_gptq_quantize(const float *w, int64_t rows, int64_t cols, const double *h, int64_t n_samples,
                                   presso_type type, const presso_pass_opts *opts, void *dst, float *q,
                                   presso_pass_report *report);

/* The column order GPTQ quantizes in: 0..cols-1, or with act_order by
 * decreasing diag h (ties by index, so it is deterministic). */
void presso_gptq_order(const double *h, int64_t cols, bool act_order, int64_t *perm);

#endif
