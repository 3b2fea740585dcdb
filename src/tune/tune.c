#include "tune/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "model/llama.h"
#include "model/llama_grad.h"
#include "tune/adamw.h"

/* Buffers of one training run, sized for one sequence of L tokens after k
 * prompt rows. */
typedef struct {
    const presso_model *m;
    int32_t L, k;
    int32_t loss_from; /* the teacher cache holds rows loss_from..L-1 of each window */
    presso_grad_state *g;
    presso_llama_state *teacher; /* NULL without distillation */
    float *x, *dx, *logits, *tlogits, *dlogits, *grad, *work;
    /* The teacher's logits of every training window, computed once, when
     * they fit PRESSO_TUNE_TEACHER_CACHE_BYTES (else on the fly each time). */
    float *tcache;
    bool *tcached;
    int32_t n_cache;
} run_ctx;

#define PRESSO_TUNE_TEACHER_CACHE_BYTES ((int64_t)512 << 20)

static void run_free(run_ctx *r) {
    presso_grad_state_free(r->g);
    presso_llama_state_free(r->teacher);
    free(r->x);
    free(r->dx);
    free(r->logits);
    free(r->tlogits);
    free(r->dlogits);
    free(r->grad);
    free(r->work);
    free(r->tcache);
    free(r->tcached);
}

static presso_status run_init(run_ctx *r, const presso_model *m, const presso_model *teacher, presso_prompt_mode mode,
                              int32_t k, int32_t L, int32_t loss_from, int64_t n_params, int32_t n_windows,
                              int n_threads) {
    memset(r, 0, sizeof *r);
    r->m = m;
    r->L = L;
    r->k = k;
    r->loss_from = loss_from;
    const int64_t dim = m->config.dim, V = m->config.vocab_size;
    const int32_t rows = mode == PRESSO_PROMPT_MODE_PROMPT ? k + L : (L > k ? L : k);
    const int32_t prefix = mode == PRESSO_PROMPT_MODE_PREFIX ? k : 0;
    presso_status st = presso_grad_state_new(m, rows, prefix, n_threads, &r->g);
    if (st == PRESSO_OK && teacher) st = presso_llama_state_new(teacher, L, L, n_threads, &r->teacher);
    if (st != PRESSO_OK) {
        run_free(r);
        return st;
    }
    /* Train on the function inference runs: on Q4_0 (and other block types
     * with an integer-dot route) presso_llama_forward rounds each linear's
     * input to 8 bits; the float forward would be a slightly different model. */
    presso_grad_set_act_rounding(r->g, true);
    r->x = malloc(sizeof(float) * (size_t)(rows * dim));
    r->dx = malloc(sizeof(float) * (size_t)(rows * dim));
    r->logits = malloc(sizeof(float) * (size_t)(L * V));
    r->tlogits = teacher ? malloc(sizeof(float) * (size_t)(L * V)) : NULL;
    r->dlogits = malloc(sizeof(float) * (size_t)(L * V));
    r->grad = calloc((size_t)(n_params > 0 ? n_params : 1), sizeof(float));
    r->work = malloc(sizeof(float) * (size_t)(2 * V));
    const int64_t cached_rows = L - loss_from;
    if (teacher && n_windows > 0 &&
        (int64_t)n_windows * cached_rows * V * (int64_t)sizeof(float) <= PRESSO_TUNE_TEACHER_CACHE_BYTES) {
        r->tcache = malloc(sizeof(float) * (size_t)n_windows * (size_t)(cached_rows * V));
        r->tcached = calloc((size_t)n_windows, sizeof(bool));
        r->n_cache = r->tcache && r->tcached ? n_windows : 0; /* no room: compute on the fly */
    }
    if (!r->x || !r->dx || !r->logits || (teacher && !r->tlogits) || !r->dlogits || !r->grad || !r->work) {
        run_free(r);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for training buffers (%d tokens)", L);
    }
    return PRESSO_OK;
}

