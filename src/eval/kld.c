#include "eval/kld.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "eval/perplexity.h"

static const char kld_magic[8] = {'_', 'l', 'o', 'g', 'i', 't', 's', '_'};
enum { KLD_HEADER_BYTES = 8 + 3 * 4 };

int64_t presso_kld_record_slots(int32_t n_vocab) { return 2 * (((int64_t)n_vocab + 1) / 2) + 4; }

int32_t presso_kld_scored_per_chunk(int32_t n_ctx) { return n_ctx - 1 - n_ctx / 2; }

double presso_kld_compress(const float *logits, int32_t vocab, int32_t target, uint16_t *record) {
    float max_logit, min_logit = logits[0];
    const double sum_exp = presso_logits_sum_exp(logits, vocab, &max_logit, NULL);
    for (int32_t i = 1; i < vocab; i++) min_logit = fminf(min_logit, logits[i]);
    min_logit = fmaxf(min_logit, max_logit - 16.0f);
    const float log_sum_exp = (float)log(sum_exp);
    const float min_log_prob = min_logit - max_logit - log_sum_exp;
    const float scale = (max_logit - min_logit) / 65535.0f;
    memcpy(record, &scale, sizeof scale);
    memcpy(record + 2, &min_log_prob, sizeof min_log_prob);
    uint16_t *q = record + 4;
    const int64_t slots = presso_kld_record_slots(vocab) - 4;
    memset(q, 0, sizeof(uint16_t) * (size_t)slots);
    if (scale > 0.0f) {
        const float inv_scale = 1.0f / scale;
        for (int32_t i = 0; i < vocab; i++)
            q[i] = logits[i] > min_logit ? (uint16_t)lrintf(inv_scale * (logits[i] - min_logit)) : 0;
    }
    return (double)(max_logit + log_sum_exp - logits[target]);
}

/* ---- writer ---- */

static presso_status write_bytes(presso_kld_writer *w, const void *p, size_t n) {
    if (fwrite(p, 1, n, w->f) != n) return presso_fail(PRESSO_ERR_IO, "%s: write failed: %s", w->tmp, strerror(errno));
    return PRESSO_OK;
}

static void put_i32(uint8_t *p, int32_t v) {
    const uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(u >> (8 * i));
}

