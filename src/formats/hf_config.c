/* Hugging Face config.json for LlamaForCausalLM.
 *
 * Defaults follow transformers' LlamaConfig (configuration_llama.py) so a
 * config that transformers loads as a llama means the same here. Anything that
 * would change the forward pass in a way presso does not implement (biases,
 * rope scaling, another activation, another architecture) is refused with the
 * field named, rather than silently giving different logits. */
#define _POSIX_C_SOURCE 200809L
#include "formats/hf_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mapped_file.h"

#define CONFIG_MAX_BYTES ((size_t)16 * 1024 * 1024)
/* Bounds far above any llama (vocab 256k, hidden 16k, 126 layers) but low
 * enough that products of two of them fit int64 and one fits int32. */
#define SIZE_MAX_VALUE (1 << 24)

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* cJSON keeps both copies of a repeated key; Python's json keeps the last.
 * Refuse rather than guess which one the author meant. */
static presso_status check_duplicate_keys(const cJSON *root, const char *name) {
    size_t n = 0;
    for (const cJSON *c = root->child; c; c = c->next) n++;
    if (n < 2) return PRESSO_OK;
    const char **keys = malloc(n * sizeof *keys);
    if (!keys) return presso_fail(PRESSO_ERR_NOMEM, "%s", name);
    size_t i = 0;
    for (const cJSON *c = root->child; c; c = c->next) keys[i++] = c->string ? c->string : "";
    qsort(keys, n, sizeof *keys, compare_strings);
    presso_status s = PRESSO_OK;
    for (i = 1; i < n; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) {
            s = presso_fail(PRESSO_ERR_FORMAT, "%s: key \"%.64s\" appears twice", name, keys[i]);
            break;
        }
    free(keys);
    return s;
}

/* The item, or NULL when absent or JSON null (transformers treats both as unset). */
static const cJSON *field(const cJSON *root, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    return cJSON_IsNull(item) ? NULL : item;
}

static presso_status get_int(const cJSON *root, const char *name, const char *key, int required,
                             int default_value, int min_value, int *out) {
    const cJSON *item = field(root, key);
    if (!item) {
        if (required) return presso_fail(PRESSO_ERR_FORMAT, "%s: required field \"%s\" is missing", name, key);
        *out = default_value;
        return PRESSO_OK;
    }
    if (!cJSON_IsNumber(item))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: \"%s\" must be an integer", name, key);
    double v = item->valuedouble;
    if (!(v >= min_value && v <= SIZE_MAX_VALUE) || v != floor(v))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: \"%s\" = %g is not an integer in [%d, %d]", name,
                           key, v, min_value, SIZE_MAX_VALUE);
    *out = (int)v;
    return PRESSO_OK;
}

static presso_status get_positive_float(const cJSON *root, const char *name, const char *key,
                                        float default_value, float *out) {
    const cJSON *item = field(root, key);
    if (!item) {
        *out = default_value;
        return PRESSO_OK;
    }
    if (!cJSON_IsNumber(item))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: \"%s\" must be a number", name, key);
    float v = (float)item->valuedouble;
    if (!(v > 0.0f) || !isfinite(v))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: \"%s\" = %g must be positive and finite", name,
                           key, item->valuedouble);
    *out = v;
    return PRESSO_OK;
}

static presso_status get_bool(const cJSON *root, const char *name, const char *key,
                              bool default_value, bool *out) {
    const cJSON *item = field(root, key);
    if (!item) {
        *out = default_value;
        return PRESSO_OK;
    }
    if (!cJSON_IsBool(item))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: \"%s\" must be true or false", name, key);
    *out = cJSON_IsTrue(item);
    return PRESSO_OK;
}

/* bos/eos: an integer, or (Llama 3) a list of which the first is used. */
static presso_status get_token_id(const cJSON *root, const char *name, const char *key, int vocab,
                                  int *out) {
    const cJSON *item = field(root, key);
    *out = -1;
    if (!item) return PRESSO_OK;
    if (cJSON_IsArray(item)) {
        item = item->child;
        if (!item) return PRESSO_OK;
    }
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble) ||
        !(item->valuedouble >= 0 && item->valuedouble < vocab))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: \"%s\" must be a token id in [0, %d)", name, key,
                           vocab);
    *out = (int)item->valuedouble;
    return PRESSO_OK;
}

