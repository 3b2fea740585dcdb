/* Scoring task items by log-likelihood (the rules are in tasks.h). Each item
 * runs its shared prefix once, then every continuation on top of the cached
 * prefix (presso_llama_state_rewind); items are spread over threads, each
 * with its own single-threaded forward state, so a result does not depend on
 * the thread count. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/timer.h"
#include "eval/perplexity.h"
#include "eval/tasks.h"
#include "model/llama.h"

double presso_task_stderr(double p, int64_t n) { return n > 1 ? sqrt(p * (1.0 - p) / (double)(n - 1)) : 0.0; }

void presso_task_result_free(presso_task_result *r) {
    if (!r) return;
    free(r->pred);
    free(r->pred_norm);
    free(r->greedy);
    free(r->choice_offset);
    free(r->score);
    memset(r, 0, sizeof *r);
}

/* The token sequences of one item: a prefix and one continuation a choice. */
typedef struct {
    int32_t *prefix;
    int64_t n_prefix;
    int32_t **cont;
    int64_t *n_cont;
    int32_t n;
    bool truncated;
} item_tokens;

static void item_tokens_free(item_tokens *it) {
    free(it->prefix);
    for (int32_t j = 0; it->cont && j < it->n; j++) free(it->cont[j]);
    free(it->cont);
    free(it->n_cont);
    memset(it, 0, sizeof *it);
}

static presso_status encode(const presso_tokenizer *tok, const char *a, const char *b, const char *c, bool bos,
                            int32_t **ids, int64_t *n) {
    const size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    presso_status st = presso_tokenizer_encode(tok, s, la + lb + lc, bos, ids, n);
    free(s);
    return st;
}

