/* AWQ (Lin et al. 2023, "AWQ: Activation-aware Weight Quantization for LLM
 * Compression and Acceleration") as a block transform (transform.h).
 *
 * For each group of linears that read one input (smooth.h: attn_q/k/v,
 * attn_output, ffn_gate/up, ffn_down) the input channels get scales
 * s_j = mean|x_j|^α (§3.2, Eq. 5; normalized by sqrt(max s · min s) as the
 * reference implementation does), with α on a grid of `grid` points in
 * [0, 1] chosen to minimize the group's output error (Eq. 4)
 *   Σ_linears ‖Q(W·diag(s))·diag(s)⁻¹·X − W·X‖²
 * where Q is the target type's reference quantizer (RTN). With H = Σ x xᵀ
 * over the calibration inputs (calib.c) that error is exactly
 *   Σ_rows Δ_r H Δ_rᵀ,  Δ = Q(W·diag(s))·diag(s)⁻¹ − W,
 * so the search needs no forward passes. α = 0 (s = 1) is plain RTN and is
 * on the grid: the chosen α never does worse on this objective.
 * The scales are folded into the block (smooth.c), exactly. The optional
 * clip search (§3.3 of the reference code, "auto_clip") then shrinks each
 * quantization block's range: for every row and block it tries max|w| ×
 * (1 − k/40), k = 0..20, quantizing clamp(w, ±m) and keeping the m with the
 * least output error Δ_b H_bb Δ_bᵀ on that block's inputs, and clamps the
 * weights to it. The per-linear pass (RTN or GPTQ) runs afterwards on the
 * transformed block. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "compress/smooth.h"
#include "compress/transform.h"
#include "core/error.h"
#include "tensor/matmul.h"
#include "tensor/types.h"

/* The linears (0..6 as in smooth.h) of each capture point's group. */
static const int group_first[4] = {0, 3, 4, 6}, group_last[4] = {2, 3, 5, 6};

/* Clip search on one linear's stored (scaled) weights v [out][in], whose
 * inputs have the float second moment hs [in][in] (already in the scaled
 * domain). Clamps v in place. Types without blocks of >= 16 are left alone. */
static void clip_search(float *v, int64_t out, int64_t in, const float *hs, presso_type type, int nt) {
    const presso_type_traits *tr = presso_type_traits_of(type);
    const int64_t bs = tr->block_size;
    if (!tr->is_quantized || bs < 16 || tr->row_header_bytes || in % bs) return;
    enum { STEPS = 21 };
    float *buf = malloc(sizeof(float) * (size_t)(3 * bs * nt));
    uint8_t *qbuf = malloc(tr->block_bytes * (size_t)nt);
    if (!buf || !qbuf) {
        free(buf);
        free(qbuf);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t r = 0; r < out; r++) {
        const int th = omp_get_thread_num();
        float *c = buf + 3 * bs * th, *d = c + bs, *hd = d + bs;
        uint8_t *q = qbuf + tr->block_bytes * (size_t)th;
        for (int64_t b0 = 0; b0 < in; b0 += bs) {
            float *w = v + r * in + b0;
            float amax = 0.0f;
            for (int64_t j = 0; j < bs; j++) amax = fmaxf(amax, fabsf(w[j]));
            if (amax == 0.0f) continue;
            double best = INFINITY;
            float best_m = amax;
            for (int k = 0; k < STEPS; k++) {
                const float m = amax * (1.0f - (float)k / 40.0f);
                for (int64_t j = 0; j < bs; j++) c[j] = fminf(fmaxf(w[j], -m), m);
                tr->from_float_ref(c, q, bs);
                tr->to_float(q, d, bs);
                for (int64_t j = 0; j < bs; j++) d[j] -= w[j];
                /* Δ_b H_bb Δ_bᵀ: the block's own inputs (cross-block terms left out, as the reference code) */
                cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)bs, (int)bs, 1.0f, hs + b0 * in + b0, (int)in, d, 1,
                            0.0f, hd, 1);
                double e = 0.0;
                for (int64_t j = 0; j < bs; j++) e += (double)d[j] * hd[j];
                if (e < best) best = e, best_m = m;
            }
            for (int64_t j = 0; j < bs; j++) w[j] = fminf(fmaxf(w[j], -best_m), best_m);
        }
    }
    free(buf);
    free(qbuf);
}

