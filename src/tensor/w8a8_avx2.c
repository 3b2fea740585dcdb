/* AVX2 kernels of PRESSO_TYPE_W8A8 (layout in w8a8.h), tested against the
 * _ref ones in tests/test_w8a8.c: activation quantization byte-identical,
 * the int8 dot exactly equal (integer sums, same final float products). */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "tensor/w8a8.h"

static float row_scale(const void *row) {
    float d;
    memcpy(&d, row, sizeof d);
    return d;
}

static float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

void presso_w8a8_quantize_act_avx2(const float *x, void *dst, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 vmax = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    float amax = _mm_cvtss_f32(m);
    for (; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    memcpy(dst, &d, sizeof d);
    int8_t *q = (int8_t *)dst + PRESSO_W8A8_ROW_HEADER;
    const __m256 vid = _mm256_set1_ps(id), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v[4];
        for (int k = 0; k < 4; k++) {
            __m256 f = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * k), vid),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            v[k] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(f, lo), hi));
        }
        /* packs interleave 128-bit lanes; the permute puts the 32 bytes back in order */
        const __m256i p16a = _mm256_packs_epi32(v[0], v[1]), p16b = _mm256_packs_epi32(v[2], v[3]);
        __m256i p8 = _mm256_packs_epi16(p16a, p16b);
        p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(void *)(q + i), p8);
    }
    for (; i < n; i++) {
        float v = nearbyintf(x[i] * id);
        v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
        q[i] = (int8_t)(v == v ? v : 0.0f);
    }
}

/* Σ a_i b_i over int8 with |a_i|, |b_i| <= 127: maddubs wants one unsigned
 * operand, so |a| times b carrying a's sign (llama.cpp's sign trick);
 * pairs fit int16 (2·127² < 2¹⁵), then madd with ones sums to int32. */
float presso_w8a8_dot_avx2(const void *w_row, const void *x_row, int64_t n) {
    const int8_t *a = (const int8_t *)w_row + PRESSO_W8A8_ROW_HEADER, *b = (const int8_t *)x_row + PRESSO_W8A8_ROW_HEADER;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256i va = _mm256_loadu_si256((const __m256i *)(const void *)(a + i));
        const __m256i vb = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));
        const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(va, va), _mm256_sign_epi8(vb, va));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p16, ones));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    int32_t sum = _mm_cvtsi128_si32(s);
    for (; i < n; i++) sum += (int32_t)a[i] * (int32_t)b[i];
    return row_scale(w_row) * row_scale(x_row) * (float)sum;
}

float presso_w8a8_vec_dot_f32_avx2(const void *w_row, const float *x, int64_t n) {
    const int8_t *q = (const int8_t *)w_row + PRESSO_W8A8_ROW_HEADER;
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i b8 = _mm_loadl_epi64((const __m128i *)(const void *)(q + i));
        const __m256 w = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b8));
        acc = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + i), acc);
    }
    float sum = hsum_ps(acc);
    for (; i < n; i++) sum += (float)q[i] * x[i];
    return row_scale(w_row) * sum;
}
