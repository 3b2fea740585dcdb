/* AVX2 + FMA + F16C kernels. Compiled with -mavx2 -mfma -mf16c and reached
 * only through dispatch.c after cpuid says the CPU has them. */
#include <immintrin.h>

#include "tensor/fp16.h"
#include "tensor/kernels.h"
#include "tensor/types.h"
#include "tensor/w8a8.h"

static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

static float dot_f32_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float sum = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static void axpy_f32_avx2(float a, const float *x, float *y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

static float vec_dot_f32_avx2(const void *row, const float *x, int64_t n) { return dot_f32_avx2(row, x, n); }

static inline __m256 load_f16x8(const presso_f16 *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}

static float vec_dot_f16_avx2(const void *row, const float *x, int64_t n) {
    const presso_f16 *w = row;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_f16x8(w + i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(load_f16x8(w + i + 8), _mm256_loadu_ps(x + i + 8), s1);
        s2 = _mm256_fmadd_ps(load_f16x8(w + i + 16), _mm256_loadu_ps(x + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_f16x8(w + i + 24), _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load_f16x8(w + i), _mm256_loadu_ps(x + i), s0);
    float sum = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) sum += presso_f16_to_f32(w[i]) * x[i];
    return sum;
}

static inline __m256 load_bf16x8(const presso_bf16 *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static float vec_dot_bf16_avx2(const void *row, const float *x, int64_t n) {
    const presso_bf16 *w = row;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(load_bf16x8(w + i + 8), _mm256_loadu_ps(x + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), s0);
    float sum = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) sum += presso_bf16_to_f32(w[i]) * x[i];
    return sum;
}

/* Block types against float activations: dequantize a group of blocks with
 * the reference conversion, then an FMA dot. Decode uses the integer dots of
 * kernels_q_avx2.c instead (int8 activations, as llama.cpp); these remain for
 * callers that need float activations. */
#define DEFINE_BLOCK_DOT_AVX2(type_id, suffix)                                                     \
    static float vec_dot_##suffix##_avx2(const void *row, const float *x, int64_t n) {             \
        const presso_type_traits *t = presso_type_traits_of(type_id);                              \
        float buf[256];                                                                            \
        const int64_t per = 256 / t->block_size;                                                   \
        const uint8_t *p = row;                                                                    \
        float sum = 0.0f;                                                                          \
        for (int64_t i = 0; i < n;) {                                                              \
            int64_t blocks = (n - i) / t->block_size;                                              \
            if (blocks > per) blocks = per;                                                        \
            const int64_t len = blocks * t->block_size;                                            \
            t->to_float(p, buf, len);                                                              \
            sum += dot_f32_avx2(buf, x + i, len);                                                  \
            p += (size_t)blocks * t->block_bytes;                                                  \
            i += len;                                                                              \
        }                                                                                          \
        return sum;                                                                                \
    }

DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q4_0, q4_0)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q4_1, q4_1)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q5_0, q5_0)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q5_1, q5_1)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q8_0, q8_0)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q2_K, q2_K)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q3_K, q3_K)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q4_K, q4_K)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q5_K, q5_K)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q6_K, q6_K)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q3_G32, q3_g32)
DEFINE_BLOCK_DOT_AVX2(PRESSO_TYPE_Q2_G32, q2_g32)

static const presso_kernels avx2_kernels = {
    .name = "avx2",
    .vec_dot =
        {
            [PRESSO_TYPE_F32] = vec_dot_f32_avx2,
            [PRESSO_TYPE_F16] = vec_dot_f16_avx2,
            [PRESSO_TYPE_BF16] = vec_dot_bf16_avx2,
            [PRESSO_TYPE_Q4_0] = vec_dot_q4_0_avx2,
            [PRESSO_TYPE_Q4_1] = vec_dot_q4_1_avx2,
            [PRESSO_TYPE_Q5_0] = vec_dot_q5_0_avx2,
            [PRESSO_TYPE_Q5_1] = vec_dot_q5_1_avx2,
            [PRESSO_TYPE_Q8_0] = vec_dot_q8_0_avx2,
            [PRESSO_TYPE_Q2_K] = vec_dot_q2_K_avx2,
            [PRESSO_TYPE_Q3_K] = vec_dot_q3_K_avx2,
            [PRESSO_TYPE_Q4_K] = vec_dot_q4_K_avx2,
            [PRESSO_TYPE_Q5_K] = vec_dot_q5_K_avx2,
            [PRESSO_TYPE_Q6_K] = vec_dot_q6_K_avx2,
            [PRESSO_TYPE_Q3_G32] = vec_dot_q3_g32_avx2, /* float activations (no integer dot) */
            [PRESSO_TYPE_Q2_G32] = vec_dot_q2_g32_avx2,
            [PRESSO_TYPE_W8A8] = presso_w8a8_vec_dot_f32_avx2,
        },
    .vec_dot_q = presso_vec_dot_q_avx2_table,
    .quantize_act = presso_quantize_act_avx2_table,
    .gemm_q = presso_gemm_q_avx2_table,
    .gemm_packed = presso_gemm_packed_avx2_table,
    .w8a8_quantize_act = presso_w8a8_quantize_act_avx2,
    .w8a8_dot = presso_w8a8_dot_avx2,
    .dot_f32 = dot_f32_avx2,
    .axpy_f32 = axpy_f32_avx2,
};

const presso_kernels *presso_kernels_avx2_table(void);
const presso_kernels *presso_kernels_avx2_table(void) { return &avx2_kernels; }
