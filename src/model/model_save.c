#include "model/model_save.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "tensor/sparse.h"
#include "tensor/types.h"

uint32_t presso_gguf_file_type(presso_type type) {
    /* enum llama_ftype */
    switch (type) {
    case PRESSO_TYPE_F32: return 0;
    case PRESSO_TYPE_F16: return 1;
    case PRESSO_TYPE_Q4_0: return 2;
    case PRESSO_TYPE_Q4_1: return 3;
    case PRESSO_TYPE_Q8_0: return 7;
    case PRESSO_TYPE_Q5_0: return 8;
    case PRESSO_TYPE_Q5_1: return 9;
    case PRESSO_TYPE_Q2_K: return 10;
    case PRESSO_TYPE_Q3_K: return 12;
    case PRESSO_TYPE_Q4_K: return 15;
    case PRESSO_TYPE_Q5_K: return 17;
    case PRESSO_TYPE_Q6_K: return 18;
    case PRESSO_TYPE_BF16: return 32;
    default: return 0;
    }
}

typedef struct {
    const presso_tensor *src;
    presso_type type;
    int32_t permute_heads; /* > 0: Q/K rows go from rotate_half to interleaved order */
    int32_t head_dim;
} tensor_job;

typedef struct {
    tensor_job *jobs;
    int n;
} save_context;

/* Output row r of a permuted Q/K matrix: within each head, interleaved pair
 * (2i, 2i+1) comes from rotate_half rows (i, i + head_dim/2), the inverse of
 * llama.cpp convert_hf_to_gguf.py's permute(). */
static int64_t source_row(const tensor_job *job, int64_t r) {
    if (job->permute_heads <= 0) return r;
    const int64_t hd = job->head_dim, h = r / hd, j = r % hd, i = j / 2, half = j % 2;
    return h * hd + half * (hd / 2) + i;
}

static presso_status fill_tensor(void *user, int64_t index, void *dst, size_t nbytes) {
    const save_context *ctx = user;
    const tensor_job *job = &ctx->jobs[index];
    const presso_tensor *t = job->src;
    const int64_t cols = t->ne[0], rows = presso_tensor_nelements(t) / cols;
    const size_t src_row = (size_t)presso_row_bytes(t->type, cols), dst_row = (size_t)presso_row_bytes(job->type, cols);
    if (dst_row * (size_t)rows != nbytes) return presso_fail(PRESSO_ERR_INTERNAL, "%s: size mismatch", t->name);
    const presso_type_traits *from = presso_type_traits_of(t->type), *to = presso_type_traits_of(job->type);
    float *row = malloc(sizeof(float) * (size_t)cols);
    if (!row) return presso_fail(PRESSO_ERR_NOMEM, "out of memory converting %s", t->name);
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *s = (const uint8_t *)t->data + (size_t)source_row(job, r) * src_row;
        uint8_t *d = (uint8_t *)dst + (size_t)r * dst_row;
        if (t->type == job->type) {
            memcpy(d, s, dst_row);
        } else {
            from->to_float(s, row, cols);
            to->from_float_ref(row, d, cols);
        }
    }
    free(row);
    return PRESSO_OK;
}

static presso_status plan_tensor(const presso_model *m, presso_save_params *p, const presso_tensor *src,
                                 const char *name, int32_t permute_heads, tensor_job *job, presso_gguf_writer *w,
                                 save_context *ctx, int64_t index) {
    const bool is_matrix = src->ne[1] > 1;
    const bool keep = p->keep_types || (p->keep_sparse && presso_type_is_sparse(src->type));
    presso_type type = is_matrix ? (keep ? src->type : p->type) : PRESSO_TYPE_F32;
    const presso_type_traits *target = presso_type_traits_of(type);
    if (!target || (!target->from_float_ref && type != src->type))
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "presso cannot write tensors of type %d", (int)type);
    if (src->ne[0] % target->block_size != 0) {
        type = PRESSO_TYPE_F16; /* the row fits no block: keep it in half precision, as llama.cpp */
        p->n_fallback++;
        size_t used = strlen(p->fallback_names);
        if (used + strlen(name) + 2 < sizeof p->fallback_names)
            snprintf(p->fallback_names + used, sizeof p->fallback_names - used, "%s%s", used ? "," : "", name);
    }
    const presso_type_traits *source = presso_type_traits_of(src->type);
    if (source->is_quantized && type != src->type && presso_type_traits_of(type)->is_quantized && !p->allow_requantize)
        return presso_fail(PRESSO_ERR_INVALID_ARG,
                           "%s: tensor %s is already %s; re-quantizing it to %s loses quality twice "
                           "(pass --allow-requantize to do it anyway)",
                           m->path, src->name, source->name, presso_type_name(type));
    job->src = src;
    job->type = type;
    job->permute_heads = permute_heads;
    job->head_dim = m->config.head_dim;
    (void)ctx;
    return presso_gguf_writer_add_tensor_fn(w, name, type, src->ne[1] > 1 ? 2 : 1, src->ne, fill_tensor, ctx, index);
}

