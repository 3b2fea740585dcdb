/* Perplexity of a model on a token sequence, under two protocols:
 *  - llamacpp: llama.cpp's llama-perplexity. Non-overlapping chunks of n_ctx
 *    tokens, the first token of each chunk set to BOS (when the vocabulary adds
 *    BOS), only the second half of each chunk scored; the final estimate is
 *    exp(mean NLL) and its error ppl * sqrt(var(NLL) / (count - 1)).
 *  - strided: Hugging Face's sliding window (docs "Perplexity of fixed-length
 *    models"): windows of n_ctx tokens advancing by stride; each window scores
 *    only the tokens no earlier window scored, with all of the window before
 *    them as context. */
#ifndef PRESSO_EVAL_PERPLEXITY_H
#define PRESSO_EVAL_PERPLEXITY_H

#include <stdbool.h>
#include <stdint.h>

#include "model/llama.h"
#include "model/model.h"

typedef enum { PRESSO_PPL_LLAMACPP, PRESSO_PPL_STRIDED } presso_ppl_protocol;

typedef struct {
    presso_ppl_protocol protocol;
    int32_t n_ctx;
    int32_t stride;      /* strided only; <= 0: n_ctx / 2 */
    int32_t max_chunks;  /* <= 0: all */
    int n_threads;
    int32_t bos_id;      /* llamacpp: the token every chunk starts with; -1: keep the text's */
    /* Run before every window and never scored (NULL: none): a soft prompt,
     * a prefix, or a hard prompt's tokens. The window keeps n_ctx text
     * tokens; the cache holds prefix + n_ctx. */
    const presso_llama_prefix *prefix;
    /* llamacpp protocol: called for every chunk with its scored positions'
     * logits [n][vocab] and their targets (NULL: none; a failure stops the
     * run). Saves or compares base log-probabilities (eval/kld.h). */
    presso_status (*on_scored)(void *user, int32_t chunk, const float *logits, int32_t n, int32_t vocab,
                               const int32_t *targets);
    void *scored_user;
    /* Called after every chunk with the running estimate (may be NULL). */
    void (*progress)(void *user, int32_t chunk, int32_t n_chunks, double ppl);
    void *user;
} presso_ppl_params;

typedef struct {
    double ppl, ppl_err;  /* final estimate and its standard error */
    double mean_nll;
    int64_t n_tokens;     /* tokens in the text */
    int64_t n_scored;     /* tokens whose NLL entered the estimate */
    int32_t n_chunks, n_ctx;
    double seconds;
} presso_ppl_result;

presso_status presso_perplexity(const presso_model *m, const int32_t *tokens, int64_t n_tokens,
                                const presso_ppl_params *p, presso_ppl_result *out);

/* Chunks the llamacpp protocol scores in a text of n_tokens: n_tokens / n_ctx,
 * capped by max_chunks when it is > 0. */
int32_t presso_ppl_llamacpp_chunks(int64_t n_tokens, int32_t n_ctx, int32_t max_chunks);

/* Σ_i exp(logits_i − max), accumulated in double as llama.cpp does; *max
 * (and *argmax, the first index holding it, when not NULL) set on return.
 * log softmax(logits)_i = logits_i − max − log(result). */
double presso_logits_sum_exp(const float *logits, int32_t vocab, float *max, int32_t *argmax);

/* -log softmax(logits)[target]. */
double presso_token_nll(const float *logits, int32_t vocab, int32_t target);

#endif
