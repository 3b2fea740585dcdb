#include "compress/magnitude_nm.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tensor/types.h"

/* Zeroes all but the n largest |w| of one group of `group` weights. */
static void prune_group(float *w, int n, int group) {
    bool dropped[64] = {false};
    for (int z = 0; z < group - n; z++) {
        /* drop the smallest survivor; ties drop the higher column */
        int victim = -1;
        for (int j = 0; j < group; j++)
            if (!dropped[j] && (victim < 0 || fabsf(w[j]) <= fabsf(w[victim]))) victim = j;
        dropped[victim] = true;
        w[victim] = 0.0f;
    }
}

static presso_status prune_tensor(presso_model *m, presso_tensor *t, int n, int group) {
    const int64_t in = t->ne[0], rows = presso_tensor_nelements(t) / in;
    if (in % group != 0)
        return presso_fail(PRESSO_ERR_SHAPE, "%s: tensor %s has rows of %lld, not a multiple of the %d:%d group",
                           m->path, t->name, (long long)in, n, group);
    const presso_type_traits *tr = presso_type_traits_of(t->type);
    const size_t rb = (size_t)presso_row_bytes(t->type, in);
    float *w = malloc(sizeof(float) * (size_t)(in * rows));
    if (!w) return presso_fail(PRESSO_ERR_NOMEM, "out of memory pruning %s", t->name);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        tr->to_float((const uint8_t *)t->data + (size_t)r * rb, w + r * in, in);
        for (int64_t g = 0; g < in; g += group) prune_group(w + r * in + g, n, group);
    }
    PRESSO_TRY(presso_model_own(m, w));
    t->type = PRESSO_TYPE_F32;
    t->data = w;
    t->nbytes = sizeof(float) * (size_t)(in * rows);
    return PRESSO_OK;
}

presso_status presso_prune_magnitude_nm(presso_model *m, int n, int group) {
    if (n < 1 || group < 2 || n >= group || group > 64)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%d:%d is no N:M pattern (1 <= N < M <= 64)", n, group);
    for (int32_t l = 0; l < m->config.n_layers; l++) {
        presso_llama_layer *L = &m->layers[l];
        presso_tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) PRESSO_TRY(prune_tensor(m, ts[i], n, group));
    }
    return PRESSO_OK;
}