/* s_j = mean|x_j|^α, normalized so that max·min = 1 (in-width, expanded). */
static void awq_scales(const double *mean_abs, int64_t n, double alpha, float *s) {
    double lo = INFINITY, hi = 0.0;
    for (int64_t j = 0; j < n; j++) {
        const double v = pow(fmax(mean_abs[j], 1e-4), alpha);
        s[j] = (float)v;
        lo = fmin(lo, v), hi = fmax(hi, v);
    }
    const float norm = (float)sqrt(lo * hi);
    for (int64_t j = 0; j < n; j++) s[j] /= norm;
}

/* Sequences the α search runs the block on (each α of each group is one
 * block forward per sequence): the first AWQ_SEARCH_SEQS of the set. */
enum { AWQ_SEARCH_SEQS = 16 };

typedef struct {
    const presso_block_ctx *ctx;
    int32_t n_seqs;
    int64_t seq_floats, dim, q_dim, hidden;
    float *ref;  /* the float block's outputs [n_seqs][seq_len][dim] */
    float *out;  /* the same with a group fake-quantized */
    float *orig[7];
    float *done[7]; /* Q(W) of the linears of groups already searched (NULL: not yet) */
    presso_llama_state *state;
    /* Tails (tail_outputs): what the α of the group being searched cannot
     * change, per search token, computed once per group by prepare_tails. */
    bool full;       /* opts->search_ref: no tails, a whole block forward per α */
    float *attn_out; /* [tokens][q_dim] attn_output's inputs (attn_q/k/v as done) */
    float *x1;       /* [tokens][dim] the residual after attention (attention as done) */
    float *ffn_in;   /* [tokens][dim] ffn_norm(x1) with the current ffn_norm */
    float *act;      /* [tokens][hidden] silu(gate)·up (ffn_gate/up as done) */
    float *xb, *gate, *up, *mm; /* one sequence's scratch; presso_matmul's */
} awq_search;

/* Runs the block (current weights) on the search sequences into out. */
static presso_status block_outputs(const awq_search *a, float *out) {
    const presso_block_ctx *ctx = a->ctx;
    memcpy(out, ctx->inputs, sizeof(float) * (size_t)(a->seq_floats * a->n_seqs));
    for (int32_t q = 0; q < a->n_seqs; q++)
        PRESSO_TRY(presso_llama_block_forward(a->state, ctx->layer, out + q * a->seq_floats, ctx->seq_len, NULL, NULL));
    return PRESSO_OK;
}

/* The block output's error as the next block sees it: it reads the
 * residual stream through RMSNorm, i.e. relative to each token's norm, so
 * Σ_t ‖y_t − y*_t‖² / ‖y*_t‖² over the search tokens (mean). A plain MSE
 * lets the few tokens with huge residuals decide α; on tinystories-656k
 * that picked scales that lowered the MSE and raised perplexity. */
static double output_error(const awq_search *a) {
    const int64_t n_tok = a->seq_floats / a->dim * a->n_seqs;
    double total = 0.0;
    for (int64_t t = 0; t < n_tok; t++) {
        const float *y = a->out + t * a->dim, *r = a->ref + t * a->dim;
        double e = 0.0, n = 0.0;
        for (int64_t j = 0; j < a->dim; j++) e += ((double)y[j] - r[j]) * ((double)y[j] - r[j]), n += (double)r[j] * r[j];
        total += n > 0 ? e / n : 0.0;
    }
    return total / (double)n_tok;
}

/* Replaces linear i's weights w [out][in] by Q(w·s)/s (s NULL: Q(w)), the
 * target type's reference quantizer: what the folded, quantized block computes. */
static presso_status fake_quant(float *w, int64_t out, int64_t in, const float *s, presso_type type) {
    const presso_type_traits *tr = presso_type_traits_of(type);
    const int64_t row_bytes = presso_row_bytes(type, in);
    float *v = malloc(sizeof(float) * (size_t)in);
    uint8_t *q = malloc((size_t)row_bytes);
    if (!v || !q) {
        free(v), free(q);
        return presso_fail(PRESSO_ERR_NOMEM, "AWQ: out of memory");
    }
    for (int64_t r = 0; r < out; r++) {
        float *wr = w + r * in;
        for (int64_t j = 0; j < in; j++) v[j] = s ? wr[j] * s[j] : wr[j];
        tr->from_float_ref(v, q, in);
        tr->to_float(q, v, in);
        for (int64_t j = 0; j < in; j++) wr[j] = s ? v[j] / s[j] : v[j];
    }
    free(v), free(q);
    return PRESSO_OK;
}

