/* Gradient checks of the backward pass (src/model/llama_grad.c) and the
 * prompt-tuning losses against central finite differences in fp32: every op
 * on its own, then whole models (stories260K fp32, q8_0 and q4_0 GGUFs,
 * tinystories-656k) w.r.t. a soft prompt and prefix keys/values. Relative
 * error = ‖g_fd − g‖ / ‖g‖ over the checked coordinates, < 1e-3. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/timer.h"
#include "harness.h"
#include "model/llama.h"
#include "model/llama_grad.h"
#include "tensor/matmul.h"
#include "tensor/types.h"
#include "tune/adamw.h"
#include "tune/loss.h"
#include "tune/prompt.h"

static presso_rng rng;

static void randn(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * presso_rng_normal(&rng);
}

static double rel_err(const double *fd, const double *an, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += (fd[i] - an[i]) * (fd[i] - an[i]);
        den += an[i] * an[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* ---- per-op checks: loss = Σ r ∘ op(x) in double ------------------- */

static double dotd(const float *a, const float *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static void check_rmsnorm(void) {
    enum { N = 64 };
    float x[N], w[N], r[N], y[N], dx[N];
    randn(x, N, 1.0f);
    randn(w, N, 1.0f);
    randn(r, N, 1.0f);
    const float rstd = presso_grad_rmsnorm_fwd(x, w, N, 1e-5f, y);
    presso_grad_rmsnorm_bwd(x, w, N, rstd, r, dx);
    double fd[N], an[N];
    const float eps = 1e-2f;
    for (int i = 0; i < N; i++) {
        const float keep = x[i];
        x[i] = keep + eps;
        presso_grad_rmsnorm_fwd(x, w, N, 1e-5f, y);
        const double lp = dotd(r, y, N);
        x[i] = keep - eps;
        presso_grad_rmsnorm_fwd(x, w, N, 1e-5f, y);
        const double lm = dotd(r, y, N);
        x[i] = keep;
        fd[i] = (lp - lm) / (2.0 * eps);
        an[i] = dx[i];
    }
    const double e = rel_err(fd, an, N);
    CHECK_MSG(e < 1e-3, "rmsnorm rel err %.3g", e);
}

static void check_rope(presso_rope_style style) {
    enum { HD = 16, H = 3, N = HD * H };
    float x[N], y[N], r[N], cs[HD / 2], sn[HD / 2];
    randn(x, N, 1.0f);
    randn(r, N, 1.0f);
    for (int i = 0; i < HD / 2; i++) {
        cs[i] = cosf(0.7f * (float)(i + 1));
        sn[i] = sinf(0.7f * (float)(i + 1));
    }
    /* Backward: dx = R(-θ) r. */
    float dx[N];
    memcpy(dx, r, sizeof r);
    presso_grad_rope(dx, H, HD, cs, sn, style, true);
    double fd[N], an[N];
    const float eps = 1e-2f;
    for (int i = 0; i < N; i++) {
        memcpy(y, x, sizeof x);
        y[i] += eps;
        presso_grad_rope(y, H, HD, cs, sn, style, false);
        const double lp = dotd(r, y, N);
        memcpy(y, x, sizeof x);
        y[i] -= eps;
        presso_grad_rope(y, H, HD, cs, sn, style, false);
        fd[i] = (lp - dotd(r, y, N)) / (2.0 * eps);
        an[i] = dx[i];
    }
    const double e = rel_err(fd, an, N);
    CHECK_MSG(e < 1e-3, "rope style %d rel err %.3g", (int)style, e);
    /* inverse undoes forward */
    memcpy(y, x, sizeof x);
    presso_grad_rope(y, H, HD, cs, sn, style, false);
    presso_grad_rope(y, H, HD, cs, sn, style, true);
    double md = 0;
    for (int i = 0; i < N; i++) md = fmax(md, fabs(y[i] - x[i]));
    CHECK(md < 1e-5);
}

static void check_swiglu(void) {
    enum { N = 64 };
    float g[N], u[N], h[N], r[N], dg[N], du[N];
    randn(g, N, 2.0f);
    randn(u, N, 1.0f);
    randn(r, N, 1.0f);
    presso_grad_swiglu_bwd(g, u, r, N, dg, du);
    double fd[2 * N], an[2 * N];
    const float eps = 1e-2f;
    for (int i = 0; i < 2 * N; i++) {
        float *v = i < N ? g : u;
        const int j = i % N;
        const float keep = v[j];
        v[j] = keep + eps;
        presso_grad_swiglu_fwd(g, u, N, h);
        const double lp = dotd(r, h, N);
        v[j] = keep - eps;
        presso_grad_swiglu_fwd(g, u, N, h);
        const double lm = dotd(r, h, N);
        v[j] = keep;
        fd[i] = (lp - lm) / (2.0 * eps);
        an[i] = i < N ? dg[j] : du[j];
    }
    const double e = rel_err(fd, an, 2 * N);
    CHECK_MSG(e < 1e-3, "swiglu rel err %.3g", e);
}

static void check_attention(int n_threads) {
    /* GQA: 4 query heads over 2 KV heads, 3 prefix positions + 5 rows. */
    presso_llama_config c = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 8};
    enum { N = 5, P = 3, QD = 32, KVD = 16 };
    float q[N * QD], k[(N + P) * KVD], v[(N + P) * KVD], out[N * QD], r[N * QD];
    float dq[N * QD], dk[(N + P) * KVD], dv[(N + P) * KVD];
    float *scratch = malloc(sizeof(float) * (size_t)presso_grad_attention_scratch_floats(N + P, n_threads));
    randn(q, N * QD, 1.0f);
    randn(k, (N + P) * KVD, 1.0f);
    randn(v, (N + P) * KVD, 1.0f);
    randn(r, N * QD, 1.0f);
    presso_grad_attention_bwd(&c, q, k, v, N, P, r, dq, dk, dv, scratch, n_threads);
    float *all[3] = {q, k, v};
    const float *grads[3] = {dq, dk, dv};
    const int sizes[3] = {N * QD, (N + P) * KVD, (N + P) * KVD};
    for (int which = 0; which < 3; which++) {
        double fd[(N + P) * KVD > N * QD ? (N + P) * KVD : N * QD], an[sizeof fd / sizeof fd[0]];
        const float eps = 1e-2f;
        for (int i = 0; i < sizes[which]; i++) {
            float *x = all[which];
            const float keep = x[i];
            x[i] = keep + eps;
            presso_grad_attention_fwd(&c, q, k, v, N, P, out, scratch, n_threads);
            const double lp = dotd(r, out, N * QD);
            x[i] = keep - eps;
            presso_grad_attention_fwd(&c, q, k, v, N, P, out, scratch, n_threads);
            const double lm = dotd(r, out, N * QD);
            x[i] = keep;
            fd[i] = (lp - lm) / (2.0 * eps);
            an[i] = grads[which][i];
        }
        const double e = rel_err(fd, an, sizes[which]);
        CHECK_MSG(e < 1e-3, "attention d%c rel err %.3g (threads %d)", "qkv"[which], e, n_threads);
    }
    free(scratch);
}