static int32_t get_i32(const uint8_t *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

presso_status presso_kld_writer_open(presso_kld_writer *w, const char *path, int32_t n_ctx, int32_t n_vocab,
                                     int32_t n_chunk, const int32_t *tokens) {
    memset(w, 0, sizeof *w);
    const size_t plen = strlen(path);
    w->path = malloc(plen + 1);
    w->tmp = malloc(plen + 5);
    w->record = malloc(sizeof(uint16_t) * (size_t)presso_kld_record_slots(n_vocab));
    if (!w->path || !w->tmp || !w->record) {
        free(w->path), free(w->tmp), free(w->record);
        memset(w, 0, sizeof *w);
        return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(w->path, path, plen + 1);
    memcpy(w->tmp, path, plen);
    memcpy(w->tmp + plen, ".tmp", 5);
    w->n_vocab = n_vocab;
    if (!(w->f = fopen(w->tmp, "wb"))) {
        presso_status st = presso_fail(PRESSO_ERR_IO, "%s: cannot create: %s", w->tmp, strerror(errno));
        free(w->path), free(w->tmp), free(w->record);
        memset(w, 0, sizeof *w);
        return st;
    }
    uint8_t head[KLD_HEADER_BYTES];
    memcpy(head, kld_magic, 8);
    put_i32(head + 8, n_ctx);
    put_i32(head + 12, n_vocab);
    put_i32(head + 16, n_chunk);
    presso_status st = write_bytes(w, head, sizeof head);
    uint8_t buf[4 * 1024];
    const int64_t n_tok = (int64_t)n_chunk * n_ctx;
    for (int64_t i = 0; i < n_tok && st == PRESSO_OK;) {
        int64_t k = 0;
        for (; k < (int64_t)sizeof buf / 4 && i < n_tok; k++, i++) put_i32(buf + 4 * k, tokens[i]);
        st = write_bytes(w, buf, (size_t)(4 * k));
    }
    if (st != PRESSO_OK) return presso_kld_writer_close(w, st);
    return PRESSO_OK;
}

presso_status presso_kld_writer_add(presso_kld_writer *w, const float *logits, int32_t n, const int32_t *targets) {
    const int64_t slots = presso_kld_record_slots(w->n_vocab);
    for (int32_t j = 0; j < n; j++) {
        presso_kld_compress(logits + (int64_t)j * w->n_vocab, w->n_vocab, targets[j], w->record);
        /* x86-64 is little-endian, as llama.cpp's files are */
        PRESSO_TRY(write_bytes(w, w->record, sizeof(uint16_t) * (size_t)slots));
    }
    return PRESSO_OK;
}

presso_status presso_kld_writer_close(presso_kld_writer *w, presso_status st) {
    if (w->f) {
        if (st == PRESSO_OK && fflush(w->f) != 0)
            st = presso_fail(PRESSO_ERR_IO, "%s: write failed: %s", w->tmp, strerror(errno));
        if (st == PRESSO_OK && fsync(fileno(w->f)) != 0)
            st = presso_fail(PRESSO_ERR_IO, "%s: fsync failed: %s", w->tmp, strerror(errno));
        if (fclose(w->f) != 0 && st == PRESSO_OK)
            st = presso_fail(PRESSO_ERR_IO, "%s: close failed: %s", w->tmp, strerror(errno));
        if (st == PRESSO_OK && rename(w->tmp, w->path) != 0)
            st = presso_fail(PRESSO_ERR_IO, "%s: cannot rename %s over it: %s", w->path, w->tmp, strerror(errno));
        if (st != PRESSO_OK) unlink(w->tmp);
    }
    free(w->path), free(w->tmp), free(w->record);
    memset(w, 0, sizeof *w);
    return st;
}

/* ---- reader ---- */

presso_status presso_kld_base_open_buffer(const uint8_t *data, size_t size, const char *name, presso_kld_base *b) {
    memset(b, 0, sizeof *b);
    const char *path = name;
    const uint8_t *d = data;
    presso_status st = PRESSO_OK;
    if (!d || size < KLD_HEADER_BYTES || memcmp(d, kld_magic, 8) != 0)
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: not a file of base log-probabilities (no \"_logits_\" header)", path);
    if (st == PRESSO_OK) {
        b->n_ctx = get_i32(d + 8);
        b->n_vocab = get_i32(d + 12);
        b->n_chunk = get_i32(d + 16);
        if (b->n_ctx < 2 || b->n_ctx > 1 << 20 || b->n_vocab < 1 || b->n_vocab > 1 << 24 || b->n_chunk < 1)
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: implausible header (ctx %d, vocab %d, chunks %d)", path, b->n_ctx,
                             b->n_vocab, b->n_chunk);
    }
    if (st == PRESSO_OK) {
        /* in double: exact for any file below 2^53 bytes, and a hostile header's huge product cannot wrap */
        const double want = (double)KLD_HEADER_BYTES + 4.0 * b->n_chunk * (double)b->n_ctx +
                            2.0 * (double)b->n_chunk * presso_kld_scored_per_chunk(b->n_ctx) *
                                (double)presso_kld_record_slots(b->n_vocab);
        if ((double)size != want)
            st = presso_fail(PRESSO_ERR_FORMAT,
                             "%s: %zu bytes, but its header (ctx %d, vocab %d, chunks %d) needs %.0f: truncated or "
                             "not written by llama-perplexity / presso",
                             path, size, b->n_ctx, b->n_vocab, b->n_chunk, want);
    }
    if (st != PRESSO_OK) {
        memset(b, 0, sizeof *b);
        return st;
    }
    b->file.data = data;
    b->file.size = size;
    b->tokens = d + KLD_HEADER_BYTES;
    b->records = b->tokens + 4 * (size_t)b->n_chunk * (size_t)b->n_ctx;
    return PRESSO_OK;
}

presso_status presso_kld_base_open(const char *path, presso_kld_base *b) {
    memset(b, 0, sizeof *b);
    presso_mapped_file file;
    PRESSO_TRY(presso_map_file(path, &file));
    const presso_status st = presso_kld_base_open_buffer(file.data, file.size, path, b);
    if (st != PRESSO_OK) {
        presso_unmap_file(&file);
        return st;
    }
    b->owns_file = true;
    return PRESSO_OK;
}

void presso_kld_base_close(presso_kld_base *b) {
    if (b->owns_file) presso_unmap_file(&b->file);
    memset(b, 0, sizeof *b);
}

int32_t presso_kld_base_token(const presso_kld_base *b, int64_t i) { return get_i32(b->tokens + 4 * i); }

presso_status presso_kld_base_tokens(const presso_kld_base *b, const char *name, int32_t vocab, int32_t **ids,
                                     int64_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (b->n_vocab != vocab)
        return presso_fail(PRESSO_ERR_INVALID_ARG,
                           "%s holds a vocabulary of %d, the model has %d: not the same tokenizer", name, b->n_vocab,
                           vocab);
    const int64_t n = (int64_t)b->n_chunk * b->n_ctx;
    int32_t *t = malloc(sizeof(int32_t) * (size_t)n);
    if (!t) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory for %lld tokens", name, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        t[i] = presso_kld_base_token(b, i);
        if (t[i] < 0 || t[i] >= vocab) {
            const int32_t bad = t[i];
            free(t);
            return presso_fail(PRESSO_ERR_FORMAT, "%s: token %lld is %d, outside the vocabulary", name, (long long)i,
                               bad);
        }
    }
    *ids = t;
    *n_ids = n;
    return PRESSO_OK;
}

