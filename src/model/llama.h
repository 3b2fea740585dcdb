/* The llama forward pass: RMSNorm, RoPE, grouped-query attention with a KV
 * cache, SwiGLU, tied or untied output. Activations are fp32. */
#ifndef PRESSO_MODEL_LLAMA_H
#define PRESSO_MODEL_LLAMA_H

#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"

typedef struct presso_llama_state presso_llama_state;

/* n_ctx: positions the KV cache holds (<= 0: the model's max_seq_len).
 * n_batch: most tokens one forward call takes. */
presso_status presso_llama_state_new(const presso_model *m, int32_t n_ctx, int32_t n_batch, int n_threads,
                                     presso_llama_state **out);
void presso_llama_state_free(presso_llama_state *s);

/* Empties the KV cache (the next token is at position 0). */
void presso_llama_state_reset(presso_llama_state *s);
int32_t presso_llama_state_n_past(const presso_llama_state *s);
/* Drops the cached positions n_past.. (keeps 0..n_past-1): scoring several
 * continuations of one shared prefix runs the prefix once. */
presso_status presso_llama_state_rewind(presso_llama_state *s, int32_t n_past);
int32_t presso_llama_state_n_ctx(const presso_llama_state *s);

/* Runs n tokens at positions n_past .. n_past+n-1 and appends them to the
 * cache. Logits are written for the tokens first_logit .. n-1 as
 * [n - first_logit][vocab]: first_logit = n-1 gives the last token's only,
 * 0 every token's; logits NULL (or first_logit = n) computes none. */
presso_status presso_llama_forward(presso_llama_state *s, const int32_t *tokens, int32_t n, float *logits,
                                   int32_t first_logit);

/* The same from n rows of input embeddings x [n][dim] instead of token ids
 * (a soft prompt, Lester et al. 2021). */
presso_status presso_llama_forward_embd(presso_llama_state *s, const float *x, int32_t n, float *logits,
                                        int32_t first_logit);

/* Appends n cache positions of given keys and values, each [n_layers][n][kv_dim]
 * as the cache stores them (keys after RoPE): prefix tuning's per-layer
 * prefix (Li & Liang 2021). */
presso_status presso_llama_seed_kv(presso_llama_state *s, const float *keys, const float *values, int32_t n);

/* What every sequence starts from, in this order: n_kv seeded cache positions
 * (prefix tuning), n_embd embedding rows (prompt tuning), n_tokens tokens
 * (a hard prompt). Any part may be empty; the arrays are borrowed. */
typedef struct {
    int32_t n_kv;
    const float *keys, *values; /* [n_layers][n_kv][kv_dim] */
    int32_t n_embd;
    const float *embd;          /* [n_embd][dim] */
    int32_t n_tokens;
    const int32_t *tokens;
} presso_llama_prefix;

/* Cache positions the prefix takes (0 for NULL). */
int32_t presso_llama_prefix_len(const presso_llama_prefix *p);
/* Empties the cache and runs the prefix (NULL: just empties it). */
presso_status presso_llama_apply_prefix(presso_llama_state *s, const presso_llama_prefix *p);

/* ---- calibration support (compression passes) ----------------------- */

/* Where a block's linears read their input: attn_q/k/v share ATTN_IN (the
 * normed residual), attn_output reads ATTN_OUT, ffn_gate/up share FFN_IN,
 * ffn_down reads FFN_ACT (silu(gate) * up). */
typedef enum {
    PRESSO_CAPTURE_ATTN_IN,
    PRESSO_CAPTURE_ATTN_OUT,
    PRESSO_CAPTURE_FFN_IN,
    PRESSO_CAPTURE_FFN_ACT,
} presso_capture_point;

/* x: [n][width] floats, valid during the call only. */
typedef void (*presso_capture_fn)(void *user, int32_t layer, presso_capture_point point, const float *x, int32_t n,
                                  int64_t width);

/* Token embeddings of n tokens into x [n][dim] (ids must be valid). */
void presso_llama_embed(const presso_model *m, const int32_t *tokens, int32_t n, float *x);

/* Runs block `layer` on one sequence x [n][dim] (positions 0..n-1) in place,
 * calling capture with each linear's input. Uses the layer's slots of the
 * KV cache; leaves n_past unchanged. */
presso_status presso_llama_block_forward(presso_llama_state *s, int32_t layer, float *x, int32_t n,
                                         presso_capture_fn capture, void *user);

/* Re-reads the norm weights after a pass changed them (e.g. AWQ folding). */
void presso_llama_state_reload_norms(presso_llama_state *s);

#endif