/* A linear layer of the given type: y = x Wᵀ, checked against its own
 * forward (and the forward against the dequantized weights). */
static void check_linear(presso_type type, int nt) {
    enum { IN = 64, OUT = 300, N = 5 }; /* OUT > one panel of 256 rows */
    const presso_type_traits *t = presso_type_traits_of(type);
    float *wf = malloc(sizeof(float) * IN * OUT);
    randn(wf, IN * OUT, 0.5f);
    const int64_t rb = presso_row_bytes(type, IN);
    uint8_t *wq = malloc((size_t)(rb * OUT));
    if (type == PRESSO_TYPE_F32) memcpy(wq, wf, sizeof(float) * IN * OUT);
    else t->from_float_ref(wf, wq, (int64_t)IN * OUT);
    presso_tensor w = {.type = type, .n_dims = 2, .ne = {IN, OUT, 1, 1}, .data = wq, .nbytes = (size_t)(rb * OUT)};
    float *deq = malloc(sizeof(float) * IN * OUT);
    t->to_float(wq, deq, (int64_t)IN * OUT);
    float x[N * IN], y[N * OUT], r[N * OUT], dx[N * IN];
    float *scratch = malloc(sizeof(float) * (size_t)presso_grad_linear_scratch_floats(IN));
    randn(x, N * IN, 1.0f);
    randn(r, N * OUT, 1.0f);
    presso_grad_linear_fwd(&w, x, N, y, scratch, nt);
    double md = 0;
    for (int t_ = 0; t_ < N; t_++)
        for (int o = 0; o < OUT; o++) md = fmax(md, fabs(y[t_ * OUT + o] - dotd(x + t_ * IN, deq + o * IN, IN)));
    CHECK_MSG(md < 1e-4, "linear %s forward vs dequantized: %.3g", presso_type_name(type), md);
    presso_grad_linear_bwd(&w, r, N, dx, false, scratch, nt);
    double fd[N * IN], an[N * IN];
    const float eps = 1e-2f;
    for (int i = 0; i < N * IN; i++) {
        const float keep = x[i];
        x[i] = keep + eps;
        presso_grad_linear_fwd(&w, x, N, y, scratch, nt);
        const double lp = dotd(r, y, N * OUT);
        x[i] = keep - eps;
        presso_grad_linear_fwd(&w, x, N, y, scratch, nt);
        const double lm = dotd(r, y, N * OUT);
        x[i] = keep;
        fd[i] = (lp - lm) / (2.0 * eps);
        an[i] = dx[i];
    }
    const double e = rel_err(fd, an, N * IN);
    CHECK_MSG(e < 1e-3, "linear %s rel err %.3g", presso_type_name(type), e);
    /* accumulate adds */
    float dx2[N * IN];
    for (int i = 0; i < N * IN; i++) dx2[i] = 1.0f;
    presso_grad_linear_bwd(&w, r, N, dx2, true, scratch, nt);
    md = 0;
    for (int i = 0; i < N * IN; i++) md = fmax(md, fabs(dx2[i] - 1.0f - dx[i]));
    CHECK(md < 1e-4);
    free(scratch);
    free(deq);
    free(wq);
    free(wf);
}

