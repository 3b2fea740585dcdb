/* AVX2 helpers shared by the integer dots (kernels_q_avx2.c) and the tiled
 * integer GEMM (gemm_q_avx2.c): both must build each block's integer sums
 * and reduce the float accumulators with the very same instructions so that
 * the GEMM equals the row-by-row dots bit for bit. Include only from files
 * compiled with -mavx2 -mfma -mf16c. */
#ifndef PRESSO_TENSOR_Q_AVX2_H
#define PRESSO_TENSOR_Q_AVX2_H

#include <immintrin.h>
#include <string.h>

#include "tensor/quants.h"

static inline float f16(presso_f16 h) { return _cvtsh_ss(h); }

static inline float hsum_float_8(__m256 x) {
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

static inline int hsum_i32_8(__m256i a) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* 32 unsigned bytes (ax) times 32 signed bytes (sy), summed in fours: 8 int32. */
static inline __m256i mul_sum_us8(__m256i ax, __m256i sy) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

/* Signed x signed, as ggml's mul_sum_i8_pairs_float. */
static inline __m256i mul_sum_i8(__m256i x, __m256i y) {
    return mul_sum_us8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* 16 bytes of nibbles -> 32 bytes in [0, 15]: low nibbles (elements 0..15)
 * in the low lane, high nibbles (16..31) in the high lane. */
static inline __m256i bytes_from_nibbles_32(const uint8_t *p) {
    const __m128i t = _mm_loadu_si128((const __m128i *)(const void *)p);
    const __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/* 32 bits -> 32 bytes, 0xFF where the bit is set (ggml's bytes_from_bits_32). */
static inline __m256i bytes_from_bits_32(const uint8_t *p) {
    uint32_t x32;
    memcpy(&x32, p, sizeof x32);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x32), shuf);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

static inline __m256i load32(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* Two int16 scales broadcast over 8 int16 lanes each (elements 0..15 of a
 * 32-run take lo, 16..31 take hi), for _mm256_madd_epi16 after maddubs. */
static inline __m256i scales_16_16(int lo, int hi) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)lo)), _mm_set1_epi16((short)hi), 1);
}

/* The 8 6-bit scales (bytes 0..7) and 8 mins (bytes 8..15) of a Q4_K/Q5_K
 * block (ggml's kmask code). */
static inline void q4_K_scales_mins(const uint8_t packed[12], uint32_t u[4]) {
    memcpy(u, packed, 12);
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
    const uint32_t uaux = u[1] & kmask1;
    u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
    u[2] = uaux;
    u[0] &= kmask1;
}

static inline float hsum_float_4(__m128 x) {
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

#endif