/* ---- comparison ---- */

presso_status presso_kld_acc_init(presso_kld_acc *a, int64_t capacity) {
    memset(a, 0, sizeof *a);
    a->kld_values = malloc(sizeof(float) * (size_t)(capacity > 0 ? capacity : 1));
    if (!a->kld_values)
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for %lld KL divergences", (long long)capacity);
    a->cap = capacity;
    return PRESSO_OK;
}

void presso_kld_acc_free(presso_kld_acc *a) {
    free(a->kld_values);
    memset(a, 0, sizeof *a);
}

void presso_kld_add(presso_kld_acc *a, const float *logits, int32_t vocab, const uint8_t *base_record, int32_t target) {
    float max_logit;
    int32_t imax;
    const double sum_exp = presso_logits_sum_exp(logits, vocab, &max_logit, &imax);
    const float log_sum_exp = (float)log(sum_exp);
    float scale, min_log_prob;
    memcpy(&scale, base_record, sizeof scale);
    memcpy(&min_log_prob, base_record + 4, sizeof min_log_prob);
    const uint8_t *q = base_record + 8;
#define BASE_Q(i) ((uint16_t)(q[2 * (i)] | q[2 * (i) + 1] << 8))
    const float nll = max_logit + log_sum_exp - logits[target];
    const float nll_base = -(scale * BASE_Q(target) + min_log_prob);
    a->sum_nll += nll, a->sum_nll2 += (double)nll * nll;
    a->sum_nll_base += nll_base, a->sum_nll_base2 += (double)nll_base * nll_base;
    a->sum_nll_nll_base += (double)nll * nll_base;
    /* KL(P_base ‖ P) = Σ p_base (log p_base − log p), log p_i = logits_i − (max + log Σ exp) */
    const float log_norm = max_logit + log_sum_exp;
    double kld = 0.0;
    int32_t imax_base = 0;
    float base_max = 0.0f;
    for (int32_t i = 0; i < vocab; i++) {
        const float lp_base = scale * BASE_Q(i) + min_log_prob;
        if (i == 0 || lp_base > base_max) base_max = lp_base, imax_base = i;
        if (lp_base > -16.0f) kld += expf(lp_base) * (lp_base - logits[i] + log_norm);
    }
#undef BASE_Q
    a->sum_kld += kld, a->sum_kld2 += kld * kld;
    if (imax == imax_base) a->n_same_top++;
    const float p_diff = expf(-nll) - expf(-nll_base);
    a->sum_p_diff += p_diff;
    a->sum_p_diff2 += (double)p_diff * p_diff;
    a->sum_p_diff4 += (double)p_diff * p_diff * p_diff * p_diff;
    if (fabsf(p_diff) > a->max_p_diff) a->max_p_diff = fabsf(p_diff);
    if (a->count < a->cap) a->kld_values[a->count] = (float)kld;
    a->count++;
}

