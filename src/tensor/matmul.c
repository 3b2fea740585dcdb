#include "tensor/matmul.h"

#include <cblas.h>
#include <stdbool.h>
#include <omp.h>

#include "tensor/kernels.h"
#include "tensor/types.h"

int64_t presso_matmul_scratch_floats(int64_t in, int64_t max_rows, int n_threads) {
    const int64_t panels = (int64_t)(n_threads > 0 ? n_threads : 1) * PRESSO_MATMUL_PANEL_ROWS * in;
    /* Quantized activation rows: at most 292 bytes per 256 values (Q8_K), as floats. */
    const int64_t quantized = (max_rows > 0 ? max_rows : 1) * ((in + 255) / 256) * 292 / 4 + 1;
    return panels > quantized ? panels : quantized;
}

/* Decode with integer dots (llama.cpp's scheme): each activation row is
 * quantized once to the weight type's vec_dot_type (Q8_0, Q8_1 or Q8_K) into
 * scratch, then every weight row is an int8 dot per block. Approximate by
 * design: the activations carry 8-bit levels per block of 32 (256 for K). */
static void matmul_rows_quantized(const presso_kernels *k, const presso_tensor *w, const float *x, int64_t n,
                                  float *y, void *scratch, int n_threads) {
    const int64_t in = w->ne[0], out = w->ne[1];
    const presso_type act = presso_vec_dot_type(w->type);
    const size_t row_bytes = (size_t)presso_row_bytes(w->type, in), act_bytes = (size_t)presso_row_bytes(act, in);
    const presso_vec_dot_q_fn dot = k->vec_dot_q[w->type];
    uint8_t *xq = scratch;
    for (int64_t t = 0; t < n; t++) k->quantize_act[act](x + t * in, xq + (size_t)t * act_bytes, in);
    const uint8_t *base = w->data;
    const bool parallel = n * in * out >= PRESSO_MATMUL_PARALLEL_MIN_WORK;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (int64_t r = 0; r < out; r++) {
        const uint8_t *row = base + (size_t)r * row_bytes;
        for (int64_t t = 0; t < n; t++) y[t * out + r] = dot(row, xq + (size_t)t * act_bytes, in);
    }
}

static void matmul_rows(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch, int n_threads) {
    const presso_kernels *k = presso_kernels_active();
    const int64_t in = w->ne[0], out = w->ne[1];
    const presso_type act = presso_vec_dot_type(w->type);
    /* scratch holds the n quantized rows (presso_matmul_scratch_floats). */
    if (scratch && act != PRESSO_TYPE_F32 && k->vec_dot_q[w->type] && k->quantize_act[act] &&
        presso_row_bytes(act, in) > 0) {
        matmul_rows_quantized(k, w, x, n, y, scratch, n_threads);
        return;
    }
    const size_t row_bytes = (size_t)presso_row_bytes(w->type, in);
    const presso_vec_dot_fn dot = k->vec_dot[w->type];
    const uint8_t *base = w->data;
    /* Below ~64K multiply-adds a parallel region costs more than it saves. */
    const bool parallel = n * in * out >= PRESSO_MATMUL_PARALLEL_MIN_WORK;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (int64_t r = 0; r < out; r++) {
        const uint8_t *row = base + (size_t)r * row_bytes;
        for (int64_t t = 0; t < n; t++) y[t * out + r] = dot(row, x + t * in, in);
    }
}

static void matmul_gemm(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch,
                        int n_threads) {
    const int64_t in = w->ne[0], out = w->ne[1];
    const presso_type_traits *t = presso_type_traits_of(w->type);
    const size_t row_bytes = (size_t)presso_row_bytes(w->type, in);
    const uint8_t *base = w->data;
    const int64_t n_panels = (out + PRESSO_MATMUL_PANEL_ROWS - 1) / PRESSO_MATMUL_PANEL_ROWS;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (n_panels > 1)
    for (int64_t panel = 0; panel < n_panels; panel++) {
        const int64_t r0 = panel * PRESSO_MATMUL_PANEL_ROWS;
        const int64_t rows = out - r0 < PRESSO_MATMUL_PANEL_ROWS ? out - r0 : PRESSO_MATMUL_PANEL_ROWS;
        const float *wf;
        if (w->type == PRESSO_TYPE_F32) {
            wf = (const float *)(const void *)(base + (size_t)r0 * row_bytes);
        } else {
            float *mine = scratch + (int64_t)omp_get_thread_num() * PRESSO_MATMUL_PANEL_ROWS * in;
            for (int64_t r = 0; r < rows; r++) t->to_float(base + (size_t)(r0 + r) * row_bytes, mine + r * in, in);
            wf = mine;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)rows, (int)in, 1.0f, x, (int)in, wf,
                    (int)in, 0.0f, y + r0, (int)out);
    }
}

/* SmoothQuant W8A8 (w8a8.h): every activation row (token) is quantized to
 * int8 with its own scale, then each output is an int8·int8 dot with int32
 * sums, prefill and decode alike. scratch holds the n quantized rows
 * (n·(4+in) bytes, within presso_matmul_scratch_floats). */
static void matmul_w8a8(const presso_kernels *k, const presso_tensor *w, const float *x, int64_t n, float *y,
                        void *scratch, int n_threads) {
    const int64_t in = w->ne[0], out = w->ne[1];
    const size_t row_bytes = (size_t)presso_row_bytes(w->type, in);
    uint8_t *xq = scratch;
    for (int64_t t = 0; t < n; t++) k->w8a8_quantize_act(x + t * in, xq + (size_t)t * row_bytes, in);
    const uint8_t *base = w->data;
    const bool parallel = n * in * out >= PRESSO_MATMUL_PARALLEL_MIN_WORK;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (int64_t r = 0; r < out; r++) {
        const uint8_t *row = base + (size_t)r * row_bytes;
        for (int64_t t = 0; t < n; t++) y[t * out + r] = k->w8a8_dot(row, xq + (size_t)t * row_bytes, in);
    }
}

void presso_matmul(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch, int n_threads) {
    if (w->type == PRESSO_TYPE_W8A8 && scratch) {
        matmul_w8a8(presso_kernels_active(), w, x, n, y, scratch, n_threads);
        return;
    }
    /* Block types always take the integer-dot route, prefill too: rounding the
     * activations to 8 bits is what llama.cpp computes, and on a model with
     * activation outliers (SmolLM2) the float route's perplexity is 0.3% lower
     * than llama.cpp's on the same file, the integer route's within 0.1%. */
    const bool quantized = presso_type_traits_of(w->type)->is_quantized;
    if (n < PRESSO_MATMUL_GEMM_MIN_ROWS || (quantized && scratch)) matmul_rows(w, x, n, y, scratch, n_threads);
    else matmul_gemm(w, x, n, y, scratch, n_threads);
}
