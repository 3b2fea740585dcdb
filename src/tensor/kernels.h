/* Compute kernels in tiers (as BLIS): kernels_ref.c is the readable oracle,
 * kernels_avx2.c (and later avx512) the fast versions, chosen once at run
 * time from cpuid in dispatch.c — never by #ifdef at a call site. The
 * avx512 tier is avx2's table with VNNI kernels where presso has them. */
#ifndef PRESSO_TENSOR_KERNELS_H
#define PRESSO_TENSOR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "presso.h"

/* dot(row of weights in their stored type, float vector), n elements
 * (a multiple of the type's block size). */
typedef float (*presso_vec_dot_fn)(const void *row, const float *x, int64_t n);

/* dot(row of weights, activations already quantized to the row type's
 * presso_vec_dot_type), n elements: integer products per block, as llama.cpp's
 * ggml_vec_dot_<type>_<vec_dot_type>. */
typedef float (*presso_vec_dot_q_fn)(const void *row, const void *xq, int64_t n);
/* rows x cols integer dots at once (a tiled GEMM, for prefill): for r < rows,
 * c < cols, y[c * ldy + r] = vec_dot_q(w + r * w_stride, xq + c * x_stride, n),
 * bit for bit equal to the same tier's vec_dot_q. */
typedef void (*presso_gemm_q_fn)(const void *w, size_t w_stride, const void *xq, size_t x_stride, int64_t n,
                                 float *y, int64_t ldy, int64_t rows, int64_t cols);
/* rows (a multiple of 8) x cols integer dots against a repacked copy of the
 * rows (repack.h; w is the rows' first group of 8): y[c * ldy + r] for
 * r < rows, c < cols, activations quantized as for vec_dot_q, x_stride bytes
 * apart. xsum holds each activation block's sum of levels, [c * (n / 32) +
 * block] (presso_block_sums_q8_0), for types whose levels carry an offset
 * (Q4_0); K-quants read Q8_K's bsums and take NULL. Per row and block the
 * float steps are fixed (acc = fma(d_w d_x, float(integer sum), acc), Q4_K
 * then acc = fma(-(dmin_w d_x), float(min sum), acc), blocks in order), so
 * every tier, tile and thread count gives the same bits; they differ from
 * vec_dot_q's 8-lane accumulation in float rounding only. */
typedef void (*presso_gemm_packed_fn)(const void *w, const void *xq, size_t x_stride, const int32_t *xsum, int64_t n,
                                      float *y, int64_t ldy, int64_t rows, int64_t cols);
/* n floats (a multiple of the block size) into blocks of an activation type. */
typedef void (*presso_quantize_act_fn)(const float *x, void *dst, int64_t n);

typedef struct {
    const char *name;
    presso_vec_dot_fn vec_dot[PRESSO_TYPE_COUNT]; /* NULL: type not supported */
    /* [PRESSO_TYPE_COUNT] each. vec_dot_q[t] (NULL: no integer dot, use
     * vec_dot) takes activations quantized by quantize_act[presso_vec_dot_type(t)].
     * The float vec_dot entries of block types stay: they are the accuracy
     * reference the quantized-activation dots are measured against. */
    const presso_vec_dot_q_fn *vec_dot_q;
    const presso_quantize_act_fn *quantize_act; /* for Q8_0, Q8_1, Q8_K; bit-exact across tiers */
    /* [PRESSO_TYPE_COUNT] or NULL; NULL entry: matmul tiles vec_dot_q itself. */
    const presso_gemm_q_fn *gemm_q;
    /* [PRESSO_TYPE_COUNT]: kernels on repacked weights (presso_tensor.packed). */
    const presso_gemm_packed_fn *gemm_packed;
    /* PRESSO_TYPE_W8A8 (w8a8.h): per-token int8 activations, int8·int8 dot. */
    void (*w8a8_quantize_act)(const float *x, void *dst, int64_t n);
    float (*w8a8_dot)(const void *w_row, const void *x_row, int64_t n);
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    void (*axpy_f32)(float a, const float *x, float *y, int64_t n); /* y += a x */
} presso_kernels;

/* The activation type a weight type's integer dot takes (llama.cpp's
 * type_traits_cpu[t].vec_dot_type): Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 (with
 * s = d*sum(q)) for Q4_1/Q5_1, Q8_K (with bsums) for the K-quants;
 * PRESSO_TYPE_F32 (float activations) for every other type. */
presso_type presso_vec_dot_type(presso_type t);

/* Per-tier tables of kernels_q_ref.c / kernels_q_avx2.c, [PRESSO_TYPE_COUNT]. */
extern const presso_vec_dot_q_fn presso_vec_dot_q_ref_table[PRESSO_TYPE_COUNT];
extern const presso_quantize_act_fn presso_quantize_act_ref_table[PRESSO_TYPE_COUNT];
extern const presso_vec_dot_q_fn presso_vec_dot_q_avx2_table[PRESSO_TYPE_COUNT];
extern const presso_quantize_act_fn presso_quantize_act_avx2_table[PRESSO_TYPE_COUNT];
extern const presso_gemm_q_fn presso_gemm_q_avx2_table[PRESSO_TYPE_COUNT]; /* gemm_q_avx2.c */
extern const presso_gemm_packed_fn presso_gemm_packed_ref_table[PRESSO_TYPE_COUNT];  /* gemm_packed_ref.c */
extern const presso_gemm_packed_fn presso_gemm_packed_avx2_table[PRESSO_TYPE_COUNT]; /* gemm_packed_avx2.c */

/* sums[b] = sum of the 32 levels of Q8_0 block b, for nb blocks (the
 * offset term of the packed Q4_0 kernels: d (u - 8) y summed as
 * d (sum u y - 8 sum y)). */
void presso_block_sums_q8_0(const void *xq, int64_t nb, int32_t *sums);

const presso_kernels *presso_kernels_ref(void);
/* NULL when this CPU lacks AVX2+FMA+F16C. */
const presso_kernels *presso_kernels_avx2(void);
/* The AVX2 tier with VNNI kernels where they exist (the repacked Q4_0,
 * Q8_0, Q4_K and Q6_K); NULL when this CPU lacks AVX-512 F/BW/VL + VNNI. */
const presso_kernels *presso_kernels_avx512(void);

/* The kernels every caller uses: the best this CPU supports, unless
 * PRESSO_KERNELS=ref|avx2 in the environment or presso_kernels_select()
 * says otherwise. */
const presso_kernels *presso_kernels_active(void);
/* "auto", "ref", "avx2" or "avx512"; PRESSO_ERR_UNSUPPORTED when the CPU
 * lacks it. auto takes the best. */
presso_status presso_kernels_select(const char *name);

#endif
