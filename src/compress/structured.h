/* Structured pruning (LLM-Pruner, Ma et al. 2023): remove whole MLP
 * intermediate channels and whole attention kv groups (a kv head with the
 * query heads that read it, so grouped-query attention keeps its shape),
 * ranked by an activation-based importance from calibration text. The
 * result is a genuinely smaller dense model: the same fraction goes in every
 * layer, so hidden_dim / n_heads / n_kv_heads stay uniform and any GGUF
 * runtime loads the file.
 *
 * Importance (first-order, the "channel/element" score of LLM-Pruner §3.2
 * with the activation norm standing in for the gradient, as Wanda's |W|·‖X‖):
 *   MLP channel j:   ‖a_j‖₂ · ‖W_down[:, j]‖₂, a = silu(gate x) ⊙ (up x)
 *                    over every calibration token (the FFN_ACT capture point);
 *   kv group g:      Σ over its query heads h of ‖o_h‖₂ · ‖W_o[:, cols of h]‖_F,
 *                    o_h the head's attention output (ATTN_OUT capture).
 * Scores come from the unpruned model in one pass (LLM-Pruner estimates
 * every group's importance on the original network). */
#ifndef PRESSO_COMPRESS_STRUCTURED_H
#define PRESSO_COMPRESS_STRUCTURED_H

#include <stdint.h>

#include "compress/calib.h"
#include "model/model.h"

typedef struct {
    double ffn_ratio;   /* fraction of MLP channels removed per layer, [0, 1) */
    double heads_ratio; /* fraction of kv groups removed per layer, [0, 1) */
    int n_threads;
    /* Filled in. */
    int32_t hidden_before, hidden_after;
    int32_t heads_before, heads_after, kv_heads_before, kv_heads_after;
    double seconds;
} presso_structured_params;

/* How many of n units are kept when `ratio` of them are removed: n minus
 * round(ratio·n), at least 1. */
int32_t presso_structured_kept(int32_t n, double ratio);

/* Prunes m in place (new F32/F16/BF16 buffers owned by m; the config gets
 * the new widths). calib may be NULL only when both ratios are 0. Float
 * weights only: a quantized model is refused (prune, then quantize). */
presso_status presso_structured_prune(presso_model *m, const presso_calib_set *calib, presso_structured_params *p);

#endif
