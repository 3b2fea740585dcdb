/* Y = X Wᵀ for a weight tensor W (ne {in, out}, any type) and n rows of
 * float activations X [n][in], giving Y [n][out].
 * Small n (decode) quantizes the activations once to the weight type's
 * vec_dot_type (Q8_0/Q8_1/Q8_K, as llama.cpp) and runs the dispatched integer
 * vec_dot_q kernels over rows with OpenMP (float vec_dot for F32/F16/BF16);
 * large n (prefill) dequantizes W in row panels and calls OpenBLAS sgemm on
 * each. All parallelism is OpenMP's: OpenBLAS runs single-threaded inside
 * each thread, so the two thread pools never spin against each other. */
#ifndef PRESSO_TENSOR_MATMUL_H
#define PRESSO_TENSOR_MATMUL_H

#include <stdint.h>

#include "presso.h"
#include "tensor/tensor.h"

/* Rows of W dequantized at once on the sgemm path. */
#define PRESSO_MATMUL_PANEL_ROWS 256

/* Floats of scratch presso_matmul needs for W with `in` columns and up to
 * max_rows activation rows per call. */
int64_t presso_matmul_scratch_floats(int64_t in, int64_t max_rows, int n_threads);

/* scratch: presso_matmul_scratch_floats(in) floats (unused when W is F32);
 * on the decode path it holds the quantized activation rows. NULL makes the
 * decode path use float activations. */
void presso_matmul(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch, int n_threads);

/* Weight rows per work item of the integer-dot path (a multiple of every
 * gemm_q tile's row count). */
#define PRESSO_MATMUL_QROW_BLOCK 16

/* presso_matmul for `count` weights of the same input width over the same
 * activations, y[g] = X W[g]ᵀ (q/k/v, or gate/up): the integer route
 * quantizes X once, and decode runs one parallel region for all of them.
 * Each y[g] equals presso_matmul(w[g], ...) bit for bit. */
void presso_matmul_group(int count, const presso_tensor *const w[], float *const y[], const float *x, int64_t n,
                         float *scratch, int n_threads);

/* Multiply-adds below which a matmul runs on one thread. */
#define PRESSO_MATMUL_PARALLEL_MIN_WORK (1 << 16)

/* Batch size from which sgemm beats row-wise dot products. */
#define PRESSO_MATMUL_GEMM_MIN_ROWS 4

#endif
