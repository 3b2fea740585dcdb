#include "model/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "formats/gguf.h"
#include "model/model_save.h"
#include "tensor/types.h"

typedef struct {
    const presso_synth_params *p;
    int64_t cols[1024 * 9 + 3];
    int is_norm[1024 * 9 + 3];
} synth_context;

/* Weights ~ U(-a, a) with a = 0.02·√3 (std 0.02, the usual init); norms 1. */
static presso_status fill_random(void *user, int64_t index, void *dst, size_t nbytes) {
    const synth_context *ctx = user;
    const presso_synth_params *p = ctx->p;
    const int64_t cols = ctx->cols[index];
    const presso_type type = ctx->is_norm[index] ? PRESSO_TYPE_F32 : p->type;
    const presso_type_traits *t = presso_type_traits_of(type);
    const size_t row_bytes = (size_t)presso_row_bytes(type, cols);
    const int64_t rows = (int64_t)(nbytes / row_bytes);
    float *row = malloc(sizeof(float) * (size_t)cols);
    if (!row) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    presso_rng rng;
    presso_rng_seed(&rng, p->seed * 1000003u + (uint64_t)index + 1);
    const float a = 0.02f * sqrtf(3.0f);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < cols; i++)
            row[i] = ctx->is_norm[index] ? 1.0f : a * (2.0f * presso_rng_uniform(&rng) - 1.0f);
        t->from_float_ref(row, (uint8_t *)dst + (size_t)r * row_bytes, cols);
    }
    free(row);
    return PRESSO_OK;
}

static presso_status write_vocab(presso_gguf_writer *w, int32_t vocab) {
    char **tokens = calloc((size_t)vocab, sizeof(char *));
    float *scores = malloc(sizeof(float) * (size_t)vocab);
    int32_t *types = malloc(sizeof(int32_t) * (size_t)vocab);
    presso_status st = PRESSO_OK;
    if (!tokens || !scores || !types) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; st == PRESSO_OK && i < vocab; i++) {
        char buf[32];
        if (i == 0) snprintf(buf, sizeof buf, "<unk>");
        else if (i == 1) snprintf(buf, sizeof buf, "<s>");
        else if (i == 2) snprintf(buf, sizeof buf, "</s>");
        else if (i < 3 + 256) snprintf(buf, sizeof buf, "<0x%02X>", i - 3);
        else snprintf(buf, sizeof buf, "\xe2\x96\x81tok%d", (int)i); /* "▁tokN" */
        tokens[i] = strdup(buf);
        if (!tokens[i]) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory");
        scores[i] = i < 3 + 256 ? 0.0f : -(float)i;
        types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 3 + 256 ? 6 : 1; /* unknown, control, byte, normal */
    }
    if (st == PRESSO_OK) st = presso_gguf_writer_set_string(w, "tokenizer.ggml.model", "llama");
    if (st == PRESSO_OK)
        st = presso_gguf_writer_set_array_string(w, "tokenizer.ggml.tokens", (const char *const *)tokens, NULL,
                                                 (uint64_t)vocab);
    if (st == PRESSO_OK)
        st = presso_gguf_writer_set_array(w, "tokenizer.ggml.scores", PRESSO_GGUF_FLOAT32, scores, (uint64_t)vocab);
    if (st == PRESSO_OK)
        st = presso_gguf_writer_set_array(w, "tokenizer.ggml.token_type", PRESSO_GGUF_INT32, types, (uint64_t)vocab);
    if (st == PRESSO_OK) st = presso_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    if (st == PRESSO_OK) st = presso_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    if (st == PRESSO_OK) st = presso_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    for (int32_t i = 0; tokens && i < vocab; i++) free(tokens[i]);
    free(tokens);
    free(scores);
    free(types);
    return st;
}

