/* Hugging Face LlamaForCausalLM checkpoints: config.json + safetensors
 * (single or sharded). Weights are used in place; HF's rotate_half RoPE
 * layout is kept and handled by the forward pass. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/path.h"
#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "model/model.h"

static void close_safetensors(void *st) { presso_safetensors_close(st); }

static presso_status take(const presso_safetensors *st, const char *dir, const char *name, presso_tensor *dst,
                          bool required) {
    const presso_tensor *t = presso_safetensors_find(st, name);
    if (!t) {
        memset(dst, 0, sizeof *dst);
        if (required) return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor '%s' is missing", dir, name);
        return PRESSO_OK;
    }
    *dst = *t;
    return PRESSO_OK;
}

presso_status presso_model_load_hf(presso_model *m, const char *path, char *hf_dir, size_t hf_dir_cap) {
    if (presso_path_is_dir(path)) {
        int n = snprintf(hf_dir, hf_dir_cap, "%s", path);
        if (n < 0 || (size_t)n >= hf_dir_cap) return presso_fail(PRESSO_ERR_INVALID_ARG, "path too long: %s", path);
    } else {
        PRESSO_TRY(presso_path_dirname(hf_dir, hf_dir_cap, path));
    }
    m->format = PRESSO_FORMAT_HF;
    char config_path[PRESSO_PATH_MAX];
    PRESSO_TRY(presso_path_join(config_path, sizeof config_path, hf_dir, "config.json"));
    presso_hf_config hf;
    PRESSO_TRY(presso_hf_config_load(config_path, &hf));
    presso_safetensors *st = NULL;
    PRESSO_TRY(presso_safetensors_open(presso_path_is_dir(path) || presso_path_has_suffix(path, "config.json")
                                           ? hf_dir
                                           : path,
                                       &st));
    m->format_handle = st;
    m->format_close = close_safetensors;

    presso_llama_config *c = &m->config;
    c->dim = hf.hidden_size;
    c->hidden_dim = hf.intermediate_size;
    c->n_layers = hf.num_hidden_layers;
    c->n_heads = hf.num_attention_heads;
    c->n_kv_heads = hf.num_key_value_heads;
    c->head_dim = hf.head_dim;
    c->vocab_size = hf.vocab_size;
    c->max_seq_len = hf.max_position_embeddings;
    c->rope_theta = hf.rope_theta;
    c->norm_eps = hf.rms_norm_eps;
    c->rope_style = PRESSO_ROPE_HALF;

    PRESSO_TRY(take(st, hf_dir, "model.embed_tokens.weight", &m->token_embd, false));
    PRESSO_TRY(take(st, hf_dir, "model.norm.weight", &m->output_norm, true));
    PRESSO_TRY(take(st, hf_dir, "lm_head.weight", &m->output, !hf.tie_word_embeddings));
    c->tied_embeddings = hf.tie_word_embeddings;
    if (!m->token_embd.data) {
        /* safetensors stores a tied matrix once; some writers keep only lm_head.weight. */
        if (!c->tied_embeddings || !m->output.data)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: tensor 'model.embed_tokens.weight' is missing", hf_dir);
        m->token_embd = m->output;
    }
    if (c->tied_embeddings) m->output = m->token_embd;
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    static const struct {
        const char *suffix;
        size_t offset;
    } names[] = {
        {"input_layernorm", offsetof(presso_llama_layer, attn_norm)},
        {"self_attn.q_proj", offsetof(presso_llama_layer, wq)},
        {"self_attn.k_proj", offsetof(presso_llama_layer, wk)},
        {"self_attn.v_proj", offsetof(presso_llama_layer, wv)},
        {"self_attn.o_proj", offsetof(presso_llama_layer, wo)},
        {"post_attention_layernorm", offsetof(presso_llama_layer, ffn_norm)},
        {"mlp.gate_proj", offsetof(presso_llama_layer, w_gate)},
        {"mlp.up_proj", offsetof(presso_llama_layer, w_up)},
        {"mlp.down_proj", offsetof(presso_llama_layer, w_down)},
    };
    for (int32_t l = 0; l < c->n_layers; l++) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char name[PRESSO_MAX_NAME];
            snprintf(name, sizeof name, "model.layers.%d.%s.weight", (int)l, names[i].suffix);
            PRESSO_TRY(take(st, hf_dir, name, (presso_tensor *)((char *)&m->layers[l] + names[i].offset), true));
        }
    }
    return PRESSO_OK;
}
