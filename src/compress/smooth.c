#include "compress/smooth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tensor/types.h"

presso_tensor *presso_smooth_tensor(presso_model *m, int32_t layer, int which) {
    presso_llama_layer *L = &m->layers[layer];
    presso_tensor *all[9] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down, &L->attn_norm,
                             &L->ffn_norm};
    return all[which];
}

presso_status presso_smooth_own_block(presso_model *m, int32_t layer) {
    if (layer < 0 || layer >= m->config.n_layers)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "layer %d outside 0..%d", layer, m->config.n_layers - 1);
    for (int i = 0; i < 9; i++) {
        presso_tensor *t = presso_smooth_tensor(m, layer, i);
        const int64_t in = t->ne[0], rows = presso_tensor_nelements(t) / (in > 0 ? in : 1);
        const presso_type_traits *tr = presso_type_traits_of(t->type);
        float *f = malloc(sizeof(float) * (size_t)(in * rows));
        if (!f) return presso_fail(PRESSO_ERR_NOMEM, "out of memory copying %s", t->name);
        const size_t row_bytes = (size_t)presso_row_bytes(t->type, in);
        for (int64_t r = 0; r < rows; r++) tr->to_float((const uint8_t *)t->data + (size_t)r * row_bytes, f + r * in, in);
        presso_status st = presso_model_own(m, f);
        if (st != PRESSO_OK) {
            free(f);
            return st;
        }
        t->type = PRESSO_TYPE_F32;
        t->data = f;
        t->nbytes = sizeof(float) * (size_t)(in * rows);
    }
    return PRESSO_OK;
}

float *presso_smooth_linear(presso_model *m, int32_t layer, int which) {
    presso_tensor *t = presso_smooth_tensor(m, layer, which);
    return t->type == PRESSO_TYPE_F32 ? (float *)(uintptr_t)t->data : NULL;
}

int64_t presso_smooth_width(const presso_model *m, presso_capture_point point) {
    const presso_llama_config *c = &m->config;
    switch (point) {
    case PRESSO_CAPTURE_ATTN_IN: case PRESSO_CAPTURE_FFN_IN: return c->dim;
    case PRESSO_CAPTURE_ATTN_OUT: return (int64_t)c->n_kv_heads * c->head_dim;
    case PRESSO_CAPTURE_FFN_ACT: return c->hidden_dim;
    }
    return 0;
}

static void scale_columns(float *w, int64_t rows, int64_t cols, const float *s) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) w[r * cols + j] *= s[j];
}

static void divide_rows(float *w, int64_t rows, int64_t cols, const float *s) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) w[r * cols + j] /= s[r];
}

presso_status presso_smooth_fold(presso_model *m, int32_t layer, presso_capture_point point, const float *s) {
    const presso_llama_config *c = &m->config;
    const int64_t width = presso_smooth_width(m, point);
    for (int64_t j = 0; j < width; j++)
        if (!(s[j] > 0.0f) || !isfinite(s[j]))
            return presso_fail(PRESSO_ERR_INVALID_ARG, "blk.%d: folding scale %lld is %g (must be finite and > 0)",
                               (int)layer, (long long)j, (double)s[j]);
    for (int i = 0; i < 9; i++)
        if (presso_smooth_tensor(m, layer, i)->type != PRESSO_TYPE_F32)
            return presso_fail(PRESSO_ERR_INVALID_ARG, "blk.%d: fold before presso_smooth_own_block", (int)layer);
    const int64_t dim = c->dim, hidden = c->hidden_dim, hd = c->head_dim, q_dim = (int64_t)c->n_heads * hd,
                  kv_dim = (int64_t)c->n_kv_heads * hd;
    switch (point) {
    case PRESSO_CAPTURE_ATTN_IN:
    case PRESSO_CAPTURE_FFN_IN: {
        const bool attn = point == PRESSO_CAPTURE_ATTN_IN;
        float *norm = (float *)(uintptr_t)presso_smooth_tensor(m, layer, attn ? 7 : 8)->data;
        for (int64_t j = 0; j < dim; j++) norm[j] /= s[j];
        const int first = attn ? 0 : 4, last = attn ? 2 : 5;
        for (int i = first; i <= last; i++) {
            presso_tensor *t = presso_smooth_tensor(m, layer, i);
            scale_columns((float *)(uintptr_t)t->data, t->ne[1], dim, s);
        }
        return PRESSO_OK;
    }
    case PRESSO_CAPTURE_ATTN_OUT: {
        divide_rows(presso_smooth_linear(m, layer, 2), kv_dim, dim, s);
        float *expanded = malloc(sizeof(float) * (size_t)q_dim);
        if (!expanded) return presso_fail(PRESSO_ERR_NOMEM, "out of memory folding blk.%d attn_output", (int)layer);
        const int32_t group = c->n_heads / c->n_kv_heads;
        for (int64_t h = 0; h < c->n_heads; h++)
            for (int64_t d = 0; d < hd; d++) expanded[h * hd + d] = s[(h / group) * hd + d];
        scale_columns(presso_smooth_linear(m, layer, 3), dim, q_dim, expanded);
        free(expanded);
        return PRESSO_OK;
    }
    case PRESSO_CAPTURE_FFN_ACT:
        divide_rows(presso_smooth_linear(m, layer, 5), hidden, dim, s);
        scale_columns(presso_smooth_linear(m, layer, 6), dim, hidden, s);
        return PRESSO_OK;
    }
    return presso_fail(PRESSO_ERR_INVALID_ARG, "unknown capture point %d", (int)point);
}

void presso_smooth_group_max(const presso_llama_config *c, const float *per_head, float *per_kv) {
    const int64_t hd = c->head_dim, kv_dim = (int64_t)c->n_kv_heads * hd;
    const int32_t group = c->n_heads / c->n_kv_heads;
    for (int64_t j = 0; j < kv_dim; j++) per_kv[j] = 0.0f;
    for (int64_t h = 0; h < c->n_heads; h++)
        for (int64_t d = 0; d < hd; d++) {
            float *o = &per_kv[(h / group) * hd + d];
            *o = fmaxf(*o, per_head[h * hd + d]);
        }
}

void presso_smooth_group_mean(const presso_llama_config *c, const double *per_head, double *per_kv) {
    const int64_t hd = c->head_dim, kv_dim = (int64_t)c->n_kv_heads * hd;
    const int32_t group = c->n_heads / c->n_kv_heads;
    for (int64_t j = 0; j < kv_dim; j++) per_kv[j] = 0.0;
    for (int64_t h = 0; h < c->n_heads; h++)
        for (int64_t d = 0; d < hd; d++) per_kv[(h / group) * hd + d] += per_head[h * hd + d] / group;
}
