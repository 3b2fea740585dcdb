/* AVX2 integer dot products of quantized weight rows with quantized
 * activations, and the activation quantizers. Compiled with -mavx2 -mfma
 * -mf16c and reached only through dispatch.c. Each dot follows the AVX2 branch
 * of the named llama.cpp function (ggml/src/ggml-cpu/arch/x86/quants.c): the
 * integer sums per block equal kernels_q_ref.c's exactly; only the float
 * accumulation order differs (8 float lanes, then a horizontal sum).
 *
 * int8 x int8 products go through _mm256_maddubs_epi16 (unsigned x signed):
 * the weight's sign is moved onto the activation with _mm256_sign_epi8. That
 * is exact for weights in [-128, 127] and activations in [-127, 127], which
 * is what the quantizers below produce for any block whose absmax is at least
 * ~1e-36 (below that, ggml's and presso's reference quantizers can wrap 128
 * to -128, and this dot then disagrees with the reference on that block). */
#include <immintrin.h>
#include <string.h>

#include "tensor/kernels.h"
#include "tensor/quants.h"
#include "tensor/q_avx2.h"

#define QK_K PRESSO_QK_K

/* ggml_vec_dot_q4_0_q8_0, AVX2 branch */
static float vec_dot_q4_0_q8_0_avx2(const void *row, const void *xq, int64_t n) {
    const presso_block_q4_0 *x = row;
    const presso_block_q8_0 *y = xq;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / 32; ib++) {
        const __m256 d = _mm256_set1_ps(f16(x[ib].d) * f16(y[ib].d));
        const __m256i qx = _mm256_sub_epi8(bytes_from_nibbles_32(x[ib].qs), _mm256_set1_epi8(8));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(mul_sum_i8(qx, load32(y[ib].qs))), acc);
    }
    return hsum_float_8(acc);
}

/* ggml_vec_dot_q4_1_q8_1, AVX2 branch: the mins are summed in a scalar. */
static float vec_dot_q4_1_q8_1_avx2(const void *row, const void *xq, int64_t n) {
    const presso_block_q4_1 *x = row;
    const presso_block_q8_1 *y = xq;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        summs += f16(x[ib].m) * f16(y[ib].s);
        const __m256 d = _mm256_set1_ps(f16(x[ib].d) * f16(y[ib].d));
        const __m256i qx = bytes_from_nibbles_32(x[ib].qs);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(mul_sum_us8(qx, load32(y[ib].qs))), acc);
    }
    return hsum_float_8(acc) + summs;
}

/* ggml_vec_dot_q5_0_q8_0, AVX2 branch: 0xF0 or'ed where the fifth bit is
 * clear makes the signed value nibble - 16 directly. */
static float vec_dot_q5_0_q8_0_avx2(const void *row, const void *xq, int64_t n) {
    const presso_block_q5_0 *x = row;
    const presso_block_q8_0 *y = xq;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / 32; ib++) {
        const __m256 d = _mm256_set1_ps(f16(x[ib].d) * f16(y[ib].d));
        const __m256i hi = _mm256_andnot_si256(bytes_from_bits_32(x[ib].qh), _mm256_set1_epi8((char)0xF0));
        const __m256i qx = _mm256_or_si256(bytes_from_nibbles_32(x[ib].qs), hi);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(mul_sum_i8(qx, load32(y[ib].qs))), acc);
    }
    return hsum_float_8(acc);
}

/* ggml_vec_dot_q5_1_q8_1, AVX2 branch */
static float vec_dot_q5_1_q8_1_avx2(const void *row, const void *xq, int64_t n) {
    const presso_block_q5_1 *x = row;
    const presso_block_q8_1 *y = xq;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        summs += f16(x[ib].m) * f16(y[ib].s);
        const __m256 d = _mm256_set1_ps(f16(x[ib].d) * f16(y[ib].d));
        const __m256i hi = _mm256_and_si256(bytes_from_bits_32(x[ib].qh), _mm256_set1_epi8(0x10));
        const __m256i qx = _mm256_or_si256(bytes_from_nibbles_32(x[ib].qs), hi);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(mul_sum_us8(qx, load32(y[ib].qs))), acc);
    }
    return hsum_float_8(acc) + summs;
}

