#include "model/llama.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/types.h"

struct presso_llama_state {
    const presso_model *model;
    int32_t n_ctx, n_batch, n_past;
    int n_threads;
    float *key_cache, *value_cache; /* [layer][n_ctx][kv_dim] */
    float *rope_cos, *rope_sin;     /* [n_ctx][head_dim/2] */
    float *norms;                   /* every norm weight as float: [2*n_layers+1][dim] */
    /* Activations for up to n_batch tokens. */
    float *x, *xb, *q, *k, *v, *attn_out, *gate, *up, *scores, *matmul_scratch, *embd_row;
};

static void *alloc_floats(int64_t n, bool *failed) {
    void *p = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    if (!p) *failed = true;
    return p;
}

presso_status presso_llama_state_new(const presso_model *m, int32_t n_ctx, int32_t n_batch, int n_threads,
                                     presso_llama_state **out) {
    *out = NULL;
    const presso_llama_config *c = &m->config;
    if (n_ctx <= 0) n_ctx = c->max_seq_len;
    if (n_batch <= 0 || n_batch > n_ctx) n_batch = n_ctx;
    if (n_threads <= 0) n_threads = 1;
    if (n_ctx > (1 << 20))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "context of %d tokens is more than presso supports (1M)", n_ctx);
    presso_llama_state *s = calloc(1, sizeof *s);
    if (!s) return presso_fail(PRESSO_ERR_NOMEM, "out of memory for the inference state");
    s->model = m;
    s->n_ctx = n_ctx;
    s->n_batch = n_batch;
    s->n_threads = n_threads;
    const int64_t dim = c->dim, hd = c->head_dim, q_dim = (int64_t)c->n_heads * hd,
                  kv_dim = (int64_t)c->n_kv_heads * hd, B = n_batch;
    int64_t widest = dim > q_dim ? dim : q_dim;
    if (c->hidden_dim > widest) widest = c->hidden_dim;
    bool failed = false;
    s->key_cache = alloc_floats((int64_t)c->n_layers * n_ctx * kv_dim, &failed);
    s->value_cache = alloc_floats((int64_t)c->n_layers * n_ctx * kv_dim, &failed);
    s->rope_cos = alloc_floats((int64_t)n_ctx * hd / 2, &failed);
    s->rope_sin = alloc_floats((int64_t)n_ctx * hd / 2, &failed);
    s->norms = alloc_floats((2 * (int64_t)c->n_layers + 1) * dim, &failed);
    s->x = alloc_floats(B * dim, &failed);
    s->xb = alloc_floats(B * widest, &failed);
    s->q = alloc_floats(B * q_dim, &failed);
    s->k = alloc_floats(B * kv_dim, &failed);
    s->v = alloc_floats(B * kv_dim, &failed);
    s->attn_out = alloc_floats(B * q_dim, &failed);
    s->gate = alloc_floats(B * c->hidden_dim, &failed);
    s->up = alloc_floats(B * c->hidden_dim, &failed);
    s->scores = alloc_floats((int64_t)n_threads * n_ctx, &failed);
    s->matmul_scratch = alloc_floats(presso_matmul_scratch_floats(widest, B, n_threads), &failed);
    s->embd_row = alloc_floats(dim, &failed);
    if (failed) {
        presso_llama_state_free(s);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for a %d-token KV cache", n_ctx);
    }
    /* RoPE (Su et al. 2021): pair i of a head rotates by pos * theta^(-2i/head_dim). */
    for (int32_t pos = 0; pos < n_ctx; pos++) {
        for (int64_t i = 0; i < hd / 2; i++) {
            const float freq = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)hd);
            const float angle = (float)pos * freq;
            s->rope_cos[pos * hd / 2 + i] = cosf(angle);
            s->rope_sin[pos * hd / 2 + i] = sinf(angle);
        }
    }
    presso_llama_state_reload_norms(s);
    openblas_set_num_threads(1); /* threads come from OpenMP (matmul.c) */
    *out = s;
    return PRESSO_OK;
}

void presso_llama_state_free(presso_llama_state *s) {
    if (!s) return;
    float *all[] = {s->key_cache, s->value_cache, s->rope_cos, s->rope_sin, s->norms,  s->x,
                    s->xb,        s->q,           s->k,        s->v,        s->attn_out, s->gate,
                    s->up,        s->scores,      s->matmul_scratch, s->embd_row};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    free(s);
}

void presso_llama_state_reset(presso_llama_state *s) { s->n_past = 0; }
int32_t presso_llama_state_n_past(const presso_llama_state *s) { return s->n_past; }

