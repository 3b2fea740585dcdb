/* A learned prompt: k soft-prompt vectors at the input embeddings (prompt
 * tuning, Lester et al. 2021; Compress, Then Prompt, Xu et al. 2023) or k
 * key/value vectors per layer prepended at attention (prefix tuning, Li &
 * Liang 2021), with the fingerprint of the model it was trained for and its
 * training metadata. File layout: docs/prompt_format.md. */
#ifndef PRESSO_TUNE_PROMPT_H
#define PRESSO_TUNE_PROMPT_H

#include <stdint.h>

#include "model/llama.h"
#include "model/model.h"

#define PRESSO_PROMPT_MAGIC "PRSOPRMT"
#define PRESSO_PROMPT_VERSION 1u
#define PRESSO_PROMPT_HEADER_BYTES 512
#define PRESSO_PROMPT_MAX_K 4096

typedef enum { PRESSO_PROMPT_MODE_PROMPT = 0, PRESSO_PROMPT_MODE_PREFIX = 1 } presso_prompt_mode;

typedef struct {
    uint32_t steps;          /* optimizer steps taken */
    uint32_t best_step;      /* the step whose parameters were kept */
    uint32_t loss;           /* presso_loss_kind */
    float kd_weight, lr, final_loss, best_eval_loss;
    uint64_t seed;
    uint64_t tokens_seen;    /* text tokens of the training forwards */
    char model_name[128];    /* the model trained on (e.g. its path's base name) */
    char calib_sha256[65];   /* of the calibration text */
} presso_prompt_meta;

typedef struct {
    presso_prompt_mode mode;
    int32_t k;          /* virtual tokens */
    int32_t dim;        /* the model's embedding width */
    int32_t n_layers;   /* prefix: layers; prompt: the model's, for the record */
    int32_t kv_dim;     /* prefix: n_kv_heads · head_dim */
    uint64_t shape_fingerprint;  /* presso_model_fingerprint's shapes: must match to use */
    uint64_t weight_fingerprint; /* of a few dequantized weights: may differ (transfer across compressions) */
    presso_prompt_meta meta;
    float *data;        /* prompt: [k][dim]; prefix: keys [n_layers][k][kv_dim] then values, same */
    int64_t n_floats;
} presso_prompt;

/* FNV-1a of the shapes (dim, hidden, layers, heads, kv heads, head_dim,
 * vocab, RoPE style/theta, tied) and of the first 64 values of a few
 * dequantized rows (token embedding row 1, layer 0's attn_norm and
 * output_norm): the second differs between compressions of one model and is
 * only reported. */
void presso_model_fingerprint(const presso_model *m, uint64_t *shapes, uint64_t *weights);

/* A zeroed prompt of k vectors shaped for m. */
presso_status presso_prompt_new(const presso_model *m, presso_prompt_mode mode, int32_t k, presso_prompt **out);
void presso_prompt_free(presso_prompt *p);

/* Atomic write: path.tmp, fsync, rename. */
presso_status presso_prompt_save(const presso_prompt *p, const char *path);
/* Reads and validates a prompt file (every field range-checked). */
presso_status presso_prompt_load(const char *path, presso_prompt **out);
/* Refuses a prompt for another model shape (a clear error naming both); a
 * different weight fingerprint only logs a note. */
presso_status presso_prompt_check(const presso_prompt *p, const presso_model *m, const char *path);
/* The prompt as a prefix to run before every sequence (arrays borrowed). */
void presso_prompt_as_prefix(const presso_prompt *p, presso_llama_prefix *out);

#endif
