/* Magnitude pruning: drop the weights of smallest |W_ij|, within each
 * output row (default) or over the whole matrix (prune_per_layer), or the
 * M-N smallest of each N:M group. No calibration, no weight update — the
 * baseline Wanda and SparseGPT must beat (Sun et al. 2023, Table 2). */
#include <math.h>
#include <stdlib.h>

#include "compress/prune.h"
#include "core/error.h"

static presso_status magnitude_run(const presso_pass_layer *layer, const presso_pass_opts *opts, void *dst,
                                   presso_pass_report *report) {
    *report = (presso_pass_report){0};
    const double s = presso_prune_sparsity_for(opts, layer->name);
    PRESSO_TRY(presso_prune_check_opts(opts, layer->name, s));
    const int64_t n = layer->in * layer->out;
    float *score = malloc(sizeof(float) * (size_t)n);
    uint8_t *mask = malloc((size_t)n);
    presso_status st = PRESSO_OK;
    if (!score || !mask) st = presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", layer->name);
    if (st == PRESSO_OK) {
        for (int64_t i = 0; i < n; i++) score[i] = fabsf(layer->w[i]);
        st = presso_prune_mask(score, layer->out, layer->in, s, opts, mask);
    }
    if (st == PRESSO_OK) st = presso_prune_write(layer->w, mask, layer->out, layer->in, opts, layer->name, dst);
    free(score);
    free(mask);
    return st;
}

const presso_pass presso_pass_magnitude = {
    .name = "magnitude",
    .summary = "magnitude pruning: zero the smallest |W_ij| per output row (or per layer, or per N:M group)",
    .needs_calibration = false,
    .run = magnitude_run,
    .prunes = true,
    .writes_dense = true,
};
