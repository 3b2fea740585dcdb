#include "compress/gptq.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "compress/grid.h"
#include "compress/hessian.h"
#include "core/error.h"
#include "core/log.h"
#include "tensor/quants.h"
#include "tensor/types.h"

static const double *sort_diag; /* qsort has no user pointer; only read inside presso_gptq_order */
static int64_t sort_cols;

static int by_decreasing_diag(const void *a, const void *b) {
    const int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    const double di = sort_diag[i * sort_cols + i], dj = sort_diag[j * sort_cols + j];
    if (di != dj) return di > dj ? -1 : 1;
    return (i > j) - (i < j);
}

void presso_gptq_order(const double *h, int64_t cols, bool act_order, int64_t *perm) {
    for (int64_t i = 0; i < cols; i++) perm[i] = i;
    if (!act_order) return;
#pragma omp critical(presso_gptq_sort)
    {
        sort_diag = h;
        sort_cols = cols;
        qsort(perm, (size_t)cols, sizeof *perm, by_decreasing_diag);
    }
}

presso_status presso_gptq_quantize(const float *w, int64_t rows, int64_t cols, const double *h, int64_t n_samples,
                                   presso_type type, const presso_pass_opts *opts, void *dst, float *q,
                                   presso_pass_report *report) {
    *report = (presso_pass_report){0};
    const presso_type_traits *tr = presso_type_traits_of(type);
    if (!tr || !presso_grid_supported(type))
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "GPTQ cannot write %s blocks", tr ? tr->name : "unknown");
    const int64_t bs = tr->block_size, bb = (int64_t)tr->block_bytes;
    if (cols <= 0 || rows <= 0 || cols % bs != 0)
        return presso_fail(PRESSO_ERR_SHAPE, "GPTQ: rows of %lld do not fit %s blocks of %lld", (long long)cols,
                           tr->name, (long long)bs);
    if (n_samples <= 0) return presso_fail(PRESSO_ERR_INVALID_ARG, "GPTQ needs calibration samples (got none)");
    if (!presso_floats_all_finite(w, rows * cols))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "GPTQ: the weights hold inf or nan");
    const int64_t nb = cols / bs, B = opts->block_cols > 0 ? opts->block_cols : 128;
    const int nt = opts->n_threads > 0 ? opts->n_threads : 1;
    float *W = malloc(sizeof(float) * (size_t)(rows * cols));
    double *H = malloc(sizeof(double) * (size_t)(cols * cols));
    double *A = malloc(sizeof(double) * (size_t)(cols * cols));
    float *U = malloc(sizeof(float) * (size_t)(cols * cols));
    float *Err = malloc(sizeof(float) * (size_t)(rows * B));
    int64_t *perm = malloc(sizeof(int64_t) * (size_t)cols), *inv = malloc(sizeof(int64_t) * (size_t)cols);
    int64_t *init_at = malloc(sizeof(int64_t) * (size_t)cols);
    float *gather = malloc(sizeof(float) * (size_t)(bs * nt));
    bool *dead = calloc((size_t)cols, sizeof(bool));
    presso_status st = PRESSO_OK;
    if (!W || !H || !A || !U || !Err || !perm || !inv || !init_at || !gather || !dead) {
        st = presso_fail(PRESSO_ERR_NOMEM, "GPTQ: out of memory for a %lld x %lld layer", (long long)rows,
                         (long long)cols);
        goto done;
    }
    /* Dead columns (never activated) are zeroed: they cannot matter to the calibration output. */
    st = presso_hessian_scale(h, cols, n_samples, "GPTQ", H, dead, &report->n_dead);
    if (st != PRESSO_OK) goto done;
    presso_gptq_order(H, cols, opts->act_order, perm);
    for (int64_t i = 0; i < cols; i++) inv[perm[i]] = i;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < cols; i++) W[r * cols + i] = dead[perm[i]] ? 0.0f : w[r * cols + perm[i]];
    st = presso_hessian_inverse_factor(H, cols, perm, opts->damp, "GPTQ", A, U, &report->damp_used);
    if (st != PRESSO_OK) goto done;
    /* A block's grid is set when its first column comes up in processing order. */
    {
        bool *seen = calloc((size_t)nb, sizeof(bool));
        if (!seen) {
            st = presso_fail(PRESSO_ERR_NOMEM, "GPTQ: out of memory");
            goto done;
        }
        for (int64_t i = 0; i < cols; i++) {
            const int64_t b = perm[i] / bs;
            init_at[i] = seen[b] ? -1 : b;
            seen[b] = true;
        }
        free(seen);
    }
    double loss = 0.0;
    /* GPTQ Alg. 1 with lazy batch updates (B = 128): inside a batch each
     * column's error goes to the batch's later columns at once; the rest of
     * the matrix gets the batch's errors in one GEMM. Rows are independent. */
    for (int64_t i1 = 0; i1 < cols; i1 += B) {
        const int64_t i2 = i1 + B < cols ? i1 + B : cols;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : loss) if (rows * (i2 - i1) * (i2 - i1) >= (1 << 18))
        for (int64_t r = 0; r < rows; r++) {
            float *wr = W + r * cols, *er = Err + r * B, *tmp = gather + (int64_t)omp_get_thread_num() * bs;
            uint8_t *row_blocks = (uint8_t *)dst + r * nb * bb;
            for (int64_t i = i1; i < i2; i++) {
                if (init_at[i] >= 0) {
                    const int64_t b = init_at[i];
                    for (int64_t c = 0; c < bs; c++) tmp[c] = wr[inv[b * bs + c]];
                    if (!opts->imatrix ||
                        !presso_quantize_row_weighted(type, tmp, row_blocks + b * bb, bs, opts->imatrix + b * bs))
                        tr->from_float_ref(tmp, row_blocks + b * bb, bs);
                }
                const int64_t j = perm[i];
                const float x = wr[i];
                const float v = presso_grid_set(type, row_blocks + (j / bs) * bb, (int)(j % bs), x);
                if (q) q[r * cols + j] = v;
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
done:
    free(W);
    free(H);
    free(A);
    free(U);
    free(Err);
    free(perm);
    free(inv);
    free(init_at);
    free(gather);
    free(dead);
    return st;
}

static presso_status gptq_run(const presso_pass_layer *layer, const presso_pass_opts *opts, void *dst,
                              presso_pass_report *report) {
    PRESSO_TRY(presso_hessian_check_layer(layer, "GPTQ"));
    presso_pass_opts o = *opts;
    o.imatrix = layer->imatrix;
    presso_status st = presso_gptq_quantize(layer->w, layer->out, layer->in, layer->stats->h,
                                            layer->stats->n_samples, opts->type, &o, dst, NULL, report);
    if (st != PRESSO_OK) presso_fail_context(st, "%s: ", layer->name);
    return st;
}

const presso_pass presso_pass_gptq = {
    .name = "gptq",
    .summary = "GPTQ (Frantar et al. 2022): column-wise quantization with inverse-Hessian error feedback",
    .needs_calibration = true,
    .run = gptq_run,
};