static presso_status write_hparams(const presso_model *m, const presso_save_params *p, presso_gguf_writer *w) {
    const presso_llama_config *c = &m->config;
    PRESSO_TRY(presso_gguf_writer_set_string(w, "general.architecture", "llama"));
    PRESSO_TRY(presso_gguf_writer_set_string(w, "general.name", m->name));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "general.file_type", presso_gguf_file_type(p->type)));
    if (presso_type_traits_of(p->type)->is_quantized)
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "general.quantization_version", 2));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.context_length", (uint32_t)c->max_seq_len));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)c->dim));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.block_count", (uint32_t)c->n_layers));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)c->hidden_dim));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)c->head_dim));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads));
    if ((int64_t)c->head_dim * c->n_heads != c->dim) {
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.attention.key_length", (uint32_t)c->head_dim));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.attention.value_length", (uint32_t)c->head_dim));
    }
    PRESSO_TRY(presso_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", c->norm_eps));
    PRESSO_TRY(presso_gguf_writer_set_f32(w, "llama.rope.freq_base", c->rope_theta));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)c->vocab_size));
    PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.source", m->path));
    return PRESSO_OK;
}

presso_status presso_model_save_gguf(const presso_model *m, const char *path, presso_save_params *p) {
    p->n_fallback = 0;
    p->fallback_names[0] = '\0';
    if (!m->tokenizer)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: the model has no tokenizer; llama.cpp cannot load a GGUF "
                           "without one (pass the tokenizer with -z)", m->path);
    const presso_llama_config *c = &m->config;
    const int n_jobs = 2 + (c->tied_embeddings ? 0 : 1) + 9 * c->n_layers;
    save_context ctx = {calloc((size_t)n_jobs, sizeof(tensor_job)), n_jobs};
    presso_gguf_writer *w = presso_gguf_writer_new();
    if (!ctx.jobs || !w) {
        free(ctx.jobs);
        presso_gguf_writer_free(w);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    }
    presso_status st = write_hparams(m, p, w);
    if (st == PRESSO_OK && p->write_metadata) st = p->write_metadata(p->metadata_user, w);
    if (st == PRESSO_OK) st = presso_tokenizer_write_gguf(m->tokenizer, w);
    const int32_t permute = c->rope_style == PRESSO_ROPE_HALF;
    int64_t k = 0;
#define PLAN(src, name, heads)                                                                     \
    if (st == PRESSO_OK) {                                                                         \
        st = plan_tensor(m, p, src, name, heads, &ctx.jobs[k], w, &ctx, k);                        \
        k++;                                                                                       \
    }
    PLAN(&m->token_embd, "token_embd.weight", 0);
    PLAN(&m->output_norm, "output_norm.weight", 0);
    if (!c->tied_embeddings) PLAN(&m->output, "output.weight", 0);
    for (int32_t l = 0; l < c->n_layers && st == PRESSO_OK; l++) {
        const presso_llama_layer *L = &m->layers[l];
        char name[9][PRESSO_MAX_NAME];
        const char *suffix[9] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                 "ffn_norm",  "ffn_gate", "ffn_up", "ffn_down"};
        for (int i = 0; i < 9; i++) snprintf(name[i], PRESSO_MAX_NAME, "blk.%d.%s.weight", (int)l, suffix[i]);
        PLAN(&L->attn_norm, name[0], 0);
        PLAN(&L->wq, name[1], permute ? c->n_heads : 0);
        PLAN(&L->wk, name[2], permute ? c->n_kv_heads : 0);
        PLAN(&L->wv, name[3], 0);
        PLAN(&L->wo, name[4], 0);
        PLAN(&L->ffn_norm, name[5], 0);
        PLAN(&L->w_gate, name[6], 0);
        PLAN(&L->w_up, name[7], 0);
        PLAN(&L->w_down, name[8], 0);
    }
#undef PLAN
    if (st == PRESSO_OK) st = presso_gguf_writer_write(w, path);
    presso_gguf_writer_free(w);
    free(ctx.jobs);
    return st;
}
