#include "tensor/matmul.h"

#include <cblas.h>
#include <stdbool.h>
#include <omp.h>

#include "tensor/kernels.h"
#include "tensor/repack.h"
#include "tensor/sparse.h"
#include "tensor/types.h"

int64_t presso_matmul_scratch_floats(int64_t in, int64_t max_rows, int n_threads) {
    const int64_t panels = (int64_t)(n_threads > 0 ? n_threads : 1) * PRESSO_MATMUL_PANEL_ROWS * in;
    /* Quantized activation rows: at most 292 bytes per 256 values (Q8_K), as
     * floats, then an int32 sum per 32-block for the repacked Q4_0 kernels. */
    const int64_t rows = max_rows > 0 ? max_rows : 1;
    const int64_t quantized = rows * ((in + 255) / 256) * 292 / 4 + 1 + rows * ((in + 31) / 32);
    return panels > quantized ? panels : quantized;
}

/* Rows of the tiled integer dots (vec_dot_q, or its tier's gemm_q) over all
 * activation rows c0.. c0+cols, ragged or not: columns in groups of four so
 * that a group's activation blocks stay in L1 while the rows pass. */
static void gemm_q_by_dots(presso_vec_dot_q_fn dot, const uint8_t *w, size_t ws, const uint8_t *xq, size_t xs,
                           int64_t n, float *y, int64_t ldy, int64_t rows, int64_t cols) {
    for (int64_t c0 = 0; c0 < cols; c0 += 4)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = c0; c < cols && c < c0 + 4; c++)
                y[c * ldy + r] = dot(w + (size_t)r * ws, xq + (size_t)c * xs, n);
}

/* Row blocks of up to block_rows rows over the weights of a group (one
 * matmul, or several sharing their input: q/k/v, gate/up). */
static int64_t row_blocks(const presso_tensor *w, int64_t block_rows) {
    return (w->ne[1] + block_rows - 1) / block_rows;
}

/* Whether every weight of the group has a repacked copy and this tier a
 * kernel for it (then the whole group takes the repacked kernels). */
static bool group_packed(const presso_kernels *k, int count, const presso_tensor *const w[]) {
    if (!k->gemm_packed) return false;
    for (int g = 0; g < count; g++)
        if (!w[g]->packed || !k->gemm_packed[w[g]->type]) return false;
    return true;
}

/* How the row blocks of a group go to the threads (the loops below use
 * schedule(runtime)). Decode (n < PRESSO_MATMUL_GEMM_MIN_ROWS activation
 * rows): static, one contiguous run of blocks per thread, so that each thread
 * streams its share of the weights front to back; measured on synth-1b at 2
 * threads, quiet machine: Q4_0 decode 13.4-14.0 -> 15.8-17.2 tok/s, Q4_K
 * 14.7 -> 16.6, F32/F16/Q8_0 unchanged within the noise. Prefill: dynamic,
 * so that on a shared machine a slowed thread takes fewer blocks. Each output
 * is computed by the same dot either way: results do not depend on it. */
static void set_row_block_schedule(int64_t n) {
    if (n < PRESSO_MATMUL_GEMM_MIN_ROWS) omp_set_schedule(omp_sched_static, 0);
    else omp_set_schedule(omp_sched_dynamic, 1);
}

/* Integer dots (llama.cpp's scheme) for decode and prefill alike: each
 * activation row is quantized once to the weights' vec_dot_type (Q8_0, Q8_1
 * or Q8_K) into scratch, then blocks of PRESSO_MATMUL_QROW_BLOCK weight rows
 * of every weight in the group go to the threads, each block a tiled GEMM
 * against all n quantized rows (gemm_q; the dots one by one where a type has
 * none). Every output is the tier's vec_dot_q of its row and activation row,
 * bit for bit, so results depend on neither n, the tiling, the grouping nor
 * the thread count. Weights with a repacked copy (repack.h, every weight of
 * the group) take the tier's gemm_packed instead, in blocks of
 * PRESSO_MATMUL_PACKED_ROW_BLOCK rows: its outputs are just as independent
 * of n and the threads, and differ from vec_dot_q in float rounding only. Approximate by design: the activations carry 8-bit levels
 * per block of 32 (256 for K). One parallel region per group: on a loaded
 * machine each region's barrier costs a scheduling round. */
