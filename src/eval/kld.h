/* KL divergence of a model's next-token distributions from a base model's,
 * as llama.cpp's llama-perplexity measures it (--kl-divergence-base FILE to
 * save the base's, then --kl-divergence to compare): a far less noisy
 * measure of what quantization costs than the difference of two
 * perplexities, because every token is compared with itself.
 *
 * The base file is llama.cpp's own format (tools/perplexity/perplexity.cpp),
 * so presso reads the files llama-perplexity writes and the other way round:
 *   "_logits_"                      8 bytes
 *   n_ctx, n_vocab, n_chunk         int32 each, little-endian
 *   tokens                          int32 [n_chunk * n_ctx] (the text's, before BOS replaces the first)
 *   per chunk, per scored position  (n_ctx - 1 - n_ctx/2 of them, the llamacpp protocol's)
 *     scale, min_log_prob           2 float32 (4 uint16 slots)
 *     log-probs                     uint16 [nv - 4], nv = 2*((n_vocab+1)/2) + 4:
 *                                   log p_i ≈ scale * q_i + min_log_prob, 0 for
 *                                   logits more than 16 below the maximum
 * Per scored token the comparison accumulates (llama.cpp's log_softmax with a base):
 *   KL(P_base ‖ P) = Σ_i p_base,i (log p_base,i − log p_i)   over log p_base,i > −16
 *   NLL of the target under both, Δp = p(target) − p_base(target), top-token agreement. */
#ifndef PRESSO_EVAL_KLD_H
#define PRESSO_EVAL_KLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/mapped_file.h"
#include "presso.h"

/* uint16 slots one scored position takes in the file. */
int64_t presso_kld_record_slots(int32_t n_vocab);

/* Fills record[presso_kld_record_slots(vocab)] from one position's logits
 * (llama.cpp's compression) and returns −log p(target). */
double presso_kld_compress(const float *logits, int32_t vocab, int32_t target, uint16_t *record);

/* ---- writing a base file (path.tmp, renamed over path when complete) ---- */
typedef struct {
    FILE *f;
    char *path, *tmp;
    int32_t n_vocab;
    uint16_t *record;
} presso_kld_writer;

presso_status presso_kld_writer_open(presso_kld_writer *w, const char *path, int32_t n_ctx, int32_t n_vocab,
                                     int32_t n_chunk, const int32_t *tokens);
/* Appends n positions' records (logits [n][n_vocab], targets [n]). */
presso_status presso_kld_writer_add(presso_kld_writer *w, const float *logits, int32_t n, const int32_t *targets);
/* Renames the finished file into place (st == PRESSO_OK) or removes it; frees w. */
presso_status presso_kld_writer_close(presso_kld_writer *w, presso_status st);

/* ---- reading one ---- */
typedef struct {
    presso_mapped_file file;
    bool owns_file; /* mapped by presso_kld_base_open (unmapped on close); false: the caller's buffer */
    int32_t n_ctx, n_vocab, n_chunk;
    const uint8_t *tokens;  /* int32 [n_chunk * n_ctx], unaligned */
    const uint8_t *records; /* chunk-major, presso_kld_record_slots(n_vocab) uint16 each */
} presso_kld_base;

/* Maps path and checks its header and size (names the file and the problem). */
presso_status presso_kld_base_open(const char *path, presso_kld_base *b);
/* The same checks on bytes in memory (kept by the caller while b is used); name is for messages. */
presso_status presso_kld_base_open_buffer(const uint8_t *data, size_t size, const char *name, presso_kld_base *b);
void presso_kld_base_close(presso_kld_base *b);
int32_t presso_kld_base_token(const presso_kld_base *b, int64_t i);
/* All the file's tokens, checked against a model's vocabulary (its size
 * must be the file's); *ids malloc'd. name is for messages. */
presso_status presso_kld_base_tokens(const presso_kld_base *b, const char *name, int32_t vocab, int32_t **ids,
                                     int64_t *n_ids);
/* Positions scored per chunk (n_ctx - 1 - n_ctx/2). */
int32_t presso_kld_scored_per_chunk(int32_t n_ctx);

/* ---- comparing ---- */
typedef struct {
    double sum_nll, sum_nll2, sum_nll_base, sum_nll_base2, sum_nll_nll_base;
    double sum_kld, sum_kld2, sum_p_diff, sum_p_diff2, sum_p_diff4;
    double max_p_diff;
    int64_t n_same_top, count;
    float *kld_values; /* per token, for the percentiles */
    int64_t cap;
} presso_kld_acc;

presso_status presso_kld_acc_init(presso_kld_acc *a, int64_t capacity);
void presso_kld_acc_free(presso_kld_acc *a);
/* One position: the model's logits, the base's record for it, the target. */
void presso_kld_add(presso_kld_acc *a, const float *logits, int32_t vocab, const uint8_t *base_record, int32_t target);

typedef struct {
    double ppl, ppl_err, ppl_base, ppl_base_err;
    double ln_ratio, ln_ratio_err;   /* mean ln(PPL(Q)/PPL(base)) and its paired uncertainty */
    double ppl_diff, ppl_diff_err;   /* PPL(Q) − PPL(base), paired */
    double kld, kld_err, kld_median, kld_p99, kld_p999, kld_max;
    double p_diff, p_diff_err, p_diff_rms, p_diff_rms_err;
    double same_top, same_top_err;   /* fraction */
    int64_t count;
} presso_kld_summary;

/* llama-perplexity's statistics (sorts the per-token values). */
void presso_kld_summarize(presso_kld_acc *a, presso_kld_summary *s);

#endif