static void check_losses(void) {
    enum { V = 40 };
    float z[V], zt[V], dz[V], work[2 * V];
    randn(z, V, 2.0f);
    randn(zt, V, 2.0f);
    const presso_loss_kind kinds[] = {PRESSO_LOSS_CE, PRESSO_LOSS_KD_FWD, PRESSO_LOSS_KD_REV, PRESSO_LOSS_MIX};
    for (int kk = 0; kk < 4; kk++) {
        presso_loss_row(kinds[kk], 0.3f, z, zt, 7, V, 1.0f, dz, work);
        double fd[V], an[V];
        const float eps = 1e-2f;
        for (int i = 0; i < V; i++) {
            const float keep = z[i];
            z[i] = keep + eps;
            const double lp = presso_loss_row(kinds[kk], 0.3f, z, zt, 7, V, 1.0f, NULL, work);
            z[i] = keep - eps;
            const double lm = presso_loss_row(kinds[kk], 0.3f, z, zt, 7, V, 1.0f, NULL, work);
            z[i] = keep;
            fd[i] = (lp - lm) / (2.0 * eps);
            an[i] = dz[i];
        }
        const double e = rel_err(fd, an, V);
        CHECK_MSG(e < 1e-3, "loss %s rel err %.3g", presso_loss_name(kinds[kk]), e);
    }
    /* KL of a distribution with itself is 0, and so is its gradient. */
    CHECK_NEAR(presso_loss_row(PRESSO_LOSS_KD_FWD, 0, z, z, 0, V, 1.0f, dz, work), 0.0, 1e-9);
    CHECK_NEAR(presso_loss_row(PRESSO_LOSS_KD_REV, 0, z, z, 0, V, 1.0f, dz, work), 0.0, 1e-9);
    double mx = 0;
    for (int i = 0; i < V; i++) mx = fmax(mx, fabs(dz[i]));
    CHECK(mx < 1e-7);
    /* CE = -log softmax */
    double lse = 0;
    for (int i = 0; i < V; i++) lse += exp(z[i]);
    CHECK_NEAR(presso_loss_row(PRESSO_LOSS_CE, 0, z, NULL, 3, V, 1.0f, NULL, work), log(lse) - z[3], 1e-6);
}