static presso_status tokenize_item(const presso_model *m, const presso_task_set *t, const presso_task_item *item,
                                   item_tokens *out) {
    const presso_tokenizer *tok = m->tokenizer;
    const bool bos = presso_tokenizer_adds_bos(tok);
    memset(out, 0, sizeof *out);
    out->n = item->n_choices;
    out->cont = calloc((size_t)item->n_choices, sizeof(int32_t *));
    out->n_cont = calloc((size_t)item->n_choices, sizeof(int64_t));
    if (!out->cont || !out->n_cont) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    if (t->kind == PRESSO_TASK_HELLASWAG) {
        /* llama.cpp: tokenize(context + " " + ending) with BOS, then the
         * common prefix of all sequences is evaluated once. */
        int32_t **seq = out->cont;
        int64_t *len = out->n_cont;
        for (int32_t j = 0; j < item->n_choices; j++)
            PRESSO_TRY(encode(tok, item->context, " ", item->choices[j], bos, &seq[j], &len[j]));
        int64_t cp = 0;
        for (;; cp++) {
            bool same = true;
            for (int32_t j = 0; j < item->n_choices && same; j++)
                same = cp < len[j] && seq[j][cp] == seq[0][cp];
            if (!same) break;
        }
        if (cp == 0) return presso_fail(PRESSO_ERR_UNSUPPORTED, "the endings share no first token to predict from");
        out->prefix = malloc(sizeof(int32_t) * (size_t)cp);
        if (!out->prefix) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
        memcpy(out->prefix, seq[0], sizeof(int32_t) * (size_t)cp);
        out->n_prefix = cp;
        for (int32_t j = 0; j < item->n_choices; j++) {
            if (len[j] == cp)
                return presso_fail(PRESSO_ERR_FORMAT, "ending %d adds no token after the common prefix", j);
            memmove(seq[j], seq[j] + cp, sizeof(int32_t) * (size_t)(len[j] - cp));
            len[j] -= cp;
        }
        return PRESSO_OK;
    }
    /* lm-eval _encode_pair: trailing white space of the context goes to the
     * continuation; the continuation's tokens are tok(ctx + cont)[len(tok(ctx)):]. */
    size_t n_ctx = strlen(item->context);
    while (n_ctx > 0 && (item->context[n_ctx - 1] == ' ' || item->context[n_ctx - 1] == '\n' ||
                         item->context[n_ctx - 1] == '\t' || item->context[n_ctx - 1] == '\r'))
        n_ctx--;
    char *ctx = malloc(n_ctx + 1), *moved = malloc(strlen(item->context) - n_ctx + 2);
    presso_status st = PRESSO_OK;
    if (!ctx || !moved) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    if (st == PRESSO_OK) {
        memcpy(ctx, item->context, n_ctx);
        ctx[n_ctx] = '\0';
        /* mc: " " + choice (lm-eval's default target delimiter); lambada: the target already starts with it. */
        snprintf(moved, strlen(item->context) - n_ctx + 2, "%s%s", item->context + n_ctx,
                 t->kind == PRESSO_TASK_MC ? " " : "");
        st = encode(tok, ctx, "", "", bos, &out->prefix, &out->n_prefix);
    }
    /* Where tok(ctx + cont) departs from tok(ctx) before len(tok(ctx)) (a
     * tokenizer whose tokens carry the following space, as tinystories-656k's,
     * merges the context's last word with the continuation), all choices are
     * scored from the earliest departure, so they share one context; lm-eval
     * would score an empty or shifted continuation there. */
    int64_t shared = out->n_prefix;
    for (int32_t j = 0; st == PRESSO_OK && j < item->n_choices; j++) {
        st = encode(tok, ctx, moved, item->choices[j], bos, &out->cont[j], &out->n_cont[j]);
        int64_t k = 0;
        while (st == PRESSO_OK && k < shared && k < out->n_cont[j] && out->cont[j][k] == out->prefix[k]) k++;
        shared = k;
    }
    if (st == PRESSO_OK && shared == 0)
        st = presso_fail(PRESSO_ERR_FORMAT, "the context has no tokens before the continuations (and no BOS)");
    for (int32_t j = 0; st == PRESSO_OK && j < item->n_choices; j++) {
        if (out->n_cont[j] <= shared) {
            st = presso_fail(PRESSO_ERR_FORMAT, "choice %d adds no token to the context", j);
            break;
        }
        out->n_cont[j] -= shared;
        memmove(out->cont[j], out->cont[j] + shared, sizeof(int32_t) * (size_t)out->n_cont[j]);
    }
    out->n_prefix = shared;
    free(ctx);
    free(moved);
    return st;
}

/* Per-thread scoring resources. */
typedef struct {
    presso_llama_state *s;
    float *first;   /* [vocab]: logits after the prefix */
    float *logits;  /* [cap][vocab] */
    int64_t cap;
} worker;

typedef struct {
    double score, norm_score;
    bool greedy;
} choice_score;