static bool in_group(int point, int i) { return point >= 0 && i >= group_first[point] && i <= group_last[point]; }

/* Sets the block up as the search scores it: the linears of group `point`
 * (-1: none) fake-quantized after scaling by s (or as stored when s is
 * NULL), those of groups already searched as they will be quantized
 * (done), the rest float. restore_block undoes it. */
static presso_status install_block(awq_search *a, int point, const float *s) {
    const presso_block_ctx *ctx = a->ctx;
    presso_status st = PRESSO_OK;
    for (int i = 0; i < 7 && st == PRESSO_OK; i++) {
        const bool mine = in_group(point, i);
        if (!mine && !a->done[i]) continue;
        const presso_tensor *t = presso_smooth_tensor(ctx->m, ctx->layer, i);
        float *w = presso_smooth_linear(ctx->m, ctx->layer, i);
        const size_t bytes = sizeof(float) * (size_t)(t->ne[0] * t->ne[1]);
        memcpy(a->orig[i], w, bytes);
        /* groups searched before stay quantized: the search sees the block as it will be */
        if (mine) st = fake_quant(w, t->ne[1], t->ne[0], s, ctx->types[i]);
        else memcpy(w, a->done[i], bytes);
    }
    return st;
}

static void restore_block(awq_search *a, int point) {
    const presso_block_ctx *ctx = a->ctx;
    for (int i = 0; i < 7; i++) {
        if (!in_group(point, i) && !a->done[i]) continue;
        const presso_tensor *t = presso_smooth_tensor(ctx->m, ctx->layer, i);
        memcpy(presso_smooth_linear(ctx->m, ctx->layer, i), a->orig[i], sizeof(float) * (size_t)(t->ne[0] * t->ne[1]));
    }
}

/* ---- tails: the part of the block after a group's linears ----
 * Scoring an α of attn_output, ffn_gate/up or ffn_down needs only what
 * follows that group's input in the block (layer_forward in llama.c): the
 * attention before it does not depend on α, so prepare_tails captures its
 * result once per group and tail_outputs runs the rest, with the same
 * kernels, calls and shapes as the block forward, so every output equals
 * block_outputs' bit for bit (tests/test_awq.c checks the chosen α and
 * errors against opts->search_ref). attn_q/k/v (ATTN_IN) still need the
 * whole block. On tinystories-656k this skips the attention in 3 of the 4
 * groups' searches and the FFN in 1. */

/* RMSNorm exactly as llama.c computes it (same expression order: the
 * outputs must match the block forward's bit for bit). */
static void rmsnorm_row(float *out, const float *x, const float *w, int64_t n, float eps) {
    float ss = 0.0f;
    for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
    const float scale = 1.0f / sqrtf(ss / (float)n + eps);
    for (int64_t i = 0; i < n; i++) out[i] = w[i] * (scale * x[i]);
}

static const float *block_ffn_norm(const awq_search *a) {
    return presso_smooth_tensor(a->ctx->m, a->ctx->layer, 8)->data; /* F32 after presso_smooth_own_block */
}

typedef struct {
    awq_search *a;
    int64_t tok0;
} tail_capture;

static void capture_tail(void *user, int32_t layer, presso_capture_point point, const float *x, int32_t n,
                         int64_t width) {
    (void)layer;
    const tail_capture *c = user;
    float *dst = point == PRESSO_CAPTURE_ATTN_OUT ? c->a->attn_out
                 : point == PRESSO_CAPTURE_FFN_IN ? c->a->ffn_in
                 : point == PRESSO_CAPTURE_FFN_ACT ? c->a->act
                                                   : NULL;
    if (dst) memcpy(dst + c->tok0 * width, x, sizeof(float) * (size_t)(n * width));
}

/* y [n][dim] += W_i x, as layer_forward adds attn_output's and ffn_down's outputs. */
static void add_linear(awq_search *a, int i, const float *x, int32_t n, float *y) {
    const presso_tensor *t = presso_smooth_tensor(a->ctx->m, a->ctx->layer, i);
    presso_matmul(t, x, n, a->xb, a->mm, 1);
    for (int64_t k = 0; k < n * a->dim; k++) y[k] += a->xb[k];
}

