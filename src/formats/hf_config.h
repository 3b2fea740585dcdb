/* Hugging Face config.json for LlamaForCausalLM-style models. */
#ifndef PRESSO_FORMATS_HF_CONFIG_H
#define PRESSO_FORMATS_HF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "presso.h"

typedef struct {
    char model_type[32];
    int hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads;
    int vocab_size, max_position_embeddings, head_dim; /* head_dim = hidden/heads when absent */
    float rms_norm_eps, rope_theta;
    bool tie_word_embeddings;
    int bos_token_id, eos_token_id; /* -1 when absent */
} presso_hf_config;

/* Parses and validates (positive sizes, heads divide, kv heads divide heads,
 * rope_scaling null or absent, hidden_act silu, no attention/mlp bias). */
presso_status presso_hf_config_load(const char *path, presso_hf_config *out);

/* The same from len bytes of JSON in memory (need not be NUL-terminated);
 * name is used in error messages. */
presso_status presso_hf_config_parse(const char *json, size_t len, const char *name,
                                     presso_hf_config *out);

#endif