/* ggml_vec_dot_q8_0_q8_0, AVX2 branch */
static float vec_dot_q8_0_q8_0_avx2(const void *row, const void *xq, int64_t n) {
    const presso_block_q8_0 *x = row;
    const presso_block_q8_0 *y = xq;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / 32; ib++) {
        const __m256 d = _mm256_set1_ps(f16(x[ib].d) * f16(y[ib].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(mul_sum_i8(load32(x[ib].qs), load32(y[ib].qs))), acc);
    }
    return hsum_float_8(acc);
}

/* ggml_vec_dot_q2_K_q8_K, AVX2 branch: 2-bit levels times q8 by maddubs, the
 * 4-bit scale per 16 by madd; mins against bsums. */
static float vec_dot_q2_K_q8_K_avx2(const void *row, const void *xq, int64_t n) {
    const presso_block_q2_K *x = row;
    const presso_block_q8_K *y = xq;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    float summs_f = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *sc = x[i].scales;
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)(const void *)sc);
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), _mm_set1_epi8(0x0F)));
        const int summs = hsum_i32_8(_mm256_madd_epi16(mins, load32(y[i].bsums)));
        const float dall = y[i].d * f16(x[i].d), dmin = y[i].d * f16(x[i].dmin);
        __m256i sumi = _mm256_setzero_si256();
        for (int g = 0; g < 8; g++) { /* 32-element group: bits 2*(g%4) of qs[32*(g/4)..] */
            const __m256i q2 = _mm256_and_si256(_mm256_srli_epi16(load32(x[i].qs + 32 * (g / 4)), 2 * (g % 4)), m3);
            const __m256i p16 = _mm256_maddubs_epi16(q2, load32(y[i].qs + 32 * g));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scales_16_16(sc[2 * g] & 0xF, sc[2 * g + 1] & 0xF), p16));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dall), _mm256_cvtepi32_ps(sumi), acc);
        summs_f += dmin * summs;
    }
    return hsum_float_8(acc) - summs_f;
}

/* Unpacked scales as in kernels_q_ref.c (ggml's kmask code). */
static void q3_K_scales(const uint8_t packed[12], int8_t out[16]) {
    uint32_t a[4];
    memcpy(a, packed, 12);
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f, tmp = a[2];
    a[2] = ((a[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    a[3] = ((a[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    a[0] = (a[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    a[1] = (a[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    memcpy(out, a, 16);
}

/* ggml_vec_dot_q3_K_q8_K, AVX2 branch: q = low2 - 4*(high bit clear), as
 * maddubs(low2, q8) - maddubs(4*clear, q8). */
static float vec_dot_q3_K_q8_K_avx2(const void *row, const void *xq, int64_t n) {
    const presso_block_q3_K *x = row;
    const presso_block_q8_K *y = xq;
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t sc[16];
        q3_K_scales(x[i].scales, sc);
        const __m256i hbits = load32(x[i].hmask);
        __m256i sumi = _mm256_setzero_si256();
        for (int g = 0; g < 8; g++) {
            const __m256i q8 = load32(y[i].qs + 32 * g);
            const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(load32(x[i].qs + 32 * (g / 4)), 2 * (g % 4)), m3);
            const __m256i clear = _mm256_andnot_si256(_mm256_srli_epi16(hbits, g), one); /* 1 where bit g is 0 */
            const __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(lo, q8),
                                                 _mm256_maddubs_epi16(_mm256_slli_epi16(clear, 2), q8));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scales_16_16(sc[2 * g] - 32, sc[2 * g + 1] - 32), p16));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_float_8(acc);
}

/* ggml_vec_dot_q4_K_q8_K and ggml_vec_dot_q5_K_q8_K, AVX2 branches: one
 * 6-bit scale per 32 by madd after maddubs; the 8 mins meet bsums summed in
 * pairs (hadd), in a 4-lane float accumulator. */
static inline float vec_dot_q45_K_avx2(const void *row, const void *xq, int64_t n, int five_bits) {
    const presso_block_q8_K *y = xq;
    const size_t block_bytes = five_bits ? sizeof(presso_block_q5_K) : sizeof(presso_block_q4_K);
    const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *blk = (const uint8_t *)row + (size_t)i * block_bytes;
        const presso_block_q4_K *x4 = (const void *)blk;
        const presso_block_q5_K *x5 = (const void *)blk;
        const uint8_t *q4 = five_bits ? x5->qs : x4->qs;
        const presso_f16 xd = five_bits ? x5->d : x4->d, xdmin = five_bits ? x5->dmin : x4->dmin;
        uint32_t u[4];
        q4_K_scales_mins(five_bits ? x5->scales : x4->scales, u);
        const uint8_t *scales = (const uint8_t *)u;
        const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)(u + 2)));
        const __m256i bsums = load32(y[i].bsums);
        const __m128i q8s = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
        const __m128i prod = _mm_madd_epi16(mins, q8s);
        acc_m = _mm_fmadd_ps(_mm_set1_ps(-(y[i].d * f16(xdmin))), _mm_cvtepi32_ps(prod), acc_m);
        const __m256i hbits = five_bits ? load32(x5->qh) : _mm256_setzero_si256();
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i bits = load32(q4 + 32 * j);
            __m256i ql = _mm256_and_si256(bits, m4), qh = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            if (five_bits) {
                ql = _mm256_add_epi8(ql, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * j), one), 4));
                qh = _mm256_add_epi8(qh, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * j + 1), one), 4));
            }
            const __m256i pl = _mm256_madd_epi16(_mm256_set1_epi16(scales[2 * j]),
                                                 _mm256_maddubs_epi16(ql, load32(y[i].qs + 64 * j)));
            const __m256i ph = _mm256_madd_epi16(_mm256_set1_epi16(scales[2 * j + 1]),
                                                 _mm256_maddubs_epi16(qh, load32(y[i].qs + 64 * j + 32)));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(xd) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_float_8(acc) + hsum_float_4(acc_m);
}

