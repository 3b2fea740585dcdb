/* GGUF models of llama.cpp's "llama" architecture: hyperparameters from the
 * llama.* keys, tensors by llama.cpp's names, used in place in the mapping. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "model/model.h"

static void close_gguf(void *g) { presso_gguf_close(g); }

static presso_status get_u32_or(const presso_gguf *g, const char *key, uint32_t fallback, uint32_t *out) {
    if (presso_gguf_find_key(g, key) < 0) {
        *out = fallback;
        return PRESSO_OK;
    }
    return presso_gguf_get_u32(g, key, out);
}

static presso_status get_f32_or(const presso_gguf *g, const char *key, float fallback, float *out) {
    if (presso_gguf_find_key(g, key) < 0) {
        *out = fallback;
        return PRESSO_OK;
    }
    return presso_gguf_get_f32(g, key, out);
}

static presso_status take_tensor(const presso_gguf *g, const char *path, const char *name, presso_tensor *dst,
                                 bool required) {
    const presso_tensor *t = presso_gguf_find_tensor(g, name);
    if (!t) {
        if (required) return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s' is missing", path, name);
        memset(dst, 0, sizeof *dst);
        return PRESSO_OK;
    }
    *dst = *t;
    return PRESSO_OK;
}

presso_status presso_model_load_gguf(presso_model *m, const char *path) {
    presso_gguf *g = NULL;
    PRESSO_TRY(presso_gguf_open(path, &g));
    m->format_handle = g;
    m->format_close = close_gguf;
    const presso_mapped_file map = presso_gguf_mapping(g);
    if (map.data) m->handle_mappings[m->n_handle_mappings++] = map;
    m->format = PRESSO_FORMAT_GGUF;

    presso_gguf_string arch;
    PRESSO_TRY(presso_gguf_get_string(g, "general.architecture", &arch));
    if (arch.len != 5 || memcmp(arch.ptr, "llama", 5) != 0)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: architecture '%.*s' is not supported (presso runs 'llama')",
                           path, (int)(arch.len > 64 ? 64 : arch.len), arch.ptr);
    if (presso_gguf_find_key(g, "general.name") >= 0) {
        presso_gguf_string name;
        PRESSO_TRY(presso_gguf_get_string(g, "general.name", &name));
        int n = snprintf(m->name, sizeof m->name, "%.*s", (int)(name.len > 200 ? 200 : name.len), name.ptr);
        (void)n;
    }
    uint32_t dim, hidden, layers, heads, kv_heads, ctx, head_dim;
    float theta, eps;
    PRESSO_TRY(presso_gguf_get_u32(g, "llama.embedding_length", &dim));
    PRESSO_TRY(presso_gguf_get_u32(g, "llama.feed_forward_length", &hidden));
    PRESSO_TRY(presso_gguf_get_u32(g, "llama.block_count", &layers));
    PRESSO_TRY(presso_gguf_get_u32(g, "llama.attention.head_count", &heads));
    PRESSO_TRY(get_u32_or(g, "llama.attention.head_count_kv", heads, &kv_heads));
    PRESSO_TRY(get_u32_or(g, "llama.context_length", 2048, &ctx));
    if (heads == 0) return presso_fail(PRESSO_ERR_FORMAT, "%s: llama.attention.head_count is 0", path);
    PRESSO_TRY(get_u32_or(g, "llama.attention.key_length", dim / heads, &head_dim));
    PRESSO_TRY(get_f32_or(g, "llama.rope.freq_base", 10000.0f, &theta));
    PRESSO_TRY(get_f32_or(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f, &eps));
    if (presso_gguf_find_key(g, "llama.rope.scaling.type") >= 0) {
        presso_gguf_string scaling;
        PRESSO_TRY(presso_gguf_get_string(g, "llama.rope.scaling.type", &scaling));
        if (!(scaling.len == 4 && memcmp(scaling.ptr, "none", 4) == 0))
            return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: RoPE scaling '%.*s' is not supported", path,
                               (int)(scaling.len > 32 ? 32 : scaling.len), scaling.ptr);
    }
    const uint32_t limit = 1u << 24;
    if (dim > limit || hidden > limit || layers > 4096 || heads > 4096 || kv_heads > 4096 || ctx > limit ||
        head_dim > 65536)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: hyperparameters out of range (dim %u, hidden %u, layers %u, "
                           "heads %u/%u, head_dim %u, ctx %u)", path, dim, hidden, layers, heads, kv_heads, head_dim, ctx);
    presso_llama_config *c = &m->config;
    c->dim = (int32_t)dim;
    c->hidden_dim = (int32_t)hidden;
    c->n_layers = (int32_t)layers;
    c->n_heads = (int32_t)heads;
    c->n_kv_heads = (int32_t)kv_heads;
    c->head_dim = (int32_t)head_dim;
    c->max_seq_len = (int32_t)ctx;
    c->rope_theta = theta;
    c->norm_eps = eps;
    c->rope_style = PRESSO_ROPE_INTERLEAVED; /* llama.cpp's converter permuted Q/K for this */

    PRESSO_TRY(take_tensor(g, path, "token_embd.weight", &m->token_embd, true));
    PRESSO_TRY(take_tensor(g, path, "output_norm.weight", &m->output_norm, true));
    PRESSO_TRY(take_tensor(g, path, "output.weight", &m->output, false));
    c->vocab_size = m->token_embd.ne[1] > 0 && m->token_embd.ne[1] < (1 << 24) ? (int32_t)m->token_embd.ne[1] : 0;
    c->tied_embeddings = m->output.data == NULL;
    if (c->tied_embeddings) m->output = m->token_embd;
    if (layers == 0) return presso_fail(PRESSO_ERR_FORMAT, "%s: llama.block_count is 0", path);
    m->layers = calloc(layers, sizeof *m->layers);
    if (!m->layers) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", path);
    static const struct {
        const char *suffix;
        size_t offset;
    } names[] = {
        {"attn_norm", offsetof(presso_llama_layer, attn_norm)}, {"attn_q", offsetof(presso_llama_layer, wq)},
        {"attn_k", offsetof(presso_llama_layer, wk)},           {"attn_v", offsetof(presso_llama_layer, wv)},
        {"attn_output", offsetof(presso_llama_layer, wo)},      {"ffn_norm", offsetof(presso_llama_layer, ffn_norm)},
        {"ffn_gate", offsetof(presso_llama_layer, w_gate)},     {"ffn_up", offsetof(presso_llama_layer, w_up)},
        {"ffn_down", offsetof(presso_llama_layer, w_down)},
    };
    for (uint32_t l = 0; l < layers; l++) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char name[PRESSO_MAX_NAME];
            snprintf(name, sizeof name, "blk.%u.%s.weight", l, names[i].suffix);
            PRESSO_TRY(take_tensor(g, path, name, (presso_tensor *)((char *)&m->layers[l] + names[i].offset), true));
        }
    }
    return PRESSO_OK;
}
