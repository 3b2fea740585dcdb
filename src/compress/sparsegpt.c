#include "compress/sparsegpt.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "compress/grid.h"
#include "compress/hessian.h"
#include "compress/prune.h"
#include "core/error.h"
#include "tensor/quants.h"
#include "tensor/types.h"

/* The value a float type stores for x (x itself for F32). */
static float round_to(const presso_type_traits *t, float x) {
    uint8_t buf[8];
    float v;
    t->from_float_ref(&x, buf, 1);
    t->to_float(buf, &v, 1);
    return v;
}

static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

static int64_t lcm(int64_t a, int64_t b) {
    int64_t x = a, y = b;
    while (y) {
        const int64_t t = x % y;
        x = y;
        y = t;
    }
    return a / x * b;
}

presso_status presso_sparsegpt_prune(const float *w, int64_t rows, int64_t cols, const double *h, int64_t n_samples,
                                     double sparsity, const presso_pass_opts *opts, void *dst, float *q,
                                     uint8_t *mask_out, presso_pass_report *report) {
    *report = (presso_pass_report){0};
    const presso_type type = opts->type;
    const presso_type_traits *tr = presso_type_traits_of(type);
    if (!tr || !tr->from_float_ref) return presso_fail(PRESSO_ERR_UNSUPPORTED, "SparseGPT cannot write this type");
    const bool quantized = tr->is_quantized;
    if (quantized && (!presso_grid_supported(type) || !presso_prune_type_keeps_zeros(type)))
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "SparseGPT cannot write pruned %s blocks (it needs a grid with an "
                           "exact zero: q4_0, q5_0, q8_0, q3_k, q6_k)", tr->name);
    const int64_t bs = tr->block_size, bb = (int64_t)tr->block_bytes;
    if (cols <= 0 || rows <= 0 || cols % bs != 0)
        return presso_fail(PRESSO_ERR_SHAPE, "SparseGPT: rows of %lld do not fit %s blocks of %lld", (long long)cols,
                           tr->name, (long long)bs);
    if (opts->act_order) return presso_fail(PRESSO_ERR_UNSUPPORTED, "SparseGPT sweeps columns in order (no act-order)");
    if (!presso_floats_all_finite(w, rows * cols))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "SparseGPT: the weights hold inf or nan");
    const bool nm = opts->nm_m > 0;
    /* A quantization block's scale is set when the sweep reaches it, so its
     * whole mask must be known by then: the mask unit (the lazy batch, or a
     * run of N:M groups) covers whole blocks. */
    const int64_t unit = nm ? lcm(opts->nm_m, bs) : 1;
    const int64_t B = round_up(opts->block_cols > 0 ? opts->block_cols : 128, nm ? unit : bs);
    const int nt = opts->n_threads > 0 ? opts->n_threads : 1;
    const bool layer_wide = opts->prune_per_layer && !nm;
    const int64_t nb = cols / bs, scratch_n = B > unit ? B : unit;
    float *W = malloc(sizeof(float) * (size_t)(rows * cols));
    double *H = malloc(sizeof(double) * (size_t)(cols * cols));
    double *A = malloc(sizeof(double) * (size_t)(cols * cols));
    float *U = malloc(sizeof(float) * (size_t)(cols * cols));
    float *Err = malloc(sizeof(float) * (size_t)(rows * B));
    float *Q = q ? q : malloc(sizeof(float) * (size_t)(rows * cols));
    uint8_t *M = calloc((size_t)(rows * cols), 1);
    float *score = malloc(sizeof(float) * (size_t)(scratch_n * nt)), *gather = malloc(sizeof(float) * (size_t)(bs * nt));
    /* the reference code's block-wide choice ranks rows × B scores at once */
    const int64_t n_items = layer_wide ? rows * B : scratch_n * nt;
    presso_prune_item *items = malloc(sizeof(presso_prune_item) * (size_t)n_items);
    float *block_score = layer_wide ? malloc(sizeof(float) * (size_t)(rows * B)) : NULL;
    uint8_t *block_mask = layer_wide ? malloc((size_t)(rows * B)) : NULL;
    bool *dead = calloc((size_t)cols, sizeof(bool));
    presso_status st = PRESSO_OK;
    if (!W || !H || !A || !U || !Err || !Q || !M || !score || !gather || !items || !dead ||
        (layer_wide && (!block_score || !block_mask))) {
        st = presso_fail(PRESSO_ERR_NOMEM, "SparseGPT: out of memory for a %lld x %lld layer", (long long)rows,
                         (long long)cols);
        goto done;
    }
    st = presso_hessian_scale(h, cols, n_samples, "SparseGPT", H, dead, &report->n_dead);
    if (st != PRESSO_OK) goto done;
    st = presso_hessian_inverse_factor(H, cols, NULL, opts->damp, "SparseGPT", A, U, &report->damp_used);
    if (st != PRESSO_OK) goto done;
    memcpy(W, w, sizeof(float) * (size_t)(rows * cols));
    double loss = 0.0;
    /* Alg. 1: sweep the columns in lazy batches of B; at a batch's start
     * choose each row's mask over the batch by the OBS saliency
     * w²/[H⁻¹]_jj² (dead columns first: they cannot change the output), then
     * column by column set pruned weights to 0 (or quantize survivors) and
     * push the error e = (w − ŵ)/[H⁻¹]_jj onto the later columns (Eq. 3/4). */
    for (int64_t i1 = 0; i1 < cols; i1 += B) {
        const int64_t i2 = i1 + B < cols ? i1 + B : cols;
        const int64_t k_batch = presso_prune_count(i2, sparsity) - presso_prune_count(i1, sparsity);
        if (layer_wide) { /* the reference code: one threshold over the batch's rows × columns */
            const int64_t w_b = i2 - i1;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t j = i1; j < i2; j++) {
                    const float d = U[j * cols + j], x = W[r * cols + j];
                    block_score[r * w_b + j - i1] = dead[j] ? -1.0f : x * x / (d * d);
                }
            presso_prune_select(block_score, rows * w_b,
                                presso_prune_count(rows * i2, sparsity) - presso_prune_count(rows * i1, sparsity),
                                items, block_mask);
            for (int64_t r = 0; r < rows; r++) memcpy(M + r * cols + i1, block_mask + r * w_b, (size_t)w_b);
        }
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : loss) if (rows * (i2 - i1) * (i2 - i1) >= (1 << 18))
        for (int64_t r = 0; r < rows; r++) {
            const int th = omp_get_thread_num();
            float *wr = W + r * cols, *er = Err + r * B, *qr = Q + r * cols, *sc = score + (int64_t)th * scratch_n;
            float *tmp = gather + (int64_t)th * bs;
            presso_prune_item *it = items + (int64_t)th * scratch_n;
            uint8_t *mr = M + r * cols, *row_blocks = (uint8_t *)dst + r * nb * bb;
            if (!nm && !layer_wide) {
                for (int64_t j = i1; j < i2; j++) {
                    const float d = U[j * cols + j];
                    sc[j - i1] = dead[j] ? -1.0f : wr[j] * wr[j] / (d * d);
                }
                presso_prune_select(sc, i2 - i1, k_batch, it, mr + i1);
            }
            for (int64_t i = i1; i < i2; i++) {
                if (nm && i % unit == 0) { /* §3.3: N:M groups chosen with the weights as updated so far */
                    const int64_t e = i + unit < cols ? i + unit : cols;
                    for (int64_t j = i; j < e; j++) {
                        const float d = U[j * cols + j];
                        sc[j - i] = dead[j] ? -1.0f : wr[j] * wr[j] / (d * d);
                    }
                    presso_prune_select_nm(sc, e - i, opts->nm_n, (int)opts->nm_m, it, mr + i);
                }
                float v;
                const float x = wr[i];
                if (quantized) {
                    uint8_t *blk = row_blocks + (i / bs) * bb;
                    if (i % bs == 0) { /* the block's scale from its survivors, as they stand now */
                        for (int64_t c = 0; c < bs; c++) tmp[c] = mr[i + c] ? 0.0f : wr[i + c];
                        tr->from_float_ref(tmp, blk, bs);
                    }
                    v = presso_grid_set(type, blk, (int)(i % bs), mr[i] ? 0.0f : x);
                } else {
                    v = mr[i] ? 0.0f : round_to(tr, x);
                }
                qr[i] = v;
                const float *u = U + i * cols;
                const float e = (x - v) / u[i];
                loss += 0.5 * (double)e * (double)e;
                for (int64_t k = i + 1; k < i2; k++) wr[k] -= e * u[k];
                er[i - i1] = e;
            }
        }
        presso_hessian_propagate_batch(W, rows, cols, Err, B, U, i1, i2, nt);
    }
    report->loss = loss;
    if (!quantized) {
        const int64_t row_bytes = presso_row_bytes(type, cols);
        for (int64_t r = 0; r < rows; r++) tr->from_float_ref(Q + r * cols, (uint8_t *)dst + r * row_bytes, cols);
    }
    if (mask_out) memcpy(mask_out, M, (size_t)(rows * cols));