/* Loss of one window seq [L] with prompt pr (NULL: none) in front; with
 * want_grad, adds scale·∂loss/∂prompt into r->grad. Returns the summed
 * per-token loss and the number of scored tokens (targets
 * seq[first_scored+1..L-1]). Only the scored rows' logits are computed, by
 * the student and the teacher alike (the output projection is a third of
 * this model's forward). */
static presso_status seq_loss(run_ctx *r, const presso_prompt *pr, const int32_t *seq, int32_t window, int32_t L,
                              int32_t first_scored,
                              presso_loss_kind kind, float kd_weight, bool want_grad, float scale, double *sum,
                              int64_t *count) {
    const presso_model *m = r->m;
    const int64_t dim = m->config.dim, V = m->config.vocab_size;
    const bool prompt = pr && pr->mode == PRESSO_PROMPT_MODE_PROMPT, prefix = pr && pr->mode == PRESSO_PROMPT_MODE_PREFIX;
    const int32_t k = prompt ? pr->k : 0, n_pre = prefix ? pr->k : 0, f = first_scored;
    if (prompt) memcpy(r->x, pr->data, sizeof(float) * (size_t)(k * dim));
    presso_llama_embed(m, seq, L, r->x + (int64_t)k * dim);
    const float *pre_k = prefix ? pr->data : NULL;
    const float *pre_v = prefix ? pr->data + (int64_t)pr->n_layers * pr->k * pr->kv_dim : NULL;
    /* logits row i is window position f + i */
    PRESSO_TRY(presso_grad_forward(r->g, r->x, k + L, pre_k, pre_v, n_pre, r->logits, k + f));
    const bool need_teacher = kind != PRESSO_LOSS_CE;
    const float *tl = r->tlogits;
    if (need_teacher) {
        if (!r->teacher) return presso_fail(PRESSO_ERR_INVALID_ARG, "loss %s needs a teacher model", presso_loss_name(kind));
        /* the cache holds rows loss_from..L-1; a window scored from elsewhere (evaluation) is computed */
        const bool cacheable = window >= 0 && window < r->n_cache && f == r->loss_from;
        if (cacheable) tl = r->tcache + (int64_t)window * (L - f) * V;
        if (!cacheable || !r->tcached[window]) {
            presso_llama_state_reset(r->teacher);
            PRESSO_TRY(presso_llama_forward(r->teacher, seq, L, (float *)tl, f));
            if (cacheable) r->tcached[window] = true;
        }
    }
    for (int32_t j = f; j + 1 < L; j++) {
        const int64_t row = (int64_t)(j - f) * V;
        *sum += presso_loss_row(kind, kd_weight, r->logits + row, need_teacher ? tl + row : NULL, seq[j + 1],
                                (int32_t)V, scale, want_grad ? r->dlogits + row : NULL, r->work);
        (*count)++;
    }
    if (!want_grad) return PRESSO_OK;
    memset(r->dlogits + (int64_t)(L - 1 - f) * V, 0, sizeof(float) * (size_t)V); /* the last row has no target */
    if (prompt) {
        PRESSO_TRY(presso_grad_backward(r->g, r->dlogits, r->dx, NULL, NULL));
        for (int64_t i = 0; i < (int64_t)k * dim; i++) r->grad[i] += r->dx[i];
    } else if (prefix) {
        const int64_t half = (int64_t)pr->n_layers * pr->k * pr->kv_dim;
        PRESSO_TRY(presso_grad_backward(r->g, r->dlogits, NULL, r->grad, r->grad + half));
    }
    return PRESSO_OK;
}

static presso_status eval_windows(run_ctx *r, const presso_prompt *pr, const presso_calib_set *c, double *loss) {
    double sum = 0.0;
    int64_t count = 0;
    for (int32_t i = 0; i < c->n_seqs; i++)
        PRESSO_TRY(seq_loss(r, pr, c->tokens + (int64_t)i * c->seq_len, -1, c->seq_len, c->seq_len / 2, PRESSO_LOSS_CE,
                            0.0f, false, 1.0f, &sum, &count));
    *loss = count ? sum / (double)count : NAN;
    return PRESSO_OK;
}