static float vec_dot_q4_K_q8_K_avx2(const void *row, const void *xq, int64_t n) { return vec_dot_q45_K_avx2(row, xq, n, 0); }
static float vec_dot_q5_K_q8_K_avx2(const void *row, const void *xq, int64_t n) { return vec_dot_q45_K_avx2(row, xq, n, 1); }

/* ggml_vec_dot_q6_K_q8_K, AVX2 branch: the 6-bit level (0..63) by maddubs,
 * minus 32*q8 (maddubs of 32s), then the int8 scale per 16 by madd. */
static float vec_dot_q6_K_q8_K_avx2(const void *row, const void *xq, int64_t n) {
    const presso_block_q6_K *x = row;
    const presso_block_q8_K *y = xq;
    const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3), m32s = _mm256_set1_epi8(32);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs, *sc = x[i].scales;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 2; j++, ql += 64, qh += 32, q8 += 128, sc += 8) {
            const __m256i b1 = load32(ql), b2 = load32(ql + 32), bh = load32(qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(b1, m4), _mm256_slli_epi16(_mm256_and_si256(bh, m2), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(b2, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 2), m2), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 4), m2), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 6), m2), 4));
            for (int k = 0; k < 4; k++) {
                const __m256i y8 = load32(q8 + 32 * k);
                const __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], y8), _mm256_maddubs_epi16(m32s, y8));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scales_16_16(sc[2 * k], sc[2 * k + 1]), p16));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_float_8(acc);
}

const presso_vec_dot_q_fn presso_vec_dot_q_avx2_table[PRESSO_TYPE_COUNT] = {
    [PRESSO_TYPE_Q4_0] = vec_dot_q4_0_q8_0_avx2, [PRESSO_TYPE_Q4_1] = vec_dot_q4_1_q8_1_avx2,
    [PRESSO_TYPE_Q5_0] = vec_dot_q5_0_q8_0_avx2, [PRESSO_TYPE_Q5_1] = vec_dot_q5_1_q8_1_avx2,
    [PRESSO_TYPE_Q8_0] = vec_dot_q8_0_q8_0_avx2, [PRESSO_TYPE_Q2_K] = vec_dot_q2_K_q8_K_avx2,
    [PRESSO_TYPE_Q3_K] = vec_dot_q3_K_q8_K_avx2, [PRESSO_TYPE_Q4_K] = vec_dot_q4_K_q8_K_avx2,
    [PRESSO_TYPE_Q5_K] = vec_dot_q5_K_q8_K_avx2, [PRESSO_TYPE_Q6_K] = vec_dot_q6_K_q8_K_avx2,
};
