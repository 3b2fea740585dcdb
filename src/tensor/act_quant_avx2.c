/* AVX2 activation quantizers for the integer dots (kernels_q_avx2.c): the
 * same bytes as presso_quantize_q8_{0,1,K}_ref on every input. Each block
 * takes a vector fast path when every scaled value lies within +-127.5 (so
 * no clamping or int8 wrap-around can happen) and otherwise, e.g. when the
 * block's absmax is so small that 1/d overflows, or on inf/nan, falls back to
 * the reference for that block. Compiled with -mavx2 -mfma -mf16c. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "tensor/kernels.h"
#include "tensor/quants.h"

#define QK_K PRESSO_QK_K

static inline float hmax_8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* roundf (ties away from zero), as the reference quantizers round: the
 * truncation plus one step away from zero where the exact remainder is >= .5. */
static inline __m256 round_away(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 step = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));
    const __m256 tie_or_more = _mm256_cmp_ps(abs_ps(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    return _mm256_add_ps(t, _mm256_and_ps(tie_or_more, step));
}

/* True when every |v[k]| < 127.5 (false on nan). */
static inline int all_in_int8(const __m256 *v, int count) {
    __m256 ok = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (int k = 0; k < count; k++) ok = _mm256_and_ps(ok, _mm256_cmp_ps(abs_ps(v[k]), _mm256_set1_ps(127.5f), _CMP_LT_OQ));
    return _mm256_movemask_ps(ok) == 0xFF;
}

/* 32 integral floats in [-127, 127] to int8, in order (the permute undoes
 * the per-lane interleave of the packs, as ggml's quantize_row_q8_0). */
static inline __m256i pack_32(const __m256 *r) {
    const __m256i a = _mm256_packs_epi32(_mm256_cvtps_epi32(r[0]), _mm256_cvtps_epi32(r[1]));
    const __m256i b = _mm256_packs_epi32(_mm256_cvtps_epi32(r[2]), _mm256_cvtps_epi32(r[3]));
    return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline int hsum_i8_32(__m256i q) {
    const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q);
    __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* One block of 32 as quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d).
 * Returns 0 (nothing written) where the reference must handle the block. */
static inline int q8_block_32(const float *x, int8_t *qs, float *d_out) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        amax = _mm256_max_ps(amax, abs_ps(v[k]));
    }
    const float d = hmax_8(amax) / 127;
    const float id = d ? 1.0f / d : 0.0f;
    for (int k = 0; k < 4; k++) v[k] = _mm256_mul_ps(v[k], _mm256_set1_ps(id));
    if (!all_in_int8(v, 4)) return 0;
    for (int k = 0; k < 4; k++) v[k] = round_away(v[k]);
    _mm256_storeu_si256((__m256i *)(void *)qs, pack_32(v));
    *d_out = d;
    return 1;
}

static void quantize_q8_0_avx2(const float *src, void *dst, int64_t n) {
    presso_block_q8_0 *y = dst;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        float d;
        if (q8_block_32(src + 32 * ib, y[ib].qs, &d)) y[ib].d = presso_f32_to_f16(d);
        else presso_quantize_q8_0_ref(src + 32 * ib, &y[ib], 32);
    }
}

/* As quantize_row_q8_1_ref: Q8_0's levels plus s = d * sum of the ints. */
static void quantize_q8_1_avx2(const float *src, void *dst, int64_t n) {
    presso_block_q8_1 *y = dst;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        float d;
        if (q8_block_32(src + 32 * ib, y[ib].qs, &d)) {
            y[ib].d = presso_f32_to_f16(d);
            y[ib].s = presso_f32_to_f16((float)hsum_i8_32(_mm256_loadu_si256((const __m256i *)(const void *)y[ib].qs)) * d);
        } else {
            presso_quantize_q8_1_ref(src + 32 * ib, &y[ib], 32);
        }
    }
}

/* As quantize_row_q8_K_ref: iscale = -127/max where max is the first element
 * of largest magnitude (with its sign), round half to even (ggml's
 * nearest_int), and the 16 sums of 16. */
static void quantize_q8_K_avx2(const float *src, void *dst, int64_t n) {
    presso_block_q8_K *y = dst;
    for (int64_t ib = 0; ib < n / QK_K; ib++) {
        const float *x = src + QK_K * ib;
        __m256 vmax = _mm256_setzero_ps();
        for (int k = 0; k < QK_K; k += 8) vmax = _mm256_max_ps(vmax, abs_ps(_mm256_loadu_ps(x + k)));
        const float amax = hmax_8(vmax);
        int first = -1;
        for (int j = 0; j < QK_K && first < 0; j++)
            if (fabsf(x[j]) == amax) first = j;
        if (first < 0 || amax == 0) { /* nan somewhere, or an all-zero block */
            presso_quantize_q8_K_ref(x, &y[ib], QK_K);
            continue;
        }
        const float iscale = -127.f / x[first];
        const __m256 vs = _mm256_set1_ps(iscale);
        __m256 v[QK_K / 8];
        for (int k = 0; k < QK_K / 8; k++) v[k] = _mm256_mul_ps(vs, _mm256_loadu_ps(x + 8 * k));
        if (!all_in_int8(v, QK_K / 8)) {
            presso_quantize_q8_K_ref(x, &y[ib], QK_K);
            continue;
        }
        for (int k = 0; k < QK_K / 8; k++) v[k] = _mm256_round_ps(v[k], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        for (int k = 0; k < QK_K / 32; k++) {
            const __m256i q = pack_32(v + 4 * k);
            _mm256_storeu_si256((__m256i *)(void *)(y[ib].qs + 32 * k), q);
            /* two 16-sums per 32: maddubs with ones, then madd, then per lane */
            __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
            __m128i lo = _mm256_castsi256_si128(s32), hi = _mm256_extracti128_si256(s32, 1);
            lo = _mm_hadd_epi32(lo, hi);
            lo = _mm_hadd_epi32(lo, lo);
            y[ib].bsums[2 * k] = (int16_t)_mm_cvtsi128_si32(lo);
            y[ib].bsums[2 * k + 1] = (int16_t)_mm_extract_epi32(lo, 1);
        }
        y[ib].d = 1 / iscale;
    }
}

const presso_quantize_act_fn presso_quantize_act_avx2_table[PRESSO_TYPE_COUNT] = {
    [PRESSO_TYPE_Q8_0] = quantize_q8_0_avx2,
    [PRESSO_TYPE_Q8_1] = quantize_q8_1_avx2,
    [PRESSO_TYPE_Q8_K] = quantize_q8_K_avx2,
};
