/* Magnitude N:M pruning (the baseline of SparseGPT/Wanda's N:M tables; the
 * 2:4 pattern of Mishra et al. 2021): in every M consecutive inputs of each
 * row of the block linears keep the N largest |w|, zero the rest. Enough to
 * make 2:4 inputs for the sparse encoding (model_sparse.c); the calibrated
 * pruners (Wanda, SparseGPT) produce the same pattern with less loss. */
#ifndef PRESSO_COMPRESS_MAGNITUDE_NM_H
#define PRESSO_COMPRESS_MAGNITUDE_NM_H

#include "model/model.h"

/* Prunes attn_q/k/v/output and ffn_gate/up/down of every layer in place;
 * the pruned tensors become F32 buffers owned by m (exact for f32/f16/bf16
 * sources). token_embd and output stay dense. Ties keep the lower column. */
presso_status presso_prune_magnitude_nm(presso_model *m, int n, int group);

#endif
