/* Reference kernels: plain C, fixed summation order. The oracle that every
 * SIMD kernel is tested against. */
#include "tensor/kernels.h"

#include "tensor/fp16.h"
#include "tensor/types.h"
#include "tensor/w8a8.h"

static float dot_f32_ref(const float *a, const float *b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static void axpy_f32_ref(float a, const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

static float vec_dot_f32_ref(const void *row, const float *x, int64_t n) { return dot_f32_ref(row, x, n); }

static float vec_dot_f16_ref(const void *row, const float *x, int64_t n) {
    const presso_f16 *w = row;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += presso_f16_to_f32(w[i]) * x[i];
    return sum;
}

static float vec_dot_bf16_ref(const void *row, const float *x, int64_t n) {
    const presso_bf16 *w = row;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += presso_bf16_to_f32(w[i]) * x[i];
    return sum;
}

/* Any block type against float activations: dequantize one block at a time
 * with the type's reference conversion, then dot. Decode uses the integer
 * dots of kernels_q_ref.c; these stay as the exact-activation reference the
 * quantized-activation dots are measured against. */
#define DEFINE_BLOCK_DOT(type_id, suffix)                                                          \
    static float vec_dot_##suffix##_ref(const void *row, const float *x, int64_t n) {              \
        const presso_type_traits *t = presso_type_traits_of(type_id);                              \
        float block[256];                                                                          \
        float sum = 0.0f;                                                                          \
        const uint8_t *p = row;                                                                    \
        for (int64_t i = 0; i < n; i += t->block_size) {                                           \
            t->to_float(p, block, t->block_size);                                                  \
            sum += dot_f32_ref(block, x + i, t->block_size);                                       \
            p += t->block_bytes;                                                                   \
        }                                                                                          \
        return sum;                                                                                \
    }

DEFINE_BLOCK_DOT(PRESSO_TYPE_Q4_0, q4_0)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q4_1, q4_1)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q5_0, q5_0)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q5_1, q5_1)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q8_0, q8_0)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q2_K, q2_K)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q3_K, q3_K)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q4_K, q4_K)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q5_K, q5_K)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q6_K, q6_K)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q3_G32, q3_g32)
DEFINE_BLOCK_DOT(PRESSO_TYPE_Q2_G32, q2_g32)

static const presso_kernels ref_kernels = {
    .name = "ref",
    .vec_dot =
        {
            [PRESSO_TYPE_F32] = vec_dot_f32_ref,
            [PRESSO_TYPE_F16] = vec_dot_f16_ref,
            [PRESSO_TYPE_BF16] = vec_dot_bf16_ref,
            [PRESSO_TYPE_Q4_0] = vec_dot_q4_0_ref,
            [PRESSO_TYPE_Q4_1] = vec_dot_q4_1_ref,
            [PRESSO_TYPE_Q5_0] = vec_dot_q5_0_ref,
            [PRESSO_TYPE_Q5_1] = vec_dot_q5_1_ref,
            [PRESSO_TYPE_Q8_0] = vec_dot_q8_0_ref,
            [PRESSO_TYPE_Q2_K] = vec_dot_q2_K_ref,
            [PRESSO_TYPE_Q3_K] = vec_dot_q3_K_ref,
            [PRESSO_TYPE_Q4_K] = vec_dot_q4_K_ref,
            [PRESSO_TYPE_Q5_K] = vec_dot_q5_K_ref,
            [PRESSO_TYPE_Q6_K] = vec_dot_q6_K_ref,
            [PRESSO_TYPE_Q3_G32] = vec_dot_q3_g32_ref, /* float activations (no integer dot) */
            [PRESSO_TYPE_Q2_G32] = vec_dot_q2_g32_ref,
            [PRESSO_TYPE_W8A8] = presso_w8a8_vec_dot_f32_ref,
        },
    .vec_dot_q = presso_vec_dot_q_ref_table,
    .quantize_act = presso_quantize_act_ref_table,
    .gemm_packed = presso_gemm_packed_ref_table,
    .w8a8_quantize_act = presso_w8a8_quantize_act_ref,
    .w8a8_dot = presso_w8a8_dot_ref,
    .dot_f32 = dot_f32_ref,
    .axpy_f32 = axpy_f32_ref,
};

const presso_kernels *presso_kernels_ref(void) { return &ref_kernels; }
