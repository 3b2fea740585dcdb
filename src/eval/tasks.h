/* Zero-shot task evaluation: a task is a list of items, each a context and
 * several continuations of it, scored by the log-likelihood the model gives
 * each continuation. Three file formats and three scoring rules:
 *
 *  - hellaswag: llama.cpp's 6-line text format (context, gold index, four
 *    endings) scored exactly as `llama-perplexity --hellaswag` does
 *    (tools/perplexity/perplexity.cpp, hellaswag_score): each ending j is
 *    tokenized as tokenize(context + " " + ending_j) with BOS when the
 *    vocabulary adds it; the tokens all four sequences share at the start are
 *    the common prefix; an ending's score is the MEAN log-probability of its
 *    tokens after the common prefix; the prediction is the first argmax.
 *    Tasks are drawn as llama.cpp draws them (tasks_order.c) unless in_order.
 *  - lambada: the OpenAI LAMBADA jsonl ({"text"}); the target is the last
 *    space-separated word with its leading space, the context the text before
 *    it (lm-eval's lambada_openai). Accuracy: greedy decoding reproduces every
 *    target token; perplexity: exp(-mean over passages of the target's summed
 *    log-probability) (lm-eval's "perplexity" aggregation).
 *  - mc: one {"query", "choices", "gold"} object a line; continuation j is
 *    " " + choices[j] (lm-eval's default target delimiter), trailing white
 *    space of the query moves to the continuation (lm-eval _encode_pair);
 *    acc is the argmax of the summed log-probability, acc_norm of the sum
 *    divided by the choice's length in bytes.
 * For lambada and mc, tokens follow lm-eval: ctx = tok(context),
 * whole = tok(context + continuation), the continuation's tokens are
 * whole[len(ctx):] (BOS first when the vocabulary adds it); where whole
 * departs from ctx earlier (a tokenizer merging across the boundary), every
 * choice is scored from the earliest such token. Standard errors
 * are sqrt(p (1 - p) / (n - 1)) (lm-eval's mean_stderr). */
#ifndef PRESSO_EVAL_TASKS_H
#define PRESSO_EVAL_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "model/llama.h"
#include "model/model.h"

typedef enum { PRESSO_TASK_HELLASWAG, PRESSO_TASK_LAMBADA, PRESSO_TASK_MC } presso_task_kind;

typedef struct {
    char *context;       /* hellaswag / mc: the query; lambada: the text before the target */
    char **choices;      /* hellaswag: the endings; mc: the choices; lambada: the target (1) */
    int32_t n_choices;
    int32_t gold;        /* index into choices */
    int64_t line;        /* 1-based line of the item in its file (hellaswag: the context's line) */
} presso_task_item;

typedef struct {
    presso_task_kind kind;
    char name[128];
    char path[4096];
    presso_task_item *items;
    int64_t n_items;
    int64_t n_skipped;            /* malformed lines left out (skip_bad only) */
    int64_t first_skipped_line;   /* 0 when none */
    char first_skipped_why[256];
} presso_task_set;

/* Reads a task file. kind picks the format. skip_bad = false: the first
 * malformed line is an error naming the file and line; true: malformed lines
 * (items) are left out and counted in n_skipped. */
presso_status presso_task_read(presso_task_kind kind, const char *path, const char *name, bool skip_bad,
                               presso_task_set **out);
/* The same from a NUL-terminated buffer (borrowed); `path` names it in errors. */
presso_status presso_task_parse(presso_task_kind kind, const char *text, size_t len, const char *path,
                                const char *name, bool skip_bad, presso_task_set **out);
void presso_task_free(presso_task_set *t);

/* Keeps `limit` items (<= 0: all): the first ones, or for hellaswag without
 * in_order the ones llama-perplexity --hellaswag draws (tasks_order.c). */
presso_status presso_task_select(presso_task_set *t, int64_t limit, bool in_order);

/* The order llama-perplexity --hellaswag visits tasks in: std::mt19937 seeded
 * with 1; for each of n_pick picks, a std::uniform_int_distribution<size_t>
 * (libstdc++) over the tasks not yet picked, the picked one removed.
 * order[i] receives the index of the i-th picked task. */
presso_status presso_task_llamacpp_order(int64_t n_tasks, int64_t n_pick, int64_t *order);

typedef struct {
    int n_threads;   /* items are spread over threads, one forward state each */
    int32_t n_ctx;   /* longest token sequence; longer contexts lose their leftmost tokens */
    void (*progress)(void *user, int64_t done, int64_t total, double acc);
    void *user;
    /* NULL, or a learned prompt / prefix run before every item (CTP); its
     * positions come on top of n_ctx and are never scored. */
    const presso_llama_prefix *prefix;
} presso_task_params;

typedef struct {
    int64_t n;                /* items scored */
    double acc, acc_err;
    double acc_norm, acc_norm_err; /* mc only (else 0) */
    double ppl;               /* lambada only (else 0) */
    int64_t n_truncated;      /* items whose context was cut to fit n_ctx */
    int64_t n_tokens;         /* tokens run through the model */
    double seconds;
    /* Per item (n entries): predictions; per choice (item i's choices start at
     * choice_offset[i]): the score the prediction maximizes (hellaswag: mean
     * log-prob, lambada / mc: summed log-prob). */
    int32_t *pred, *pred_norm;
    bool *greedy;             /* lambada: the target is the greedy continuation */
    int64_t *choice_offset;
    double *score;
} presso_task_result;

presso_status presso_task_eval(const presso_model *m, const presso_task_set *t, const presso_task_params *p,
                               presso_task_result *out);
void presso_task_result_free(presso_task_result *r);

/* Standard error of a proportion p over n items: sqrt(p (1 - p) / (n - 1)). */
double presso_task_stderr(double p, int64_t n);

#endif