presso_status presso_llama_state_rewind(presso_llama_state *s, int32_t n_past) {
    if (n_past < 0 || n_past > s->n_past)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "cannot rewind the cache from %d to %d positions", s->n_past,
                           n_past);
    s->n_past = n_past; /* later tokens overwrite the dropped positions' keys and values */
    return PRESSO_OK;
}
int32_t presso_llama_state_n_ctx(const presso_llama_state *s) { return s->n_ctx; }

/* RMSNorm (Zhang & Sennrich 2019): y = x / sqrt(mean(x²) + eps) * w. */
static void rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps) {
    float ss = 0.0f;
    for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
    const float scale = 1.0f / sqrtf(ss / (float)n + eps);
    for (int64_t i = 0; i < n; i++) out[i] = w[i] * (scale * x[i]);
}

static void rope(float *vec, int32_t n_heads, int32_t hd, const float *cos_row, const float *sin_row,
                 presso_rope_style style) {
    for (int32_t h = 0; h < n_heads; h++) {
        float *head = vec + (int64_t)h * hd;
        for (int32_t i = 0; i < hd / 2; i++) {
            /* Interleaved pairs (2i, 2i+1) as llama2.c / GGUF; rotate_half pairs (i, i+hd/2) as HF. */
            const int32_t a = style == PRESSO_ROPE_INTERLEAVED ? 2 * i : i;
            const int32_t b = style == PRESSO_ROPE_INTERLEAVED ? 2 * i + 1 : i + hd / 2;
            const float x0 = head[a], x1 = head[b];
            head[a] = x0 * cos_row[i] - x1 * sin_row[i];
            head[b] = x0 * sin_row[i] + x1 * cos_row[i];
        }
    }
}

/* Causal scaled dot-product attention for n new tokens over the cache. */
static void attention(presso_llama_state *s, int32_t layer, int32_t n) {
    const presso_llama_config *c = &s->model->config;
    const presso_kernels *k = presso_kernels_active();
    const int64_t hd = c->head_dim, kv_dim = (int64_t)c->n_kv_heads * hd, q_dim = (int64_t)c->n_heads * hd;
    const int32_t group = c->n_heads / c->n_kv_heads;
    const float *kc = s->key_cache + (int64_t)layer * s->n_ctx * kv_dim;
    const float *vc = s->value_cache + (int64_t)layer * s->n_ctx * kv_dim;
    const float scale = 1.0f / sqrtf((float)hd);
    const int64_t work = (int64_t)n * c->n_heads;
    /* Multiply-adds of this call: a parallel region only pays off above ~64K. */
    const bool parallel = work * (s->n_past + n) * hd >= (1 << 16);
#pragma omp parallel for num_threads(s->n_threads) schedule(dynamic, 1) if (parallel)
    for (int64_t w = 0; w < work; w++) {
        const int32_t t = (int32_t)(w / c->n_heads), h = (int32_t)(w % c->n_heads);
        const int32_t pos = s->n_past + t;
        const int64_t kv_off = (int64_t)(h / group) * hd;
        const int thread = omp_get_thread_num();
        float *att = s->scores + (int64_t)thread * s->n_ctx;
        const float *q = s->q + t * q_dim + (int64_t)h * hd;
        float max = -INFINITY;
        for (int32_t p = 0; p <= pos; p++) {
            att[p] = k->dot_f32(q, kc + (int64_t)p * kv_dim + kv_off, hd) * scale;
            if (att[p] > max) max = att[p];
        }
        float sum = 0.0f;
        for (int32_t p = 0; p <= pos; p++) {
            att[p] = expf(att[p] - max);
            sum += att[p];
        }
        float *out = s->attn_out + t * q_dim + (int64_t)h * hd;
        memset(out, 0, (size_t)hd * sizeof(float));
        const float inv = 1.0f / sum;
        for (int32_t p = 0; p <= pos; p++) k->axpy_f32(att[p] * inv, vc + (int64_t)p * kv_dim + kv_off, out, hd);
    }
}

/* One transformer block on s->x [n][dim] at positions n_past.., in place:
 * x += attn(norm(x)); x += ffn(norm(x)). capture (may be NULL) sees the input
 * of every linear, for calibration. */