/* mean and its standard error, as llama-perplexity's mean_and_uncertainty */
static void mean_err(double sum, double sum2, int64_t n, double *mean, double *err) {
    *mean = n > 0 ? sum / (double)n : 0.0;
    const double var = n > 0 ? sum2 / (double)n - *mean * *mean : 0.0;
    *err = var > 0 && n > 10 ? sqrt(var / (double)(n - 1)) : 0.0;
}

static int cmp_float(const void *x, const void *y) {
    const float a = *(const float *)x, b = *(const float *)y;
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b); /* NaN (a hostile base file's) sorts last: a total order */
    return (a > b) - (a < b);
}

static double percentile(const float *v, int64_t n, double fraction) {
    if (n <= 0) return 0.0;
    const double p = fraction * (double)(n - 1);
    const int64_t i = (int64_t)p;
    const double f = p - (double)i;
    return (1 - f) * v[i] + f * v[i + 1 < n ? i + 1 : n - 1];
}

void presso_kld_summarize(presso_kld_acc *a, presso_kld_summary *s) {
    memset(s, 0, sizeof *s);
    const int64_t n = a->count;
    s->count = n;
    double lq, lq_err, lb, lb_err;
    mean_err(a->sum_nll, a->sum_nll2, n, &lq, &lq_err);
    mean_err(a->sum_nll_base, a->sum_nll_base2, n, &lb, &lb_err);
    s->ppl = exp(lq), s->ppl_err = s->ppl * lq_err;
    s->ppl_base = exp(lb), s->ppl_base_err = s->ppl_base * lb_err;
    /* Cov of the two mean log-perplexities (llama-perplexity's covariance()) */
    const double cov = n >= 10 ? (a->sum_nll_nll_base / (double)n - lq * lb) / (double)(n - 1) : 0.0;
    s->ln_ratio = lq - lb;
    s->ln_ratio_err = sqrt(fmax(0.0, lq_err * lq_err + lb_err * lb_err - 2.0 * cov));
    s->ppl_diff = s->ppl - s->ppl_base;
    s->ppl_diff_err = sqrt(fmax(0.0, s->ppl_err * s->ppl_err + s->ppl_base_err * s->ppl_base_err -
                                         2.0 * s->ppl * s->ppl_base * cov));
    mean_err(a->sum_kld, a->sum_kld2, n, &s->kld, &s->kld_err);
    mean_err(a->sum_p_diff, a->sum_p_diff2, n, &s->p_diff, &s->p_diff_err);
    double mse, mse_err;
    mean_err(a->sum_p_diff2, a->sum_p_diff4, n, &mse, &mse_err);
    s->p_diff_rms = sqrt(mse);
    s->p_diff_rms_err = s->p_diff_rms > 0 ? 0.5 / s->p_diff_rms * mse_err : 0.0;
    s->same_top = n > 0 ? (double)a->n_same_top / (double)n : 0.0;
    s->same_top_err = n > 1 ? sqrt(s->same_top * (1 - s->same_top) / (double)(n - 1)) : 0.0;
    const int64_t kept = n < a->cap ? n : a->cap;
    qsort(a->kld_values, (size_t)kept, sizeof(float), cmp_float);
    if (kept > 0) {
        s->kld_median = kept % 2 ? a->kld_values[kept / 2]
                                 : 0.5 * (a->kld_values[kept / 2] + a->kld_values[kept / 2 - 1]);
        s->kld_p99 = percentile(a->kld_values, kept, 0.99);
        s->kld_p999 = percentile(a->kld_values, kept, 0.999);
        s->kld_max = a->kld_values[kept - 1];
    }
}
