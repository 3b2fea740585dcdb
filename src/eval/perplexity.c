#include "eval/perplexity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/timer.h"
#include "model/llama.h"

int32_t presso_ppl_llamacpp_chunks(int64_t n_tokens, int32_t n_ctx, int32_t max_chunks) {
    const int64_t n = n_ctx > 0 ? n_tokens / n_ctx : 0;
    return (int32_t)(max_chunks > 0 && max_chunks < n ? max_chunks : n);
}

double presso_logits_sum_exp(const float *logits, int32_t vocab, float *max, int32_t *argmax) {
    float m = logits[0];
    int32_t im = 0;
    for (int32_t i = 1; i < vocab; i++)
        if (logits[i] > m) m = logits[i], im = i;
    double sum_exp = 0.0;
    for (int32_t i = 0; i < vocab; i++) sum_exp += expf(logits[i] - m);
    *max = m;
    if (argmax) *argmax = im;
    return sum_exp;
}

double presso_token_nll(const float *logits, int32_t vocab, int32_t target) {
    float max;
    const double sum_exp = presso_logits_sum_exp(logits, vocab, &max, NULL);
    return -((double)(logits[target] - max) - log(sum_exp));
}

typedef struct {
    double nll, nll2;
    int64_t count;
} nll_sums;

static void add_nll(nll_sums *acc, double nll) {
    acc->nll += nll;
    acc->nll2 += nll * nll;
    acc->count++;
}

/* Runs window[0..n) after the n_prefix cached prefix positions (0: from an
 * empty cache) and scores targets window[j+1] for j in [first, n-1) from the
 * logits at j. */
static presso_status score_window(presso_llama_state *s, int32_t n_prefix, const int32_t *window, int32_t n,
                                  int32_t first, float *logits, int32_t vocab, nll_sums *acc) {
    PRESSO_TRY(presso_llama_state_rewind(s, n_prefix));
    PRESSO_TRY(presso_llama_forward(s, window, n, logits, first));
    for (int32_t j = first; j < n - 1; j++)
        add_nll(acc, presso_token_nll(logits + (int64_t)(j - first) * vocab, vocab, window[j + 1]));
    return PRESSO_OK;
}

static void finish(const nll_sums *acc, presso_ppl_result *out) {
    const double mean = acc->nll / (double)acc->count;
    double var = acc->nll2 / (double)acc->count - mean * mean;
    out->mean_nll = mean;
    out->ppl = exp(mean);
    out->ppl_err = var > 0 && acc->count > 1 ? out->ppl * sqrt(var / (double)(acc->count - 1)) : 0.0;
    out->n_scored = acc->count;
}

presso_status presso_perplexity(const presso_model *m, const int32_t *tokens, int64_t n_tokens,
                                const presso_ppl_params *p, presso_ppl_result *out) {
    memset(out, 0, sizeof *out);
    const int32_t n_ctx = p->n_ctx, vocab = m->config.vocab_size;
    if (n_ctx < 2 || n_ctx > 1 << 20)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "context %d must be in 2..1048576", n_ctx);
    if (p->protocol == PRESSO_PPL_LLAMACPP && n_tokens < 2 * (int64_t)n_ctx)
        return presso_fail(PRESSO_ERR_INVALID_ARG,
                           "the text has %lld tokens; the llamacpp protocol needs at least 2*ctx = %d",
                           (long long)n_tokens, 2 * n_ctx);
    if (p->protocol == PRESSO_PPL_STRIDED && n_tokens < 2)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "the text has %lld tokens; nothing to score", (long long)n_tokens);
    const int32_t stride = p->stride > 0 ? p->stride : (n_ctx / 2 > 0 ? n_ctx / 2 : 1);
    if (p->protocol == PRESSO_PPL_STRIDED && stride > n_ctx)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "stride %d exceeds the context %d", stride, n_ctx);

    const int32_t n_prefix = presso_llama_prefix_len(p->prefix);
    if (n_prefix < 0 || (int64_t)n_prefix + n_ctx > 1 << 20)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "a prefix of %d positions before a context of %d", n_prefix, n_ctx);
    presso_llama_state *s = NULL;
    PRESSO_TRY(presso_llama_state_new(m, n_ctx + n_prefix, n_ctx, p->n_threads, &s));
    /* The prefix's cache positions are computed once; every window rewinds to them. */
    presso_status prefix_st = presso_llama_apply_prefix(s, p->prefix);
    if (prefix_st != PRESSO_OK) {
        presso_llama_state_free(s);
        return prefix_st;
    }
    float *logits = malloc(sizeof(float) * (size_t)n_ctx * (size_t)vocab);
    int32_t *window = malloc(sizeof(int32_t) * (size_t)n_ctx);
    if (!logits || !window) {
        free(logits);
        free(window);
        presso_llama_state_free(s);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for %d x %d logits", n_ctx, vocab);
    }
    const double t0 = presso_now_seconds();
    nll_sums acc = {0};
    presso_status st = PRESSO_OK;
    int32_t n_chunks = 0;
    if (p->protocol == PRESSO_PPL_LLAMACPP) {
        n_chunks = presso_ppl_llamacpp_chunks(n_tokens, n_ctx, p->max_chunks);
        for (int32_t c = 0; c < n_chunks && st == PRESSO_OK; c++) {
            memcpy(window, tokens + (int64_t)c * n_ctx, sizeof(int32_t) * (size_t)n_ctx);
            if (p->bos_id >= 0) window[0] = p->bos_id;
            st = score_window(s, n_prefix, window, n_ctx, n_ctx / 2, logits, vocab, &acc);
            if (st == PRESSO_OK && p->on_scored)
                st = p->on_scored(p->scored_user, c, logits, n_ctx - 1 - n_ctx / 2, vocab, window + n_ctx / 2 + 1);
            if (st == PRESSO_OK && p->progress) {
                presso_ppl_result running;
                finish(&acc, &running);
                p->progress(p->user, c + 1, n_chunks, running.ppl);
            }
        }
    } else {
        /* Windows [begin, end) advance by stride; a window scores the targets
         * from prev_end on, so every token after the first is scored once. */
        int64_t prev_end = 0;
        int32_t total = (int32_t)((n_tokens + stride - 1) / stride);
        for (int64_t begin = 0; st == PRESSO_OK; begin += stride) {
            const int64_t end = begin + n_ctx < n_tokens ? begin + n_ctx : n_tokens;
            const int32_t len = (int32_t)(end - begin);
            int64_t first_target = prev_end > begin + 1 ? prev_end : begin + 1;
            const int32_t first = (int32_t)(first_target - 1 - begin);
            st = score_window(s, n_prefix, tokens + begin, len, first, logits, vocab, &acc);
            n_chunks++;
            if (st == PRESSO_OK && p->progress) {
                presso_ppl_result running;
                finish(&acc, &running);
                p->progress(p->user, n_chunks, total, running.ppl);
            }
            prev_end = end;
            if (end == n_tokens || (p->max_chunks > 0 && n_chunks >= p->max_chunks)) break;
        }
    }
    if (st == PRESSO_OK) {
        finish(&acc, out);
        out->n_tokens = n_tokens;
        out->n_chunks = n_chunks;
        out->n_ctx = n_ctx;
        out->seconds = presso_now_seconds() - t0;
    }
    free(logits);
    free(window);
    presso_llama_state_free(s);
    return st;
}
