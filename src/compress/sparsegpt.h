/* SparseGPT (Frantar & Alistarh 2023, "SparseGPT: Massive Language Models
 * Can Be Accurately Pruned in One-Shot", Alg. 1), and its joint form with
 * GPTQ quantization of the surviving weights (§3.5). */
#ifndef PRESSO_COMPRESS_SPARSEGPT_H
#define PRESSO_COMPRESS_SPARSEGPT_H

#include <stdint.h>

#include "compress/pass.h"
#include "presso.h"

/* Prunes W [rows][cols] to `sparsity` (or opts->nm_n:opts->nm_m) minimizing
 * ‖(W−Ŵ)X‖² for inputs with h = Σ x xᵀ over n_samples rows, and writes the
 * rows as opts->type into dst:
 *  - F32/F16/BF16: the surviving weights after the OBS update, rounded to
 *    the type (the rounding error propagated like GPTQ's);
 *  - a block type with an exact zero (q4_0, q5_0, q8_0, q3_k, q6_k): each
 *    surviving weight goes onto its block's grid, GPTQ-style, in the same
 *    column sweep (§3.5); a block's scale comes from the reference quantizer
 *    on the block's surviving (updated) weights when the sweep reaches it.
 * The mask is chosen in each lazy batch of block_cols (128) columns by
 * w²/[H⁻¹]_jj² (the diagonal of H⁻¹'s Cholesky factor, as the reference
 * code): per row, round(cols·s) zeros in every row; or with
 * opts->prune_per_layer over the batch's rows × columns at once (the
 * reference code's choice), round(rows·cols·s) zeros in all; N:M groups are
 * chosen when the sweep reaches them (several at once when a quantization
 * block spans them, so the block's scale sees its final mask).
 * q (may be NULL): the values written [rows][cols], bit-identical to
 * dequantize(dst); mask (may be NULL): 1 where pruned. */
presso_status presso_sparsegpt_prune(const float *w, int64_t rows, int64_t cols, const double *h, int64_t n_samples,
                                     double sparsity, const presso_pass_opts *opts, void *dst, float *q,
                                     uint8_t *mask, presso_pass_report *report);

#endif