static int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static presso_status score_item(const presso_model *m, const presso_task_set *t, const presso_task_item *item,
                                int32_t n_ctx, const presso_llama_prefix *prompt, worker *w, choice_score *cs,
                                bool *truncated, int64_t *n_tokens) {
    const int32_t n_prompt = presso_llama_prefix_len(prompt);
    item_tokens it;
    presso_status st = tokenize_item(m, t, item, &it);
    const int32_t vocab = m->config.vocab_size;
    int64_t longest = 0;
    for (int32_t j = 0; st == PRESSO_OK && j < it.n; j++)
        if (it.n_cont[j] > longest) longest = it.n_cont[j];
    /* The prefix and a continuation but its last token must fit the cache;
     * as lm-eval, a context too long loses its leftmost tokens. */
    int64_t drop = it.n_prefix + longest - 1 - n_ctx;
    if (st == PRESSO_OK && drop > 0) {
        if (drop >= it.n_prefix)
            st = presso_fail(PRESSO_ERR_UNSUPPORTED, "a continuation of %lld tokens leaves no context in %d positions",
                             (long long)longest, n_ctx);
        else {
            memmove(it.prefix, it.prefix + drop, sizeof(int32_t) * (size_t)(it.n_prefix - drop));
            it.n_prefix -= drop;
            *truncated = true;
        }
    }
    if (st == PRESSO_OK && longest - 1 > w->cap) {
        float *grown = realloc(w->logits, sizeof(float) * (size_t)(longest - 1) * (size_t)vocab);
        if (!grown) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory for %lld x %d logits", (long long)longest, vocab);
        else {
            w->logits = grown;
            w->cap = longest - 1;
        }
    }
    if (st == PRESSO_OK) {
        st = presso_llama_apply_prefix(w->s, prompt); /* resets the cache first */
        if (st == PRESSO_OK)
            st = presso_llama_forward(w->s, it.prefix, (int32_t)it.n_prefix, w->first, (int32_t)it.n_prefix - 1);
        *n_tokens += it.n_prefix;
    }
    for (int32_t j = 0; st == PRESSO_OK && j < it.n; j++) {
        const int64_t n = it.n_cont[j];
        st = presso_llama_state_rewind(w->s, n_prompt + (int32_t)it.n_prefix);
        if (st == PRESSO_OK && n > 1) {
            st = presso_llama_forward(w->s, it.cont[j], (int32_t)(n - 1), w->logits, 0);
            *n_tokens += n - 1;
        }
        double sum = 0;
        bool greedy = true;
        for (int64_t k = 0; st == PRESSO_OK && k < n; k++) {
            const float *lg = k == 0 ? w->first : w->logits + (k - 1) * vocab;
            sum -= presso_token_nll(lg, vocab, it.cont[j][k]);
            greedy = greedy && argmax(lg, vocab) == it.cont[j][k];
        }
        /* hellaswag: llama.cpp averages over the ending's tokens; lm-eval sums. */
        cs[j].score = t->kind == PRESSO_TASK_HELLASWAG ? sum / (double)n : sum;
        cs[j].norm_score = sum / (double)strlen(item->choices[j]);
        cs[j].greedy = greedy;
    }
    item_tokens_free(&it);
    return st;
}

