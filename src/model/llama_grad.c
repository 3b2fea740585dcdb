#include "model/llama_grad.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/types.h"

/* What the backward needs of one block, for the rows of one sequence. */
typedef struct {
    float *x_in, *xn1, *rstd1; /* block input, attn-normed input, its 1/rms */
    float *q;                  /* [n][q_dim] after RoPE */
    float *k, *v;              /* [n_prefix + n][kv_dim], prefix rows first */
    float *att;                /* attention output [n][q_dim] */
    float *x_mid, *xn2, *rstd2;
    float *gate, *up, *h;      /* [n][hidden] */
} layer_acts;

struct presso_grad_state {
    const presso_model *model;
    int32_t max_rows, max_prefix, n, n_prefix, first_logit;
    int n_threads;
    float *rope_cos, *rope_sin; /* [max_prefix + max_rows][head_dim/2] */
    float *norms;               /* [2*n_layers+1][dim] */
    layer_acts *acts;
    float *x_final, *xn_final, *rstd_final;
    /* backward scratch */
    float *dx, *dxn, *dmid, *dq, *dk, *dv, *datt, *dh, *dgate, *dup, *attn_scratch, *lin_scratch;
    /* presso_grad_set_act_rounding: the rounded activation rows of one linear
     * [max_rows][widest], and one row in its 8-bit block type */
    bool act_round;
    float *x_round;
    void *x_q;
};

static float *alloc_f(int64_t n, bool *failed) {
    float *p = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    if (!p) *failed = true;
    return p;
}

int64_t presso_grad_linear_scratch_floats(int64_t in) { return (int64_t)PRESSO_MATMUL_PANEL_ROWS * in; }

int64_t presso_grad_attention_scratch_floats(int32_t n_keys, int n_threads) {
    return (int64_t)(n_threads > 0 ? n_threads : 1) * 2 * (n_keys > 0 ? n_keys : 1);
}

