#include "tensor/matmul.h"

#include <cblas.h>
#include <stdbool.h>
#include <omp.h>

#include "tensor/kernels.h"
#include "tensor/types.h"

int64_t presso_matmul_scratch_floats(int64_t in, int n_threads) {
    return (int64_t)(n_threads > 0 ? n_threads : 1) * PRESSO_MATMUL_PANEL_ROWS * in;
}

static void matmul_rows(const presso_tensor *w, const float *x, int64_t n, float *y, int n_threads) {
    const int64_t in = w->ne[0], out = w->ne[1];
    const size_t row_bytes = (size_t)presso_row_bytes(w->type, in);
    const presso_vec_dot_fn dot = presso_kernels_active()->vec_dot[w->type];
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

void presso_matmul(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch, int n_threads) {
    if (n < PRESSO_MATMUL_GEMM_MIN_ROWS) matmul_rows(w, x, n, y, n_threads);
    else matmul_gemm(w, x, n, y, scratch, n_threads);
}