static void matmul_quantized_group(const presso_kernels *k, int count, const presso_tensor *const w[],
                                   float *const y[], const float *x, int64_t n, void *scratch, int n_threads) {
    const int64_t in = w[0]->ne[0];
    const presso_type act = presso_vec_dot_type(w[0]->type);
    const size_t act_bytes = (size_t)presso_row_bytes(act, in);
    const presso_quantize_act_fn quantize = k->quantize_act[act];
    uint8_t *xq = scratch;
    const bool packed = group_packed(k, count, w);
    /* Repacked Q4_0 / Q5_0 take each activation block's level sum (kernels.h). */
    bool sums = false;
    for (int g = 0; g < count && packed; g++) sums |= presso_repack_needs_block_sums(w[g]->type);
    int32_t *xsum = sums ? (int32_t *)(void *)(xq + ((size_t)n * act_bytes + 3) / 4 * 4) : NULL;
    const int64_t block_rows = packed ? PRESSO_MATMUL_PACKED_ROW_BLOCK : PRESSO_MATMUL_QROW_BLOCK;
    int64_t work = 0, n_blocks = 0;
    for (int g = 0; g < count; g++) work += n * in * w[g]->ne[1], n_blocks += row_blocks(w[g], block_rows);
    const bool parallel = work >= PRESSO_MATMUL_PARALLEL_MIN_WORK;
    /* Decode quantizes its few rows before the region (no barrier inside). */
    const bool serial_quantize = n < PRESSO_MATMUL_GEMM_MIN_ROWS || !parallel;
    if (serial_quantize)
        for (int64_t t = 0; t < n; t++) {
            quantize(x + t * in, xq + (size_t)t * act_bytes, in);
            if (xsum) presso_block_sums_q8_0(xq + (size_t)t * act_bytes, in / 32, xsum + t * (in / 32));
        }
    set_row_block_schedule(n);
#pragma omp parallel num_threads(n_threads) if (parallel)
    {
        if (!serial_quantize) {
#pragma omp for schedule(static)
            for (int64_t t = 0; t < n; t++) {
                quantize(x + t * in, xq + (size_t)t * act_bytes, in);
                if (xsum) presso_block_sums_q8_0(xq + (size_t)t * act_bytes, in / 32, xsum + t * (in / 32));
            }
        }
#pragma omp for schedule(runtime) /* set_row_block_schedule */
        for (int64_t blk = 0; blk < n_blocks; blk++) {
            int g = 0;
            int64_t b = blk;
            while (b >= row_blocks(w[g], block_rows)) b -= row_blocks(w[g], block_rows), g++;
            const int64_t out = w[g]->ne[1], r0 = b * block_rows;
            const int64_t rows = out - r0 < block_rows ? out - r0 : block_rows;
            const size_t row_bytes = (size_t)presso_row_bytes(w[g]->type, in);
            const uint8_t *wr = (const uint8_t *)w[g]->data + (size_t)r0 * row_bytes;
            const presso_gemm_q_fn gemm = k->gemm_q ? k->gemm_q[w[g]->type] : NULL;
            if (packed) {
                const uint8_t *wp = (const uint8_t *)w[g]->packed +
                                    (size_t)(r0 / PRESSO_REPACK_ROWS) * presso_repack_group_bytes(w[g]->type, in);
                k->gemm_packed[w[g]->type](wp, xq, act_bytes, xsum, in, y[g] + r0, out, rows, n);
            } else if (gemm) gemm(wr, row_bytes, xq, act_bytes, in, y[g] + r0, out, rows, n);
            else gemm_q_by_dots(k->vec_dot_q[w[g]->type], wr, row_bytes, xq, act_bytes, in, y[g] + r0, out, rows, n);
        }
    }
}

/* Float activations (F32/F16/BF16 weights, and block types without scratch):
 * a dot per row and activation row, the row blocks of the whole group in one
 * parallel region. */