presso_status presso_grad_state_new(const presso_model *m, int32_t max_rows, int32_t max_prefix, int n_threads,
                                    presso_grad_state **out) {
    *out = NULL;
    const presso_llama_config *c = &m->config;
    if (max_rows <= 0 || max_prefix < 0 || (int64_t)max_rows + max_prefix > (1 << 20))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "gradient state for %d rows after %d prefix positions", max_rows,
                           max_prefix);
    if (n_threads <= 0) n_threads = 1;
    presso_grad_state *g = calloc(1, sizeof *g);
    if (!g) return presso_fail(PRESSO_ERR_NOMEM, "out of memory for the gradient state");
    g->model = m;
    g->max_rows = max_rows;
    g->max_prefix = max_prefix;
    g->n_threads = n_threads;
    const int64_t dim = c->dim, hd = c->head_dim, q_dim = (int64_t)c->n_heads * hd,
                  kv_dim = (int64_t)c->n_kv_heads * hd, hidden = c->hidden_dim, R = max_rows,
                  P = (int64_t)max_prefix + max_rows;
    bool failed = false;
    g->rope_cos = alloc_f(P * hd / 2, &failed);
    g->rope_sin = alloc_f(P * hd / 2, &failed);
    g->norms = alloc_f((2 * (int64_t)c->n_layers + 1) * dim, &failed);
    g->acts = calloc((size_t)c->n_layers, sizeof *g->acts);
    if (!g->acts) failed = true;
    for (int32_t l = 0; g->acts && l < c->n_layers; l++) {
        layer_acts *a = &g->acts[l];
        a->x_in = alloc_f(R * dim, &failed);
        a->xn1 = alloc_f(R * dim, &failed);
        a->rstd1 = alloc_f(R, &failed);
        a->q = alloc_f(R * q_dim, &failed);
        a->k = alloc_f(P * kv_dim, &failed);
        a->v = alloc_f(P * kv_dim, &failed);
        a->att = alloc_f(R * q_dim, &failed);
        a->x_mid = alloc_f(R * dim, &failed);
        a->xn2 = alloc_f(R * dim, &failed);
        a->rstd2 = alloc_f(R, &failed);
        a->gate = alloc_f(R * hidden, &failed);
        a->up = alloc_f(R * hidden, &failed);
        a->h = alloc_f(R * hidden, &failed);
    }
    int64_t widest = dim > q_dim ? dim : q_dim;
    if (hidden > widest) widest = hidden;
    g->x_final = alloc_f(R * dim, &failed);
    g->xn_final = alloc_f(R * dim, &failed);
    g->rstd_final = alloc_f(R, &failed);
    g->dx = alloc_f(R * dim, &failed);
    g->dxn = alloc_f(R * dim, &failed);
    g->dmid = alloc_f(R * dim, &failed);
    g->dq = alloc_f(R * q_dim, &failed);
    g->dk = alloc_f(P * kv_dim, &failed);
    g->dv = alloc_f(P * kv_dim, &failed);
    g->datt = alloc_f(R * q_dim, &failed);
    g->dh = alloc_f(R * hidden, &failed);
    g->dgate = alloc_f(R * hidden, &failed);
    g->dup = alloc_f(R * hidden, &failed);
    g->attn_scratch = alloc_f(presso_grad_attention_scratch_floats((int32_t)P, n_threads), &failed);
    g->lin_scratch = alloc_f(presso_grad_linear_scratch_floats(widest), &failed);
    g->x_round = alloc_f(R * widest, &failed);
    g->x_q = alloc_f(widest + 256, &failed); /* Q8_0/Q8_1/Q8_K: at most 292 bytes per 256 values */
    if (failed) {
        presso_grad_state_free(g);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for the activations of %d rows", max_rows);
    }
    /* The same angles as the inference state (llama.c), so a trained prompt
     * sees the positions it will see at inference. */
    for (int64_t pos = 0; pos < P; pos++)
        for (int64_t i = 0; i < hd / 2; i++) {
            const float freq = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)hd);
            const float angle = (float)pos * freq;
            g->rope_cos[pos * hd / 2 + i] = cosf(angle);
            g->rope_sin[pos * hd / 2 + i] = sinf(angle);
        }
    for (int32_t l = 0; l <= 2 * c->n_layers; l++) {
        const presso_tensor *t = l == 2 * c->n_layers ? &m->output_norm
                                 : l % 2 == 0         ? &m->layers[l / 2].attn_norm
                                                      : &m->layers[l / 2].ffn_norm;
        presso_type_traits_of(t->type)->to_float(t->data, g->norms + (int64_t)l * dim, dim);
    }
    openblas_set_num_threads(1); /* threads come from OpenMP */
    *out = g;
    return PRESSO_OK;
}

void presso_grad_state_free(presso_grad_state *g) {
    if (!g) return;
    if (g->acts) {
        for (int32_t l = 0; l < g->model->config.n_layers; l++) {
            layer_acts *a = &g->acts[l];
            float *all[] = {a->x_in, a->xn1, a->rstd1, a->q,  a->k,    a->v, a->att,
                            a->x_mid, a->xn2, a->rstd2, a->gate, a->up, a->h};
            for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
        }
        free(g->acts);
    }
    float *all[] = {g->rope_cos, g->rope_sin, g->norms, g->x_final, g->xn_final, g->rstd_final, g->dx,
                    g->dxn,      g->dmid,     g->dq,    g->dk,      g->dv,       g->datt,       g->dh,
                    g->dgate,    g->dup,      g->attn_scratch,      g->lin_scratch, g->x_round};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    free(g->x_q);
    free(g);
}

void presso_grad_set_act_rounding(presso_grad_state *g, bool on) { g->act_round = on; }

/* ---- ops ------------------------------------------------------------ */

float presso_grad_rmsnorm_fwd(const float *x, const float *w, int64_t n, float eps, float *y) {
    /* The same float operations as llama.c's rmsnorm. */
    float ss = 0.0f;
    for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
    const float rstd = 1.0f / sqrtf(ss / (float)n + eps);
    for (int64_t i = 0; i < n; i++) y[i] = w[i] * (rstd * x[i]);
    return rstd;
}

void presso_grad_rmsnorm_bwd(const float *x, const float *w, int64_t n, float rstd, const float *dy, float *dx) {
    double dot = 0.0;
    for (int64_t i = 0; i < n; i++) dot += (double)dy[i] * w[i] * x[i];
    const float coef = (float)(dot * rstd * rstd * rstd / (double)n);
    for (int64_t i = 0; i < n; i++) dx[i] = rstd * w[i] * dy[i] - coef * x[i];
}

