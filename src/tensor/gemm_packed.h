/* What the SIMD tiers of the repacked kernels share (gemm_packed_avx2.c,
 * gemm_packed_avx512.c): the step helpers, the accumulators, and the driver:
 * column tiles of up to 4 activation rows outermost (their blocks stay in L1
 * while the row groups stream past), groups of 8 rows inside; decode is the
 * 1-column tile. Each tier defines tile_<suffix>(p, xq, x_stride, xsum, nb,
 * y, ldy, NR) before PRESSO_DEFINE_GEMM_PACKED. Include only from files
 * compiled with -mavx2 -mfma -mf16c (or more). */
#ifndef PRESSO_TENSOR_GEMM_PACKED_H
#define PRESSO_TENSOR_GEMM_PACKED_H

#include <immintrin.h>
#include <string.h>

#include "tensor/q_avx2.h"
#include "tensor/repack.h"

#define PRESSO_PACKED_TILE static inline __attribute__((always_inline))

/* The activation's 4 bytes of a step, broadcast to the 8 rows. */
static inline __m256i presso_bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* The 8 steps of one 32-run (4 registers of interleaved nibbles), unpacked:
 * q[s] holds step s's 4 levels of each row. */
PRESSO_PACKED_TILE void presso_unpack_run(const uint8_t *run, __m256i q[8]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        const __m256i b = load32(run + 32 * k);
        q[2 * k] = _mm256_and_si256(b, m4);
        q[2 * k + 1] = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
    }
}

/* One float accumulator per activation row of the tile (8 rows' lanes). */
PRESSO_PACKED_TILE void presso_acc_zero(__m256 acc[4], const int NR) {
#pragma GCC unroll 4
    for (int c = 0; c < NR; c++) acc[c] = _mm256_setzero_ps();
}

PRESSO_PACKED_TILE void presso_acc_store(const __m256 acc[4], float *y, int64_t ldy, const int NR) {
#pragma GCC unroll 4
    for (int c = 0; c < NR; c++) _mm256_storeu_ps(y + c * ldy, acc[c]);
}

/* Q6_K: step t's high 2 bits (bits 2t..2t+1 of its qh register, t < 4),
 * moved to bits 4..5 of each byte. */
PRESSO_PACKED_TILE __m256i presso_q6_high(__m256i h, int t) {
    const __m256i m = _mm256_set1_epi8(0x30);
    switch (t) {
    case 0: return _mm256_and_si256(_mm256_slli_epi16(h, 4), m);
    case 1: return _mm256_and_si256(_mm256_slli_epi16(h, 2), m);
    case 2: return _mm256_and_si256(h, m);
    default: return _mm256_and_si256(_mm256_srli_epi16(h, 2), m);
    }
}

/* The float steps closing a Q4_K super-block of the 8 rows: the mins
 * against the activation's 32-column sums (pairs of sub-blocks per madd),
 * acc += d dy isum, then acc -= dmin dy msum (gemm_packed_ref.c's order). */
PRESSO_PACKED_TILE __m256 presso_q4_K_finish(const presso_block_q4_Kx8 *p, const presso_block_q8_K *a, __m256 d,
                                             __m256 dmin, __m256i isum, __m256 acc) {
    __m256i msum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int t = 0; t < 4; t++) {
        const int b0 = a->bsums[4 * t] + a->bsums[4 * t + 1], b1 = a->bsums[4 * t + 2] + a->bsums[4 * t + 3];
        const __m256i m = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p->mins[t]));
        msum = _mm256_add_epi32(
            msum, _mm256_madd_epi16(m, _mm256_set1_epi32((int)((uint32_t)(uint16_t)b0 | (uint32_t)b1 << 16))));
    }
    const __m256 dy = _mm256_set1_ps(a->d);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(d, dy), _mm256_cvtepi32_ps(isum), acc);
    return _mm256_fnmadd_ps(_mm256_mul_ps(dmin, dy), _mm256_cvtepi32_ps(msum), acc);
}

/* The same for Q6_K: the levels' 32 offset as 32 x sum of scale x bsum over
 * the 16-column chunks, then acc += d dy (isum - 32 msum). */
PRESSO_PACKED_TILE __m256 presso_q6_K_finish(const presso_block_q6_Kx8 *p, const presso_block_q8_K *a, __m256 d,
                                             __m256i isum, __m256 acc) {
    __m256i msum = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int t = 0; t < PRESSO_QK_K / 32; t++) {
        const __m128i s0 = _mm_loadl_epi64((const __m128i *)(const void *)p->scales[2 * t]);
        const __m128i s1 = _mm_loadl_epi64((const __m128i *)(const void *)p->scales[2 * t + 1]);
        const __m256i sc = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(s0, s1));
        const uint32_t b = (uint32_t)(uint16_t)a->bsums[2 * t] | (uint32_t)(uint16_t)a->bsums[2 * t + 1] << 16;
        msum = _mm256_add_epi32(msum, _mm256_madd_epi16(sc, _mm256_set1_epi32((int)b)));
    }
    const __m256i total = _mm256_sub_epi32(isum, _mm256_slli_epi32(msum, 5));
    return _mm256_fmadd_ps(_mm256_mul_ps(d, _mm256_set1_ps(a->d)), _mm256_cvtepi32_ps(total), acc);
}

#define PRESSO_DEFINE_GEMM_PACKED(name, suffix, block, QK)                                                      \
    static void name(const void *w, const void *xq, size_t xs, const int32_t *xsum, int64_t n, float *y,        \
                     int64_t ldy, int64_t rows, int64_t cols) {                                                 \
        const int64_t nb = n / (QK);                                                                            \
        for (int64_t c = 0; c < cols; c += 4) {                                                                 \
            const uint8_t *xc = (const uint8_t *)xq + (size_t)c * xs;                                           \
            const int32_t *sc = xsum ? xsum + c * nb : NULL;                                                    \
            for (int64_t g = 0; g < rows / PRESSO_REPACK_ROWS; g++) {                                           \
                const block *p = (const block *)w + g * nb;                                                     \
                float *yg = y + c * ldy + g * PRESSO_REPACK_ROWS;                                               \
                switch (cols - c < 4 ? cols - c : 4) {                                                          \
                case 1: tile_##suffix(p, xc, xs, sc, nb, yg, ldy, 1); break;                                    \
                case 2: tile_##suffix(p, xc, xs, sc, nb, yg, ldy, 2); break;                                    \
                case 3: tile_##suffix(p, xc, xs, sc, nb, yg, ldy, 3); break;                                    \
                default: tile_##suffix(p, xc, xs, sc, nb, yg, ldy, 4); break;                                   \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }

#endif