static void check_adamw(void) {
    /* Decoupled decay: with a zero gradient, θ shrinks by lr·wd·θ only. */
    presso_adamw o;
    CHECK_OK(presso_adamw_init(&o, 2, 0.1f));
    float th[2] = {1.0f, -2.0f}, g0[2] = {0, 0};
    presso_adamw_step(&o, th, g0, 0.5f);
    CHECK_NEAR(th[0], 0.95, 1e-6);
    CHECK_NEAR(th[1], -1.9, 1e-6);
    /* First step of Adam moves by lr·sign(g) (bias-corrected). */
    float g1[2] = {3.0f, -0.01f}, t2[2] = {0, 0};
    presso_adamw o2;
    CHECK_OK(presso_adamw_init(&o2, 2, 0.0f));
    presso_adamw_step(&o2, t2, g1, 0.01f);
    CHECK_NEAR(t2[0], -0.01, 1e-6);
    CHECK_NEAR(t2[1], 0.01, 1e-5);
    presso_adamw_free(&o);
    presso_adamw_free(&o2);
    CHECK_NEAR(presso_lr_at(0, 100, 10, 1.0f, 0.1f), 0.1, 1e-6);
    CHECK_NEAR(presso_lr_at(9, 100, 10, 1.0f, 0.1f), 1.0, 1e-6);
    CHECK_NEAR(presso_lr_at(99, 100, 10, 1.0f, 0.1f), 0.1, 1e-6);
    CHECK_NEAR(presso_lr_at(10, 100, 10, 1.0f, 0.0f), 1.0, 1e-6);
    float g[2] = {3, 4};
    CHECK_NEAR(presso_clip_grad_norm(g, 2, 1.0), 5.0, 1e-9);
    CHECK_NEAR(g[0], 0.6, 1e-6);
}

/* ---- whole model ----------------------------------------------------- */

typedef struct {
    const presso_model *m;
    presso_grad_state *g;
    int32_t k, L, P; /* prompt rows, text tokens, prefix positions */
    const int32_t *tokens;
    float *x, *logits, *dlogits, *work;
    const float *pre_k, *pre_v;
} model_case;

/* Mean CE of the text tokens (rows k.. predict tokens[1..]). */
static double model_loss(model_case *mc, const float *prompt, bool grad) {
    const presso_model *m = mc->m;
    const int64_t dim = m->config.dim, V = m->config.vocab_size;
    memcpy(mc->x, prompt, sizeof(float) * (size_t)(mc->k * dim));
    presso_llama_embed(m, mc->tokens, mc->L, mc->x + (int64_t)mc->k * dim);
    presso_status st = presso_grad_forward(mc->g, mc->x, mc->k + mc->L, mc->pre_k, mc->pre_v, mc->P, mc->logits, mc->k);
    CHECK_OK(st);
    double sum = 0;
    const float scale = 1.0f / (float)(mc->L - 1);
    for (int32_t j = 0; j + 1 < mc->L; j++)
        sum += presso_loss_row(PRESSO_LOSS_CE, 0, mc->logits + j * V, NULL, mc->tokens[j + 1], (int32_t)V, scale,
                               grad ? mc->dlogits + j * V : NULL, mc->work);
    if (grad) memset(mc->dlogits + (int64_t)(mc->L - 1) * V, 0, sizeof(float) * (size_t)V);
    return sum / (mc->L - 1);
}

