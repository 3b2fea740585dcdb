#include "compress/calib.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"

/* ---- SHA-256 (FIPS 180-4), to name the calibration text in the output file ---- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        const uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void presso_sha256_hex(const void *data, size_t n, char out[65]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) sha256_block(h, p + i);
    uint8_t tail[128] = {0};
    const size_t rest = n - i;
    if (rest) memcpy(tail, p + i, rest);
    tail[rest] = 0x80;
    const size_t tail_len = rest + 9 <= 64 ? 64 : 128;
    const uint64_t bits = (uint64_t)n * 8;
    for (int k = 0; k < 8; k++) tail[tail_len - 1 - k] = (uint8_t)(bits >> (8 * k));
    for (size_t k = 0; k < tail_len; k += 64) sha256_block(h, tail + k);
    for (int k = 0; k < 8; k++) snprintf(out + 8 * k, 9, "%08x", h[k]);
}

/* ---- calibration sequences ---- */

presso_status presso_calib_set_from_text(const presso_tokenizer *t, const char *text, size_t text_len,
                                         const presso_calib_params *p, int32_t max_len, presso_calib_set **out) {
    *out = NULL;
    const int32_t count = p->count > 0 ? p->count : PRESSO_CALIB_DEFAULT_COUNT;
    int32_t len = p->len > 0 ? p->len : PRESSO_CALIB_DEFAULT_LEN;
    if (max_len > 0 && len > max_len) {
        presso_log(PRESSO_LOG_WARN, "calibration sequences of %d tokens exceed the model's context %d; using %d",
                   len, max_len, max_len);
        len = max_len;
    }
    const int32_t bos_id = presso_tokenizer_adds_bos(t) ? presso_tokenizer_bos(t) : -1;
    const int32_t bos = bos_id >= 0 ? 1 : 0;
    if (len < 2 + bos) return presso_fail(PRESSO_ERR_INVALID_ARG, "calibration sequences need >= %d tokens", 2 + bos);
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    PRESSO_TRY(presso_tokenizer_encode(t, text, text_len, false, &ids, &n_ids));
    if (n_ids < 2) {
        free(ids);
        return presso_fail(PRESSO_ERR_INVALID_ARG, "the calibration text holds %lld tokens; it needs at least 2",
                           (long long)n_ids);
    }
    int64_t span = len - bos; /* text tokens per sequence */
    int64_t n_windows = n_ids / span;
    if (n_windows == 0) { /* shorter than one window: one sequence of all of it */
        span = n_ids;
        len = (int32_t)(n_ids + bos);
        n_windows = 1;
    }
    const int32_t n_seqs = n_windows < count ? (int32_t)n_windows : count;
    presso_calib_set *c = calloc(1, sizeof *c);
    int64_t *order = malloc(sizeof(int64_t) * (size_t)n_windows);
    if (c) c->tokens = malloc(sizeof(int32_t) * (size_t)n_seqs * (size_t)len);
    if (!c || !order || !c->tokens) {
        free(ids);
        free(order);
        presso_calib_set_free(c);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for %d calibration sequences", n_seqs);
    }
    /* Partial Fisher-Yates: the first n_seqs entries are a seeded sample of the windows. */
    for (int64_t i = 0; i < n_windows; i++) order[i] = i;
    presso_rng rng;
    presso_rng_seed(&rng, p->seed);
    if (n_windows > n_seqs) {
        for (int64_t i = 0; i < n_seqs; i++) {
            const uint64_t r = ((uint64_t)presso_rng_u32(&rng) << 32) | presso_rng_u32(&rng);
            const int64_t j = i + (int64_t)(r % (uint64_t)(n_windows - i));
            const int64_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        /* text order, so the set does not depend on how the sample was drawn beyond its membership */
        for (int64_t i = 1; i < n_seqs; i++)
            for (int64_t j = i; j > 0 && order[j - 1] > order[j]; j--) {
                const int64_t tmp = order[j];
                order[j] = order[j - 1];
                order[j - 1] = tmp;
            }
    }
    for (int32_t s = 0; s < n_seqs; s++) {
        int32_t *dst = c->tokens + (int64_t)s * len;
        if (bos) dst[0] = bos_id;
        memcpy(dst + bos, ids + order[s] * span, sizeof(int32_t) * (size_t)span);
    }
    c->n_seqs = n_seqs;
    c->seq_len = len;
    c->n_text_tokens = n_ids;
    c->n_windows = n_windows;
    c->bos = bos;
    free(order);
    free(ids);
    *out = c;
    return PRESSO_OK;
}

presso_status presso_calib_set_load(const presso_tokenizer *t, const presso_calib_params *p, int32_t max_len,
                                    presso_calib_set **out) {
    *out = NULL;
    if (!p->file) return presso_fail(PRESSO_ERR_INVALID_ARG, "no calibration text given");
    FILE *f = fopen(p->file, "rb");
    if (!f) return presso_fail(PRESSO_ERR_IO, "%s: cannot open calibration text: %s", p->file, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *grown = cap < ((size_t)1 << 34) ? realloc(buf, cap * 2) : NULL;
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    const bool read_error = ferror(f);
    fclose(f);
    if (!buf) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory reading the calibration text", p->file);
    if (read_error) {
        free(buf);
        return presso_fail(PRESSO_ERR_IO, "%s: read error", p->file);
    }
    presso_status st = presso_calib_set_from_text(t, buf, n, p, max_len, out);
    if (st == PRESSO_OK) {
        snprintf((*out)->file, sizeof (*out)->file, "%s", p->file);
        presso_sha256_hex(buf, n, (*out)->sha256);
    } else {
        presso_fail_context(st, "%s: ", p->file);
    }
    free(buf);
    return st;
}

void presso_calib_set_free(presso_calib_set *c) {
    if (!c) return;
    free(c->tokens);
    free(c);
}

/* ---- per-capture-point statistics ---- */

presso_status presso_calib_stats_init(presso_calib_stats *s, int64_t width, bool want_hessian) {
    memset(s, 0, sizeof *s);
    s->width = width;
    s->mean_abs = calloc((size_t)width, sizeof(double));
    s->max_abs = calloc((size_t)width, sizeof(float));
    s->sum_sq = calloc((size_t)width, sizeof(double));
    if (want_hessian) {
        s->h = calloc((size_t)(width * width), sizeof(double));
        s->scratch = malloc(sizeof(float) * (size_t)(width * width));
    }
    if (!s->mean_abs || !s->max_abs || !s->sum_sq || (want_hessian && (!s->h || !s->scratch))) {
        presso_calib_stats_free(s);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for a %lld x %lld Hessian", (long long)width,
                           (long long)width);
    }
    return PRESSO_OK;
}

void presso_calib_stats_add(presso_calib_stats *s, const float *x, int64_t n) {
    const int64_t w = s->width;
    if (s->h) {
        /* One call is one sequence (<= 512 rows by default): its xᵀx in float
         * is exact enough, and the sum over sequences runs in double. */
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)w, (int)n, 1.0f, x, (int)w, 0.0f, s->scratch, (int)w);
        for (int64_t i = 0; i < w; i++) {
            double *hr = s->h + i * w;
            const float *sr = s->scratch + i * w;
            for (int64_t j = i; j < w; j++) hr[j] += sr[j];
        }
    }
    for (int64_t t = 0; t < n; t++) {
        const float *row = x + t * w;
        for (int64_t j = 0; j < w; j++) {
            const float a = fabsf(row[j]);
            s->mean_abs[j] += a;
            s->sum_sq[j] += (double)row[j] * row[j];
            if (a > s->max_abs[j]) s->max_abs[j] = a;
        }
    }
    s->n_samples += n;
}

void presso_calib_stats_finish(presso_calib_stats *s) {
    if (s->finished) return;
    const int64_t w = s->width;
    if (s->h)
        for (int64_t i = 0; i < w; i++)
            for (int64_t j = 0; j < i; j++) s->h[i * w + j] = s->h[j * w + i];
    for (int64_t j = 0; j < w; j++) s->mean_abs[j] = s->n_samples ? s->mean_abs[j] / (double)s->n_samples : 0.0;
    s->finished = true;
}

void presso_calib_stats_free(presso_calib_stats *s) {
    free(s->h);
    free(s->mean_abs);
    free(s->max_abs);
    free(s->sum_sq);
    free(s->scratch);
    memset(s, 0, sizeof *s);
}
