/* llama2.c checkpoints (Karpathy's run.c format, version 0): a header of 7
 * int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
 * seq_len; a negative vocab_size means an unshared classifier follows), then
 * fp32 weights grouped by kind across layers. Tensors are views into the
 * mapping: nothing is copied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model.h"

typedef struct {
    const uint8_t *base;
    size_t size;
    size_t offset;
    const char *path;
} weight_cursor;

/* Takes n_layers consecutive tensors of shape {ne0, ne1} (or a single one
 * when stride_layers is 0) from the cursor. */
static presso_status take(weight_cursor *c, const char *name, int64_t ne0, int64_t ne1, int64_t count,
                          presso_tensor *dst, size_t dst_stride) {
    const int64_t per = ne0 * ne1;
    const size_t bytes = (size_t)per * sizeof(float);
    for (int64_t i = 0; i < count; i++) {
        if (c->offset > c->size || c->size - c->offset < bytes)
            return presso_fail(PRESSO_ERR_FORMAT,
                               "%s: truncated: tensor %s (layer %lld) needs %zu bytes at offset %zu but the file "
                               "has %zu",
                               c->path, name, (long long)i, bytes, c->offset, c->size);
        presso_tensor *t = (presso_tensor *)((uint8_t *)dst + (size_t)i * dst_stride);
        memset(t, 0, sizeof *t);
        if (count > 1) snprintf(t->name, sizeof t->name, "layers.%lld.%s", (long long)i, name);
        else snprintf(t->name, sizeof t->name, "%s", name);
        t->type = PRESSO_TYPE_F32;
        t->n_dims = ne1 == 1 ? 1 : 2;
        t->ne[0] = ne0;
        t->ne[1] = ne1;
        t->ne[2] = t->ne[3] = 1;
        t->data = c->base + c->offset;
        t->nbytes = bytes;
        c->offset += bytes;
    }
    return PRESSO_OK;
}

presso_status presso_model_load_llama2c(presso_model *m, const char *path) {
    if (m->n_mappings >= PRESSO_MODEL_MAX_MAPPINGS) return presso_fail(PRESSO_ERR_INTERNAL, "too many mappings");
    presso_mapped_file *file = &m->mappings[m->n_mappings];
    PRESSO_TRY(presso_map_file(path, file));
    m->n_mappings++;
    return presso_model_load_llama2c_buffer(m, file->data, file->size, path);
}

presso_status presso_model_load_llama2c_buffer(presso_model *m, const uint8_t *data, size_t size, const char *path) {
    m->format = PRESSO_FORMAT_LLAMA2C;
    if (size < 7 * sizeof(int32_t))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: %zu bytes is too short for a llama2.c header (28 bytes)", path,
                           size);
    if ((uintptr_t)data % sizeof(float) != 0)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: weights are not 4-byte aligned in memory", path);
    int32_t h[7];
    memcpy(h, data, sizeof h);
    const char *names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
    const int32_t limits[7] = {1 << 16, 1 << 20, 1 << 12, 1 << 12, 1 << 12, 1 << 24, 1 << 24};
    for (int i = 0; i < 7; i++) {
        int32_t v = i == 5 && h[i] < 0 && h[i] != INT32_MIN ? -h[i] : h[i];
        if (v <= 0 || v > limits[i])
            return presso_fail(PRESSO_ERR_FORMAT, "%s: offset %d: header field %s = %d is out of range (1..%d)", path,
                               4 * i, names[i], h[i], limits[i]);
    }
    presso_llama_config *c = &m->config;
    c->dim = h[0];
    c->hidden_dim = h[1];
    c->n_layers = h[2];
    c->n_heads = h[3];
    c->n_kv_heads = h[4];
    c->tied_embeddings = h[5] > 0;
    c->vocab_size = h[5] > 0 ? h[5] : -h[5];
    c->max_seq_len = h[6];
    if (c->dim % c->n_heads != 0)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: dim %d is not a multiple of n_heads %d", path, c->dim, c->n_heads);
    c->head_dim = c->dim / c->n_heads;
    c->rope_theta = 10000.0f; /* run.c hard-codes both */
    c->norm_eps = 1e-5f;
    c->rope_style = PRESSO_ROPE_INTERLEAVED;

    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", path);
    weight_cursor cur = {data, size, 7 * sizeof(int32_t), path};
    const int64_t L = c->n_layers, dim = c->dim, hid = c->hidden_dim;
    const int64_t q_dim = (int64_t)c->n_heads * c->head_dim, kv_dim = (int64_t)c->n_kv_heads * c->head_dim;
    const size_t stride = sizeof(presso_llama_layer);
    presso_llama_layer *l0 = m->layers;
    PRESSO_TRY(take(&cur, "token_embedding_table", dim, c->vocab_size, 1, &m->token_embd, 0));
    PRESSO_TRY(take(&cur, "rms_att_weight", dim, 1, L, &l0->attn_norm, stride));
    PRESSO_TRY(take(&cur, "wq", dim, q_dim, L, &l0->wq, stride));
    PRESSO_TRY(take(&cur, "wk", dim, kv_dim, L, &l0->wk, stride));
    PRESSO_TRY(take(&cur, "wv", dim, kv_dim, L, &l0->wv, stride));
    PRESSO_TRY(take(&cur, "wo", q_dim, dim, L, &l0->wo, stride));
    PRESSO_TRY(take(&cur, "rms_ffn_weight", dim, 1, L, &l0->ffn_norm, stride));
    PRESSO_TRY(take(&cur, "w1", dim, hid, L, &l0->w_gate, stride));
    PRESSO_TRY(take(&cur, "w2", hid, dim, L, &l0->w_down, stride));
    PRESSO_TRY(take(&cur, "w3", dim, hid, L, &l0->w_up, stride));
    PRESSO_TRY(take(&cur, "rms_final_weight", dim, 1, 1, &m->output_norm, 0));
    /* run.c skips the legacy freq_cis_real / freq_cis_imag tables. */
    presso_tensor skipped;
    PRESSO_TRY(take(&cur, "freq_cis", (int64_t)c->max_seq_len * c->head_dim, 1, 1, &skipped, 0));
    if (c->tied_embeddings) {
        m->output = m->token_embd;
    } else {
        PRESSO_TRY(take(&cur, "wcls", dim, c->vocab_size, 1, &m->output, 0));
    }
    if (cur.offset != size)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: %zu trailing bytes after the last tensor (offset %zu): not a "
                           "llama2.c checkpoint of this header", path, size - cur.offset, cur.offset);
    return PRESSO_OK;
}