static void matmul_rows_group(const presso_kernels *k, int count, const presso_tensor *const w[], float *const y[],
                              const float *x, int64_t n, int n_threads) {
    const int64_t in = w[0]->ne[0];
    int64_t work = 0, n_blocks = 0;
    for (int g = 0; g < count; g++) work += n * in * w[g]->ne[1], n_blocks += row_blocks(w[g], PRESSO_MATMUL_QROW_BLOCK);
    /* Below ~64K multiply-adds a parallel region costs more than it saves. */
    const bool parallel = work >= PRESSO_MATMUL_PARALLEL_MIN_WORK;
    set_row_block_schedule(n);
#pragma omp parallel for num_threads(n_threads) schedule(runtime) if (parallel)
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        int g = 0;
        int64_t b = blk;
        while (b >= row_blocks(w[g], PRESSO_MATMUL_QROW_BLOCK)) b -= row_blocks(w[g], PRESSO_MATMUL_QROW_BLOCK), g++;
        const int64_t out = w[g]->ne[1], r0 = b * PRESSO_MATMUL_QROW_BLOCK;
        const int64_t r1 = out - r0 < PRESSO_MATMUL_QROW_BLOCK ? out : r0 + PRESSO_MATMUL_QROW_BLOCK;
        const size_t row_bytes = (size_t)presso_row_bytes(w[g]->type, in);
        const presso_vec_dot_fn dot = k->vec_dot[w[g]->type];
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)w[g]->data + (size_t)r * row_bytes;
            for (int64_t t = 0; t < n; t++) y[g][t * out + r] = dot(row, x + t * in, in);
        }
    }
}

/* Whether W takes the integer-dot route: a block type with an integer dot
 * in this tier, and scratch for the quantized activations. */
static bool integer_route(const presso_kernels *k, const presso_tensor *w, const void *scratch) {
    const presso_type act = presso_vec_dot_type(w->type);
    return scratch && act != PRESSO_TYPE_F32 && k->vec_dot_q[w->type] && k->quantize_act[act] &&
           presso_row_bytes(act, w->ne[0]) > 0;
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

/* Types with kernels of their own, outside the grouped routes: the 2:4
 * sparse types (sparse.h) and W8A8 (per-token int8 activations). */
static bool own_kernels(presso_type t) { return presso_type_is_sparse(t) || t == PRESSO_TYPE_W8A8; }

void presso_matmul_group(int count, const presso_tensor *const w[], float *const y[], const float *x, int64_t n,
                         float *scratch, int n_threads) {
    const presso_kernels *k = presso_kernels_active();
    /* Block types always take the integer-dot route, prefill too: rounding the
     * activations to 8 bits is what llama.cpp computes, and on a model with
     * activation outliers (SmolLM2) the float route's perplexity is 0.3% lower
     * than llama.cpp's on the same file, the integer route's within 0.1%. */
    bool same_route = count > 0 && !own_kernels(w[0]->type);
    const bool integer = same_route && integer_route(k, w[0], scratch);
    for (int g = 1; g < count && same_route; g++) {
        same_route = w[g]->ne[0] == w[0]->ne[0] && !own_kernels(w[g]->type) &&
                     integer_route(k, w[g], scratch) == integer &&
                     (!integer || presso_vec_dot_type(w[g]->type) == presso_vec_dot_type(w[0]->type));
    }
    if (same_route && integer) {
        matmul_quantized_group(k, count, w, y, x, n, scratch, n_threads);
    } else if (same_route && n < PRESSO_MATMUL_GEMM_MIN_ROWS) {
        matmul_rows_group(k, count, w, y, x, n, n_threads);
    } else {
        for (int g = 0; g < count; g++) {
            /* 2:4 sparse types have their own kernels (sparse.h). */
            if (presso_type_is_sparse(w[g]->type)) presso_sparse_matmul_rows(w[g], x, n, y[g], scratch, n_threads);
            else if (w[g]->type == PRESSO_TYPE_W8A8 && scratch) matmul_w8a8(k, w[g], x, n, y[g], scratch, n_threads);
            else if (integer_route(k, w[g], scratch))
                matmul_quantized_group(k, 1, &w[g], &y[g], x, n, scratch, n_threads);
            else if (n < PRESSO_MATMUL_GEMM_MIN_ROWS) matmul_rows_group(k, 1, &w[g], &y[g], x, n, n_threads);
            else matmul_gemm(w[g], x, n, y[g], scratch, n_threads);
        }
    }
}

void presso_matmul(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch, int n_threads) {
    presso_matmul_group(1, &w, &y, x, n, scratch, n_threads);
}
