/* Y = X Wᵀ for a weight tensor W (ne {in, out}, any type) and n rows of
 * float activations X [n][in], giving Y [n][out].
 * Block types (Q4_0 … Q6_K, Q8_0), decode and prefill alike: the activations
 * are quantized once to the weight type's vec_dot_type (Q8_0/Q8_1/Q8_K, as
 * llama.cpp), then blocks of weight rows go to the OpenMP threads, each a
 * tiled integer GEMM (kernels' gemm_q; the vec_dot_q one by one where a type
 * has none, or for a single activation row) whose every output equals the
 * row-by-row vec_dot_q bit for bit. A new block type is one more vec_dot_q
 * (and optionally gemm_q) entry in the kernel tables; nothing here changes.
 * Float types: vec_dot per row for small n (decode); for large n (prefill) W
 * in row panels (dequantized for F16/BF16) through OpenBLAS sgemm. All
 * parallelism is OpenMP's: OpenBLAS runs single-threaded inside each thread,
 * so the two thread pools never spin against each other. */
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
 * for block types it holds the quantized activation rows. NULL makes block
 * types use float activations (dequantized sgemm / float dots). */
void presso_matmul(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch, int n_threads);

/* Weight rows per work item of the integer-dot path (a multiple of every
 * gemm_q tile's row count). */
#define PRESSO_MATMUL_QROW_BLOCK 16
/* The same on repacked weights (a multiple of PRESSO_REPACK_ROWS): 8 groups
 * of 8 rows per item. */
#define PRESSO_MATMUL_PACKED_ROW_BLOCK 64

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