static void layer_forward(presso_llama_state *s, int32_t l, int32_t n, presso_capture_fn capture, void *user) {
    const presso_model *m = s->model;
    const presso_llama_config *c = &m->config;
    const int64_t dim = c->dim, hd = c->head_dim, q_dim = (int64_t)c->n_heads * hd,
                  kv_dim = (int64_t)c->n_kv_heads * hd, hidden = c->hidden_dim;
    const int nt = s->n_threads;
    const presso_llama_layer *L = &m->layers[l];
    const float *attn_norm = s->norms + (int64_t)(2 * l) * dim, *ffn_norm = s->norms + (int64_t)(2 * l + 1) * dim;
    for (int32_t t = 0; t < n; t++) rmsnorm(s->xb + t * dim, s->x + t * dim, attn_norm, dim, c->norm_eps);
    if (capture) capture(user, l, PRESSO_CAPTURE_ATTN_IN, s->xb, n, dim);
    {   /* q, k and v share their input: one quantization, one parallel region */
        const presso_tensor *w[3] = {&L->wq, &L->wk, &L->wv};
        float *y[3] = {s->q, s->k, s->v};
        presso_matmul_group(3, w, y, s->xb, n, s->matmul_scratch, nt);
    }
    float *kc = s->key_cache + (int64_t)l * s->n_ctx * kv_dim;
    float *vc = s->value_cache + (int64_t)l * s->n_ctx * kv_dim;
    for (int32_t t = 0; t < n; t++) {
        const int32_t pos = s->n_past + t;
        const float *cr = s->rope_cos + (int64_t)pos * hd / 2, *sr = s->rope_sin + (int64_t)pos * hd / 2;
        rope(s->q + t * q_dim, c->n_heads, c->head_dim, cr, sr, c->rope_style);
        rope(s->k + t * kv_dim, c->n_kv_heads, c->head_dim, cr, sr, c->rope_style);
        memcpy(kc + (int64_t)pos * kv_dim, s->k + t * kv_dim, (size_t)kv_dim * sizeof(float));
        memcpy(vc + (int64_t)pos * kv_dim, s->v + t * kv_dim, (size_t)kv_dim * sizeof(float));
    }
    attention(s, l, n);
    if (capture) capture(user, l, PRESSO_CAPTURE_ATTN_OUT, s->attn_out, n, q_dim);
    presso_matmul(&L->wo, s->attn_out, n, s->xb, s->matmul_scratch, nt);
    for (int64_t i = 0; i < n * dim; i++) s->x[i] += s->xb[i];

    /* SwiGLU feed-forward (Shazeer 2020): down(silu(gate x) * up x). */
    for (int32_t t = 0; t < n; t++) rmsnorm(s->xb + t * dim, s->x + t * dim, ffn_norm, dim, c->norm_eps);
    if (capture) capture(user, l, PRESSO_CAPTURE_FFN_IN, s->xb, n, dim);
    {
        const presso_tensor *w[2] = {&L->w_gate, &L->w_up};
        float *y[2] = {s->gate, s->up};
        presso_matmul_group(2, w, y, s->xb, n, s->matmul_scratch, nt);
    }
    for (int64_t i = 0; i < n * hidden; i++) {
        const float g = s->gate[i];
        s->gate[i] = g / (1.0f + expf(-g)) * s->up[i];
    }
    if (capture) capture(user, l, PRESSO_CAPTURE_FFN_ACT, s->gate, n, hidden);
    presso_matmul(&L->w_down, s->gate, n, s->xb, s->matmul_scratch, nt);
    for (int64_t i = 0; i < n * dim; i++) s->x[i] += s->xb[i];
}

/* Runs the blocks over s->x [n][dim] (already embedded) and writes logits. */
static presso_status forward_rows(presso_llama_state *s, int32_t n, float *logits, int32_t first_logit) {
    const presso_model *m = s->model;
    const presso_llama_config *c = &m->config;
    const int64_t dim = c->dim;
    const int nt = s->n_threads;
    for (int32_t l = 0; l < c->n_layers; l++) layer_forward(s, l, n, NULL, NULL);
    s->n_past += n;
    if (!logits || first_logit == n) return PRESSO_OK;
    const float *out_norm = s->norms + (int64_t)(2 * c->n_layers) * dim;
    const int32_t first = first_logit;
    for (int32_t t = first; t < n; t++) rmsnorm(s->xb + (t - first) * dim, s->x + t * dim, out_norm, dim, c->norm_eps);
    presso_matmul(&m->output, s->xb, n - first, logits, s->matmul_scratch, nt);
    return PRESSO_OK;
}

static presso_status check_batch(const presso_llama_state *s, int32_t n, int32_t first_logit) {
    if (n <= 0 || n > s->n_batch)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "batch of %d tokens (the state takes 1..%d)", n, s->n_batch);
    if (s->n_past + n > s->n_ctx)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "context full: %d cached + %d new tokens exceed n_ctx %d",
                           s->n_past, n, s->n_ctx);
    if (first_logit < 0 || first_logit > n)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "first logit %d outside the batch of %d", first_logit, n);
    return PRESSO_OK;
}

presso_status presso_llama_forward(presso_llama_state *s, const int32_t *tokens, int32_t n, float *logits,
                                   int32_t first_logit) {
    const presso_llama_config *c = &s->model->config;
    PRESSO_TRY(check_batch(s, n, first_logit));
    for (int32_t t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= c->vocab_size)
            return presso_fail(PRESSO_ERR_INVALID_ARG, "token id %d at batch position %d is outside the vocabulary "
                               "(0..%d)", tokens[t], t, c->vocab_size - 1);
    presso_llama_embed(s->model, tokens, n, s->x);
    return forward_rows(s, n, logits, first_logit);
}