/* Directional derivatives of the loss w.r.t. the soft prompt (and the
 * prefix when P > 0) along the gradient and 3 random directions, plus the 8
 * coordinates with the largest gradients, against central differences. */
static void check_model(const char *label, const char *path, const char *tok_path) {
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(path, tok_path, &m));
    if (!m) return;
    const presso_llama_config *c = &m->config;
    const int32_t k = 3, L = 12, P = 2;
    const int64_t dim = c->dim, V = c->vocab_size, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    const int64_t n_prompt = k * dim, n_pre = (int64_t)c->n_layers * P * kvd;
    int32_t tokens[12];
    for (int i = 0; i < L; i++) tokens[i] = 1 + (int32_t)(presso_rng_u32(&rng) % (uint32_t)(V - 1));
    model_case mc = {.m = m, .k = k, .L = L, .P = P, .tokens = tokens};
    CHECK_OK(presso_grad_state_new(m, k + L, P, 1, &mc.g));
    float *prompt = malloc(sizeof(float) * (size_t)n_prompt);
    float *pk = malloc(sizeof(float) * (size_t)n_pre), *pv = malloc(sizeof(float) * (size_t)n_pre);
    mc.x = malloc(sizeof(float) * (size_t)((k + L) * dim));
    mc.logits = malloc(sizeof(float) * (size_t)(L * V));
    mc.dlogits = malloc(sizeof(float) * (size_t)(L * V));
    mc.work = malloc(sizeof(float) * (size_t)(2 * V));
    float *dx = malloc(sizeof(float) * (size_t)((k + L) * dim));
    float *dpk = calloc((size_t)n_pre, sizeof(float)), *dpv = calloc((size_t)n_pre, sizeof(float));
    /* A prompt of real embedding rows; a prefix of the model's own keys/values
     * scaled to their magnitude. */
    int32_t init[3] = {5, 17, 100 % (int32_t)V};
    presso_llama_embed(m, init, k, prompt);
    randn(pk, n_pre, 0.5f);
    randn(pv, n_pre, 0.5f);
    mc.pre_k = pk;
    mc.pre_v = pv;

    model_loss(&mc, prompt, true);
    CHECK_OK(presso_grad_backward(mc.g, mc.dlogits, dx, dpk, dpv));
    /* all parameters in one vector: prompt, prefix keys, prefix values */
    const int64_t n_all = n_prompt + 2 * n_pre;
    float *grad = malloc(sizeof(float) * (size_t)n_all), *dir = malloc(sizeof(float) * (size_t)n_all);
    memcpy(grad, dx, sizeof(float) * (size_t)n_prompt);
    memcpy(grad + n_prompt, dpk, sizeof(float) * (size_t)n_pre);
    memcpy(grad + n_prompt + n_pre, dpv, sizeof(float) * (size_t)n_pre);
    float *params[3] = {prompt, pk, pv};
    const int64_t offs[3] = {0, n_prompt, n_prompt + n_pre}, lens[3] = {n_prompt, n_pre, n_pre};
    enum { N_DIRS = 4, N_COORDS = 8 };
    double fd[N_DIRS + N_COORDS], an[N_DIRS + N_COORDS];
    int64_t coord[N_COORDS];
    for (int i = 0; i < N_COORDS; i++) { /* the largest |g| coordinates, greedily */
        coord[i] = -1;
        for (int64_t j = 0; j < n_all; j++) {
            bool used = false;
            for (int u = 0; u < i; u++) used |= coord[u] == j;
            if (!used && (coord[i] < 0 || fabsf(grad[j]) > fabsf(grad[coord[i]]))) coord[i] = j;
        }
    }
    for (int d = 0; d < N_DIRS + N_COORDS; d++) {
        if (d == 0) memcpy(dir, grad, sizeof(float) * (size_t)n_all);
        else if (d < N_DIRS) randn(dir, n_all, 1.0f);
        else {
            memset(dir, 0, sizeof(float) * (size_t)n_all);
            dir[coord[d - N_DIRS]] = 1.0f;
        }
        double nrm = 0;
        for (int64_t i = 0; i < n_all; i++) nrm += (double)dir[i] * dir[i];
        nrm = sqrt(nrm);
        for (int64_t i = 0; i < n_all; i++) dir[i] = (float)(dir[i] / nrm);
        an[d] = dotd(grad, dir, n_all);
        const float eps = 1e-2f;
        double l[2];
        for (int s = 0; s < 2; s++) {
            for (int b = 0; b < 3; b++)
                for (int64_t i = 0; i < lens[b]; i++) params[b][i] += (s == 0 ? eps : -2 * eps) * dir[offs[b] + i];
            l[s] = model_loss(&mc, prompt, false);
        }
        for (int b = 0; b < 3; b++)
            for (int64_t i = 0; i < lens[b]; i++) params[b][i] += eps * dir[offs[b] + i];
        fd[d] = (l[0] - l[1]) / (2.0 * eps);
        /* Error of the directional derivative relative to ‖g‖ (= an[0]):
         * ‖g_fd − g‖/‖g‖ measured along this direction. */
        const double e = fabs(fd[d] - an[d]) / fabs(an[0]);
        CHECK_MSG(e < 1e-3, "%s: direction %d: fd %.8g vs backward %.8g (rel %.3g)", label, d, fd[d], an[d], e);
    }
    const double e = rel_err(fd, an, N_DIRS + N_COORDS);
    printf("%s: whole-model rel err %.3g (|g| %.4g)\n", label, e, an[0]);
    CHECK_MSG(e < 1e-3, "%s: whole-model rel err %.3g", label, e);

    /* The gradient forward agrees with the inference forward (prompt rows via
     * presso_llama_forward_embd, prefix via seeded KV). Block types take the
     * integer-dot route at inference, so only F32 models must agree closely. */
    presso_llama_state *s = NULL;
    CHECK_OK(presso_llama_state_new(m, P + k + L, k + L, 1, &s));
    presso_llama_prefix pre = {.n_kv = P, .keys = pk, .values = pv, .n_embd = k, .embd = prompt};
    CHECK_OK(presso_llama_apply_prefix(s, &pre));
    CHECK(presso_llama_state_n_past(s) == P + k);
    float *ref = malloc(sizeof(float) * (size_t)(L * V));
    CHECK_OK(presso_llama_forward(s, tokens, L, ref, 0));
    /* the gradient forward with the prompt at positions P.. needs the prompt
     * rows after the prefix: exactly model_loss's layout */
    model_loss(&mc, prompt, false);
    double md = 0, mag = 0;
    for (int64_t i = 0; i < L * V; i++) {
        md = fmax(md, fabs(ref[i] - mc.logits[i]));
        mag = fmax(mag, fabs(ref[i]));
    }
    const bool f32 = m->layers[0].wq.type == PRESSO_TYPE_F32;
    printf("%s: inference vs gradient forward max |Δlogit| %.3g (max |logit| %.3g)\n", label, md, mag);
    CHECK_MSG(md < (f32 ? 1e-3 : 0.05) * fmax(mag, 1.0), "%s: forward mismatch %.3g", label, md);
    /* With activation rounding (check_act_rounding asserts it) the forward
     * follows inference's integer route; a value on an 8-bit rounding
     * boundary can still flip, so this case is only printed. */
    presso_grad_set_act_rounding(mc.g, true);
    model_loss(&mc, prompt, false);
    double mr = 0;
    for (int64_t i = 0; i < L * V; i++) mr = fmax(mr, fabs(ref[i] - mc.logits[i]));
    printf("%s: with activation rounding max |Δlogit| %.3g\n", label, mr);
    presso_grad_set_act_rounding(mc.g, false);
    free(ref);
    presso_llama_state_free(s);

    free(grad);
    free(dir);
    free(prompt);
    free(pk);
    free(pv);
    free(mc.x);
    free(mc.logits);
    free(mc.dlogits);
    free(mc.work);
    free(dx);
    free(dpk);
    free(dpv);
    presso_grad_state_free(mc.g);
    presso_model_free(m);
}

