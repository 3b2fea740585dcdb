/* What a model costs to store and to run: parameters (total and non-zero),
 * bytes of weights and on disk, bits per weight, compression against F16,
 * and FLOPs per token. FLOPs count a multiply-add as 2: the dense figure is
 * 2 x (weights of every matmul, output head included, token embedding
 * lookup excluded) plus attention at a context of n_ctx positions, 2 x 2 x
 * n_layers x n_heads x head_dim x n_ctx (Q.K^T and the weighted sum of V,
 * Kaplan et al. 2020, "Scaling Laws", Table 1); the effective figure counts
 * only the non-zero matmul weights (what a sparse kernel would multiply). */
#ifndef PRESSO_EVAL_COST_H
#define PRESSO_EVAL_COST_H

#include <stdint.h>

#include "model/model.h"

typedef struct {
    int64_t n_params, n_nonzero;           /* all weights (tied output once); non-zero after dequantization */
    int64_t n_matmul, n_matmul_nonzero;    /* the matmul weights, output head counted even when tied */
    int64_t weight_bytes;                  /* weights as stored in memory */
    int64_t file_bytes;                    /* the model's file(s) on disk; 0 when unknown */
    double bits_per_weight;                /* 8 weight_bytes / n_params */
    double ratio_vs_f16;                   /* 2 n_params / weight_bytes */
    int32_t flops_ctx;
    double flops_attention, flops_dense, flops_effective; /* per token */
} presso_cost;

/* n_ctx: the context the attention term is counted at (<= 0: the model's). */
presso_status presso_model_cost(const presso_model *m, int32_t n_ctx, presso_cost *out);

#endif