presso_status presso_task_eval(const presso_model *m, const presso_task_set *t, const presso_task_params *p,
                               presso_task_result *out) {
    memset(out, 0, sizeof *out);
    if (!m->tokenizer) return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: the model has no tokenizer", m->path);
    if (t->n_items <= 0) return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: no items to score", t->path);
    if (p->n_ctx < 2) return presso_fail(PRESSO_ERR_INVALID_ARG, "context %d must be at least 2", p->n_ctx);
    const int64_t n = t->n_items;
    int n_threads = p->n_threads > 0 ? p->n_threads : 1;
    if (n_threads > n) n_threads = (int)n;
    out->pred = malloc(sizeof(int32_t) * (size_t)n);
    out->pred_norm = malloc(sizeof(int32_t) * (size_t)n);
    out->greedy = calloc((size_t)n, sizeof(bool));
    out->choice_offset = malloc(sizeof(int64_t) * (size_t)(n + 1));
    bool *truncated = calloc((size_t)n, sizeof(bool));
    worker *workers = calloc((size_t)n_threads, sizeof(worker));
    presso_status st = PRESSO_OK;
    if (!out->pred || !out->pred_norm || !out->greedy || !out->choice_offset || !truncated || !workers)
        st = presso_fail(PRESSO_ERR_NOMEM, "out of memory for %lld items", (long long)n);
    int32_t max_choices = 1;
    if (st == PRESSO_OK) {
        out->choice_offset[0] = 0;
        for (int64_t i = 0; i < n; i++) {
            out->choice_offset[i + 1] = out->choice_offset[i] + t->items[i].n_choices;
            if (t->items[i].n_choices > max_choices) max_choices = t->items[i].n_choices;
        }
        out->score = malloc(sizeof(double) * (size_t)out->choice_offset[n]);
        if (!out->score) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; st == PRESSO_OK && k < n_threads; k++) {
        st = presso_llama_state_new(m, p->n_ctx + presso_llama_prefix_len(p->prefix), p->n_ctx, 1, &workers[k].s);
        if (st == PRESSO_OK && !(workers[k].first = malloc(sizeof(float) * (size_t)m->config.vocab_size)))
            st = presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    }
    const double t0 = presso_now_seconds();
    int64_t done = 0, correct = 0, n_tokens = 0;
    char failure[1024] = "";
    int failed = 0;
    presso_status fail_status = PRESSO_OK;
    if (st == PRESSO_OK) {
#pragma omp parallel num_threads(n_threads) reduction(+ : n_tokens)
        {
            worker *w = &workers[omp_get_thread_num()];
            choice_score *cs = malloc(sizeof(choice_score) * (size_t)max_choices);
#pragma omp for schedule(dynamic, 1)
            for (int64_t i = 0; i < n; i++) {
                int stop;
#pragma omp atomic read
                stop = failed;
                if (stop) continue;
                const presso_task_item *item = &t->items[i];
                presso_status s = cs ? score_item(m, t, item, p->n_ctx, p->prefix, w, cs, &truncated[i], &n_tokens)
                                     : presso_fail(PRESSO_ERR_NOMEM, "out of memory");
                if (s != PRESSO_OK) {
#pragma omp critical(presso_task_fail)
                    if (!failed) {
                        failed = 1;
                        fail_status = s;
                        snprintf(failure, sizeof failure, "%.400s:%lld: %.500s", t->path, (long long)item->line,
                                 presso_last_error());
                    }
                    continue;
                }
                int32_t best = 0, best_norm = 0;
                for (int32_t j = 0; j < item->n_choices; j++) {
                    out->score[out->choice_offset[i] + j] = cs[j].score;
                    if (cs[j].score > cs[best].score) best = j;
                    if (cs[j].norm_score > cs[best_norm].norm_score) best_norm = j;
                }
                out->pred[i] = best;
                out->pred_norm[i] = best_norm;
                out->greedy[i] = cs[0].greedy;
                const bool right = t->kind == PRESSO_TASK_LAMBADA ? cs[0].greedy : best == item->gold;
#pragma omp critical(presso_task_progress)
                {
                    done++;
                    correct += right;
                    if (p->progress) p->progress(p->user, done, n, (double)correct / (double)done);
                }
            }
            free(cs);
        }
        if (failed) st = presso_fail(fail_status, "%s", failure);
    }
    if (st == PRESSO_OK) {
        int64_t right = 0, right_norm = 0, cut = 0;
        double ll = 0;
        for (int64_t i = 0; i < n; i++) {
            const int32_t gold = t->items[i].gold;
            right += t->kind == PRESSO_TASK_LAMBADA ? out->greedy[i] : out->pred[i] == gold;
            right_norm += out->pred_norm[i] == gold;
            cut += truncated[i];
            ll += out->score[out->choice_offset[i]];
        }
        out->n = n;
        out->acc = (double)right / (double)n;
        out->acc_err = presso_task_stderr(out->acc, n);
        if (t->kind == PRESSO_TASK_MC) {
            out->acc_norm = (double)right_norm / (double)n;
            out->acc_norm_err = presso_task_stderr(out->acc_norm, n);
        }
        if (t->kind == PRESSO_TASK_LAMBADA) out->ppl = exp(-ll / (double)n);
        out->n_truncated = cut;
        out->n_tokens = n_tokens;
        out->seconds = presso_now_seconds() - t0;
    }
    for (int k = 0; workers && k < n_threads; k++) {
        presso_llama_state_free(workers[k].s);
        free(workers[k].first);
        free(workers[k].logits);
    }
    free(workers);
    free(truncated);
    if (st != PRESSO_OK) presso_task_result_free(out);
    return st;
}
