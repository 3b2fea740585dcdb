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
#include "tensor/types.h"

/* The linears (0..6 as in smooth.h) of each capture point's group. */
static const int group_first[4] = {0, 3, 4, 6}, group_last[4] = {2, 3, 5, 6};

/* Rows of dequantized Q(v) for v = w·s (stored NULL) or v = stored, turned
 * back by ÷s: Σ_r Δ_r H Δ_rᵀ with Δ_r = Q(v_r)/s − w_r. hf: [in][in] float. */
static double quant_error(const float *w, const float *stored, int64_t out, int64_t in, const float *s,
                          const float *hf, presso_type type, int nt) {
    const presso_type_traits *tr = presso_type_traits_of(type);
    const int64_t row_bytes = presso_row_bytes(type, in);
    double total = 0.0;
    float *buf = malloc(sizeof(float) * (size_t)(3 * in * nt));
    uint8_t *qbuf = malloc((size_t)(row_bytes * nt));
    if (!buf || !qbuf) {
        free(buf);
        free(qbuf);
        return INFINITY;
    }
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : total)
    for (int64_t r = 0; r < out; r++) {
        const int th = omp_get_thread_num();
        float *v = buf + 3 * in * th, *d = v + in, *hd = d + in;
        uint8_t *q = qbuf + row_bytes * th;
        const float *wr = w + r * in;
        if (stored) memcpy(v, stored + r * in, sizeof(float) * (size_t)in);
        else
            for (int64_t j = 0; j < in; j++) v[j] = wr[j] * s[j];
        tr->from_float_ref(v, q, in);
        tr->to_float(q, d, in);
        for (int64_t j = 0; j < in; j++) d[j] = d[j] / s[j] - wr[j];
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)in, (int)in, 1.0f, hf, (int)in, d, 1, 0.0f, hd, 1);
        double e = 0.0;
        for (int64_t j = 0; j < in; j++) e += (double)d[j] * hd[j];
        total += e;
    }
    free(buf);
    free(qbuf);
    return total;
}

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

static presso_status awq_group(const presso_block_ctx *ctx, presso_capture_point point, presso_block_report *rep) {
    presso_model *m = ctx->m;
    const presso_llama_config *c = &m->config;
    const presso_calib_stats *st = &ctx->stats[point];
    const int64_t in = st->width, fold_w = presso_smooth_width(m, point), hd = c->head_dim;
    const int32_t group = c->n_heads / c->n_kv_heads;
    const int nt = ctx->n_threads > 0 ? ctx->n_threads : 1;
    const int grid = ctx->opts->grid > 1 ? ctx->opts->grid : 20;
    if (st->n_samples <= 0) return PRESSO_OK;
    float *hf = malloc(sizeof(float) * (size_t)(in * in)), *s = malloc(sizeof(float) * (size_t)in);
    float *sk = malloc(sizeof(float) * (size_t)fold_w), *hs = malloc(sizeof(float) * (size_t)(in * in));
    double *mean = malloc(sizeof(double) * (size_t)fold_w);
    float *orig[7] = {0};
    presso_status status = PRESSO_OK;
    if (!hf || !s || !sk || !hs || !mean) {
        status = presso_fail(PRESSO_ERR_NOMEM, "AWQ: out of memory for blk.%d", (int)ctx->layer);
        goto done;
    }
    for (int64_t i = 0; i < in * in; i++) hf[i] = (float)(st->h[i] / (double)st->n_samples);
    /* the scale is per foldable channel: attn_output's are shared by a kv group's heads (smooth.h) */
    if (point == PRESSO_CAPTURE_ATTN_OUT) presso_smooth_group_mean(c, st->mean_abs, mean);
    else memcpy(mean, st->mean_abs, sizeof(double) * (size_t)fold_w);
    double best = INFINITY, best_alpha = 0.0, at_zero = INFINITY;
    for (int k = 0; k < grid; k++) {
        const double alpha = (double)k / (grid - 1);
        awq_scales(mean, fold_w, alpha, sk);
        for (int64_t j = 0; j < in; j++)
            s[j] = point == PRESSO_CAPTURE_ATTN_OUT ? sk[((j / hd) / group) * hd + j % hd] : sk[j];
        double err = 0.0;
        for (int i = group_first[point]; i <= group_last[point]; i++) {
            const float *w = presso_smooth_linear(m, ctx->layer, i);
            const presso_tensor *t = presso_smooth_tensor(m, ctx->layer, i);
            err += quant_error(w, NULL, t->ne[1], in, s, hf, ctx->types[i], nt);
        }
        if (k == 0) at_zero = err;
        if (err < best) best = err, best_alpha = alpha;
    }
    rep->alpha[point] = best_alpha;
    rep->err_before[point] = at_zero;
    rep->err_after[point] = best;
    awq_scales(mean, fold_w, best_alpha, sk);
    for (int64_t j = 0; j < in; j++)
        s[j] = point == PRESSO_CAPTURE_ATTN_OUT ? sk[((j / hd) / group) * hd + j % hd] : sk[j];
    if (ctx->opts->clip) /* originals, to measure the clipped weights against */
        for (int i = group_first[point]; i <= group_last[point]; i++) {
            const presso_tensor *t = presso_smooth_tensor(m, ctx->layer, i);
            const size_t bytes = sizeof(float) * (size_t)(t->ne[0] * t->ne[1]);
            orig[i] = malloc(bytes);
            if (!orig[i]) {
                status = presso_fail(PRESSO_ERR_NOMEM, "AWQ: out of memory for blk.%d", (int)ctx->layer);
                goto done;
            }
            memcpy(orig[i], presso_smooth_linear(m, ctx->layer, i), bytes);
        }
    if (best_alpha > 0.0) status = presso_smooth_fold(m, ctx->layer, point, sk);
    if (status == PRESSO_OK && ctx->opts->clip) {
        /* the stored weights now read x/s: their second moment is H_ij / (s_i s_j) */
        for (int64_t i = 0; i < in; i++)
            for (int64_t j = 0; j < in; j++) hs[i * in + j] = hf[i * in + j] / (s[i] * s[j]);
        double err = 0.0;
        for (int i = group_first[point]; i <= group_last[point]; i++) {
            float *v = presso_smooth_linear(m, ctx->layer, i);
            const int64_t out = presso_smooth_tensor(m, ctx->layer, i)->ne[1];
            clip_search(v, out, in, hs, ctx->types[i], nt);
            err += quant_error(orig[i], v, out, in, s, hf, ctx->types[i], nt);
        }
        rep->err_after[point] = err;
    }
done:
    for (int i = 0; i < 7; i++) free(orig[i]);
    free(hf), free(s), free(sk), free(hs), free(mean);
    return status;
}

static presso_status awq_run(const presso_block_ctx *ctx, presso_block_report *rep) {
    PRESSO_TRY(presso_smooth_own_block(ctx->m, ctx->layer));
    for (int p = 0; p < 4; p++) {
        if (!ctx->stats[p].h) return presso_fail(PRESSO_ERR_INVALID_ARG, "AWQ needs the inputs' second moments");
        PRESSO_TRY(awq_group(ctx, (presso_capture_point)p, rep));
    }
    return PRESSO_OK;
}

const presso_block_transform presso_transform_awq = {
    .name = "awq",
    .summary = "activation-aware per-channel scales (α grid search on the output error), optional clip search",
    .run = awq_run,
};