/* presso_grad_set_act_rounding: on a model whose block types take the
 * integer-dot route at inference (Q8_0 activations for Q4_0 and Q8_0), the
 * gradient forward with a soft prompt and a prefix gives inference's logits
 * up to float summation order; without rounding it is off by the 8-bit
 * activation error. */
static void check_act_rounding(const char *label, const char *path) {
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(path, NULL, &m));
    if (!m) return;
    const presso_llama_config *c = &m->config;
    const int32_t k = 3, L = 12, P = 2;
    const int64_t dim = c->dim, V = c->vocab_size, n_pre = (int64_t)c->n_layers * P * c->n_kv_heads * c->head_dim;
    int32_t tokens[12], init[3] = {5, 17, 100};
    for (int32_t i = 0; i < L; i++) tokens[i] = 1 + (int32_t)((i * 7919) % (V - 1));
    float *x = malloc(sizeof(float) * (size_t)((k + L) * dim)), *ref = malloc(sizeof(float) * (size_t)(L * V));
    float *lg = malloc(sizeof(float) * (size_t)(L * V));
    float *pk = malloc(sizeof(float) * (size_t)n_pre), *pv = malloc(sizeof(float) * (size_t)n_pre);
    for (int64_t i = 0; i < n_pre; i++) pk[i] = 0.5f * sinf(1.3f * (float)i), pv[i] = 0.5f * cosf(0.7f * (float)i);
    presso_llama_embed(m, init, k, x);
    presso_llama_state *s = NULL;
    CHECK_OK(presso_llama_state_new(m, P + k + L, k + L, 1, &s));
    presso_llama_prefix pre = {.n_kv = P, .keys = pk, .values = pv, .n_embd = k, .embd = x};
    CHECK_OK(presso_llama_apply_prefix(s, &pre));
    CHECK_OK(presso_llama_forward(s, tokens, L, ref, 0));
    presso_llama_embed(m, tokens, L, x + (int64_t)k * dim);
    presso_grad_state *g = NULL;
    CHECK_OK(presso_grad_state_new(m, k + L, P, 1, &g));
    double d[2] = {0, 0}, mag = 0;
    for (int on = 0; on < 2; on++) {
        presso_grad_set_act_rounding(g, on);
        CHECK_OK(presso_grad_forward(g, x, k + L, pk, pv, P, lg, k));
        for (int64_t i = 0; i < L * V; i++) d[on] = fmax(d[on], fabs(ref[i] - lg[i])), mag = fmax(mag, fabs(ref[i]));
    }
    printf("%s: inference vs gradient forward max |Δlogit| %.3g float activations, %.3g rounded\n", label, d[0], d[1]);
    CHECK_MSG(d[1] < 1e-4 * fmax(mag, 1.0), "%s: rounded forward off inference by %.3g", label, d[1]);
    CHECK_MSG(d[0] > 10 * d[1], "%s: rounding changed nothing (%.3g vs %.3g)", label, d[0], d[1]);
    presso_grad_state_free(g);
    presso_llama_state_free(s);
    free(x), free(ref), free(lg), free(pk), free(pv);
    presso_model_free(m);
}

