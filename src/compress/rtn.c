/* Round-to-nearest: the target type's reference quantizer, i.e. exactly what
 * llama.cpp's llama-quantize writes without an importance matrix. The
 * baseline every other method must beat. With an importance matrix
 * (layer->imatrix) the block scales are searched minimizing the
 * importance-weighted error, exactly as llama-quantize --imatrix does
 * (tensor/quants_imatrix.c); the rounding stays to nearest. */
#include <stdint.h>

#include "compress/pass.h"
#include "core/error.h"
#include "tensor/quants.h"
#include "tensor/types.h"

presso_status presso_quant_type_for_bits(int bits, int group, bool asym, presso_type *out) {
    if (group > 0 && group != 32)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "--group %d is not representable in GGUF: its %d-bit types "
                           "have groups of 32 (use --type q4_k/q5_k for 32-groups in 256-superblocks)", group, bits);
    switch (bits) {
    case 4: *out = asym ? PRESSO_TYPE_Q4_1 : PRESSO_TYPE_Q4_0; return PRESSO_OK;
    case 5: *out = asym ? PRESSO_TYPE_Q5_1 : PRESSO_TYPE_Q5_0; return PRESSO_OK;
    case 8:
        if (asym) return presso_fail(PRESSO_ERR_UNSUPPORTED, "--bits 8 --asym is not representable in GGUF (q8_0 is symmetric)");
        *out = PRESSO_TYPE_Q8_0;
        return PRESSO_OK;
    case 2: case 3:
        /* presso-native q2_g32 / q3_g32 (lowbit.h): asymmetric only, llama.cpp cannot read them. */
        if (!asym)
            return presso_fail(PRESSO_ERR_UNSUPPORTED, "--bits %d with groups of 32 is asymmetric only (presso's "
                               "q%d_g32: --asym), or use --type q%d_k", bits, bits, bits);
        *out = bits == 3 ? PRESSO_TYPE_Q3_G32 : PRESSO_TYPE_Q2_G32;
        return PRESSO_OK;
    case 6:
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "--bits 6 with groups of 32 is not representable in GGUF; "
                           "use --type q6_k");
    default:
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "--bits %d is not representable in GGUF (4, 5 or 8 with "
                           "groups of 32; 2, 3 with --asym as presso's q2_g32/q3_g32; 2..6 as K-quants with "
                           "--type)", bits);
    }
}

presso_status presso_quant_check_group(presso_type type, int group) {
    if (group <= 0) return PRESSO_OK;
    int natural;
    switch (type) {
    case PRESSO_TYPE_Q2_K: case PRESSO_TYPE_Q3_K: case PRESSO_TYPE_Q6_K: natural = 16; break;
    case PRESSO_TYPE_Q4_0: case PRESSO_TYPE_Q4_1: case PRESSO_TYPE_Q5_0: case PRESSO_TYPE_Q5_1:
    case PRESSO_TYPE_Q8_0: case PRESSO_TYPE_Q4_K: case PRESSO_TYPE_Q5_K: case PRESSO_TYPE_Q3_G32:
    case PRESSO_TYPE_Q2_G32: natural = 32; break;
    default: return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s has no groups", presso_type_name(type));
    }
    if (group != natural)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "--group %d is not representable as %s (its groups are %d)", group,
                           presso_type_name(type), natural);
    return PRESSO_OK;
}

static presso_status rtn_run(const presso_pass_layer *layer, const presso_pass_opts *opts, void *dst,
                             presso_pass_report *report) {
    const presso_type_traits *t = presso_type_traits_of(opts->type);
    const int64_t row_bytes = presso_row_bytes(opts->type, layer->in);
    if (!t || !t->from_float_ref || row_bytes < 0)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: rows of %lld do not fit %s blocks", layer->name,
                           (long long)layer->in, t ? t->name : "?");
    *report = (presso_pass_report){0};
    const float *imat = layer->imatrix && presso_quantize_has_weighted(opts->type) ? layer->imatrix : NULL;
#pragma omp parallel for num_threads(opts->n_threads > 0 ? opts->n_threads : 1) schedule(static)
    for (int64_t r = 0; r < layer->out; r++) {
        const float *x = layer->w + r * layer->in;
        uint8_t *row = (uint8_t *)dst + r * row_bytes;
        if (!imat || !presso_quantize_row_weighted(opts->type, x, row, layer->in, imat))
            t->from_float_ref(x, row, layer->in);
    }
    return PRESSO_OK;
}

const presso_pass presso_pass_rtn = {
    .name = "rtn",
    .summary = "round to nearest with the type's reference quantizer (llama.cpp's llama-quantize; --imatrix weights "
               "the scale search as llama-quantize --imatrix)",
    .needs_calibration = false,
    .run = rtn_run,
};