void presso_grad_rope(float *vec, int32_t n_heads, int32_t hd, const float *cos_row, const float *sin_row,
                      presso_rope_style style, bool inverse) {
    for (int32_t h = 0; h < n_heads; h++) {
        float *head = vec + (int64_t)h * hd;
        for (int32_t i = 0; i < hd / 2; i++) {
            const int32_t a = style == PRESSO_ROPE_INTERLEAVED ? 2 * i : i;
            const int32_t b = style == PRESSO_ROPE_INTERLEAVED ? 2 * i + 1 : i + hd / 2;
            const float x0 = head[a], x1 = head[b], s = inverse ? -sin_row[i] : sin_row[i];
            head[a] = x0 * cos_row[i] - x1 * s;
            head[b] = x0 * s + x1 * cos_row[i];
        }
    }
}

void presso_grad_swiglu_fwd(const float *gate, const float *up, int64_t n, float *h) {
    for (int64_t i = 0; i < n; i++) h[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void presso_grad_swiglu_bwd(const float *gate, const float *up, const float *dh, int64_t n, float *dgate,
                            float *dup) {
    /* silu'(g) = σ(g) (1 + g (1 − σ(g))). */
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i], sig = 1.0f / (1.0f + expf(-g));
        dup[i] = dh[i] * g * sig;
        dgate[i] = dh[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
    }
}

/* Softmax probabilities of query row t (head h) over key rows 0..n_keys-1. */
static void attn_probs(const presso_kernels *kern, const float *q, const float *k, int64_t kv_dim, int64_t hd,
                       int32_t n_keys, float scale, float *p) {
    float max = -INFINITY;
    for (int32_t j = 0; j < n_keys; j++) {
        p[j] = kern->dot_f32(q, k + (int64_t)j * kv_dim, hd) * scale;
        if (p[j] > max) max = p[j];
    }
    float sum = 0.0f;
    for (int32_t j = 0; j < n_keys; j++) {
        p[j] = expf(p[j] - max);
        sum += p[j];
    }
    const float inv = 1.0f / sum;
    for (int32_t j = 0; j < n_keys; j++) p[j] *= inv;
}

void presso_grad_attention_fwd(const presso_llama_config *c, const float *q, const float *k, const float *v,
                               int32_t n, int32_t n_prefix, float *out, float *scratch, int n_threads) {
    const int64_t hd = c->head_dim, kv_dim = (int64_t)c->n_kv_heads * hd, q_dim = (int64_t)c->n_heads * hd;
    const int32_t group = c->n_heads / c->n_kv_heads, n_keys_max = n_prefix + n;
    const float scale = 1.0f / sqrtf((float)hd);
    const int64_t work = (int64_t)n * c->n_heads;
    const presso_kernels *kern = presso_kernels_active();
#pragma omp parallel for num_threads(n_threads) schedule(static) if (work * n_keys_max * hd >= (1 << 20))
    for (int64_t w = 0; w < work; w++) {
        const int32_t t = (int32_t)(w / c->n_heads), h = (int32_t)(w % c->n_heads);
        const int64_t kv_off = (int64_t)(h / group) * hd;
        float *p = scratch + (int64_t)omp_get_thread_num() * 2 * n_keys_max;
        const int32_t n_keys = n_prefix + t + 1;
        attn_probs(kern, q + t * q_dim + h * hd, k + kv_off, kv_dim, hd, n_keys, scale, p);
        float *o = out + t * q_dim + h * hd;
        memset(o, 0, sizeof(float) * (size_t)hd);
        for (int32_t j = 0; j < n_keys; j++) kern->axpy_f32(p[j], v + (int64_t)j * kv_dim + kv_off, o, hd);
    }
}

void presso_grad_attention_bwd(const presso_llama_config *c, const float *q, const float *k, const float *v,
                               int32_t n, int32_t n_prefix, const float *dout, float *dq, float *dk, float *dv,
                               float *scratch, int n_threads) {
    const int64_t hd = c->head_dim, kv_dim = (int64_t)c->n_kv_heads * hd, q_dim = (int64_t)c->n_heads * hd;
    const int32_t group = c->n_heads / c->n_kv_heads, n_keys_max = n_prefix + n;
    const float scale = 1.0f / sqrtf((float)hd);
    const presso_kernels *kern = presso_kernels_active();
    memset(dk, 0, sizeof(float) * (size_t)(n_keys_max * kv_dim));
    memset(dv, 0, sizeof(float) * (size_t)(n_keys_max * kv_dim));
    /* One thread per KV head: the query heads of a group write the same dk/dv
     * columns, so they run on one thread, in a fixed order. */
#pragma omp parallel for num_threads(n_threads) schedule(static) if ((int64_t)n * n_keys_max * q_dim >= (1 << 20))
    for (int32_t kvh = 0; kvh < c->n_kv_heads; kvh++) {
        const int64_t kv_off = (int64_t)kvh * hd;
        float *p = scratch + (int64_t)omp_get_thread_num() * 2 * n_keys_max, *dp = p + n_keys_max;
        for (int32_t h = kvh * group; h < (kvh + 1) * group; h++)
            for (int32_t t = 0; t < n; t++) {
                const int32_t n_keys = n_prefix + t + 1;
                const float *qr = q + t * q_dim + h * hd, *dor = dout + t * q_dim + h * hd;
                attn_probs(kern, qr, k + kv_off, kv_dim, hd, n_keys, scale, p);
                /* out = Σ_j p_j v_j: dv_j += p_j dout, dp_j = dout·v_j; softmax:
                 * ds_j = p_j (dp_j − Σ_i p_i dp_i); s_j = scale q·k_j. */
                float sum = 0.0f;
                for (int32_t j = 0; j < n_keys; j++) {
                    const int64_t off = (int64_t)j * kv_dim + kv_off;
                    dp[j] = kern->dot_f32(dor, v + off, hd);
                    kern->axpy_f32(p[j], dor, dv + off, hd);
                    sum += p[j] * dp[j];
                }
                float *dqr = dq + t * q_dim + h * hd;
                memset(dqr, 0, sizeof(float) * (size_t)hd);
                for (int32_t j = 0; j < n_keys; j++) {
                    const float ds = p[j] * (dp[j] - sum) * scale;
                    const int64_t off = (int64_t)j * kv_dim + kv_off;
                    kern->axpy_f32(ds, k + off, dqr, hd);
                    kern->axpy_f32(ds, qr, dk + off, hd);
                }
            }
    }
}

/* Rows r0..r0+rows-1 of W as floats: the mapped rows themselves for F32,
 * else dequantized into panel (in parallel over rows). */
static const float *weight_panel(const presso_tensor *w, int64_t r0, int64_t rows, float *panel, int n_threads) {
    const int64_t in = w->ne[0];
    const size_t row_bytes = (size_t)presso_row_bytes(w->type, in);
    const uint8_t *base = w->data;
    if (w->type == PRESSO_TYPE_F32) return (const float *)(const void *)(base + (size_t)r0 * row_bytes);
    const presso_type_traits *t = presso_type_traits_of(w->type);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (rows * in >= (1 << 15))
    for (int64_t r = 0; r < rows; r++) t->to_float(base + (size_t)(r0 + r) * row_bytes, panel + r * in, in);
    return panel;
}

/* Splits the n activation rows of one sgemm over the threads. */
static int64_t row_chunks(int64_t n, int64_t flops, int n_threads) {
    /* Below ~1M multiply-adds a parallel region costs more than it saves. */
    if (flops < (1 << 20) || n_threads <= 1) return 1;
    return n < n_threads ? n : n_threads;
}

void presso_grad_linear_fwd(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch,
                            int n_threads) {
    const int64_t in = w->ne[0], out = w->ne[1];
    for (int64_t r0 = 0; r0 < out; r0 += PRESSO_MATMUL_PANEL_ROWS) {
        const int64_t rows = out - r0 < PRESSO_MATMUL_PANEL_ROWS ? out - r0 : PRESSO_MATMUL_PANEL_ROWS;
        const float *wf = weight_panel(w, r0, rows, scratch, n_threads);
        const int64_t chunks = row_chunks(n, n * rows * in, n_threads);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (chunks > 1)
        for (int64_t ch = 0; ch < chunks; ch++) {
            const int64_t t0 = n * ch / chunks, t1 = n * (ch + 1) / chunks;
            if (t1 > t0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(t1 - t0), (int)rows, (int)in, 1.0f,
                            x + t0 * in, (int)in, wf, (int)in, 0.0f, y + t0 * out + r0, (int)out);
        }
    }
}

void presso_grad_linear_bwd(const presso_tensor *w, const float *dy, int64_t n, float *dx, bool accumulate,
                            float *scratch, int n_threads) {
    const int64_t in = w->ne[0], out = w->ne[1];
    for (int64_t r0 = 0; r0 < out; r0 += PRESSO_MATMUL_PANEL_ROWS) {
        const int64_t rows = out - r0 < PRESSO_MATMUL_PANEL_ROWS ? out - r0 : PRESSO_MATMUL_PANEL_ROWS;
        const float *wf = weight_panel(w, r0, rows, scratch, n_threads);
        const float beta = accumulate || r0 > 0 ? 1.0f : 0.0f;
        const int64_t chunks = row_chunks(n, n * rows * in, n_threads);
        /* dx[t] += Σ_r dy[t][r] W[r]: the panel's rows of Wᵀ dy. */
#pragma omp parallel for num_threads(n_threads) schedule(static) if (chunks > 1)
        for (int64_t ch = 0; ch < chunks; ch++) {
            const int64_t t0 = n * ch / chunks, t1 = n * (ch + 1) / chunks;
            if (t1 > t0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(t1 - t0), (int)in, (int)rows, 1.0f,
                            dy + t0 * out + r0, (int)out, wf, (int)in, beta, dx + t0 * in, (int)in);
        }
    }
}

/* ---- the model ------------------------------------------------------ */

/* y = x Wᵀ as inference computes it: with act_round, a block type whose
 * matmul takes the integer-dot route (presso_matmul: activations quantized to
 * the type's vec_dot_type, Q8_0 for Q4_0) sees its input rows rounded through
 * that 8-bit type first. The backward treats the rounding as the identity
 * (straight-through estimator, Bengio et al. 2013): it only rounds the
 * forward, so a prompt is trained on the function it will run through. */
static void linear_fwd(presso_grad_state *g, const presso_tensor *w, const float *x, int64_t n, float *y) {
    const presso_kernels *k = presso_kernels_active();
    const presso_type act = presso_vec_dot_type(w->type);
    const int64_t in = w->ne[0];
    if (g->act_round && act != PRESSO_TYPE_F32 && k->vec_dot_q[w->type] && k->quantize_act[act] &&
        presso_row_bytes(act, in) > 0) {
        const presso_type_traits *at = presso_type_traits_of(act);
        for (int64_t t = 0; t < n; t++) {
            k->quantize_act[act](x + t * in, g->x_q, in);
            at->to_float(g->x_q, g->x_round + t * in, in);
        }
        x = g->x_round;
    }
    presso_grad_linear_fwd(w, x, n, y, g->lin_scratch, g->n_threads);
}

presso_status presso_grad_forward(presso_grad_state *g, const float *x, int32_t n, const float *pre_k,
                                  const float *pre_v, int32_t n_prefix, float *logits, int32_t first_logit) {
    const presso_model *m = g->model;
    const presso_llama_config *c = &m->config;
    if (n <= 0 || n > g->max_rows)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "forward of %d rows (the gradient state takes 1..%d)", n,
                           g->max_rows);
    if (n_prefix < 0 || n_prefix > g->max_prefix || (n_prefix > 0 && (!pre_k || !pre_v)))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%d prefix positions (the gradient state takes 0..%d)", n_prefix,
                           g->max_prefix);
    if (first_logit < 0 || first_logit > n)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "first logit %d outside the %d rows", first_logit, n);
    g->n = n;
    g->n_prefix = n_prefix;
    g->first_logit = first_logit;
    const int64_t dim = c->dim, hd = c->head_dim, q_dim = (int64_t)c->n_heads * hd,
                  kv_dim = (int64_t)c->n_kv_heads * hd, hidden = c->hidden_dim;
    const int nt = g->n_threads;
    const float *cur = x;
    for (int32_t l = 0; l < c->n_layers; l++) {
        const presso_llama_layer *L = &m->layers[l];
        layer_acts *a = &g->acts[l];
        const float *attn_norm = g->norms + (int64_t)(2 * l) * dim, *ffn_norm = g->norms + (int64_t)(2 * l + 1) * dim;
        memcpy(a->x_in, cur, sizeof(float) * (size_t)(n * dim));
        for (int32_t t = 0; t < n; t++)
            a->rstd1[t] = presso_grad_rmsnorm_fwd(a->x_in + t * dim, attn_norm, dim, c->norm_eps, a->xn1 + t * dim);
        if (n_prefix > 0) {
            memcpy(a->k, pre_k + (int64_t)l * n_prefix * kv_dim, sizeof(float) * (size_t)(n_prefix * kv_dim));
            memcpy(a->v, pre_v + (int64_t)l * n_prefix * kv_dim, sizeof(float) * (size_t)(n_prefix * kv_dim));
        }
        float *k_rows = a->k + (int64_t)n_prefix * kv_dim, *v_rows = a->v + (int64_t)n_prefix * kv_dim;
        linear_fwd(g, &L->wq, a->xn1, n, a->q);
        linear_fwd(g, &L->wk, a->xn1, n, k_rows);
        linear_fwd(g, &L->wv, a->xn1, n, v_rows);
        for (int32_t t = 0; t < n; t++) {
            const int64_t pos = (int64_t)n_prefix + t;
            const float *cr = g->rope_cos + pos * hd / 2, *sr = g->rope_sin + pos * hd / 2;
            presso_grad_rope(a->q + t * q_dim, c->n_heads, c->head_dim, cr, sr, c->rope_style, false);
            presso_grad_rope(k_rows + t * kv_dim, c->n_kv_heads, c->head_dim, cr, sr, c->rope_style, false);
        }
        presso_grad_attention_fwd(c, a->q, a->k, a->v, n, n_prefix, a->att, g->attn_scratch, nt);
        linear_fwd(g, &L->wo, a->att, n, a->x_mid);
        for (int64_t i = 0; i < n * dim; i++) a->x_mid[i] += a->x_in[i];
        for (int32_t t = 0; t < n; t++)
            a->rstd2[t] = presso_grad_rmsnorm_fwd(a->x_mid + t * dim, ffn_norm, dim, c->norm_eps, a->xn2 + t * dim);
        linear_fwd(g, &L->w_gate, a->xn2, n, a->gate);
        linear_fwd(g, &L->w_up, a->xn2, n, a->up);
        presso_grad_swiglu_fwd(a->gate, a->up, n * hidden, a->h);
        float *next = l + 1 < c->n_layers ? g->acts[l + 1].x_in : g->x_final;
        linear_fwd(g, &L->w_down, a->h, n, next);
        for (int64_t i = 0; i < n * dim; i++) next[i] += a->x_mid[i];
        cur = next;
    }
    if (c->n_layers == 0) memcpy(g->x_final, x, sizeof(float) * (size_t)(n * dim));
    const float *out_norm = g->norms + (int64_t)(2 * c->n_layers) * dim;
    for (int32_t t = 0; t < n; t++)
        g->rstd_final[t] = presso_grad_rmsnorm_fwd(g->x_final + t * dim, out_norm, dim, c->norm_eps, g->xn_final + t * dim);
    if (logits && first_logit < n)
        linear_fwd(g, &m->output, g->xn_final + (int64_t)first_logit * dim, n - first_logit, logits);
    return PRESSO_OK;
}