/* y [n][dim] += down(silu(gate x) · up x), SwiGLU as layer_forward. */
static void add_ffn(awq_search *a, const float *x, int32_t n, float *y) {
    const presso_block_ctx *ctx = a->ctx;
    const presso_tensor *w[2] = {presso_smooth_tensor(ctx->m, ctx->layer, 4),
                                 presso_smooth_tensor(ctx->m, ctx->layer, 5)};
    float *out[2] = {a->gate, a->up};
    presso_matmul_group(2, w, out, x, n, a->mm, 1);
    for (int64_t i = 0; i < n * a->hidden; i++) {
        const float g = a->gate[i];
        a->gate[i] = g / (1.0f + expf(-g)) * a->up[i];
    }
    add_linear(a, 6, a->gate, n, y);
}

/* Before searching group `point` (>= 1): runs the block once per search
 * sequence with the earlier groups as done and keeps what the group's α
 * cannot change (attn_output's inputs; the residual after attention and
 * its normed copy; the SwiGLU product). */
static presso_status prepare_tails(awq_search *a, presso_capture_point point) {
    const presso_block_ctx *ctx = a->ctx;
    const int32_t n = ctx->seq_len;
    presso_status st = install_block(a, -1, NULL);
    for (int32_t q = 0; q < a->n_seqs && st == PRESSO_OK; q++) {
        tail_capture c = {.a = a, .tok0 = (int64_t)q * n};
        float *x = a->out + q * a->seq_floats;
        memcpy(x, ctx->inputs + q * a->seq_floats, sizeof(float) * (size_t)a->seq_floats);
        st = presso_llama_block_forward(a->state, ctx->layer, x, n, capture_tail, &c);
        if (st != PRESSO_OK || point < PRESSO_CAPTURE_FFN_IN) continue;
        float *x1 = a->x1 + q * a->seq_floats;
        memcpy(x1, ctx->inputs + q * a->seq_floats, sizeof(float) * (size_t)a->seq_floats);
        add_linear(a, 3, a->attn_out + c.tok0 * a->q_dim, n, x1);
    }
    restore_block(a, -1);
    return st;
}

/* block_outputs for the installed block, from group `point`'s tail on.
 * Every step after attention is per token, so the search sequences go
 * through as one batch of tokens (bigger GEMMs; the same values, as
 * test_awq checks). */
static void tail_outputs(awq_search *a, presso_capture_point point) {
    const presso_block_ctx *ctx = a->ctx;
    const presso_llama_config *c = &ctx->m->config;
    const int32_t n = (int32_t)(a->n_seqs * (int64_t)ctx->seq_len);
    float *y = a->out;
    if (point == PRESSO_CAPTURE_ATTN_OUT) {
        memcpy(y, ctx->inputs, sizeof(float) * (size_t)(a->seq_floats * a->n_seqs));
        add_linear(a, 3, a->attn_out, n, y);
        float *normed = a->xb + (int64_t)n * a->dim; /* xb holds 2 batches: add_linear writes the first */
        for (int32_t t = 0; t < n; t++)
            rmsnorm_row(normed + t * a->dim, y + t * a->dim, block_ffn_norm(a), a->dim, c->norm_eps);
        add_ffn(a, normed, n, y);
    } else {
        memcpy(y, a->x1, sizeof(float) * (size_t)(a->seq_floats * a->n_seqs));
        if (point == PRESSO_CAPTURE_FFN_IN) add_ffn(a, a->ffn_in, n, y);
        else add_linear(a, 6, a->act, n, y);
    }
}

/* The block output error with the group's linears fake-quantized (after
 * scaling by s, or as stored when s is NULL); the weights are restored. */
static presso_status group_error(awq_search *a, presso_capture_point point, const float *s, double *err) {
    presso_status st = install_block(a, (int)point, s);
    if (st == PRESSO_OK) {
        if (a->full || point == PRESSO_CAPTURE_ATTN_IN) st = block_outputs(a, a->out);
        else tail_outputs(a, point);
    }
    restore_block(a, (int)point);
    *err = st == PRESSO_OK ? output_error(a) : INFINITY;
    return st;
}