presso_status presso_llama_forward_embd(presso_llama_state *s, const float *x, int32_t n, float *logits,
                                        int32_t first_logit) {
    PRESSO_TRY(check_batch(s, n, first_logit));
    memcpy(s->x, x, sizeof(float) * (size_t)n * (size_t)s->model->config.dim);
    return forward_rows(s, n, logits, first_logit);
}

presso_status presso_llama_seed_kv(presso_llama_state *s, const float *keys, const float *values, int32_t n) {
    const presso_llama_config *c = &s->model->config;
    if (n < 0 || s->n_past + n > s->n_ctx)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "cannot seed %d cache positions after %d (n_ctx %d)", n,
                           s->n_past, s->n_ctx);
    const int64_t kv_dim = (int64_t)c->n_kv_heads * c->head_dim;
    for (int32_t l = 0; l < c->n_layers; l++) {
        float *kc = s->key_cache + ((int64_t)l * s->n_ctx + s->n_past) * kv_dim;
        float *vc = s->value_cache + ((int64_t)l * s->n_ctx + s->n_past) * kv_dim;
        memcpy(kc, keys + (int64_t)l * n * kv_dim, sizeof(float) * (size_t)(n * kv_dim));
        memcpy(vc, values + (int64_t)l * n * kv_dim, sizeof(float) * (size_t)(n * kv_dim));
    }
    s->n_past += n;
    return PRESSO_OK;
}

int32_t presso_llama_prefix_len(const presso_llama_prefix *p) {
    return p ? p->n_kv + p->n_embd + p->n_tokens : 0;
}

presso_status presso_llama_apply_prefix(presso_llama_state *s, const presso_llama_prefix *p) {
    presso_llama_state_reset(s);
    if (!p) return PRESSO_OK;
    if (p->n_kv > 0) PRESSO_TRY(presso_llama_seed_kv(s, p->keys, p->values, p->n_kv));
    const int64_t dim = s->model->config.dim;
    for (int32_t i = 0; i < p->n_embd; i += s->n_batch) {
        const int32_t n = p->n_embd - i < s->n_batch ? p->n_embd - i : s->n_batch;
        PRESSO_TRY(presso_llama_forward_embd(s, p->embd + (int64_t)i * dim, n, NULL, n));
    }
    for (int32_t i = 0; i < p->n_tokens; i += s->n_batch) {
        const int32_t n = p->n_tokens - i < s->n_batch ? p->n_tokens - i : s->n_batch;
        PRESSO_TRY(presso_llama_forward(s, p->tokens + i, n, NULL, n));
    }
    return PRESSO_OK;
}

void presso_llama_embed(const presso_model *m, const int32_t *tokens, int32_t n, float *x) {
    const int64_t dim = m->config.dim;
    const presso_type_traits *traits = presso_type_traits_of(m->token_embd.type);
    const size_t row_bytes = (size_t)presso_row_bytes(m->token_embd.type, dim);
    for (int32_t t = 0; t < n; t++)
        traits->to_float((const uint8_t *)m->token_embd.data + (size_t)tokens[t] * row_bytes, x + t * dim, dim);
}

presso_status presso_llama_block_forward(presso_llama_state *s, int32_t layer, float *x, int32_t n,
                                         presso_capture_fn capture, void *user) {
    const presso_llama_config *c = &s->model->config;
    if (layer < 0 || layer >= c->n_layers)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "layer %d outside 0..%d", layer, c->n_layers - 1);
    if (n <= 0 || n > s->n_batch)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "block of %d tokens (the state takes 1..%d)", n, s->n_batch);
    const size_t bytes = sizeof(float) * (size_t)n * (size_t)c->dim;
    const int32_t saved_past = s->n_past;
    s->n_past = 0;
    memcpy(s->x, x, bytes);
    layer_forward(s, layer, n, capture, user);
    memcpy(x, s->x, bytes);
    s->n_past = saved_past;
    return PRESSO_OK;
}

void presso_llama_state_reload_norms(presso_llama_state *s) {
    const presso_model *m = s->model;
    const presso_llama_config *c = &m->config;
    for (int32_t l = 0; l <= 2 * c->n_layers; l++) {
        const presso_tensor *t = l == 2 * c->n_layers ? &m->output_norm
                                 : l % 2 == 0         ? &m->layers[l / 2].attn_norm
                                                      : &m->layers[l / 2].ffn_norm;
        presso_type_traits_of(t->type)->to_float(t->data, s->norms + (int64_t)l * c->dim, c->dim);
    }
}