presso_status presso_synth_gguf(const presso_synth_params *p, const char *path) {
    if (p->dim <= 0 || p->hidden_dim <= 0 || p->n_layers <= 0 || p->n_layers > 1024 || p->n_heads <= 0 ||
        p->n_kv_heads <= 0 || p->vocab_size < 3 + 256 + 1 || p->max_seq_len <= 0 || p->dim % p->n_heads != 0 ||
        p->n_heads % p->n_kv_heads != 0 || (p->dim / p->n_heads) % 2 != 0 || p->dim > (1 << 16) ||
        p->hidden_dim > (1 << 18) || p->vocab_size > (1 << 21))
        return presso_fail(PRESSO_ERR_INVALID_ARG,
                           "synth: invalid shape (dim %d, hidden %d, layers %d (1..1024), heads %d, kv heads %d, "
                           "vocab %d (>= 260)): heads must divide dim with an even head size and kv heads must "
                           "divide heads",
                           p->dim, p->hidden_dim, p->n_layers, p->n_heads, p->n_kv_heads, p->vocab_size);
    const presso_type_traits *t = presso_type_traits_of(p->type);
    if (!t || !t->from_float_ref) return presso_fail(PRESSO_ERR_UNSUPPORTED, "synth: cannot write type %d", p->type);
    if (p->dim % t->block_size != 0 || p->hidden_dim % t->block_size != 0)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "synth: dim %d and hidden %d must be multiples of %s's block of %lld",
                           p->dim, p->hidden_dim, t->name, (long long)t->block_size);
    synth_context *ctx = calloc(1, sizeof *ctx);
    presso_gguf_writer *w = presso_gguf_writer_new();
    if (!ctx || !w) {
        free(ctx);
        presso_gguf_writer_free(w);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    }
    ctx->p = p;
    presso_status st = PRESSO_OK;
    const int64_t hd = p->dim / p->n_heads, q = p->dim, kv = (int64_t)p->n_kv_heads * hd;
    st = presso_gguf_writer_set_string(w, "general.architecture", "llama");
    if (st == PRESSO_OK) st = presso_gguf_writer_set_string(w, "general.name", "presso synthetic");
    if (st == PRESSO_OK) st = presso_gguf_writer_set_u32(w, "general.file_type", presso_gguf_file_type(p->type));
    if (st == PRESSO_OK && t->is_quantized) st = presso_gguf_writer_set_u32(w, "general.quantization_version", 2);
    const struct {
        const char *key;
        uint32_t value;
    } u32s[] = {{"llama.context_length", (uint32_t)p->max_seq_len}, {"llama.embedding_length", (uint32_t)p->dim},
                {"llama.block_count", (uint32_t)p->n_layers},       {"llama.feed_forward_length", (uint32_t)p->hidden_dim},
                {"llama.rope.dimension_count", (uint32_t)hd},       {"llama.attention.head_count", (uint32_t)p->n_heads},
                {"llama.attention.head_count_kv", (uint32_t)p->n_kv_heads}};
    for (size_t i = 0; st == PRESSO_OK && i < sizeof u32s / sizeof u32s[0]; i++)
        st = presso_gguf_writer_set_u32(w, u32s[i].key, u32s[i].value);
    if (st == PRESSO_OK) st = presso_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    if (st == PRESSO_OK) st = presso_gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f);
    if (st == PRESSO_OK) st = write_vocab(w, p->vocab_size);
    int64_t k = 0;
#define ADD(name, ne0, ne1)                                                                        \
    if (st == PRESSO_OK) {                                                                         \
        const int64_t ne_[2] = {(ne0), (ne1)};                                                     \
        ctx->cols[k] = ne_[0];                                                                     \
        ctx->is_norm[k] = ne_[1] == 1;                                                             \
        st = presso_gguf_writer_add_tensor_fn(w, name, ne_[1] == 1 ? PRESSO_TYPE_F32 : p->type,    \
                                              ne_[1] == 1 ? 1 : 2, ne_, fill_random, ctx, k);      \
        k++;                                                                                       \
    }
    ADD("token_embd.weight", p->dim, p->vocab_size);
    ADD("output_norm.weight", p->dim, 1);
    ADD("output.weight", p->dim, p->vocab_size);
    for (int32_t l = 0; l < p->n_layers && st == PRESSO_OK; l++) {
        char n[9][PRESSO_MAX_NAME];
        const char *suffix[9] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                 "ffn_norm",  "ffn_gate", "ffn_up", "ffn_down"};
        for (int i = 0; i < 9; i++) snprintf(n[i], PRESSO_MAX_NAME, "blk.%d.%s.weight", (int)l, suffix[i]);
        ADD(n[0], p->dim, 1);
        ADD(n[1], p->dim, q);
        ADD(n[2], p->dim, kv);
        ADD(n[3], p->dim, kv);
        ADD(n[4], q, p->dim);
        ADD(n[5], p->dim, 1);
        ADD(n[6], p->dim, p->hidden_dim);
        ADD(n[7], p->dim, p->hidden_dim);
        ADD(n[8], p->hidden_dim, p->dim);
    }
#undef ADD
    if (st == PRESSO_OK) st = presso_gguf_writer_write(w, path);
    presso_gguf_writer_free(w);
    free(ctx);
    return st;
}