static void check_prompt_file(void) {
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(presso_test_shared("models/stories260K/stories260K.bin"),
                               presso_test_shared("models/stories260K/tok512.bin"), &m));
    if (!m) return;
    presso_prompt *p = NULL, *q = NULL;
    CHECK_OK(presso_prompt_new(m, PRESSO_PROMPT_MODE_PREFIX, 4, &p));
    randn(p->data, p->n_floats, 1.0f);
    p->meta.steps = 7;
    const char *path = PRESSO_BINARY_DIR "/test_grad_prompt.bin";
    CHECK_OK(presso_prompt_save(p, path));
    CHECK_OK(presso_prompt_load(path, &q));
    if (q) {
        CHECK(q->mode == PRESSO_PROMPT_MODE_PREFIX && q->k == 4 && q->meta.steps == 7);
        CHECK(memcmp(q->data, p->data, sizeof(float) * (size_t)p->n_floats) == 0);
        CHECK_OK(presso_prompt_check(q, m, path));
        /* another hidden size is refused */
        q->dim += 1;
        CHECK(presso_prompt_check(q, m, path) == PRESSO_ERR_SHAPE);
        CHECK(strstr(presso_last_error(), "hidden size") != NULL);
        presso_prompt_free(q);
        q = NULL;
    }
    /* corrupt payload: checksum error; truncated file: format error */
    size_t size = 0;
    uint8_t *bytes = presso_test_read_file(path, &size);
    bytes[size - 3] ^= 0x40;
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, size, f);
    fclose(f);
    CHECK(presso_prompt_load(path, &q) == PRESSO_ERR_FORMAT);
    f = fopen(path, "wb");
    fwrite(bytes, 1, size / 2, f);
    fclose(f);
    CHECK(presso_prompt_load(path, &q) == PRESSO_ERR_FORMAT);
    free(bytes);
    remove(path);
    presso_prompt_free(p);
    presso_model_free(m);
}

