/* Compress, Then Prompt (Xu et al. 2023): trains a soft prompt (or a
 * per-layer prefix) on a frozen — typically compressed — model so that it
 * wins back the quality compression cost. Only the prompt's k vectors are
 * learned, with AdamW (warm-up + cosine decay, gradient clipping) on
 * mini-batches of calibration windows; the loss is next-token cross-entropy
 * on the text tokens, distillation from the uncompressed teacher's logits
 * computed on the fly, or a mix. Deterministic for a seed at a fixed thread
 * count. The teacher's logits of the training windows' scored rows
 * (loss_from..) are computed once and kept in memory when they fit 512 MiB,
 * else recomputed each time. The forward rounds activations to 8 bits where
 * inference does (presso_grad_set_act_rounding), so the prompt is trained on
 * the function it will run through. */
#ifndef PRESSO_TUNE_TUNE_H
#define PRESSO_TUNE_TUNE_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/calib.h"
#include "model/model.h"
#include "tune/loss.h"
#include "tune/prompt.h"

typedef struct {
    int32_t step, steps;
    bool is_eval;          /* an evaluation line, not a training step */
    double loss, lr, grad_norm;
    double tokens_per_s, eta_s;
    double eval_loss, eval_ppl; /* is_eval: mean CE of the second halves of the held-out windows, and its exp */
    bool improved;              /* is_eval: a new best (the kept prompt) */
} presso_tune_progress;

typedef struct {
    presso_prompt_mode mode;
    int32_t k;             /* virtual tokens, 1..PRESSO_PROMPT_MAX_K */
    int32_t steps, batch;  /* optimizer steps; sequences per step */
    int32_t warmup;        /* linear warm-up steps (< steps) */
    int32_t loss_from;     /* first window position whose next-token prediction enters the loss (0: all;
                              seq_len/2: the half llama-perplexity scores) */
    float lr, min_lr_frac, weight_decay, clip;
    presso_loss_kind loss;
    float kd_weight;                /* mix: w of (1 − w)·CE + w·KL */
    const presso_model *teacher;    /* KD and mix; same vocabulary */
    const int32_t *init_tokens;     /* NULL: k random vocabulary rows (seeded); else cycled to k tokens */
    int32_t n_init_tokens;
    const presso_calib_set *train;  /* windows of seq_len tokens */
    const presso_calib_set *eval;   /* held-out windows (NULL: no evaluation) */
    int32_t eval_every, patience;   /* patience 0: never stop early */
    uint64_t seed;
    int n_threads;
    void (*progress)(void *user, const presso_tune_progress *p);
    void *user;
} presso_tune_params;

typedef struct {
    int32_t steps_done, best_step;
    bool early_stopped;
    double final_loss;                   /* mean loss of the last step */
    double base_eval_loss;               /* held-out loss without any prompt */
    double initial_eval_loss, best_eval_loss; /* NAN without evaluation */
    double seconds, tokens_per_s;        /* training text tokens (student forwards) per second */
    int64_t tokens_seen;
} presso_tune_result;

/* Trains a prompt on m (frozen); *out receives the best prompt (by held-out
 * loss when evaluating, else the last). */
presso_status presso_tune_prompt(const presso_model *m, const presso_tune_params *p, presso_prompt **out,
                                 presso_tune_result *result);

/* Mean next-token CE of the second half of each window of c (the tokens
 * llama-perplexity scores, with at least half a window of context) with
 * prompt p (NULL: none) in front, through the gradient forward. The
 * held-out loss of training is this. */
presso_status presso_tune_eval_loss(const presso_model *m, const presso_prompt *p, const presso_calib_set *c,
                                    int n_threads, double *loss);

#endif
