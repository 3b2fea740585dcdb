/* SmoothQuant (Xiao et al. 2023, "SmoothQuant: Accurate and Efficient
 * Post-Training Quantization for Large Language Models") as a block
 * transform (transform.h): migrate the activations' outlier channels into
 * the weights with s_j = max|X_j|^α / max|W_j|^(1−α) (Eq. 4; max|W_j| over
 * every linear that reads channel j), folded exactly (Eq. 3, smooth.c),
 * before the weights are quantized to W8A8 (tensor/w8a8.h: int8 per output
 * row) and the activations to int8 per token at run time.
 *
 * Smoothed: the inputs of attn_q/k/v (into attn_norm) and ffn_gate/up (into
 * ffn_norm), as the paper does for the linears after a norm; and
 * attn_output (into attn_v's rows, one scale per kv channel shared across
 * its query heads, smooth.h) and ffn_down (into ffn_up's rows), which the
 * same exact folding allows in a llama block. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/smooth.h"
#include "compress/transform.h"
#include "core/error.h"

static const int group_first[4] = {0, 3, 4, 6}, group_last[4] = {2, 3, 5, 6};

static presso_status smooth_group(const presso_block_ctx *ctx, presso_capture_point point, double alpha) {
    presso_model *m = ctx->m;
    const presso_llama_config *c = &m->config;
    const presso_calib_stats *st = &ctx->stats[point];
    const int64_t in = st->width, fold_w = presso_smooth_width(m, point);
    float *wmax = calloc((size_t)in, sizeof(float)), *xk = malloc(sizeof(float) * (size_t)fold_w);
    float *wk = malloc(sizeof(float) * (size_t)fold_w), *s = malloc(sizeof(float) * (size_t)fold_w);
    presso_status status = PRESSO_OK;
    if (!wmax || !xk || !wk || !s) {
        status = presso_fail(PRESSO_ERR_NOMEM, "SmoothQuant: out of memory for blk.%d", (int)ctx->layer);
        goto done;
    }
    for (int i = group_first[point]; i <= group_last[point]; i++) {
        const float *w = presso_smooth_linear(m, ctx->layer, i);
        const int64_t out = presso_smooth_tensor(m, ctx->layer, i)->ne[1];
        for (int64_t r = 0; r < out; r++)
            for (int64_t j = 0; j < in; j++) wmax[j] = fmaxf(wmax[j], fabsf(w[r * in + j]));
    }
    if (point == PRESSO_CAPTURE_ATTN_OUT) {
        presso_smooth_group_max(c, st->max_abs, xk);
        presso_smooth_group_max(c, wmax, wk);
    } else {
        memcpy(xk, st->max_abs, sizeof(float) * (size_t)fold_w);
        memcpy(wk, wmax, sizeof(float) * (size_t)fold_w);
    }
    for (int64_t j = 0; j < fold_w; j++) {
        /* a channel that is never active or has no weight keeps s = 1; the
         * reference code's clamp(min=1e-5) guards the rest */
        const double v = xk[j] > 0 && wk[j] > 0 ? pow(xk[j], alpha) / pow(wk[j], 1.0 - alpha) : 1.0;
        s[j] = (float)fmin(fmax(v, 1e-5), 1e5);
    }
    status = presso_smooth_fold(m, ctx->layer, point, s);
done:
    free(wmax), free(xk), free(wk), free(s);
    return status;
}

static presso_status smoothquant_run(const presso_block_ctx *ctx, presso_block_report *rep) {
    const double alpha = ctx->opts->alpha;
    if (!(alpha >= 0.0 && alpha <= 1.0))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "SmoothQuant: alpha %g is outside [0, 1]", alpha);
    PRESSO_TRY(presso_smooth_own_block(ctx->m, ctx->layer));
    for (int p = 0; p < 4; p++) {
        if (ctx->stats[p].n_samples <= 0) continue;
        PRESSO_TRY(smooth_group(ctx, (presso_capture_point)p, alpha));
        rep->alpha[p] = alpha;
    }
    return PRESSO_OK;
}

const presso_block_transform presso_transform_smoothquant = {
    .name = "smoothquant",
    .summary = "migrate activation outliers into the weights (s = max|X|^a / max|W|^(1-a)) for W8A8",
    .run = smoothquant_run,
};