/* Why a known non-llama model_type is refused: the difference that matters. */
static const char *why_not_llama(const char *model_type) {
    static const struct {
        const char *type, *reason;
    } known[] = {
        {"qwen2", "it has q/k/v projection biases"},
        {"qwen3", "it has q/k RMS norms"},
        {"mistral", "it uses sliding-window attention"},
        {"mixtral", "it is a mixture of experts"},
        {"gemma", "it scales embeddings and uses (1 + weight) RMS norms and GeLU"},
        {"gemma2", "it has soft-capping and extra norms"},
        {"phi3", "it uses fused qkv and gate_up projections"},
        {"gpt2", "it uses LayerNorm, learned positions and GeLU"},
        {"olmo", "it uses non-parametric LayerNorm"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].type, model_type) == 0) return known[i].reason;
    return "only llama is supported";
}

presso_status presso_hf_config_parse(const char *json, size_t len, const char *name,
                                     presso_hf_config *out) {
    if (!name) name = "config.json";
    if (!out || (!json && len > 0)) return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: NULL argument", name);
    memset(out, 0, sizeof *out);
    if (len > CONFIG_MAX_BYTES)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: %zu bytes, over the 16 MiB limit", name, len);
    /* The caller's bytes need not be NUL-terminated. */
    char *text = malloc(len + 1);
    if (!text) return presso_fail(PRESSO_ERR_NOMEM, "%s", name);
    if (len) memcpy(text, json, len);
    text[len] = '\0';
    cJSON *root = NULL;
    presso_status s = PRESSO_OK;
    /* JSON text has no NUL bytes, but cJSON skips them as whitespace. */
    const char *nul = memchr(text, 0, len);
    if (nul) {
        s = presso_fail(PRESSO_ERR_FORMAT, "%s: not valid JSON (NUL byte at byte %zu)", name,
                        (size_t)(nul - text));
        goto done;
    }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (!root) {
        s = presso_fail(PRESSO_ERR_FORMAT, "%s: not valid JSON (near byte %zu)", name,
                        end && end >= text ? (size_t)(end - text) : (size_t)0);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        s = presso_fail(PRESSO_ERR_FORMAT, "%s: not a JSON object", name);
        goto done;
    }
    s = check_duplicate_keys(root, name);
    if (s != PRESSO_OK) goto done;

    const cJSON *model_type = field(root, "model_type");
    if (!model_type) {
        s = presso_fail(PRESSO_ERR_FORMAT, "%s: required field \"model_type\" is missing", name);
        goto done;
    }
    if (!cJSON_IsString(model_type)) {
        s = presso_fail(PRESSO_ERR_FORMAT, "%s: \"model_type\" must be a string", name);
        goto done;
    }
    if (strcmp(model_type->valuestring, "llama") != 0) {
        s = presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: model_type \"%.32s\" is not supported: %s", name,
                        model_type->valuestring, why_not_llama(model_type->valuestring));
        goto done;
    }
    snprintf(out->model_type, sizeof out->model_type, "%s", model_type->valuestring);

    /* A llama config whose head is not a causal LM (e.g. ...ForSequenceClassification)
     * has other output weights. */
    const cJSON *archs = field(root, "architectures");
    if (archs) {
        int causal = 0;
        if (!cJSON_IsArray(archs)) {
            s = presso_fail(PRESSO_ERR_FORMAT, "%s: \"architectures\" must be a list", name);
            goto done;
        }
        for (const cJSON *a = archs->child; a; a = a->next)
            if (cJSON_IsString(a) && strcmp(a->valuestring, "LlamaForCausalLM") == 0) causal = 1;
        if (!causal) {
            s = presso_fail(PRESSO_ERR_UNSUPPORTED,
                            "%s: \"architectures\" does not list LlamaForCausalLM", name);
            goto done;
        }
    }

    if ((s = get_int(root, name, "hidden_size", 1, 0, 1, &out->hidden_size)) ||
        (s = get_int(root, name, "intermediate_size", 1, 0, 1, &out->intermediate_size)) ||
        (s = get_int(root, name, "num_hidden_layers", 1, 0, 1, &out->num_hidden_layers)) ||
        (s = get_int(root, name, "num_attention_heads", 1, 0, 1, &out->num_attention_heads)) ||
        (s = get_int(root, name, "num_key_value_heads", 0, out->num_attention_heads, 1,
                     &out->num_key_value_heads)) ||
        (s = get_int(root, name, "vocab_size", 1, 0, 1, &out->vocab_size)) ||
        /* LlamaConfig's default */
        (s = get_int(root, name, "max_position_embeddings", 0, 2048, 1, &out->max_position_embeddings)) ||
        (s = get_int(root, name, "head_dim", 0, 0, 1, &out->head_dim)) ||
        (s = get_positive_float(root, name, "rms_norm_eps", 1e-6f, &out->rms_norm_eps)) ||
        (s = get_positive_float(root, name, "rope_theta", 10000.0f, &out->rope_theta)) ||
        (s = get_bool(root, name, "tie_word_embeddings", false, &out->tie_word_embeddings)) ||
        (s = get_token_id(root, name, "bos_token_id", out->vocab_size, &out->bos_token_id)) ||
        (s = get_token_id(root, name, "eos_token_id", out->vocab_size, &out->eos_token_id)))
        goto done;

    if (out->hidden_size % out->num_attention_heads != 0) {
        s = presso_fail(PRESSO_ERR_FORMAT,
                        "%s: num_attention_heads = %d does not divide hidden_size = %d", name,
                        out->num_attention_heads, out->hidden_size);
        goto done;
    }
    if (out->num_attention_heads % out->num_key_value_heads != 0) {
        s = presso_fail(PRESSO_ERR_FORMAT,
                        "%s: num_key_value_heads = %d does not divide num_attention_heads = %d",
                        name, out->num_key_value_heads, out->num_attention_heads);
        goto done;
    }
    if (out->head_dim == 0) out->head_dim = out->hidden_size / out->num_attention_heads;
    if (out->head_dim % 2 != 0) { /* RoPE rotates pairs of dimensions */
        s = presso_fail(PRESSO_ERR_FORMAT, "%s: head_dim = %d must be even for RoPE", name,
                        out->head_dim);
        goto done;
    }

    const cJSON *act = field(root, "hidden_act");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "silu") != 0)) {
        s = presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: hidden_act \"%.32s\" is not supported (silu only)",
                        name, cJSON_IsString(act) ? act->valuestring : "?");
        goto done;
    }
    if (field(root, "rope_scaling")) {
        s = presso_fail(PRESSO_ERR_UNSUPPORTED,
                        "%s: \"rope_scaling\" is set; only plain RoPE (rope_scaling null) is supported",
                        name);
        goto done;
    }
    static const char *const biases[] = {"attention_bias", "mlp_bias"};
    for (size_t i = 0; i < 2; i++) {
        bool has_bias;
        if ((s = get_bool(root, name, biases[i], false, &has_bias))) goto done;
        if (has_bias) {
            s = presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: \"%s\" is true; biases are not supported",
                            name, biases[i]);
            goto done;
        }
    }
done:
    cJSON_Delete(root);
    free(text);
    return s;
}

presso_status presso_hf_config_load(const char *path, presso_hf_config *out) {
    if (!path || !out) return presso_fail(PRESSO_ERR_INVALID_ARG, "hf_config: NULL argument");
    memset(out, 0, sizeof *out);
    presso_mapped_file f;
    PRESSO_TRY(presso_map_file(path, &f));
    presso_status s = presso_hf_config_parse((const char *)f.data, f.size, path, out);
    presso_unmap_file(&f);
    return s;
}