presso_status presso_grad_backward(presso_grad_state *g, const float *dlogits, float *dx_out, float *dpre_k,
                                   float *dpre_v) {
    const presso_model *m = g->model;
    const presso_llama_config *c = &m->config;
    if (g->n <= 0) return presso_fail(PRESSO_ERR_INVALID_ARG, "backward without a forward");
    const int32_t n = g->n, P = g->n_prefix, first = g->first_logit;
    const int64_t dim = c->dim, hd = c->head_dim, q_dim = (int64_t)c->n_heads * hd,
                  kv_dim = (int64_t)c->n_kv_heads * hd, hidden = c->hidden_dim;
    const int nt = g->n_threads;
    float *lin = g->lin_scratch, *dx = g->dx, *dxn = g->dxn, *dmid = g->dmid;
    /* logits = norm(x_final) W_outᵀ; rows before first_logit have no loss. */
    memset(dxn, 0, sizeof(float) * (size_t)(n * dim));
    if (first < n) presso_grad_linear_bwd(&m->output, dlogits, n - first, dxn + (int64_t)first * dim, false, lin, nt);
    const float *out_norm = g->norms + (int64_t)(2 * c->n_layers) * dim;
    for (int32_t t = 0; t < n; t++)
        presso_grad_rmsnorm_bwd(g->x_final + t * dim, out_norm, dim, g->rstd_final[t], dxn + t * dim, dx + t * dim);
    for (int32_t l = c->n_layers - 1; l >= 0; l--) {
        const presso_llama_layer *L = &m->layers[l];
        const layer_acts *a = &g->acts[l];
        const float *attn_norm = g->norms + (int64_t)(2 * l) * dim, *ffn_norm = g->norms + (int64_t)(2 * l + 1) * dim;
        /* x_out = x_mid + down(swiglu(gate(xn2), up(xn2))) */
        presso_grad_linear_bwd(&L->w_down, dx, n, g->dh, false, lin, nt);
        presso_grad_swiglu_bwd(a->gate, a->up, g->dh, n * hidden, g->dgate, g->dup);
        presso_grad_linear_bwd(&L->w_gate, g->dgate, n, dxn, false, lin, nt);
        presso_grad_linear_bwd(&L->w_up, g->dup, n, dxn, true, lin, nt);
        for (int32_t t = 0; t < n; t++) {
            presso_grad_rmsnorm_bwd(a->x_mid + t * dim, ffn_norm, dim, a->rstd2[t], dxn + t * dim, dmid + t * dim);
            for (int64_t i = 0; i < dim; i++) dmid[t * dim + i] += dx[t * dim + i];
        }
        /* x_mid = x_in + wo(attention(rope(q), [prefix; rope(k)], [prefix; v])) */
        presso_grad_linear_bwd(&L->wo, dmid, n, g->datt, false, lin, nt);
        presso_grad_attention_bwd(c, a->q, a->k, a->v, n, P, g->datt, g->dq, g->dk, g->dv, g->attn_scratch, nt);
        if (dpre_k && P > 0)
            for (int64_t i = 0; i < (int64_t)P * kv_dim; i++) dpre_k[(int64_t)l * P * kv_dim + i] += g->dk[i];
        if (dpre_v && P > 0)
            for (int64_t i = 0; i < (int64_t)P * kv_dim; i++) dpre_v[(int64_t)l * P * kv_dim + i] += g->dv[i];
        float *dk_rows = g->dk + (int64_t)P * kv_dim, *dv_rows = g->dv + (int64_t)P * kv_dim;
        for (int32_t t = 0; t < n; t++) {
            const int64_t pos = (int64_t)P + t;
            const float *cr = g->rope_cos + pos * hd / 2, *sr = g->rope_sin + pos * hd / 2;
            presso_grad_rope(g->dq + t * q_dim, c->n_heads, c->head_dim, cr, sr, c->rope_style, true);
            presso_grad_rope(dk_rows + t * kv_dim, c->n_kv_heads, c->head_dim, cr, sr, c->rope_style, true);
        }
        presso_grad_linear_bwd(&L->wq, g->dq, n, dxn, false, lin, nt);
        presso_grad_linear_bwd(&L->wk, dk_rows, n, dxn, true, lin, nt);
        presso_grad_linear_bwd(&L->wv, dv_rows, n, dxn, true, lin, nt);
        for (int32_t t = 0; t < n; t++) {
            presso_grad_rmsnorm_bwd(a->x_in + t * dim, attn_norm, dim, a->rstd1[t], dxn + t * dim, dx + t * dim);
            for (int64_t i = 0; i < dim; i++) dx[t * dim + i] += dmid[t * dim + i];
        }
    }
    if (dx_out) memcpy(dx_out, dx, sizeof(float) * (size_t)(n * dim));
    return PRESSO_OK;
}

void presso_grad_layer_kv(const presso_grad_state *g, int32_t layer, const float **keys, const float **values) {
    *keys = g->acts[layer].k;
    *values = g->acts[layer].v;
}