static presso_status awq_group(awq_search *a, presso_capture_point point, presso_block_report *rep) {
    const presso_block_ctx *ctx = a->ctx;
    presso_model *m = ctx->m;
    const presso_llama_config *c = &m->config;
    const presso_calib_stats *st = &ctx->stats[point];
    const int64_t in = st->width, fold_w = presso_smooth_width(m, point), hd = c->head_dim;
    const int32_t group = c->n_heads / c->n_kv_heads;
    const int nt = ctx->n_threads > 0 ? ctx->n_threads : 1;
    const int grid = ctx->opts->grid > 1 ? ctx->opts->grid : 20;
    if (st->n_samples <= 0) return PRESSO_OK;
    float *s = malloc(sizeof(float) * (size_t)in), *sk = malloc(sizeof(float) * (size_t)fold_w);
    double *mean = malloc(sizeof(double) * (size_t)fold_w);
    float *hs = NULL;
    presso_status status = PRESSO_OK;
    if (!s || !sk || !mean) {
        status = presso_fail(PRESSO_ERR_NOMEM, "AWQ: out of memory for blk.%d", (int)ctx->layer);
        goto done;
    }
    /* the scale is per foldable channel: attn_output's are shared by a kv group's heads (smooth.h) */
    if (point == PRESSO_CAPTURE_ATTN_OUT) presso_smooth_group_mean(c, st->mean_abs, mean);
    else memcpy(mean, st->mean_abs, sizeof(double) * (size_t)fold_w);
    double best = INFINITY, best_alpha = 0.0, at_zero = INFINITY;
    for (int k = 0; k < grid && status == PRESSO_OK; k++) {
        const double alpha = (double)k / (grid - 1);
        awq_scales(mean, fold_w, alpha, sk);
        for (int64_t j = 0; j < in; j++)
            s[j] = point == PRESSO_CAPTURE_ATTN_OUT ? sk[((j / hd) / group) * hd + j % hd] : sk[j];
        double err = INFINITY;
        status = group_error(a, point, k == 0 ? NULL : s, &err);
        if (k == 0) at_zero = err;
        if (err < best) best = err, best_alpha = alpha;
    }
    if (status != PRESSO_OK) goto done;
    rep->alpha[point] = best_alpha;
    rep->err_before[point] = at_zero;
    rep->err_after[point] = best;
    awq_scales(mean, fold_w, best_alpha, sk);
    for (int64_t j = 0; j < in; j++)
        s[j] = point == PRESSO_CAPTURE_ATTN_OUT ? sk[((j / hd) / group) * hd + j % hd] : sk[j];
    if (best_alpha > 0.0) {
        status = presso_smooth_fold(m, ctx->layer, point, sk);
        presso_llama_state_reload_norms(a->state);
        /* The ATTN_OUT fold divides attn_v's rows (FFN_ACT: ffn_up's), a linear
         * of a group searched before: its quantized copy must be taken again,
         * or the later groups' searches see Q(v) feeding attn_output·diag(s),
         * a block off by s per channel. */
        for (int i = 0; i < 7 && status == PRESSO_OK; i++) {
            if (!a->done[i]) continue;
            const presso_tensor *t = presso_smooth_tensor(m, ctx->layer, i);
            memcpy(a->done[i], presso_smooth_linear(m, ctx->layer, i), sizeof(float) * (size_t)(t->ne[0] * t->ne[1]));
            status = fake_quant(a->done[i], t->ne[1], t->ne[0], NULL, ctx->types[i]);
        }
        /* the fold changed the block the tails were taken from */
        if (status == PRESSO_OK && ctx->opts->clip && !a->full && point > 0) status = prepare_tails(a, point);
    }
    if (status == PRESSO_OK && ctx->opts->clip) {
        /* the stored weights now read x/s: their inputs' second moment is H_ij / (s_i s_j) */
        hs = malloc(sizeof(float) * (size_t)(in * in));
        if (!hs) {
            status = presso_fail(PRESSO_ERR_NOMEM, "AWQ: out of memory for blk.%d", (int)ctx->layer);
            goto done;
        }
        for (int64_t i = 0; i < in; i++)
            for (int64_t j = 0; j < in; j++)
                hs[i * in + j] = (float)(st->h[i * in + j] / (double)st->n_samples / ((double)s[i] * s[j]));
        for (int i = group_first[point]; i <= group_last[point]; i++) {
            const presso_tensor *t = presso_smooth_tensor(m, ctx->layer, i);
            clip_search(presso_smooth_linear(m, ctx->layer, i), t->ne[1], in, hs, ctx->types[i], nt);
        }
        status = group_error(a, point, NULL, &rep->err_after[point]);
    }
    for (int i = group_first[point]; i <= group_last[point] && status == PRESSO_OK; i++) {
        const presso_tensor *t = presso_smooth_tensor(m, ctx->layer, i);
        const size_t bytes = sizeof(float) * (size_t)(t->ne[0] * t->ne[1]);
        if (!(a->done[i] = malloc(bytes))) {
            status = presso_fail(PRESSO_ERR_NOMEM, "AWQ: out of memory for blk.%d", (int)ctx->layer);
            break;
        }
        memcpy(a->done[i], presso_smooth_linear(m, ctx->layer, i), bytes);
        status = fake_quant(a->done[i], t->ne[1], t->ne[0], NULL, ctx->types[i]);
    }
done:
    free(s), free(sk), free(mean), free(hs);
    return status;
}

