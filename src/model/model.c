/* A model's lifetime, shape validation and size accounting. */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/path.h"
#include "tensor/types.h"

void presso_model_free(presso_model *m) {
    if (!m) return;
    presso_tokenizer_free(m->tokenizer);
    if (m->format_close) m->format_close(m->format_handle);
    for (int i = 0; i < m->n_mappings; i++) presso_unmap_file(&m->mappings[i]);
    for (int64_t i = 0; i < m->n_buffers; i++) free(m->buffers[i]);
    free(m->buffers);
    free(m->layers);
    free(m);
}

presso_status presso_model_own(presso_model *m, void *buffer) {
    if (m->n_buffers == m->cap_buffers) {
        const int64_t cap = m->cap_buffers ? 2 * m->cap_buffers : 64;
        void **grown = realloc(m->buffers, sizeof(void *) * (size_t)cap);
        if (!grown) {
            free(buffer);
            return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", m->path);
        }
        m->buffers = grown;
        m->cap_buffers = cap;
    }
    m->buffers[m->n_buffers++] = buffer;
    return PRESSO_OK;
}

static presso_status check_tensor(const presso_model *m, const presso_tensor *t, const char *what, int layer,
                                  int64_t ne0, int64_t ne1) {
    char label[64];
    if (layer >= 0) snprintf(label, sizeof label, "layer %d %s", layer, what);
    else snprintf(label, sizeof label, "%s", what);
    if (!t->data) return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor %s is missing", m->path, label);
    if (!presso_type_traits_of(t->type))
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: tensor %s ('%s') has unknown type %d", m->path, label,
                           t->name, (int)t->type);
    bool is_vector = ne1 == 1;
    bool ok = t->ne[0] == ne0 && t->ne[1] == ne1 && t->ne[2] == 1 && t->ne[3] == 1;
    if (!ok)
        return presso_fail(PRESSO_ERR_SHAPE,
                           "%s: tensor %s ('%s') has shape {%lld, %lld, %lld, %lld}, expected {%lld%s%lld}", m->path,
                           label, t->name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                           (long long)t->ne[3], (long long)ne0, is_vector ? "" : ", ",
                           is_vector ? 0LL : (long long)ne1);
    if (is_vector && t->type != PRESSO_TYPE_F32 && t->type != PRESSO_TYPE_F16 && t->type != PRESSO_TYPE_BF16)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: norm tensor %s has quantized type %s", m->path, label,
                           presso_type_name(t->type));
    return PRESSO_OK;
}

presso_status presso_model_validate(const presso_model *m) {
    const presso_llama_config *c = &m->config;
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->vocab_size <= 0 || c->head_dim <= 0 || c->max_seq_len <= 0)
        return presso_fail(PRESSO_ERR_FORMAT,
                           "%s: invalid hyperparameters (dim %d, hidden %d, layers %d, heads %d, kv heads %d, "
                           "head_dim %d, vocab %d, seq_len %d)",
                           m->path, c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim,
                           c->vocab_size, c->max_seq_len);
    if (c->n_heads % c->n_kv_heads != 0)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: %d heads is not a multiple of %d kv heads", m->path, c->n_heads,
                           c->n_kv_heads);
    if (c->head_dim % 2 != 0)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: head_dim %d is odd; RoPE needs pairs", m->path, c->head_dim);
    if (!(c->rope_theta > 0) || !(c->norm_eps > 0))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: rope theta %g and norm eps %g must be positive", m->path,
                           (double)c->rope_theta, (double)c->norm_eps);
    const int64_t q_dim = (int64_t)c->n_heads * c->head_dim, kv_dim = (int64_t)c->n_kv_heads * c->head_dim;
    PRESSO_TRY(check_tensor(m, &m->token_embd, "token_embd", -1, c->dim, c->vocab_size));
    PRESSO_TRY(check_tensor(m, &m->output_norm, "output_norm", -1, c->dim, 1));
    PRESSO_TRY(check_tensor(m, &m->output, "output", -1, c->dim, c->vocab_size));
    for (int l = 0; l < c->n_layers; l++) {
        const presso_llama_layer *L = &m->layers[l];
        PRESSO_TRY(check_tensor(m, &L->attn_norm, "attn_norm", l, c->dim, 1));
        PRESSO_TRY(check_tensor(m, &L->wq, "attn_q", l, c->dim, q_dim));
        PRESSO_TRY(check_tensor(m, &L->wk, "attn_k", l, c->dim, kv_dim));
        PRESSO_TRY(check_tensor(m, &L->wv, "attn_v", l, c->dim, kv_dim));
        PRESSO_TRY(check_tensor(m, &L->wo, "attn_output", l, q_dim, c->dim));
        PRESSO_TRY(check_tensor(m, &L->ffn_norm, "ffn_norm", l, c->dim, 1));
        PRESSO_TRY(check_tensor(m, &L->w_gate, "ffn_gate", l, c->dim, c->hidden_dim));
        PRESSO_TRY(check_tensor(m, &L->w_up, "ffn_up", l, c->dim, c->hidden_dim));
        PRESSO_TRY(check_tensor(m, &L->w_down, "ffn_down", l, c->hidden_dim, c->dim));
    }
    return PRESSO_OK;
}

static void count_tensor(const presso_tensor *t, int64_t *params, int64_t *bytes) {
    *params += presso_tensor_nelements(t);
    *bytes += (int64_t)t->nbytes;
}

static void count_all(const presso_model *m, int64_t *params, int64_t *bytes) {
    *params = 0;
    *bytes = 0;
    count_tensor(&m->token_embd, params, bytes);
    count_tensor(&m->output_norm, params, bytes);
    if (!m->config.tied_embeddings) count_tensor(&m->output, params, bytes);
    for (int l = 0; l < m->config.n_layers; l++) {
        const presso_llama_layer *L = &m->layers[l];
        const presso_tensor *all[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo,
                                      &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) count_tensor(all[i], params, bytes);
    }
}

int64_t presso_model_n_params(const presso_model *m) {
    int64_t p, b;
    count_all(m, &p, &b);
    return p;
}

int64_t presso_model_weight_bytes(const presso_model *m) {
    int64_t p, b;
    count_all(m, &p, &b);
    return b;
}