presso_status presso_tune_eval_loss(const presso_model *m, const presso_prompt *p, const presso_calib_set *c,
                                    int n_threads, double *loss) {
    if (p) PRESSO_TRY(presso_prompt_check(p, m, "prompt"));
    run_ctx r;
    PRESSO_TRY(run_init(&r, m, NULL, p ? p->mode : PRESSO_PROMPT_MODE_PROMPT, p ? p->k : 0, c->seq_len, 0, 0, 0,
                        n_threads));
    presso_status st = eval_windows(&r, p, c, loss);
    run_free(&r);
    return st;
}

/* The prompt's starting point: the embeddings (prompt) or the keys/values
 * (prefix, as the model computes them for those tokens at positions 0..k-1)
 * of k vocabulary tokens — random ones from the seed, or a text's. */
static presso_status init_prompt(run_ctx *r, const presso_tune_params *p, presso_prompt *pr) {
    const presso_model *m = r->m;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)p->k);
    if (!ids) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    presso_rng rng;
    presso_rng_seed(&rng, p->seed);
    for (int32_t i = 0; i < p->k; i++)
        ids[i] = p->init_tokens && p->n_init_tokens > 0 ? p->init_tokens[i % p->n_init_tokens]
                                                         : (int32_t)(presso_rng_u32(&rng) % (uint32_t)m->config.vocab_size);
    presso_status st = PRESSO_OK;
    for (int32_t i = 0; i < p->k && st == PRESSO_OK; i++)
        if (ids[i] < 0 || ids[i] >= m->config.vocab_size)
            st = presso_fail(PRESSO_ERR_INVALID_ARG, "init token %d outside the vocabulary", ids[i]);
    if (st == PRESSO_OK && pr->mode == PRESSO_PROMPT_MODE_PROMPT) {
        presso_llama_embed(m, ids, p->k, pr->data);
    } else if (st == PRESSO_OK) {
        presso_llama_embed(m, ids, p->k, r->x);
        st = presso_grad_forward(r->g, r->x, p->k, NULL, NULL, 0, NULL, p->k);
        const int64_t kv = (int64_t)pr->k * pr->kv_dim, half = (int64_t)pr->n_layers * kv;
        for (int32_t l = 0; l < pr->n_layers && st == PRESSO_OK; l++) {
            const float *keys, *values;
            presso_grad_layer_kv(r->g, l, &keys, &values);
            memcpy(pr->data + l * kv, keys, sizeof(float) * (size_t)kv);
            memcpy(pr->data + half + l * kv, values, sizeof(float) * (size_t)kv);
        }
    }
    free(ids);
    return st;
}

static presso_status check_params(const presso_model *m, const presso_tune_params *p) {
    if (p->k < 1 || p->k > PRESSO_PROMPT_MAX_K)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%d prompt vectors (1..%d)", p->k, PRESSO_PROMPT_MAX_K);
    if (p->steps < 1 || p->batch < 1 || p->warmup < 0 || p->warmup >= p->steps)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "steps %d, batch %d, warm-up %d (need steps >= 1, batch >= 1, "
                           "0 <= warm-up < steps)", p->steps, p->batch, p->warmup);
    if (!(p->lr > 0) || !(p->weight_decay >= 0) || !(p->min_lr_frac >= 0 && p->min_lr_frac <= 1))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "lr %g, weight decay %g, min lr fraction %g out of range", p->lr,
                           p->weight_decay, p->min_lr_frac);
    if (!p->train || p->train->n_seqs < 1 || p->train->seq_len < 2)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "no training windows of at least 2 tokens");
    if (p->loss_from < 0 || p->loss_from > p->train->seq_len - 2)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "loss from position %d: windows of %d tokens score 0..%d",
                           p->loss_from, p->train->seq_len, p->train->seq_len - 2);
    if (p->eval && p->eval->seq_len != p->train->seq_len)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "held-out windows of %d tokens, training windows of %d",
                           p->eval->seq_len, p->train->seq_len);
    if (p->loss != PRESSO_LOSS_CE && !p->teacher)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "loss %s needs a teacher model", presso_loss_name(p->loss));
    if (p->loss == PRESSO_LOSS_MIX && !(p->kd_weight >= 0 && p->kd_weight <= 1))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "kd weight %g outside 0..1", p->kd_weight);
    if (p->teacher && p->teacher->config.vocab_size != m->config.vocab_size)
        return presso_fail(PRESSO_ERR_SHAPE, "teacher %s has %d tokens, the model %d", p->teacher->path,
                           p->teacher->config.vocab_size, m->config.vocab_size);
    const int64_t ctx = (int64_t)p->k + p->train->seq_len;
    if (ctx > m->config.max_seq_len)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%d prompt vectors + %d tokens exceed the model's context %d",
                           p->k, p->train->seq_len, m->config.max_seq_len);
    return PRESSO_OK;
}