static presso_status awq_run(const presso_block_ctx *ctx, presso_block_report *rep) {
    PRESSO_TRY(presso_smooth_own_block(ctx->m, ctx->layer));
    const presso_llama_config *c = &ctx->m->config;
    awq_search a = {.ctx = ctx, .n_seqs = ctx->n_seqs < AWQ_SEARCH_SEQS ? ctx->n_seqs : AWQ_SEARCH_SEQS,
                    .seq_floats = (int64_t)ctx->seq_len * c->dim, .dim = c->dim,
                    .q_dim = (int64_t)c->n_heads * c->head_dim, .hidden = c->hidden_dim,
                    .full = ctx->opts->search_ref};
    presso_status st = PRESSO_OK;
    const int64_t tokens = (int64_t)a.n_seqs * ctx->seq_len;
    a.ref = malloc(sizeof(float) * (size_t)(a.seq_floats * a.n_seqs));
    a.out = malloc(sizeof(float) * (size_t)(a.seq_floats * a.n_seqs));
    bool failed = !a.ref || !a.out;
    for (int i = 0; i < 7 && !failed; i++) {
        const presso_tensor *t = presso_smooth_tensor(ctx->m, ctx->layer, i);
        failed = !(a.orig[i] = malloc(sizeof(float) * (size_t)(t->ne[0] * t->ne[1])));
    }
    if (!failed && !a.full) {
        const int64_t widest = a.hidden > a.q_dim ? (a.hidden > a.dim ? a.hidden : a.dim) : a.q_dim;
        a.attn_out = malloc(sizeof(float) * (size_t)(tokens * a.q_dim));
        a.x1 = malloc(sizeof(float) * (size_t)(tokens * a.dim));
        a.ffn_in = malloc(sizeof(float) * (size_t)(tokens * a.dim));
        a.act = malloc(sizeof(float) * (size_t)(tokens * a.hidden));
        a.xb = malloc(sizeof(float) * (size_t)(2 * tokens * a.dim));
        a.gate = malloc(sizeof(float) * (size_t)(tokens * a.hidden));
        a.up = malloc(sizeof(float) * (size_t)(tokens * a.hidden));
        a.mm = malloc(sizeof(float) * (size_t)presso_matmul_scratch_floats(widest, tokens, 1));
        failed = !a.attn_out || !a.x1 || !a.ffn_in || !a.act || !a.xb || !a.gate || !a.up || !a.mm;
    }
    if (failed) st = presso_fail(PRESSO_ERR_NOMEM, "AWQ: out of memory for blk.%d's outputs", (int)ctx->layer);
    /* its own one-thread state: the search runs many small block forwards,
     * where OpenMP's barriers on a busy machine cost more than they save */
    presso_llama_state *state = NULL;
    if (st == PRESSO_OK) st = presso_llama_state_new(ctx->m, ctx->seq_len, ctx->seq_len, 1, &state);
    a.state = state;
    if (st == PRESSO_OK) st = block_outputs(&a, a.ref);
    for (int p = 0; p < 4 && st == PRESSO_OK; p++) {
        if (!ctx->stats[p].h) st = presso_fail(PRESSO_ERR_INVALID_ARG, "AWQ needs the inputs' second moments");
        if (st == PRESSO_OK && p > 0 && !a.full) st = prepare_tails(&a, (presso_capture_point)p);
        if (st == PRESSO_OK) st = awq_group(&a, (presso_capture_point)p, rep);
    }
    presso_llama_state_free(state);
    free(a.ref), free(a.out);
    free(a.attn_out), free(a.x1), free(a.ffn_in), free(a.act), free(a.xb), free(a.gate), free(a.up), free(a.mm);
    for (int i = 0; i < 7; i++) free(a.orig[i]), free(a.done[i]);
    return st;
}

const presso_block_transform presso_transform_awq = {
    .name = "awq",
    .summary = "activation-aware per-channel scales (α grid search on the output error), optional clip search",
    .run = awq_run,
};