#define TIMED(call)                                                                                \
    do {                                                                                           \
        const double t0_ = presso_now_seconds();                                                   \
        call;                                                                                      \
        printf("%-60s %.2f s\n", #call, presso_now_seconds() - t0_);                               \
    } while (0)

int main(void) {
    presso_rng_seed(&rng, 42);
    TIMED(check_rmsnorm());
    TIMED(check_rope(PRESSO_ROPE_INTERLEAVED));
    TIMED(check_rope(PRESSO_ROPE_HALF));
    TIMED(check_swiglu());
    TIMED(check_attention(1));
    TIMED(check_attention(2));
    TIMED(check_linear(PRESSO_TYPE_F32, 2));
    TIMED(check_linear(PRESSO_TYPE_F16, 1));
    TIMED(check_linear(PRESSO_TYPE_Q8_0, 1));
    TIMED(check_linear(PRESSO_TYPE_Q4_0, 1));
    TIMED(check_linear(PRESSO_TYPE_Q5_1, 1));
    TIMED(check_losses());
    TIMED(check_adamw());
    const char *tok = presso_test_shared("models/stories260K/tok512.bin");
    TIMED(check_model("stories260K f32", presso_test_shared("models/stories260K/stories260K.bin"), tok));
    TIMED(check_model("stories260K q8_0", presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-q8_0.gguf"), NULL));
    TIMED(check_act_rounding("stories260K q4_0", presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-q4_0.gguf")));
    TIMED(check_act_rounding("stories260K q8_0", presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-q8_0.gguf")));
    TIMED(check_model("stories260K q4_0", presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-q4_0.gguf"), NULL));
    TIMED(check_model("tinystories-656k f32", presso_test_shared("models/tinystories-656k"), NULL));
    TIMED(check_prompt_file());
    return presso_test_finish();
}
