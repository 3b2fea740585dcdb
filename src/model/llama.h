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
int32_t presso_llama_state_n_ctx(const presso_llama_state *s);

/* Runs n tokens at positions n_past .. n_past+n-1 and appends them to the
 * cache. Logits are written for the tokens first_logit .. n-1 as
 * [n - first_logit][vocab]: first_logit = n-1 gives the last token's only,
 * 0 every token's; logits NULL (or first_logit = n) computes none. */
presso_status presso_llama_forward(presso_llama_state *s, const int32_t *tokens, int32_t n, float *logits,
                                   int32_t first_logit);

#endif