done:
    free(W);
    free(H);
    free(A);
    free(U);
    free(Err);
    if (Q != q) free(Q);
    free(M);
    free(score);
    free(gather);
    free(items);
    free(block_score);
    free(block_mask);
    free(dead);
    return st;
}

static presso_status sparsegpt_run(const presso_pass_layer *layer, const presso_pass_opts *opts, void *dst,
                                   presso_pass_report *report) {
    PRESSO_TRY(presso_hessian_check_layer(layer, "SparseGPT"));
    const double s = presso_prune_sparsity_for(opts, layer->name);
    PRESSO_TRY(presso_prune_check_opts(opts, layer->name, s));
    presso_status st = presso_sparsegpt_prune(layer->w, layer->out, layer->in, layer->stats->h,
                                              layer->stats->n_samples, s, opts, dst, NULL, NULL, report);
    if (st != PRESSO_OK) presso_fail_context(st, "%s: ", layer->name);
    return st;
}

const presso_pass presso_pass_sparsegpt = {
    .name = "sparsegpt",
    .summary = "SparseGPT (Frantar & Alistarh 2023): OBS mask selection with weight update; joint with GPTQ",
    .needs_calibration = true,
    .run = sparsegpt_run,
    .prunes = true,
    .writes_dense = true,
};