presso_status presso_tune_prompt(const presso_model *m, const presso_tune_params *p, presso_prompt **out,
                                 presso_tune_result *res) {
    *out = NULL;
    memset(res, 0, sizeof *res);
    res->base_eval_loss = res->initial_eval_loss = res->best_eval_loss = NAN;
    PRESSO_TRY(check_params(m, p));
    presso_prompt *pr = NULL, *best = NULL;
    PRESSO_TRY(presso_prompt_new(m, p->mode, p->k, &pr));
    const int64_t n_params = pr->n_floats;
    const presso_calib_set *train = p->train;
    const int32_t L = train->seq_len;
    run_ctx r;
    presso_status st = run_init(&r, m, p->loss != PRESSO_LOSS_CE ? p->teacher : NULL, p->mode, p->k, L, p->loss_from,
                                n_params, train->n_seqs, p->n_threads);
    if (st != PRESSO_OK) {
        presso_prompt_free(pr);
        return st;
    }
    presso_adamw opt = {0};
    int32_t *order = malloc(sizeof(int32_t) * (size_t)train->n_seqs);
    if (!order) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    if (st == PRESSO_OK) st = presso_adamw_init(&opt, n_params, p->weight_decay);
    if (st == PRESSO_OK) st = init_prompt(&r, p, pr);
    if (st == PRESSO_OK) st = presso_prompt_new(m, p->mode, p->k, &best);
    presso_rng rng;
    presso_rng_seed(&rng, p->seed ^ 0x5DEECE66Dull);
    int32_t cursor = train->n_seqs; /* reshuffle before the first batch */
    const bool evaluating = p->eval && p->eval->n_seqs > 0 && p->eval_every > 0;
    int32_t evals_without_gain = 0;
    double train_seconds = 0.0;
    if (st == PRESSO_OK) memcpy(best->data, pr->data, sizeof(float) * (size_t)n_params);
    if (st == PRESSO_OK && evaluating) {
        st = eval_windows(&r, NULL, p->eval, &res->base_eval_loss);
        if (st == PRESSO_OK) st = eval_windows(&r, pr, p->eval, &res->initial_eval_loss);
        res->best_eval_loss = res->initial_eval_loss;
        if (st == PRESSO_OK && p->progress) {
            presso_tune_progress pg = {.step = 0, .steps = p->steps, .is_eval = true,
                                       .eval_loss = res->initial_eval_loss, .eval_ppl = exp(res->initial_eval_loss),
                                       .improved = true};
            p->progress(p->user, &pg);
        }
    }
    for (int32_t step = 0; step < p->steps && st == PRESSO_OK; step++) {
        const double t0 = presso_now_seconds();
        memset(r.grad, 0, sizeof(float) * (size_t)n_params);
        double sum = 0.0;
        int64_t count = 0;
        const float scale = 1.0f / (float)((int64_t)p->batch * (L - 1 - p->loss_from));
        for (int32_t b = 0; b < p->batch && st == PRESSO_OK; b++) {
            if (cursor >= train->n_seqs) { /* a new epoch: Fisher-Yates shuffle from the seed */
                for (int32_t i = 0; i < train->n_seqs; i++) order[i] = i;
                for (int32_t i = train->n_seqs - 1; i > 0; i--) {
                    const int32_t j = (int32_t)(presso_rng_u32(&rng) % (uint32_t)(i + 1)), t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
                cursor = 0;
            }
            const int32_t w = order[cursor++];
            st = seq_loss(&r, pr, train->tokens + (int64_t)w * L, w, L, p->loss_from, p->loss, p->kd_weight, true,
                          scale, &sum, &count);
        }
        if (st != PRESSO_OK) break;
        const double gnorm = presso_clip_grad_norm(r.grad, n_params, p->clip);
        const float lr = presso_lr_at(step, p->steps, p->warmup, p->lr, p->min_lr_frac);
        presso_adamw_step(&opt, pr->data, r.grad, lr);
        train_seconds += presso_now_seconds() - t0;
        res->steps_done = step + 1;
        res->final_loss = sum / (double)count;
        res->tokens_seen += (int64_t)p->batch * L;
        if (!isfinite(res->final_loss)) {
            st = presso_fail(PRESSO_ERR_INTERNAL, "the loss is not finite at step %d (lr %g too high?)", step + 1, lr);
            break;
        }
        if (p->progress) {
            const double tps = train_seconds > 0 ? (double)res->tokens_seen / train_seconds : 0.0;
            presso_tune_progress pg = {.step = step + 1, .steps = p->steps, .loss = res->final_loss, .lr = lr,
                                       .grad_norm = gnorm, .tokens_per_s = tps,
                                       .eta_s = tps > 0 ? (double)(p->steps - step - 1) * p->batch * L / tps : 0.0};
            p->progress(p->user, &pg);
        }
        const bool last = step + 1 == p->steps;
        if (!evaluating) {
            res->best_step = step + 1;
            continue;
        }
        if ((step + 1) % p->eval_every != 0 && !last) continue;
        double el;
        st = eval_windows(&r, pr, p->eval, &el);
        if (st != PRESSO_OK) break;
        const bool improved = el < res->best_eval_loss;
        if (improved) {
            res->best_eval_loss = el;
            res->best_step = step + 1;
            memcpy(best->data, pr->data, sizeof(float) * (size_t)n_params);
            evals_without_gain = 0;
        } else {
            evals_without_gain++;
        }
        if (p->progress) {
            presso_tune_progress pg = {.step = step + 1, .steps = p->steps, .is_eval = true, .eval_loss = el,
                                       .eval_ppl = exp(el), .improved = improved};
            p->progress(p->user, &pg);
        }
        if (p->patience > 0 && evals_without_gain >= p->patience) {
            res->early_stopped = true;
            break;
        }
    }
    res->seconds = train_seconds;
    res->tokens_per_s = train_seconds > 0 ? (double)res->tokens_seen / train_seconds : 0.0;
    free(order);
    presso_adamw_free(&opt);
    run_free(&r);
    if (st != PRESSO_OK) {
        presso_prompt_free(pr);
        presso_prompt_free(best);
        return st;
    }
    /* Without evaluation the last step's prompt is kept; with it, the best. */
    if (!evaluating) memcpy(best->data, pr->data, sizeof(float) * (size_t)n_params);
    presso_prompt_free(pr);
    best->meta.steps = (uint32_t)res->steps_done;
    best->meta.best_step = (uint32_t)res->best_step;
    best->meta.loss = (uint32_t)p->loss;
    best->meta.kd_weight = p->kd_weight;
    best->meta.lr = p->lr;
    best->meta.final_loss = (float)res->final_loss;
    best->meta.best_eval_loss = (float)res->best_eval_loss;
    best->meta.seed = p->seed;
    best->meta.tokens_seen = (uint64_t)res->tokens_seen;
    /* Truncated names are fine: the field is for the record. */
    memcpy(best->meta.model_name, m->name, strnlen(m->name, sizeof best->meta.model_name - 1));
    memcpy(best->meta.calib_sha256, train->sha256, strnlen(train->sha256, sizeof best->meta.calib_sha256 - 1));
    *out = best;
    return PRESSO_OK;
}
