/* Wanda (Sun et al. 2023, "A Simple and Effective Pruning Approach for
 * Large Language Models", Eq. 1): score S_ij = |W_ij| · ‖X_j‖₂, the weight
 * times the ℓ2 norm of its input feature over the calibration tokens;
 * the lowest scores of each output row go (§3 "comparison group": per
 * output, not per layer), or of each N:M group. No weight update. */
#include <math.h>
#include <stdlib.h>

#include "compress/prune.h"
#include "core/error.h"

static presso_status wanda_run(const presso_pass_layer *layer, const presso_pass_opts *opts, void *dst,
                               presso_pass_report *report) {
    *report = (presso_pass_report){0};
    const presso_calib_stats *cs = layer->stats;
    if (!cs || !cs->sum_sq)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: Wanda needs the input norms of the layer", layer->name);
    if (cs->width != layer->in)
        return presso_fail(PRESSO_ERR_SHAPE, "%s: statistics of width %lld for a layer of %lld inputs", layer->name,
                           (long long)cs->width, (long long)layer->in);
    const double s = presso_prune_sparsity_for(opts, layer->name);
    PRESSO_TRY(presso_prune_check_opts(opts, layer->name, s));
    const int64_t in = layer->in, n = in * layer->out;
    float *score = malloc(sizeof(float) * (size_t)n), *norm = malloc(sizeof(float) * (size_t)in);
    uint8_t *mask = malloc((size_t)n);
    presso_status st = PRESSO_OK;
    if (!score || !mask || !norm) st = presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", layer->name);
    if (st == PRESSO_OK) {
        for (int64_t j = 0; j < in; j++) {
            norm[j] = (float)sqrt(cs->sum_sq[j]);
            report->n_dead += cs->sum_sq[j] == 0.0;
        }
        for (int64_t i = 0; i < n; i++) score[i] = fabsf(layer->w[i]) * norm[i % in];
        st = presso_prune_mask(score, layer->out, in, s, opts, mask);
    }
    if (st == PRESSO_OK) st = presso_prune_write(layer->w, mask, layer->out, in, opts, layer->name, dst);
    free(score);
    free(norm);
    free(mask);
    return st;
}

const presso_pass presso_pass_wanda = {
    .name = "wanda",
    .summary = "Wanda (Sun et al. 2023): zero the lowest |W_ij|·‖X_j‖₂ per output row",
    .needs_calibration = true,
    .run = wanda_run,
    .prunes = true,
    .writes_dense = true,
};
